//! Planted ground truth for the seed detection "GetNetTcpconnection with PowerShell":
//! positives in many spellings, quotings, parents, hosts and users, as Sysmon 1 and Security
//! 4688, a few exact repeats (count > 1), and near misses that must not match.

use crate::cmdline::powershell_script;
use crate::events::{self, Proc, Target};
use crate::gen::{cwd_of, logon_id, make_proc, Placed};
use crate::model::{Event, Guid};
use crate::rng::{derive, Rng};
use crate::time::{day_start, TICKS_PER_DAY};
use crate::world::{Image, World, CMD, EXPLORER, IMAGES, POWERSHELL, SVCHOST, WMIPRVSE};

/// What a planted event is expected to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Must appear in the detection's result.
    Positive,
    /// Must not; the reason says why it looks close.
    NearMiss(&'static str),
}

/// One planted event (its record id is known once written).
#[derive(Debug, Clone)]
pub struct Plant {
    pub expect: Expect,
    /// Index into `Plan::files`.
    pub file: usize,
    /// Index of the positive this one repeats, if it is an exact repeat.
    pub repeat_of: Option<usize>,
}

static PWSH: Image = Image {
    path: r"C:\Program Files\PowerShell\7\pwsh.exe",
    description: "pwsh",
    product: "PowerShell",
    company: "Microsoft Corporation",
    original: "pwsh.dll",
    version: "7.4.1.500",
    kind: crate::world::CmdKind::Fixed,
    fixed: "",
    run_as: crate::world::RunAs::User,
    parents: &[],
    weight: 0.0,
};
static ISE: Image = Image {
    path: r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell_ise.exe",
    description: "Windows PowerShell ISE",
    product: "Microsoft® Windows® Operating System",
    company: "Microsoft Corporation",
    original: "powershell_ise.EXE",
    version: "10.0.19041.3636 (WinBuild.160101.0800)",
    kind: crate::world::CmdKind::Fixed,
    fixed: "",
    run_as: crate::world::RunAs::User,
    parents: &[],
    weight: 0.0,
};

const IMAGE_PATHS: [&str; 4] = [
    r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
    r"C:\Windows\SysWOW64\WindowsPowerShell\v1.0\powershell.exe",
    r"C:\WINDOWS\System32\WindowsPowerShell\v1.0\PowerShell.exe",
    r"C:\Windows\system32\WindowsPowerShell\v1.0\POWERSHELL.EXE",
];

const EXE_TOKENS: [&str; 6] = [
    "powershell.exe",
    "powershell",
    "PowerShell.exe",
    r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe""#,
    r"C:\Windows\SysWOW64\WindowsPowerShell\v1.0\powershell.exe",
    r#""powershell.exe""#,
];

/// Positive command-line shapes; `{exe}` is the program token, `{user}` the profile name,
/// `{long}` a long PowerShell prefix.
const FORMS: [&str; 12] = [
    "{exe} Get-NetTcpConnection",
    "{exe} -c \"Get-NetTCPConnection -State Listen\"",
    "{exe} -command get-nettcpconnection | ft",
    "{exe} -NoProfile -Command \"GET-NETTCPCONNECTION | Where-Object {$_.State -eq 'Established'} | Select-Object LocalAddress,LocalPort,RemoteAddress,RemotePort\"",
    "{exe} -nop -c \"$c=Get-NetTcpConnection;$c|Export-Csv C:\\Users\\Public\\c.csv -NoTypeInformation\"",
    "{exe} -c \"Get-Date;Get-NetTcpConnection|Out-String -Width 200\"",
    "{exe} \"&{Get-NetTCPConnection}\"",
    "{exe} -ExecutionPolicy Bypass -Command \"& {Get-NetTcpConnection -RemotePort 443 | Format-Table -AutoSize}\"",
    "{exe} Get-NetTcpConnection -State Established > C:\\Windows\\Temp\\n.txt",
    "{exe} -c \"Get-NetTcpConnection | Out-File 'C:\\Users\\{user}\\netstat-ü.txt'\"",
    "{exe} -w hidden -c \"{long};Get-NetTcpConnection\"",
    "{exe} -c 'Get-NetTcpConnection -OwningProcess (Get-Process -Name \"lsass\").Id'",
];

const NEAR_MISSES: [&str; 13] = [
    "pwsh.exe (PowerShell 7) runs Get-NetTcpConnection",
    "powershell_ise.exe runs Get-NetTcpConnection",
    "powershell.exe runs Get-NetTCPSetting",
    "powershell.exe runs Get-NetUDPEndpoint",
    "powershell.exe runs truncated Get-NetTcpConnectio",
    "PowerShell 4104 script block contains Get-NetTcpConnection",
    "PowerShell 4103 pipeline runs Get-NetTcpConnection",
    "Sysmon 3 network connection by powershell.exe",
    "Sysmon 7 image load into powershell.exe",
    "Sysmon 10 process access by powershell.exe",
    "Security 4688 pwsh.exe runs Get-NetTcpConnection",
    "Security 4688 powershell.exe runs Get-NetTCPSetting",
    "cmd.exe command line mentions powershell Get-NetTcpConnection",
];

fn file_index(days: usize, host: usize, day: usize, provider: usize) -> usize {
    (host * days + day) * 3 + provider
}

fn time_in(rng: &mut Rng, start_day: i64, day: usize) -> u64 {
    (day_start(start_day, day) + rng.below(TICKS_PER_DAY - 10)) / 10 * 10
}

fn ps_proc(
    rng: &mut Rng,
    world: &World,
    host: usize,
    user: &crate::world::User,
    pe: &'static Image,
    image: &str,
    cmd: String,
) -> Proc {
    let h = &world.hosts[host];
    let mut p = make_proc(rng, world, h, POWERSHELL, user);
    p.pe = pe;
    p.image = image.to_string();
    p.cmdline = cmd;
    p
}

/// Builds the planted events: returns the plant list and (file index, event) pairs.
pub fn plant(
    world: &World,
    seed: u64,
    positives: usize,
    days: usize,
    start_day: i64,
) -> (Vec<Plant>, Vec<(usize, Placed)>) {
    let mut rng = Rng::new(derive(seed, &[0x0050_4c41_4e54]));
    let hosts = world.hosts.len();
    let mut plants = Vec::new();
    let mut placed = Vec::new();
    let mut firsts: Vec<(usize, usize, Event)> = Vec::new(); // (plant idx, host, event)

    for i in 0..positives {
        // Every ninth positive (from the fifth on) repeats an earlier one exactly.
        if i >= 4 && i % 9 == 4 && !firsts.is_empty() {
            let j = firsts.len() - 1 - rng.index(firsts.len().min(5));
            let (orig, host, ev) = firsts[j].clone();
            let day = rng.index(days);
            let mut ev = ev;
            ev.time = time_in(&mut rng, start_day, day);
            if ev.provider.index == 0 {
                if let Some(f) = ev.data.iter_mut().find(|f| f.name == "UtcTime") {
                    f.value = crate::model::Value::Str(events::utc_before(ev.time));
                }
            }
            let file = file_index(days, host, day, usize::from(ev.provider.index));
            plants.push(Plant {
                expect: Expect::Positive,
                file,
                repeat_of: Some(orig),
            });
            placed.push((
                file,
                Placed {
                    plant: plants.len() - 1,
                    event: ev,
                },
            ));
            continue;
        }
        let host = if i < hosts { i } else { rng.index(hosts) };
        let day = rng.index(days);
        let h = &world.hosts[host];
        let user = if i == 2 {
            &world.users[3] // a non-ASCII user name
        } else if i % 7 == 6 {
            &world.system
        } else {
            &world.users[h.users[rng.index(h.users.len())]]
        };
        let mut form = FORMS[i % FORMS.len()]
            .replace("{exe}", EXE_TOKENS[(i / 2) % EXE_TOKENS.len()])
            .replace("{user}", &user.name);
        if form.contains("{long}") {
            let len = rng.range(2_000, 9_000) as usize;
            form = form.replace("{long}", &powershell_script(&mut rng, len));
        }
        let time = time_in(&mut rng, start_day, day);
        let sysmon = i % 5 < 3;
        let pimg = if user.domain == "NT AUTHORITY" {
            *rng.pick(&[WMIPRVSE, SVCHOST])
        } else {
            *rng.pick(&[EXPLORER, CMD, EXPLORER, 16])
        };
        let mut prng = Rng::new(rng.next_u64());
        let parent = make_proc(&mut prng, world, h, pimg, user);
        let mut image = IMAGE_PATHS[i % IMAGE_PATHS.len()].to_string();
        if !sysmon && i % 4 == 3 {
            image = r"C:\Program Files\Admin Tools\powershell.exe".to_string();
        }
        let child = ps_proc(
            &mut rng,
            world,
            host,
            user,
            &IMAGES[POWERSHELL],
            &image,
            form,
        );
        let ev = if sysmon {
            events::sysmon_1(h, time, &child, &parent, &cwd_of(&child))
        } else {
            let target = (i % 6 == 1).then(|| {
                let u = &world.users[h.users[0]];
                Target {
                    user: u,
                    logon_id: logon_id(h, u),
                }
            });
            let pname = if i % 11 == 10 {
                String::new()
            } else {
                parent.image.clone()
            };
            events::security_4688(h, time, &child, parent.pid, &pname, target)
        };
        let file = file_index(days, host, day, if sysmon { 0 } else { 1 });
        plants.push(Plant {
            expect: Expect::Positive,
            file,
            repeat_of: None,
        });
        firsts.push((plants.len() - 1, host, ev.clone()));
        placed.push((
            file,
            Placed {
                plant: plants.len() - 1,
                event: ev,
            },
        ));
    }

    let near = (positives / 2).max(NEAR_MISSES.len());
    for k in 0..near {
        let kind = k % NEAR_MISSES.len();
        let host = rng.index(hosts);
        let day = rng.index(days);
        let h = &world.hosts[host];
        let user = &world.users[h.users[rng.index(h.users.len())]];
        let time = time_in(&mut rng, start_day, day);
        let mut prng = Rng::new(rng.next_u64());
        let parent = make_proc(&mut prng, world, h, EXPLORER, user);
        let ps_image = IMAGE_PATHS[k % IMAGE_PATHS.len()];
        let ps = |rng: &mut Rng, cmd: &str| {
            ps_proc(
                rng,
                world,
                host,
                user,
                &IMAGES[POWERSHELL],
                ps_image,
                cmd.to_string(),
            )
        };
        let (provider, ev) = match kind {
            0 => {
                let c = ps_proc(&mut rng, world, host, user, &PWSH, PWSH.path, "\"C:\\Program Files\\PowerShell\\7\\pwsh.exe\" -c Get-NetTcpConnection -State Listen".into());
                (0, events::sysmon_1(h, time, &c, &parent, &cwd_of(&c)))
            }
            1 => {
                let c = ps_proc(
                    &mut rng,
                    world,
                    host,
                    user,
                    &ISE,
                    ISE.path,
                    format!(
                        "\"{}\" -File C:\\Scripts\\Get-NetTcpConnection.ps1",
                        ISE.path
                    ),
                );
                (0, events::sysmon_1(h, time, &c, &parent, &cwd_of(&c)))
            }
            2 => {
                let c = ps(
                    &mut rng,
                    "powershell.exe -c Get-NetTCPSetting -Setting Internet",
                );
                (0, events::sysmon_1(h, time, &c, &parent, &cwd_of(&c)))
            }
            3 => {
                let c = ps(&mut rng, "powershell.exe Get-NetUDPEndpoint | ft");
                (0, events::sysmon_1(h, time, &c, &parent, &cwd_of(&c)))
            }
            4 => {
                let c = ps(
                    &mut rng,
                    "powershell.exe -c \"Get-NetTcpConnectio -State Listen\"",
                );
                (0, events::sysmon_1(h, time, &c, &parent, &cwd_of(&c)))
            }
            5 => {
                let c = ps(&mut rng, "powershell.exe");
                let id = Guid::from_u128(u128::from(rng.next_u64()) << 32);
                (2, events::powershell_4104(h, time, &c, "Get-NetTcpConnection -State Listen | Select-Object LocalAddress,LocalPort,OwningProcess", id, ""))
            }
            6 => {
                let c = ps(&mut rng, "powershell.exe");
                (
                    2,
                    events::powershell_4103(
                        h,
                        time,
                        &c,
                        "Get-NetTCPConnection",
                        "CommandInvocation(Get-NetTCPConnection): \"Get-NetTCPConnection\"",
                        7,
                    ),
                )
            }
            7 => {
                let c = ps(&mut rng, "powershell.exe -c Get-NetTcpConnection");
                (
                    0,
                    events::sysmon_3(h, time, &c, "10.20.1.5", ("10.20.0.10", "-", 5985), 50123),
                )
            }
            8 => {
                let c = ps(&mut rng, "powershell.exe -c Get-NetTcpConnection");
                (
                    0,
                    events::sysmon_7(
                        h,
                        time,
                        &c,
                        r"C:\Windows\System32\amsi.dll",
                        "Anti-Malware Scan Interface",
                    ),
                )
            }
            9 => {
                let c = ps(&mut rng, "powershell.exe -c Get-NetTcpConnection");
                (
                    0,
                    events::sysmon_10(
                        h,
                        time,
                        &c,
                        &parent,
                        0x1410,
                        r"C:\Windows\SYSTEM32\ntdll.dll+9d4c4|UNKNOWN(00007FF8A1B2C3D4)",
                    ),
                )
            }
            10 => {
                let c = ps_proc(
                    &mut rng,
                    world,
                    host,
                    user,
                    &PWSH,
                    PWSH.path,
                    "pwsh -c Get-NetTcpConnection".into(),
                );
                (
                    1,
                    events::security_4688(h, time, &c, parent.pid, &parent.image, None),
                )
            }
            11 => {
                let c = ps(
                    &mut rng,
                    "powershell.exe -c Get-NetTCPSetting -Setting Internet",
                );
                (
                    1,
                    events::security_4688(h, time, &c, parent.pid, &parent.image, None),
                )
            }
            _ => {
                let mut c = make_proc(&mut rng, world, h, CMD, user);
                c.cmdline = "cmd.exe /c \"powershell -c Get-NetTcpConnection\"".to_string();
                (0, events::sysmon_1(h, time, &c, &parent, &cwd_of(&c)))
            }
        };
        let file = file_index(days, host, day, provider);
        plants.push(Plant {
            expect: Expect::NearMiss(NEAR_MISSES[kind]),
            file,
            repeat_of: None,
        });
        placed.push((
            file,
            Placed {
                plant: plants.len() - 1,
                event: ev,
            },
        ));
    }
    (plants, placed)
}

/// Convenience for tests: the plant list of files that exist in `files`.
pub fn count_positive(plants: &[Plant]) -> usize {
    plants
        .iter()
        .filter(|p| p.expect == Expect::Positive)
        .count()
}
