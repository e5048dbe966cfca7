//! Discover: turn the command line's INPUTs (files or directories, walked
//! recursively) into a sorted, de-duplicated list of files.

use std::path::{Path, PathBuf};

use crate::error::IndexError;

/// One file to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputFile {
    pub path: PathBuf,
    pub size: u64,
}

/// Walk `inputs`; `exclude` (the index being written) is never read.
/// A missing input is an error: it is almost always a typo.
pub fn discover(inputs: &[PathBuf], exclude: &Path) -> Result<Vec<InputFile>, IndexError> {
    let exclude = exclude.canonicalize().ok();
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
            });
            continue;
        }
        for entry in walkdir::WalkDir::new(input)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| IndexError::Input {
                path: e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| input.clone()),
                reason: e.to_string(),
            })?;
            if let (Some(ex), Ok(c)) = (&exclude, entry.path().canonicalize()) {
                if c.starts_with(ex) {
                    continue;
                }
            }
            if entry.file_type().is_file() {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                files.push(InputFile {
                    path: entry.into_path(),
                    size,
                });
            }
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}
