//! The commands after `tstats`, applied to the result table in order:
//! this file dispatches them ([`apply`]) and streams rows through them
//! chunk by chunk ([`run_chunked`]); each command or family has its own
//! file. `columns` holds the column operations they share.

pub mod columns;
pub mod convert;
pub mod distinct;
pub mod join;
pub mod lookup;
pub mod reshape;
pub mod rex;
pub mod search;
pub mod sort;
pub mod spool;
pub mod stats;
pub mod transaction;
pub mod unique_key;

use rayon::prelude::*;

use crate::eval::{EvalError, Evaluator};
use crate::spl::ast::{Command, SearchExpr, Span, Stats, StatsKind};
use crate::table::{Cell, RowSink, Table};
use columns::{retain_rows, set_column};
use search::SearchMatcher;
use sort::{sort, SortStream, SORT_DEFAULT_LIMIT, SORT_MEMORY};
use transaction::TransactionStream;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PostError {
    #[error("{command}: {source}")]
    Eval {
        command: &'static str,
        #[source]
        source: EvalError,
    },
    #[error("convert: invalid time format {0:?}")]
    TimeFormat(String),
    #[error("writing results: {0}")]
    Write(String),
    /// A command that failed on the data (a lookup field that does not
    /// exist, a regex that fails at run time), with its position.
    #[error("{command}: {message}")]
    Command {
        command: &'static str,
        message: String,
        span: Option<Span>,
    },
}

/// Whether a command needs every row before it can give any: these end
/// the chunk-by-chunk part of [`run_chunked`]. (`dedup` and `streamstats`
/// do not: they carry what they learned from chunk to chunk, see
/// [`Carry`]; a `dedup ... sortby` is a `dedup` and then a `sort`.)
fn needs_all_rows(cmd: &Command) -> bool {
    match cmd {
        Command::Dedup { sort, .. } => !sort.is_empty(),
        Command::Stats(st) => st.kind != StatsKind::Streamstats && !st.groups_of_one,
        Command::Sort { .. } | Command::Transaction(_) => true,
        _ => false,
    }
}

/// A streaming command that remembers the chunks before: `dedup` their
/// keys, `streamstats` its groups' running states.
enum Carry<'c> {
    Dedup(reshape::Dedup),
    Streamstats(stats::Streamstats<'c>),
}

impl<'c> Carry<'c> {
    fn of(cmd: &'c Command) -> Option<Self> {
        match cmd {
            Command::Dedup {
                count,
                fields,
                keep_empty,
                consecutive,
                ..
            } => Some(Carry::Dedup(reshape::Dedup::new(
                fields,
                *count,
                *keep_empty,
                *consecutive,
            ))),
            Command::Stats(st) if st.kind == StatsKind::Streamstats => {
                Some(Carry::Streamstats(stats::Streamstats::new(st)))
            }
            _ => None,
        }
    }

    fn apply(&mut self, chunk: &mut Table) {
        match self {
            Carry::Dedup(d) => d.apply(chunk),
            Carry::Streamstats(s) => s.apply(chunk),
        }
    }
}

/// The commands with each `dedup ... sortby` written as a `dedup` and
/// then a `sort 0` (what it does), so the dedup streams and the sort keeps
/// within its memory.
fn split_dedup_sortby(cmds: &[Command]) -> std::borrow::Cow<'_, [Command]> {
    let sorts = |c: &Command| matches!(c, Command::Dedup { sort, .. } if !sort.is_empty());
    if !cmds.iter().any(sorts) {
        return std::borrow::Cow::Borrowed(cmds);
    }
    let mut out = Vec::with_capacity(cmds.len() + 1);
    for c in cmds {
        let mut c = c.clone();
        let keys = match &mut c {
            Command::Dedup { sort, .. } => std::mem::take(sort),
            _ => Vec::new(),
        };
        out.push(c);
        if !keys.is_empty() {
            out.push(Command::Sort {
                limit: Some(0),
                keys,
            });
        }
    }
    std::borrow::Cow::Owned(out)
}

fn failed(command: &'static str, span: Option<&Span>) -> impl FnOnce(String) -> PostError {
    let span = span.cloned();
    move |message| PostError::Command {
        command,
        message,
        span,
    }
}

/// Whether a search expression still holds a subsearch.
fn has_subsearch(e: &SearchExpr) -> bool {
    match e {
        SearchExpr::Subsearch(_) => true,
        SearchExpr::And(v) | SearchExpr::Or(v) => v.iter().any(has_subsearch),
        SearchExpr::Not(x) => has_subsearch(x),
        _ => false,
    }
}

/// Apply `cmds` to rows that arrive in chunks, and pass the result to
/// `sink`; returns the number of rows written. Commands that look at one
/// row at a time (and `head`) run chunk by chunk, so memory follows the
/// chunk, not the result. From the first command that needs every row
/// (`sort`) on, rows are gathered, except by a `stats`, which keeps only
/// its groups' states, by an unlimited `sort` and by `transaction`, which
/// spill sorted runs to disk; a `sort` with a limit keeps only its best rows as
/// they arrive (a stable sort of the kept rows followed by
/// new ones is the stable sort of all of them). The answer is the same
/// as [`apply_all`] on the whole table.
///
/// `fill` puts the next chunk of rows into its buffer, reusing the rows,
/// cells and strings it finds there, and returns false when none are left.
///
/// `key` names columns no two rows share the values of (a `tstats`'s
/// by-fields; empty when none is known): a `stats` by them then groups
/// row by row ([`unique_key`]).
pub fn run_chunked(
    columns: Vec<String>,
    key: &[String],
    mut fill: impl FnMut(&mut Vec<Vec<Cell>>) -> bool,
    cmds: &[Command],
    sink: &mut dyn RowSink,
) -> Result<u64, PostError> {
    let cmds = unique_key::plan(&columns, key, cmds);
    let n = run_chunks(columns, &mut fill, &cmds, sink);
    crate::table::drop_removed();
    n
}

/// [`run_chunked`] on a `dyn` source of chunks, as `eventstats` calls it
/// again on its second pass.
fn run_chunks(
    columns: Vec<String>,
    fill: &mut dyn FnMut(&mut Vec<Vec<Cell>>) -> bool,
    cmds: &[Command],
    sink: &mut dyn RowSink,
) -> Result<u64, PostError> {
    let write = |e: std::io::Error| PostError::Write(e.to_string());
    let cmds = split_dedup_sortby(cmds);
    let split = cmds.iter().position(needs_all_rows).unwrap_or(cmds.len());
    let (streaming, rest) = cmds.split_at(split);
    if let Some(Command::Stats(st)) = rest.first() {
        if st.kind == StatsKind::Eventstats {
            return eventstats_in_two_passes(columns, fill, streaming, st, &rest[1..], sink);
        }
    }
    let mut head_left: Vec<usize> = streaming
        .iter()
        .map(|c| match c {
            Command::Head(n) => *n,
            _ => usize::MAX,
        })
        .collect();
    let mut carries: Vec<Option<Carry>> = streaming.iter().map(Carry::of).collect();
    // A sort keeps only the rows it may give: its count, and no more than
    // a `head` right after it takes (`sort 0 - count | head 20` holds 20
    // rows, not the whole result).
    let top_k = match rest.first() {
        Some(Command::Sort { limit, keys }) => {
            let sort_k = match limit {
                Some(0) => None,
                Some(n) => Some(*n),
                None => Some(SORT_DEFAULT_LIMIT),
            };
            let head_k = match rest.get(1) {
                Some(Command::Head(n)) => Some(*n),
                _ => None,
            };
            sort_k.into_iter().chain(head_k).min().map(|k| (k, keys))
        }
        _ => None,
    };
    // A `stats` keeps its groups' states, not the rows: the chunks are fed
    // to it, and only its table goes on to the commands after it.
    let mut stats = match rest.first() {
        Some(Command::Stats(st)) if st.kind == StatsKind::Stats => {
            Some(stats::StatsStream::new(st))
        }
        _ => None,
    };
    // An unlimited sort keeps its rows within a budget, spilling sorted
    // runs to disk, and gives them on sorted.
    let mut sorter = match (rest.first(), top_k) {
        (Some(Command::Sort { keys, .. }), None) => Some(SortStream::new(keys, SORT_MEMORY)),
        _ => None,
    };
    // A transaction puts its rows in time order within a budget too, and
    // keeps only its open transactions.
    let mut transaction = match rest.first() {
        Some(Command::Transaction(t)) => Some((t, TransactionStream::new(t, SORT_MEMORY))),
        _ => None,
    };
    let mut gathered: Option<Table> =
        (!rest.is_empty() && stats.is_none() && sorter.is_none() && transaction.is_none())
            .then(Table::default);
    let mut begun = false;
    let mut written = 0u64;
    let mut buf: Vec<Vec<Cell>> = Vec::new();
    // At least one (possibly empty) chunk, so the columns are known.
    let mut first = true;
    loop {
        let more = fill(&mut buf);
        if !more && !first {
            break;
        }
        first = false;
        let mut t = Table {
            columns: columns.clone(),
            rows: std::mem::take(&mut buf),
        };
        let mut done = false;
        for ((cmd, left), carry) in streaming
            .iter()
            .zip(head_left.iter_mut())
            .zip(carries.iter_mut())
        {
            if let Command::Head(_) = cmd {
                t.rows.truncate(*left);
                *left -= t.rows.len();
                done |= *left == 0;
            } else if let Some(c) = carry {
                c.apply(&mut t);
            } else {
                apply(&mut t, cmd)?;
            }
        }
        if let Some(st) = stats.as_mut() {
            st.add(&t).map_err(temporary_file)?;
            buf = t.rows;
        } else if let Some(s) = sorter.as_mut() {
            s.add(t).map_err(temporary_file)?;
        } else if let Some((_, s)) = transaction.as_mut() {
            s.add(t).map_err(temporary_file)?;
        } else {
            match gathered.as_mut() {
                None => {
                    if !begun {
                        sink.begin(&t.columns).map_err(write)?;
                        begun = true;
                    }
                    written += t.rows.len() as u64;
                    sink.rows(&t.rows).map_err(write)?;
                    buf = t.rows;
                }
                Some(g) => {
                    g.columns = t.columns;
                    g.rows.append(&mut t.rows);
                    if let Some((k, keys)) = top_k {
                        if g.rows.len() >= k.saturating_mul(2).max(1 << 16) {
                            sort(g, keys);
                            g.rows.truncate(k);
                        }
                    }
                }
            }
        }
        // Rows the commands removed are filled again, not made anew.
        crate::table::take_removed(&mut buf);
        if done || !more {
            break;
        }
    }
    // The rows of a stats, an unlimited sort or a transaction go on, a
    // chunk at a time, to the commands after it.
    if let Some(st) = stats {
        let mut rows = st.finish().map_err(temporary_file)?;
        let columns = rows.columns().to_vec();
        return run_rest(columns, |buf| rows.next_chunk(buf), &rest[1..], sink);
    }
    if let Some(s) = sorter {
        let mut rows = s.finish().map_err(temporary_file)?;
        let columns = rows.columns().to_vec();
        return run_rest(columns, |buf| rows.next_chunk(buf), &rest[1..], sink);
    }
    if let Some((t, s)) = transaction {
        let mut rows = s.finish().map_err(transaction_error(t))?;
        let columns = rows.columns().to_vec();
        return run_rest(columns, |buf| rows.next_chunk(buf), &rest[1..], sink);
    }
    if let Some(mut g) = gathered {
        apply_all(&mut g, rest)?;
        sink.begin(&g.columns).map_err(write)?;
        written += g.rows.len() as u64;
        sink.rows(&g.rows).map_err(write)?;
    }
    sink.finish().map_err(write)?;
    Ok(written)
}

/// Run `cmds` on rows read back from disk by `next_chunk`; a failure to
/// read them is an error even if the commands ended.
fn run_rest(
    columns: Vec<String>,
    mut next_chunk: impl FnMut(&mut Vec<Vec<Cell>>) -> std::io::Result<bool>,
    cmds: &[Command],
    sink: &mut dyn RowSink,
) -> Result<u64, PostError> {
    let mut failure = None;
    let mut fill = |buf: &mut Vec<Vec<Cell>>| {
        next_chunk(buf).unwrap_or_else(|e| {
            failure = Some(e);
            false
        })
    };
    let n = run_chunks(columns, &mut fill, cmds, sink)?;
    match failure {
        Some(e) => Err(temporary_file(e)),
        None => Ok(n),
    }
}

/// `eventstats` over rows that need not fit in memory: the rows that reach
/// it are written to a [`spool::Spool`] while it learns its groups, then
/// read back, given their groups' values, and streamed through the
/// commands after it. Memory follows the groups, not the rows.
fn eventstats_in_two_passes(
    columns: Vec<String>,
    fill: &mut dyn FnMut(&mut Vec<Vec<Cell>>) -> bool,
    before: &[Command],
    cmd: &Stats,
    after: &[Command],
    sink: &mut dyn RowSink,
) -> Result<u64, PostError> {
    /// The first pass: each row to the spool and to the groups.
    struct Learn<'c> {
        spool: spool::Spool,
        groups: stats::EventstatsStream<'c>,
    }
    impl RowSink for Learn<'_> {
        fn begin(&mut self, columns: &[String]) -> std::io::Result<()> {
            self.spool.begin(columns)
        }
        fn rows(&mut self, rows: &[Vec<Cell>]) -> std::io::Result<()> {
            self.groups.add(self.spool.columns(), rows);
            self.spool.rows(rows)
        }
    }
    let mut learn = Learn {
        spool: spool::Spool::new().map_err(temporary_file)?,
        groups: stats::EventstatsStream::new(cmd),
    };
    run_chunks(columns, fill, before, &mut learn)?;
    let Learn { spool, groups } = learn;
    let groups = groups.finish();
    // The rows come back with the columns they reached eventstats with,
    // and leave with what it makes of them (as of a table with no rows).
    let read_columns = spool.columns().to_vec();
    let mut shape = Table {
        columns: read_columns.clone(),
        rows: Vec::new(),
    };
    groups.apply(&mut shape);
    let mut reader = spool.read().map_err(temporary_file)?;
    let next_chunk = |buf: &mut Vec<Vec<Cell>>| {
        let mut chunk = Table {
            columns: read_columns.clone(),
            rows: std::mem::take(buf),
        };
        let more = reader.next_chunk(&mut chunk.rows)?;
        if more {
            groups.apply(&mut chunk);
        }
        *buf = chunk.rows;
        Ok(more)
    };
    run_rest(shape.columns, next_chunk, after, sink)
}

/// A command's rows could not be kept in a temporary file (`TMPDIR`).
fn temporary_file(e: std::io::Error) -> PostError {
    PostError::Write(format!(
        "a temporary file (set TMPDIR to a folder with room): {e}"
    ))
}

fn transaction_error(
    t: &crate::spl::ast::Transaction,
) -> impl FnOnce(transaction::TransactionError) -> PostError + '_ {
    move |e| match e {
        transaction::TransactionError::Io(e) => temporary_file(e),
        transaction::TransactionError::Eval(message) => {
            failed("transaction", Some(&t.span))(message)
        }
    }
}

/// Apply every command in order.
pub fn apply_all(table: &mut Table, cmds: &[Command]) -> Result<(), PostError> {
    cmds.iter().try_for_each(|c| apply(table, c))
}

/// Apply one command to the table in place.
pub fn apply(table: &mut Table, cmd: &Command) -> Result<(), PostError> {
    match cmd {
        Command::Rename(_) | Command::Table(_) | Command::Fields { .. } => {
            columns::reshape(table, cmd);
            Ok(())
        }
        Command::Convert {
            timeformat,
            conversions,
        } => convert::apply(table, timeformat, conversions).map_err(PostError::TimeFormat),
        Command::Where(expr) => {
            let mut ev = Evaluator::new();
            let keep = (0..table.rows.len())
                .map(|r| ev.eval_bool(expr, table, r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| PostError::Eval {
                    command: "where",
                    source,
                })?;
            retain_rows(table, &keep);
            Ok(())
        }
        Command::Eval(assigns) => {
            let mut ev = Evaluator::new();
            for (name, expr) in assigns {
                let cells = (0..table.rows.len())
                    .map(|r| ev.eval(expr, table, r).map(|v| v.into_cell()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|source| PostError::Eval {
                        command: "eval",
                        source,
                    })?;
                set_column(table, name, cells);
            }
            Ok(())
        }
        Command::Search(expr) if has_subsearch(expr) => Err(PostError::Command {
            command: "search",
            message: "the subsearch was not run (internal error)".into(),
            span: None,
        }),
        Command::Search(expr) => {
            let matcher = SearchMatcher::new(expr);
            let keep: Vec<bool> = (0..table.rows.len())
                .map(|r| matcher.matches(table, r))
                .collect();
            retain_rows(table, &keep);
            Ok(())
        }
        Command::Regex {
            field,
            negate,
            pattern,
        } => {
            // Compiled once (also on an empty table, so a bad pattern is
            // reported); rows are matched in parallel, since a backtracking
            // pattern over long command lines is the costliest post step.
            let compiled = Evaluator::new()
                .regex(pattern)
                .map_err(|source| PostError::Eval {
                    command: "regex",
                    source,
                })?;
            let re: &crate::pattern::Pattern = &compiled;
            let col = table.column_index(field.as_deref().unwrap_or("_raw"));
            let results: Vec<Result<bool, fancy_regex::Error>> = table
                .rows
                .par_iter()
                .map(|row| {
                    let values = col
                        .and_then(|i| row.get(i))
                        .map(|c| c.0.as_slice())
                        .unwrap_or(&[]);
                    for v in values {
                        if re.is_match(v)? {
                            return Ok(!*negate);
                        }
                    }
                    Ok(*negate)
                })
                .collect();
            let mut keep = Vec::with_capacity(results.len());
            for r in results {
                keep.push(r.map_err(|e| PostError::Eval {
                    command: "regex",
                    source: EvalError::RegexRun {
                        pattern: pattern.clone(),
                        message: e.to_string(),
                    },
                })?);
            }
            retain_rows(table, &keep);
            Ok(())
        }
        Command::Sort { limit, keys } => {
            sort(table, keys);
            let limit = match limit {
                Some(0) => usize::MAX,
                Some(n) => *n,
                None => SORT_DEFAULT_LIMIT,
            };
            table.rows.truncate(limit);
            Ok(())
        }
        Command::Head(n) => {
            table.rows.truncate(*n);
            Ok(())
        }
        Command::Lookup(l) => match &l.table {
            Some(t) => lookup::apply(table, l, t).map_err(failed("lookup", Some(&l.span))),
            None => Err(failed("lookup", Some(&l.span))(format!(
                "lookup `{}` was not loaded (give --lookups DIR)",
                l.name
            ))),
        },
        Command::Rex(r) => rex::apply(table, r).map_err(failed("rex", Some(&r.span))),
        Command::Stats(st) => stats::apply(table, st).map_err(temporary_file),
        Command::Makemv {
            field,
            split,
            allow_empty,
            ..
        } => reshape::makemv(table, field, split, *allow_empty).map_err(failed("makemv", None)),
        Command::Mvexpand { field, limit } => {
            reshape::mvexpand(table, field, *limit);
            Ok(())
        }
        Command::Dedup {
            count,
            fields,
            keep_empty,
            consecutive,
            sort: keys,
        } => {
            reshape::dedup(table, fields, *count, *keep_empty, *consecutive);
            if !keys.is_empty() {
                sort(table, keys);
            }
            Ok(())
        }
        Command::Fillnull { value, fields } => {
            reshape::fillnull(table, value, fields);
            Ok(())
        }
        Command::Join(j) => match &j.resolved {
            Some(sub) => {
                join::apply(table, j, sub);
                Ok(())
            }
            None => Err(failed("join", Some(&j.sub.span))(
                "the subsearch was not run (internal error)".into(),
            )),
        },
        Command::Transaction(t) => transaction::apply(table, t).map_err(transaction_error(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::columns::testutil::{col, run, t};
    use super::*;
    use crate::spl::parser::{parse_eval_expr, parse_pipeline, parse_search_expr};

    #[test]
    fn rename_wildcard_and_plain() {
        let mut tb = t(
            &["Processes.dest", "process", "Processes.process", "count"],
            &[&["h1", "agg", "cmd.exe /c", "3"]],
        );
        run(&mut tb, "| rename \"Processes.*\" as *");
        assert_eq!(tb.columns, ["dest", "process", "count"]);
        assert_eq!(col(&tb, "process"), ["cmd.exe /c"]);
        run(&mut tb, "| rename count AS n, dest as host");
        assert_eq!(tb.columns, ["host", "process", "n"]);
        run(&mut tb, "| rename *o* as *_*");
        assert_eq!(tb.columns, ["h_st", "pr_cess", "n"]);
    }

    #[test]
    fn ctime_formatting() {
        let mut tb = t(
            &["firstTime", "lastTime"],
            &[&["1563547781.5", "abc"], &["<null>", "0"]],
        );
        run(
            &mut tb,
            "| convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime) | convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(lastTime)",
        );
        assert_eq!(col(&tb, "firstTime"), ["2019-07-19T14:49:41", "<null>"]);
        assert_eq!(col(&tb, "lastTime"), ["abc", "1970-01-01T00:00:00"]);
        let mut tb = t(&["x"], &[&["-0.5"]]);
        run(&mut tb, "| convert ctime(x) as y");
        assert_eq!(col(&tb, "y"), ["12/31/1969 23:59:59"]);
        assert_eq!(col(&tb, "x"), ["-0.5"]);
        let p =
            parse_pipeline("| tstats count from datamodel=X | convert timeformat=\"%Q%\" ctime(x)")
                .unwrap();
        assert!(apply_all(&mut tb, &p.commands).is_err());
    }

    fn procs() -> Table {
        t(
            &["process", "count", "user"],
            &[
                &["powershell.exe -enc ZQBjAGgAbwA=", "12", "alice"],
                &["cmd.exe /c whoami", "3", "<null>"],
                &["notepad.exe", "100", "bob"],
            ],
        )
    }

    #[test]
    fn where_functions() {
        let mut tb = procs();
        run(&mut tb, "| where match(process, \"(?i)-ENC\\s+\")");
        assert_eq!(col(&tb, "count"), ["12"]);
        let mut tb = procs();
        run(&mut tb, "| where len(process) > 12 AND count >= 10");
        assert_eq!(col(&tb, "count"), ["12"]);
        let mut tb = procs();
        run(&mut tb, "| where isnull(user)");
        assert_eq!(col(&tb, "count"), ["3"]);
        let mut tb = procs();
        run(&mut tb, "| where NOT like(process, \"%.exe /c%\")");
        assert_eq!(col(&tb, "count"), ["12", "100"]);
        let mut tb = procs();
        run(&mut tb, "| where count=3 OR count=12 AND user=\"bob\"");
        assert_eq!(col(&tb, "count"), ["3"]);
    }

    #[test]
    fn search_null_semantics() {
        let mut tb = procs();
        run(&mut tb, "| search user!=alice");
        assert_eq!(col(&tb, "count"), ["100"]);
        let mut tb = procs();
        run(&mut tb, "| search NOT user=alice");
        assert_eq!(col(&tb, "count"), ["3", "100"]);
        let mut tb = procs();
        run(&mut tb, "| search process=*WHOAMI* OR count>50");
        assert_eq!(col(&tb, "count"), ["3", "100"]);
        let mut tb = procs();
        run(&mut tb, "| search count<10.5");
        assert_eq!(col(&tb, "count"), ["3"]);
        let mut tb = procs();
        run(&mut tb, "| search *");
        assert_eq!(tb.rows.len(), 3);
        let mut tb = procs();
        run(&mut tb, "| search user IN (ALICE, \"b*\")");
        assert_eq!(col(&tb, "count"), ["12", "100"]);
        let mut tb = procs();
        run(&mut tb, "| search notepad");
        assert_eq!(col(&tb, "count"), ["100"]);
        let e = parse_search_expr("count=12").unwrap();
        let m = SearchMatcher::new(&e);
        assert!(m.matches(&t(&["count"], &[&["12.0"]]), 0));
    }

    #[test]
    fn regex_command() {
        let mut tb = procs();
        run(&mut tb, "| regex process=\"(?i)(notepad\\.exe.{0,4}$)\"");
        assert_eq!(col(&tb, "count"), ["100"]);
        let mut tb = procs();
        run(&mut tb, "| regex user!=\"^a\"");
        assert_eq!(col(&tb, "count"), ["3", "100"]);
    }

    #[test]
    fn sort_head_table_fields() {
        let mut tb = procs();
        run(&mut tb, "| sort - count");
        assert_eq!(col(&tb, "count"), ["100", "12", "3"]);
        run(&mut tb, "| sort 0 +count");
        assert_eq!(col(&tb, "count"), ["3", "12", "100"]);
        run(&mut tb, "| sort -str(count)");
        assert_eq!(col(&tb, "count"), ["3", "12", "100"]);
        run(&mut tb, "| sort user");
        assert_eq!(col(&tb, "user"), ["<null>", "alice", "bob"]);
        run(&mut tb, "| sort 2 process desc");
        assert_eq!(col(&tb, "count"), ["12", "100"]);
        let mut tb = procs();
        run(&mut tb, "| head 2");
        assert_eq!(tb.rows.len(), 2);
        let mut tb = procs();
        run(&mut tb, "| table user count missing");
        assert_eq!(tb.columns, ["user", "count", "missing"]);
        assert_eq!(col(&tb, "missing"), ["<null>"; 3]);
        let mut tb = procs();
        run(&mut tb, "| table *s*");
        assert_eq!(tb.columns, ["process", "user"]);
        let mut tb = procs();
        run(&mut tb, "| fields - count");
        assert_eq!(tb.columns, ["process", "user"]);
        let mut tb = procs();
        run(&mut tb, "| fields count, process, nothere");
        assert_eq!(tb.columns, ["count", "process"]);
        assert_eq!(col(&tb, "count"), ["12", "3", "100"]);
    }

    #[test]
    fn eval_assignments() {
        let mut tb = procs();
        run(
            &mut tb,
            "| eval n=count*2, m=n+1, user=coalesce(user, \"none\")",
        );
        assert_eq!(col(&tb, "m"), ["25", "7", "201"]);
        assert_eq!(col(&tb, "user"), ["alice", "none", "bob"]);
        let e = parse_eval_expr("split(process, \" \")").unwrap();
        let mut ev = Evaluator::new();
        let v = ev.eval(&e, &procs(), 1).unwrap().into_cell();
        assert_eq!(v.0, ["cmd.exe", "/c", "whoami"]);
    }

    /// A sort that keeps only its best rows as they come (more rows than
    /// it keeps between two trims) gives the rows a sort of the whole
    /// input gives, ties in input order: with its count, with `head`
    /// right after it, and with both.
    #[test]
    fn a_trimmed_sort_keeps_the_rows_of_a_whole_sort() {
        use super::columns::testutil::cmds;
        let rows: Vec<Vec<Cell>> = (0..150_000u64)
            .map(|i| {
                let n = (i * 7919) % 1000;
                vec![
                    Cell::one(format!("r{i}")),
                    Cell::one(n.to_string()),
                    Cell::one((i % 3).to_string()),
                ]
            })
            .collect();
        let input = Table {
            columns: vec!["id".into(), "n".into(), "m".into()],
            rows,
        };
        // `m` has three values: which of its ties a sort keeps decides
        // the answer.
        for text in [
            "| sort 0 - n | head 300",
            "| sort - n",
            "| sort 0 - m | head 300",
            "| sort 200 + m | head 500",
            "| sort 0 n | head 70000",
        ] {
            let commands = cmds(text);
            let mut whole = input.clone();
            apply_all(&mut whole, &commands).unwrap();
            let fill = super::columns::testutil::chunks_of(&input.rows, 4096);
            let mut got = Table::default();
            run_chunked(input.columns.clone(), &[], fill, &commands, &mut got).unwrap();
            assert!(!got.rows.is_empty());
            assert_eq!(got.rows, whole.rows, "{text}");
        }
    }

    /// Rows fed in chunks of any size give the table the whole input gives:
    /// `stats` fed chunk by chunk, `eventstats` in two passes over a spool,
    /// `dedup` remembering keys, `sort` keeping its best rows or all of
    /// them through a [`SortStream`], `head`, and the empty result.
    #[test]
    fn chunks_give_the_whole_tables_answer() {
        use super::columns::testutil::{cmds, procs};
        // The stats rows, and a negative zero and a row without user,
        // process or time.
        let mut input = procs();
        let more = t(
            &["dest", "user", "process", "n", "_time"],
            &[
                &["h2", "eve", "cmd.exe", "-0", "50"],
                &["h3", "<null>", "<null>", "7", "<null>"],
            ],
        );
        input.rows.extend(more.rows);
        let pipelines = [
            "| stats count c(process) dc(process) values(process) list(user) min(n) max(n) first(n) last(n) by dest",
            "| stats sum(n) avg(n) range(n) stdev(n) var(n) median(n) mode(user) earliest(user) latest(user) by user",
            "| stats count max(_time) as t | eval u=t*2",
            "| where n>1 | stats values(dest) as d by process | sort - d | head 2",
            "| eval k=len(process) | stats count by k | stats sum(count) as rows",
            "| sort 3 n | eval z=1",
            "| sort 0 - n | eval z=1",
            "| eval k=len(process) | sort 0 user, - k | stats count by user",
            "| head 4 | stats count by dest | where count>1",
            "| eventstats count dc(process) as dcp values(user) as users by dest | where count>1 | eval m=n*2",
            "| eval k=len(process) | eventstats avg(k) as a max(n) as n by user | eventstats sum(a) as s | stats values(s) by n",
            "| eventstats count as c | head 3",
            "| where n>100 | eventstats count by dest",
            "| dedup dest | eval x=1",
            "| dedup 2 user keepempty=true | stats count by user",
            "| dedup dest consecutive=true",
            "| dedup user sortby - n",
            "| eventstats count by dest | dedup count | head 5",
            "| streamstats count sum(n) as s values(process) as p by user | eval z=s*2",
            "| streamstats current=f window=2 max(n) as m dc(process) as d by dest | dedup dest sortby - m",
            "| streamstats count as k | where k>2 | streamstats window=1 latest(process) as l",
            "| dedup 2 dest sortby user, - n | streamstats count by dest | head 3",
        ];
        for text in pipelines {
            let commands = cmds(text);
            let mut whole = input.clone();
            apply_all(&mut whole, &commands).unwrap_or_else(|e| panic!("{text}: {e}"));
            for size in [1, 2, 3, 100] {
                let fill = super::columns::testutil::chunks_of(&input.rows, size);
                let mut got = Table::default();
                run_chunked(input.columns.clone(), &[], fill, &commands, &mut got)
                    .unwrap_or_else(|e| panic!("{text}: {e}"));
                assert_eq!(got.columns, whole.columns, "{text}, chunks of {size}");
                assert_eq!(got.rows, whole.rows, "{text}, chunks of {size}");
            }
        }
    }
}

/// `unknown` is the value ESCU's `fillnull_value` and CIM give a missing
/// field: to every command it is an ordinary string, never a null.
#[cfg(test)]
mod unknown_is_a_value {
    use crate::commands::columns::testutil::{col, run, t};
    use crate::table::Table;

    fn procs() -> Table {
        t(
            &["dest", "user", "process"],
            &[
                &["unknown", "bob", "cmd.exe"],
                &["unknown", "unknown", "unknown"],
                &["h1", "<null>", "net.exe"],
                &["unknown", "bob", "cmd.exe"],
            ],
        )
    }

    fn after(text: &str) -> Table {
        let mut tb = procs();
        run(&mut tb, text);
        tb
    }

    #[test]
    fn stats_family_groups_and_counts_unknown() {
        let tb = after("| stats count by dest");
        assert_eq!(col(&tb, "dest"), ["h1", "unknown"]);
        assert_eq!(col(&tb, "count"), ["1", "3"]);
        let tb = after("| stats dc(user) AS n values(user) AS users");
        assert_eq!(col(&tb, "n"), ["2"]);
        assert_eq!(col(&tb, "users"), ["bob|unknown"]);
        let tb = after("| eventstats count by user");
        assert_eq!(col(&tb, "count"), ["2", "1", "<null>", "2"]);
        let tb = after("| streamstats count by dest");
        assert_eq!(col(&tb, "count"), ["1", "2", "1", "3"]);
    }

    #[test]
    fn reshaping_keeps_unknown_and_fills_only_nulls() {
        let tb = after("| dedup user");
        assert_eq!(col(&tb, "process"), ["cmd.exe", "unknown"]);
        let tb = after("| fillnull value=unknown");
        assert_eq!(col(&tb, "user"), ["bob", "unknown", "unknown", "bob"]);
        let tb = after("| makemv delim=\".\" process");
        assert_eq!(
            col(&tb, "process"),
            ["cmd|exe", "unknown", "net|exe", "cmd|exe"]
        );
        let tb = after("| makemv delim=\".\" process | mvexpand process | stats count by process");
        assert_eq!(col(&tb, "process"), ["cmd", "exe", "net", "unknown"]);
        assert_eq!(col(&tb, "count"), ["2", "3", "1", "1"]);
    }

    #[test]
    fn rex_does_not_match_unknown() {
        let tb = after("| rex field=process \"(?<base>[^.]+)\\.exe\"");
        assert_eq!(col(&tb, "base"), ["cmd", "<null>", "net", "cmd"]);
    }
}
