//! index-floor: evidx-index's stages timed alone, on given inputs. Two are
//! what it cannot go below, whatever its parser does:
//! - `sha256`: the SHA-256 of every input file (the manifest's file hash,
//!   and how a file already indexed is recognised), files in parallel;
//! - `tantivy`: adding the inputs' process-creation documents to a new
//!   index in a temporary directory, with evidx-index's schema, writer
//!   threads, memory budget and de-duplication, then committing once (a
//!   lower bound: evidx-index also commits every 30 s, each commit with its
//!   manifest and value filters).
//!
//! And one is the parser itself, to set beside a converter such as
//! evtx_dump: `parse`, every record read (template-aware EVTX extractor,
//! JSON skip-scan) and dropped.
//!
//! The documents are parsed and built first, untimed, and held in memory
//! (about 2 KB each, some 0.35 GB a GiB of generated EVTX): meant for
//! inputs of a few GiB. Both stages run on
//! `-j` threads, as evidx-index does; scripts/bench-index.sh compares their
//! sum with the time the issue 9 target leaves evidx-index.
//!
//! usage: index-floor [-j N] INPUT...
//! (INDEX_FLOOR_STAGES=parse,... runs only the stages named, to profile one.)
//! Prints `index-floor: stage=sha256 files=F bytes=B secs=S cpu_secs=C`,
//! `index-floor: stage=parse records=R secs=S cpu_secs=C` and
//! `index-floor: stage=tantivy documents=D secs=S cpu_secs=C`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use evidx_bench::{init_pool, parse_args};
use evidx_index::carriers::Carriers;
use evidx_index::discover::discover;
use evidx_index::document::{self, Provenance};
use evidx_index::event::{Origin, RawEvent};
use evidx_index::normalize::normalize;
use evidx_index::parse::{binxml, Format, Sink, Skip};
use evidx_index::pipeline::writer_threads;
use evidx_index::read::mapped::MappedInput;
use evidx_index::read::{Reader, Target, Unit};
use evidx_index::store::Store;
use tantivy::TantivyDocument;

// As evidx-index: the allocator changes what adding documents costs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NAME: &str = "index-floor";
/// evidx-index's default `--memory`.
const MEMORY: usize = 128 << 20;

fn main() -> Result<()> {
    let args = parse_args(
        NAME,
        "Times evidx-index's stages alone: the SHA-256 of every input file; its parser\n\
         reading every record (and dropping it); and adding the inputs' process-creation\n\
         documents (parsed and built beforehand, untimed, held in memory) to a new index\n\
         with evidx-index's schema, threads and memory budget. Prints one line per stage\n\
         instead of the line below.",
    )?;
    init_pool(args.threads)?;
    let threads = rayon::current_num_threads();
    let files: Vec<PathBuf> = discover(&args.inputs, &[])?
        .into_iter()
        .filter(|f| f.problem.is_none())
        .map(|f| f.path)
        .collect();
    if files.is_empty() {
        bail!("no readable file under the inputs");
    }

    let stages = std::env::var("INDEX_FLOOR_STAGES").unwrap_or_default();
    let run = |name: &str| stages.is_empty() || stages.split(',').any(|s| s == name);

    if run("sha256") {
        sha256(&files)?;
    }
    if run("parse") {
        let (secs, cpu, records) = stage(|| parse(&files))?;
        println!("{NAME}: stage=parse records={records} secs={secs:.3} cpu_secs={cpu:.3}");
    }
    if run("tantivy") {
        tantivy(&files, threads)?;
    }
    Ok(())
}

fn sha256(files: &[PathBuf]) -> Result<()> {
    let (secs, cpu, bytes) = stage(|| -> Result<u64> {
        files
            .par_iter()
            .map(|path| -> Result<u64> {
                let map = open(path)?;
                std::hint::black_box(Sha256::digest(&map[..]));
                Ok(map.len() as u64)
            })
            .sum()
    })?;
    println!(
        "{NAME}: stage=sha256 files={} bytes={bytes} secs={secs:.3} cpu_secs={cpu:.3}",
        files.len()
    );
    Ok(())
}

fn tantivy(files: &[PathBuf], threads: usize) -> Result<()> {
    let docs = documents(files)?;
    let dir = tempfile::tempdir().context("a temporary directory for the index")?;
    let n = docs.len();
    let (secs, cpu, ()) = stage(|| -> Result<()> {
        let store = Store::open(dir.path(), true, writer_threads(MEMORY, threads), MEMORY)?;
        docs.into_par_iter()
            .try_for_each(|(key, time, doc)| store.add(key, time, move || doc).map(|_| ()))?;
        store.commit(dir.path(), |_, _| Ok(()))?;
        store.finish(dir.path())?;
        Ok(())
    })?;
    println!("{NAME}: stage=tantivy documents={n} secs={secs:.3} cpu_secs={cpu:.3}");
    Ok(())
}

/// Runs `f`; its wall and CPU seconds (of the whole process, every thread).
fn stage<T>(f: impl FnOnce() -> Result<T>) -> Result<(f64, f64, T)> {
    let (start, cpu0) = (Instant::now(), cpu_secs()?);
    let out = f()?;
    Ok((start.elapsed().as_secs_f64(), cpu_secs()? - cpu0, out))
}

/// User and system CPU seconds of this process so far (/proc/self/stat,
/// in USER_HZ = 100 ticks a second).
fn cpu_secs() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // The fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let field = |i: usize| -> Result<f64> {
        rest.split_whitespace()
            .nth(i)
            .and_then(|v| v.parse::<f64>().ok())
            .context("/proc/self/stat: no CPU times")
    };
    // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
    Ok((field(11)? + field(12)?) / 100.0)
}

fn open(path: &PathBuf) -> Result<MappedInput> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    MappedInput::open(&file).with_context(|| format!("mapping {}", path.display()))
}

/// Every record of `files` read by evidx-index's parser (the
/// template-aware EVTX extractor, the JSON skip-scan), and dropped: what
/// parsing alone costs, to set beside a converter such as evtx_dump.
fn parse(files: &[PathBuf]) -> Result<u64> {
    let count = AtomicU64::new(0);
    read_all(files, |event, _, _| {
        std::hint::black_box(event);
        count.fetch_add(1, Relaxed);
    })?;
    Ok(count.into_inner())
}

/// A document to add: its key, key time and document.
type Doc = (u128, Option<i64>, TantivyDocument);

/// The process-creation documents of `files`, built as evidx-index builds
/// them (one carrier table for the run).
fn documents(files: &[PathBuf]) -> Result<Vec<Doc>> {
    let schema = evidx_schema::EvidxSchema::build();
    let carriers = Carriers::default();
    let docs = Mutex::new(Vec::new());
    read_all(files, |event, origin, prov| {
        let Some(row) = normalize(&event) else {
            return;
        };
        let key = document::event_key(&event, &row);
        let doc = document::build(&schema, key, &carriers, &event, &row, &origin, prov);
        let time = document::key_time(&row);
        docs.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((key, time, doc));
    })?;
    Ok(docs.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Reads `files` in parallel with evidx-index's reader, calling
/// `on_event` on every record with its origin and provenance.
fn read_all<F>(files: &[PathBuf], on_event: F) -> Result<()>
where
    F: Fn(RawEvent, Origin, &Provenance) + Sync,
{
    let extractor = binxml::extractor_from_env();
    let reader = Reader {
        extractor: &*extractor,
    };
    files.par_iter().try_for_each(|path| -> Result<()> {
        let target = Each {
            source: path.display().to_string(),
            on_event: &on_event,
        };
        reader.read_mapped(&open(path)?, &target);
        Ok(())
    })
}

/// A [`Target`] that hands each record of a file to `on_event`.
struct Each<'f, F> {
    source: String,
    on_event: &'f F,
}

struct EachUnit<'f, F> {
    on_event: &'f F,
    prov: Provenance,
}

impl<F: Fn(RawEvent, Origin, &Provenance) + Sync> Target for Each<'_, F> {
    fn begin(&self, member: Option<&str>, format: Option<Format>) -> Box<dyn Unit + '_> {
        Box::new(EachUnit {
            on_event: self.on_event,
            prov: Provenance::of(&self.source, member, format),
        })
    }
}

impl<F: Fn(RawEvent, Origin, &Provenance) + Sync> Sink for EachUnit<'_, F> {
    fn event(&self, event: RawEvent, origin: Origin) {
        (self.on_event)(event, origin, &self.prov);
    }
    fn skip(&self, _: Skip) {}
}

impl<F: Fn(RawEvent, Origin, &Provenance) + Sync> Unit for EachUnit<'_, F> {
    fn finish(self: Box<Self>, _: u64) {}
}
