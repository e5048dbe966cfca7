//! Every input format and JSON shape, on real files from `../shared` and on
//! fixtures the project writes: the same event gives the same row whichever
//! format it came in.

use std::path::{Path, PathBuf};

use evidx_index::inspect::{file_rows, FileRows};
use evidx_index::normalize::ProcessRow;
use evidx_index::parse::Format;
use evidx_schema::Cim;

mod common;

use common::{fixture, gzip, shared, tar};

fn rows(p: &Path) -> FileRows {
    file_rows(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Rows with `_time` cut to whole seconds (the precision tstats works at;
/// exports differ below it).
fn at_seconds(rows: &[ProcessRow]) -> Vec<ProcessRow> {
    let mut out: Vec<ProcessRow> = rows
        .iter()
        .cloned()
        .map(|mut r| {
            r.time = r.time.map(|t| t.div_euclid(1_000_000));
            r
        })
        .collect();
    out.sort_by(|a, b| a.values.cmp(&b.values));
    out
}

/// `(case, CIM field)` pairs whose value the JSON export of the Sigma
/// regression data changed (it trimmed trailing spaces), from
/// `datasets/fixtures/sigma-json-export-differences.tsv`.
fn export_trimmed_trailing_space() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets/fixtures/sigma-json-export-differences.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((cols.next()?.to_string(), cols.next()?.to_string()))
        })
        .collect()
}

#[test]
fn sigma_cases_give_the_same_rows_from_evtx_and_json() {
    let dir = shared("sigma-regression");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("events.evtx").exists())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 40,
        "expected the 40 Sigma cases, found {}",
        cases.len()
    );
    let exceptions = export_trimmed_trailing_space();
    let mut exceptions_seen = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_str().unwrap();
        let evtx = rows(&case.join("events.evtx"));
        let json = rows(&case.join("events.json"));
        assert_eq!(evtx.format, Some(Format::Evtx));
        assert_eq!(json.format, Some(Format::Json));
        assert!(
            evtx.skips.is_empty() && json.skips.is_empty(),
            "{name}: skips"
        );
        assert!(
            !evtx.rows.is_empty(),
            "{name}: no process creation in events.evtx"
        );
        assert_eq!(evtx.rows.len(), json.rows.len(), "{name}: row counts");
        let (mut e, j) = (at_seconds(&evtx.rows), at_seconds(&json.rows));
        // Apply the named export difference to the EVTX side, then the rows
        // must be identical.
        for row in &mut e {
            for (i, f) in evidx_schema::CIM_FIELDS.iter().enumerate() {
                if exceptions.iter().any(|(c, x)| c == name && x == f) {
                    if let Some(v) = &mut row.values[i] {
                        if v.ends_with(' ') {
                            *v = v.trim_end().to_string();
                            exceptions_seen.push((name.to_string(), f.to_string()));
                        }
                    }
                }
            }
        }
        e.sort_by(|a, b| a.values.cmp(&b.values));
        assert_eq!(e, j, "{name}: EVTX and JSON rows differ");
    }
    for (case, field) in &exceptions {
        assert!(
            exceptions_seen.iter().any(|(c, f)| c == case && f == field),
            "exception ({case}, {field}) is listed but no longer needed"
        );
    }
}

#[test]
fn winlogbeat_ecs_fixture_matches_the_evtx_dump_of_the_same_event() {
    let ecs = rows(&fixture("winlogbeat8-ecs.ndjson"));
    assert_eq!(ecs.records, 2);
    let sysmon: Vec<&ProcessRow> = ecs.rows.iter().filter(|r| r.event_code == 1).collect();
    assert_eq!(sysmon.len(), 1);
    let dump = rows(&shared(
        "sigma-regression/proc_creation_win_certutil_decode/events.json",
    ));
    let want = at_seconds(&dump.rows[..1]);
    assert_eq!(at_seconds(&[sysmon[0].clone()]), want);
    assert_eq!(
        sysmon[0].get(Cim::ProcessGuid),
        Some("{5AA13A44-0130-68FD-4E35-000000004002}")
    );
}

#[test]
fn security_4688_is_the_same_row_in_ecs_evtx_dump_array_and_xml() {
    let ecs = rows(&fixture("winlogbeat8-ecs.ndjson"));
    let ecs_4688: Vec<ProcessRow> = ecs
        .rows
        .into_iter()
        .filter(|r| r.event_code == 4688)
        .collect();
    let dump = rows(&fixture("security-4688.evtx_dump-array.json"));
    let xml = rows(&fixture("security-4688.xml"));
    assert_eq!(xml.format, Some(Format::Xml));
    assert_eq!(at_seconds(&ecs_4688), at_seconds(&dump.rows));
    assert_eq!(
        dump.rows, xml.rows,
        "evtx_dump and XML carry the same microseconds"
    );
    let r = &xml.rows[0];
    assert_eq!(r.get(Cim::User), Some("FS03$"));
    assert_eq!(r.get(Cim::ProcessId), Some("0xef4"));
    assert_eq!(r.get(Cim::ParentProcessName), Some("services.exe"));
    assert_eq!(r.get(Cim::Action), Some("allowed"));
    // Not a path as first token: the add-on rebuilds `process` from the image.
    assert_eq!(
        r.get(Cim::Process),
        Some("C:\\Windows\\System32\\cmd.exe /c powershell -command \"Get-Service \"seg1\" | select -Expand DisplayName >> out.txt 2>&1\"")
    );
}

#[test]
fn json_shapes_from_real_exports() {
    // (file, shape, Sysmon 1, Security 4688) as counted in MANIFEST.md.
    for (file, s1, s4688) in [
        ("splunk-attack-data/T1027_nxlog_attack_data.json", 324, 0),
        (
            "otrf-security-datasets/schtask_modification_2020-12-1907505969.json",
            15,
            13,
        ),
        (
            "otrf-security-datasets/empire_uac_shellapi_fodhelper_2020-09-04032946.json",
            18,
            18,
        ),
        (
            "otrf-security-datasets/empire_enable_rdp_2019-05-18203650.json",
            11,
            11,
        ),
    ] {
        let r = rows(&shared(&format!("datasets/{file}")));
        let got = (
            r.rows.iter().filter(|x| x.event_code == 1).count(),
            r.rows.iter().filter(|x| x.event_code == 4688).count(),
        );
        assert_eq!(got, (s1, s4688), "{file}");
        assert!(
            r.skips.is_empty(),
            "{file}: {:?}",
            &r.skips[..r.skips.len().min(3)]
        );
        for row in &r.rows {
            assert!(row.time.is_some(), "{file}: a row without _time");
            assert!(
                row.get(Cim::ProcessId).is_some(),
                "{file}: a row without process_id"
            );
        }
    }
}

#[test]
fn nxlog_keeps_sysmon_process_id_despite_its_own_processid_field() {
    let r = rows(&shared(
        "datasets/splunk-attack-data/T1027_nxlog_attack_data.json",
    ));
    let ids: std::collections::BTreeSet<&str> = r
        .rows
        .iter()
        .filter_map(|x| x.get(Cim::ProcessId))
        .collect();
    // NXLog's own ProcessID is the Sysmon service (2740 on this host); the
    // real process ids come from the Message text.
    assert!(ids.len() > 100, "process ids collapsed: {}", ids.len());
}

#[test]
fn splunk_xml_export_skips_and_counts_classic_text_events() {
    let r = rows(&shared(
        "datasets/splunk-attack-data/certutil_exe_certificate_extraction.raw",
    ));
    assert_eq!(r.format, Some(Format::Xml));
    assert_eq!(r.rows.iter().filter(|x| x.event_code == 1).count(), 20);
    assert_eq!(r.rows.iter().filter(|x| x.event_code == 4688).count(), 20);
    assert_eq!(
        r.skips.len(),
        19,
        "MANIFEST.md: 19 classic multi-line text events"
    );
    for s in &r.skips {
        assert!(s.reason.contains("classic"), "{s:?}");
        assert!(s.line.is_some(), "{s:?}");
    }
    // XML entities are decoded, as EVTX yields them.
    assert!(r
        .rows
        .iter()
        .all(|x| !x.get(Cim::Process).unwrap_or("").contains("&amp;")));
}

#[test]
fn archives_of_each_kind_give_the_rows_of_their_members() {
    let dir = tempfile::tempdir().unwrap();
    let evtx_path =
        shared("sigma-regression/proc_creation_win_reg_system_restore_modification/events.evtx");
    let json_path =
        shared("datasets/otrf-security-datasets/schtask_modification_2020-12-1907505969.json");
    let evtx = std::fs::read(&evtx_path).unwrap();
    let json = std::fs::read(&json_path).unwrap();
    let want_evtx = rows(&evtx_path).rows;
    let want_json = rows(&json_path).rows;

    let gz = dir.path().join("a.json.gz");
    std::fs::write(&gz, gzip(&json)).unwrap();
    assert_eq!(rows(&gz).rows, want_json, ".gz");

    // XML lines with classic events, streamed from gzip in blocks.
    let raw_path = shared("datasets/splunk-attack-data/certutil_exe_certificate_extraction.raw");
    let raw = rows(&raw_path);
    let xml_gz = dir.path().join("x.raw.gz");
    std::fs::write(&xml_gz, gzip(&std::fs::read(&raw_path).unwrap())).unwrap();
    let streamed = rows(&xml_gz);
    assert_eq!(streamed.rows, raw.rows, ".gz of XML lines");
    assert_eq!(streamed.skips.len(), raw.skips.len());

    let zst = dir.path().join("a.evtx.zst");
    std::fs::write(&zst, zstd::encode_all(&evtx[..], 3).unwrap()).unwrap();
    assert_eq!(
        rows(&zst).rows,
        want_evtx,
        ".zst of EVTX (streamed chunk by chunk)"
    );

    let tar = tar(&[("logs/x.evtx", &evtx), ("logs/y.json", &json)]);
    let mut both = [want_evtx.clone(), want_json.clone()].concat();
    both.sort_by(|a, b| a.values.cmp(&b.values).then(a.time.cmp(&b.time)));
    let t = dir.path().join("a.tar");
    std::fs::write(&t, &tar).unwrap();
    assert_eq!(rows(&t).rows, both, ".tar");
    let tgz = dir.path().join("a.tgz");
    std::fs::write(&tgz, gzip(&tar)).unwrap();
    assert_eq!(rows(&tgz).rows, both, ".tar.gz");

    // Real archives from ../shared: zip and tar.gz of NDJSON.
    let zip = rows(&shared(
        "datasets/otrf-security-datasets/purplesharp_ad_playbook_I.zip",
    ));
    assert_eq!(zip.format, Some(Format::Zip));
    assert_eq!(zip.rows.iter().filter(|x| x.event_code == 1).count(), 24);
    let tgz = rows(&shared(
        "datasets/splunk-attack-data/T1053.005_attack_data.tar.gz",
    ));
    assert_eq!(tgz.rows.iter().filter(|x| x.event_code == 1).count(), 329);
}

#[test]
fn corrupt_archives_and_truncated_streams_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let json = std::fs::read(shared(
        "datasets/otrf-security-datasets/schtask_modification_2020-12-1907505969.json",
    ))
    .unwrap();
    let mut gz = gzip(&json);
    gz.truncate(gz.len() / 2);
    let p = dir.path().join("cut.json.gz");
    std::fs::write(&p, &gz).unwrap();
    let r = rows(&p);
    assert!(!r.rows.is_empty(), "the readable half is indexed");
    assert!(
        r.skips.iter().any(|s| s.reason.contains("unreadable")),
        "{:?}",
        r.skips
    );

    let p = dir.path().join("garbage.zip");
    std::fs::write(&p, b"PK\x03\x04 this is not a zip").unwrap();
    let r = rows(&p);
    assert!(r.rows.is_empty());
    assert_eq!(r.skips.len(), 1);

    let p = dir.path().join("lines.json");
    let lines: &[u8] = b"{\"EventID\":1,\"SourceName\":\"Microsoft-Windows-Sysmon\",\"Image\":\"C:\\\\a.exe\"}\n{broken\n\n{\"EventID\":1,\"SourceName\":\"Microsoft-Windows-Sysmon\"}\n";
    std::fs::write(&p, lines).unwrap();
    let r = rows(&p);
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.skips.len(), 1);
    assert_eq!(r.skips[0].line, Some(2));
    let second_line = lines.iter().position(|&b| b == b'\n').unwrap() + 1;
    assert_eq!(r.skips[0].offset, second_line as u64);
}
