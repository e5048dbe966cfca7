//! Sorted runs on disk and their k-way merge, for a table of groups that
//! outgrows its memory (`collect::spill` after tstats, `commands::stats`
//! after it). A run is an unnamed temporary file (gone when closed, even
//! after a kill) of records in key order. The merge gives each key once,
//! the records of equal keys combined in run order (the order the runs
//! were written), so the answer is the one a table held whole gives. It
//! reads at most [`FAN_IN`] runs at once: runs are merged in batches into
//! longer runs as they are written ([`Runs`]), so a huge answer needs
//! neither more memory nor more open files.

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
    write_with(|out| {
        let mut n = 0;
        for r in records {
            put(out, r)?;
            n += 1;
        }
        Ok(n)
    })
}

/// A run of the records `fill` writes (it returns how many).
fn write_with(fill: impl FnOnce(&mut BufWriter<&mut File>) -> io::Result<u64>) -> io::Result<Run> {
    let mut file = tempfile::tempfile()?;
    let mut out = BufWriter::with_capacity(1 << 16, &mut file);
    let records = fill(&mut out)?;
    out.flush()?;
    drop(out);
    file.seek(SeekFrom::Start(0))?;
    Ok(Run { file, records })
}

/// How the records of one kind of run are read back, written again (when
/// runs are merged into fewer) and combined (equal keys).
pub trait Records: Clone + Send {
    type Key: Ord;
    type Value;
    /// Read one record, as its key and value.
    fn read(&mut self, input: &mut BufReader<File>) -> io::Result<(Self::Key, Self::Value)>;
    /// Write a record so that [`Records::read`] reads it back.
    fn write(&self, out: &mut dyn Write, key: &Self::Key, value: &Self::Value) -> io::Result<()>;
    /// Combine the value of a later run into an earlier run's, same key.
    fn combine(&self, earlier: &mut Self::Value, later: Self::Value);
}

/// The most runs read at once. Each open run holds a file and a 64 KiB
/// buffer, so a table that spills run after run merges them as they come,
/// a batch at a time, into longer runs ([`Runs::push`]): memory and open
/// files stay bounded however large the answer grows.
pub const FAN_IN: usize = 64;

/// The runs of one table, in the order they were written. Once `fan_in`
/// runs of one size are written they are merged into one longer run (a run
/// of the next level), so the runs held grow with the logarithm of the
/// data and each record is rewritten once per level.
pub struct Runs<R> {
    /// Each run with its level (how many merges its records went through).
    runs: Vec<(Run, u32)>,
    records: R,
    fan_in: usize,
}

impl<R: Records> Runs<R> {
    pub fn new(records: R) -> Self {
        Runs::with_fan_in(records, FAN_IN)
    }

    /// Runs that are merged `fan_in` (at least 2) at a time.
    pub fn with_fan_in(records: R, fan_in: usize) -> Self {
        Runs {
            runs: Vec::new(),
            records,
            fan_in: fan_in.max(2),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// How these runs' records are read and written.
    pub fn records(&self) -> &R {
        &self.records
    }

    /// Add the next run written.
    pub fn push(&mut self, run: Run) -> io::Result<()> {
        self.push_at(run, 0)
    }

    /// Add the runs of `later`, written after these.
    pub fn append(&mut self, later: Runs<R>) -> io::Result<()> {
        later
            .runs
            .into_iter()
            .try_for_each(|(run, level)| self.push_at(run, level))
    }

    fn push_at(&mut self, run: Run, level: u32) -> io::Result<()> {
        self.runs.push((run, level));
        loop {
            let n = self.runs.len();
            let level = self.runs[n - 1].1;
            if n < self.fan_in || self.runs[n - self.fan_in..].iter().any(|r| r.1 != level) {
                return Ok(());
            }
            self.merge_last(self.fan_in, level + 1)?;
        }
    }

    /// Merge runs, `fan_in` at a time, until at most `most` (at least one)
    /// are left: where several tables' runs will be read at once, each
    /// table can do so on its own thread.
    pub fn reduce_to(&mut self, most: usize) -> io::Result<()> {
        let most = most.clamp(1, self.fan_in);
        while self.runs.len() > most {
            // The last runs are the shortest: merge just enough of them.
            let n = (self.runs.len() - most + 1).min(self.fan_in);
            let level = self.runs[self.runs.len() - n].1 + 1;
            self.merge_last(n, level)?;
        }
        Ok(())
    }

    /// Merge the last `n` runs (consecutive runs, so equal keys still
    /// combine in the order the runs were written) into one of `level`.
    fn merge_last(&mut self, n: usize, level: u32) -> io::Result<()> {
        let batch = self.runs.drain(self.runs.len() - n..).map(|(r, _)| r);
        let run = Merge::open(batch.collect(), self.records.clone())?.write_run()?;
        self.runs.push((run, level));
        Ok(())
    }

    /// Every record of every run, merged in key order.
    pub fn merge(self) -> io::Result<Merge<R>> {
        let most = self.fan_in;
        self.merge_within(most)
    }

    /// [`Runs::merge`], reading at most `most` runs at once (at least one):
    /// runs are first merged, `fan_in` at a time, into fewer.
    pub fn merge_within(mut self, most: usize) -> io::Result<Merge<R>> {
        self.reduce_to(most)?;
        Merge::open(
            self.runs.into_iter().map(|(r, _)| r).collect(),
            self.records,
        )
    }
}

/// The records of several runs, merged in key order.
pub struct Merge<R: Records> {
    /// Each run and the records it has left.
    readers: Vec<(BufReader<File>, u64)>,
    /// The next record of each run that has one, smallest key on top.
    heap: BinaryHeap<Head<R::Key, R::Value>>,
    records: R,
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

impl<R: Records> Merge<R> {
    fn open(runs: Vec<Run>, records: R) -> io::Result<Self> {
        let mut merge = Merge {
            readers: runs
                .into_iter()
                .map(|r| (BufReader::with_capacity(1 << 16, r.file), r.records))
                .collect(),
            heap: BinaryHeap::new(),
            records,
        };
        for run in 0..merge.readers.len() {
            if let Some(head) = merge.next_of(run)? {
                merge.heap.push(head);
            }
        }
        Ok(merge)
    }

    /// Every record left (equal keys combined), as one run.
    fn write_run(&mut self) -> io::Result<Run> {
        write_with(|out| {
            let mut n = 0;
            while let Some((key, value)) = self.next_group()? {
                self.records.write(out, &key, &value)?;
                n += 1;
            }
            Ok(n)
        })
    }

    /// The next record of `run`, if it has one left.
    fn next_of(&mut self, run: usize) -> io::Result<Option<Head<R::Key, R::Value>>> {
        let (input, left) = &mut self.readers[run];
        if *left == 0 {
            return Ok(None);
        }
        *left -= 1;
        let (key, value) = self.records.read(input)?;
        Ok(Some(Head { key, value, run }))
    }

    /// The smallest record, replaced on the heap by the next record of its
    /// run: the new record takes the top's place and sinks once, where a
    /// pop and a push would each walk the heap (the merge's comparisons of
    /// long keys halve).
    fn take_top(&mut self) -> io::Result<Option<Head<R::Key, R::Value>>> {
        let Some(run) = self.heap.peek().map(|h| h.run) else {
            return Ok(None);
        };
        let next = self.next_of(run)?;
        let Some(mut top) = self.heap.peek_mut() else {
            return Ok(None);
        };
        Ok(Some(match next {
            Some(next) => std::mem::replace(&mut *top, next),
            None => PeekMut::pop(top),
        }))
    }

    /// The next key and its value, the values of equal keys combined in
    /// run order.
    pub fn next_group(&mut self) -> io::Result<Option<(R::Key, R::Value)>> {
        let Some(first) = self.take_top()? else {
            return Ok(None);
        };
        let (key, mut value) = (first.key, first.value);
        while self.heap.peek().is_some_and(|h| h.key == key) {
            let Some(same) = self.take_top()? else { break };
            self.records.combine(&mut value, same.value);
        }
        Ok(Some((key, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Read;

    /// A key and the runs that held it, in the order they combined.
    #[derive(Clone)]
    struct KeyRuns;

    fn get_u64(input: &mut impl Read) -> io::Result<u64> {
        let mut b = [0u8; 8];
        input.read_exact(&mut b)?;
        Ok(u64::from_be_bytes(b))
    }

    impl Records for KeyRuns {
        type Key = u64;
        type Value = Vec<u64>;
        fn read(&mut self, input: &mut BufReader<File>) -> io::Result<(u64, Vec<u64>)> {
            let key = get_u64(input)?;
            let n = get_u64(input)?;
            Ok((
                key,
                (0..n).map(|_| get_u64(input)).collect::<io::Result<_>>()?,
            ))
        }
        fn write(&self, out: &mut dyn Write, key: &u64, runs: &Vec<u64>) -> io::Result<()> {
            out.write_all(&key.to_be_bytes())?;
            out.write_all(&(runs.len() as u64).to_be_bytes())?;
            runs.iter()
                .try_for_each(|r| out.write_all(&r.to_be_bytes()))
        }
        fn combine(&self, earlier: &mut Vec<u64>, later: Vec<u64>) {
            earlier.extend(later)
        }
    }

    /// Runs of (key, run) records with keys shared between runs, some runs
    /// empty: the merge gives every key once, in order, with the runs that
    /// hold it combined in run order, whether it reads every run at once
    /// or merges them a few at a time as they come.
    #[test]
    fn merge_gives_each_key_once_with_runs_combined_in_order() {
        let n_runs = 23u64;
        let mut expected: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let make_runs = |expected: &mut BTreeMap<u64, Vec<u64>>| {
            let mut runs = Vec::new();
            for run in 0..n_runs {
                // A multiplicative hash picks each run's keys among 0..200.
                let keys: Vec<u64> = (0..200u64)
                    .filter(|k| (k * 2_654_435_761 + run * 40_503) % 7 < run % 4)
                    .collect();
                for &k in &keys {
                    expected.entry(k).or_default().push(run);
                }
                let written = write(keys, |out, k| KeyRuns.write(out, &k, &vec![run])).unwrap();
                runs.push(written);
            }
            runs
        };
        make_runs(&mut expected);
        assert!(
            expected.values().any(|v| v.len() > 2),
            "keys shared by runs"
        );
        for fan_in in [2, 3, 5, 22, 23, FAN_IN] {
            // Two tables' runs, the second's appended to the first's.
            let (mut runs, mut later) = (
                Runs::with_fan_in(KeyRuns, fan_in),
                Runs::with_fan_in(KeyRuns, fan_in),
            );
            for (i, run) in make_runs(&mut BTreeMap::new()).into_iter().enumerate() {
                let to = if i < 15 { &mut runs } else { &mut later };
                to.push(run).unwrap();
                // 2^5 > 23: at most five levels of fewer than fan_in runs.
                assert!(to.runs.len() < (fan_in - 1) * 5 + 1, "fan-in {fan_in}");
            }
            runs.append(later).unwrap();
            let mut merge = runs.merge().unwrap();
            assert!(merge.readers.len() <= fan_in, "{fan_in}");
            let mut got = BTreeMap::new();
            let mut last = None;
            while let Some((key, runs)) = merge.next_group().unwrap() {
                assert!(last < Some(key), "{key} after {last:?}");
                last = Some(key);
                got.insert(key, runs);
            }
            assert_eq!(got, expected, "fan-in {fan_in}");
        }
        // Read at most `most` runs at once, whatever their number.
        for most in [1, 3] {
            let mut runs = Runs::with_fan_in(KeyRuns, 5);
            for run in make_runs(&mut BTreeMap::new()) {
                runs.push(run).unwrap();
            }
            let mut merge = runs.merge_within(most).unwrap();
            assert!(merge.readers.len() <= most, "{most}");
            let mut got = BTreeMap::new();
            while let Some((key, runs)) = merge.next_group().unwrap() {
                got.insert(key, runs);
            }
            assert_eq!(got, expected, "at most {most} runs");
        }
    }
}
