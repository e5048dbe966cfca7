//! The eval language as SQL: conditions (`| where`, and the conditions
//! inside values) and values (`| eval`, and the operands of comparisons).
//! The two are one language, each made of the other, so they live here
//! together.
//!
//! Conditions, in the forms detections use: comparisons of values,
//! `AND`/`OR`/`XOR`/`NOT`, `match(field, "re")`, `isnull`/`isnotnull`,
//! `like(field, "pat")`, and `true`/`false`. The result follows
//! [`crate::eval`]: three-valued logic (a null field makes a comparison
//! null, and `where` keeps only true), comparisons true when any value of a
//! multi-value satisfies them, numbers compared as numbers and other text
//! in byte order.
//!
//! Values, in the forms whose answer every engine gives as
//! [`crate::eval`] does: fields, string and whole-number literals, `.`,
//! `+ - * /` (whole numbers as BIGINTs, anything else in DOUBLEs; `+` of a
//! side that may be text is a sum or a concatenation by row, as text),
//! conditions (stored as `true`/`false`), `if`, `case`, `coalesce`,
//! `lower`, `upper`, `len`, `substr` and `mvindex` with literal positions,
//! `split` on a literal delimiter, and `mvcount`.
//!
//! A value has a [`Kind`] known when compiling. What could give another
//! answer is refused: `%`, `-` of a text, fractional literals, and
//! functions not listed.

use super::filter_regex::translate_filter;
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
    let side = |e: &Expr| -> Result<(String, Val)> {
        let (x, kind) = value(c, e, span)?;
        if kind == Kind::Multi {
            return refuse(
                "a comparison of two expressions with multi-values is not compiled to SQL",
                span,
            );
        }
        let x = format!("({x})");
        let v = Val {
            text: c.first_text(&x, kind),
            num: c.first_num(&x, kind),
        };
        Ok((x, v))
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
    let re = translate_filter(re, c.d).map_err(|m| super::Refusal {
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
    let re = translate_filter(pattern, c.d).map_err(|m| super::Refusal {
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

/// The SQL of an eval expression and the kind of its value.
pub fn value(c: &Compiler, e: &Expr, span: &Span) -> Result<(String, Kind)> {
    let d = c.d;
    Ok(match e {
        Expr::Field(f) => match c.col(f) {
            Some(col) => (col.sql.clone(), col.kind),
            None => (d.null_text(), Kind::Text),
        },
        Expr::Str(s) => (d.lit(s), Kind::Text),
        Expr::Num(n) => (whole(*n, span)?, Kind::Int),
        Expr::Null => (d.null_text(), Kind::Text),
        Expr::Neg(inner) => match value(c, inner, span)? {
            (x, Kind::Int) => (format!("(-{x})"), Kind::Int),
            _ => {
                return refuse(
                    "`-` of a text is a number or null by row; not compiled to SQL",
                    span,
                )
            }
        },
        Expr::Binary { op, lhs, rhs } => match op {
            BinOp::Concat => {
                let (a, b) = (text(c, lhs, span)?, text(c, rhs, span)?);
                (format!("({a} || {b})"), Kind::Text)
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let (a, ka) = value(c, lhs, span)?;
                let (b, kb) = value(c, rhs, span)?;
                let sym = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    _ => "/",
                };
                if ka == Kind::Int && kb == Kind::Int && *op != BinOp::Div {
                    (format!("({a} {sym} {b})"), Kind::Int)
                } else {
                    arithmetic(c, *op, (&a, ka), (&b, kb))
                }
            }
            BinOp::Mod => {
                return refuse("`%` is not compiled to SQL (`+`, `-`, `*`, `/` are)", span)
            }
            _ => condition(c, e, span)?,
        },
        Expr::Not(_) | Expr::Like { .. } | Expr::Bool(_) => condition(c, e, span)?,
        Expr::Call { name, args, span } => value_call(c, name, args, span)?,
        _ => return refuse("this eval expression is not compiled to SQL", span),
    })
}

/// Arithmetic as [`crate::eval`] does it, in DOUBLEs: each side's number
/// (a multi-value's first value; null when not a number) and a null
/// result when either is null or for a division by zero. `+` of two
/// values that are not both numbers joins their texts, so when a side may
/// be text the result is text (a number as evidx prints it).
fn arithmetic(c: &Compiler, op: BinOp, a: (&str, Kind), b: (&str, Kind)) -> (String, Kind) {
    let d = c.d;
    let (na, nb) = (c.first_num(a.0, a.1), c.first_num(b.0, b.1));
    let result = match op {
        BinOp::Add => format!("({na} + {nb})"),
        BinOp::Sub => format!("({na} - {nb})"),
        BinOp::Mul => format!("({na} * {nb})"),
        _ => format!("(CASE WHEN {nb} <> 0 THEN {na} / {nb} END)"),
    };
    let numeric = |k: Kind| matches!(k, Kind::Int | Kind::Float);
    if op != BinOp::Add || (numeric(a.1) && numeric(b.1)) {
        return (result, Kind::Float);
    }
    let (ta, tb) = (c.first_text(a.0, a.1), c.first_text(b.0, b.1));
    (
        format!(
            "(CASE WHEN {na} IS NOT NULL AND {nb} IS NOT NULL THEN {} WHEN {ta} IS NOT NULL AND {tb} IS NOT NULL THEN {ta} || {tb} END)",
            d.num_text(&result)
        ),
        Kind::Text,
    )
}

/// A whole-number literal as SQL (evidx prints it without a fraction).
fn whole(n: f64, span: &Span) -> Result<String> {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        Ok(format!("CAST({} AS BIGINT)", n as i64))
    } else {
        refuse(
            "a number with a fraction: its text is formatted differently by SQL engines; not compiled",
            span,
        )
    }
}

/// A condition stored as a value: `true`, `false` or null.
fn condition(c: &Compiler, e: &Expr, span: &Span) -> Result<(String, Kind)> {
    let b = boolean(c, e, span)?;
    Ok((
        format!("(CASE WHEN {b} THEN 'true' WHEN NOT {b} THEN 'false' END)"),
        Kind::Text,
    ))
}

/// An expression's scalar text: a multi-value's first value, a whole
/// number's digits.
fn text(c: &Compiler, e: &Expr, span: &Span) -> Result<String> {
    let (x, kind) = value(c, e, span)?;
    Ok(c.first_text(&x, kind))
}

/// A whole-number literal argument.
fn int_arg(args: &[Expr], i: usize, name: &str, span: &Span) -> Result<Option<i64>> {
    match args.get(i) {
        None => Ok(None),
        Some(Expr::Num(n)) if n.fract() == 0.0 => Ok(Some(*n as i64)),
        Some(Expr::Neg(inner)) => match &**inner {
            Expr::Num(n) if n.fract() == 0.0 => Ok(Some(-(*n as i64))),
            _ => refuse(
                format!("`{name}` is compiled to SQL with literal whole-number positions only"),
                span,
            ),
        },
        Some(_) => refuse(
            format!("`{name}` is compiled to SQL with literal whole-number positions only"),
            span,
        ),
    }
}

/// Two branches' values as one kind (a whole number becomes its text
/// beside a text).
fn unify(
    c: &Compiler,
    a: (String, Kind),
    b: (String, Kind),
    span: &Span,
) -> Result<(String, String, Kind)> {
    let null = c.d.null_text();
    Ok(match (a.1, b.1) {
        (x, y) if x == y => (a.0, b.0, x),
        // A missing field is null of any kind.
        _ if a.0 == null => ("NULL".into(), b.0, b.1),
        _ if b.0 == null => (a.0, "NULL".into(), a.1),
        (Kind::Multi, _) | (_, Kind::Multi) => {
            return refuse(
                "branches of a multi-value and a single value are not compiled to SQL",
                span,
            )
        }
        _ => (c.first_text(&a.0, a.1), c.first_text(&b.0, b.1), Kind::Text),
    })
}

fn value_call(c: &Compiler, name: &str, args: &[Expr], span: &Span) -> Result<(String, Kind)> {
    let d = c.d;
    let arg = |i: usize| match args.get(i) {
        Some(e) => value(c, e, span),
        None => Ok((d.null_text(), Kind::Text)),
    };
    Ok(match name {
        "isnull" | "isnotnull" | "match" | "like" => condition(
            c,
            &Expr::Call {
                name: name.to_string(),
                args: args.to_vec(),
                span: span.clone(),
            },
            span,
        )?,
        "lower" | "upper" => {
            let (x, kind) = arg(0)?;
            let f = |v: &str| format!("{name}({v})");
            match kind {
                Kind::Text => (f(&x), Kind::Text),
                Kind::Int => (d.int_text(&x), Kind::Text),
                Kind::Float => (d.num_text(&x), Kind::Text),
                Kind::Multi => (d.list_map(&x, &f("v")), Kind::Multi),
            }
        }
        "len" => {
            let x = text(c, args.first().unwrap_or(&Expr::Null), span)?;
            (format!("CAST({} AS BIGINT)", d.char_length(&x)), Kind::Int)
        }
        "coalesce" => {
            let mut out: Option<(String, Kind)> = None;
            for a in args {
                let v = value(c, a, span)?;
                out = Some(match out {
                    None => v,
                    Some(acc) => {
                        let (x, y, kind) = unify(c, acc, v, span)?;
                        let null = match kind {
                            Kind::Multi => format!("({x} IS NULL OR {} = 0)", d.list_len(&x)),
                            _ => format!("({x} IS NULL)"),
                        };
                        (format!("(CASE WHEN {null} THEN {y} ELSE {x} END)"), kind)
                    }
                });
            }
            out.unwrap_or((d.null_text(), Kind::Text))
        }
        "if" => {
            let Some(cond) = args.first() else {
                return refuse("`if` needs three arguments", span);
            };
            let b = boolean(c, cond, span)?;
            let (x, y, kind) = unify(c, arg(1)?, arg(2)?, span)?;
            (format!("(CASE WHEN {b} THEN {x} ELSE {y} END)"), kind)
        }
        "case" => {
            let mut kind: Option<Kind> = None;
            let mut branches = Vec::new();
            for pair in args.chunks(2) {
                let [cond, val] = pair else {
                    return refuse("`case` needs condition, value pairs", span);
                };
                let (v, k) = value(c, val, span)?;
                let v = match (kind, k) {
                    (None, k) => {
                        kind = Some(k);
                        v
                    }
                    (Some(a), b) if a == b => v,
                    (Some(Kind::Multi), _) | (_, Kind::Multi) => {
                        return refuse(
                            "`case` of multi-values and single values is not compiled to SQL",
                            span,
                        )
                    }
                    _ => {
                        kind = Some(Kind::Text);
                        c.first_text(&v, k)
                    }
                };
                branches.push((boolean(c, cond, span)?, v, k));
            }
            let kind = kind.unwrap_or(Kind::Text);
            let whens: Vec<String> = branches
                .into_iter()
                .map(|(b, v, k)| {
                    let v = match (kind, k) {
                        (Kind::Text, Kind::Int) => d.int_text(&v),
                        _ => v,
                    };
                    format!("WHEN {b} THEN {v}")
                })
                .collect();
            match whens.is_empty() {
                true => (d.null_text(), Kind::Text),
                false => (format!("(CASE {} END)", whens.join(" ")), kind),
            }
        }
        "substr" => {
            let x = text(c, args.first().unwrap_or(&Expr::Null), span)?;
            let Some(start) = int_arg(args, 1, name, span)? else {
                return refuse("`substr` needs a start", span);
            };
            let len = int_arg(args, 2, name, span)?;
            if len.is_some_and(|l| l < 0) {
                return Ok((format!("(CASE WHEN {x} IS NOT NULL THEN '' END)"), Kind::Text));
            }
            // The 1-based first character evidx takes (see eval::substr).
            let from = match start {
                s if s > 0 => format!("{s}"),
                0 => "1".into(),
                s => format!("(greatest({} + ({s}), 0) + 1)", d.char_length(&x)),
            };
            let sub = match len {
                Some(l) => d.substring(&x, &from, Some(&l.to_string())),
                None => d.substring(&x, &from, None),
            };
            (sub, Kind::Text)
        }
        "split" => {
            let x = text(c, args.first().unwrap_or(&Expr::Null), span)?;
            let Some(Expr::Str(delim)) = args.get(1).filter(|a| !matches!(a, Expr::Str(d) if d.is_empty())) else {
                return refuse(
                    "`split` is compiled to SQL with a literal, non-empty delimiter only",
                    span,
                );
            };
            (d.split(&x, delim), Kind::Multi)
        }
        "mvcount" => {
            let (x, kind) = arg(0)?;
            let n = match kind {
                Kind::Multi => format!(
                    "(CASE WHEN {x} IS NULL OR {len} = 0 THEN NULL ELSE {len} END)",
                    len = d.list_len(&x)
                ),
                _ => format!("(CASE WHEN {x} IS NULL THEN NULL ELSE 1 END)"),
            };
            (format!("CAST({n} AS BIGINT)"), Kind::Int)
        }
        "mvindex" => {
            let (x, kind) = arg(0)?;
            let list = match kind {
                Kind::Multi => x,
                _ => format!(
                    "(CASE WHEN {x} IS NULL THEN NULL ELSE {} END)",
                    d.list_of_one(&c.first_text(&x, kind))
                ),
            };
            let Some(start) = int_arg(args, 1, name, span)? else {
                return refuse("`mvindex` needs a start", span);
            };
            let end = int_arg(args, 2, name, span)?;
            let n = d.list_len(&list);
            // 0-based, negative from the end, end inclusive (eval::mvindex).
            let norm = |i: i64| match i < 0 {
                true => format!("({n} + ({i}))"),
                false => format!("{i}"),
            };
            let (s, e) = (norm(start), end.map(norm));
            match e {
                None => (
                    format!(
                        "(CASE WHEN {s} >= 0 AND {s} < {n} THEN {} END)",
                        d.list_at(&list, &s)
                    ),
                    Kind::Text,
                ),
                Some(e) => {
                    let e = format!("least({e}, {n} - 1)");
                    (
                        format!(
                            "(CASE WHEN {s} >= 0 AND {s} < {n} AND {e} >= {s} THEN {} END)",
                            d.list_slice(&list, &s, &e)
                        ),
                        Kind::Multi,
                    )
                }
            }
        }
        _ => {
            return refuse(
                format!("`{name}` is not compiled to SQL in eval (if, case, coalesce, lower, upper, len, substr, split, mvcount, mvindex, match, like, isnull and isnotnull are)"),
                span,
            )
        }
    })
}
