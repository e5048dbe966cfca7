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

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::commands::columns::{cell_at, set_column};
use crate::num::{format_num, parse_num};
use crate::spl::ast::{Stats, StatsAgg, StatsFunc, StatsKind};
use crate::table::{Cell, Table};

/// `list()` keeps at most this many values, as Splunk does.
const LIST_LIMIT: usize = 100;

/// Splunk's order of values: numbers (numerically) before text.
pub fn value_cmp(a: &str, b: &str) -> Ordering {
    match (parse_num(a), parse_num(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// The state of one aggregate over one group, as rows arrive: what its
/// function needs and no more (a count keeps a number, `values()` its
/// distinct values), so `stats` holds its groups, not its input rows.
/// Each state gives what the function gives over all the values at once:
/// ties and sums in row order as before.
#[derive(Clone)]
enum Acc {
    /// `count`: rows.
    Rows(usize),
    /// `count(f)`: values (a multivalue counts each).
    Count(usize),
    /// `dc`, `values`: the distinct values (byte order).
    Distinct(BTreeSet<String>),
    /// `list`: the first [`LIST_LIMIT`] values.
    List(Vec<String>),
    /// `min`, `max`, `first`, `last`: the value kept so far.
    One(Option<String>),
    /// `sum`, `avg`: the numbers' sum (in row order) and count.
    Sum(f64, usize),
    /// `range`: the least and greatest number.
    Range(Option<(f64, f64)>),
    /// `stdev`, `var`, ...: the numbers (two passes, mean first).
    Nums(Vec<f64>),
    /// `median`: every value.
    All(Vec<String>),
    /// `mode`: each value's count and first position, and the values seen.
    Mode(HashMap<String, (usize, usize)>, usize),
    /// `earliest`, `latest`: the time and value kept so far.
    Timed(Option<(f64, String)>),
}

/// The neutral of `Iterator::sum` over f64, so a running sum adds as the
/// iterator did.
fn zero() -> f64 {
    std::iter::empty::<f64>().sum()
}

impl Acc {
    fn new(func: StatsFunc, field: Option<&str>) -> Self {
        match func {
            StatsFunc::Count if field.is_none() => Acc::Rows(0),
            StatsFunc::Count => Acc::Count(0),
            StatsFunc::Dc | StatsFunc::Values => Acc::Distinct(BTreeSet::new()),
            StatsFunc::List => Acc::List(Vec::new()),
            StatsFunc::Min | StatsFunc::Max | StatsFunc::First | StatsFunc::Last => Acc::One(None),
            StatsFunc::Sum | StatsFunc::Avg => Acc::Sum(zero(), 0),
            StatsFunc::Range => Acc::Range(None),
            StatsFunc::Stdev | StatsFunc::Stdevp | StatsFunc::Var | StatsFunc::Varp => {
                Acc::Nums(Vec::new())
            }
            StatsFunc::Median => Acc::All(Vec::new()),
            StatsFunc::Mode => Acc::Mode(HashMap::new(), 0),
            StatsFunc::Earliest | StatsFunc::Latest => Acc::Timed(None),
        }
    }

    /// One row: its time and the aggregate field's values.
    fn add(&mut self, func: StatsFunc, time: Option<f64>, vals: &[String]) {
        match self {
            Acc::Rows(n) => *n += 1,
            Acc::Count(n) => *n += vals.len(),
            Acc::Distinct(set) => {
                for v in vals {
                    if !set.contains(v) {
                        set.insert(v.clone());
                    }
                }
            }
            Acc::List(list) => {
                let room = LIST_LIMIT.saturating_sub(list.len());
                list.extend(vals.iter().take(room).cloned());
            }
            Acc::One(kept) => {
                for v in vals {
                    // min_by keeps the first of equal values, max_by the
                    // last; first and last are the row order's.
                    let take = match (&*kept, func) {
                        (None, _) | (Some(_), StatsFunc::Last) => true,
                        (Some(_), StatsFunc::First) => false,
                        (Some(k), StatsFunc::Min) => value_cmp(v, k) == Ordering::Less,
                        (Some(k), _) => value_cmp(v, k) != Ordering::Less,
                    };
                    if take {
                        *kept = Some(v.clone());
                    }
                }
            }
            Acc::Sum(sum, n) => {
                for x in vals.iter().filter_map(|v| parse_num(v)) {
                    *sum += x;
                    *n += 1;
                }
            }
            Acc::Range(r) => {
                for x in vals.iter().filter_map(|v| parse_num(v)) {
                    let (lo, hi) = r.get_or_insert((f64::INFINITY, f64::NEG_INFINITY));
                    *lo = lo.min(x);
                    *hi = hi.max(x);
                }
            }
            Acc::Nums(nums) => nums.extend(vals.iter().filter_map(|v| parse_num(v))),
            Acc::All(all) => all.extend(vals.iter().cloned()),
            Acc::Mode(counts, seen) => {
                for v in vals {
                    match counts.get_mut(v.as_str()) {
                        Some(c) => c.0 += 1,
                        None => {
                            counts.insert(v.clone(), (1, *seen));
                        }
                    }
                    *seen += 1;
                }
            }
            Acc::Timed(kept) => {
                // A row without a time sorts before every time; min_by keeps
                // the first of equal times, max_by the last.
                let t = time.unwrap_or(f64::NEG_INFINITY);
                for v in vals {
                    let take = match &*kept {
                        None => true,
                        Some((k, _)) if func == StatsFunc::Earliest => t < *k,
                        Some((k, _)) => t >= *k,
                    };
                    if take {
                        *kept = Some((t, v.clone()));
                    }
                }
            }
        }
    }

    fn result(&self, func: StatsFunc) -> Cell {
        let num = |n: Option<f64>| n.map_or(Cell::null(), |n| Cell::one(format_num(n)));
        match self {
            Acc::Rows(n) | Acc::Count(n) => Cell::one(n.to_string()),
            Acc::Distinct(set) if func == StatsFunc::Dc => Cell::one(set.len().to_string()),
            Acc::Distinct(set) => Cell(set.iter().cloned().collect()),
            Acc::List(list) => Cell(list.clone()),
            Acc::One(kept) => kept.as_deref().map_or(Cell::null(), Cell::one),
            Acc::Sum(_, 0) => Cell::null(),
            Acc::Sum(sum, n) if func == StatsFunc::Avg => num(Some(sum / *n as f64)),
            Acc::Sum(sum, _) => num(Some(*sum)),
            Acc::Range(r) => num(r.map(|(lo, hi)| hi - lo)),
            Acc::Nums(n) => {
                let sample = matches!(func, StatsFunc::Stdev | StatsFunc::Var);
                let denom = if sample {
                    n.len().saturating_sub(1)
                } else {
                    n.len()
                };
                if denom == 0 {
                    // Splunk gives 0 for the spread of a single value.
                    return num((!n.is_empty()).then_some(0.0));
                }
                let mean = n.iter().sum::<f64>() / n.len() as f64;
                let var = n.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / denom as f64;
                num(Some(match func {
                    StatsFunc::Stdev | StatsFunc::Stdevp => var.sqrt(),
                    _ => var,
                }))
            }
            Acc::All(all) => {
                let mut v: Vec<&str> = all.iter().map(String::as_str).collect();
                v.sort_by(|a, b| value_cmp(a, b));
                // Splunk's median of an even count is the upper middle value.
                v.get(v.len() / 2).map_or(Cell::null(), |m| Cell::one(*m))
            }
            // Most frequent; the first seen wins a tie.
            Acc::Mode(counts, _) => counts
                .iter()
                .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
                .map_or(Cell::null(), |(v, _)| Cell::one(v)),
            Acc::Timed(kept) => kept
                .as_ref()
                .map_or(Cell::null(), |(_, v)| Cell::one(v.clone())),
        }
    }
}

/// The group keys of a row: every combination of its by-field values;
/// none when a by-field is null.
fn keys(row: &[Cell], by: &[Option<usize>]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for col in by {
        let vals = cell_at(row, *col);
        if vals.is_empty() {
            return Vec::new();
        }
        let mut next = Vec::with_capacity(out.len() * vals.len());
        for k in &out {
            let mut seen: Vec<&String> = Vec::new();
            for v in vals {
                if seen.contains(&v) {
                    continue;
                }
                seen.push(v);
                let mut k2 = k.clone();
                k2.push(v.clone());
                next.push(k2);
            }
        }
        out = next;
    }
    out
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

    fn add(&self, accs: &mut [Acc], aggs: &[StatsAgg], row: &[Cell]) {
        let time = cell_at(row, self.time).first().and_then(|t| parse_num(t));
        for (k, acc) in accs.iter_mut().enumerate() {
            match aggs[k].field {
                None => acc.add(aggs[k].func, time, &[]),
                Some(_) => acc.add(aggs[k].func, time, cell_at(row, self.fields[k])),
            }
        }
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
pub fn apply(table: &mut Table, cmd: &Stats) {
    match cmd.kind {
        StatsKind::Stats => stats(table, cmd),
        StatsKind::Eventstats => eventstats(table, cmd),
        StatsKind::Streamstats => streamstats(table, cmd),
    }
}

fn stats(table: &mut Table, cmd: &Stats) {
    let mut stream = StatsStream::new(cmd);
    stream.add(table);
    *table = stream.finish();
}

/// `stats` fed a chunk of rows at a time: it holds its groups' states,
/// not the rows, so a large result that ends in `stats` streams.
pub struct StatsStream<'c> {
    cmd: &'c Stats,
    groups: BTreeMap<Vec<SortKey>, Vec<Acc>>,
}

impl<'c> StatsStream<'c> {
    pub fn new(cmd: &'c Stats) -> Self {
        let mut groups = BTreeMap::new();
        if cmd.by.is_empty() {
            groups.insert(Vec::new(), fresh(&cmd.aggs));
        }
        StatsStream { cmd, groups }
    }

    /// The next rows (in order).
    pub fn add(&mut self, chunk: &Table) {
        let ctx = Ctx::new(chunk, self.cmd);
        for row in &chunk.rows {
            for key in keys(row, &ctx.by) {
                let accs = self
                    .groups
                    .entry(key.into_iter().map(SortKey).collect())
                    .or_insert_with(|| fresh(&self.cmd.aggs));
                ctx.add(accs, &self.cmd.aggs, row);
            }
        }
    }

    /// The table of groups, ordered by the by-fields.
    pub fn finish(self) -> Table {
        let cmd = self.cmd;
        let mut columns = cmd.by.clone();
        for a in &cmd.aggs {
            if let Some(i) = columns.iter().position(|c| *c == a.column) {
                columns.remove(i);
            }
            columns.push(a.column.clone());
        }
        let rows = self
            .groups
            .into_iter()
            .map(|(key, accs)| {
                let mut row: Vec<Cell> = key.into_iter().map(|k| Cell::one(k.0)).collect();
                for (a, cell) in cmd.aggs.iter().zip(results(&accs, &cmd.aggs)) {
                    if let Some(i) = cmd.by.iter().position(|b| *b == a.column) {
                        row.remove(i);
                    }
                    row.push(cell);
                }
                row
            })
            .collect();
        Table { columns, rows }
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
    groups: HashMap<Vec<String>, Vec<Acc>>,
}

impl<'c> EventstatsStream<'c> {
    pub fn new(cmd: &'c Stats) -> Self {
        EventstatsStream {
            cmd,
            groups: HashMap::new(),
        }
    }

    /// The next rows (in order), of `columns`.
    pub fn add(&mut self, columns: &[String], rows: &[Vec<Cell>]) {
        let ctx = Ctx::of_columns(columns, self.cmd);
        for row in rows {
            for k in keys(row, &ctx.by) {
                let accs = self
                    .groups
                    .entry(k)
                    .or_insert_with(|| fresh(&self.cmd.aggs));
                ctx.add(accs, &self.cmd.aggs, row);
            }
        }
    }

    /// Every row added: the groups' values.
    pub fn finish(self) -> Eventstats<'c> {
        let cmd = self.cmd;
        let done = self
            .groups
            .into_iter()
            .map(|(k, accs)| (k, results(&accs, &cmd.aggs)))
            .collect();
        Eventstats { cmd, done }
    }
}

/// The groups of an `eventstats`, ready to be given to its rows.
pub struct Eventstats<'c> {
    cmd: &'c Stats,
    done: HashMap<Vec<String>, Vec<Cell>>,
}

impl Eventstats<'_> {
    /// Give each row of `chunk` its groups' values.
    pub fn apply(&self, chunk: &mut Table) {
        let ctx = Ctx::new(chunk, self.cmd);
        let row_keys: Vec<Vec<Vec<String>>> = chunk.rows.iter().map(|r| keys(r, &ctx.by)).collect();
        for (j, agg) in self.cmd.aggs.iter().enumerate() {
            let cells = row_keys
                .iter()
                .map(|ks| merge(ks.iter().filter_map(|k| self.done.get(k)).map(|r| &r[j])))
                .collect();
            set_column(chunk, &agg.column, cells);
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
    let ctx = Ctx::new(table, cmd);
    // Per group: the rows seen so far (bounded by `window`).
    let mut seen: HashMap<Vec<String>, VecDeque<usize>> = HashMap::new();
    let mut out: Vec<Vec<Cell>> = vec![Vec::with_capacity(table.rows.len()); cmd.aggs.len()];
    for (r, row) in table.rows.iter().enumerate() {
        let ks = keys(row, &ctx.by);
        let mut per_group: Vec<Vec<Cell>> = Vec::new();
        for k in &ks {
            let q = seen.entry(k.clone()).or_default();
            let mut accs = fresh(&cmd.aggs);
            let window: Vec<usize> = q.iter().copied().chain(cmd.current.then_some(r)).collect();
            let skip = match cmd.window {
                0 => 0,
                w => window.len().saturating_sub(w),
            };
            for &i in &window[skip..] {
                ctx.add(&mut accs, &cmd.aggs, &table.rows[i]);
            }
            per_group.push(results(&accs, &cmd.aggs));
            q.push_back(r);
            if cmd.window > 0 && q.len() > cmd.window {
                q.pop_front();
            }
        }
        for (j, col) in out.iter_mut().enumerate() {
            col.push(merge(per_group.iter().map(|g| &g[j])));
        }
    }
    for (agg, cells) in cmd.aggs.iter().zip(out) {
        set_column(table, &agg.column, cells);
    }
}

#[cfg(test)]
mod tests {
    use crate::commands::columns::testutil::{col, run, t};

    fn procs() -> crate::table::Table {
        t(
            &["dest", "user", "process", "n", "_time"],
            &[
                &["h1", "bob", "cmd.exe", "3", "30"],
                &["h1", "eve", "net.exe|cmd.exe", "10", "10"],
                &["h2", "bob", "ipconfig", "x", "20"],
                &["<null>", "bob", "whoami", "1", "40"],
                &["h1", "bob", "cmd.exe", "2", "50"],
            ],
        )
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
