//! evtx_dump-shaped JSON (as in the shared `events.json` files), one object per line. Values
//! keep their BinXML types: integers as numbers, hex types as `"0x…"`, GUIDs upper case
//! without braces, SIDs as `S-…`, FILETIMEs with microseconds.

use crate::model::{Event, Value};
use crate::text::json_str;
use std::fmt::Write as _;

fn value(out: &mut String, v: &Value) {
    match v {
        Value::Str(s) => json_str(out, s),
        Value::U8(x) => {
            let _ = write!(out, "{x}");
        }
        Value::U16(x) => {
            let _ = write!(out, "{x}");
        }
        Value::U32(x) => {
            let _ = write!(out, "{x}");
        }
        Value::I32(x) => {
            let _ = write!(out, "{x}");
        }
        Value::U64(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Guid(g) => {
            out.push('"');
            g.push_plain(out);
            out.push('"');
        }
        Value::FileTime(ft) => {
            out.push('"');
            crate::time::push_iso(out, *ft, 6);
            out.push('"');
        }
        Value::Sid(s) => json_str(out, &s.to_text()),
        Value::Hex32(x) => {
            let _ = write!(out, "\"0x{x:x}\"");
        }
        Value::Hex64(x) => {
            let _ = write!(out, "\"0x{x:x}\"");
        }
    }
}

/// Renders `ev` as one evtx_dump JSON object.
pub fn render(ev: &Event, out: &mut String) {
    out.push_str(r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"##);
    json_str(out, ev.provider.name);
    out.push_str(r##","Guid":""##);
    ev.provider.guid.push_plain(out);
    let _ = write!(
        out,
        r##""}}}},"EventID":{},"Version":{},"Level":{},"Task":{},"Opcode":{},"Keywords":"0x{:x}","TimeCreated":{{"#attributes":{{"SystemTime":""##,
        ev.event_id, ev.version, ev.level, ev.task, ev.opcode, ev.keywords
    );
    crate::time::push_iso(out, ev.time, 6);
    let _ = write!(
        out,
        r##""}}}},"EventRecordID":{},"Correlation":null,"Execution":{{"#attributes":{{"ProcessID":{},"ThreadID":{}}}}},"Channel":"##,
        ev.record_id, ev.exec_pid, ev.exec_tid
    );
    json_str(out, ev.provider.channel);
    out.push_str(r##","Computer":"##);
    json_str(out, &ev.computer);
    out.push_str(r##","Security":"##);
    match &ev.user_sid {
        Some(sid) => {
            out.push_str(r##"{"#attributes":{"UserID":""##);
            out.push_str(&sid.to_text());
            out.push_str(r##""}}"##);
        }
        None => out.push_str("null"),
    }
    out.push_str(r##"},"EventData":{"##);
    for (i, f) in ev.data.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, f.name);
        out.push(':');
        value(out, &f.value);
    }
    out.push_str("}}}");
}
