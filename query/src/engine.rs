//! The engine: open indexes ([`crate::index_set`]), run a parsed tstats
//! pipeline on them as on one.
//! parse ([`crate::spl`]) -> plan ([`crate::plan`]) -> collect
//! ([`crate::collect`]) -> commands ([`crate::commands`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use evidx_schema::terms::fold_case;
use evidx_schema::EvidxSchema;

use crate::collect::{CollectError, GroupBy};
use crate::commands::PostError;
use crate::events::EventRows;
use crate::index_set::{self, OpenError, OpenIndex};
use crate::lookups::LookupStore;
use crate::necessary::Needed;
use crate::plan::{plan, PlanError};
use crate::resolve::SubsearchLimits;
use crate::spl::ast::{ByField, SearchExpr, Span, Tstats, Value};
use crate::spl::{self, MacroSet, SplError};
use crate::table::{Cell, RowSink, Table};
use crate::time_range::TimeWindow;
use crate::value_filters::ValueFilters;

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

impl From<OpenError> for QueryError {
    fn from(OpenError { path, reason }: OpenError) -> Self {
        QueryError::Index { path, reason }
    }
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

/// Open evidx indexes, searched as one.
pub struct Engine {
    /// In search order: command-line order, then each index's segments.
    indexes: Vec<OpenIndex>,
    schema: EvidxSchema,
    /// The time range every search (and subsearch) is restricted to.
    window: TimeWindow,
    pushdown: bool,
    /// Whether group-bys that allow it merge on term ordinals.
    ordinal_groups: bool,
    /// Threads that search the segments of one search: one per core for a
    /// single search; one in a pack, whose detections already run in
    /// parallel.
    segment_threads: usize,
    /// The lookups that `lookup` and `inputlookup` read.
    lookups: LookupStore,
    /// Heap bytes a search's group table may take before it spills to
    /// disk.
    group_memory: usize,
    /// Where the value filters of the indexes' segments are.
    value_filters: Arc<ValueFilters>,
    subsearch_limits: SubsearchLimits,
}

impl Engine {
    /// Open one index, or a folder of indexes (see [`Engine::open_all`]).
    pub fn open(dir: &Path) -> Result<Self, QueryError> {
        Self::open_all(&[dir.to_path_buf()], TimeWindow::default())
    }

    /// Open the indexes of `paths` (indexes, or folders of indexes) to be
    /// searched as one, within `window`: an index whose manifest time
    /// range misses the window is not opened ([`crate::index_set`]).
    pub fn open_all(paths: &[PathBuf], window: TimeWindow) -> Result<Self, QueryError> {
        let indexes = index_set::open_all(paths, &window)?;
        // With every index outside the window, searches find nothing.
        let schema = indexes
            .first()
            .map_or_else(EvidxSchema::build, |i| i.schema.clone());
        let segment_threads = std::thread::available_parallelism().map_or(1, usize::from);
        let value_filters = Arc::new(ValueFilters::new(
            indexes.iter().map(|i| i.dir.clone()).collect(),
        ));
        Ok(Engine {
            value_filters,
            indexes,
            schema,
            window,
            pushdown: true,
            ordinal_groups: true,
            segment_threads,
            lookups: LookupStore::new(),
            group_memory: DEFAULT_GROUP_MEMORY,
            subsearch_limits: SubsearchLimits::default(),
        })
    }

    /// The directories of the indexes opened, in search order.
    pub fn index_dirs(&self) -> Vec<&Path> {
        self.indexes.iter().map(|i| i.dir.as_path()).collect()
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

    /// Let group-bys by text fields and `_time` merge on ordinals (see
    /// [`crate::collect`]), or make every group-by merge on the values'
    /// text. It never changes an answer; off is for tests that prove so.
    pub fn set_ordinal_groups(&mut self, on: bool) {
        self.ordinal_groups = on;
    }

    /// Heap bytes a search's group table may take before it spills to disk
    /// (sorted runs in unnamed temporary files, merged as the result is
    /// read); the answer is the same.
    pub fn set_group_memory(&mut self, bytes: usize) {
        self.group_memory = bytes;
    }

    /// The rows of a subsearch's result that are used (Splunk's limits by
    /// default).
    pub fn set_subsearch_limits(&mut self, limits: SubsearchLimits) {
        self.subsearch_limits = limits;
    }

    /// Search the segments of one search one at a time (for callers that
    /// run several searches in parallel).
    pub fn set_sequential_segments(&mut self) {
        self.segment_threads = 1;
    }

    /// Number of indexed process events (in the indexes opened).
    pub fn num_docs(&self) -> u64 {
        self.indexes
            .iter()
            .map(|i| i.reader.searcher().num_docs())
            .sum()
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
    /// the number of rows. Warnings (a subsearch cut to Splunk's limit) go
    /// to stderr.
    pub fn run_into(&self, query: &spl::Query, sink: &mut dyn RowSink) -> Result<u64, QueryError> {
        self.run_reporting(query, sink, &|w| eprintln!("evidx-query: warning: {w}"))
    }

    /// [`Engine::run_into`], with the warnings given to `warn`.
    pub fn run_reporting(
        &self,
        query: &spl::Query,
        sink: &mut dyn RowSink,
        warn: &dyn Fn(String),
    ) -> Result<u64, QueryError> {
        let unsupported = |message: String, span: Span| QueryError::Unsupported {
            message,
            span,
            text: query.text.clone(),
        };
        // Every data model and tstats option is checked before anything
        // runs: a subsearch over all processes is not worth running for a
        // search that will be refused.
        for ts in query.pipeline.all_tstats() {
            check_tstats(ts).map_err(|(m, s)| unsupported(m, s))?;
        }
        // Subsearches run and lookups load first (`resolve.rs`).
        let resolved = crate::resolve::Resolver {
            lookups: &self.lookups,
            run_tstats: &|q: &spl::Query| {
                let mut table = Table::default();
                self.run_reporting(q, &mut table, warn).map(|_| table)
            },
            error: &|message, span| unsupported(message, span),
            limits: self.subsearch_limits,
            warn,
        }
        .resolve(query)?;
        let query = &resolved;
        let ts = &query.pipeline.tstats;
        // `earliest=`/`latest=` in the where clause narrow the time range.
        let (filter, window) = crate::time_modifiers::take(ts.filter.as_ref(), Utc::now())
            .map_err(|e| unsupported(e.message, e.span))?;
        // Filters after tstats that depend on one by-field run inside the
        // collector (`pushdown.rs`); when they need a substring of a field
        // with trigrams and the tstats reads every event, the values that
        // hold it are found first (`necessary.rs`).
        let collector = GroupBy::new(&ts.by, &ts.aggs, ts.fillnull_value());
        let pushed = match self.pushdown && ts.events.is_none() {
            true => crate::pushdown::analyze(&collector, &query.pipeline.commands),
            false => Default::default(),
        };
        let narrowed = match &filter {
            None => self.narrowing(&collector, ts, &pushed.needed),
            Some(_) => None,
        };
        let filter = narrowed.or(filter);
        let q = plan(filter.as_ref(), &self.schema, &self.value_filters)
            .map_err(|PlanError { message, span }| unsupported(message, span))?;
        let q = self.window.within(&window).restrict(q, self.schema.time);
        let parts = index_set::parts(&self.indexes, &*q)?;
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
            let mut rows = EventRows::new(parts, &self.schema, naming);
            let columns = rows.columns();
            let fill = |buf: &mut Vec<Vec<Cell>>| rows.fill(buf, ROWS_PER_CHUNK);
            let n =
                crate::commands::run_chunked(columns, &[], fill, &query.pipeline.commands, sink)
                    .map_err(post_error)?;
            return match rows.take_error() {
                Some(e) => Err(e.into()),
                None => Ok(n),
            };
        }
        let collector = collector
            .with_filters(pushed.filters)
            .with_ordinals(self.ordinal_groups);
        let groups = collector.collect(&parts, self.segment_threads, self.group_memory)?;
        let rows = collector.rows(groups, ROWS_PER_CHUNK);
        let columns = collector.columns();
        let key = collector.by_columns().to_vec();
        let commands = &query.pipeline.commands;
        // Rows are made on a second thread while the commands and the sink
        // take the previous chunk: for a wide result, making rows and
        // writing them cost about the same.
        std::thread::scope(|scope| {
            let (fill, maker) = read_ahead(scope, rows);
            let n = crate::commands::run_chunked(columns, &key, fill, commands, sink)
                .map_err(post_error);
            // The maker stops once `fill` is gone; a result it could not
            // read back from disk is an error even if the commands ended.
            match maker.join() {
                Ok(Err(e)) => Err(CollectError::Spill(e).into()),
                _ => n,
            }
        })
    }

    /// The `where` that finds first the values a pushed filter needs
    /// (`necessary.rs`): `by IN ("*literal*", ...)` on the by-field whose
    /// condition is the most selective, if it has trigrams. Only for a
    /// tstats that reads every event: a `where` of its own usually finds
    /// fewer events than a common literal would. With `fillnull_value`,
    /// an event without the field is grouped under that value: only when
    /// the value lacks every literal (so fails the filter) may such events
    /// be left out.
    fn narrowing(&self, collector: &GroupBy, ts: &Tstats, needed: &[Needed]) -> Option<SearchExpr> {
        let fill = ts.fillnull_value().map(fold_case);
        let best = (needed.iter())
            .filter(|n| {
                let cim = collector.by_cim(n.by);
                cim.is_some_and(|c| self.schema.gram_field(c).is_some())
            })
            .filter(|n| {
                let holds = |f: &String| n.literals.iter().any(|l| f.contains(&fold_case(l)));
                !fill.as_ref().is_some_and(holds)
            })
            .cloned()
            .reduce(Needed::better)?;
        let ByField::Field(field) = ts.by.get(best.by)? else {
            return None;
        };
        Some(SearchExpr::In {
            field: field.clone(),
            values: (best.globs().into_iter())
                .map(|text| Value { text, quoted: true })
                .collect(),
            span: 0..0,
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
