//! Memory the process holds without using it, given back.
//!
//! - Index pages. tantivy reads an index through memory maps, and every
//!   page a search touches stays resident in the process until unmapped,
//!   which for an open index is never: a pack over a large index would end
//!   up holding most of the index (RSS growing with the archive) though it
//!   needs only the pages of the segment it is reading. The indexer's
//!   merges read their segments the same way (at 32 GiB of input, 850 MiB
//!   of the index stayed resident). When the file-backed resident memory
//!   passes a limit (above what the program and its libraries map), the
//!   maps of the open indexes' files are advised `MADV_DONTNEED`. The
//!   pages stay in the OS page cache, so a later read finds them there (a
//!   minor fault, no disk read); they are only no longer counted against
//!   the process.
//! - Freed heap. glibc keeps what a finished search freed in its per-thread
//!   arenas (up to eight per core, each fragmented on its own):
//!   [`limit_arenas`] keeps one per working thread, and [`trim_heap`]
//!   returns the free pages to the OS between the detections of a pack.
//!
//! Both are process-wide, as resident memory is: [`watch`] registers an
//! index, [`release_if_over`] may be called as often as every few thousand
//! documents (it reads one line of /proc when the limit is not passed).
//! Long walks of evidx's own call it as they go ([`Pacer`]); a warden
//! thread, started by the first [`watch`], calls it every
//! [`WARDEN_EVERY`] too, for the pages tantivy reads on its own (postings,
//! the doc store, a segment being opened), which came in bursts of
//! several MiB between two paced checks.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

/// Heap a `String` takes besides its text (the `String` itself and the
/// allocator's header), for the estimates that bound a search's memory.
pub const STRING_BYTES: usize = std::mem::size_of::<String>() + 8;

/// Resident bytes of index pages past which they are given back.
pub const DEFAULT_PAGE_LIMIT: usize = 32 << 20;

static LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_PAGE_LIMIT);
/// File-backed resident bytes that are not index pages (the program and
/// its libraries), taken when the first index is watched.
static BASELINE: AtomicUsize = AtomicUsize::new(usize::MAX);
/// The directories of the open indexes (canonical, as /proc names files).
static WATCHED: RwLock<Vec<PathBuf>> = RwLock::new(Vec::new());

/// Time between two checks of the warden thread (see the module's
/// documentation): one read of /proc, some 20 microseconds, so about 1% of
/// a core.
pub const WARDEN_EVERY: std::time::Duration = std::time::Duration::from_millis(2);

/// Give back the pages of index `dir` when over the limit.
pub fn watch(dir: &Path) {
    #[cfg(target_os = "linux")]
    {
        if let Some(b) = linux::resident_file_bytes() {
            let _ = BASELINE.compare_exchange(usize::MAX, b, Ordering::Relaxed, Ordering::Relaxed);
        }
        static WARDEN: std::sync::Once = std::sync::Once::new();
        WARDEN.call_once(|| {
            // Best effort: without the thread, the paced checks remain.
            let _ = std::thread::Builder::new()
                .name("evidx-pages".into())
                .spawn(|| loop {
                    std::thread::sleep(WARDEN_EVERY);
                    release_if_over();
                });
        });
    }
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut watched = WATCHED.write().unwrap_or_else(|p| p.into_inner());
    if !watched.contains(&dir) {
        watched.push(dir);
    }
}

/// Resident bytes of index pages (file-backed resident memory above what
/// the program itself maps) past which they are given back (`usize::MAX`:
/// never).
pub fn set_limit(bytes: usize) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// Give back the watched indexes' pages if the process holds more
/// file-backed pages than the limit. Best effort: a failure changes
/// nothing but memory use.
pub fn release_if_over() {
    #[cfg(target_os = "linux")]
    {
        let limit = LIMIT.load(Ordering::Relaxed);
        let base = match BASELINE.load(Ordering::Relaxed) {
            usize::MAX => 0,
            b => b,
        };
        if limit != usize::MAX
            && linux::resident_file_bytes().is_some_and(|b| b > base.saturating_add(limit))
        {
            let watched = WATCHED.read().unwrap_or_else(|p| p.into_inner());
            linux::release(&watched);
        }
    }
}

/// Calls [`release_if_over`] once every so many steps of a long walk over
/// an index (decoding a large part of a dictionary or column touches far
/// more pages than the limit before the walk ends).
pub struct Pacer {
    every: u32,
    left: u32,
}

impl Pacer {
    /// A check every `every` steps (at least 1).
    pub fn new(every: u32) -> Self {
        let every = every.max(1);
        Pacer { every, left: every }
    }

    /// One step of the walk.
    #[inline]
    pub fn step(&mut self) {
        self.left -= 1;
        if self.left == 0 {
            self.left = self.every;
            release_if_over();
        }
    }
}

/// Steps (terms, ordinals, documents) between two checks in a long walk:
/// a few MiB of index pages at most, and a check (one read of /proc)
/// costs less than the walk's steps between two.
pub const PACE: u32 = 4096;

/// Let glibc's allocator keep at most `n` arenas (glibc only; elsewhere
/// nothing). Call at the start of `main`, before any thread allocates.
pub fn limit_arenas(n: i32) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes two integers and only sets an allocator
    // parameter; called before other threads exist, it races with nothing.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, n);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = n;
}

/// Return the heap's free pages to the OS (glibc only; elsewhere nothing).
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only releases memory the
    // allocator holds free; it is thread-safe (it locks each arena).
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::path::{Path, PathBuf};

    /// `RssFile` of /proc/self/status, in bytes.
    pub fn resident_file_bytes() -> Option<usize> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("RssFile:"))?;
        let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Advise DONTNEED on every mapping of a file under one of `dirs`.
    pub fn release(dirs: &[PathBuf]) {
        let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
            return;
        };
        for (start, end) in maps.lines().filter_map(|l| index_mapping(l, dirs)) {
            // SAFETY: [start, end) is a whole mapping of an index file, as
            // the kernel lists it: mapped read-only and shared by tantivy's
            // MmapDirectory, and never written (segment files are
            // immutable once committed). DONTNEED drops the process's
            // page-table entries only; the next read of an address faults
            // the same bytes back in from the file (page cache), so no
            // reference into the mapping ever sees different data. The
            // mapping itself stays valid.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }

    /// The address range of a /proc/self/maps line mapping a file under
    /// one of `dirs` read-only and shared (`r--s`).
    pub(super) fn index_mapping(line: &str, dirs: &[PathBuf]) -> Option<(usize, usize)> {
        let mut fields = line.split_whitespace();
        let range = fields.next()?;
        let perms = fields.next()?;
        // offset, device, inode, then the path (which may hold spaces).
        let path = line.splitn(6, ' ').nth(5)?.trim_start();
        if perms != "r--s" || !dirs.iter().any(|d| Path::new(path).starts_with(d)) {
            return None;
        }
        let (start, end) = range.split_once('-')?;
        let start = usize::from_str_radix(start, 16).ok()?;
        let end = usize::from_str_radix(end, 16).ok()?;
        (end > start).then_some((start, end))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::linux::index_mapping;
    use std::path::PathBuf;

    #[test]
    fn only_shared_read_only_maps_of_the_index() {
        let dirs = [PathBuf::from("/data/my idx")];
        let line = "7f00a000-7f00c000 r--s 00000000 fd:01 1234      /data/my idx/abc.fast";
        assert_eq!(index_mapping(line, &dirs), Some((0x7f00a000, 0x7f00c000)));
        let private = "7f00a000-7f00c000 r--p 00000000 fd:01 1234  /data/my idx/abc.fast";
        assert_eq!(index_mapping(private, &dirs), None);
        let other = "7f00a000-7f00c000 r--s 00000000 fd:01 1234  /data/other/abc.fast";
        assert_eq!(index_mapping(other, &dirs), None);
        let anon = "7f00a000-7f00c000 rw-p 00000000 00:00 0";
        assert_eq!(index_mapping(anon, &dirs), None);
    }

    /// Pages given back read the same bytes again.
    #[test]
    fn released_pages_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segment.bin");
        let data: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: the file is ours and not changed while mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        assert_eq!(&map[..], &data[..]);
        super::linux::release(&[dir.path().canonicalize().unwrap()]);
        assert_eq!(&map[..], &data[..]);
    }
}
