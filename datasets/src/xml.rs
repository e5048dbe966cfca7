//! Windows event XML, one `<Event>` per line, as Windows renders it (and as Splunk's
//! XmlWinEventLog stores it): single-quoted attributes, `<Data Name='X'>v</Data>`, `&`, `<`, `>`
//! escaped in text, GUIDs braced upper case, SystemTime with nine fractional digits.

use crate::model::Event;
use crate::text::{xml_attr, xml_text};
use std::fmt::Write as _;

/// Renders `ev` as one XML line.
pub fn render(ev: &Event, out: &mut String) {
    out.push_str("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='");
    xml_attr(out, ev.provider.name);
    out.push_str("' Guid='");
    out.push_str(&ev.provider.guid.braced());
    let _ = write!(
        out,
        "'/><EventID>{}</EventID><Version>{}</Version><Level>{}</Level><Task>{}</Task><Opcode>{}</Opcode><Keywords>0x{:x}</Keywords><TimeCreated SystemTime='",
        ev.event_id, ev.version, ev.level, ev.task, ev.opcode, ev.keywords
    );
    crate::time::push_iso(out, ev.time, 9);
    let _ = write!(
        out,
        "'/><EventRecordID>{}</EventRecordID><Correlation/><Execution ProcessID='{}' ThreadID='{}'/><Channel>",
        ev.record_id, ev.exec_pid, ev.exec_tid
    );
    xml_text(out, ev.provider.channel);
    out.push_str("</Channel><Computer>");
    xml_text(out, &ev.computer);
    out.push_str("</Computer>");
    match &ev.user_sid {
        Some(sid) => {
            out.push_str("<Security UserID='");
            out.push_str(&sid.to_text());
            out.push_str("'/>");
        }
        None => out.push_str("<Security/>"),
    }
    out.push_str("</System><EventData>");
    for f in &ev.data {
        out.push_str("<Data Name='");
        xml_attr(out, f.name);
        out.push_str("'>");
        match &f.value {
            crate::model::Value::Str(s) => xml_text(out, s),
            v => xml_text(out, &v.windows_text()),
        }
        out.push_str("</Data>");
    }
    out.push_str("</EventData></Event>");
}
