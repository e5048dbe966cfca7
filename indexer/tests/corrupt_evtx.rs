//! The corrupt EVTX samples of the `evtx` crate: every one is read to the
//! end, what is unreadable is reported with its chunk and byte offset, and
//! the rest is indexed.

use std::path::{Path, PathBuf};

use evidx_index::inspect::file_rows;
use evidx_index::parse::SkipUnit;

fn sample(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/datasets/evtx-rs-samples")
        .join(p)
}

#[test]
fn sysmon_with_bad_chunk_magic_keeps_the_good_chunks() {
    let r = file_rows(&sample("sysmon.evtx")).unwrap();
    assert_eq!(
        r.rows.len(),
        227,
        "MANIFEST.md: 227 Sysmon 1 before the bad chunks"
    );
    assert!(r.skips.iter().all(|s| s.unit == SkipUnit::Chunk));
    assert!(r
        .skips
        .iter()
        .all(|s| s.chunk.is_some() && (s.offset - 4096) % 65536 == 0));
    assert!(
        r.skips.iter().all(|s| s.chunk >= Some(9)),
        "chunks 9+ are bad: {:?}",
        r.skips
    );
}

#[test]
fn each_corrupt_sample_is_read_with_located_skips() {
    for (file, min_records) in [
        ("sample_with_a_bad_chunk_magic.evtx", 270),
        ("sample-with-zero-data-size-event.evtx", 335),
        (
            "2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
            1774,
        ),
        ("security_bad_string_cache.evtx", 2261),
        ("Application_no_crc32.evtx", 17),
    ] {
        let r = file_rows(&sample(file)).unwrap();
        assert!(
            r.records >= min_records,
            "{file}: {} records, MANIFEST.md counts {min_records}",
            r.records
        );
        for s in &r.skips {
            assert!(s.offset >= 4096 && s.chunk.is_some(), "{file}: {s:?}");
            assert!(!s.reason.is_empty());
        }
    }
}

#[test]
fn empty_log_has_no_records_and_no_errors() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/datasets/splunk-attack-data/T1003.001_capattack_Windows_PowerShell-empty.evtx");
    let r = file_rows(&p).unwrap();
    assert_eq!((r.records, r.skips.len()), (0, 0));
}

#[test]
fn truncated_and_mangled_evtx_never_panics() {
    let data = std::fs::read(sample("security.evtx")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Cut mid-chunk, zero a chunk header, flip bytes in record data.
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("cut".into(), data[..4096 + 65536 * 2 + 1000].to_vec()),
        ("header-only".into(), data[..4096].to_vec()),
        ("short".into(), data[..100].to_vec()),
    ];
    let mut zeroed = data.clone();
    zeroed[4096 + 65536..4096 + 65536 + 512].fill(0);
    cases.push(("zeroed-chunk-header".into(), zeroed));
    let mut flipped = data.clone();
    for i in (4096 + 600..flipped.len()).step_by(997) {
        flipped[i] ^= 0x5a;
    }
    cases.push(("flipped".into(), flipped));
    for (name, bytes) in cases {
        let p = dir.path().join(format!("{name}.evtx"));
        std::fs::write(&p, bytes).unwrap();
        let r = file_rows(&p).unwrap();
        assert!(
            r.records > 0 || !r.skips.is_empty() || name == "header-only",
            "{name}: nothing read and nothing reported"
        );
    }
}
