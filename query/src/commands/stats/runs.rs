//! A `stats` whose groups outgrow their memory: the groups so far are
//! written, in their output order, as a run ([`crate::sorted_runs`]), and
//! the runs are merged back when the result is read. Equal keys in
//! several runs are merged in run order, which is row order, so the
//! answer is the one a table held whole gives.
//!
//! Per group: the number of by-values and each one, then each aggregate's
//! state ([`super::acc::write`]).

use std::io;

use super::acc::{self, Acc};
use super::SortKey;
use crate::encode::{get_str, get_u64, put_str, put_u64};
use crate::sorted_runs::{self, Run};

/// The groups of several runs, merged, in key order.
pub(super) type Merge = sorted_runs::Merge<Vec<SortKey>, Vec<Acc>>;

/// Write `groups` (in key order) as a run.
pub(super) fn write_run(
    groups: impl IntoIterator<Item = (Vec<String>, Vec<Acc>)>,
) -> io::Result<Run> {
    sorted_runs::write(groups, |out, (key, accs)| {
        put_u64(out, key.len() as u64)?;
        for k in &key {
            put_str(out, k)?;
        }
        accs.iter().try_for_each(|a| acc::write(out, a))
    })
}

/// Merge `runs` of groups with `n_aggs` aggregates each.
pub(super) fn merge(runs: Vec<Run>, n_aggs: usize) -> io::Result<Merge> {
    Merge::new(
        runs,
        Box::new(move |input| {
            let width = get_u64(input)? as usize;
            let key = (0..width)
                .map(|_| get_str(input).map(SortKey))
                .collect::<io::Result<_>>()?;
            let accs = (0..n_aggs)
                .map(|_| acc::read(input))
                .collect::<io::Result<_>>()?;
            Ok((key, accs))
        }),
    )
}
