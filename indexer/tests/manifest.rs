//! The whole indexing run over `../shared/datasets`: the manifest accounts
//! for every record, and its Sysmon 1 / Security 4688 counts per file agree
//! with `../shared/datasets/MANIFEST.md`.

mod common;
use common::check_invariant;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use evidx_index::parse::SkipUnit;
use evidx_index::progress::{Mode, Progress};
use evidx_index::{run, Config};

fn shared(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(p)
}

/// `file -> (records, sysmon 1, security 4688)` from MANIFEST.md's table.
fn manifest_counts() -> BTreeMap<String, (u64, u64, u64)> {
    let text = std::fs::read_to_string(shared("datasets/MANIFEST.md")).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 8 || !cells[1].starts_with('`') {
            continue;
        }
        let num = |s: &str| s.parse::<u64>().ok();
        if let (Some(r), Some(s1), Some(s4)) = (num(cells[4]), num(cells[5]), num(cells[6])) {
            out.insert(cells[1].trim_matches('`').to_string(), (r, s1, s4));
        }
    }
    out
}

/// The files with skips: `(file, records read, skipped chunks, skipped
/// records, skipped lines)`. The EVTX counts are the `evtx` crate's
/// (records rendered + errors; see corrupt_evtx.rs); they exceed
/// MANIFEST.md's, counted by Python bindings that stop at a chunk's first
/// bad record. The Splunk export holds 59 events, 19 of them classic text
/// events, skipped one line each.
const WITH_SKIPS: [(&str, u64, usize, usize, usize); 5] = [
    (
        "evtx-rs-samples/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
        1795 + 2,
        0,
        2,
        0,
    ),
    (
        "evtx-rs-samples/sample-with-zero-data-size-event.evtx",
        449 + 1,
        0,
        1,
        0,
    ),
    (
        "evtx-rs-samples/sample_with_a_bad_chunk_magic.evtx",
        301 + 3,
        2,
        1,
        0,
    ),
    ("evtx-rs-samples/sysmon.evtx", 358 + 8, 8, 0, 0),
    (
        "splunk-attack-data/certutil_exe_certificate_extraction.raw",
        59,
        0,
        0,
        19,
    ),
];

#[test]
fn indexing_shared_datasets_accounts_for_every_record() {
    let out = tempfile::tempdir().unwrap();
    let cfg = Config {
        threads: 2,
        memory: 64 << 20,
        arguments: vec!["test".into()],
        ..Config::new(vec![shared("datasets")], out.path().join("idx"))
    };
    let outcome = run(&cfg, &Progress::new(Mode::Quiet)).unwrap();
    let m = &outcome.manifest;
    let expected = manifest_counts();
    assert_eq!(expected.len(), 37, "MANIFEST.md lists 37 files");
    let root = shared("datasets").display().to_string();
    let mut seen = 0;
    let mut with_skips = 0;
    for f in &m.files {
        check_invariant(f);
        let rel = f
            .path
            .strip_prefix(&root)
            .unwrap_or(&f.path)
            .trim_start_matches('/');
        if rel == "MANIFEST.md" {
            assert!(
                f.ignored.is_some(),
                "a Markdown file is ignored, not skipped"
            );
            continue;
        }
        let (records, s1, s4688) = expected[rel];
        seen += 1;
        assert_eq!(
            (f.counts.sysmon_1, f.counts.security_4688),
            (s1, s4688),
            "{rel}"
        );
        assert!(f.sha256.as_deref().is_some_and(|h| h.len() == 64), "{rel}");
        match WITH_SKIPS.iter().find(|(file, ..)| *file == rel) {
            None => {
                assert_eq!(f.counts.records_read, records, "{rel}: records");
                assert_eq!(f.counts.skipped, 0, "{rel}: {:?}", f.skips);
            }
            Some(&(_, read, chunks, records, lines)) => {
                let count = |u: SkipUnit| f.skips.iter().filter(|s| s.unit == u).count();
                assert_eq!(
                    (
                        f.counts.records_read,
                        count(SkipUnit::Chunk),
                        count(SkipUnit::Record),
                        count(SkipUnit::Line)
                    ),
                    (read, chunks, records, lines),
                    "{rel}"
                );
                assert_eq!(f.counts.skipped as usize, chunks + records + lines);
                assert!(f.skips.iter().all(|s| !s.reason.is_empty()));
            }
        }
        with_skips += u64::from(f.counts.skipped > 0);
    }
    assert_eq!(with_skips, WITH_SKIPS.len() as u64);
    assert_eq!(seen, 37);
    assert_eq!(m.totals.counts.sysmon_1, 2121);
    assert_eq!(m.totals.counts.security_4688, 1093);
    assert!(
        !outcome.complete(),
        "the corrupt samples make the run partial"
    );
    // The manifest on disk is the one returned.
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&outcome.manifest_path).unwrap()).unwrap();
    assert_eq!(on_disk["totals"]["process_events"], 2121 + 1093);
    assert_eq!(on_disk["version"], env!("CARGO_PKG_VERSION"));

    // A second run into the same directory appends: every file is already
    // indexed, so nothing is read and nothing added.
    let again = run(&cfg, &Progress::new(Mode::Quiet)).unwrap();
    assert!(again.manifest.files.is_empty());
    assert_eq!(again.manifest.already_indexed.len(), m.files.len());
    assert_eq!(again.manifest.documents_added, 0);
    assert_eq!(again.index.documents, m.documents_added);
    assert_eq!(again.index.runs, 2);
}
