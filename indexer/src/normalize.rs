//! CIM normalization: Sysmon EventID 1 and Security 4688 become one
//! `Endpoint.Processes` row, following `../shared/escu/CIM_MAPPING.md`
//! (the Splunk add-ons' extractions plus the CIM model's `unknown` fills).
//!
//! Values keep the source's case and text; only the data model's own
//! derivations are applied (basename, domain stripping, lower-cased
//! integrity level, `unknown` defaults).

use evidx_schema::{Cim, N_CIM};

use crate::event::{EventKind, RawEvent, SECURITY_PROCESS_CREATE, SYSMON_PROCESS_CREATE};

/// One `Endpoint.Processes` row. `values[i]` belongs to the field of
/// [`Cim::index`] `i`; None means the field is null (absent) for this event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProcessRow {
    pub values: [Option<String>; N_CIM],
    /// `_time` in microseconds since the epoch.
    pub time: Option<i64>,
    /// 1 or 4688.
    pub event_code: u32,
}

impl ProcessRow {
    pub fn get(&self, field: Cim) -> Option<&str> {
        self.values[field.index()].as_deref()
    }

    fn set(&mut self, field: Cim, value: Option<String>) {
        self.values[field.index()] = value;
    }
}

/// Normalize a process-creation event; None for every other event.
pub fn normalize(ev: &RawEvent) -> Option<ProcessRow> {
    match ev.kind() {
        EventKind::SysmonProcessCreate => Some(sysmon_1(ev)),
        EventKind::SecurityProcessCreate => Some(security_4688(ev)),
        EventKind::Other => None,
    }
}

/// A non-empty EventData value.
fn field(ev: &RawEvent, name: &str) -> Option<String> {
    ev.get(name).filter(|v| !v.is_empty()).map(str::to_string)
}

/// Everything after the last `\`.
fn basename(path: &str) -> &str {
    path.rsplit('\\').next().unwrap_or(path)
}

/// `DOMAIN\name` -> `name` (the add-on's `(.*)\\(.+)$`).
fn strip_domain(user: &str) -> String {
    match user.rfind('\\') {
        Some(i) if i + 1 < user.len() => user[i + 1..].to_string(),
        _ => user.to_string(),
    }
}

/// `-` means "not available" in several Windows fields.
fn not_dash(v: Option<String>) -> Option<String> {
    v.filter(|s| s != "-")
}

fn sysmon_1(ev: &RawEvent) -> ProcessRow {
    let mut row = ProcessRow {
        event_code: SYSMON_PROCESS_CREATE,
        ..Default::default()
    };
    let image = field(ev, "Image");
    let parent_image = field(ev, "ParentImage");
    row.set(Cim::Dest, non_empty(&ev.computer));
    row.set(Cim::User, field(ev, "User").map(|u| strip_domain(&u)));
    row.set(Cim::Process, field(ev, "CommandLine"));
    row.set(
        Cim::ProcessName,
        image.as_deref().map(|p| basename(p).to_string()),
    );
    row.set(
        Cim::ProcessExec,
        image.as_deref().map(|p| basename(p).to_string()),
    );
    row.set(Cim::ProcessPath, image);
    row.set(Cim::ParentProcess, field(ev, "ParentCommandLine"));
    row.set(
        Cim::ParentProcessName,
        parent_image.as_deref().map(|p| basename(p).to_string()),
    );
    row.set(
        Cim::ParentProcessExec,
        parent_image.as_deref().map(|p| basename(p).to_string()),
    );
    row.set(Cim::ParentProcessPath, parent_image);
    row.set(Cim::ProcessId, field(ev, "ProcessId"));
    row.set(Cim::ParentProcessId, field(ev, "ParentProcessId"));
    row.set(Cim::ProcessGuid, field(ev, "ProcessGuid"));
    row.set(Cim::ParentProcessGuid, field(ev, "ParentProcessGuid"));
    row.set(
        Cim::OriginalFileName,
        not_dash(field(ev, "OriginalFileName")),
    );
    row.set(Cim::ProcessHash, field(ev, "Hashes"));
    row.set(
        Cim::ProcessIntegrityLevel,
        field(ev, "IntegrityLevel").map(|s| s.to_lowercase()),
    );
    row.set(Cim::ProcessCurrentDirectory, field(ev, "CurrentDirectory"));
    row.set(Cim::Action, Some("allowed".into()));
    row.set(Cim::VendorProduct, Some("Microsoft Sysmon".into()));
    row.set(Cim::Os, Some("Microsoft Windows".into()));
    row.time = ev
        .get("UtcTime")
        .and_then(crate::time::parse_micros)
        .or(ev.time_created);
    finish(row)
}

fn security_4688(ev: &RawEvent) -> ProcessRow {
    let mut row = ProcessRow {
        event_code: SECURITY_PROCESS_CREATE,
        ..Default::default()
    };
    let new_process = field(ev, "NewProcessName");
    let parent = field(ev, "ParentProcessName");
    row.set(Cim::Dest, non_empty(&ev.computer));
    row.set(
        Cim::User,
        not_dash(field(ev, "TargetUserName")).or_else(|| field(ev, "SubjectUserName")),
    );
    row.set(
        Cim::Process,
        process_4688(field(ev, "CommandLine").as_deref(), new_process.as_deref()),
    );
    row.set(
        Cim::ProcessName,
        new_process.as_deref().map(|p| basename(p).to_string()),
    );
    row.set(
        Cim::ProcessExec,
        new_process.as_deref().map(|p| basename(p).to_string()),
    );
    row.set(Cim::ProcessPath, new_process);
    row.set(
        Cim::ParentProcessName,
        parent.as_deref().map(|p| basename(p).to_string()),
    );
    row.set(Cim::ParentProcessPath, parent.clone());
    row.set(Cim::ParentProcess, parent);
    row.set(Cim::ProcessId, field(ev, "NewProcessId"));
    row.set(Cim::ParentProcessId, field(ev, "ProcessId"));
    row.set(Cim::UserId, ev.user_sid.clone().filter(|s| !s.is_empty()));
    if ev.keywords.as_deref().is_some_and(is_audit_success) {
        row.set(Cim::Action, Some("allowed".into()));
    }
    row.set(Cim::VendorProduct, Some("Microsoft Windows".into()));
    row.time = ev.time_created;
    finish(row)
}

/// The 4688 `process`: the command line when its first token is a path,
/// else the image path (quoted if it has spaces) followed by the arguments.
fn process_4688(cmdline: Option<&str>, new_process: Option<&str>) -> Option<String> {
    let Some(cmd) = cmdline else {
        return new_process.map(str::to_string);
    };
    let (first, rest) = split_first_token(cmd);
    if first.contains('\\') {
        return Some(cmd.to_string());
    }
    let Some(image) = new_process else {
        return Some(cmd.to_string());
    };
    let image = if image.chars().any(char::is_whitespace) {
        format!("\"{image}\"")
    } else {
        image.to_string()
    };
    let rest = rest.trim_start();
    Some(if rest.is_empty() {
        image
    } else {
        format!("{image} {rest}")
    })
}

/// The first token of a command line, honouring a leading double quote,
/// and what follows it.
fn split_first_token(cmd: &str) -> (&str, &str) {
    let s = cmd.trim_start();
    if let Some(body) = s.strip_prefix('"') {
        match body.find('"') {
            Some(end) => (&s[..end + 2], &s[end + 2..]),
            None => (s, ""),
        }
    } else {
        match s.find(char::is_whitespace) {
            Some(end) => (&s[..end], &s[end..]),
            None => (s, ""),
        }
    }
}

/// Keywords that mark "Audit Success" (0x8020000000000000) in any of the
/// forms exports use.
fn is_audit_success(k: &str) -> bool {
    const AUDIT_SUCCESS: u64 = 0x0020_0000_0000_0000;
    let k = k.trim();
    let bits = if let Some(hex) = k.strip_prefix("0x").or_else(|| k.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if let Ok(signed) = k.parse::<i64>() {
        Some(signed as u64)
    } else {
        None
    };
    match bits {
        Some(b) => b & AUDIT_SUCCESS != 0,
        None => k.to_ascii_lowercase().contains("audit success"),
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The CIM model's fills, applied after extraction: `unknown` for the
/// fields it defaults, `process_name` from the first token of `process`.
fn finish(mut row: ProcessRow) -> ProcessRow {
    for (name, from) in [
        (Cim::ProcessName, Cim::Process),
        (Cim::ParentProcessName, Cim::ParentProcess),
    ] {
        if row.get(name).is_none() {
            let derived = row
                .get(from)
                .and_then(|p| p.split_whitespace().next())
                .map(str::to_string);
            row.set(name, derived);
        }
    }
    for name in [
        Cim::Dest,
        Cim::User,
        Cim::Process,
        Cim::ProcessName,
        Cim::ParentProcess,
        Cim::ParentProcessName,
        Cim::OriginalFileName,
    ] {
        if row.get(name).is_none() {
            row.set(name, Some("unknown".into()));
        }
    }
    let host = row.get(Cim::Dest).map(str::to_string);
    row.set(Cim::Host, host);
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(provider: &str, id: u32, channel: &str, data: &[(&str, &str)]) -> RawEvent {
        RawEvent {
            provider: provider.into(),
            event_id: id,
            channel: channel.into(),
            computer: "HOST1".into(),
            time_created: Some(5_000_000),
            keywords: Some("0x8020000000000000".into()),
            user_sid: Some("S-1-5-18".into()),
            data: data
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn sysmon_1_maps_as_the_add_on_does() {
        let e = ev(
            "Microsoft-Windows-Sysmon",
            1,
            "Microsoft-Windows-Sysmon/Operational",
            &[
                ("UtcTime", "1970-01-01 00:00:02.500"),
                ("ProcessGuid", "{5AA13A44-0130-68FD-4E35-000000004002}"),
                (
                    "ParentProcessGuid",
                    "{5aa13a44-0fec-68fc-281e-000000004002}",
                ),
                ("ProcessId", "5112"),
                ("Image", "C:\\Windows\\System32\\certutil.exe"),
                ("OriginalFileName", "-"),
                ("CommandLine", "certutil  -decode a b"),
                ("User", "ATTACKRANGE\\Administrator"),
                ("IntegrityLevel", "High"),
                ("ParentImage", "C:\\Windows\\System32\\cmd.exe"),
                ("ParentCommandLine", "\"C:\\Windows\\System32\\cmd.exe\""),
                ("ParentProcessId", "6304"),
            ],
        );
        let r = normalize(&e).unwrap();
        assert_eq!(r.get(Cim::User), Some("Administrator"));
        assert_eq!(r.get(Cim::ProcessName), Some("certutil.exe"));
        assert_eq!(r.get(Cim::Process), Some("certutil  -decode a b"));
        assert_eq!(r.get(Cim::OriginalFileName), Some("unknown"));
        assert_eq!(
            r.get(Cim::ProcessGuid),
            Some("{5AA13A44-0130-68FD-4E35-000000004002}")
        );
        assert_eq!(r.get(Cim::ProcessIntegrityLevel), Some("high"));
        assert_eq!(r.get(Cim::ParentProcessName), Some("cmd.exe"));
        assert_eq!(r.get(Cim::ProcessHash), None);
        assert_eq!(r.get(Cim::Host), Some("HOST1"));
        assert_eq!(r.time, Some(2_500_000));
    }

    #[test]
    fn security_4688_maps_as_the_add_on_does() {
        let e = ev(
            "Microsoft-Windows-Security-Auditing",
            4688,
            "Security",
            &[
                ("SubjectUserName", "AR-WIN-1$"),
                ("TargetUserName", "-"),
                ("NewProcessId", "0xf84"),
                ("NewProcessName", "C:\\Program Files\\App\\app.exe"),
                ("ProcessId", "0x1e4"),
                ("CommandLine", "app.exe  /x y"),
            ],
        );
        let r = normalize(&e).unwrap();
        assert_eq!(r.get(Cim::User), Some("AR-WIN-1$"));
        assert_eq!(
            r.get(Cim::Process),
            Some("\"C:\\Program Files\\App\\app.exe\" /x y")
        );
        assert_eq!(r.get(Cim::ProcessId), Some("0xf84"));
        assert_eq!(r.get(Cim::ParentProcessId), Some("0x1e4"));
        assert_eq!(r.get(Cim::ParentProcess), Some("unknown"));
        assert_eq!(r.get(Cim::ParentProcessName), Some("unknown"));
        assert_eq!(r.get(Cim::Action), Some("allowed"));
        assert_eq!(r.get(Cim::UserId), Some("S-1-5-18"));
        assert_eq!(r.time, Some(5_000_000));
    }

    #[test]
    fn process_4688_forms() {
        assert_eq!(
            process_4688(
                Some("c:\\windows\\cmd.exe /c x"),
                Some("C:\\Windows\\cmd.exe")
            )
            .as_deref(),
            Some("c:\\windows\\cmd.exe /c x")
        );
        assert_eq!(
            process_4688(Some("\"C:\\a b\\x.exe\" -y"), Some("C:\\a b\\x.exe")).as_deref(),
            Some("\"C:\\a b\\x.exe\" -y")
        );
        assert_eq!(
            process_4688(None, Some("C:\\x.exe")).as_deref(),
            Some("C:\\x.exe")
        );
        assert_eq!(
            process_4688(Some("x.exe"), Some("C:\\x.exe")).as_deref(),
            Some("C:\\x.exe")
        );
    }

    #[test]
    fn keywords_forms() {
        assert!(is_audit_success("0x8020000000000000"));
        assert!(is_audit_success("-9214364837600034816"));
        assert!(is_audit_success("Audit Success"));
        assert!(!is_audit_success("0x8010000000000000"));
        assert!(!is_audit_success("0x8000000000000000"));
    }

    #[test]
    fn other_events_are_not_rows() {
        let e = ev("Microsoft-Windows-Sysmon", 3, "x", &[]);
        assert!(normalize(&e).is_none());
        let e = ev(
            "Microsoft-Windows-PowerShell",
            4688,
            "Microsoft-Windows-PowerShell/Operational",
            &[],
        );
        assert!(normalize(&e).is_none());
    }
}
