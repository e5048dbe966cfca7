//! Winlogbeat 8 / ECS JSON lines: `winlog.*` with every EventData value as a string (GUIDs
//! braced, hex as `0x…`), plus the ECS `event`, `host`, `process` and `user` objects and a
//! rendered `message`. Empty EventData values are left out, as Winlogbeat does.

use crate::model::{Event, Value};
use crate::text::json_str;
use crate::world::basename;
use std::fmt::Write as _;

fn title(ev: &Event) -> (&'static str, &'static str) {
    match (ev.provider.index, ev.event_id) {
        (0, 1) => ("Process Create", "Process Create (rule: ProcessCreate)"),
        (0, 3) => (
            "Network connection detected",
            "Network connection detected (rule: NetworkConnect)",
        ),
        (0, 5) => (
            "Process terminated",
            "Process terminated (rule: ProcessTerminate)",
        ),
        (0, 7) => ("Image loaded", "Image loaded (rule: ImageLoad)"),
        (0, 10) => ("Process accessed", "Process accessed (rule: ProcessAccess)"),
        (0, 11) => ("File created", "File created (rule: FileCreate)"),
        (0, 13) => (
            "Registry value set",
            "Registry value set (rule: RegistryEvent)",
        ),
        (0, 22) => ("Dns query", "Dns query (rule: DnsQuery)"),
        (1, 4688) => ("A new process has been created.", "created-process"),
        (1, 4689) => ("A process has exited.", "exited-process"),
        (1, 4624) => ("An account was successfully logged on.", "logged-in"),
        (2, 4104) => (
            "Creating Scriptblock text (1 of 1):",
            "Execute a Remote Command",
        ),
        (2, 4103) => ("CommandInvocation", "Executing Pipeline"),
        _ => ("Event", "event"),
    }
}

fn hex_num(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Hex64(x) | Value::U64(x) => Some(*x),
        Value::U32(x) | Value::Hex32(x) => Some(u64::from(*x)),
        _ => None,
    }
}

fn kv_str(out: &mut String, first: &mut bool, k: &str, v: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    json_str(out, k);
    out.push(':');
    json_str(out, v);
}

fn kv_num(out: &mut String, first: &mut bool, k: &str, v: u64) {
    if !*first {
        out.push(',');
    }
    *first = false;
    json_str(out, k);
    let _ = write!(out, ":{v}");
}

/// Renders `ev` as one Winlogbeat 8 document.
pub fn render(ev: &Event, out: &mut String) {
    let mut ts = String::with_capacity(24);
    crate::time::push_iso(&mut ts, ev.time, 3);
    let (title, action) = title(ev);
    let is_proc_start = matches!((ev.provider.index, ev.event_id), (0, 1) | (1, 4688));
    out.push_str("{\"@timestamp\":\"");
    out.push_str(&ts);
    let _ = write!(
        out,
        "\",\"event\":{{\"code\":\"{}\",\"kind\":\"event\",\"provider\":",
        ev.event_id
    );
    json_str(out, ev.provider.name);
    out.push_str(",\"created\":\"");
    out.push_str(&ts);
    out.push_str("\",\"action\":");
    json_str(out, action);
    if is_proc_start {
        out.push_str(",\"category\":[\"process\"],\"type\":[\"start\"]");
    }
    out.push_str(",\"outcome\":\"success\"},\"agent\":{\"type\":\"winlogbeat\",\"version\":\"8.11.3\"},\"ecs\":{\"version\":\"8.0.0\"},\"host\":{\"name\":");
    json_str(out, &ev.computer);
    let level = match ev.level {
        0 | 4 => "information",
        5 => "verbose",
        3 => "warning",
        2 => "error",
        _ => "information",
    };
    let _ = write!(
        out,
        "}},\"log\":{{\"level\":\"{level}\"}},\"winlog\":{{\"api\":\"wineventlog\",\"channel\":"
    );
    json_str(out, ev.provider.channel);
    out.push_str(",\"computer_name\":");
    json_str(out, &ev.computer);
    let _ = write!(out, ",\"event_id\":\"{}\",\"provider_name\":", ev.event_id);
    json_str(out, ev.provider.name);
    let _ = write!(
        out,
        ",\"provider_guid\":\"{}\",\"record_id\":{},\"version\":{},\"opcode\":\"Info\",\"keywords\":[\"{}\"],\"process\":{{\"pid\":{},\"thread\":{{\"id\":{}}}}}",
        ev.provider.guid.braced(),
        ev.record_id,
        ev.version,
        if ev.keywords == 0x8020_0000_0000_0000 { "Audit Success" } else { "Classic" },
        ev.exec_pid,
        ev.exec_tid
    );
    if let Some(sid) = &ev.user_sid {
        out.push_str(",\"user\":{\"identifier\":\"");
        out.push_str(&sid.to_text());
        out.push('"');
        if *sid == crate::model::Sid::SYSTEM {
            out.push_str(
                ",\"domain\":\"NT AUTHORITY\",\"name\":\"SYSTEM\",\"type\":\"Well Known Group\"",
            );
        }
        out.push('}');
    }
    out.push_str(",\"event_data\":{");
    let mut first = true;
    let mut message = String::with_capacity(1024);
    message.push_str(title);
    message.push('\n');
    for f in &ev.data {
        let text = match &f.value {
            Value::Str(s) => std::borrow::Cow::Borrowed(s.as_str()),
            v => std::borrow::Cow::Owned(v.windows_text()),
        };
        let _ = write!(message, "\n{}: {}", f.name, text);
        if !text.is_empty() {
            kv_str(out, &mut first, f.name, &text);
        }
    }
    out.push_str("}}");
    // ECS process object.
    let s = |n: &str| ev.get_str(n).filter(|v| !v.is_empty());
    let (exe, pid, cmd, guid, ppid, pexe, pcmd, pguid, cwd) = if ev.provider.index == 1 {
        (
            s("NewProcessName").or_else(|| s("ProcessName")),
            hex_num(ev.get("NewProcessId")).or_else(|| hex_num(ev.get("ProcessId"))),
            s("CommandLine"),
            None,
            if ev.event_id == 4688 {
                hex_num(ev.get("ProcessId"))
            } else {
                None
            },
            s("ParentProcessName"),
            None,
            None,
            None,
        )
    } else {
        let guid = match ev
            .get("ProcessGuid")
            .or_else(|| ev.get("SourceProcessGUID"))
        {
            Some(Value::Guid(g)) => Some(g.braced()),
            _ => None,
        };
        let pguid = match ev.get("ParentProcessGuid") {
            Some(Value::Guid(g)) => Some(g.braced()),
            _ => None,
        };
        (
            s("Image").or_else(|| s("SourceImage")),
            hex_num(ev.get("ProcessId")).or_else(|| hex_num(ev.get("SourceProcessId"))),
            s("CommandLine"),
            guid,
            hex_num(ev.get("ParentProcessId")),
            s("ParentImage"),
            s("ParentCommandLine"),
            pguid,
            s("CurrentDirectory"),
        )
    };
    if exe.is_some() || pid.is_some() {
        out.push_str(",\"process\":{");
        let mut first = true;
        if let Some(g) = &guid {
            kv_str(out, &mut first, "entity_id", g);
        }
        if let Some(p) = pid {
            kv_num(out, &mut first, "pid", p);
        }
        if let Some(e) = exe {
            kv_str(out, &mut first, "executable", e);
            kv_str(out, &mut first, "name", basename(e));
        }
        if let Some(c) = cmd {
            kv_str(out, &mut first, "command_line", c);
        }
        if let Some(c) = cwd {
            kv_str(out, &mut first, "working_directory", c);
        }
        if pexe.is_some() || ppid.is_some() {
            if !first {
                out.push(',');
            }
            out.push_str("\"parent\":{");
            let mut pf = true;
            if let Some(g) = &pguid {
                kv_str(out, &mut pf, "entity_id", g);
            }
            if let Some(p) = ppid {
                kv_num(out, &mut pf, "pid", p);
            }
            if let Some(e) = pexe {
                kv_str(out, &mut pf, "executable", e);
                kv_str(out, &mut pf, "name", basename(e));
            }
            if let Some(c) = pcmd {
                kv_str(out, &mut pf, "command_line", c);
            }
            out.push('}');
        }
        out.push('}');
    }
    // ECS user object.
    let user = if ev.provider.index == 1 {
        s("SubjectUserName").map(|n| (s("SubjectDomainName").unwrap_or(""), n))
    } else {
        s("User").map(|u| match u.rsplit_once('\\') {
            Some((d, n)) => (d, n),
            None => ("", u),
        })
    };
    if let Some((domain, name)) = user {
        out.push_str(",\"user\":{");
        let mut uf = true;
        if !domain.is_empty() {
            kv_str(out, &mut uf, "domain", domain);
        }
        kv_str(out, &mut uf, "name", name);
        out.push('}');
    }
    out.push_str(",\"message\":");
    json_str(out, &message);
    out.push('}');
}
