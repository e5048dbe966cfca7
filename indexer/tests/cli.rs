//! The `evidx-index` binary's exit status, one meaning each: 0 complete
//! (or already indexed), 1 fatal, 2 bad command line, 3 something skipped,
//! 4 index busy (tested in `kill.rs`, with a run under way). And what it
//! does with the directory it is given: append to an evidx index, replace
//! it with `--force`, refuse anything else.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn evidx_index(args: &[&Path]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evidx-index"))
        .args(["-j", "2", "--memory", "32"])
        .args(args)
        .output()
        .expect("run evidx-index");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn p(s: &str) -> &Path {
    Path::new(s)
}

#[test]
fn each_exit_status_has_one_meaning() {
    let dir = scratch("cli");
    let index = dir.join("index");
    let clean = shared("sigma-regression/proc_creation_win_certutil_decode/events.evtx");
    let corrupt = shared("datasets/evtx-rs-samples/sample_with_a_bad_chunk_magic.evtx");

    // 2: the command line is wrong; nothing is created.
    for args in [
        vec![p("--no-such-option"), p("-o"), &index, &clean],
        vec![p("-o"), &index],
        vec![p("--memory"), p("3"), p("-o"), &index, &clean],
        vec![p("--commit-interval"), p("0"), p("-o"), &index, &clean],
    ] {
        let (code, err) = evidx_index(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with("evidx-index: error:"), "{err}");
    }
    assert!(!index.exists());

    // 0: read completely. 3: written, but something was skipped.
    let (code, err) = evidx_index(&[p("-o"), &index, &clean]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = evidx_index(&[p("-o"), &index, &corrupt]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("skipped") && err.contains("manifest.json"),
        "{err}"
    );
    let m = checked_manifest(&index);
    assert_eq!(num(&m["totals"]["runs"]), 2);
    assert!(num(&m["totals"]["skipped"]) > 0);

    // 0 again: both files are already indexed, and the run says so.
    let (code, err) = evidx_index(&[p("-o"), &index, &clean, &corrupt]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 files not read: already indexed"), "{err}");

    // --force replaces the index: one run, the clean file only.
    let (code, err) = evidx_index(&[p("--force"), p("-o"), &index, &clean]);
    assert_eq!(code, 0, "{err}");
    let m = checked_manifest(&index);
    assert_eq!(num(&m["totals"]["runs"]), 1);
    assert_eq!(num(&m["totals"]["skipped"]), 0);

    // 1: a missing input, or a directory that is not an evidx index, which
    // is left as it was, even with --force.
    let (code, err) = evidx_index(&[p("-o"), &index, &dir.join("no-such-input")]);
    assert_eq!(code, 1, "{err}");
    let foreign = dir.join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    for force in [false, true] {
        let mut args = vec![p("-o"), &foreign, &clean];
        if force {
            args.insert(0, p("--force"));
        }
        let (code, err) = evidx_index(&args);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("not an evidx index"), "{err}");
        assert_eq!(
            std::fs::read_dir(&foreign).unwrap().count(),
            1,
            "nothing written"
        );
        assert_eq!(
            std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
            "mine"
        );
    }

    // --help documents every status, in order.
    let help = Command::new(env!("CARGO_BIN_EXE_evidx-index"))
        .arg("--help")
        .output()
        .unwrap();
    let statuses: Vec<u8> = String::from_utf8_lossy(&help.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("  ")?.split_once("  ")?.0.parse().ok())
        .collect();
    assert_eq!(statuses, [0, 1, 2, 3, 4]);
}
