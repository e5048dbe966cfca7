//! The events of an event search (`| from datamodel:Endpoint.Processes |
//! search ...`), one row each, streamed: segment by segment, the matching
//! documents in doc order, each read from the doc store as its row is
//! made. Memory follows the chunk of rows, not the number of matches.
//!
//! A row has `_time` (epoch seconds, with microseconds when there are
//! any), every CIM field, the inherited `host`, `source` (the file,
//! `path!member` inside an archive) and `sourcetype`, and what opens the
//! original record: `evidx_record_id` (the EventRecordID), `evidx_chunk`
//! (the EVTX chunk number), `evidx_offset` (the byte offset of the record
//! in the file, or of the line in a JSON/XML stream; decompressed, for an
//! archive member), `evidx_event_code` and `evidx_channel`.

use evidx_schema::layout::{stored_full_value, CHANNEL, CHUNK, EVENT_CODE, OFFSET, RECORD_ID};
use evidx_schema::{Cim, EvidxSchema};
use tantivy::fastfield::AliveBitSet;
use tantivy::query::Scorer;
use tantivy::schema::document::Value as _;
use tantivy::schema::Field;
use tantivy::store::StoreReader;
use tantivy::{DocSet, TantivyDocument, TERMINATED};

use crate::field::{Meta, OBJECT_PREFIX};
use crate::index_set::Part;
use crate::spl::ast::EventNaming;
use crate::table::Cell;

/// Doc-store blocks kept decompressed: matches come in doc order, so the
/// current block is nearly always the one needed.
const STORE_CACHE_BLOCKS: usize = 4;

/// One output column and where its value comes from.
#[derive(Clone, Copy)]
enum Source {
    Time,
    Cim(Cim),
    Text(Field),
    Number(Field),
}

/// The matching events of a search, made into rows chunk by chunk.
pub struct EventRows {
    /// The indexes searched, in order.
    parts: Vec<Part>,
    schema: EvidxSchema,
    columns: Vec<(String, Source)>,
    /// The next segment to open: (part, segment of its searcher).
    next: (usize, usize),
    /// The open segment's matches, deletes and doc store.
    current: Option<(Box<dyn Scorer>, Option<AliveBitSet>, StoreReader)>,
    error: Option<tantivy::TantivyError>,
}

impl EventRows {
    /// The events of `parts` (index by index, segment by segment, in doc
    /// order).
    pub fn new(parts: Vec<Part>, schema: &EvidxSchema, naming: EventNaming) -> Self {
        EventRows {
            parts,
            schema: schema.clone(),
            columns: columns(schema, naming),
            next: (0, 0),
            current: None,
            error: None,
        }
    }

    /// The column names, in row order.
    pub fn columns(&self) -> Vec<String> {
        self.columns.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Replace `buf` with the next `max` rows at most; false when there
    /// are none left (or reading failed: see [`EventRows::take_error`]).
    pub fn fill(&mut self, buf: &mut Vec<Vec<Cell>>, max: usize) -> bool {
        buf.clear();
        if let Err(e) = self.fill_inner(buf, max) {
            self.error = Some(e);
            buf.clear();
        }
        !buf.is_empty()
    }

    /// The error that ended the rows early, if any.
    pub fn take_error(&mut self) -> Option<tantivy::TantivyError> {
        self.error.take()
    }

    fn fill_inner(&mut self, buf: &mut Vec<Vec<Cell>>, max: usize) -> tantivy::Result<()> {
        if self.error.is_some() {
            return Ok(());
        }
        while buf.len() < max {
            let Some((scorer, alive, store)) = self.current.as_mut() else {
                let (part, seg) = self.next;
                let Some(Part { searcher, weight }) = self.parts.get(part) else {
                    return Ok(());
                };
                let Some(reader) = searcher.segment_readers().get(seg) else {
                    self.next = (part + 1, 0);
                    continue;
                };
                let scorer = weight.scorer(reader, 1.0)?;
                let store = reader.get_store_reader(STORE_CACHE_BLOCKS)?;
                self.current = Some((scorer, reader.alive_bitset().cloned(), store));
                self.next = (part, seg + 1);
                continue;
            };
            let doc = scorer.doc();
            if doc == TERMINATED {
                self.current = None;
                continue;
            }
            scorer.advance();
            if alive.as_ref().is_some_and(|a| a.is_deleted(doc)) {
                continue;
            }
            let stored: TantivyDocument = store.get(doc)?;
            buf.push(
                self.columns
                    .iter()
                    .map(|(_, src)| cell(&stored, &self.schema, *src))
                    .collect(),
            );
        }
        Ok(())
    }
}

/// The columns of an event row (see the module documentation).
fn columns(s: &EvidxSchema, naming: EventNaming) -> Vec<(String, Source)> {
    let mut out = vec![("_time".to_string(), Source::Time)];
    for f in Cim::ALL.into_iter().filter(|f| *f != Cim::Host) {
        let name = match naming {
            EventNaming::Qualified => format!("{OBJECT_PREFIX}{}", f.name()),
            EventNaming::Flat => f.name().to_string(),
        };
        out.push((name, Source::Cim(f)));
    }
    out.push((Cim::Host.name().to_string(), Source::Cim(Cim::Host)));
    out.push((Meta::Source.name().into(), Source::Text(s.source_file)));
    out.push((Meta::Sourcetype.name().into(), Source::Text(s.sourcetype)));
    out.push((RECORD_ID.into(), Source::Number(s.record_id)));
    out.push((CHUNK.into(), Source::Number(s.chunk)));
    out.push((OFFSET.into(), Source::Number(s.offset)));
    out.push((EVENT_CODE.into(), Source::Number(s.event_code)));
    out.push((CHANNEL.into(), Source::Text(s.channel)));
    out
}

fn cell(doc: &TantivyDocument, s: &EvidxSchema, src: Source) -> Cell {
    let value = match src {
        Source::Time => doc
            .get_first(s.time)
            .and_then(|v| v.as_i64())
            .map(format_time),
        Source::Cim(f) => stored_full_value(doc, s, f.name()).map(str::to_string),
        Source::Text(field) => doc
            .get_first(field)
            .and_then(|v| v.as_str())
            .map(str::to_string),
        Source::Number(field) => doc
            .get_first(field)
            .and_then(|v| v.as_u64())
            .map(|n| n.to_string()),
    };
    value.map_or_else(Cell::null, Cell::one)
}

/// Microseconds since the epoch as epoch seconds (`1563547781`, or
/// `1563547781.25` when there is a fraction).
fn format_time(micros: i64) -> String {
    let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    if frac == 0 {
        return secs.to_string();
    }
    let f = format!("{frac:06}");
    format!("{secs}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keeps_its_fraction() {
        assert_eq!(format_time(1_563_547_781_000_000), "1563547781");
        assert_eq!(format_time(1_563_547_781_250_000), "1563547781.25");
        assert_eq!(format_time(-1), "-1.999999");
    }

    #[test]
    fn columns_are_qualified_or_flat() {
        let s = EvidxSchema::build();
        let q: Vec<String> = columns(&s, EventNaming::Qualified)
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert!(q.contains(&"Processes.process_name".to_string()));
        assert!(q.contains(&"host".to_string()) && !q.contains(&"Processes.host".to_string()));
        for p in ["_time", "source", "sourcetype", RECORD_ID, CHUNK, OFFSET] {
            assert!(q.contains(&p.to_string()), "{p}");
        }
        let f = columns(&s, EventNaming::Flat);
        assert!(f.iter().any(|c| c.0 == "process_name"));
        assert_eq!(q.len(), f.len());
    }
}
