//! The `transaction` command: rows with the same values of the fields,
//! close in time, become one row.
//!
//! Rows are taken in `_time` order within each combination of the
//! fields' values (a row with none of the fields is in no transaction).
//! A transaction ends when the next row comes more than `maxpause` after
//! the last one, more than `maxspan` after the first, when it holds
//! `maxevents` rows, after a row matching `endswith`, or before a row
//! matching `startswith`. Its row has every field's values (distinct and
//! sorted, or all in order with `mvlist=true`), `_time` of its first row,
//! `duration` (last `_time` minus first) and `eventcount`. A transaction
//! whose first row does not match `startswith`, or last row `endswith`,
//! is evicted: dropped, or kept with `closed_txn=0` under
//! `keepevicted=true`. Transactions come out newest first, as in Splunk.
//!
//! Simplification: rows are grouped by the tuple of the fields' values
//! (a missing field is one value of its own), not by Splunk's transitive
//! unification of rows that share only some of the fields.

use std::collections::HashMap;

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
    // Groups in order of first appearance.
    let mut order: Vec<Vec<Cell>> = Vec::new();
    let mut groups: HashMap<Vec<Cell>, Vec<usize>> = HashMap::new();
    for (r, row) in table.rows.iter().enumerate() {
        let key: Vec<Cell> = key_cols
            .iter()
            .map(|c| c.and_then(|i| row.get(i)).cloned().unwrap_or_default())
            .collect();
        if !key_cols.is_empty() && key.iter().all(Cell::is_null) {
            continue;
        }
        groups
            .entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(r);
    }
    // (rows, closed)
    let mut txns: Vec<(Vec<usize>, bool)> = Vec::new();
    for key in &order {
        let mut rows = groups.remove(key).unwrap_or_default();
        rows.sort_by(|a, b| {
            time(*a)
                .partial_cmp(&time(*b))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut cur: Vec<usize> = Vec::new();
        let flush = |cur: &mut Vec<usize>,
                     txns: &mut Vec<(Vec<usize>, bool)>,
                     test: &mut Test|
         -> Result<(), String> {
            if let (Some(&first), Some(&last)) = (cur.first(), cur.last()) {
                let starts = test(&cmd.startswith, first)?.unwrap_or(true);
                let ends = test(&cmd.endswith, last)?.unwrap_or(true);
                txns.push((std::mem::take(cur), starts && ends));
            }
            Ok(())
        };
        for r in rows {
            let t = time(r);
            let split = match (cur.first(), cur.last()) {
                (Some(&f), Some(&l)) => {
                    cmd.maxpause.is_some_and(|p| t - time(l) > p as f64)
                        || cmd.maxspan.is_some_and(|s| t - time(f) > s as f64)
                        || cmd.maxevents.is_some_and(|m| cur.len() >= m)
                        || test(&cmd.startswith, r)? == Some(true)
                }
                _ => false,
            };
            if split {
                flush(&mut cur, &mut txns, &mut test)?;
            }
            cur.push(r);
            if test(&cmd.endswith, r)? == Some(true) {
                flush(&mut cur, &mut txns, &mut test)?;
            }
        }
        flush(&mut cur, &mut txns, &mut test)?;
    }
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
