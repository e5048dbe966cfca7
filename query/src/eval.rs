//! The eval language (`where`, `eval`) evaluated over one row of a
//! [`Table`]. Values are dynamically typed as in Splunk: a cell is a string
//! (or several), numbers are recognised when a string parses as one, and
//! null propagates through most operations.

use std::collections::HashMap;
use std::sync::Arc;

use crate::num::{format_num, parse_num};
use crate::pattern::Pattern;
use crate::spl::ast::{BinOp, Expr};
use crate::table::{Cell, Table};

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalValue {
    Null,
    Str(String),
    Num(f64),
    Bool(bool),
    /// A multi-valued field (two or more values).
    Multi(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("invalid regular expression {pattern:?}: {message}")]
    Regex { pattern: String, message: String },
    #[error("regular expression {pattern:?} failed at run time: {message}")]
    RegexRun { pattern: String, message: String },
    #[error("{0}")]
    Type(String),
}

impl EvalValue {
    pub fn from_cell(cell: &Cell) -> Self {
        match cell.0.len() {
            0 => EvalValue::Null,
            1 => EvalValue::Str(cell.0[0].clone()),
            _ => EvalValue::Multi(cell.0.clone()),
        }
    }

    /// The cell an `eval` assignment stores.
    pub fn into_cell(self) -> Cell {
        match self {
            EvalValue::Null => Cell::null(),
            EvalValue::Str(s) => Cell::one(s),
            EvalValue::Num(n) => Cell::one(format_num(n)),
            EvalValue::Bool(b) => Cell::one(if b { "true" } else { "false" }),
            EvalValue::Multi(v) => Cell(v),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, EvalValue::Null)
    }

    /// The scalar string form (first value of a multi-value).
    pub fn as_string(&self) -> Option<String> {
        match self {
            EvalValue::Null => None,
            EvalValue::Str(s) => Some(s.clone()),
            EvalValue::Num(n) => Some(format_num(*n)),
            EvalValue::Bool(b) => Some(b.to_string()),
            EvalValue::Multi(v) => v.first().cloned(),
        }
    }

    pub fn as_num(&self) -> Option<f64> {
        match self {
            EvalValue::Num(n) => Some(*n),
            EvalValue::Str(s) => parse_num(s),
            EvalValue::Multi(v) => v.first().and_then(|s| parse_num(s)),
            _ => None,
        }
    }

    /// Each value as a scalar (a multi-value expands; null gives none).
    fn scalars(&self) -> Vec<EvalValue> {
        match self {
            EvalValue::Null => Vec::new(),
            EvalValue::Multi(v) => v.iter().map(|s| EvalValue::Str(s.clone())).collect(),
            other => vec![other.clone()],
        }
    }

    /// Three-valued logic: None is null.
    fn as_bool(&self, op: &str) -> Result<Option<bool>, EvalError> {
        match self {
            EvalValue::Bool(b) => Ok(Some(*b)),
            EvalValue::Null => Ok(None),
            other => Err(EvalError::Type(format!(
                "`{op}` needs boolean operands, got {other:?}"
            ))),
        }
    }
}

/// Evaluates expressions; holds the compiled-regex cache for one command.
#[derive(Default)]
pub struct Evaluator {
    regexes: HashMap<String, Arc<Pattern>>,
    /// A field bound to one of its values (inside `mvfilter`).
    bound: Option<(String, EvalValue)>,
}

impl Evaluator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Compile (once) a PCRE-style regex.
    pub fn regex(&mut self, pattern: &str) -> Result<Arc<Pattern>, EvalError> {
        if let Some(r) = self.regexes.get(pattern) {
            return Ok(r.clone());
        }
        let re = crate::pattern::compiled(pattern).map_err(|e| EvalError::Regex {
            pattern: pattern.to_string(),
            message: e.to_string(),
        })?;
        self.regexes.insert(pattern.to_string(), re.clone());
        Ok(re)
    }

    /// `re` matches `text` anywhere.
    pub fn is_match(&mut self, pattern: &str, text: &str) -> Result<bool, EvalError> {
        let re = self.regex(pattern)?;
        re.is_match(text).map_err(|e| EvalError::RegexRun {
            pattern: pattern.to_string(),
            message: e.to_string(),
        })
    }

    /// `where` semantics: keep the row only when the result is true.
    pub fn eval_bool(&mut self, expr: &Expr, table: &Table, row: usize) -> Result<bool, EvalError> {
        Ok(matches!(
            self.eval(expr, table, row)?,
            EvalValue::Bool(true)
        ))
    }

    pub fn eval(&mut self, expr: &Expr, table: &Table, row: usize) -> Result<EvalValue, EvalError> {
        Ok(match expr {
            Expr::Field(name) => match &self.bound {
                Some((b, v)) if b == name => v.clone(),
                _ => field(table, row, name),
            },
            Expr::Str(s) => EvalValue::Str(s.clone()),
            Expr::Num(n) => EvalValue::Num(*n),
            Expr::Bool(b) => EvalValue::Bool(*b),
            Expr::Null => EvalValue::Null,
            Expr::Not(e) => match self.eval(e, table, row)?.as_bool("NOT")? {
                Some(b) => EvalValue::Bool(!b),
                None => EvalValue::Null,
            },
            Expr::Neg(e) => match self.eval(e, table, row)?.as_num() {
                Some(n) => EvalValue::Num(-n),
                None => EvalValue::Null,
            },
            Expr::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, table, row)?,
            Expr::Like { expr, pattern } => {
                let v = self.eval(expr, table, row)?;
                let p = self.eval(pattern, table, row)?;
                self.like(&v, &p)?
            }
            Expr::In { expr, list } => {
                let v = self.eval(expr, table, row)?;
                if v.is_null() {
                    return Ok(EvalValue::Null);
                }
                let mut found = false;
                for item in list {
                    let it = self.eval(item, table, row)?;
                    if compare(BinOp::Eq, &v, &it) == Some(true) {
                        found = true;
                        break;
                    }
                }
                EvalValue::Bool(found)
            }
            Expr::Call { name, args, .. } => self.call(name, args, table, row)?,
        })
    }

    fn binary(
        &mut self,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
        table: &Table,
        row: usize,
    ) -> Result<EvalValue, EvalError> {
        match op {
            BinOp::And | BinOp::Or | BinOp::Xor => {
                let name = match op {
                    BinOp::And => "AND",
                    BinOp::Or => "OR",
                    _ => "XOR",
                };
                let a = self.eval(lhs, table, row)?.as_bool(name)?;
                // Short-circuit like Splunk: false AND x, true OR x.
                match (op, a) {
                    (BinOp::And, Some(false)) => return Ok(EvalValue::Bool(false)),
                    (BinOp::Or, Some(true)) => return Ok(EvalValue::Bool(true)),
                    _ => {}
                }
                let b = self.eval(rhs, table, row)?.as_bool(name)?;
                let r = match (op, a, b) {
                    (BinOp::And, _, Some(false)) => Some(false),
                    (BinOp::And, Some(true), Some(true)) => Some(true),
                    (BinOp::Or, _, Some(true)) => Some(true),
                    (BinOp::Or, Some(false), Some(false)) => Some(false),
                    (BinOp::Xor, Some(x), Some(y)) => Some(x != y),
                    _ => None,
                };
                Ok(r.map_or(EvalValue::Null, EvalValue::Bool))
            }
            _ => {
                let a = self.eval(lhs, table, row)?;
                let b = self.eval(rhs, table, row)?;
                Ok(match op {
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        compare(op, &a, &b).map_or(EvalValue::Null, EvalValue::Bool)
                    }
                    BinOp::Concat => match (a.as_string(), b.as_string()) {
                        (Some(x), Some(y)) => EvalValue::Str(x + &y),
                        _ => EvalValue::Null,
                    },
                    BinOp::Add => match (a.as_num(), b.as_num()) {
                        (Some(x), Some(y)) => EvalValue::Num(x + y),
                        _ => match (a.as_string(), b.as_string()) {
                            (Some(x), Some(y)) => EvalValue::Str(x + &y),
                            _ => EvalValue::Null,
                        },
                    },
                    _ => match (a.as_num(), b.as_num()) {
                        (Some(x), Some(y)) => match op {
                            BinOp::Sub => EvalValue::Num(x - y),
                            BinOp::Mul => EvalValue::Num(x * y),
                            BinOp::Div if y != 0.0 => EvalValue::Num(x / y),
                            BinOp::Mod if y != 0.0 => EvalValue::Num(x % y),
                            _ => EvalValue::Null,
                        },
                        _ => EvalValue::Null,
                    },
                })
            }
        }
    }

    fn like(&mut self, v: &EvalValue, p: &EvalValue) -> Result<EvalValue, EvalError> {
        let (Some(pat), false) = (p.as_string(), v.is_null()) else {
            return Ok(EvalValue::Null);
        };
        let re = like_to_regex(&pat);
        for s in v.scalars() {
            if let Some(text) = s.as_string() {
                if self.is_match(&re, &text)? {
                    return Ok(EvalValue::Bool(true));
                }
            }
        }
        Ok(EvalValue::Bool(false))
    }

    fn call(
        &mut self,
        name: &str,
        args: &[Expr],
        table: &Table,
        row: usize,
    ) -> Result<EvalValue, EvalError> {
        // Lazily evaluated functions first.
        match name {
            "if" => {
                let (Some(cond), Some(then), Some(other)) =
                    (args.first(), args.get(1), args.get(2))
                else {
                    return Ok(EvalValue::Null);
                };
                let c = self.eval(cond, table, row)?;
                let branch = if matches!(c, EvalValue::Bool(true)) {
                    then
                } else {
                    other
                };
                return self.eval(branch, table, row);
            }
            "case" => {
                for pair in args.chunks(2) {
                    if let [cond, val] = pair {
                        if self.eval_bool(cond, table, row)? {
                            return self.eval(val, table, row);
                        }
                    }
                }
                return Ok(EvalValue::Null);
            }
            "mvfilter" => {
                // The expression is evaluated for each value of the
                // (first) field it names; the values where it is true stay.
                let Some(expr) = args.first() else {
                    return Ok(EvalValue::Null);
                };
                let Some(name) = first_field(expr) else {
                    return Ok(EvalValue::Null);
                };
                let values = field(table, row, &name).scalars();
                let saved = self.bound.take();
                let mut kept = Vec::new();
                for v in values {
                    self.bound = Some((name.clone(), v.clone()));
                    let r = self.eval(expr, table, row);
                    if matches!(r, Ok(EvalValue::Bool(true))) {
                        kept.extend(v.as_string());
                    }
                    if let Err(e) = r {
                        self.bound = saved;
                        return Err(e);
                    }
                }
                self.bound = saved;
                return Ok(multi(kept));
            }
            // `mvcount(split(t, d))`, ESCU's way to count a separator
            // (path traversal, obfuscation, long argument lists), counted
            // without making the values: split gives one more value than
            // `d` has non-overlapping matches, one per character when `d`
            // is empty, and none (null) for an empty text then.
            "mvcount" => {
                if let [Expr::Call {
                    name: inner,
                    args: split_args,
                    ..
                }] = args
                {
                    if let ("split", [text, delim]) = (inner.as_str(), &split_args[..]) {
                        let t = self.eval(text, table, row)?.as_string();
                        let d = self.eval(delim, table, row)?.as_string();
                        let (Some(t), Some(d)) = (t, d) else {
                            return Ok(EvalValue::Null);
                        };
                        let n = match d.is_empty() {
                            true => t.chars().count(),
                            false => {
                                memchr::memmem::find_iter(t.as_bytes(), d.as_bytes()).count() + 1
                            }
                        };
                        return Ok(match n {
                            0 => EvalValue::Null,
                            n => EvalValue::Num(n as f64),
                        });
                    }
                }
            }
            "coalesce" => {
                for a in args {
                    let v = self.eval(a, table, row)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                return Ok(EvalValue::Null);
            }
            _ => {}
        }
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a, table, row)?);
        }
        let arg = |i: usize| vals.get(i).cloned().unwrap_or(EvalValue::Null);
        let s = |i: usize| arg(i).as_string();
        let n = |i: usize| arg(i).as_num();
        Ok(match name {
            "isnull" => EvalValue::Bool(arg(0).is_null()),
            "isnotnull" => EvalValue::Bool(!arg(0).is_null()),
            "len" => s(0).map_or(
                EvalValue::Null,
                |t| EvalValue::Num(t.chars().count() as f64),
            ),
            "lower" => map_str(&arg(0), |t| t.to_lowercase()),
            "upper" => map_str(&arg(0), |t| t.to_uppercase()),
            "match" => {
                let (v, Some(re)) = (arg(0), s(1)) else {
                    return Ok(EvalValue::Null);
                };
                if v.is_null() {
                    return Ok(EvalValue::Null);
                }
                let mut hit = false;
                for sv in v.scalars() {
                    if let Some(t) = sv.as_string() {
                        if self.is_match(&re, &t)? {
                            hit = true;
                            break;
                        }
                    }
                }
                EvalValue::Bool(hit)
            }
            "like" => self.like(&arg(0), &arg(1))?,
            "substr" => match (s(0), n(1)) {
                (Some(t), Some(start)) => substr(&t, start, n(2)),
                _ => EvalValue::Null,
            },
            "replace" => match (s(0), s(1), s(2)) {
                (Some(t), Some(re), Some(rep)) => {
                    let r = self.regex(&re)?;
                    let rep = splunk_replacement(&rep);
                    let out = r.regex().try_replacen(&t, 0, rep.as_str()).map_err(|e| {
                        EvalError::RegexRun {
                            pattern: re.clone(),
                            message: e.to_string(),
                        }
                    })?;
                    EvalValue::Str(out.into_owned())
                }
                _ => EvalValue::Null,
            },
            "mvcount" => match arg(0) {
                EvalValue::Null => EvalValue::Null,
                EvalValue::Multi(v) => EvalValue::Num(v.len() as f64),
                _ => EvalValue::Num(1.0),
            },
            "mvindex" => mvindex(&arg(0), n(1), vals.get(2).map(|v| v.as_num())),
            "split" => match (s(0), s(1)) {
                (Some(t), Some(d)) => {
                    let parts: Vec<String> = if d.is_empty() {
                        t.chars().map(String::from).collect()
                    } else {
                        t.split(d.as_str()).map(str::to_string).collect()
                    };
                    multi(parts)
                }
                _ => EvalValue::Null,
            },
            "tonumber" => match s(0) {
                Some(t) => {
                    let base = n(1).unwrap_or(10.0) as u32;
                    if base == 10 {
                        parse_num(&t).map_or(EvalValue::Null, EvalValue::Num)
                    } else if (2..=36).contains(&base) {
                        let t = t.trim();
                        let t = if base == 16 {
                            t.trim_start_matches("0x").trim_start_matches("0X")
                        } else {
                            t
                        };
                        i64::from_str_radix(t, base)
                            .map_or(EvalValue::Null, |v| EvalValue::Num(v as f64))
                    } else {
                        EvalValue::Null
                    }
                }
                None => EvalValue::Null,
            },
            "tostring" => tostring(&arg(0), s(1).as_deref()),
            "round" => match n(0) {
                Some(x) => {
                    let digits = n(1).unwrap_or(0.0).clamp(0.0, 15.0) as i32;
                    let f = 10f64.powi(digits);
                    EvalValue::Num((x * f).round() / f)
                }
                None => EvalValue::Null,
            },
            "abs" => n(0).map_or(EvalValue::Null, |x| EvalValue::Num(x.abs())),
            "floor" => n(0).map_or(EvalValue::Null, |x| EvalValue::Num(x.floor())),
            "ceil" | "ceiling" => n(0).map_or(EvalValue::Null, |x| EvalValue::Num(x.ceil())),
            "sqrt" => n(0)
                .filter(|x| *x >= 0.0)
                .map_or(EvalValue::Null, |x| EvalValue::Num(x.sqrt())),
            "exp" => n(0).map_or(EvalValue::Null, |x| EvalValue::Num(x.exp())),
            "ln" => n(0)
                .filter(|x| *x > 0.0)
                .map_or(EvalValue::Null, |x| EvalValue::Num(x.ln())),
            "log" => match (n(0), vals.get(1).map_or(Some(10.0), EvalValue::as_num)) {
                (Some(x), Some(b)) if x > 0.0 && b > 0.0 => EvalValue::Num(x.log(b)),
                _ => EvalValue::Null,
            },
            "pow" => match (n(0), n(1)) {
                (Some(x), Some(y)) => EvalValue::Num(x.powf(y)),
                _ => EvalValue::Null,
            },
            "isnum" => {
                EvalValue::Bool(arg(0).as_num().is_some() && !matches!(arg(0), EvalValue::Multi(_)))
            }
            "isstr" => {
                EvalValue::Bool(matches!(arg(0), EvalValue::Str(ref t) if parse_num(t).is_none()))
            }
            "typeof" => EvalValue::Str(
                match arg(0) {
                    EvalValue::Null => "Invalid",
                    EvalValue::Bool(_) => "Boolean",
                    EvalValue::Num(_) => "Number",
                    EvalValue::Multi(_) => "Multivalue",
                    EvalValue::Str(t) if parse_num(&t).is_some() => "Number",
                    EvalValue::Str(_) => "String",
                }
                .into(),
            ),
            "max" | "min" => {
                let mut all: Vec<String> = Vec::new();
                for v in &vals {
                    all.extend(v.scalars().iter().filter_map(EvalValue::as_string));
                }
                let pick = if name == "max" {
                    all.into_iter()
                        .max_by(|a, b| crate::commands::stats::value_cmp(a, b))
                } else {
                    all.into_iter()
                        .min_by(|a, b| crate::commands::stats::value_cmp(a, b))
                };
                pick.map_or(EvalValue::Null, |v| match parse_num(&v) {
                    Some(x) => EvalValue::Num(x),
                    None => EvalValue::Str(v),
                })
            }
            "mvappend" => {
                let mut all = Vec::new();
                for v in &vals {
                    all.extend(v.scalars().iter().filter_map(EvalValue::as_string));
                }
                multi(all)
            }
            "mvdedup" => {
                let mut out: Vec<String> = Vec::new();
                for v in arg(0).scalars().iter().filter_map(EvalValue::as_string) {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                multi(out)
            }
            "mvsort" => {
                let mut out: Vec<String> = arg(0)
                    .scalars()
                    .iter()
                    .filter_map(EvalValue::as_string)
                    .collect();
                out.sort();
                multi(out)
            }
            "mvjoin" => match s(1) {
                Some(d) if !arg(0).is_null() => EvalValue::Str(
                    arg(0)
                        .scalars()
                        .iter()
                        .filter_map(EvalValue::as_string)
                        .collect::<Vec<_>>()
                        .join(&d),
                ),
                _ => EvalValue::Null,
            },
            "mvfind" => match s(1) {
                Some(re) => {
                    let mut at = EvalValue::Null;
                    for (i, v) in arg(0)
                        .scalars()
                        .iter()
                        .filter_map(EvalValue::as_string)
                        .enumerate()
                    {
                        if self.is_match(&re, &v)? {
                            at = EvalValue::Num(i as f64);
                            break;
                        }
                    }
                    at
                }
                None => EvalValue::Null,
            },
            "cidrmatch" => match (s(0), s(1)) {
                (Some(net), Some(ip)) => EvalValue::Bool(crate::lookups::cidr_contains(&net, &ip)),
                _ => EvalValue::Null,
            },
            "now" | "time" => EvalValue::Num(now_secs()),
            "relative_time" => match (n(0), s(1)) {
                (Some(t), Some(spec)) => {
                    relative_time(t, &spec).map_or(EvalValue::Null, EvalValue::Num)
                }
                _ => EvalValue::Null,
            },
            "strptime" => match (s(0), s(1)) {
                (Some(t), Some(f)) => strptime(&t, &f).map_or(EvalValue::Null, EvalValue::Num),
                _ => EvalValue::Null,
            },
            "strftime" => match (n(0), s(1)) {
                (Some(t), Some(f)) => strftime(t, &f).map_or(EvalValue::Null, EvalValue::Str),
                _ => EvalValue::Null,
            },
            "trim" | "ltrim" | "rtrim" => match s(0) {
                Some(t) => {
                    let set: Vec<char> = s(1).map_or(vec![' ', '\t'], |c| c.chars().collect());
                    let pred = |c: char| set.contains(&c);
                    EvalValue::Str(match name {
                        "ltrim" => t.trim_start_matches(pred).to_string(),
                        "rtrim" => t.trim_end_matches(pred).to_string(),
                        _ => t.trim_matches(pred).to_string(),
                    })
                }
                None => EvalValue::Null,
            },
            other => {
                return Err(EvalError::Type(format!(
                    "unsupported eval function `{other}`"
                )))
            }
        })
    }
}

/// The first field an expression names (what `mvfilter` iterates over).
fn first_field(e: &Expr) -> Option<String> {
    match e {
        Expr::Field(f) => Some(f.clone()),
        Expr::Not(x) | Expr::Neg(x) => first_field(x),
        Expr::Binary { lhs, rhs, .. } => first_field(lhs).or_else(|| first_field(rhs)),
        Expr::Call { args, .. } => args.iter().find_map(first_field),
        Expr::Like { expr, pattern } => first_field(expr).or_else(|| first_field(pattern)),
        Expr::In { expr, list } => first_field(expr).or_else(|| list.iter().find_map(first_field)),
        _ => None,
    }
}

/// The current time in epoch seconds.
fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs() as f64)
}

/// `relative_time(t, "-1d@d")`: offsets `[+-]N unit` (s, m, h, d, w,
/// mon, y) then an optional snap `@unit` (s, m, h, d, w).
fn relative_time(t: f64, spec: &str) -> Option<f64> {
    let (offsets, snap) = match spec.split_once('@') {
        Some((o, s)) => (o, Some(s)),
        None => (spec, None),
    };
    let unit_secs = |u: &str| -> Option<f64> {
        Some(match u {
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86_400.0,
            "w" | "week" | "weeks" => 604_800.0,
            "mon" | "month" | "months" => 2_592_000.0,
            "y" | "year" | "years" => 31_536_000.0,
            _ => return None,
        })
    };
    let mut out = t;
    let mut rest = offsets.trim();
    while !rest.is_empty() {
        let sign = match rest.chars().next()? {
            '+' => 1.0,
            '-' => -1.0,
            _ => return None,
        };
        rest = &rest[1..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        rest = &rest[digits.len()..];
        let unit: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        rest = &rest[unit.len()..];
        let n: f64 = if digits.is_empty() {
            1.0
        } else {
            digits.parse().ok()?
        };
        out += sign * n * unit_secs(&unit)?;
    }
    if let Some(u) = snap {
        let step = unit_secs(u.trim())?;
        out = (out / step).floor() * step;
    }
    Some(out)
}

/// `strptime(text, format)` in UTC; a format without a time reads
/// midnight.
fn strptime(text: &str, fmt: &str) -> Option<f64> {
    use chrono::{NaiveDate, NaiveDateTime};
    if let Ok(dt) = NaiveDateTime::parse_from_str(text, fmt) {
        return Some(dt.and_utc().timestamp() as f64);
    }
    let d = NaiveDate::parse_from_str(text, fmt).ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() as f64)
}

/// `strftime(t, format)` in UTC (None for a bad format).
fn strftime(t: f64, fmt: &str) -> Option<String> {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item> = StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return None;
    }
    let dt = chrono::DateTime::from_timestamp(t.floor() as i64, 0)?;
    Some(dt.format_with_items(items.iter()).to_string())
}

/// The value of a column in a row; a missing column is null.
fn field(table: &Table, row: usize, name: &str) -> EvalValue {
    match (table.column_index(name), table.rows.get(row)) {
        (Some(i), Some(r)) => r.get(i).map_or(EvalValue::Null, EvalValue::from_cell),
        _ => EvalValue::Null,
    }
}

fn multi(mut parts: Vec<String>) -> EvalValue {
    match parts.len() {
        0 => EvalValue::Null,
        1 => EvalValue::Str(parts.pop().unwrap_or_default()),
        _ => EvalValue::Multi(parts),
    }
}

/// Apply a string function to every value (multi-values stay multi).
fn map_str(v: &EvalValue, f: impl Fn(&str) -> String) -> EvalValue {
    match v {
        EvalValue::Null => EvalValue::Null,
        EvalValue::Multi(vs) => EvalValue::Multi(vs.iter().map(|s| f(s)).collect()),
        other => other
            .as_string()
            .map_or(EvalValue::Null, |s| EvalValue::Str(f(&s))),
    }
}

/// Compare two values; true if any pair of values satisfies `op`.
/// Numeric when both parse as numbers, else case-sensitive string order.
pub fn compare(op: BinOp, a: &EvalValue, b: &EvalValue) -> Option<bool> {
    if a.is_null() || b.is_null() {
        return None;
    }
    let (xs, ys) = (a.scalars(), b.scalars());
    Some(
        xs.iter()
            .any(|x| ys.iter().any(|y| compare_scalar(op, x, y))),
    )
}

fn compare_scalar(op: BinOp, a: &EvalValue, b: &EvalValue) -> bool {
    use std::cmp::Ordering;
    let ord = match (a, b) {
        (EvalValue::Bool(x), EvalValue::Bool(y)) => x.cmp(y),
        _ => match (a.as_num(), b.as_num()) {
            (Some(x), Some(y)) => match x.partial_cmp(&y) {
                Some(o) => o,
                None => return false,
            },
            _ => match (a.as_string(), b.as_string()) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => return false,
            },
        },
    };
    match op {
        BinOp::Eq => ord == Ordering::Equal,
        BinOp::Ne => ord != Ordering::Equal,
        BinOp::Lt => ord == Ordering::Less,
        BinOp::Le => ord != Ordering::Greater,
        BinOp::Gt => ord == Ordering::Greater,
        BinOp::Ge => ord != Ordering::Less,
        _ => false,
    }
}

/// SQL LIKE (`%` any run, `_` one character) as an anchored regex.
pub fn like_to_regex(pattern: &str) -> String {
    let mut re = String::from("(?s)^");
    let mut lit = String::new();
    let flush = |lit: &mut String, re: &mut String| {
        re.push_str(&fancy_regex::escape(lit));
        lit.clear();
    };
    for c in pattern.chars() {
        match c {
            '%' => {
                flush(&mut lit, &mut re);
                re.push_str(".*");
            }
            '_' => {
                flush(&mut lit, &mut re);
                re.push('.');
            }
            _ => lit.push(c),
        }
    }
    flush(&mut lit, &mut re);
    re.push('$');
    re
}

/// Splunk's `\1` back-references become `${1}`; a literal `$` is escaped.
pub fn splunk_replacement(rep: &str) -> String {
    let mut out = String::with_capacity(rep.len());
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                let mut num = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    num.push(*d);
                    chars.next();
                }
                out.push_str(&format!("${{{num}}}"));
            }
            _ => out.push(c),
        }
    }
    out
}

/// `substr(s, start, len)`: 1-based start, negative counts from the end.
fn substr(t: &str, start: f64, len: Option<f64>) -> EvalValue {
    let chars: Vec<char> = t.chars().collect();
    let n = chars.len() as i64;
    let start = start as i64;
    let from = if start > 0 {
        start - 1
    } else if start < 0 {
        n.saturating_add(start).max(0)
    } else {
        0
    };
    let from = from.min(n);
    let to = match len {
        Some(l) if l >= 0.0 => from.saturating_add(l as i64).min(n),
        Some(_) => from,
        None => n,
    };
    EvalValue::Str(chars[from as usize..to as usize].iter().collect())
}

/// `mvindex(mv, start[, end])`: 0-based, negative from the end, end inclusive.
fn mvindex(v: &EvalValue, start: Option<f64>, end: Option<Option<f64>>) -> EvalValue {
    let vals: Vec<String> = v
        .scalars()
        .iter()
        .filter_map(EvalValue::as_string)
        .collect();
    let (Some(start), false) = (start, vals.is_empty()) else {
        return EvalValue::Null;
    };
    let n = vals.len() as i64;
    let norm = |i: f64| {
        let i = i as i64;
        if i < 0 {
            n + i
        } else {
            i
        }
    };
    let s = norm(start);
    let e = match end {
        None => s,
        Some(None) => return EvalValue::Null,
        Some(Some(e)) => norm(e).min(n - 1),
    };
    if s < 0 || s >= n || e < s {
        return EvalValue::Null;
    }
    multi(vals[s as usize..=e as usize].to_vec())
}

fn tostring(v: &EvalValue, fmt: Option<&str>) -> EvalValue {
    match (fmt, v.as_num()) {
        (Some("hex"), Some(x)) => EvalValue::Str(format!("0x{:x}", x as i64)),
        (Some("commas"), Some(x)) => {
            let rounded = (x * 100.0).round() / 100.0;
            let int = rounded.trunc().abs() as i64;
            let digits = int.to_string();
            let mut grouped = String::new();
            for (i, ch) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    grouped.push(',');
                }
                grouped.push(ch);
            }
            let sign = if rounded < 0.0 { "-" } else { "" };
            let frac = (rounded.fract().abs() * 100.0).round() as i64;
            if frac == 0 {
                EvalValue::Str(format!("{sign}{grouped}"))
            } else {
                EvalValue::Str(format!("{sign}{grouped}.{frac:02}"))
            }
        }
        (Some("duration"), Some(x)) => {
            let secs = x as i64;
            let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
            EvalValue::Str(format!("{h:02}:{m:02}:{s:02}"))
        }
        _ => map_str(v, str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spl::parser::parse_eval_expr;

    fn table() -> Table {
        Table {
            columns: vec![
                "a".into(),
                "b".into(),
                "c".into(),
                "process".into(),
                "mv".into(),
                "n".into(),
            ],
            rows: vec![vec![
                Cell::one("1"),
                Cell::one("2"),
                Cell::one("3"),
                Cell::one("powershell.exe -EncodedCommand ZQBjAGgAbwAgACIAaABpACIA"),
                Cell(vec!["x".into(), "y".into(), "z".into()]),
                Cell::null(),
            ]],
        }
    }

    fn ev(src: &str) -> EvalValue {
        let e = parse_eval_expr(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        Evaluator::new().eval(&e, &table(), 0).unwrap()
    }

    fn t(src: &str) -> bool {
        matches!(ev(src), EvalValue::Bool(true))
    }

    /// `mvcount(split(t, d))` is counted without splitting, and gives what
    /// `mvcount` of the split values gives (through a field, which the
    /// shortcut does not see).
    #[test]
    fn mvcount_of_split_counts_as_split_does() {
        let texts = [
            "",
            "a",
            "..\\..\\x",
            "aaaa",
            "a b  c ",
            "/../..//..",
            "é/../ü",
            "\\\\",
        ];
        let delims = ["", " ", "..", "aa", "/..", "\\..", "\\", "ü"];
        for text in texts {
            for delim in delims {
                let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\"));
                let fused = ev(&format!("mvcount(split({}, {}))", q(text), q(delim)));
                let split = ev(&format!("split({}, {})", q(text), q(delim)));
                let mut tb = table();
                tb.columns.push("parts".into());
                tb.rows[0].push(match split {
                    EvalValue::Null => Cell::null(),
                    EvalValue::Multi(v) => Cell(v),
                    v => Cell::one(v.as_string().unwrap()),
                });
                let e = parse_eval_expr("mvcount(parts)").unwrap();
                let want = Evaluator::new().eval(&e, &tb, 0).unwrap();
                assert_eq!(fused, want, "{text:?} {delim:?}");
            }
        }
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        // a=1 OR (b=2 AND c=3): true. (a=1 OR b=2) AND c=9 would be false.
        assert!(t("a=1 OR b=2 AND c=9"));
        assert!(!t("(a=1 OR b=2) AND c=9"));
        assert!(t("a=0 OR b=2 AND c=3"));
        assert!(!t("a=0 OR b=2 AND c=9"));
        assert!(t("NOT a=0 AND b==2"));
        match parse_eval_expr("a=1 OR b=2 AND c=3").unwrap() {
            Expr::Binary {
                op: BinOp::Or, rhs, ..
            } => {
                assert!(matches!(*rhs, Expr::Binary { op: BinOp::And, .. }))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn comparisons() {
        assert!(t("b >= 2"));
        assert!(!t("b > 10"));
        assert!(t("\"10\" > 9"));
        assert!(t("\"abc\" < \"abd\""));
        assert!(!t("process == \"POWERSHELL.EXE\""));
        assert!(t("mv = \"y\""));
        assert!(!t("n = 1") && !t("n != 1"));
        assert!(t("a IN (3, 1)"));
        assert!(t("in(b, \"2\")"));
    }

    #[test]
    fn functions() {
        assert!(t(
            r#"match(process,"(?i)[\-|\/|–|—|―][Ee^]{1,2}[NnCcOoDdEeMmAa^]+\s+[\"]?[A-Za-z0-9+/=]{5,}[\"]?")"#
        ));
        assert!(!t("match(n, \"x\")"));
        assert_eq!(ev("len(process)"), EvalValue::Num(55.0));
        assert!(t("len(process) > 50"));
        assert!(t("isnull(n)") && t("isnotnull(a)") && t("isnull(missing)"));
        assert!(t("like(process, \"power%\")"));
        assert!(t("process LIKE \"%-Encoded_ommand%\""));
        assert!(!t("like(process, \"%.EXE%\")"));
        assert!(t("NOT like(process, \"%cmd%\")"));
        assert_eq!(ev("lower(\"AbC\")"), EvalValue::Str("abc".into()));
        assert_eq!(ev("upper(\"AbC\")"), EvalValue::Str("ABC".into()));
        assert_eq!(ev("if(a=1, \"y\", \"n\")"), EvalValue::Str("y".into()));
        assert_eq!(
            ev("case(a=2, \"two\", a=1, \"one\")"),
            EvalValue::Str("one".into())
        );
        assert_eq!(ev("coalesce(n, missing, b)"), EvalValue::Str("2".into()));
        assert_eq!(ev("substr(\"abcdef\", 2, 3)"), EvalValue::Str("bcd".into()));
        assert_eq!(ev("substr(\"abcdef\", -2)"), EvalValue::Str("ef".into()));
        assert_eq!(
            ev("replace(\"a-b-c\", \"(\\w)-\", \"\\1+\")"),
            EvalValue::Str("a+b+c".into())
        );
        assert_eq!(ev("mvcount(mv)"), EvalValue::Num(3.0));
        assert_eq!(
            ev("mvcount(split(\"a b c d\", \" \"))"),
            EvalValue::Num(4.0)
        );
        assert_eq!(ev("mvindex(mv, -1)"), EvalValue::Str("z".into()));
        assert_eq!(
            ev("mvindex(mv, 0, 1)"),
            EvalValue::Multi(vec!["x".into(), "y".into()])
        );
        assert_eq!(ev("tonumber(\"0x1F\", 16)"), EvalValue::Num(31.0));
        assert_eq!(ev("tonumber(\"abc\")"), EvalValue::Null);
        assert_eq!(
            ev("tostring(1234567, \"commas\")"),
            EvalValue::Str("1,234,567".into())
        );
        assert_eq!(ev("round(2.567, 2)"), EvalValue::Num(2.57));
        assert_eq!(ev("abs(-3)"), EvalValue::Num(3.0));
        assert_eq!(ev("trim(\"  x \")"), EvalValue::Str("x".into()));
        assert_eq!(ev("ltrim(\"xxay\", \"x\")"), EvalValue::Str("ay".into()));
        assert_eq!(ev("a + b * 2"), EvalValue::Num(5.0));
        assert_eq!(ev("a . \"-\" . b"), EvalValue::Str("1-2".into()));
        assert_eq!(ev("-a"), EvalValue::Num(-1.0));
    }

    #[test]
    fn unknown_function_is_a_parse_error() {
        let e = parse_eval_expr("foo(a)").unwrap_err();
        assert!(
            e.message.contains("unsupported eval function `foo`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("match"));
        assert!(parse_eval_expr("len(a, b)").is_err());
    }

    #[test]
    fn bad_regex_is_an_error() {
        // Written in the search: found when it is read.
        let e = parse_eval_expr("match(a, \"(\")").unwrap_err();
        assert!(
            e.message.contains("invalid regular expression"),
            "{}",
            e.message
        );
        // Computed: found when it runs.
        let e = parse_eval_expr("match(a, a.\"(\")").unwrap();
        assert!(Evaluator::new().eval(&e, &table(), 0).is_err());
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;
    use crate::commands::columns::testutil::t;
    use crate::spl::parser::parse_eval_expr;

    fn ev(src: &str) -> EvalValue {
        let table = t(
            &["p", "mv", "n"],
            &[&["cmd.exe /c", "true|false|TRUE|false", "<null>"]],
        );
        let e = parse_eval_expr(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        Evaluator::new().eval(&e, &table, 0).unwrap()
    }

    #[test]
    fn not_in_and_not_like() {
        assert_eq!(
            ev("p NOT IN (\"a\", \"cmd.exe /c\")"),
            EvalValue::Bool(false)
        );
        assert_eq!(ev("p not in (\"a\")"), EvalValue::Bool(true));
        assert_eq!(ev("p NOT LIKE \"cmd%\""), EvalValue::Bool(false));
        assert_eq!(ev("p NOT LIKE \"x%\""), EvalValue::Bool(true));
        // Null stays null, so `where` drops the row either way.
        assert_eq!(ev("n NOT IN (\"a\")"), EvalValue::Null);
        assert_eq!(ev("NOT p IN (\"a\")"), EvalValue::Bool(true));
    }

    #[test]
    fn multivalue_and_time_functions() {
        assert_eq!(
            ev("mvfilter(NOT match(mv, \"false\"))"),
            EvalValue::Multi(vec!["true".into(), "TRUE".into()])
        );
        assert_eq!(ev("mvfilter(match(mv, \"x\"))"), EvalValue::Null);
        assert_eq!(
            ev("mvdedup(mv)"),
            EvalValue::Multi(vec!["true".into(), "false".into(), "TRUE".into()])
        );
        assert_eq!(
            ev("mvjoin(mvsort(mvdedup(mv)), \",\")"),
            EvalValue::Str("TRUE,false,true".into())
        );
        assert_eq!(ev("mvcount(mvappend(p, mv, n))"), EvalValue::Num(5.0));
        assert_eq!(ev("mvfind(mv, \"^TR\")"), EvalValue::Num(2.0));
        assert_eq!(
            ev("strptime(\"2024-01-02\", \"%Y-%m-%d\")"),
            EvalValue::Num(1_704_153_600.0)
        );
        assert_eq!(
            ev("relative_time(1704153600, \"+2d\")"),
            EvalValue::Num(1_704_326_400.0)
        );
        assert_eq!(
            ev("relative_time(1704160000, \"-1h@d\")"),
            EvalValue::Num(1_704_153_600.0)
        );
        assert_eq!(
            ev("strftime(1704153600, \"%Y-%m-%dT%H:%M:%S\")"),
            EvalValue::Str("2024-01-02T00:00:00".into())
        );
        assert!(matches!(ev("now() > 1700000000"), EvalValue::Bool(true)));
        assert_eq!(ev("max(3, \"10\", 2)"), EvalValue::Num(10.0));
        assert_eq!(ev("min(3, \"a\")"), EvalValue::Num(3.0));
        assert_eq!(
            ev("cidrmatch(\"10.0.0.0/8\", \"10.2.3.4\")"),
            EvalValue::Bool(true)
        );
        assert_eq!(
            ev("floor(2.7) + ceil(2.1) + pow(2, 3)"),
            EvalValue::Num(13.0)
        );
        assert_eq!(ev("typeof(n)"), EvalValue::Str("Invalid".into()));
        assert_eq!(ev("isnum(\"12\")"), EvalValue::Bool(true));
    }
}
