//! A normalized row plus provenance -> one tantivy document (see
//! `evidx_schema::layout` for the layout and why).

use sha2::{Digest, Sha256};
use tantivy::TantivyDocument;

use crate::carriers::Carriers;
use crate::event::{Origin, RawEvent};
use evidx_schema::terms::{fast_value, fold_case, truncate_term, MAX_TERM_BYTES};
use evidx_schema::{EvidxSchema, CIM_FIELDS};

use crate::normalize::ProcessRow;

/// Provenance shared by every event of one input.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The input path, with `!member` for archive members.
    pub source: String,
    /// `evtx`, `json`, `xml`.
    pub sourcetype: &'static str,
}

/// The identity of an event for de-duplication: host, channel, record id and
/// the normalized content, hashed. Re-ingesting the same event from another
/// export of the same log yields the same key.
pub fn event_key(ev: &RawEvent, row: &ProcessRow) -> u64 {
    let mut h = Sha256::new();
    h.update(ev.computer.as_bytes());
    h.update([0]);
    h.update(ev.channel.to_ascii_lowercase().as_bytes());
    h.update([0]);
    h.update(ev.record_id.unwrap_or(0).to_le_bytes());
    h.update(row.time.unwrap_or(0).to_le_bytes());
    for v in &row.values {
        h.update(v.as_deref().unwrap_or("\u{0}").as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8]))
}

pub fn build(
    s: &EvidxSchema,
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
    doc.add_u64(s.key, event_key(ev, row));
    doc
}
