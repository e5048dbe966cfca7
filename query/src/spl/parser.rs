//! Recursive-descent parser for the supported SPL subset (tiers S0-S2 of
//! `SPL_SUBSET.md`): `| tstats ...` followed by post-processing commands.
//!
//! Two expression languages live here. The search language (tstats `where`,
//! `search`) has implicit AND and binds OR tighter than AND; the eval
//! language (`where`, `eval`) binds AND tighter than OR.

use super::ast::*;
use super::lexer::{unescape, Cursor};
use super::SplError;

type Result<T> = std::result::Result<T, SplError>;

/// Commands after `tstats` that evidx runs, for error messages.
pub const SUPPORTED_COMMANDS: &str =
    "tstats, rename, convert, where, eval, search, regex, table, fields, sort, head";

/// Eval functions with their (min, max) argument counts.
pub const EVAL_FUNCTIONS: &[(&str, usize, usize)] = &[
    ("abs", 1, 1),
    ("case", 2, usize::MAX),
    ("coalesce", 1, usize::MAX),
    ("false", 0, 0),
    ("if", 3, 3),
    ("in", 2, usize::MAX),
    ("isnotnull", 1, 1),
    ("isnull", 1, 1),
    ("len", 1, 1),
    ("like", 2, 2),
    ("lower", 1, 1),
    ("ltrim", 1, 2),
    ("match", 2, 2),
    ("mvcount", 1, 1),
    ("mvindex", 2, 3),
    ("null", 0, 0),
    ("replace", 3, 3),
    ("round", 1, 2),
    ("rtrim", 1, 2),
    ("split", 2, 2),
    ("substr", 2, 3),
    ("tonumber", 1, 2),
    ("tostring", 1, 2),
    ("trim", 1, 2),
    ("true", 0, 0),
    ("upper", 1, 1),
];

/// Parse a macro-expanded query.
pub fn parse_pipeline(text: &str) -> Result<Pipeline> {
    let mut c = Cursor::new(text);
    c.skip_ws();
    c.eat("|");
    c.skip_ws();
    let tstats = parse_tstats(&mut c)?;
    let mut commands = Vec::new();
    loop {
        c.skip_ws();
        if c.eof() {
            break;
        }
        if !c.eat("|") {
            return Err(c.error_here(format!("expected `|` before {}", c.describe_next())));
        }
        c.skip_ws();
        commands.push(parse_command(&mut c)?);
    }
    Ok(Pipeline { tstats, commands })
}

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

/// An eval-language expression on its own (for tests and tools).
pub fn parse_eval_expr(text: &str) -> Result<Expr> {
    let mut c = Cursor::new(text);
    let e = eval_or(&mut c)?;
    c.skip_ws();
    if !c.eof() {
        return Err(c.error_here(format!("unexpected {}", c.describe_next())));
    }
    Ok(e)
}

fn unsupported_command(name: &str, span: Span) -> SplError {
    SplError::new(
        format!("unsupported command `{name}` (evidx supports {SUPPORTED_COMMANDS})"),
        span,
    )
}

fn subsearch_error(c: &Cursor) -> SplError {
    c.error_here("unsupported subsearch `[...]`")
}

// ---------------------------------------------------------------- tstats

fn parse_tstats(c: &mut Cursor) -> Result<Tstats> {
    let start = c.pos();
    if c.eat_keyword("tstats", true).is_none() {
        if c.peek() == Some('[') {
            return Err(subsearch_error(c));
        }
        let (word, span) = c.ident();
        if word.is_empty() {
            return Err(c.error_here("the query must start with `| tstats`"));
        }
        return Err(SplError::new(
            format!("the query must start with `| tstats`, not `{word}`"),
            span,
        ));
    }
    let mut options = Vec::new();
    // Options (`name=value`) come before the aggregates.
    loop {
        c.skip_ws();
        if let Some(opt) = try_option(c)? {
            options.push(opt);
        } else {
            break;
        }
    }
    let mut aggs = Vec::new();
    loop {
        c.skip_ws();
        if c.peek_keyword("from", true) {
            break;
        }
        if c.at_command_end() {
            return Err(c.error_here("expected `from datamodel=...` in tstats"));
        }
        aggs.push(parse_agg(c)?);
        c.skip_ws();
        c.eat(",");
    }
    if aggs.is_empty() {
        return Err(c.error_here("tstats needs at least one aggregate (e.g. `count`)"));
    }
    c.eat_keyword("from", true);
    c.skip_ws();
    if c.eat_keyword("datamodel", true).is_none() {
        return Err(c.error_here(format!(
            "expected `datamodel=` after `from`, found {}",
            c.describe_next()
        )));
    }
    c.skip_ws();
    if !c.eat("=") {
        return Err(c.error_here("expected `=` after `datamodel`"));
    }
    c.skip_ws();
    let datamodel = if c.peek() == Some('"') {
        c.quoted()?.0.text
    } else {
        c.take_while(|ch| !ch.is_whitespace() && ch != '|')
            .0
            .to_string()
    };
    if datamodel.is_empty() {
        return Err(c.error_here("expected a data model name after `datamodel=`"));
    }
    // Options after the data model (`nodename=...`), before `where`/`by`.
    loop {
        c.skip_ws();
        if c.peek_keyword("where", true) || c.peek_keyword("by", true) {
            break;
        }
        match try_option(c)? {
            Some(opt) => options.push(opt),
            None => break,
        }
    }
    let mut filter = None;
    c.skip_ws();
    if let Some(kw) = c.eat_keyword("where", true) {
        filter = Some(
            search_expr(c, true)?
                .ok_or_else(|| SplError::new("empty `where` clause", kw.clone()))?,
        );
    }
    let mut by = Vec::new();
    c.skip_ws();
    if let Some(kw) = c.eat_keyword("by", true) {
        by = parse_by(c, kw)?;
    }
    c.skip_ws();
    if !c.at_command_end() {
        return Err(c.error_here(format!("unexpected {} in tstats", c.describe_next())));
    }
    Ok(Tstats {
        options,
        aggs,
        datamodel,
        filter,
        by,
        span: start..c.pos(),
    })
}

/// `name=value` if the cursor is at one; the cursor is unchanged otherwise.
fn try_option(c: &mut Cursor) -> Result<Option<(String, String)>> {
    let save = c.pos();
    let (name, _) = c.ident();
    if name.is_empty() || c.peek() != Some('=') {
        c.set_pos(save);
        return Ok(None);
    }
    let name = name.to_ascii_lowercase();
    c.eat("=");
    let value = if c.peek() == Some('"') {
        c.quoted()?.0.text
    } else {
        c.take_while(|ch| !ch.is_whitespace() && ch != '|')
            .0
            .to_string()
    };
    Ok(Some((name, value)))
}

fn parse_agg(c: &mut Cursor) -> Result<Agg> {
    let start = c.pos();
    let (name, name_span) = c.ident();
    if name.is_empty() {
        return Err(c.error_here(format!(
            "expected a tstats aggregate, found {}",
            c.describe_next()
        )));
    }
    let lname = name.to_ascii_lowercase();
    let func = match lname.as_str() {
        "count" => AggFunc::Count,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "values" => AggFunc::Values,
        "dc" | "distinct_count" => AggFunc::Dc,
        "latest" => AggFunc::Latest,
        "earliest" => AggFunc::Earliest,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        _ => {
            return Err(SplError::new(
                format!(
                    "unsupported tstats aggregate `{name}` (evidx supports count, min, max, values, dc, distinct_count, latest, earliest, sum, avg)"
                ),
                name_span,
            ))
        }
    };
    let mut field = None;
    if c.peek() == Some('(') {
        c.eat("(");
        c.skip_ws();
        let f = if c.peek() == Some('"') {
            c.quoted()?.0.text
        } else {
            c.take_while(|ch| ch != ')' && !ch.is_whitespace() && ch != '|')
                .0
                .to_string()
        };
        c.skip_ws();
        if !c.eat(")") {
            return Err(c.error_here(format!("expected `)` to close `{name}(`")));
        }
        if f.is_empty() {
            return Err(SplError::new(
                format!("`{name}()` needs a field"),
                start..c.pos(),
            ));
        }
        field = Some(f);
    } else if func != AggFunc::Count {
        return Err(c.error_here(format!("expected `(` after `{name}`")));
    }
    let end = c.pos();
    let default_column = match &field {
        None => "count".to_string(),
        Some(f) => format!("{lname}({f})"),
    };
    let save = c.pos();
    c.skip_ws();
    let column = if c.eat_keyword("as", true).is_some() {
        c.skip_ws();
        let alias = if c.peek() == Some('"') {
            c.quoted()?.0.text
        } else {
            c.take_while(|ch| !ch.is_whitespace() && ch != ',' && ch != '|')
                .0
                .to_string()
        };
        if alias.is_empty() {
            return Err(c.error_here("expected a name after `as`"));
        }
        alias
    } else {
        c.set_pos(save);
        default_column
    };
    Ok(Agg {
        func,
        field,
        column,
        span: start..end.max(c.pos()),
    })
}

fn parse_by(c: &mut Cursor, kw: Span) -> Result<Vec<ByField>> {
    let mut by = Vec::new();
    let mut pending_span: Option<(i64, Span)> = None;
    loop {
        c.skip_ws();
        while c.eat(",") {
            c.skip_ws();
        }
        if c.at_command_end() {
            break;
        }
        if c.peek_keyword("span", true) {
            let save = c.pos();
            c.ident();
            c.skip_ws();
            if c.eat("=") {
                c.skip_ws();
                let (text, span) = if c.peek() == Some('"') {
                    let (v, s) = c.quoted()?;
                    (v.text, s)
                } else {
                    let (t, s) = c.take_while(|ch| !ch.is_whitespace() && ch != ',' && ch != '|');
                    (t.to_string(), s)
                };
                let secs = parse_span(&text).map_err(|m| SplError::new(m, span.clone()))?;
                let time = by
                    .iter_mut()
                    .rev()
                    .find(|b| matches!(b, ByField::Time { .. }));
                match time {
                    Some(ByField::Time { span_secs }) => *span_secs = Some(secs),
                    _ => pending_span = Some((secs, span)),
                }
                continue;
            }
            c.set_pos(save);
        }
        if c.peek() == Some('[') {
            return Err(subsearch_error(c));
        }
        let name = if c.peek() == Some('"') {
            c.quoted()?.0.text
        } else {
            c.take_while(|ch| !ch.is_whitespace() && ch != ',' && ch != '|')
                .0
                .to_string()
        };
        if name == "_time" {
            by.push(ByField::Time {
                span_secs: pending_span.take().map(|(s, _)| s),
            });
        } else {
            by.push(ByField::Field(name));
        }
    }
    if let Some((_, span)) = pending_span {
        return Err(SplError::new(
            "`span=` needs `_time` in the by clause",
            span,
        ));
    }
    if by.is_empty() {
        return Err(SplError::new("`by` needs at least one field", kw));
    }
    Ok(by)
}

/// `1h`, `5m`, `30s`, `1d` ... in seconds.
pub fn parse_span(text: &str) -> std::result::Result<i64, String> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(digits_end);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("invalid span `{text}` (expected e.g. 1h, 5m, 30s, 1d)"))?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => {
            return Err(format!(
                "unsupported span unit `{unit}` in `{text}` (evidx supports s, m, h, d)"
            ))
        }
    };
    if n <= 0 {
        return Err(format!("span must be positive, got `{text}`"));
    }
    n.checked_mul(mult)
        .ok_or_else(|| format!("span `{text}` is too large"))
}

// ------------------------------------------------------- search language

/// Parse a search-language expression up to `|` (or `by` when `stop_at_by`).
/// Returns None when there is nothing before the end.
fn search_expr(c: &mut Cursor, stop_at_by: bool) -> Result<Option<SearchExpr>> {
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
        let inner = search_unary(c, depth, stop_at_by)?;
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
            let items = search_and(c, depth + 1, stop_at_by)?;
            c.skip_ws();
            if !c.eat(")") {
                return Err(SplError::new("unclosed `(`", open..open + 1));
            }
            if items.is_empty() {
                return Err(SplError::new("empty parentheses", open..c.pos()));
            }
            Ok(build_and(items))
        }
        Some('[') => Err(subsearch_error(c)),
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
        c.quoted()?.0
    } else {
        let (raw, _) = c.take_while(|ch| {
            !ch.is_whitespace()
                && !matches!(ch, '=' | '!' | '<' | '>' | '(' | ')' | '"' | '|' | '[')
        });
        Value {
            text: unescape(raw),
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
        Some('"') => Ok(c.quoted()?.0),
        Some('[') => Err(subsearch_error(c)),
        None | Some('|') => Err(c.error_here("expected a value after the operator")),
        Some(ch) if ch.is_whitespace() => Err(c.error_here("expected a value after the operator")),
        _ => {
            let raw = unquoted_value(c, false);
            if raw.is_empty() {
                return Err(c.error_here("expected a value after the operator"));
            }
            Ok(Value {
                text: unescape(raw),
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
        c.skip_ws();
        while c.eat(",") {
            c.skip_ws();
        }
        match c.peek() {
            Some(')') => {
                c.eat(")");
                break;
            }
            None | Some('|') => return Err(SplError::new("unclosed `IN (` list", open..open + 1)),
            Some('"') => values.push(c.quoted()?.0),
            Some('[') => return Err(subsearch_error(c)),
            _ => {
                let raw = unquoted_value(c, true);
                values.push(Value {
                    text: unescape(raw),
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

// -------------------------------------------------------------- commands

fn parse_command(c: &mut Cursor) -> Result<Command> {
    if c.peek() == Some('[') {
        return Err(subsearch_error(c));
    }
    let (name, span) = c.ident();
    if name.is_empty() {
        return Err(c.error_here(format!(
            "expected a command after `|`, found {}",
            c.describe_next()
        )));
    }
    let cmd = match name.to_ascii_lowercase().as_str() {
        "rename" => parse_rename(c)?,
        "convert" => parse_convert(c)?,
        "where" => {
            c.skip_ws();
            if c.at_command_end() {
                return Err(SplError::new("`where` needs an expression", span));
            }
            Command::Where(eval_or(c)?)
        }
        "eval" => parse_eval_cmd(c, span)?,
        "search" => Command::Search(search_expr(c, false)?.unwrap_or(SearchExpr::Term {
            value: Value {
                text: "*".into(),
                quoted: false,
            },
            span: span.clone(),
        })),
        "regex" => parse_regex(c)?,
        "table" => Command::Table(plain_args(c)?.into_iter().map(|a| a.0).collect()),
        "fields" => parse_fields(c, span)?,
        "sort" => parse_sort(c)?,
        "head" => parse_head(c)?,
        "tstats" => {
            return Err(SplError::new(
                "`tstats` must be the first command (and only once)",
                span,
            ))
        }
        _ => return Err(unsupported_command(name, span)),
    };
    c.skip_ws();
    if !c.at_command_end() {
        if c.peek() == Some('[') {
            return Err(subsearch_error(c));
        }
        return Err(c.error_here(format!("unexpected {} in `{name}`", c.describe_next())));
    }
    Ok(cmd)
}

/// Arguments of list commands: quoted or unquoted words, commas optional.
fn plain_args(c: &mut Cursor) -> Result<Vec<(String, Span, bool)>> {
    let mut out = Vec::new();
    loop {
        c.skip_ws();
        while c.eat(",") {
            c.skip_ws();
        }
        match c.peek() {
            None | Some('|') => break,
            Some('[') => return Err(subsearch_error(c)),
            Some('"') => {
                let (v, s) = c.quoted()?;
                out.push((v.text, s, true));
            }
            _ => {
                let (w, s) = c.take_while(|ch| !ch.is_whitespace() && ch != ',' && ch != '|');
                out.push((w.to_string(), s, false));
            }
        }
    }
    Ok(out)
}

fn parse_rename(c: &mut Cursor) -> Result<Command> {
    let args = plain_args(c)?;
    let mut pairs = Vec::new();
    let mut it = args.into_iter();
    while let Some((src, span, _)) = it.next() {
        match it.next() {
            Some((kw, _, false)) if kw.eq_ignore_ascii_case("as") => {}
            _ => return Err(SplError::new(format!("expected `{src} as NEWNAME`"), span)),
        }
        let Some((dst, _, _)) = it.next() else {
            return Err(SplError::new(
                format!("expected a new name after `{src} as`"),
                span,
            ));
        };
        pairs.push((src, dst));
    }
    if pairs.is_empty() {
        return Err(c.error_here("`rename` needs `FIELD as NEWNAME`"));
    }
    Ok(Command::Rename(pairs))
}

fn parse_convert(c: &mut Cursor) -> Result<Command> {
    let mut timeformat = "%m/%d/%Y %H:%M:%S".to_string();
    let mut conversions = Vec::new();
    loop {
        c.skip_ws();
        while c.eat(",") {
            c.skip_ws();
        }
        if c.at_command_end() {
            break;
        }
        let (word, span) = c.ident();
        if word.is_empty() {
            return Err(c.error_here(format!("unexpected {} in `convert`", c.describe_next())));
        }
        let lword = word.to_ascii_lowercase();
        c.skip_ws();
        if c.eat("=") {
            c.skip_ws();
            let value = if c.peek() == Some('"') {
                c.quoted()?.0.text
            } else {
                c.take_while(|ch| !ch.is_whitespace() && ch != '|')
                    .0
                    .to_string()
            };
            if lword != "timeformat" {
                return Err(SplError::new(
                    format!("unsupported convert option `{word}`"),
                    span,
                ));
            }
            timeformat = value;
            continue;
        }
        if lword != "ctime" {
            return Err(SplError::new(
                format!("unsupported convert function `{word}` (evidx supports ctime)"),
                span,
            ));
        }
        if !c.eat("(") {
            return Err(c.error_here(format!("expected `(` after `{word}`")));
        }
        c.skip_ws();
        let field = if c.peek() == Some('"') {
            c.quoted()?.0.text
        } else {
            c.take_while(|ch| ch != ')' && !ch.is_whitespace() && ch != '|')
                .0
                .to_string()
        };
        c.skip_ws();
        if !c.eat(")") || field.is_empty() {
            return Err(c.error_here("expected `FIELD)` in `ctime(...)`"));
        }
        let save = c.pos();
        c.skip_ws();
        let alias = if c.eat_keyword("as", true).is_some() {
            c.skip_ws();
            let a = if c.peek() == Some('"') {
                c.quoted()?.0.text
            } else {
                c.take_while(|ch| !ch.is_whitespace() && ch != ',' && ch != '|')
                    .0
                    .to_string()
            };
            if a.is_empty() {
                return Err(c.error_here("expected a name after `as`"));
            }
            Some(a)
        } else {
            c.set_pos(save);
            None
        };
        conversions.push(Conversion {
            func: lword,
            field,
            alias,
        });
    }
    if conversions.is_empty() {
        return Err(c.error_here("`convert` needs a conversion such as `ctime(FIELD)`"));
    }
    Ok(Command::Convert {
        timeformat,
        conversions,
    })
}

fn parse_eval_cmd(c: &mut Cursor, span: Span) -> Result<Command> {
    let mut assigns = Vec::new();
    loop {
        c.skip_ws();
        if c.at_command_end() {
            break;
        }
        let name = match c.peek() {
            Some('"') => c.quoted()?.0.text,
            Some('\'') => single_quoted(c)?,
            _ => c
                .take_while(|ch| !ch.is_whitespace() && !matches!(ch, '=' | '|' | ','))
                .0
                .to_string(),
        };
        if name.is_empty() {
            return Err(c.error_here("expected `FIELD=EXPRESSION` in `eval`"));
        }
        c.skip_ws();
        if c.rest().starts_with("==") || !c.eat("=") {
            return Err(c.error_here(format!("expected `=` after `{name}` in `eval`")));
        }
        let expr = eval_or(c)?;
        assigns.push((name, expr));
        c.skip_ws();
        if !c.eat(",") {
            break;
        }
    }
    if assigns.is_empty() {
        return Err(SplError::new("`eval` needs `FIELD=EXPRESSION`", span));
    }
    Ok(Command::Eval(assigns))
}

fn parse_regex(c: &mut Cursor) -> Result<Command> {
    c.skip_ws();
    if c.peek() == Some('"') {
        let pattern = c.quoted()?.0.text;
        return Ok(Command::Regex {
            field: None,
            negate: false,
            pattern,
        });
    }
    let (field, fspan) =
        c.take_while(|ch| !ch.is_whitespace() && !matches!(ch, '=' | '!' | '|' | '"'));
    if field.is_empty() {
        return Err(c.error_here("expected `FIELD=\"REGEX\"` after `regex`"));
    }
    c.skip_ws();
    let negate = if c.eat("!=") {
        true
    } else if c.eat("=") {
        false
    } else {
        return Err(SplError::new(
            format!("expected `=` or `!=` after `{field}` in `regex`"),
            fspan,
        ));
    };
    c.skip_ws();
    let pattern = if c.peek() == Some('"') {
        c.quoted()?.0.text
    } else {
        let raw = c.take_while(|ch| !ch.is_whitespace() && ch != '|').0;
        if raw.is_empty() {
            return Err(c.error_here("expected a regular expression"));
        }
        unescape(raw)
    };
    Ok(Command::Regex {
        field: Some(field.to_string()),
        negate,
        pattern,
    })
}

fn parse_fields(c: &mut Cursor, span: Span) -> Result<Command> {
    let mut args = plain_args(c)?;
    let mut remove = false;
    if let Some((first, _, false)) = args.first_mut() {
        if first == "-" || first == "+" {
            remove = first == "-";
            args.remove(0);
        } else if let Some(rest) = first.strip_prefix('-') {
            remove = true;
            *first = rest.to_string();
        } else if let Some(rest) = first.strip_prefix('+') {
            *first = rest.to_string();
        }
    }
    if args.is_empty() {
        return Err(SplError::new("`fields` needs at least one field", span));
    }
    Ok(Command::Fields {
        remove,
        fields: args.into_iter().map(|a| a.0).collect(),
    })
}

fn parse_sort(c: &mut Cursor) -> Result<Command> {
    let args = plain_args(c)?;
    let mut limit = None;
    let mut keys = Vec::new();
    let mut pending_desc: Option<bool> = None;
    let n = args.len();
    for (i, (arg, span, quoted)) in args.into_iter().enumerate() {
        if !quoted {
            if i == 0 && !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()) {
                limit = Some(parse_count(&arg, &span)?);
                continue;
            }
            if let Some(v) = arg.strip_prefix("limit=") {
                limit = Some(parse_count(v, &span)?);
                continue;
            }
            if arg == "-" || arg == "+" {
                pending_desc = Some(arg == "-");
                continue;
            }
            if i == n - 1 && !keys.is_empty() && (arg == "d" || arg == "desc") {
                for k in &mut keys {
                    let k: &mut SortKey = k;
                    k.descending = !k.descending;
                }
                continue;
            }
        }
        let (mut desc, mut body) = (pending_desc.take().unwrap_or(false), arg.as_str());
        if !quoted {
            if let Some(r) = body.strip_prefix('-') {
                desc = true;
                body = r;
            } else if let Some(r) = body.strip_prefix('+') {
                body = r;
            }
        }
        let mut kind = None;
        let mut field = body.to_string();
        if !quoted {
            if let Some(open) = body.find('(') {
                let k = body[..open].to_ascii_lowercase();
                let inner = body[open + 1..].strip_suffix(')');
                match (k.as_str(), inner) {
                    ("auto" | "str" | "num" | "ip", Some(f)) if !f.is_empty() => {
                        kind = Some(k.clone());
                        field = f.to_string();
                    }
                    _ => {
                        return Err(SplError::new(
                            format!("unsupported sort key `{body}` (use FIELD, num(FIELD), str(FIELD), ip(FIELD) or auto(FIELD))"),
                            span,
                        ))
                    }
                }
            }
        }
        if field.is_empty() {
            return Err(SplError::new("expected a field to sort by", span));
        }
        keys.push(SortKey {
            field,
            descending: desc,
            kind,
        });
    }
    if keys.is_empty() {
        return Err(c.error_here("`sort` needs at least one field"));
    }
    Ok(Command::Sort { limit, keys })
}

fn parse_count(text: &str, span: &Span) -> Result<usize> {
    text.parse()
        .map_err(|_| SplError::new(format!("expected a number, found `{text}`"), span.clone()))
}

fn parse_head(c: &mut Cursor) -> Result<Command> {
    let args = plain_args(c)?;
    match args.as_slice() {
        [] => Ok(Command::Head(10)),
        [(a, span, false)] => {
            let v = a.strip_prefix("limit=").unwrap_or(a);
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SplError::new(
                    format!("`head` supports only a count (e.g. `head 10`), found `{a}`"),
                    span.clone(),
                ));
            }
            Ok(Command::Head(parse_count(v, span)?))
        }
        [_, (_, span, _), ..] | [(_, span, true)] => Err(SplError::new(
            "`head` supports only a count (e.g. `head 10`)",
            span.clone(),
        )),
    }
}

// ---------------------------------------------------------- eval language

fn single_quoted(c: &mut Cursor) -> Result<String> {
    let start = c.pos();
    c.eat("'");
    let (body, _) = c.take_while(|ch| ch != '\'');
    if !c.eat("'") {
        return Err(SplError::new(
            "unterminated `'` field name",
            start..start + 1,
        ));
    }
    Ok(body.to_string())
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

/// Eval keywords are accepted in any case.
fn eval_keyword(c: &mut Cursor, kw: &str) -> bool {
    let save = c.pos();
    c.skip_ws();
    if c.eat_keyword(kw, true).is_some() {
        true
    } else {
        c.set_pos(save);
        false
    }
}

fn eval_or(c: &mut Cursor) -> Result<Expr> {
    let mut lhs = eval_xor(c)?;
    while eval_keyword(c, "OR") {
        let rhs = eval_xor(c)?;
        lhs = binary(BinOp::Or, lhs, rhs);
    }
    Ok(lhs)
}

fn eval_xor(c: &mut Cursor) -> Result<Expr> {
    let mut lhs = eval_and(c)?;
    while eval_keyword(c, "XOR") {
        let rhs = eval_and(c)?;
        lhs = binary(BinOp::Xor, lhs, rhs);
    }
    Ok(lhs)
}

fn eval_and(c: &mut Cursor) -> Result<Expr> {
    let mut lhs = eval_not(c)?;
    while eval_keyword(c, "AND") {
        let rhs = eval_not(c)?;
        lhs = binary(BinOp::And, lhs, rhs);
    }
    Ok(lhs)
}

/// `NOT x = 1` negates the comparison (NOT applies to a whole comparison).
fn eval_not(c: &mut Cursor) -> Result<Expr> {
    if eval_keyword(c, "NOT") {
        return Ok(Expr::Not(Box::new(eval_not(c)?)));
    }
    eval_cmp(c)
}

fn eval_cmp(c: &mut Cursor) -> Result<Expr> {
    let lhs = eval_add(c)?;
    c.skip_ws();
    let op = if c.eat("==") || (!c.rest().starts_with("=>") && c.eat("=")) {
        Some(BinOp::Eq)
    } else if c.eat("!=") {
        Some(BinOp::Ne)
    } else if c.eat("<=") {
        Some(BinOp::Le)
    } else if c.eat(">=") {
        Some(BinOp::Ge)
    } else if c.eat("<") {
        Some(BinOp::Lt)
    } else if c.eat(">") {
        Some(BinOp::Gt)
    } else {
        None
    };
    if let Some(op) = op {
        let rhs = eval_add(c)?;
        return Ok(binary(op, lhs, rhs));
    }
    if eval_keyword(c, "LIKE") {
        let pattern = eval_add(c)?;
        return Ok(Expr::Like {
            expr: Box::new(lhs),
            pattern: Box::new(pattern),
        });
    }
    let save = c.pos();
    if eval_keyword(c, "IN") {
        c.skip_ws();
        if c.peek() == Some('(') {
            c.eat("(");
            let list = eval_args(c)?;
            if list.is_empty() {
                return Err(c.error_here("empty `IN ()` list"));
            }
            return Ok(Expr::In {
                expr: Box::new(lhs),
                list,
            });
        }
        c.set_pos(save);
    }
    Ok(lhs)
}

fn eval_add(c: &mut Cursor) -> Result<Expr> {
    let mut lhs = eval_mul(c)?;
    loop {
        c.skip_ws();
        let op = match c.peek() {
            Some('+') => BinOp::Add,
            Some('-') => BinOp::Sub,
            Some('.') if !c.peek2().is_some_and(|d| d.is_ascii_digit()) => BinOp::Concat,
            _ => break,
        };
        c.bump();
        let rhs = eval_mul(c)?;
        lhs = binary(op, lhs, rhs);
    }
    Ok(lhs)
}

fn eval_mul(c: &mut Cursor) -> Result<Expr> {
    let mut lhs = eval_unary(c)?;
    loop {
        c.skip_ws();
        let op = match c.peek() {
            Some('*') => BinOp::Mul,
            Some('/') => BinOp::Div,
            Some('%') => BinOp::Mod,
            _ => break,
        };
        c.bump();
        let rhs = eval_unary(c)?;
        lhs = binary(op, lhs, rhs);
    }
    Ok(lhs)
}

fn eval_unary(c: &mut Cursor) -> Result<Expr> {
    c.skip_ws();
    if c.eat("-") {
        return Ok(Expr::Neg(Box::new(eval_unary(c)?)));
    }
    if c.eat("+") {
        return eval_unary(c);
    }
    eval_primary(c)
}

fn eval_primary(c: &mut Cursor) -> Result<Expr> {
    c.skip_ws();
    let start = c.pos();
    match c.peek() {
        Some('(') => {
            c.eat("(");
            let e = eval_or(c)?;
            c.skip_ws();
            if !c.eat(")") {
                return Err(SplError::new("unclosed `(`", start..start + 1));
            }
            Ok(e)
        }
        Some('"') => Ok(Expr::Str(c.quoted()?.0.text)),
        Some('\'') => Ok(Expr::Field(single_quoted(c)?)),
        Some('[') => Err(subsearch_error(c)),
        Some(ch)
            if ch.is_ascii_digit()
                || (ch == '.' && c.peek2().is_some_and(|d| d.is_ascii_digit())) =>
        {
            let (num, span) = c.take_while(|d| d.is_ascii_digit() || d == '.');
            let mut text = num.to_string();
            // Exponent: 1e5, 2.5E-3.
            let save = c.pos();
            if matches!(c.peek(), Some('e' | 'E')) {
                c.bump();
                let mut exp = String::from("e");
                if let Some(s @ ('+' | '-')) = c.peek() {
                    c.bump();
                    exp.push(s);
                }
                let (digits, _) = c.take_while(|d| d.is_ascii_digit());
                if digits.is_empty() {
                    c.set_pos(save);
                } else {
                    text.push_str(&exp);
                    text.push_str(digits);
                }
            }
            text.parse::<f64>()
                .map(Expr::Num)
                .map_err(|_| SplError::new(format!("invalid number `{text}`"), span.start..c.pos()))
        }
        Some(ch) if ch.is_alphabetic() || ch == '_' => {
            let name = eval_ident(c);
            let after = c.pos();
            c.skip_ws();
            if c.peek() == Some('(') && !name.contains('.') {
                c.eat("(");
                let args = eval_args(c)?;
                return make_call(&name, args, start..c.pos());
            }
            c.set_pos(after);
            Ok(Expr::Field(name))
        }
        _ => Err(c.error_here(format!(
            "expected an expression, found {}",
            c.describe_next()
        ))),
    }
}

/// A field or function name. A `.` directly between name characters is
/// kept (`Processes.process`); elsewhere `.` is the concatenation operator.
fn eval_ident(c: &mut Cursor) -> String {
    let mut name = String::new();
    loop {
        let (part, _) = c.take_while(|ch| ch.is_alphanumeric() || ch == '_');
        name.push_str(part);
        if c.peek() == Some('.') && c.peek2().is_some_and(|ch| ch.is_alphabetic() || ch == '_') {
            c.bump();
            name.push('.');
            continue;
        }
        break;
    }
    name
}

/// Comma-separated expressions up to and including the closing `)`.
fn eval_args(c: &mut Cursor) -> Result<Vec<Expr>> {
    let open = c.pos().saturating_sub(1);
    let mut args = Vec::new();
    c.skip_ws();
    if c.eat(")") {
        return Ok(args);
    }
    loop {
        args.push(eval_or(c)?);
        c.skip_ws();
        if c.eat(",") {
            continue;
        }
        if c.eat(")") {
            break;
        }
        if c.at_command_end() {
            return Err(SplError::new("unclosed `(`", open..open + 1));
        }
        return Err(c.error_here(format!("expected `,` or `)`, found {}", c.describe_next())));
    }
    Ok(args)
}

fn make_call(name: &str, mut args: Vec<Expr>, span: Span) -> Result<Expr> {
    let lname = name.to_ascii_lowercase();
    let Some(&(_, min, max)) = EVAL_FUNCTIONS.iter().find(|(n, _, _)| *n == lname) else {
        let list: Vec<&str> = EVAL_FUNCTIONS.iter().map(|f| f.0).collect();
        return Err(SplError::new(
            format!(
                "unsupported eval function `{name}` (evidx supports {})",
                list.join(", ")
            ),
            span,
        ));
    };
    if args.len() < min || args.len() > max {
        let want = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(SplError::new(
            format!("`{lname}()` takes {want} argument(s), got {}", args.len()),
            span,
        ));
    }
    if lname == "case" && args.len() % 2 != 0 {
        return Err(SplError::new("`case()` takes condition/value pairs", span));
    }
    Ok(match lname.as_str() {
        "true" => Expr::Bool(true),
        "false" => Expr::Bool(false),
        "null" => Expr::Null,
        "in" => {
            let expr = args.remove(0);
            Expr::In {
                expr: Box::new(expr),
                list: args,
            }
        }
        _ => Expr::Call {
            name: lname,
            args,
            span,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact form: `and(or(a=1 b=2) c=3)`.
    fn show(e: &SearchExpr) -> String {
        let list = |v: &[SearchExpr]| v.iter().map(show).collect::<Vec<_>>().join(" ");
        match e {
            SearchExpr::And(v) => format!("and({})", list(v)),
            SearchExpr::Or(v) => format!("or({})", list(v)),
            SearchExpr::Not(x) => format!("not({})", show(x)),
            SearchExpr::Cmp {
                field, op, value, ..
            } => {
                let op = match op {
                    CmpOp::Eq => "=",
                    CmpOp::Ne => "!=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                let q = if value.quoted { "\"" } else { "" };
                format!("{field}{op}{q}{}{q}", value.text)
            }
            SearchExpr::In { field, values, .. } => format!(
                "{field} in[{}]",
                values
                    .iter()
                    .map(|v| v.text.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            SearchExpr::Term { value, .. } => format!("term({})", value.text),
        }
    }

    fn s(src: &str) -> String {
        show(&parse_search_expr(src).unwrap_or_else(|e| panic!("{src}: {}", e.render(src))))
    }

    fn tstats(src: &str) -> Tstats {
        parse_pipeline(src)
            .unwrap_or_else(|e| panic!("{}", e.render(src)))
            .tstats
    }

    #[test]
    fn or_binds_tighter_than_and() {
        assert_eq!(
            s(r#"process_name=net.exe OR process_name=net1.exe (process="*localgroup*")"#),
            r#"and(or(process_name=net.exe process_name=net1.exe) process="*localgroup*")"#
        );
        assert_eq!(s("a=1 b=2 OR c=3"), "and(a=1 or(b=2 c=3))");
        assert_eq!(s("a=1 OR b=2 AND c=3"), "and(or(a=1 b=2) c=3)");
        assert_eq!(
            s("(a=1 OR b=2) (c=3 OR d=4) e=5"),
            "and(or(a=1 b=2) or(c=3 d=4) e=5)"
        );
        assert_eq!(s("a=1 OR (b=2 OR c=3)"), "or(a=1 b=2 c=3)");
        assert_eq!(s("(a=1 b=2) OR c=3"), "or(and(a=1 b=2) c=3)");
    }

    #[test]
    fn not_binding() {
        assert_eq!(s("NOT a=1 OR b=2"), "or(not(a=1) b=2)");
        assert_eq!(s("a=1 NOT (b=2 OR c=3)"), "and(a=1 not(or(b=2 c=3)))");
        assert_eq!(
            s(
                r#"x="*cmd /c set" OR x = "*cmd.exe /c set" AND NOT (p = "cmd.exe" OR p="pwsh.exe")"#
            ),
            r#"and(or(x="*cmd /c set" x="*cmd.exe /c set") not(or(p="cmd.exe" p="pwsh.exe")))"#
        );
        assert_eq!(s("NOT NOT a=1"), "not(not(a=1))");
        assert_eq!(
            s("p=regasm.exe NOT (n IN (\"conhost.exe\"))"),
            "and(p=regasm.exe not(n in[conhost.exe]))"
        );
    }

    #[test]
    fn in_lists_and_ops() {
        assert_eq!(
            s("p IN (*create*, *addfile*, \"a b*\" c *resume* )"),
            "p in[*create*,*addfile*,a b*,c,*resume*]"
        );
        assert_eq!(s("p in (a,b)"), "p in[a,b]");
        assert_eq!(
            s("a != \"unknown\" b IN (\"x\")"),
            "and(a!=\"unknown\" b in[x])"
        );
        assert_eq!(
            s("count>5 count<=6 c>=1 d<2 e==3"),
            "and(count>5 count<=6 c>=1 d<2 e=3)"
        );
        assert!(parse_search_expr("p IN ()").is_err());
        assert!(parse_search_expr("p IN (a, b").is_err());
    }

    #[test]
    fn values_escapes_and_quirks() {
        assert_eq!(s(r#"p="*C:\\Windows\\x*""#), r#"p="*C:\Windows\x*""#);
        assert_eq!(s(r#"p="*stop \"samss\"*""#), r#"p="*stop "samss"*""#);
        assert_eq!(s(r#"p="*\sam *""#), r#"p="*\sam *""#);
        assert_eq!(
            s(r"p=*/NAMESPACE:\\\\root\\directory\\ldap*"),
            r"p=*/NAMESPACE:\\root\directory\ldap*"
        );
        assert_eq!(
            s(r#"("Processes.process_name"="net*.exe" "Processes.process"="*stop*")"#),
            r#"and(Processes.process_name="net*.exe" Processes.process="*stop*")"#
        );
        assert_eq!(
            s(r#"p= "*firewall*" q="*x*""#),
            r#"and(p="*firewall*" q="*x*")"#
        );
        assert_eq!(
            s(r#"p="*Nul*"Processes.parent_process=x"#),
            r#"and(p="*Nul*" Processes.parent_process=x)"#
        );
        assert_eq!(
            s("(n=\"powershell.exe\") (p=*System.Security* OR p=*GetCurrent()*)"),
            "and(n=\"powershell.exe\" or(p=*System.Security* p=*GetCurrent()*))"
        );
        assert_eq!(s("(n=net.exe)"), "n=net.exe");
        assert_eq!(s("(n=net.exe OR n=a(b)c)"), "or(n=net.exe n=a(b)c)");
        assert_eq!(
            s("processes.process_name=cmd.exe"),
            "processes.process_name=cmd.exe"
        );
        assert_eq!(s("*"), "term(*)");
        assert_eq!(s("p=*share*"), "p=*share*");
    }

    #[test]
    fn spans_point_at_terms() {
        let src = "a=1 OR  bb=\"x y\"";
        let e = parse_search_expr(src).unwrap();
        let SearchExpr::Or(v) = e else { panic!() };
        let SearchExpr::Cmp { span, .. } = &v[1] else {
            panic!()
        };
        assert_eq!(&src[span.clone()], "bb=\"x y\"");
    }

    #[test]
    fn tstats_clause() {
        let t = tstats(
            "| tstats summariesonly=false allow_old_summaries=true fillnull_value=\"null\" count, min(_time) AS firstTime max(_time) as lastTime values(Processes.process) dc(Processes.user) distinct_count(Processes.dest) values(Processes.process) AS Processes.process latest(Processes.x) FROM datamodel=\"Endpoint.Processes\" WHERE Processes.process_name=a BY Processes.dest, Processes.user _time span=1h",
        );
        assert_eq!(t.fillnull_value(), Some("null"));
        assert_eq!(t.options.len(), 3);
        let cols: Vec<&str> = t.aggs.iter().map(|a| a.column.as_str()).collect();
        assert_eq!(
            cols,
            [
                "count",
                "firstTime",
                "lastTime",
                "values(Processes.process)",
                "dc(Processes.user)",
                "distinct_count(Processes.dest)",
                "Processes.process",
                "latest(Processes.x)"
            ]
        );
        assert_eq!(t.aggs[4].func, AggFunc::Dc);
        assert_eq!(t.aggs[5].func, AggFunc::Dc);
        assert_eq!(t.aggs[1].field.as_deref(), Some("_time"));
        assert_eq!(t.datamodel, "Endpoint.Processes");
        assert_eq!(
            t.by,
            [
                ByField::Field("Processes.dest".into()),
                ByField::Field("Processes.user".into()),
                ByField::Time {
                    span_secs: Some(3600)
                }
            ]
        );
        let t = tstats("tstats count from datamodel=Endpoint.Processes nodename=Processes by _time span=20m, host");
        assert!(t.filter.is_none());
        assert_eq!(
            t.options,
            [("nodename".to_string(), "Processes".to_string())]
        );
        assert_eq!(
            t.by[0],
            ByField::Time {
                span_secs: Some(1200)
            }
        );
        let t = tstats("| tstats min(_time) from datamodel=X where a=1 by _time");
        assert_eq!(t.aggs[0].column, "min(_time)");
        assert_eq!(t.by, [ByField::Time { span_secs: None }]);
        assert!(parse_pipeline("| tstats count from datamodel=X by _time span=1mon").is_err());
        assert!(parse_pipeline("| tstats count from datamodel=X by a span=1h").is_err());
        assert!(parse_pipeline("| tstats perc95(x) from datamodel=X").is_err());
        assert!(parse_pipeline("| tstats count where a=1").is_err());
        assert_eq!(parse_span("5m"), Ok(300));
        assert_eq!(parse_span("2d"), Ok(172_800));
        assert_eq!(parse_span("30s"), Ok(30));
        assert_eq!(parse_span("1hr"), Ok(3600));
    }

    #[test]
    fn multiline_query() {
        let src = "| tstats count FROM datamodel=Endpoint.Processes\n  WHERE (\n        Processes.process_name=\"powershell.exe\"\n    )\n    (Processes.process=*Get-NetTcpConnection*)\n  BY Processes.action\n     Processes.dest\n| rename \"Processes.*\" as *\n| search *";
        let p = parse_pipeline(src).unwrap();
        assert_eq!(
            show(p.tstats.filter.as_ref().unwrap()),
            "and(Processes.process_name=\"powershell.exe\" Processes.process=*Get-NetTcpConnection*)"
        );
        assert_eq!(p.tstats.by.len(), 2);
        assert_eq!(p.commands.len(), 2);
    }

    #[test]
    fn commands() {
        let p = parse_pipeline(
            "| tstats count from datamodel=X | rename \"Processes.*\" as * | convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime) ctime(lastTime) as lt \
             | where count >= 8 | eval a=lower(x), 'b c'=1 | search dc_dest < 10 | regex process=\"(?i)(notepad\\.exe.{0,4}$)\" \
             | regex Processes.process!=\"\\\\s\" | table a b* | fields - a | sort 0 - count +num(x) | head 5",
        )
        .unwrap();
        let c = &p.commands;
        assert_eq!(
            c[0],
            Command::Rename(vec![("Processes.*".into(), "*".into())])
        );
        match &c[1] {
            Command::Convert {
                timeformat,
                conversions,
            } => {
                assert_eq!(timeformat, "%Y-%m-%dT%H:%M:%S");
                assert_eq!(conversions.len(), 2);
                assert_eq!(conversions[1].alias.as_deref(), Some("lt"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c[2],
            Command::Where(Expr::Binary { op: BinOp::Ge, .. })
        ));
        match &c[3] {
            Command::Eval(v) => assert_eq!(v[1].0, "b c"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &c[4],
            Command::Search(SearchExpr::Cmp { op: CmpOp::Lt, .. })
        ));
        assert_eq!(
            c[5],
            Command::Regex {
                field: Some("process".into()),
                negate: false,
                pattern: r"(?i)(notepad\.exe.{0,4}$)".into()
            }
        );
        assert_eq!(
            c[6],
            Command::Regex {
                field: Some("Processes.process".into()),
                negate: true,
                pattern: r"\s".into()
            }
        );
        assert_eq!(c[7], Command::Table(vec!["a".into(), "b*".into()]));
        assert_eq!(
            c[8],
            Command::Fields {
                remove: true,
                fields: vec!["a".into()]
            }
        );
        match &c[9] {
            Command::Sort { limit, keys } => {
                assert_eq!(*limit, Some(0));
                assert!(keys[0].descending && keys[0].field == "count");
                assert!(!keys[1].descending && keys[1].kind.as_deref() == Some("num"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c[10], Command::Head(5));
    }

    #[test]
    fn where_with_quoted_regex() {
        let src = r#"| tstats count from datamodel=X | where match(process,"(?i)[\-|\/|–|—|―][Ee^]{1,2}[NnCcOoDdEeMmAa^]+\s+[\"]?[A-Za-z0-9+/=]{5,}[\"]?") | search *"#;
        let p = parse_pipeline(src).unwrap();
        match &p.commands[0] {
            Command::Where(Expr::Call { name, args, .. }) => {
                assert_eq!(name, "match");
                assert_eq!(
                    args[1],
                    Expr::Str(r#"(?i)[\-|\/|–|—|―][Ee^]{1,2}[NnCcOoDdEeMmAa^]+\s+["]?[A-Za-z0-9+/=]{5,}["]?"#.into())
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(p.commands.len(), 2);
    }

    #[test]
    fn unsupported_constructs_are_named() {
        let src = "| tstats count from datamodel=X | lookup foo bar OUTPUT baz";
        let e = parse_pipeline(src).unwrap_err();
        assert!(
            e.message.contains("unsupported command `lookup`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("tstats, rename, convert"));
        assert_eq!(&src[e.span.clone()], "lookup");
        assert!(e.render(src).contains("^^^^^^"));
        for (q, what) in [
            ("| stats count", "`stats`"),
            ("| rex field=x \"(?<a>.)\"", "`rex`"),
            ("| join x [search y]", "`join`"),
            ("| eventstats count", "`eventstats`"),
            ("| makemv x", "`makemv`"),
            ("| transaction x", "`transaction`"),
            ("| apply model", "`apply`"),
            ("| search [| inputlookup x]", "subsearch"),
            ("| eval x=md5(y)", "unsupported eval function `md5`"),
        ] {
            let src = format!("| tstats count from datamodel=X {q}");
            let e = parse_pipeline(&src).unwrap_err();
            assert!(e.message.contains(what), "{q}: {}", e.message);
        }
        let e = parse_pipeline("| tstats count from datamodel=X where a=1 [| inputlookup x] by a")
            .unwrap_err();
        assert!(e.message.contains("subsearch"), "{}", e.message);
        let e = parse_pipeline("| search x").unwrap_err();
        assert!(e.message.contains("tstats"));
    }

    #[test]
    fn syntax_errors_have_spans() {
        for src in [
            "| tstats count from datamodel=X where (a=1 by b",
            "| tstats count from datamodel=X where a=1) by b",
            "| tstats count from datamodel=X where a=",
            "| tstats count from datamodel=X where a=\"open by b",
            "| tstats count from datamodel=X where OR a=1",
            "| tstats count from datamodel=X where a=1 AND",
            "| tstats count from datamodel=X where",
            "| tstats count from datamodel=X by",
            "| tstats count from datamodel=X |",
            "| tstats count from datamodel=X | head x",
            "| tstats count from datamodel=X | rename a b",
            "| tstats count from datamodel=X | where (a=1",
            "| tstats count from datamodel=X | where a=",
            "| tstats count from datamodel=X | eval a",
            "| tstats count from datamodel=X | sort",
            "| tstats count from datamodel=X | convert ctime(x",
            "| tstats count from datamodel=X | convert dur2sec(x)",
            "",
            "|",
            "| tstats",
        ] {
            let e = parse_pipeline(src).expect_err(src);
            assert!(
                e.span.start <= src.len() && e.span.end <= src.len(),
                "{src}: {e:?}"
            );
            let _ = e.render(src);
        }
    }

    #[test]
    fn never_panics_on_random_token_soup() {
        const TOKENS: &[&str] = &[
            "| ",
            "tstats ",
            "count ",
            "min(_time) ",
            "as ",
            "x ",
            "from ",
            "datamodel=",
            "E.P ",
            "where ",
            "by ",
            "_time ",
            "span=",
            "1h ",
            "a",
            "=",
            "!=",
            "<",
            ">=",
            "\"",
            "\\",
            "(",
            ")",
            "*",
            " OR ",
            " AND ",
            " NOT ",
            " IN ",
            ",",
            "[",
            "]",
            "'",
            "search ",
            "eval ",
            "rename ",
            "sort ",
            "- ",
            "head ",
            "regex ",
            "table ",
            "fields ",
            "convert ",
            "ctime(",
            "match(",
            "len(",
            "like(",
            ".",
            "+",
            "é",
            "\n",
            " ",
            "1",
            "2.5",
            "`",
            "%",
            "where ",
            "substr(",
            "mvindex(",
            "split(",
            "round(",
            "replace(",
            "if(",
            "case(",
            "-1e300",
            "_time",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..4000 {
            let mut q = String::new();
            let len = (seed % 24) as usize;
            for _ in 0..len {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                q.push_str(TOKENS[(seed >> 33) as usize % TOKENS.len()]);
            }
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            for prefix in [
                "",
                "| tstats count from datamodel=X where ",
                "| tstats count from datamodel=X | where ",
            ] {
                let full = format!("{prefix}{q}");
                match parse_pipeline(&full) {
                    Err(e) => {
                        let _ = e.render(&full);
                    }
                    Ok(p) => {
                        use crate::table::{Cell, Table};
                        let mut t = Table {
                            columns: vec!["a".into(), "x".into(), "_time".into()],
                            rows: vec![
                                vec![
                                    Cell::one("1"),
                                    Cell(vec!["é".into(), "b".into()]),
                                    Cell::one("1.5"),
                                ],
                                vec![Cell::null(), Cell::one("-2.5"), Cell::one("x")],
                            ],
                        };
                        let _ = crate::post::apply_all(&mut t, &p.commands);
                    }
                }
                let _ = parse_search_expr(&q);
                let _ = parse_eval_expr(&q);
                let _ = crate::spl::MacroSet::builtin().expand(&full);
            }
        }
    }

    #[test]
    fn never_panics_on_prefixes() {
        let src = r#"| tstats `x` count min(_time) as firstTime values(Processes.process) from datamodel=Endpoint.Processes where (a="x\"y" OR b IN (c, "d*")) NOT e!=*f()* by g, _time span=1h | rename "P.*" as * | convert timeformat="%Y" ctime(firstTime) | where match(a, "é") AND len(b)>2 | eval z=if(a=1,"x",'y z') | regex a!="\\d" | table a | fields + a | sort - a | head 3"#;
        let mut cut = 0;
        while cut <= src.len() {
            if src.is_char_boundary(cut) {
                let _ = parse_pipeline(&src[..cut]);
                let _ = parse_search_expr(&src[..cut]);
                let _ = parse_eval_expr(&src[..cut]);
            }
            cut += 1;
        }
    }
}
