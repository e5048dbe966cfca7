//! Pushdown: filters after tstats that depend on one by-field only become
//! [`KeyFilter`]s of the collector, evaluated once per distinct value of
//! that field in each segment instead of once per result row, and rows
//! whose group fails them are never grouped.
//!
//! A filter commutes with grouping when every row of a group has the same
//! value of what it reads: true of a by-field, and of anything `eval`
//! computes from that by-field alone. The commands before the filter are
//! followed column by column (renames, `table`/`fields`, `eval`,
//! `convert`, `lookup`, `rex`) to know what each column is computed from. A
//! lookup's outputs follow from its inputs (and, where a row has no input
//! or OUTPUTNEW keeps a value, from the column's earlier value): `| lookup
//! tools name AS process_name OUTPUT description | search
//! description!=false` groups only the processes the lookup lists. An
//! inner `join` keeps only rows whose join fields have values its
//! subsearch has: each field that follows from one by-field becomes a
//! filter on that set (a semi-join), so a join of all processes to a few
//! elevated children groups only those few. `sort`
//! and `head` end the analysis (they choose rows, so a later filter cannot
//! move ahead of them). The filter still runs on the result as written: a pushed
//! filter only saves work and never changes the answer. A value on which
//! evaluation fails is kept, so the command reports the error itself.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use crate::collect::{GroupBy, KeyFilter};
use crate::commands;
use crate::commands::search::SearchMatcher;
use crate::eval::Evaluator;
use crate::necessary::{self, Form, Needed};
use crate::pattern::Pattern;
use crate::spl::ast::{BinOp, Command, Expr, Join, Lookup, Rex, SearchExpr};
use crate::spl::parser::REGEX_FUNCTIONS;
use crate::table::{Cell, Table};

/// What a column is computed from: a set of result columns of tstats
/// (`None`: unknown, for example a random or time-dependent value).
type Deps = Option<BTreeSet<usize>>;

/// Functions whose value does not follow from their arguments.
const VOLATILE: &[&str] = &["random", "now", "time", "relative_time"];

/// What pushdown makes of the commands after a tstats.
#[derive(Default)]
pub struct Pushdown {
    /// The filters that run inside the collector.
    pub filters: Vec<KeyFilter>,
    /// Substrings a by-field's value must hold for its group to pass them
    /// (`crate::necessary`): the tstats may find those values first.
    pub needed: Vec<Needed>,
}

/// The filters of `cmds` that can run inside the collector.
pub fn key_filters(group_by: &GroupBy, cmds: &[Command]) -> Vec<KeyFilter> {
    analyze(group_by, cmds).filters
}

/// The filters of `cmds` that can run inside the collector, and what
/// their by-fields' values must contain.
pub fn analyze(group_by: &GroupBy, cmds: &[Command]) -> Pushdown {
    let base = group_by.columns();
    let mut cols = base.clone();
    let mut deps: Vec<Deps> = (0..base.len()).map(|k| Some(BTreeSet::from([k]))).collect();
    let mut forms: Vec<Form> = (0..base.len())
        .map(|k| match group_by.by_is_text(k) {
            true => Form::Value(k),
            false => Form::Other,
        })
        .collect();
    // Whether the commands so far fail on no value (`eval`s that cannot
    // fail, filters whose test cannot): only then may a row be dropped
    // before them on a necessary condition alone (a pushed filter keeps a
    // value it cannot decide, for the command to report the error).
    let mut never_fail = true;
    // What the commands so far that may fail on some value read: a filter
    // pushed ahead of them could drop the rows they fail on and hide the
    // error. Evals and rex are replayed before a pushed filter (see
    // `relevant`), but on a row that holds only the filter's by-field, so a
    // filter is pushed only when they read its by-field alone. Filters are
    // not replayed at all: one that may fail makes this unknown (`None`),
    // and no filter after it is pushed.
    let mut failing_reads: Deps = Some(BTreeSet::new());
    let mut transforms: Vec<Command> = Vec::new();
    let mut filters = Vec::new();
    let mut needed = Vec::new();
    let mut push = |filter: Command, d: Deps, transforms: &[Command], failing_reads: &Deps| {
        let Some(d) = d else { return };
        let mut it = d.iter();
        if let (Some(&by), None) = (it.next(), it.next()) {
            let replayed = (failing_reads.as_ref()).is_some_and(|r| r.iter().all(|&k| k == by));
            if group_by.by_is_text(by) && replayed {
                filters.push(filter_of(&base, by, transforms.to_vec(), filter));
            }
        }
    };
    // What the filter needs of a by-field, whatever else it reads: a row
    // without it fails the filter, which fails on no such row.
    let mut need = |filter: &Command, transforms: &[Command], cols: &[String], forms: &[Form]| {
        let column = |name: &str| column_form(name, cols, forms);
        if let Some(n) = necessary::needed(filter, &column, reads(filter).as_ref()) {
            if group_by.by_is_text(n.by) && run_on_marker(&base, n.by, transforms) {
                needed.push(n);
            }
        }
    };
    for cmd in cmds {
        match cmd {
            Command::Rename(_) | Command::Table(_) | Command::Fields { .. } => {
                let Some((c, moved)) = reshuffle(&cols, cmd) else {
                    break;
                };
                deps = (moved.iter())
                    .map(|m| match m {
                        Moved::Empty => Some(BTreeSet::new()),
                        Moved::From(k) => deps[*k].clone(),
                        Moved::Unknown => None,
                    })
                    .collect();
                forms = (moved.iter())
                    .map(|m| match m {
                        Moved::From(k) => forms[*k].clone(),
                        _ => Form::Other,
                    })
                    .collect();
                cols = c;
                transforms.push(cmd.clone());
            }
            Command::Eval(assigns) => {
                for (name, expr) in assigns {
                    let d = expr_deps(expr, &cols, &deps);
                    if may_fail(expr) {
                        never_fail = false;
                        failing_reads = union_all([failing_reads, d.clone()].into_iter());
                    }
                    let f = necessary::form_of(expr, &|c| column_form(c, &cols, &forms));
                    set_column(&mut cols, &mut deps, &mut forms, name, d, f);
                }
                transforms.push(cmd.clone());
            }
            Command::Convert { conversions, .. } => {
                for conv in conversions {
                    let Some(src) = cols.iter().position(|c| *c == conv.field) else {
                        continue;
                    };
                    let d = deps[src].clone();
                    let target = conv.alias.as_deref().unwrap_or(&conv.field);
                    set_column(&mut cols, &mut deps, &mut forms, target, d, Form::Other);
                }
                transforms.push(cmd.clone());
            }
            Command::Lookup(l) => {
                let Some(outputs) = lookup_outputs(l) else {
                    break;
                };
                let read = union_all(l.inputs.iter().map(|(_, ef)| column_deps(ef, &cols, &deps)));
                let input = match &l.inputs[..] {
                    [(_, ef)] => column_form(ef, &cols, &forms),
                    _ => Form::Other,
                };
                for (lf, ef) in outputs {
                    let d = union_all([read.clone(), column_deps(ef, &cols, &deps)].into_iter());
                    let existed = cols.iter().any(|c| c == ef);
                    let f = necessary::lookup_form(l, lf, input.clone(), existed);
                    set_column(&mut cols, &mut deps, &mut forms, ef, d, f);
                }
                transforms.push(cmd.clone());
            }
            // The groups it extracts follow from the field it reads, and,
            // where it does not match, from their earlier values; a field
            // the result lacks leaves the columns as they are. A
            // backtracking pattern may fail on some value.
            Command::Rex(r) => {
                let Some(outputs) = rex_outputs(r) else {
                    break;
                };
                never_fail = false;
                let read = column_deps(&r.field, &cols, &deps);
                let pattern_fails =
                    r.sed || !crate::pattern::compiled(&r.pattern).is_ok_and(|p| p.never_fails());
                if pattern_fails {
                    failing_reads = union_all([failing_reads, read.clone()].into_iter());
                }
                if cols.contains(&r.field) {
                    for out in outputs {
                        let d =
                            union_all([read.clone(), column_deps(&out, &cols, &deps)].into_iter());
                        set_column(&mut cols, &mut deps, &mut forms, &out, d, Form::Other);
                    }
                }
                transforms.push(cmd.clone());
            }
            Command::Where(expr) => {
                if never_fail {
                    need(cmd, &transforms, &cols, &forms);
                }
                never_fail &= !may_fail(expr);
                // A part that is not surely boolean fails the `AND` as a
                // whole; on its own it would only be false. And a part that
                // may fail must not be passed by another run ahead of it.
                let mut parts = conjuncts(expr);
                if !parts.iter().all(|p| surely_boolean(p) && !may_fail(p)) {
                    parts = vec![expr];
                }
                for part in parts {
                    let d = expr_deps(part, &cols, &deps);
                    push(Command::Where(part.clone()), d, &transforms, &failing_reads);
                }
                if may_fail(expr) {
                    failing_reads = None;
                }
            }
            Command::Search(expr) => {
                if never_fail {
                    need(cmd, &transforms, &cols, &forms);
                }
                let parts = match expr {
                    SearchExpr::And(v) => v.iter().collect(),
                    e => vec![e],
                };
                for part in parts {
                    let d = search_deps(part, &cols, &deps);
                    push(
                        Command::Search(part.clone()),
                        d,
                        &transforms,
                        &failing_reads,
                    );
                }
            }
            Command::Regex { field, pattern, .. } => {
                if never_fail && field.is_some() {
                    need(cmd, &transforms, &cols, &forms);
                }
                let fails = !crate::pattern::compiled(pattern).is_ok_and(|p| p.never_fails());
                never_fail &= !fails;
                if let Some(f) = field {
                    let d = column_deps(f, &cols, &deps);
                    push(cmd.clone(), d, &transforms, &failing_reads);
                }
                if fails {
                    failing_reads = None;
                }
            }
            // An inner join keeps only the rows whose join fields all have a
            // value the subsearch has: per field, a filter (a semi-join).
            // It makes rows, so it ends the analysis.
            Command::Join(j) if !j.left => {
                let Some(sub) = &j.resolved else { break };
                for field in join_fields(j, &cols, sub) {
                    let d = column_deps(&field, &cols, &deps);
                    push(semi_join(&field, j, sub), d, &transforms, &failing_reads);
                }
                break;
            }
            // Commands that choose, merge or make rows end the analysis.
            _ => break,
        }
    }
    Pushdown { filters, needed }
}

/// A column's form; a missing column is null, which no form describes.
fn column_form(name: &str, cols: &[String], forms: &[Form]) -> Form {
    match cols.iter().position(|c| c == name) {
        Some(i) => forms[i].clone(),
        None => Form::Other,
    }
}

/// The join fields of `j` on a result with columns `cols`: as given, or
/// the columns both sides have (`commands::join`).
fn join_fields(j: &Join, cols: &[String], sub: &Table) -> Vec<String> {
    match j.fields.is_empty() {
        true => (cols.iter())
            .filter(|c| sub.column_index(c).is_some())
            .cloned()
            .collect(),
        false => j.fields.clone(),
    }
}

/// The filter "`field` has a value of the subsearch's `field`", as an inner
/// join on that field alone with the subsearch's values of it (which
/// [`within_set`] makes a set).
fn semi_join(field: &str, j: &Join, sub: &Table) -> Command {
    let only = Table {
        columns: vec![field.to_string()],
        rows: match sub.column_index(field) {
            Some(c) => (sub.rows.iter())
                .filter(|r| !r[c].is_null())
                .map(|r| vec![r[c].clone()])
                .collect(),
            None => Vec::new(),
        },
    };
    Command::Join(Join {
        left: false,
        max: 1,
        overwrite: false,
        fields: vec![field.to_string()],
        sub: j.sub.clone(),
        resolved: Some(Arc::new(only)),
    })
}

/// The columns a `rex` writes: its named groups, or, in sed mode, the
/// field itself; None when its pattern does not compile (the command then
/// reports it).
fn rex_outputs(r: &Rex) -> Option<Vec<String>> {
    if r.sed {
        return Some(vec![r.field.clone()]);
    }
    let re = crate::pattern::compiled(&r.pattern).ok()?;
    Some(
        re.regex()
            .capture_names()
            .flatten()
            .map(str::to_string)
            .collect(),
    )
}

/// The columns a lookup writes, each as (lookup field, column); None when
/// its table is not loaded.
fn lookup_outputs(l: &Lookup) -> Option<Vec<(&str, &str)>> {
    if !l.outputs.is_empty() {
        return Some(
            l.outputs
                .iter()
                .map(|(lf, ef)| (lf.as_str(), ef.as_str()))
                .collect(),
        );
    }
    // No OUTPUT: every lookup field that is not an input.
    let table = l.table.as_ref()?;
    Some(
        table
            .columns
            .iter()
            .filter(|c| !l.inputs.iter().any(|(lf, _)| lf == *c))
            .map(|c| (c.as_str(), c.as_str()))
            .collect(),
    )
}

/// A command sets column `name` (replaced, or added at the end).
fn set_column(
    cols: &mut Vec<String>,
    deps: &mut Vec<Deps>,
    forms: &mut Vec<Form>,
    name: &str,
    d: Deps,
    f: Form,
) {
    match cols.iter().position(|c| c == name) {
        Some(i) => (deps[i], forms[i]) = (d, f),
        None => {
            cols.push(name.to_string());
            deps.push(d);
            forms.push(f);
        }
    }
}

/// `a AND b AND c` as its parts.
fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Binary {
            op: BinOp::And,
            lhs,
            rhs,
        } => {
            let mut v = conjuncts(lhs);
            v.extend(conjuncts(rhs));
            v
        }
        other => vec![other],
    }
}

/// Whether `e` evaluates to a boolean (or null) whatever the row: a
/// comparison, a logical operator on such, or a test function.
fn surely_boolean(e: &Expr) -> bool {
    const TESTS: &[&str] = &[
        "like",
        "match",
        "isnull",
        "isnotnull",
        "isnum",
        "isint",
        "isstr",
        "cidrmatch",
        "searchmatch",
    ];
    match e {
        Expr::Bool(_) | Expr::Like { .. } | Expr::In { .. } => true,
        Expr::Not(x) => surely_boolean(x),
        Expr::Binary { op, lhs, rhs } => match op {
            BinOp::And | BinOp::Or | BinOp::Xor => surely_boolean(lhs) && surely_boolean(rhs),
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => true,
            _ => false,
        },
        Expr::Call { name, .. } => TESTS.contains(&name.as_str()),
        _ => false,
    }
}

/// The union of what several parts are computed from (unknown if any is).
fn union_all(mut parts: impl Iterator<Item = Deps>) -> Deps {
    parts.try_fold(BTreeSet::new(), |mut acc, d| {
        acc.extend(d?);
        Some(acc)
    })
}

/// A column's deps; a missing column is a constant null.
fn column_deps(name: &str, cols: &[String], deps: &[Deps]) -> Deps {
    match cols.iter().position(|c| c == name) {
        Some(i) => deps[i].clone(),
        None => Some(BTreeSet::new()),
    }
}

fn expr_deps(e: &Expr, cols: &[String], deps: &[Deps]) -> Deps {
    let all = |es: &mut dyn Iterator<Item = &Expr>| union_all(es.map(|x| expr_deps(x, cols, deps)));
    match e {
        Expr::Field(name) => column_deps(name, cols, deps),
        Expr::Str(_) | Expr::Num(_) | Expr::Bool(_) | Expr::Null => Some(BTreeSet::new()),
        Expr::Not(x) | Expr::Neg(x) => expr_deps(x, cols, deps),
        Expr::Binary { lhs, rhs, .. } => all(&mut [&**lhs, &**rhs].into_iter()),
        Expr::Call { name, args, .. } => {
            if VOLATILE.contains(&name.as_str()) {
                None
            } else {
                all(&mut args.iter())
            }
        }
        Expr::Like { expr, pattern } => all(&mut [&**expr, &**pattern].into_iter()),
        Expr::In { expr, list } => all(&mut std::iter::once(&**expr).chain(list)),
    }
}

fn search_deps(e: &SearchExpr, cols: &[String], deps: &[Deps]) -> Deps {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => {
            union_all(v.iter().map(|x| search_deps(x, cols, deps)))
        }
        SearchExpr::Not(x) => search_deps(x, cols, deps),
        SearchExpr::Cmp { field, .. } | SearchExpr::In { field, .. } => {
            column_deps(field, cols, deps)
        }
        // A bare term looks at every column.
        SearchExpr::Term { .. } | SearchExpr::Subsearch(_) => None,
    }
}

/// A marker that no real value equals, naming column `k`.
fn marker(k: usize) -> String {
    format!("\u{1}evidx-column-{k}\u{1}")
}

/// Where a column of a reshuffled result comes from.
enum Moved {
    /// A column the command added empty.
    Empty,
    /// Column `k` of the input.
    From(usize),
    /// Not known.
    Unknown,
}

/// Follow a command that only moves, renames, drops or adds empty
/// columns, by running it on one row of markers.
fn reshuffle(cols: &[String], cmd: &Command) -> Option<(Vec<String>, Vec<Moved>)> {
    let mut t = Table {
        columns: cols.to_vec(),
        rows: vec![(0..cols.len()).map(|k| Cell::one(marker(k))).collect()],
    };
    commands::apply(&mut t, cmd).ok()?;
    let row = t.rows.first()?;
    let moved = row
        .iter()
        .map(|cell| match cell.first() {
            None => Moved::Empty,
            Some(v) => (0..cols.len())
                .find(|&k| marker(k) == v)
                .map_or(Moved::Unknown, Moved::From),
        })
        .collect();
    Some((t.columns, moved))
}

/// The collector filter that runs `transforms` then `filter` on a row
/// holding only the value of by-field `by`.
fn filter_of(base: &[String], by: usize, transforms: Vec<Command>, filter: Command) -> KeyFilter {
    let base = base.to_vec();
    let relevant = relevant(&transforms, &filter);
    // A command that fails whatever the value (a `convert` format or a
    // lookup field that does not exist) must still fail the search, so
    // none is dropped when one fails on a row holding only a marker. (An
    // `eval` that may fail on some values is never dropped.)
    let transforms = if relevant.len() < transforms.len() && !run_on_marker(&base, by, &transforms)
    {
        transforms
    } else {
        relevant
    };
    let transforms = Arc::new(transforms);
    let within = within_set(&filter);
    let filter = Arc::new(filter);
    KeyFilter {
        by_index: by,
        make: Arc::new(move || {
            let mut check = Check::new(&base, by, transforms.clone(), &filter, within.clone());
            Box::new(move |v: &str| check.keep(v))
        }),
    }
}

/// The values of a semi-join filter ([`semi_join`]), as a set.
fn within_set(filter: &Command) -> Option<Arc<HashSet<Cell>>> {
    match filter {
        Command::Join(j) => (j.resolved.as_ref())
            .map(|sub| Arc::new(sub.rows.iter().filter_map(|r| r.first().cloned()).collect())),
        _ => None,
    }
}

/// Whether `transforms` run without error on [`marked`]`(base, by)`.
fn run_on_marker(base: &[String], by: usize, transforms: &[Command]) -> bool {
    let mut t = marked(base, by);
    transforms
        .iter()
        .all(|c| commands::apply(&mut t, c).is_ok())
}

/// One row of the tstats columns `base`, null but by-field `by`, which
/// holds its [`marker`].
fn marked(base: &[String], by: usize) -> Table {
    let mut t = Table {
        columns: base.to_vec(),
        rows: vec![vec![Cell::null(); base.len()]],
    };
    t.rows[0][by] = Cell::one(marker(by));
    t
}

/// `transforms` without the `eval`s, `convert`s and `lookup`s that only
/// set columns whose values never reach what `filter` reads: they cannot
/// change what it sees, and dropping them lets a filter behind `| convert
/// ctime(firstTime) | rename Processes.* as *` test the value after the
/// renames, worked out once, instead of replaying every command on every
/// value.
///
/// The commands are walked from the filter back, with the columns whose
/// values may reach it: a command kept adds what it reads, a rename adds
/// the names it renames to them. Whatever cannot be followed (a glob
/// `convert`, an unloaded lookup, a rename to a name with several `*`)
/// keeps every command before it. An `eval` that may fail on some value
/// is kept: the value is then kept, and the command reports the error.
fn relevant(transforms: &[Command], filter: &Command) -> Vec<Command> {
    let Some(mut needed) = reads(filter) else {
        return transforms.to_vec();
    };
    let mut keep = vec![true; transforms.len()];
    for (i, cmd) in transforms.iter().enumerate().rev() {
        let followed = match cmd {
            Command::Eval(assigns) if assigns.iter().any(|(_, e)| may_fail(e)) => {
                // Kept whatever it sets, with what it reads.
                assigns.iter().for_each(|(_, e)| expr_reads(e, &mut needed));
                true
            }
            Command::Eval(assigns) => {
                let sets: Vec<&str> = assigns.iter().map(|(name, _)| name.as_str()).collect();
                follow_setter(&mut needed, &mut keep[i], &sets, |needed| {
                    assigns.iter().for_each(|(_, e)| expr_reads(e, needed));
                    true
                })
            }
            Command::Convert { conversions, .. } => {
                let sets: Vec<&str> = (conversions.iter())
                    .map(|c| c.alias.as_deref().unwrap_or(&c.field))
                    .collect();
                follow_setter(&mut needed, &mut keep[i], &sets, |needed| {
                    needed.extend(conversions.iter().map(|c| c.field.clone()));
                    !conversions.iter().any(|c| c.field.contains('*'))
                })
            }
            Command::Lookup(l) => match lookup_outputs(l) {
                Some(outputs) => {
                    let sets: Vec<&str> = outputs.iter().map(|&(_, ef)| ef).collect();
                    follow_setter(&mut needed, &mut keep[i], &sets, |needed| {
                        needed.extend(l.inputs.iter().map(|(_, event_field)| event_field.clone()));
                        true
                    })
                }
                None => false,
            },
            Command::Rename(pairs) if renames_none_of(&needed, pairs) => {
                keep[i] = false;
                true
            }
            Command::Rename(pairs) => pairs
                .iter()
                .rev()
                .all(|(src, dst)| follow_rename(&mut needed, src, dst)),
            Command::Table(_) | Command::Fields { .. } => true,
            // Kept (its regex may fail as it runs), with what it reads.
            Command::Rex(r) => {
                needed.insert(r.field.clone());
                true
            }
            _ => false,
        };
        if !followed {
            break;
        }
    }
    (transforms.iter().zip(keep))
        .filter(|&(_, kept)| kept)
        .map(|(cmd, _)| cmd.clone())
        .collect()
}

/// Whether evaluating `e` may fail on some values: a logical operator on
/// a value that may not be boolean, or a regular expression that may fail
/// as it runs (its backtracking limit) or is made as it runs (a pattern
/// that is not a literal).
fn may_fail(e: &Expr) -> bool {
    match e {
        Expr::Not(x) => !surely_boolean(x) || may_fail(x),
        Expr::Like { expr, pattern } => !like_never_fails(pattern) || may_fail(expr),
        Expr::Binary {
            op: BinOp::And | BinOp::Or | BinOp::Xor,
            lhs,
            rhs,
        } => !surely_boolean(lhs) || !surely_boolean(rhs) || may_fail(lhs) || may_fail(rhs),
        Expr::Binary { lhs, rhs, .. } => may_fail(lhs) || may_fail(rhs),
        Expr::Neg(x) => may_fail(x),
        Expr::Call { name, args, .. } => {
            let own = match (name.as_str(), &args[..]) {
                ("like", [_, pattern]) => !like_never_fails(pattern),
                ("match" | "mvfind", [_, Expr::Str(pattern)]) => {
                    !crate::pattern::compiled(pattern).is_ok_and(|p| p.never_fails())
                }
                (name, _) => name == "like" || REGEX_FUNCTIONS.contains(&name),
            };
            own || args.iter().any(may_fail)
        }
        Expr::In { expr, list } => may_fail(expr) || list.iter().any(may_fail),
        Expr::Field(_) | Expr::Str(_) | Expr::Num(_) | Expr::Bool(_) | Expr::Null => false,
    }
}

/// Whether a LIKE test with this pattern runs without error: a literal
/// pattern whose regular expression compiles and cannot fail as it runs.
fn like_never_fails(pattern: &Expr) -> bool {
    match pattern {
        Expr::Str(p) => {
            crate::pattern::compiled(&crate::eval::like_to_regex(p)).is_ok_and(|c| c.never_fails())
        }
        _ => false,
    }
}

/// A command that sets the columns `sets`: dropped (`keep` cleared) when
/// none may reach the filter, else kept and what it reads added by
/// `reads` (false: it reads what cannot be followed). False when a set
/// column is a glob, which may be any column.
fn follow_setter(
    needed: &mut BTreeSet<String>,
    keep: &mut bool,
    sets: &[&str],
    reads: impl FnOnce(&mut BTreeSet<String>) -> bool,
) -> bool {
    if sets.iter().any(|s| s.contains('*')) {
        return false;
    }
    if sets.iter().any(|s| needed.contains(*s)) {
        return reads(needed);
    }
    *keep = false;
    true
}

/// Whether a `rename` leaves every needed column as it is: none is renamed
/// away (named by a source) or replaced (named by a target). Such a rename
/// (`rename process* as parent_process*` before a filter on `join_guid`)
/// need not be replayed on each value. Patterns of several `*` are not
/// judged.
fn renames_none_of(needed: &BTreeSet<String>, pairs: &[(String, String)]) -> bool {
    pairs.iter().all(|(src, dst)| {
        [src, dst].iter().all(|p| p.matches('*').count() <= 1)
            && needed.iter().all(|n| {
                commands::columns::name_captures(src, n).is_none()
                    && commands::columns::name_captures(dst, n).is_none()
            })
    })
}

/// Back through `rename src as dst`: each needed column that `dst` names
/// may hold what `src` named. False when that name cannot be told: `src`
/// and `dst` with different numbers of `*`, or `dst` with several (a name
/// splits among them in more than one way: `*_*` reads `a_b_c` as `a`,
/// `b_c` or as `a_b`, `c`).
fn follow_rename(needed: &mut BTreeSet<String>, src: &str, dst: &str) -> bool {
    let stars = |p: &str| p.matches('*').count();
    if stars(dst) > 1 {
        return false;
    }
    let mut sources = Vec::new();
    for name in needed.iter() {
        let Some(caps) = commands::columns::name_captures(dst, name) else {
            continue;
        };
        if stars(src) != caps.len() {
            return false;
        }
        let mut source = String::new();
        for (k, piece) in src.split('*').enumerate() {
            if k > 0 {
                source.push_str(&caps[k - 1]);
            }
            source.push_str(piece);
        }
        sources.push(source);
    }
    needed.extend(sources);
    true
}

/// The columns `e` reads, added to `out`.
fn expr_reads(e: &Expr, out: &mut BTreeSet<String>) {
    match e {
        Expr::Field(name) => {
            out.insert(name.clone());
        }
        Expr::Str(_) | Expr::Num(_) | Expr::Bool(_) | Expr::Null => {}
        Expr::Not(x) | Expr::Neg(x) => expr_reads(x, out),
        Expr::Binary { lhs, rhs, .. } => {
            expr_reads(lhs, out);
            expr_reads(rhs, out);
        }
        Expr::Call { args, .. } => args.iter().for_each(|a| expr_reads(a, out)),
        Expr::Like { expr, pattern } => {
            expr_reads(expr, out);
            expr_reads(pattern, out);
        }
        Expr::In { expr, list } => {
            expr_reads(expr, out);
            list.iter().for_each(|a| expr_reads(a, out));
        }
    }
}

/// The columns a filter reads (None: possibly all of them).
fn reads(filter: &Command) -> Option<BTreeSet<String>> {
    fn search(e: &SearchExpr, out: &mut BTreeSet<String>) -> Option<()> {
        match e {
            SearchExpr::And(v) | SearchExpr::Or(v) => v.iter().try_for_each(|x| search(x, out)),
            SearchExpr::Not(x) => search(x, out),
            SearchExpr::Cmp { field, .. } | SearchExpr::In { field, .. } => {
                out.insert(field.clone());
                Some(())
            }
            SearchExpr::Term { .. } | SearchExpr::Subsearch(_) => None,
        }
    }
    let mut out = BTreeSet::new();
    match filter {
        Command::Regex { field: Some(f), .. } => {
            out.insert(f.clone());
        }
        Command::Where(e) => expr_reads(e, &mut out),
        Command::Search(e) => search(e, &mut out)?,
        Command::Join(j) => out.extend(j.fields.iter().cloned()),
        _ => return None,
    }
    Some(out)
}

/// One segment's evaluator of a pushed filter.
struct Check {
    /// One row: every tstats column null but `by`.
    template: Table,
    by: usize,
    transforms: Arc<Vec<Command>>,
    /// The leading renames, `table`s and `fields` of the transforms only
    /// move columns: the template after them, once, and the cells where
    /// the value lands. Per value, only the rest (`eval`, `convert`) runs;
    /// with no rest, the filter reads the moved template itself.
    moved: Option<(Table, Vec<usize>)>,
    /// How many transforms lead: the moves.
    lead: usize,
    /// The row the rest runs on, reused from one value to the next.
    work: Table,
    test: Test,
}

enum Test {
    Regex {
        field: String,
        negate: bool,
        pattern: Option<std::sync::Arc<Pattern>>,
    },
    Where(Expr, Evaluator),
    Search(SearchMatcher),
    /// A semi-join ([`semi_join`]): the field's cell is one of these.
    Within {
        field: String,
        cells: Arc<HashSet<Cell>>,
    },
    /// Not a filter: keeps everything.
    Keep,
}

impl Check {
    /// `within`: a semi-join's values ([`within_set`]), made once per search.
    fn new(
        base: &[String],
        by: usize,
        transforms: Arc<Vec<Command>>,
        filter: &Command,
        within: Option<Arc<HashSet<Cell>>>,
    ) -> Self {
        let template = Table {
            columns: base.to_vec(),
            rows: vec![vec![Cell::null(); base.len()]],
        };
        let test = match filter {
            Command::Regex {
                field,
                negate,
                pattern,
            } => Test::Regex {
                field: field.clone().unwrap_or_default(),
                negate: *negate,
                pattern: crate::pattern::compiled(pattern).ok(),
            },
            Command::Where(e) => Test::Where(e.clone(), Evaluator::new()),
            Command::Search(e) => Test::Search(SearchMatcher::new(e)),
            Command::Join(j) => match (within, &j.fields[..]) {
                (Some(cells), [field]) => Test::Within {
                    field: field.clone(),
                    cells,
                },
                _ => Test::Keep,
            },
            _ => Test::Keep,
        };
        let lead = transforms
            .iter()
            .take_while(|c| {
                matches!(
                    c,
                    Command::Rename(_) | Command::Table(_) | Command::Fields { .. }
                )
            })
            .count();
        let moved = {
            let mut t = marked(base, by);
            let ok = transforms[..lead]
                .iter()
                .all(|c| commands::apply(&mut t, c).is_ok());
            ok.then(|| {
                let at: Vec<usize> = t.rows[0]
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.first() == Some(marker(by).as_str()))
                    .map(|(i, _)| i)
                    .collect();
                for &i in &at {
                    t.rows[0][i] = Cell::null();
                }
                (t, at)
            })
        };
        Check {
            work: Table::default(),
            template,
            by,
            transforms,
            moved,
            lead,
            test,
        }
    }

    fn keep(&mut self, value: &str) -> bool {
        let replayed;
        let rest = &self.transforms[self.lead..];
        let table = match &mut self.moved {
            Some((t, at)) if rest.is_empty() => {
                for &i in at.iter() {
                    t.rows[0][i] = Cell::one(value);
                }
                &*t
            }
            Some((t, at)) => {
                let work = &mut self.work;
                work.columns.clone_from(&t.columns);
                work.rows.clone_from(&t.rows);
                for &i in at.iter() {
                    work.rows[0][i] = Cell::one(value);
                }
                if rest.iter().any(|c| commands::apply(work, c).is_err()) {
                    return true;
                }
                &*work
            }
            None => {
                let mut t = self.template.clone();
                t.rows[0][self.by] = Cell::one(value);
                if self
                    .transforms
                    .iter()
                    .any(|c| commands::apply(&mut t, c).is_err())
                {
                    return true;
                }
                replayed = t;
                &replayed
            }
        };
        match &mut self.test {
            Test::Regex {
                field,
                negate,
                pattern,
            } => {
                let Some(p) = pattern else { return true };
                let values = table
                    .column_index(field)
                    .and_then(|i| table.rows.first()?.get(i))
                    .map(|c| c.0.as_slice())
                    .unwrap_or(&[]);
                let mut hit = false;
                for v in values {
                    match p.is_match(v) {
                        Ok(true) => {
                            hit = true;
                            break;
                        }
                        Ok(false) => {}
                        Err(_) => return true,
                    }
                }
                hit != *negate
            }
            Test::Where(e, ev) => ev.eval_bool(e, table, 0).unwrap_or(true),
            Test::Search(m) => m.matches(table, 0),
            Test::Within { field, cells } => table
                .column_index(field)
                .and_then(|i| table.rows.first()?.get(i))
                .is_some_and(|c| cells.contains(c)),
            Test::Keep => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{key_filters, relevant};
    use crate::collect::GroupBy;
    use crate::spl::ast::Command;
    use crate::spl::{parse_query, MacroSet};

    /// How many filters of `post` (after a tstats by process and
    /// process_name) are pushed.
    fn pushed(post: &str) -> usize {
        let q = parse_query(
            &format!(
                "| tstats count from datamodel=Endpoint.Processes \
                 by Processes.process Processes.process_name | rename Processes.* as * {post}"
            ),
            &MacroSet::default(),
        )
        .unwrap();
        let ts = &q.pipeline.tstats;
        let group_by = GroupBy::new(&ts.by, &ts.aggs, ts.fillnull_value());
        key_filters(&group_by, &q.pipeline.commands).len()
    }

    #[test]
    fn no_filter_is_pushed_past_one_that_may_fail() {
        // (commands before a where on process_name, filters pushed in all)
        let cases = [
            // `OR`, `NOT` on a value that may not be boolean fail on it.
            (r#"| where process="a" OR process"#, 1),
            ("| where NOT process", 1),
            ("| search process=*a*", 2),
            // A regex that may fail as it runs (a back-reference), and
            // patterns made as they run.
            (r#"| regex process="(\w+)\s+\1""#, 1),
            ("| where match(process, process)", 1),
            ("| where like(process, process)", 1),
            // Tests that cannot fail leave later filters pushed.
            (r#"| where NOT like(process, "%a%")"#, 2),
            (r#"| where match(process, "(?i)a") OR isnull(process)"#, 2),
            (r#"| regex process="a\d+" | search process_name=cmd*"#, 3),
            // An eval that may fail is replayed on the filter's by-field
            // alone: it must read nothing else.
            (r#"| eval b=if(len(process) > 9, "a" AND true, 0)"#, 0),
            (r#"| eval b=if(count > 9, "a" AND true, 0)"#, 0),
            (r#"| eval b=if(len(process_name) > 9, "a" AND true, 0)"#, 1),
            // A part of a where that may fail keeps the parts together.
            (
                r#"| where match(process, "(" + process) AND process_name="a""#,
                0,
            ),
            (r#"| where match(process, "a") AND process_name="a""#, 3),
        ];
        for (before, want) in cases {
            let post = format!(r#"{before} | where process_name="cmd.exe""#);
            assert_eq!(pushed(&post), want, "{post}");
        }
    }

    fn commands(spl: &str) -> Vec<crate::spl::ast::Command> {
        parse_query(spl, &MacroSet::default())
            .unwrap()
            .pipeline
            .commands
    }

    /// The transforms `relevant` keeps before the last command of `spl`,
    /// and all the transforms.
    fn kept(spl: &str) -> (Vec<Command>, Vec<Command>) {
        let cmds = commands(spl);
        let (filter, transforms) = cmds.split_last().unwrap();
        (relevant(transforms, filter), transforms.to_vec())
    }

    #[test]
    fn commands_that_set_other_columns_are_not_replayed() {
        let (kept_, all) = kept(
            "| tstats min(_time) as firstTime from datamodel=Endpoint.Processes by Processes.process \
             | rename Processes.* as * | convert ctime(firstTime) | eval n=len(process) \
             | where match(process, \"enc\")",
        );
        assert_eq!(kept_, all[..1].to_vec());
        // A command that sets what the filter reads stays, with all before it.
        let (kept_, all) = kept(
            "| tstats count from datamodel=Endpoint.Processes by Processes.process \
             | eval process=lower(process) | convert ctime(firstTime) | where like(process, \"%enc%\")",
        );
        assert_eq!(kept_, all[..1].to_vec());
        // A glob may set any column.
        let (kept_, all) = kept(
            "| tstats count from datamodel=Endpoint.Processes by Processes.process \
             | convert ctime(*) | search process=*enc*",
        );
        assert_eq!(kept_, all);
        // A rename that leaves what the filter reads alone is not replayed;
        // one that names it is.
        let (kept_, all) = kept(
            "| tstats count from datamodel=Endpoint.Processes by Processes.process_guid Processes.dest \
             | rename Processes.* as * | eval join_guid=process_guid \
             | rename user as src_user, process* as parent_process* \
             | join dest join_guid [| tstats count from datamodel=Endpoint.Processes by Processes.dest]",
        );
        assert_eq!(kept_, all[..2].to_vec());
        let (kept_, all) = kept(
            "| tstats count from datamodel=Endpoint.Processes by Processes.process_guid \
             | rename Processes.* as * | eval join_guid=process_guid | rename join* as j* \
             | join j_guid [| tstats count from datamodel=Endpoint.Processes by Processes.dest]",
        );
        assert_eq!(kept_, all);
    }

    #[test]
    fn commands_are_followed_back_through_renames() {
        // ESCU's order: the times converted, then the names dropped.
        let (kept_, all) = kept(
            "| tstats min(_time) as firstTime from datamodel=Endpoint.Processes by Processes.process \
             | convert ctime(firstTime) | rename Processes.* as * | regex process=\"x\"",
        );
        assert_eq!(kept_, vec![all[1].clone()]);
        // What a kept command reads is followed too, and a rename with a
        // suffix names its source (`x` for `x_r`).
        let (kept_, all) = kept(
            "| tstats count from datamodel=Endpoint.Processes by Processes.process \
             | eval x=len(Processes.process) | eval y=1 | rename * as *_r | where x_r > 5",
        );
        assert_eq!(kept_, vec![all[0].clone(), all[2].clone()]);
        let (kept_, all) = kept(
            "| tstats count from datamodel=Endpoint.Processes by Processes.process \
             | eval y=Processes.process | eval z=y | rename z as p | table p count | where len(p) > 5",
        );
        assert_eq!(kept_, all);
        // A rename whose source cannot be told keeps all before it: a
        // different number of `*`, or several in the new name (`my_proc_len`
        // is `my_proc.len` renamed, not `my.proc_len`).
        let (kept_, all) = kept(
            "| tstats count from datamodel=Endpoint.Processes by Processes.process \
             | eval y=1 | rename Processes.* as p | regex p=\"a\"",
        );
        assert_eq!(kept_, all);
        let (kept_, all) = kept(
            "| tstats count from datamodel=Endpoint.Processes by Processes.process \
             | eval my_proc.len=len(Processes.process) | rename *.* as *_* | where my_proc_len > 5",
        );
        assert_eq!(kept_, all);
        // An eval that may fail on some values stays, with what it reads.
        let (kept_, all) = kept(
            "| tstats count from datamodel=Endpoint.Processes by Processes.process \
             | eval bad=if(len(Processes.process) > 40, \"a\" AND true, 0) \
             | convert ctime(firstTime) | rename Processes.* as * | regex process=\"^cmd\"",
        );
        assert_eq!(kept_, vec![all[0].clone(), all[2].clone()]);
    }
}
