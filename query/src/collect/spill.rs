//! Spill: a group table larger than its memory budget is written out as a
//! sorted run to an unnamed temporary file (gone when closed, even after a
//! kill), and the runs are merged back in by-field order when the result
//! is read, so memory follows the budget, not the size of the answer.
//!
//! A run holds, per group in by-field order (byte order of the values,
//! field by field, as the result is sorted), each by-value then each
//! aggregate's merged state. Groups with the same key in several runs are
//! combined in run order, the order the segments were merged in, so the
//! answer is the one an unbounded table gives.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use super::{merge_aggs, AggValue, Groups, Ordered};
use crate::encode::{get_str, get_u64, put_str, put_u64};
use crate::field::FieldRef;
use crate::spl::ast::AggFunc;

/// A sorted run on disk.
pub(super) struct Run {
    file: File,
    groups: u64,
}

/// Write `groups` as a sorted run (groups with a null by-value are never
/// shown, and are left out).
pub(super) fn write_run(groups: Groups, width: usize, n_aggs: usize) -> io::Result<Run> {
    let order = groups.sorted_order(width);
    let mut file = tempfile::tempfile()?;
    let mut out = BufWriter::with_capacity(1 << 16, &mut file);
    let mut aggs: Vec<Option<AggValue>> = groups.aggs.into_iter().map(Some).collect();
    for &g in &order {
        let g = g as usize;
        for (i, &id) in groups.keys[g * width..(g + 1) * width].iter().enumerate() {
            put_str(&mut out, &groups.values[i][id as usize])?;
        }
        for a in &mut aggs[g * n_aggs..(g + 1) * n_aggs] {
            put_agg(&mut out, a.take())?;
        }
    }
    out.flush()?;
    drop(out);
    file.seek(SeekFrom::Start(0))?;
    Ok(Run {
        file,
        groups: order.len() as u64,
    })
}

/// The groups of several runs, merged, in by-field order.
pub struct RunMerge {
    readers: Vec<RunReader>,
    /// The next group of each run that has one, smallest key on top; equal
    /// keys come out in run order.
    heap: BinaryHeap<Head>,
    aggs: Vec<(AggFunc, Option<FieldRef>)>,
}

struct Head {
    key: Vec<String>,
    run: usize,
    aggs: Vec<AggValue>,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (&other.key, other.run).cmp(&(&self.key, self.run))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

struct RunReader {
    input: BufReader<File>,
    left: u64,
    width: usize,
    n_aggs: usize,
}

impl RunReader {
    fn next(&mut self) -> io::Result<Option<(Vec<String>, Vec<AggValue>)>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let key = (0..self.width)
            .map(|_| get_str(&mut self.input))
            .collect::<io::Result<_>>()?;
        let aggs = (0..self.n_aggs)
            .map(|_| get_agg(&mut self.input))
            .collect::<io::Result<_>>()?;
        Ok(Some((key, aggs)))
    }
}

impl RunMerge {
    pub(super) fn new(
        runs: Vec<Run>,
        width: usize,
        aggs: Vec<(AggFunc, Option<FieldRef>)>,
    ) -> io::Result<Self> {
        let mut merge = RunMerge {
            readers: runs
                .into_iter()
                .map(|r| RunReader {
                    input: BufReader::with_capacity(1 << 16, r.file),
                    left: r.groups,
                    width,
                    n_aggs: aggs.len(),
                })
                .collect(),
            heap: BinaryHeap::new(),
            aggs,
        };
        for run in 0..merge.readers.len() {
            merge.advance(run)?;
        }
        Ok(merge)
    }

    fn advance(&mut self, run: usize) -> io::Result<()> {
        if let Some((key, aggs)) = self.readers[run].next()? {
            self.heap.push(Head { key, run, aggs });
        }
        Ok(())
    }

    /// The next group: its by-values and merged aggregates.
    pub(super) fn next_group(&mut self) -> io::Result<Option<(Vec<String>, Vec<AggValue>)>> {
        let Some(first) = self.heap.pop() else {
            return Ok(None);
        };
        self.advance(first.run)?;
        let (key, mut aggs) = (first.key, first.aggs);
        while self.heap.peek().is_some_and(|h| h.key == key) {
            let Some(same) = self.heap.pop() else { break };
            self.advance(same.run)?;
            merge_aggs(&mut aggs, same.aggs.into_iter(), &self.aggs);
        }
        Ok(Some((key, aggs)))
    }
}

fn put_agg(out: &mut impl Write, a: Option<AggValue>) -> io::Result<()> {
    match a {
        None | Some(AggValue::Time(None)) => out.write_all(&[0]),
        Some(AggValue::Count(n)) => {
            out.write_all(&[1])?;
            put_u64(out, n)
        }
        Some(AggValue::Time(Some(t))) => {
            out.write_all(&[2])?;
            put_u64(out, t as u64)
        }
        Some(AggValue::Extreme(None)) => out.write_all(&[3]),
        Some(AggValue::Extreme(Some((order, text)))) => {
            match order {
                Ordered::Num(n) => {
                    out.write_all(&[4])?;
                    put_u64(out, n.to_bits())?;
                }
                Ordered::Text(t) => {
                    out.write_all(&[5])?;
                    put_str(out, &t)?;
                }
            }
            put_str(out, &text)
        }
        Some(AggValue::Set(set)) => {
            out.write_all(&[6])?;
            put_u64(out, set.len() as u64)?;
            set.iter().try_for_each(|s| put_str(out, s))
        }
        Some(AggValue::Sum { sum, n }) => {
            out.write_all(&[7])?;
            put_u64(out, sum.to_bits())?;
            put_u64(out, n)
        }
    }
}

fn get_agg(input: &mut impl Read) -> io::Result<AggValue> {
    let mut tag = [0u8];
    input.read_exact(&mut tag)?;
    Ok(match tag[0] {
        0 => AggValue::Time(None),
        1 => AggValue::Count(get_u64(input)?),
        2 => AggValue::Time(Some(get_u64(input)? as i64)),
        3 => AggValue::Extreme(None),
        4 => {
            let order = Ordered::Num(f64::from_bits(get_u64(input)?));
            AggValue::Extreme(Some((order, get_str(input)?)))
        }
        5 => {
            let order = Ordered::Text(get_str(input)?);
            AggValue::Extreme(Some((order, get_str(input)?)))
        }
        6 => {
            let n = get_u64(input)?;
            AggValue::Set((0..n).map(|_| get_str(input)).collect::<io::Result<_>>()?)
        }
        7 => AggValue::Sum {
            sum: f64::from_bits(get_u64(input)?),
            n: get_u64(input)?,
        },
        _ => return Err(io::ErrorKind::InvalidData.into()),
    })
}
