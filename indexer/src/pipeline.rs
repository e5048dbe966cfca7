//! The indexing run: discover -> read -> parse -> normalize -> index, with
//! accounting. Files are processed in parallel (rayon), and inside a file
//! its EVTX chunks or blocks of lines are too; every worker adds documents
//! to one shared [`Store`].
//!
//! A run appends to an existing index: files whose SHA-256 is already in it
//! are not read again, and events it already holds are not added again. It
//! commits at bounded intervals, each commit with the manifest of what it
//! holds (see [`crate::history`]), so a killed run leaves the index at its
//! last commit, and the same command again completes the job.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::carriers::Carriers;
use crate::discover::{discover, InputFile};
use crate::document::{self, event_key, Provenance};
use crate::error::IndexError;
use crate::event::{EventKind, Origin, RawEvent};
use crate::history::{self, AlreadyIndexed, History, IndexTotals, Run, RunStatus};
use crate::lock::{IndexLock, LOCK_FILE};
use crate::manifest::{Accounting, InputReport, Totals};
use crate::normalize::normalize;
use crate::parquet::files::{run_id, Settle};
use crate::parquet::{ParquetConfig, ParquetSink, Row};
use crate::parse::{Format, Note, Sink, Skip, SkipUnit};
use crate::progress::Progress;
use crate::read::mapped::MappedInput;
use crate::read::{Reader, Target, Unit};
use crate::store::{Added, Store};

/// A validated indexing configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub inputs: Vec<PathBuf>,
    pub output: PathBuf,
    /// Worker threads (parsing and tantivy indexing).
    pub threads: usize,
    /// Replace an existing index at `output` (else: append to it).
    pub force: bool,
    /// tantivy writer memory budget, bytes, shared by all threads: with
    /// the parsers' bounded buffers, what bounds peak memory whatever the
    /// size of the input.
    pub memory: usize,
    /// The command line, for the manifest.
    pub arguments: Vec<String>,
    /// Commit at least this often: the most work a kill can lose.
    pub commit_interval: Duration,
    /// Also write the rows as Parquet (see [`crate::parquet`]).
    pub parquet: Option<ParquetConfig>,
}

/// tantivy's smallest memory budget for one indexing thread.
pub const MIN_WRITER_MEMORY: usize = 15 << 20;

/// tantivy's indexing threads for a run of `threads` workers sharing
/// `memory` bytes: tantivy wants at least [`MIN_WRITER_MEMORY`] per thread,
/// so fewer indexing threads than parsing threads when the budget is small.
pub fn writer_threads(memory: usize, threads: usize) -> usize {
    (memory / MIN_WRITER_MEMORY).clamp(1, threads.max(1))
}

/// The default [`Config::commit_interval`].
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(30);

impl Config {
    /// Index `inputs` into `output` with the defaults: every core, 128 MiB,
    /// append.
    pub fn new(inputs: Vec<PathBuf>, output: PathBuf) -> Config {
        Config {
            inputs,
            output,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            force: false,
            memory: 128 << 20,
            arguments: Vec::new(),
            commit_interval: COMMIT_INTERVAL,
            parquet: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// This run's entry of the manifest.
    pub manifest: Run,
    /// The totals of the whole index.
    pub index: IndexTotals,
    pub manifest_path: PathBuf,
}

impl Outcome {
    /// True when every input was read without a skip.
    pub fn complete(&self) -> bool {
        self.manifest.totals.counts.skipped == 0
    }
}

/// Files evidx writes in an index directory besides tantivy's, and the
/// files tantivy writes before `meta.json` when it creates an index (also
/// `.tmp*`, its atomic writes under way): a directory that holds only these
/// is empty for our purposes (a run killed as it created the index leaves
/// them).
const OWN_FILES: [&str; 6] = [
    LOCK_FILE,
    history::STAGED,
    crate::dedupe::KEYS_DIR,
    ".managed.json",
    ".tantivy-meta.lock",
    ".tantivy-writer.lock",
];

/// Create the index directory if needed, lock it, and decide: a new index
/// (`true`), or an append to the evidx index there (`false`). With `force`,
/// an existing evidx index is emptied first. A directory that holds
/// anything else is refused before anything is written to it.
fn prepare_output(cfg: &Config) -> Result<(IndexLock, bool), IndexError> {
    let out = &cfg.output;
    let out_err = |reason: &str| IndexError::Output {
        path: out.clone(),
        reason: reason.into(),
    };
    let foreign = |entries: &[PathBuf]| {
        !entries.is_empty()
            && !out.join("meta.json").exists()
            && !out.join(history::MANIFEST).exists()
    };
    const FOREIGN: &str = "exists, is not empty, and is not an evidx index; choose a new \
                           directory (even --force does not delete it)";
    if out.exists() && foreign(&other_entries(out)?) {
        return Err(out_err(FOREIGN));
    }
    std::fs::create_dir_all(out).map_err(|e| out_err(&e.to_string()))?;
    let lock = IndexLock::acquire(out)?;
    let others = other_entries(out)?;
    if others.is_empty() {
        // No index yet: what tantivy began is begun again.
        for entry in std::fs::read_dir(out).map_err(|e| out_err(&e.to_string()))? {
            let name = entry.map_err(|e| out_err(&e.to_string()))?.file_name();
            let name = name.to_string_lossy();
            if name == ".managed.json" || name.starts_with(".tmp") {
                std::fs::remove_file(out.join(&*name)).map_err(|e| out_err(&e.to_string()))?;
            }
        }
        return Ok((lock, true));
    }
    if foreign(&others) {
        return Err(out_err(FOREIGN));
    }
    if !cfg.force {
        if out.join("meta.json").exists() {
            return Ok((lock, false));
        }
        return Err(out_err(
            "holds a manifest but no index (meta.json); pass --force to replace it",
        ));
    }
    for path in others.iter().chain([&out.join(crate::dedupe::KEYS_DIR)]) {
        let removed = match path.is_dir() {
            true => std::fs::remove_dir_all(path),
            false if path.exists() => std::fs::remove_file(path),
            false => Ok(()),
        };
        removed.map_err(|e| out_err(&format!("{}: {e}", path.display())))?;
    }
    Ok((lock, true))
}

/// The entries of the index directory `dir` other than evidx's own files.
fn other_entries(dir: &std::path::Path) -> Result<Vec<PathBuf>, IndexError> {
    let err = |e: std::io::Error| IndexError::Output {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    };
    let mut others = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let name = entry.file_name();
        let own =
            OWN_FILES.iter().any(|f| name == *f) || name.to_string_lossy().starts_with(".tmp");
        if !own {
            others.push(entry.path());
        }
    }
    Ok(others)
}

/// Run the whole job.
pub fn run(cfg: &Config, progress: &Progress) -> Result<Outcome, IndexError> {
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let parquet_dir = cfg.parquet.as_ref().map(|p| p.dir.as_path());
    let exclude: Vec<&Path> = [Some(cfg.output.as_path()), parquet_dir]
        .into_iter()
        .flatten()
        .collect();
    let files = discover(&cfg.inputs, &exclude)?;
    let (lock, create) = prepare_output(cfg)?;
    let threads = cfg.threads.max(1);
    let store = Store::open(
        &cfg.output,
        create,
        writer_threads(cfg.memory, threads),
        cfg.memory.max(MIN_WRITER_MEMORY),
    )?;
    let opstamp = store.opstamp()?;
    let history = match create {
        true => History::default(),
        false => History::load(&cfg.output, opstamp)?,
    };
    let settle = match (create, cfg.force) {
        (true, true) => Settle::Replace,
        (true, false) => Settle::New,
        (false, _) => Settle::Append { opstamp },
    };
    let parquet = (cfg.parquet.as_ref())
        .map(|p| ParquetSink::open(p, run_id(started), settle))
        .transpose()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| IndexError::Output {
            path: cfg.output.clone(),
            reason: format!("thread pool: {e}"),
        })?;
    progress.start(files.iter().map(|f| f.size).sum(), files.len());
    let extractor = crate::parse::binxml::extractor_from_env();
    let ctx = Context {
        cfg,
        store: &store,
        parquet,
        key_only: cfg.parquet.as_ref().is_some_and(|p| p.only),
        carriers: Carriers::default(),
        reader: Reader {
            extractor: &*extractor,
        },
        progress,
        prehash: sizes_to_prehash(&files, &history),
        claims: Mutex::new(history.files.clone()),
        history: &history,
        done: Mutex::new(Vec::new()),
        already: Mutex::new(Vec::new()),
        earliest: AtomicI64::new(i64::MAX),
        latest: AtomicI64::new(i64::MIN),
        run: Run {
            tool: "evidx-index".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            arguments: cfg.arguments.clone(),
            started: started.to_rfc3339(),
            finished: None,
            elapsed_secs: 0.0,
            status: RunStatus::Running,
            documents_added: 0,
            earliest: None,
            latest: None,
            totals: Totals::default(),
            files: Vec::new(),
            already_indexed: Vec::new(),
            took_over_lock: lock.stale.clone(),
        },
        clock,
    };
    let (stop, ticks) = mpsc::channel::<()>();
    let background = std::thread::scope(|scope| {
        let committer = scope.spawn(|| ctx.commit_loop(ticks));
        pool.install(|| files.par_iter().for_each(|f| ctx.file(f)));
        drop(stop);
        committer.join()
    });
    background.unwrap_or_else(|p| std::panic::resume_unwind(p))?;
    if let Some(reason) = store.failure() {
        return Err(IndexError::WriterFailed(reason.to_string()));
    }
    let (run, index) = ctx.commit(RunStatus::Complete)?;
    store.finish(&cfg.output)?;
    drop(lock);
    progress.finish(&run.totals, run.already_indexed.len());
    Ok(Outcome {
        manifest: run,
        index,
        manifest_path: cfg.output.join(history::MANIFEST),
    })
}

/// Sizes of the inputs to hash before reading: those that may be content
/// already seen (the size of an indexed file, or of another input). Others
/// are hashed while they are read.
fn sizes_to_prehash(files: &[InputFile], history: &History) -> HashSet<u64> {
    let mut seen = HashSet::new();
    let mut twice: HashSet<u64> = files
        .iter()
        .filter(|f| !seen.insert(f.size))
        .map(|f| f.size)
        .collect();
    twice.extend(seen.intersection(&history.sizes));
    twice
}

struct Context<'a> {
    cfg: &'a Config,
    store: &'a Store,
    /// Where the rows also go, as Parquet.
    parquet: Option<ParquetSink>,
    /// The index holds only event keys: the rows go to Parquet only.
    key_only: bool,
    carriers: Carriers,
    reader: Reader<'a>,
    progress: &'a Progress,
    history: &'a History,
    prehash: HashSet<u64>,
    /// SHA-256 -> path of every file indexed or being indexed.
    claims: Mutex<HashMap<String, String>>,
    /// Files read to the end (their documents are all added).
    done: Mutex<Vec<InputReport>>,
    already: Mutex<Vec<AlreadyIndexed>>,
    /// `_time` of the earliest and latest document added.
    earliest: AtomicI64,
    latest: AtomicI64,
    run: Run,
    clock: Instant,
}

impl Context<'_> {
    /// Commit when the interval has passed or enough keys are pending,
    /// until `stop` hangs up.
    fn commit_loop(&self, stop: mpsc::Receiver<()>) -> Result<(), IndexError> {
        let tick = Duration::from_millis(50).min(self.cfg.commit_interval);
        let mut last = Instant::now();
        let mut committed = self.progress_mark();
        loop {
            if let Err(RecvTimeoutError::Disconnected) = stop.recv_timeout(tick) {
                return Ok(());
            }
            let due = last.elapsed() >= self.cfg.commit_interval || self.store.commit_due();
            if due && self.progress_mark() != committed {
                self.commit(RunStatus::Running)?;
                committed = self.progress_mark();
                last = Instant::now();
            }
        }
    }

    /// What changed since a commit: documents, files done.
    fn progress_mark(&self) -> (u64, usize, usize) {
        let done = self.done.lock().unwrap_or_else(|p| p.into_inner()).len();
        let already = self.already.lock().unwrap_or_else(|p| p.into_inner()).len();
        (self.store.added(), done, already)
    }

    /// Commit, with the manifest of what the commit holds.
    fn commit(&self, status: RunStatus) -> Result<(Run, IndexTotals), IndexError> {
        let dir = &self.cfg.output;
        let mut out = None;
        self.store.commit(dir, |opstamp, documents| {
            if let Some(parquet) = &self.parquet {
                parquet.stage(opstamp)?;
            }
            let run = self.snapshot(status);
            let totals = self.history.stage(dir, opstamp, &run, documents)?;
            out = Some((run, totals));
            Ok(())
        })?;
        History::publish(dir)?;
        if let Some(parquet) = &self.parquet {
            parquet.publish()?;
        }
        self.store.sync_value_filters(dir)?;
        out.ok_or_else(|| IndexError::Io(std::io::Error::other("commit without a manifest")))
    }

    /// This run as the manifest records it now.
    fn snapshot(&self, status: RunStatus) -> Run {
        let mut files = self.done.lock().unwrap_or_else(|p| p.into_inner()).clone();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut already = self
            .already
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        already.sort_by(|a, b| a.path.cmp(&b.path));
        let mut totals = Totals::from_files(&files);
        totals.files_already_indexed = already.len() as u64;
        let time = |t: &AtomicI64, none: i64| match t.load(Relaxed) {
            t if t == none => None,
            t => history::time_text(t),
        };
        let finished = chrono::Utc::now();
        Run {
            finished: (status == RunStatus::Complete).then(|| finished.to_rfc3339()),
            elapsed_secs: self.clock.elapsed().as_secs_f64(),
            status,
            documents_added: self.store.added(),
            earliest: time(&self.earliest, i64::MAX),
            latest: time(&self.latest, i64::MIN),
            totals,
            files,
            already_indexed: already,
            ..self.run.clone()
        }
    }

    /// Read one file, unless its content is already indexed; problems
    /// become skips in its report.
    fn file(&self, f: &InputFile) {
        if self.store.failure().is_some() {
            // The run is stopping (see `Store::add`): no use reading more.
            return;
        }
        let path = f.path.display().to_string();
        let target = FileTarget {
            ctx: self,
            path: path.clone(),
            members: Mutex::new(Vec::new()),
            top: Mutex::new(None),
            reported: AtomicU64::new(0),
        };
        // A file the walk could not reach is skipped like an unreadable one.
        let reachable = match &f.problem {
            Some(problem) => Err(std::io::Error::other(problem.clone())),
            None => Ok(&f.path),
        };
        let mapped = reachable
            .and_then(std::fs::File::open)
            .and_then(|file| MappedInput::open(&file));
        let (format, sha) = match &mapped {
            Ok(map) => {
                // Pages read once: let the kernel drop them behind us, so a
                // huge file does not stay resident.
                map.advise_sequential();
                let data: &[u8] = map;
                if self.prehash.contains(&f.size) {
                    let sha = hex(&Sha256::digest(data));
                    if let Some(first) = self.claim(&sha, &path) {
                        self.skip_file(f, path, sha, first);
                        return;
                    }
                    (self.reader.read_mapped(data, &target), Some(sha))
                } else {
                    let (format, sha) = rayon::join(
                        || self.reader.read_mapped(data, &target),
                        || hex(&Sha256::digest(data)),
                    );
                    // A size no other input or indexed file has: no claim
                    // can be there already.
                    let _ = self.claim(&sha, &path);
                    (format, Some(sha))
                }
            }
            Err(e) => {
                let unit = target.begin(None, None);
                unit.skip(Skip::file(format!("cannot read: {e}")));
                unit.finish(0);
                (None, None)
            }
        };
        let mut report = target
            .top
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(|| Accounting::default().report(path.clone(), format, f.size));
        report.format = format;
        report.size = f.size;
        report.sha256 = sha;
        if let Some(at) = mapped.as_ref().ok().and_then(MappedInput::shrank_at) {
            // Another process cut the file short while it was read: what
            // was past that point was read as zeros (skips), and the hash
            // is not the content's.
            report.sha256 = None;
            report.counts.skipped += 1;
            report.counts.records_read += 1;
            // Listed even past the cap: it explains the skips around it.
            report.skips.push(Skip::new(
                SkipUnit::File,
                at,
                format!("the file shrank while being read: bytes from {at} on read as zeros"),
            ));
            report.skips.sort_by_key(|s| (s.offset, s.line));
        }
        let mut members = target
            .members
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        members.sort_by(|a, b| a.path.cmp(&b.path));
        for m in members {
            report.absorb(m);
        }
        self.progress
            .bytes(f.size.saturating_sub(target.reported.load(Relaxed)));
        self.progress.file_done();
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(report);
    }

    /// Claim the content `sha` for `path`; the path that has it already,
    /// if any.
    fn claim(&self, sha: &str, path: &str) -> Option<String> {
        let mut claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        match claims.get(sha) {
            Some(first) => Some(first.clone()),
            None => {
                claims.insert(sha.to_string(), path.to_string());
                None
            }
        }
    }

    fn skip_file(&self, f: &InputFile, path: String, sha256: String, indexed_as: String) {
        self.progress.bytes(f.size);
        self.progress.file_done();
        self.already
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(AlreadyIndexed {
                path,
                size: f.size,
                sha256,
                indexed_as,
            });
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Collects the units of one file.
struct FileTarget<'a> {
    ctx: &'a Context<'a>,
    path: String,
    members: Mutex<Vec<InputReport>>,
    top: Mutex<Option<InputReport>>,
    /// Bytes of this file already shown on the progress bar.
    reported: AtomicU64,
}

impl Target for FileTarget<'_> {
    fn begin(&self, member: Option<&str>, format: Option<Format>) -> Box<dyn Unit + '_> {
        Box::new(UnitSink {
            target: self,
            member: member.map(str::to_string),
            format,
            acct: Accounting::default(),
            prov: Provenance::of(&self.path, member, format),
        })
    }
}

/// Counts, normalizes and indexes the events of one unit.
struct UnitSink<'a> {
    target: &'a FileTarget<'a>,
    member: Option<String>,
    format: Option<Format>,
    acct: Accounting,
    prov: Provenance,
}

impl Sink for UnitSink<'_> {
    fn event(&self, event: RawEvent, origin: Origin) {
        let ctx = self.target.ctx;
        let Some(row) = normalize(&event) else {
            self.acct.other_events.fetch_add(1, Relaxed);
            ctx.progress.events(1, 0);
            return;
        };
        let kind = match event.kind() {
            EventKind::SysmonProcessCreate => &self.acct.sysmon_1,
            _ => &self.acct.security_4688,
        };
        kind.fetch_add(1, Relaxed);
        let key = event_key(&event, &row);
        let added = ctx.store.add(key, document::key_time(&row), || {
            if let Some(t) = row.time {
                ctx.earliest.fetch_min(t, Relaxed);
                ctx.latest.fetch_max(t, Relaxed);
            }
            let doc = match ctx.key_only {
                true => document::build_key_only(&ctx.store.schema, key, &row),
                false => document::build(
                    &ctx.store.schema,
                    key,
                    &ctx.carriers,
                    &event,
                    &row,
                    &origin,
                    &self.prov,
                ),
            };
            // Under the store's lock, as the document is added: a commit
            // holds its row too (see `ParquetSink::stage`).
            if let Some(parquet) = &ctx.parquet {
                parquet.push(Row::new(&event, row, &origin, &self.prov));
            }
            doc
        });
        match added {
            Ok(Added::New) => {
                self.acct.process_events.fetch_add(1, Relaxed);
                ctx.progress.events(1, 1);
            }
            Ok(Added::Duplicate) => {
                self.acct.duplicates.fetch_add(1, Relaxed);
                ctx.progress.events(1, 0);
            }
            // The writer failed: the run stops at its last commit, which
            // does not hold this event (the store records why).
            Err(_) => {
                kind.fetch_sub(1, Relaxed);
            }
        }
    }

    fn skip(&self, skip: Skip) {
        if skip.unit == SkipUnit::NotEvent {
            self.acct.not_events.fetch_add(1, Relaxed);
        }
        self.acct.add_skip(skip);
    }

    fn note(&self, note: Note) {
        let counter = match note {
            Note::EmptyChunk => &self.acct.empty_chunks,
            Note::Continuation => &self.acct.text_lines_ignored,
            Note::EvtxFallback => &self.acct.evtx_fallback_records,
        };
        counter.fetch_add(1, Relaxed);
    }

    fn progress(&self, bytes: u64) {
        if self.member.is_none() {
            self.target.reported.fetch_add(bytes, Relaxed);
            self.target.ctx.progress.bytes(bytes);
        }
    }
}

impl Unit for UnitSink<'_> {
    fn finish(self: Box<Self>, bytes: u64) {
        match &self.member {
            Some(m) => {
                let report = self.acct.report(m.clone(), self.format, bytes);
                self.target
                    .members
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(report);
            }
            None => {
                let report = self
                    .acct
                    .report(self.target.path.clone(), self.format, bytes);
                *self.target.top.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
            }
        }
    }
}
