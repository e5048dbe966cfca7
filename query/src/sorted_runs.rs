//! Sorted runs on disk and their k-way merge, for a table of groups that
//! outgrows its memory (`collect::spill` after tstats, `commands::stats`
//! after it). A run is an unnamed temporary file (gone when closed, even
//! after a kill) of records in key order. The merge gives each key once,
//! the records of equal keys combined in run order (the order the runs
//! were written), so the answer is the one a table held whole gives.

use std::cmp::Ordering;
use std::collections::binary_heap::PeekMut;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};

/// A run on disk.
pub struct Run {
    file: File,
    records: u64,
}

/// Write `records` (in key order) as a run, each with `put`.
pub fn write<T>(
    records: impl IntoIterator<Item = T>,
    mut put: impl FnMut(&mut BufWriter<&mut File>, T) -> io::Result<()>,
) -> io::Result<Run> {
    let mut file = tempfile::tempfile()?;
    let mut out = BufWriter::with_capacity(1 << 16, &mut file);
    let mut n = 0;
    for r in records {
        put(&mut out, r)?;
        n += 1;
    }
    out.flush()?;
    drop(out);
    file.seek(SeekFrom::Start(0))?;
    Ok(Run { file, records: n })
}

/// Reads one record, as its key and value.
pub type ReadRecord<K, V> = Box<dyn FnMut(&mut BufReader<File>) -> io::Result<(K, V)> + Send>;

/// The records of several runs, merged in key order.
pub struct Merge<K, V> {
    /// Each run and the records it has left.
    readers: Vec<(BufReader<File>, u64)>,
    /// The next record of each run that has one, smallest key on top.
    heap: BinaryHeap<Head<K, V>>,
    read: ReadRecord<K, V>,
}

struct Head<K, V> {
    key: K,
    value: V,
    run: usize,
}

impl<K: Ord, V> Ord for Head<K, V> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap. Equal keys: earliest run.
        (&other.key, other.run).cmp(&(&self.key, self.run))
    }
}

impl<K: Ord, V> PartialOrd for Head<K, V> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K: Ord, V> PartialEq for Head<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<K: Ord, V> Eq for Head<K, V> {}

impl<K: Ord, V> Merge<K, V> {
    pub fn new(runs: Vec<Run>, read: ReadRecord<K, V>) -> io::Result<Self> {
        let mut merge = Merge {
            readers: runs
                .into_iter()
                .map(|r| (BufReader::with_capacity(1 << 16, r.file), r.records))
                .collect(),
            heap: BinaryHeap::new(),
            read,
        };
        for run in 0..merge.readers.len() {
            if let Some(head) = next_of(&mut merge.readers, &mut merge.read, run)? {
                merge.heap.push(head);
            }
        }
        Ok(merge)
    }

    /// The smallest record, replaced on the heap by the next record of its
    /// run: the new record takes the top's place and sinks once, where a
    /// pop and a push would each walk the heap (the merge's comparisons of
    /// long keys halve).
    fn take_top(&mut self) -> io::Result<Option<Head<K, V>>> {
        let Some(mut top) = self.heap.peek_mut() else {
            return Ok(None);
        };
        Ok(Some(
            match next_of(&mut self.readers, &mut self.read, top.run)? {
                Some(next) => std::mem::replace(&mut *top, next),
                None => PeekMut::pop(top),
            },
        ))
    }

    /// The next key and its value, the values of equal keys combined in
    /// run order with `combine(earlier, later)`.
    pub fn next_group(&mut self, mut combine: impl FnMut(&mut V, V)) -> io::Result<Option<(K, V)>> {
        let Some(first) = self.take_top()? else {
            return Ok(None);
        };
        let (key, mut value) = (first.key, first.value);
        while self.heap.peek().is_some_and(|h| h.key == key) {
            let Some(same) = self.take_top()? else { break };
            combine(&mut value, same.value);
        }
        Ok(Some((key, value)))
    }
}

/// The next record of `run`, if it has one left.
fn next_of<K, V>(
    readers: &mut [(BufReader<File>, u64)],
    read: &mut ReadRecord<K, V>,
    run: usize,
) -> io::Result<Option<Head<K, V>>> {
    let (input, left) = &mut readers[run];
    if *left == 0 {
        return Ok(None);
    }
    *left -= 1;
    let (key, value) = read(input)?;
    Ok(Some(Head { key, value, run }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Read;

    /// Runs of (key, run) records with keys shared between runs, some runs
    /// empty: the merge gives every key once, in order, with the runs that
    /// hold it combined in run order.
    #[test]
    fn merge_gives_each_key_once_with_runs_combined_in_order() {
        let n_runs = 9u64;
        let mut expected: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let mut runs = Vec::new();
        for run in 0..n_runs {
            // A multiplicative hash picks each run's keys among 0..200.
            let keys: Vec<u64> = (0..200u64)
                .filter(|k| (k * 2_654_435_761 + run * 40_503) % 7 < run % 4)
                .collect();
            for &k in &keys {
                expected.entry(k).or_default().push(run);
            }
            let written = write(keys, |out, k| {
                out.write_all(&k.to_be_bytes())?;
                out.write_all(&run.to_be_bytes())
            })
            .unwrap();
            runs.push(written);
        }
        assert!(
            expected.values().any(|v| v.len() > 2),
            "keys shared by runs"
        );
        let read: ReadRecord<u64, Vec<u64>> = Box::new(|input| {
            let mut b = [0u8; 16];
            input.read_exact(&mut b)?;
            let key = u64::from_be_bytes(b[..8].try_into().unwrap());
            let run = u64::from_be_bytes(b[8..].try_into().unwrap());
            Ok((key, vec![run]))
        });
        let mut merge = Merge::new(runs, read).unwrap();
        let mut got = BTreeMap::new();
        let mut last = None;
        while let Some((key, runs)) = merge.next_group(|a, b| a.extend(b)).unwrap() {
            assert!(last < Some(key), "{key} after {last:?}");
            last = Some(key);
            got.insert(key, runs);
        }
        assert_eq!(got, expected);
    }
}
