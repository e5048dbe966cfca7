//! Necessary substrings: what a by-field's value must contain for its
//! group to pass a filter after tstats.
//!
//! A filter pushed into the collector (`pushdown.rs`) is tested once per
//! distinct value of its by-field, so its cost follows the field's
//! distinct values. When the filter can only pass values that contain one
//! of a few literals
//! (`| regex process="\.\./\.\."`, `| where match(process, "(?i)-enc")`,
//! `| search process=*http*`, or `eval n=mvcount(split(process, "/.."))-1`
//! then `n > 1`), the tstats can ask the field's trigram index for the
//! values holding them first, so the cost follows those candidates.
//!
//! A condition found here holds for every value the filter passes, and a
//! value it drops is one the filter drops without an error (a regex's
//! literals come from what the linear engine runs first, which rejects
//! without backtracking); it is matched case-insensitively, a weaker test
//! than the filter's, and the filter still runs on what is left, so the
//! answer does not change. Anything not understood gives no condition.

use std::collections::BTreeSet;
use std::sync::Arc;

use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::glob::LITERAL_STAR;
use crate::lookups::{LookupTable, MatchType};
use crate::spl::ast::{BinOp, CmpOp, Command, Expr, Lookup, SearchExpr};
use crate::table::{Cell, Table};

/// Shortest literal worth a trigram lookup (a shorter one has no gram).
const MIN_LITERAL_CHARS: usize = 3;

/// Most `s` of a lookup key written both ways ([`long_s_variants`]).
const MAX_LONG_S: usize = 3;

/// Most rows of a lookup whose keys become literals: past it, the values
/// holding any of them are no longer few.
const MAX_LOOKUP_ROWS: usize = 512;

/// What a result column holds, in terms of one by-field's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Form {
    /// The value of by-field `k` itself.
    Value(usize),
    /// `mvcount(split(value of by-field k, sep)) + offset`: at most
    /// `1 + offset` when the value does not contain `sep`.
    Pieces { by: usize, sep: String, offset: f64 },
    /// A column that `lookup … AS <value of by-field by> OUTPUT …` writes
    /// from the rows of `table` whose column `input` matches the value.
    Lookup {
        by: usize,
        table: Arc<LookupTable>,
        input: usize,
    },
    /// Anything else.
    Other,
}

/// The value of by-field `by` must contain one of `literals` (compared
/// case-insensitively) for its group to pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Needed {
    pub by: usize,
    pub literals: Vec<String>,
}

impl Needed {
    /// The better of two necessary conditions (both hold): the one whose
    /// shortest literal is longer, then the one with fewer literals.
    pub fn better(self, other: Needed) -> Needed {
        let rank = |n: &Needed| {
            let shortest = n.literals.iter().map(|l| l.chars().count()).min();
            (shortest.unwrap_or(0), usize::MAX - n.literals.len())
        };
        if rank(&other) > rank(&self) {
            other
        } else {
            self
        }
    }

    /// Either condition (one of two filters passes): the same field only.
    fn either(mut self, other: Needed) -> Option<Needed> {
        if self.by != other.by {
            return None;
        }
        for l in other.literals {
            if !self.literals.contains(&l) {
                self.literals.push(l);
            }
        }
        Some(self)
    }

    /// Literals usable by the trigram index: long enough, free of the one
    /// letter whose lower case depends on its neighbours (a literal's case
    /// folding must be a substring of the value's), and of the character
    /// a glob reads as a literal `*`.
    fn usable(self) -> Option<Needed> {
        let ok = |l: &String| {
            l.chars().count() >= MIN_LITERAL_CHARS && !l.contains(['Σ', 'σ', 'ς', LITERAL_STAR])
        };
        (!self.literals.is_empty() && self.literals.iter().all(ok)).then_some(self)
    }

    /// The condition as `*literal*` globs (a literal `*` escaped).
    pub fn globs(&self) -> Vec<String> {
        (self.literals.iter())
            .map(|l| format!("*{}*", l.replace('*', &LITERAL_STAR.to_string())))
            .collect()
    }
}

/// The form of an `eval` expression, given the forms of the columns.
pub fn form_of(e: &Expr, column: &dyn Fn(&str) -> Form) -> Form {
    match e {
        Expr::Field(name) => column(name),
        Expr::Call { name, args, .. } if name == "mvcount" && args.len() == 1 => match &args[0] {
            Expr::Call { name, args, .. } if name == "split" && args.len() == 2 => {
                match (form_of(&args[0], column), &args[1]) {
                    (Form::Value(by), Expr::Str(sep)) if !sep.is_empty() => Form::Pieces {
                        by,
                        sep: sep.clone(),
                        offset: 0.0,
                    },
                    _ => Form::Other,
                }
            }
            _ => Form::Other,
        },
        Expr::Binary {
            op: op @ (BinOp::Add | BinOp::Sub),
            lhs,
            rhs,
        } => {
            let shift = |f: Form, n: f64| match f {
                Form::Pieces { by, sep, offset } => Form::Pieces {
                    by,
                    sep,
                    offset: offset + n,
                },
                _ => Form::Other,
            };
            match (&**lhs, &**rhs, op) {
                (x, Expr::Num(n), BinOp::Add) => shift(form_of(x, column), *n),
                (x, Expr::Num(n), BinOp::Sub) => shift(form_of(x, column), -*n),
                (Expr::Num(n), x, BinOp::Add) => shift(form_of(x, column), *n),
                _ => Form::Other,
            }
        }
        _ => Form::Other,
    }
}

/// What a filter command (`where`, `search`, `regex`) needs of a by-field,
/// given the forms of the columns it sees and, when known, the columns it
/// reads.
pub fn needed(
    filter: &Command,
    column: &dyn Fn(&str) -> Form,
    reads: Option<&BTreeSet<String>>,
) -> Option<Needed> {
    let lookup = || through_lookup(filter, reads?, column);
    let n = match filter {
        Command::Where(e) => in_expr(e, column).or_else(lookup),
        Command::Search(e) => in_search(e, column).or_else(lookup),
        Command::Regex {
            field: Some(f),
            negate: false,
            pattern,
        } => match column(f) {
            Form::Value(by) => regex_literals(pattern).map(|literals| Needed { by, literals }),
            _ => None,
        },
        _ => None,
    };
    n.and_then(Needed::usable)
}

/// The form of the column that `l` writes from its field `lf`, when its
/// one input has form `input` (a by-field's value); `existed`: whether
/// the column is there before it (OUTPUTNEW then leaves it).
pub fn lookup_form(l: &Lookup, lf: &str, input: Form, existed: bool) -> Form {
    let (Some(t), [(input_lf, _)], Form::Value(by)) = (&l.table, &l.inputs[..], input) else {
        return Form::Other;
    };
    match (t.column_index(input_lf), t.column_index(lf)) {
        (Some(input), Some(_)) if !(l.output_new && existed) => Form::Lookup {
            by,
            table: t.clone(),
            input,
        },
        _ => Form::Other,
    }
}

/// A filter that reads only one column, written by a lookup on a
/// by-field's value: if it drops the rows the lookup matched nothing for,
/// the value must match one of the table's keys, so contain a literal
/// piece of each (compared case-insensitively; a case-insensitive
/// WILDCARD key's `s` also matches `ſ`, so both are asked for).
fn through_lookup(
    filter: &Command,
    reads: &BTreeSet<String>,
    column: &dyn Fn(&str) -> Form,
) -> Option<Needed> {
    let mut names = reads.iter();
    let (Some(name), None) = (names.next(), names.next()) else {
        return None;
    };
    let Form::Lookup { by, table, input } = column(name) else {
        return None;
    };
    // The column where nothing matched: `min_matches` default values.
    let mut row = Table {
        columns: vec![name.to_string()],
        rows: vec![vec![Cell(vec![
            table.default_match.clone();
            table.min_matches
        ])]],
    };
    match crate::commands::apply(&mut row, filter) {
        Ok(()) if row.rows.is_empty() => {}
        _ => return None,
    }
    let folds_s = match table.match_type(input) {
        MatchType::Cidr => return None,
        MatchType::Wildcard => !table.case_sensitive,
        MatchType::Exact => false,
    };
    if table.rows.len() > MAX_LOOKUP_ROWS {
        return None;
    }
    let mut literals: Vec<String> = Vec::new();
    for r in &table.rows {
        let key = r.get(input).filter(|k| !k.is_empty() && k.is_ascii())?;
        let piece = longest_piece(key, &['*']);
        let variants = match folds_s {
            true => long_s_variants(piece),
            false => vec![piece.to_string()],
        };
        for v in variants {
            if !literals.contains(&v) {
                literals.push(v);
            }
        }
    }
    Some(Needed { by, literals })
}

/// `piece` with each `s` also written `ſ`, which a case-insensitive regex
/// matches as `s` (and lower case does not turn into `s`); with more than
/// [`MAX_LONG_S`] of them, the longest run between them instead.
fn long_s_variants(piece: &str) -> Vec<String> {
    let esses = piece.chars().filter(|c| matches!(c, 's' | 'S')).count();
    if esses > MAX_LONG_S {
        let run = piece.split(['s', 'S']).max_by_key(|p| p.len());
        return run.into_iter().map(str::to_string).collect();
    }
    let mut out = vec![String::new()];
    for c in piece.chars() {
        match c {
            's' | 'S' => {
                out = (out.into_iter())
                    .flat_map(|v| [format!("{v}{c}"), format!("{v}ſ")])
                    .collect()
            }
            c => out.iter_mut().for_each(|v| v.push(c)),
        }
    }
    out
}

/// Both conditions hold: the better one; either holds: their union.
fn all_of(parts: impl Iterator<Item = Option<Needed>>) -> Option<Needed> {
    parts.flatten().reduce(Needed::better)
}

fn any_of(mut parts: impl Iterator<Item = Option<Needed>>) -> Option<Needed> {
    let first = parts.next()??;
    parts.try_fold(first, |acc, n| acc.either(n?))
}

fn in_search(e: &SearchExpr, column: &dyn Fn(&str) -> Form) -> Option<Needed> {
    match e {
        SearchExpr::And(v) => all_of(v.iter().map(|x| in_search(x, column))),
        SearchExpr::Or(v) => any_of(v.iter().map(|x| in_search(x, column))),
        SearchExpr::Cmp {
            field, op, value, ..
        } => match (column(field), op) {
            (Form::Value(by), CmpOp::Eq) => glob_literal(&value.text).map(|l| Needed {
                by,
                literals: vec![l],
            }),
            // A threshold `search` does not read as a number compares as text.
            (form, op) => pieces_need(form, *op, crate::num::parse_num(&value.text)?),
        },
        SearchExpr::In { field, values, .. } => match column(field) {
            Form::Value(by) => (values.iter())
                .map(|v| glob_literal(&v.text))
                .collect::<Option<Vec<_>>>()
                .map(|literals| Needed { by, literals }),
            _ => None,
        },
        SearchExpr::Not(_) | SearchExpr::Term { .. } | SearchExpr::Subsearch(_) => None,
    }
}

fn in_expr(e: &Expr, column: &dyn Fn(&str) -> Form) -> Option<Needed> {
    match e {
        // Either side's condition, when the other cannot fail: `where`
        // evaluates both, and a row dropped must be one it drops quietly.
        Expr::Binary {
            op: BinOp::And,
            lhs,
            rhs,
        } => match (in_expr(lhs, column), in_expr(rhs, column)) {
            (Some(a), Some(b)) => Some(a.better(b)),
            (Some(a), None) if harmless(rhs) => Some(a),
            (None, Some(b)) if harmless(lhs) => Some(b),
            _ => None,
        },
        Expr::Binary {
            op: BinOp::Or,
            lhs,
            rhs,
        } => any_of([in_expr(lhs, column), in_expr(rhs, column)].into_iter()),
        Expr::Binary { op, lhs, rhs } => {
            // `x > n`, or `n < x`, on a count of pieces.
            let (x, n, op) = match (&**lhs, &**rhs) {
                (Expr::Num(n), x) => (x, *n, flipped(*op)?),
                (x, Expr::Num(n)) => (x, *n, cmp_op(*op)?),
                _ => return None,
            };
            pieces_need(form_of(x, column), op, n)
        }
        Expr::Call { name, args, .. } if args.len() == 2 => {
            let Form::Value(by) = form_of(&args[0], column) else {
                return None;
            };
            let Expr::Str(pattern) = &args[1] else {
                return None;
            };
            let literals = match name.as_str() {
                "match" => regex_literals(pattern)?,
                "like" => vec![like_literal(pattern)],
                _ => return None,
            };
            Some(Needed { by, literals })
        }
        Expr::Like { expr, pattern } => match (form_of(expr, column), &**pattern) {
            (Form::Value(by), Expr::Str(p)) => Some(Needed {
                by,
                literals: vec![like_literal(p)],
            }),
            _ => None,
        },
        _ => None,
    }
}

/// A boolean test that cannot fail: a comparison of columns and
/// constants.
fn harmless(e: &Expr) -> bool {
    let plain = |x: &Expr| {
        matches!(
            x,
            Expr::Field(_) | Expr::Str(_) | Expr::Num(_) | Expr::Bool(_) | Expr::Null
        )
    };
    match e {
        Expr::Binary { op, lhs, rhs } => {
            matches!(
                op,
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
            ) && plain(lhs)
                && plain(rhs)
        }
        _ => false,
    }
}

fn cmp_op(op: BinOp) -> Option<CmpOp> {
    Some(match op {
        BinOp::Gt => CmpOp::Gt,
        BinOp::Ge => CmpOp::Ge,
        _ => return None,
    })
}

/// `n < x` as `x > n`.
fn flipped(op: BinOp) -> Option<CmpOp> {
    Some(match op {
        BinOp::Lt => CmpOp::Gt,
        BinOp::Le => CmpOp::Ge,
        _ => return None,
    })
}

/// `x > n` or `x >= n` on `x = mvcount(split(value, sep)) + offset`, which
/// is at most `1 + offset` without `sep`: when that is not enough, the
/// value contains `sep`.
fn pieces_need(form: Form, op: CmpOp, n: f64) -> Option<Needed> {
    let Form::Pieces { by, sep, offset } = form else {
        return None;
    };
    let without = 1.0 + offset;
    let needs = match op {
        CmpOp::Gt => without <= n,
        CmpOp::Ge => without < n,
        _ => false,
    };
    needs.then(|| Needed {
        by,
        literals: vec![sep],
    })
}

/// The longest literal piece of a search glob; None for a number (search
/// compares numbers as numbers: `1.0` finds `1`).
fn glob_literal(glob: &str) -> Option<String> {
    if glob.trim().parse::<f64>().is_ok() {
        return None;
    }
    Some(longest_piece(glob, &['*']).replace(LITERAL_STAR, "*"))
}

/// The longest literal piece of a `like` pattern (`%` any run, `_` one
/// character, no escapes: `crate::eval::like_to_regex`).
fn like_literal(pattern: &str) -> String {
    longest_piece(pattern, &['%', '_']).to_string()
}

/// The longest run of `text` between any of `wildcards` (the last of the
/// longest).
fn longest_piece<'t>(text: &'t str, wildcards: &[char]) -> &'t str {
    (text.split(wildcards))
        .max_by_key(|p| p.chars().count())
        .unwrap_or_default()
}

/// Literals one of which every text that `pattern` matches contains (the
/// first or last characters of each match), or None. They are read from
/// the regex that decides first, on the linear engine
/// ([`crate::pattern::Pattern::linear_text`]): a text without them is
/// rejected there, as it would be without them being asked for.
pub fn regex_literals(pattern: &str) -> Option<Vec<String>> {
    let text = crate::pattern::compiled(pattern).ok()?.linear_text()?;
    let hir = regex_syntax::Parser::new().parse(&text).ok()?;
    [ExtractKind::Prefix, ExtractKind::Suffix]
        .into_iter()
        .filter_map(|kind| {
            let seq = Extractor::new().kind(kind).extract(&hir);
            let literals = seq.literals()?;
            let mut out: Vec<String> = Vec::new();
            for l in literals {
                let s = String::from_utf8(l.as_bytes().to_vec()).ok()?;
                if s.is_empty() {
                    return None;
                }
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            Needed {
                by: 0,
                literals: out,
            }
            .usable()
        })
        .reduce(Needed::better)
        .map(|n| n.literals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spl::{parse_query, MacroSet};

    /// The condition of the last command of `post`, after a tstats by
    /// `Processes.process` renamed to `process`, columns followed by `eval`.
    fn need(post: &str) -> Option<Vec<String>> {
        let spl = format!(
            "| tstats count from datamodel=Endpoint.Processes by Processes.process \
             | rename Processes.process as process {post}"
        );
        let cmds = parse_query(&spl, &MacroSet::default())
            .unwrap()
            .pipeline
            .commands;
        let (filter, before) = cmds.split_last().unwrap();
        let mut forms: Vec<(String, Form)> = vec![("process".into(), Form::Value(0))];
        for cmd in before {
            if let Command::Eval(assigns) = cmd {
                for (name, e) in assigns {
                    let f = form_of(e, &|c| lookup(&forms, c));
                    forms.push((name.clone(), f));
                }
            }
        }
        needed(filter, &|c| lookup(&forms, c), None).map(|n| n.literals)
    }

    fn lookup(forms: &[(String, Form)], name: &str) -> Form {
        (forms.iter().rev())
            .find(|(n, _)| n == name)
            .map_or(Form::Other, |(_, f)| f.clone())
    }

    fn strings(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn regexes_need_their_literals() {
        assert_eq!(need("| regex process=\"-enc\\s\""), strings(&["-enc"]));
        assert_eq!(
            need("| regex process=\"(Get|Set)-Item\""),
            strings(&["Get-Item", "Set-Item"])
        );
        // No prefix literal: the suffix one.
        assert_eq!(need("| regex process=\"\\w+\\.hta\""), strings(&[".hta"]));
        // Lookarounds read through the relaxed twin.
        assert_eq!(
            need("| regex process=\"(?<!x)mshta(?!\\.)\""),
            strings(&["mshta"])
        );
        // Read as fancy-regex reads them: a space in a class of `(?x)`
        // stays, a `{2}` after a repetition is text.
        let x = need("| regex process=\"(?x)cmd[. ]exe\"").unwrap();
        assert!(
            x.contains(&"cmd exe".to_string()) && x.contains(&"cmd.exe".to_string()),
            "{x:?}"
        );
        assert_eq!(need("| regex process=\"abc{1}{2}\""), strings(&["abc{2}"]));
        // Backtracking with no twin to reject first: nothing.
        assert_eq!(
            need("| regex process=\"(\\w{1500})?((a|aa)+)+\\2zzq\""),
            None
        );
        // Too short, negated, or unreadable: nothing.
        assert_eq!(need("| regex process=\"ab\""), None);
        assert_eq!(need("| regex process!=\"mshta\""), None);
        assert_eq!(need("| regex process=\".*\""), None);
        assert_eq!(
            need("| where match(process, \"(?i)cmd /c\")").map(|v| v.len() > 1),
            Some(true)
        );
        assert_eq!(
            need("| where like(process, \"%rundll32%\")"),
            strings(&["rundll32"])
        );
        assert_eq!(
            need("| where process LIKE \"%a_b%-nop%\""),
            strings(&["-nop"])
        );
    }

    #[test]
    fn searches_need_their_longest_piece() {
        assert_eq!(need("| search process=*http*://*"), strings(&["http"]));
        assert_eq!(
            need("| search process IN (\"*-enc *\", \"*frombase64*\")"),
            strings(&["-enc ", "frombase64"])
        );
        assert_eq!(need("| search process=*abc* OR process=*ab*"), None);
        assert_eq!(need("| search process=*abc* count>1"), strings(&["abc"]));
        assert_eq!(need("| search NOT process=*abc*"), None);
        assert_eq!(need("| search process=1234"), None);
        assert_eq!(need("| search process=*a\\*bc*"), strings(&["a*bc"]));
    }

    #[test]
    fn a_case_insensitive_s_is_also_a_long_s() {
        assert_eq!(long_s_variants("ms:"), vec!["ms:", "mſ:"]);
        assert_eq!(long_s_variants("Sips").len(), 4);
        assert_eq!(long_s_variants("ssss-ab"), vec!["-ab"]);
    }

    #[test]
    fn counts_of_pieces_need_the_separator() {
        let pre = "| eval n=mvcount(split(process, \"/..\"))-1";
        assert_eq!(need(&format!("{pre} | search n > 1")), strings(&["/.."]));
        assert_eq!(need(&format!("{pre} | search n > 0")), strings(&["/.."]));
        assert_eq!(need(&format!("{pre} | where n >= 1")), strings(&["/.."]));
        // Without the separator n is 0, which these pass.
        assert_eq!(need(&format!("{pre} | search n >= 0")), None);
        assert_eq!(need(&format!("{pre} | search n > -1")), None);
        assert_eq!(need(&format!("{pre} | where n < 2")), None);
        assert_eq!(
            need(&format!("{pre}, m=n+1 | where 2 < m")),
            strings(&["/.."])
        );
        assert_eq!(
            need(&format!(
                "{pre}, m=mvcount(split(process, \"\\\\..\"))-1 | search n > 1 OR m > 1"
            )),
            strings(&["/..", "\\.."])
        );
    }
}
