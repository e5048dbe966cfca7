//! Spill: a group table larger than its memory budget is written out as a
//! sorted run ([`crate::sorted_runs`]), and the runs are merged back in
//! by-field order when the result is read, so memory follows the budget,
//! not the size of the answer.
//!
//! A run holds, per group in by-field order (byte order of the values,
//! field by field, as the result is sorted), each by-value then each
//! aggregate's merged state. Groups with the same key in several runs are
//! combined in run order, the order the segments were merged in, so the
//! answer is the one an unbounded table gives.

use std::io::{self, Read, Write};

use super::{merge_aggs, AggValue, Groups, Ordered};
use crate::encode::{get_str, get_u64, put_str, put_u64};
use crate::field::FieldRef;
use crate::sorted_runs::{self, Run};
use crate::spl::ast::AggFunc;

/// Write `groups` as a sorted run (groups with a null by-value are never
/// shown, and are left out).
pub(super) fn write_run(groups: Groups, width: usize, n_aggs: usize) -> io::Result<Run> {
    let order = groups.sorted_order(width);
    let mut aggs: Vec<Option<AggValue>> = groups.aggs.into_iter().map(Some).collect();
    sorted_runs::write(order, |out, g| {
        let g = g as usize;
        for (i, &id) in groups.keys[g * width..(g + 1) * width].iter().enumerate() {
            put_str(out, &groups.values[i][id as usize])?;
        }
        aggs[g * n_aggs..(g + 1) * n_aggs]
            .iter_mut()
            .try_for_each(|a| put_agg(out, a.take()))
    })
}

/// The groups of several runs, merged, in by-field order.
pub struct RunMerge {
    merge: sorted_runs::Merge<Vec<String>, Vec<AggValue>>,
    aggs: Vec<(AggFunc, Option<FieldRef>)>,
}

impl RunMerge {
    pub(super) fn new(
        runs: Vec<Run>,
        width: usize,
        aggs: Vec<(AggFunc, Option<FieldRef>)>,
    ) -> io::Result<Self> {
        let n_aggs = aggs.len();
        let read = Box::new(move |input: &mut std::io::BufReader<std::fs::File>| {
            let key = (0..width)
                .map(|_| get_str(input))
                .collect::<io::Result<_>>()?;
            let aggs = (0..n_aggs)
                .map(|_| get_agg(input))
                .collect::<io::Result<_>>()?;
            Ok((key, aggs))
        });
        Ok(RunMerge {
            merge: sorted_runs::Merge::new(runs, read)?,
            aggs,
        })
    }

    /// The next group: its by-values and merged aggregates.
    pub(super) fn next_group(&mut self) -> io::Result<Option<(Vec<String>, Vec<AggValue>)>> {
        let funcs = &self.aggs;
        self.merge
            .next_group(|aggs, later| merge_aggs(aggs, later.into_iter(), funcs))
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
