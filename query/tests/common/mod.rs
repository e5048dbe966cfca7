//! Helpers shared by the query crate's integration tests: paths into
//! `../shared`, building an index with the indexer library, running SPL,
//! and a small RFC 4180 CSV reader for the reference answers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use evidx_query::spl::MacroSet;
use evidx_query::table::Table;
use evidx_query::Engine;

/// A path under the project's `../shared` directory.
pub fn shared(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(p)
}

/// A path under the workspace root (`/work/main`).
pub fn workspace(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

/// The ESCU macros of `../shared/escu/macros`.
pub fn escu_macros() -> MacroSet {
    MacroSet::load_dir(&shared("escu/macros")).expect("load ../shared/escu/macros")
}

/// A scratch directory under cargo's per-target tmp dir, emptied first. Used
/// instead of a `TempDir` for indexes held in a `static`: statics are never
/// dropped, so a `TempDir` there would leak one directory per run.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("evidx-query-tests")
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Index `inputs` into `output` (which must not hold anything but an old
/// index) with two threads, quietly; returns the manifest's
/// (process events indexed, records skipped).
pub fn build_index(inputs: &[PathBuf], output: &Path) -> (u64, u64) {
    let cfg = evidx_index::Config {
        threads: 2,
        force: true,
        memory: 64 << 20,
        ..evidx_index::Config::new(inputs.to_vec(), output.to_path_buf())
    };
    let progress = evidx_index::progress::Progress::new(evidx_index::progress::Mode::Quiet);
    let outcome = evidx_index::run(&cfg, &progress)
        .unwrap_or_else(|e| panic!("indexing {inputs:?} into {}: {e}", output.display()));
    let c = &outcome.manifest.totals.counts;
    (c.process_events, c.skipped)
}

/// Index `inputs` into `output` and open it.
pub fn index_and_open(inputs: &[PathBuf], output: &Path) -> Engine {
    build_index(inputs, output);
    Engine::open(output).unwrap_or_else(|e| panic!("open {}: {e}", output.display()))
}

/// Run SPL, panicking with the rendered error.
pub fn run(engine: &Engine, spl: &str, macros: &MacroSet) -> Table {
    engine
        .run_text(spl, macros)
        .unwrap_or_else(|e| panic!("{spl}\n{e}"))
}

/// Render as the CLI does with `--format csv`.
pub fn to_csv(t: &Table) -> String {
    let mut out = Vec::new();
    evidx_query::render::csv(t, &mut out).expect("render csv");
    String::from_utf8(out).expect("CSV is UTF-8")
}

/// Parse RFC 4180 CSV (quoted fields may hold `,`, `""` and newlines),
/// with the generator's reader of its expected tables.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    evidx_gen::csv::parse(text)
}

/// A table as (header, rows sorted): the multiset view of a CSV.
pub fn csv_multiset(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut recs = parse_csv(text);
    assert!(!recs.is_empty(), "CSV without a header");
    let header = recs.remove(0);
    recs.sort();
    (header, recs)
}

/// A table's cells as strings (multi-values joined by `\n`, null = ""),
/// header first. Handy for exact expectations in tests.
pub fn cells(t: &Table) -> Vec<Vec<String>> {
    t.rows
        .iter()
        .map(|r| r.iter().map(|c| c.0.join("\n")).collect())
        .collect()
}

/// The values of one column (first value of each cell, `<null>` for null).
pub fn column(t: &Table, name: &str) -> Vec<String> {
    let i = t
        .column_index(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", t.columns));
    t.rows
        .iter()
        .map(|r| r[i].first().unwrap_or("<null>").to_string())
        .collect()
}

/// INDEX.tsv as (file relative to escu/, tier).
pub fn index_tsv() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(shared("escu/INDEX.tsv")).expect("INDEX.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("INDEX.tsv has no `{name}` column"))
    };
    let (file, tier) = (col("file"), col("tier"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[file].to_string(), cols[tier].to_string())
        })
        .collect()
}

/// The `.yml` files under `dir`, sorted (at least one).
pub fn yamls(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "yml"))
        .map(|e| e.into_path())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no YAML under {}", dir.display());
    out
}
