//! The JSON skip-scan: one serde pass over a JSON event that reads its
//! EventID, provider and channel without building a `serde_json::Value`
//! tree. A record that is not a process creation is counted from those
//! alone, its EventData skipped unparsed; a process creation is read into
//! borrowed strings.
//!
//! [`super::json::event_from_json`] stays the reference: whatever the scan
//! does not expect (duplicate keys, nested EventData values, a missing
//! EventID, invalid JSON, a shape it does not know) is handed back to
//! [`read_line_reference`], so both give the same events and skips (the
//! differential test in `tests/json_scan.rs` checks it on every JSON file of
//! `../shared` and on generated data).

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

use super::json::{
    event_from_json, probe_event_id, windows_guid, with_message_fields, BeatFields, BEAT6, ECS,
};
use crate::event::{EventKind, RawEvent};
use crate::time::parse_micros;

/// What one JSON event reads as.
#[derive(Debug, Clone, PartialEq)]
pub enum LineRead {
    /// A record, process creation or not (the sink decides).
    Event(RawEvent),
    /// Valid JSON of another shape.
    NotEvent(&'static str),
    /// Not JSON; the reason says where.
    Invalid(String),
}

/// Buffers kept by a worker from one line to the next.
#[derive(Default)]
pub struct Scratch {
    top: Vec<Entry<'static>>,
    winlog: Vec<Entry<'static>>,
    data: Vec<Pair<'static>>,
}

/// A member of an object, its value kept as raw JSON.
type Entry<'a> = (Cow<'a, str>, &'a RawValue);
/// An EventData member with a scalar value.
type Pair<'a> = (Cow<'a, str>, Field<'a>);

/// Read one JSON event (an NDJSON line): the skip-scan, or the reference
/// path when the scan meets something it does not expect.
pub fn read_line(line: &[u8], scratch: &mut Scratch) -> LineRead {
    skip_scan(line, scratch).unwrap_or_else(|| read_line_reference(line))
}

/// The skip-scan alone: None when the line is left to the reference path.
pub fn skip_scan(line: &[u8], scratch: &mut Scratch) -> Option<LineRead> {
    match scan(line, scratch).ok()? {
        Scanned::Other(event_id) => Some(LineRead::Event(RawEvent {
            event_id,
            ..RawEvent::default()
        })),
        Scanned::Process(ev) => Some(LineRead::Event(ev)),
    }
}

/// The reference path: the EventID probe, then a `Value` tree for the
/// events it cannot rule out.
pub fn read_line_reference(line: &[u8]) -> LineRead {
    if let Some(event_id) =
        probe_event_id(line).filter(|id| !EventKind::may_be_process_creation(*id))
    {
        return LineRead::Event(RawEvent {
            event_id,
            ..RawEvent::default()
        });
    }
    match serde_json::from_slice::<Value>(line) {
        Ok(v) => match event_from_json(&v) {
            Ok(ev) => LineRead::Event(ev),
            Err(e) => LineRead::NotEvent(e.0),
        },
        Err(e) => LineRead::Invalid(format!("invalid JSON: {e}")),
    }
}

/// The scan met something only the reference path reads.
#[derive(Debug)]
struct Fallback;

impl From<serde_json::Error> for Fallback {
    fn from(_: serde_json::Error) -> Fallback {
        Fallback
    }
}

type Scan<T> = Result<T, Fallback>;

enum Scanned {
    /// Not a process creation: only its EventID was read.
    Other(u32),
    Process(RawEvent),
}

fn scan(line: &[u8], scratch: &mut Scratch) -> Scan<Scanned> {
    // One UTF-8 check of the whole line (fast on ASCII) instead of one per
    // string and raw value; invalid UTF-8 is the reference path's to report.
    let line = std::str::from_utf8(line).map_err(|_| Fallback)?;
    let mut de = serde_json::Deserializer::from_str(line);
    let top = TopSeed {
        entries: recycle(std::mem::take(&mut scratch.top)),
        winlog: recycle(std::mem::take(&mut scratch.winlog)),
        data: recycle(std::mem::take(&mut scratch.data)),
    }
    .deserialize(&mut de);
    let mut top = top?;
    de.end()?;
    let out = top.event();
    scratch.top = recycle(top.entries);
    scratch.winlog = recycle(top.winlog);
    scratch.data = recycle(top.data);
    out
}

/// An emptied vector with its allocation, for items of another lifetime
/// (`collect` reuses the buffer in place when the layouts match).
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// A member that is an object, is absent, or is something else.
enum Slot {
    Absent,
    Object,
    NotObject,
}

/// EventData as read: parsed, or skipped because the record was already
/// known not to be a process creation.
#[derive(PartialEq)]
enum Data {
    Absent,
    Skipped,
    Parsed,
}

/// A parsed top-level object. `entries` holds its members other than
/// `Event` and `winlog`; `winlog` the members of `winlog` other than
/// `event_data`; `data` the EventData of `Event` or `winlog`.
struct Top<'a> {
    entries: Vec<Entry<'a>>,
    winlog: Vec<Entry<'a>>,
    data: Vec<Pair<'a>>,
    event: Slot,
    system: Option<System<'a>>,
    winlog_slot: Slot,
    data_state: Data,
    /// How many `Event` and `winlog` objects were read.
    nested: u8,
}

/// `Event.System`: the members evidx reads, as raw JSON.
#[derive(serde::Deserialize, Default)]
struct System<'a> {
    #[serde(rename = "Provider", borrow)]
    provider: Option<&'a RawValue>,
    #[serde(rename = "EventID", borrow)]
    event_id: Option<&'a RawValue>,
    #[serde(rename = "Channel", borrow)]
    channel: Option<&'a RawValue>,
    #[serde(rename = "Computer", borrow)]
    computer: Option<&'a RawValue>,
    #[serde(rename = "EventRecordID", borrow)]
    record_id: Option<&'a RawValue>,
    #[serde(rename = "TimeCreated", borrow)]
    time_created: Option<&'a RawValue>,
    #[serde(rename = "Keywords", borrow)]
    keywords: Option<&'a RawValue>,
    #[serde(rename = "Security", borrow)]
    security: Option<&'a RawValue>,
}

impl<'a> System<'a> {
    /// The EventID, provider and channel, as `event_from_json` reads them.
    fn ids(&self) -> Scan<Ids<'a>> {
        Ok(Ids {
            event_id: u64_of(self.event_id)?,
            provider: text_of(attr(self.provider, "Name")?)?,
            channel: text_of(self.channel)?,
        })
    }
}

/// What decides whether a record is a process creation.
struct Ids<'a> {
    event_id: Option<u64>,
    provider: Option<Cow<'a, str>>,
    channel: Option<Cow<'a, str>>,
}

impl Ids<'_> {
    /// The EventID, or the reference path when there is none to read (it
    /// reports the error).
    fn event_id(&self) -> Scan<u32> {
        self.event_id
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(Fallback)
    }

    fn kind(&self) -> Scan<EventKind> {
        Ok(EventKind::of(
            self.provider.as_deref().unwrap_or_default(),
            self.channel.as_deref().unwrap_or_default(),
            self.event_id()?,
        ))
    }

    /// True when the record is certainly not a process creation, so its
    /// EventData need not be read.
    fn surely_other(&self) -> bool {
        self.kind().is_ok_and(|k| k == EventKind::Other)
    }
}

impl<'a> Top<'a> {
    /// The ids read so far in `Event.System` or `winlog`, to decide
    /// whether to skip the EventData that follows.
    fn ids_so_far(&self, kind: Nested) -> Option<Ids<'a>> {
        match kind {
            Nested::Event => self.system.as_ref()?.ids().ok(),
            Nested::Winlog => Some(Ids {
                event_id: u64_of(get(&self.winlog, "event_id")).ok()?,
                provider: text_of(get(&self.winlog, "provider_name")).ok()?,
                channel: text_of(get(&self.winlog, "channel")).ok()?,
            }),
        }
    }

    /// The event, recognised by shape as `event_from_json` does.
    fn event(&mut self) -> Scan<Scanned> {
        // Both `Event` and `winlog`, or one twice: left to the reference.
        if self.nested > 1 {
            return Err(Fallback);
        }
        match (&self.event, &self.winlog_slot) {
            (Slot::Object, _) => self.evtx_dump(),
            (Slot::NotObject, _) | (Slot::Absent, Slot::NotObject) => Err(Fallback),
            (Slot::Absent, Slot::Object) => self.beat(&ECS, true),
            (Slot::Absent, Slot::Absent) => {
                if has(&self.entries, "event_id") && has(&self.entries, "source_name") {
                    self.beat(&BEAT6, false)
                } else if has(&self.entries, "EventID") {
                    self.flat()
                } else {
                    Err(Fallback)
                }
            }
        }
    }

    fn evtx_dump(&mut self) -> Scan<Scanned> {
        let sys = self.system.as_ref().ok_or(Fallback)?;
        let ids = sys.ids()?;
        let event_id = ids.event_id()?;
        if ids.kind()? == EventKind::Other {
            return Ok(Scanned::Other(event_id));
        }
        if self.data_state == Data::Skipped {
            return Err(Fallback);
        }
        let mut data = pairs(&mut self.data)?;
        for (_, v) in &mut data {
            if let Some(g) = windows_guid(v) {
                *v = g;
            }
        }
        Ok(Scanned::Process(RawEvent {
            provider: owned(ids.provider),
            event_id,
            channel: owned(ids.channel),
            computer: owned(text_of(sys.computer)?),
            record_id: u64_of(sys.record_id)?,
            time_created: time(text_of(attr(sys.time_created, "SystemTime")?)?),
            keywords: text_of(sys.keywords)?.map(Cow::into_owned),
            user_sid: text_of(attr(sys.security, "UserID")?)?.map(Cow::into_owned),
            data,
        }))
    }

    /// A Winlogbeat event: System fields in `winlog` (ECS) or at the top
    /// (Winlogbeat 6), `@timestamp` and `host` at the top.
    fn beat(&mut self, f: &BeatFields, nested: bool) -> Scan<Scanned> {
        let root = &self.entries;
        let w = if nested { &self.winlog } else { &self.entries };
        let id = match get(w, f.event_id) {
            Some(id) => Some(id),
            None => member(get(root, "event"), "code")?,
        };
        let ids = Ids {
            event_id: u64_of(id)?,
            provider: text_of(get(w, f.provider))?,
            channel: text_of(get(w, f.channel))?,
        };
        let event_id = ids.event_id()?;
        if ids.kind()? == EventKind::Other {
            return Ok(Scanned::Other(event_id));
        }
        let data = if nested {
            if self.data_state == Data::Skipped {
                return Err(Fallback);
            }
            pairs(&mut self.data)?
        } else {
            let mut data = Vec::new();
            if let Some(raw) = get(root, "event_data").filter(|r| is_object(r)) {
                let mut de = serde_json::Deserializer::from_str(raw.get());
                let mut parsed = DataSeed {
                    data: recycle(std::mem::take(&mut self.data)),
                    skip_attributes: false,
                }
                .deserialize(&mut de)?;
                data = pairs(&mut parsed)?;
                self.data = recycle(parsed);
            }
            data
        };
        let computer = match text_of(get(w, f.computer))? {
            Some(c) => Some(c),
            None => text_of(member(get(root, "host"), "name")?)?,
        };
        Ok(Scanned::Process(RawEvent {
            provider: owned(ids.provider),
            event_id,
            channel: owned(ids.channel),
            computer: owned(computer),
            record_id: u64_of(get(w, f.record_id))?,
            time_created: time(text_of(get(root, "@timestamp"))?),
            keywords: text_of(get(w, "keywords"))?.map(Cow::into_owned),
            user_sid: text_of(member(get(w, "user"), "identifier")?)?.map(Cow::into_owned),
            data,
        }))
    }

    /// NXLog / Mordor: every member at the top level.
    fn flat(&self) -> Scan<Scanned> {
        let o = &self.entries;
        let ids = Ids {
            event_id: u64_of(get(o, "EventID"))?,
            provider: text_of(get(o, "SourceName").or_else(|| get(o, "ProviderName")))?,
            channel: text_of(get(o, "Channel"))?,
        };
        let event_id = ids.event_id()?;
        if ids.kind()? == EventKind::Other {
            return Ok(Scanned::Other(event_id));
        }
        let mut time_created = None;
        for k in ["@timestamp", "TimeCreated", "EventTime"] {
            time_created = time(text_of(get(o, k))?);
            if time_created.is_some() {
                break;
            }
        }
        if has_duplicates(o.iter().map(|(k, _)| k.as_ref())) {
            return Err(Fallback);
        }
        let mut data = Vec::with_capacity(o.len());
        for (k, v) in o.iter().filter(|(k, _)| k != "Message") {
            if let Some(t) = text_of(Some(v))? {
                data.push((k.clone().into_owned(), t.into_owned()));
            }
        }
        let message = match get(o, "Message") {
            Some(m) if m.get().starts_with('"') => Some(Field::parse(m)?),
            _ => None,
        };
        let message = match &message {
            Some(Field::Str(s)) => Some(s.as_ref()),
            _ => None,
        };
        Ok(Scanned::Process(RawEvent {
            provider: owned(ids.provider),
            event_id,
            channel: owned(ids.channel),
            computer: owned(text_of(get(o, "Hostname").or_else(|| get(o, "Computer")))?),
            record_id: u64_of(get(o, "RecordNumber").or_else(|| get(o, "EventRecordID")))?,
            time_created,
            keywords: text_of(get(o, "Keywords"))?.map(Cow::into_owned),
            user_sid: text_of(get(o, "UserID"))?.map(Cow::into_owned),
            data: with_message_fields(data, message),
        }))
    }
}

fn owned(s: Option<Cow<'_, str>>) -> String {
    s.map(Cow::into_owned).unwrap_or_default()
}

fn time(s: Option<Cow<'_, str>>) -> Option<i64> {
    s.as_deref().and_then(parse_micros)
}

/// The last member named `key` (a `Value` map keeps the last of duplicates).
fn get<'a>(entries: &[Entry<'a>], key: &str) -> Option<&'a RawValue> {
    entries
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
}

fn has(entries: &[Entry<'_>], key: &str) -> bool {
    entries.iter().any(|(k, _)| k == key)
}

fn is_object(raw: &RawValue) -> bool {
    raw.get().starts_with('{')
}

/// EventData members as text (taken out of `data`); duplicates are left to
/// the reference path (a `Value` map keeps the first's place and the last's
/// value).
fn pairs(data: &mut Vec<Pair<'_>>) -> Scan<Vec<(String, String)>> {
    if has_duplicates(data.iter().map(|(k, _)| k.as_ref())) {
        return Err(Fallback);
    }
    Ok(data
        .drain(..)
        .filter_map(|(k, v)| v.into_text().map(|t| (k.into_owned(), t.into_owned())))
        .collect())
}

fn has_duplicates<'k>(keys: impl Iterator<Item = &'k str> + Clone) -> bool {
    keys.clone()
        .enumerate()
        .any(|(i, k)| keys.clone().skip(i + 1).any(|other| other == k))
}

/// The member `key` of a raw object (None when `raw` is not an object).
fn member<'a>(raw: Option<&'a RawValue>, key: &'static str) -> Scan<Option<&'a RawValue>> {
    match raw {
        Some(r) if is_object(r) => {
            let mut de = serde_json::Deserializer::from_str(r.get());
            Ok(MemberSeed(key).deserialize(&mut de)?)
        }
        _ => Ok(None),
    }
}

/// `raw["#attributes"][name]`.
fn attr<'a>(raw: Option<&'a RawValue>, name: &'static str) -> Scan<Option<&'a RawValue>> {
    member(member(raw, "#attributes")?, name)
}

/// The text of a value as `json::text` renders it: arrays joined with `, `,
/// an object's `#text`, nothing for null.
fn text_of<'a>(raw: Option<&'a RawValue>) -> Scan<Option<Cow<'a, str>>> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.get().as_bytes().first() {
        Some(b'{') => text_of(member(Some(raw), "#text")?),
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(raw.get())?;
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                if let Some(t) = text_of(Some(item))? {
                    parts.push(t);
                }
            }
            Ok(Some(Cow::Owned(parts.join(", "))))
        }
        _ => Ok(Field::parse(raw)?.into_text()),
    }
}

/// A number, or a string holding one, or an object's `#text` holding one.
fn u64_of(raw: Option<&RawValue>) -> Scan<Option<u64>> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.get().as_bytes().first() {
        Some(b'{') => u64_of(member(Some(raw), "#text")?),
        Some(b'[') => Ok(None),
        _ => Ok(match Field::parse(raw)? {
            Field::Num(n) => n.as_u64(),
            Field::Str(s) => s.trim().parse().ok(),
            _ => None,
        }),
    }
}

/// A scalar JSON value, strings borrowed when they have no escapes.
#[derive(Debug)]
enum Field<'a> {
    Str(Cow<'a, str>),
    Num(Number),
    Bool(bool),
    Null,
}

impl<'a> Field<'a> {
    fn parse(raw: &'a RawValue) -> Scan<Field<'a>> {
        let mut de = serde_json::Deserializer::from_str(raw.get());
        Ok(Field::deserialize(&mut de)?)
    }

    /// As `json::text` renders a scalar.
    fn into_text(self) -> Option<Cow<'a, str>> {
        match self {
            Field::Str(s) => Some(s),
            Field::Num(n) => Some(Cow::Owned(n.to_string())),
            Field::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Field::Null => None,
        }
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Field<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Field<'de>, E> {
                Ok(Field::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Field<'de>, E> {
                Ok(Field::Str(Cow::Owned(s.to_string())))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Field<'de>, E> {
                Ok(Field::Num(n.into()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Field<'de>, E> {
                Ok(Field::Num(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Field<'de>, E> {
                Number::from_f64(n)
                    .map(Field::Num)
                    .ok_or_else(|| E::custom("not a finite number"))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Field<'de>, E> {
                Ok(Field::Bool(b))
            }
            fn visit_unit<E>(self) -> Result<Field<'de>, E> {
                Ok(Field::Null)
            }
        }
        // Objects and arrays fail here ("expected a scalar"): the
        // reference path reads them.
        d.deserialize_any(V)
    }
}

/// A key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Finds one member of an object, skipping the others unparsed.
struct MemberSeed(&'static str);

impl<'de> DeserializeSeed<'de> for MemberSeed {
    type Value = Option<&'de RawValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MemberSeed {
    type Value = Option<&'de RawValue>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(Key(k)) = map.next_key()? {
            if k == self.0 {
                found = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The members of an EventData object into `data`; a nested value fails
/// the scan.
struct DataSeed<'a> {
    data: Vec<Pair<'a>>,
    skip_attributes: bool,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'de> {
    type Value = Vec<Pair<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'de> {
    type Value = Vec<Pair<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(Key(k)) = map.next_key()? {
            if self.skip_attributes && k == "#attributes" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let v = map.next_value()?;
            self.data.push((k, v));
        }
        Ok(self.data)
    }
}

/// Reads a top-level object; see [`Top`].
struct TopSeed<'a> {
    entries: Vec<Entry<'a>>,
    winlog: Vec<Entry<'a>>,
    data: Vec<Pair<'a>>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'de> {
    type Value = Top<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'de> {
    type Value = Top<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
        let mut top = Top {
            entries: self.entries,
            winlog: self.winlog,
            data: self.data,
            event: Slot::Absent,
            system: None,
            winlog_slot: Slot::Absent,
            data_state: Data::Absent,
            nested: 0,
        };
        while let Some(Key(k)) = map.next_key()? {
            match k.as_ref() {
                "Event" => map.next_value_seed(NestedSeed {
                    top: &mut top,
                    kind: Nested::Event,
                })?,
                "winlog" => map.next_value_seed(NestedSeed {
                    top: &mut top,
                    kind: Nested::Winlog,
                })?,
                _ => {
                    let v = map.next_value()?;
                    top.entries.push((k, v));
                }
            }
        }
        Ok(top)
    }
}

/// The two objects read member by member: `Event` (evtx_dump) and
/// `winlog` (ECS). Their EventData is skipped when the members before it
/// already rule out a process creation.
#[derive(Clone, Copy)]
enum Nested {
    Event,
    Winlog,
}

struct NestedSeed<'t, 'de> {
    top: &'t mut Top<'de>,
    kind: Nested,
}

impl NestedSeed<'_, '_> {
    fn slot(&mut self) -> &mut Slot {
        match self.kind {
            Nested::Event => &mut self.top.event,
            Nested::Winlog => &mut self.top.winlog_slot,
        }
    }
}

impl<'de> DeserializeSeed<'de> for NestedSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NestedSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        *self.slot() = Slot::Object;
        let (top, kind) = (self.top, self.kind);
        top.nested = top.nested.saturating_add(1);
        let data_key = match kind {
            Nested::Event => "EventData",
            Nested::Winlog => "event_data",
        };
        while let Some(Key(k)) = map.next_key()? {
            if k == data_key {
                if top.ids_so_far(kind).is_some_and(|ids| ids.surely_other()) {
                    map.next_value::<IgnoredAny>()?;
                    top.data_state = Data::Skipped;
                } else {
                    top.data.clear();
                    top.data_state = Data::Parsed;
                    map.next_value_seed(DataOrNothing {
                        data: &mut top.data,
                        // evtx_dump's EventData has `#attributes`, not data.
                        skip_attributes: matches!(kind, Nested::Event),
                    })?;
                }
                continue;
            }
            match kind {
                Nested::Event if k == "System" => top.system = Some(map.next_value()?),
                Nested::Event => {
                    map.next_value::<IgnoredAny>()?;
                }
                Nested::Winlog => {
                    let v = map.next_value()?;
                    top.winlog.push((k, v));
                }
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        *self.slot() = Slot::NotObject;
        Ok(())
    }
    fn visit_bool<E>(mut self, _: bool) -> Result<(), E> {
        *self.slot() = Slot::NotObject;
        Ok(())
    }
    fn visit_i64<E>(mut self, _: i64) -> Result<(), E> {
        *self.slot() = Slot::NotObject;
        Ok(())
    }
    fn visit_u64<E>(mut self, _: u64) -> Result<(), E> {
        *self.slot() = Slot::NotObject;
        Ok(())
    }
    fn visit_f64<E>(mut self, _: f64) -> Result<(), E> {
        *self.slot() = Slot::NotObject;
        Ok(())
    }
    fn visit_str<E>(mut self, _: &str) -> Result<(), E> {
        *self.slot() = Slot::NotObject;
        Ok(())
    }
    fn visit_unit<E>(mut self) -> Result<(), E> {
        *self.slot() = Slot::NotObject;
        Ok(())
    }
}

/// EventData: an object's members into the vector; any other value is no
/// data (as `event_from_json` reads it).
struct DataOrNothing<'v, 'de> {
    data: &'v mut Vec<Pair<'de>>,
    skip_attributes: bool,
}

impl<'de> DeserializeSeed<'de> for DataOrNothing<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataOrNothing<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        *self.data = DataSeed {
            data: std::mem::take(self.data),
            skip_attributes: self.skip_attributes,
        }
        .visit_map(map)?;
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both paths agree on `line`; returns whether the scan read it itself.
    fn agree(line: &str) -> bool {
        let mut scratch = Scratch::default();
        let reference = read_line_reference(line.as_bytes());
        let new = read_line(line.as_bytes(), &mut scratch);
        match (&reference, &new) {
            (LineRead::Event(a), LineRead::Event(b)) if a.kind() == EventKind::Other => {
                assert_eq!(
                    (b.kind(), b.event_id),
                    (EventKind::Other, a.event_id),
                    "{line}"
                )
            }
            _ => assert_eq!(reference, new, "{line}"),
        }
        skip_scan(line.as_bytes(), &mut scratch).is_some()
    }

    #[test]
    fn scans_every_shape_itself() {
        for line in [
            // evtx_dump, process creation, GUID and escapes
            r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"2025-10-25T16:56:16.019794Z"}},"EventRecordID":11,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"h","Security":{"#attributes":{"UserID":"S-1-5-18"}},"Keywords":"0x80"},"EventData":{"ProcessGuid":"5aa13a44-0130-68fd-4e35-000000004002","ProcessId":5112,"Image":"C:\\x.exe","Flag":true,"Ratio":1.5e3,"Empty":null,"RuleName":"-"}}}"##,
            // EventID with qualifiers, EventData before System
            r##"{"Event":{"EventData":{"NewProcessName":"C:\\a.exe"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},"EventID":{"#attributes":{"Qualifiers":0},"#text":4688},"Channel":"Security"}}}"##,
            // not a process creation: EventData skipped
            r##"{"Event":{"System":{"EventID":4624,"Channel":"Security"},"EventData":{"X":[1,{"a":2}]}}}"##,
            // EventID 1 of another provider
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Kernel-General"}},"EventID":1},"EventData":{"X":"y"}}}"##,
            // ECS, event id from event.code, computer from host.name
            r##"{"@timestamp":"2023-01-01T00:00:00.000Z","event":{"code":"4688"},"host":{"name":"ws1"},"winlog":{"provider_name":"Microsoft-Windows-Security-Auditing","channel":"Security","record_id":7,"keywords":["Audit Success"],"user":{"identifier":"S-1-5-18"},"event_data":{"NewProcessName":"C:\\b.exe","#attributes":"kept"}}}"##,
            r##"{"winlog":{"event_id":"3","provider_name":"Microsoft-Windows-Sysmon","event_data":{"X":{"nested":1}}}}"##,
            // Winlogbeat 6
            r##"{"@timestamp":"2019-05-18T20:36:46.254Z","@metadata":{"beat":"winlogbeat"},"event_id":1,"source_name":"Microsoft-Windows-Sysmon","log_name":"Microsoft-Windows-Sysmon/Operational","computer_name":"dc","record_number":"12","event_data":{"Image":"C:\\b.exe","ProcessId":"7"}}"##,
            // NXLog flat, with the Message fields and a signed Keywords
            r##"{"EventTime":"2020-08-01 05:46:46","Hostname":"h","Keywords":-9223372036854775808,"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","ProcessID":2740,"Image":"C:\\a.exe","Message":"Process Create:\r\nProcessId: 2744\r\nImage: C:\\other.exe","Channel":"Microsoft-Windows-Sysmon/Operational"}"##,
            // Mordor flat with an array and an object
            r##"{"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","EventID":4688,"tags":["mordorDataset","x"],"meta":{"#text":"t"},"other":{"a":1},"NewProcessName":"C:\\c.exe","@timestamp":"2020-12-19T07:49:57.380Z"}"##,
            r##"{"EventID":5158,"SourceName":"Microsoft-Windows-Security-Auditing","Message":"m"}"##,
        ] {
            assert!(agree(line), "left to the reference path: {line}");
        }
    }

    #[test]
    fn leaves_the_unexpected_to_the_reference_path() {
        for line in [
            "{broken",
            r##"{"Event":{"System":{"EventID":1}}} trailing"##,
            r##"[1,2]"##,
            r##"{"a":1}"##,
            r##"{"EventID":"x"}"##,
            r##"{"Event":{"EventData":{}}}"##,
            r##"{"Event":"text","EventID":1,"SourceName":"Microsoft-Windows-Sysmon"}"##,
            r##"{"Event":{"System":{"EventID":1}},"winlog":{"event_id":1}}"##,
            // duplicate keys: a Value map keeps the first's place, the last's value
            r##"{"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Image":"a","Image":"b","X":1}"##,
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1},"EventData":{"A":"1","A":"2"}}}"##,
            r##"{"Event":{"System":{"EventID":1,"EventID":2}}}"##,
            // the older rendering of Data elements
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},"EventID":4688},"EventData":{"Data":[{"#attributes":{"Name":"NewProcessName"},"#text":"C:\\a.exe"}]}}}"##,
        ] {
            assert!(!agree(line), "read by the scan: {line}");
        }
        // Invalid UTF-8 in data skipped unread is not looked at, as before.
        let mut line = br##"{"Event":{"System":{"EventID":4624},"EventData":{"X":""##.to_vec();
        line.extend_from_slice(b"\xff\"}}}");
        let mut scratch = Scratch::default();
        assert_eq!(read_line(&line, &mut scratch), read_line_reference(&line));
    }

    #[test]
    fn keeps_buffers_between_lines() {
        let mut scratch = Scratch::default();
        let line = r##"{"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Image":"a","X":"b"}"##;
        assert!(skip_scan(line.as_bytes(), &mut scratch).is_some());
        let kept = scratch.top.capacity();
        assert!(kept >= 4);
        assert!(skip_scan(line.as_bytes(), &mut scratch).is_some());
        assert_eq!(scratch.top.capacity(), kept);
    }
}
