//! The value filters of the index's segments (the format is
//! `evidx_schema::value_filter`): after each commit, every live segment
//! gets the filters it lacks, built from its term dictionaries, and the
//! filters of segments merged away are deleted.
//!
//! A segment is immutable, so its filters are written once. They are
//! written to a temporary name and renamed, so a run killed meanwhile
//! leaves no half filter; a missing filter only costs a query lookups.

use std::io;
use std::path::Path;

use evidx_schema::bloom::BloomFilter;
use evidx_schema::{value_filter, EvidxSchema, GRAM_FIELDS};
use tantivy::Searcher;

/// Write the missing value filters of `searcher`'s segments in `index_dir`
/// and delete those of segments it no longer has.
pub fn sync(index_dir: &Path, schema: &EvidxSchema, searcher: &Searcher) -> io::Result<()> {
    let dir = index_dir.join(value_filter::VALUES_DIR);
    std::fs::create_dir_all(&dir)?;
    let mut live = std::collections::HashSet::new();
    for reader in searcher.segment_readers() {
        let id = reader.segment_id().uuid_string();
        for field in GRAM_FIELDS {
            let path = index_dir.join(value_filter::path(&id, field));
            if path.exists() {
                continue;
            }
            let (_, search) = schema.cim[field.index()];
            let terms = reader.inverted_index(search).map_err(io::Error::other)?;
            BloomFilter::write_terms(&path, terms.terms(), |term| Ok(value_filter::key(term)))?;
        }
        live.insert(id);
    }
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let keep = value_filter::segment_of(&path).is_some_and(|s| live.contains(s));
        if !keep {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
