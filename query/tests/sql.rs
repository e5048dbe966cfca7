//! `--emit-sql duckdb` against evidx itself: every shared ESCU detection
//! that evidx runs and every Sigma regression query, compiled to SQL and
//! run in DuckDB over a `processes` table of the same events, gives the
//! CSV `evidx-query --format csv` gives over the index (same header, same
//! rows in the same order, same cells).
//!
//! The table is every event of the index with its full stored values
//! (exported with evidx's own event search), loaded into DuckDB with the
//! Parquet contract's columns and types by `scripts/sql-run-duckdb.py`
//! (`scripts/sql-run-spark.py` for `--emit-sql spark`). DuckDB and PySpark
//! come from PyPI when they are missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use evidx_query::sql::{compile, Dialect};
use evidx_query::table::Table;
use evidx_query::{detection, spl, Engine};

/// Compiled and matching detections must not fall below this (the count
/// when the test was written: a regression in the compiler shows here).
const MIN_MATCHED: usize = 70;

/// The ESCU detection files (the main set and the post-command set).
fn escu_files() -> Vec<PathBuf> {
    let mut files = yamls(&shared("escu/detections"));
    files.extend(yamls(&shared("escu/post-commands/detections")));
    files
}

fn sigma_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(shared("sigma-regression"))
        .expect("../shared/sigma-regression")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("query.spl").exists() && p.join("events.evtx").exists())
        .collect();
    cases.sort();
    cases
}

/// Every event of the index as NDJSON with the contract's columns
/// (`_time` as epoch microseconds in `_time_us`); returns the row count.
fn export_ndjson(engine: &Engine, out: &Path) -> usize {
    let t = engine
        .run_text(
            "| from datamodel:Endpoint.Processes",
            &spl::MacroSet::builtin(),
        )
        .expect("export the events");
    let mut text = String::new();
    for row in &t.rows {
        let mut obj = serde_json::Map::new();
        for (name, cell) in t.columns.iter().zip(row) {
            let bare = name.strip_prefix("Processes.").unwrap_or(name);
            let key = match bare {
                "_time" => "_time_us",
                "source" => "evidx_source",
                other => other,
            };
            let value = match (key, cell.first()) {
                (_, None) => serde_json::Value::Null,
                ("_time_us", Some(v)) => micros(v).into(),
                (k, Some(v))
                    if k.starts_with("evidx_") && k != "evidx_source" && k != "evidx_channel" =>
                {
                    v.parse::<i64>().expect("a provenance number").into()
                }
                (_, Some(v)) => v.into(),
            };
            obj.insert(key.to_string(), value);
        }
        text.push_str(&serde_json::Value::Object(obj).to_string());
        text.push('\n');
    }
    std::fs::write(out, text).expect("write NDJSON");
    t.rows.len()
}

/// evidx's event `_time` text (`secs` or `secs.frac`) as microseconds.
fn micros(text: &str) -> i64 {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.parse().expect("time seconds");
    let frac: i64 = format!("{frac:0<6}").parse().expect("time fraction");
    secs * 1_000_000 + frac
}

/// `python3` with `module`, installed from PyPI (`package`) when missing.
fn ensure_python_module(module: &str, package: &str) {
    let has = |py: &str| {
        Command::new("python3")
            .args(["-c", py])
            .status()
            .is_ok_and(|s| s.success())
    };
    let import = format!("import {module}");
    if has(&import) {
        return;
    }
    let ok = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", package])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok && has(&import),
        "the SQL tests need {module} for Python: `python3 -m pip install {package}` failed"
    );
}

/// An engine to run compiled SQL in: its dialect and its runner script.
#[derive(Clone, Copy)]
struct Runner {
    dialect: Dialect,
    script: &'static str,
}

const DUCKDB: Runner = Runner {
    dialect: Dialect::DuckDb,
    script: "scripts/sql-run-duckdb.py",
};

const SPARK: Runner = Runner {
    dialect: Dialect::Spark,
    script: "scripts/sql-run-spark.py",
};

fn to_csv_rows(t: &Table) -> Vec<Vec<String>> {
    parse_csv(&to_csv(t))
}

/// The index of `../shared/datasets` and the Sigma cases, and its events
/// as NDJSON, made once for the test binary.
struct Fixture {
    engine: Engine,
    ndjson: PathBuf,
    work: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        ensure_python_module("duckdb", "duckdb");
        let work = scratch("sql-duckdb");
        let mut inputs = vec![shared("datasets")];
        inputs.extend(sigma_cases().iter().map(|c| c.join("events.evtx")));
        let mut engine = index_and_open(&inputs, &work.join("index"));
        engine.set_lookups(
            evidx_query::lookups::LookupStore::load_dir(&shared("escu/lookups")).expect("lookups"),
        );
        let ndjson = work.join("processes.ndjson");
        let events = export_ndjson(&engine, &ndjson);
        assert!(events > 3_000, "only {events} events exported");
        Fixture {
            engine,
            ndjson,
            work,
        }
    })
}

/// What became of a set of searches.
#[derive(Default)]
struct Outcome {
    compiled: usize,
    matched: usize,
    refused: Vec<(String, String)>,
    not_run: Vec<String>,
    failures: Vec<String>,
}

/// Compile each `(name, search)` for the runner's dialect, run the SQL
/// there and compare its CSV with evidx's over the index.
fn diff(set: &str, searches: &[(String, String)], runner: Runner) -> Outcome {
    let fx = fixture();
    let macros = escu_macros();
    let sql_dir = fx.work.join(set).join("sql");
    let out = fx.work.join(set).join("out");
    std::fs::create_dir_all(&sql_dir).unwrap();
    let mut o = Outcome::default();
    // (name, evidx's CSV records) of every compiled search.
    let mut expected: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    for (name, search) in searches {
        let Ok(query) = spl::parse_query(search, &macros) else {
            o.not_run.push(name.clone());
            continue;
        };
        let Ok(table) = fx.engine.run(&query) else {
            o.not_run.push(name.clone());
            continue;
        };
        match compile(&query, runner.dialect) {
            Ok(sql) => {
                std::fs::write(sql_dir.join(format!("{name}.sql")), sql).unwrap();
                expected.push((name.clone(), to_csv_rows(&table)));
            }
            Err(e) => o.refused.push((name.clone(), e.to_string())),
        }
    }
    o.compiled = expected.len();
    let status = Command::new("python3")
        .arg(workspace(runner.script))
        .arg("--ndjson")
        .arg(&fx.ndjson)
        .arg("--sql-dir")
        .arg(&sql_dir)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run python3");
    for (name, want) in &expected {
        let Ok(text) = std::fs::read_to_string(out.join(format!("{name}.csv"))) else {
            let err = std::fs::read_to_string(out.join(format!("{name}.err")))
                .unwrap_or_else(|_| format!("no output (sql-run-duckdb.py: {status})"));
            o.failures
                .push(format!("{name}: the SQL engine failed: {err}"));
            continue;
        };
        let got = parse_csv(&text);
        if got == *want {
            o.matched += 1;
            continue;
        }
        let at = got
            .iter()
            .zip(want)
            .position(|(g, e)| g != e)
            .unwrap_or(got.len().min(want.len()));
        o.failures.push(format!(
            "{name}: SQL gave {} records, evidx {}; first difference at record {at}:\n  sql:   {:?}\n  evidx: {:?}\n  SQL: {}",
            got.len(),
            want.len(),
            got.get(at),
            want.get(at),
            sql_dir.join(format!("{name}.sql")).display()
        ));
    }
    println!(
        "{set}: {} searches, {} compiled ({} match evidx), {} refused, {} not run by evidx",
        searches.len(),
        o.compiled,
        o.matched,
        o.refused.len(),
        o.not_run.len()
    );
    for (name, why) in &o.refused {
        let first = why.lines().next().unwrap_or_default();
        println!("refused\t{name}\t{first}");
    }
    for name in &o.not_run {
        println!("not run by evidx\t{name}");
    }
    o
}

/// The shared ESCU detections and the Sigma regression queries.
fn shared_searches() -> Vec<(String, String)> {
    let mut searches: Vec<(String, String)> = Vec::new();
    for f in escu_files() {
        let name = format!("escu.{}", f.file_stem().unwrap().to_string_lossy());
        searches.push((name, detection::load(&f).expect("detection").search));
    }
    for case in sigma_cases() {
        let name = format!("sigma.{}", case.file_name().unwrap().to_string_lossy());
        searches.push((
            name,
            std::fs::read_to_string(case.join("query.spl")).unwrap(),
        ));
    }
    searches
}

#[test]
fn duckdb_gives_evidx_tables_for_shared_detections() {
    let o = diff("shared", &shared_searches(), DUCKDB);
    assert!(o.failures.is_empty(), "{}", o.failures.join("\n"));
    assert!(
        o.matched >= MIN_MATCHED,
        "only {} detections compile and match (at least {MIN_MATCHED} did)",
        o.matched
    );
}

/// Searches aimed at the semantics that are easy to get wrong in SQL:
/// LIKE metacharacters and backslashes in globs, a literal `\*`, `!=`
/// against `NOT`, fields the model lacks, fillnull, `_time` spans and
/// aggregates, the empty result, multi-values in `search` and `where`,
/// numbers against text.
fn edge_searches() -> Vec<(String, String)> {
    let ts = "| tstats count from datamodel=Endpoint.Processes";
    let fill = "| tstats fillnull_value=null count from datamodel=Endpoint.Processes";
    let mv = "| tstats count values(Processes.user) as user dc(Processes.process) as procs min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes";
    let cases: Vec<String> = vec![
        format!("{ts} where Processes.process=\"*%*\" by Processes.process"),
        format!("{ts} where Processes.process_name=\"*_*\" by Processes.process_name"),
        format!("{ts} where Processes.process_path=\"*\\\\Windows\\\\*\" by Processes.process_path"),
        format!("{ts} where Processes.process=\"*\\**\" by Processes.process"),
        format!("{ts} where Processes.process=\"*&gt;*\" by Processes.process"),
        format!("{fill} where NOT Processes.original_file_name=\"*.exe\" by Processes.original_file_name Processes.process_name"),
        format!("{fill} where Processes.original_file_name!=\"*.exe\" by Processes.original_file_name Processes.process_name"),
        format!("{fill} where NOT Processes.nosuch=x by Processes.nosuch sourcetype"),
        format!("{ts} where Processes.nosuch!=x by Processes.dest"),
        format!("{ts} where Processes.process_name IN (cmd.exe, \"power*\", \"*.EXE\") OR Processes.user=\"*system*\" by Processes.process_name"),
        format!("{ts} where Processes.process_name=cmd.exe OR Processes.process_name=powershell.exe Processes.user=* by Processes.user Processes.process_name"),
        "| tstats count values(_time) as t dc(_time) as dt count(Processes.user) as users earliest(_time) as e latest(_time) as l from datamodel=Endpoint.Processes by _time span=1d sourcetype".into(),
        "| tstats count from datamodel=Endpoint.Processes where _time>1600000000 _time<=1700000000.5 by _time span=1h".into(),
        "| tstats count dc(Processes.user) values(Processes.user) min(_time) from datamodel=Endpoint.Processes where Processes.process_name=no-such-process".into(),
        format!("{ts} where source=\"*.evtx\" by sourcetype Processes.host"),
        format!("{mv} by Processes.process_name | search count>5 | search user!=*SYSTEM* | convert ctime(firstTime) | convert timeformat=\"%d.%m.%Y %H-%M\" ctime(lastTime) as last"),
        format!("{mv} by Processes.process_name | search count=1 user=\"*a*\" OR procs<3 | head 7"),
        format!("{mv} by Processes.process_name | rename Processes.* as * | where count > 2 AND NOT process_name=\"cmd.exe\" AND 100 >= procs | table process_name nosuch count user"),
        format!("{mv} by Processes.process_name | rename Processes.* as *, count as n | where match(process_name, \"(?i)^(cmd|power)\\S*\\.exe$\") OR like(process_name, \"%.com\") | fields - firstTime"),
        format!("{mv} by Processes.process_name Processes.dest | rename Processes.* as * | regex user!=\"(?i)system\" | regex process_name=\"\\d\" | fillnull value=NA nosuch user"),
        format!("{mv} by Processes.dest | search \"*cmd*\" | where isnull(nosuch) AND isnotnull(user) AND firstTime <= 1800000000"),
        format!("{ts} by Processes.process_id | rename Processes.* as * | search process_id=4* OR Processes.process_id>1000 | where process_id < \"2\""),
    ];
    cases
        .into_iter()
        .enumerate()
        .map(|(i, s)| (format!("edge{i:02}"), s))
        .collect()
}

#[test]
fn duckdb_gives_evidx_tables_for_edge_cases() {
    let o = diff("edge", &edge_searches(), DUCKDB);
    assert!(o.failures.is_empty(), "{}", o.failures.join("\n"));
    assert!(o.refused.is_empty(), "refused: {:?}", o.refused);
    assert!(o.not_run.is_empty(), "evidx did not run: {:?}", o.not_run);
}

/// The same searches as Spark SQL, run by PySpark in `local[2]` (two
/// executor threads; PySpark from PyPI on the machine's Java 17). One
/// heavy test: Spark takes minutes where DuckDB takes seconds.
#[test]
fn spark_gives_evidx_tables() {
    let java = Command::new("java").arg("-version").output();
    assert!(
        java.is_ok_and(|o| o.status.success()),
        "the Spark test needs Java (17) on PATH"
    );
    ensure_python_module("pyspark", "pyspark==3.5.*");
    let mut searches = shared_searches();
    searches.extend(edge_searches());
    let o = diff("spark", &searches, SPARK);
    assert!(o.failures.is_empty(), "{}", o.failures.join("\n"));
    assert!(
        o.matched >= MIN_MATCHED,
        "only {} searches compile and match in Spark (at least {MIN_MATCHED} did)",
        o.matched
    );
}
