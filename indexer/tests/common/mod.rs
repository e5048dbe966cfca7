//! What the indexer's integration tests share: where data is, archive
//! builders, generated archives, runs of the library, the rows of an index
//! read back through the query library, and the checks every manifest must
//! pass.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use evidx_gen::{Format, RunConfig};
use evidx_index::manifest::InputReport;
use evidx_index::progress::{Mode, Progress};
use evidx_index::{run, Config, Outcome};
use evidx_query::spl::MacroSet;
use evidx_query::Engine;
use serde_json::Value;

/// A path under the project's `../shared` directory.
pub fn shared(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(p)
}

/// An empty scratch directory under cargo's per-target tmp dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("evidx-index-tests")
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Generate `size` bytes of `format` with `seed` into `out`; returns the
/// host directories (the event logs, without the expected answers).
pub fn generate(format: Format, seed: u64, size: u64, out: &Path) -> Vec<PathBuf> {
    evidx_gen::run(&RunConfig {
        seed,
        size,
        events: None,
        format,
        out: out.to_path_buf(),
        planted: None,
        hosts: None,
        days: None,
        start_day: evidx_gen::time::days_from_civil(2024, 5, 6),
    })
    .unwrap_or_else(|e| panic!("generate {}: {e}", format.name()));
    let mut hosts: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.ends_with("expected"))
        .collect();
    hosts.sort();
    hosts
}

pub fn config(inputs: &[PathBuf], output: &Path) -> Config {
    Config {
        threads: 2,
        memory: 32 << 20,
        ..Config::new(inputs.to_vec(), output.to_path_buf())
    }
}

/// Index (or append) `inputs` into `output` with the library.
pub fn index(inputs: &[PathBuf], output: &Path) -> Outcome {
    run(&config(inputs, output), &Progress::new(Mode::Quiet))
        .unwrap_or_else(|e| panic!("indexing {inputs:?} into {}: {e}", output.display()))
}

/// The whole content of an index as the query engine sees it: its count
/// of events, and one CSV row per (host, process id, process name, second)
/// with its count, so a lost or doubled event shows. (Not the command line:
/// of two exports of one event, whichever is read first is kept, and some
/// exports trim its trailing spaces.)
pub fn rows(index: &Path) -> (u64, String) {
    let engine = Engine::open(index).unwrap_or_else(|e| panic!("{}: {e}", index.display()));
    let macros = MacroSet::builtin();
    let dm = "from datamodel=Endpoint.Processes";
    let count = engine
        .run_text(&format!("| tstats count {dm}"), &macros)
        .unwrap();
    let count = count.rows[0][0].first().unwrap().parse().unwrap();
    let table = engine
        .run_text(
            &format!(
                "| tstats count {dm} by Processes.dest Processes.process_id \
                 Processes.process_name _time span=1s"
            ),
            &macros,
        )
        .unwrap();
    let mut out = Vec::new();
    evidx_query::render::csv(&table, &mut out).unwrap();
    let mut lines: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    (count, lines.join("\n"))
}

/// The manifest of the index's last commit: `manifest.json`, or the staged
/// one that a run killed between its commit and publishing it left (whose
/// opstamp is the index's; the next run puts it in place).
pub fn current_manifest(index: &Path) -> PathBuf {
    let staged = index.join("manifest.next.json");
    let opstamp = tantivy::Index::open_in_dir(index)
        .and_then(|i| i.load_metas())
        .map(|m| m.opstamp)
        .ok();
    let staged_opstamp = std::fs::read(&staged)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["opstamp"].as_u64());
    match opstamp.is_some() && staged_opstamp == opstamp {
        true => staged,
        false => index.join("manifest.json"),
    }
}

/// `INDEX_DIR/manifest.json`, after checking what every manifest must
/// hold: for every run, file and member, records read = indexed +
/// duplicates + other + skipped; the index totals are the sums of the runs;
/// and the documents it counts are the documents the query engine finds.
/// The inputs of earlier runs, kept in files of their own (`files_in`),
/// are put back in their runs' entries; only the last run lists its own.
pub fn checked_manifest(index: &Path) -> Value {
    let mut m: Value = serde_json::from_slice(&std::fs::read(current_manifest(index)).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", index.display()));
    let last = m["runs"].as_array().map_or(0, Vec::len).saturating_sub(1);
    for (i, run) in m["runs"]
        .as_array_mut()
        .expect("runs")
        .iter_mut()
        .enumerate()
    {
        let Some(rel) = run["files_in"].as_str().map(str::to_string) else {
            continue;
        };
        assert!(i < last, "the last run lists its inputs inline");
        assert!(
            run.get("files").is_none(),
            "run {i}: inputs inline and in {rel}"
        );
        let inputs: Value = serde_json::from_slice(&std::fs::read(index.join(&rel)).unwrap())
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        for key in ["files", "already_indexed"] {
            run[key] = inputs[key].clone();
        }
    }
    let runs = m["runs"].as_array().expect("runs");
    let mut documents = 0;
    let mut indexed = 0;
    for run in runs {
        balanced(&run["totals"], "run totals");
        for f in run["files"].as_array().unwrap() {
            balanced_input(f);
        }
        let added = num(&run["documents_added"]);
        let run_indexed = num(&run["totals"]["process_events"]);
        if run["status"] == "complete" {
            assert_eq!(run_indexed, added, "a complete run lists what it added");
        } else {
            // Files under way at the last commit are not listed yet.
            assert!(run_indexed <= added, "{run_indexed} > {added}");
        }
        documents += added;
        indexed += run_indexed;
    }
    let totals = &m["totals"];
    balanced(totals, "index totals");
    assert_eq!(num(&totals["runs"]), runs.len() as u64);
    assert_eq!(num(&totals["documents"]), documents);
    assert_eq!(num(&totals["process_events"]), indexed);
    let (count, _) = rows(index);
    assert_eq!(
        count, documents,
        "the manifest counts the index's documents"
    );
    m
}

fn balanced_input(f: &Value) {
    balanced(f, f["path"].as_str().unwrap_or("?"));
    for m in f["members"].as_array().into_iter().flatten() {
        balanced_input(m);
    }
}

fn balanced(c: &Value, what: &str) {
    assert_eq!(
        num(&c["records_read"]),
        num(&c["process_events"])
            + num(&c["duplicates"])
            + num(&c["other_events"])
            + num(&c["skipped"]),
        "{what}: records read = indexed + duplicates + other + skipped: {c}"
    );
    assert_eq!(
        num(&c["process_events"]) + num(&c["duplicates"]),
        num(&c["sysmon_1"]) + num(&c["security_4688"]),
        "{what}: {c}"
    );
}

pub fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// A fixture the project wrote (`datasets/fixtures`).
pub fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets/fixtures")
        .join(p)
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A tar archive of `(name, bytes)` members.
pub fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, *data).unwrap();
    }
    tar.into_inner().unwrap()
}

/// What every input report must hold, and its archive members too: records
/// read = indexed, duplicates, other and skipped added up; process creations
/// read by kind; and a reason for every skip.
pub fn check_invariant(f: &InputReport) {
    let c = &f.counts;
    assert_eq!(
        c.records_read,
        c.process_events + c.duplicates + c.other_events + c.skipped,
        "{}: records read = indexed + duplicates + other + skipped",
        f.path
    );
    assert_eq!(
        c.process_events + c.duplicates,
        c.sysmon_1 + c.security_4688,
        "{}",
        f.path
    );
    assert!(f.skips.iter().all(|s| !s.reason.is_empty()), "{}", f.path);
    for m in &f.members {
        check_invariant(m);
    }
}
