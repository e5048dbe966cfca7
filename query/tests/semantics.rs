//! Splunk search semantics on small hand-written data with exact expected
//! tables: precedence, `!=` vs `NOT`, fillnull, aggregates, time buckets,
//! XML entities, case folding, globs, escapes, very long values, post
//! commands, and errors that point into the query.
//!
//! The data: nine Sysmon EventID 1 events (and one EventID 3 that must be
//! ignored) as evtx_dump-shaped NDJSON, on three hosts, 2024-01-01 UTC:
//!
//! | pid | host | time         | user   | image          | hash    | command line |
//! |-----|------|--------------|--------|----------------|---------|--------------|
//! | 100 | H1   | 00:00:05.250 | alice  | net.exe        | MD5=AAA | net localgroup administrators |
//! | 101 | H1   | 00:10:00     | alice  | net1.exe       | -       | net1 localgroup administrators /add |
//! | 102 | H1   | 00:20:00.500 | bob    | net.exe        | MD5=BBB | net user bob /domain |
//! | 200 | H2   | 01:30:00     | bob    | whoami.exe     | MD5=CCC | whoami /groups localgroup |
//! | 201 | H2   | 02:00:00     | carol  | cmd.exe        | -       | cmd /c dir 2>&1 |
//! | 202 | H2   | 02:15:00     | carol  | powershell.exe | MD5=DDD | powershell.exe -nop -c "Get-Date" |
//! | 300 | H3   | 03:00:00     | Élodie | notepad.exe    | -       | notepad.exe C:\Users\ÉLODIE\Été.txt |
//! | 301 | H3   | 03:30:00     | SYSTEM | reg.exe        | -       | reg.exe save HKLM\SAM C:\temp\sam.hiv |
//! | 302 | H3   | 03:45:00     | dave   | powershell.exe | -       | powershell.exe -enc SQBFAFgA |
//!
//! Values longer than the indexed-term limit get their own small index
//! (see [`long_engine`]).

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use common::*;
use evidx_query::resolve::SubsearchLimits;
use evidx_query::spl::{self, MacroSet};
use evidx_query::table::Table;
use evidx_query::{Engine, QueryError};
use serde_json::json;

const DM: &str = "datamodel=Endpoint.Processes";

#[allow(clippy::too_many_arguments)]
fn sysmon(
    rid: u64,
    host: &str,
    time: &str,
    image: &str,
    cmd: &str,
    user: &str,
    pid: &str,
    ppid: &str,
    parent_image: &str,
    ofn: &str,
    hashes: Option<&str>,
) -> serde_json::Value {
    let mut data = json!({
        "UtcTime": format!("2024-01-01 {time}"),
        "Image": image,
        "CommandLine": cmd,
        "User": user,
        "ProcessId": pid,
        "ParentProcessId": ppid,
        "ParentImage": parent_image,
        "ParentCommandLine": parent_image.rsplit('\\').next().unwrap(),
        "OriginalFileName": ofn,
    });
    if let Some(h) = hashes {
        data["Hashes"] = json!(h);
    }
    json!({"Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
            "EventID": 1,
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Computer": host,
            "EventRecordID": rid,
            "TimeCreated": {"#attributes": {"SystemTime": format!("2024-01-01T{time}Z")}},
        },
        "EventData": data,
    }})
}

fn write_events(dir: &Path) {
    const SYS32: &str = "C:\\Windows\\System32\\";
    let cmd = "C:\\Windows\\System32\\cmd.exe";
    let explorer = "C:\\Windows\\explorer.exe";
    let ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
    let img = |n: &str| format!("{SYS32}{n}");
    let events = vec![
        sysmon(
            1,
            "H1",
            "00:00:05.250",
            &img("net.exe"),
            "net localgroup administrators",
            "DOM\\alice",
            "100",
            "10",
            cmd,
            "net.exe",
            Some("MD5=AAA"),
        ),
        sysmon(
            2,
            "H1",
            "00:10:00.000",
            &img("net1.exe"),
            "net1 localgroup administrators /add",
            "DOM\\alice",
            "101",
            "10",
            cmd,
            "net1.exe",
            None,
        ),
        sysmon(
            3,
            "H1",
            "00:20:00.500",
            &img("net.exe"),
            "net user bob /domain",
            "DOM\\bob",
            "102",
            "11",
            cmd,
            "net.exe",
            Some("MD5=BBB"),
        ),
        sysmon(
            4,
            "H2",
            "01:30:00.000",
            &img("whoami.exe"),
            "whoami /groups localgroup",
            "DOM\\bob",
            "200",
            "20",
            cmd,
            "whoami.exe",
            Some("MD5=CCC"),
        ),
        sysmon(
            5,
            "H2",
            "02:00:00.000",
            &img("cmd.exe"),
            "cmd /c dir 2>&1",
            "DOM\\carol",
            "201",
            "20",
            explorer,
            "Cmd.Exe",
            None,
        ),
        sysmon(
            6,
            "H2",
            "02:15:00.000",
            ps,
            "powershell.exe -nop -c \"Get-Date\"",
            "DOM\\carol",
            "202",
            "201",
            cmd,
            "PowerShell.EXE",
            Some("MD5=DDD"),
        ),
        sysmon(
            7,
            "H3",
            "03:00:00.000",
            &img("notepad.exe"),
            "notepad.exe C:\\Users\\ÉLODIE\\Été.txt",
            "DOM\\Élodie",
            "300",
            "30",
            explorer,
            "NOTEPAD.EXE",
            None,
        ),
        sysmon(
            8,
            "H3",
            "03:30:00.000",
            &img("reg.exe"),
            "reg.exe save HKLM\\SAM C:\\temp\\sam.hiv",
            "NT AUTHORITY\\SYSTEM",
            "301",
            "30",
            cmd,
            "reg.exe",
            None,
        ),
        sysmon(
            9,
            "H3",
            "03:45:00.000",
            ps,
            "powershell.exe -enc SQBFAFgA",
            "DOM\\dave",
            "302",
            "30",
            cmd,
            "PowerShell.EXE",
            None,
        ),
    ];
    let mut text = String::new();
    for e in &events {
        text.push_str(&e.to_string());
        text.push('\n');
    }
    // A network connection (EventID 3): not a process creation.
    let mut net = sysmon(
        10,
        "H1",
        "00:00:06.000",
        &img("net.exe"),
        "",
        "DOM\\alice",
        "100",
        "10",
        cmd,
        "net.exe",
        None,
    );
    net["Event"]["System"]["EventID"] = json!(3);
    text.push_str(&net.to_string());
    text.push('\n');
    std::fs::write(dir.join("events.json"), text).unwrap();
}

/// The index of the nine events of [`write_events`].
fn index_dir() -> &'static Path {
    static INDEX: OnceLock<PathBuf> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = scratch("semantics");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        write_events(&data);
        let (process_events, skipped) = build_index(&[data], &dir.join("index"));
        assert_eq!((process_events, skipped), (9, 0));
        dir.join("index")
    })
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::open(index_dir()).unwrap())
}

fn q(spl: &str) -> Table {
    run(engine(), spl, &MacroSet::builtin())
}

/// `tstats count ... where W by process_id`: the matching pids, sorted.
fn pids(where_clause: &str) -> Vec<String> {
    let t = q(&format!(
        "| tstats count from {DM} where {where_clause} by Processes.process_id"
    ));
    let mut p = column(&t, "Processes.process_id");
    p.sort();
    p
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Exact columns and rows (in order); cells as `\n`-joined values.
fn assert_table(t: &Table, columns: &[&str], rows: &[&[&str]]) {
    assert_eq!(t.columns, s(columns), "columns");
    let want: Vec<Vec<String>> = rows.iter().map(|r| s(r)).collect();
    assert_eq!(cells(t), want);
}

const ALL: &[&str] = &[
    "100", "101", "102", "200", "201", "202", "300", "301", "302",
];

#[test]
fn only_process_creations_are_indexed() {
    assert_eq!(engine().num_docs(), 9);
    assert_eq!(pids("Processes.process_id=*"), s(ALL));
    // An empty result without `by` is one row of zero counts.
    assert_table(
        &q(&format!(
            "| tstats count from {DM} where Processes.process_name=nothing.exe"
        )),
        &["count"],
        &[&["0"]],
    );
}

#[test]
fn or_binds_tighter_than_and_in_tstats_where() {
    // dest=H1 AND (user=bob OR user=carol); with AND first it would also
    // return carol's events on H2 (201, 202).
    assert_eq!(
        pids("Processes.dest=H1 Processes.user=bob OR Processes.user=carol"),
        ["102"]
    );
    assert_eq!(
        pids("Processes.dest=H1 AND Processes.user=bob OR Processes.user=carol"),
        ["102"]
    );
    assert_eq!(
        pids("(Processes.dest=H1 Processes.user=bob) OR Processes.user=carol"),
        ["102", "201", "202"]
    );
    // net_localgroup_discovery: (net.exe OR net1.exe) AND *localgroup*.
    // Not 102 (net.exe without localgroup), not 200 (localgroup, whoami).
    assert_eq!(
        pids(
            r#"Processes.process_name=net.exe OR Processes.process_name=net1.exe (Processes.process="*localgroup*")"#
        ),
        ["100", "101"]
    );
}

#[test]
fn and_binds_tighter_than_or_in_post_where() {
    let t = q(&format!(
        "| tstats count from {DM} by Processes.process_id Processes.user Processes.dest \
         | rename Processes.* as * | where user=\"bob\" OR user=\"carol\" AND dest=\"H1\""
    ));
    assert_eq!(column(&t, "process_id"), ["102", "200"]);
}

#[test]
fn not_equal_needs_the_field_but_not_does_not() {
    // process_hash is absent on 101, 201, 300, 301, 302.
    assert_eq!(
        pids(r#"Processes.process_hash!="MD5=AAA""#),
        ["102", "200", "202"]
    );
    assert_eq!(
        pids(r#"NOT Processes.process_hash="MD5=AAA""#),
        ["101", "102", "200", "201", "202", "300", "301", "302"]
    );
    // A field that is not in the model has no values at all.
    assert_eq!(pids("Processes.no_such_field!=x"), Vec::<String>::new());
    assert_eq!(pids("NOT Processes.no_such_field=x"), s(ALL));
    // Field names are case-sensitive, as in Splunk.
    assert_eq!(pids("processes.process_name=net.exe"), Vec::<String>::new());
}

#[test]
fn fillnull_value_keeps_null_groups_and_its_absence_drops_them() {
    let by = "by Processes.process_id Processes.process_hash";
    assert_table(
        &q(&format!("| tstats count from {DM} {by}")),
        &["Processes.process_id", "Processes.process_hash", "count"],
        &[
            &["100", "MD5=AAA", "1"],
            &["102", "MD5=BBB", "1"],
            &["200", "MD5=CCC", "1"],
            &["202", "MD5=DDD", "1"],
        ],
    );
    let with_null: Vec<Vec<String>> = ALL
        .iter()
        .map(|p| {
            let h = match *p {
                "100" => "MD5=AAA",
                "102" => "MD5=BBB",
                "200" => "MD5=CCC",
                "202" => "MD5=DDD",
                _ => "null",
            };
            s(&[p, h, "1"])
        })
        .collect();
    let t = q(&format!(
        "| tstats fillnull_value=null count from {DM} {by}"
    ));
    assert_eq!(cells(&t), with_null);
    // ESCU's configuration macro sets the same.
    let t = q(&format!(
        "| tstats `security_content_summariesonly` count from {DM} {by}"
    ));
    assert_eq!(cells(&t), with_null);
    let t = q(&format!(
        "| tstats fillnull_value=\"N/A\" count from {DM} {by}"
    ));
    assert_eq!(column(&t, "Processes.process_hash")[1], "N/A");

    // The nonexistent by-field `temp`: kept as `null`, or every row dropped.
    assert_table(
        &q(&format!(
            "| tstats fillnull_value=null count from {DM} by Processes.dest temp"
        )),
        &["Processes.dest", "temp", "count"],
        &[
            &["H1", "null", "3"],
            &["H2", "null", "3"],
            &["H3", "null", "3"],
        ],
    );
    assert_table(
        &q(&format!("| tstats count from {DM} by Processes.dest temp")),
        &["Processes.dest", "temp", "count"],
        &[],
    );
}

#[test]
fn values_are_sorted_and_distinct_and_dc_counts_them() {
    let t = q(&format!(
        "| tstats values(Processes.process_name) as names dc(Processes.process_name) as n \
         values(Processes.original_file_name) dc(Processes.user) count from {DM} by Processes.dest"
    ));
    assert_table(
        &t,
        &[
            "Processes.dest",
            "names",
            "n",
            "values(Processes.original_file_name)",
            "dc(Processes.user)",
            "count",
        ],
        &[
            &[
                "H1",
                "net.exe\nnet1.exe",
                "2",
                "net.exe\nnet1.exe",
                "2",
                "3",
            ],
            &[
                "H2",
                "cmd.exe\npowershell.exe\nwhoami.exe",
                "3",
                // Byte order: upper case sorts before lower case.
                "Cmd.Exe\nPowerShell.EXE\nwhoami.exe",
                "2",
                "3",
            ],
            &[
                "H3",
                "notepad.exe\npowershell.exe\nreg.exe",
                "3",
                "NOTEPAD.EXE\nPowerShell.EXE\nreg.exe",
                "3",
                "3",
            ],
        ],
    );
    // Multi-values render as one quoted CSV cell, joined by newlines.
    let csv = to_csv(&t);
    assert!(
        csv.contains("H1,\"net.exe\nnet1.exe\",2,\"net.exe\nnet1.exe\",2,3\n"),
        "{csv}"
    );
}

#[test]
fn count_of_a_field_counts_events_that_have_it() {
    assert_table(
        &q(&format!(
            "| tstats count(Processes.process_hash) as hashed count from {DM} by Processes.dest"
        )),
        &["Processes.dest", "hashed", "count"],
        &[&["H1", "2", "3"], &["H2", "2", "3"], &["H3", "0", "3"]],
    );
}

#[test]
fn latest_and_earliest_follow_time() {
    assert_table(
        &q(&format!(
            "| tstats latest(Processes.process_id) as last earliest(Processes.process_id) as first \
             from {DM} by Processes.dest"
        )),
        &["Processes.dest", "last", "first"],
        &[
            &["H1", "102", "100"],
            &["H2", "202", "200"],
            &["H3", "302", "300"],
        ],
    );
}

#[test]
fn time_buckets_by_span() {
    // 2024-01-01T00:00:00Z = 1704067200.
    assert_table(
        &q(&format!("| tstats count from {DM} by _time span=1h")),
        &["_time", "count"],
        &[
            &["1704067200", "3"],
            &["1704070800", "1"],
            &["1704074400", "2"],
            &["1704078000", "3"],
        ],
    );
    assert_table(
        &q(&format!("| tstats count from {DM} by _time span=30m")),
        &["_time", "count"],
        &[
            &["1704067200", "3"],
            &["1704072600", "1"],
            &["1704074400", "2"],
            &["1704078000", "1"],
            &["1704079800", "2"],
        ],
    );
}

#[test]
fn min_max_time_become_ctime_strings() {
    let spl = format!(
        "| tstats min(_time) as firstTime max(_time) as lastTime count from {DM} by Processes.dest"
    );
    // Epoch seconds (sub-second part dropped: 00:00:05.250 and 00:20:00.500).
    assert_table(
        &q(&spl),
        &["Processes.dest", "firstTime", "lastTime", "count"],
        &[
            &["H1", "1704067205", "1704068400", "3"],
            &["H2", "1704072600", "1704075300", "3"],
            &["H3", "1704078000", "1704080700", "3"],
        ],
    );
    let t = q(&format!(
        "{spl} | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)` \
         | `security_content_ctime(lastTime)`"
    ));
    assert_table(
        &t,
        &["dest", "firstTime", "lastTime", "count"],
        &[
            &["H1", "2024-01-01T00:00:05", "2024-01-01T00:20:00", "3"],
            &["H2", "2024-01-01T01:30:00", "2024-01-01T02:15:00", "3"],
            &["H3", "2024-01-01T03:00:00", "2024-01-01T03:45:00", "3"],
        ],
    );
}

#[test]
fn xml_entities_in_a_query_match_the_decoded_text() {
    assert_eq!(pids(r#"Processes.process="*2&gt;&amp;1*""#), ["201"]);
    assert_eq!(pids(r#"Processes.process="*2>&1*""#), ["201"]);
    assert_eq!(
        pids(r#"Processes.process="cmd /c dir 2&gt;&amp;1""#),
        ["201"]
    );
    assert_eq!(
        pids(r#"Processes.process="*2&gt;&amp;2*""#),
        Vec::<String>::new()
    );
}

#[test]
fn values_match_case_insensitively() {
    assert_eq!(
        pids("Processes.original_file_name=PowerShell.EXE"),
        ["202", "302"]
    );
    assert_eq!(pids("Processes.original_file_name=cmd.exe"), ["201"]);
    assert_eq!(
        pids(r#"Processes.process_name="POWERSHELL.exe""#),
        ["202", "302"]
    );
    assert_eq!(pids("Processes.user=ALICE"), ["100", "101"]);
    // ...while the values keep their case.
    let t = q(&format!(
        "| tstats count from {DM} where Processes.process_id=201 by Processes.original_file_name"
    ));
    assert_eq!(column(&t, "Processes.original_file_name"), ["Cmd.Exe"]);
}

#[test]
fn unicode_values_fold_case() {
    assert_eq!(pids("Processes.user=élodie"), ["300"]);
    assert_eq!(pids("Processes.user=ÉLODIE"), ["300"]);
    assert_eq!(pids(r#"Processes.process="*\\ÉTÉ.TXT""#), ["300"]);
    assert_eq!(pids(r#"Processes.process="*users\\élodie\\*""#), ["300"]);
    assert_eq!(pids("Processes.user=É*"), ["300"]);
    let t = q(&format!(
        "| tstats count from {DM} where Processes.user=élodie by Processes.user"
    ));
    assert_eq!(column(&t, "Processes.user"), ["Élodie"]);
}

#[test]
fn wildcards_anywhere() {
    assert_eq!(pids("Processes.process_name=net*"), ["100", "101", "102"]);
    assert_eq!(pids(r#"Processes.process="*administrators""#), ["100"]);
    assert_eq!(
        pids(r#"Processes.process_name="n*.exe""#),
        ["100", "101", "102", "300"]
    );
    assert_eq!(
        pids("Processes.process=*localgroup*"),
        ["100", "101", "200"]
    );
    assert_eq!(pids("Processes.process=net*group*/add"), ["101"]);
    assert_eq!(pids("Processes.process=**/domain**"), ["102"]);
    assert_eq!(pids("Processes.process_name=*"), s(ALL));
    // Without `*` a value is whole, not a substring.
    assert_eq!(pids("Processes.process_name=net"), Vec::<String>::new());
}

#[test]
fn in_lists_with_globs() {
    assert_eq!(
        pids(r#"Processes.process_name IN ("whoami.exe", "note*", REG.EXE)"#),
        ["200", "300", "301"]
    );
    assert_eq!(
        pids(r#"Processes.process IN ("*localgroup*", "*/domain") Processes.dest=H1"#),
        ["100", "101", "102"]
    );
    assert_eq!(
        pids(r#"NOT Processes.process_name IN (net.exe, net1.exe, "*.exe")"#),
        Vec::<String>::new()
    );
}

#[test]
fn backslash_and_quote_escapes_in_values() {
    // `\\` is one backslash.
    assert_eq!(pids(r#"Processes.process="*HKLM\\SAM*""#), ["301"]);
    assert_eq!(
        pids(r#"Processes.process_path="C:\\Windows\\System32\\reg.exe""#),
        ["301"]
    );
    // Any other backslash is literal: `\S` is `\S`.
    assert_eq!(pids(r#"Processes.process="*HKLM\SAM*""#), ["301"]);
    // `\"` is a quote.
    assert_eq!(pids(r#"Processes.process="*-c \"Get-Date\"""#), ["202"]);
    // Two backslashes in the data need four in the query.
    assert_eq!(
        pids(r#"Processes.process="*HKLM\\\\SAM*""#),
        Vec::<String>::new()
    );
}

// ------------------------------------------------- values over 16 KiB

/// The long command lines, by pid. The index keeps the first 16 KiB of a
/// value as its search term (`MAX_TERM_BYTES`) and checks longer values
/// against the whole value, so these must still match on their full text.
fn long_values() -> Vec<(&'static str, String)> {
    vec![
        // 40 KB: over the term limit, under 64 KiB.
        (
            "1",
            format!(
                "cmd.exe /c {} pin-42 {}",
                "C".repeat(40_000),
                "D".repeat(50)
            ),
        ),
        // 100 KB, the needle near the end.
        (
            "2",
            format!(
                "powershell.exe -c {} needle-xyz {}",
                "A".repeat(100_000),
                "B".repeat(100)
            ),
        ),
        // The same first 100,000 bytes as pid 2, another ending.
        (
            "3",
            format!(
                "powershell.exe -c {} other {}",
                "A".repeat(100_000),
                "B".repeat(100)
            ),
        ),
        // 70 KB of two-byte UTF-8.
        ("4", format!("cmd /c echo {} fin", "é".repeat(35_000))),
    ]
}

fn long_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = scratch("semantics-long");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let cmd = "C:\\Windows\\System32\\cmd.exe";
        let mut text = String::new();
        for (i, (pid, line)) in long_values().iter().enumerate() {
            let image = if line.starts_with("powershell") {
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
            } else {
                cmd
            };
            let e = sysmon(
                i as u64 + 1,
                "L1",
                "05:00:00.000",
                image,
                line,
                "DOM\\eve",
                pid,
                "9",
                cmd,
                "x.exe",
                None,
            );
            text.push_str(&e.to_string());
            text.push('\n');
        }
        std::fs::write(data.join("long.json"), text).unwrap();
        let (process_events, skipped) = build_index(&[data], &dir.join("index"));
        assert_eq!((process_events, skipped), (4, 0));
        Engine::open(&dir.join("index")).unwrap()
    })
}

/// Pids of the long-value events matching `where_clause`.
fn long_pids(where_clause: &str) -> Vec<String> {
    let t = run(
        long_engine(),
        &format!("| tstats count from {DM} where {where_clause} by Processes.process_id"),
        &MacroSet::builtin(),
    );
    column(&t, "Processes.process_id")
}

fn long_value(pid: &str) -> String {
    long_values()
        .into_iter()
        .find(|(p, _)| *p == pid)
        .map(|(_, v)| v)
        .unwrap()
}

/// `Processes.process` grouped for one pid (fillnull: a lost value shows
/// as `null` instead of dropping the row).
fn long_grouped(pid: &str) -> Vec<String> {
    let t = run(
        long_engine(),
        &format!(
            "| tstats fillnull_value=null count from {DM} where Processes.process_id={pid} by Processes.process"
        ),
        &MacroSet::builtin(),
    );
    column(&t, "Processes.process")
}

#[test]
fn a_40_kb_command_line_matches_on_its_full_text() {
    let v = long_value("1");
    assert!(v.len() > 40_000 && v.len() < 65_000);
    assert_eq!(long_pids("Processes.process=*pin-42*"), ["1"]);
    assert_eq!(long_pids("Processes.process=*PIN-42*dddd"), ["1"]);
    assert_eq!(long_pids("Processes.process=\"cmd.exe /c CCCC*\""), ["1"]);
    assert_eq!(long_pids("Processes.process=*DDDD"), ["1"]);
    assert_eq!(long_pids(&format!("Processes.process=\"{v}\"")), ["1"]);
    // Patterns that only the indexed first 16 KiB would match.
    assert_eq!(long_pids("Processes.process=*CCCC"), Vec::<String>::new());
    assert_eq!(
        long_pids("Processes.process=\"cmd.exe /c C*C\""),
        Vec::<String>::new()
    );
    assert_eq!(long_grouped("1"), [v]);
}

/// A value longer than the indexed-term limit (16 KiB) is indexed under its
/// cut prefix: an exact value equal to that prefix must still not match it
/// (nor `!=` exclude it); such values are verified against the full text.
#[test]
fn an_exact_value_equal_to_the_cut_term_does_not_match_the_longer_value() {
    let v = long_value("1");
    let cut = &v[..evidx_schema::MAX_TERM_BYTES];
    assert_eq!(
        long_pids(&format!("Processes.process=\"{cut}\"")),
        Vec::<String>::new(),
        "the exact 16 KiB prefix matched the 40 KB value"
    );
    assert_eq!(
        long_pids(&format!("Processes.process!=\"{cut}\"")),
        ["1", "2", "3", "4"],
        "`!=` the 16 KiB prefix excluded the 40 KB value"
    );
}

/// tantivy's fast-field dictionary keeps at most 65,535 bytes of a value: a
/// 100 KB command line must still match on its full text, not match on a
/// cut, and two command lines sharing their first 64 KiB stay two groups
/// whose values are the full texts.
#[test]
fn a_100_kb_command_line_matches_and_groups_on_its_full_text() {
    let (v2, v3) = (long_value("2"), long_value("3"));
    assert!(v2.len() > 100_000);
    assert_eq!(long_pids("Processes.process=*needle-xyz*"), ["2"]);
    assert_eq!(long_pids("Processes.process=*NEEDLE-XYZ*BBB"), ["2"]);
    assert_eq!(long_pids("Processes.process=*BBBB"), ["2", "3"]);
    assert_eq!(long_pids(&format!("Processes.process=\"{v2}\"")), ["2"]);
    // Only the first 64 KiB ends in `A`s.
    assert_eq!(long_pids("Processes.process=*AAAA"), Vec::<String>::new());
    assert_eq!(long_grouped("2"), std::slice::from_ref(&v2));
    let t = run(
        long_engine(),
        &format!(
            "| tstats count from {DM} where Processes.process=\"powershell.exe -c A*\" by Processes.process"
        ),
        &MacroSet::builtin(),
    );
    let mut want = vec![v2, v3];
    want.sort();
    assert_eq!(
        column(&t, "Processes.process"),
        want,
        "two values, two groups"
    );
}

/// A 65,535-byte cut would split a two-byte character of a 70 KB non-ASCII
/// command line: the event must still be found and grouped on its text.
#[test]
fn a_70_kb_non_ascii_command_line_is_not_lost() {
    let v = long_value("4");
    assert!(v.len() > 70_000);
    assert_eq!(long_pids("Processes.process=*é*"), ["4"]);
    assert_eq!(long_pids("Processes.process=\"*ÉÉ fin\""), ["4"]);
    assert_eq!(long_grouped("4"), [v]);
}

#[test]
fn post_commands() {
    let base =
        format!("| tstats count from {DM} by Processes.user | rename Processes.user as user");
    assert_table(
        &q(&format!("{base} | where count > 1")),
        &["user", "count"],
        &[&["alice", "2"], &["bob", "2"], &["carol", "2"]],
    );
    assert_table(
        &q(&format!("{base} | search user=al*")),
        &["user", "count"],
        &[&["alice", "2"]],
    );
    assert_table(
        &q(&format!(
            "{base} | search user!=al* count<2 | table count user"
        )),
        &["count", "user"],
        &[&["1", "SYSTEM"], &["1", "dave"], &["1", "Élodie"]],
    );
    let parents = format!(
        "| tstats count from {DM} by Processes.parent_process_name \
         | rename Processes.parent_process_name as parent, count as n"
    );
    assert_table(
        &q(&parents),
        &["parent", "n"],
        &[&["cmd.exe", "7"], &["explorer.exe", "2"]],
    );
    assert_table(
        &q(&format!("{parents} | sort n")),
        &["parent", "n"],
        &[&["explorer.exe", "2"], &["cmd.exe", "7"]],
    );
    assert_table(
        &q(&format!("{parents} | sort + n | sort - n | head 1")),
        &["parent", "n"],
        &[&["cmd.exe", "7"]],
    );
    assert_table(
        &q(&format!(
            "| tstats count from {DM} by Processes.process_id Processes.process \
             | `drop_dm_object_name(Processes)` \
             | regex process=\"^net1?\\s+(localgroup|user)\" | table process_id"
        )),
        &["process_id"],
        &[&["100"], &["101"], &["102"]],
    );
}

fn query_error(spl: &str) -> QueryError {
    match engine().run_text(spl, &MacroSet::builtin()) {
        Ok(t) => panic!("{spl}: expected an error, got {:?}", cells(&t)),
        Err(e) => e,
    }
}

/// The error's span, and the text it points into.
fn span_of(e: &QueryError) -> (std::ops::Range<usize>, String) {
    match e {
        QueryError::Spl(s) => (s.span.clone(), s.text.clone()),
        QueryError::Unsupported { span, text, .. } => (span.clone(), text.clone()),
        other => panic!("not a query error with a span: {other:?}"),
    }
}

#[test]
fn bad_queries_are_errors_that_point_into_the_text() {
    let cases: &[(&str, &str)] = &[
        (
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest | outputlookup foo",
            "outputlookup",
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest | lookup foo bar OUTPUT baz",
            "lookup foo bar OUTPUT baz",
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes where (Processes.process_name=net.exe by Processes.dest",
            "",
        ),
        ("| tstats count from datamodel=Network_Traffic by All_Traffic.dest", ""),
        (
            "| tstats count from datamodel=Endpoint.Processes where Processes.process_id>5",
            "",
        ),
        ("| stats count by host", "stats"),
        // Every data model is checked before any subsearch runs: the
        // lookup of the first subsearch is never read.
        (
            "| tstats count from datamodel=Endpoint.Processes where [| inputlookup foo] by Processes.dest \
             | join dest [| tstats count from datamodel=Endpoint.Registry by Registry.dest]",
            "tstats count from datamodel=Endpoint.Registry by Registry.dest",
        ),
    ];
    for (spl, points_at) in cases {
        let e = query_error(spl);
        assert!(e.is_query_error(), "{spl}: {e:?}");
        let (span, text) = span_of(&e);
        assert_eq!(text, *spl, "no macros: the span is in the text as given");
        assert!(
            span.start <= span.end && span.end <= text.len(),
            "{spl}: span {span:?} outside the text"
        );
        if !points_at.is_empty() {
            assert_eq!(&text[span.clone()], *points_at, "{spl}");
        }
        // The rendered error names the line and draws the caret.
        let msg = e.to_string();
        assert!(msg.contains("line 1, column"), "{msg}");
        assert!(msg.contains('^'), "{msg}");
    }
    assert!(matches!(
        query_error(cases[0].0),
        QueryError::Spl(ref s) if s.message.contains("outputlookup")
    ));
    assert!(matches!(
        query_error(cases[1].0),
        QueryError::Unsupported { ref message, .. } if message.contains("lookup `foo` is not defined")
    ));
    assert!(matches!(
        query_error(cases[3].0),
        QueryError::Unsupported { ref message, .. } if message.contains("Network_Traffic")
    ));
    assert!(matches!(
        query_error(cases[6].0),
        QueryError::Unsupported { ref message, .. } if message.contains("datamodel=Endpoint.Registry")
    ));
}

/// A subsearch's result is cut to the limit (Splunk's maxout), with a
/// warning naming the subsearch and its row count; a `join` subsearch to
/// its own limit; with no limits, every row is used.
#[test]
fn subsearch_results_are_cut_to_the_limit_with_a_warning() {
    let run_with = |limits: SubsearchLimits, text: &str| {
        let mut e = Engine::open(index_dir()).unwrap();
        e.set_subsearch_limits(limits);
        let query = spl::parse_query(text, &MacroSet::builtin()).unwrap();
        let warnings = Mutex::new(Vec::new());
        let mut table = Table::default();
        e.run_reporting(&query, &mut table, &|w| warnings.lock().unwrap().push(w))
            .unwrap();
        (table, warnings.into_inner().unwrap())
    };
    let by_pid = format!("| tstats count from {DM} by Processes.process_id");
    let filter = format!(
        "| tstats count from {DM} where [{by_pid} | fields Processes.process_id] by Processes.process_id"
    );
    let limit = |rows, join_rows| SubsearchLimits { rows, join_rows };
    for limits in [
        SubsearchLimits::default(),
        SubsearchLimits::none(),
        limit(9, 0),
    ] {
        let (t, w) = run_with(limits, &filter);
        assert_eq!(column(&t, "Processes.process_id"), s(ALL), "{limits:?}");
        assert!(w.is_empty(), "{w:?}");
    }
    let (t, w) = run_with(limit(2, usize::MAX), &filter);
    assert_eq!(column(&t, "Processes.process_id"), s(&["100", "101"]));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("gave 9 rows") && w[0].contains("first 2") && w[0].contains("[| tstats"),
        "{}",
        w[0]
    );
    let join = format!(
        "{by_pid} | join type=inner Processes.process_id [{by_pid} | eval n=count | fields Processes.process_id n]"
    );
    let (t, w) = run_with(SubsearchLimits::default(), &join);
    assert_eq!((t.rows.len(), w.len()), (9, 0));
    let (t, w) = run_with(limit(usize::MAX, 4), &join);
    assert_eq!(column(&t, "Processes.process_id"), s(&ALL[..4]));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("first 4"), "{}", w[0]);
}

/// An `inputlookup` subsearch with null cells and `unknown` values, by
/// hand: a null cell is left out of its row's AND (the row matches any
/// value of that field), `unknown` is a value like any other (it does not
/// match an event that has no value), and a lookup with no rows matches
/// nothing (Splunk's `NOT ()`).
#[test]
fn inputlookup_subsearch_rows_with_null_and_unknown_cells() {
    let hash_of = |pid: &str| {
        let t = q(&format!(
            "| tstats count from {DM} where Processes.process_id={pid} by Processes.process_hash"
        ));
        column(&t, "Processes.process_hash")
    };
    // Event 102 has a hash, 101 has none.
    let (hash_102, hash_101) = (hash_of("102"), hash_of("101"));
    assert_eq!(hash_102.len(), 1, "{hash_102:?}");
    assert!(hash_101.is_empty(), "{hash_101:?}");

    let dir = scratch("semantics-lookups");
    let csv = format!(
        "Processes.process_id,Processes.process_hash\n100,\n101,unknown\n102,{}\n201,MD5=NOPE\n300,\n",
        hash_102[0]
    );
    std::fs::write(dir.join("pids.csv"), csv).unwrap();
    std::fs::write(dir.join("pids.yml"), "name: pids\nfilename: pids.csv\n").unwrap();
    std::fs::write(dir.join("none.csv"), "Processes.process_id\n").unwrap();
    std::fs::write(dir.join("none.yml"), "name: none\nfilename: none.csv\n").unwrap();
    let mut e = Engine::open(index_dir()).unwrap();
    e.set_lookups(evidx_query::lookups::LookupStore::load_dir(&dir).unwrap());
    let pids_of = |sub: &str| {
        let t = run(
            &e,
            &format!("| tstats count from {DM} where [{sub}] by Processes.process_id"),
            &MacroSet::builtin(),
        );
        column(&t, "Processes.process_id")
    };
    assert_eq!(pids_of("| inputlookup pids"), s(&["100", "102", "300"]));
    assert_eq!(
        pids_of("| inputlookup pids where Processes.process_hash=*"),
        s(&["102"])
    );
    assert!(pids_of("| inputlookup none").is_empty());
    // The same rows written by hand as the search Splunk expands them to.
    assert_eq!(
        pids(&format!(
            "(Processes.process_id=100) OR (Processes.process_id=101 Processes.process_hash=unknown) OR (Processes.process_id=102 Processes.process_hash=\"{}\") OR (Processes.process_id=201 Processes.process_hash=\"MD5=NOPE\") OR (Processes.process_id=300)",
            hash_102[0]
        )),
        s(&["100", "102", "300"])
    );
}
