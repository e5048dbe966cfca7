//! Inputs of the per-stage benchmarks: small generated archives (evidx-gen,
//! in process) and real files from `../shared`, read into memory once.

#![allow(dead_code)] // each bench target uses its own part

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use evidx_index::event::{Origin, RawEvent};
use evidx_index::parse::evtx::{is_empty_chunk, CHUNK_SIZE, FILE_HEADER_SIZE, MAGIC};
use evidx_index::parse::{Sink, Skip};
use tempfile::TempDir;

/// Events generated per format: enough for several hundred EVTX chunks,
/// small enough to generate in a second.
pub const GENERATED_EVENTS: u64 = 20_000;

/// A generated archive (evidx-gen seed 1) of `format` (`evtx`, `jsonl`,
/// `ecs`), deleted when dropped.
pub fn generate(format: &str) -> (TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = evidx_gen::RunConfig {
        seed: 1,
        size: 0,
        events: Some(GENERATED_EVENTS),
        format: format.parse().expect("evidx-gen format"),
        out: dir.path().to_path_buf(),
        planted: None,
        hosts: None,
        days: None,
        start_day: evidx_gen::time::days_from_civil(2024, 5, 6),
    };
    evidx_gen::run(&cfg).expect("evidx-gen");
    let files = files_under(dir.path(), |p| {
        !p.components().any(|c| c.as_os_str() == "expected")
            && p.file_name().is_some_and(|n| n != "manifest.json")
    });
    (dir, files)
}

/// The real files under `../shared` (relative to the workspace root) that
/// `keep` accepts; empty when the shared data is not there.
pub fn shared(keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    files_under(&root.join("datasets"), &keep)
        .into_iter()
        .chain(files_under(&root.join("sigma-regression"), &keep))
        .collect()
}

fn files_under(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && keep(e.path()))
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

/// The used 64 KiB chunks of EVTX files: (chunk number, file offset, bytes).
pub fn evtx_chunks(files: &[PathBuf]) -> Vec<(u64, u64, Vec<u8>)> {
    let mut out = Vec::new();
    for f in files {
        let data = std::fs::read(f).expect("read EVTX");
        if !data.starts_with(MAGIC) {
            continue;
        }
        for (n, chunk) in data[FILE_HEADER_SIZE.min(data.len())..]
            .chunks_exact(CHUNK_SIZE)
            .enumerate()
        {
            if !is_empty_chunk(chunk) {
                let offset = (FILE_HEADER_SIZE + n * CHUNK_SIZE) as u64;
                out.push((n as u64, offset, chunk.to_vec()));
            }
        }
    }
    out
}

/// The non-blank lines of NDJSON files, and their total size in bytes.
pub fn json_lines(files: &[PathBuf]) -> (Vec<Vec<u8>>, u64) {
    let mut lines = Vec::new();
    for f in files {
        let data = std::fs::read(f).expect("read JSON");
        let first = data.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            continue;
        }
        lines.extend(
            data.split(|&b| b == b'\n')
                .map(|l| l.trim_ascii())
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    let bytes = lines.iter().map(|l| l.len() as u64).sum();
    (lines, bytes)
}

/// Counts what a parser sends; keeps the events when asked to.
#[derive(Default)]
pub struct CountSink {
    pub events: AtomicU64,
    pub skips: AtomicU64,
    pub kept: Option<Mutex<Vec<RawEvent>>>,
}

impl CountSink {
    pub fn keeping() -> CountSink {
        CountSink {
            kept: Some(Mutex::new(Vec::new())),
            ..CountSink::default()
        }
    }
}

impl Sink for CountSink {
    fn event(&self, event: RawEvent, _origin: Origin) {
        self.events.fetch_add(1, Relaxed);
        if let Some(kept) = &self.kept {
            kept.lock().expect("sink lock").push(event);
        }
    }
    fn skip(&self, _skip: Skip) {
        self.skips.fetch_add(1, Relaxed);
    }
}
