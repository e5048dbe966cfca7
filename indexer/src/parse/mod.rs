//! Parsing: bytes of one recognised format -> [`RawEvent`]s, or skips that
//! say what was unreadable and where.
//!
//! - [`evtx`]: binary EVTX, one 64 KiB chunk at a time (the unit of parallel
//!   work), behind the [`evtx::ChunkExtractor`] seam; [`binxml`] reads the
//!   records' templates and values directly, [`evtx`] with the `evtx` crate.
//! - [`text`]: line- and document-oriented text: NDJSON, JSON arrays and
//!   pretty-printed objects ([`json`] shapes; NDJSON lines through the
//!   [`json_scan`] skip-scan), XML one event per line
//!   ([`xml`]), Splunk's classic multi-line text events (counted, skipped).

pub mod binxml;
pub mod evtx;
pub mod json;
pub mod json_scan;
pub mod text;
pub mod xml;

use crate::event::{Origin, RawEvent};

/// What kind of unit was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipUnit {
    /// A whole EVTX chunk (its records cannot be counted).
    Chunk,
    /// One EVTX record.
    Record,
    /// One line of a line-oriented file.
    Line,
    /// A JSON value of a document-oriented file, or the unreadable rest of it.
    Value,
    /// An archive member or a whole file.
    File,
    /// Input that is not a Windows event (another file type, JSON of
    /// another shape); see `Accounting::not_events`.
    NotEvent,
}

/// One unreadable unit, with where it was and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skip {
    pub unit: SkipUnit,
    /// Byte offset in the file (or archive member, decompressed).
    pub offset: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
    pub reason: String,
}

impl Skip {
    /// A skipped `unit` found at byte `offset`.
    pub fn new(unit: SkipUnit, offset: u64, reason: impl Into<String>) -> Skip {
        Skip {
            unit,
            offset,
            line: None,
            chunk: None,
            record_id: None,
            reason: reason.into(),
        }
    }

    /// A whole file or archive member that could not be read.
    pub fn file(reason: impl Into<String>) -> Skip {
        Skip::new(SkipUnit::File, 0, reason)
    }

    /// One EVTX record at byte `offset`.
    pub fn record(offset: u64, reason: impl Into<String>) -> Skip {
        Skip::new(SkipUnit::Record, offset, reason)
    }

    /// A skipped `unit` where `origin` says (offset, line, chunk).
    pub fn at(unit: SkipUnit, origin: &Origin, reason: impl Into<String>) -> Skip {
        Skip::new(unit, origin.offset, reason)
            .line(origin.line)
            .chunk(origin.chunk)
    }

    /// With the 1-based line number (`u64` or `Option<u64>`).
    pub fn line(self, line: impl Into<Option<u64>>) -> Skip {
        Skip {
            line: line.into(),
            ..self
        }
    }

    /// With the EVTX chunk number.
    pub fn chunk(self, chunk: impl Into<Option<u64>>) -> Skip {
        Skip {
            chunk: chunk.into(),
            ..self
        }
    }

    /// With the EVTX record id.
    pub fn record_id(self, record_id: impl Into<Option<u64>>) -> Skip {
        Skip {
            record_id: record_id.into(),
            ..self
        }
    }
}

/// Input that is neither an event nor unreadable, told to the sink so that
/// the manifest can say how much of it there was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// An unused (all-zero) EVTX chunk slot, as preallocated files have.
    EmptyChunk,
    /// A text line of a classic (non-XML) event in a Splunk export, after
    /// the first line (which is skipped).
    Continuation,
    /// An EVTX record (or unreadable chunk) that the template-aware
    /// extractor left to the `evtx` crate.
    EvtxFallback,
}

/// Where parsers send what they read. Implementations are shared across
/// rayon workers, hence `&self`.
pub trait Sink: Sync {
    /// A record that was read: process creation or not, the sink decides.
    fn event(&self, event: RawEvent, origin: Origin);
    /// A unit that could not be read.
    fn skip(&self, skip: Skip);
    /// Input that is not an event record and not a skip either. The
    /// indexer counts each kind on its own in the manifest (`empty_chunks`,
    /// `text_lines_ignored`, `evtx_fallback_records`), outside `records_read` and `skipped`.
    fn note(&self, _note: Note) {}
    /// Bytes of input consumed, for progress.
    fn progress(&self, _bytes: u64) {}
}

/// A recognised input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Evtx,
    /// JSON: NDJSON, an array, or concatenated (pretty-printed) objects.
    Json,
    /// XML events, one per line (Splunk XmlWinEventLog exports).
    Xml,
    Gzip,
    Zstd,
    Zip,
    Tar,
}

/// Recognise a format from the first bytes of a file or stream.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"ElfFile\0") {
        return Some(Format::Evtx);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some(Format::Gzip);
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Some(Format::Zstd);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Format::Zip);
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Some(Format::Tar);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => Some(Format::Json),
        Some(b'<') => Some(Format::Xml),
        // Splunk exports may open with a classic text event before the XML.
        Some(_) if text.windows(6).any(|w| w == b"<Event") => Some(Format::Xml),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"ElfFile\0rest"), Some(Format::Evtx));
        assert_eq!(sniff(&[0x1f, 0x8b, 8]), Some(Format::Gzip));
        assert_eq!(sniff(b"PK\x03\x04"), Some(Format::Zip));
        assert_eq!(sniff(b"\xEF\xBB\xBF  {\"a\":1}"), Some(Format::Json));
        assert_eq!(sniff(b"\n[{}]"), Some(Format::Json));
        assert_eq!(sniff(b"<Event xmlns="), Some(Format::Xml));
        assert_eq!(
            sniff(b"01/14/2021 11:41:39 PM\nLogName=x\n<Event"),
            Some(Format::Xml)
        );
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(b""), None);
    }
}
