//! Where the value filters of the searched segments are (the format is
//! `evidx_schema::value_filter`): a `*text*` search asks a segment for the
//! documents of a value only when the segment's filter may hold it.
//!
//! Segment ids are unique across indexes, so one map from segment to index
//! directory serves every index of a search. It is made on first use, from
//! a listing of each index's filter folder: an index without filters, or a
//! filter written or deleted since, only means lookups in that segment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use evidx_schema::bloom::BloomFilter;
use evidx_schema::{value_filter, Cim};

#[derive(Debug)]
pub struct ValueFilters {
    dirs: Vec<PathBuf>,
    /// Segment id -> index directory, of the segments that have filters.
    segments: OnceLock<HashMap<String, usize>>,
}

impl ValueFilters {
    /// The filters of the indexes in `dirs`.
    pub fn new(dirs: Vec<PathBuf>) -> ValueFilters {
        ValueFilters {
            dirs,
            segments: OnceLock::new(),
        }
    }

    /// The filter of `field`'s values in segment `segment` (its id as
    /// `SegmentId::uuid_string` writes it), if it has one.
    pub fn open(&self, segment: &str, field: Cim) -> Option<BloomFilter> {
        let dir = &self.dirs[*self.segments().get(segment)?];
        BloomFilter::open(&dir.join(value_filter::path(segment, field)))
    }

    fn segments(&self) -> &HashMap<String, usize> {
        self.segments.get_or_init(|| {
            let mut map = HashMap::new();
            for (i, dir) in self.dirs.iter().enumerate() {
                for segment in listed(dir) {
                    map.insert(segment, i);
                }
            }
            map
        })
    }
}

/// The segments with filter files in index `dir`.
fn listed(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join(value_filter::VALUES_DIR)) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            value_filter::segment_of(&path).map(str::to_string)
        })
        .collect()
}
