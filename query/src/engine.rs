//! The engine: open an index, run a parsed tstats pipeline on it.
//! parse ([`crate::spl`]) -> plan ([`crate::plan`]) -> collect
//! ([`crate::collect`]) -> commands ([`crate::commands`]).

use std::path::{Path, PathBuf};

use evidx_schema::{version, EvidxSchema};
use tantivy::query::EnableScoring;
use tantivy::{Executor, Index, IndexReader, ReloadPolicy};

use crate::collect::{CollectError, GroupBy};
use crate::commands::PostError;
use crate::events::EventRows;
use crate::lookups::LookupStore;
use crate::plan::{plan, PlanError};
use crate::spl::ast::{Span, Tstats};
use crate::spl::{self, MacroSet, SplError};
use crate::table::{Cell, RowSink, Table};

/// The data model evidx indexes.
pub const DATAMODEL: &str = "Endpoint.Processes";

/// tstats options that are accepted. Summaries do not exist in evidx: every
/// search reads the full index, as `summariesonly=false` asks.
const KNOWN_OPTIONS: &[&str] = &[
    "summariesonly",
    "allow_old_summaries",
    "fillnull_value",
    "local",
    "chunk_size",
];

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{}", .0.render(&.0.text))]
    Spl(SplError),
    /// A construct that parses but cannot run here, with its position in
    /// the expanded query text.
    #[error("{}", SplError::new(.message.clone(), .span.clone()).render(.text))]
    Unsupported {
        message: String,
        span: Span,
        text: String,
    },
    #[error("post-processing: {0}")]
    Post(#[from] PostError),
    #[error("index {}: {reason}", path.display())]
    Index { path: PathBuf, reason: String },
    #[error("search failed: {0}")]
    Search(#[from] tantivy::TantivyError),
    #[error("{0}")]
    Collect(#[from] CollectError),
}

impl QueryError {
    /// True for errors in the query itself (as opposed to the index).
    pub fn is_query_error(&self) -> bool {
        matches!(
            self,
            QueryError::Spl(_) | QueryError::Unsupported { .. } | QueryError::Post(_)
        )
    }
}

/// An open evidx index.
pub struct Engine {
    reader: IndexReader,
    schema: EvidxSchema,
    pushdown: bool,
    /// Runs the segments of one search: in parallel for a single search;
    /// one at a time in a pack, whose detections already run in parallel.
    executor: Executor,
    /// The lookups that `lookup` and `inputlookup` read.
    lookups: LookupStore,
    /// Heap bytes a search's group table may take before it spills to
    /// disk.
    group_memory: usize,
}

impl Engine {
    pub fn open(dir: &Path) -> Result<Self, QueryError> {
        let err = |reason: String| QueryError::Index {
            path: dir.to_path_buf(),
            reason,
        };
        if !dir.join("meta.json").exists() {
            return Err(err(
                "not an evidx index (no meta.json); build one with evidx-index -o DIR INPUT..."
                    .into(),
            ));
        }
        // An append may commit while we open: between reading meta.json and
        // mapping the segments it names, a merge can delete one of them.
        // Once mapped, segments stay readable; so open again from the new
        // meta.json a few times before calling the index unreadable.
        let mut attempt = 0;
        let (index, reader) = loop {
            let index = Index::open_in_dir(dir).map_err(|e| err(e.to_string()))?;
            version::check(&index).map_err(|e| err(e.to_string()))?;
            evidx_schema::grams::register_tokenizers(&index);
            match index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()
            {
                Ok::<IndexReader, _>(reader) => break (index, reader),
                Err(tantivy::TantivyError::OpenReadError(_)) if attempt < OPEN_ATTEMPTS => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(err(e.to_string())),
            }
        };
        crate::memory::watch(dir);
        let schema = EvidxSchema::from_schema(&index.schema()).map_err(|e| {
            err(format!(
                "schema is not evidx's ({e}); re-index with this version"
            ))
        })?;
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let executor = match threads {
            1 => Executor::single_thread(),
            n => Executor::multi_thread(n, "evidx-segment-").map_err(|e| err(e.to_string()))?,
        };
        Ok(Engine {
            reader,
            schema,
            pushdown: true,
            executor,
            lookups: LookupStore::new(),
            group_memory: DEFAULT_GROUP_MEMORY,
        })
    }

    /// The lookups that `lookup` and `inputlookup` read
    /// ([`LookupStore::load_dir`]).
    pub fn set_lookups(&mut self, lookups: LookupStore) {
        self.lookups = lookups;
    }

    /// Turn the pushdown of filters into the collector (see
    /// [`crate::pushdown`]) on or off. It never changes an answer; off is
    /// for tests that prove so, and for diagnosis.
    pub fn set_pushdown(&mut self, on: bool) {
        self.pushdown = on;
    }

    /// Heap bytes a search's group table may take before it spills to disk
    /// (sorted runs in unnamed temporary files, merged as the result is
    /// read); the answer is the same.
    pub fn set_group_memory(&mut self, bytes: usize) {
        self.group_memory = bytes;
    }

    /// Search the segments of one search one at a time (for callers that
    /// run several searches in parallel).
    pub fn set_sequential_segments(&mut self) {
        self.executor = Executor::single_thread();
    }

    /// Number of indexed process events.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Parse and run an SPL query.
    pub fn run_text(&self, text: &str, macros: &MacroSet) -> Result<Table, QueryError> {
        let query = spl::parse_query(text, macros).map_err(QueryError::Spl)?;
        self.run(&query)
    }

    /// Run a parsed query and return the whole result.
    pub fn run(&self, query: &spl::Query) -> Result<Table, QueryError> {
        let mut table = Table::default();
        self.run_into(query, &mut table)?;
        Ok(table)
    }

    /// Run a parsed query, streaming the result rows into `sink`; returns
    /// the number of rows.
    pub fn run_into(&self, query: &spl::Query, sink: &mut dyn RowSink) -> Result<u64, QueryError> {
        let unsupported = |message: String, span: Span| QueryError::Unsupported {
            message,
            span,
            text: query.text.clone(),
        };
        // Subsearches run and lookups load first (`resolve.rs`).
        let resolved = crate::resolve::Resolver {
            lookups: &self.lookups,
            run_tstats: &|q: &spl::Query| self.run(q),
            error: &|message, span| unsupported(message, span),
        }
        .resolve(query)?;
        let query = &resolved;
        let ts = &query.pipeline.tstats;
        check_tstats(ts).map_err(|(m, s)| unsupported(m, s))?;
        let q = plan(ts.filter.as_ref(), &self.schema)
            .map_err(|PlanError { message, span }| unsupported(message, span))?;
        let post_error = |e: PostError| match e {
            PostError::Command {
                command,
                message,
                span: Some(span),
            } => unsupported(format!("{command}: {message}"), span),
            e => e.into(),
        };
        if let Some(naming) = ts.events {
            // An event search: its events, one row each (`events.rs`).
            let mut rows = EventRows::new(self.reader.searcher(), &*q, &self.schema, naming)?;
            let columns = rows.columns();
            let fill = |buf: &mut Vec<Vec<Cell>>| rows.fill(buf, ROWS_PER_CHUNK);
            let n = crate::commands::run_chunked(columns, fill, &query.pipeline.commands, sink)
                .map_err(post_error)?;
            return match rows.take_error() {
                Some(e) => Err(e.into()),
                None => Ok(n),
            };
        }
        let collector = GroupBy::new(&ts.by, &ts.aggs, ts.fillnull_value());
        let filters = match self.pushdown {
            true => crate::pushdown::key_filters(&collector, &query.pipeline.commands),
            false => Vec::new(),
        };
        let collector = collector.with_filters(filters);
        let searcher = self.reader.searcher();
        let weight = q.weight(EnableScoring::disabled_from_searcher(&searcher))?;
        let groups = collector.collect(&searcher, &*weight, &self.executor, self.group_memory)?;
        let rows = collector.rows(groups, ROWS_PER_CHUNK);
        let columns = collector.columns();
        let commands = &query.pipeline.commands;
        // Rows are made on a second thread while the commands and the sink
        // take the previous chunk: for a wide result, making rows and
        // writing them cost about the same.
        std::thread::scope(|scope| {
            let (fill, maker) = read_ahead(scope, rows);
            let n = crate::commands::run_chunked(columns, fill, commands, sink).map_err(post_error);
            // The maker stops once `fill` is gone; a result it could not
            // read back from disk is an error even if the commands ended.
            match maker.join() {
                Ok(Err(e)) => Err(CollectError::Spill(e).into()),
                _ => n,
            }
        })
    }
}

/// Make `rows` chunk by chunk on a thread of `scope`, one chunk ahead of
/// the consumer; the returned `fill` swaps in the next chunk (false at the
/// end). Three buffers go round (one being made, one waiting, one being
/// consumed), so rows and their strings are reused, and memory stays at
/// three chunks. Dropping `fill` stops the maker (a `head` that needs no
/// more rows).
fn read_ahead<'scope, 'env: 'scope>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    mut rows: crate::collect::Rows<'env>,
) -> (
    impl FnMut(&mut Vec<Vec<Cell>>) -> bool + 'scope,
    Maker<'scope>,
) {
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<Vec<Cell>>>(1);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<Vec<Cell>>>();
    for _ in 0..2 {
        let _ = empty_tx.send(Vec::new());
    }
    let maker = scope.spawn(move || {
        while let Ok(mut buf) = empty_rx.recv() {
            if !rows.fill(&mut buf)? || full_tx.send(buf).is_err() {
                break;
            }
        }
        Ok(())
    });
    let fill = move |buf: &mut Vec<Vec<Cell>>| {
        let used = std::mem::take(buf);
        let _ = empty_tx.send(used);
        match full_rx.recv() {
            Ok(next) => {
                *buf = next;
                true
            }
            Err(_) => false,
        }
    };
    (fill, maker)
}

/// The thread making rows; it ends with the error of a result that could
/// not be read back from disk.
type Maker<'scope> = std::thread::ScopedJoinHandle<'scope, std::io::Result<()>>;

/// Times to open an index again when a segment vanished while opening it
/// (a concurrent append's merge).
const OPEN_ATTEMPTS: u32 = 5;

/// Default of [`Engine::set_group_memory`]: a pack runs a search per
/// core, so a few of these at once.
pub const DEFAULT_GROUP_MEMORY: usize = 16 << 20;

/// Rows made and passed through the commands at a time.
const ROWS_PER_CHUNK: usize = 4096;

fn check_tstats(ts: &Tstats) -> Result<(), (String, Span)> {
    let dm = ts.datamodel.trim_matches('"');
    let object = dm.split_whitespace().next().unwrap_or(dm);
    if !object.eq_ignore_ascii_case(DATAMODEL) && !object.eq_ignore_ascii_case("Endpoint") {
        return Err((
            format!("datamodel={dm}: evidx indexes only {DATAMODEL} (Sysmon 1 and Security 4688)"),
            ts.span.clone(),
        ));
    }
    for (k, v) in &ts.options {
        if !KNOWN_OPTIONS.contains(&k.as_str()) {
            return Err((
                format!(
                    "tstats option `{k}={v}` is not supported (evidx supports {})",
                    KNOWN_OPTIONS.join(", ")
                ),
                ts.span.clone(),
            ));
        }
    }
    Ok(())
}
