//! `lookup` as SQL, as [`crate::commands::lookup`] does it: the lookup's
//! rows are written into the statement (a `VALUES` table with each row's
//! place in the file), joined to the result rows on the input fields, and
//! each output field gets the matching rows' values in file order (at
//! most `max_matches` rows, empty values left out), padded with
//! `default_match` up to `min_matches`.
//!
//! - A row whose input field is null is not looked up: its fields stay.
//! - OUTPUT writes every output field; OUTPUTNEW only those the row lacks.
//! - Exact matching is case-insensitive unless the lookup says otherwise
//!   (`lower()` of both sides); WILDCARD values become LIKE patterns
//!   (`*` any text; `%`, `_` and `\` literal).
//!
//! Refused: CIDR matching, a multi-valued input field, a lookup without
//! rows (an ES or KV-store lookup), a lookup whose table was not loaded.

use super::{put_column, refuse, Col, Compiler, Dialect, Kind, Result};
use crate::lookups::{LookupTable, MatchType};
use crate::spl::ast::Lookup;

pub fn compile(c: &mut Compiler, l: &Lookup) -> Result<()> {
    let d = c.d;
    let span = &l.span;
    let Some(table) = l.table.as_deref() else {
        return refuse(
            format!(
                "lookup `{}`: the lookup is needed to compile it (give --lookups DIR, or --macros with a lookups folder beside it)",
                l.name
            ),
            span,
        );
    };
    if table.rows.is_empty() {
        return refuse(
            format!(
                "lookup `{}` has no rows here (an ES or KV-store lookup); not compiled to SQL",
                l.name
            ),
            span,
        );
    }
    // Inputs: (lookup column, the row's value as text, of the rows named
    // `r`; None: no such field).
    let mut inputs: Vec<(usize, Option<String>)> = Vec::new();
    for (lf, ef) in &l.inputs {
        let Some(lc) = table.column_index(lf) else {
            return refuse(format!("lookup `{}` has no field `{lf}`", l.name), span);
        };
        if table.match_type(lc) == MatchType::Cidr {
            return refuse(
                format!(
                    "lookup `{}`: CIDR matching of `{lf}` is not compiled to SQL",
                    l.name
                ),
                span,
            );
        }
        let value = match c.col(ef) {
            None => None,
            Some(col) if col.kind == Kind::Multi => {
                return refuse(
                    format!("lookup on the multi-valued {ef}: not compiled to SQL"),
                    span,
                )
            }
            Some(col) => Some(c.text(&col.at("r"))),
        };
        inputs.push((lc, value));
    }
    // Outputs: (lookup column, row field).
    let outputs: Vec<(usize, String)> = if l.outputs.is_empty() {
        (0..table.columns.len())
            .filter(|lc| !inputs.iter().any(|(i, _)| i == lc))
            .map(|lc| (lc, table.columns[lc].clone()))
            .collect()
    } else {
        let mut v = Vec::new();
        for (lf, ef) in &l.outputs {
            let Some(lc) = table.column_index(lf) else {
                return refuse(format!("lookup `{}` has no field `{lf}`", l.name), span);
            };
            v.push((lc, ef.clone()));
        }
        v
    };
    let rows = c.current();
    let values = values_table(c, table);
    let ci = !table.case_sensitive;
    let on: Vec<String> = inputs
        .iter()
        .map(|(lc, value)| {
            let Some(x) = value else {
                return "FALSE".to_string();
            };
            match table.match_type(*lc) {
                MatchType::Wildcard => {
                    let (x, p) = match ci {
                        true => (d.lower(x), d.lower(&format!("l.p{lc}"))),
                        false => (x.clone(), format!("l.p{lc}")),
                    };
                    d.like_expr(&x, &p)
                }
                _ => match ci {
                    true => format!("{} = {}", d.lower(&format!("l.v{lc}")), d.lower(x)),
                    false => format!("l.v{lc} = {x}"),
                },
            }
        })
        .collect();
    let max = table.max_matches.min(i64::MAX as usize);
    // The matching lookup rows of each result row, first `max` in file order.
    let outs: Vec<String> = outputs
        .iter()
        .map(|(lc, _)| format!("l.v{lc} AS o{lc}"))
        .collect();
    c.push_cte(format!(
        "SELECT r.ord AS mord, l.lr, {}, row_number() OVER (PARTITION BY r.ord ORDER BY l.lr) AS mn FROM {rows} AS r JOIN ({values}) AS l ON {}",
        if outs.is_empty() { "1 AS o_none".to_string() } else { outs.join(", ") },
        on.join(" AND ")
    ));
    let matches = c.current();
    let mut per_row = vec!["mord".to_string(), "count(*) AS matched".to_string()];
    for (lc, _) in &outputs {
        per_row.push(format!(
            "{} AS o{lc}",
            d.ordered_values(&format!("o{lc}"), "lr")
        ));
    }
    c.push_cte(format!(
        "SELECT {} FROM {matches} WHERE mn <= {max} GROUP BY mord",
        per_row.join(", ")
    ));
    let found = c.current();
    // Each row with its outputs.
    let looked_up = match inputs.iter().any(|(_, v)| v.is_none()) {
        // A field the rows lack: none is looked up.
        true => "FALSE".to_string(),
        false => inputs
            .iter()
            .filter_map(|(_, v)| v.as_ref())
            .map(|x| format!("{x} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND "),
    };
    let looked_up = if looked_up.is_empty() {
        "TRUE".to_string()
    } else {
        looked_up
    };
    let pad = table.min_matches;
    let mut cols: Vec<(String, Col)> = c
        .cols
        .iter()
        .map(|col| (format!("r.{}", col.sql), col.clone()))
        .collect();
    for (lc, ef) in &outputs {
        let old = c.col(ef).cloned();
        let mut list = format!("coalesce(g.o{lc}, {})", d.empty_list());
        if pad > 0 {
            list = d.list_concat(
                &list,
                &d.repeat_list(
                    &d.lit(&table.default_match),
                    &format!("greatest({pad} - coalesce(g.matched, 0), 0)"),
                ),
            );
        }
        let (old_list, old_null) = match &old {
            None => ("NULL".to_string(), "TRUE".to_string()),
            Some(col) => {
                let q = col.at("r");
                let as_list = match col.kind {
                    Kind::Multi => q.sql.clone(),
                    _ => format!(
                        "(CASE WHEN {} THEN NULL ELSE {} END)",
                        c.is_null(&q),
                        d.list_of_one(&c.text(&q))
                    ),
                };
                (as_list, c.is_null(&q))
            }
        };
        let keep_old = match l.output_new {
            true => format!("NOT ({looked_up}) OR NOT {old_null}"),
            false => format!("NOT ({looked_up})"),
        };
        let expr = format!("(CASE WHEN {keep_old} THEN {old_list} ELSE {list} END)");
        let new = Col {
            name: ef.clone(),
            sql: c.fresh(),
            kind: Kind::Multi,
        };
        put_column(&mut cols, expr, new);
    }
    c.stage_from(
        cols,
        &format!("{rows} AS r LEFT JOIN {found} AS g ON g.mord = r.ord"),
        "r.ord",
    );
    Ok(())
}

/// The lookup's rows as a `VALUES` table: `lr` (the place in the file),
/// `v{i}` each column's value (null where a row is short), and `p{i}` the
/// LIKE pattern of each WILDCARD column.
fn values_table(c: &Compiler, table: &LookupTable) -> String {
    let d = c.d;
    let n = table.columns.len();
    let wild: Vec<usize> = (0..n)
        .filter(|&i| table.match_type(i) == MatchType::Wildcard)
        .collect();
    let null = d.null_text();
    let rows: Vec<String> = table
        .rows
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let mut cells = vec![format!("{r}")];
            for i in 0..n {
                cells.push(row.get(i).map_or(null.clone(), |v| d.lit(v)));
            }
            for &i in &wild {
                cells.push(row.get(i).map_or(null.clone(), |v| d.lit(&like_pattern(v))));
            }
            format!("({})", cells.join(", "))
        })
        .collect();
    let mut names = vec!["lr".to_string()];
    names.extend((0..n).map(|i| format!("v{i}")));
    names.extend(wild.iter().map(|i| format!("p{i}")));
    format!(
        "SELECT * FROM (VALUES {}) AS t({})",
        rows.join(", "),
        names.join(", ")
    )
}

/// A WILDCARD lookup value as a LIKE pattern: `*` any text, everything
/// else literal.
fn like_pattern(v: &str) -> String {
    let pieces: Vec<String> = v.split('*').map(Dialect::like_literal).collect();
    pieces.join("%")
}
