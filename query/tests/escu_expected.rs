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
        let mut engine = Engine::open(&dir).expect("open index");
        engine.set_lookups(
            evidx_query::lookups::LookupStore::load_dir(&shared("escu/lookups")).expect("lookups"),
        );
        engine
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

/// Every row is as wide as the header.
fn assert_rectangular(t: &evidx_query::table::Table, path: &Path) {
    assert!(
        t.rows.iter().all(|r| r.len() == t.columns.len()),
        "{}: ragged rows",
        path.display()
    );
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
                assert_rectangular(&t, path);
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
    let items = evidx_query::pack::run(
        engine(),
        &escu_macros(),
        &shared("escu/detections"),
        &files,
        Some(&out),
    );
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

/// The detections of `post-commands/` (lookup, subsearches, join, stats,
/// eventstats, transaction, rex, ...) run on the shared datasets; the one
/// that needs an MLTK model is refused, saying so.
#[test]
fn every_post_commands_detection_runs_or_is_refused_as_mltk() {
    let mut ran = 0;
    for path in yamls(&shared("escu/post-commands/detections")) {
        let d = detection::load(&path).unwrap();
        match engine().run_text(&d.search, &escu_macros()) {
            Ok(t) => {
                ran += 1;
                assert_rectangular(&t, &path);
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    d.search.contains("| apply ") && msg.contains("Machine Learning Toolkit"),
                    "{}: {msg}",
                    path.display()
                );
                assert!(msg.contains("^^^") && msg.contains("apply"), "{msg}");
            }
        }
    }
    assert_eq!(ran, 8);
}

fn post(name: &str) -> evidx_query::table::Table {
    run_detection(&shared(&format!(
        "escu/post-commands/detections/endpoint/{name}.yml"
    )))
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Rows as sorted `col=value` lines of the given columns.
fn keyed(t: &evidx_query::table::Table, cols: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = t
        .rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| r[t.column_index(c).unwrap()].0.join("|"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    out.sort();
    out
}

/// `search [| tstats ...]` gives the rows of the main search whose
/// (process_id, dest) is a row of the subsearch: checked against the two
/// searches run apart and joined here.
#[test]
fn suspicious_reg_exe_subsearch_is_a_semi_join() {
    let got = post("suspicious_reg_exe_process");
    assert!(!got.rows.is_empty());
    let m = escu_macros();
    let main = run(
        engine(),
        "| tstats count from datamodel=Endpoint.Processes where Processes.parent_process_name != explorer.exe Processes.process_name =cmd.exe by Processes.user Processes.process_name Processes.parent_process_name Processes.dest Processes.process_id Processes.parent_process_id | rename Processes.* as *",
        &m,
    );
    let sub = run(
        engine(),
        "| tstats count from datamodel=Endpoint.Processes where Processes.parent_process_name=cmd.exe Processes.process_name=reg.exe by Processes.parent_process_id Processes.dest | rename Processes.* as *",
        &m,
    );
    let pairs: std::collections::HashSet<(String, String)> = sub
        .rows
        .iter()
        .map(|r| {
            let g = |c: &str| r[sub.column_index(c).unwrap()].0.join("").to_lowercase();
            (g("parent_process_id"), g("dest"))
        })
        .collect();
    let (pid, dest) = (
        main.column_index("process_id").unwrap(),
        main.column_index("dest").unwrap(),
    );
    let want = main
        .rows
        .iter()
        .filter(|r| {
            pairs.contains(&(
                r[pid].0.join("").to_lowercase(),
                r[dest].0.join("").to_lowercase(),
            ))
        })
        .count();
    assert_eq!(got.rows.len(), want);
    assert!(want < main.rows.len(), "the subsearch filters something");
}

/// `lookup attacker_tools ... OUTPUT description | search description!=false`:
/// exactly the rows whose process_name is a tool of the CSV.
#[test]
fn attacker_tools_lookup_keeps_the_listed_tools() {
    let got = post("attacker_tools_on_endpoint");
    let csv = std::fs::read_to_string(shared("escu/lookups/attacker_tools.csv")).unwrap();
    let tools: Vec<Vec<String>> = parse_csv(&csv).into_iter().skip(1).collect();
    let all = run(
        engine(),
        "| tstats count from datamodel=Endpoint.Processes where Processes.dest!=unknown Processes.user!=unknown by Processes.dest Processes.user Processes.process_name Processes.process | rename Processes.* as *",
        &escu_macros(),
    );
    let name = all.column_index("process_name").unwrap();
    let want: Vec<&Vec<_>> = all
        .rows
        .iter()
        .filter(|r| {
            let n = r[name].0.join("").to_lowercase();
            tools.iter().any(|t| t[0].to_lowercase() == n)
        })
        .collect();
    assert_eq!(got.rows.len(), want.len());
    assert!(!want.is_empty());
    for desc in column(&got, "description") {
        assert!(tools.iter().any(|t| t[1] == desc), "{desc}");
    }
}

/// The two lookups of the LOLBAS detection: every row is a LOLBAS name
/// (`desc`) outside its listed paths (`is_lolbas_path=false`).
#[test]
fn lolbas_outside_expected_path_rows() {
    let got = post("windows_lolbas_executed_outside_expected_path");
    assert!(!got.rows.is_empty());
    assert!(column(&got, "desc").iter().all(|d| d != "false"));
    assert!(column(&got, "is_lolbas_path").iter().all(|d| d == "false"));
}

/// `eventstats dc(process) by dest | where ... | stats ... by user, dest,
/// parent_process_name` against the same computed here from the rows.
#[test]
fn system_information_discovery_eventstats_then_stats() {
    let got = post("system_information_discovery_detection");
    let base = run(
        engine(),
        "| tstats count from datamodel=Endpoint.Processes where (Processes.process=\"*wmic* qfe*\" OR Processes.process=*systeminfo* OR Processes.process=*hostname*) by Processes.user Processes.process_name Processes.process Processes.dest Processes.parent_process_name | rename Processes.* as *",
        &escu_macros(),
    );
    let g =
        |r: &Vec<evidx_query::table::Cell>, c: &str| r[base.column_index(c).unwrap()].0.join("|");
    let mut per_dest: std::collections::HashMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for r in &base.rows {
        per_dest
            .entry(g(r, "dest"))
            .or_default()
            .insert(g(r, "process"));
    }
    let mut groups: std::collections::BTreeMap<
        (String, String, String),
        std::collections::BTreeSet<String>,
    > = Default::default();
    for r in &base.rows {
        if per_dest[&g(r, "dest")].len() > 2 {
            groups
                .entry((g(r, "user"), g(r, "dest"), g(r, "parent_process_name")))
                .or_default()
                .insert(g(r, "process"));
        }
    }
    let mut want: Vec<String> = groups
        .iter()
        .map(|((u, d, p), procs)| {
            format!(
                "{u} {d} {p} {}",
                procs.iter().cloned().collect::<Vec<_>>().join("|")
            )
        })
        .collect();
    want.sort();
    assert_eq!(
        keyed(&got, &["user", "dest", "parent_process_name", "process"]),
        want
    );
    assert!(!want.is_empty());
}

/// The join of the privilege-escalation detection keeps only user
/// processes whose GUID parents a SYSTEM process on the same host.
#[test]
fn privilege_escalation_join_matches_parent_guids() {
    let got = post("windows_privilege_escalation_user_process_spawn_system_process");
    assert!(!got.rows.is_empty());
    for r in 0..got.rows.len() {
        let v = |c: &str| got.rows[r][got.column_index(c).unwrap()].0.clone();
        assert_eq!(v("system_process_integrity_level"), ["system"]);
        assert!(!v("system_process_name").is_empty());
        assert!(!v("lastTime").is_empty() && !v("firstTime").is_empty());
    }
}

/// `transaction dest maxpause=5m | where eventcount>=5`: every transaction
/// row has at least 5 rows of the discovery tools.
#[test]
fn network_discovery_transactions() {
    let got = post("detect_processes_used_for_system_network_configuration_discovery");
    assert!(!got.rows.is_empty());
    assert_eq!(
        got.columns,
        [
            "firstTime",
            "lastTime",
            "dest",
            "user",
            "process_name",
            "process",
            "parent_process",
            "parent_process_name",
            "eventcount"
        ]
    );
    for n in column(&got, "eventcount") {
        assert!(n.parse::<usize>().unwrap() >= 5, "{n}");
    }
    for d in keyed(&got, &["dest"]) {
        assert!(!d.contains('|'), "one dest per transaction: {d}");
    }
}
