//! Plan: the tstats `where` clause ([`SearchExpr`]) becomes a tantivy query.
//!
//! - Field names are resolved as Splunk does, case-sensitively
//!   ([`crate::field`]): `Processes.process_name` is the CIM field
//!   `process_name`; `source` and `sourcetype` are the inherited fields; a
//!   name that is not in the model (`processes.process_name`,
//!   `dest_category`) has no values, so `f=v` and `f!=v` match nothing and
//!   `NOT f=v` matches all.
//! - Values are globs matched case-insensitively against the case-folded
//!   search field (`_lc_F`, see `evidx_index::schema`): an exact value is a
//!   term lookup, `x*` a dictionary range, anything else one pass over the
//!   field's *distinct* terms in the segment ([`GlobQuery`]), never over the
//!   documents.
//! - `f!=v` requires the field to exist; `NOT f=v` does not.
//! - A value written with XML entities (`*2&gt;&amp;1*`) also matches the
//!   decoded text, since evidx stores decoded values.

use std::ops::Bound;
use std::sync::Arc;

use evidx_schema::terms::{fold_case, MAX_TERM_BYTES};
use evidx_schema::{Cim, EvidxSchema};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, Occur, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use crate::field::{resolve_field, FieldRef, Meta};
use crate::glob::Glob;
use crate::glob_query::GlobQuery;
use crate::raw_glob_query::RawGlobQuery;
use crate::spl::ast::{CmpOp, SearchExpr, Span, Value};
use crate::value_filters::ValueFilters;

/// A `where` clause that cannot run, with the position to point at.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PlanError {
    pub message: String,
    pub span: Span,
}

/// Build the tantivy query of a `where` clause (None: every event), over
/// indexes whose segments' value filters are in `value_filters`.
pub fn plan(
    filter: Option<&SearchExpr>,
    schema: &EvidxSchema,
    value_filters: &Arc<ValueFilters>,
) -> Result<Box<dyn Query>, PlanError> {
    match filter {
        None => Ok(Box::new(AllQuery)),
        Some(e) => Planner {
            schema,
            value_filters,
        }
        .expr(e),
    }
}

struct Planner<'a> {
    schema: &'a EvidxSchema,
    value_filters: &'a Arc<ValueFilters>,
}

impl Planner<'_> {
    fn expr(&self, e: &SearchExpr) -> Result<Box<dyn Query>, PlanError> {
        Ok(match e {
            SearchExpr::And(items) => self.boolean(items, Occur::Must)?,
            SearchExpr::Or(items) => self.or(items)?,
            SearchExpr::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, self.expr(inner)?),
            ])),
            SearchExpr::Cmp {
                field,
                op,
                value,
                span,
            } => self.cmp(field, *op, value, span)?,
            SearchExpr::In { .. } => self.or(std::slice::from_ref(e))?,
            SearchExpr::Subsearch(sub) => {
                return Err(PlanError {
                    message: "the subsearch was not run before planning (internal error)".into(),
                    span: sub.span.clone(),
                })
            }
            SearchExpr::Term { value, span } => {
                if value.text.chars().all(|c| c == '*') {
                    Box::new(AllQuery)
                } else {
                    return Err(PlanError {
                        message: format!(
                            "a bare search term (`{}`) needs raw event text, which tstats does not search; write FIELD=VALUE",
                            value.text
                        ),
                        span: span.clone(),
                    });
                }
            }
        })
    }

    /// A disjunction. The `f=v` arms and `IN` lists on one CIM field become
    /// one query per field, so a 55-value `IN (*a*, *b*, ...)` scans the
    /// field's dictionary once, not 55 times.
    fn or(&self, items: &[SearchExpr]) -> Result<Box<dyn Query>, PlanError> {
        fn add<'e>(per_field: &mut Vec<(Cim, Vec<&'e str>)>, i: Cim, text: &'e str) {
            match per_field.iter_mut().find(|(f, _)| *f == i) {
                Some((_, v)) => v.push(text),
                None => per_field.push((i, vec![text])),
            }
        }
        let mut per_field: Vec<(Cim, Vec<&str>)> = Vec::new();
        let mut clauses = Vec::new();
        for it in items {
            match it {
                SearchExpr::Cmp {
                    field,
                    op: CmpOp::Eq,
                    value,
                    ..
                } if matches!(resolve_field(field), FieldRef::Cim(_)) => {
                    if let FieldRef::Cim(i) = resolve_field(field) {
                        add(&mut per_field, i, &value.text);
                    }
                }
                SearchExpr::In {
                    field,
                    values,
                    span,
                } => match resolve_field(field) {
                    FieldRef::Cim(i) => values.iter().for_each(|v| add(&mut per_field, i, &v.text)),
                    FieldRef::Time | FieldRef::Meta(_) => {
                        for v in values {
                            clauses.push((Occur::Should, self.cmp(field, CmpOp::Eq, v, span)?));
                        }
                    }
                    // Not in the model: no value, no match.
                    FieldRef::Unknown => {}
                },
                other => clauses.push((Occur::Should, self.expr(other)?)),
            }
        }
        for (i, texts) in per_field {
            clauses.push((Occur::Should, self.matches_any(i, &texts)));
        }
        Ok(match clauses.len() {
            0 => Box::new(EmptyQuery),
            1 => clauses
                .pop()
                .map(|(_, q)| q)
                .unwrap_or_else(|| Box::new(EmptyQuery)),
            _ => Box::new(BooleanQuery::new(clauses)),
        })
    }

    /// A conjunction. Several `f=*glob*` on one CIM text field become one
    /// query whose values must match them all, narrowed by the rarest
    /// trigrams of all their pieces (Sigma's `CommandLine|contains|all`):
    /// each alone would select the many values holding one common word.
    fn boolean(&self, items: &[SearchExpr], occur: Occur) -> Result<Box<dyn Query>, PlanError> {
        let mut clauses = Vec::with_capacity(items.len());
        let mut per_field: Vec<(Cim, Vec<Glob>)> = Vec::new();
        for it in items {
            match conjunct_glob(it).filter(|_| occur == Occur::Must) {
                Some((i, glob)) => match per_field.iter_mut().find(|(f, _)| *f == i) {
                    Some((_, globs)) => globs.push(glob),
                    None => per_field.push((i, vec![glob])),
                },
                None => clauses.push((occur, self.expr(it)?)),
            }
        }
        for (i, globs) in per_field {
            let q = match globs.len() {
                1 => GlobQuery::new(Arc::new(self.schema.clone()), i, globs),
                _ => GlobQuery::all_of(Arc::new(self.schema.clone()), i, globs),
            };
            let q: Box<dyn Query> = Box::new(q.with_value_filters(self.value_filters.clone()));
            clauses.push((occur, q));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    fn cmp(
        &self,
        field: &str,
        op: CmpOp,
        value: &Value,
        span: &Span,
    ) -> Result<Box<dyn Query>, PlanError> {
        // A text field: its column (for `!=`, which needs the field) and
        // the query of `field=value`.
        let (column, eq) = match resolve_field(field) {
            FieldRef::Unknown => return Ok(Box::new(EmptyQuery)),
            FieldRef::Time => return time_range(self.schema.time, op, value, span),
            FieldRef::Cim(i) => (i.name(), self.matches(i, &value.text)),
            FieldRef::Meta(m) => (m.column(), self.meta_matches(m, &value.text)),
        };
        match op {
            CmpOp::Eq => Ok(eq),
            CmpOp::Ne => Ok(Box::new(BooleanQuery::new(vec![
                (Occur::Must, exists(column)),
                (Occur::MustNot, eq),
            ]))),
            _ => Err(PlanError {
                message: format!(
                    "`{field}` is a text field: <, <=, >, >= compare numbers, use them after tstats (`| where`)"
                ),
                span: span.clone(),
            }),
        }
    }

    /// `source=v` or `sourcetype=v`: a case-insensitive glob over the
    /// field's few distinct values.
    fn meta_matches(&self, m: Meta, text: &str) -> Box<dyn Query> {
        let glob = Glob::new(text);
        if glob.matches_all() {
            return exists(m.column());
        }
        let field = match m {
            Meta::Source => self.schema.source_file,
            Meta::Sourcetype => self.schema.sourcetype,
        };
        Box::new(RawGlobQuery::new(field, vec![glob]))
    }

    /// `field=value`.
    fn matches(&self, i: Cim, text: &str) -> Box<dyn Query> {
        self.matches_any(i, &[text])
    }

    /// `field=v1 OR field=v2 ...`: exact values are term lookups, `*` alone
    /// is "the field exists", every other glob goes into one dictionary
    /// scan. A value written with XML entities also matches its decoded
    /// text.
    fn matches_any(&self, i: Cim, texts: &[&str]) -> Box<dyn Query> {
        let (_, search) = self.schema.cim[i.index()];
        let mut arms: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut exact = Vec::new();
        let mut globs = Vec::new();
        for text in texts {
            let decoded = decode_xml_entities(text);
            for pattern in
                std::iter::once(*text).chain((decoded != *text).then_some(decoded.as_str()))
            {
                let glob = Glob::new(pattern);
                if glob.matches_all() {
                    return exists(i.name());
                }
                // An exact value as long as the indexed (cut) terms could
                // equal the cut prefix of a longer value: verify it.
                match glob.is_exact().map(fold_case) {
                    Some(term) if term.len() + 4 <= MAX_TERM_BYTES => {
                        exact.push(Term::from_field_text(search, &term))
                    }
                    _ => globs.push(glob),
                }
            }
        }
        if !exact.is_empty() {
            let q: Box<dyn Query> = if exact.len() == 1 {
                Box::new(TermQuery::new(exact.remove(0), IndexRecordOption::Basic))
            } else {
                Box::new(TermSetQuery::new(exact))
            };
            arms.push((Occur::Should, q));
        }
        if !globs.is_empty() {
            arms.push((
                Occur::Should,
                Box::new(
                    GlobQuery::new(Arc::new(self.schema.clone()), i, globs)
                        .with_value_filters(self.value_filters.clone()),
                ),
            ));
        }
        match arms.len() {
            1 => arms
                .pop()
                .map(|(_, q)| q)
                .unwrap_or_else(|| Box::new(EmptyQuery)),
            _ => Box::new(BooleanQuery::new(arms)),
        }
    }
}

/// `f=v` on a CIM text field where `v` is a glob that [`Planner::matches_any`]
/// would answer with a [`GlobQuery`] alone: not an exact value, not `*`,
/// not written with XML entities (which also match their decoded text).
fn conjunct_glob(e: &SearchExpr) -> Option<(Cim, Glob)> {
    let SearchExpr::Cmp {
        field,
        op: CmpOp::Eq,
        value,
        ..
    } = e
    else {
        return None;
    };
    let FieldRef::Cim(i) = resolve_field(field) else {
        return None;
    };
    let glob = Glob::new(&value.text);
    let plain = decode_xml_entities(&value.text) == value.text;
    (plain && !glob.matches_all() && glob.is_exact().is_none()).then_some((i, glob))
}

fn exists(field: &str) -> Box<dyn Query> {
    Box::new(ExistsQuery::new(field.to_string(), false))
}

/// `_time` compared with epoch seconds.
fn time_range(
    field: Field,
    op: CmpOp,
    value: &Value,
    span: &Span,
) -> Result<Box<dyn Query>, PlanError> {
    let secs: f64 = value.text.trim().parse().map_err(|_| PlanError {
        message: format!("`_time` compares with epoch seconds, not `{}`", value.text),
        span: span.clone(),
    })?;
    let micros = (secs * 1e6).round() as i64;
    let t = |m: i64| Term::from_field_i64(field, m);
    let (lo, hi) = match op {
        CmpOp::Eq => (Bound::Included(t(micros)), Bound::Included(t(micros))),
        CmpOp::Lt => (Bound::Unbounded, Bound::Excluded(t(micros))),
        CmpOp::Le => (Bound::Unbounded, Bound::Included(t(micros))),
        CmpOp::Gt => (Bound::Excluded(t(micros)), Bound::Unbounded),
        CmpOp::Ge => (Bound::Included(t(micros)), Bound::Unbounded),
        CmpOp::Ne => {
            return Ok(Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (
                    Occur::MustNot,
                    Box::new(RangeQuery::new(
                        Bound::Included(t(micros)),
                        Bound::Included(t(micros)),
                    )),
                ),
            ])))
        }
    };
    Ok(Box::new(RangeQuery::new(lo, hi)))
}

/// Decode the five XML entities (`&amp;` last, so `&amp;gt;` stays `&gt;`).
pub fn decode_xml_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
