//! Segments searched in parallel, their groups merged in segment order.
//!
//! Ties (`latest`, `earliest`) and float sums must go the same way on
//! every run, so the pieces of each segment's groups reach the merge in
//! segment order. Segments are taken in order by the threads
//! ([`run_in_order`]), and the pieces of a segment whose turn has not come
//! wait in memory. A thread whose waiting pieces pass the budget waits for
//! its segment's turn: every segment before it is already taken by another
//! thread, and the one whose turn it is never waits, so the wait ends, and
//! the memory pieces wait in does not grow with the number of segments.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use super::{Groups, Merged, Merger};

/// The merge, fed in segment order by several threads.
pub(super) struct InOrder {
    state: Mutex<State>,
    /// Signalled when the segment whose turn it is changes, or on abort.
    turn: Condvar,
    /// Bytes of pieces that may wait for their turn.
    budget: usize,
}

struct State {
    merger: Merger,
    /// The segment whose pieces go to the merge as they come.
    next: usize,
    waiting: BTreeMap<usize, Vec<Groups>>,
    waiting_bytes: usize,
    done: BTreeSet<usize>,
    /// A segment failed: nobody waits for a turn any more.
    aborted: bool,
}

impl InOrder {
    pub(super) fn new(merger: Merger, budget: usize) -> Self {
        InOrder {
            state: Mutex::new(State {
                merger,
                next: 0,
                waiting: BTreeMap::new(),
                waiting_bytes: 0,
                done: BTreeSet::new(),
                aborted: false,
            }),
            turn: Condvar::new(),
            budget,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A piece of segment `ord`'s groups: merged if it is the segment's
    /// turn, else kept until it is (waiting for the turn first when the
    /// pieces kept pass the budget).
    pub(super) fn piece(&self, ord: usize, groups: Groups) -> std::io::Result<()> {
        let mut st = self.lock();
        while ord != st.next && st.waiting_bytes > self.budget && !st.aborted {
            st = self.turn.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        if st.aborted {
            return Err(std::io::Error::other("the search stopped"));
        }
        if ord == st.next {
            st.merger.add(groups)
        } else {
            st.waiting_bytes += groups.heap_bytes();
            st.waiting.entry(ord).or_default().push(groups);
            Ok(())
        }
    }

    /// Segment `ord` has given all its pieces.
    pub(super) fn done(&self, ord: usize) -> std::io::Result<()> {
        let mut st = self.lock();
        st.done.insert(ord);
        let before = st.next;
        loop {
            let next = st.next;
            if !st.done.remove(&next) {
                break;
            }
            st.next += 1;
            let next = st.next;
            for groups in st.waiting.remove(&next).unwrap_or_default() {
                st.waiting_bytes = st.waiting_bytes.saturating_sub(groups.heap_bytes());
                st.merger.add(groups)?;
            }
        }
        if st.next != before {
            self.turn.notify_all();
        }
        Ok(())
    }

    /// A segment failed: threads waiting for a turn stop.
    pub(super) fn abort(&self) {
        self.lock().aborted = true;
        self.turn.notify_all();
    }

    /// Every piece merged, in segment order.
    pub(super) fn finish(self) -> std::io::Result<Merged> {
        let st = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut merger = st.merger;
        for groups in st.waiting.into_values().flatten() {
            merger.add(groups)?;
        }
        merger.finish()
    }
}

/// Runs `work(i)` for every `i` in `0..n` on up to `threads` threads, each
/// taking the lowest `i` not yet taken. After the first error no more work
/// is started, `on_error` is called, and that error is returned. A panic
/// calls `on_error` too (so no thread waits for a turn that never comes),
/// then goes on.
pub(super) fn run_in_order<E: Send>(
    n: usize,
    threads: usize,
    work: impl Fn(usize) -> Result<(), E> + Sync,
    on_error: impl Fn() + Sync,
) -> Result<(), E> {
    let taken = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<E>> = Mutex::new(None);
    let worker = || {
        let _panic = OnPanic(&on_error);
        while !stop.load(Ordering::Relaxed) {
            let i = taken.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            if let Err(e) = work(i) {
                let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert(e);
                drop(first);
                stop.store(true, Ordering::Relaxed);
                on_error();
            }
        }
    };
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(worker);
            }
            worker();
        });
    }
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Calls its function if dropped while the thread panics.
struct OnPanic<'a, F: Fn()>(&'a F);

impl<F: Fn()> Drop for OnPanic<'_, F> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            (self.0)();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::run_in_order;
    use std::sync::Mutex;

    #[test]
    fn every_index_runs_once_and_the_first_error_wins() {
        for threads in [1, 2, 4] {
            let seen = Mutex::new(Vec::new());
            let r: Result<(), ()> = run_in_order(
                50,
                threads,
                |i| {
                    seen.lock().unwrap().push(i);
                    Ok(())
                },
                || {},
            );
            assert!(r.is_ok());
            let mut seen = seen.into_inner().unwrap();
            seen.sort();
            assert_eq!(seen, (0..50).collect::<Vec<_>>());
        }
        let aborted = Mutex::new(0);
        let r = run_in_order(
            10,
            1,
            |i| if i == 3 { Err(i) } else { Ok(()) },
            || *aborted.lock().unwrap() += 1,
        );
        assert_eq!(r, Err(3));
        assert_eq!(*aborted.lock().unwrap(), 1);
    }

    #[test]
    fn a_panic_releases_the_threads_waiting_for_a_turn() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::{Duration, Instant};
        let released = AtomicBool::new(false);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_in_order(
                2,
                2,
                |i| -> Result<(), ()> {
                    if i == 0 {
                        panic!("segment 0");
                    }
                    // Segment 1 waits for segment 0's turn to pass.
                    let start = Instant::now();
                    while !released.load(Ordering::SeqCst) {
                        assert!(start.elapsed() < Duration::from_secs(10), "never released");
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Ok(())
                },
                || released.store(true, Ordering::SeqCst),
            )
        }));
        assert!(outcome.is_err(), "the panic goes on");
        assert!(released.load(Ordering::SeqCst));
    }
}
