//! Parquet output (`evidx-index --parquet DIR`): the rows the index gets,
//! one per document, as Hive-partitioned, zstd-compressed Parquet that
//! DuckDB, Spark, ClickHouse and Trino read as it is. The README's "Parquet
//! output" lists the columns.
//!
//! - [`row`]: one row (full normalized values and provenance), and the
//!   arrow schema and record batches of many.
//! - [`files`]: where parts go (`DIR/date=YYYY-MM-DD/part-<run>-<seq>.parquet`)
//!   and the names of parts not yet committed.
//! - [`sink`]: rows buffered up to a memory budget, then sorted by
//!   (`dest`, `_time`) and written; parts become visible in step with the
//!   index's commits.

pub mod files;
pub mod row;
pub mod sink;

use std::path::PathBuf;

pub use row::Row;
pub use sink::ParquetSink;

/// With `--parquet` and no index (`-o`), the index that the run keeps for
/// de-duplication and its manifest (event keys only, no field values):
/// `DIR/_evidx`. Spark, Trino and Hive skip `_` names; DuckDB and
/// ClickHouse read `DIR/**/*.parquet`, and it holds none.
pub const STATE_DIR: &str = "_evidx";

/// Rows buffered before they are sorted and written, by default (bytes of
/// row data; the writer's arrays take about as much again while a part is
/// written).
pub const DEFAULT_BUDGET: usize = 64 << 20;

/// Where and how to write Parquet.
#[derive(Debug, Clone)]
pub struct ParquetConfig {
    pub dir: PathBuf,
    /// No index of its own: the index of the run (`Config::output`) holds
    /// only event keys (see [`STATE_DIR`]).
    pub only: bool,
    /// Bytes of rows buffered before a flush.
    pub budget: usize,
}

impl ParquetConfig {
    pub fn new(dir: PathBuf, only: bool) -> ParquetConfig {
        ParquetConfig {
            dir,
            only,
            budget: DEFAULT_BUDGET,
        }
    }
}

/// A Parquet output error; each names the file or directory.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: ::parquet::errors::ParquetError,
    },
    #[error("{}: {source}", path.display())]
    Arrow {
        path: PathBuf,
        source: arrow_schema::ArrowError,
    },
}

impl ParquetError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ParquetError + '_ {
        move |source| ParquetError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
