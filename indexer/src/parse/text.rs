//! Text formats: NDJSON and XML-per-line files are processed as blocks of
//! complete lines, in parallel; a JSON document (an array, or one or more
//! pretty-printed objects) is streamed value by value.

use memchr::memchr_iter;
use rayon::prelude::*;
use serde::de::{Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::json::event_from_json;
use super::json_scan::{read_line, LineRead, Scratch};
use super::xml::event_from_xml;
use super::{Note, Sink, Skip, SkipUnit};
use crate::event::Origin;

/// Which line-oriented format a block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    Json,
    Xml,
}

/// True when the first non-blank line of `head` is a complete JSON object:
/// the file is NDJSON. Otherwise it is a JSON document.
pub fn is_ndjson(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    for line in head.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        return line.starts_with(b"{")
            && line.ends_with(b"}")
            && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok();
    }
    false
}

/// Count of `\n` in `data` (to number the lines of the next block).
pub fn count_lines(data: &[u8]) -> u64 {
    memchr_iter(b'\n', data).count() as u64
}

/// Process every line of `block` (which ends at a line boundary or at the
/// end of input). `base_offset` is the stream offset of `block[0]`,
/// `base_line` the 1-based number of its first line.
pub fn process_lines(
    format: LineFormat,
    block: &[u8],
    base_offset: u64,
    base_line: u64,
    sink: &dyn Sink,
) {
    let mut starts = Vec::with_capacity(block.len() / 256 + 1);
    starts.push(0usize);
    starts.extend(memchr_iter(b'\n', block).map(|i| i + 1));
    if starts.last() == Some(&block.len()) {
        starts.pop();
    }
    // JSON buffers are kept per worker, from one line to the next.
    starts
        .par_iter()
        .enumerate()
        .for_each_init(Scratch::default, |scratch, (i, &start)| {
            let end = starts.get(i + 1).copied().unwrap_or(block.len());
            let next_end = starts.get(i + 2).copied().unwrap_or(block.len());
            let origin = Origin {
                offset: base_offset + start as u64,
                line: Some(base_line + i as u64),
                chunk: None,
            };
            let next = (end < block.len()).then(|| &block[end..next_end]);
            process_line(format, &block[start..end], next, origin, sink, scratch);
        });
    sink.progress(block.len() as u64);
}

/// `next` is the following line when it is in the same block: a classic
/// event's first line is recognised by the `LogName=` line after it.
fn process_line(
    format: LineFormat,
    line: &[u8],
    next: Option<&[u8]>,
    origin: Origin,
    sink: &dyn Sink,
    scratch: &mut Scratch,
) {
    let line = if origin.offset == 0 {
        line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
    } else {
        line
    };
    let line = line.trim_ascii();
    if line.is_empty() {
        return;
    }
    let skip_as = |unit: SkipUnit, reason: String| sink.skip(Skip::at(unit, &origin, reason));
    match format {
        LineFormat::Json => match read_line(line, scratch) {
            LineRead::Event(ev) => sink.event(ev, origin),
            LineRead::NotEvent(reason) => skip_as(SkipUnit::NotEvent, reason.to_string()),
            LineRead::Invalid(reason) => skip_as(SkipUnit::Line, reason),
        },
        LineFormat::Xml => {
            if line.starts_with(b"<Event") {
                let text = String::from_utf8_lossy(line);
                match event_from_xml(&text) {
                    Ok(ev) => sink.event(ev, origin),
                    Err(e) => skip_as(
                        SkipUnit::Line,
                        format!("invalid event XML at column {}: {}", e.offset + 1, e.reason),
                    ),
                }
            } else if is_classic_event_start(line)
                && next.is_none_or(|n| n.trim_ascii_start().starts_with(b"LogName="))
            {
                skip_as(
                    SkipUnit::Line,
                    "classic WinEventLog text event (not XML); evidx reads XmlWinEventLog".into(),
                );
            } else {
                sink.note(Note::Continuation);
            }
        }
    }
}

/// `01/14/2021 11:41:39 PM`: the first line of a classic (non-XML) event in
/// a Splunk export.
fn is_classic_event_start(line: &[u8]) -> bool {
    let d = |i: usize| line.get(i).is_some_and(u8::is_ascii_digit);
    line.len() >= 19
        && d(0)
        && d(1)
        && line[2] == b'/'
        && d(3)
        && d(4)
        && line[5] == b'/'
        && (6..10).all(d)
        && line[10] == b' '
}

/// Stream a JSON document: a top-level array of events, or one or more
/// concatenated values (pretty-printed objects). A syntax error ends the
/// document: the rest cannot be resynchronised and is reported as skipped.
pub fn process_json_document<'de, R: serde_json::de::Read<'de>>(read: R, sink: &dyn Sink) {
    let mut de = serde_json::Deserializer::new(read);
    let mut index = 0u64;
    // `end()` succeeds only when nothing but whitespace is left.
    while de.end().is_err() {
        let visitor = DocumentVisitor {
            sink,
            index: &mut index,
        };
        if let Err(e) = (&mut de).deserialize_any(visitor) {
            return document_error(sink, index, &e);
        }
    }
}

fn emit(sink: &dyn Sink, v: &Value, index: u64) {
    let origin = Origin {
        offset: index,
        line: None,
        chunk: None,
    };
    match event_from_json(v) {
        Ok(ev) => sink.event(ev, origin),
        Err(e) => sink.skip(Skip::new(
            SkipUnit::NotEvent,
            index,
            format!("JSON value #{index}: {}", e.0),
        )),
    }
}

fn document_error(sink: &dyn Sink, index: u64, e: &serde_json::Error) {
    let reason = format!(
        "invalid JSON at line {} column {} (after {index} values); the rest of the document is unreadable: {e}",
        e.line(),
        e.column()
    );
    sink.skip(Skip::new(SkipUnit::Value, 0, reason).line(e.line() as u64));
}

/// A top-level array streams its elements; a top-level object is one event.
struct DocumentVisitor<'a> {
    sink: &'a dyn Sink,
    index: &'a mut u64,
}

impl<'de> Visitor<'de> for DocumentVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON event object or an array of them")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            emit(self.sink, &v, *self.index);
            *self.index += 1;
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut obj = serde_json::Map::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            obj.insert(k, v);
        }
        emit(self.sink, &Value::Object(obj), *self.index);
        *self.index += 1;
        Ok(())
    }
}
