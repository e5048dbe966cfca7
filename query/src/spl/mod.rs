//! The SPL front end: macro expansion (`macros`), a character cursor
//! (`lexer`) and a recursive-descent parser (`parser`) that produce the
//! [`ast::Pipeline`] contract. The parser is split by what it parses:
//! `parser` (entry point), `tstats` (the `tstats` clause), `events` (the
//! event searches `from datamodel`, `datamodel`), `search` (search
//! language), `eval_expr` (eval language), `post_commands` (the commands
//! after `tstats`, and the simple ones: rename, where, eval, table, sort,
//! ...), `reshape_commands` (lookup, rex, the stats family, join,
//! transaction, ...), `subsearch` (`[ ... ]`) and `args` (`key=value`
//! arguments); `parser` re-exports their public items. Dependencies run
//! one way: `parser` -> `tstats`, `post_commands` -> `search`,
//! `eval_expr` -> `lexer`, `ast`.

mod args;
pub mod ast;
mod eval_expr;
mod events;
pub mod lexer;
pub mod macros;
pub mod parser;
mod post_commands;
mod reshape_commands;
mod search;
mod subsearch;
mod tstats;

pub use macros::{Macro, MacroSet};

use ast::Span;

/// A parsed query together with the text its spans point into.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The macro-expanded query text; every AST span is a byte range in it.
    pub text: String,
    pub pipeline: ast::Pipeline,
}

/// An error in a query, located by a byte span.
///
/// For parse errors the span points into the macro-expanded text; for macro
/// errors (unknown macro, cycle) it points into the text given to
/// [`parse_query`], because the expanded text does not exist yet. `text`
/// holds whichever text the span refers to, so [`SplError::diagram`] can
/// always draw the caret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SplError {
    pub message: String,
    pub span: Span,
    /// The text `span` refers to (empty until [`parse_query`] fills it).
    pub text: String,
}

impl SplError {
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        SplError {
            message: message.into(),
            span,
            text: String::new(),
        }
    }

    fn with_text(mut self, text: &str) -> Self {
        self.text = text.to_string();
        self
    }

    /// The message, the offending line of `text`, and `^^^` under the span.
    pub fn render(&self, text: &str) -> String {
        let start = clamp_to_char(text, self.span.start.min(text.len()));
        let end = clamp_to_char(text, self.span.end.clamp(start, text.len()));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line_no = text[..start].matches('\n').count() + 1;
        let line = &text[line_start..line_end];
        let col = text[line_start..start].chars().count();
        let width = text[start..end.min(line_end)].chars().count().max(1);
        let pad: String = text[line_start..start]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!(
            "error: {}\n --> line {}, column {}\n  | {}\n  | {}{}",
            self.message,
            line_no,
            col + 1,
            line,
            pad,
            "^".repeat(width)
        )
    }

    /// [`SplError::render`] against the text the error carries.
    pub fn diagram(&self) -> String {
        self.render(&self.text)
    }
}

/// The largest char boundary at or before `i`.
fn clamp_to_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Expand macros in `text`, then parse the result into a pipeline.
pub fn parse_query(text: &str, macros: &MacroSet) -> Result<Query, SplError> {
    let expanded = macros.expand(text).map_err(|e| e.with_text(text))?;
    let pipeline = parser::parse_pipeline(&expanded).map_err(|e| e.with_text(&expanded))?;
    Ok(Query {
        text: expanded,
        pipeline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_points_at_span() {
        let e = SplError::new("boom", 6..9);
        let r = e.render("| a\n| bad x");
        assert!(r.contains("line 2, column 3"), "{r}");
        assert!(r.ends_with("  | | bad x\n  |   ^^^"), "{r}");
    }

    #[test]
    fn render_survives_bad_spans() {
        #[allow(clippy::reversed_empty_ranges)]
        let e = SplError::new("x", 50..2);
        let _ = e.render("héllo");
        let e = SplError::new("x", 2..3);
        let _ = e.render("héllo");
        let _ = e.render("");
    }
}
