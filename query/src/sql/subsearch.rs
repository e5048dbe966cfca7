//! Subsearches in SQL: `| search [ ... ]` and `| join FIELDS [ ... ]`.
//!
//! evidx runs a subsearch first and uses its result table
//! ([`crate::resolve`], [`crate::commands::join`]); here the subsearch's
//! pipeline becomes stages of its own in the same statement, and its rows
//! are read where evidx reads the table:
//!
//! - as a filter, Splunk's expansion (an OR over the subsearch's first
//!   10,000 rows of the AND of `field="value"` terms, null cells and
//!   fields starting with `_` left out) is an `EXISTS` over those rows:
//!   each value is a search-language value, so it matches case-insensitively,
//!   numerically when it is a number, and a `*` in it is a wildcard;
//! - for `join`, the first 50,000 rows are joined on exact equality of the
//!   join fields, `max` matches per row in the subsearch's order, and a
//!   subsearch value replaces the row's as evidx's `join` replaces it.

use super::dialect::Dialect;
use super::{refuse, Col, Compiler, Kind, Result, Val};
use crate::resolve::SubsearchLimits;
use crate::spl::ast::{Join, SearchExpr, Span};

/// A compiled subsearch: the stage holding its rows (at most the cap, in
/// its order, with their `ord`) and its columns.
#[derive(Debug, Clone)]
pub struct SubTable {
    pub name: String,
    pub cols: Vec<Col>,
}

/// Compile the subsearches of a `| search` expression, so that
/// `search::rows` finds them by their span.
pub fn compile_filters(c: &mut Compiler, e: &SearchExpr) -> Result<()> {
    match e {
        SearchExpr::And(items) | SearchExpr::Or(items) => {
            for i in items {
                compile_filters(c, i)?;
            }
            Ok(())
        }
        SearchExpr::Not(inner) => compile_filters(c, inner),
        SearchExpr::Subsearch(sub) => {
            let t = c.subsearch(sub, SubsearchLimits::default().rows)?;
            c.subs.push((sub.span.clone(), t));
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The filter of the subsearch at `span` (compiled by
/// [`compile_filters`]) over the current row.
pub fn filter(c: &Compiler, span: &Span) -> Result<String> {
    let Some((_, sub)) = c.subs.iter().find(|(s, _)| s == span) else {
        return refuse("internal error: a subsearch was not compiled", span);
    };
    let mut present = Vec::new();
    let mut terms = Vec::new();
    for col in &sub.cols {
        if col.name.starts_with('_') {
            continue;
        }
        if col.name == "search" || col.name == "query" {
            return refuse(
                format!(
                    "a subsearch whose `{}` column is search text is not compiled to SQL",
                    col.name
                ),
                span,
            );
        }
        if col.kind == Kind::Multi {
            return refuse(
                format!(
                    "a subsearch whose `{}` has several values is not compiled to SQL",
                    col.name
                ),
                span,
            );
        }
        let value = c.text(&col.at("u"));
        present.push(format!("{value} IS NOT NULL"));
        // A row without the field matches no term on it.
        let matched = match c.col(&col.name) {
            None => "FALSE".to_string(),
            Some(main) => c.any_value(main, |v| rows_glob_dynamic(c.d, v, &value)),
        };
        terms.push(format!("({value} IS NULL OR {matched})"));
    }
    if present.is_empty() {
        // Every row of the subsearch is empty: Splunk's `NOT ()`.
        return Ok("FALSE".into());
    }
    Ok(format!(
        "EXISTS (SELECT 1 FROM {} AS u WHERE ({}) AND {})",
        sub.name,
        present.join(" OR "),
        terms.join(" AND ")
    ))
}

/// `| join [type=..] [max=N] [overwrite=..] FIELDS [ subsearch ]`.
pub fn join(c: &mut Compiler, j: &Join, span: &Span) -> Result<()> {
    let sub = c.subsearch(&j.sub, SubsearchLimits::default().join_rows)?;
    let fields: Vec<String> = match j.fields.is_empty() {
        true => c
            .cols
            .iter()
            .filter(|m| sub.cols.iter().any(|s| s.name == m.name))
            .map(|m| m.name.clone())
            .collect(),
        false => j.fields.clone(),
    };
    let sub_col = |name: &str| sub.cols.iter().find(|s| s.name == name);
    let mut on = Vec::new();
    for f in &fields {
        let (Some(m), Some(s)) = (c.col(f), sub_col(f)) else {
            // A side without the field: no row has a key.
            on = vec!["FALSE".to_string()];
            break;
        };
        let (mq, sq) = (m.at("m"), s.at("u"));
        on.push(match (m.kind == Kind::Multi, s.kind == Kind::Multi) {
            (false, false) => format!("{} = {}", c.text(&mq), c.text(&sq)),
            (true, true) => format!(
                "{} = {} AND NOT {}",
                mq.sql,
                sq.sql,
                c.is_null(&mq)
            ),
            _ => {
                return refuse(
                    format!("join on `{f}`, several values on one side and one on the other: not compiled to SQL"),
                    span,
                )
            }
        });
    }
    if on.is_empty() {
        // No join field: no row has a key.
        on.push("FALSE".into());
    }
    // The joined pairs, numbered per row in the subsearch's order.
    let mut list: Vec<String> = c.cols.iter().map(|m| format!("m.{}", m.sql)).collect();
    list.extend(sub.cols.iter().map(|s| format!("u.{}", s.sql)));
    list.push("m.ord AS m_ord".into());
    list.push("u.ord AS u_ord".into());
    list.push("row_number() OVER (PARTITION BY m.ord ORDER BY u.ord) AS join_n".into());
    let pairs = format!(
        "SELECT {} FROM {} AS m {} JOIN {} AS u ON {}",
        list.join(", "),
        c.current(),
        if j.left { "LEFT" } else { "INNER" },
        sub.name,
        on.join(" AND ")
    );
    c.push_cte(pairs);
    // The row's columns, each sub column in place of a same-named one or
    // after them.
    let mut cols = c.passed();
    for s in &sub.cols {
        match cols.iter().position(|(_, m)| m.name == s.name) {
            None => cols.push((s.sql.clone(), s.clone())),
            Some(i) => {
                let m = cols[i].1.clone();
                let (me, se, kind) = match (m.kind, s.kind) {
                    (a, b) if a == b => (m.sql.clone(), s.sql.clone(), a),
                    (Kind::Multi, _) | (_, Kind::Multi) => {
                        return refuse(
                            format!("join: `{}` has several values on one side and one on the other; not compiled to SQL", s.name),
                            span,
                        )
                    }
                    _ => (c.text(&m), c.text(s), Kind::Text),
                };
                let (m_null, s_null) = (c.is_null(&m), c.is_null(s));
                let take_sub = match j.overwrite {
                    true => format!("{m_null} OR NOT {s_null}"),
                    false => m_null,
                };
                let new = Col {
                    name: m.name.clone(),
                    sql: c.fresh(),
                    kind,
                };
                cols[i] = (
                    format!("(CASE WHEN {take_sub} THEN {se} ELSE {me} END)"),
                    new,
                );
            }
        }
    }
    let max = match j.max {
        0 => String::new(),
        n => format!(" WHERE join_n <= {n}"),
    };
    let from = format!("{}{max}", c.current());
    c.stage_from(cols, &from, "row_number() OVER (ORDER BY m_ord, u_ord)");
    Ok(())
}

/// A search value computed in SQL (`value`, text) against one value, as
/// `search::glob_eq` compares a written one: a `*` in it is a wildcard, an
/// exact number equals numerically, else the lower-cased texts compare.
fn rows_glob_dynamic(d: Dialect, v: &Val, value: &str) -> String {
    let lowered = d.lower(value);
    let mut like = lowered.clone();
    for (from, to) in [("\\", "\\\\"), ("%", "\\%"), ("_", "\\_"), ("*", "%")] {
        like = format!("replace({like}, {}, {})", d.lit(from), d.lit(to));
    }
    let num = d.parse_num(value);
    format!(
        "(CASE WHEN instr({value}, '*') > 0 THEN {} \
         WHEN {num} IS NOT NULL AND {vnum} IS NOT NULL THEN {vnum} = {num} \
         ELSE {} = {lowered} END)",
        d.like_expr(&d.lower(&v.text), &like),
        d.lower(&v.text),
        vnum = v.num
    )
}
