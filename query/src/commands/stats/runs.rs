//! A `stats` whose groups outgrow their memory: the groups so far are
//! written, in their output order, as a run ([`crate::sorted_runs`]), and
//! the runs are merged back when the result is read. Equal keys in
//! several runs are merged in run order, which is row order, so the
//! answer is the one a table held whole gives.
//!
//! Per group: the number of by-values and each one, then each aggregate's
//! state ([`super::acc::write`]).

use std::fs::File;
use std::io::{self, BufReader, Write};

use super::acc::{self, Acc};
use super::SortKey;
use crate::encode::{get_str, get_u64, put_str, put_u64};
use crate::sorted_runs::{self, Run, Runs};
use crate::spl::ast::{Stats, StatsFunc};

/// The groups of several runs, merged, in key order.
pub(super) type Merge = sorted_runs::Merge<GroupRecords>;

/// Write `groups` (in key order) as a run.
pub(super) fn write_run(
    groups: impl IntoIterator<Item = (Vec<String>, Vec<Acc>)>,
) -> io::Result<Run> {
    sorted_runs::write(groups, |out, (key, accs)| {
        put_group(out, key.iter().map(String::as_str), &accs)
    })
}

fn put_group<'k>(
    out: &mut impl Write,
    key: impl ExactSizeIterator<Item = &'k str>,
    accs: &[Acc],
) -> io::Result<()> {
    put_u64(out, key.len() as u64)?;
    for k in key {
        put_str(out, k)?;
    }
    accs.iter().try_for_each(|a| acc::write(out, a))
}

/// A spilled group: its by-values, then its aggregates' states.
#[derive(Clone)]
pub(super) struct GroupRecords {
    funcs: Vec<StatsFunc>,
}

impl GroupRecords {
    /// The runs of `cmd`'s groups.
    pub(super) fn runs(cmd: &Stats) -> Runs<GroupRecords> {
        Runs::new(GroupRecords {
            funcs: cmd.aggs.iter().map(|a| a.func).collect(),
        })
    }
}

impl sorted_runs::Records for GroupRecords {
    type Key = Vec<SortKey>;
    type Value = Vec<Acc>;

    fn read(&mut self, input: &mut BufReader<File>) -> io::Result<(Vec<SortKey>, Vec<Acc>)> {
        let width = get_u64(input)? as usize;
        let key = (0..width)
            .map(|_| get_str(input).map(SortKey))
            .collect::<io::Result<_>>()?;
        let accs = (0..self.funcs.len())
            .map(|_| acc::read(input))
            .collect::<io::Result<_>>()?;
        Ok((key, accs))
    }

    fn write(
        &self,
        mut out: &mut dyn Write,
        key: &Vec<SortKey>,
        accs: &Vec<Acc>,
    ) -> io::Result<()> {
        put_group(&mut out, key.iter().map(|k| k.0.as_str()), accs)
    }

    fn combine(&self, earlier: &mut Vec<Acc>, later: Vec<Acc>) {
        for ((a, b), &func) in earlier.iter_mut().zip(later).zip(&self.funcs) {
            a.merge(func, b);
        }
    }
}
