//! The Sigma regression cases of `../shared/sigma-regression`: each case's
//! `query.spl` (pySigma's Splunk `data_model` output) finds its positive
//! events in `events.evtx` and in `events.json` indexed separately, and both
//! give the same table, up to the trailing spaces the JSON export trimmed.

mod common;

use std::path::PathBuf;

use common::*;
use evidx_query::spl::MacroSet;
use evidx_query::table::Table;

/// `(case, CIM field)` pairs whose value the JSON export of the Sigma
/// regression data changed (it trimmed trailing spaces), from
/// `datasets/fixtures/sigma-json-export-differences.tsv`.
fn export_trimmed_trailing_space() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets/fixtures/sigma-json-export-differences.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((cols.next()?.to_string(), cols.next()?.to_string()))
        })
        .collect()
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(shared("sigma-regression"))
        .expect("../shared/sigma-regression")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("query.spl").exists())
        .collect();
    cases.sort();
    cases
}

/// Index one file alone into a fresh directory and run the case's query.
fn run_on(case: &std::path::Path, file: &str, macros: &MacroSet, tmp: &std::path::Path) -> Table {
    let name = case.file_name().unwrap().to_string_lossy();
    let dir = tmp.join(format!("{name}.{file}"));
    let engine = index_and_open(&[case.join(file)], &dir);
    let spl = std::fs::read_to_string(case.join("query.spl")).expect("query.spl");
    engine
        .run_text(&spl, macros)
        .unwrap_or_else(|e| panic!("{name} on {file}:\n{e}"))
}

fn sorted_rows(t: &Table) -> Vec<Vec<String>> {
    let mut rows = cells(t);
    rows.sort();
    rows
}

#[test]
fn every_case_fires_on_evtx_and_json_alike() {
    let cases = cases();
    let index = std::fs::read_to_string(shared("sigma-regression/INDEX.json")).unwrap();
    let listed = serde_json::from_str::<serde_json::Value>(&index).unwrap();
    let listed_names = listed.to_string();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let macros = MacroSet::builtin();
    let tmp = tempfile::tempdir().unwrap();
    let exceptions = export_trimmed_trailing_space();
    let mut exceptions_used: Vec<(String, String)> = Vec::new();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        assert!(listed_names.contains(&name), "{name} is not in INDEX.json");
        let mut evtx = run_on(case, "events.evtx", &macros, tmp.path());
        let json = run_on(case, "events.json", &macros, tmp.path());
        if evtx.rows.is_empty() || json.rows.is_empty() {
            failures.push(format!(
                "{name}: {} rows from EVTX, {} from JSON; want at least one each",
                evtx.rows.len(),
                json.rows.len()
            ));
            continue;
        }
        assert_eq!(evtx.columns, json.columns, "{name}: columns");
        // Apply the listed export difference to the EVTX side.
        for (c, field) in &exceptions {
            if *c != name {
                continue;
            }
            let i = evtx
                .column_index(field)
                .unwrap_or_else(|| panic!("{name}: no column {field}"));
            for row in &mut evtx.rows {
                for v in &mut row[i].0 {
                    if v.ends_with(' ') {
                        *v = v.trim_end().to_string();
                        exceptions_used.push((name.clone(), field.to_string()));
                    }
                }
            }
        }
        if sorted_rows(&evtx) != sorted_rows(&json) {
            failures.push(format!(
                "{name}: EVTX and JSON tables differ\n  evtx: {:?}\n  json: {:?}",
                sorted_rows(&evtx),
                sorted_rows(&json)
            ));
        }
    }
    for (case, field) in &exceptions {
        if !exceptions_used.iter().any(|(c, f)| c == case && f == field) {
            failures.push(format!(
                "exception ({case}, {field}) is listed but no longer needed"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
