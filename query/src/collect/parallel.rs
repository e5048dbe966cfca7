//! Segments searched in parallel. Threads take segments in order
//! ([`run_in_order`]), and each merges the groups of the segments it takes
//! into a merger of its own ([`Mergers`]); the mergers combine at the end.
//!
//! No thread waits for another: every aggregate combines the same way in
//! any order (ties of min, max, latest and earliest break on the value,
//! sums are exact), so the answer does not depend on which thread took
//! which segment, nor on the order the groups met. (Merging in segment
//! order, a thread with a later segment waited for the earlier ones, and a
//! wide group-by over two segments ran on one core.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::{AggFunc, FieldRef, Merged, Merger};

/// One merger per thread, each within its share of the merge budget.
pub(super) struct Mergers {
    free: Mutex<Vec<Merger>>,
    width: usize,
    aggs: Vec<(AggFunc, Option<FieldRef>)>,
    budget: usize,
}

impl Mergers {
    /// `threads` mergers sharing `budget` bytes.
    pub(super) fn new(
        width: usize,
        aggs: &[(AggFunc, Option<FieldRef>)],
        budget: usize,
        threads: usize,
    ) -> Self {
        let threads = threads.max(1);
        let share = budget / threads;
        Mergers {
            free: Mutex::new(
                (0..threads)
                    .map(|_| Merger::new(width, aggs, share))
                    .collect(),
            ),
            width,
            aggs: aggs.to_vec(),
            budget,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Merger>> {
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A merger for the groups of one segment; [`Mergers::put`] gives it
    /// back. There is one per thread, so one is always free.
    pub(super) fn take(&self) -> Merger {
        self.lock()
            .pop()
            .unwrap_or_else(|| Merger::new(self.width, &self.aggs, 0))
    }

    pub(super) fn put(&self, merger: Merger) {
        self.lock().push(merger);
    }

    /// Every group of every merger, combined within the whole budget.
    pub(super) fn finish(self) -> std::io::Result<Merged> {
        let mut mergers = self.free.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut all = mergers
            .pop()
            .unwrap_or_else(|| Merger::new(self.width, &self.aggs, self.budget));
        all.budget = self.budget;
        for merger in mergers {
            all.absorb(merger)?;
        }
        all.finish()
    }
}

/// Runs `work(i)` for every `i` in `0..n` on up to `threads` threads, each
/// taking the lowest `i` not yet taken. After the first error no more work
/// is started, and that error is returned.
pub(super) fn run_in_order<E: Send>(
    n: usize,
    threads: usize,
    work: impl Fn(usize) -> Result<(), E> + Sync,
) -> Result<(), E> {
    let taken = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<E>> = Mutex::new(None);
    let worker = || {
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

#[cfg(test)]
mod tests {
    use super::run_in_order;
    use std::sync::Mutex;

    #[test]
    fn every_index_runs_once_and_the_first_error_wins() {
        for threads in [1, 2, 4] {
            let seen = Mutex::new(Vec::new());
            let r: Result<(), ()> = run_in_order(50, threads, |i| {
                seen.lock().unwrap().push(i);
                Ok(())
            });
            assert!(r.is_ok());
            let mut seen = seen.into_inner().unwrap();
            seen.sort();
            assert_eq!(seen, (0..50).collect::<Vec<_>>());
        }
        let ran = Mutex::new(Vec::new());
        let r = run_in_order(10, 1, |i| {
            ran.lock().unwrap().push(i);
            if i == 3 {
                Err(i)
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err(3));
        assert_eq!(
            ran.into_inner().unwrap(),
            vec![0, 1, 2, 3],
            "no work after the error"
        );
    }
}
