//! `evidx-index`: the command line. Parsing, validation and exit codes live
//! here; everything else is in the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use evidx_index::lock::LockError;
use evidx_index::parquet::{ParquetConfig, STATE_DIR};
use evidx_index::pipeline::MIN_WRITER_MEMORY;
use evidx_index::progress::{Mode, Progress};
use evidx_index::{Config, IndexError};

/// mimalloc: indexing allocates and frees small buffers at a high rate on
/// every thread (documents, terms, column values), where glibc's malloc
/// took about 15% of the CPU; mimalloc's thread-local free lists cut the
/// run's CPU by about a tenth.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status when every input was read (or was already indexed).
const EXIT_OK: u8 = 0;
/// Exit status for a fatal error (unreadable input, unwritable index).
const EXIT_ERROR: u8 = 1;
/// Exit status for a bad command line: clap's own, kept apart from the rest.
const EXIT_USAGE: u8 = 2;
/// Exit status when the index was written but something was skipped.
const EXIT_PARTIAL: u8 = 3;
/// Exit status when another evidx-index is writing the index: nothing was
/// done, try again later.
const EXIT_BUSY: u8 = 4;

#[derive(Parser, Debug)]
#[command(
    name = "evidx-index",
    version,
    about = "Index Windows event logs once; hunt them in milliseconds.",
    long_about = "Index Windows event archives into a tantivy index of Splunk CIM \
Endpoint.Processes rows (Sysmon EventID 1 and Security 4688), for evidx-query.\n\n\
Inputs are files or directories (walked recursively). Formats are recognised by \
content, not by name: EVTX; JSON (NDJSON, an array, or pretty-printed objects) in \
evtx_dump, Winlogbeat 6, Winlogbeat 7+/ECS, NXLog and Mordor/OTRF shapes; Splunk \
XmlWinEventLog exports (one <Event> per line); and .zip, .tar, .tar.gz/.tgz, .gz \
and .zst archives of any of these, streamed without unpacking to disk.\n\n\
Corrupt input never stops the run: a bad chunk, record, line or member is skipped, \
and INDEX_DIR/manifest.json lists it with the file, byte offset and reason.\n\n\
An existing index is appended to: files already indexed (same SHA-256) are not read \
again, and events already in the index (same host, channel, record id and content) \
are not added again, whatever file or format they come from. The run commits every \
--commit-interval seconds; if it is killed, the index stays at its last commit, and \
the same command again completes the job. manifest.json keeps the history of runs.\n\n\
--parquet DIR also writes the rows as Parquet (Hive partitions by UTC day, sorted by \
dest and _time), in step with the index's commits; without -o it writes only Parquet.",
    after_help = "EXIT STATUS:\n  0  every input was read completely (or was already indexed)\n  \
1  fatal error: the run stopped (missing input, INDEX_DIR unusable or not an evidx \
index); the index is at its last commit\n  \
2  bad command line (unknown option, bad value)\n  \
3  the index was written, but some chunks, records, lines or files were skipped \
(see INDEX_DIR/manifest.json)\n  \
4  another evidx-index is writing INDEX_DIR; nothing was done\n\nEXAMPLE:\n  evidx-index -o hunt.idx /cases/2026-11/logs/ \
extra/Security.evtx.gz\n  evidx-query -i hunt.idx --file detection.yml"
)]
struct Args {
    /// Directory to write the index (and manifest.json) to. Required
    /// unless --parquet is given.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "INDEX_DIR",
        required_unless_present = "parquet"
    )]
    output: Option<PathBuf>,

    /// Also write the rows as Parquet to DIR (DIR/date=YYYY-MM-DD/*.parquet,
    /// zstd; see the README). Without -o, only Parquet is written, and
    /// DIR/_evidx keeps the manifest and the keys of the events written.
    #[arg(long, value_name = "DIR")]
    parquet: Option<PathBuf>,

    /// Rows buffered for --parquet before they are sorted and written as
    /// parts, in MiB of row data (writing takes about as much again). A
    /// larger buffer makes fewer, larger parts, better sorted by host and
    /// time.
    #[arg(long, value_name = "MIB", default_value_t = (evidx_index::parquet::DEFAULT_BUDGET >> 20) as u32, value_parser = clap::value_parser!(u32).range(1..=65536), requires = "parquet")]
    parquet_memory: u32,

    /// Files or directories to index.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,

    /// Worker threads [default: all cores].
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,

    /// Replace INDEX_DIR if it already holds an evidx index (without it,
    /// new inputs are appended).
    #[arg(long)]
    force: bool,

    /// Commit (make progress durable and visible to queries) at least every
    /// SECS seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = parse_interval)]
    commit_interval: f64,

    /// Memory for building the index, in MiB, shared by all threads (at
    /// least 15). Peak memory stays near this plus ~10 MiB per thread,
    /// whatever the size of the input.
    #[arg(long, value_name = "MIB", default_value_t = 128, value_parser = parse_memory)]
    memory: usize,

    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

// The `--memory` help names the minimum.
const _: () = assert!(MIN_WRITER_MEMORY == 15 << 20);

/// `--memory`: MiB, at least tantivy's minimum for one indexing thread.
fn parse_memory(s: &str) -> Result<usize, String> {
    let min = MIN_WRITER_MEMORY >> 20;
    let mib: usize = s
        .parse()
        .map_err(|_| format!("expected a whole number of MiB, at least {min}"))?;
    if mib < min {
        return Err(format!(
            "{mib} MiB is below the minimum of {min} MiB (tantivy's smallest budget for one indexing thread)"
        ));
    }
    mib.checked_mul(1 << 20)
        .map(|_| mib)
        .ok_or_else(|| format!("{mib} MiB is more than this machine can address"))
}

/// `--commit-interval`: positive seconds.
fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 1e9 => Ok(secs),
        _ => Err("expected a number of seconds above 0".into()),
    }
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        // --help and --version are not errors: clap prints them to stdout.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // clap's message starts with `error:`.
            eprint!("evidx-index: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("evidx-index: error: {e:#}");
            let busy = matches!(
                e.downcast_ref::<IndexError>(),
                Some(IndexError::Lock(LockError::Busy { .. }))
            );
            ExitCode::from(if busy { EXIT_BUSY } else { EXIT_ERROR })
        }
    }
}

fn run(args: Args) -> anyhow::Result<u8> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mode = if args.quiet {
        Mode::Quiet
    } else if std::io::stderr().is_terminal() {
        Mode::Bar
    } else {
        Mode::Summary
    };
    let parquet_at = |dir: PathBuf, only: bool| ParquetConfig {
        budget: (args.parquet_memory as usize) << 20,
        ..ParquetConfig::new(dir, only)
    };
    let (output, parquet) = match (args.output, args.parquet) {
        (Some(index), dir) => (index, dir.map(|d| parquet_at(d, false))),
        (None, Some(dir)) => (dir.join(STATE_DIR), Some(parquet_at(dir, true))),
        (None, None) => {
            // clap requires one of them.
            eprintln!("evidx-index: error: -o INDEX_DIR or --parquet DIR is required");
            return Ok(EXIT_USAGE);
        }
    };
    let cfg = Config {
        inputs: args.inputs,
        output,
        parquet,
        threads,
        force: args.force,
        memory: args.memory << 20,
        arguments: std::env::args().collect(),
        commit_interval: Duration::from_secs_f64(args.commit_interval),
    };
    let progress = Progress::new(mode);
    let outcome = evidx_index::run(&cfg, &progress).context("indexing failed")?;
    if let (Some(h), false) = (&outcome.manifest.took_over_lock, args.quiet) {
        eprintln!("evidx-index: took over the lock of a run that was killed ({h}); its work up to its last commit is kept");
    }
    if outcome.complete() {
        Ok(EXIT_OK)
    } else {
        if mode != Mode::Quiet {
            for f in outcome
                .manifest
                .files
                .iter()
                .filter(|f| f.counts.skipped > 0)
            {
                let first = f
                    .skips
                    .first()
                    .or_else(|| f.members.iter().find_map(|m| m.skips.first()));
                if let Some(s) = first {
                    eprintln!(
                        "  skipped {} in {} (first at byte {}: {})",
                        f.counts.skipped, f.path, s.offset, s.reason
                    );
                }
            }
            eprintln!("details: {}", outcome.manifest_path.display());
        }
        Ok(EXIT_PARTIAL)
    }
}
