//! `stats` and `eventstats` after tstats as SQL, as [`crate::commands::stats`]
//! makes them, for single-valued by-fields and the aggregates every engine
//! gives alike: `count`, `count(f)`, `dc(f)` and `values(f)` of single
//! values, `min`/`max` of whole numbers (times, counts), and `sum`,
//! `avg`, `stdev`, `stdevp`, `var`, `varp` of whole numbers (exact; other
//! numbers stop the statement with an error).
//!
//! - `stats` groups the rows whose by-fields all have a value and orders
//!   the groups as evidx does (numbers first, numerically, then texts in
//!   byte order; ties by bytes); with no by-field it gives one row even
//!   for no input.
//! - `eventstats` gives each row its group's values (a left join on the
//!   by-fields), null for a row with a null by-field.
//!
//! Refused: a multi-valued by-field (a row in several groups), an
//! aggregate of multi-values, `min`/`max` of texts (Splunk's mixed order
//! with ties kept by row), and the other aggregates.

use super::{put_column, refuse, Col, Compiler, Kind, Result};
use crate::spl::ast::{Span, Stats, StatsFunc, StatsKind};

pub fn compile(c: &mut Compiler, cmd: &Stats, span: &Span) -> Result<()> {
    let d = c.d;
    if cmd.kind == StatsKind::Streamstats {
        return refuse("streamstats is not compiled to SQL", span);
    }
    // The by-fields: a missing one is null in every row (no group).
    let mut keys: Vec<(String, Col)> = Vec::new();
    let mut missing = false;
    for b in &cmd.by {
        let col = match c.col(b) {
            Some(col) if col.kind == Kind::Multi => {
                return refuse(
                    format!(
                    "{b} is multi-valued: a row would be in several groups; not compiled to SQL"
                ),
                    span,
                )
            }
            Some(col) => col.clone(),
            None => {
                missing = true;
                Col {
                    name: b.clone(),
                    sql: d.null_text(),
                    kind: Kind::Text,
                }
            }
        };
        keys.push((col.sql.clone(), col));
    }
    let mut aggs: Vec<(String, String, Kind)> = Vec::new();
    for a in &cmd.aggs {
        let input = a.field.as_deref().map(|f| c.col(f).cloned());
        let (expr, kind) = match (a.func, input) {
            (StatsFunc::Count, None) => ("count(*)".to_string(), Kind::Int),
            (StatsFunc::Count | StatsFunc::Dc, Some(None)) => ("CAST(0 AS BIGINT)".into(), Kind::Int),
            (StatsFunc::Values, Some(None)) => (d.null_text(), Kind::Text),
            (_, Some(Some(col))) if col.kind == Kind::Multi => {
                return refuse(
                    format!("{}: an aggregate of a multi-valued field is not compiled to SQL", a.column),
                    span,
                )
            }
            (StatsFunc::Count, Some(Some(col))) => (format!("count({})", col.sql), Kind::Int),
            (StatsFunc::Dc, Some(Some(col))) => {
                (format!("count(DISTINCT {})", col.sql), Kind::Int)
            }
            (StatsFunc::Values, Some(Some(col))) => (d.values_agg(&c.text(&col)), Kind::Multi),
            (StatsFunc::Min | StatsFunc::Max, Some(Some(col))) if col.kind == Kind::Int => {
                let f = if a.func == StatsFunc::Min { "min" } else { "max" };
                (format!("{f}({})", col.sql), Kind::Int)
            }
            (
                StatsFunc::Sum
                | StatsFunc::Avg
                | StatsFunc::Stdev
                | StatsFunc::Stdevp
                | StatsFunc::Var
                | StatsFunc::Varp,
                Some(input),
            ) => match input {
                // No such field: no numbers.
                None => (d.null_text(), Kind::Text),
                Some(col) => (
                    numeric(d, a.func, &c.first_num(&col.sql, col.kind), &a.column),
                    Kind::Float,
                ),
            },
            (StatsFunc::Min | StatsFunc::Max, _) => {
                return refuse(
                    format!("{}: min/max of texts (numbers before texts, ties by row) is compiled to SQL for whole numbers only", a.column),
                    span,
                )
            }
            _ => {
                return refuse(
                    format!("{}: this aggregate is not compiled to SQL (count, dc, values, sum, avg, stdev, var, and min/max of whole numbers are)", a.column),
                    span,
                )
            }
        };
        aggs.push((a.column.clone(), expr, kind));
    }
    let present: Vec<String> = keys
        .iter()
        .map(|(k, _)| format!("{k} IS NOT NULL"))
        .collect();
    let from = c.current();
    match cmd.kind {
        StatsKind::Stats => {
            // Out: the by-fields, then each aggregate (one named like an
            // earlier column takes its place at the end).
            let mut cols: Vec<(String, Col)> = Vec::new();
            for (k, col) in &keys {
                let sql = c.fresh();
                cols.push((k.clone(), Col { sql, ..col.clone() }));
            }
            for (name, expr, kind) in &aggs {
                cols.retain(|(_, col)| col.name != *name);
                let sql = c.fresh();
                cols.push((
                    expr.clone(),
                    Col {
                        name: name.clone(),
                        sql,
                        kind: *kind,
                    },
                ));
            }
            let order: Vec<String> = keys
                .iter()
                .flat_map(|(k, col)| match col.kind {
                    Kind::Int | Kind::Float => vec![k.clone()],
                    _ => {
                        let num = d.parse_num(k);
                        vec![
                            format!("(CASE WHEN {num} IS NULL THEN 1 ELSE 0 END)"),
                            num,
                            k.clone(),
                        ]
                    }
                })
                .collect();
            if keys.is_empty() {
                c.stage_from(cols, &from, "1");
            } else {
                let group: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
                let body = format!(
                    "{from} WHERE {} GROUP BY {}",
                    present.join(" AND "),
                    group.join(", ")
                );
                let ord = format!("row_number() OVER (ORDER BY {})", order.join(", "));
                c.stage_from(cols, &body, &ord);
            }
        }
        StatsKind::Eventstats | StatsKind::Streamstats => {
            // The groups, then every row joined to its own.
            let mut group_list: Vec<String> = Vec::new();
            for (i, (k, _)) in keys.iter().enumerate() {
                group_list.push(format!("{k} AS gk{i}"));
            }
            for (j, (_, expr, _)) in aggs.iter().enumerate() {
                group_list.push(format!("{expr} AS ga{j}"));
            }
            let group_body = match keys.is_empty() {
                true => format!("SELECT {} FROM {from}", group_list.join(", ")),
                false => {
                    let group: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
                    format!(
                        "SELECT {} FROM {from} WHERE {} GROUP BY {}",
                        group_list.join(", "),
                        present.join(" AND "),
                        group.join(", ")
                    )
                }
            };
            c.push_cte(group_body);
            let groups = c.current();
            let mut cols: Vec<(String, Col)> = c
                .cols
                .iter()
                .map(|col| (format!("r.{}", col.sql), col.clone()))
                .collect();
            for (j, (name, _, kind)) in aggs.iter().enumerate() {
                let sql = c.fresh();
                let new = Col {
                    name: name.clone(),
                    sql,
                    kind: *kind,
                };
                put_column(&mut cols, format!("g.ga{j}"), new);
            }
            let on: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(i, (k, _))| format!("r.{k} = g.gk{i}"))
                .collect();
            let join = match (on.is_empty(), missing) {
                (true, _) => format!("CROSS JOIN {groups} AS g"),
                // No row has a group.
                (false, true) => format!("LEFT JOIN {groups} AS g ON FALSE"),
                (false, false) => format!("LEFT JOIN {groups} AS g ON {}", on.join(" AND ")),
            };
            c.stage_from(cols, &format!("{from} AS r {join}"), "r.ord");
        }
    }
    Ok(())
}

/// `sum`, `avg`, `stdev`, `stdevp`, `var`, `varp` of `num` (each row's
/// value as a DOUBLE, NULL when not a number) as a DOUBLE, bit for bit
/// evidx's (`commands::stats::acc`): over whole numbers under 2^31 the
/// sums are exact DECIMALs, and each side of the last division is rounded
/// once (from its decimal text, which both engines read correctly
/// rounded). Other numbers would need evidx's exact float sums: the
/// statement stops with an error rather than give another answer.
fn numeric(d: super::Dialect, func: StatsFunc, num: &str, column: &str) -> String {
    let dec = format!("CAST({num} AS DECIMAL(38,0))");
    let double = |x: &str| format!("CAST(CAST({x} AS {}) AS DOUBLE)", d.text_type());
    let (n, sum) = (format!("count({num})"), format!("sum({dec})"));
    let value = match func {
        StatsFunc::Sum => double(&sum),
        StatsFunc::Avg => format!("{} / CAST({n} AS DOUBLE)", double(&sum)),
        _ => {
            let sample = matches!(func, StatsFunc::Stdev | StatsFunc::Var);
            let denom = match sample {
                true => format!("({n} - 1)"),
                false => n.clone(),
            };
            let spread = format!(
                "{} / {}",
                double(&format!(
                    "CAST({n} AS DECIMAL(38,0)) * sum({dec} * {dec}) - {sum} * {sum}"
                )),
                double(&format!("CAST({n} AS DECIMAL(38,0)) * {denom}"))
            );
            let spread = match func {
                StatsFunc::Stdev | StatsFunc::Stdevp => format!("sqrt({spread})"),
                _ => spread,
            };
            // A single value has no spread (Splunk's 0).
            format!("(CASE WHEN {denom} = 0 THEN CAST(0 AS DOUBLE) ELSE {spread} END)")
        }
    };
    let whole = format!("bool_and({num} = floor({num}) AND abs({num}) < 2147483648.0)");
    format!(
        "(CASE WHEN {n} = 0 THEN CAST(NULL AS DOUBLE) WHEN {whole} THEN {value} ELSE {} END)",
        d.raise_error(&format!(
            "evidx: {column}: this aggregate of numbers other than whole numbers under 2^31 is not exact in SQL; run it with evidx-query"
        ))
    )
}
