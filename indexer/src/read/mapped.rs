//! Input files read through a memory map, surviving a file that shrinks
//! while it is read.
//!
//! A mapped file that another process truncates faults on the next access
//! past its new end (SIGBUS), which would kill the run: a collector still
//! writing, a log rotated, evidence on a failing share. While a
//! [`MappedInput`] is alive its address range is registered; a SIGBUS in
//! that range maps a page of zeros over the faulting page and notes its
//! offset, and the read goes on. Zeros are no event in any format (an EVTX
//! chunk without its magic, a line of NUL bytes), so they become skips, and
//! [`MappedInput::shrank_at`] tells the caller what was lost. A SIGBUS
//! anywhere else goes to the handler that was there before (Rust's own, or
//! the default: the process dies as it would have).
//!
//! Only Linux (and other Unix) with `libc`; elsewhere the map is plain.

use std::fs::File;
use std::io;
use std::ops::Deref;

use memmap2::Mmap;

/// A read-only map of an input file, guarded against the file shrinking.
pub struct MappedInput {
    map: Mmap,
    /// Registry slot of the map's range (None: no slot was free, or no
    /// guard on this platform; the map is then plain).
    slot: Option<usize>,
}

impl MappedInput {
    /// Map `file` read-only, with its range registered for the guard.
    pub fn open(file: &File) -> io::Result<Self> {
        // SAFETY: the file is mapped read-only and only read through the
        // slice this type derefs to. Another process may truncate it; the
        // guard below turns the fault past the new end into zeros.
        let map = unsafe { Mmap::map(file) }?;
        let slot = guard::register(map.as_ptr() as usize, map.len());
        Ok(MappedInput { map, slot })
    }

    /// Byte offset of the first page found gone (the file shrank under the
    /// map while it was read): what lay from there on was read as zeros.
    pub fn shrank_at(&self) -> Option<u64> {
        self.slot.and_then(guard::fault_offset)
    }

    /// Tell the kernel the pages are read once, in order, so it may drop
    /// them behind the reader.
    pub fn advise_sequential(&self) {
        let _ = self.map.advise(memmap2::Advice::Sequential);
    }
}

impl Deref for MappedInput {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for MappedInput {
    fn drop(&mut self) {
        // The range leaves the registry before the map is unmapped (the
        // field drops after this body): a later map at the same addresses
        // is not mistaken for this one.
        if let Some(slot) = self.slot {
            guard::unregister(slot);
        }
    }
}

#[cfg(unix)]
mod guard {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Once, OnceLock};

    /// Maps guarded at once, at most (one per file being read; a map
    /// beyond that is read unguarded).
    const SLOTS: usize = 256;

    /// Per slot: start address (0: free), length, and the offset of the
    /// first faulting page plus one (0: none).
    struct Slot {
        start: AtomicUsize,
        len: AtomicUsize,
        fault: AtomicUsize,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const FREE: Slot = Slot {
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        fault: AtomicUsize::new(0),
    };
    static SLOTS_IN_USE: [Slot; SLOTS] = [FREE; SLOTS];
    static PAGE: AtomicUsize = AtomicUsize::new(4096);
    static INSTALL: Once = Once::new();
    /// The handler in place before ours, called for faults not ours (set
    /// once, before ours is installed; reading it takes no lock).
    static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

    pub fn register(start: usize, len: usize) -> Option<usize> {
        if start == 0 || len == 0 {
            return None;
        }
        INSTALL.call_once(install);
        for (i, s) in SLOTS_IN_USE.iter().enumerate() {
            if s.start
                .compare_exchange(0, usize::MAX, SeqCst, SeqCst)
                .is_ok()
            {
                s.len.store(len, SeqCst);
                s.fault.store(0, SeqCst);
                s.start.store(start, SeqCst);
                return Some(i);
            }
        }
        None
    }

    pub fn unregister(slot: usize) {
        let s = &SLOTS_IN_USE[slot];
        s.len.store(0, SeqCst);
        s.start.store(0, SeqCst);
    }

    pub fn fault_offset(slot: usize) -> Option<u64> {
        match SLOTS_IN_USE[slot].fault.load(SeqCst) {
            0 => None,
            f => Some((f - 1) as u64),
        }
    }

    /// The system's page size (4096 when it cannot be read).
    pub fn page_size() -> usize {
        // SAFETY: sysconf reads a constant of the system.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page)
            .ok()
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096)
    }

    fn install() {
        PAGE.store(page_size(), SeqCst);
        // SAFETY: a zeroed sigaction is a valid value (no handler, empty
        // mask), filled in before use; sigaction(2) only reads `ours` and
        // writes `current`.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut current) != 0 {
                return;
            }
            let _ = PREVIOUS.set(current);
            let mut ours: libc::sigaction = std::mem::zeroed();
            ours.sa_sigaction = on_sigbus as *const () as usize;
            ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut ours.sa_mask);
            libc::sigaction(libc::SIGBUS, &ours, std::ptr::null_mut());
        }
    }

    /// The SIGBUS handler: only atomics, `mmap` and the previous handler
    /// (async-signal-safe enough: no lock, no allocation).
    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO
        // handler; si_addr is the faulting address for SIGBUS.
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE.load(SeqCst);
        for s in &SLOTS_IN_USE {
            let start = s.start.load(SeqCst);
            let len = s.len.load(SeqCst);
            if start == 0 || start == usize::MAX || addr < start || addr - start >= len {
                continue;
            }
            let at = addr & !(page - 1);
            // SAFETY: [at, at + page) lies within a live read-only map of
            // an input file (registered, so not yet unmapped): replacing
            // that page by a private page of zeros changes what the reader
            // sees from bytes that no longer exist to zeros, and nothing
            // else; the map is unmapped whole when the MappedInput drops.
            let zeros = unsafe {
                libc::mmap(
                    at as *mut libc::c_void,
                    page,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if zeros != libc::MAP_FAILED {
                let offset = at.saturating_sub(start) + 1;
                let _ = s
                    .fault
                    .fetch_update(SeqCst, SeqCst, |f| (f == 0 || offset < f).then_some(offset));
                return;
            }
        }
        // Not ours: as if we were not here.
        match PREVIOUS.get() {
            Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
                if p.sa_flags & libc::SA_SIGINFO != 0 {
                    // SAFETY: an SA_SIGINFO handler has this signature.
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        unsafe { std::mem::transmute(p.sa_sigaction) };
                    f(sig, info, ctx);
                } else {
                    // SAFETY: a plain handler takes the signal number.
                    let f: extern "C" fn(libc::c_int) =
                        unsafe { std::mem::transmute(p.sa_sigaction) };
                    f(sig);
                }
            }
            _ => {
                // SAFETY: restoring the default action; returning re-runs
                // the faulting access, which then ends the process.
                unsafe {
                    libc::signal(libc::SIGBUS, libc::SIG_DFL);
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod guard {
    pub fn register(_: usize, _: usize) -> Option<usize> {
        None
    }
    pub fn unregister(_: usize) {}
    pub fn fault_offset(_: usize) -> Option<u64> {
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::MappedInput;
    use std::io::Write;

    #[test]
    fn a_file_cut_short_while_mapped_reads_as_zeros_past_its_end() {
        let page = super::guard::page_size();
        let dir = std::env::temp_dir().join(format!("evidx-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("shrinks.bin");
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&vec![0xAB; page * 4]).unwrap();
        drop(f);
        let file = std::fs::File::open(&path).unwrap();
        let map = MappedInput::open(&file).unwrap();
        assert_eq!(map.shrank_at(), None);
        assert_eq!(map[0], 0xAB);
        // Another writer cuts the file to a page and a half.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len((page + page / 2) as u64)
            .unwrap();
        let ab = map.iter().filter(|&&b| b == 0xAB).count();
        // The bytes up to the new end are read; the rest of the last page
        // is zero-filled by the kernel, the pages past it by the guard.
        assert_eq!(ab, page + page / 2);
        assert_eq!(map.len(), page * 4);
        assert_eq!(map.shrank_at(), Some(2 * page as u64));
        drop(map);
        // A new map of the same file after the fault is not marked.
        let again = MappedInput::open(&file).unwrap();
        assert_eq!(again.shrank_at(), None);
        assert_eq!(again.len(), page + page / 2);
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
