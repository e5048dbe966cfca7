//! Subsearches `[ | tstats ... | cmd ... ]` and `[ | inputlookup ... ]`:
//! parsed over the bracketed part of the text (spans stay offsets into
//! the whole query).

use super::ast::*;
use super::lexer::{Cursor, Result};
use super::post_commands::parse_command;
use super::search::search_expr;
use super::tstats::parse_tstats;
use super::SplError;

/// The subsearch at the cursor (which is at `[`); leaves the cursor after
/// its `]`.
pub(super) fn parse_subsearch(c: &mut Cursor) -> Result<Subsearch> {
    let open = c.pos();
    let close = c.closing_bracket()?;
    let mut inner = c.bounded(close);
    inner.eat("[");
    inner.skip_ws();
    inner.eat("|");
    inner.skip_ws();
    let save = inner.pos();
    let (word, span) = inner.ident();
    let source = match word.to_ascii_lowercase().as_str() {
        "tstats" => {
            inner.set_pos(save);
            SubSource::Tstats(parse_tstats(&mut inner)?)
        }
        "inputlookup" => parse_inputlookup(&mut inner, span)?,
        "" => return Err(SplError::new("empty subsearch", open..close + 1)),
        _ => {
            return Err(SplError::new(
                format!("a subsearch must start with `| tstats` or `| inputlookup`, not `{word}`"),
                span,
            ))
        }
    };
    let mut commands = Vec::new();
    loop {
        inner.skip_ws();
        if inner.eof() {
            break;
        }
        if !inner.eat("|") {
            return Err(inner.error_here(format!("expected `|` before {}", inner.describe_next())));
        }
        inner.skip_ws();
        commands.push(parse_command(&mut inner)?);
    }
    c.set_pos(close + 1);
    Ok(Subsearch {
        source,
        commands,
        span: open..close + 1,
    })
}

/// `inputlookup [append=B] [start=N] [max=N] NAME [where SEARCH]`.
fn parse_inputlookup(c: &mut Cursor, kw: Span) -> Result<SubSource> {
    let mut max = None;
    let mut name = None;
    loop {
        c.skip_ws();
        if c.at_command_end() || c.peek_keyword("where", true) {
            break;
        }
        let start = c.pos();
        let word = c.word(&['='])?;
        if c.eat("=") {
            let value = c.word(&[])?;
            match word.to_ascii_lowercase().as_str() {
                "max" => {
                    max = Some(value.parse::<usize>().map_err(|_| {
                        SplError::new(format!("`max={value}` is not a count"), start..c.pos())
                    })?)
                }
                "append" | "strict" => {}
                _ => {
                    return Err(SplError::new(
                        format!("unsupported inputlookup option `{word}`"),
                        start..c.pos(),
                    ))
                }
            }
            continue;
        }
        if word.is_empty() || name.is_some() {
            return Err(c.error_here(format!("unexpected {} in `inputlookup`", c.describe_next())));
        }
        name = Some((word, start..c.pos()));
    }
    let Some((name, span)) = name else {
        return Err(SplError::new("`inputlookup` needs a lookup name", kw));
    };
    let filter = if c.eat_keyword("where", true).is_some() {
        search_expr(c, false)?
    } else {
        None
    };
    Ok(SubSource::Inputlookup {
        name,
        max,
        filter,
        span,
    })
}
