//! Errors that stop a run. Problems inside one input never do: they become
//! skips in the manifest (see [`crate::manifest`]).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{}: {reason}", path.display())]
    Input { path: PathBuf, reason: String },
    #[error("index directory {}: {reason}", path.display())]
    Output { path: PathBuf, reason: String },
    /// Another run holds the index (or its lock file cannot be used).
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    #[error(transparent)]
    Parquet(#[from] crate::parquet::ParquetError),
    /// The index writer failed earlier in the run (see `Store::failure`).
    #[error("the index writer failed, so the run stopped at its last commit: {0}")]
    WriterFailed(String),
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
