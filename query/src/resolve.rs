//! Before a search runs: run its subsearches and load its lookups.
//!
//! A subsearch used as a filter (`search [ ... ]`, a tstats `where`)
//! becomes Splunk's expansion of its result: the OR of one AND per row
//! of `field="value"` terms (a multivalue cell is an OR of its values; a
//! null cell is left out; fields starting with `_` are left out; a
//! `search` or `query` column is inserted as search text). Values are
//! search-language values, so a `*` in them is a wildcard, as in Splunk.
//! A subsearch with no rows gives Splunk's `NOT ()`, which matches
//! nothing. A `join` subsearch's result is attached to the command, and
//! each `lookup` gets its table. As Splunk does, a subsearch's result is
//! cut to its first 10,000 rows (50,000 for `join`), with a warning
//! ([`SubsearchLimits`]).

use std::sync::Arc;

use crate::commands::search::SearchMatcher;
use crate::lookups::LookupStore;
use crate::spl::ast::{Command, Pipeline, SearchExpr, Span, SubSource, Subsearch, Value};
use crate::spl::parser::parse_search_expr;
use crate::spl::Query;
use crate::table::Table;

/// Splunk's caps on the rows of a subsearch's result (`maxout` of
/// `[subsearch]` in limits.conf, and `subsearch_maxout` of `[join]`): the
/// rows past them are dropped, and a warning says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubsearchLimits {
    /// Rows of a subsearch used as a filter.
    pub rows: usize,
    /// Rows of a `join`'s subsearch.
    pub join_rows: usize,
}

impl Default for SubsearchLimits {
    fn default() -> Self {
        SubsearchLimits {
            rows: 10_000,
            join_rows: 50_000,
        }
    }
}

impl SubsearchLimits {
    /// The limits for Splunk's `maxout` of `rows` (a `join` subsearch gets
    /// five times as many, Splunk's ratio); 0 means none.
    pub fn maxout(rows: usize) -> Self {
        match rows {
            0 => SubsearchLimits::none(),
            rows => SubsearchLimits {
                rows,
                join_rows: rows.saturating_mul(5),
            },
        }
    }

    /// Every row of every subsearch is used.
    pub fn none() -> Self {
        SubsearchLimits {
            rows: usize::MAX,
            join_rows: usize::MAX,
        }
    }
}

/// What resolution needs from its caller: the lookups, a way to run a
/// tstats query, how to make an error at a position, the subsearch limits
/// and where warnings go.
pub struct Resolver<'a, E> {
    pub lookups: &'a LookupStore,
    pub run_tstats: &'a dyn Fn(&Query) -> Result<Table, E>,
    pub error: &'a dyn Fn(String, Span) -> E,
    pub limits: SubsearchLimits,
    pub warn: &'a dyn Fn(String),
}

impl<E> Resolver<'_, E> {
    /// `query` with its subsearches run and its lookups loaded.
    pub fn resolve(&self, query: &Query) -> Result<Query, E> {
        let mut pipeline: Pipeline = query.pipeline.clone();
        if let Some(f) = pipeline.tstats.filter.take() {
            pipeline.tstats.filter = Some(self.expr(f, &query.text)?);
        }
        self.commands(&mut pipeline.commands, &query.text)?;
        Ok(Query {
            text: query.text.clone(),
            pipeline,
        })
    }

    fn commands(&self, cmds: &mut [Command], text: &str) -> Result<(), E> {
        for cmd in cmds {
            match cmd {
                Command::Search(e) => {
                    let expr = std::mem::replace(e, SearchExpr::And(Vec::new()));
                    *e = self.expr(expr, text)?;
                }
                Command::Lookup(l) => {
                    let found = self
                        .lookups
                        .get(&l.name)
                        .map_err(|e| (self.error)(e, l.span.clone()))?;
                    let table = found.ok_or_else(|| {
                        (self.error)(
                            format!(
                                "lookup `{}` is not defined (give the folder of lookup YAMLs and CSVs with --lookups)",
                                l.name
                            ),
                            l.span.clone(),
                        )
                    })?;
                    l.table = Some(table);
                }
                Command::Join(j) => {
                    let table = self.run(&j.sub, text)?;
                    let table = self.capped(table, self.limits.join_rows, &j.sub.span, text);
                    j.resolved = Some(Arc::new(table));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Replace the subsearches of a search expression by their expansion.
    fn expr(&self, e: SearchExpr, text: &str) -> Result<SearchExpr, E> {
        Ok(match e {
            SearchExpr::Subsearch(sub) => {
                let table = self.run(&sub, text)?;
                let table = self.capped(table, self.limits.rows, &sub.span, text);
                expand(&table, &sub.span).map_err(|m| (self.error)(m, sub.span.clone()))?
            }
            SearchExpr::And(v) => SearchExpr::And(
                v.into_iter()
                    .map(|x| self.expr(x, text))
                    .collect::<Result<_, _>>()?,
            ),
            SearchExpr::Or(v) => SearchExpr::Or(
                v.into_iter()
                    .map(|x| self.expr(x, text))
                    .collect::<Result<_, _>>()?,
            ),
            SearchExpr::Not(x) => SearchExpr::Not(Box::new(self.expr(*x, text)?)),
            other => other,
        })
    }

    /// `table`, the result of the subsearch at `span` of `text`, cut to
    /// `limit` rows (with a warning when it had more).
    fn capped(&self, mut table: Table, limit: usize, span: &Span, text: &str) -> Table {
        if table.rows.len() > limit {
            let quoted = text.get(span.clone()).unwrap_or("[ ... ]");
            let quoted: String = match quoted.chars().count() > 80 {
                true => quoted.chars().take(77).chain("...".chars()).collect(),
                false => quoted.to_string(),
            };
            (self.warn)(format!(
                "the subsearch {quoted} gave {} rows: only its first {limit} are used, as Splunk cuts a subsearch's result (--subsearch-maxout 0 uses every row)",
                table.rows.len()
            ));
            table.rows.truncate(limit);
        }
        table
    }

    /// Run a subsearch to its result table.
    fn run(&self, sub: &Subsearch, text: &str) -> Result<Table, E> {
        match &sub.source {
            SubSource::Tstats(ts) => (self.run_tstats)(&Query {
                text: text.to_string(),
                pipeline: Pipeline {
                    tstats: ts.clone(),
                    commands: sub.commands.clone(),
                },
            }),
            SubSource::Inputlookup {
                name,
                max,
                filter,
                span,
            } => {
                let found = self
                    .lookups
                    .get(name)
                    .map_err(|e| (self.error)(e, span.clone()))?;
                let lookup = found.ok_or_else(|| {
                    (self.error)(
                        format!("lookup `{name}` is not defined (give the folder of lookup YAMLs and CSVs with --lookups)"),
                        span.clone(),
                    )
                })?;
                let mut table = lookup.to_table();
                if let Some(f) = filter {
                    let f = self.expr(f.clone(), text)?;
                    let m = SearchMatcher::new(&f);
                    let keep: Vec<bool> = (0..table.rows.len())
                        .map(|r| m.matches(&table, r))
                        .collect();
                    crate::commands::columns::retain_rows(&mut table, &keep);
                }
                if let Some(n) = max {
                    table.rows.truncate(*n);
                }
                let mut cmds = sub.commands.clone();
                self.commands(&mut cmds, text)?;
                crate::commands::apply_all(&mut table, &cmds)
                    .map_err(|e| (self.error)(e.to_string(), sub.span.clone()))?;
                Ok(table)
            }
        }
    }
}

/// Splunk's `format` of a subsearch result as a search expression.
pub fn expand(table: &Table, span: &Span) -> Result<SearchExpr, String> {
    let term = |field: &str, v: &str| SearchExpr::Cmp {
        field: field.to_string(),
        op: crate::spl::ast::CmpOp::Eq,
        value: Value {
            text: v.to_string(),
            quoted: true,
        },
        span: span.clone(),
    };
    let mut rows = Vec::new();
    for row in &table.rows {
        let mut parts = Vec::new();
        for (c, cell) in table.columns.iter().zip(row) {
            if c.starts_with('_') || cell.is_null() {
                continue;
            }
            if c == "search" || c == "query" {
                for v in &cell.0 {
                    parts.push(
                        parse_search_expr(v)
                            .map_err(|e| format!("subsearch `{c}` value {v:?}: {}", e.message))?,
                    );
                }
                continue;
            }
            let mut alts: Vec<SearchExpr> = cell.0.iter().map(|v| term(c, v)).collect();
            parts.push(if alts.len() == 1 {
                alts.remove(0)
            } else {
                SearchExpr::Or(alts)
            });
        }
        match parts.len() {
            0 => {}
            1 => rows.push(parts.remove(0)),
            _ => rows.push(SearchExpr::And(parts)),
        }
    }
    Ok(if rows.len() == 1 {
        rows.remove(0)
    } else {
        // No rows: an empty OR, Splunk's `NOT ()`, matches nothing.
        SearchExpr::Or(rows)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::columns::testutil::t;
    use crate::commands::search::SearchMatcher;

    #[test]
    fn expansion_is_an_or_of_ands() {
        let sub = t(
            &["process_id", "dest", "_time", "x"],
            &[&["12", "h1", "5", "<null>"], &["7", "h2", "6", "a|b"]],
        );
        let e = expand(&sub, &(0..1)).unwrap();
        let m = SearchMatcher::new(&e);
        let rows = t(
            &["process_id", "dest", "x"],
            &[
                &["12", "H1", "z"],
                &["12", "h2", "a"],
                &["7", "h2", "b"],
                &["7", "h2", "<null>"],
                &["7", "h2", "q"],
            ],
        );
        let hits: Vec<bool> = (0..rows.rows.len()).map(|r| m.matches(&rows, r)).collect();
        assert_eq!(hits, [true, false, true, false, false]);
        // No rows: Splunk's NOT (), which matches nothing.
        let none = expand(&t(&["a"], &[]), &(0..1)).unwrap();
        assert!(!SearchMatcher::new(&none).matches(&rows, 0));
        // Values are search values: `*` is a wildcard.
        let globs = expand(&t(&["dest"], &[&["h*"]]), &(0..1)).unwrap();
        assert!(SearchMatcher::new(&globs).matches(&rows, 0));
        // A `search` column is search text.
        let text = expand(&t(&["search"], &[&["dest=h2 x=b"]]), &(0..1)).unwrap();
        let m = SearchMatcher::new(&text);
        assert!(m.matches(&rows, 2) && !m.matches(&rows, 1));
    }
}
