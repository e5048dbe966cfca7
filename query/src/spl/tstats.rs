//! The `tstats` clause: options, aggregates, `from datamodel=`, `where`
//! (handed to the search language) and `by` with `span=`.

use super::ast::*;
use super::lexer::{Cursor, Result};
use super::search::search_expr;
use super::SplError;

const START_MESSAGE: &str =
    "the query must start with `| tstats`, `| from datamodel:Endpoint.Processes` or `| datamodel Endpoint Processes search`";

pub(super) fn parse_tstats(c: &mut Cursor) -> Result<Tstats> {
    let start = c.pos();
    if c.eat_keyword("tstats", true).is_none() {
        if c.peek() == Some('[') {
            return Err(c.subsearch_error());
        }
        let (word, span) = c.ident();
        if word.is_empty() {
            return Err(c.error_here(START_MESSAGE));
        }
        return Err(SplError::new(
            format!("{START_MESSAGE}, not `{word}`"),
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
    let datamodel = c.word(&[])?;
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
        events: None,
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
    let value = c.word(&[])?;
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
        let f = c.paren_field()?;
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
    let column = c.as_alias()?.unwrap_or(default_column);
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
        c.skip_commas();
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
            return Err(c.subsearch_error());
        }
        let name = c.word(&[','])?;
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
