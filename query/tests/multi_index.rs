//! Many indexes searched as one: the inputs of `../shared/datasets` and
//! `../shared/sigma-regression`, split into three groups indexed apart
//! (`parts/a`, `parts/b`, `parts/c`), give the tables of one index of all
//! of them, for every ESCU detection, every Sigma query and every
//! aggregate; with `--earliest`/`--latest` too, and an index outside the
//! time window is never opened.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use evidx_query::spl::MacroSet;
use evidx_query::table::Table;
use evidx_query::time_range::TimeWindow;
use evidx_query::Engine;

struct Fixture {
    /// The folder of the three group indexes.
    parts: PathBuf,
    groups: Vec<PathBuf>,
    /// One index of every input.
    all: PathBuf,
}

/// Every input file, grouped by its folder, the folders dealt out to
/// three groups in turn. A Sigma case's `events.json` repeats its
/// `events.evtx` (one index keeps the copy it reads first, with its
/// `source`), so it is left out.
fn split_inputs() -> Vec<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = ["datasets", "sigma-regression"]
        .iter()
        .flat_map(|d| walkdir::WalkDir::new(shared(d)))
        .map(|e| e.expect("walk ../shared"))
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| !(p.starts_with(shared("sigma-regression")) && p.ends_with("events.json")))
        .collect();
    files.sort();
    let mut folders: Vec<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    folders.dedup();
    let mut groups = vec![Vec::new(); 3];
    for f in &files {
        let folder = folders.iter().position(|d| Some(*d) == f.parent()).unwrap();
        groups[folder % 3].push(f.clone());
    }
    groups
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = scratch("multi-index");
        let parts = root.join("parts");
        let groups = split_inputs();
        let mut dirs = Vec::new();
        let mut split_events = 0;
        for (name, inputs) in ["a", "b", "c"].iter().zip(&groups) {
            let dir = parts.join(name);
            split_events += build_index(inputs, &dir).0;
            dirs.push(dir);
        }
        let all = root.join("all");
        let (all_events, _) = build_index(&groups.concat(), &all);
        assert!(all_events > 3_000, "{all_events} events");
        assert_eq!(split_events, all_events, "the split holds each event once");
        Fixture {
            parts,
            groups: dirs,
            all,
        }
    })
}

fn open(dirs: &[PathBuf], window: TimeWindow) -> Engine {
    let mut e = Engine::open_all(dirs, window).unwrap_or_else(|e| panic!("{dirs:?}: {e}"));
    e.set_lookups(
        evidx_query::lookups::LookupStore::load_dir(&shared("escu/lookups")).expect("lookups"),
    );
    e
}

/// The engines compared: the three groups (-i a -i b -i c) and the one
/// index of every input.
fn engines(window: TimeWindow) -> (Engine, Engine) {
    let f = fixture();
    (
        open(&f.groups, window),
        open(std::slice::from_ref(&f.all), window),
    )
}

/// A result as text: columns and rows, or the error. Event rows come
/// index by index, so they are compared sorted.
fn outcome(
    engine: &Engine,
    spl: &str,
    macros: &MacroSet,
) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let t: Table = engine.run_text(spl, macros).map_err(|e| e.to_string())?;
    let mut rows = cells(&t);
    if spl.trim_start().starts_with("| from") || spl.trim_start().starts_with("| datamodel") {
        rows.sort();
    }
    Ok((t.columns.clone(), rows))
}

/// Where the two engines disagree on `searches` (name, SPL); also checks
/// that they found something.
fn disagreements(
    multi: &Engine,
    single: &Engine,
    searches: &[(String, String)],
    macros: &MacroSet,
) -> (Vec<String>, usize) {
    let mut bad = Vec::new();
    let mut with_rows = 0;
    for (name, spl) in searches {
        let (m, s) = (outcome(multi, spl, macros), outcome(single, spl, macros));
        if let Ok((_, rows)) = &s {
            with_rows += usize::from(!rows.is_empty());
        }
        if m != s {
            bad.push(format!("{name}:\n  3 indexes: {m:?}\n  1 index:   {s:?}"));
        }
    }
    (bad, with_rows)
}

/// Named searches (name, SPL), their macros, and the fewest of them that
/// must find rows.
type SearchSet<'m> = (Vec<(String, String)>, &'m MacroSet, usize);

/// The ESCU, Sigma and hand-written searches.
fn every_search<'m>(escu: &'m MacroSet, builtin: &'m MacroSet) -> [SearchSet<'m>; 3] {
    [
        (escu_searches(), escu, 10),
        (sigma_searches(), builtin, 40),
        (hand_written(), builtin, 12),
    ]
}

fn escu_searches() -> Vec<(String, String)> {
    yamls(&shared("escu/detections"))
        .into_iter()
        .map(|p| {
            let det = evidx_query::detection::load(&p).expect("detection");
            (p.display().to_string(), det.search)
        })
        .collect()
}

fn sigma_searches() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(shared("sigma-regression"))
        .expect("sigma-regression")
        .map(|e| e.expect("entry").path().join("query.spl"))
        .filter(|p| p.exists())
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every aggregate, `span=`, no by-field, no match, a glob, a subsearch
/// and an event search.
fn hand_written() -> Vec<(String, String)> {
    let dm = "from datamodel=Endpoint.Processes";
    [
        format!("| tstats count {dm}"),
        format!("| tstats count {dm} where Processes.process_name=no-such.exe"),
        format!("| tstats count min(_time) as first max(_time) as last {dm} by Processes.dest"),
        format!("| tstats count values(Processes.process_name) as names dc(Processes.process_name) as n {dm} by Processes.dest Processes.user"),
        format!("| tstats latest(Processes.process) as lp earliest(Processes.process) as ep latest(_time) as lt earliest(_time) as et {dm} by Processes.dest"),
        format!("| tstats min(Processes.process_name) as mn max(Processes.process_name) as mx min(Processes.process_id) as mi max(Processes.process_id) as ma {dm} by Processes.parent_process_name"),
        format!("| tstats sum(Processes.process_id) as s avg(Processes.process_id) as a count {dm} by Processes.dest"),
        format!("| tstats count dc(Processes.dest) as hosts {dm} by _time span=1d"),
        format!("| tstats count {dm} by _time span=1h Processes.process_name"),
        format!("| tstats count {dm} where Processes.process=*powershell* by Processes.process"),
        format!("| tstats count {dm} where Processes.process_name=*.exe NOT Processes.process_name=cmd.exe by sourcetype"),
        format!("| tstats count {dm} where [| tstats count {dm} where Processes.process_name=whoami.exe by Processes.dest | fields Processes.dest] by Processes.dest Processes.process_name"),
        format!("| tstats count {dm} by Processes.dest | sort - count | head 5"),
        format!("| tstats count(Processes.process_id) as n max(_time) as last {dm} by Processes.original_file_name Processes.process_id Processes.parent_process_id Processes.process_hash Processes.dest Processes.user Processes.parent_process_name Processes.process_name Processes.process"),
        "| from datamodel:Endpoint.Processes | search Processes.process_name=cmd.exe".into(),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, s)| (format!("hand-written #{i}"), s))
    .collect()
}

#[test]
fn three_indexes_give_the_tables_of_one() {
    let (multi, single) = engines(TimeWindow::default());
    assert_eq!(multi.index_dirs().len(), 3);
    assert_eq!(multi.num_docs(), single.num_docs());
    let escu = escu_macros();
    let builtin = MacroSet::builtin();
    let mut bad = Vec::new();
    for (searches, macros, min_with_rows) in every_search(&escu, &builtin) {
        let (b, with_rows) = disagreements(&multi, &single, &searches, macros);
        assert!(
            with_rows >= min_with_rows,
            "only {with_rows} of {} searches found rows",
            searches.len()
        );
        bad.extend(b);
    }
    // One thread, with every group table spilled: the threads that take
    // the segments, the order their groups merge in and the spills change
    // nothing.
    let mut one_thread = open(&fixture().groups, TimeWindow::default());
    one_thread.set_sequential_segments();
    one_thread.set_group_memory(0);
    for (searches, macros) in [(escu_searches(), &escu), (hand_written(), &builtin)] {
        let (b, _) = disagreements(&one_thread, &single, &searches, macros);
        bad.extend(b);
    }
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Group-bys merged on term ordinals give the tables of the same
/// group-bys merged on the values' text: over three indexes and over one,
/// in memory and with every table spilled, on one thread and on several.
#[test]
fn ordinal_and_text_merges_agree() {
    let f = fixture();
    let escu = escu_macros();
    let builtin = MacroSet::builtin();
    let all = std::slice::from_ref(&f.all);
    let mut bad = Vec::new();
    for (dirs, memory, sequential) in [
        (&f.groups[..], None, false),
        (&f.groups[..], Some(0), true),
        (all, Some(0), false),
        (all, Some(4096), false),
    ] {
        let [mut ordinal, mut text] = [
            open(dirs, TimeWindow::default()),
            open(dirs, TimeWindow::default()),
        ];
        text.set_ordinal_groups(false);
        for e in [&mut ordinal, &mut text] {
            if let Some(bytes) = memory {
                e.set_group_memory(bytes);
            }
            if sequential {
                e.set_sequential_segments();
            }
        }
        for (searches, macros, min_with_rows) in every_search(&escu, &builtin) {
            let (b, with_rows) = disagreements(&ordinal, &text, &searches, macros);
            assert!(
                with_rows >= min_with_rows,
                "only {with_rows} of {} found rows",
                searches.len()
            );
            let config = format!("{} index(es), memory {memory:?}", dirs.len());
            bad.extend(b.into_iter().map(|b| format!("{config}: {b}")));
        }
    }
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Epoch seconds of `micros`, as `--earliest`/`--latest` take them.
fn secs(micros: i64) -> String {
    format!(
        "{}.{:06}",
        micros.div_euclid(1_000_000),
        micros.rem_euclid(1_000_000)
    )
}

fn window(earliest: Option<i64>, latest: Option<i64>) -> TimeWindow {
    let (e, l) = (earliest.map(secs), latest.map(secs));
    TimeWindow::parse(e.as_deref(), l.as_deref(), chrono::Utc::now()).expect("window")
}

#[test]
fn time_windows_agree_and_restrict() {
    let f = fixture();
    let (first, last) =
        evidx_query::index_set::manifest_time_range(&f.all).expect("manifest time range");
    let quarter = (last - first) / 4;
    let escu = escu_macros();
    let builtin = MacroSet::builtin();
    let count_where = |w: TimeWindow, clause: &str| -> u64 {
        let t = open(std::slice::from_ref(&f.all), w)
            .run_text(
                &format!("| tstats count from datamodel=Endpoint.Processes {clause}"),
                &builtin,
            )
            .unwrap();
        t.rows[0][0].0[0].parse().unwrap()
    };
    let all_count = |w: TimeWindow| count_where(w, "");
    let total = all_count(TimeWindow::default());
    for w in [
        window(Some(first + quarter), None),
        window(None, Some(first + 2 * quarter)),
        window(Some(first + quarter), Some(last - quarter)),
        // The bounds: earliest inclusive, latest exclusive.
        window(Some(first), Some(last)),
    ] {
        let n = all_count(w);
        assert!(n > 0 && n < total, "{w:?}: {n} of {total}");
        // The same window as time modifiers in the where clause.
        let bound = |name: &str, t: Option<i64>| t.map(|t| format!("{name}={} ", secs(t)));
        let modifiers: String = [bound("earliest", w.earliest), bound("latest", w.latest)]
            .into_iter()
            .flatten()
            .collect();
        let clause = format!("where {modifiers}");
        assert_eq!(count_where(TimeWindow::default(), &clause), n, "{clause}");
        let (multi, single) = engines(w);
        let mut searches = hand_written();
        searches.extend(escu_searches());
        let (bad, _) = disagreements(&multi, &single, &searches, &escu);
        assert!(bad.is_empty(), "{w:?}:\n{}", bad.join("\n"));
        let (bad, _) = disagreements(&multi, &single, &sigma_searches(), &builtin);
        assert!(bad.is_empty(), "{w:?}:\n{}", bad.join("\n"));
    }
    // The whole range, bounds included, is every event.
    assert_eq!(all_count(window(Some(first), Some(last + 1))), total);
    assert_eq!(all_count(window(Some(last + 1), None)), 0);
}

/// An index `d` of one input (its events repeat some of the groups').
fn one_file_index(name: &str) -> (PathBuf, i64, i64) {
    let d = scratch(name).join("d");
    build_index(
        &[shared(
            "sigma-regression/proc_creation_win_certutil_decode/events.evtx",
        )],
        &d,
    );
    let (first, last) = evidx_query::index_set::manifest_time_range(&d).expect("time range");
    (d, first, last)
}

#[test]
fn an_index_outside_the_window_is_never_opened() {
    let f = fixture();
    let (d, first, last) = one_file_index("multi-index-unopened");
    // Make `d` unreadable once its manifest is read: tantivy cannot open it.
    std::fs::write(d.join("meta.json"), "not json").unwrap();
    let mut dirs = f.groups.clone();
    dirs.push(d.clone());
    let open_error = |w: TimeWindow| match Engine::open_all(&dirs, w) {
        Ok(_) => panic!("{w:?}: opened the unreadable index"),
        Err(e) => e.to_string(),
    };
    let e = open_error(TimeWindow::default());
    assert!(e.contains(&d.display().to_string()), "names the index: {e}");
    // The window's bounds against the index's range, to the microsecond.
    open_error(window(None, Some(first + 1)));
    open_error(window(Some(last), None));
    for w in [window(None, Some(first)), window(Some(last + 1), None)] {
        let multi = Engine::open_all(&dirs, w).expect("the unreadable index is left out");
        assert_eq!(multi.index_dirs().len(), 3, "{w:?}");
        let single = open(std::slice::from_ref(&f.all), w);
        let (bad, _) = disagreements(&multi, &single, &hand_written(), &MacroSet::builtin());
        assert!(bad.is_empty(), "{w:?}:\n{}", bad.join("\n"));
    }
    // A manifest without a time range (an older evidx): opened.
    let manifest = d.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["totals"].as_object_mut().unwrap().remove("time_range");
    std::fs::write(&manifest, m.to_string()).unwrap();
    open_error(window(None, Some(first)));
}

#[test]
fn a_format_version_mismatch_names_the_index() {
    let f = fixture();
    let (d, _, _) = one_file_index("multi-index-version");
    let meta = d.join("meta.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    json["payload"] = serde_json::json!(format!(
        "{{\"evidx_format\":{}}}",
        evidx_schema::FORMAT_VERSION + 1
    ));
    std::fs::write(&meta, json.to_string()).unwrap();
    let dirs = [f.groups[0].clone(), d.clone()];
    let e = Engine::open_all(&dirs, TimeWindow::default())
        .err()
        .expect("a newer format is refused")
        .to_string();
    assert!(
        e.contains(&d.display().to_string()) && e.contains("format"),
        "{e}"
    );
}

fn evidx_query(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_evidx-query"))
        .args(args)
        .output()
        .expect("run evidx-query");
    assert!(
        out.status.success(),
        "evidx-query {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The files of `dir` and their contents, sorted.
fn contents(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn cli_folder_of_indexes_pack_and_time_flags() {
    let f = fixture();
    let (parts, all) = (f.parts.to_str().unwrap(), f.all.to_str().unwrap());
    let macros = shared("escu/macros");
    let detections = shared("escu/detections");
    let tmp = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for (name, index) in [("parts", parts), ("all", all)] {
        let out = tmp.path().join(name);
        evidx_query(&[
            "-i",
            index,
            "--macros",
            macros.to_str().unwrap(),
            "--pack",
            detections.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        results.push(contents(&out));
    }
    assert!(results[0].len() > 20, "{} tables", results[0].len());
    assert_eq!(results[0], results[1], "--pack over a folder of indexes");

    let spl = "| tstats count dc(Processes.process_name) as names from datamodel=Endpoint.Processes by _time span=1d";
    let run = |index: &str, w: &[&str]| {
        let mut args = vec!["-i", index, "--format", "csv"];
        args.extend_from_slice(w);
        args.push(spl);
        String::from_utf8(evidx_query(&args).stdout).unwrap()
    };
    for w in [
        &["--earliest", "2019-01-01T00:00:00"][..],
        &["--latest", "01/01/2020:00:00:00"],
        &["--earliest", "1546300800", "--latest", "-1y@y"],
        &["--latest", "now"],
    ] {
        assert_eq!(run(parts, w), run(all, w), "{w:?}");
    }
    assert_eq!(
        run(parts, &["--latest", "now"]),
        run(all, &[]),
        "nothing is after now"
    );
    // A bad time is a command-line error.
    let bad = Command::new(env!("CARGO_BIN_EXE_evidx-query"))
        .args(["-i", all, "--earliest", "-7x", spl])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown time unit"));
}
