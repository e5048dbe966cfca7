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
use std::collections::{BTreeMap, HashMap, VecDeque};

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

/// The inputs of one aggregate over one group: each row's values (and
/// its time, for earliest/latest).
#[derive(Default, Clone)]
struct Acc {
    rows: usize,
    /// (time, value) in row order.
    values: Vec<(Option<f64>, String)>,
}

impl Acc {
    fn add(&mut self, time: Option<f64>, vals: &[String]) {
        self.rows += 1;
        self.values.extend(vals.iter().map(|v| (time, v.clone())));
    }

    fn result(&self, func: StatsFunc, field: Option<&str>) -> Cell {
        let vals = || self.values.iter().map(|(_, v)| v.as_str());
        let nums = || vals().filter_map(parse_num).collect::<Vec<f64>>();
        let num = |n: Option<f64>| n.map_or(Cell::null(), |n| Cell::one(format_num(n)));
        match func {
            StatsFunc::Count if field.is_none() => Cell::one(self.rows.to_string()),
            StatsFunc::Count => Cell::one(self.values.len().to_string()),
            StatsFunc::Dc => {
                let mut v: Vec<&str> = vals().collect();
                v.sort_unstable();
                v.dedup();
                Cell::one(v.len().to_string())
            }
            StatsFunc::Values => {
                let mut v: Vec<String> = vals().map(str::to_string).collect();
                v.sort();
                v.dedup();
                Cell(v)
            }
            StatsFunc::List => Cell(vals().take(LIST_LIMIT).map(str::to_string).collect()),
            StatsFunc::Min => vals()
                .min_by(|a, b| value_cmp(a, b))
                .map_or(Cell::null(), Cell::one),
            StatsFunc::Max => vals()
                .max_by(|a, b| value_cmp(a, b))
                .map_or(Cell::null(), Cell::one),
            StatsFunc::Sum => {
                let n = nums();
                num((!n.is_empty()).then(|| n.iter().sum()))
            }
            StatsFunc::Avg => {
                let n = nums();
                num((!n.is_empty()).then(|| n.iter().sum::<f64>() / n.len() as f64))
            }
            StatsFunc::Stdev | StatsFunc::Stdevp | StatsFunc::Var | StatsFunc::Varp => {
                let n = nums();
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
            StatsFunc::Range => {
                let n = nums();
                let lo = n.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = n.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                num((!n.is_empty()).then_some(hi - lo))
            }
            StatsFunc::Median => {
                let mut v: Vec<&str> = vals().collect();
                v.sort_by(|a, b| value_cmp(a, b));
                // Splunk's median of an even count is the upper middle value.
                v.get(v.len() / 2).map_or(Cell::null(), |m| Cell::one(*m))
            }
            StatsFunc::Mode => {
                let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
                for (i, v) in vals().enumerate() {
                    counts.entry(v).or_insert((0, i)).0 += 1;
                }
                // Most frequent; the first seen wins a tie.
                counts
                    .into_iter()
                    .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
                    .map_or(Cell::null(), |(v, _)| Cell::one(v))
            }
            StatsFunc::First => vals().next().map_or(Cell::null(), Cell::one),
            StatsFunc::Last => vals().next_back().map_or(Cell::null(), Cell::one),
            StatsFunc::Earliest | StatsFunc::Latest => {
                let later = |a: &Option<f64>, b: &Option<f64>| {
                    a.unwrap_or(f64::NEG_INFINITY)
                        .partial_cmp(&b.unwrap_or(f64::NEG_INFINITY))
                        .unwrap_or(Ordering::Equal)
                };
                let pick = if func == StatsFunc::Earliest {
                    // min_by keeps the first of equal times.
                    self.values.iter().min_by(|a, b| later(&a.0, &b.0))
                } else {
                    // max_by keeps the last of equal times.
                    self.values.iter().max_by(|a, b| later(&a.0, &b.0))
                };
                pick.map_or(Cell::null(), |(_, v)| Cell::one(v.clone()))
            }
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
        Ctx {
            by: cmd.by.iter().map(|b| table.column_index(b)).collect(),
            fields: cmd
                .aggs
                .iter()
                .map(|a| a.field.as_deref().and_then(|f| table.column_index(f)))
                .collect(),
            time: table.column_index("_time"),
        }
    }

    fn add(&self, accs: &mut [Acc], aggs: &[StatsAgg], row: &[Cell]) {
        let time = cell_at(row, self.time).first().and_then(|t| parse_num(t));
        for (k, acc) in accs.iter_mut().enumerate() {
            match aggs[k].field {
                None => acc.add(time, &[]),
                Some(_) => acc.add(time, cell_at(row, self.fields[k])),
            }
        }
    }
}

fn results(accs: &[Acc], aggs: &[StatsAgg]) -> Vec<Cell> {
    accs.iter()
        .zip(aggs)
        .map(|(a, g)| a.result(g.func, g.field.as_deref()))
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
    let ctx = Ctx::new(table, cmd);
    let fresh = || vec![Acc::default(); cmd.aggs.len()];
    let mut groups: BTreeMap<Vec<SortKey>, Vec<Acc>> = BTreeMap::new();
    if cmd.by.is_empty() {
        groups.insert(Vec::new(), fresh());
    }
    for row in &table.rows {
        for key in keys(row, &ctx.by) {
            let accs = groups
                .entry(key.into_iter().map(SortKey).collect())
                .or_insert_with(fresh);
            ctx.add(accs, &cmd.aggs, row);
        }
    }
    let mut columns = cmd.by.clone();
    for a in &cmd.aggs {
        if let Some(i) = columns.iter().position(|c| *c == a.column) {
            columns.remove(i);
        }
        columns.push(a.column.clone());
    }
    let rows = groups
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
    *table = Table { columns, rows };
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
    let ctx = Ctx::new(table, cmd);
    let fresh = || vec![Acc::default(); cmd.aggs.len()];
    let mut groups: HashMap<Vec<String>, Vec<Acc>> = HashMap::new();
    let row_keys: Vec<Vec<Vec<String>>> = table.rows.iter().map(|r| keys(r, &ctx.by)).collect();
    for (row, ks) in table.rows.iter().zip(&row_keys) {
        for k in ks {
            ctx.add(
                groups.entry(k.clone()).or_insert_with(fresh),
                &cmd.aggs,
                row,
            );
        }
    }
    let done: HashMap<Vec<String>, Vec<Cell>> = groups
        .into_iter()
        .map(|(k, accs)| (k, results(&accs, &cmd.aggs)))
        .collect();
    for (j, agg) in cmd.aggs.iter().enumerate() {
        let cells = row_keys
            .iter()
            .map(|ks| merge(ks.iter().filter_map(|k| done.get(k)).map(|r| &r[j])))
            .collect();
        set_column(table, &agg.column, cells);
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
            let mut accs = vec![Acc::default(); cmd.aggs.len()];
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
