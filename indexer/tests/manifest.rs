//! The whole indexing run over `../shared/datasets`: the manifest accounts
//! for every record, and its Sysmon 1 / Security 4688 counts per file agree
//! with `../shared/datasets/MANIFEST.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use evidx_index::manifest::InputReport;
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

fn check_invariant(f: &InputReport) {
    let c = &f.counts;
    assert_eq!(
        c.records_read,
        c.process_events + c.duplicates + c.other_events + c.skipped,
        "{}: records_read = indexed + duplicates + other + skipped",
        f.path
    );
    assert_eq!(
        c.process_events + c.duplicates,
        c.sysmon_1 + c.security_4688,
        "{}",
        f.path
    );
    for m in &f.members {
        check_invariant(m);
    }
}

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
        if f.counts.skipped == 0 {
            assert_eq!(f.counts.records_read, records, "{rel}: records");
        } else {
            // Corrupt files: evidx goes on past a bad record inside a chunk
            // (the Python bindings that counted MANIFEST.md stop there), and
            // the classic text events of the Splunk export are skipped units.
            assert!(
                f.counts.records_read >= records,
                "{rel}: {} < {records}",
                f.counts.records_read
            );
            assert!(f.skips.iter().all(|s| !s.reason.is_empty()));
        }
    }
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
