//! The CIM `Endpoint.Processes` mapping (per `escu/CIM_MAPPING.md`) for Sysmon 1 and Security
//! 4688, and the seed detection, so the expected table is computed from the very events written.
//!
//! Values are the decoded text of the event (what EVTX and JSON carry, and what evidx indexes),
//! as in the reference answers of `../shared/escu/expected`; a detection written with XML
//! entities (`*2&gt;&amp;1*`) matches them because the query engine tries both forms.
//!
//! The mapping is re-implemented on purpose, independently of the indexer's `normalize.rs`: the
//! generator is the ground truth. A misreading of CIM_MAPPING.md shared by both would pass both;
//! the Splunk reference answers in `../shared/escu/expected` are what catch that.

use crate::model::{Event, Value};
use crate::time::{csv_time, parse_sysmon_utc};
use crate::world::basename;
use std::collections::BTreeMap;

/// One `Endpoint.Processes` row restricted to the detection's by-fields, plus `_time`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CimRow {
    /// dest, user, parent_process, process_name, process, process_id, parent_process_id.
    pub key: [String; 7],
    /// `_time` as FILETIME.
    pub time: u64,
}

fn unknown(s: String) -> String {
    if s.is_empty() {
        "unknown".to_string()
    } else {
        s
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::Str(s)) => s.clone(),
        Some(v) => v.windows_text(),
        None => String::new(),
    }
}

/// Splits a command line into its first token (quoted or not) and the rest (leading blanks
/// removed).
pub fn split_first_token(cmd: &str) -> (&str, &str) {
    let cmd = cmd.trim_start();
    if let Some(after) = cmd.strip_prefix('"') {
        match after.find('"') {
            Some(i) => (&cmd[..i + 2], cmd[i + 2..].trim_start()),
            None => (cmd, ""),
        }
    } else {
        match cmd.find(char::is_whitespace) {
            Some(i) => (&cmd[..i], cmd[i..].trim_start()),
            None => (cmd, ""),
        }
    }
}

/// The 4688 `process` value: the command line if its first token holds a `\`, otherwise the
/// (quoted if it has whitespace) NewProcessName followed by the arguments.
pub fn process_4688(cmd: &str, new_process_name: &str) -> String {
    if cmd.is_empty() {
        return new_process_name.to_string();
    }
    let (first, rest) = split_first_token(cmd);
    if first.contains('\\') {
        return cmd.to_string();
    }
    let name = if new_process_name.contains(char::is_whitespace) {
        format!("\"{new_process_name}\"")
    } else {
        new_process_name.to_string()
    };
    if rest.is_empty() {
        name
    } else {
        format!("{name} {rest}")
    }
}

/// Sysmon `User` without the `DOMAIN\` prefix (regex `(.*)\\(.+)$`, second group).
pub fn strip_domain(user: &str) -> &str {
    match user.rfind('\\') {
        Some(i) if i + 1 < user.len() => &user[i + 1..],
        _ => user,
    }
}

/// The CIM row of a process-creation event (Sysmon 1 or Security 4688), else `None`.
pub fn processes_row(ev: &Event) -> Option<CimRow> {
    let g = |n: &str| text(ev.get(n));
    let dest = ev.computer.to_string();
    let (user, parent, name, process, pid, ppid, time) = match (ev.provider.index, ev.event_id) {
        (0, 1) => {
            let time = parse_sysmon_utc(&g("UtcTime")).unwrap_or(ev.time);
            (
                strip_domain(&g("User")).to_string(),
                g("ParentCommandLine"),
                basename(&g("Image")).to_string(),
                g("CommandLine"),
                g("ProcessId"),
                g("ParentProcessId"),
                time,
            )
        }
        (1, 4688) => {
            let target = g("TargetUserName");
            let user = if target.is_empty() || target == "-" {
                g("SubjectUserName")
            } else {
                target
            };
            let npn = g("NewProcessName");
            (
                user,
                g("ParentProcessName"),
                basename(&npn).to_string(),
                process_4688(&g("CommandLine"), &npn),
                g("NewProcessId"),
                g("ProcessId"),
                ev.time,
            )
        }
        _ => return None,
    };
    let x = unknown;
    Some(CimRow {
        key: [x(dest), x(user), x(parent), name, x(process), pid, ppid],
        time,
    })
}

/// `process_name="powershell.exe"` and `process=*Get-NetTcpConnection*`, case-insensitive.
pub fn getnettcpconnection_with_powershell(row: &CimRow) -> bool {
    row.key[3].eq_ignore_ascii_case("powershell.exe")
        && row.key[4]
            .to_ascii_lowercase()
            .contains("get-nettcpconnection")
}

/// The tstats result: groups by the seven by-fields with count, min and max `_time`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Table {
    pub groups: BTreeMap<[String; 7], (u64, u64, u64)>,
}

impl Table {
    /// Adds one matching event.
    pub fn add(&mut self, row: CimRow) {
        let e = self.groups.entry(row.key).or_insert((0, u64::MAX, 0));
        e.0 += 1;
        e.1 = e.1.min(row.time);
        e.2 = e.2.max(row.time);
    }

    /// Merges another table.
    pub fn merge(&mut self, other: Table) {
        for (k, (n, lo, hi)) in other.groups {
            let e = self.groups.entry(k).or_insert((0, u64::MAX, 0));
            e.0 += n;
            e.1 = e.1.min(lo);
            e.2 = e.2.max(hi);
        }
    }

    /// Renders the CSV (header, rows sorted by the by-fields in byte order).
    pub fn to_csv(&self) -> String {
        let rows = self.groups.iter().map(|(k, (n, lo, hi))| {
            let mut fields: Vec<String> = k.to_vec();
            fields.push(n.to_string());
            fields.push(csv_time(*lo));
            fields.push(csv_time(*hi));
            fields
        });
        crate::csv::render(
            &[
                "dest",
                "user",
                "parent_process",
                "process_name",
                "process",
                "process_id",
                "parent_process_id",
                "count",
                "firstTime",
                "lastTime",
            ],
            rows,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_token_rules() {
        assert_eq!(
            split_first_token(r#""C:\a b\p.exe" -c x"#),
            (r#""C:\a b\p.exe""#, "-c x")
        );
        assert_eq!(
            split_first_token("powershell.exe  -c x"),
            ("powershell.exe", "-c x")
        );
        let npn = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";
        assert_eq!(process_4688("powershell -c x", npn), format!("{npn} -c x"));
        assert_eq!(
            process_4688(r#""C:\x\powershell.exe" -c x"#, npn),
            r#""C:\x\powershell.exe" -c x"#
        );
        assert_eq!(
            process_4688(r#""powershell.exe" -c x"#, npn),
            format!("{npn} -c x")
        );
        assert_eq!(process_4688("", npn), npn);
        assert_eq!(
            process_4688("p.exe -c", r"C:\A B\p.exe"),
            r#""C:\A B\p.exe" -c"#
        );
        assert_eq!(strip_domain(r"NT AUTHORITY\SYSTEM"), "SYSTEM");
        assert_eq!(strip_domain("alone"), "alone");
    }
}
