//! The files of a Parquet output directory.
//!
//! `DIR/date=YYYY-MM-DD/part-<run>-<seq>.parquet` (`date=unknown` for
//! events without a time). A part is first written as
//! `.part-<run>-<seq>.parquet.tmp`, renamed `.part-<run>-<seq>.parquet.staged-<opstamp>`
//! before the index commit `opstamp`, and published under its own name
//! after it. Readers skip names that start with `.` (Spark, Trino) or do
//! not end in `.parquet` (DuckDB's and ClickHouse's `**/*.parquet`), so
//! they see the rows of committed runs only; a run killed between a commit
//! and publishing its parts leaves them staged, and the next run publishes
//! those of the commit the index is at and deletes the others (see
//! [`settle`]).

use std::path::{Path, PathBuf};

use super::ParquetError;

const PARTITION: &str = "date=";
const UNKNOWN_DAY: &str = "unknown";
const TMP: &str = ".tmp";
const STAGED: &str = ".staged-";

/// The partition directory of a UTC day (days since the epoch).
pub fn partition(dir: &Path, day: Option<i64>) -> PathBuf {
    let date = day
        .and_then(|d| chrono::DateTime::from_timestamp(d.checked_mul(86_400)?, 0))
        .map(|t| t.format("%Y-%m-%d").to_string())
        .filter(|d| d.len() == 10)
        .unwrap_or_else(|| UNKNOWN_DAY.into());
    dir.join(format!("{PARTITION}{date}"))
}

/// A name unique to this run, so that parts of runs into one directory
/// (also from other machines) never collide: its start time and a hash of
/// the time to the nanosecond, the process id and the host name.
pub fn run_id(started: chrono::DateTime<chrono::Utc>) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&started.timestamp_nanos_opt().unwrap_or(0).to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(host.trim().as_bytes());
    let nonce = h.digest() as u32;
    format!("{}-{nonce:08x}", started.format("%Y%m%dT%H%M%SZ"))
}

/// The file a part is written to, in `partition`.
pub fn tmp_name(partition: &Path, run: &str, seq: u64) -> PathBuf {
    partition.join(format!(".part-{run}-{seq:06}.parquet{TMP}"))
}

/// The name of the written part `tmp` staged for the commit `opstamp`.
pub fn staged_name(tmp: &Path, opstamp: u64) -> PathBuf {
    let name = tmp.file_name().map(|n| n.to_string_lossy().into_owned());
    let base = name
        .as_deref()
        .and_then(|n| n.strip_suffix(TMP))
        .unwrap_or("");
    tmp.with_file_name(format!("{base}{STAGED}{opstamp}"))
}

/// The published name of a staged part, and the opstamp it was staged for.
fn published_name(staged: &Path) -> Option<(PathBuf, u64)> {
    let name = staged.file_name()?.to_str()?;
    let (base, opstamp) = name.strip_prefix('.')?.rsplit_once(STAGED)?;
    Some((staged.with_file_name(base), opstamp.parse().ok()?))
}

/// Publish a staged part.
pub fn publish(staged: &Path) -> Result<(), ParquetError> {
    let (to, _) = published_name(staged).ok_or_else(|| ParquetError::Io {
        path: staged.to_path_buf(),
        source: std::io::Error::other("not the name of a staged part"),
    })?;
    std::fs::rename(staged, &to).map_err(ParquetError::io(staged))
}

/// What [`settle`] does with the parts already in a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Appending to the index at commit `opstamp`: publish its staged parts,
    /// delete the rest of what was not published.
    Append { opstamp: u64 },
    /// A new index: delete what was not published, keep published parts.
    New,
    /// `--force`: delete every part.
    Replace,
}

/// Put the partitions of `dir` in step with its index (see the module doc).
pub fn settle(dir: &Path, how: Settle) -> Result<(), ParquetError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ParquetError::io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(ParquetError::io(dir))?;
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PARTITION) || !entry.path().is_dir() {
            continue;
        }
        let part_dir = entry.path();
        for part in std::fs::read_dir(&part_dir).map_err(ParquetError::io(&part_dir))? {
            let path = part.map_err(ParquetError::io(&part_dir))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.as_deref().unwrap_or("");
            let ours = name.starts_with("part-") && name.ends_with(".parquet");
            let unpublished = name.starts_with(".part-");
            let delete = match (how, published_name(&path)) {
                (Settle::Append { opstamp }, Some((_, op))) if op == opstamp => {
                    publish(&path)?;
                    false
                }
                (Settle::Replace, _) => ours || unpublished,
                _ => unpublished,
            };
            if delete {
                std::fs::remove_file(&path).map_err(ParquetError::io(&path))?;
            }
        }
        if how == Settle::Replace {
            // Only when empty: anything else in it is not ours to delete.
            let _ = std::fs::remove_dir(&part_dir);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_utc_days() {
        let dir = Path::new("out");
        assert_eq!(partition(dir, Some(0)), dir.join("date=1970-01-01"));
        assert_eq!(partition(dir, Some(-1)), dir.join("date=1969-12-31"));
        assert_eq!(partition(dir, Some(19_849)), dir.join("date=2024-05-06"));
        assert_eq!(partition(dir, None), dir.join("date=unknown"));
        assert_eq!(partition(dir, Some(i64::MAX)), dir.join("date=unknown"));
    }

    #[test]
    fn parts_go_from_tmp_to_staged_to_published() {
        let out = tempfile::tempdir().unwrap();
        let day = partition(out.path(), Some(0));
        std::fs::create_dir_all(&day).unwrap();
        let touch = |p: &Path| std::fs::write(p, b"x").unwrap();
        let listing = || {
            let mut names: Vec<String> = std::fs::read_dir(&day)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let (a, b, c) = (
            tmp_name(&day, "r", 1),
            tmp_name(&day, "r", 2),
            tmp_name(&day, "r", 3),
        );
        for p in [&a, &b, &c] {
            touch(p);
        }
        std::fs::rename(&a, staged_name(&a, 7)).unwrap();
        std::fs::rename(&b, staged_name(&b, 6)).unwrap();
        settle(out.path(), Settle::Append { opstamp: 7 }).unwrap();
        assert_eq!(listing(), ["part-r-000001.parquet"]);
        touch(&c);
        settle(out.path(), Settle::New).unwrap();
        assert_eq!(listing(), ["part-r-000001.parquet"]);
        settle(out.path(), Settle::Replace).unwrap();
        assert!(!day.exists());
        let id = run_id(chrono::Utc::now());
        assert_ne!(
            id,
            run_id(chrono::Utc::now() + chrono::Duration::nanoseconds(1))
        );
    }
}
