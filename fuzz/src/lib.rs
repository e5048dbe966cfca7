//! What the fuzz targets share: the EVTX chunk extractors to fuzz, and a
//! sink that checks what parsers report (besides not panicking, not
//! hanging and not exhausting memory, which libFuzzer checks itself).

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

use evidx_index::event::{Origin, RawEvent};
use evidx_index::parse::binxml::TemplateExtractor;
use evidx_index::parse::evtx::{ChunkExtractor, EvtxCrateExtractor};
use evidx_index::parse::{Format, Sink, Skip};
use evidx_index::read::{Target, Unit};

/// Every EVTX chunk extractor, each fuzzed on the same inputs.
pub fn extractors() -> &'static [(&'static str, Box<dyn ChunkExtractor>)] {
    static ALL: OnceLock<Vec<(&'static str, Box<dyn ChunkExtractor>)>> = OnceLock::new();
    ALL.get_or_init(|| {
        vec![
            ("evtx-crate", Box::new(EvtxCrateExtractor::default())),
            ("template", Box::new(TemplateExtractor::default())),
        ]
    })
}

/// Counts what it is told and checks that every event and skip is located
/// inside `within` (when given) and that every skip says why.
#[derive(Default)]
pub struct Checked {
    pub within: Option<Range<u64>>,
    pub events: AtomicU64,
    pub skips: AtomicU64,
    pub units: AtomicU64,
}

impl Checked {
    pub fn within(range: Range<u64>) -> Checked {
        Checked {
            within: Some(range),
            ..Checked::default()
        }
    }

    fn check_offset(&self, offset: u64, what: &dyn std::fmt::Debug) {
        if let Some(r) = &self.within {
            assert!(r.contains(&offset), "{what:?} outside {r:?}");
        }
    }
}

impl Sink for Checked {
    fn event(&self, _: RawEvent, origin: Origin) {
        self.check_offset(origin.offset, &origin);
        self.events.fetch_add(1, Relaxed);
    }
    fn skip(&self, skip: Skip) {
        assert!(!skip.reason.is_empty(), "a skip without a reason: {skip:?}");
        self.check_offset(skip.offset, &skip);
        self.skips.fetch_add(1, Relaxed);
    }
}

/// Every unit (file or archive member) feeds the one checker.
struct CheckedUnit<'a>(&'a Checked);

impl Sink for CheckedUnit<'_> {
    fn event(&self, ev: RawEvent, o: Origin) {
        self.0.event(ev, o)
    }
    fn skip(&self, s: Skip) {
        self.0.skip(s)
    }
}

impl Unit for CheckedUnit<'_> {
    fn finish(self: Box<Self>, _: u64) {
        self.0.units.fetch_add(1, Relaxed);
    }
}

impl Target for Checked {
    fn begin(&self, _: Option<&str>, _: Option<Format>) -> Box<dyn Unit + '_> {
        Box::new(CheckedUnit(self))
    }
}
