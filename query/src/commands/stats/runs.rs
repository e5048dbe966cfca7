//! A `stats` whose groups outgrow their memory: the groups so far are
//! written, in their output order, as a run to an unnamed temporary file,
//! and the runs are merged back when the result is read. Equal keys in
//! several runs are merged in run order, which is row order, so the
//! answer is the one a table held whole gives.
//!
//! Per group: the number of by-values and each one, then each aggregate's
//! state ([`super::acc::write`]).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};

use super::acc::{self, Acc};
use super::SortKey;
use crate::encode::{get_str, get_u64, put_str, put_u64};

/// A run on disk.
pub(super) struct Run {
    file: File,
    groups: u64,
}

/// Write `groups` (in key order) as a run.
pub(super) fn write_run(
    groups: impl ExactSizeIterator<Item = (Vec<SortKey>, Vec<Acc>)>,
) -> io::Result<Run> {
    let mut file = tempfile::tempfile()?;
    let n = groups.len() as u64;
    let mut out = BufWriter::with_capacity(1 << 16, &mut file);
    for (key, accs) in groups {
        put_u64(&mut out, key.len() as u64)?;
        for k in &key {
            put_str(&mut out, &k.0)?;
        }
        for a in &accs {
            acc::write(&mut out, a)?;
        }
    }
    out.flush()?;
    drop(out);
    file.seek(SeekFrom::Start(0))?;
    Ok(Run { file, groups: n })
}

/// One run being read.
struct Reader {
    input: BufReader<File>,
    left: u64,
    n_aggs: usize,
}

impl Reader {
    fn next(&mut self) -> io::Result<Option<(Vec<SortKey>, Vec<Acc>)>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let width = get_u64(&mut self.input)? as usize;
        let key = (0..width)
            .map(|_| get_str(&mut self.input).map(SortKey))
            .collect::<io::Result<_>>()?;
        let accs = (0..self.n_aggs)
            .map(|_| acc::read(&mut self.input))
            .collect::<io::Result<_>>()?;
        Ok(Some((key, accs)))
    }
}

/// The next group of one run, ordered for the heap: the smallest key on
/// top, and of equal keys the earliest run.
struct Head {
    key: Vec<SortKey>,
    accs: Vec<Acc>,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reversed.
        (other.key.cmp(&self.key)).then(other.run.cmp(&self.run))
    }
}

/// The groups of several runs, merged, in key order.
pub(super) struct Merge {
    readers: Vec<Reader>,
    heap: BinaryHeap<Head>,
}

impl Merge {
    pub(super) fn new(runs: Vec<Run>, n_aggs: usize) -> io::Result<Self> {
        let mut readers: Vec<Reader> = runs
            .into_iter()
            .map(|r| Reader {
                input: BufReader::with_capacity(1 << 16, r.file),
                left: r.groups,
                n_aggs,
            })
            .collect();
        let mut heap = BinaryHeap::new();
        for (run, reader) in readers.iter_mut().enumerate() {
            if let Some((key, accs)) = reader.next()? {
                heap.push(Head { key, accs, run });
            }
        }
        Ok(Merge { readers, heap })
    }

    /// The next group, its states merged across runs in run order with
    /// `merge(earlier, later)`.
    pub(super) fn next_group(
        &mut self,
        mut merge: impl FnMut(&mut [Acc], Vec<Acc>),
    ) -> io::Result<Option<(Vec<SortKey>, Vec<Acc>)>> {
        let Some(first) = self.pop()? else {
            return Ok(None);
        };
        let (key, mut accs) = first;
        while self.heap.peek().is_some_and(|h| h.key == key) {
            if let Some((_, later)) = self.pop()? {
                merge(&mut accs, later);
            }
        }
        Ok(Some((key, accs)))
    }

    /// The smallest group, its run's next one taking its place.
    fn pop(&mut self) -> io::Result<Option<(Vec<SortKey>, Vec<Acc>)>> {
        let Some(head) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some((key, accs)) = self.readers[head.run].next()? {
            self.heap.push(Head {
                key,
                accs,
                run: head.run,
            });
        }
        Ok(Some((head.key, head.accs)))
    }
}
