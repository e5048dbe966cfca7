//! Event de-duplication: is an event (by its [`event_key`]) already in the
//! index, or already added by this run?
//!
//! - [`CommittedKeys`]: the keys of the committed segments. Each segment is
//!   asked in turn, cheapest test first: the range of its `_time` column (a
//!   key includes the event's time), then its [`BloomFilter`] (a file, one
//!   cache line per key), and only then the exact term lookup in its
//!   `evidx_key` dictionary.
//! - [`Pending`]: the keys added since the last commit, which no segment
//!   answers for yet. Commits come at bounded intervals and at a bounded
//!   number of pending keys, so this set is bounded too.
//!
//! Memory is the pending set plus one small handle per segment, whatever
//! the size of the index.
//!
//! [`event_key`]: crate::document::event_key

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use evidx_schema::bloom::BloomFilter;
use evidx_schema::EvidxSchema;
use tantivy::{InvertedIndexReader, Searcher, SegmentReader};

use crate::document::key_bytes;

/// The folder of key filter files inside an index directory.
pub const KEYS_DIR: &str = "evidx-keys";

/// One committed segment, as de-duplication asks it.
struct SegmentKeys {
    /// `_time` of its earliest and latest event, in milliseconds (the
    /// precision of a key); `None` when it holds no time at all, or the
    /// column cannot be read (then it is always asked).
    time: Option<(i64, i64)>,
    filter: BloomFilter,
    terms: Arc<InvertedIndexReader>,
}

impl SegmentKeys {
    /// `time`: the key time (milliseconds) of the event of `key`.
    fn contains(&self, key: u128, time: Option<i64>) -> bool {
        if let (Some(t), Some((lo, hi))) = (time, self.time) {
            if t < lo || t > hi {
                return false;
            }
        }
        // A failed lookup counts as absent: a possible duplicate is better
        // than a lost event.
        self.filter.may_contain(key)
            && matches!(self.terms.terms().get(key_bytes(key)), Ok(Some(_)))
    }
}

/// The keys of every segment of one searcher (one commit).
pub struct CommittedKeys {
    segments: HashMap<String, Arc<SegmentKeys>>,
}

impl CommittedKeys {
    /// The keys of `searcher`'s segments: filters of segments already in
    /// `previous` are kept, new segments get a filter file (read if a
    /// previous run wrote it, else built from the segment's key terms), and
    /// filter files of segments that are gone are deleted.
    pub fn load(
        index_dir: &Path,
        schema: &EvidxSchema,
        searcher: &Searcher,
        previous: Option<&CommittedKeys>,
    ) -> io::Result<CommittedKeys> {
        let dir = index_dir.join(KEYS_DIR);
        std::fs::create_dir_all(&dir)?;
        let mut segments = HashMap::new();
        for reader in searcher.segment_readers() {
            let id = reader.segment_id().uuid_string();
            let known = previous.and_then(|p| p.segments.get(&id)).cloned();
            let keys = match known {
                Some(k) => k,
                None => Arc::new(open_segment(
                    &dir.join(format!("{id}.keys")),
                    schema,
                    reader,
                )?),
            };
            segments.insert(id, keys);
        }
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let live = path
                .file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| segments.contains_key(s))
                && path.extension().is_some_and(|e| e == "keys");
            if !live {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(CommittedKeys { segments })
    }

    /// True when a committed segment holds `key`.
    pub fn contains(&self, key: u128, time: Option<i64>) -> bool {
        self.segments.values().any(|s| s.contains(key, time))
    }
}

fn open_segment(path: &Path, s: &EvidxSchema, reader: &SegmentReader) -> io::Result<SegmentKeys> {
    let terms = reader.inverted_index(s.key).map_err(io::Error::other)?;
    let filter = match BloomFilter::open(path) {
        Some(f) => f,
        None => {
            BloomFilter::write_terms(path, terms.terms(), |term| {
                <[u8; 16]>::try_from(term)
                    .map(u128::from_be_bytes)
                    .map_err(|_| io::Error::other("an evidx_key term is not 16 bytes"))
            })?;
            BloomFilter::open(path)
                .ok_or_else(|| io::Error::other(format!("{}: unreadable", path.display())))?
        }
    };
    let time = reader
        .fast_fields()
        .i64(evidx_schema::layout::TIME)
        .ok()
        .filter(|c| c.values.num_vals() > 0)
        .map(|c| {
            (
                c.min_value().div_euclid(1000),
                c.max_value().div_euclid(1000),
            )
        });
    Ok(SegmentKeys {
        time,
        filter,
        terms,
    })
}

/// Keys added since the last commit, in shards so that workers rarely wait
/// on one another.
pub struct Pending {
    shards: Vec<Mutex<hashbrown::HashSet<u128>>>,
    len: AtomicUsize,
}

const SHARDS: usize = 16;

impl Default for Pending {
    fn default() -> Self {
        Pending {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            len: AtomicUsize::new(0),
        }
    }
}

impl Pending {
    /// Add `key`; false when it was already there.
    pub fn insert(&self, key: u128) -> bool {
        let shard = &self.shards[(key as usize) % SHARDS];
        let new = shard.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
        if new {
            self.len.fetch_add(1, Relaxed);
        }
        new
    }

    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forget every key (they are committed now), and give the memory back.
    pub fn clear(&self) {
        for shard in &self.shards {
            *shard.lock().unwrap_or_else(|p| p.into_inner()) = hashbrown::HashSet::new();
        }
        self.len.store(0, Relaxed);
    }
}
