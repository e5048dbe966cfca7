//! The eval language: the `where` and `eval` commands' expressions.
//!
//! Precedence, loosest first: OR, XOR, AND, NOT, comparison (`=`/`==`,
//! `!=`, `<`, `<=`, `>`, `>=`, `LIKE`, `IN (...)`), additive (`+`, `-`,
//! `.` concatenation), multiplicative (`*`, `/`, `%`), unary `-`/`+`, then
//! primaries (parentheses, strings, `'field'`, numbers, fields, function
//! calls checked against [`EVAL_FUNCTIONS`]). So AND binds tighter than OR,
//! unlike the search language. Keywords are case-insensitive.

use super::ast::*;
use super::lexer::{Cursor, Result};
use super::SplError;

/// Eval functions with their (min, max) argument counts.
pub const EVAL_FUNCTIONS: &[(&str, usize, usize)] = &[
    ("abs", 1, 1),
    ("case", 2, usize::MAX),
    ("ceil", 1, 1),
    ("ceiling", 1, 1),
    ("cidrmatch", 2, 2),
    ("coalesce", 1, usize::MAX),
    ("exp", 1, 1),
    ("false", 0, 0),
    ("floor", 1, 1),
    ("if", 3, 3),
    ("in", 2, usize::MAX),
    ("isnotnull", 1, 1),
    ("isnull", 1, 1),
    ("isnum", 1, 1),
    ("isstr", 1, 1),
    ("len", 1, 1),
    ("like", 2, 2),
    ("ln", 1, 1),
    ("log", 1, 2),
    ("lower", 1, 1),
    ("ltrim", 1, 2),
    ("match", 2, 2),
    ("max", 1, usize::MAX),
    ("min", 1, usize::MAX),
    ("mvappend", 1, usize::MAX),
    ("mvcount", 1, 1),
    ("mvdedup", 1, 1),
    ("mvfilter", 1, 1),
    ("mvfind", 2, 2),
    ("mvindex", 2, 3),
    ("mvjoin", 2, 2),
    ("mvsort", 1, 1),
    ("now", 0, 0),
    ("null", 0, 0),
    ("pow", 2, 2),
    ("relative_time", 2, 2),
    ("replace", 3, 3),
    ("round", 1, 2),
    ("rtrim", 1, 2),
    ("split", 2, 2),
    ("sqrt", 1, 1),
    ("strftime", 2, 2),
    ("strptime", 2, 2),
    ("substr", 2, 3),
    ("time", 0, 0),
    ("tonumber", 1, 2),
    ("tostring", 1, 2),
    ("trim", 1, 2),
    ("true", 0, 0),
    ("typeof", 1, 1),
    ("upper", 1, 1),
];

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

pub(super) fn eval_or(c: &mut Cursor) -> Result<Expr> {
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
        return Ok(Expr::Not(Box::new(c.nested(eval_not)?)));
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
    // `x NOT LIKE p` and `x NOT IN (...)` negate the test.
    let before_not = c.pos();
    let negate = eval_keyword(c, "NOT");
    let wrap = |e: Expr| if negate { Expr::Not(Box::new(e)) } else { e };
    if eval_keyword(c, "LIKE") {
        let pattern = eval_add(c)?;
        return Ok(wrap(Expr::Like {
            expr: Box::new(lhs),
            pattern: Box::new(pattern),
        }));
    }
    let save = c.pos();
    if eval_keyword(c, "IN") {
        c.skip_ws();
        if c.peek() == Some('(') {
            c.eat("(");
            let list = c.nested(eval_args)?;
            if list.is_empty() {
                return Err(c.error_here("empty `IN ()` list"));
            }
            return Ok(wrap(Expr::In {
                expr: Box::new(lhs),
                list,
            }));
        }
        c.set_pos(save);
    }
    c.set_pos(before_not);
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
        return Ok(Expr::Neg(Box::new(c.nested(eval_unary)?)));
    }
    if c.eat("+") {
        return c.nested(eval_unary);
    }
    eval_primary(c)
}

fn eval_primary(c: &mut Cursor) -> Result<Expr> {
    c.skip_ws();
    let start = c.pos();
    match c.peek() {
        Some('(') => {
            c.eat("(");
            let e = c.nested(eval_or)?;
            c.skip_ws();
            if !c.eat(")") {
                return Err(SplError::new("unclosed `(`", start..start + 1));
            }
            Ok(e)
        }
        Some('"') => Ok(Expr::Str(c.quoted()?.0.text)),
        Some('\'') => Ok(Expr::Field(c.single_quoted()?)),
        Some('[') => Err(c.subsearch_error()),
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
                let args = c.nested(eval_args)?;
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

/// The eval functions whose second argument is a regular expression.
pub const REGEX_FUNCTIONS: &[&str] = &["match", "replace", "mvfind"];

/// `pattern` if it compiles (as it will run: [`crate::pattern`]); else
/// the error, at `span`. A bad pattern fails the search however few rows
/// reach it, and before anything runs.
pub(super) fn checked_pattern(pattern: String, span: Span) -> Result<String> {
    match crate::pattern::compiled(&pattern) {
        Ok(_) => Ok(pattern),
        Err(e) => Err(SplError::new(
            format!("invalid regular expression: {e}"),
            span,
        )),
    }
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
    if lname == "case" && !args.len().is_multiple_of(2) {
        return Err(SplError::new("`case()` takes condition/value pairs", span));
    }
    if let (true, Some(Expr::Str(pattern))) =
        (REGEX_FUNCTIONS.contains(&lname.as_str()), args.get(1))
    {
        checked_pattern(pattern.clone(), span.clone())?;
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
