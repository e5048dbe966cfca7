//! A normalized row plus provenance -> one tantivy document (see
//! `evidx_schema::layout` for the layout and why).

use tantivy::TantivyDocument;
use xxhash_rust::xxh3::Xxh3;

use crate::carriers::Carriers;
use crate::event::{Origin, RawEvent};
use evidx_schema::terms::{fast_value, fold_case, truncate_term, MAX_TERM_BYTES};
use evidx_schema::{EvidxSchema, CIM_FIELDS};

use crate::normalize::ProcessRow;
use crate::parse::Format;

/// Provenance shared by every event of one input.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The input path, with `!member` for archive members.
    pub source: String,
    /// `evtx`, `json`, `xml`.
    pub sourcetype: &'static str,
}

impl Provenance {
    /// The provenance of file `path`, or of its archive `member`, read as
    /// `format`.
    pub fn of(path: &str, member: Option<&str>, format: Option<Format>) -> Provenance {
        Provenance {
            source: match member {
                Some(m) => format!("{path}!{m}"),
                None => path.to_string(),
            },
            sourcetype: match format {
                Some(Format::Evtx) => "evtx",
                Some(Format::Xml) => "xml",
                _ => "json",
            },
        }
    }
}

/// The identity of an event for de-duplication: host and channel
/// (case-folded: Windows names are case-insensitive), record id, and the
/// normalized row (time to the millisecond and every CIM value), hashed. Re-ingesting the same
/// event from another export of the same log (EVTX, JSON, XML) yields the
/// same key, since all of it is read through the same normalization.
///
/// xxh3-128: the key is compared, never trusted against an adversary (a
/// forged log can hold any event anyway), so a fast non-cryptographic hash
/// with 128 bits (collisions unlikely below ~10^18 events) is the fit; it
/// costs a fraction of SHA-256's time per event. Every part is written with
/// its length, so no two different events hash the same bytes.
pub fn event_key(ev: &RawEvent, row: &ProcessRow) -> u128 {
    let mut h = Xxh3::new();
    let text = |h: &mut Xxh3, s: &str| {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    text(&mut h, &ev.computer.to_lowercase());
    text(&mut h, &ev.channel.to_lowercase());
    for v in &row.values {
        match v {
            Some(v) => text(&mut h, v.trim_end()),
            None => h.update(&u64::MAX.to_le_bytes()),
        }
    }
    h.update(&ev.record_id.map_or([0; 9], |r| tagged(r.to_le_bytes())));
    h.update(&key_time(row).map_or([0; 9], |t| tagged(t.to_le_bytes())));
    h.digest128()
}

/// The time an event key holds: milliseconds, the precision every export
/// keeps (Winlogbeat's `@timestamp` has no more; EVTX has 100 ns).
pub fn key_time(row: &ProcessRow) -> Option<i64> {
    row.time.map(|t| t.div_euclid(1000))
}

/// A present number: a 1 tag, then its bytes (an absent one is all zeros).
fn tagged(bytes: [u8; 8]) -> [u8; 9] {
    let mut out = [1; 9];
    out[1..].copy_from_slice(&bytes);
    out
}

/// The term of a key in `evidx_key`.
pub fn key_bytes(key: u128) -> [u8; 16] {
    key.to_be_bytes()
}

/// The document of an index that holds only event keys (the state of a
/// Parquet-only run, see [`crate::parquet::STATE_DIR`]): what
/// de-duplication asks, the key and `_time`.
pub fn build_key_only(s: &EvidxSchema, key: u128, row: &ProcessRow) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    if let Some(t) = row.time {
        doc.add_i64(s.time, t);
    }
    doc.add_bytes(s.key, &key_bytes(key));
    doc
}

pub fn build(
    s: &EvidxSchema,
    key: u128,
    carriers: &Carriers,
    ev: &RawEvent,
    row: &ProcessRow,
    origin: &Origin,
    prov: &Provenance,
) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    for (i, value) in row.values.iter().enumerate() {
        let Some(v) = value else { continue };
        let (value_field, search_field) = s.cim[i];
        let fast = fast_value(v);
        if fast.len() != v.len() {
            doc.add_text(s.long_values, format!("{}\0{v}", CIM_FIELDS[i]));
        }
        doc.add_text(value_field, &fast);
        let folded = fold_case(v);
        let term = truncate_term(&folded, MAX_TERM_BYTES);
        if term.len() < folded.len() {
            doc.add_text(s.long, CIM_FIELDS[i]);
        }
        doc.add_text(search_field, term);
        if let Some(gram_field) = s.gram[i] {
            // The full value (globs match past the cut term), in the first
            // document that holds it; the field's tokenizer makes the grams.
            if carriers.first_sight(i, &folded) {
                doc.add_text(gram_field, &folded);
            }
        }
    }
    if let Some(t) = row.time {
        doc.add_i64(s.time, t);
    }
    doc.add_text(s.source_file, &prov.source);
    doc.add_text(s.sourcetype, prov.sourcetype);
    doc.add_text(s.channel, &ev.channel);
    if let Some(r) = ev.record_id {
        doc.add_u64(s.record_id, r);
    }
    if let Some(c) = origin.chunk {
        doc.add_u64(s.chunk, c);
    }
    doc.add_u64(s.offset, origin.offset);
    doc.add_u64(s.event_code, u64::from(row.event_code));
    doc.add_bytes(s.key, &key_bytes(key));
    doc
}
