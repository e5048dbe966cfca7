//! Discover: turn the command line's INPUTs (files or directories, walked
//! recursively) into a sorted, de-duplicated list of files. What cannot be
//! walked (a symlink loop, a broken symlink, an unreadable directory) is
//! listed with its problem, to be reported as skipped, not to end the run.

use std::path::{Path, PathBuf};

use crate::error::IndexError;

/// One file to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputFile {
    pub path: PathBuf,
    pub size: u64,
    /// Why the walk could not reach it, if it could not.
    pub problem: Option<String>,
}

/// Walk `inputs`; what is under `exclude` (the index and the Parquet
/// being written) is never read. A missing input is an error: it is almost
/// always a typo.
pub fn discover(inputs: &[PathBuf], exclude: &[&Path]) -> Result<Vec<InputFile>, IndexError> {
    let exclude: Vec<PathBuf> = exclude
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| IndexError::Input {
            path: input.clone(),
            reason: e.to_string(),
        })?;
        if meta.is_file() {
            files.push(InputFile {
                path: input.clone(),
                size: meta.len(),
                problem: None,
            });
            continue;
        }
        for entry in walkdir::WalkDir::new(input)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    files.push(InputFile {
                        path: e.path().unwrap_or(input).to_path_buf(),
                        size: 0,
                        problem: Some(format!("cannot walk: {e}")),
                    });
                    continue;
                }
            };
            if !exclude.is_empty() {
                if let Ok(c) = entry.path().canonicalize() {
                    if exclude.iter().any(|ex| c.starts_with(ex)) {
                        continue;
                    }
                }
            }
            if entry.file_type().is_file() {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                files.push(InputFile {
                    path: entry.into_path(),
                    size,
                    problem: None,
                });
            }
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}
