//! The `transaction` command: rows with the same values of the fields,
//! close in time, become one row.
//!
//! Rows are taken in `_time` order (ties in row order); a row with none of
//! the fields is in no transaction. As in Splunk, a transaction holds the
//! values its rows gave each field, and a row joins an open transaction
//! that is *consistent* with it: they share a value of some field both
//! have, and differ on no field both have (so with every field present
//! this is grouping by the fields' values, and a row missing a field joins
//! the transaction it agrees with on the others). A row that shares no
//! field with a transaction and contradicts none opens a new one
//! (`connected=true`, the default) or joins it (`connected=false`). Of
//! several, the one a row joined last is taken.
//!
//! A transaction ends when the next row comes more than `maxpause` after
//! its last one, more than `maxspan` after its first, when it holds
//! `maxevents` rows, after a row matching `endswith`, or before a row
//! matching `startswith`. Its row has every field's values (distinct and
//! sorted, or all in order with `mvlist=true`), `_time` of its first row,
//! `duration` (last `_time` minus first) and `eventcount`. A transaction
//! whose first row does not match `startswith`, or last row `endswith`,
//! is evicted: dropped, or kept with `closed_txn=0` under
//! `keepevicted=true`. Transactions come out newest first, as in Splunk.
//!
//! Memory follows the open transactions, not the rows: the rows are put
//! in time order by a sort that spills to disk ([`SortStream`]), an open
//! transaction keeps only what its row will show (the values of each
//! field, its times and count, whether its first row started it), and the
//! transactions are put newest first by a second such sort. Open ones are
//! found through their fields' values (of the row's fields, the one whose
//! values name the fewest open transactions), not by trying each. With
//! `maxpause`, those that can no longer be joined are closed as time
//! passes them, except with `connected=false` over several fields, where
//! closing one early could let a row join another that it shares no field
//! with.
//! Without `maxpause` every transaction stays open to the end, as a
//! `stats` holds its groups.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;

use super::distinct::Distinct;
use super::sort::{ordered_number, SortStream, SortedRows, SORT_MEMORY};
use crate::eval::Evaluator;
use crate::num::{format_num, parse_num};
use crate::spl::ast::{Expr, Transaction};
use crate::table::{Cell, Table};

/// Why a transaction failed: its rows could not be kept on disk, or a
/// `startswith`/`endswith` condition failed on a row.
#[derive(Debug)]
pub enum TransactionError {
    Io(io::Error),
    Eval(String),
}

impl From<io::Error> for TransactionError {
    fn from(e: io::Error) -> Self {
        TransactionError::Io(e)
    }
}

/// `transaction` on a whole table (the rows still go through the sorts of
/// [`TransactionStream`], in memory unless they are many).
pub fn apply(table: &mut Table, cmd: &Transaction) -> Result<(), TransactionError> {
    let mut stream = TransactionStream::new(cmd, SORT_MEMORY);
    stream.add(std::mem::take(table))?;
    *table = stream.finish()?.into_table()?;
    Ok(())
}

/// `transaction` fed a chunk of rows at a time ([`TransactionStream::add`]);
/// [`TransactionStream::finish`] gives its rows, newest first.
pub struct TransactionStream<'c> {
    cmd: &'c Transaction,
    budget: usize,
    /// The rows, by time (ties in the order they came).
    by_time: SortStream<'static>,
    columns: Vec<String>,
}

impl<'c> TransactionStream<'c> {
    /// A transaction whose sorts hold about `budget` bytes of rows each
    /// before they spill (0: every row goes to disk; the answer is the
    /// same).
    pub fn new(cmd: &'c Transaction, budget: usize) -> Self {
        TransactionStream {
            cmd,
            budget,
            by_time: SortStream::keyed(budget),
            columns: Vec::new(),
        }
    }

    pub fn add(&mut self, chunk: Table) -> io::Result<()> {
        let time_col = chunk.column_index("_time");
        for row in chunk.rows {
            let t = row_time(&row, time_col);
            self.by_time.push(ordered_number(t).to_vec(), row)?;
        }
        self.columns = chunk.columns;
        Ok(())
    }

    /// Every transaction's row, newest first.
    pub fn finish(self) -> Result<SortedRows, TransactionError> {
        let mut rows = self.by_time.finish()?;
        let mut chunk = Table {
            columns: self.columns.clone(),
            rows: Vec::new(),
        };
        let mut txns = Transactions::new(self.cmd, self.columns, self.budget);
        while rows.next_chunk(&mut chunk.rows)? {
            for r in 0..chunk.rows.len() {
                txns.row(&chunk, r)?;
            }
        }
        txns.finish()
    }
}

/// The time of a row as `transaction` orders it: its `_time`, 0 when it
/// has none (or not a number).
fn row_time(row: &[Cell], time_col: Option<usize>) -> f64 {
    time_col
        .and_then(|c| row.get(c))
        .and_then(|c| c.first())
        .and_then(parse_num)
        .unwrap_or(0.0)
}

/// The transactions being made from rows in time order.
struct Transactions<'c> {
    cmd: &'c Transaction,
    columns: Vec<String>,
    time_col: Option<usize>,
    key_cols: Vec<Option<usize>>,
    /// The open transactions; `None` slots are reused.
    open: Vec<Option<Open>>,
    free: Vec<usize>,
    /// The open transactions by when a row last joined them (their stamp),
    /// oldest first.
    recency: BTreeMap<u64, usize>,
    /// Per field: the open transactions that hold each value, and those
    /// that hold none.
    holders: Vec<HashMap<String, Slots>>,
    lacking: Vec<Slots>,
    stamps: u64,
    /// The rows seen, in time order (a transaction's `opened`).
    steps: u64,
    /// Whether stale transactions are closed as time passes them (when
    /// not: in [`Transactions::new`]).
    close_stale: bool,
    ev: Evaluator,
    /// The closed transactions' rows, to be put newest first.
    out: SortStream<'static>,
    out_columns: Vec<String>,
    dur_col: usize,
    count_col: usize,
    closed_col: Option<usize>,
}

/// An open transaction: what its row will show.
struct Open {
    /// When it was opened (its first row's place in time order).
    opened: u64,
    stamp: u64,
    first: f64,
    last: f64,
    count: usize,
    /// The distinct values each of the command's fields has had in it.
    keys: Vec<Vec<String>>,
    /// The values of every column (none kept for `_time`).
    cells: Vec<Values>,
    /// Whether its first row matched `startswith` (true without one).
    starts: bool,
    /// Whether its last row matched `endswith` (true without one).
    ends: bool,
}

/// A column's values in a transaction: distinct and sorted, or all in
/// order (`mvlist=true`).
enum Values {
    Distinct(Distinct),
    All(Vec<String>),
}

impl Values {
    fn add(&mut self, values: &[String]) {
        match self {
            Values::Distinct(set) => values.iter().for_each(|v| {
                set.insert(v);
            }),
            Values::All(list) => list.extend(values.iter().cloned()),
        }
    }

    fn into_cell(self) -> Cell {
        match self {
            Values::Distinct(set) => Cell(set.into_vec()),
            Values::All(list) => Cell(list),
        }
    }
}

impl<'c> Transactions<'c> {
    fn new(cmd: &'c Transaction, columns: Vec<String>, budget: usize) -> Self {
        let index = |name: &str| columns.iter().position(|c| c == name);
        let time_col = index("_time");
        let key_cols = cmd.fields.iter().map(|f| index(f)).collect();
        let mut out_columns = columns.clone();
        for extra in ["duration", "eventcount"] {
            if !out_columns.iter().any(|c| c == extra) {
                out_columns.push(extra.to_string());
            }
        }
        if cmd.keep_evicted && !out_columns.iter().any(|c| c == "closed_txn") {
            out_columns.push("closed_txn".into());
        }
        let col = |name: &str| out_columns.iter().position(|c| c == name).unwrap_or(0);
        let (dur_col, count_col) = (col("duration"), col("eventcount"));
        let closed_col = cmd.keep_evicted.then(|| col("closed_txn"));
        let mut out = SortStream::keyed(budget);
        out.set_columns(out_columns.clone());
        Transactions {
            cmd,
            time_col,
            key_cols,
            open: Vec::new(),
            free: Vec::new(),
            recency: BTreeMap::new(),
            holders: (0..cmd.fields.len()).map(|_| HashMap::new()).collect(),
            lacking: (0..cmd.fields.len()).map(|_| Slots::default()).collect(),
            stamps: 0,
            steps: 0,
            // A transaction past `maxpause` ends when a row picks it, and
            // then that row opens a new one. Every transaction joined
            // before it is past `maxpause` too (rows come in time order),
            // so closing them all as time passes changes no pick, except
            // with `connected=false` and several fields: there a row that
            // finds no consistent transaction may join one it shares no
            // field with.
            close_stale: cmd.maxpause.is_some() && (cmd.connected || cmd.fields.len() <= 1),
            ev: Evaluator::new(),
            out,
            out_columns,
            dur_col,
            count_col,
            closed_col,
            columns,
        }
    }

    fn test(
        &mut self,
        e: &Option<Expr>,
        chunk: &Table,
        r: usize,
    ) -> Result<Option<bool>, TransactionError> {
        match e {
            None => Ok(None),
            Some(e) => self
                .ev
                .eval_bool(e, chunk, r)
                .map(Some)
                .map_err(|e| TransactionError::Eval(e.to_string())),
        }
    }

    /// Row `r` of `chunk`, the next in time order.
    fn row(&mut self, chunk: &Table, r: usize) -> Result<(), TransactionError> {
        let step = self.steps;
        self.steps += 1;
        let row = &chunk.rows[r];
        let values: Vec<&[String]> = self
            .key_cols
            .iter()
            .map(|c| c.and_then(|i| row.get(i)).map_or(&[][..], |v| &v.0))
            .collect();
        if !values.is_empty() && values.iter().all(|v| v.is_empty()) {
            return Ok(());
        }
        let t = row_time(row, self.time_col);
        if self.close_stale {
            self.close_stale_at(t)?;
        }
        let cmd = self.cmd;
        // Every row that gets here joins a transaction or begins one, and
        // both read its `startswith`: read once.
        let starts = self.test(&cmd.startswith, chunk, r)?;
        let slot = match self.pick(&values) {
            Some(slot) => {
                let o = self.open[slot].as_ref().expect("an open slot");
                let ends = cmd.maxpause.is_some_and(|p| t - o.last > p as f64)
                    || cmd.maxspan.is_some_and(|s| t - o.first > s as f64)
                    || cmd.maxevents.is_some_and(|m| o.count >= m)
                    || starts == Some(true);
                if ends {
                    self.close(slot)?;
                    self.begin(step, t, starts)
                } else {
                    slot
                }
            }
            None => self.begin(step, t, starts),
        };
        let ends = self.test(&cmd.endswith, chunk, r)?;
        self.join(slot, t, row, &values, ends);
        if ends == Some(true) {
            self.close(slot)?;
        }
        Ok(())
    }

    /// Open a transaction whose first row comes at `t` and gave `starts`
    /// for `startswith`.
    fn begin(&mut self, step: u64, t: f64, starts: Option<bool>) -> usize {
        let cells = (0..self.columns.len())
            .map(|_| match self.cmd.mvlist {
                true => Values::All(Vec::new()),
                false => Values::Distinct(Distinct::new()),
            })
            .collect();
        let o = Open {
            opened: step,
            stamp: 0,
            first: t,
            last: t,
            count: 0,
            keys: vec![Vec::new(); self.key_cols.len()],
            cells,
            starts: starts.unwrap_or(true),
            ends: true,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.open[slot] = Some(o);
                slot
            }
            None => {
                self.open.push(Some(o));
                self.open.len() - 1
            }
        };
        self.lacking.iter_mut().for_each(|l| l.insert(slot));
        slot
    }

    /// Add a row to the transaction in `slot`: it is now the last joined.
    fn join(
        &mut self,
        slot: usize,
        t: f64,
        row: &[Cell],
        values: &[&[String]],
        ends: Option<bool>,
    ) {
        let o = self.open[slot].as_mut().expect("an open slot");
        if o.count > 0 {
            self.recency.remove(&o.stamp);
        }
        o.stamp = self.stamps;
        self.stamps += 1;
        self.recency.insert(o.stamp, slot);
        o.count += 1;
        o.last = t;
        o.ends = ends.unwrap_or(true);
        for (f, new) in values.iter().enumerate() {
            for v in new.iter() {
                if !o.keys[f].contains(v) {
                    if o.keys[f].is_empty() {
                        self.lacking[f].remove(slot);
                    }
                    o.keys[f].reserve_exact(1);
                    o.keys[f].push(v.clone());
                    self.holders[f].entry(v.clone()).or_default().insert(slot);
                }
            }
        }
        for (c, cell) in row.iter().enumerate().take(o.cells.len()) {
            if Some(c) == self.time_col {
                continue;
            }
            o.cells[c].add(&cell.0);
        }
    }

    /// The open transaction a row with `values` (per field; empty:
    /// missing) joins: the last joined of those consistent with it, else,
    /// with `connected=false`, the last joined of those it shares no field
    /// with.
    fn pick(&self, values: &[&[String]]) -> Option<usize> {
        if values.is_empty() {
            return self.recency.values().next_back().copied();
        }
        // A consistent transaction holds one of the row's values of each
        // field both have, or lacks the field: of the row's fields, the
        // one that names the fewest such transactions is searched.
        let named = |f: usize| {
            let holding = values[f].iter().filter_map(|v| self.holders[f].get(v));
            (
                holding.map(Slots::len).sum::<usize>() + self.lacking[f].len(),
                f,
            )
        };
        let present = || (0..values.len()).filter(|&f| !values[f].is_empty());
        let (_, f) = present().map(named).min()?;
        // The last joined of the slots given that stand in `wanted` to the row.
        let consider = |best: &mut Option<(u64, usize)>, slot: usize, wanted: &Relation| {
            let o = self.open[slot].as_ref().expect("an open slot");
            if best.is_none_or(|(stamp, _)| o.stamp > stamp) && relation(o, values) == *wanted {
                *best = Some((o.stamp, slot));
            }
        };
        let mut best = None;
        let wanted = Relation::Consistent;
        for v in values[f] {
            if let Some(slots) = self.holders[f].get(v) {
                slots.each(|slot| consider(&mut best, slot, &wanted));
            }
        }
        self.lacking[f].each(|slot| consider(&mut best, slot, &wanted));
        if best.is_some() || self.cmd.connected {
            return best.map(|(_, slot)| slot);
        }
        // One that shares no field lacks every field the row has.
        let (_, g) = present().map(|g| (self.lacking[g].len(), g)).min()?;
        self.lacking[g].each(|slot| consider(&mut best, slot, &Relation::Unrelated));
        best.map(|(_, slot)| slot)
    }

    /// Close the transactions that no row from time `t` on can join.
    fn close_stale_at(&mut self, t: f64) -> Result<(), TransactionError> {
        let pause = self.cmd.maxpause.unwrap_or(i64::MAX) as f64;
        while let Some((_, &slot)) = self.recency.first_key_value() {
            let o = self.open[slot].as_ref().expect("an open slot");
            if t - o.last <= pause {
                break;
            }
            self.close(slot)?;
        }
        Ok(())
    }

    /// End the transaction in `slot`, and give its row unless evicted.
    fn close(&mut self, slot: usize) -> Result<(), TransactionError> {
        let o = self.open[slot].take().expect("an open slot");
        self.free.push(slot);
        self.recency.remove(&o.stamp);
        for (f, values) in o.keys.iter().enumerate() {
            if values.is_empty() {
                self.lacking[f].remove(slot);
            }
            for v in values {
                if let Some(slots) = self.holders[f].get_mut(v) {
                    slots.remove(slot);
                    if slots.len() == 0 {
                        self.holders[f].remove(v);
                    }
                }
            }
        }
        let closed = o.starts && o.ends;
        if !closed && !self.cmd.keep_evicted {
            return Ok(());
        }
        let mut row = vec![Cell::null(); self.out_columns.len()];
        for (c, values) in o.cells.into_iter().enumerate() {
            row[c] = match Some(c) == self.time_col {
                true => Cell::one(format_num(o.first)),
                false => values.into_cell(),
            };
        }
        row[self.dur_col] = Cell::one(format_num(o.last - o.first));
        row[self.count_col] = Cell::one(o.count.to_string());
        if let Some(cc) = self.closed_col {
            row[cc] = Cell::one(if closed { "1" } else { "0" });
        }
        // Newest first; of two as old, the one opened first.
        let mut key = ordered_number(o.first).map(|b| !b).to_vec();
        key.extend_from_slice(&o.opened.to_be_bytes());
        self.out.push(key, row)?;
        Ok(())
    }

    /// Close what is still open; the transactions' rows, newest first.
    fn finish(mut self) -> Result<SortedRows, TransactionError> {
        while let Some((_, &slot)) = self.recency.first_key_value() {
            self.close(slot)?;
        }
        Ok(self.out.finish()?)
    }
}

/// Open transactions (their slots): a vector while they are few (most
/// values are held by one), a hash set past that, so that a value many
/// hold (`dest`) is left in constant time.
enum Slots {
    Few(Vec<usize>),
    Many(HashSet<usize>),
}

impl Default for Slots {
    fn default() -> Self {
        Slots::Few(Vec::new())
    }
}

impl Slots {
    fn insert(&mut self, slot: usize) {
        match self {
            Slots::Few(few) => {
                few.reserve_exact(1);
                few.push(slot);
                if few.len() > 16 {
                    *self = Slots::Many(few.drain(..).collect());
                }
            }
            Slots::Many(set) => {
                set.insert(slot);
            }
        }
    }

    fn remove(&mut self, slot: usize) {
        match self {
            Slots::Few(few) => {
                if let Some(i) = few.iter().position(|&s| s == slot) {
                    few.swap_remove(i);
                }
            }
            Slots::Many(set) => {
                set.remove(&slot);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Slots::Few(few) => few.len(),
            Slots::Many(set) => set.len(),
        }
    }

    fn each(&self, mut f: impl FnMut(usize)) {
        match self {
            Slots::Few(few) => few.iter().for_each(|&s| f(s)),
            Slots::Many(set) => set.iter().for_each(|&s| f(s)),
        }
    }
}

#[derive(PartialEq)]
enum Relation {
    /// They share a value of some field both have, and differ on none.
    Consistent,
    /// Some field both have, with no value in common.
    Contradicts,
    /// No field both have.
    Unrelated,
}

fn relation(o: &Open, values: &[&[String]]) -> Relation {
    let (mut shares, mut differs) = (false, false);
    for (have, new) in o.keys.iter().zip(values) {
        if have.is_empty() || new.is_empty() {
            continue;
        }
        if new.iter().any(|v| have.contains(v)) {
            shares = true;
        } else {
            differs = true;
        }
    }
    match (shares, differs) {
        (_, true) => Relation::Contradicts,
        (true, false) => Relation::Consistent,
        (false, false) => Relation::Unrelated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::columns::testutil::{cmds, col, run, t};
    use crate::spl::ast::Command;

    /// The first way `transaction` was written, kept as the reference: the
    /// whole table in memory, each row tried against every open
    /// transaction, none closed before a row picks it.
    fn reference(table: &mut Table, cmd: &Transaction) {
        struct Open {
            opened: usize,
            rows: Vec<usize>,
            first: f64,
            last: f64,
            values: Vec<Vec<String>>,
        }
        let time_col = table.column_index("_time");
        let key_cols: Vec<Option<usize>> =
            cmd.fields.iter().map(|f| table.column_index(f)).collect();
        let time = |r: usize| row_time(&table.rows[r], time_col);
        let mut ev = Evaluator::new();
        let mut test =
            |e: &Option<Expr>, r: usize| e.as_ref().map(|e| ev.eval_bool(e, table, r).unwrap());
        let mut order: Vec<usize> = (0..table.rows.len()).collect();
        order.sort_by(|&a, &b| time(a).partial_cmp(&time(b)).unwrap());
        let mut open: Vec<Open> = Vec::new();
        let mut txns: Vec<(usize, Vec<usize>, bool)> = Vec::new();
        let close =
            |t: Open,
             txns: &mut Vec<_>,
             test: &mut dyn FnMut(&Option<Expr>, usize) -> Option<bool>| {
                let starts = test(&cmd.startswith, t.rows[0]).unwrap_or(true);
                let ends = test(&cmd.endswith, *t.rows.last().unwrap()).unwrap_or(true);
                txns.push((t.opened, t.rows, starts && ends));
            };
        for (step, &r) in order.iter().enumerate() {
            let values: Vec<&[String]> = key_cols
                .iter()
                .map(|c| {
                    c.and_then(|i| table.rows[r].get(i))
                        .map_or(&[][..], |v| &v.0)
                })
                .collect();
            if !key_cols.is_empty() && values.iter().all(|v| v.is_empty()) {
                continue;
            }
            let t = time(r);
            let mut neither = None;
            let mut joined = None;
            for (i, o) in open.iter().enumerate().rev() {
                let (mut shares, mut differs, mut common) = (false, false, false);
                for (have, new) in o.values.iter().zip(&values) {
                    if have.is_empty() || new.is_empty() {
                        continue;
                    }
                    common = true;
                    match new.iter().any(|v| have.contains(v)) {
                        true => shares = true,
                        false => differs = true,
                    }
                }
                if values.is_empty() || (shares && !differs) {
                    joined = Some(i);
                    break;
                }
                if !common && neither.is_none() {
                    neither = Some(i);
                }
            }
            let joined = joined.or(if cmd.connected { None } else { neither });
            let new = |step| Open {
                opened: step,
                rows: Vec::new(),
                first: t,
                last: t,
                values: vec![Vec::new(); key_cols.len()],
            };
            let mut target = match joined {
                Some(i) => {
                    let o = &open[i];
                    let ends = cmd.maxpause.is_some_and(|p| t - o.last > p as f64)
                        || cmd.maxspan.is_some_and(|s| t - o.first > s as f64)
                        || cmd.maxevents.is_some_and(|m| o.rows.len() >= m)
                        || test(&cmd.startswith, r) == Some(true);
                    let o = open.remove(i);
                    if ends {
                        close(o, &mut txns, &mut test);
                        new(step)
                    } else {
                        o
                    }
                }
                None => new(step),
            };
            target.rows.push(r);
            target.last = t;
            for (have, new) in target.values.iter_mut().zip(&values) {
                for v in new.iter() {
                    if !have.contains(v) {
                        have.push(v.clone());
                    }
                }
            }
            if test(&cmd.endswith, r) == Some(true) {
                close(target, &mut txns, &mut test);
            } else {
                open.push(target);
            }
        }
        for o in open {
            close(o, &mut txns, &mut test);
        }
        txns.sort_by_key(|(opened, _, _)| *opened);
        if !cmd.keep_evicted {
            txns.retain(|(_, _, closed)| *closed);
        }
        txns.sort_by(|a, b| time(b.1[0]).partial_cmp(&time(a.1[0])).unwrap());
        let mut columns = table.columns.clone();
        for extra in ["duration", "eventcount"] {
            if !columns.iter().any(|c| c == extra) {
                columns.push(extra.to_string());
            }
        }
        if cmd.keep_evicted && !columns.iter().any(|c| c == "closed_txn") {
            columns.push("closed_txn".into());
        }
        let col = |name: &str| columns.iter().position(|c| c == name).unwrap();
        let mut out = Vec::new();
        for (_, rows, closed) in &txns {
            let mut row = vec![Cell::null(); columns.len()];
            for (c, slot) in row.iter_mut().enumerate().take(table.columns.len()) {
                let mut vals: Vec<String> = Vec::new();
                for &r in rows {
                    vals.extend(table.rows[r][c].0.iter().cloned());
                }
                if Some(c) == time_col {
                    *slot = Cell::one(format_num(time(rows[0])));
                    continue;
                }
                if !cmd.mvlist {
                    vals.sort();
                    vals.dedup();
                }
                *slot = Cell(vals);
            }
            let (first, last) = (time(rows[0]), time(*rows.last().unwrap()));
            row[col("duration")] = Cell::one(format_num(last - first));
            row[col("eventcount")] = Cell::one(rows.len().to_string());
            if cmd.keep_evicted {
                row[col("closed_txn")] = Cell::one(if *closed { "1" } else { "0" });
            }
            out.push(row);
        }
        *table = Table { columns, rows: out };
    }

    /// Rows of a pseudo-random walk: times that repeat and jump (by
    /// sevens, so that a gap can equal a `maxpause` or `maxspan` of sevens
    /// exactly; negative, `-0`, missing or not a number now and then),
    /// hosts, cookies and users missing or multivalued now and then. The
    /// second shape has `_time` elsewhere, a `duration` column already and
    /// a third field.
    fn walk(seed: u64, n: usize, second_shape: bool) -> Table {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        let mut rows = Vec::new();
        for i in 0..n {
            let time = match next(20) {
                0 | 1 => Cell::null(),
                2 => Cell::one("soon"),
                3 => Cell::one("-0"),
                4 => Cell::one(format!("-{}", next(3) * 7)),
                _ => Cell::one((next(300) * 7 + next(3) * 2002).to_string()),
            };
            let mut pick = |name: &str, k: u64| match next(8) {
                0 | 2 => Cell::null(),
                1 => Cell(vec![
                    format!("{name}{}", next(k)),
                    format!("{name}{}", next(k)),
                ]),
                _ => Cell::one(format!("{name}{}", next(k))),
            };
            let host = pick("h", 4);
            let cookie = pick("c", 6);
            let user = pick("u", 3);
            let process = Cell::one(["net.exe", "arp.exe", "ipconfig.exe", "x"][next(4) as usize]);
            let n = Cell::one(format!("r{i}"));
            rows.push(match second_shape {
                false => vec![time, host, cookie, process, n],
                true => vec![n, Cell::one("d"), host, time, cookie, user, process],
            });
        }
        let columns: &[&str] = match second_shape {
            false => &["_time", "host", "cookie", "process", "n"],
            true => &[
                "n", "duration", "host", "_time", "cookie", "user", "process",
            ],
        };
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        }
    }

    /// On random rows, with every kind of option, in memory and with every
    /// row spilled to disk, fed whole and in small chunks: the rows of the
    /// reference, in its order.
    #[test]
    fn streamed_transactions_are_the_reference_ones() {
        let options = [
            "host",
            "host cookie",
            "host cookie connected=false",
            "host cookie maxpause=70",
            "host cookie connected=false maxpause=70",
            "cookie maxpause=63 connected=false",
            "host maxspan=140 mvlist=true",
            "host cookie mvlist=true maxpause=70",
            "host cookie maxevents=3",
            "maxpause=49",
            "host startswith=eval(process=\"net.exe\") keepevicted=true",
            "host startswith=eval(process=\"net.exe\") keepevicted=true maxpause=70",
            "host cookie endswith=eval(process=\"ipconfig.exe\") maxpause=210",
            "cookie endswith=eval(process=\"arp.exe\") startswith=eval(process=\"net.exe\")",
            "host cookie user",
            "host cookie user maxpause=70",
            "host cookie user connected=false",
            "host cookie user connected=false maxspan=140",
        ];
        let mut made = 0;
        for (seed, second_shape) in (0..6).flat_map(|s| [(s, false), (s, true)]) {
            let rows = walk(seed, 300, second_shape);
            for text in options {
                let cmd = match cmds(&format!("| transaction {text}")).remove(0) {
                    Command::Transaction(t) => t,
                    c => panic!("{c:?}"),
                };
                let mut want = rows.clone();
                reference(&mut want, &cmd);
                assert!(
                    !want.rows.is_empty(),
                    "{text}: seed {seed}, second shape {second_shape}"
                );
                made += want.rows.len();
                for (budget, chunk) in [(SORT_MEMORY, 300), (0, 7), (2000, 50)] {
                    let mut s = TransactionStream::new(&cmd, budget);
                    for part in rows.rows.chunks(chunk) {
                        s.add(Table {
                            columns: rows.columns.clone(),
                            rows: part.to_vec(),
                        })
                        .unwrap();
                    }
                    let got = s.finish().unwrap().into_table().unwrap();
                    assert_eq!(got.columns, want.columns);
                    assert_eq!(
                        got.rows, want.rows,
                        "{text}: seed {seed}, second shape {second_shape}, budget {budget}"
                    );
                }
            }
        }
        // Transactions of every size, not one of everything.
        assert!(made > 12 * options.len() * 20, "{made}");
    }

    fn events() -> crate::table::Table {
        t(
            &["_time", "dest", "process"],
            &[
                &["100", "h1", "net.exe"],
                &["200", "h1", "ipconfig.exe"],
                &["1000", "h1", "net.exe"],
                &["150", "h2", "arp.exe"],
                &["50", "<null>", "x.exe"],
                &["260", "h1", "arp.exe"],
            ],
        )
    }

    #[test]
    fn unknown_is_a_value_to_group_on() {
        let mut tb = t(
            &["_time", "dest", "process"],
            &[
                &["100", "unknown", "net.exe"],
                &["160", "unknown", "unknown"],
                &["120", "<null>", "x.exe"],
            ],
        );
        run(&mut tb, "| transaction dest maxpause=5m");
        assert_eq!(col(&tb, "dest"), ["unknown"]);
        assert_eq!(col(&tb, "eventcount"), ["2"]);
        assert_eq!(col(&tb, "process"), ["net.exe|unknown"]);
    }

    /// Several fields: a row missing one joins the transaction it agrees
    /// with on the others; a contradiction opens another; a row sharing no
    /// field opens one too, or joins with `connected=false`.
    #[test]
    fn rows_missing_fields_join_the_transaction_they_agree_with() {
        let rows = || {
            t(
                &["_time", "host", "cookie", "n"],
                &[
                    &["10", "a", "1", "r0"],
                    &["20", "a", "<null>", "r1"],
                    &["30", "<null>", "1", "r2"],
                    &["40", "a", "2", "r3"],
                    &["50", "a", "<null>", "r4"],
                    &["60", "b", "<null>", "r5"],
                    &["70", "<null>", "3", "r6"],
                    &["80", "<null>", "<null>", "r7"],
                ],
            )
        };
        let mut tb = rows();
        run(&mut tb, "| transaction host cookie");
        // r1 and r2 agree with r0; r3 contradicts its cookie; r4 agrees
        // with both and joins the last joined (r3's); r5 contradicts every
        // host; r6 shares nothing with r5's and contradicts the others'
        // cookies; r7 has neither field.
        assert_eq!(col(&tb, "_time"), ["70", "60", "40", "10"]);
        assert_eq!(col(&tb, "n"), ["r6", "r5", "r3|r4", "r0|r1|r2"]);
        assert_eq!(col(&tb, "host"), ["<null>", "b", "a", "a"]);
        assert_eq!(col(&tb, "cookie"), ["3", "<null>", "2", "1"]);
        assert_eq!(col(&tb, "eventcount"), ["1", "1", "2", "3"]);
        assert_eq!(col(&tb, "duration"), ["0", "0", "10", "20"]);
        let mut tb = rows();
        run(&mut tb, "| transaction host cookie connected=false");
        assert_eq!(col(&tb, "n"), ["r5|r6", "r3|r4", "r0|r1|r2"]);
        assert_eq!(col(&tb, "cookie"), ["3", "2", "1"]);
        // Time still ends a transaction: each row comes 10 s after the
        // last, so with maxpause=15s the same four, with 5s seven of one.
        let mut tb = rows();
        run(&mut tb, "| transaction host cookie maxpause=15s");
        assert_eq!(col(&tb, "eventcount"), ["1", "1", "2", "3"]);
        let mut tb = rows();
        run(&mut tb, "| transaction host cookie maxpause=5s");
        assert_eq!(col(&tb, "eventcount"), vec!["1"; 7]);
    }

    #[test]
    fn maxpause_splits_and_merges_fields() {
        let mut tb = events();
        run(&mut tb, "| transaction dest maxpause=5m");
        // Newest first: h1@1000, h1@100 (100, 200, 260), h2@150.
        assert_eq!(col(&tb, "_time"), ["1000", "150", "100"]);
        assert_eq!(col(&tb, "eventcount"), ["1", "1", "3"]);
        assert_eq!(col(&tb, "duration"), ["0", "0", "160"]);
        assert_eq!(
            col(&tb, "process"),
            ["net.exe", "arp.exe", "arp.exe|ipconfig.exe|net.exe"]
        );
        let mut tb = events();
        run(
            &mut tb,
            "| transaction dest maxpause=1m mvlist=true | where eventcount>=2",
        );
        assert_eq!(col(&tb, "process"), ["ipconfig.exe|arp.exe"]);
    }

    #[test]
    fn maxspan_maxevents_and_start_end() {
        let mut tb = events();
        run(&mut tb, "| transaction dest maxspan=2m");
        assert_eq!(col(&tb, "eventcount"), ["1", "1", "1", "2"]);
        let mut tb = events();
        run(&mut tb, "| transaction dest maxevents=2");
        assert_eq!(col(&tb, "eventcount"), ["2", "1", "2"]);
        let mut tb = events();
        run(
            &mut tb,
            "| transaction dest startswith=eval(process=\"net.exe\")",
        );
        assert_eq!(col(&tb, "eventcount"), ["1", "3"]);
        let mut tb = events();
        run(
            &mut tb,
            "| transaction dest endswith=eval(process=\"ipconfig.exe\") keepevicted=true",
        );
        // h1: [100, 200] ends at ipconfig; [260, 1000] and h2's never end.
        assert_eq!(col(&tb, "closed_txn"), ["0", "0", "1"]);
        assert_eq!(col(&tb, "eventcount"), ["2", "1", "2"]);
        let mut tb = events();
        run(
            &mut tb,
            "| transaction dest endswith=eval(process=\"ipconfig.exe\")",
        );
        assert_eq!(col(&tb, "_time"), ["100"]);
    }
}
