//! `evidx-query`: the command line. Argument handling and exit codes live
//! here; parsing, planning and execution are in the library.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use evidx_query::commands::PostError;
use evidx_query::detection;
use evidx_query::render::{self, Format};
use evidx_query::resolve::SubsearchLimits;
use evidx_query::spl::{self, MacroSet};
use evidx_query::time_range::TimeWindow;
use evidx_query::Engine;

const EXIT_OK: u8 = 0;
const EXIT_ERROR: u8 = 1;
const EXIT_BAD_QUERY: u8 = 3;
const EXIT_PACK_PARTIAL: u8 = 4;

#[derive(Copy, Clone, Debug, ValueEnum)]
enum OutFormat {
    Table,
    Csv,
    Json,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum SqlDialect {
    Duckdb,
    Spark,
}

#[derive(Parser, Debug)]
#[command(
    name = "evidx-query",
    version,
    about = "Run Splunk tstats detections (ESCU, Sigma) over an evidx index.",
    long_about = "Run Splunk `tstats ... from datamodel=Endpoint.Processes` searches, as \
written in Splunk ESCU or converted from Sigma, over an index built by evidx-index, \
and print the table Splunk would give.\n\n\
The search language follows Splunk: values match case-insensitively, `*` is a \
wildcard anywhere, OR binds tighter than AND in the tstats where clause (AND before OR \
in `| where`), `f!=v` needs the field to exist while `NOT f=v` does not. After tstats: \
rename, convert ctime, where, eval, search (with subsearches), regex, table, fields, sort, \
head, lookup, rex, stats, eventstats, streamstats, makemv, mvexpand, dedup, fillnull, \
join and transaction. ESCU macros come from --macros and lookups from --lookups; \
drop_dm_object_name, security_content_summariesonly, security_content_ctime and *_filter \
are built in. MLTK `apply`/`fit` are refused: their models exist only in Splunk.\n\n\
`source` (the file, path!member in an archive), `sourcetype` and `host` work in where and by. \
A field the data model does not have matches nothing, as in Splunk, and is named in a warning \
on stderr.\n\n\
From a hit to its events: `| from datamodel:Endpoint.Processes | search FIELD=VALUE ...` (or \
`| datamodel Endpoint Processes search | search ...`) gives one row per event, with every CIM \
field, _time, source, sourcetype and what opens the original record: evidx_record_id, \
evidx_chunk (EVTX chunk number) and evidx_offset (byte offset of the record or line).\n\n\
Many indexes as one: repeat -i, or give a folder of indexes (one without meta.json whose \
subfolders are indexes); every aggregate and event search merges exactly. --earliest and \
--latest restrict a search (and its subsearches) to a time range, earliest inclusive and \
latest exclusive, as in Splunk; indexes whose time range (from their manifest.json) lies \
outside it are not opened.",
    after_help = "EXIT STATUS:\n  0  the search (or every detection of --pack) ran\n  \
1  error: the index cannot be opened, a file cannot be read, --pack names no \
detections\n  \
2  bad command line (unknown option, missing value)\n  \
3  the query is invalid or uses SPL that evidx does not support (the message points at it)\n  \
4  --pack: some detections were unsupported or failed; the others ran\n\n\
EXAMPLES:\n  evidx-query -i hunt.idx '| tstats count from datamodel=Endpoint.Processes \
where Processes.process_name=powershell.exe by Processes.dest'\n  \
evidx-query -i hunt.idx --macros escu/macros --file escu/detections/endpoint/x.yml\n  \
evidx-query -i hunt.idx --macros escu/macros --pack escu/detections --out results/\n  \
evidx-query -i hunt.idx --format json '| from datamodel:Endpoint.Processes \
| search Processes.process_name=powershell.exe Processes.dest=WS01 | head 10'\n  \
evidx-query -i nightly/ --earliest -7d@d --latest @d --macros escu/macros --pack escu/detections"
)]
struct Args {
    /// An index directory written by evidx-index, or a folder of them (a
    /// folder without meta.json whose subfolders hold indexes). Repeat -i
    /// to search several indexes as one; the table is the one a single
    /// index of all their inputs gives.
    #[arg(
        short = 'i',
        long = "index",
        value_name = "INDEX_DIR",
        required_unless_present = "emit_sql"
    )]
    index: Vec<PathBuf>,

    /// Search only events at or after this time (Splunk time modifier, in
    /// UTC): `-7d@d`, `-24h`, `@d`, `now`, `-1mon@mon`, `2024-01-31T12:00:00`,
    /// `01/31/2024:12:00:00`, or epoch seconds. Indexes whose manifest time
    /// range ends before it are not opened.
    #[arg(long, value_name = "TIME", value_parser = time_modifier, allow_hyphen_values = true)]
    earliest: Option<String>,

    /// Search only events before this time (exclusive; same forms as
    /// --earliest).
    #[arg(long, value_name = "TIME", value_parser = time_modifier, allow_hyphen_values = true)]
    latest: Option<String>,

    /// Print the search as one SQL statement over a table or view named
    /// `processes` with the columns of evidx's Parquet output, instead of
    /// running it; the SQL gives the table this command gives.
    #[arg(long, value_enum, value_name = "DIALECT", conflicts_with = "pack")]
    emit_sql: Option<SqlDialect>,

    /// The search, e.g. '| tstats count from datamodel=Endpoint.Processes by Processes.dest'.
    #[arg(value_name = "SPL", conflicts_with_all = ["file", "pack"], required_unless_present_any = ["file", "pack"])]
    spl: Option<String>,

    /// Read the search from a .spl file or an ESCU detection YAML (its `search:`).
    #[arg(short, long, value_name = "FILE", conflicts_with = "pack")]
    file: Option<PathBuf>,

    /// Run every detection (.yml/.yaml/.spl) under DIR, recursively.
    #[arg(long, value_name = "DIR")]
    pack: Option<PathBuf>,

    /// With --pack: write each result to DIR/<detection>.csv, <detection> the file's stem, or its
    /// path under the pack with `/` as `.` when stems collide (`endpoint.x`). A detection that does
    /// not run leaves no CSV.
    #[arg(long, value_name = "DIR", requires = "pack")]
    out: Option<PathBuf>,

    /// ESCU macro YAMLs (name, definition, arguments), searched recursively.
    #[arg(short, long, value_name = "DIR")]
    macros: Option<PathBuf>,

    /// ESCU lookup YAMLs with their CSVs, for `lookup` and `inputlookup`
    /// [default: the `lookups` folder next to --macros, when there is one].
    #[arg(long, value_name = "DIR")]
    lookups: Option<PathBuf>,

    /// Output format [default: table on a terminal, csv otherwise].
    #[arg(long, value_enum)]
    format: Option<OutFormat>,

    /// Memory (MiB) a search's group tables may take; a larger result is
    /// sorted into temporary files (in TMPDIR) and merged as it is written.
    /// The answer does not change. With --pack, one search per core runs
    /// at a time, and they share this memory.
    #[arg(long, value_name = "MIB", default_value_t = evidx_query::engine::DEFAULT_GROUP_MEMORY >> 20)]
    group_memory: usize,

    /// Rows of a subsearch's result that are used, as Splunk's `maxout`
    /// (a `join` subsearch: 5 times as many, Splunk's 50,000); the rest are
    /// dropped with a warning. 0 uses every row.
    #[arg(long, value_name = "ROWS", default_value_t = 10_000)]
    subsearch_maxout: usize,
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("evidx-query: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run() -> anyhow::Result<u8> {
    // One heap arena per thread that searches or writes: the collector
    // threads (one per core), this one and the printing thread. glibc's
    // default, eight per core, left the memory finished searches freed
    // spread over many (see `memory`); two made the collector threads wait
    // on each other's allocator lock (a group-by whose pushed-down `eval`
    // allocates per value took three times as long in one run out of two).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    evidx_query::memory::limit_arenas(i32::try_from(cores + 2).unwrap_or(i32::MAX));
    let args = Args::parse();
    let macros = match &args.macros {
        Some(dir) => MacroSet::load_dir(dir)?,
        None => MacroSet::builtin(),
    };
    let format = match args.format {
        Some(OutFormat::Table) => Format::Table,
        Some(OutFormat::Csv) => Format::Csv,
        Some(OutFormat::Json) => Format::Json,
        None if std::io::stdout().is_terminal() => Format::Table,
        None => Format::Csv,
    };
    if let Some(dialect) = args.emit_sql {
        return emit_sql(&args, &macros, dialect);
    }
    if args.index.is_empty() {
        anyhow::bail!("give the index with -i INDEX_DIR");
    }
    let now = chrono::Utc::now();
    let window = TimeWindow::parse(args.earliest.as_deref(), args.latest.as_deref(), now)?;
    let mut engine = Engine::open_all(&args.index, window)?;
    let group_memory = args.group_memory.saturating_mul(1 << 20);
    engine.set_group_memory(group_memory);
    engine.set_subsearch_limits(SubsearchLimits::maxout(args.subsearch_maxout));
    if let Some(store) = lookup_store(&args)? {
        engine.set_lookups(store);
    }
    if let Some(dir) = &args.pack {
        // Detections run in parallel, one per core, each one's segments in
        // turn; the group memory is theirs together, so a pack takes what
        // one search does, however many cores run it.
        engine.set_sequential_segments();
        engine.set_group_memory(group_memory / rayon::current_num_threads().max(1));
        return pack(&engine, &macros, dir, args.out.as_deref());
    }
    let text = match (&args.spl, &args.file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => detection::load(f)?.search,
        (None, None) => anyhow::bail!("give a search, --file or --pack"),
    };
    // Buffered: stdout is line-buffered, one write per row otherwise.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let ran = spl::parse_query(&text, &macros)
        .map_err(evidx_query::QueryError::Spl)
        .inspect(|query| {
            for w in evidx_query::lint::warnings(&query.pipeline) {
                eprintln!("evidx-query: warning: {w}");
            }
        })
        .and_then(|query| match format {
            // The aligned table needs every row for its column widths.
            Format::Table => engine.run(&query).and_then(|table| {
                render::render(&table, format, &mut out)
                    .map(|_| 0)
                    .map_err(|e| PostError::Write(e.to_string()).into())
            }),
            _ => engine.run_into(&query, &mut render::Streaming::new(format, &mut out)),
        });
    match ran {
        Ok(_) => {
            out.flush()?;
            Ok(EXIT_OK)
        }
        Err(e) if e.is_query_error() => {
            eprintln!("{e}");
            Ok(EXIT_BAD_QUERY)
        }
        Err(e) => Err(e.into()),
    }
}

/// Check a `--earliest`/`--latest` value (it is evaluated once the
/// command line is read).
fn time_modifier(text: &str) -> Result<String, String> {
    evidx_query::time_range::parse_time(text, chrono::Utc::now())
        .map(|_| text.to_string())
        .map_err(|e| e.reason)
}

/// The lookups of `--lookups DIR`, or of the `lookups` folder beside
/// `--macros` (read when a search first needs one).
fn lookup_store(args: &Args) -> anyhow::Result<Option<evidx_query::lookups::LookupStore>> {
    let dir = args.lookups.clone().or_else(|| {
        let dir = args.macros.as_ref()?.parent()?.join("lookups");
        dir.is_dir().then_some(dir)
    });
    match dir {
        Some(dir) if !dir.is_dir() => anyhow::bail!("--lookups {}: no such folder", dir.display()),
        Some(dir) => Ok(Some(evidx_query::lookups::LookupStore::later(&dir))),
        None => Ok(None),
    }
}

/// `--emit-sql`: compile the search and print the statement (a `lookup`'s
/// rows are written into it).
fn emit_sql(args: &Args, macros: &MacroSet, dialect: SqlDialect) -> anyhow::Result<u8> {
    let text = match (&args.spl, &args.file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => detection::load(f)?.search,
        (None, None) => anyhow::bail!("give a search or --file"),
    };
    let dialect = match dialect {
        SqlDialect::Duckdb => evidx_query::sql::Dialect::DuckDb,
        SqlDialect::Spark => evidx_query::sql::Dialect::Spark,
    };
    let lookups = lookup_store(args)?.unwrap_or_default();
    let compiled = spl::parse_query(&text, macros)
        .map_err(evidx_query::QueryError::Spl)
        .and_then(|q| {
            evidx_query::sql::compile(&evidx_query::sql::with_lookups(&q, &lookups), dialect)
        });
    match compiled {
        Ok(sql) => {
            print!("{sql}");
            Ok(EXIT_OK)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(EXIT_BAD_QUERY)
        }
    }
}

/// Run every detection under `dir` (in parallel); one summary line each,
/// in file order.
fn pack(engine: &Engine, macros: &MacroSet, dir: &Path, out: Option<&Path>) -> anyhow::Result<u8> {
    if !dir.is_dir() {
        anyhow::bail!(
            "--pack {}: no such folder (give the folder of the detection files, e.g. escu/detections)",
            dir.display()
        );
    }
    let files = evidx_query::pack::detection_files(dir);
    if files.is_empty() {
        anyhow::bail!(
            "--pack {}: no detection files (.yml, .yaml, .spl) under this folder",
            dir.display()
        );
    }
    if let Some(o) = out {
        std::fs::create_dir_all(o).with_context(|| format!("creating {}", o.display()))?;
    }
    let items = evidx_query::pack::run(engine, macros, dir, &files, out);
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let mut failed = 0;
    for item in &items {
        let ms = item.elapsed.as_secs_f64() * 1e3;
        match &item.outcome {
            Ok(rows) => writeln!(w, "ok\t{}\t{rows} rows\t{ms:.1} ms", item.name)?,
            Err(reason) => {
                failed += 1;
                writeln!(w, "unsupported\t{}\t-\t-\t{reason}", item.name)?;
            }
        }
    }
    writeln!(
        w,
        "{} ran, {failed} unsupported or failed, of {} detections",
        items.len() - failed,
        items.len()
    )?;
    Ok(if failed == 0 {
        EXIT_OK
    } else {
        EXIT_PACK_PARTIAL
    })
}
