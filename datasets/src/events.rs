//! Builders for each event type with the field lists, order and value types that Sysmon,
//! Security auditing and PowerShell write. Shared by the background generator and `plant`.

use crate::model::{Event, Field, Guid, Provider, Sid, Value, POWERSHELL, SECURITY, SYSMON};
use crate::rng::{derive, Rng};
use crate::time::sysmon_utc;
use crate::world::{basename, Host, Image, User};

/// A running process as the generator tracks it.
#[derive(Debug, Clone)]
pub struct Proc {
    /// Version-info source.
    pub pe: &'static Image,
    /// Actual image path (may differ in case or location from `pe.path`).
    pub image: String,
    pub pid: u32,
    pub guid: Guid,
    pub cmdline: String,
    pub user: User,
    pub logon_id: u64,
    pub logon_guid: Guid,
    pub session: u32,
    pub integrity: &'static str,
}

fn f(name: &'static str, value: Value) -> Field {
    Field { name, value }
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

/// The fields every Sysmon process event opens with, in Sysmon's order.
fn process_fields(time: u64, p: &Proc) -> Vec<Field> {
    vec![
        f("RuleName", s("-")),
        f("UtcTime", Value::Str(utc_before(time))),
        f("ProcessGuid", Value::Guid(p.guid)),
        f("ProcessId", Value::U32(p.pid)),
    ]
}

/// Sysmon-style `Hashes` for an image path (stable per path).
pub fn hashes(path: &str) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in path.bytes() {
        h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x100_0000_01b3);
    }
    let mut r = Rng::new(h);
    let mut hex = |n: usize| -> String {
        (0..n)
            .map(|_| char::from(b"0123456789ABCDEF"[r.index(16)]))
            .collect()
    };
    format!(
        "SHA1={},MD5={},SHA256={},IMPHASH={}",
        hex(40),
        hex(32),
        hex(64),
        hex(32)
    )
}

fn base(p: &'static Provider, eid: u16, version: u8, time: u64, host: &Host) -> Event {
    Event {
        provider: p,
        event_id: eid,
        version,
        level: 4,
        task: eid,
        opcode: 0,
        keywords: 0x8000_0000_0000_0000,
        time,
        record_id: 0,
        exec_pid: host.sysmon_pid,
        exec_tid: host.sysmon_pid + 12 + (time / 7919 % 6) as u32 * 4,
        computer: host.fqdn.clone(),
        user_sid: Some(Sid::SYSTEM),
        data: Vec::new(),
    }
}

/// Sysmon's UtcTime: a few milliseconds before the record was written.
pub fn utc_before(time: u64) -> String {
    sysmon_utc(time.saturating_sub((time / 13 % 97) * 10_000 + 3_000))
}

/// Sysmon 1, ProcessCreate.
pub fn sysmon_1(host: &Host, time: u64, child: &Proc, parent: &Proc, cwd: &str) -> Event {
    let mut ev = base(&SYSMON, 1, 5, time, host);
    ev.data = process_fields(time, child);
    ev.data.extend([
        f("Image", s(&child.image)),
        f("FileVersion", s(child.pe.version)),
        f("Description", s(child.pe.description)),
        f("Product", s(child.pe.product)),
        f("Company", s(child.pe.company)),
        f("OriginalFileName", s(child.pe.original)),
        f("CommandLine", s(&child.cmdline)),
        f("CurrentDirectory", s(cwd)),
        f("User", Value::Str(child.user.qualified())),
        f("LogonGuid", Value::Guid(child.logon_guid)),
        f("LogonId", Value::Hex64(child.logon_id)),
        f("TerminalSessionId", Value::U32(child.session)),
        f("IntegrityLevel", s(child.integrity)),
        f("Hashes", Value::Str(hashes(&child.image))),
        f("ParentProcessGuid", Value::Guid(parent.guid)),
        f("ParentProcessId", Value::U32(parent.pid)),
        f("ParentImage", s(&parent.image)),
        f("ParentCommandLine", s(&parent.cmdline)),
        f("ParentUser", Value::Str(parent.user.qualified())),
    ]);
    ev
}

/// Sysmon 3, NetworkConnect.
pub fn sysmon_3(
    host: &Host,
    time: u64,
    p: &Proc,
    src_ip: &str,
    dst: (&str, &str, u16),
    sport: u16,
) -> Event {
    let mut ev = base(&SYSMON, 3, 5, time, host);
    ev.data = process_fields(time, p);
    ev.data.extend([
        f("Image", s(&p.image)),
        f("User", Value::Str(p.user.qualified())),
        f("Protocol", s("tcp")),
        f("Initiated", Value::Bool(true)),
        f("SourceIsIpv6", Value::Bool(false)),
        f("SourceIp", s(src_ip)),
        f("SourceHostname", s(&host.fqdn)),
        f("SourcePort", Value::U16(sport)),
        f("SourcePortName", s("-")),
        f("DestinationIsIpv6", Value::Bool(false)),
        f("DestinationIp", s(dst.0)),
        f("DestinationHostname", s(dst.1)),
        f("DestinationPort", Value::U16(dst.2)),
        f(
            "DestinationPortName",
            s(if dst.2 == 443 { "https" } else { "-" }),
        ),
    ]);
    ev
}

/// Sysmon 5, ProcessTerminate.
pub fn sysmon_5(host: &Host, time: u64, p: &Proc) -> Event {
    let mut ev = base(&SYSMON, 5, 3, time, host);
    ev.data = process_fields(time, p);
    ev.data.extend([
        f("Image", s(&p.image)),
        f("User", Value::Str(p.user.qualified())),
    ]);
    ev
}

/// Sysmon 7, ImageLoad.
pub fn sysmon_7(host: &Host, time: u64, p: &Proc, dll: &str, desc: &str) -> Event {
    let mut ev = base(&SYSMON, 7, 3, time, host);
    ev.data = process_fields(time, p);
    ev.data.extend([
        f("Image", s(&p.image)),
        f("ImageLoaded", s(dll)),
        f("FileVersion", s("10.0.19041.3636 (WinBuild.160101.0800)")),
        f("Description", s(desc)),
        f("Product", s("Microsoft® Windows® Operating System")),
        f("Company", s("Microsoft Corporation")),
        f("OriginalFileName", s(basename(dll))),
        f("Hashes", Value::Str(hashes(dll))),
        f("Signed", s("true")),
        f("Signature", s("Microsoft Windows")),
        f("SignatureStatus", s("Valid")),
        f("User", Value::Str(p.user.qualified())),
    ]);
    ev
}

/// Sysmon 10, ProcessAccess.
pub fn sysmon_10(
    host: &Host,
    time: u64,
    src: &Proc,
    tgt: &Proc,
    access: u32,
    trace: &str,
) -> Event {
    let mut ev = base(&SYSMON, 10, 3, time, host);
    ev.data = vec![
        f("RuleName", s("-")),
        f("UtcTime", Value::Str(utc_before(time))),
        f("SourceProcessGUID", Value::Guid(src.guid)),
        f("SourceProcessId", Value::U32(src.pid)),
        f(
            "SourceThreadId",
            Value::U32(src.pid + 4 + (time % 50) as u32 * 4),
        ),
        f("SourceImage", s(&src.image)),
        f("TargetProcessGUID", Value::Guid(tgt.guid)),
        f("TargetProcessId", Value::U32(tgt.pid)),
        f("TargetImage", s(&tgt.image)),
        f("GrantedAccess", Value::Hex32(access)),
        f("CallTrace", s(trace)),
        f("SourceUser", Value::Str(src.user.qualified())),
        f("TargetUser", Value::Str(tgt.user.qualified())),
    ];
    ev
}

/// Sysmon 11, FileCreate.
pub fn sysmon_11(host: &Host, time: u64, p: &Proc, target: &str, created: u64) -> Event {
    let mut ev = base(&SYSMON, 11, 2, time, host);
    ev.data = process_fields(time, p);
    ev.data.extend([
        f("Image", s(&p.image)),
        f("TargetFilename", s(target)),
        f("CreationUtcTime", Value::Str(sysmon_utc(created))),
        f("User", Value::Str(p.user.qualified())),
    ]);
    ev
}

/// Sysmon 13, RegistryEvent (value set).
pub fn sysmon_13(host: &Host, time: u64, p: &Proc, key: &str, details: &str) -> Event {
    let mut ev = base(&SYSMON, 13, 2, time, host);
    ev.data = vec![
        f("RuleName", s("-")),
        f("EventType", s("SetValue")),
        f("UtcTime", Value::Str(utc_before(time))),
        f("ProcessGuid", Value::Guid(p.guid)),
        f("ProcessId", Value::U32(p.pid)),
        f("Image", s(&p.image)),
        f("TargetObject", s(key)),
        f("Details", s(details)),
        f("User", Value::Str(p.user.qualified())),
    ];
    ev
}

/// Sysmon 22, DnsQuery.
pub fn sysmon_22(host: &Host, time: u64, p: &Proc, name: &str, results: &str) -> Event {
    let mut ev = base(&SYSMON, 22, 5, time, host);
    ev.data = process_fields(time, p);
    ev.data.extend([
        f("QueryName", s(name)),
        f("QueryStatus", s("0")),
        f("QueryResults", s(results)),
        f("Image", s(&p.image)),
        f("User", Value::Str(p.user.qualified())),
    ]);
    ev
}

fn security(eid: u16, version: u8, time: u64, host: &Host) -> Event {
    let mut ev = base(&SECURITY, eid, version, time, host);
    ev.level = 0;
    ev.task = match eid {
        4688 => 13312,
        4689 => 13313,
        _ => 12544,
    };
    ev.keywords = 0x8020_0000_0000_0000;
    ev.exec_pid = 4 + 4 * (host.sysmon_pid % 200);
    ev.exec_tid = ev.exec_pid + 8 + (time / 7907 % 9) as u32 * 4;
    ev.user_sid = None;
    ev
}

/// The Security "subject" of a process: SYSTEM processes are reported as the machine account.
pub fn subject<'a>(host: &'a Host, p: &'a Proc) -> (&'a User, u64) {
    if p.user.sid == Sid::SYSTEM {
        (&host.machine_account, 0x3e7)
    } else {
        (&p.user, p.logon_id)
    }
}

/// Optional 4688 target user (`runas`); `None` writes the usual NULL SID and `-`.
pub struct Target<'a> {
    pub user: &'a User,
    pub logon_id: u64,
}

/// Security 4688, a new process has been created (version 2).
pub fn security_4688(
    host: &Host,
    time: u64,
    child: &Proc,
    parent_pid: u32,
    parent_name: &str,
    target: Option<Target<'_>>,
) -> Event {
    let mut ev = security(4688, 2, time, host);
    let (subj, subj_logon) = subject(host, child);
    let label = match child.integrity {
        "System" => 16384,
        "High" => 12288,
        "Low" => 4096,
        _ => 8192,
    };
    let elevation = match child.integrity {
        "High" => "%%1937",
        "Medium" => "%%1938",
        _ => "%%1936",
    };
    let (tsid, tname, tdom, tlogon) = match target {
        Some(t) => (
            t.user.sid,
            t.user.name.clone(),
            t.user.domain.clone(),
            t.logon_id,
        ),
        None => (Sid::NULL, "-".to_string(), "-".to_string(), 0),
    };
    ev.data = vec![
        f("SubjectUserSid", Value::Sid(subj.sid)),
        f("SubjectUserName", s(&subj.name)),
        f("SubjectDomainName", s(&subj.domain)),
        f("SubjectLogonId", Value::Hex64(subj_logon)),
        f("NewProcessId", Value::Hex64(u64::from(child.pid))),
        f("NewProcessName", s(&child.image)),
        f("TokenElevationType", s(elevation)),
        f("ProcessId", Value::Hex64(u64::from(parent_pid))),
        f("CommandLine", s(&child.cmdline)),
        f("TargetUserSid", Value::Sid(tsid)),
        f("TargetUserName", Value::Str(tname)),
        f("TargetDomainName", Value::Str(tdom)),
        f("TargetLogonId", Value::Hex64(tlogon)),
        f("ParentProcessName", s(parent_name)),
        f("MandatoryLabel", Value::Sid(Sid::new(16, &[label]))),
    ];
    ev
}

/// Security 4689, a process has exited.
pub fn security_4689(host: &Host, time: u64, p: &Proc) -> Event {
    let mut ev = security(4689, 0, time, host);
    let (subj, subj_logon) = subject(host, p);
    ev.data = vec![
        f("SubjectUserSid", Value::Sid(subj.sid)),
        f("SubjectUserName", s(&subj.name)),
        f("SubjectDomainName", s(&subj.domain)),
        f("SubjectLogonId", Value::Hex64(subj_logon)),
        f("Status", Value::Hex32(0)),
        f("ProcessId", Value::Hex64(u64::from(p.pid))),
        f("ProcessName", s(&p.image)),
    ];
    ev
}

/// Security 4624, an account was successfully logged on (version 2).
#[allow(clippy::too_many_arguments)]
pub fn security_4624(
    host: &Host,
    time: u64,
    user: &User,
    logon_id: u64,
    logon_type: u32,
    ip: &str,
    port: u16,
    logon_guid: Guid,
) -> Event {
    let mut ev = security(4624, 2, time, host);
    let (proc_name, lpn, auth) = if logon_type == 3 {
        ("-", "Kerberos", "Kerberos")
    } else {
        (r"C:\Windows\System32\svchost.exe", "User32", "Negotiate")
    };
    ev.data = vec![
        f("SubjectUserSid", Value::Sid(Sid::SYSTEM)),
        f("SubjectUserName", s(&host.machine_account.name)),
        f("SubjectDomainName", s(&host.machine_account.domain)),
        f("SubjectLogonId", Value::Hex64(0x3e7)),
        f("TargetUserSid", Value::Sid(user.sid)),
        f("TargetUserName", s(&user.name)),
        f("TargetDomainName", s(&user.domain)),
        f("TargetLogonId", Value::Hex64(logon_id)),
        f("LogonType", Value::U32(logon_type)),
        f("LogonProcessName", s(lpn)),
        f("AuthenticationPackageName", s(auth)),
        f(
            "WorkstationName",
            s(if logon_type == 3 { "-" } else { &host.netbios }),
        ),
        f("LogonGuid", Value::Guid(logon_guid)),
        f("TransmittedServices", s("-")),
        f("LmPackageName", s("-")),
        f("KeyLength", Value::U32(0)),
        f(
            "ProcessId",
            Value::Hex64(if logon_type == 3 { 0 } else { 0x2a4 }),
        ),
        f("ProcessName", s(proc_name)),
        f("IpAddress", s(ip)),
        f("IpPort", Value::Str(port.to_string())),
        f("ImpersonationLevel", s("%%1833")),
        f("RestrictedAdminMode", s("-")),
        f("TargetOutboundUserName", s("-")),
        f("TargetOutboundDomainName", s("-")),
        f("VirtualAccount", s("%%1843")),
        f("TargetLinkedLogonId", Value::Hex64(0)),
        f("ElevatedToken", s("%%1842")),
    ];
    ev
}

fn powershell(eid: u16, time: u64, host: &Host, p: &Proc) -> Event {
    let mut ev = base(&POWERSHELL, eid, 1, time, host);
    ev.exec_pid = p.pid;
    ev.exec_tid = p.pid + 36;
    ev.user_sid = Some(p.user.sid);
    ev.keywords = 0;
    ev
}

/// PowerShell 4104, script block logging.
pub fn powershell_4104(
    host: &Host,
    time: u64,
    p: &Proc,
    text: &str,
    block_id: Guid,
    path: &str,
) -> Event {
    let mut ev = powershell(4104, time, host, p);
    ev.level = 5;
    ev.task = 2;
    ev.opcode = 15;
    ev.data = vec![
        f("MessageNumber", Value::I32(1)),
        f("MessageTotal", Value::I32(1)),
        f("ScriptBlockText", s(text)),
        f(
            "ScriptBlockId",
            Value::Str(block_id.plain().to_ascii_lowercase()),
        ),
        f("Path", s(path)),
    ];
    ev
}

/// PowerShell 4103, module (pipeline) logging.
pub fn powershell_4103(
    host: &Host,
    time: u64,
    p: &Proc,
    command: &str,
    payload: &str,
    seq: u32,
) -> Event {
    let mut ev = powershell(4103, time, host, p);
    ev.task = 106;
    ev.opcode = 20;
    let ctx = format!(
        "Severity = Informational; Host Name = ConsoleHost; Host Version = 5.1.19041.3636; Host Application = {}; Engine Version = 5.1.19041.3636; Pipeline ID = {}; Command Name = {}; Command Type = Cmdlet; Sequence Number = {}; User = {}; Shell ID = Microsoft.PowerShell",
        p.cmdline,
        1 + seq % 40,
        command,
        seq,
        p.user.qualified()
    );
    ev.data = vec![
        f("ContextInfo", Value::Str(ctx)),
        f("UserData", s("")),
        f("Payload", s(payload)),
    ];
    ev
}

/// A ProcessGuid as Sysmon forms it: host prefix, then time- and pid-derived parts.
pub fn process_guid(host: &Host, seed: u64) -> Guid {
    let r = derive(seed, &[u64::from(host.guid_prefix)]);
    let mut g = Guid::from_u128((u128::from(r) << 64) | u128::from(r.rotate_left(17)));
    g.d1 = host.guid_prefix;
    g.d4[2..4].copy_from_slice(&[0, 0]);
    g
}
