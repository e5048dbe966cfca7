//! Accounting, never silent loss: what was read from every input, what was
//! indexed, and every unit that was skipped, with where and why. Written to
//! `INDEX_DIR/manifest.json` and summarised on the terminal.
//!
//! The invariant for every file and member: `records_read = process_events +
//! duplicates + other_events + skipped`, where a skipped EVTX chunk counts as
//! one unit (its records cannot be counted), and `duplicates` are process
//! creations already in the index (see [`crate::dedupe`]). `sysmon_1` and
//! `security_4688` count the process creations read, so
//! `sysmon_1 + security_4688 = process_events + duplicates`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::parse::{Format, Skip};

/// Skips kept in detail per file; beyond it only the count grows, so a
/// file of garbage cannot exhaust memory.
pub const MAX_SKIPS_LISTED: usize = 1000;

/// Live counters of one input (a file or an archive member), shared by the
/// workers that parse it.
#[derive(Debug, Default)]
pub struct Accounting {
    pub process_events: AtomicU64,
    pub duplicates: AtomicU64,
    pub other_events: AtomicU64,
    pub skipped: AtomicU64,
    pub sysmon_1: AtomicU64,
    pub security_4688: AtomicU64,
    pub empty_chunks: AtomicU64,
    pub text_lines_ignored: AtomicU64,
    pub evtx_fallback_records: AtomicU64,
    /// Skips that only say "this is not an event" (a file of another
    /// format, JSON of another shape): when nothing else was read, the
    /// input is reported as ignored rather than as damaged.
    pub not_events: AtomicU64,
    skips: Mutex<Vec<Skip>>,
}

impl Accounting {
    pub fn add_skip(&self, skip: Skip) {
        self.skipped.fetch_add(1, Relaxed);
        let mut skips = self.skips.lock().unwrap_or_else(|p| p.into_inner());
        if skips.len() < MAX_SKIPS_LISTED {
            skips.push(skip);
        }
    }

    /// Freeze the counters into a manifest entry.
    pub fn report(&self, path: String, format: Option<Format>, size: u64) -> InputReport {
        let mut skips = self.skips.lock().unwrap_or_else(|p| p.into_inner()).clone();
        skips.sort_by_key(|s| (s.offset, s.line));
        let (p, d, o, mut s) = (
            self.process_events.load(Relaxed),
            self.duplicates.load(Relaxed),
            self.other_events.load(Relaxed),
            self.skipped.load(Relaxed),
        );
        let mut ignored = None;
        if p + d + o == 0 && s > 0 && s == self.not_events.load(Relaxed) {
            ignored = skips.first().map(|k| k.reason.clone());
            skips.clear();
            s = 0;
        }
        InputReport {
            path,
            format,
            size,
            sha256: None,
            counts: Counts {
                records_read: p + d + o + s,
                process_events: p,
                duplicates: d,
                sysmon_1: self.sysmon_1.load(Relaxed),
                security_4688: self.security_4688.load(Relaxed),
                other_events: o,
                skipped: s,
                empty_chunks: self.empty_chunks.load(Relaxed),
                text_lines_ignored: self.text_lines_ignored.load(Relaxed),
                evtx_fallback_records: self.evtx_fallback_records.load(Relaxed),
            },
            skips_not_listed: s.saturating_sub(skips.len() as u64),
            skips,
            ignored,
            members: Vec::new(),
        }
    }
}

/// The counters of an input, of an archive's members summed, of a run, or
/// of the runs of an index.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Counts {
    pub records_read: u64,
    /// Process creations indexed.
    pub process_events: u64,
    /// Process creations not indexed because the index (or this run)
    /// already had them.
    pub duplicates: u64,
    /// Process creations read, by kind (indexed or duplicate).
    pub sysmon_1: u64,
    pub security_4688: u64,
    pub other_events: u64,
    pub skipped: u64,
    pub empty_chunks: u64,
    pub text_lines_ignored: u64,
    /// EVTX records the template-aware extractor left to the `evtx` crate
    /// (counted in the other counters too).
    pub evtx_fallback_records: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.records_read += o.records_read;
        self.process_events += o.process_events;
        self.duplicates += o.duplicates;
        self.sysmon_1 += o.sysmon_1;
        self.security_4688 += o.security_4688;
        self.other_events += o.other_events;
        self.skipped += o.skipped;
        self.empty_chunks += o.empty_chunks;
        self.text_lines_ignored += o.text_lines_ignored;
        self.evtx_fallback_records += o.evtx_fallback_records;
    }
}

/// One input in the manifest.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputReport {
    pub path: String,
    pub format: Option<Format>,
    /// Bytes on disk (for a member: bytes after decompression).
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
    pub skips_not_listed: u64,
    pub skips: Vec<Skip>,
    /// Set when the input holds no Windows events at all (a README, a rule
    /// file): why it was not read. Not counted as skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// Archive members, each accounted for separately; the archive's own
    /// counters are their sums plus skips of the archive itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<InputReport>,
}

impl InputReport {
    /// Add a member's counts into this (archive) entry.
    pub fn absorb(&mut self, m: InputReport) {
        self.counts.add(&m.counts);
        self.members.push(m);
    }
}

/// Totals over the inputs of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Totals {
    pub files: u64,
    pub bytes: u64,
    #[serde(flatten)]
    pub counts: Counts,
    pub files_with_skips: u64,
    pub files_ignored: u64,
    /// Inputs not read: their content (SHA-256) is already in the index.
    pub files_already_indexed: u64,
}

impl Totals {
    pub fn from_files(files: &[InputReport]) -> Self {
        let mut t = Totals::default();
        for f in files {
            t.files += 1;
            t.bytes += f.size;
            t.counts.add(&f.counts);
            t.files_with_skips += u64::from(f.counts.skipped > 0);
            t.files_ignored += u64::from(f.ignored.is_some());
        }
        t
    }

    pub fn add(&mut self, o: &Totals) {
        self.files += o.files;
        self.bytes += o.bytes;
        self.counts.add(&o.counts);
        self.files_with_skips += o.files_with_skips;
        self.files_ignored += o.files_ignored;
        self.files_already_indexed += o.files_already_indexed;
    }
}
