//! Argument readers shared by the commands after tstats.

use super::ast::Span;
use super::lexer::{Cursor, Result};
use super::SplError;

/// Arguments of list commands: quoted or unquoted words, commas optional.
pub(super) fn plain_args(c: &mut Cursor) -> Result<Vec<(String, Span, bool)>> {
    let mut out = Vec::new();
    loop {
        c.skip_commas();
        match c.peek() {
            None | Some('|') => break,
            Some('[') => return Err(c.subsearch_error()),
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

pub(super) fn parse_count(text: &str, span: &Span) -> Result<usize> {
    text.parse()
        .map_err(|_| SplError::new(format!("expected a number, found `{text}`"), span.clone()))
}

/// One argument of a command with options: `key=value` (the value may
/// be quoted) or a word.
#[derive(Debug, Clone)]
pub(super) struct Arg {
    /// The word, or the key of `key=value`.
    pub text: String,
    pub value: Option<String>,
    pub quoted: bool,
    pub span: Span,
}

/// The next argument (None at the end of the command or at `[`);
/// commas between arguments are skipped.
pub(super) fn next_arg(c: &mut Cursor) -> Result<Option<Arg>> {
    c.skip_commas();
    let start = c.pos();
    match c.peek() {
        None | Some('|') | Some('[') => Ok(None),
        Some('"') => {
            let (v, span) = c.quoted()?;
            Ok(Some(Arg {
                text: v.text,
                value: None,
                quoted: true,
                span,
            }))
        }
        _ => {
            let (w, _) = c
                .take_while(|ch| !ch.is_whitespace() && !matches!(ch, ',' | '|' | '=' | '[' | '"'));
            let text = w.to_string();
            if !text.is_empty() && c.rest().starts_with('=') && !c.rest().starts_with("==") {
                c.eat("=");
                let value = option_value(c)?;
                return Ok(Some(Arg {
                    text,
                    value: Some(value),
                    quoted: false,
                    span: start..c.pos(),
                }));
            }
            // The rest of a word such as `a"b` or `x=`.
            let (more, _) = c.take_while(|ch| !ch.is_whitespace() && !matches!(ch, ',' | '|'));
            let text = text + more;
            if text.is_empty() {
                return Err(c.error_here(format!("unexpected {}", c.describe_next())));
            }
            Ok(Some(Arg {
                text,
                value: None,
                quoted: false,
                span: start..c.pos(),
            }))
        }
    }
}

/// The value of `key=value`: quoted, or up to a `|`, or to whitespace, `,`
/// or `[` outside parentheses and quotes; `[` opens a subsearch as in Splunk
/// (`join id type=inner[| tstats ...]`), and `eval(match(x, "[a-z]"))`
/// keeps its brackets and spaces. A value whose parentheses or quotes do
/// not close ends at whitespace, `,` or `[`, so the rest of the command is
/// not swallowed.
fn option_value(c: &mut Cursor) -> Result<String> {
    if c.peek() == Some('"') {
        return Ok(c.quoted()?.0.text);
    }
    let start = c.pos();
    let mut depth = 0usize;
    let mut quoted = false;
    let (w, _) = c.take_while(|ch| {
        match ch {
            '|' => return false,
            '"' => quoted = !quoted,
            _ if quoted => {}
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '[' | ',' if depth == 0 => return false,
            _ if ch.is_whitespace() && depth == 0 => return false,
            _ => {}
        }
        true
    });
    if depth == 0 && !quoted {
        return Ok(w.to_string());
    }
    c.set_pos(start);
    let (w, _) = c.take_while(|ch| !ch.is_whitespace() && !matches!(ch, '|' | ',' | '['));
    Ok(w.to_string())
}

/// Every argument to the end of the command (or a `[`).
pub(super) fn all_args(c: &mut Cursor) -> Result<Vec<Arg>> {
    let mut out = Vec::new();
    while let Some(a) = next_arg(c)? {
        out.push(a);
    }
    Ok(out)
}

/// A boolean option value as Splunk reads it.
pub(super) fn parse_bool(arg: &Arg) -> Result<bool> {
    match arg
        .value
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "true" | "t" | "1" | "yes" => Ok(true),
        "false" | "f" | "0" | "no" => Ok(false),
        v => Err(SplError::new(
            format!("`{}={v}`: expected true or false", arg.text),
            arg.span.clone(),
        )),
    }
}
