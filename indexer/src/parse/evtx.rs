//! EVTX: a 4 KiB file header, then independent 64 KiB chunks, each with its
//! own string and template tables. The chunk is the unit of parallel work.
//!
//! [`ChunkExtractor`] is the seam for field extraction: [`EvtxCrateExtractor`]
//! renders each record with the `evtx` crate and reads it as evtx_dump JSON
//! (so EVTX and evtx_dump exports normalize through one path). It is the
//! reference for the template-aware extractor (`parse::binxml`), which
//! reads substitution values directly and falls back to it.

use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxRecord, ParserSettings};

use super::json::event_from_json;
use super::{Sink, Skip, SkipUnit};
use crate::event::{EventKind, Origin, RawEvent};

pub const FILE_HEADER_SIZE: usize = 4096;
pub const CHUNK_SIZE: usize = 65536;
pub const MAGIC: &[u8; 8] = b"ElfFile\0";
/// A chunk holds at most this many records (64 KiB / the smallest record);
/// a guard against parsers that fail to advance on corrupt data.
const MAX_ITEMS_PER_CHUNK: usize = CHUNK_SIZE / 24;

/// Reads the records of one chunk.
pub trait ChunkExtractor: Send + Sync {
    /// `data` is the whole chunk (`CHUNK_SIZE` bytes) found at byte
    /// `offset` of its file, numbered `number` from 0.
    fn extract(&self, number: u64, offset: u64, data: &[u8], sink: &dyn Sink);
}

/// The `evtx` crate's parser, record by record.
pub struct EvtxCrateExtractor {
    settings: Arc<ParserSettings>,
}

impl Default for EvtxCrateExtractor {
    fn default() -> Self {
        EvtxCrateExtractor {
            settings: Arc::new(ParserSettings::new().num_threads(1)),
        }
    }
}

impl ChunkExtractor for EvtxCrateExtractor {
    fn extract(&self, number: u64, offset: u64, data: &[u8], sink: &dyn Sink) {
        self.extract_with(number, offset, data, sink, &mut |_| false)
    }
}

impl EvtxCrateExtractor {
    /// [`ChunkExtractor::extract`], except for the records that `own` (asked
    /// with each record's index in the chunk, in order) says it has read
    /// itself: those are walked past, not rendered.
    pub fn extract_with(
        &self,
        number: u64,
        offset: u64,
        data: &[u8],
        sink: &dyn Sink,
        own: &mut dyn FnMut(usize) -> bool,
    ) {
        let skip_chunk =
            |reason: String| sink.skip(Skip::new(SkipUnit::Chunk, offset, reason).chunk(number));
        let mut chunk_data = match EvtxChunkData::new(data.to_vec(), false) {
            Ok(c) => c,
            Err(e) => return skip_chunk(format!("unreadable chunk header: {e}")),
        };
        chunk_data.number = Some(number);
        let mut chunk = match chunk_data.parse(self.settings.clone()) {
            Ok(c) => c,
            Err(e) => return skip_chunk(format!("unreadable chunk: {e}")),
        };
        for (i, item) in chunk.iter().take(MAX_ITEMS_PER_CHUNK).enumerate() {
            if own(i) {
                continue;
            }
            match item {
                Ok(record) => read_record(record, number, offset, sink),
                Err(e) => sink.skip(record_error(number, offset, &e)),
            }
        }
    }
}

/// One record of chunk `number` (at byte `offset` of its file) to the sink.
fn read_record(record: EvtxRecord<'_>, number: u64, offset: u64, sink: &dyn Sink) {
    let record_id = record.event_record_id;
    // binxml_offset is where the record's BinXML starts in the chunk;
    // its 24-byte header precedes it.
    let at = offset + record.binxml_offset.saturating_sub(24);
    let skip_record =
        |reason: String| sink.skip(Skip::record(at, reason).chunk(number).record_id(record_id));
    let json = match record.into_json() {
        Ok(j) => j.data,
        Err(e) => return skip_record(format!("record does not render: {e}")),
    };
    let origin = Origin {
        offset: at,
        line: None,
        chunk: Some(number),
    };
    // Most records are not process creations: count those from their
    // EventID alone instead of building a JSON tree.
    if let Some(id) = quick_event_id(&json).filter(|id| !EventKind::may_be_process_creation(*id)) {
        return sink.event(counted_only(id, record_id), origin);
    }
    let value: serde_json::Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => return skip_record(format!("record renders as invalid JSON: {e}")),
    };
    match event_from_json(&value) {
        // Whatever the form of its EventID, an event that cannot be a
        // process creation is counted the same way.
        Ok(ev) if !EventKind::may_be_process_creation(ev.event_id) => {
            sink.event(counted_only(ev.event_id, record_id), origin)
        }
        Ok(mut ev) => {
            ev.record_id.get_or_insert(record_id);
            sink.event(ev, origin)
        }
        Err(e) => skip_record(e.0.to_string()),
    }
}

/// An event that is only counted: its EventID and record id.
fn counted_only(event_id: u32, record_id: u64) -> RawEvent {
    RawEvent {
        event_id,
        record_id: Some(record_id),
        ..RawEvent::default()
    }
}

/// A record the `evtx` crate could not read, located as precisely as its
/// error says (the record's offset, or its id), with every cause.
fn record_error(number: u64, offset: u64, e: &EvtxError) -> Skip {
    let (at, record_id) = match e {
        EvtxError::FailedToReadRecordAt { offset: o, .. } => (offset + o, None),
        EvtxError::FailedToParseRecord { record_id, .. } => (offset, Some(*record_id)),
        _ => (offset, None),
    };
    let mut reason = format!("unreadable record: {e}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        reason.push_str(&format!(": {c}"));
        cause = c.source();
    }
    Skip::record(at, reason).chunk(number).record_id(record_id)
}

/// The EventID of a record rendered by the `evtx` crate as JSON: the
/// first `"EventID":` is System's (it precedes EventData), either a number
/// or `{"#attributes":{...},"#text":N}`. None when it cannot be read
/// cheaply; the caller then parses the whole record.
fn quick_event_id(json: &str) -> Option<u32> {
    let at = json.find("\"EventID\":")? + "\"EventID\":".len();
    let rest = json[at..].trim_start();
    let digits = if rest.starts_with('{') {
        let t = rest.find("\"#text\":")? + "\"#text\":".len();
        rest[t..].trim_start()
    } else {
        rest
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Whether a chunk slot is unused (all zero), as preallocated files have.
pub fn is_empty_chunk(data: &[u8]) -> bool {
    data.iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::quick_event_id;

    #[test]
    fn reads_event_id_from_rendered_json() {
        assert_eq!(
            quick_event_id(r#"{"Event":{"System":{"EventID":4624,"X":1}}}"#),
            Some(4624)
        );
        assert_eq!(
            quick_event_id(
                r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7036}}}}"##
            ),
            Some(7036)
        );
        assert_eq!(
            quick_event_id(r#"{"Event":{"System":{"EventID": 1}}}"#),
            Some(1)
        );
        assert_eq!(quick_event_id(r#"{"Event":{"System":{}}}"#), None);
        assert_eq!(
            quick_event_id(r#"{"Event":{"System":{"EventID":"x"}}}"#),
            None
        );
    }
}
