//! The per-file event stream: background activity for one host, day and channel, merged in
//! time order with the planted events assigned to that file. Each file has its own seed, so
//! files generate independently (in parallel) and identically for every output format.

use crate::cmdline::command_line;
use crate::events::{self, Proc, Target};
use crate::model::{Event, Guid, Provider};
use crate::rng::{derive, Rng, Zipf};
use crate::time::TICKS_PER_DAY;
use crate::world::{basename, Host, RunAs, User, World, IMAGES, POWERSHELL, SERVICES};

/// What one file holds.
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub host: usize,
    pub day: usize,
    pub provider: &'static Provider,
    /// Background events (planted ones come on top).
    pub background: u64,
    pub first_record_id: u64,
    /// FILETIME of 00:00 UTC of the day.
    pub day_start: u64,
    /// Per-file seed.
    pub seed: u64,
}

/// A planted event placed in a file.
#[derive(Debug, Clone)]
pub struct Placed {
    /// Index into the plant list.
    pub plant: usize,
    pub event: Event,
}

const SYSMON_KINDS: [(u16, f64); 8] = [
    (1, 0.08),
    (3, 0.14),
    (5, 0.07),
    (7, 0.33),
    (10, 0.08),
    (11, 0.12),
    (13, 0.14),
    (22, 0.04),
];
const SECURITY_KINDS: [(u16, f64); 3] = [(4624, 0.3), (4688, 0.4), (4689, 0.3)];
const POWERSHELL_KINDS: [(u16, f64); 2] = [(4104, 0.7), (4103, 0.3)];

const DLLS: [(&str, &str); 8] = [
    (r"C:\Windows\System32\ntdll.dll", "NT Layer DLL"),
    (
        r"C:\Windows\System32\kernel32.dll",
        "Windows NT BASE API Client DLL",
    ),
    (
        r"C:\Windows\System32\KernelBase.dll",
        "Windows NT BASE API Client DLL",
    ),
    (
        r"C:\Windows\System32\user32.dll",
        "Multi-User Windows USER API Client DLL",
    ),
    (
        r"C:\Windows\System32\amsi.dll",
        "Anti-Malware Scan Interface",
    ),
    (
        r"C:\Windows\System32\combase.dll",
        "Microsoft COM for Windows",
    ),
    (
        r"C:\Windows\System32\wininet.dll",
        "Internet Extensions for Win32",
    ),
    (
        r"C:\Windows\System32\bcrypt.dll",
        "Windows Cryptographic Primitives Library",
    ),
];

const DESTS: [(&str, &str, u16); 6] = [
    ("52.96.165.18", "outlook.office365.com", 443),
    ("20.190.160.20", "login.microsoftonline.com", 443),
    ("142.250.185.78", "www.google.com", 443),
    ("10.20.0.10", "-", 445),
    ("10.20.0.11", "-", 389),
    ("13.107.42.14", "-", 443),
];

/// Logon id of a user on a host (stable, as one interactive session).
pub fn logon_id(host: &Host, user: &User) -> u64 {
    match user.sid.subs[0] {
        18 if user.sid.count == 1 => 0x3e7,
        19 if user.sid.count == 1 => 0x3e5,
        20 if user.sid.count == 1 => 0x3e4,
        _ => {
            let mut h = u64::from(host.guid_prefix);
            for b in user.name.bytes() {
                h = crate::rng::mix(h ^ u64::from(b));
            }
            0x10000 + (h & 0x7f_ffff)
        }
    }
}

/// Builds a process for catalog image `img` run by `user`.
pub fn make_proc(rng: &mut Rng, world: &World, host: &Host, img: usize, user: &User) -> Proc {
    let pe = &IMAGES[img];
    let pid = 4 * rng.range(100, 16_000) as u32;
    let system = user.domain == "NT AUTHORITY";
    let cmdline = command_line(rng, world, host, img, &user.name);
    Proc {
        pe,
        image: pe.path.to_string(),
        pid,
        guid: events::process_guid(host, rng.next_u64()),
        cmdline,
        user: user.clone(),
        logon_id: logon_id(host, user),
        logon_guid: events::process_guid(host, logon_id(host, user)),
        session: if system {
            0
        } else {
            1 + (host.guid_prefix % 2)
        },
        integrity: if system {
            "System"
        } else if user.name == "administrator" || host.server {
            "High"
        } else {
            "Medium"
        },
    }
}

/// The working directory Sysmon reports for a process.
pub fn cwd_of(p: &Proc) -> String {
    if p.user.domain == "NT AUTHORITY" {
        r"C:\Windows\system32\".to_string()
    } else {
        format!(r"C:\Users\{}\", p.user.name)
    }
}

/// Picks the user a catalog image runs as on `host`.
pub fn user_for<'w>(rng: &mut Rng, world: &'w World, host: &'w Host, img: usize) -> &'w User {
    match IMAGES[img].run_as {
        RunAs::System => &world.system,
        RunAs::Service => match rng.below(4) {
            0 => &world.local_service,
            1 => &world.network_service,
            _ => &world.system,
        },
        RunAs::User => {
            let i = if rng.chance(0.75) {
                0
            } else {
                rng.index(host.users.len())
            };
            &world.users[host.users[i.min(host.users.len().saturating_sub(1))]]
        }
    }
}

/// Generator for one file.
pub struct FileGen<'a> {
    world: &'a World,
    host: &'a Host,
    spec: &'a FileSpec,
    rng: Rng,
    i_bg: u64,
    planted: &'a [Placed],
    pi: usize,
    next_record_id: u64,
    pool: Vec<Proc>,
    pool_z: Zipf,
    kinds: Vec<u16>,
    kind_z: Zipf,
    seq: u32,
    pending: Option<u64>,
    /// (plant index, record id) of planted events emitted so far.
    pub emitted: Vec<(usize, u64)>,
}

impl<'a> FileGen<'a> {
    /// A generator for `spec`; `planted` must be sorted by time.
    pub fn new(world: &'a World, spec: &'a FileSpec, planted: &'a [Placed]) -> Self {
        let host = &world.hosts[spec.host];
        let mut rng = Rng::new(spec.seed);
        let kinds: &[(u16, f64)] = match spec.provider.index {
            0 => &SYSMON_KINDS,
            1 => &SECURITY_KINDS,
            _ => &POWERSHELL_KINDS,
        };
        let mut pool = Vec::with_capacity(48);
        for _ in 0..48 {
            let img = world.child_images.sample(&mut rng);
            let user = user_for(&mut rng, world, host, img).clone();
            pool.push(make_proc(&mut rng, world, host, img, &user));
        }
        FileGen {
            world,
            host,
            spec,
            rng,
            i_bg: 0,
            planted,
            pi: 0,
            next_record_id: spec.first_record_id,
            pool,
            pool_z: Zipf::new(48, 1.0),
            kinds: kinds.iter().map(|k| k.0).collect(),
            kind_z: Zipf::weighted(kinds.iter().map(|k| k.1)),
            seq: 0,
            pending: None,
            emitted: Vec::new(),
        }
    }

    fn bg_time(&mut self) -> u64 {
        let n = self.spec.background.max(1);
        let slot = TICKS_PER_DAY / n;
        let jitter = self.rng.below(slot.max(1));
        // Whole 100 ns ticks in steps of 10 so 6- and 7-digit renderings agree.
        (self.spec.day_start + self.i_bg * slot + jitter) / 10 * 10
    }

    /// A parent process for `img`, stable per host and day (the same explorer.exe all day).
    fn parent_of(&mut self, img: usize) -> Proc {
        let parents = IMAGES[img].parents;
        let pimg = if parents.is_empty() {
            SERVICES
        } else if self.rng.chance(0.6) {
            parents[0]
        } else {
            parents[self.rng.index(parents.len())]
        };
        let mut prng = Rng::new(derive(self.spec.seed, &[pimg as u64, 0x5041_5245_4e54]));
        let user = user_for(&mut prng, self.world, self.host, pimg).clone();
        make_proc(&mut prng, self.world, self.host, pimg, &user)
    }

    fn pool_proc(&mut self) -> usize {
        self.pool_z.sample(&mut self.rng)
    }

    fn background(&mut self, time: u64) -> Event {
        let kind = self.kinds[self.kind_z.sample(&mut self.rng)];
        let host = self.host;
        let world = self.world;
        match (self.spec.provider.index, kind) {
            (0, 1) | (1, 4688) => {
                let img = world.child_images.sample(&mut self.rng);
                let parent = self.parent_of(img);
                let user =
                    if IMAGES[img].run_as == RunAs::User && parent.user.domain != "NT AUTHORITY" {
                        parent.user.clone()
                    } else {
                        user_for(&mut self.rng, world, host, img).clone()
                    };
                let child = make_proc(&mut self.rng, world, host, img, &user);
                let mut child = child;
                let ev = if kind == 1 {
                    events::sysmon_1(host, time, &child, &parent, &cwd_of(&child))
                } else {
                    if self.rng.chance(0.03) {
                        child.cmdline.clear(); // command-line auditing off
                    }
                    let target = if self.rng.chance(0.04) {
                        let u = &world.users[host.users[self.rng.index(host.users.len())]];
                        Some(Target {
                            user: u,
                            logon_id: logon_id(host, u),
                        })
                    } else {
                        None
                    };
                    events::security_4688(host, time, &child, parent.pid, &parent.image, target)
                };
                let slot = self.pool_proc();
                self.pool[slot] = child;
                ev
            }
            (0, 3) => {
                let slot = self.pool_proc();
                let p = &self.pool[slot];
                let dst = *self.rng.pick(&DESTS);
                let src = format!(
                    "10.20.{}.{}",
                    host.guid_prefix % 200,
                    10 + host.guid_prefix % 240
                );
                events::sysmon_3(
                    host,
                    time,
                    p,
                    &src,
                    dst,
                    self.rng.range(49152, 65535) as u16,
                )
            }
            (0, 5) | (1, 4689) => {
                let slot = self.pool_proc();
                let ev = if kind == 5 {
                    events::sysmon_5(host, time, &self.pool[slot])
                } else {
                    events::security_4689(host, time, &self.pool[slot])
                };
                let img = world.child_images.sample(&mut self.rng);
                let user = user_for(&mut self.rng, world, host, img).clone();
                self.pool[slot] = make_proc(&mut self.rng, world, host, img, &user);
                ev
            }
            (0, 7) => {
                let (dll, desc) = *self.rng.pick(&DLLS);
                let slot = self.pool_proc();
                events::sysmon_7(host, time, &self.pool[slot], dll, desc)
            }
            (0, 10) => {
                let a = self.pool_proc();
                let b = self.pool_proc();
                let access = *self.rng.pick(&[0x1000u32, 0x1410, 0x1fffff, 0x40]);
                let trace = format!(
                    r"C:\Windows\SYSTEM32\ntdll.dll+9d4c4|C:\Windows\System32\KERNELBASE.dll+2c13e|UNKNOWN(00007FF{:09X})",
                    self.rng.below(1 << 36)
                );
                events::sysmon_10(host, time, &self.pool[a], &self.pool[b], access, &trace)
            }
            (0, 11) => {
                let slot = self.pool_proc();
                let p = &self.pool[slot];
                let target = match self.rng.below(3) {
                    0 => format!(
                        r"C:\Users\{}\AppData\Local\Temp\{:08x}.tmp",
                        p.user.name,
                        self.rng.next_u64() as u32
                    ),
                    1 => format!(
                        r"C:\Windows\Prefetch\{}-{:08X}.pf",
                        basename(&p.image).to_ascii_uppercase(),
                        self.rng.next_u64() as u32
                    ),
                    _ => format!(
                        r"C:\Users\{}\Documents\Überblick-{}.docx",
                        p.user.name,
                        self.rng.below(100)
                    ),
                };
                events::sysmon_11(
                    host,
                    time,
                    p,
                    &target,
                    time.saturating_sub(self.rng.below(1 << 34)),
                )
            }
            (0, 13) => {
                let slot = self.pool_proc();
                let p = &self.pool[slot];
                let (key, details) = *self.rng.pick(&[
                    (r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\ContosoAgent", r"C:\Program Files\Contoso\agent.exe"),
                    (r"HKLM\System\CurrentControlSet\Services\bam\State\UserSettings\S-1-5-18\Device\HarddiskVolume3\Windows\System32\svchost.exe", "Binary Data"),
                    (r"HKU\.DEFAULT\Software\Microsoft\Windows\CurrentVersion\Internet Settings\ZoneMap\ProxyBypass", "DWORD (0x00000001)"),
                    (r"HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates\SignaturesLastUpdated", "QWORD (0x01da0c5e-0x8a3f1e20)"),
                ]);
                events::sysmon_13(host, time, p, key, details)
            }
            (0, _) => {
                let slot = self.pool_proc();
                let p = &self.pool[slot];
                let (name, res) = *self.rng.pick(&[
                    (
                        "login.microsoftonline.com",
                        "type:  5 login.mso.msidentity.com;::ffff:20.190.160.20;",
                    ),
                    (
                        "outlook.office365.com",
                        "::ffff:52.96.165.18;::ffff:52.96.166.2;",
                    ),
                    ("www.google.com", "::ffff:142.250.185.78;"),
                    ("wpad", "-"),
                ]);
                events::sysmon_22(host, time, p, name, res)
            }
            (1, _) => {
                let u = &world.users[host.users[self.rng.index(host.users.len())]];
                let lt = *self.rng.pick(&[2u32, 3, 3, 3, 5, 10]);
                let ip = if lt == 3 {
                    format!("10.20.{}.{}", self.rng.below(8), self.rng.range(2, 250))
                } else {
                    "127.0.0.1".to_string()
                };
                let guid = if lt == 3 {
                    Guid::from_u128(u128::from(self.rng.next_u64()))
                } else {
                    Guid::from_u128(0)
                };
                events::security_4624(
                    host,
                    time,
                    u,
                    logon_id(host, u),
                    lt,
                    &ip,
                    self.rng.range(0, 65535) as u16,
                    guid,
                )
            }
            (_, k) => {
                let u = user_for(&mut self.rng, world, host, POWERSHELL).clone();
                let p = make_proc(&mut self.rng, world, host, POWERSHELL, &u);
                self.seq += 1;
                if k == 4104 {
                    let len = self.rng.range(40, 1500) as usize;
                    let text = crate::cmdline::powershell_script(&mut self.rng, len);
                    let id = Guid::from_u128(
                        (u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64()),
                    );
                    let path = if self.rng.chance(0.3) {
                        r"C:\ProgramData\Contoso\inventory.ps1"
                    } else {
                        ""
                    };
                    events::powershell_4104(host, time, &p, &text, id, path)
                } else {
                    let cmd = *self.rng.pick(&[
                        "Get-Service",
                        "Get-Process",
                        "Get-ChildItem",
                        "Get-NetAdapter",
                        "Write-Host",
                    ]);
                    let payload = format!("CommandInvocation({cmd}): \"{cmd}\"");
                    events::powershell_4103(host, time, &p, cmd, &payload, self.seq)
                }
            }
        }
    }
}

impl Iterator for FileGen<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if self.pending.is_none() && self.i_bg < self.spec.background {
            self.pending = Some(self.bg_time());
        }
        let planted_next = self.planted.get(self.pi);
        let mut ev = match (self.pending, planted_next) {
            (None, None) => return None,
            (Some(t), Some(p)) if p.event.time >= t => {
                self.pending = None;
                self.i_bg += 1;
                self.background(t)
            }
            (Some(t), None) => {
                self.pending = None;
                self.i_bg += 1;
                self.background(t)
            }
            (_, Some(p)) => {
                self.pi += 1;
                self.emitted.push((p.plant, self.next_record_id));
                p.event.clone()
            }
        };
        ev.record_id = self.next_record_id;
        self.next_record_id += 1;
        Some(ev)
    }
}
