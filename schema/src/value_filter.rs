//! Which values a segment holds: for each segment, a [`BloomFilter`] of the
//! search terms of each trigram field ([`GRAM_FIELDS`]).
//!
//! A `*text*` search finds the matching *values* through the trigrams, which
//! a value carries in one document only (see [`crate::grams`]); then each
//! segment is asked for the documents holding those values, one term lookup
//! per value and segment. Most values live in a few segments, and a lookup
//! costs microseconds (a dictionary block found and decompressed), so as an
//! archive grows into more segments these lookups would become most of a
//! search. The filter answers "not in this segment" for ~99% of them from
//! one cache line.
//!
//! The indexer writes the filters of each new segment at each commit (and
//! after merges). A segment without its filter (an index written before
//! filters existed, or a segment whose filter is still being written) is
//! asked value by value: a filter only ever saves lookups.
//!
//! [`GRAM_FIELDS`]: crate::GRAM_FIELDS

use std::path::{Path, PathBuf};

#[allow(unused_imports)] // named by the module documentation
use crate::bloom::BloomFilter;
use crate::Cim;

/// The folder of value filters inside an index directory.
pub const VALUES_DIR: &str = "evidx-values";

/// The extension of a value filter file.
pub const EXTENSION: &str = "values";

/// The filter of `field`'s search terms in segment `segment` (its id as
/// `SegmentId::uuid_string` writes it), relative to the index directory.
pub fn path(segment: &str, field: Cim) -> PathBuf {
    Path::new(VALUES_DIR).join(format!("{segment}.{}.{EXTENSION}", field.name()))
}

/// The segment id a filter file (named by [`path`]) belongs to.
pub fn segment_of(file: &Path) -> Option<&str> {
    let name = file.file_name()?.to_str()?;
    let (segment, _) = name.split_once('.')?;
    file.extension()
        .is_some_and(|e| e == EXTENSION)
        .then_some(segment)
}

/// The filter key of a term (the bytes of the search field's term: the
/// case-folded value, cut as `terms::truncate_term` cuts it).
pub fn key(term: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(term)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_file_names_its_segment() {
        let p = path("0123abcd", Cim::Process);
        assert_eq!(p, Path::new("evidx-values/0123abcd.process.values"));
        assert_eq!(segment_of(&p), Some("0123abcd"));
        assert_eq!(segment_of(Path::new("evidx-values/0123abcd.tmp")), None);
        assert_eq!(segment_of(Path::new("evidx-values/x.process.tmp")), None);
    }
}
