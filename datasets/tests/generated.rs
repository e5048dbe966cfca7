//! End-to-end checks of generated collections: the `evtx` crate reads every EVTX file with
//! checksum validation and zero errors, rendered values equal the generator's model, output is
//! deterministic, all formats carry the same events, and the expected table is exactly the
//! planted positives.

use evidx_gen::cim::{getnettcpconnection_with_powershell, processes_row, Table};
use evidx_gen::gen::FileGen;
use evidx_gen::model::{Event, Value};
use evidx_gen::plan::Plan;
use evidx_gen::plant::Expect;
use evidx_gen::{Format, RunConfig, Summary};
use evtx::{EvtxParser, ParserSettings};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn config(format: Format, out: &Path) -> RunConfig {
    RunConfig {
        seed: 42,
        size: 0,
        events: Some(5_000),
        format,
        out: out.to_path_buf(),
        planted: Some(14),
        hosts: Some(4),
        days: Some(2),
        start_day: evidx_gen::time::days_from_civil(2024, 2, 28),
    }
}

fn generate(format: Format, dir: &Path) -> Summary {
    evidx_gen::run(&config(format, dir)).expect("generation succeeds")
}

/// The generator-side events of every file, in file order.
fn model_events(cfg: &RunConfig) -> (Plan, Vec<Vec<Event>>) {
    let plan = Plan::new(&cfg.plan_config());
    let events = (0..plan.files.len())
        .map(|i| FileGen::new(&plan.world, &plan.files[i], &plan.placed[i]).collect())
        .collect();
    (plan, events)
}

/// How evtx 0.15 renders a value in JSON.
fn evtx_json(v: &Value) -> J {
    match v {
        Value::Str(s) => J::from(s.as_str()),
        Value::U8(x) => J::from(*x),
        Value::U16(x) => J::from(*x),
        Value::U32(x) => J::from(*x),
        Value::I32(x) => J::from(*x),
        Value::U64(x) => J::from(*x),
        Value::Bool(b) => J::from(*b),
        Value::Guid(g) => J::from(g.braced().to_ascii_lowercase()),
        Value::Sid(s) => J::from(s.to_text()),
        Value::Hex32(x) => J::from(format!("0x{x:x}")),
        Value::Hex64(x) => J::from(format!("0x{x:x}")),
        Value::FileTime(ft) => {
            let mut s = String::new();
            evidx_gen::time::push_iso(&mut s, *ft, 7);
            J::from(s)
        }
    }
}

fn evtx_records(path: &Path) -> Vec<J> {
    let settings = ParserSettings::new()
        .validate_checksums(true)
        .num_threads(1);
    let mut parser = EvtxParser::from_path(path)
        .expect("opens")
        .with_configuration(settings);
    assert!(
        parser.header().validate_checksum(),
        "{}: header CRC",
        path.display()
    );
    let mut out = Vec::new();
    for r in parser.records_json_value() {
        let r = r.unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        assert!(!r.recovered);
        out.push(r.data);
    }
    out
}

#[test]
fn evtx_reads_every_file_and_values_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(Format::Evtx, dir.path());
    let summary = evidx_gen::run(&cfg).unwrap();
    let (plan, model) = model_events(&cfg);
    assert_eq!(summary.files.len(), plan.files.len());
    let mut total = 0;
    for (i, report) in summary.files.iter().enumerate() {
        let path = dir.path().join(&report.path);
        let records = evtx_records(&path);
        assert_eq!(records.len() as u64, report.events, "{}", path.display());
        assert_eq!(records.len(), model[i].len());
        // Chunk checksums, independently of the record walk.
        let mut parser = EvtxParser::from_path(&path).unwrap();
        for chunk in parser.chunks() {
            assert!(chunk.unwrap().validate_checksum());
        }
        for (rec, ev) in records.iter().zip(&model[i]) {
            let sys = &rec["Event"]["System"];
            assert_eq!(sys["EventID"], J::from(ev.event_id));
            assert_eq!(sys["EventRecordID"], J::from(ev.record_id));
            assert_eq!(sys["Computer"], J::from(ev.computer.as_ref()));
            assert_eq!(sys["Channel"], J::from(ev.provider.channel));
            assert_eq!(
                sys["Provider"]["#attributes"]["Name"],
                J::from(ev.provider.name)
            );
            assert_eq!(
                sys["TimeCreated"]["#attributes"]["SystemTime"],
                evtx_json(&Value::FileTime(ev.time))
            );
            assert_eq!(sys["Keywords"], J::from(format!("0x{:x}", ev.keywords)));
            match &ev.user_sid {
                Some(sid) => assert_eq!(
                    sys["Security"]["#attributes"]["UserID"],
                    J::from(sid.to_text())
                ),
                None => assert!(sys["Security"].get("#attributes").is_none()),
            }
            let data = rec["Event"]["EventData"]
                .as_object()
                .expect("EventData object");
            assert_eq!(data.len(), ev.data.len(), "record {}", ev.record_id);
            for f in &ev.data {
                assert_eq!(
                    data.get(f.name),
                    Some(&evtx_json(&f.value)),
                    "record {} field {}",
                    ev.record_id,
                    f.name
                );
            }
            total += 1;
        }
    }
    assert_eq!(total, summary.events);
    assert!(total >= 5_000);
}

fn read_all(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn same_seed_gives_same_bytes() {
    for format in [Format::Evtx, Format::Jsonl] {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        generate(format, a.path());
        generate(format, b.path());
        let (fa, fb) = (read_all(a.path()), read_all(b.path()));
        assert_eq!(fa.len(), fb.len());
        assert!(fa == fb, "{format:?} output differs between runs");
    }
}

fn guid_norm(s: &str) -> String {
    s.trim_matches(|c| c == '{' || c == '}')
        .to_ascii_uppercase()
}

#[test]
fn all_formats_carry_the_same_events() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let formats = [Format::Evtx, Format::Jsonl, Format::Ecs, Format::Xml];
    let sums: Vec<Summary> = formats
        .iter()
        .zip(&dirs)
        .map(|(f, d)| generate(*f, d.path()))
        .collect();
    let (_, model) = model_events(&config(Format::Evtx, dirs[0].path()));
    for s in &sums[1..] {
        assert_eq!(s.events, sums[0].events);
        assert_eq!(
            s.table, sums[0].table,
            "same expected table in every format"
        );
    }
    for (i, ev_list) in model.iter().enumerate() {
        let evtx = evtx_records(&dirs[0].path().join(&sums[0].files[i].path));
        let jsonl = std::fs::read_to_string(dirs[1].path().join(&sums[1].files[i].path)).unwrap();
        let ecs = std::fs::read_to_string(dirs[2].path().join(&sums[2].files[i].path)).unwrap();
        let xml = std::fs::read_to_string(dirs[3].path().join(&sums[3].files[i].path)).unwrap();
        let jl: Vec<J> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let el: Vec<J> = ecs
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let xl: Vec<&str> = xml.lines().collect();
        assert_eq!(jl.len(), ev_list.len());
        assert_eq!(el.len(), ev_list.len());
        assert_eq!(xl.len(), ev_list.len());
        for (k, ev) in ev_list.iter().enumerate() {
            // JSONL vs what evtx renders from the binary: same values modulo GUID/time style.
            let (a, b) = (&jl[k]["Event"], &evtx[k]["Event"]);
            assert_eq!(a["System"]["EventRecordID"], b["System"]["EventRecordID"]);
            assert_eq!(a["System"]["Computer"], b["System"]["Computer"]);
            for f in &ev.data {
                let (x, y) = (&a["EventData"][f.name], &b["EventData"][f.name]);
                if let Value::Guid(_) = f.value {
                    assert_eq!(
                        guid_norm(x.as_str().unwrap()),
                        guid_norm(y.as_str().unwrap())
                    );
                } else {
                    assert_eq!(x, y, "jsonl vs evtx, record {} {}", ev.record_id, f.name);
                }
            }
            // ECS: record id and every non-empty EventData value as the Windows string.
            let w = &el[k]["winlog"];
            assert_eq!(w["record_id"], J::from(ev.record_id));
            assert_eq!(w["event_id"], J::from(ev.event_id.to_string()));
            for f in &ev.data {
                let text = f.value.windows_text();
                if !text.is_empty() {
                    assert_eq!(w["event_data"][f.name], J::from(text.as_str()));
                }
            }
            // XML: record id and each Data element's escaped text.
            assert!(xl[k].contains(&format!("<EventRecordID>{}</EventRecordID>", ev.record_id)));
            for f in &ev.data {
                let needle = format!(
                    "<Data Name='{}'>{}</Data>",
                    f.name,
                    evidx_gen::text::xml_escaped(&f.value.windows_text())
                );
                assert!(
                    xl[k].contains(&needle),
                    "xml record {} lacks {needle}",
                    ev.record_id
                );
            }
        }
    }
}

#[test]
fn expected_table_is_exactly_the_planted_positives() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(Format::Jsonl, dir.path());
    let summary = evidx_gen::run(&cfg).unwrap();
    let plan = Plan::new(&cfg.plan_config());

    // Matches found while writing == planted positives (by record location).
    let mut matched = Vec::new();
    let mut positives = Vec::new();
    let mut near = Vec::new();
    for (fi, f) in summary.files.iter().enumerate() {
        matched.extend(f.matched.iter().map(|&id| (fi, id)));
        for &(p, id) in &f.planted {
            match plan.plants[p].expect {
                Expect::Positive => positives.push((fi, id)),
                Expect::NearMiss(_) => near.push((fi, id)),
            }
        }
    }
    matched.sort();
    positives.sort();
    assert_eq!(
        matched, positives,
        "detection hits are exactly the planted positives"
    );
    assert_eq!(positives.len(), 14);
    assert!(near.len() >= 13);
    assert!(near.iter().all(|n| !matched.contains(n)));

    // The table from the planted positives alone equals the CSV on disk.
    let mut table = Table::default();
    for (i, placed) in plan.placed.iter().enumerate() {
        for p in placed {
            let row = processes_row(&p.event);
            let hit = row
                .as_ref()
                .is_some_and(getnettcpconnection_with_powershell);
            assert_eq!(
                hit,
                plan.plants[p.plant].expect == Expect::Positive,
                "plant {} in file {i}",
                p.plant
            );
            if let Some(row) = row.filter(|_| hit) {
                table.add(row);
            }
        }
    }
    let csv = std::fs::read_to_string(
        dir.path()
            .join("expected/getnettcpconnection_with_powershell.csv"),
    )
    .unwrap();
    assert_eq!(csv, table.to_csv());
    let rows = evidx_gen::csv::parse(&csv);
    assert_eq!(rows[0].join(","), "dest,user,parent_process,process_name,process,process_id,parent_process_id,count,firstTime,lastTime");
    assert!(rows[1..].iter().all(|r| r.len() == 10));
    assert!(rows[1..].iter().any(|r| r[7] != "1"), "some group repeats");
    assert!(
        rows[1..].iter().any(|r| r[5].starts_with("0x")),
        "4688 rows carry hex pids"
    );
    let keys: Vec<_> = rows[1..].iter().map(|r| r[..7].to_vec()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "rows sorted by the by-fields");
}
