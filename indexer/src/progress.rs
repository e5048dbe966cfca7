//! Progress: an indicatif bar (bytes, events/s, ETA) when stderr is a
//! terminal; otherwise nothing until the one-line summary at the end.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::manifest::Totals;

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A live bar (stderr is a terminal).
    Bar,
    /// Only the final summary line.
    Summary,
    /// Nothing.
    Quiet,
}

pub struct Progress {
    mode: Mode,
    bar: ProgressBar,
    files_total: AtomicU64,
    files_done: AtomicU64,
    events: AtomicU64,
    indexed: AtomicU64,
    started: Instant,
}

impl Progress {
    pub fn new(mode: Mode) -> Self {
        let bar = match mode {
            Mode::Bar => ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr()),
            _ => ProgressBar::hidden(),
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            mode,
            bar,
            files_total: AtomicU64::new(0),
            files_done: AtomicU64::new(0),
            events: AtomicU64::new(0),
            indexed: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    pub fn start(&self, total_bytes: u64, files: usize) {
        self.bar.set_length(total_bytes);
        self.files_total.store(files as u64, Relaxed);
    }

    pub fn bytes(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn file_done(&self) {
        self.files_done.fetch_add(1, Relaxed);
        self.refresh();
    }

    pub fn events(&self, read: u64, indexed: u64) {
        let before = self.events.fetch_add(read, Relaxed);
        self.indexed.fetch_add(indexed, Relaxed);
        if (before + read) / 4096 != before / 4096 {
            self.refresh();
        }
    }

    fn refresh(&self) {
        if self.mode != Mode::Bar {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let ev = self.events.load(Relaxed);
        self.bar.set_message(format!(
            "files {}/{}, events {} ({:.0}/s), process creations {}",
            self.files_done.load(Relaxed),
            self.files_total.load(Relaxed),
            ev,
            ev as f64 / secs,
            self.indexed.load(Relaxed)
        ));
    }

    pub fn finish(&self, t: &Totals, already_indexed: usize) {
        self.bar.finish_and_clear();
        if self.mode == Mode::Quiet {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64();
        eprintln!(
            "evidx-index: {} files, {:.1} MB in {:.1}s ({:.1} MB/s): {} records read, {} process creations indexed ({} read: Sysmon 1: {}, Security 4688: {}; {} already in the index), {} other events, {} skipped{}{}",
            t.files,
            t.bytes as f64 / 1e6,
            secs,
            t.bytes as f64 / 1e6 / secs.max(1e-9),
            t.counts.records_read,
            t.counts.process_events,
            t.counts.sysmon_1 + t.counts.security_4688,
            t.counts.sysmon_1,
            t.counts.security_4688,
            t.counts.duplicates,
            t.counts.other_events,
            t.counts.skipped,
            match (t.counts.skipped > 0, t.files_ignored > 0) {
                (true, _) => format!(
                    " in {} files, {} files ignored as not event logs (see manifest.json)",
                    t.files_with_skips, t.files_ignored
                ),
                (false, true) => format!(
                    ", {} files ignored as not event logs (see manifest.json)",
                    t.files_ignored
                ),
                (false, false) => String::new(),
            },
            match already_indexed {
                0 => String::new(),
                n => format!("; {n} files not read: already indexed (see manifest.json)"),
            }
        );
    }
}
