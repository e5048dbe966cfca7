//! `INDEX_DIR/manifest.json`: the runs that built an index, each with its
//! inputs, counts and time range, and the totals of the whole index.
//!
//! It is written at every commit, in step with it: the manifest of a commit
//! is staged as `manifest.next.json`, naming the commit's opstamp, before
//! the commit, and renamed into place after it. A run killed between the
//! two leaves a staged manifest whose opstamp is the index's, and the next
//! run puts it in place; one whose commit never happened is dropped. So
//! `manifest.json` describes the last commit: `totals.documents` is the
//! number of documents in the index, and the files it lists are in it.
//!
//! Earlier runs are kept as they were written (JSON values), so a manifest
//! written by an older evidx stays readable history. Only the last run
//! lists its inputs inline: when the next run starts, each earlier run's
//! `files` and `already_indexed` move to a file of their own,
//! `evidx-runs/run-NNNNN.json`, named by the run's `files_in`. Those lists
//! grow with every nightly append, and the manifest is written at every
//! commit: what a commit writes stays the size of one run, not of the
//! index's whole history.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::lock::Holder;
use crate::manifest::{InputReport, Totals};

pub const MANIFEST: &str = "manifest.json";
/// The manifest of a commit under way.
pub const STAGED: &str = "manifest.next.json";
/// The inputs of earlier runs, one file per run.
pub const RUNS_DIR: &str = "evidx-runs";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Under way (what a manifest written at an intermediate commit says).
    Running,
    /// Killed or failed after its last commit; its listed files are in the
    /// index, and files it had begun are read again by the next run.
    Interrupted,
    Complete,
}

/// One run of `evidx-index`.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub tool: String,
    pub version: String,
    pub arguments: Vec<String>,
    pub started: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    pub elapsed_secs: f64,
    pub status: RunStatus,
    /// Documents (process creations) this run added to the index.
    pub documents_added: u64,
    /// Time of the earliest and latest event this run indexed.
    pub earliest: Option<String>,
    pub latest: Option<String>,
    pub totals: Totals,
    pub files: Vec<InputReport>,
    /// Inputs not read because a file with the same SHA-256 is in the index.
    pub already_indexed: Vec<AlreadyIndexed>,
    /// The lock of a killed run that this run took over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub took_over_lock: Option<Holder>,
}

/// An input skipped because its content is already indexed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlreadyIndexed {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// The path under which that content was indexed.
    pub indexed_as: String,
}

/// Totals of the whole index: the sums over its runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexTotals {
    pub runs: u64,
    /// Documents in the index (at the commit this manifest describes).
    pub documents: u64,
    pub earliest: Option<String>,
    pub latest: Option<String>,
    /// The same range as `_time` microseconds, which `evidx-query` reads
    /// to leave out an index outside a search's `--earliest`/`--latest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    #[serde(flatten)]
    pub totals: Totals,
}

/// `_time` (microseconds since the epoch) of the earliest and latest
/// event of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub earliest: i64,
    pub latest: i64,
}

impl TimeRange {
    /// The range of the manifest's `earliest` and `latest` texts.
    fn of(earliest: Option<&str>, latest: Option<&str>) -> Option<TimeRange> {
        let micros = |t: Option<&str>| {
            chrono::DateTime::parse_from_rfc3339(t?)
                .ok()
                .map(|d| d.timestamp_micros())
        };
        Some(TimeRange {
            earliest: micros(earliest)?,
            latest: micros(latest)?,
        })
    }
}

/// What a run reads back of earlier runs.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PastRun {
    earliest: Option<String>,
    latest: Option<String>,
    totals: Totals,
}

/// What a run reads back of an earlier run's inputs.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PastInputs {
    files: Vec<PastFile>,
}

#[derive(Debug, Deserialize)]
struct PastFile {
    path: String,
    size: u64,
    sha256: Option<String>,
}

/// The history of an index, as a new run starts.
#[derive(Debug, Default)]
pub struct History {
    runs: Vec<serde_json::Value>,
    past: IndexTotals,
    /// SHA-256 -> path, of every file in the index.
    pub files: HashMap<String, String>,
    /// Sizes of those files: a new input of another size cannot be one.
    pub sizes: HashSet<u64>,
}

#[derive(Serialize)]
struct OnDisk<'a> {
    tool: &'a str,
    version: &'a str,
    format: u32,
    /// The tantivy commit this manifest describes.
    opstamp: u64,
    totals: &'a IndexTotals,
    runs: Vec<&'a serde_json::Value>,
}

impl History {
    /// Read the history of the index in `dir`, whose last commit is
    /// `opstamp`; first settle a manifest staged by a killed run.
    pub fn load(dir: &Path, opstamp: u64) -> io::Result<History> {
        let staged = dir.join(STAGED);
        if staged.exists() {
            if opstamp_of(&staged) == Some(opstamp) {
                std::fs::rename(&staged, dir.join(MANIFEST))?;
            } else {
                std::fs::remove_file(&staged)?;
            }
        }
        let path = dir.join(MANIFEST);
        if !path.exists() {
            return Ok(History::default());
        }
        let bad = |e: String| io::Error::other(format!("{}: {e}", path.display()));
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path)?).map_err(|e| bad(e.to_string()))?;
        let runs = match doc.get_mut("runs").map(serde_json::Value::take) {
            Some(serde_json::Value::Array(runs)) => runs,
            _ => return Err(bad("no \"runs\": not a manifest of this evidx".into())),
        };
        let mut h = History::default();
        for (number, mut run) in runs.into_iter().enumerate() {
            if run["status"] == "running" {
                run["status"] = serde_json::json!(RunStatus::Interrupted);
            }
            let inputs = move_inputs_out(dir, number, &mut run).map_err(|e| bad(e.to_string()))?;
            let inputs: PastInputs = serde_json::from_value(inputs).unwrap_or_default();
            let past: PastRun = serde_json::from_value(run.clone()).unwrap_or_default();
            for f in inputs.files {
                if let Some(sha) = f.sha256 {
                    h.sizes.insert(f.size);
                    h.files.entry(sha).or_insert(f.path);
                }
            }
            h.past.runs += 1;
            h.past.totals.add(&past.totals);
            widen(&mut h.past, past.earliest, past.latest);
            h.runs.push(run);
        }
        Ok(h)
    }

    /// The totals of the index once `run` is added, with `documents` in it.
    pub fn totals_with(&self, run: &Run, documents: u64) -> IndexTotals {
        let mut t = self.past.clone();
        t.runs += 1;
        t.documents = documents;
        t.totals.add(&run.totals);
        widen(&mut t, run.earliest.clone(), run.latest.clone());
        t.time_range = TimeRange::of(t.earliest.as_deref(), t.latest.as_deref());
        t
    }

    /// Stage the manifest of the commit `opstamp` (see the module doc);
    /// returns the totals written.
    pub fn stage(
        &self,
        dir: &Path,
        opstamp: u64,
        run: &Run,
        documents: u64,
    ) -> io::Result<IndexTotals> {
        let totals = self.totals_with(run, documents);
        let current = serde_json::to_value(run).map_err(io::Error::other)?;
        let doc = OnDisk {
            tool: &run.tool,
            version: &run.version,
            format: evidx_schema::FORMAT_VERSION,
            opstamp,
            totals: &totals,
            runs: self.runs.iter().chain([&current]).collect(),
        };
        let json = serde_json::to_vec_pretty(&doc).map_err(io::Error::other)?;
        write_synced(&dir.join(STAGED), &json)?;
        Ok(totals)
    }

    /// Put the staged manifest in place, once its commit is done.
    pub fn publish(dir: &Path) -> io::Result<()> {
        std::fs::rename(dir.join(STAGED), dir.join(MANIFEST))?;
        File::open(dir)?.sync_all()
    }
}

/// The inputs (`files`, `already_indexed`) of earlier run `number`: moved
/// from the run's entry to `evidx-runs/run-NNNNN.json` if they are still
/// inline (the entry then names that file in `files_in`), else read from
/// the file it names. The file is written, and synced, before any manifest
/// that names it.
fn move_inputs_out(
    dir: &Path,
    number: usize,
    run: &mut serde_json::Value,
) -> io::Result<serde_json::Value> {
    if let Some(rel) = run.get("files_in").and_then(serde_json::Value::as_str) {
        let path = dir.join(rel);
        let bytes = std::fs::read(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        return serde_json::from_slice(&bytes)
            .map_err(|e| io::Error::other(format!("{}: {e}", path.display())));
    }
    let Some(entry) = run.as_object_mut() else {
        return Ok(serde_json::Value::Null);
    };
    let mut inputs = serde_json::Map::new();
    for key in ["files", "already_indexed"] {
        if let Some(v) = entry.remove(key) {
            inputs.insert(key.to_string(), v);
        }
    }
    let inputs = serde_json::Value::Object(inputs);
    let rel = format!("{RUNS_DIR}/run-{number:05}.json");
    std::fs::create_dir_all(dir.join(RUNS_DIR))?;
    let json = serde_json::to_vec_pretty(&inputs).map_err(io::Error::other)?;
    write_synced(&dir.join(&rel), &json)?;
    File::open(dir.join(RUNS_DIR))?.sync_all()?;
    entry.insert("files_in".to_string(), serde_json::json!(rel));
    Ok(inputs)
}

fn opstamp_of(path: &Path) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v.get("opstamp")?.as_u64()
}

/// RFC 3339 times of one form (UTC, microseconds) compare as strings.
fn widen(t: &mut IndexTotals, earliest: Option<String>, latest: Option<String>) {
    if earliest.is_some() && (t.earliest.is_none() || earliest < t.earliest) {
        t.earliest = earliest;
    }
    if latest > t.latest {
        t.latest = latest;
    }
}

/// `time` (microseconds since the epoch) in the manifest's form.
pub fn time_text(micros: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
