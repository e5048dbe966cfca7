//! Appending to an index: A then B gives the rows of one run over A+B, and
//! nothing is counted twice: not files indexed before, not renamed copies,
//! not the same events in another format, not duplicates inside one run.

mod common;

use std::path::PathBuf;

use common::*;
use evidx_gen::Format;
use evidx_index::history::AlreadyIndexed;

const SEED: u64 = 7;
const SIZE: u64 = 3_000_000;

#[test]
fn appending_gives_the_rows_of_one_run_and_counts_nothing_twice() {
    let dir = scratch("append");
    let hosts = generate(Format::Evtx, SEED, SIZE, &dir.join("evtx"));
    assert!(hosts.len() >= 2, "{hosts:?}");
    let (a, b) = hosts.split_at(hosts.len() / 2);

    let one = dir.join("one-run");
    index(&hosts, &one);
    let want = rows(&one);
    assert!(want.0 > 100, "{}", want.0);

    // A, then B appended.
    let idx = dir.join("appended");
    let first = index(a, &idx);
    let second = index(b, &idx);
    let added = |o: &evidx_index::Outcome| o.manifest.documents_added;
    assert!(added(&first) > 0 && added(&second) > 0);
    assert_eq!(added(&first) + added(&second), want.0);
    assert_eq!(rows(&idx), want);
    checked_manifest(&idx);

    // A+B again: every file is already indexed; nothing is read or added.
    let again = index(&hosts, &idx);
    assert_eq!(added(&again), 0);
    assert!(again.manifest.files.is_empty());
    let listed = first.manifest.files.len() + second.manifest.files.len();
    assert_eq!(again.manifest.already_indexed.len(), listed);
    assert_eq!(again.manifest.totals.files_already_indexed, listed as u64);

    // A renamed copy of an indexed file adds 0, and says which file it is.
    let original = &first
        .manifest
        .files
        .iter()
        .find(|f| f.counts.process_events > 0)
        .unwrap();
    let copies = dir.join("copies");
    std::fs::create_dir_all(&copies).unwrap();
    let renamed = copies.join("renamed.evtx");
    std::fs::copy(&original.path, &renamed).unwrap();
    let copy = index(&[copies], &idx);
    assert_eq!(
        copy.manifest.already_indexed,
        [AlreadyIndexed {
            path: renamed.display().to_string(),
            size: original.size,
            sha256: original.sha256.clone().unwrap(),
            indexed_as: original.path.clone(),
        }]
    );
    assert_eq!(added(&copy), 0);

    // The same events as evtx_dump JSON, Winlogbeat ECS and XML add 0: each
    // of their process creations is a duplicate.
    for format in [Format::Jsonl, Format::Ecs, Format::Xml] {
        let hosts = generate(format, SEED, SIZE, &dir.join(format.name()));
        let o = index(&hosts, &idx);
        assert_eq!(added(&o), 0, "{}", format.name());
        assert_eq!(
            o.manifest.totals.counts.duplicates,
            want.0,
            "{}",
            format.name()
        );
        assert!(o.manifest.already_indexed.is_empty());
    }
    assert_eq!(rows(&idx), want);
    let m = checked_manifest(&idx);
    assert_eq!(m["runs"].as_array().unwrap().len(), 7);
    // Only the last run lists its inputs in manifest.json (written at every
    // commit); each earlier run's are in a file of their own, written once.
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(idx.join("manifest.json")).unwrap()).unwrap();
    let runs = raw["runs"].as_array().unwrap();
    for (i, r) in runs.iter().enumerate() {
        let last = i + 1 == runs.len();
        assert_eq!(r.get("files").is_some(), last, "run {i}");
        assert_eq!(r.get("files_in").is_some(), !last, "run {i}");
    }
    let moved = std::fs::read_dir(idx.join("evidx-runs")).unwrap().count();
    assert_eq!(moved, runs.len() - 1);
    assert!(m["runs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "complete"));
    assert_eq!(num(&m["totals"]["documents"]), want.0);
    let range = |m: &serde_json::Value, end: &str| m["totals"][end].as_str().unwrap().to_string();
    let fresh = checked_manifest(&one);
    assert_eq!(range(&m, "earliest"), range(&fresh, "earliest"));
    assert_eq!(range(&m, "latest"), range(&fresh, "latest"));
    assert!(range(&m, "earliest") < range(&m, "latest"));
    value_filters_match_segments(&idx);
}

/// After appends (and their merges), the index's value filters are exactly
/// one per live segment and trigram field: those of merged-away segments
/// are gone.
fn value_filters_match_segments(index: &std::path::Path) {
    use evidx_schema::{value_filter, GRAM_FIELDS};
    let segments = tantivy::Index::open_in_dir(index)
        .unwrap()
        .searchable_segment_ids()
        .unwrap();
    let mut want: Vec<PathBuf> = segments
        .iter()
        .flat_map(|s| GRAM_FIELDS.map(|f| value_filter::path(&s.uuid_string(), f)))
        .collect();
    let mut have: Vec<PathBuf> = std::fs::read_dir(index.join(value_filter::VALUES_DIR))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name();
            PathBuf::from(value_filter::VALUES_DIR).join(name)
        })
        .collect();
    want.sort();
    have.sort();
    assert!(!want.is_empty());
    assert_eq!(have, want);
}

#[test]
fn the_same_events_twice_in_one_run_are_indexed_once() {
    let dir = scratch("duplicates");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(shared("sigma-regression"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("events.evtx").exists())
        .collect();
    cases.sort();
    let evtx: Vec<PathBuf> = cases.iter().map(|c| c.join("events.evtx")).collect();
    let json: Vec<PathBuf> = cases.iter().map(|c| c.join("events.json")).collect();
    let clean = dir.join("evtx-only");
    let n = index(&evtx, &clean).manifest.documents_added;
    assert!(n >= 40, "{n}");

    // One JSON file that holds the events of one case twice.
    let case = &json[0];
    let text = std::fs::read_to_string(case).unwrap();
    let twice = dir.join("twice.json");
    std::fs::write(&twice, format!("{text}\n{text}")).unwrap();
    let alone = index(std::slice::from_ref(&twice), &dir.join("twice-alone"));
    let k = alone.manifest.documents_added;
    assert!(k > 0);
    assert_eq!(alone.manifest.totals.counts.duplicates, k);
    checked_manifest(&dir.join("twice-alone"));

    // Every case as EVTX and as JSON, and the doubled file, in one run.
    let both = dir.join("both");
    let inputs: Vec<PathBuf> = evtx.iter().chain(&json).chain([&twice]).cloned().collect();
    let o = index(&inputs, &both);
    assert_eq!(o.manifest.documents_added, n);
    assert_eq!(o.manifest.totals.counts.duplicates, n + 2 * k);
    assert_eq!(rows(&both), rows(&clean));
    checked_manifest(&both);
}
