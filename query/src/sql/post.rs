//! The commands after tstats, each one stage of the statement. Column
//! bookkeeping (`rename` with wildcards, `table`, `fields`) is done by
//! running evidx's own command on a one-row probe table whose cells name
//! the columns, so the names and order come out exactly as evidx's.

use super::eval::value;
use super::eval::{boolean, regex_command};
use super::search::rows;
use super::{put_column, refuse, Col, Compiler, Kind, Result};
use crate::spl::ast::{Command, Span};
use crate::table::{Cell, Table};

pub fn compile(c: &mut Compiler, cmd: &Command, span: &Span) -> Result<()> {
    match cmd {
        Command::Rename(_) | Command::Table(_) | Command::Fields { .. } => reshape(c, cmd, span),
        Command::Convert {
            timeformat,
            conversions,
        } => {
            let Some(format) = c.d.time_format(timeformat) else {
                return refuse(
                    format!("convert: the time format {timeformat:?} uses a directive that is not compiled to SQL (%Y %m %d %H %M %S are)"),
                    span,
                );
            };
            for conv in conversions {
                if conv.func != "ctime" {
                    return refuse(
                        format!("convert {}() is not compiled to SQL", conv.func),
                        span,
                    );
                }
                let Some(src) = c.col(&conv.field).cloned() else {
                    continue;
                };
                let expr = ctime(c, &src, &format);
                let target = conv.alias.as_deref().unwrap_or(&conv.field);
                let kind = match src.kind {
                    Kind::Multi => Kind::Multi,
                    _ => Kind::Text,
                };
                set_column(c, target, expr, kind);
            }
            Ok(())
        }
        Command::Where(_) | Command::Search(_) | Command::Regex { .. } => {
            let keep = match cmd {
                Command::Where(e) => boolean(c, e, span)?,
                Command::Search(e) => {
                    super::subsearch::compile_filters(c, e)?;
                    rows(c, e)?
                }
                Command::Regex {
                    field,
                    negate,
                    pattern,
                } => regex_command(c, field.as_deref(), *negate, pattern, span)?,
                _ => unreachable!("matched above"),
            };
            c.filter(keep);
            Ok(())
        }
        Command::Head(n) => {
            let cols = c.passed();
            let list: Vec<String> = cols.iter().map(|(e, _)| e.clone()).collect();
            let mut list = list;
            list.push("ord".into());
            let body = format!(
                "SELECT {} FROM (SELECT *, row_number() OVER (ORDER BY ord) AS head_n FROM {}) AS h WHERE head_n <= {n}",
                list.join(", "),
                c.current()
            );
            c.push_cte(body);
            Ok(())
        }
        Command::Fillnull { value, fields } => {
            let targets: Vec<String> = match fields.is_empty() {
                true => c.cols.iter().map(|col| col.name.clone()).collect(),
                false => fields.clone(),
            };
            for name in targets {
                let (expr, kind) = match c.col(&name).cloned() {
                    None => (c.d.lit(value), Kind::Text),
                    Some(col) => match col.kind {
                        Kind::Text => (
                            format!("coalesce({}, {})", col.sql, c.d.lit(value)),
                            Kind::Text,
                        ),
                        Kind::Int | Kind::Float => (
                            format!("coalesce({}, {})", c.text(&col), c.d.lit(value)),
                            Kind::Text,
                        ),
                        Kind::Multi => (
                            format!(
                                "(CASE WHEN {} THEN {} ELSE {} END)",
                                c.is_null(&col),
                                c.d.list_of_one(&c.d.lit(value)),
                                col.sql
                            ),
                            Kind::Multi,
                        ),
                    },
                };
                set_column(c, &name, expr, kind);
            }
            Ok(())
        }
        Command::Eval(assigns) => {
            // Each assignment sees the ones before it.
            for (name, expr) in assigns {
                let (sql, kind) = value(c, expr, span)?;
                set_column(c, name, sql, kind);
            }
            Ok(())
        }
        Command::Sort { limit, keys } => {
            sort(c, *limit, keys);
            Ok(())
        }
        Command::Lookup(l) => super::lookup::compile(c, l),
        Command::Rex(r) => rex(c, r),
        Command::Transaction(t) => super::transaction::compile(c, t),
        Command::Stats(st) => super::stats::compile(c, st, span),
        Command::Makemv { .. } => refuse("makemv is not compiled to SQL", span),
        Command::Mvexpand { .. } => refuse("mvexpand is not compiled to SQL", span),
        Command::Dedup {
            count,
            fields,
            keep_empty,
            consecutive,
            sort,
        } => dedup(
            c,
            fields,
            *count,
            *keep_empty,
            *consecutive || !sort.is_empty(),
            span,
        ),
        Command::Join(j) => super::subsearch::join(c, j, span),
    }
}

/// Run a column-shaping command on a probe table (one row; each cell the
/// index of its column) and rebuild the stage from where the cells went.
fn reshape(c: &mut Compiler, cmd: &Command, span: &Span) -> Result<()> {
    let mut probe = Table {
        columns: c.cols.iter().map(|col| col.name.clone()).collect(),
        rows: vec![(0..c.cols.len())
            .map(|i| Cell::one(i.to_string()))
            .collect()],
    };
    if let Err(e) = crate::commands::apply(&mut probe, cmd) {
        return refuse(e.to_string(), span);
    }
    let row = probe.rows.first().cloned().unwrap_or_default();
    let mut cols = Vec::new();
    for (name, cell) in probe.columns.iter().zip(row) {
        match cell.first().and_then(|i| i.parse::<usize>().ok()) {
            Some(i) => {
                let Some(old) = c.cols.get(i) else {
                    return refuse("internal error: a column went missing", span);
                };
                let col = Col {
                    name: name.clone(),
                    ..old.clone()
                };
                cols.push((col.sql.clone(), col));
            }
            // A column `table` names that does not exist: empty.
            None => {
                let sql = c.fresh();
                cols.push((
                    c.d.null_text(),
                    Col {
                        name: name.clone(),
                        sql,
                        kind: Kind::Text,
                    },
                ));
            }
        }
    }
    if cols.is_empty() {
        return refuse("no columns would be left; not compiled to SQL", span);
    }
    c.stage(cols, None);
    Ok(())
}

/// Replace the column `name` (in place) or append it, computed by `expr`.
fn set_column(c: &mut Compiler, name: &str, expr: String, kind: Kind) {
    let sql = c.fresh();
    let new = Col {
        name: name.to_string(),
        sql,
        kind,
    };
    let mut cols = c.passed();
    put_column(&mut cols, expr, new);
    c.stage(cols, None);
}

/// `ctime` of each value: epoch seconds (any number, rounded down) as UTC
/// text; a value that is not a number, or out of range, stays as it is.
fn ctime(c: &Compiler, col: &Col, format: &str) -> String {
    let d = c.d;
    let one = |text: &str, num: &str| {
        let secs = format!("floor({num})");
        format!(
            "(CASE WHEN {num} IS NOT NULL AND {secs} BETWEEN -1e13 AND 1e13 THEN {} ELSE {text} END)",
            d.format_time(&secs, format)
        )
    };
    match col.kind {
        Kind::Int => format!(
            "(CASE WHEN {x} BETWEEN -10000000000000 AND 10000000000000 THEN {} ELSE {} END)",
            d.format_time(&col.sql, format),
            d.int_text(&col.sql),
            x = col.sql
        ),
        Kind::Text => one(&col.sql, &d.parse_num(&col.sql)),
        Kind::Float => one(&d.num_text(&col.sql), &col.sql),
        Kind::Multi => d.list_map(&col.sql, &one("v", &d.parse_num("v"))),
    }
}

/// `rex field=F "(?<name>...)"`: each named group's text of the first
/// match becomes its field; a row where the regex does not match keeps the
/// fields as they were (see `commands::rex`). Compiled for one match of a
/// single-valued field, with every named group sure to take part.
fn rex(c: &mut Compiler, r: &crate::spl::ast::Rex) -> Result<()> {
    let span = &r.span;
    if r.sed {
        return refuse("rex mode=sed is not compiled to SQL", span);
    }
    if r.max_match != 1 {
        return refuse(
            "rex with max_match other than 1 (a multi-value per row) is not compiled to SQL",
            span,
        );
    }
    let Some(src) = c.col(&r.field).cloned() else {
        // No such field: rex changes nothing.
        return Ok(());
    };
    if src.kind == Kind::Multi {
        return refuse(
            format!("rex over the multi-valued {}: not compiled to SQL", r.field),
            span,
        );
    }
    let (re, groups) =
        super::regex::translate_capturing(&r.pattern, c.d).map_err(|m| super::Refusal {
            message: format!("rex {:?}: {m}", r.pattern),
            span: span.clone(),
        })?;
    let x = c.text(&src);
    let matched = format!("({x} IS NOT NULL AND {})", c.d.regex_match(&x, &re));
    // One stage: every group reads the row as it was (the source field
    // may be one of them).
    let mut cols = c.passed();
    for (i, g) in groups.iter().enumerate() {
        let Some(name) = &g.name else { continue };
        if !g.certain {
            return refuse(
                format!("rex: the group `{name}` may take no part in a match (optional, repeated or in an alternative); not compiled to SQL"),
                span,
            );
        }
        let old = match c.col(name) {
            None => c.d.null_text(),
            Some(col) if col.kind == Kind::Text => col.sql.clone(),
            Some(_) => {
                return refuse(
                    format!(
                    "rex: `{name}` already holds numbers or several values; not compiled to SQL"
                ),
                    span,
                )
            }
        };
        let expr = format!(
            "(CASE WHEN {matched} THEN {} ELSE {old} END)",
            c.d.regex_extract(&x, &re, i + 1)
        );
        let new = Col {
            name: name.clone(),
            sql: c.fresh(),
            kind: Kind::Text,
        };
        put_column(&mut cols, expr, new);
    }
    c.stage(cols, None);
    Ok(())
}

/// `dedup FIELDS`: the first `count` rows (in order) of each combination
/// of the fields' values; a row missing one is dropped, or kept with
/// `keepempty=true` (see `commands::reshape::Dedup`).
fn dedup(
    c: &mut Compiler,
    fields: &[String],
    count: usize,
    keep_empty: bool,
    unsupported: bool,
    span: &Span,
) -> Result<()> {
    if unsupported {
        return refuse(
            "dedup with consecutive=true or sortby is not compiled to SQL",
            span,
        );
    }
    let mut keys = Vec::new();
    for f in fields {
        match c.col(f) {
            Some(col) if col.kind == Kind::Multi => {
                return refuse(
                    format!("dedup on the multi-valued {f}: not compiled to SQL"),
                    span,
                )
            }
            Some(col) => keys.push(col.sql.clone()),
            // A missing field: every row misses it.
            None => keys.push(c.d.null_text()),
        }
    }
    let present: Vec<String> = keys.iter().map(|k| format!("{k} IS NOT NULL")).collect();
    let present = present.join(" AND ");
    let keep = format!(
        "({present} AND dedup_n <= {}){}",
        count.max(1),
        if keep_empty {
            format!(" OR NOT ({present})")
        } else {
            String::new()
        }
    );
    let cols = c.passed();
    let mut list: Vec<String> = cols.iter().map(|(e, _)| e.clone()).collect();
    list.push("ord".into());
    let body = format!(
        "SELECT {} FROM (SELECT *, row_number() OVER (PARTITION BY {} ORDER BY ord) AS dedup_n FROM {}) AS d WHERE {keep}",
        list.join(", "),
        keys.join(", "),
        c.current()
    );
    c.push_cte(body);
    Ok(())
}

/// `sort [N] [-]FIELD ...` as [`crate::commands::sort`] orders rows: by
/// each field's first value, nulls first, then numbers by value, then
/// texts in byte order (`str(f)`: all as texts); `-` reverses the whole
/// order of its field; ties keep their order. At most N rows (10,000
/// without N, all with 0).
fn sort(c: &mut Compiler, limit: Option<usize>, keys: &[crate::spl::ast::SortKey]) {
    let mut order = Vec::new();
    for k in keys {
        let dir = if k.descending { " DESC" } else { "" };
        let Some(col) = c.col(&k.field) else {
            // No such field: every row ties.
            continue;
        };
        let (text, num) = (
            c.first_text(&col.sql, col.kind),
            c.first_num(&col.sql, col.kind),
        );
        if k.kind.as_deref() == Some("str") {
            order.push(format!("(CASE WHEN {text} IS NULL THEN 0 ELSE 1 END){dir}"));
            order.push(format!("{text}{dir}"));
            continue;
        }
        order.push(format!(
            "(CASE WHEN {text} IS NULL THEN 0 WHEN {num} IS NOT NULL THEN 1 ELSE 2 END){dir}"
        ));
        order.push(format!("{num}{dir}"));
        order.push(format!("(CASE WHEN {num} IS NULL THEN {text} END){dir}"));
    }
    order.push("ord".into());
    let limit = match limit {
        Some(0) => None,
        Some(n) => Some(n),
        None => Some(crate::commands::sort::SORT_DEFAULT_LIMIT),
    };
    let cols = c.passed();
    let mut list: Vec<String> = cols.iter().map(|(e, _)| e.clone()).collect();
    list.push("sort_n AS ord".into());
    let keep = limit.map_or(String::new(), |n| format!(" WHERE sort_n <= {n}"));
    let body = format!(
        "SELECT {} FROM (SELECT *, row_number() OVER (ORDER BY {}) AS sort_n FROM {}) AS o{keep}",
        list.join(", "),
        order.join(", "),
        c.current()
    );
    c.push_cte(body);
}
