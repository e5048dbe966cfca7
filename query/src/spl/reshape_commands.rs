//! The commands after `tstats` that reshape or enrich results: `lookup`,
//! `rex`, `stats`/`eventstats`/`streamstats`, `makemv`, `mvexpand`,
//! `dedup`, `fillnull`, `join` and `transaction`; and the refusal of the
//! MLTK commands `apply` and `fit`.

use super::args::{all_args, next_arg, parse_bool, parse_count, Arg};
use super::ast::*;
use super::eval_expr::eval_or;
use super::lexer::{Cursor, Result};
use super::tstats::parse_span;
use super::SplError;

fn unknown_option(cmd: &str, arg: &Arg) -> SplError {
    SplError::new(
        format!("unsupported `{cmd}` option `{}`", arg.text),
        arg.span.clone(),
    )
}

fn count_of(arg: &Arg) -> Result<usize> {
    parse_count(arg.value.as_deref().unwrap_or_default(), &arg.span)
}

/// `apply`/`fit` run Splunk MLTK models, which exist only in Splunk.
pub(super) fn mltk_refusal(c: &mut Cursor, name: &str, span: Span) -> SplError {
    let model = next_arg(c)
        .ok()
        .flatten()
        .map(|a| a.text)
        .unwrap_or_default();
    let end = c.pos().max(span.end);
    SplError::new(
        format!(
            "`{name} {model}` needs a Splunk Machine Learning Toolkit model, trained and stored in \
             Splunk; evidx has no MLTK models, so this search cannot run"
        ),
        span.start..end,
    )
}

pub(super) fn parse_lookup(c: &mut Cursor, span: Span) -> Result<Command> {
    let args = all_args(c)?;
    let mut it = args.into_iter().peekable();
    while it.peek().is_some_and(|a| a.value.is_some()) {
        let a = it.next().expect("peeked");
        match a.text.to_ascii_lowercase().as_str() {
            "local" | "update" | "event_time_field" => {}
            _ => return Err(unknown_option("lookup", &a)),
        }
    }
    let Some(name) = it.next() else {
        return Err(SplError::new("`lookup` needs a lookup name", span));
    };
    // (lookup field, event field) pairs up to OUTPUT/OUTPUTNEW, then outputs.
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut output_new = false;
    let mut in_outputs = false;
    let mut lookup_span = name.span.clone();
    while let Some(a) = it.next() {
        lookup_span.end = a.span.end;
        if a.value.is_some() {
            return Err(SplError::new(
                format!("unexpected `{}=` in `lookup`", a.text),
                a.span,
            ));
        }
        if !a.quoted && !in_outputs {
            let up = a.text.to_ascii_uppercase();
            if up == "OUTPUT" || up == "OUTPUTNEW" {
                in_outputs = true;
                output_new = up == "OUTPUTNEW";
                continue;
            }
        }
        let mut event = a.text.clone();
        if it
            .peek()
            .is_some_and(|n| !n.quoted && n.value.is_none() && n.text.eq_ignore_ascii_case("as"))
        {
            it.next();
            match it.next() {
                Some(n) if n.value.is_none() => event = n.text,
                _ => {
                    return Err(SplError::new(
                        format!("expected a field name after `{} as`", a.text),
                        a.span,
                    ))
                }
            }
        }
        let target = if in_outputs {
            &mut outputs
        } else {
            &mut inputs
        };
        target.push((a.text, event));
    }
    if inputs.is_empty() {
        return Err(SplError::new(
            format!("`lookup {}` needs a field to match", name.text),
            span.start..name.span.end,
        ));
    }
    if in_outputs && outputs.is_empty() {
        return Err(c.error_here("expected a field after OUTPUT"));
    }
    Ok(Command::Lookup(Lookup {
        name: name.text,
        inputs,
        outputs,
        output_new,
        span: span.start..lookup_span.end,
        table: None,
    }))
}

pub(super) fn parse_rex(c: &mut Cursor, span: Span) -> Result<Command> {
    let mut field = "_raw".to_string();
    let mut max_match = 1;
    let mut sed = false;
    let mut pattern = None;
    for a in all_args(c)? {
        match (a.value.as_deref(), a.quoted) {
            (None, true) if pattern.is_none() => pattern = Some((a.text, a.span)),
            (Some(v), _) => match a.text.to_ascii_lowercase().as_str() {
                "field" => field = v.to_string(),
                "max_match" => max_match = count_of(&a)?,
                "mode" if v.eq_ignore_ascii_case("sed") => sed = true,
                "offset_field" => {}
                _ => return Err(unknown_option("rex", &a)),
            },
            _ => {
                return Err(SplError::new(
                    format!(
                        "unexpected `{}` in `rex` (the regex must be quoted)",
                        a.text
                    ),
                    a.span,
                ))
            }
        }
    }
    let Some((pattern, pspan)) = pattern else {
        return Err(SplError::new(
            "`rex` needs a quoted regular expression",
            span,
        ));
    };
    let check = if sed {
        crate::commands::rex::Sed::parse(&pattern).map(|_| ())
    } else {
        fancy_regex::Regex::new(&pattern)
            .map(|_| ())
            .map_err(|e| format!("invalid regular expression: {e}"))
    };
    check.map_err(|m| SplError::new(m, pspan.clone()))?;
    Ok(Command::Rex(Rex {
        field,
        pattern,
        max_match,
        sed,
        span: span.start..pspan.end,
    }))
}

fn stats_func(name: &str) -> Option<StatsFunc> {
    Some(match name.to_ascii_lowercase().as_str() {
        "count" | "c" => StatsFunc::Count,
        "dc" | "distinct_count" => StatsFunc::Dc,
        "values" => StatsFunc::Values,
        "list" => StatsFunc::List,
        "min" => StatsFunc::Min,
        "max" => StatsFunc::Max,
        "sum" => StatsFunc::Sum,
        "avg" | "mean" => StatsFunc::Avg,
        "stdev" => StatsFunc::Stdev,
        "stdevp" => StatsFunc::Stdevp,
        "var" => StatsFunc::Var,
        "varp" => StatsFunc::Varp,
        "range" => StatsFunc::Range,
        "median" => StatsFunc::Median,
        "mode" => StatsFunc::Mode,
        "first" => StatsFunc::First,
        "last" => StatsFunc::Last,
        "earliest" => StatsFunc::Earliest,
        "latest" => StatsFunc::Latest,
        _ => return None,
    })
}

const STATS_FUNCS: &str = "count, dc/distinct_count, values, list, min, max, sum, avg/mean, stdev, stdevp, var, varp, range, median, mode, first, last, earliest, latest";

pub(super) fn parse_stats(c: &mut Cursor, kind: StatsKind, span: Span) -> Result<Command> {
    let cmd = match kind {
        StatsKind::Stats => "stats",
        StatsKind::Eventstats => "eventstats",
        StatsKind::Streamstats => "streamstats",
    };
    let mut current = true;
    let mut window = 0;
    // Options come first: `name=value` where name is not an aggregate.
    loop {
        c.skip_ws();
        let save = c.pos();
        let (word, _) = c.ident();
        if !word.is_empty() && c.rest().starts_with('=') && !c.rest().starts_with("==") {
            c.set_pos(save);
            let a = next_arg(c)?.expect("an option");
            match (kind, a.text.to_ascii_lowercase().as_str()) {
                (StatsKind::Streamstats, "current") => current = parse_bool(&a)?,
                (StatsKind::Streamstats, "window") => window = count_of(&a)?,
                (StatsKind::Streamstats, "global") => {}
                (_, "allnum") | (_, "partitions") => {}
                _ => return Err(unknown_option(cmd, &a)),
            }
            continue;
        }
        c.set_pos(save);
        break;
    }
    let mut aggs = Vec::new();
    loop {
        c.skip_commas();
        if c.at_command_end() || c.peek_keyword("by", true) {
            break;
        }
        let start = c.pos();
        let (fname, fspan) = c.ident();
        let Some(func) = stats_func(fname) else {
            return Err(if fname.is_empty() {
                c.error_here(format!(
                    "expected an aggregate in `{cmd}`, found {}",
                    c.describe_next()
                ))
            } else {
                SplError::new(
                    format!(
                        "unsupported `{cmd}` function `{fname}` (evidx supports {STATS_FUNCS})"
                    ),
                    fspan,
                )
            });
        };
        let mut field = None;
        if c.eat("(") {
            c.skip_ws();
            if c.rest().to_ascii_lowercase().starts_with("eval(") {
                return Err(c.error_here(format!(
                    "`{fname}(eval(...))` is not supported; compute the field with `eval` first"
                )));
            }
            let f = c.paren_field()?;
            c.skip_ws();
            if !c.eat(")") {
                return Err(c.error_here(format!("expected `)` after `{fname}({f}`")));
            }
            if !f.is_empty() {
                field = Some(f);
            }
        }
        if field.is_none() && func != StatsFunc::Count {
            return Err(SplError::new(
                format!("`{fname}` needs a field: `{fname}(FIELD)`"),
                start..c.pos(),
            ));
        }
        let written = c.src()[start..c.pos()].to_string();
        let column = c.as_alias()?.unwrap_or(written);
        aggs.push(StatsAgg {
            func,
            field,
            column,
        });
    }
    if aggs.is_empty() {
        return Err(SplError::new(
            format!("`{cmd}` needs an aggregate such as `count`"),
            span,
        ));
    }
    let mut by = Vec::new();
    if let Some(kw) = c.eat_keyword("by", true) {
        for a in all_args(c)? {
            if a.value.is_some() {
                return Err(SplError::new(
                    format!("unexpected `{}=` in `by`", a.text),
                    a.span,
                ));
            }
            by.push(a.text);
        }
        if by.is_empty() {
            return Err(SplError::new("expected fields after `by`", kw));
        }
    }
    Ok(Command::Stats(Stats {
        kind,
        aggs,
        by,
        current,
        window,
        groups_of_one: false,
    }))
}

pub(super) fn parse_makemv(c: &mut Cursor, span: Span) -> Result<Command> {
    let mut split = MvSplit::Delim(" ".into());
    let (mut allow_empty, mut setsv) = (false, false);
    let mut field = None;
    for a in all_args(c)? {
        match a.value.as_deref() {
            Some(v) => match a.text.to_ascii_lowercase().as_str() {
                "delim" => split = MvSplit::Delim(v.to_string()),
                "tokenizer" => {
                    fancy_regex::Regex::new(v).map_err(|e| {
                        SplError::new(format!("invalid tokenizer: {e}"), a.span.clone())
                    })?;
                    split = MvSplit::Tokenizer(v.to_string())
                }
                "allowempty" => allow_empty = parse_bool(&a)?,
                "setsv" => setsv = parse_bool(&a)?,
                _ => return Err(unknown_option("makemv", &a)),
            },
            None if field.is_none() => field = Some(a.text),
            None => return Err(SplError::new("`makemv` takes one field", a.span)),
        }
    }
    let Some(field) = field else {
        return Err(SplError::new("`makemv` needs a field", span));
    };
    Ok(Command::Makemv {
        field,
        split,
        allow_empty,
        setsv,
    })
}

pub(super) fn parse_mvexpand(c: &mut Cursor, span: Span) -> Result<Command> {
    let mut field = None;
    let mut limit = None;
    for a in all_args(c)? {
        match a.value {
            Some(_) if a.text.eq_ignore_ascii_case("limit") => limit = Some(count_of(&a)?),
            Some(_) => return Err(unknown_option("mvexpand", &a)),
            None if field.is_none() => field = Some(a.text),
            None => return Err(SplError::new("`mvexpand` takes one field", a.span)),
        }
    }
    let Some(field) = field else {
        return Err(SplError::new("`mvexpand` needs a field", span));
    };
    Ok(Command::Mvexpand { field, limit })
}

pub(super) fn parse_dedup(c: &mut Cursor, span: Span) -> Result<Command> {
    let mut count = 1;
    let mut fields = Vec::new();
    let (mut keep_empty, mut consecutive) = (false, false);
    let mut sort = Vec::new();
    let mut in_sort = false;
    for (i, a) in all_args(c)?.into_iter().enumerate() {
        if a.value.is_some() {
            match a.text.to_ascii_lowercase().as_str() {
                "keepempty" => keep_empty = parse_bool(&a)?,
                "consecutive" => consecutive = parse_bool(&a)?,
                "keepevents" => {}
                _ => return Err(unknown_option("dedup", &a)),
            }
            continue;
        }
        if i == 0 && !a.quoted && a.text.bytes().all(|b| b.is_ascii_digit()) {
            count = parse_count(&a.text, &a.span)?;
            continue;
        }
        if !a.quoted && a.text.eq_ignore_ascii_case("sortby") {
            in_sort = true;
            continue;
        }
        if in_sort {
            let (descending, field) = match a.text.strip_prefix('-') {
                Some(f) => (true, f.to_string()),
                None => (false, a.text.trim_start_matches('+').to_string()),
            };
            sort.push(SortKey {
                field,
                descending,
                kind: None,
            });
        } else {
            fields.push(a.text);
        }
    }
    if fields.is_empty() {
        return Err(SplError::new("`dedup` needs at least one field", span));
    }
    Ok(Command::Dedup {
        count,
        fields,
        keep_empty,
        consecutive,
        sort,
    })
}

pub(super) fn parse_fillnull(c: &mut Cursor) -> Result<Command> {
    let mut value = "0".to_string();
    let mut fields = Vec::new();
    for a in all_args(c)? {
        match a.value {
            Some(v) if a.text.eq_ignore_ascii_case("value") => value = v,
            Some(_) => return Err(unknown_option("fillnull", &a)),
            None => fields.push(a.text),
        }
    }
    Ok(Command::Fillnull { value, fields })
}

pub(super) fn parse_join(c: &mut Cursor, span: Span) -> Result<Command> {
    let (mut left, mut max, mut overwrite) = (false, 1, true);
    let mut fields = Vec::new();
    for a in all_args(c)? {
        match a.value.as_deref() {
            Some(v) => match a.text.to_ascii_lowercase().as_str() {
                "type" => match v.to_ascii_lowercase().as_str() {
                    "inner" => left = false,
                    "left" | "outer" => left = true,
                    _ => {
                        return Err(SplError::new(
                            format!("unsupported join type `{v}` (inner, left or outer)"),
                            a.span,
                        ))
                    }
                },
                "max" => max = count_of(&a)?,
                "overwrite" => overwrite = parse_bool(&a)?,
                _ => return Err(unknown_option("join", &a)),
            },
            None => fields.push(a.text),
        }
    }
    c.skip_ws();
    if c.peek() != Some('[') {
        return Err(SplError::new(
            "`join` needs a subsearch `[ | tstats ... ]`",
            span,
        ));
    }
    let sub = c.subsearch()?;
    Ok(Command::Join(Join {
        left,
        max,
        overwrite,
        fields,
        sub: Box::new(sub),
        resolved: None,
    }))
}

/// A duration option of `transaction`: `5m`, `30s`, `1h`, a number of
/// seconds, or a negative number for no limit.
fn duration(a: &Arg) -> Result<Option<i64>> {
    let v = a.value.as_deref().unwrap_or_default().trim();
    if v.starts_with('-') {
        return Ok(None);
    }
    if let Ok(n) = v.parse::<i64>() {
        return Ok(Some(n));
    }
    parse_span(v)
        .map(Some)
        .map_err(|m| SplError::new(format!("`{}={v}`: {m}", a.text), a.span.clone()))
}

/// `startswith=eval(EXPR)`.
fn eval_condition(a: &Arg) -> Result<Expr> {
    let v = a.value.as_deref().unwrap_or_default();
    let inner = v
        .strip_prefix("eval(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            SplError::new(
                format!("`{}=` supports only `eval(EXPRESSION)`", a.text),
                a.span.clone(),
            )
        })?;
    super::eval_expr::parse_eval_expr(inner).map_err(|e| SplError::new(e.message, a.span.clone()))
}

pub(super) fn parse_transaction(c: &mut Cursor, span: Span) -> Result<Command> {
    let mut t = Transaction {
        fields: Vec::new(),
        maxspan: None,
        maxpause: None,
        maxevents: None,
        startswith: None,
        endswith: None,
        mvlist: false,
        keep_evicted: false,
        connected: true,
        span: span.clone(),
    };
    loop {
        c.skip_commas();
        if c.at_command_end() {
            break;
        }
        // `startswith=eval(...)` holds spaces and parentheses.
        let save = c.pos();
        let (word, wspan) = c.ident();
        let lw = word.to_ascii_lowercase();
        if (lw == "startswith" || lw == "endswith") && c.eat("=") {
            c.skip_ws();
            let expr = if c.rest().to_ascii_lowercase().starts_with("eval(") {
                c.set_pos(c.pos() + 4);
                let open = c.pos();
                c.eat("(");
                let e = eval_or(c)?;
                c.skip_ws();
                if !c.eat(")") {
                    return Err(SplError::new("unclosed `eval(`", open..open + 1));
                }
                e
            } else {
                return Err(SplError::new(
                    format!("`{word}=` supports only `eval(EXPRESSION)`"),
                    wspan,
                ));
            };
            if lw == "startswith" {
                t.startswith = Some(expr);
            } else {
                t.endswith = Some(expr);
            }
            continue;
        }
        c.set_pos(save);
        let Some(a) = next_arg(c)? else { break };
        if a.value.is_none() {
            if a.text.eq_ignore_ascii_case("unifyends") {
                continue;
            }
            t.fields.push(a.text);
            continue;
        }
        match a.text.to_ascii_lowercase().as_str() {
            "maxspan" => t.maxspan = duration(&a)?,
            "maxpause" => t.maxpause = duration(&a)?,
            "maxevents" => {
                let v = a.value.as_deref().unwrap_or_default();
                t.maxevents = match v.parse::<i64>() {
                    Ok(n) if n < 0 => None,
                    _ => Some(count_of(&a)?),
                }
            }
            "mvlist" => t.mvlist = parse_bool(&a)?,
            "keepevicted" => t.keep_evicted = parse_bool(&a)?,
            "connected" => t.connected = parse_bool(&a)?,
            "keeporphans" | "mvraw" | "nullstr" | "unifyends" => {}
            "startswith" | "endswith" => {
                let e = eval_condition(&a)?;
                if a.text.eq_ignore_ascii_case("startswith") {
                    t.startswith = Some(e);
                } else {
                    t.endswith = Some(e);
                }
            }
            _ => return Err(unknown_option("transaction", &a)),
        }
    }
    Ok(Command::Transaction(t))
}
