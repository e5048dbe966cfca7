//! Generated archives (`evidx-gen`): one seed written in all four formats
//! (EVTX, evtx_dump JSONL, Winlogbeat ECS, XML) gives the same rows in each,
//! and the GetNetTcpconnection detection returns exactly the generator's
//! planted ground truth; so does the committed `datasets/sample`, for the
//! v3 detection and for its v7 variant.
//!
//! (That the detection returns 0 rows over `../shared/datasets` is checked
//! in `escu_expected.rs`, which already has that index.)

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use common::*;
use evidx_gen::{Format, RunConfig};
use evidx_query::{detection, Engine};

const FORMATS: [Format; 4] = [Format::Evtx, Format::Jsonl, Format::Ecs, Format::Xml];
const SEED: u64 = 3;
const SIZE: u64 = 2_000_000;

struct Generated {
    format: Format,
    /// The generator's output directory (holds `expected/`).
    out: PathBuf,
    positives: usize,
    expected_groups: usize,
    engine: Engine,
}

/// Every format generated and indexed once for this test binary.
fn generated() -> &'static [Generated] {
    static GEN: OnceLock<Vec<Generated>> = OnceLock::new();
    GEN.get_or_init(|| {
        let root = scratch("generated");
        FORMATS
            .iter()
            .map(|&format| {
                let out = root.join(format.name());
                let summary = evidx_gen::run(&RunConfig {
                    seed: SEED,
                    size: SIZE,
                    events: None,
                    format,
                    out: out.clone(),
                    planted: None,
                    hosts: None,
                    days: None,
                    start_day: evidx_gen::time::days_from_civil(2024, 5, 6),
                })
                .unwrap_or_else(|e| panic!("generate {}: {e}", format.name()));
                let index = root.join(format!("{}.index", format.name()));
                let host_dirs: Vec<PathBuf> = std::fs::read_dir(&out)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.is_dir() && !p.ends_with("expected"))
                    .collect();
                let (process_events, skipped) = build_index(&host_dirs, &index);
                assert_eq!(skipped, 0, "{}: skipped records", format.name());
                assert!(process_events > 100, "{}: {process_events}", format.name());
                Generated {
                    format,
                    out,
                    positives: summary.positives,
                    expected_groups: summary.table.groups.len(),
                    engine: Engine::open(&index).unwrap(),
                }
            })
            .collect()
    })
}

fn escu(rel: &str) -> String {
    detection::load(&shared(&format!("escu/{rel}")))
        .unwrap_or_else(|e| panic!("{e}"))
        .search
}

const V3: &str = "detections/endpoint/getnettcpconnection_with_powershell.yml";
const V7: &str = "variants/getnettcpconnection_with_powershell.v7_2026-02-25.yml";

/// Every CIM field plus `_time` at one second. All of them must agree across
/// formats: GUIDs are re-rendered the Windows way (`{UPPER-CASE}`) whichever
/// way the export wrote them, user names, hex 4688 PIDs and XML-escaped text
/// are decoded to the same strings, and `_time` is bucketed to the second,
/// the precision tstats groups at, because the formats carry different
/// sub-second precision (EVTX FILETIME ticks, JSON/XML text, ECS
/// milliseconds).
const ALL_FIELDS: &str = "Processes.dest Processes.user Processes.process \
    Processes.parent_process Processes.process_id Processes.parent_process_id \
    Processes.process_name Processes.process_path Processes.process_exec \
    Processes.parent_process_name Processes.parent_process_path \
    Processes.parent_process_exec Processes.original_file_name Processes.process_guid \
    Processes.parent_process_guid Processes.process_hash Processes.process_integrity_level \
    Processes.process_current_directory Processes.user_id Processes.action \
    Processes.vendor_product Processes.os Processes.host _time span=1s";

#[test]
fn every_format_gives_the_same_groups_of_all_cim_fields() {
    let spl = format!(
        "| tstats fillnull_value=null count from datamodel=Endpoint.Processes by {ALL_FIELDS}"
    );
    let macros = escu_macros();
    let tables: Vec<(Format, String)> = generated()
        .iter()
        .map(|g| (g.format, to_csv(&run(&g.engine, &spl, &macros))))
        .collect();
    let (first_format, first) = &tables[0];
    let rows = parse_csv(first);
    assert!(rows.len() > 100, "only {} groups", rows.len());
    // Every row has a real process and host, and both Sysmon and 4688 are in.
    let header = &rows[0];
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let vendor = col("Processes.vendor_product");
    assert!(rows[1..].iter().any(|r| r[vendor] == "Microsoft Sysmon"));
    assert!(rows[1..].iter().any(|r| r[vendor] == "Microsoft Windows"));
    assert!(rows[1..]
        .iter()
        .all(|r| r[col("Processes.dest")] != "null" && r[col("_time")] != "null"));
    for (format, csv) in &tables[1..] {
        if csv != first {
            let (a, b) = (parse_csv(first), parse_csv(csv));
            let only_a: Vec<_> = a.iter().filter(|r| !b.contains(r)).take(2).collect();
            let only_b: Vec<_> = b.iter().filter(|r| !a.contains(r)).take(2).collect();
            panic!(
                "{} and {} differ ({} vs {} rows)\n only in {}: {only_a:?}\n only in {}: {only_b:?}",
                first_format.name(),
                format.name(),
                a.len(),
                b.len(),
                first_format.name(),
                format.name()
            );
        }
    }
}

#[test]
fn getnettcpconnection_returns_the_planted_truth_in_every_format() {
    let macros = escu_macros();
    let spl = escu(V3);
    for g in generated() {
        let want = std::fs::read_to_string(
            g.out
                .join("expected/getnettcpconnection_with_powershell.csv"),
        )
        .unwrap();
        let got = to_csv(&run(&g.engine, &spl, &macros));
        assert_eq!(
            got,
            want,
            "{}: detection output differs from the generator's expected CSV",
            g.format.name()
        );
        // Not vacuous: the planted positives are there.
        let rows = parse_csv(&got).len() - 1;
        assert_eq!(rows, g.expected_groups, "{}", g.format.name());
        assert!(
            g.positives >= 12 && rows >= 10,
            "{}: {rows} rows",
            g.format.name()
        );
    }
}

/// Re-aggregate a detection's CSV to the given columns: sum `count`, min
/// `firstTime`, max `lastTime` (ISO strings order like times).
fn regroup(csv: &str, keys: &[String]) -> BTreeMap<Vec<String>, (u64, String, String)> {
    let rows = parse_csv(csv);
    let header = &rows[0];
    let col = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .unwrap_or_else(|| panic!("no column {n} in {header:?}"))
    };
    let idx: Vec<usize> = keys.iter().map(|k| col(k)).collect();
    let (count, first, last) = (col("count"), col("firstTime"), col("lastTime"));
    let mut out: BTreeMap<Vec<String>, (u64, String, String)> = BTreeMap::new();
    for r in &rows[1..] {
        let key: Vec<String> = idx.iter().map(|&i| r[i].clone()).collect();
        let n: u64 = r[count].parse().unwrap();
        let e = out
            .entry(key)
            .or_insert((0, r[first].clone(), r[last].clone()));
        e.0 += n;
        if r[first] < e.1 {
            e.1 = r[first].clone();
        }
        if r[last] > e.2 {
            e.2 = r[last].clone();
        }
    }
    out
}

#[test]
fn committed_sample_gives_its_expected_csv_for_v3_and_v7() {
    let sample = workspace("datasets/sample");
    let dir = tempfile::tempdir().unwrap();
    let engine = index_and_open(std::slice::from_ref(&sample), dir.path());
    let macros = escu_macros();
    let want =
        std::fs::read_to_string(sample.join("expected/getnettcpconnection_with_powershell.csv"))
            .unwrap();
    let v3 = to_csv(&run(&engine, &escu(V3), &macros));
    assert_eq!(v3, want, "datasets/sample: v3 output differs from expected");
    assert!(parse_csv(&want).len() > 10);

    // v7 groups by 20 fields, a superset of v3's 7: regrouped to the v3
    // columns it gives the same groups, counts and times.
    let v7 = to_csv(&run(&engine, &escu(V7), &macros));
    let v7_header = &parse_csv(&v7)[0];
    assert_eq!(v7_header.len(), 23, "{v7_header:?}");
    let v3_keys: Vec<String> = parse_csv(&want)[0][..7].to_vec();
    assert_eq!(
        v3_keys,
        [
            "dest",
            "user",
            "parent_process",
            "process_name",
            "process",
            "process_id",
            "parent_process_id"
        ]
    );
    assert_eq!(regroup(&v7, &v3_keys), regroup(&want, &v3_keys));
}
