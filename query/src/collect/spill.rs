//! Spill: a group table larger than its memory budget is written out as a
//! sorted run ([`crate::sorted_runs`]), and the runs are merged back in
//! by-field order when the result is read, so memory follows the budget,
//! not the size of the answer.
//!
//! A run holds, per group in by-field order (byte order of the values,
//! field by field, as the result is sorted), its key (the by-values as one
//! byte string, [`put_ordered`]) then each aggregate's merged state. Groups
//! with the same key in several runs are combined as they meet: every
//! aggregate combines the same way in any order.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};

use super::{merge_aggs, AggValue, Groups, Ordered};
use crate::encode::{get_bytes, get_str, get_u64, put_bytes, put_ordered, put_str, put_u64};
use crate::exact_sum::ExactSum;
use crate::field::FieldRef;
use crate::sorted_runs::{self, Run, Runs};
use crate::spl::ast::AggFunc;

/// Write `groups` as a sorted run (groups with a null by-value are never
/// shown, and are left out).
pub(super) fn write_run(groups: Groups, width: usize, n_aggs: usize) -> io::Result<Run> {
    let order = groups.sorted_order(width);
    let mut key = Vec::new();
    sorted_runs::write(order, |out, g| {
        let g = g as usize;
        key.clear();
        for (i, &id) in groups.keys[g * width..(g + 1) * width].iter().enumerate() {
            put_ordered(&mut key, &groups.values[i][id as usize]);
        }
        put_bytes(out, &key)?;
        groups.aggs[g * n_aggs..(g + 1) * n_aggs]
            .iter()
            .try_for_each(|a| put_agg(out, a))
    })
}

/// The groups of several runs, merged, in by-field order.
pub struct RunMerge {
    merge: sorted_runs::Merge<GroupRecords>,
}

/// A spilled group: its key, then its aggregates' states.
#[derive(Clone)]
pub(super) struct GroupRecords {
    aggs: Vec<(AggFunc, Option<FieldRef>)>,
}

impl sorted_runs::Records for GroupRecords {
    type Key = Vec<u8>;
    type Value = Vec<AggValue>;

    fn read(&mut self, input: &mut BufReader<File>) -> io::Result<(Vec<u8>, Vec<AggValue>)> {
        let key = get_bytes(input)?;
        let aggs = (0..self.aggs.len())
            .map(|_| get_agg(input))
            .collect::<io::Result<_>>()?;
        Ok((key, aggs))
    }

    fn write(
        &self,
        mut out: &mut dyn Write,
        key: &Vec<u8>,
        aggs: &Vec<AggValue>,
    ) -> io::Result<()> {
        put_bytes(&mut out, key)?;
        aggs.iter().try_for_each(|a| put_agg(&mut out, a))
    }

    fn combine(&self, earlier: &mut Vec<AggValue>, later: Vec<AggValue>) {
        merge_aggs(earlier, later.into_iter(), &self.aggs)
    }
}

impl GroupRecords {
    /// The runs of a table of groups with the aggregates `aggs`.
    pub(super) fn runs(aggs: &[(AggFunc, Option<FieldRef>)]) -> Runs<GroupRecords> {
        Runs::new(GroupRecords {
            aggs: aggs.to_vec(),
        })
    }
}

impl RunMerge {
    pub(super) fn new(runs: Runs<GroupRecords>) -> io::Result<Self> {
        Ok(RunMerge {
            merge: runs.merge()?,
        })
    }

    /// The next group: its key ([`crate::encode::ordered_values`] reads its
    /// by-values) and
    /// merged aggregates.
    pub(super) fn next_group(&mut self) -> io::Result<Option<(Vec<u8>, Vec<AggValue>)>> {
        self.merge.next_group()
    }
}

fn put_agg(out: &mut impl Write, a: &AggValue) -> io::Result<()> {
    match a {
        AggValue::Time(None) => out.write_all(&[0]),
        AggValue::Count(n) => {
            out.write_all(&[1])?;
            put_u64(out, *n)
        }
        AggValue::Time(Some(t)) => {
            out.write_all(&[2])?;
            put_u64(out, *t as u64)
        }
        AggValue::Extreme(None) => out.write_all(&[3]),
        AggValue::Extreme(Some((order, text))) => {
            match order {
                Ordered::Num(n) => {
                    out.write_all(&[4])?;
                    put_u64(out, n.to_bits())?;
                }
                Ordered::Text(t) => {
                    out.write_all(&[5])?;
                    put_str(out, t)?;
                }
            }
            put_str(out, text)
        }
        AggValue::Set(set) => {
            out.write_all(&[6])?;
            put_u64(out, set.len() as u64)?;
            set.iter().try_for_each(|s| put_str(out, s))
        }
        AggValue::Sum { sum, n } => {
            out.write_all(&[7])?;
            sum.write(out)?;
            put_u64(out, *n)
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
            sum: ExactSum::read(input)?,
            n: get_u64(input)?,
        },
        _ => return Err(io::ErrorKind::InvalidData.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::ordered_key as key;
    use std::collections::BTreeMap;

    /// Groups spilled in more runs than a merge reads at once
    /// ([`sorted_runs::FAN_IN`]), with every kind of aggregate state: the
    /// merge gives each key once, in order, its states combined as a
    /// table held whole combines them (runs merged into longer runs as
    /// they come are written and read back on the way).
    #[test]
    fn many_runs_merge_as_one_table() {
        let aggs: Vec<(AggFunc, Option<FieldRef>)> = [
            AggFunc::Count,
            AggFunc::Min,
            AggFunc::Max,
            AggFunc::Earliest,
            AggFunc::Values,
            AggFunc::Sum,
        ]
        .into_iter()
        .map(|f| (f, None))
        .collect();
        let state = |r: u64, k: u64| {
            let mut sum = ExactSum::default();
            sum.add(r as f64 * 0.1);
            vec![
                AggValue::Count(1 + k),
                AggValue::Time((!r.is_multiple_of(7)).then_some(r as i64 * 1000 - 50_000)),
                AggValue::Extreme(Some((Ordered::Num((r % 11) as f64), format!("n{r}")))),
                AggValue::Extreme(match r % 3 {
                    0 => None,
                    _ => Some((Ordered::Text(format!("t{}", r % 13)), format!("e\0{r}"))),
                }),
                AggValue::Set([format!("v{}", r % 5), "é".to_string()].into()),
                AggValue::Sum { sum, n: 1 },
            ]
        };
        let mut runs = GroupRecords::runs(&aggs);
        let records = runs.records().clone();
        let mut whole: BTreeMap<Vec<u8>, Vec<AggValue>> = BTreeMap::new();
        for r in 0..(sorted_runs::FAN_IN as u64 * 2 + 5) {
            let groups: Vec<(Vec<u8>, Vec<AggValue>)> = (0..20u64)
                .filter(|k| (k + r) % 3 != 0)
                .map(|k| (key(&[&format!("k{k:02}"), "x\0y"]), state(r, k)))
                .collect();
            for (k, v) in &groups {
                match whole.get_mut(k) {
                    Some(acc) => merge_aggs(acc, v.clone().into_iter(), &aggs),
                    None => drop(whole.insert(k.clone(), v.clone())),
                }
            }
            let run = sorted_runs::write(groups, |out, (k, v)| {
                sorted_runs::Records::write(&records, out, &k, &v)
            });
            runs.push(run.unwrap()).unwrap();
        }
        let mut merge = RunMerge::new(runs).unwrap();
        let mut got = BTreeMap::new();
        while let Some((k, v)) = merge.next_group().unwrap() {
            assert!(got.keys().next_back() < Some(&k), "keys in order, once");
            got.insert(k, v);
        }
        assert_eq!(got.len(), 20);
        // An exact sum's partials depend on the order of its additions;
        // its value does not.
        let shown = |t: &BTreeMap<Vec<u8>, Vec<AggValue>>| {
            t.iter()
                .map(|(k, v)| {
                    let v: Vec<String> = v
                        .iter()
                        .map(|a| match a {
                            AggValue::Sum { sum, n } => format!("sum {} of {n}", sum.value()),
                            a => format!("{a:?}"),
                        })
                        .collect();
                    format!("{k:?}: {v:?}")
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(shown(&got), shown(&whole));
    }
}
