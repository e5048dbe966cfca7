//! Shared helpers of the baseline binaries: input discovery, thread pool, report line.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// Options common to both baselines: `[-j N] PATH...`.
pub struct Args {
    pub threads: usize,
    pub inputs: Vec<PathBuf>,
}

pub fn parse_args(name: &str, what: &str) -> Result<Args> {
    let mut threads = 0usize;
    let mut inputs = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!(
                    "usage: {name} [-j THREADS] PATH...\n\n{what}\n\n\
                     PATH is a file or a directory (walked recursively). Prints one line:\n\
                     `{name}: files=F bytes=B records=R out_bytes=O secs=S mb_per_s=M records_per_s=E`.\n\
                     -j defaults to all cores."
                );
                std::process::exit(0);
            }
            "-j" | "--threads" => {
                threads = it
                    .next()
                    .context("-j needs a number")?
                    .parse()
                    .context("-j needs a number")?
            }
            _ => inputs.push(PathBuf::from(a)),
        }
    }
    if inputs.is_empty() {
        bail!("no input; see {name} --help");
    }
    Ok(Args { threads, inputs })
}

pub fn init_pool(threads: usize) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .context("thread pool")
}

/// Every regular file under `inputs` whose first bytes satisfy `accept`,
/// sorted by size, largest first (better load balance).
pub fn find_files(
    inputs: &[PathBuf],
    accept: impl Fn(&Path, &[u8]) -> bool,
) -> Result<Vec<(PathBuf, u64)>> {
    use std::io::Read;
    let mut out = Vec::new();
    for input in inputs {
        for entry in walkdir::WalkDir::new(input).follow_links(true) {
            let entry = entry?;
            if !entry.file_type().is_file() {
                continue;
            }
            let mut head = [0u8; 64];
            let mut f = std::fs::File::open(entry.path())?;
            let n = f.read(&mut head)?;
            if accept(entry.path(), &head[..n]) {
                out.push((entry.path().to_path_buf(), entry.metadata()?.len()));
            }
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.1));
    Ok(out)
}

pub struct Report {
    pub files: usize,
    pub bytes: u64,
    pub records: u64,
    pub out_bytes: u64,
    pub errors: u64,
}

/// Record, output-byte and error counts shared by a baseline's workers.
#[derive(Default)]
pub struct Counters {
    records: std::sync::atomic::AtomicU64,
    out_bytes: std::sync::atomic::AtomicU64,
    errors: std::sync::atomic::AtomicU64,
}

impl Counters {
    pub fn add(&self, records: u64, out_bytes: u64, errors: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.records.fetch_add(records, Relaxed);
        self.out_bytes.fetch_add(out_bytes, Relaxed);
        self.errors.fetch_add(errors, Relaxed);
    }

    /// The report over `files` (path, length).
    pub fn report(self, files: &[(std::path::PathBuf, u64)]) -> Report {
        Report {
            files: files.len(),
            bytes: files.iter().map(|f| f.1).sum(),
            records: self.records.into_inner(),
            out_bytes: self.out_bytes.into_inner(),
            errors: self.errors.into_inner(),
        }
    }
}

/// Map a file read-only.
pub fn map_file(path: &std::path::Path) -> std::io::Result<memmap2::Mmap> {
    let file = std::fs::File::open(path)?;
    // SAFETY: the map is read-only and only read through the returned
    // value; benchmark inputs are generated files that nothing modifies
    // while the baseline runs.
    unsafe { memmap2::Mmap::map(&file) }
}

pub fn print_report(name: &str, r: &Report, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name}: files={} bytes={} records={} out_bytes={} errors={} secs={:.3} mb_per_s={:.1} records_per_s={:.0}",
        r.files,
        r.bytes,
        r.records,
        r.out_bytes,
        r.errors,
        secs,
        r.bytes as f64 / 1e6 / secs,
        r.records as f64 / secs
    );
}
