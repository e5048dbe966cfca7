//! The eval language of `| where` as SQL, for the forms detections use:
//! comparisons of values (fields, literals, and the values of
//! [`super::value`]), `AND`/`OR`/`XOR`/`NOT`,
//! `match(field, "re")`, `isnull`/`isnotnull`, `like(field, "pat")`, and
//! `true`/`false`. The result follows [`crate::eval`]: three-valued logic
//! (a null field makes a comparison null, and `where` keeps only true),
//! comparisons true when any value of a multi-value satisfies them,
//! numbers compared as numbers and other text in byte order.

use super::regex::translate;
use super::value::value;
use super::{compare_literal, refuse, Col, Compiler, Kind, Result, Val};
use crate::num::{format_num, parse_num};
use crate::spl::ast::{BinOp, Expr, Span};

/// A boolean SQL expression (NULL is evidx's null) for `where`.
pub fn boolean(c: &Compiler, e: &Expr, span: &Span) -> Result<String> {
    Ok(match e {
        Expr::Bool(b) => b.to_string().to_uppercase(),
        Expr::Not(inner) => format!("(NOT {})", boolean(c, inner, span)?),
        Expr::Binary { op, lhs, rhs } => match op {
            BinOp::And | BinOp::Or | BinOp::Xor => {
                let (a, b) = (boolean(c, lhs, span)?, boolean(c, rhs, span)?);
                let op = match op {
                    BinOp::And => "AND",
                    BinOp::Or => "OR",
                    _ => "<>",
                };
                format!("({a} {op} {b})")
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                comparison(c, *op, lhs, rhs, span)?
            }
            _ => return refuse("`where` needs a condition; arithmetic is not compiled to SQL", span),
        },
        Expr::Call { name, args, span } => call(c, name, args, span)?,
        Expr::Like { expr, pattern } => like(c, expr, pattern, span)?,
        _ => {
            return refuse(
                "this `where` expression is not compiled to SQL (comparisons of a field with a literal, AND/OR/NOT, match, like, isnull and isnotnull are)",
                span,
            )
        }
    })
}

/// A literal's text and number reading, as [`crate::eval`] gives them.
fn literal(e: &Expr) -> Option<(String, Option<f64>)> {
    match e {
        Expr::Str(s) => Some((s.clone(), parse_num(s))),
        Expr::Num(n) => Some((format_num(*n), Some(*n))),
        _ => None,
    }
}

fn comparison(c: &Compiler, op: BinOp, lhs: &Expr, rhs: &Expr, span: &Span) -> Result<String> {
    let sql_op = match op {
        BinOp::Eq => "=",
        BinOp::Ne => "<>",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        _ => ">=",
    };
    // A value and a literal, or a literal and a value (mirrored).
    let (operand, lit, sql_op) = match (lhs, rhs) {
        (e, l) if literal(l).is_some() => (e, l, sql_op),
        (l, e) if literal(l).is_some() => (e, l, mirror_sql(sql_op)),
        _ => return values_compared(c, sql_op, lhs, rhs, span),
    };
    let Some((text, num)) = literal(lit) else {
        return refuse("not a literal", span);
    };
    let col = match operand {
        Expr::Field(f) => c.col(f).cloned(),
        e => {
            let (sql, kind) = value(c, e, span)?;
            Some(Col {
                name: String::new(),
                sql: format!("({sql})"),
                kind,
            })
        }
    };
    Ok(match col {
        None => "CAST(NULL AS BOOLEAN)".into(),
        Some(col) => on_values(c, &col, |v| compare_literal(c.d, v, sql_op, &text, num)),
    })
}

fn mirror_sql(op: &'static str) -> &'static str {
    match op {
        "<" => ">",
        "<=" => ">=",
        ">" => "<",
        ">=" => "<=",
        other => other,
    }
}

/// Two single values compared as [`crate::eval::compare`] does: as
/// numbers when both are, else as texts; null when either is.
fn values_compared(c: &Compiler, op: &str, lhs: &Expr, rhs: &Expr, span: &Span) -> Result<String> {
    let d = c.d;
    let side = |e: &Expr| -> Result<(String, Val)> {
        let (x, kind) = value(c, e, span)?;
        let x = format!("({x})");
        Ok(match kind {
            Kind::Text => (x.clone(), c.val(&x)),
            Kind::Int => (
                x.clone(),
                Val {
                    text: d.int_text(&x),
                    num: format!("CAST({x} AS DOUBLE)"),
                },
            ),
            Kind::Multi => {
                return refuse(
                    "a comparison of two expressions with multi-values is not compiled to SQL",
                    span,
                )
            }
        })
    };
    let ((a, va), (b, vb)) = (side(lhs)?, side(rhs)?);
    Ok(format!(
        "(CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL WHEN {na} IS NOT NULL AND {nb} IS NOT NULL THEN {na} {op} {nb} ELSE {ta} {op} {tb} END)",
        na = va.num,
        nb = vb.num,
        ta = va.text,
        tb = vb.text
    ))
}

/// Null when the cell is null, else whether some value satisfies `pred`.
fn on_values(c: &Compiler, col: &Col, pred: impl Fn(&super::Val) -> String) -> String {
    format!(
        "(CASE WHEN {} THEN NULL ELSE {} END)",
        c.is_null(col),
        c.any_value(col, pred)
    )
}

fn call(c: &Compiler, name: &str, args: &[Expr], span: &Span) -> Result<String> {
    let field = |i: usize| match args.get(i) {
        Some(Expr::Field(f)) => Ok(c.col(f)),
        _ => refuse(format!("`{name}` is compiled to SQL only on a field"), span),
    };
    match (name, args.len()) {
        ("isnull" | "isnotnull", 1) => {
            let null = match field(0)? {
                Some(col) => c.is_null(col),
                None => "TRUE".into(),
            };
            Ok(match name {
                "isnull" => null,
                _ => format!("(NOT {null})"),
            })
        }
        ("match", 2) => {
            let Some(Expr::Str(re)) = args.get(1) else {
                return refuse("`match` is compiled to SQL only with a literal pattern", span);
            };
            regex_on(c, field(0)?, re, span)
        }
        ("like", 2) => like(c, &args[0], &args[1], span),
        _ => refuse(
            format!("`{name}` is not compiled to SQL in `where` (match, like, isnull and isnotnull are)"),
            span,
        ),
    }
}

/// `field LIKE "pat"`: SQL's own LIKE, case-sensitive as evidx's (`%`
/// any run; a backslash is literal in evidx, so it is escaped).
fn like(c: &Compiler, expr: &Expr, pattern: &Expr, span: &Span) -> Result<String> {
    let (Expr::Field(f), Expr::Str(p)) = (expr, pattern) else {
        return refuse(
            "`like` is compiled to SQL only as field LIKE \"literal\"",
            span,
        );
    };
    if p.contains('_') {
        return refuse(
            "`_` in a LIKE pattern: SQL engines differ on what one character is",
            span,
        );
    }
    let p = p.replace('\\', "\\\\");
    Ok(match c.col(f) {
        None => "CAST(NULL AS BOOLEAN)".into(),
        Some(col) => on_values(c, col, |v| c.d.like(&v.text, &p)),
    })
}

/// Whether the pattern matches some value of the column (null for a null
/// cell or a missing column).
fn regex_on(c: &Compiler, col: Option<&Col>, re: &str, span: &Span) -> Result<String> {
    let re = translate(re, c.d).map_err(|m| super::Refusal {
        message: format!("regex {re:?}: {m}"),
        span: span.clone(),
    })?;
    Ok(match col {
        None => "CAST(NULL AS BOOLEAN)".into(),
        Some(col) => on_values(c, col, |v| c.d.regex_match(&v.text, &re)),
    })
}

/// The rows a `regex` command keeps: some value matches (`negate`: none
/// does; a missing or null field then keeps the row).
pub fn regex_command(
    c: &Compiler,
    field: Option<&str>,
    negate: bool,
    pattern: &str,
    span: &Span,
) -> Result<String> {
    let re = translate(pattern, c.d).map_err(|m| super::Refusal {
        message: format!("regex {pattern:?}: {m}"),
        span: span.clone(),
    })?;
    let any = match c.col(field.unwrap_or("_raw")) {
        None => "FALSE".into(),
        Some(col) => c.any_value(col, |v| c.d.regex_match(&v.text, &re)),
    };
    Ok(match negate {
        true => format!("(NOT {any})"),
        false => any,
    })
}
