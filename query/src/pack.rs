//! A pack: every detection under a folder, run in parallel over one index.
//! Results come back in file order; each table is written (and dropped) by
//! the worker that made it, so a pack of large results does not pile up in
//! memory.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::engine::{Engine, QueryError};
use crate::spl::{self, MacroSet};
use crate::table::RowSink;
use crate::{detection, render};

/// What one detection of a pack gave.
#[derive(Debug)]
pub struct PackItem {
    pub path: PathBuf,
    /// The detection's name (YAML `name:`, else the file stem).
    pub name: String,
    /// Rows of the result, or why the detection did not run.
    pub outcome: Result<usize, String>,
    pub elapsed: Duration,
}

/// `.yml`, `.yaml` and `.spl` files under `dir`, recursively, sorted.
pub fn detection_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yml" | "yaml" | "spl")
            )
        })
        .collect();
    files.sort();
    files
}

/// Run every file (found under `root`) as a detection; with `out`, write
/// each result to `out/<name>.csv` ([`output_names`]). A detection that
/// does not run leaves no table there, neither an empty one (which would
/// read as "no hits") nor one an earlier run wrote.
pub fn run(
    engine: &Engine,
    macros: &MacroSet,
    root: &Path,
    files: &[PathBuf],
    out: Option<&Path>,
) -> Vec<PackItem> {
    let names = output_names(root, files);
    files
        .par_iter()
        .zip(&names)
        .map(|(path, file_name)| {
            let started = Instant::now();
            let target = out.map(|dir| dir.join(format!("{file_name}.csv")));
            let (name, outcome) = match detection::load(path) {
                Ok(det) => {
                    let outcome = run_one(engine, macros, &det.search, path, target.as_deref());
                    // What this detection touched and freed is not the
                    // next one's: give it back (see `memory`).
                    crate::memory::release_if_over();
                    crate::memory::trim_heap();
                    (det.name, outcome)
                }
                Err(e) => (path.display().to_string(), Err(e.to_string())),
            };
            if let (Err(_), Some(target)) = (&outcome, &target) {
                let _ = std::fs::remove_file(target);
            }
            PackItem {
                path: path.clone(),
                name,
                outcome,
                elapsed: started.elapsed(),
            }
        })
        .collect()
}

/// The name of each file's table: its stem, or, when several files share
/// a stem, its path under `root` without the extension and with `.` for
/// `/` (`endpoint/x.yml` is `endpoint.x`), as `scripts/spark/evidx_spark.py`
/// names them, so that no two detections write one file.
pub fn output_names(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let stem = |p: &Path| {
        p.file_stem().map_or_else(
            || "detection".to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    };
    let mut count: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for f in files {
        *count.entry(stem(f)).or_default() += 1;
    }
    files
        .iter()
        .map(|f| {
            let s = stem(f);
            if count[&s] == 1 {
                return s;
            }
            let under = f.strip_prefix(root).unwrap_or(f).with_extension("");
            (under.components())
                .filter_map(|c| match c {
                    std::path::Component::Normal(part) => Some(part.to_string_lossy()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect()
}

/// Run one detection; with `target`, stream its rows there as CSV (without,
/// they are counted and dropped).
fn run_one(
    engine: &Engine,
    macros: &MacroSet,
    search: &str,
    path: &Path,
    target: Option<&Path>,
) -> Result<usize, String> {
    let query = spl::parse_query(search, macros)
        .map_err(QueryError::Spl)
        .map_err(|e| short_reason(&e))?;
    // Warnings name the detection: the pack's run in parallel.
    let name = path.display();
    let warn = |w: String| eprintln!("evidx-query: warning: {name}: {w}");
    for w in crate::lint::warnings(&query.pipeline) {
        warn(w);
    }
    let rows = match target {
        Some(target) => {
            // Rows go to a partial file, renamed when the search is done.
            let mut partial = target.as_os_str().to_owned();
            partial.push(".partial");
            let partial = PathBuf::from(partial);
            let written: Result<u64, String> = (|| {
                let file = std::fs::File::create(&partial)
                    .map_err(|e| format!("writing {}: {e}", partial.display()))?;
                let mut w = std::io::BufWriter::new(file);
                let rows = engine
                    .run_reporting(
                        &query,
                        &mut render::Streaming::new(render::Format::Csv, &mut w),
                        &warn,
                    )
                    .map_err(|e| short_reason(&e))?;
                w.flush()
                    .map_err(|e| format!("writing {}: {e}", partial.display()))?;
                drop(w);
                std::fs::rename(&partial, target)
                    .map_err(|e| format!("writing {}: {e}", target.display()))?;
                Ok(rows)
            })();
            if written.is_err() {
                let _ = std::fs::remove_file(&partial);
            }
            written?
        }
        None => engine
            .run_reporting(&query, &mut Counter, &warn)
            .map_err(|e| short_reason(&e))?,
    };
    Ok(rows as usize)
}

/// Counts rows and keeps none.
struct Counter;

impl RowSink for Counter {
    fn begin(&mut self, _: &[String]) -> std::io::Result<()> {
        Ok(())
    }
    fn rows(&mut self, _: &[Vec<crate::table::Cell>]) -> std::io::Result<()> {
        Ok(())
    }
}

/// One line's worth of an error: the message, without the diagram.
fn short_reason(e: &QueryError) -> String {
    match e {
        QueryError::Spl(s) => s.message.clone(),
        QueryError::Unsupported { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
