//! From a hit to its events, and from them to the original records:
//! `| from datamodel:Endpoint.Processes | search ...` on an index of the
//! generated sample and of ../shared EVTX files and an NXLog tar.gz. The
//! events of each tstats group are as many as its count; every EVTX event's
//! `source`, `evidx_chunk` and `evidx_offset` lead the indexer's own parser
//! to a record with the same record id; every JSON event's offset is the
//! line that holds it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use common::{column, escu_macros, index_and_open, run, scratch, shared, workspace};
use evidx_index::event::{Origin, RawEvent};
use evidx_index::parse::evtx::{ChunkExtractor, EvtxCrateExtractor, CHUNK_SIZE, FILE_HEADER_SIZE};
use evidx_index::parse::{Sink, Skip};
use evidx_query::spl::MacroSet;
use evidx_query::table::Table;
use evidx_query::Engine;

const EVTX: &[&str] = &[
    "datasets/evtx-to-mitre-attack/ID4688-Encoded_PowerShell_MSF_payload_via_process_execution.evtx",
    "datasets/evtx-to-mitre-attack/ID4688-Password_policy_discovery_via_commandline.evtx",
    "datasets/splunk-attack-data/T1003.001_capattack_Sysmon-Operational.evtx",
];

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let mut inputs: Vec<PathBuf> = EVTX.iter().map(|p| shared(p)).collect();
        inputs.push(shared(
            "datasets/splunk-attack-data/T1053.005_attack_data.tar.gz",
        ));
        inputs.push(workspace("datasets/sample"));
        index_and_open(&inputs, &scratch("events").join("idx"))
    })
}

/// A search-language value that matches `v` exactly.
fn quote(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '\\' | '"' | '*' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `| from datamodel:... | search` with `field="value"` for each pair.
fn events(pairs: &[(&str, &str)], rest: &str) -> Table {
    let filter: Vec<String> = pairs
        .iter()
        .map(|(f, v)| format!("{f}={}", quote(v)))
        .collect();
    spl(&format!(
        "| from datamodel:Endpoint.Processes | search {} {rest}",
        filter.join(" ")
    ))
}

/// Run SPL (no macros) on the index.
fn spl(text: &str) -> Table {
    run(engine(), text, &MacroSet::builtin())
}

fn cell<'t>(t: &'t Table, row: usize, name: &str) -> &'t str {
    let i = t
        .column_index(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", t.columns));
    t.rows[row][i].first().unwrap_or("")
}

#[test]
fn each_group_has_as_many_events_as_its_count() {
    let e = engine();
    let groups = spl("| tstats count from datamodel=Endpoint.Processes by source sourcetype Processes.dest Processes.process_name");
    assert!(groups.rows.len() > 20, "{} groups", groups.rows.len());
    let sourcetypes: Vec<String> = column(&groups, "sourcetype");
    for st in ["evtx", "json"] {
        assert!(sourcetypes.iter().any(|s| s == st), "no {st} events");
    }
    assert!(
        column(&groups, "source")
            .iter()
            .any(|s| s.contains(".tar.gz!")),
        "archive members are `path!member`"
    );
    // `by` tells values apart by case, `search` does not: the events of a
    // search are those of every group whose values it matches.
    let fields = [
        "source",
        "sourcetype",
        "Processes.dest",
        "Processes.process_name",
    ];
    let mut want: BTreeMap<Vec<String>, (Vec<String>, u64)> = BTreeMap::new();
    for r in 0..groups.rows.len() {
        let values: Vec<String> = fields.iter().map(|f| cell(&groups, r, f).into()).collect();
        let key = values.iter().map(|v| v.to_lowercase()).collect();
        let n: u64 = cell(&groups, r, "count").parse().unwrap();
        want.entry(key).or_insert((values, 0)).1 += n;
    }
    let mut total = 0u64;
    for (values, n) in want.values() {
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .copied()
            .zip(values.iter().map(String::as_str))
            .collect();
        let got = events(&pairs, "| stats count");
        assert_eq!(column(&got, "count"), [n.to_string()], "{pairs:?}");
        total += n;
    }
    assert_eq!(total, e.num_docs());
    let all = spl("| datamodel Endpoint Processes flat | stats count");
    assert_eq!(column(&all, "count"), [e.num_docs().to_string()]);
}

/// The seed detection's hits, each traced to its events and from them to
/// the JSON line in the sample file, whose record id and computer agree.
#[test]
fn seed_hits_lead_back_to_their_json_lines() {
    let e = engine();
    let hits = run(
        e,
        &format!(
            "{} | search dest=*.corp.fabrikam.com",
            evidx_query::detection::load(&shared(
                "escu/detections/endpoint/getnettcpconnection_with_powershell.yml"
            ))
            .unwrap()
            .search
        ),
        &escu_macros(),
    );
    assert!(hits.rows.len() >= 5, "{} hits", hits.rows.len());
    // The detection's by-fields: the columns before its count.
    let by: Vec<&String> = hits.columns.iter().take_while(|c| *c != "count").collect();
    assert_eq!(by.len(), 7, "{:?}", hits.columns);
    for r in 0..hits.rows.len() {
        let pairs: Vec<(String, &str)> = by
            .iter()
            .map(|f| (format!("Processes.{f}"), cell(&hits, r, f)))
            .collect();
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(f, v)| (f.as_str(), *v)).collect();
        let ev = events(&pairs, "| sort 0 _time");
        assert_eq!(
            ev.rows.len().to_string(),
            cell(&hits, r, "count"),
            "{pairs:?}"
        );
        for i in 0..ev.rows.len() {
            assert_eq!(cell(&ev, i, "sourcetype"), "json");
            assert_eq!(cell(&ev, i, "Processes.process"), cell(&hits, r, "process"));
            let line = line_at(
                Path::new(cell(&ev, i, "source")),
                cell(&ev, i, "evidx_offset").parse().unwrap(),
            );
            let json: serde_json::Value = serde_json::from_str(&line).unwrap();
            let system = &json["Event"]["System"];
            assert_eq!(
                system["EventRecordID"].to_string(),
                cell(&ev, i, "evidx_record_id"),
                "{line}"
            );
            assert_eq!(system["Computer"].as_str(), Some(cell(&ev, i, "host")));
            assert_eq!(cell(&ev, i, "host"), cell(&ev, i, "Processes.dest"));
        }
    }
}

/// The line of `path` that starts at byte `offset`.
fn line_at(path: &Path, offset: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        offset == 0 || bytes[offset - 1] == b'\n',
        "offset {offset} starts no line"
    );
    let end = bytes[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| offset + n);
    String::from_utf8(bytes[offset..end].to_vec()).unwrap()
}

/// The events the indexer's EVTX parser reads from one chunk, by offset.
struct Collect(Mutex<BTreeMap<u64, RawEvent>>);

impl Sink for Collect {
    fn event(&self, event: RawEvent, origin: Origin) {
        self.0.lock().unwrap().insert(origin.offset, event);
    }
    fn skip(&self, _: Skip) {}
}

#[test]
fn evtx_events_point_at_their_records() {
    let ev = spl("| from datamodel:Endpoint.Processes | search sourcetype=evtx | fields _time source evidx_* Processes.process_name");
    assert!(ev.rows.len() > 50, "{} EVTX events", ev.rows.len());
    let mut files: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    let mut sources = std::collections::BTreeSet::new();
    for i in 0..ev.rows.len() {
        let source = cell(&ev, i, "source");
        sources.insert(source);
        let bytes = files
            .entry(source)
            .or_insert_with(|| std::fs::read(source).unwrap_or_else(|e| panic!("{source}: {e}")));
        let chunk: u64 = cell(&ev, i, "evidx_chunk").parse().unwrap();
        let offset: u64 = cell(&ev, i, "evidx_offset").parse().unwrap();
        let record_id: u64 = cell(&ev, i, "evidx_record_id").parse().unwrap();
        let start = FILE_HEADER_SIZE as u64 + chunk * CHUNK_SIZE as u64;
        assert!(
            (start..start + CHUNK_SIZE as u64).contains(&offset),
            "{source}: offset {offset} is not in chunk {chunk}"
        );
        // A record header (magic `**\0\0`) starts there. Its own record
        // number may differ from the event's EventRecordID (a log saved
        // from Event Viewer is renumbered), so the parser checks that.
        let at = offset as usize;
        assert_eq!(&bytes[at..at + 4], b"\x2a\x2a\0\0", "{source} @{offset}");
        // The indexer's parser, on that chunk, finds that record there.
        let sink = Collect(Mutex::new(BTreeMap::new()));
        let data = &bytes[start as usize..start as usize + CHUNK_SIZE];
        EvtxCrateExtractor::default().extract(chunk, start, data, &sink);
        let found = sink.0.into_inner().unwrap();
        let rec = found
            .get(&offset)
            .unwrap_or_else(|| panic!("{source}: no record at {offset}"));
        assert_eq!(rec.record_id, Some(record_id));
        assert!(matches!(rec.event_id, 1 | 4688), "{:?}", rec.event_id);
        assert_eq!(cell(&ev, i, "evidx_event_code"), rec.event_id.to_string());
    }
    assert_eq!(sources.len(), EVTX.len(), "{sources:?}");
}

#[test]
fn search_json_and_flat_names() {
    let ev = spl("| from datamodel:Endpoint.Processes | search source=*password_policy* Processes.process_name=net1.exe | table _time host source evidx_record_id Processes.process");
    assert_eq!(column(&ev, "evidx_record_id"), ["60313"]);
    assert_eq!(column(&ev, "host"), ["FS03.offsec.lan"]);
    let flat = spl("| datamodel Endpoint Processes flat | search source=*PASSWORD_policy* process_name=net1.exe | table process evidx_record_id");
    assert_eq!(column(&flat, "evidx_record_id"), ["60313"]);
    assert_eq!(column(&flat, "process"), column(&ev, "Processes.process"));
    // `source`/`sourcetype` in a tstats where, `!=` needing the field.
    let not_json = spl("| tstats count from datamodel=Endpoint.Processes where source!=*.JSONL sourcetype=* by sourcetype");
    assert_eq!(column(&not_json, "sourcetype"), ["evtx", "json"]);
    let members = spl(
        "| tstats count from datamodel=Endpoint.Processes where source=*.tar.gz!* by sourcetype",
    );
    assert_eq!(column(&members, "sourcetype"), ["json"]);
    // The sample's .jsonl files are left out whatever the case: the JSON
    // left is the tar.gz member's.
    assert_eq!(column(&not_json, "count")[1], column(&members, "count")[0]);
    // `head` stops early; `sort` and `table` follow.
    let two = spl("| from datamodel:Endpoint.Processes | search sourcetype=evtx | head 2 | sort - evidx_record_id | table evidx_record_id");
    assert_eq!(two.rows.len(), 2);
    assert_eq!(two.columns, ["evidx_record_id"]);
}
