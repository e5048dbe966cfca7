//! The indexes a search reads, as one: the `-i` paths in command-line
//! order, a folder of indexes standing for its indexes (sorted by name).
//! An index whose manifest time range misses the search's time window is
//! never opened; one without a time range (written by an older evidx) is
//! opened, and the search's `_time` range query filters it.

use std::path::{Path, PathBuf};

use evidx_schema::{version, EvidxSchema};
use tantivy::query::{EnableScoring, Query, Weight};
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher};

use crate::time_range::TimeWindow;

/// An index that cannot be read, or a path that is not one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("index {}: {reason}", path.display())]
pub struct OpenError {
    pub path: PathBuf,
    pub reason: String,
}

/// One open index.
pub struct OpenIndex {
    pub dir: PathBuf,
    pub reader: IndexReader,
    pub schema: EvidxSchema,
}

/// One index's part of a search: its searcher, and the weight of the
/// search's query built from it (a weight may look at its searcher's
/// segments, as [`crate::glob_query::GlobQuery`]'s does).
pub struct Part {
    pub searcher: Searcher,
    pub weight: Box<dyn Weight>,
}

/// The parts of a search of `query` over `indexes`, in order.
pub fn parts(indexes: &[OpenIndex], query: &dyn Query) -> tantivy::Result<Vec<Part>> {
    indexes
        .iter()
        .map(|i| {
            let searcher = i.reader.searcher();
            let weight = query.weight(EnableScoring::disabled_from_searcher(&searcher))?;
            Ok(Part { searcher, weight })
        })
        .collect()
}

/// Times to open an index again when a segment vanished while opening it
/// (a concurrent append's merge).
const OPEN_ATTEMPTS: u32 = 5;

/// The index directories that `paths` name, in order, each once: a path
/// holding `meta.json` is an index; a folder without one stands for its
/// subfolders that are indexes.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, OpenError> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |dir: PathBuf| {
        if seen.insert(dir.canonicalize().unwrap_or_else(|_| dir.clone())) {
            out.push(dir);
        }
    };
    for p in paths {
        if p.join("meta.json").exists() {
            add(p.clone());
            continue;
        }
        let found = indexes_in(p);
        if found.is_empty() {
            return Err(OpenError {
                path: p.clone(),
                reason: "not an evidx index (no meta.json) nor a folder of indexes; \
                         build one with evidx-index -o DIR INPUT..."
                    .into(),
            });
        }
        found.into_iter().for_each(&mut add);
    }
    Ok(out)
}

/// The subfolders of `dir` that are indexes, sorted by name.
fn indexes_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("meta.json").exists())
        .collect();
    found.sort();
    found
}

/// Whether the index in `dir` may hold events in `window`, by its
/// manifest's time range (true when it has none).
pub fn may_overlap(dir: &Path, window: &TimeWindow) -> bool {
    window.is_all()
        || manifest_time_range(dir).is_none_or(|(first, last)| window.overlaps(first, last))
}

/// `totals.time_range` of `dir/manifest.json`: the `_time` (microseconds)
/// of the index's earliest and latest event.
pub fn manifest_time_range(dir: &Path) -> Option<(i64, i64)> {
    let bytes = std::fs::read(dir.join("manifest.json")).ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let range = doc.get("totals")?.get("time_range")?;
    Some((
        range.get("earliest")?.as_i64()?,
        range.get("latest")?.as_i64()?,
    ))
}

/// Open the index in `dir` (checking its format version) for searching.
pub fn open(dir: &Path) -> Result<OpenIndex, OpenError> {
    let err = |reason: String| OpenError {
        path: dir.to_path_buf(),
        reason,
    };
    if !dir.join("meta.json").exists() {
        return Err(err(
            "not an evidx index (no meta.json); build one with evidx-index -o DIR INPUT...".into(),
        ));
    }
    // An append may commit while we open: between reading meta.json and
    // mapping the segments it names, a merge can delete one of them.
    // Once mapped, segments stay readable; so open again from the new
    // meta.json a few times before calling the index unreadable.
    let mut attempt = 0;
    let (index, reader) = loop {
        let index = Index::open_in_dir(dir).map_err(|e| err(e.to_string()))?;
        version::check(&index).map_err(|e| err(e.to_string()))?;
        evidx_schema::grams::register_tokenizers(&index);
        match index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
        {
            Ok::<IndexReader, _>(reader) => break (index, reader),
            Err(tantivy::TantivyError::OpenReadError(_)) if attempt < OPEN_ATTEMPTS => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(err(e.to_string())),
        }
    };
    crate::memory::watch(dir);
    let schema = EvidxSchema::from_schema(&index.schema()).map_err(|e| {
        err(format!(
            "schema is not evidx's ({e}); re-index with this version"
        ))
    })?;
    Ok(OpenIndex {
        dir: dir.to_path_buf(),
        reader,
        schema,
    })
}

/// Open the indexes of `paths` (see [`expand`]) that may hold events in
/// `window`, in order. Their schemas must be the same.
pub fn open_all(paths: &[PathBuf], window: &TimeWindow) -> Result<Vec<OpenIndex>, OpenError> {
    let mut open_indexes: Vec<OpenIndex> = Vec::new();
    for dir in expand(paths)? {
        if !may_overlap(&dir, window) {
            continue;
        }
        let index = open(&dir)?;
        if let Some(first) = open_indexes.first() {
            if index.reader.searcher().schema() != first.reader.searcher().schema() {
                return Err(OpenError {
                    path: dir,
                    reason: format!(
                        "its schema differs from that of {} (same format version, other fields); \
                         re-index one of them with this evidx",
                        first.dir.display()
                    ),
                });
            }
        }
        open_indexes.push(index);
    }
    Ok(open_indexes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_stands_for_its_indexes_sorted() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["b", "a", "not-an-index"] {
            std::fs::create_dir(tmp.path().join(name)).unwrap();
        }
        for name in ["b", "a"] {
            std::fs::write(tmp.path().join(name).join("meta.json"), "{}").unwrap();
        }
        let dirs = expand(&[tmp.path().join("b"), tmp.path().to_path_buf()]).unwrap();
        let names: Vec<_> = dirs.iter().map(|d| d.file_name().unwrap()).collect();
        // Named twice, read once.
        assert_eq!(names, ["b", "a"]);
        let e = expand(&[tmp.path().join("not-an-index")]).unwrap_err();
        assert!(e.to_string().contains("not-an-index"), "{e}");
        assert!(expand(&[tmp.path().join("missing")]).is_err());
    }

    #[test]
    fn manifest_range_decides_what_is_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let window = TimeWindow {
            earliest: Some(100),
            latest: Some(200),
        };
        // No manifest, or none with a range: opened.
        assert!(may_overlap(tmp.path(), &window));
        std::fs::write(tmp.path().join("manifest.json"), r#"{"totals":{}}"#).unwrap();
        assert!(may_overlap(tmp.path(), &window));
        let range = |a: i64, b: i64| {
            let m = format!(r#"{{"totals":{{"time_range":{{"earliest":{a},"latest":{b}}}}}}}"#);
            std::fs::write(tmp.path().join("manifest.json"), m).unwrap();
            may_overlap(tmp.path(), &window)
        };
        assert!(range(50, 100));
        assert!(range(199, 300));
        assert!(!range(50, 99));
        assert!(!range(200, 300));
        assert_eq!(manifest_time_range(tmp.path()), Some((200, 300)));
        assert!(may_overlap(tmp.path(), &TimeWindow::default()));
    }
}
