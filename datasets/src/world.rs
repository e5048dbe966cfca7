//! The simulated estate: a domain, hosts, users and the process catalog. Ranks in every list are
//! drawn Zipf-like, so a few hosts, users and parent/child pairs dominate as in real fleets.

use crate::model::Sid;
use crate::rng::{derive, Rng, Zipf};
use std::sync::Arc;

/// A user account.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub domain: String,
    pub sid: Sid,
}

impl User {
    /// `DOMAIN\name`, as Sysmon writes `User`.
    pub fn qualified(&self) -> String {
        format!("{}\\{}", self.domain, self.name)
    }
}

/// A Windows host.
#[derive(Debug, Clone)]
pub struct Host {
    /// FQDN, what `Computer` holds (and therefore the CIM `dest`).
    pub fqdn: Arc<str>,
    /// NetBIOS name (upper case).
    pub netbios: String,
    pub server: bool,
    /// Users who log on here, most frequent first.
    pub users: Vec<usize>,
    /// Machine account (`HOST$`).
    pub machine_account: User,
    /// First field of every ProcessGuid Sysmon writes on this host.
    pub guid_prefix: u32,
    pub sysmon_pid: u32,
    /// Relative weight of this host's event volume.
    pub weight: f64,
}

/// Who a catalog process normally runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAs {
    System,
    Service,
    User,
}

/// How to build a command line for a catalog image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmdKind {
    Fixed,
    Svchost,
    Browser,
    Cmd,
    PowerShell,
    Office,
    Notepad,
    Net,
    Taskhost,
    Search,
    Conhost,
    Code,
}

/// A process image with its PE version info.
#[derive(Debug)]
pub struct Image {
    pub path: &'static str,
    pub description: &'static str,
    pub product: &'static str,
    pub company: &'static str,
    pub original: &'static str,
    pub version: &'static str,
    pub kind: CmdKind,
    /// Fixed command line (for `CmdKind::Fixed`), `{}` is replaced by the path.
    pub fixed: &'static str,
    pub run_as: RunAs,
    /// Catalog indices of usual parents, most frequent first.
    pub parents: &'static [usize],
    /// Relative frequency as a child process.
    pub weight: f64,
}

const MS: &str = "Microsoft® Windows® Operating System";
const MSC: &str = "Microsoft Corporation";
const WINVER: &str = "10.0.19041.3636 (WinBuild.160101.0800)";

/// Catalog indices used by name elsewhere.
pub const SERVICES: usize = 0;
pub const EXPLORER: usize = 1;
pub const SVCHOST: usize = 2;
pub const CMD: usize = 3;
pub const POWERSHELL: usize = 4;
pub const WMIPRVSE: usize = 5;
pub const USERINIT: usize = 6;
pub const CHROME: usize = 7;

/// The process catalog.
pub static IMAGES: &[Image] = &[
    Image {
        path: r"C:\Windows\System32\services.exe",
        description: "Services and Controller app",
        product: MS,
        company: MSC,
        original: "services.exe",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: r"C:\Windows\system32\services.exe",
        run_as: RunAs::System,
        parents: &[],
        weight: 0.0,
    },
    Image {
        path: r"C:\Windows\explorer.exe",
        description: "Windows Explorer",
        product: MS,
        company: MSC,
        original: "EXPLORER.EXE",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: r"C:\Windows\Explorer.EXE",
        run_as: RunAs::User,
        parents: &[USERINIT],
        weight: 0.3,
    },
    Image {
        path: r"C:\Windows\System32\svchost.exe",
        description: "Host Process for Windows Services",
        product: MS,
        company: MSC,
        original: "svchost.exe",
        version: WINVER,
        kind: CmdKind::Svchost,
        fixed: "",
        run_as: RunAs::Service,
        parents: &[SERVICES],
        weight: 9.0,
    },
    Image {
        path: r"C:\Windows\System32\cmd.exe",
        description: "Windows Command Processor",
        product: MS,
        company: MSC,
        original: "Cmd.Exe",
        version: WINVER,
        kind: CmdKind::Cmd,
        fixed: "",
        run_as: RunAs::User,
        parents: &[EXPLORER, SVCHOST, POWERSHELL, 16, CMD],
        weight: 4.0,
    },
    Image {
        path: r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        description: "Windows PowerShell",
        product: MS,
        company: MSC,
        original: "PowerShell.EXE",
        version: WINVER,
        kind: CmdKind::PowerShell,
        fixed: "",
        run_as: RunAs::User,
        parents: &[EXPLORER, CMD, SVCHOST, WMIPRVSE, 16],
        weight: 3.0,
    },
    Image {
        path: r"C:\Windows\System32\wbem\WmiPrvSE.exe",
        description: "WMI Provider Host",
        product: MS,
        company: MSC,
        original: "Wmiprvse.exe",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
        run_as: RunAs::Service,
        parents: &[SVCHOST],
        weight: 1.0,
    },
    Image {
        path: r"C:\Windows\System32\userinit.exe",
        description: "Userinit Logon Application",
        product: MS,
        company: MSC,
        original: "USERINIT.EXE",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: r"C:\Windows\system32\userinit.exe",
        run_as: RunAs::User,
        parents: &[],
        weight: 0.0,
    },
    Image {
        path: r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        description: "Google Chrome",
        product: "Google Chrome",
        company: "Google LLC",
        original: "chrome.exe",
        version: "120.0.6099.130",
        kind: CmdKind::Browser,
        fixed: "",
        run_as: RunAs::User,
        parents: &[CHROME, EXPLORER],
        weight: 8.0,
    },
    Image {
        path: r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        description: "Microsoft Edge",
        product: "Microsoft Edge",
        company: MSC,
        original: "msedge.exe",
        version: "120.0.2210.91",
        kind: CmdKind::Browser,
        fixed: "",
        run_as: RunAs::User,
        parents: &[8, EXPLORER],
        weight: 5.0,
    },
    Image {
        path: r"C:\Windows\System32\conhost.exe",
        description: "Console Window Host",
        product: MS,
        company: MSC,
        original: "CONHOST.EXE",
        version: WINVER,
        kind: CmdKind::Conhost,
        fixed: "",
        run_as: RunAs::User,
        parents: &[CMD, POWERSHELL],
        weight: 6.0,
    },
    Image {
        path: r"C:\Windows\System32\RuntimeBroker.exe",
        description: "Runtime Broker",
        product: MS,
        company: MSC,
        original: "RuntimeBroker.exe",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: r"C:\Windows\System32\RuntimeBroker.exe -Embedding",
        run_as: RunAs::User,
        parents: &[SVCHOST],
        weight: 3.0,
    },
    Image {
        path: r"C:\Windows\System32\taskhostw.exe",
        description: "Host Process for Windows Tasks",
        product: MS,
        company: MSC,
        original: "taskhostw.exe",
        version: WINVER,
        kind: CmdKind::Taskhost,
        fixed: "",
        run_as: RunAs::User,
        parents: &[SVCHOST],
        weight: 2.5,
    },
    Image {
        path: r"C:\Windows\System32\SearchProtocolHost.exe",
        description: "Microsoft Windows Search Protocol Host",
        product: "Windows® Search",
        company: MSC,
        original: "SearchProtocolHost.exe",
        version: "7.0.19041.3570 (WinBuild.160101.0800)",
        kind: CmdKind::Search,
        fixed: "",
        run_as: RunAs::System,
        parents: &[13],
        weight: 2.0,
    },
    Image {
        path: r"C:\Windows\System32\SearchIndexer.exe",
        description: "Microsoft Windows Search Indexer",
        product: "Windows® Search",
        company: MSC,
        original: "SearchIndexer.exe",
        version: "7.0.19041.3570 (WinBuild.160101.0800)",
        kind: CmdKind::Fixed,
        fixed: r"C:\Windows\system32\SearchIndexer.exe /Embedding",
        run_as: RunAs::System,
        parents: &[SERVICES],
        weight: 0.2,
    },
    Image {
        path: r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
        description: "Microsoft Word",
        product: "Microsoft Office",
        company: MSC,
        original: "WinWord.exe",
        version: "16.0.17029.20108",
        kind: CmdKind::Office,
        fixed: "",
        run_as: RunAs::User,
        parents: &[EXPLORER],
        weight: 1.2,
    },
    Image {
        path: r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
        description: "Microsoft Excel",
        product: "Microsoft Office",
        company: MSC,
        original: "Excel.exe",
        version: "16.0.17029.20108",
        kind: CmdKind::Office,
        fixed: "",
        run_as: RunAs::User,
        parents: &[EXPLORER],
        weight: 1.0,
    },
    Image {
        path: r"C:\Windows\System32\mmc.exe",
        description: "Microsoft Management Console",
        product: MS,
        company: MSC,
        original: "MMC.EXE",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: r#""C:\Windows\system32\mmc.exe" "C:\Windows\system32\compmgmt.msc" /s"#,
        run_as: RunAs::User,
        parents: &[EXPLORER],
        weight: 0.3,
    },
    Image {
        path: r"C:\Windows\System32\notepad.exe",
        description: "Notepad",
        product: MS,
        company: MSC,
        original: "NOTEPAD.EXE",
        version: WINVER,
        kind: CmdKind::Notepad,
        fixed: "",
        run_as: RunAs::User,
        parents: &[EXPLORER, CMD],
        weight: 1.0,
    },
    Image {
        path: r"C:\Windows\System32\net.exe",
        description: "Net Command",
        product: MS,
        company: MSC,
        original: "net.exe",
        version: WINVER,
        kind: CmdKind::Net,
        fixed: "",
        run_as: RunAs::User,
        parents: &[CMD, POWERSHELL],
        weight: 1.0,
    },
    Image {
        path: r"C:\Windows\System32\whoami.exe",
        description: "whoami - displays logged on user information",
        product: MS,
        company: MSC,
        original: "whoami.exe",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: "whoami  /all",
        run_as: RunAs::User,
        parents: &[CMD, POWERSHELL],
        weight: 0.4,
    },
    Image {
        path: r"C:\Windows\System32\ipconfig.exe",
        description: "IP Configuration Utility",
        product: MS,
        company: MSC,
        original: "ipconfig.exe",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: "ipconfig /all",
        run_as: RunAs::User,
        parents: &[CMD, POWERSHELL],
        weight: 0.5,
    },
    Image {
        path: r"C:\Windows\System32\rundll32.exe",
        description: "Windows host process (Rundll32)",
        product: MS,
        company: MSC,
        original: "RUNDLL32.EXE",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: r"C:\Windows\system32\rundll32.exe C:\Windows\System32\shell32.dll,SHCreateLocalServerRunDll {9aa46009-3ce0-458a-a354-715610a075e6} -Embedding",
        run_as: RunAs::User,
        parents: &[SVCHOST],
        weight: 1.0,
    },
    Image {
        path: r"C:\Windows\System32\msiexec.exe",
        description: "Windows® installer",
        product: "Windows Installer - Unicode",
        company: MSC,
        original: "msiexec.exe",
        version: "5.0.19041.3636 (WinBuild.160101.0800)",
        kind: CmdKind::Fixed,
        fixed: r"C:\Windows\system32\msiexec.exe /V",
        run_as: RunAs::System,
        parents: &[SERVICES],
        weight: 0.4,
    },
    Image {
        path: r"C:\Users\Public\AppData\Local\Programs\Microsoft VS Code\Code.exe",
        description: "Visual Studio Code",
        product: "Visual Studio Code",
        company: MSC,
        original: "electron.exe",
        version: "1.85.1",
        kind: CmdKind::Code,
        fixed: "",
        run_as: RunAs::User,
        parents: &[23, EXPLORER],
        weight: 2.0,
    },
    Image {
        path: r"C:\Program Files\NVIDIA Corporation\NvContainer\nvcontainer.exe",
        description: "NVIDIA Container",
        product: "NVIDIA® GeForce Experience™",
        company: "NVIDIA Corporation",
        original: "NVContainer.exe",
        version: "1.38.3180.6611",
        kind: CmdKind::Fixed,
        fixed: r#""C:\Program Files\NVIDIA Corporation\NvContainer\nvcontainer.exe" -f "C:\ProgramData\NVIDIA\NvContainerUser%d.log" -d "C:\Program Files\NVIDIA Corporation\NvContainer\plugins\User" -r -l 3 -p 30000 -st -c"#,
        run_as: RunAs::System,
        parents: &[SERVICES],
        weight: 0.3,
    },
    Image {
        path: r"C:\Program Files\Zoom\bin\Zoom.exe",
        description: "Zoom Meetings",
        product: "Zoom™ Workplace",
        company: "Zoom Video Communications, Inc.",
        original: "Zoom.exe",
        version: "5.17.1.28914",
        kind: CmdKind::Fixed,
        fixed: r#""C:\Program Files\Zoom\bin\Zoom.exe" --action=preload"#,
        run_as: RunAs::User,
        parents: &[EXPLORER],
        weight: 0.5,
    },
    Image {
        path: r"C:\Windows\System32\sc.exe",
        description: "Service Control Manager Configuration Tool",
        product: MS,
        company: MSC,
        original: "sc.exe",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: "sc  query state= all",
        run_as: RunAs::User,
        parents: &[CMD, POWERSHELL],
        weight: 0.3,
    },
    Image {
        path: r"C:\Windows\System32\tasklist.exe",
        description: "Lists the current running tasks",
        product: MS,
        company: MSC,
        original: "tasklist.exe",
        version: WINVER,
        kind: CmdKind::Fixed,
        fixed: "tasklist /v /fo csv",
        run_as: RunAs::User,
        parents: &[CMD, POWERSHELL],
        weight: 0.3,
    },
    Image {
        path: r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.23110.3-0\MpCmdRun.exe",
        description: "Microsoft Malware Protection Command Line Utility",
        product: MS,
        company: MSC,
        original: "MpCmdRun.exe",
        version: "4.18.23110.3 (WinBuild.160101.0800)",
        kind: CmdKind::Fixed,
        fixed: r#""C:\ProgramData\Microsoft\Windows Defender\platform\4.18.23110.3-0\MpCmdRun.exe" SignaturesUpdateService -ScheduleJob -RestrictPrivileges -DailyReboot"#,
        run_as: RunAs::System,
        parents: &[SVCHOST],
        weight: 0.8,
    },
];

/// The estate for one run.
#[derive(Debug)]
pub struct World {
    pub domain: &'static str,
    pub dns_domain: &'static str,
    pub users: Vec<User>,
    pub hosts: Vec<Host>,
    pub system: User,
    pub local_service: User,
    pub network_service: User,
    /// Child-image sampler over `IMAGES`.
    pub child_images: Zipf,
}

const DOMAINS: [(&str, &str); 4] = [
    ("CONTOSO", "contoso.local"),
    ("FABRIKAM", "corp.fabrikam.com"),
    ("NORTHWIND", "northwind.lan"),
    ("WOODGROVE", "ad.woodgrovebank.com"),
];

/// Named users first (several non-ASCII), generated ones after.
const USER_NAMES: [&str; 24] = [
    "jsmith",
    "administrator",
    "mjones",
    "josé.garcía",
    "a.kumar",
    "li.wei",
    "zoë.müller",
    "svc_backup",
    "björn.öberg",
    "helpdesk",
    "łukasz.nowak",
    "t.nguyen",
    "françois.dupont",
    "r.patel",
    "svc_sql",
    "e.rossi",
    "k.tanaka",
    "田中太郎",
    "o.ivanova",
    "s.kierkegaard",
    "d.okafor",
    "p.silva",
    "n.andersen",
    "h.yilmaz",
];

const HOST_ROLES: [(&str, bool); 8] = [
    ("wks-fin", false),
    ("wks-eng", false),
    ("wks-hr", false),
    ("lt-sales", false),
    ("srv-sql", true),
    ("srv-web", true),
    ("srv-file", true),
    ("dc", true),
];

impl World {
    /// Builds the estate for `seed` with `n_hosts` hosts.
    pub fn new(seed: u64, n_hosts: usize) -> World {
        let mut rng = Rng::new(derive(seed, &[0x0057_4f52_4c44]));
        let (domain, dns_domain) = *rng.pick(&DOMAINS);
        let dom_sid = [
            21,
            rng.range(1_000_000_000, 4_000_000_000) as u32,
            rng.range(1_000_000_000, 4_000_000_000) as u32,
            rng.range(100_000_000, 4_000_000_000) as u32,
        ];
        let n_users = (n_hosts * 3).max(USER_NAMES.len());
        let users: Vec<User> = (0..n_users)
            .map(|i| {
                let name = match USER_NAMES.get(i) {
                    Some(n) => (*n).to_string(),
                    None => format!("user{:04}", i),
                };
                let rid = if name == "administrator" {
                    500
                } else {
                    1100 + i as u32
                };
                User {
                    name,
                    domain: domain.to_string(),
                    sid: Sid::new(5, &[dom_sid[0], dom_sid[1], dom_sid[2], dom_sid[3], rid]),
                }
            })
            .collect();
        let user_zipf = Zipf::new(users.len(), 1.05);
        let hosts = (0..n_hosts.max(1))
            .map(|i| {
                let (role, server) = HOST_ROLES[if i < HOST_ROLES.len() {
                    (i + 3) % HOST_ROLES.len()
                } else {
                    rng.index(4)
                }];
                let short = format!("{role}-{:03}", 1 + i * 7 % 997);
                let fqdn: Arc<str> = format!("{short}.{dns_domain}").into();
                let netbios = short.to_ascii_uppercase();
                let mut hu: Vec<usize> = Vec::new();
                let n = if server { 4 } else { 2 };
                while hu.len() < n {
                    let u = user_zipf.sample(&mut rng);
                    if !hu.contains(&u) {
                        hu.push(u);
                    }
                }
                if server && !hu.contains(&1) {
                    hu.insert(0, 1);
                }
                let machine_account = User {
                    name: format!("{netbios}$"),
                    domain: domain.to_string(),
                    sid: Sid::new(
                        5,
                        &[
                            dom_sid[0],
                            dom_sid[1],
                            dom_sid[2],
                            dom_sid[3],
                            2000 + i as u32,
                        ],
                    ),
                };
                Host {
                    fqdn,
                    netbios,
                    server,
                    users: hu,
                    machine_account,
                    guid_prefix: rng.next_u64() as u32,
                    sysmon_pid: 1000 + 4 * rng.below(2000) as u32,
                    weight: 1.0 / ((i + 1) as f64).powf(0.6),
                }
            })
            .collect();
        let nt = |name: &str, rid: u32| User {
            name: name.to_string(),
            domain: "NT AUTHORITY".to_string(),
            sid: Sid::new(5, &[rid]),
        };
        World {
            domain,
            dns_domain,
            users,
            hosts,
            system: nt("SYSTEM", 18),
            local_service: nt("LOCAL SERVICE", 19),
            network_service: nt("NETWORK SERVICE", 20),
            child_images: Zipf::weighted(IMAGES.iter().map(|i| i.weight)),
        }
    }
}

/// The file name at the end of a Windows path (`C:\a\b.exe` -> `b.exe`).
pub fn basename(path: &str) -> &str {
    path.rsplit('\\').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_parents_are_valid() {
        for img in IMAGES {
            for &p in img.parents {
                assert!(p < IMAGES.len(), "{}", img.path);
            }
        }
        assert_eq!(basename(IMAGES[POWERSHELL].path), "powershell.exe");
        assert_eq!(basename(IMAGES[CHROME].path), "chrome.exe");
        assert_eq!(basename(IMAGES[CMD].path), "cmd.exe");
    }

    #[test]
    fn world_is_deterministic() {
        let a = World::new(5, 10);
        let b = World::new(5, 10);
        assert_eq!(a.hosts.len(), 10);
        for (x, y) in a.hosts.iter().zip(&b.hosts) {
            assert_eq!(x.fqdn, y.fqdn);
        }
        let mut names: Vec<_> = a.hosts.iter().map(|h| h.fqdn.to_string()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 10, "host names are unique");
    }
}
