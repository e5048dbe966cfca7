//! Detections compiled to SQL (`evidx-query --emit-sql duckdb|spark`).
//!
//! The parsed pipeline ([`crate::spl::ast`]) becomes one statement over a
//! table or view named `processes` with the columns of evidx's Parquet
//! output (one row per process event, full values, NULL for a field the
//! event does not have). It gives the table `evidx-query` gives over the
//! index of the same events: the same columns in the same order, the same
//! rows in the same order, the same cell text once rendered as CSV.
//!
//! One module per concern: `dialect` (what differs between DuckDB and
//! Spark), `search` (the search language: the tstats `where` over events,
//! `| search` over result rows), `tstats` (grouping and aggregates),
//! `eval` (the eval language: conditions for `| where`, values for
//! `| eval`), `regex` (patterns every engine reads alike),
//! `stats` (`stats` and `eventstats`), `lookup` (the lookup's rows written
//! into the statement), `subsearch` (`search [...]` and `join`),
//! `transaction`, `post` (the other commands after tstats).
//!
//! The statement is a chain of CTEs, one per command. Every column of a
//! stage has a generated name (`c0`, `c1`, ...; the SPL names are given
//! only in the final `SELECT`) and a [`Kind`] known when compiling; a
//! hidden `ord` column keeps evidx's row order. A construct whose SQL
//! could give a different answer is refused with its position, as
//! `evidx-query` refuses an unsupported one.

mod dialect;
mod eval;
mod filter_regex;
mod lookup;
mod post;
mod regex;
mod search;
mod stats;
mod subsearch;
mod transaction;
mod tstats;

pub use dialect::Dialect;

use crate::engine::QueryError;
use crate::spl::ast::{Span, SubSource, Subsearch};
use crate::spl::{self, Query};

/// How a column's values are held in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text (or NULL): evidx's single-valued cell.
    Text,
    /// A BIGINT whose decimal text is the cell (count, dc, time seconds).
    Int,
    /// A list of texts: a multi-valued cell (`values()`); NULL or empty
    /// is a null cell.
    Multi,
    /// A DOUBLE (`stats avg()`, arithmetic on fractions) whose text is
    /// evidx's `format_num` of it ([`Dialect::num_text`]).
    Float,
}

/// A column of the current stage.
#[derive(Debug, Clone)]
struct Col {
    /// The name in SPL.
    name: String,
    /// The column's generated name in SQL.
    sql: String,
    kind: Kind,
}

impl Col {
    /// The column read through the table alias `alias`.
    fn at(&self, alias: &str) -> Col {
        Col {
            sql: format!("{alias}.{}", self.sql),
            ..self.clone()
        }
    }
}

/// One value of a cell as SQL: its text and evidx's number reading of it
/// (`parse_num`: NULL when it is not a number).
struct Val {
    text: String,
    num: String,
}

/// A refusal: what cannot be compiled, and where.
#[derive(Debug)]
struct Refusal {
    message: String,
    span: Span,
}

type Result<T> = std::result::Result<T, Refusal>;

fn refuse<T>(message: impl Into<String>, span: &Span) -> Result<T> {
    Err(Refusal {
        message: message.into(),
        span: span.clone(),
    })
}

/// The query with the tables of its `lookup` commands from `store` (a
/// lookup not found stays without, and compiling it is refused with the
/// reason).
pub fn with_lookups(query: &Query, store: &crate::lookups::LookupStore) -> Query {
    let mut q = query.clone();
    for cmd in &mut q.pipeline.commands {
        if let spl::ast::Command::Lookup(l) = cmd {
            if l.table.is_none() {
                l.table = store.get(&l.name).ok().flatten();
            }
        }
    }
    q
}

/// Compile a parsed query into one SQL statement of `dialect`.
pub fn compile(query: &Query, dialect: Dialect) -> std::result::Result<String, QueryError> {
    let spans = spl::parser::command_spans(&query.text);
    let mut c = Compiler {
        d: dialect,
        ctes: Vec::new(),
        cols: Vec::new(),
        next_id: 0,
        subs: Vec::new(),
    };
    c.run(query, &spans).map_err(|r| QueryError::Unsupported {
        message: format!("--emit-sql: {}", r.message),
        span: r.span,
        text: query.text.clone(),
    })
}

/// Builds the CTE chain.
struct Compiler {
    d: Dialect,
    /// `(name, body)` of each stage so far.
    ctes: Vec<(String, String)>,
    cols: Vec<Col>,
    next_id: usize,
    /// The compiled subsearches of `| search` filters, by their span.
    subs: Vec<(Span, subsearch::SubTable)>,
}

impl Compiler {
    fn run(&mut self, query: &Query, spans: &[Span]) -> Result<String> {
        let p = &query.pipeline;
        tstats::compile(self, &p.tstats)?;
        for (i, cmd) in p.commands.iter().enumerate() {
            // Without a span of its own, a command is pointed at by the
            // text the parser read it from (the whole query if unknown).
            let span = spans.get(i).cloned().unwrap_or(0..query.text.len());
            post::compile(self, cmd, &span)?;
        }
        Ok(self.finish())
    }

    /// Compile `sub` into stages of its own, its rows cut to `cap`; the
    /// current stage and columns are those from before.
    fn subsearch(&mut self, sub: &Subsearch, cap: usize) -> Result<subsearch::SubTable> {
        let SubSource::Tstats(ts) = &sub.source else {
            return refuse(
                "a subsearch over `inputlookup` is not compiled to SQL (one over tstats is)",
                &sub.span,
            );
        };
        let outer = self.current();
        let outer_cols = std::mem::take(&mut self.cols);
        tstats::compile(self, ts)?;
        for cmd in &sub.commands {
            post::compile(self, cmd, &sub.span)?;
        }
        let cols = std::mem::replace(&mut self.cols, outer_cols);
        let mut list: Vec<String> = cols.iter().map(|col| col.sql.clone()).collect();
        list.push("ord".into());
        self.push_cte(format!(
            "SELECT {} FROM (SELECT *, row_number() OVER (ORDER BY ord) AS sub_n FROM {}) AS q WHERE sub_n <= {cap}",
            list.join(", "),
            self.current()
        ));
        let name = self.current();
        // The stages go on from the outer one.
        self.push_cte(format!("SELECT * FROM {outer}"));
        Ok(subsearch::SubTable { name, cols })
    }

    /// A new generated column name.
    fn fresh(&mut self) -> String {
        let s = format!("c{}", self.next_id);
        self.next_id += 1;
        s
    }

    /// The name of the current stage.
    fn current(&self) -> String {
        self.ctes
            .last()
            .map_or_else(|| "processes".to_string(), |(n, _)| n.clone())
    }

    /// Add a stage selecting `cols` (each `(expr, col)`: the column
    /// computed by `expr`, or passed on when `expr` is its own name) from
    /// the current stage, keeping the rows where `filter` is true.
    fn stage(&mut self, cols: Vec<(String, Col)>, filter: Option<String>) {
        let mut from = self.current();
        if let Some(f) = filter {
            from.push_str(&format!(" WHERE {f}"));
        }
        self.stage_from(cols, &from, "ord");
    }

    /// Add a stage selecting `cols` and the row order `ord` from `from`
    /// (what follows FROM: tables, joins, a WHERE).
    fn stage_from(&mut self, cols: Vec<(String, Col)>, from: &str, ord: &str) {
        let mut list: Vec<String> = cols
            .iter()
            .map(|(e, c)| match *e == c.sql {
                true => c.sql.clone(),
                false => format!("{e} AS {}", c.sql),
            })
            .collect();
        list.push(match ord {
            "ord" => "ord".to_string(),
            o => format!("{o} AS ord"),
        });
        self.push_cte(format!("SELECT {} FROM {from}", list.join(", ")));
        self.cols = cols.into_iter().map(|(_, c)| c).collect();
    }

    fn push_cte(&mut self, body: String) {
        let name = format!("s{}", self.ctes.len());
        self.ctes.push((name, body));
    }

    /// The current columns, passed on unchanged.
    fn passed(&self) -> Vec<(String, Col)> {
        self.cols
            .iter()
            .map(|c| (c.sql.clone(), c.clone()))
            .collect()
    }

    /// Keep the rows where `filter` is true.
    fn filter(&mut self, filter: String) {
        let cols = self.passed();
        self.stage(cols, Some(filter));
    }

    /// The cell of a column as its text (multi-values joined by newlines,
    /// as evidx writes them in CSV).
    fn text(&self, c: &Col) -> String {
        match c.kind {
            Kind::Text => c.sql.clone(),
            Kind::Int => self.d.int_text(&c.sql),
            Kind::Float => self.d.num_text(&c.sql),
            Kind::Multi => self.d.list_join(&c.sql),
        }
    }

    /// The current column named `name` (the first, as evidx looks it up).
    fn col(&self, name: &str) -> Option<&Col> {
        self.cols.iter().find(|c| c.name == name)
    }

    /// A text value as a [`Val`].
    fn val(&self, text: &str) -> Val {
        Val {
            text: text.to_string(),
            num: self.d.parse_num(text),
        }
    }

    /// The text of a value of `kind` (a multi-value's first value).
    fn first_text(&self, x: &str, kind: Kind) -> String {
        match kind {
            Kind::Text => x.to_string(),
            Kind::Int => self.d.int_text(x),
            Kind::Float => self.d.num_text(x),
            Kind::Multi => self.d.list_first(x),
        }
    }

    /// evidx's number of a value of `kind` (a multi-value's first value),
    /// as a DOUBLE; null when it is not a number.
    fn first_num(&self, x: &str, kind: Kind) -> String {
        match kind {
            Kind::Int => format!("CAST({x} AS DOUBLE)"),
            Kind::Float => x.to_string(),
            Kind::Text => self.d.parse_num(x),
            Kind::Multi => self.d.parse_num(&self.d.list_first(x)),
        }
    }

    /// True when some value of the cell satisfies `pred`; false for null.
    fn any_value(&self, c: &Col, pred: impl Fn(&Val) -> String) -> String {
        match c.kind {
            Kind::Multi => format!(
                "coalesce({}, FALSE)",
                self.d.list_any(&c.sql, &pred(&self.val("v")))
            ),
            kind => {
                let v = Val {
                    text: self.first_text(&c.sql, kind),
                    num: self.first_num(&c.sql, kind),
                };
                format!("({} IS NOT NULL AND {})", c.sql, pred(&v))
            }
        }
    }

    /// True when the cell is null.
    fn is_null(&self, c: &Col) -> String {
        match c.kind {
            Kind::Text | Kind::Int | Kind::Float => format!("({} IS NULL)", c.sql),
            Kind::Multi => format!("({} IS NULL OR {} = 0)", c.sql, self.d.list_len(&c.sql)),
        }
    }

    /// The statement: the stages, then the columns under their SPL names
    /// as text, in evidx's row order.
    fn finish(&self) -> String {
        let select: Vec<String> = self
            .cols
            .iter()
            .map(|c| format!("{} AS {}", self.text(c), self.d.ident(&c.name)))
            .collect();
        let ctes: Vec<String> = self
            .ctes
            .iter()
            .map(|(n, b)| format!("{n} AS (\n  {b}\n)"))
            .collect();
        let select = match select.is_empty() {
            // No columns left: evidx prints its rows with no cells.
            true => "1 AS _evidx_no_columns".to_string(),
            false => select.join(",\n  "),
        };
        format!(
            "WITH {}\nSELECT\n  {select}\nFROM {}\nORDER BY ord\n",
            ctes.join(",\n"),
            self.current()
        )
    }
}

/// Put `col`, computed by `expr`, in place of the column of its name, or
/// after the others (as `eval` sets a field).
fn put_column(cols: &mut Vec<(String, Col)>, expr: String, col: Col) {
    match cols.iter().position(|(_, c)| c.name == col.name) {
        Some(i) => cols[i] = (expr, col),
        None => cols.push((expr, col)),
    }
}

/// A comparison of a value with a literal as evidx's eval and search
/// languages make it: numbers when both sides are numbers, else the texts
/// in byte order. `op` is a SQL operator.
fn compare_literal(d: Dialect, v: &Val, op: &str, lit_text: &str, lit_num: Option<f64>) -> String {
    let as_text = format!("({} {op} {})", v.text, d.lit(lit_text));
    match lit_num {
        Some(n) => format!(
            "(CASE WHEN {num} IS NOT NULL THEN {num} {op} {} ELSE {as_text} END)",
            d.num(n),
            num = v.num
        ),
        None => as_text,
    }
}
