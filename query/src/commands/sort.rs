//! The `sort` command's order: nulls first, then numbers, then strings
//! (`str(f)` compares as text); a stable sort.
//!
//! Each row's keys are written once as bytes that compare as the rows do
//! ([`encode_key`]), so a sort compares byte strings instead of parsing
//! and copying values at every comparison, and a sort of more rows than
//! memory holds ([`SortStream`]) writes sorted runs to disk and merges
//! them ([`crate::sorted_runs`]).

use std::io;

use super::spool::{get_row, put_row};
use crate::encode::{get_bytes, put_bytes, put_ordered};
use crate::memory::STRING_BYTES;
use crate::num::parse_num;
use crate::sorted_runs::{self, Records, Runs};
use crate::spl::ast::SortKey;
use crate::table::{Cell, Table};

/// Splunk's `sort` keeps at most this many rows unless a count is given.
pub const SORT_DEFAULT_LIMIT: usize = 10_000;

/// Heap the rows of an unlimited sort take, about, before they are
/// written to disk as a sorted run.
pub const SORT_MEMORY: usize = 16 << 20;

/// A sort key's kind, never parsed, that orders as `stats` orders its
/// groups: numbers by value before text, and equal numbers by their text
/// ("1" before "1.0"), where `auto` keeps them in input order.
pub const GROUP_ORDER: &str = "group";

/// The column of each key in `columns`.
fn key_columns<'k>(columns: &[String], keys: &'k [SortKey]) -> Vec<(Option<usize>, &'k SortKey)> {
    keys.iter()
        .map(|k| (columns.iter().position(|c| *c == k.field), k))
        .collect()
}

/// Append `row`'s sort key to `out`: per key a tag (0 null, 1 number, 2
/// text), then a number's bits in an order-preserving form or the text's
/// bytes with each 0 written as 0 1 and ended by 0 0 (no key is a prefix
/// of another); a descending key's bytes inverted. Equal numbers written
/// differently ("1", "1.0") give equal keys, as they compare equal.
fn encode_key(row: &[Cell], cols: &[(Option<usize>, &SortKey)], out: &mut Vec<u8>) {
    for (col, key) in cols {
        let start = out.len();
        match col.and_then(|i| row.get(i)).and_then(|c| c.first()) {
            None => out.push(0),
            Some(v) => match (key.kind.as_deref(), parse_num(v)) {
                (Some("str"), _) | (_, None) => {
                    out.push(2);
                    put_ordered(out, v);
                }
                (Some(GROUP_ORDER), Some(x)) => {
                    out.push(1);
                    out.extend_from_slice(&ordered_number(x));
                    put_ordered(out, v);
                }
                (_, Some(x)) => {
                    out.push(1);
                    out.extend_from_slice(&ordered_number(x));
                }
            },
        }
        if key.descending {
            out[start..].iter_mut().for_each(|b| *b = !*b);
        }
    }
}

/// The bytes of a number, in an order that compares as the numbers do
/// (-0 equals 0).
pub fn ordered_number(x: f64) -> [u8; 8] {
    let bits = if x == 0.0 { 0f64 } else { x }.to_bits();
    let ordered = match bits >> 63 {
        1 => !bits,
        _ => bits | (1 << 63),
    };
    ordered.to_be_bytes()
}

pub fn sort(table: &mut Table, keys: &[SortKey]) {
    let cols = key_columns(&table.columns, keys);
    let mut keyed: Vec<(Vec<u8>, Vec<Cell>)> = std::mem::take(&mut table.rows)
        .into_iter()
        .map(|row| {
            let mut k = Vec::new();
            encode_key(&row, &cols, &mut k);
            (k, row)
        })
        .collect();
    // Stable: equal keys keep their order.
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    table.rows = keyed.into_iter().map(|(_, row)| row).collect();
}

/// An unlimited `sort` fed a chunk of rows at a time (or rows with keys
/// their caller wrote, as `transaction` gives them): rows past its memory
/// are sorted and written to disk as a run, and the runs merged as the
/// result is read, so memory follows the budget, not the result.
pub struct SortStream<'k> {
    keys: &'k [SortKey],
    /// Rows so far with their keys (each key ends with the row's number,
    /// so keys are unique and equal sort keys keep input order).
    rows: Vec<(Vec<u8>, Vec<Cell>)>,
    bytes: usize,
    budget: usize,
    seen: u64,
    runs: Runs<RowRecords>,
    columns: Vec<String>,
}

impl<'k> SortStream<'k> {
    /// A stream whose rows take about `budget` bytes before they spill
    /// (0: every chunk, or every row pushed, goes to disk as a run; the
    /// answer is the same).
    pub fn new(keys: &'k [SortKey], budget: usize) -> Self {
        SortStream {
            keys,
            rows: Vec::new(),
            bytes: 0,
            budget,
            seen: 0,
            runs: Runs::new(RowRecords),
            columns: Vec::new(),
        }
    }

    /// A stream whose keys the caller writes ([`SortStream::push`]).
    pub fn keyed(budget: usize) -> SortStream<'static> {
        SortStream::new(&[], budget)
    }

    /// The next rows (in order).
    pub fn add(&mut self, chunk: Table) -> io::Result<()> {
        let cols = key_columns(&chunk.columns, self.keys);
        for row in chunk.rows {
            let mut k = Vec::new();
            encode_key(&row, &cols, &mut k);
            self.hold(k, row);
        }
        self.columns = chunk.columns;
        if self.bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// The columns of the rows [`SortStream::push`] gives.
    pub fn set_columns(&mut self, columns: Vec<String>) {
        self.columns = columns;
    }

    /// The next row, to sort by `key` (bytes compared as such; equal keys
    /// keep the order they came in).
    pub fn push(&mut self, key: Vec<u8>, row: Vec<Cell>) -> io::Result<()> {
        self.hold(key, row);
        if self.bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn hold(&mut self, mut key: Vec<u8>, row: Vec<Cell>) {
        key.extend_from_slice(&self.seen.to_be_bytes());
        self.seen += 1;
        self.bytes += key.len()
            + row
                .iter()
                .flat_map(|c| c.0.iter())
                .map(|v| v.len() + STRING_BYTES)
                .sum::<usize>();
        self.rows.push((key, row));
    }

    fn spill(&mut self) -> io::Result<()> {
        let mut rows = std::mem::take(&mut self.rows);
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.runs.push(sorted_runs::write(rows, |out, (key, row)| {
            RowRecords.write(out, &key, &row)
        })?)?;
        self.bytes = 0;
        Ok(())
    }

    /// Every row added, sorted.
    pub fn finish(mut self) -> io::Result<SortedRows> {
        let source = if self.runs.is_empty() {
            self.rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            Sorted::Memory(self.rows.into_iter())
        } else {
            if !self.rows.is_empty() {
                self.spill()?;
            }
            Sorted::Runs(self.runs.merge()?)
        };
        Ok(SortedRows {
            columns: self.columns,
            source,
        })
    }
}

enum Sorted {
    Memory(std::vec::IntoIter<(Vec<u8>, Vec<Cell>)>),
    Runs(sorted_runs::Merge<RowRecords>),
}

/// A spilled row: its sort key, then its cells. Keys end in the row's
/// number, so no two are equal and nothing combines.
#[derive(Clone)]
struct RowRecords;

impl sorted_runs::Records for RowRecords {
    type Key = Vec<u8>;
    type Value = Vec<Cell>;

    fn read(
        &mut self,
        input: &mut io::BufReader<std::fs::File>,
    ) -> io::Result<(Vec<u8>, Vec<Cell>)> {
        let key = get_bytes(input)?;
        let mut row = Vec::new();
        get_row(input, &mut row)?;
        Ok((key, row))
    }

    fn write(&self, mut out: &mut dyn io::Write, key: &Vec<u8>, row: &Vec<Cell>) -> io::Result<()> {
        put_bytes(&mut out, key)?;
        put_row(&mut out, row)
    }

    fn combine(&self, _: &mut Vec<Cell>, _: Vec<Cell>) {}
}

/// The rows of a finished [`SortStream`], a chunk at a time.
pub struct SortedRows {
    columns: Vec<String>,
    source: Sorted,
}

impl SortedRows {
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The next chunk of rows into `buf`; false when none is left.
    pub fn next_chunk(&mut self, buf: &mut Vec<Vec<Cell>>) -> io::Result<bool> {
        const CHUNK_ROWS: usize = 4096;
        buf.clear();
        while buf.len() < CHUNK_ROWS {
            let next = match &mut self.source {
                Sorted::Memory(it) => it.next(),
                Sorted::Runs(merge) => merge.next_group()?,
            };
            let Some((_, row)) = next else { break };
            buf.push(row);
        }
        Ok(!buf.is_empty())
    }

    /// Every row left, as a table (for a result small enough to hold).
    pub fn into_table(mut self) -> io::Result<Table> {
        let (mut rows, mut buf) = (Vec::new(), Vec::new());
        while self.next_chunk(&mut buf)? {
            rows.append(&mut buf);
        }
        Ok(Table {
            columns: self.columns,
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::columns::testutil::{cmds, t};
    use crate::spl::ast::Command;

    fn keys_of(text: &str) -> Vec<SortKey> {
        match cmds(text).remove(0) {
            Command::Sort { keys, .. } => keys,
            c => panic!("{c:?}"),
        }
    }

    /// Rows sort as Splunk orders them: nulls, then numbers by value (-0
    /// equals 0, "1.0" equals 1), then text by bytes (a 0 byte included);
    /// `str()` as text; descending keys reversed; ties in input order.
    #[test]
    fn keys_order_as_values_do() {
        let tb = t(
            &["v", "i"],
            &[
                &["b", "0"],
                &["10", "1"],
                &["<null>", "2"],
                &["-0", "3"],
                &["9", "4"],
                &["a\0z", "5"],
                &["1.0", "6"],
                &["0", "7"],
                &["a", "8"],
                &["1", "9"],
                &["-2.5", "10"],
                &["a\0", "11"],
            ],
        );
        let order = |text: &str| {
            let mut x = tb.clone();
            sort(&mut x, &keys_of(text));
            x.rows
                .iter()
                .map(|r| r[1].0[0].clone())
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(order("| sort 0 v"), "2,10,3,7,6,9,4,1,8,11,5,0");
        assert_eq!(order("| sort 0 - v"), "0,5,11,8,1,4,6,9,3,7,10,2");
        assert_eq!(order("| sort 0 str(v)"), "2,3,10,7,9,6,1,4,8,11,5,0");
        assert_eq!(order("| sort 0 - v, - i"), "0,5,11,8,1,4,9,6,7,3,10,2");
    }

    /// A sort spilled to disk in runs of any size gives the rows of a
    /// sort in memory.
    #[test]
    fn a_spilled_sort_gives_the_rows_of_a_sort_in_memory() {
        let rows: Vec<Vec<&str>> = (0..500)
            .map(|i| match i % 5 {
                0 => vec!["<null>"],
                1 => vec!["x"],
                _ => vec![["3", "1.5", "-7", "b"][i % 4]],
            })
            .collect();
        let rows: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
        let mut tb = t(&["v"], &rows);
        for (i, row) in tb.rows.iter_mut().enumerate() {
            row.push(Cell::one(i.to_string()));
        }
        tb.columns.push("i".into());
        for text in ["| sort 0 v", "| sort 0 - v", "| sort 0 str(v), - i"] {
            let keys = keys_of(text);
            let mut whole = tb.clone();
            sort(&mut whole, &keys);
            // Chunks of 3 at budget 0 make more runs than a merge reads at
            // once (`sorted_runs::FAN_IN`).
            for (budget, rows) in [(0, 37), (0, 3), (1000, 37), (usize::MAX, 37)] {
                let mut s = SortStream::new(&keys, budget);
                for chunk in tb.rows.chunks(rows) {
                    s.add(Table {
                        columns: tb.columns.clone(),
                        rows: chunk.to_vec(),
                    })
                    .unwrap();
                }
                let got = s.finish().unwrap().into_table().unwrap();
                assert_eq!(got.columns, tb.columns);
                assert_eq!(
                    got.rows, whole.rows,
                    "{text}, budget {budget}, chunks of {rows}"
                );
            }
        }
    }
}
