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

/// `--pack --out` writes a table only for a detection that ran: one that
/// fails leaves no file, neither an empty one (read as "no hits") nor the
/// table an earlier run wrote.
#[test]
fn a_pack_writes_tables_only_for_the_detections_that_ran() {
    let dir = scratch("cli-pack-out");
    let index = dir.join("index");
    build_index(&[workspace("datasets/sample")], &index);
    let pack = dir.join("pack");
    std::fs::create_dir_all(&pack).unwrap();
    std::fs::write(
        pack.join("names.spl"),
        "| tstats count from datamodel=Endpoint.Processes by Processes.process_name",
    )
    .unwrap();
    std::fs::write(
        pack.join("files.spl"),
        "| tstats count from datamodel=Endpoint.Processes by Processes.process_name \
         | join process_name [| tstats count from datamodel=Endpoint.Filesystem by Filesystem.file_name]",
    )
    .unwrap();
    // Refused as it is read: no such command.
    std::fs::write(
        pack.join("typo.spl"),
        "| tstats count from datamodel=Endpoint.Processes | nosuchcmd",
    )
    .unwrap();
    // Two detections of one stem in two folders.
    for sub in ["a", "b"] {
        std::fs::create_dir_all(pack.join(sub)).unwrap();
        std::fs::write(
            pack.join(sub).join("same.spl"),
            format!("| tstats count from datamodel=Endpoint.Processes by Processes.dest | eval from=\"{sub}\""),
        )
        .unwrap();
    }
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("files.csv"), "stale,table\n").unwrap();
    std::fs::write(out.join("typo.csv"), "stale,table\n").unwrap();
    let (code, err) = evidx_query(&[
        "-i",
        index.to_str().unwrap(),
        "--pack",
        pack.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 4, "{err}");
    let names = std::fs::read_to_string(out.join("names.csv")).unwrap();
    assert!(
        names.starts_with("Processes.process_name,count\n") && names.lines().count() > 2,
        "{names}"
    );
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["a.same.csv", "b.same.csv", "names.csv"]);
    for sub in ["a", "b"] {
        let t = std::fs::read_to_string(out.join(format!("{sub}.same.csv"))).unwrap();
        assert!(
            t.lines().nth(1).unwrap().ends_with(&format!(",{sub}")),
            "{t}"
        );
    }
}
