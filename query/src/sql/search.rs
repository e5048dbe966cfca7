//! The search language as SQL predicates, in its two places:
//!
//! - the tstats `where` over events ([`events`]), as [`crate::plan`] runs
//!   it on the index: case-insensitive globs on the full value, a value
//!   written with XML entities also matching its decoded text, `f!=v`
//!   needing the field, `NOT f=v` matching events without it, a field not
//!   in the model having no values;
//! - `| search` over result rows ([`rows`]), as
//!   [`crate::commands::search`] runs it: any value of a multi-value, an
//!   exact number matching numerically, `<`/`>` comparing numbers or text,
//!   a bare term matching any cell of the row.
//!
//! Every predicate is two-valued (never NULL), so `NOT` keeps evidx's
//! meaning.

use evidx_schema::terms::fold_case;

use super::dialect::Dialect;
use super::{compare_literal, refuse, Compiler, Result};
use crate::commands::search::term_glob;
use crate::field::{resolve_field, FieldRef, Meta};
use crate::glob::Glob;
use crate::num::parse_num;
use crate::plan::decode_xml_entities;
use crate::spl::ast::{CmpOp, SearchExpr, Span, Value};

/// `lowered` (a lower-cased text expression) matches the glob. A glob of
/// only `*`s is TRUE: the caller checks that the value exists.
pub fn glob_sql(d: Dialect, lowered: &str, glob: &Glob) -> String {
    if glob.matches_all() {
        return "TRUE".into();
    }
    if let Some(exact) = glob.is_exact() {
        return format!("({lowered} = {})", d.lit(&fold_case(exact)));
    }
    let like: Vec<String> = glob
        .pieces()
        .iter()
        .map(|p| Dialect::like_literal(p))
        .collect();
    d.like(lowered, &like.join("%"))
}

/// The SQL column of an event field, or None for `_time` and fields not
/// in the model.
pub fn event_column(d: Dialect, field: FieldRef) -> Option<String> {
    match field {
        FieldRef::Cim(i) => Some(d.ident(i.name())),
        FieldRef::Meta(Meta::Source) => Some(d.ident("evidx_source")),
        FieldRef::Meta(Meta::Sourcetype) => Some(d.ident("sourcetype")),
        FieldRef::Time | FieldRef::Unknown => None,
    }
}

/// The tstats `where` clause over the rows of `processes`.
pub fn events(d: Dialect, e: &SearchExpr) -> Result<String> {
    Ok(match e {
        SearchExpr::And(items) => join(d, items, "AND", events)?,
        SearchExpr::Or(items) => join(d, items, "OR", events)?,
        SearchExpr::Not(inner) => format!("(NOT {})", events(d, inner)?),
        SearchExpr::Cmp {
            field,
            op,
            value,
            span,
        } => event_cmp(d, field, *op, value, span)?,
        SearchExpr::In {
            field,
            values,
            span,
        } => {
            let arms = values
                .iter()
                .map(|v| event_cmp(d, field, CmpOp::Eq, v, span))
                .collect::<Result<Vec<_>>>()?;
            or_all(arms)
        }
        SearchExpr::Term { value, span } => {
            if value.text.chars().all(|c| c == '*') {
                "TRUE".into()
            } else {
                return refuse(
                    format!(
                        "a bare search term (`{}`) needs raw event text, which tstats does not search; write FIELD=VALUE",
                        value.text
                    ),
                    span,
                );
            }
        }
        SearchExpr::Subsearch(sub) => {
            return refuse(
                "a subsearch in the tstats `where` is not compiled to SQL (one in `| search` is)",
                &sub.span,
            )
        }
    })
}

/// `items` joined by AND or OR; none is FALSE (tantivy's empty boolean
/// query matches nothing).
fn join<F>(d: Dialect, items: &[SearchExpr], op: &str, f: F) -> Result<String>
where
    F: Fn(Dialect, &SearchExpr) -> Result<String>,
{
    if items.is_empty() {
        return Ok("FALSE".into());
    }
    let parts = items.iter().map(|i| f(d, i)).collect::<Result<Vec<_>>>()?;
    Ok(format!("({})", parts.join(&format!(" {op} "))))
}

fn or_all(arms: Vec<String>) -> String {
    match arms.is_empty() {
        true => "FALSE".into(),
        false => format!("({})", arms.join(" OR ")),
    }
}

fn event_cmp(d: Dialect, field: &str, op: CmpOp, value: &Value, span: &Span) -> Result<String> {
    let f = resolve_field(field);
    if f == FieldRef::Time {
        return time_cmp(d, op, value, span);
    }
    let Some(col) = event_column(d, f) else {
        // Not in the model: no value, so `=` and `!=` match nothing.
        return Ok("FALSE".into());
    };
    let lowered = d.lower(&col);
    let mut arms = Vec::new();
    let decoded = match f {
        FieldRef::Cim(_) => decode_xml_entities(&value.text),
        _ => value.text.clone(),
    };
    for pattern in std::iter::once(&value.text).chain((decoded != value.text).then_some(&decoded)) {
        let glob = Glob::new(pattern);
        arms.push(glob_sql(d, &lowered, &glob));
    }
    let eq = or_all(arms);
    match op {
        CmpOp::Eq => Ok(format!("({col} IS NOT NULL AND {eq})")),
        CmpOp::Ne => Ok(format!("({col} IS NOT NULL AND NOT {eq})")),
        _ => refuse(
            format!(
                "`{field}` is a text field: <, <=, >, >= compare numbers, use them after tstats (`| where`)"
            ),
            span,
        ),
    }
}

/// `_time` compared with epoch seconds (to the microsecond).
fn time_cmp(d: Dialect, op: CmpOp, value: &Value, span: &Span) -> Result<String> {
    let Ok(secs) = value.text.trim().parse::<f64>() else {
        return refuse(
            format!("`_time` compares with epoch seconds, not `{}`", value.text),
            span,
        );
    };
    let micros = (secs * 1e6).round() as i64;
    let t = d.epoch_micros(&d.ident("_time"));
    let sql_op = match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => return Ok(format!("NOT coalesce({t} = {micros}, FALSE)")),
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    };
    Ok(format!("coalesce({t} {sql_op} {micros}, FALSE)"))
}

/// `| search` over the current result rows.
pub fn rows(c: &Compiler, e: &SearchExpr) -> Result<String> {
    Ok(match e {
        SearchExpr::And(items) | SearchExpr::Or(items) => {
            let op = match e {
                SearchExpr::And(_) => " AND ",
                _ => " OR ",
            };
            if items.is_empty() {
                // evidx: all() of nothing is true, any() false.
                return Ok(if op == " AND " { "TRUE" } else { "FALSE" }.into());
            }
            let parts = items
                .iter()
                .map(|i| rows(c, i))
                .collect::<Result<Vec<_>>>()?;
            format!("({})", parts.join(op))
        }
        SearchExpr::Not(inner) => format!("(NOT {})", rows(c, inner)?),
        SearchExpr::Cmp {
            field, op, value, ..
        } => row_cmp(c, field, *op, &value.text),
        SearchExpr::In { field, values, .. } => {
            let globs: Vec<Glob> = values.iter().map(|v| Glob::new(&v.text)).collect();
            match c.col(field) {
                None => "FALSE".into(),
                Some(col) => c.any_value(col, |v| {
                    or_all(globs.iter().map(|g| glob_eq(c.d, g, v)).collect())
                }),
            }
        }
        SearchExpr::Term { value, .. } => {
            let glob = term_glob(&value.text);
            if glob.matches_all() {
                return Ok("TRUE".into());
            }
            or_all(
                c.cols
                    .iter()
                    .map(|col| c.any_value(col, |v| glob_sql(c.d, &c.d.lower(&v.text), &glob)))
                    .collect(),
            )
        }
        SearchExpr::Subsearch(sub) => super::subsearch::filter(c, &sub.span)?,
    })
}

/// A glob against one value: an exact number equals numerically.
fn glob_eq(d: Dialect, glob: &Glob, v: &super::Val) -> String {
    let text = glob_sql(d, &d.lower(&v.text), glob);
    match glob.is_exact().and_then(parse_num) {
        Some(n) => format!(
            "(CASE WHEN {num} IS NOT NULL THEN {num} = {} ELSE {text} END)",
            d.num(n),
            num = v.num
        ),
        None => text,
    }
}

fn row_cmp(c: &Compiler, field: &str, op: CmpOp, raw: &str) -> String {
    let Some(col) = c.col(field) else {
        return "FALSE".into();
    };
    let glob = Glob::new(raw);
    match op {
        CmpOp::Eq => c.any_value(col, |v| glob_eq(c.d, &glob, v)),
        CmpOp::Ne => format!(
            "(NOT {} AND NOT {})",
            c.is_null(col),
            c.any_value(col, |v| glob_eq(c.d, &glob, v))
        ),
        _ => {
            let sql_op = match op {
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
                CmpOp::Gt => ">",
                _ => ">=",
            };
            c.any_value(col, |v| {
                compare_literal(c.d, v, sql_op, raw, parse_num(raw))
            })
        }
    }
}
