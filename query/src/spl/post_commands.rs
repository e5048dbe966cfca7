//! The commands after `tstats`: `rename`, `convert`, `where`, `eval`,
//! `search`, `regex`, `table`, `fields`, `sort`, `head`, and the ones in
//! [`super::reshape_commands`] (`lookup`, `rex`, `stats`, `join`, ...).
//!
//! Each command runs to the next `|` (or the end). No precedence of its own:
//! `where` and `eval` hand their expressions to the eval language
//! (`eval_expr`), `search` to the search language (`search`).

use super::args::{parse_count, plain_args};
use super::ast::*;
use super::eval_expr::{checked_pattern, eval_or};
use super::lexer::{unescape, Cursor, Result};
use super::reshape_commands as more;
use super::search::search_expr;
use super::SplError;

/// Commands after `tstats` that evidx runs, for error messages.
pub const SUPPORTED_COMMANDS: &str =
    "tstats, rename, convert, where, eval, search, regex, table, fields, sort, head, lookup, rex, stats, eventstats, streamstats, makemv, mvexpand, dedup, fillnull, join, transaction";

fn unsupported_command(name: &str, span: Span) -> SplError {
    SplError::new(
        format!("unsupported command `{name}` (evidx supports {SUPPORTED_COMMANDS})"),
        span,
    )
}

pub(super) fn parse_command(c: &mut Cursor) -> Result<Command> {
    if c.peek() == Some('[') {
        return Err(c.subsearch_error());
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
        "lookup" => more::parse_lookup(c, span)?,
        "rex" => more::parse_rex(c, span)?,
        "stats" => more::parse_stats(c, StatsKind::Stats, span)?,
        "eventstats" => more::parse_stats(c, StatsKind::Eventstats, span)?,
        "streamstats" => more::parse_stats(c, StatsKind::Streamstats, span)?,
        "makemv" => more::parse_makemv(c, span)?,
        "mvexpand" => more::parse_mvexpand(c, span)?,
        "dedup" => more::parse_dedup(c, span)?,
        "fillnull" => more::parse_fillnull(c)?,
        "join" => more::parse_join(c, span)?,
        "transaction" => more::parse_transaction(c, span)?,
        "apply" | "fit" => return Err(more::mltk_refusal(c, name, span)),
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
            return Err(c.subsearch_error());
        }
        return Err(c.error_here(format!("unexpected {} in `{name}`", c.describe_next())));
    }
    Ok(cmd)
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
        c.skip_commas();
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
            let value = c.word(&[])?;
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
        let field = c.paren_field()?;
        c.skip_ws();
        if !c.eat(")") || field.is_empty() {
            return Err(c.error_here("expected `FIELD)` in `ctime(...)`"));
        }
        let alias = c.as_alias()?;
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
            Some('\'') => c.single_quoted()?,
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
        let (value, span) = c.quoted()?;
        let pattern = checked_pattern(value.text, span)?;
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
    let (pattern, span) = if c.peek() == Some('"') {
        let (value, span) = c.quoted()?;
        (value.text, span)
    } else {
        let (raw, span) = c.take_while(|ch| !ch.is_whitespace() && ch != '|');
        if raw.is_empty() {
            return Err(c.error_here("expected a regular expression"));
        }
        (unescape(raw), span)
    };
    let pattern = checked_pattern(pattern, span)?;
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
