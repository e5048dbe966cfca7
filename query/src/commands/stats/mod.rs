//! `stats`, `eventstats` and `streamstats` over the result table.
//!
//! As in Splunk: a row with a null by-field is in no group (`stats` drops
//! it; `eventstats` and `streamstats` give it no value); a multivalue
//! by-field puts the row in the group of each value; `stats` with no `by`
//! gives one row even for no input (count 0); `stats` output is ordered by
//! the by-fields. Values compare as Splunk's do: numbers numerically and
//! before text. `values()` is sorted and distinct, `list()` in row order;
//! `earliest`/`latest` follow `_time` when the table has it, row order
//! otherwise.

mod acc;
mod groups;
mod runs;

use std::cmp::Ordering;
use std::collections::VecDeque;

use crate::commands::columns::{cell_at, set_column};
use crate::memory::STRING_BYTES;
use crate::num::parse_num;
use crate::spl::ast::{Stats, StatsAgg, StatsKind};
use crate::table::{Cell, Table};
use acc::Acc;
use groups::{each_key, GroupTable};

/// Heap a `stats` holds its groups in, about; past it they are written to
/// disk as a sorted run, and the runs are merged as the result is read.
pub const STATS_MEMORY: usize = 16 << 20;

/// `list()` keeps at most this many values, as Splunk does.
const LIST_LIMIT: usize = 100;

/// Splunk's order of values: numbers (numerically) before text.
pub fn value_cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (parse_num(a), parse_num(b));
    match num_first(x, y) {
        Ordering::Equal if x.is_none() => a.cmp(b),
        o => o,
    }
}

/// Splunk's order of two values by their parsed numbers: numbers
/// numerically, before text; two texts are equal here.
fn num_first(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

struct Ctx {
    by: Vec<Option<usize>>,
    fields: Vec<Option<usize>>,
    time: Option<usize>,
}

impl Ctx {
    fn new(table: &Table, cmd: &Stats) -> Self {
        Ctx::of_columns(&table.columns, cmd)
    }

    fn of_columns(columns: &[String], cmd: &Stats) -> Self {
        let index = |name: &str| columns.iter().position(|c| c == name);
        Ctx {
            by: cmd.by.iter().map(|b| index(b)).collect(),
            fields: cmd
                .aggs
                .iter()
                .map(|a| a.field.as_deref().and_then(index))
                .collect(),
            time: index("_time"),
        }
    }

    /// Add a row to a group's states; about how many bytes they grew by.
    fn add(&self, accs: &mut [Acc], aggs: &[StatsAgg], row: &[Cell]) -> usize {
        let time = cell_at(row, self.time).first().and_then(|t| parse_num(t));
        let mut grew = 0;
        for (k, acc) in accs.iter_mut().enumerate() {
            grew += match aggs[k].field {
                None => acc.add(aggs[k].func, time, &[]),
                Some(_) => acc.add(aggs[k].func, time, cell_at(row, self.fields[k])),
            };
        }
        grew
    }
}

/// Fresh states of a command's aggregates.
fn fresh(aggs: &[StatsAgg]) -> Vec<Acc> {
    aggs.iter()
        .map(|a| Acc::new(a.func, a.field.as_deref()))
        .collect()
}

fn results(accs: &[Acc], aggs: &[StatsAgg]) -> Vec<Cell> {
    accs.iter()
        .zip(aggs)
        .map(|(a, g)| a.result(g.func))
        .collect()
}

/// Run `cmd` on the table.
pub fn apply(table: &mut Table, cmd: &Stats) -> std::io::Result<()> {
    match cmd.kind {
        StatsKind::Stats if cmd.groups_of_one => groups_of_one(table, cmd),
        StatsKind::Stats => return stats(table, cmd),
        StatsKind::Eventstats => eventstats(table, cmd),
        StatsKind::Streamstats => streamstats(table, cmd),
    }
    Ok(())
}

/// A `stats` over rows that are each a group of their own
/// ([`Stats::groups_of_one`]): each row's group, in the rows' order (the
/// planner sorts them after), as the groups of the whole table would give
/// it. A row with a null by-field is in no group.
fn groups_of_one(table: &mut Table, cmd: &Stats) {
    let ctx = Ctx::new(table, cmd);
    let layout = Layout::of(cmd);
    let mut rows = Vec::with_capacity(table.rows.len());
    let mut key_cells = Vec::with_capacity(ctx.by.len());
    let by: Option<Vec<usize>> = ctx.by.iter().copied().collect();
    let distinct = by
        .as_ref()
        .filter(|by| by.iter().enumerate().all(|(i, c)| !by[..i].contains(c)));
    for mut row in std::mem::take(&mut table.rows) {
        let one_value = |c: usize| row.get(c).is_some_and(|cell| cell.0.len() == 1);
        let one_key = distinct.filter(|by| by.iter().all(|&c| one_value(c)));
        let Some(by) = one_key else {
            // A null by-field (no group) or several values (a group each).
            let mut key = Vec::with_capacity(ctx.by.len());
            each_key(&row, &ctx.by, &mut key, &mut |key| {
                let mut accs = fresh(&cmd.aggs);
                ctx.add(&mut accs, &cmd.aggs, &row);
                let mut out = Vec::with_capacity(key.len() + cmd.aggs.len());
                layout.group_row(cmd, key.iter().map(|&v| Cell::one(v)), &accs, &mut out);
                rows.push(out);
            });
            continue;
        };
        // The row becomes its group's: its by-values are moved, not copied.
        let mut accs = fresh(&cmd.aggs);
        ctx.add(&mut accs, &cmd.aggs, &row);
        key_cells.extend(by.iter().map(|&c| std::mem::take(&mut row[c])));
        layout.group_row(cmd, key_cells.drain(..), &accs, &mut row);
        rows.push(row);
    }
    table.columns = layout.columns;
    table.rows = rows;
}

/// How a `stats`'s rows are laid out: its columns (its by-fields, then
/// its aggregates), and for each aggregate the place of the column it
/// replaces (the by-field or earlier aggregate it is named like), if any,
/// dropped before it is appended.
pub(crate) struct Layout {
    pub columns: Vec<String>,
    replaces: Vec<Option<usize>>,
}

impl Layout {
    pub(crate) fn of(cmd: &Stats) -> Layout {
        let mut columns = cmd.by.clone();
        let mut replaces = Vec::with_capacity(cmd.aggs.len());
        for a in &cmd.aggs {
            let at = columns.iter().position(|c| *c == a.column);
            if let Some(i) = at {
                columns.remove(i);
            }
            replaces.push(at);
            columns.push(a.column.clone());
        }
        Layout { columns, replaces }
    }

    /// Make `row` the row of one group: its by-values `key`, then its
    /// aggregates' results.
    fn group_row(
        &self,
        cmd: &Stats,
        key: impl Iterator<Item = Cell>,
        accs: &[Acc],
        row: &mut Vec<Cell>,
    ) {
        row.clear();
        row.extend(key);
        for (at, cell) in self.replaces.iter().zip(results(accs, &cmd.aggs)) {
            if let Some(i) = *at {
                row.remove(i);
            }
            row.push(cell);
        }
    }
}

fn stats(table: &mut Table, cmd: &Stats) -> std::io::Result<()> {
    // The table is in memory already: its groups may be too.
    let mut stream = StatsStream::with_memory(cmd, usize::MAX);
    stream.add(table)?;
    *table = stream.finish()?.into_table()?;
    Ok(())
}

/// `stats` fed a chunk of rows at a time: it holds its groups' states,
/// not the rows, so a large result that ends in `stats` streams; groups
/// past its memory go to disk as sorted runs ([`runs`]).
pub struct StatsStream<'c> {
    cmd: &'c Stats,
    groups: GroupTable<Vec<Acc>>,
    /// Estimated heap of `groups`, and the most it may be.
    bytes: usize,
    budget: usize,
    runs: crate::sorted_runs::Runs<runs::GroupRecords>,
}

impl<'c> StatsStream<'c> {
    pub fn new(cmd: &'c Stats) -> Self {
        StatsStream::with_memory(cmd, STATS_MEMORY)
    }

    /// A stream whose groups take about `budget` bytes before they spill
    /// (0: every chunk's groups go to disk; the answer is the same).
    pub fn with_memory(cmd: &'c Stats, budget: usize) -> Self {
        let mut groups = GroupTable::default();
        if cmd.by.is_empty() {
            groups.get_or_insert(&[], || fresh(&cmd.aggs));
        }
        StatsStream {
            cmd,
            groups,
            bytes: 0,
            budget,
            runs: runs::GroupRecords::runs(cmd),
        }
    }

    /// The next rows (in order).
    pub fn add(&mut self, chunk: &Table) -> std::io::Result<()> {
        let ctx = Ctx::new(chunk, self.cmd);
        let aggs = &self.cmd.aggs;
        let (groups, bytes) = (&mut self.groups, &mut self.bytes);
        let mut key = Vec::with_capacity(ctx.by.len());
        for row in &chunk.rows {
            each_key(row, &ctx.by, &mut key, &mut |key| {
                let (accs, new) = groups.get_or_insert(key, || fresh(aggs));
                if new {
                    // The key, the table's entry and the states.
                    *bytes += key.iter().map(|k| k.len() + STRING_BYTES).sum::<usize>()
                        + 64
                        + aggs.len() * std::mem::size_of::<Acc>();
                }
                *bytes += ctx.add(accs, aggs, row);
            });
        }
        if self.bytes > self.budget {
            let groups = std::mem::take(&mut self.groups);
            self.runs.push(runs::write_run(groups.into_sorted())?)?;
            self.bytes = 0;
        }
        Ok(())
    }

    /// The groups' rows, ordered by the by-fields.
    pub fn finish(mut self) -> std::io::Result<StatsRows<'c>> {
        let cmd = self.cmd;
        let layout = Layout::of(cmd);
        let source = match self.runs.is_empty() {
            true => Groups::Memory(self.groups.into_sorted().into_iter()),
            false => {
                if !self.groups.is_empty() {
                    let groups = std::mem::take(&mut self.groups);
                    self.runs.push(runs::write_run(groups.into_sorted())?)?;
                }
                Groups::Runs(self.runs.merge()?)
            }
        };
        Ok(StatsRows {
            cmd,
            layout,
            source,
        })
    }
}

/// Where a finished `stats`'s groups come from.
enum Groups {
    Memory(std::vec::IntoIter<(Vec<String>, Vec<Acc>)>),
    Runs(runs::Merge),
}

/// The rows of a finished `stats`, a chunk at a time.
pub struct StatsRows<'c> {
    cmd: &'c Stats,
    layout: Layout,
    source: Groups,
}

impl StatsRows<'_> {
    pub fn columns(&self) -> &[String] {
        &self.layout.columns
    }

    /// The next chunk of rows into `buf`; false when none is left.
    pub fn next_chunk(&mut self, buf: &mut Vec<Vec<Cell>>) -> std::io::Result<bool> {
        const CHUNK_ROWS: usize = 4096;
        buf.clear();
        let cmd = self.cmd;
        while buf.len() < CHUNK_ROWS {
            let group = match &mut self.source {
                Groups::Memory(it) => it.next(),
                Groups::Runs(merge) => merge
                    .next_group()?
                    .map(|(key, accs)| (key.into_iter().map(|k| k.0).collect(), accs)),
            };
            let Some((key, accs)) = group else { break };
            let mut row = Vec::with_capacity(key.len() + cmd.aggs.len());
            (self.layout).group_row(cmd, key.into_iter().map(Cell::one), &accs, &mut row);
            buf.push(row);
        }
        Ok(!buf.is_empty())
    }

    /// Every row, as a table.
    pub fn into_table(mut self) -> std::io::Result<Table> {
        let mut rows = Vec::new();
        let mut buf = Vec::new();
        while self.next_chunk(&mut buf)? {
            rows.append(&mut buf);
        }
        Ok(Table {
            columns: self.layout.columns,
            rows,
        })
    }
}

/// A by-value in Splunk's order.
#[derive(PartialEq, Eq)]
struct SortKey(String);

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        value_cmp(&self.0, &other.0).then_with(|| self.0.cmp(&other.0))
    }
}

fn eventstats(table: &mut Table, cmd: &Stats) {
    let mut stream = EventstatsStream::new(cmd);
    stream.add(&table.columns, &table.rows);
    stream.finish().apply(table);
}

/// `eventstats` in two passes over rows that come in chunks: the first
/// ([`EventstatsStream::add`]) learns the groups, the second
/// ([`Eventstats::apply`]) gives each row its groups' values. Between the
/// two the rows can wait on disk (`spool`): only the groups are held.
pub struct EventstatsStream<'c> {
    cmd: &'c Stats,
    groups: GroupTable<Vec<Acc>>,
}

impl<'c> EventstatsStream<'c> {
    pub fn new(cmd: &'c Stats) -> Self {
        EventstatsStream {
            cmd,
            groups: GroupTable::default(),
        }
    }

    /// The next rows (in order), of `columns`.
    pub fn add(&mut self, columns: &[String], rows: &[Vec<Cell>]) {
        let ctx = Ctx::of_columns(columns, self.cmd);
        let (groups, aggs) = (&mut self.groups, &self.cmd.aggs);
        let mut key = Vec::with_capacity(ctx.by.len());
        for row in rows {
            each_key(row, &ctx.by, &mut key, &mut |key| {
                let (accs, _) = groups.get_or_insert(key, || fresh(aggs));
                ctx.add(accs, aggs, row);
            });
        }
    }

    /// Every row added: the groups' values.
    pub fn finish(self) -> Eventstats<'c> {
        let cmd = self.cmd;
        let done = self.groups.map(|accs| results(&accs, &cmd.aggs));
        Eventstats { cmd, done }
    }
}

/// The groups of an `eventstats`, ready to be given to its rows.
pub struct Eventstats<'c> {
    cmd: &'c Stats,
    done: GroupTable<Vec<Cell>>,
}

impl Eventstats<'_> {
    /// Give each row of `chunk` its groups' values.
    pub fn apply(&self, chunk: &mut Table) {
        let ctx = Ctx::new(chunk, self.cmd);
        let mut cells: Vec<Vec<Cell>> =
            vec![Vec::with_capacity(chunk.rows.len()); self.cmd.aggs.len()];
        let mut key = Vec::with_capacity(ctx.by.len());
        let mut found: Vec<&Vec<Cell>> = Vec::new();
        for row in &chunk.rows {
            found.clear();
            each_key(row, &ctx.by, &mut key, &mut |k| {
                found.extend(self.done.get(k))
            });
            for (j, column) in cells.iter_mut().enumerate() {
                column.push(merge(found.iter().map(|r| &r[j])));
            }
        }
        for (agg, column) in self.cmd.aggs.iter().zip(cells) {
            set_column(chunk, &agg.column, column);
        }
    }
}

/// The value of a row in several groups (multivalue by-field): the
/// values of each, in turn; one group's cell as it is.
fn merge<'a>(cells: impl Iterator<Item = &'a Cell>) -> Cell {
    let mut out = Vec::new();
    for c in cells {
        out.extend(c.0.iter().cloned());
    }
    Cell(out)
}

fn streamstats(table: &mut Table, cmd: &Stats) {
    Streamstats::new(cmd).apply(table);
}

/// `streamstats` fed a chunk of rows at a time (in order). Each group
/// keeps its running states, or with a `window` its last rows, so the
/// command streams, and a row costs its window, not its group's past.
pub struct Streamstats<'c> {
    cmd: &'c Stats,
    groups: GroupTable<Stream>,
}

/// What a group of a `streamstats` keeps.
enum Stream {
    /// No window: the states of every row so far.
    Running(Vec<Acc>),
    /// The last `window` rows, whose states are made again for each row.
    Window(VecDeque<Vec<Cell>>),
}

impl<'c> Streamstats<'c> {
    pub fn new(cmd: &'c Stats) -> Self {
        Streamstats {
            cmd,
            groups: GroupTable::default(),
        }
    }

    /// Give each row of the next chunk its groups' values so far.
    pub fn apply(&mut self, chunk: &mut Table) {
        let cmd = self.cmd;
        let (aggs, window, current) = (&cmd.aggs, cmd.window, cmd.current);
        let ctx = Ctx::new(chunk, cmd);
        let mut out: Vec<Vec<Cell>> = vec![Vec::with_capacity(chunk.rows.len()); aggs.len()];
        let mut key = Vec::with_capacity(ctx.by.len());
        let mut per_group: Vec<Vec<Cell>> = Vec::new();
        for row in &chunk.rows {
            per_group.clear();
            each_key(row, &ctx.by, &mut key, &mut |k| {
                let (group, _) = self.groups.get_or_insert(k, || match window {
                    0 => Stream::Running(fresh(aggs)),
                    _ => Stream::Window(VecDeque::new()),
                });
                per_group.push(match group {
                    Stream::Running(accs) if current => {
                        ctx.add(accs, aggs, row);
                        results(accs, aggs)
                    }
                    Stream::Running(accs) => {
                        let before = results(accs, aggs);
                        ctx.add(accs, aggs, row);
                        before
                    }
                    Stream::Window(last) => {
                        let mut accs = fresh(aggs);
                        let earlier = if current { window - 1 } else { window };
                        for r in last.iter().skip(last.len().saturating_sub(earlier)) {
                            ctx.add(&mut accs, aggs, r);
                        }
                        if current {
                            ctx.add(&mut accs, aggs, row);
                        }
                        last.push_back(row.clone());
                        if last.len() > window {
                            last.pop_front();
                        }
                        results(&accs, aggs)
                    }
                });
            });
            for (j, col) in out.iter_mut().enumerate() {
                col.push(merge(per_group.iter().map(|g| &g[j])));
            }
        }
        for (agg, cells) in aggs.iter().zip(out) {
            set_column(chunk, &agg.column, cells);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::columns::testutil::{col, procs, run, t};

    /// An aggregate named like a by-field, or like an earlier aggregate,
    /// takes that column's place in the columns and in every row alike.
    #[test]
    fn aggregates_named_like_other_columns_replace_them() {
        for (spl, columns, first) in [
            (
                "| stats count as dest sum(n) as x by dest",
                vec!["dest", "x"],
                ["3", "15"],
            ),
            (
                "| stats count as x sum(n) as x by dest",
                vec!["dest", "x"],
                ["h1", "15"],
            ),
        ] {
            let mut tb = procs();
            run(&mut tb, spl);
            assert_eq!(tb.columns, columns, "{spl}");
            assert!(tb.rows.iter().all(|r| r.len() == columns.len()), "{spl}");
            assert_eq!(
                tb.rows[0].iter().map(|c| c.0.join("|")).collect::<Vec<_>>(),
                first
            );
        }
    }

    #[test]
    fn stats_by_drops_nulls_and_orders_groups() {
        let mut tb = procs();
        run(
            &mut tb,
            "| stats count dc(process) AS dcp values(process) list(user) min(n) max(n) sum(n) avg(n) by dest",
        );
        assert_eq!(
            tb.columns,
            [
                "dest",
                "count",
                "dcp",
                "values(process)",
                "list(user)",
                "min(n)",
                "max(n)",
                "sum(n)",
                "avg(n)"
            ]
        );
        assert_eq!(col(&tb, "dest"), ["h1", "h2"]);
        assert_eq!(col(&tb, "count"), ["3", "1"]);
        assert_eq!(col(&tb, "dcp"), ["2", "1"]);
        assert_eq!(col(&tb, "values(process)"), ["cmd.exe|net.exe", "ipconfig"]);
        assert_eq!(col(&tb, "list(user)"), ["bob|eve|bob", "bob"]);
        // Numbers before text; sum and avg skip text.
        assert_eq!(col(&tb, "min(n)"), ["2", "x"]);
        assert_eq!(col(&tb, "max(n)"), ["10", "x"]);
        assert_eq!(col(&tb, "sum(n)"), ["15", "<null>"]);
        assert_eq!(col(&tb, "avg(n)"), ["5", "<null>"]);
    }

    #[test]
    fn stats_multivalue_by_empty_input_and_time_order() {
        let mut tb = procs();
        run(
            &mut tb,
            "| stats count earliest(user) latest(user) first(n) last(n) by process",
        );
        assert_eq!(
            col(&tb, "process"),
            ["cmd.exe", "ipconfig", "net.exe", "whoami"]
        );
        assert_eq!(col(&tb, "count"), ["3", "1", "1", "1"]);
        assert_eq!(col(&tb, "earliest(user)"), ["eve", "bob", "eve", "bob"]);
        assert_eq!(col(&tb, "latest(user)"), ["bob", "bob", "eve", "bob"]);
        assert_eq!(col(&tb, "first(n)"), ["3", "x", "10", "1"]);
        let mut tb = t(&["a"], &[]);
        run(&mut tb, "| stats count, max(a) as m");
        assert_eq!(tb.columns, ["count", "m"]);
        assert_eq!(col(&tb, "count"), ["0"]);
        assert_eq!(col(&tb, "m"), ["<null>"]);
        let mut tb = t(&["a"], &[]);
        run(&mut tb, "| stats count by a");
        assert!(tb.rows.is_empty());
        assert_eq!(tb.columns, ["a", "count"]);
    }

    #[test]
    fn spread_aggregates() {
        let mut tb = t(
            &["v"],
            &[
                &["2"],
                &["4"],
                &["4"],
                &["4"],
                &["5"],
                &["5"],
                &["7"],
                &["9"],
            ],
        );
        run(
            &mut tb,
            "| stats stdev(v) stdevp(v) var(v) range(v) median(v) mode(v) c(v)",
        );
        assert_eq!(col(&tb, "stdevp(v)"), ["2"]);
        assert_eq!(col(&tb, "var(v)"), ["4.571428571428571"]);
        assert_eq!(col(&tb, "range(v)"), ["7"]);
        assert_eq!(col(&tb, "median(v)"), ["5"]);
        assert_eq!(col(&tb, "mode(v)"), ["4"]);
        assert_eq!(col(&tb, "c(v)"), ["8"]);
        assert!(col(&tb, "stdev(v)")[0].starts_with("2.138"));
    }

    /// Equal values and equal times: min, first and earliest keep the
    /// first; max, last and latest the last, as Splunk's do over a table.
    #[test]
    fn ties_keep_the_first_or_the_last() {
        let mut tb = t(
            &["v", "u", "_time"],
            &[&["1", "a", "5"], &["1.0", "b", "5"], &["01", "c", "<null>"]],
        );
        run(
            &mut tb,
            "| stats min(v) max(v) first(u) last(u) earliest(u) latest(u) mode(v) median(v)",
        );
        assert_eq!(col(&tb, "min(v)"), ["1"]);
        assert_eq!(col(&tb, "max(v)"), ["01"]);
        assert_eq!(col(&tb, "first(u)"), ["a"]);
        assert_eq!(col(&tb, "last(u)"), ["c"]);
        assert_eq!(col(&tb, "earliest(u)"), ["c"]);
        assert_eq!(col(&tb, "latest(u)"), ["b"]);
        assert_eq!(col(&tb, "mode(v)"), ["1"]);
        assert_eq!(col(&tb, "median(v)"), ["1.0"]);
    }

    /// `n` rows of dest (7 hosts), user (null, a multivalue, 3 names), n
    /// (integers and halves), v (numbers and text) and _time.
    fn mixed_rows(n: usize) -> Table {
        let rows: Vec<Vec<String>> = (0..n)
            .map(|i| {
                vec![
                    format!("h{}", i % 7),
                    match i % 5 {
                        0 => "<null>".to_string(),
                        1 => "bob|eve".to_string(),
                        _ => format!("u{}", i % 3),
                    },
                    format!("{}", (i * 37) % 101) + if i % 4 == 0 { ".25" } else { "" },
                    if i % 9 == 0 {
                        "x".into()
                    } else {
                        format!("{}", i % 13)
                    },
                    format!("{}", 1000 + (i * 7) % 50),
                ]
            })
            .collect();
        let refs: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect();
        let slices: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
        t(&["dest", "user", "n", "v", "_time"], &slices)
    }

    /// Groups spilled to disk after every chunk (memory 0) and merged back
    /// give the table of groups held whole.
    #[test]
    fn spilled_groups_give_the_same_table() {
        use super::StatsStream;
        let table = mixed_rows(500);
        let pipeline = crate::spl::parser::parse_pipeline(
            "| tstats count from datamodel=X | stats count c(v) dc(v) values(user) list(v) min(v) max(v) first(v) last(user) sum(n) avg(n) range(n) stdev(n) var(n) median(v) mode(v) earliest(user) latest(v) by dest user",
        )
        .unwrap();
        let crate::spl::ast::Command::Stats(cmd) = &pipeline.commands[0] else {
            panic!("not stats");
        };
        let run = |memory: usize, chunk: usize| {
            let mut stream = StatsStream::with_memory(cmd, memory);
            for part in table.rows.chunks(chunk) {
                let part = crate::table::Table {
                    columns: table.columns.clone(),
                    rows: part.to_vec(),
                };
                stream.add(&part).unwrap();
            }
            stream.finish().unwrap().into_table().unwrap()
        };
        let whole = run(usize::MAX, table.rows.len());
        assert_eq!(whole.rows.len(), 7 * 5);
        for (memory, chunk) in [(0, 1), (0, 37), (2000, 50)] {
            let spilled = run(memory, chunk);
            assert_eq!(spilled.columns, whole.columns);
            assert_eq!(
                spilled.rows, whole.rows,
                "memory {memory}, chunks of {chunk}"
            );
        }
    }

    #[test]
    fn eventstats_adds_group_values_to_each_row() {
        let mut tb = procs();
        run(&mut tb, "| eventstats dc(process) as dc_p count by dest");
        assert_eq!(tb.rows.len(), 5);
        assert_eq!(col(&tb, "dc_p"), ["2", "2", "1", "<null>", "2"]);
        assert_eq!(col(&tb, "count"), ["3", "3", "1", "<null>", "3"]);
        let mut tb = procs();
        run(&mut tb, "| eventstats max(n) as n");
        assert_eq!(col(&tb, "n"), ["x"; 5]);
    }

    /// A row's streamstats values, made as the command is defined: the
    /// states of its group's rows so far (the last `window`, with or
    /// without the row itself) made afresh for each row.
    fn streamstats_by_definition(table: &mut Table, cmd: &Stats) {
        let ctx = Ctx::new(table, cmd);
        let mut seen: std::collections::HashMap<Vec<String>, Vec<usize>> = Default::default();
        let mut out: Vec<Vec<Cell>> = vec![Vec::new(); cmd.aggs.len()];
        for (r, row) in table.rows.iter().enumerate() {
            let mut keys: Vec<Vec<String>> = Vec::new();
            each_key(row, &ctx.by, &mut Vec::new(), &mut |k| {
                keys.push(k.iter().map(|v| v.to_string()).collect())
            });
            let mut per_group: Vec<Vec<Cell>> = Vec::new();
            for k in keys {
                let earlier = seen.entry(k).or_default();
                let mut rows: Vec<usize> = earlier.clone();
                rows.extend(cmd.current.then_some(r));
                if cmd.window > 0 {
                    rows.drain(..rows.len().saturating_sub(cmd.window));
                }
                let mut accs = fresh(&cmd.aggs);
                for i in rows {
                    ctx.add(&mut accs, &cmd.aggs, &table.rows[i]);
                }
                per_group.push(results(&accs, &cmd.aggs));
                earlier.push(r);
            }
            for (j, col) in out.iter_mut().enumerate() {
                col.push(merge(per_group.iter().map(|g| &g[j])));
            }
        }
        for (agg, cells) in cmd.aggs.iter().zip(out) {
            set_column(table, &agg.column, cells);
        }
    }

    /// streamstats keeps running states (or a window of rows) per group:
    /// the values of making every row's states afresh, for windows of
    /// none, one and three rows, with and without the row itself, by no
    /// field, one, and a multivalue one.
    #[test]
    fn streamstats_gives_the_values_of_its_definition() {
        let table = mixed_rows(300);
        let aggs = "count sum(n) as s avg(n) as a dc(v) as d values(user) as u list(v) as l earliest(v) as e latest(n) as t max(v) as m";
        for by in ["", " by user", " by dest user"] {
            for opts in [
                "",
                "current=f ",
                "window=1 ",
                "window=3 ",
                "current=f window=3 ",
            ] {
                let text =
                    format!("| tstats count from datamodel=X | streamstats {opts}{aggs}{by}");
                let pipeline = crate::spl::parser::parse_pipeline(&text).unwrap();
                let crate::spl::ast::Command::Stats(cmd) = &pipeline.commands[0] else {
                    panic!("not streamstats");
                };
                let mut expected = table.clone();
                streamstats_by_definition(&mut expected, cmd);
                let mut got = table.clone();
                super::apply(&mut got, cmd).unwrap();
                assert_eq!(got.columns, expected.columns, "{text}");
                assert_eq!(got.rows, expected.rows, "{text}");
            }
        }
    }

    #[test]
    fn streamstats_running_values() {
        let mut tb = procs();
        run(&mut tb, "| streamstats count as k sum(n) as s by user");
        assert_eq!(col(&tb, "k"), ["1", "1", "2", "3", "4"]);
        assert_eq!(col(&tb, "s"), ["3", "10", "3", "4", "6"]);
        let mut tb = procs();
        run(
            &mut tb,
            "| streamstats current=f window=2 values(user) as prev",
        );
        assert_eq!(
            col(&tb, "prev"),
            ["<null>", "bob", "bob|eve", "bob|eve", "bob"]
        );
    }
}
