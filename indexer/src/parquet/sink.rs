//! Rows in, Parquet parts out, with bounded memory: workers push rows into
//! a buffer; the worker whose row fills it to the budget takes it, sorts
//! it by (day, `dest`, `_time`) and writes one part per day, while the
//! others go on filling a new one. Before each index commit (no row can be
//! pushed then: see [`crate::store`]) the rest is written and every part
//! since the last commit is staged; after the commit they are published
//! (see [`super::files`]). So the Parquet holds the rows of the index's
//! committed documents: no more, no fewer.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression, ZstdLevel};
use ::parquet::file::metadata::SortingColumn;
use ::parquet::file::properties::WriterProperties;

use super::files::{self, Settle};
use super::row::{batch, schema, Row, DEST_COLUMN, TIME_COLUMN};
use super::{ParquetConfig, ParquetError};

/// Rows per record batch handed to the writer: keeps arrow's arrays small
/// whatever the budget.
const BATCH_ROWS: usize = 8192;

/// zstd level 3 (zstd's default): most of the ratio of higher levels at a
/// fraction of their time.
const ZSTD_LEVEL: i32 = 3;

pub struct ParquetSink {
    dir: PathBuf,
    run: String,
    budget: usize,
    buffer: Mutex<Buffer>,
    seq: AtomicU64,
    /// Parts written since the last commit.
    written: Mutex<Vec<PathBuf>>,
    /// Parts staged for the commit under way.
    staged: Mutex<Vec<PathBuf>>,
    /// The first failure of a write made by a worker, for the next commit
    /// to report (a worker cannot stop the run itself).
    failed: Mutex<Option<ParquetError>>,
}

#[derive(Default)]
struct Buffer {
    rows: Vec<Row>,
    bytes: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ParquetSink {
    /// Open `cfg.dir` for the run `run` (see [`files::run_id`]), first
    /// putting what earlier runs left in step with the index (`how`).
    pub fn open(cfg: &ParquetConfig, run: String, how: Settle) -> Result<Self, ParquetError> {
        std::fs::create_dir_all(&cfg.dir).map_err(ParquetError::io(&cfg.dir))?;
        files::settle(&cfg.dir, how)?;
        Ok(ParquetSink {
            dir: cfg.dir.clone(),
            run,
            budget: cfg.budget,
            buffer: Mutex::default(),
            seq: AtomicU64::new(0),
            written: Mutex::default(),
            staged: Mutex::default(),
            failed: Mutex::default(),
        })
    }

    /// Add the row of a document just added to the index.
    pub fn push(&self, row: Row) {
        let full = {
            let mut b = lock(&self.buffer);
            b.bytes += row.bytes();
            b.rows.push(row);
            if b.bytes < self.budget {
                return;
            }
            // The next buffer will hold about as many rows: reserved at
            // once, it never holds a doubled (and copied) array.
            let next = Buffer {
                rows: Vec::with_capacity(b.rows.len() + b.rows.len() / 8),
                bytes: 0,
            };
            std::mem::replace(&mut *b, next)
        };
        if let Err(e) = self.write(full.rows) {
            lock(&self.failed).get_or_insert(e);
        }
    }

    /// Before the index commit `opstamp`, while no row is pushed: write
    /// what is buffered, and stage every part written since the last commit.
    pub fn stage(&self, opstamp: u64) -> Result<(), ParquetError> {
        if let Some(e) = lock(&self.failed).take() {
            return Err(e);
        }
        let rest = std::mem::take(&mut *lock(&self.buffer));
        self.write(rest.rows)?;
        let written = std::mem::take(&mut *lock(&self.written));
        let mut staged = lock(&self.staged);
        for tmp in written {
            let to = files::staged_name(&tmp, opstamp);
            std::fs::rename(&tmp, &to).map_err(ParquetError::io(&tmp))?;
            staged.push(to);
        }
        Ok(())
    }

    /// After the commit: make its parts visible.
    pub fn publish(&self) -> Result<(), ParquetError> {
        for part in std::mem::take(&mut *lock(&self.staged)) {
            files::publish(&part)?;
        }
        Ok(())
    }

    /// Sort `rows` and write one part per day.
    fn write(&self, mut rows: Vec<Row>) -> Result<(), ParquetError> {
        rows.sort_unstable_by(|a, b| (a.day(), a.dest(), a.time).cmp(&(b.day(), b.dest(), b.time)));
        for day in rows.chunk_by(|a, b| a.day() == b.day()) {
            let dir = files::partition(&self.dir, day[0].day());
            std::fs::create_dir_all(&dir).map_err(ParquetError::io(&dir))?;
            let path = files::tmp_name(&dir, &self.run, self.seq.fetch_add(1, Relaxed));
            // Listed before it is written: a part that fails half-way is
            // still cleaned up by the next commit's error path or run.
            lock(&self.written).push(path.clone());
            write_part(&path, day)?;
        }
        Ok(())
    }
}

/// The writer's settings: zstd, and the sort order declared.
fn properties() -> Result<WriterProperties, ::parquet::errors::ParquetError> {
    let sorted = |column: usize| SortingColumn {
        column_idx: column as i32,
        descending: false,
        nulls_first: true,
    };
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL)?))
        .set_sorting_columns(Some(vec![sorted(DEST_COLUMN), sorted(TIME_COLUMN)]))
        .build())
}

/// Write `rows` (sorted) as the Parquet file `path`, synced to disk.
fn write_part(path: &Path, rows: &[Row]) -> Result<(), ParquetError> {
    let write_err = |source| ParquetError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(ParquetError::io(path))?;
    let props = properties().map_err(write_err)?;
    // The writer buffers its output itself.
    let mut w = ArrowWriter::try_new(file, schema(), Some(props)).map_err(write_err)?;
    for chunk in rows.chunks(BATCH_ROWS) {
        let b = batch(chunk).map_err(|source| ParquetError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        w.write(&b).map_err(write_err)?;
    }
    // Writes the footer.
    let file = w.into_inner().map_err(write_err)?;
    file.sync_all().map_err(ParquetError::io(path))
}
