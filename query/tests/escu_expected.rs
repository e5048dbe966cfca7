//! The shared ESCU detections over an index of all of `../shared/datasets`:
//! every reference answer in `../shared/escu/expected` is reproduced
//! exactly (whole CSV as a multiset of rows, header exact), every row count
//! of `rows_on_shared_datasets.tsv` matches, and every S0-S2 detection of
//! `INDEX.tsv` (plus `variants/`) runs.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use evidx_query::{detection, Engine};

/// One index of `../shared/datasets`, built once for this test binary.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = scratch("escu-shared-datasets");
        let (process_events, _) = build_index(&[shared("datasets")], &dir);
        assert!(
            process_events > 3_000,
            "../shared/datasets gave only {process_events} process events"
        );
        Engine::open(&dir).expect("open index")
    })
}

/// `rows_on_shared_datasets.tsv`: detection file (relative to escu/) -> rows.
fn expected_row_counts() -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(shared("escu/expected/rows_on_shared_datasets.tsv"))
        .expect("rows_on_shared_datasets.tsv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("detection\trows"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (file, rows) = l.split_once('\t').expect("two columns");
            (file.to_string(), rows.trim().parse().expect("row count"))
        })
        .collect()
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Run one detection file and render it as the CLI's CSV.
fn run_detection(path: &Path) -> Result<evidx_query::table::Table, String> {
    let d = detection::load(path).map_err(|e| e.to_string())?;
    engine()
        .run_text(&d.search, &escu_macros())
        .map_err(|e| e.to_string())
}

#[test]
fn every_detection_file_is_listed_in_index_tsv() {
    let listed: Vec<String> = index_tsv().into_iter().map(|(f, _)| f).collect();
    let on_disk: Vec<String> = yamls(&shared("escu/detections"))
        .iter()
        .map(|p| {
            p.strip_prefix(shared("escu"))
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, on_disk, "INDEX.tsv and detections/ disagree");
}

#[test]
fn expected_csvs_are_reproduced_exactly() {
    let mut compared = 0;
    let mut failures = Vec::new();
    for path in yamls(&shared("escu/detections")) {
        let want_path = shared(&format!("escu/expected/{}.csv", stem(&path)));
        if !want_path.exists() {
            continue;
        }
        compared += 1;
        let want = std::fs::read_to_string(&want_path).unwrap();
        let got = to_csv(&run_detection(&path).unwrap_or_else(|e| panic!("{e}")));
        let (wh, wrows) = csv_multiset(&want);
        let (gh, grows) = csv_multiset(&got);
        if wh != gh {
            failures.push(format!("{}: header {gh:?}, want {wh:?}", stem(&path)));
            continue;
        }
        if wrows != grows {
            let missing: Vec<_> = wrows
                .iter()
                .filter(|r| !grows.contains(r))
                .take(2)
                .collect();
            let extra: Vec<_> = grows
                .iter()
                .filter(|r| !wrows.contains(r))
                .take(2)
                .collect();
            failures.push(format!(
                "{}: {} rows, want {}; missing e.g. {missing:?}; unexpected e.g. {extra:?}",
                stem(&path),
                grows.len(),
                wrows.len()
            ));
        }
    }
    // Every reference CSV belongs to a detection and was compared.
    let csvs = std::fs::read_dir(shared("escu/expected"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "csv")
        })
        .count();
    assert_eq!(compared, csvs, "a reference CSV has no detection");
    assert!(compared >= 9, "only {compared} reference CSVs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn row_counts_match_rows_on_shared_datasets_tsv() {
    let counts = expected_row_counts();
    assert!(counts.len() >= 25, "{} detections listed", counts.len());
    let mut failures = Vec::new();
    for (file, want) in &counts {
        let path = shared(&format!("escu/{file}"));
        match run_detection(&path) {
            Ok(t) if t.rows.len() == *want => {}
            Ok(t) => failures.push(format!("{file}: {} rows, want {want}", t.rows.len())),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
        // The reference files agree with each other: a non-empty result has
        // its CSV, with that many rows.
        let csv = shared(&format!("escu/expected/{}.csv", stem(&path)));
        if *want > 0 {
            let text =
                std::fs::read_to_string(&csv).unwrap_or_else(|e| panic!("{}: {e}", csv.display()));
            assert_eq!(csv_multiset(&text).1.len(), *want, "{}", csv.display());
        } else {
            assert!(!csv.exists(), "{} exists for 0 rows", csv.display());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_s0_to_s2_detection_and_variant_runs() {
    let mut ran = 0;
    let mut failures = Vec::new();
    let mut files: Vec<PathBuf> = index_tsv()
        .into_iter()
        .filter(|(_, tier)| matches!(tier.as_str(), "S0" | "S1" | "S2"))
        .map(|(f, _)| shared(&format!("escu/{f}")))
        .collect();
    files.extend(yamls(&shared("escu/variants")));
    for path in &files {
        match run_detection(path) {
            Ok(t) => {
                ran += 1;
                // Every row is as wide as the header.
                assert!(
                    t.rows.iter().all(|r| r.len() == t.columns.len()),
                    "{}: ragged rows",
                    path.display()
                );
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(ran >= 37, "ran only {ran}");
}

#[test]
fn getnettcpconnection_finds_nothing_in_shared_datasets() {
    for (file, width) in [
        (
            "detections/endpoint/getnettcpconnection_with_powershell.yml",
            10,
        ),
        (
            "variants/getnettcpconnection_with_powershell.v7_2026-02-25.yml",
            23,
        ),
    ] {
        let t = run_detection(&shared(&format!("escu/{file}"))).unwrap();
        assert_eq!(t.columns.len(), width, "{file}: {:?}", t.columns);
        assert_eq!(t.rows.len(), 0, "{file}: {:?}", cells(&t));
    }
    // ...while PowerShell itself is in the data, so the zero is the filter's.
    let t = run(
        engine(),
        "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=powershell.exe",
        &escu_macros(),
    );
    let n: u64 = column(&t, "count")[0].parse().unwrap();
    assert!(n > 10, "{n} powershell.exe events");
}

#[test]
fn csv_reader_handles_quotes_and_newlines() {
    let recs = parse_csv("a,b\n\"x,1\",\"say \"\"hi\"\"\nline2\"\r\nlast,\n");
    assert_eq!(
        recs,
        vec![
            vec!["a".to_string(), "b".into()],
            vec!["x,1".into(), "say \"hi\"\nline2".into()],
            vec!["last".into(), "".into()],
        ]
    );
}

#[test]
fn pack_runs_every_detection_in_order_and_writes_the_reference_tables() {
    let files = evidx_query::pack::detection_files(&shared("escu/detections"));
    assert_eq!(files.len(), yamls(&shared("escu/detections")).len());
    let out = scratch("escu-pack-out");
    let items = evidx_query::pack::run(engine(), &escu_macros(), &files, Some(&out));
    let paths: Vec<&PathBuf> = items.iter().map(|i| &i.path).collect();
    assert_eq!(
        paths,
        files.iter().collect::<Vec<_>>(),
        "results in file order"
    );
    for item in &items {
        assert!(item.outcome.is_ok(), "{}: {:?}", item.name, item.outcome);
    }
    let expected_dir = shared("escu/expected");
    for entry in std::fs::read_dir(&expected_dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("csv") {
            continue;
        }
        let want = std::fs::read_to_string(&p).unwrap();
        let got = std::fs::read_to_string(out.join(p.file_name().unwrap())).unwrap();
        assert_eq!(csv_multiset(&got), csv_multiset(&want), "{}", p.display());
    }
}
