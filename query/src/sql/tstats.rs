//! The tstats stage: the events the `where` clause selects, grouped by the
//! by-fields, with the aggregates, as [`crate::collect`] makes them:
//!
//! - a by-field value is the field's full text; `_time` is epoch seconds
//!   (rounded down to `span=`) as text; a null by-field drops the event,
//!   unless `fillnull_value` gives it that value;
//! - rows come in byte order of the by-field texts, field by field;
//! - `count`, `count(f)`, `dc(f)` (distinct texts), `values(f)` (distinct
//!   texts in byte order), `min`/`max`/`earliest`/`latest` of `_time`
//!   (epoch seconds, rounded down), `earliest`/`latest` of another field
//!   (the value at the least or greatest time, ties to the least or
//!   greatest text);
//! - with no by-field, one row even when nothing matched (counts 0).

use super::search::{event_column, events};
use super::{refuse, Col, Compiler, Kind, Result};
use crate::engine::DATAMODEL;
use crate::field::{resolve_field, FieldRef};
use crate::spl::ast::{AggFunc, ByField, Tstats};

pub fn compile(c: &mut Compiler, ts: &Tstats) -> Result<()> {
    let d = c.d;
    if ts.events.is_some() {
        return refuse(
            "event searches (`from datamodel`, `datamodel ... search`) are not compiled to SQL; select from `processes` directly",
            &ts.span,
        );
    }
    let dm = ts.datamodel.trim_matches('"');
    let object = dm.split_whitespace().next().unwrap_or(dm);
    if !object.eq_ignore_ascii_case(DATAMODEL) && !object.eq_ignore_ascii_case("Endpoint") {
        return refuse(
            format!("datamodel={dm}: evidx indexes only {DATAMODEL} (Sysmon 1 and Security 4688)"),
            &ts.span,
        );
    }
    for (k, v) in &ts.options {
        // The options evidx accepts (none changes the answer).
        match k.as_str() {
            "summariesonly" | "allow_old_summaries" | "fillnull_value" | "local" | "chunk_size" => {}
            _ => {
                return refuse(
                    format!("tstats option `{k}={v}` is not supported (evidx supports summariesonly, allow_old_summaries, fillnull_value, local, chunk_size)"),
                    &ts.span,
                )
            }
        }
    }
    // `earliest=`/`latest=` set the time range, evaluated now (as
    // evidx-query evaluates them when it runs).
    let (filter, window) = crate::time_modifiers::take(ts.filter.as_ref(), chrono::Utc::now())
        .or_else(|e| refuse(e.message, &e.span))?;
    let micros = d.epoch_micros(&d.ident("_time"));
    let mut filter = match &filter {
        Some(e) => events(d, e)?,
        None => "TRUE".into(),
    };
    if let Some(t) = window.earliest {
        filter = format!("({filter}) AND {micros} >= {t}");
    }
    if let Some(t) = window.latest {
        filter = format!("({filter}) AND {micros} < {t}");
    }
    let secs = d.floor_div(&micros, 1_000_000);

    // The inner select: by-keys `k*` and aggregate inputs `a*` per event.
    let mut inner: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, b) in ts.by.iter().enumerate() {
        let (text, name) = match b {
            ByField::Field(f) => (field_text(c, resolve_field(f)), f.clone()),
            ByField::Time { span_secs } => {
                let span = span_secs.unwrap_or(1).max(1);
                let bucket = match span {
                    1 => secs.clone(),
                    n => format!("({} * {n})", d.floor_div(&secs, n)),
                };
                (d.int_text(&bucket), "_time".to_string())
            }
        };
        let text = match ts.fillnull_value() {
            Some(fill) => format!("coalesce({text}, {})", d.lit(fill)),
            None => text,
        };
        inner.push(format!("{text} AS k{i}"));
        keys.push(format!("k{i}"));
        names.push(name);
    }
    let mut outer: Vec<(String, Col)> = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let sql = c.fresh();
        outer.push((
            format!("k{i}"),
            Col {
                name,
                sql,
                kind: Kind::Text,
            },
        ));
    }
    for (j, a) in ts.aggs.iter().enumerate() {
        let field = a.field.as_deref().map(resolve_field);
        let input = format!("a{j}");
        let (expr, kind) = match (a.func, field) {
            (AggFunc::Count, None) => ("count(*)".to_string(), Kind::Int),
            (AggFunc::Count, Some(f)) => {
                inner.push(format!("{} AS {input}", present(c, f, &micros)));
                (format!("count({input})"), Kind::Int)
            }
            (AggFunc::Dc | AggFunc::Values, Some(f)) => {
                let text = match f {
                    FieldRef::Time => d.int_text(&secs),
                    f => field_text(c, f),
                };
                inner.push(format!("{text} AS {input}"));
                match a.func {
                    AggFunc::Dc => (format!("count(DISTINCT {input})"), Kind::Int),
                    _ => (d.values_agg(&input), Kind::Multi),
                }
            }
            (
                AggFunc::Min | AggFunc::Max | AggFunc::Earliest | AggFunc::Latest,
                Some(FieldRef::Time),
            ) => {
                inner.push(format!("{micros} AS {input}"));
                let f = match a.func {
                    AggFunc::Min | AggFunc::Earliest => "min",
                    _ => "max",
                };
                (d.floor_div(&format!("{f}({input})"), 1_000_000), Kind::Int)
            }
            (AggFunc::Min | AggFunc::Max, Some(_)) => {
                return refuse(
                    "min/max of a text field: evidx compares them in index order within a segment and as numbers across segments; only `_time` is compiled",
                    &a.span,
                )
            }
            // The value of the latest (earliest) event that has one; of
            // events at the same time, the greatest (least) text, as evidx
            // breaks the tie. An event without a time is before all others.
            (AggFunc::Earliest | AggFunc::Latest, Some(f)) => {
                inner.push(format!("{} AS {input}", field_text(c, f)));
                inner.push(format!("coalesce({micros}, -9223372036854775807) AS t{j}"));
                (
                    d.extreme_by(&input, &format!("t{j}"), a.func == AggFunc::Latest),
                    Kind::Text,
                )
            }
            (AggFunc::Sum | AggFunc::Avg, _) => {
                return refuse(
                    "sum/avg print floating-point text that SQL engines format differently; not compiled",
                    &a.span,
                )
            }
            (_, None) => {
                return refuse(format!("`{}` needs a field", a.column), &a.span);
            }
        };
        let sql = c.fresh();
        outer.push((
            expr,
            Col {
                name: a.column.clone(),
                sql,
                kind,
            },
        ));
    }
    let mut list: Vec<String> = outer
        .iter()
        .map(|(e, col)| format!("{e} AS {}", col.sql))
        .collect();
    let ord = match keys.is_empty() {
        true => "1".to_string(),
        false => format!("row_number() OVER (ORDER BY {})", keys.join(", ")),
    };
    list.push(format!("{ord} AS ord"));
    if inner.is_empty() {
        inner.push("1 AS one".into());
    }
    let mut body = format!(
        "SELECT {} FROM (SELECT {} FROM processes WHERE {filter}) AS ev",
        list.join(", "),
        inner.join(", ")
    );
    if !keys.is_empty() {
        if ts.fillnull_value().is_none() {
            let not_null: Vec<String> = keys.iter().map(|k| format!("{k} IS NOT NULL")).collect();
            body.push_str(&format!(" WHERE {}", not_null.join(" AND ")));
        }
        body.push_str(&format!(" GROUP BY {}", keys.join(", ")));
    }
    c.push_cte(body);
    c.cols = outer.into_iter().map(|(_, col)| col).collect();
    Ok(())
}

/// The text of an event field (NULL when the model does not have it).
fn field_text(c: &Compiler, f: FieldRef) -> String {
    let d = c.d;
    match f {
        FieldRef::Time => d.int_text(&d.floor_div(&d.epoch_micros(&d.ident("_time")), 1_000_000)),
        f => event_column(d, f).unwrap_or_else(|| d.null_text()),
    }
}

/// Something non-null exactly when the event has field `f` (for `count(f)`).
fn present(c: &Compiler, f: FieldRef, micros: &str) -> String {
    match f {
        FieldRef::Time => micros.to_string(),
        f => event_column(c.d, f).unwrap_or_else(|| c.d.null_text()),
    }
}
