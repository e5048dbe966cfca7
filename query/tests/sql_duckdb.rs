//! `--emit-sql duckdb` against evidx itself: every shared ESCU detection
//! that evidx runs and every Sigma regression query, compiled to SQL and
//! run in DuckDB over a `processes` table of the same events, gives the
//! CSV `evidx-query --format csv` gives over the index (same header, same
//! rows in the same order, same cells).
//!
//! The table is every event of the index with its full stored values
//! (exported with evidx's own event search), loaded into DuckDB with the
//! Parquet contract's columns and types by `scripts/sql-run-duckdb.py`.
//! DuckDB comes from PyPI (`pip install duckdb`) when it is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// `python3` with the duckdb module, installed from PyPI when missing.
fn ensure_duckdb() {
    let has = |py: &str| {
        Command::new("python3")
            .args(["-c", py])
            .status()
            .is_ok_and(|s| s.success())
    };
    if has("import duckdb") {
        return;
    }
    let ok = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok && has("import duckdb"),
        "the SQL tests need DuckDB for Python: `python3 -m pip install duckdb` failed"
    );
}

fn to_csv_rows(t: &Table) -> Vec<Vec<String>> {
    parse_csv(&to_csv(t))
}

#[test]
fn duckdb_gives_evidx_tables_for_shared_detections() {
    ensure_duckdb();
    let work = scratch("sql-duckdb");
    let mut inputs = vec![shared("datasets")];
    let cases = sigma_cases();
    inputs.extend(cases.iter().map(|c| c.join("events.evtx")));
    let engine = index_and_open(&inputs, &work.join("index"));
    let ndjson = work.join("processes.ndjson");
    let events = export_ndjson(&engine, &ndjson);
    assert!(events > 3_000, "only {events} events exported");

    let macros = escu_macros();
    let sql_dir = work.join("sql");
    std::fs::create_dir_all(&sql_dir).unwrap();
    // (name, evidx's CSV records) of every compiled detection.
    let mut compiled: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    let mut refused: Vec<(String, String)> = Vec::new();
    let mut not_run: Vec<String> = Vec::new();
    let mut searches: Vec<(String, String)> = Vec::new();
    for f in escu_files() {
        let name = format!("escu.{}", f.file_stem().unwrap().to_string_lossy());
        searches.push((name, detection::load(&f).expect("detection").search));
    }
    for case in &cases {
        let name = format!("sigma.{}", case.file_name().unwrap().to_string_lossy());
        searches.push((
            name,
            std::fs::read_to_string(case.join("query.spl")).unwrap(),
        ));
    }
    for (name, search) in &searches {
        let query = match spl::parse_query(search, &macros) {
            Ok(q) => q,
            Err(_) => {
                not_run.push(name.clone());
                continue;
            }
        };
        let Ok(expected) = engine.run(&query) else {
            not_run.push(name.clone());
            continue;
        };
        match compile(&query, Dialect::DuckDb) {
            Ok(sql) => {
                std::fs::write(sql_dir.join(format!("{name}.sql")), sql).unwrap();
                compiled.push((name.clone(), to_csv_rows(&expected)));
            }
            Err(e) => refused.push((name.clone(), e.to_string())),
        }
    }

    let out = work.join("out");
    let status = Command::new("python3")
        .arg(workspace("scripts/sql-run-duckdb.py"))
        .arg("--ndjson")
        .arg(&ndjson)
        .arg("--sql-dir")
        .arg(&sql_dir)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run python3");

    let mut failures = Vec::new();
    let mut matched = 0;
    for (name, expected) in &compiled {
        let csv = out.join(format!("{name}.csv"));
        let Ok(text) = std::fs::read_to_string(&csv) else {
            let err = std::fs::read_to_string(out.join(format!("{name}.err")))
                .unwrap_or_else(|_| "no output".into());
            failures.push(format!("{name}: DuckDB failed: {err}"));
            continue;
        };
        let got = parse_csv(&text);
        if got == *expected {
            matched += 1;
            continue;
        }
        let first_diff = got
            .iter()
            .zip(expected)
            .position(|(g, e)| g != e)
            .unwrap_or(got.len().min(expected.len()));
        failures.push(format!(
            "{name}: DuckDB gave {} records, evidx {}; first difference at record {first_diff}:\n  duckdb: {:?}\n  evidx:  {:?}\n  SQL: {}",
            got.len(),
            expected.len(),
            got.get(first_diff),
            expected.get(first_diff),
            sql_dir.join(format!("{name}.sql")).display()
        ));
    }
    println!(
        "{} searches: {} compiled ({matched} match evidx), {} refused, {} not run by evidx",
        searches.len(),
        compiled.len(),
        refused.len(),
        not_run.len()
    );
    for (name, why) in &refused {
        let first = why.lines().next().unwrap_or_default();
        println!("refused\t{name}\t{first}");
    }
    for name in &not_run {
        println!("not run by evidx\t{name}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(status.success(), "sql-run-duckdb.py failed");
    assert!(
        matched >= MIN_MATCHED,
        "only {matched} detections compile and match (at least {MIN_MATCHED} did)"
    );
}
