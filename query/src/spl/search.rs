//! The search language: the tstats `where` clause and the `search` command.
//!
//! Precedence, loosest first: AND (explicit `AND` or juxtaposition), then
//! OR, then NOT. So OR binds tighter than AND (`a=1 b=2 OR c=3` is
//! `a=1 AND (b=2 OR c=3)`), unlike the eval language. Terms are
//! `field op value`, `field IN (...)`, a bare (possibly quoted) term or a
//! parenthesized group. Operator keywords are case-sensitive (`AND`, `OR`,
//! `NOT`); `IN` is not.

use super::ast::*;
use super::lexer::{unescape_search, Cursor, Result};
use super::SplError;

/// A search-language expression on its own (for tests and tools).
pub fn parse_search_expr(text: &str) -> Result<SearchExpr> {
    let mut c = Cursor::new(text);
    let e = search_expr(&mut c, false)?
        .ok_or_else(|| SplError::new("empty search expression", 0..text.len()))?;
    c.skip_ws();
    if !c.eof() {
        return Err(c.error_here(format!("unexpected {}", c.describe_next())));
    }
    Ok(e)
}

/// Parse a search-language expression up to `|` (or `by` when `stop_at_by`).
/// Returns None when there is nothing before the end.
pub(super) fn search_expr(c: &mut Cursor, stop_at_by: bool) -> Result<Option<SearchExpr>> {
    let items = search_and(c, 0, stop_at_by)?;
    Ok(match items.len() {
        0 => None,
        _ => Some(build_and(items)),
    })
}

fn build_and(items: Vec<SearchExpr>) -> SearchExpr {
    let mut flat = Vec::with_capacity(items.len());
    for it in items {
        match it {
            SearchExpr::And(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    if flat.len() == 1 {
        flat.pop().unwrap_or(SearchExpr::And(Vec::new()))
    } else {
        SearchExpr::And(flat)
    }
}

fn build_or(items: Vec<SearchExpr>) -> SearchExpr {
    let mut flat = Vec::with_capacity(items.len());
    for it in items {
        match it {
            SearchExpr::Or(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    if flat.len() == 1 {
        flat.pop().unwrap_or(SearchExpr::Or(Vec::new()))
    } else {
        SearchExpr::Or(flat)
    }
}

/// The AND level: explicit `AND` or juxtaposition (lowest precedence).
fn search_and(c: &mut Cursor, depth: usize, stop_at_by: bool) -> Result<Vec<SearchExpr>> {
    let mut items = Vec::new();
    loop {
        c.skip_ws();
        match c.peek() {
            None | Some('|') => break,
            Some(')') if depth > 0 => break,
            Some(')') => return Err(c.error_here("unbalanced `)`")),
            _ => {}
        }
        if stop_at_by && c.peek_keyword("by", true) {
            break;
        }
        if let Some(kw) = c.eat_keyword("AND", false) {
            c.skip_ws();
            if items.is_empty()
                || c.at_command_end()
                || c.peek() == Some(')')
                || (stop_at_by && c.peek_keyword("by", true))
            {
                return Err(SplError::new("`AND` needs a term on both sides", kw));
            }
            continue;
        }
        items.push(search_or(c, depth, stop_at_by)?);
    }
    Ok(items)
}

fn search_or(c: &mut Cursor, depth: usize, stop_at_by: bool) -> Result<SearchExpr> {
    let mut items = vec![search_unary(c, depth, stop_at_by)?];
    loop {
        let save = c.pos();
        c.skip_ws();
        if c.eat_keyword("OR", false).is_some() {
            items.push(search_unary(c, depth, stop_at_by)?);
        } else {
            c.set_pos(save);
            break;
        }
    }
    Ok(if items.len() == 1 {
        items.pop().unwrap_or(SearchExpr::Or(Vec::new()))
    } else {
        build_or(items)
    })
}

fn search_unary(c: &mut Cursor, depth: usize, stop_at_by: bool) -> Result<SearchExpr> {
    c.skip_ws();
    if c.eat_keyword("NOT", false).is_some() {
        let inner = c.nested(|c| search_unary(c, depth, stop_at_by))?;
        return Ok(SearchExpr::Not(Box::new(inner)));
    }
    search_primary(c, depth, stop_at_by)
}

fn search_primary(c: &mut Cursor, depth: usize, stop_at_by: bool) -> Result<SearchExpr> {
    c.skip_ws();
    match c.peek() {
        Some('(') => {
            let open = c.pos();
            c.eat("(");
            let items = c.nested(|c| search_and(c, depth + 1, stop_at_by))?;
            c.skip_ws();
            if !c.eat(")") {
                return Err(SplError::new("unclosed `(`", open..open + 1));
            }
            if items.is_empty() {
                return Err(SplError::new("empty parentheses", open..c.pos()));
            }
            Ok(build_and(items))
        }
        Some('[') => Ok(SearchExpr::Subsearch(Box::new(c.subsearch()?))),
        None | Some('|') | Some(')') => Err(c.error_here(format!(
            "expected a search term, found {}",
            c.describe_next()
        ))),
        _ => {
            if c.peek_keyword("OR", false) || c.peek_keyword("AND", false) {
                return Err(c.error_here("expected a search term before the operator"));
            }
            if stop_at_by && c.peek_keyword("by", true) {
                return Err(c.error_here("expected a search term before `by`"));
            }
            search_term(c)
        }
    }
}

/// `field op value`, `field IN (...)` or a bare term.
fn search_term(c: &mut Cursor) -> Result<SearchExpr> {
    let start = c.pos();
    let left = if c.peek() == Some('"') {
        c.quoted_search()?.0
    } else {
        let (raw, _) = c.take_while(|ch| {
            !ch.is_whitespace()
                && !matches!(ch, '=' | '!' | '<' | '>' | '(' | ')' | '"' | '|' | '[')
        });
        Value {
            text: unescape_search(raw),
            quoted: false,
        }
    };
    let after_left = c.pos();
    c.skip_ws();
    let op = if c.eat("!=") {
        Some(CmpOp::Ne)
    } else if c.eat("==") || c.eat("=") {
        Some(CmpOp::Eq)
    } else if c.eat("<=") {
        Some(CmpOp::Le)
    } else if c.eat(">=") {
        Some(CmpOp::Ge)
    } else if c.eat("<") {
        Some(CmpOp::Lt)
    } else if c.eat(">") {
        Some(CmpOp::Gt)
    } else {
        None
    };
    if let Some(op) = op {
        if left.text.is_empty() {
            return Err(SplError::new(
                "expected a field name before the operator",
                start..c.pos(),
            ));
        }
        c.skip_ws();
        let value = search_value(c)?;
        return Ok(SearchExpr::Cmp {
            field: left.text,
            op,
            value,
            span: start..c.pos(),
        });
    }
    if !left.text.is_empty() && c.peek_keyword("IN", true) {
        let save = c.pos();
        c.eat_keyword("IN", true);
        c.skip_ws();
        if c.peek() == Some('(') {
            let values = in_list(c)?;
            return Ok(SearchExpr::In {
                field: left.text,
                values,
                span: start..c.pos(),
            });
        }
        c.set_pos(save);
    }
    c.set_pos(after_left);
    if left.text.is_empty() && !left.quoted {
        return Err(c.error_here(format!(
            "expected a search term, found {}",
            c.describe_next()
        )));
    }
    Ok(SearchExpr::Term {
        value: left,
        span: start..after_left,
    })
}

/// A value after an operator: quoted, or unquoted up to whitespace, `|`, or
/// a `)` that closes a group (parentheses balanced inside the value, as in
/// `*GetCurrent()*`, stay in it).
fn search_value(c: &mut Cursor) -> Result<Value> {
    match c.peek() {
        Some('"') => Ok(c.quoted_search()?.0),
        Some('[') => Err(c.subsearch_error()),
        None | Some('|') => Err(c.error_here("expected a value after the operator")),
        Some(ch) if ch.is_whitespace() => Err(c.error_here("expected a value after the operator")),
        _ => {
            let raw = unquoted_value(c, false);
            if raw.is_empty() {
                return Err(c.error_here("expected a value after the operator"));
            }
            Ok(Value {
                text: unescape_search(raw),
                quoted: false,
            })
        }
    }
}

/// Scan an unquoted value; `in_list` also stops at `,`.
fn unquoted_value<'a>(c: &mut Cursor<'a>, in_list: bool) -> &'a str {
    let mut depth = 0usize;
    let mut escaped = false;
    c.take_while(|ch| {
        if escaped {
            escaped = false;
            return !ch.is_whitespace();
        }
        match ch {
            '\\' => {
                escaped = true;
                true
            }
            _ if ch.is_whitespace() => false,
            '|' => false,
            ',' if in_list => false,
            '(' => {
                depth += 1;
                true
            }
            ')' if depth == 0 => false,
            ')' => {
                depth -= 1;
                true
            }
            _ => true,
        }
    })
    .0
}

/// `( a, "b*" c )`: commas and/or spaces between items.
fn in_list(c: &mut Cursor) -> Result<Vec<Value>> {
    let open = c.pos();
    c.eat("(");
    let mut values = Vec::new();
    loop {
        c.skip_commas();
        match c.peek() {
            Some(')') => {
                c.eat(")");
                break;
            }
            None | Some('|') => return Err(SplError::new("unclosed `IN (` list", open..open + 1)),
            Some('"') => values.push(c.quoted_search()?.0),
            Some('[') => return Err(c.subsearch_error()),
            _ => {
                let raw = unquoted_value(c, true);
                values.push(Value {
                    text: unescape_search(raw),
                    quoted: false,
                });
            }
        }
    }
    if values.is_empty() {
        return Err(SplError::new("empty `IN ()` list", open..c.pos()));
    }
    Ok(values)
}
