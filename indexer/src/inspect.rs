//! Read one input into memory as normalized rows, without an index: for
//! tests, for comparing formats, and for inspecting what evidx extracts
//! from a file. Holds every row in memory, so it is meant for small inputs.

use std::path::Path;
use std::sync::Mutex;

use crate::event::{Origin, RawEvent};
use crate::normalize::{normalize, ProcessRow};
use crate::parse::{Format, Sink, Skip, SkipUnit};
use crate::read::{Reader, Target, Unit};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What one file holds: its process-creation rows and its accounting.
#[derive(Debug, Default)]
pub struct FileRows {
    pub rows: Vec<ProcessRow>,
    pub records: u64,
    pub skips: Vec<Skip>,
    pub format: Option<Format>,
}

struct Collect {
    rows: Mutex<Vec<ProcessRow>>,
    /// Every event read, process creation or not.
    records: AtomicU64,
    skips: Mutex<Vec<Skip>>,
}

impl Sink for Collect {
    fn event(&self, ev: RawEvent, _: Origin) {
        self.records.fetch_add(1, Relaxed);
        if let Some(r) = normalize(&ev) {
            self.rows.lock().unwrap_or_else(|p| p.into_inner()).push(r);
        }
    }
    fn skip(&self, s: Skip) {
        if s.unit != SkipUnit::NotEvent {
            self.skips.lock().unwrap_or_else(|p| p.into_inner()).push(s);
        }
    }
}

/// Every unit of the file feeds the one collector.
struct CollectUnit<'a>(&'a Collect);

impl Sink for CollectUnit<'_> {
    fn event(&self, ev: RawEvent, o: Origin) {
        self.0.event(ev, o)
    }
    fn skip(&self, s: Skip) {
        self.0.skip(s)
    }
}

impl Unit for CollectUnit<'_> {
    fn finish(self: Box<Self>, _: u64) {}
}

impl Target for Collect {
    fn begin(&self, _: Option<&str>, _: Option<Format>) -> Box<dyn Unit + '_> {
        Box::new(CollectUnit(self))
    }
}

/// Normalize every process-creation event of `path` (a file of any
/// supported format, archives included). Rows are sorted for comparison.
pub fn file_rows(path: &Path) -> std::io::Result<FileRows> {
    let data = std::fs::read(path)?;
    let collect = Collect {
        rows: Mutex::new(Vec::new()),
        records: AtomicU64::new(0),
        skips: Mutex::new(Vec::new()),
    };
    let extractor = crate::parse::binxml::extractor_from_env();
    let format = Reader {
        extractor: &*extractor,
    }
    .read_mapped(&data, &collect);
    let mut rows = collect.rows.into_inner().unwrap_or_else(|p| p.into_inner());
    rows.sort_by(|a, b| a.values.cmp(&b.values).then(a.time.cmp(&b.time)));
    Ok(FileRows {
        records: collect.records.into_inner(),
        rows,
        skips: collect
            .skips
            .into_inner()
            .unwrap_or_else(|p| p.into_inner()),
        format,
    })
}
