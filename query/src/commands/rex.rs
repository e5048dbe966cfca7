//! The `rex` command: named groups of a regex become fields, or, with
//! `mode=sed`, a sed expression rewrites the field.
//!
//! As in Splunk: the field is `_raw` unless `field=` names one; each named
//! group gives a field; `max_match` (1 by default, 0 = no limit) matches
//! per row make a multivalue field; a row where the regex does not match
//! keeps its fields as they were. Sed expressions are `s/RE/REPL/[g|N]`
//! (`\1` in REPL is a group) and `y/FROM/TO/`.

use crate::pattern::{compiled, Pattern};

use crate::commands::columns::ensure_column;
use crate::eval::splunk_replacement;
use crate::spl::ast::Rex;
use crate::table::{Cell, Table};

/// A parsed sed expression.
#[derive(Debug)]
pub enum Sed {
    /// `s/RE/REPL/FLAGS`: `nth` 0 = every match (`g`), else the nth.
    Substitute {
        re: std::sync::Arc<Pattern>,
        replacement: String,
        nth: usize,
    },
    /// `y/FROM/TO/`.
    Transliterate { from: Vec<char>, to: Vec<char> },
}

/// Split `s/a/b/g` into its parts, honouring `\/` inside a part.
fn split_sed(expr: &str) -> Result<(char, Vec<String>), String> {
    let mut chars = expr.chars();
    let kind = chars.next().ok_or("empty sed expression")?;
    let delim = chars.next().ok_or("sed expression too short")?;
    let mut parts = vec![String::new()];
    let mut cur = String::new();
    let mut escaped = false;
    for c in chars {
        if escaped {
            if c != delim {
                cur.push('\\');
            }
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == delim {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if escaped {
        cur.push('\\');
    }
    parts.push(cur);
    // The first element is the empty text before the first delimiter.
    parts.remove(0);
    Ok((kind, parts))
}

impl Sed {
    pub fn parse(expr: &str) -> Result<Sed, String> {
        let (kind, parts) = split_sed(expr)?;
        match (kind, parts.as_slice()) {
            ('s', [re, rep, flags]) => {
                let re =
                    compiled(re).map_err(|e| format!("invalid regular expression {re:?}: {e}"))?;
                let nth = match flags.trim() {
                    "g" => 0,
                    "" => 1,
                    n => n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("unsupported sed flags `{n}` (use g or a number)")
                    })?,
                };
                Ok(Sed::Substitute {
                    re,
                    replacement: splunk_replacement(rep),
                    nth,
                })
            }
            ('y', [from, to, rest]) if rest.is_empty() => {
                let (from, to): (Vec<char>, Vec<char>) =
                    (from.chars().collect(), to.chars().collect());
                if from.len() != to.len() {
                    return Err("`y/FROM/TO/` needs FROM and TO of the same length".into());
                }
                Ok(Sed::Transliterate { from, to })
            }
            _ => Err(format!(
                "invalid sed expression `{expr}` (use s/REGEX/REPLACEMENT/[g|N] or y/FROM/TO/)"
            )),
        }
    }

    fn apply(&self, text: &str) -> Result<String, String> {
        match self {
            Sed::Substitute {
                re,
                replacement,
                nth,
            } => {
                if *nth <= 1 {
                    let limit = if *nth == 0 { 0 } else { 1 };
                    return re
                        .regex()
                        .try_replacen(text, limit, replacement.as_str())
                        .map(|c| c.into_owned())
                        .map_err(|e| e.to_string());
                }
                // Only the nth match.
                let mut out = String::new();
                let mut last = 0;
                for (k, caps) in re.regex().captures_iter(text).enumerate() {
                    let caps = caps.map_err(|e| e.to_string())?;
                    if k + 1 == *nth {
                        let m = caps.get(0).expect("group 0");
                        out.push_str(&text[last..m.start()]);
                        caps.expand(replacement, &mut out);
                        last = m.end();
                        break;
                    }
                }
                out.push_str(&text[last..]);
                Ok(out)
            }
            Sed::Transliterate { from, to } => Ok(text
                .chars()
                .map(|c| from.iter().position(|f| *f == c).map_or(c, |i| to[i]))
                .collect()),
        }
    }
}

/// Apply `rex` to every row.
pub fn apply(table: &mut Table, cmd: &Rex) -> Result<(), String> {
    let Some(src) = table.column_index(&cmd.field) else {
        return Ok(());
    };
    if cmd.sed {
        let sed = Sed::parse(&cmd.pattern)?;
        for row in &mut table.rows {
            for v in &mut row[src].0 {
                *v = sed.apply(v)?;
            }
        }
        return Ok(());
    }
    // Compiled once per process: a filter pushed below tstats replays the
    // command on each distinct value.
    let pattern = compiled(&cmd.pattern)
        .map_err(|e| format!("invalid regular expression {:?}: {e}", cmd.pattern))?;
    let re = pattern.regex();
    let names: Vec<(usize, String)> = re
        .capture_names()
        .enumerate()
        .filter_map(|(i, n)| n.map(|n| (i, n.to_string())))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let cols: Vec<usize> = names.iter().map(|(_, n)| ensure_column(table, n)).collect();
    let limit = if cmd.max_match == 0 {
        usize::MAX
    } else {
        cmd.max_match
    };
    for row in &mut table.rows {
        let mut found: Vec<Vec<String>> = vec![Vec::new(); names.len()];
        let mut matches = 0;
        'values: for v in &row[src].0 {
            for caps in re.captures_iter(v) {
                let caps =
                    caps.map_err(|e| format!("regular expression {:?}: {e}", cmd.pattern))?;
                for (k, (g, _)) in names.iter().enumerate() {
                    if let Some(m) = caps.get(*g) {
                        found[k].push(m.as_str().to_string());
                    }
                }
                matches += 1;
                if matches >= limit {
                    break 'values;
                }
            }
        }
        for (k, vals) in found.into_iter().enumerate() {
            if !vals.is_empty() {
                row[cols[k]] = Cell(vals);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::columns::testutil::{col, run, t};

    #[test]
    fn named_groups_max_match_and_no_match() {
        let mut tb = t(
            &["process", "user"],
            &[
                &["a.exe -u bob -u eve", "x"],
                &["b.exe", "kept"],
                &["<null>", "n"],
            ],
        );
        run(&mut tb, "| rex field=process \"-u (?<user>\\w+)\"");
        assert_eq!(col(&tb, "user"), ["bob", "kept", "n"]);
        run(&mut tb, "| rex field=process max_match=0 \"-u (?<u>\\w+)\"");
        assert_eq!(col(&tb, "u"), ["bob|eve", "<null>", "<null>"]);
        run(
            &mut tb,
            "| rex field=process \"^(?<exe>[^.]+)\\.(?<ext>\\w+)\"",
        );
        assert_eq!(col(&tb, "exe"), ["a", "b", "<null>"]);
        assert_eq!(col(&tb, "ext"), ["exe", "exe", "<null>"]);
        // A missing field: nothing happens.
        run(&mut tb, "| rex \"(?<z>.)\"");
        assert!(tb.column_index("z").is_none());
    }

    #[test]
    fn rtlo_groups_from_escu() {
        let mut tb = t(&["process"], &[&["evil\u{202E}fdp.exe"], &["plain.exe"]]);
        run(
            &mut tb,
            "| rex field=process \"(?<c1>.+)(?<rtlo>\\\\x{202E})(?<c2>.+)\"",
        );
        assert_eq!(col(&tb, "c1"), ["evil", "<null>"]);
        assert_eq!(col(&tb, "c2"), ["fdp.exe", "<null>"]);
    }

    #[test]
    fn sed_mode() {
        let mut tb = t(&["p"], &[&["a-b-c|x-y"], &["<null>"]]);
        run(&mut tb, "| rex field=p mode=sed \"s/(\\w)-/\\1+/g\"");
        assert_eq!(col(&tb, "p"), ["a+b+c|x+y", "<null>"]);
        let mut tb = t(&["p"], &[&["a-b-c"]]);
        run(&mut tb, "| rex field=p mode=sed \"s/-/_/2\"");
        assert_eq!(col(&tb, "p"), ["a-b_c"]);
        run(&mut tb, "| rex field=p mode=sed \"s/-/=/\"");
        assert_eq!(col(&tb, "p"), ["a=b_c"]);
        run(&mut tb, "| rex field=p mode=sed \"y/abc/xyz/\"");
        assert_eq!(col(&tb, "p"), ["x=y_z"]);
        run(&mut tb, "| rex field=p mode=sed \"s/\\//|/g\"");
        assert_eq!(col(&tb, "p"), ["x=y_z"]);
    }
}
