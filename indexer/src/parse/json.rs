//! JSON event shapes -> [`RawEvent`]. The shape is recognised per object, so
//! one file may mix them:
//! - evtx_dump: `{"Event":{"System":{...},"EventData":{...}}}` with
//!   `#attributes` / `#text` (also what the `evtx` crate renders from EVTX);
//! - Winlogbeat 7+/ECS: `winlog.{event_id,provider_name,channel,computer_name,
//!   record_id,event_data}`;
//! - Winlogbeat 6.x: `event_id`, `source_name`, `log_name`, `computer_name`,
//!   `event_data{}`;
//! - NXLog / Mordor (OTRF) flat: `EventID`, `SourceName`, `Channel`,
//!   `Hostname`, EventData fields at the top level.

use serde_json::{Map, Value};

use crate::event::RawEvent;
use crate::time::parse_micros;

/// Why a JSON value is not an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub &'static str);

/// Convert one JSON event of any supported shape.
pub fn event_from_json(v: &Value) -> Result<RawEvent, ShapeError> {
    let obj = v.as_object().ok_or(ShapeError("not a JSON object"))?;
    if let Some(ev) = obj.get("Event").and_then(Value::as_object) {
        evtx_dump(ev)
    } else if let Some(w) = obj.get("winlog").and_then(Value::as_object) {
        winlogbeat_ecs(obj, w)
    } else if obj.contains_key("event_id") && obj.contains_key("source_name") {
        winlogbeat_6(obj)
    } else if obj.contains_key("EventID") {
        flat(obj)
    } else {
        Err(ShapeError(
            "unrecognised JSON event shape (expected evtx_dump, Winlogbeat/ECS, NXLog or Mordor fields)",
        ))
    }
}

/// Text of a scalar JSON value; arrays are joined as Windows joins
/// multi-string values; null and objects are absent.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(text).collect();
            Some(parts.join(", "))
        }
        Value::Object(o) => o.get("#text").and_then(text),
        Value::Null => None,
    }
}

fn u64_of(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => u64_of(o.get("#text")),
        _ => None,
    }
}

fn str_of(v: Option<&Value>) -> String {
    v.and_then(text).unwrap_or_default()
}

fn attr<'a>(v: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    v?.get("#attributes")?.get(name)
}

fn event_id(v: Option<&Value>) -> Result<u32, ShapeError> {
    u64_of(v)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(ShapeError("missing or non-numeric EventID"))
}

/// Name/value pairs of an object's scalar members.
fn pairs(obj: &Map<String, Value>, skip: &[&str]) -> Vec<(String, String)> {
    obj.iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .filter_map(|(k, v)| text(v).map(|t| (k.clone(), t)))
        .collect()
}

fn evtx_dump(ev: &Map<String, Value>) -> Result<RawEvent, ShapeError> {
    let sys = ev
        .get("System")
        .ok_or(ShapeError("evtx_dump event without System"))?;
    let mut out = RawEvent {
        provider: attr(sys.get("Provider"), "Name")
            .and_then(text)
            .unwrap_or_default(),
        event_id: event_id(sys.get("EventID"))?,
        channel: str_of(sys.get("Channel")),
        computer: str_of(sys.get("Computer")),
        record_id: u64_of(sys.get("EventRecordID")),
        time_created: attr(sys.get("TimeCreated"), "SystemTime")
            .and_then(text)
            .as_deref()
            .and_then(parse_micros),
        keywords: sys.get("Keywords").and_then(text),
        user_sid: attr(sys.get("Security"), "UserID").and_then(text),
        data: Vec::new(),
    };
    // EventData is usually `{Name: value}`; older renderings keep the
    // `Data` elements as `[{"#attributes":{"Name":..},"#text":..}]`.
    if let Some(Value::Object(data)) = ev.get("EventData") {
        match data.get("Data") {
            Some(Value::Array(items)) => {
                for item in items {
                    if let (Some(name), Some(val)) =
                        (attr(Some(item), "Name").and_then(text), text(item))
                    {
                        out.data.push((name, val));
                    }
                }
            }
            Some(item @ Value::Object(_)) if attr(Some(item), "Name").is_some() => {
                if let (Some(name), Some(val)) =
                    (attr(Some(item), "Name").and_then(text), text(item))
                {
                    out.data.push((name, val));
                }
            }
            _ => out.data = pairs(data, &["#attributes"]),
        }
    }
    for (_, v) in &mut out.data {
        if let Some(g) = windows_guid(v) {
            *v = g;
        }
    }
    Ok(out)
}

/// The evtx_dump shape is the `evtx` crate's rendering, and it writes a
/// binary GUID bare or in lower case (by version), where Windows writes
/// `{5AA13A44-0130-68FD-4E35-000000004002}`. Re-render GUID-shaped values
/// the Windows way, so an EVTX file, its evtx_dump export and Windows' own
/// XML give the same row.
pub fn windows_guid(v: &str) -> Option<String> {
    let bare = v
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(v);
    let b = bare.as_bytes();
    let is_guid = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if !is_guid {
        return None;
    }
    let rendered = format!("{{{}}}", bare.to_ascii_uppercase());
    (rendered != v).then_some(rendered)
}

/// Where a Winlogbeat version keeps the System fields.
pub(crate) struct BeatFields {
    pub provider: &'static str,
    pub event_id: &'static str,
    pub channel: &'static str,
    pub computer: &'static str,
    pub record_id: &'static str,
}

/// Winlogbeat 7+ (ECS) nests them under `winlog`.
pub(crate) const ECS: BeatFields = BeatFields {
    provider: "provider_name",
    event_id: "event_id",
    channel: "channel",
    computer: "computer_name",
    record_id: "record_id",
};

/// Winlogbeat 6 keeps them at the top level.
pub(crate) const BEAT6: BeatFields = BeatFields {
    provider: "source_name",
    event_id: "event_id",
    channel: "log_name",
    computer: "computer_name",
    record_id: "record_number",
};

fn winlogbeat_ecs(
    root: &Map<String, Value>,
    w: &Map<String, Value>,
) -> Result<RawEvent, ShapeError> {
    beat(root, w, &ECS)
}

fn winlogbeat_6(o: &Map<String, Value>) -> Result<RawEvent, ShapeError> {
    beat(o, o, &BEAT6)
}

/// A Winlogbeat event: System fields in `w`, `@timestamp` and `host` in `root`.
fn beat(
    root: &Map<String, Value>,
    w: &Map<String, Value>,
    f: &BeatFields,
) -> Result<RawEvent, ShapeError> {
    let id = w.get(f.event_id).or_else(|| root.get("event")?.get("code"));
    Ok(RawEvent {
        provider: str_of(w.get(f.provider)),
        event_id: event_id(id)?,
        channel: str_of(w.get(f.channel)),
        computer: w
            .get(f.computer)
            .and_then(text)
            .or_else(|| root.get("host")?.get("name").and_then(text))
            .unwrap_or_default(),
        record_id: u64_of(w.get(f.record_id)),
        time_created: root
            .get("@timestamp")
            .and_then(text)
            .as_deref()
            .and_then(parse_micros),
        keywords: w.get("keywords").and_then(text),
        user_sid: w
            .get("user")
            .and_then(|u| u.get("identifier"))
            .and_then(text),
        data: match w.get("event_data") {
            Some(Value::Object(data)) => pairs(data, &[]),
            _ => Vec::new(),
        },
    })
}

fn flat(o: &Map<String, Value>) -> Result<RawEvent, ShapeError> {
    // The record's creation time, UTC first: Logstash's @timestamp and
    // Mordor's TimeCreated carry a zone; NXLog's EventTime is the agent's
    // local clock without one (taken as UTC only when nothing else is there).
    let time = ["@timestamp", "TimeCreated", "EventTime"]
        .iter()
        .find_map(|k| o.get(*k).and_then(text).as_deref().and_then(parse_micros));
    Ok(RawEvent {
        provider: o
            .get("SourceName")
            .or_else(|| o.get("ProviderName"))
            .and_then(text)
            .unwrap_or_default(),
        event_id: event_id(o.get("EventID"))?,
        channel: str_of(o.get("Channel")),
        computer: o
            .get("Hostname")
            .or_else(|| o.get("Computer"))
            .and_then(text)
            .unwrap_or_default(),
        record_id: u64_of(o.get("RecordNumber").or_else(|| o.get("EventRecordID"))),
        time_created: time,
        keywords: o.get("Keywords").and_then(text),
        user_sid: o.get("UserID").and_then(text),
        data: with_message_fields(
            pairs(o, &["Message"]),
            o.get("Message").and_then(Value::as_str),
        ),
    })
}

/// Security 4688's rendered `Message` labels (`\tLabel:\tvalue` lines) of
/// EventData fields that NXLog's own fields can hide, with their names.
const MESSAGE_LABELS: &[(&str, &str)] = &[("Creator Process ID", "ProcessId")];

/// NXLog names fields case-insensitively, so its own `ProcessID` (the
/// logging process) replaces the EventData `ProcessId` of Sysmon 1 (the
/// new process) and of Security 4688 (the creator). The rendered `Message`
/// still has every EventData field, as `Name: value` lines for Sysmon and
/// as labelled lines ([`MESSAGE_LABELS`]) for 4688; fill the fields
/// missing from the object from there.
pub(crate) fn with_message_fields(
    mut data: Vec<(String, String)>,
    message: Option<&str>,
) -> Vec<(String, String)> {
    let Some(message) = message else {
        return data;
    };
    for line in message.lines().skip(1) {
        let labelled = line.trim().split_once(':').and_then(|(label, value)| {
            let (_, name) = MESSAGE_LABELS.iter().find(|(l, _)| *l == label)?;
            Some((*name, value.trim()))
        });
        let Some((name, value)) = labelled.or_else(|| line.split_once(": ")) else {
            continue;
        };
        let plain_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric());
        if plain_name && !data.iter().any(|(k, _)| k == name) {
            data.push((name.to_string(), value.trim_end_matches('\r').to_string()));
        }
    }
    data
}

/// The EventID of a JSON event of any supported shape, read without
/// building a tree (fields other than the ids are skipped unparsed). None
/// when there is none to read: the caller then parses the whole value.
pub fn probe_event_id(line: &[u8]) -> Option<u32> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Id {
        Num(u64),
        Text(String),
        Tagged {
            #[serde(rename = "#text")]
            text: Box<Id>,
        },
    }
    impl Id {
        fn get(&self) -> Option<u32> {
            match self {
                Id::Num(n) => u32::try_from(*n).ok(),
                Id::Text(t) => t.trim().parse().ok(),
                Id::Tagged { text } => text.get(),
            }
        }
    }
    #[derive(serde::Deserialize)]
    struct System {
        #[serde(rename = "EventID")]
        event_id: Option<Id>,
    }
    #[derive(serde::Deserialize)]
    struct Event {
        #[serde(rename = "System")]
        system: Option<System>,
    }
    #[derive(serde::Deserialize)]
    struct Winlog {
        event_id: Option<Id>,
    }
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "Event")]
        event: Option<Event>,
        winlog: Option<Winlog>,
        #[serde(rename = "EventID")]
        flat: Option<Id>,
        event_id: Option<Id>,
    }
    let p: Probe = serde_json::from_slice(line).ok()?;
    let id = match (p.event, p.winlog, p.flat, p.event_id) {
        (Some(e), _, _, _) => e.system?.event_id,
        (None, Some(w), _, _) => w.event_id,
        (None, None, Some(f), _) => Some(f),
        (None, None, None, b6) => b6,
    };
    id?.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evtx_dump_shape() {
        let v: Value = serde_json::from_str(
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},
            "EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"2025-10-25T16:56:16.019794Z"}},
            "EventRecordID":11418519,"Channel":"Microsoft-Windows-Sysmon/Operational",
            "Computer":"ar-win-dc","Security":{"#attributes":{"UserID":"S-1-5-18"}}},
            "EventData":{"ProcessId":5112,"Image":"C:\\x.exe","RuleName":"-"}}}"##,
        )
        .unwrap();
        let e = event_from_json(&v).unwrap();
        assert_eq!(e.provider, "Microsoft-Windows-Sysmon");
        assert_eq!(e.event_id, 1);
        assert_eq!(e.record_id, Some(11418519));
        assert_eq!(e.get("ProcessId"), Some("5112"));
        assert_eq!(e.user_sid.as_deref(), Some("S-1-5-18"));
    }

    #[test]
    fn guids_rendered_as_windows_does() {
        assert_eq!(
            windows_guid("5aa13a44-0130-68fd-4e35-000000004002").as_deref(),
            Some("{5AA13A44-0130-68FD-4E35-000000004002}")
        );
        assert_eq!(
            windows_guid("{5aa13a44-0130-68fd-4e35-000000004002}").as_deref(),
            Some("{5AA13A44-0130-68FD-4E35-000000004002}")
        );
        assert_eq!(windows_guid("{5AA13A44-0130-68FD-4E35-000000004002}"), None);
        assert_eq!(windows_guid("not-a-guid"), None);
    }

    #[test]
    fn event_id_with_qualifiers_and_data_array() {
        let v: Value = serde_json::from_str(
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},
            "EventID":{"#attributes":{"Qualifiers":0},"#text":4688},"Channel":"Security","Computer":"h"},
            "EventData":{"Data":[{"#attributes":{"Name":"NewProcessName"},"#text":"C:\\a.exe"}]}}}"##,
        )
        .unwrap();
        let e = event_from_json(&v).unwrap();
        assert_eq!(e.event_id, 4688);
        assert_eq!(e.get("NewProcessName"), Some("C:\\a.exe"));
    }

    #[test]
    fn ecs_and_winlogbeat6_and_flat() {
        let ecs: Value = serde_json::from_str(
            r#"{"@timestamp":"2023-01-01T00:00:00.000Z","winlog":{"event_id":"1","provider_name":"Microsoft-Windows-Sysmon","channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"ws1","record_id":7,"event_data":{"Image":"C:\\a.exe"}}}"#,
        )
        .unwrap();
        let e = event_from_json(&ecs).unwrap();
        assert_eq!(
            (e.event_id, e.computer.as_str(), e.record_id),
            (1, "ws1", Some(7))
        );
        let wb6: Value = serde_json::from_str(
            r#"{"event_id":4688,"source_name":"Microsoft-Windows-Security-Auditing","log_name":"Security","computer_name":"dc","record_number":"12","event_data":{"NewProcessName":"C:\\b.exe"}}"#,
        )
        .unwrap();
        let e = event_from_json(&wb6).unwrap();
        assert_eq!((e.event_id, e.record_id), (4688, Some(12)));
        assert_eq!(e.get("NewProcessName"), Some("C:\\b.exe"));
        let flat: Value = serde_json::from_str(
            r#"{"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Hostname":"h","EventTime":"2020-08-01 05:46:46","ProcessID":2740,"ProcessId":"1144","Message":"long"}"#,
        )
        .unwrap();
        let e = event_from_json(&flat).unwrap();
        assert_eq!(e.get("ProcessId"), Some("1144"));
        assert_eq!(e.get("ProcessID"), Some("2740"));
        assert_eq!(e.get("Message"), None);
        assert!(e.time_created.is_some());
        let nx: Value = serde_json::from_str(
            r#"{"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","ProcessID":2740,"Image":"C:\\a.exe","Message":"Process Create:\r\nProcessId: 2744\r\nImage: C:\\other.exe\r\nNew Thing: x"}"#,
        )
        .unwrap();
        let e = event_from_json(&nx).unwrap();
        assert_eq!(e.get("ProcessId"), Some("2744"));
        assert_eq!(e.get("Image"), Some("C:\\a.exe"));
        assert_eq!(e.get("New Thing"), None);
    }

    /// NXLog's Security 4688, its `ProcessID` (the logging process) having
    /// replaced the creator's `ProcessId`: the creator comes back from the
    /// Message, and normalizes to `parent_process_id`.
    #[test]
    fn nxlog_4688_recovers_the_creator_process_id() {
        let message = "A new process has been created.\r\n\r\nProcess Information:\r\n\tNew Process ID:\t\t0x1a24\r\n\tNew Process Name:\tC:\\Windows\\System32\\whoami.exe\r\n\tCreator Process ID:\t0x560\r\n\tCreator Process Name:\tC:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\r\n\tProcess Command Line:\t\"C:\\windows\\system32\\whoami.exe\" /groups";
        let line = serde_json::json!({
            "EventID": 4688,
            "SourceName": "Microsoft-Windows-Security-Auditing",
            "Channel": "Security",
            "Hostname": "ws5",
            "ProcessID": 4,
            "NewProcessId": "0x1a24",
            "NewProcessName": "C:\\Windows\\System32\\whoami.exe",
            "SubjectUserName": "pgustavo",
            "Message": message,
        })
        .to_string();
        let e = event_from_json(&serde_json::from_str(&line).unwrap()).unwrap();
        assert_eq!(e.get("ProcessId"), Some("0x560"));
        assert_eq!(e.get("ProcessID"), Some("4"));
        // Not added: a label evidx does not map, or a field already there.
        assert_eq!(e.get("NewProcessId"), Some("0x1a24"));
        assert_eq!(e.get("Creator Process Name"), None);
        let row = crate::normalize::normalize(&e).unwrap();
        assert_eq!(row.get(evidx_schema::Cim::ParentProcessId), Some("0x560"));
        assert_eq!(row.get(evidx_schema::Cim::ProcessId), Some("0x1a24"));
        // Where the object has the creator (Mordor's Logstash JSON), it stays.
        let kept = line.replace(r#""ProcessID":4"#, r#""ProcessId":"0x999""#);
        let e = event_from_json(&serde_json::from_str(&kept).unwrap()).unwrap();
        assert_eq!(e.get("ProcessId"), Some("0x999"));
    }

    #[test]
    fn probes_event_ids_of_every_shape() {
        for (line, id) in [
            (
                r#"{"Event":{"System":{"EventID":4624},"EventData":{"EventID":"9"}}}"#,
                Some(4624),
            ),
            (
                r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":0},"#text":7036}}}}"##,
                Some(7036),
            ),
            (
                r#"{"winlog":{"event_id":"4688"},"event":{"code":"4688"}}"#,
                Some(4688),
            ),
            (r#"{"event_id":3,"source_name":"x"}"#, Some(3)),
            (
                r#"{"EventID":10,"SourceName":"Microsoft-Windows-Sysmon","Message":"long"}"#,
                Some(10),
            ),
            (r#"{"a":1}"#, None),
            (r#"{"EventID":"x"}"#, None),
            ("{broken", None),
        ] {
            assert_eq!(probe_event_id(line.as_bytes()), id, "{line}");
        }
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(event_from_json(&Value::from(3)).is_err());
        let v: Value = serde_json::from_str(r#"{"a":1}"#).unwrap();
        assert!(event_from_json(&v).is_err());
    }
}
