//! The index lock: one `evidx-index` run writes an index at a time.
//!
//! `INDEX_DIR/evidx-index.lock` names its holder (pid, host, start time) for
//! the message another run prints. What is held is an OS lock on that file
//! (`flock`), which the kernel releases when the holder exits however it
//! exits: a run killed with SIGKILL leaves the file with its holder's name
//! in it but no lock, so the next run knows the lock is stale, takes it
//! over and says so. The file is never deleted (deleting a lock file races
//! with a run that has just opened it); an empty file means "free".
//!
//! tantivy's own writer lock (`.tantivy-writer.lock`) is taken after this
//! one; it guards against writers other than evidx.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

pub const LOCK_FILE: &str = "evidx-index.lock";

/// Who holds (or held) the lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub started: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {}, since {}",
            self.pid, self.host, self.started
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{} is being written by another evidx-index ({holder}); wait for it to finish \
         (or stop that process), then run again",
        dir.display()
    )]
    Busy { dir: PathBuf, holder: String },
    #[error("lock file {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// The held lock; released when dropped.
#[derive(Debug)]
pub struct IndexLock {
    file: File,
    /// The holder of a stale lock that was taken over (its run was killed).
    pub stale: Option<Holder>,
}

impl IndexLock {
    /// Take the lock of the index directory `dir` (which must exist).
    pub fn acquire(dir: &Path) -> Result<IndexLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        let named = read_holder(&mut file);
        let mut held_elsewhere = try_lock(&file, named.as_ref());
        // A killed holder keeps its lock until its last thread is gone,
        // which can take a moment after its parent saw it die (a thread in
        // the middle of an fsync): wait for a dying holder, not a live one.
        let deadline = Instant::now() + DYING_HOLDER_WAIT;
        while held_elsewhere && named.as_ref().is_some_and(dying) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            held_elsewhere = try_lock(&file, named.as_ref());
        }
        if held_elsewhere {
            return Err(LockError::Busy {
                dir: dir.to_path_buf(),
                holder: named.map_or_else(|| "holder unknown".into(), |h| h.to_string()),
            });
        }
        // Read again now that it is ours: a holder that finished meanwhile
        // emptied the file; one that was killed left its name.
        let previous = file.rewind().ok().and_then(|()| read_holder(&mut file));
        let me = Holder {
            pid: std::process::id(),
            host: host_name(),
            started: chrono::Utc::now().to_rfc3339(),
        };
        let text = serde_json::to_vec(&me).map_err(io::Error::other);
        text.and_then(|t| {
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(&t)?;
            file.sync_all()
        })
        .map_err(io_err)?;
        Ok(IndexLock {
            file,
            stale: previous,
        })
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        // Emptied first: "free", not "stale". The OS lock goes with the
        // file handle anyway.
        let _ = self.file.set_len(0);
        let _ = FileExt::unlock(&self.file);
    }
}

/// How long to wait for a holder that is exiting to let go.
const DYING_HOLDER_WAIT: Duration = Duration::from_secs(10);

/// True when another process holds the lock.
fn try_lock(file: &File, holder: Option<&Holder>) -> bool {
    match file.try_lock_exclusive() {
        Ok(got) => !got,
        // No OS locks on this file system: trust the named holder if it is
        // a live process of this host.
        Err(_) => holder.is_some_and(alive),
    }
}

/// True when `h` is a process of this host that is exiting: a zombie, or
/// one with a SIGKILL pending.
fn dying(h: &Holder) -> bool {
    let proc = Path::new("/proc").join(h.pid.to_string());
    if h.host != host_name() {
        return false;
    }
    let zombie = std::fs::read_to_string(proc.join("stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X')))
    });
    // Bit 8 of the pending-signal masks: SIGKILL (9).
    let killed = std::fs::read_to_string(proc.join("status")).is_ok_and(|s| {
        s.lines().any(|l| {
            l.strip_prefix("ShdPnd:")
                .or_else(|| l.strip_prefix("SigPnd:"))
                .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
                .is_some_and(|m| m & (1 << 8) != 0)
        })
    });
    zombie || killed
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn alive(h: &Holder) -> bool {
    h.host == host_name() && Path::new("/proc").join(h.pid.to_string()).exists() && !dying(h)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_a_stale_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let first = IndexLock::acquire(dir.path()).unwrap();
        assert_eq!(first.stale, None);
        // flock locks belong to open files: a second open in this process
        // is refused like another process would be.
        let err = IndexLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("another evidx-index") && err.contains(&std::process::id().to_string()),
            "{err}"
        );
        drop(first);
        // Released cleanly: free, not stale.
        let again = IndexLock::acquire(dir.path()).unwrap();
        assert_eq!(again.stale, None);
        drop(again);
        // A holder that died without releasing: its name is still there.
        let dead = Holder {
            pid: u32::MAX,
            host: host_name(),
            started: "2026-01-01T00:00:00+00:00".into(),
        };
        std::fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_vec(&dead).unwrap(),
        )
        .unwrap();
        let taken = IndexLock::acquire(dir.path()).unwrap();
        assert_eq!(taken.stale, Some(dead));
    }
}
