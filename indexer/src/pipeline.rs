//! The indexing run: discover -> read -> parse -> normalize -> index, with
//! accounting. Files are processed in parallel (rayon), and inside a file
//! its EVTX chunks or blocks of lines are too; every worker adds documents
//! to one shared tantivy `IndexWriter`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

use evidx_schema::{index_settings, version, EvidxSchema};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use tantivy::{Index, IndexWriter, TantivyDocument};

use crate::carriers::Carriers;
use crate::discover::{discover, InputFile};
use crate::document::{self, Provenance};
use crate::error::IndexError;
use crate::event::{EventKind, Origin, RawEvent};
use crate::manifest::{Accounting, InputReport, Manifest, Totals};
use crate::normalize::normalize;
use crate::parse::{Format, Note, Sink, Skip, SkipUnit};
use crate::progress::Progress;
use crate::read::{Reader, Target, Unit};

/// A validated indexing configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub inputs: Vec<PathBuf>,
    pub output: PathBuf,
    /// Worker threads (parsing and tantivy indexing).
    pub threads: usize,
    /// Replace an existing index at `output`.
    pub force: bool,
    /// tantivy writer memory budget, bytes, shared by all threads: with
    /// the parsers' bounded buffers, what bounds peak memory whatever the
    /// size of the input.
    pub memory: usize,
    /// The command line, for the manifest.
    pub arguments: Vec<String>,
}

/// tantivy's smallest memory budget for one indexing thread.
pub const MIN_WRITER_MEMORY: usize = 15 << 20;

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub manifest: Manifest,
    pub manifest_path: PathBuf,
}

impl Outcome {
    /// True when every input was read without a skip.
    pub fn complete(&self) -> bool {
        self.manifest.totals.counts.skipped == 0
    }
}

/// Create (or with `force` replace) the index directory.
fn create_index(cfg: &Config, schema: &EvidxSchema) -> Result<Index, IndexError> {
    let out = &cfg.output;
    let out_err = |reason: String| IndexError::Output {
        path: out.clone(),
        reason,
    };
    if out.exists() {
        let non_empty = std::fs::read_dir(out)
            .map_err(|e| out_err(e.to_string()))?
            .next()
            .is_some();
        if non_empty {
            if !cfg.force {
                return Err(out_err(
                    "exists and is not empty; choose a new directory or pass --force to replace it"
                        .into(),
                ));
            }
            if !out.join("meta.json").exists() && !out.join("manifest.json").exists() {
                return Err(out_err(
                    "is not an evidx index; refusing to delete it even with --force".into(),
                ));
            }
            std::fs::remove_dir_all(out).map_err(|e| out_err(e.to_string()))?;
        }
    }
    std::fs::create_dir_all(out).map_err(|e| out_err(e.to_string()))?;
    let index = Index::builder()
        .schema(schema.schema.clone())
        .settings(index_settings())
        .create_in_dir(out)?;
    evidx_schema::grams::register_tokenizers(&index);
    Ok(index)
}

/// Run the whole job.
pub fn run(cfg: &Config, progress: &Progress) -> Result<Outcome, IndexError> {
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let files = discover(&cfg.inputs, &cfg.output)?;
    let schema = EvidxSchema::build();
    let index = create_index(cfg, &schema)?;
    let threads = cfg.threads.max(1);
    // tantivy wants at least 15 MB per indexing thread: fewer indexing
    // threads than parsing threads when the budget is small.
    let writer_threads = (cfg.memory / MIN_WRITER_MEMORY).clamp(1, threads);
    let writer: IndexWriter<TantivyDocument> =
        index.writer_with_num_threads(writer_threads, cfg.memory.max(MIN_WRITER_MEMORY))?;
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
        schema: &schema,
        carriers: Carriers::default(),
        writer: &writer,
        reader: Reader {
            extractor: &*extractor,
        },
        progress,
    };
    let mut reports: Vec<InputReport> =
        pool.install(|| files.par_iter().map(|f| ctx.file(f)).collect());
    let mut writer = writer;
    let mut commit = writer.prepare_commit()?;
    commit.set_payload(&version::commit_payload());
    commit.commit()?;
    writer.wait_merging_threads()?;
    reports.sort_by(|a, b| a.path.cmp(&b.path));
    let totals = Totals::from_files(&reports);
    let manifest = Manifest {
        tool: "evidx-index".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        arguments: cfg.arguments.clone(),
        started: started.to_rfc3339(),
        finished: chrono::Utc::now().to_rfc3339(),
        elapsed_secs: clock.elapsed().as_secs_f64(),
        totals,
        files: reports,
    };
    let manifest_path = cfg.output.join("manifest.json");
    let json = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    write_atomically(&manifest_path, &json)?;
    progress.finish(&manifest.totals);
    Ok(Outcome {
        manifest,
        manifest_path,
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

struct Context<'a> {
    schema: &'a EvidxSchema,
    carriers: Carriers,
    writer: &'a IndexWriter<TantivyDocument>,
    reader: Reader<'a>,
    progress: &'a Progress,
}

impl Context<'_> {
    /// Read one file; problems become skips in its report.
    fn file(&self, f: &InputFile) -> InputReport {
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
        let mapped = reachable.and_then(std::fs::File::open).and_then(|file| {
            // SAFETY: the file is mapped read-only and only read through
            // this slice. evidx indexes archives at rest; a file truncated by
            // another process while mapped would fault (SIGBUS), which is the
            // documented limit of reading through mmap.
            unsafe { memmap2::Mmap::map(&file) }
        });
        let (format, sha) = match &mapped {
            Ok(map) => {
                // Pages read once: let the kernel drop them behind us, so a
                // huge file does not stay resident.
                let _ = map.advise(memmap2::Advice::Sequential);
                let data: &[u8] = map;
                let (format, sha) = rayon::join(
                    || self.reader.read_mapped(data, &target),
                    || hex(&Sha256::digest(data)),
                );
                (format, Some(sha))
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
        report
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
        let source = match member {
            Some(m) => format!("{}!{m}", self.path),
            None => self.path.clone(),
        };
        Box::new(UnitSink {
            target: self,
            member: member.map(str::to_string),
            format,
            acct: Accounting::default(),
            prov: Provenance {
                source,
                sourcetype: match format {
                    Some(Format::Evtx) => "evtx",
                    Some(Format::Xml) => "xml",
                    _ => "json",
                },
            },
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
        match normalize(&event) {
            Some(row) => {
                let doc =
                    document::build(ctx.schema, &ctx.carriers, &event, &row, &origin, &self.prov);
                match ctx.writer.add_document(doc) {
                    Ok(_) => {
                        self.acct.process_events.fetch_add(1, Relaxed);
                        match event.kind() {
                            EventKind::SysmonProcessCreate => {
                                self.acct.sysmon_1.fetch_add(1, Relaxed)
                            }
                            _ => self.acct.security_4688.fetch_add(1, Relaxed),
                        };
                        ctx.progress.events(1, 1);
                    }
                    Err(e) => self.skip(
                        Skip::at(
                            SkipUnit::Record,
                            &origin,
                            format!("index writer refused the document: {e}"),
                        )
                        .record_id(event.record_id),
                    ),
                }
            }
            None => {
                self.acct.other_events.fetch_add(1, Relaxed);
                ctx.progress.events(1, 0);
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
