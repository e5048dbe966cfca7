//! Library error type: every failure is a value, never a panic, so the binary can report it.

use std::path::PathBuf;

/// Errors the generator can return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A size argument such as `10GiB` could not be parsed.
    #[error("invalid size {input:?}: {reason}")]
    InvalidSize { input: String, reason: &'static str },
    /// An unknown output format name.
    #[error("unknown format {0:?} (expected evtx, jsonl, ecs or xml)")]
    InvalidFormat(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An event is too large to fit into an empty 64 KiB EVTX chunk.
    #[error("record {record_id} needs {size} bytes, more than an EVTX chunk can hold")]
    RecordTooLarge { record_id: u64, size: usize },
    /// A file would need more chunks than the EVTX header can count.
    #[error("{0}: more than 65535 chunks in one EVTX file")]
    TooManyChunks(PathBuf),
    /// The run configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
