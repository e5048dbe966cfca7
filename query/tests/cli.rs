//! The `evidx-query` binary: what a user sees when a pack folder is wrong.

mod common;

use std::process::Command;

use common::*;

fn evidx_query(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evidx-query"))
        .args(args)
        .output()
        .expect("run evidx-query");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_pack_folder_that_is_missing_or_empty_fails_clearly() {
    let dir = scratch("cli-pack");
    let index = dir.join("index");
    build_index(&[workspace("datasets/sample")], &index);
    let index = index.to_str().unwrap();

    let missing = dir.join("no-such-detections");
    let (code, err) = evidx_query(&["-i", index, "--pack", missing.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("evidx-query: error:") && err.contains("no such folder"),
        "{err}"
    );

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, err) = evidx_query(&["-i", index, "--pack", empty.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no detection files"), "{err}");

    // A folder with one detection runs it.
    let one = dir.join("one");
    std::fs::create_dir_all(&one).unwrap();
    std::fs::copy(
        shared("escu/detections/endpoint/getnettcpconnection_with_powershell.yml"),
        one.join("d.yml"),
    )
    .unwrap();
    let macros = shared("escu/macros");
    let (code, err) = evidx_query(&[
        "-i",
        index,
        "--macros",
        macros.to_str().unwrap(),
        "--pack",
        one.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");

    // A detection of the pack with a field the data model lacks runs, and
    // the warning names the detection.
    std::fs::write(
        one.join("typo.spl"),
        "| tstats count from datamodel=Endpoint.Processes by Processes.proces_name",
    )
    .unwrap();
    let (code, err) = evidx_query(&["-i", index, "--pack", one.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning:")
            && err.contains("typo.spl")
            && err.contains("Processes.proces_name"),
        "{err}"
    );
}

#[test]
fn a_bad_command_line_exits_2_and_help_lists_every_status() {
    let (code, err) = evidx_query(&["-i", "x", "--no-such-option"]);
    assert_eq!(code, 2, "{err}");
    let help = Command::new(env!("CARGO_BIN_EXE_evidx-query"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    for status in ["0  ", "1  ", "2  ", "3  ", "4  "] {
        assert!(help.contains(&format!("\n  {status}")), "{status}: {help}");
    }
}
