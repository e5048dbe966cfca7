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

use crate::eval::Evaluator;
use crate::num::{format_num, parse_num};
use crate::spl::ast::{Expr, Transaction};
use crate::table::{Cell, Table};

/// Evaluates a `startswith`/`endswith` condition on a row (None: no
/// condition).
type Test<'a> = dyn FnMut(&Option<Expr>, usize) -> Result<Option<bool>, String> + 'a;

pub fn apply(table: &mut Table, cmd: &Transaction) -> Result<(), String> {
    let time_col = table.column_index("_time");
    let key_cols: Vec<Option<usize>> = cmd.fields.iter().map(|f| table.column_index(f)).collect();
    let time = |r: usize| -> f64 {
        time_col
            .and_then(|c| table.rows[r][c].first())
            .and_then(parse_num)
            .unwrap_or(0.0)
    };
    let mut ev = Evaluator::new();
    let mut test = |e: &Option<Expr>, r: usize| -> Result<Option<bool>, String> {
        match e {
            None => Ok(None),
            Some(e) => ev
                .eval_bool(e, table, r)
                .map(Some)
                .map_err(|e| e.to_string()),
        }
    };
    // Rows in time order (a stable sort: ties keep row order).
    let mut order: Vec<usize> = (0..table.rows.len()).collect();
    order.sort_by(|&a, &b| {
        time(a)
            .partial_cmp(&time(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut open: Vec<Open> = Vec::new();
    // (rows, closed), in the order they were opened.
    let mut txns: Vec<(usize, Vec<usize>, bool)> = Vec::new();
    let close = |t: Open,
                 txns: &mut Vec<(usize, Vec<usize>, bool)>,
                 test: &mut Test|
     -> Result<(), String> {
        if let (Some(&first), Some(&last)) = (t.rows.first(), t.rows.last()) {
            let starts = test(&cmd.startswith, first)?.unwrap_or(true);
            let ends = test(&cmd.endswith, last)?.unwrap_or(true);
            txns.push((t.opened, t.rows, starts && ends));
        }
        Ok(())
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
        let joined = pick(&open, &values, cmd.connected);
        let mut target = match joined {
            Some(i) => {
                let o = &open[i];
                let ends = cmd.maxpause.is_some_and(|p| t - o.last > p as f64)
                    || cmd.maxspan.is_some_and(|s| t - o.first > s as f64)
                    || cmd.maxevents.is_some_and(|m| o.rows.len() >= m)
                    || test(&cmd.startswith, r)? == Some(true);
                let o = open.remove(i);
                if ends {
                    close(o, &mut txns, &mut test)?;
                    Open::new(step, t, key_cols.len())
                } else {
                    o
                }
            }
            None => Open::new(step, t, key_cols.len()),
        };
        target.add(r, t, &values);
        if test(&cmd.endswith, r)? == Some(true) {
            close(target, &mut txns, &mut test)?;
        } else {
            // The last joined at the end: searched first.
            open.push(target);
        }
    }
    for o in open {
        close(o, &mut txns, &mut test)?;
    }
    let mut txns: Vec<(Vec<usize>, bool)> = {
        txns.sort_by_key(|(opened, _, _)| *opened);
        txns.into_iter()
            .map(|(_, rows, closed)| (rows, closed))
            .collect()
    };
    if !cmd.keep_evicted {
        txns.retain(|(_, closed)| *closed);
    }
    // Newest first.
    txns.sort_by(|a, b| {
        let (ta, tb) = (time(a.0[0]), time(b.0[0]));
        tb.partial_cmp(&ta).unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut columns = table.columns.clone();
    for extra in ["duration", "eventcount"] {
        if !columns.iter().any(|c| c == extra) {
            columns.push(extra.to_string());
        }
    }
    if cmd.keep_evicted && !columns.iter().any(|c| c == "closed_txn") {
        columns.push("closed_txn".into());
    }
    let col = |name: &str| columns.iter().position(|c| c == name).unwrap_or(0);
    let (dur_col, count_col) = (col("duration"), col("eventcount"));
    let closed_col = cmd.keep_evicted.then(|| col("closed_txn"));
    let mut out = Vec::with_capacity(txns.len());
    for (rows, closed) in &txns {
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
        let (first, last) = (time(rows[0]), time(rows[rows.len() - 1]));
        row[dur_col] = Cell::one(format_num(last - first));
        row[count_col] = Cell::one(rows.len().to_string());
        if let Some(cc) = closed_col {
            row[cc] = Cell::one(if *closed { "1" } else { "0" });
        }
        out.push(row);
    }
    *table = Table { columns, rows: out };
    Ok(())
}

/// An open transaction: its rows, first and last time, and the values
/// each field has had in it.
struct Open {
    /// When it was opened (its first row's place in time order).
    opened: usize,
    rows: Vec<usize>,
    first: f64,
    last: f64,
    values: Vec<Vec<String>>,
}

impl Open {
    fn new(opened: usize, t: f64, fields: usize) -> Self {
        Open {
            opened,
            rows: Vec::new(),
            first: t,
            last: t,
            values: vec![Vec::new(); fields],
        }
    }

    fn add(&mut self, r: usize, t: f64, values: &[&[String]]) {
        self.rows.push(r);
        self.last = t;
        for (have, new) in self.values.iter_mut().zip(values) {
            for v in new.iter() {
                if !have.contains(v) {
                    have.push(v.clone());
                }
            }
        }
    }
}

/// The open transaction a row with `values` (per field; empty: missing)
/// joins: the last joined of those consistent with it, else, with
/// `connected=false`, the last joined of those it shares no field with.
fn pick(open: &[Open], values: &[&[String]], connected: bool) -> Option<usize> {
    let mut neither = None;
    for (i, o) in open.iter().enumerate().rev() {
        let (mut shares, mut differs, mut common) = (false, false, false);
        for (have, new) in o.values.iter().zip(values) {
            if have.is_empty() || new.is_empty() {
                continue;
            }
            common = true;
            if new.iter().any(|v| have.contains(v)) {
                shares = true;
            } else {
                differs = true;
            }
        }
        if values.is_empty() || (shares && !differs) {
            return Some(i);
        }
        if !common && neither.is_none() {
            neither = Some(i);
        }
    }
    if connected {
        None
    } else {
        neither
    }
}

#[cfg(test)]
mod tests {
    use crate::commands::columns::testutil::{col, run, t};

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
