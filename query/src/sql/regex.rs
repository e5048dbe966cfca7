//! Regexes of `| regex` and `match()` for the SQL engines: evidx runs them
//! with fancy-regex (Rust syntax, Unicode classes), DuckDB with RE2 and
//! Spark with `java.util.regex`. Only a subset means the same in all
//! three, so a pattern is rewritten into a form they agree on, or refused:
//!
//! - `.` becomes `[^\n]` (Java's `.` also stops at `\r`, U+0085, ...);
//!   `$` becomes `\z` (Java's `$` also matches before a final newline);
//! - `\d` becomes `\p{Nd}` and `\s` the list of Unicode White_Space (RE2
//!   and Java read them as ASCII); punctuation and control characters
//!   are written `\x{..}`; capture groups become `(?:...)`;
//! - `(?i)` is allowed at the start (Java needs `(?iu)` for Unicode);
//! - `\w`, `\W`, `\b`, `\B` and lookarounds are kept for Spark (Java
//!   reads the word classes as Unicode's under `(?U)`, which is added);
//!   for DuckDB `\w` and `\W` are written out as Unicode classes, and
//!   `\b`, `\B` and lookarounds refused (RE2's are ASCII, it has no
//!   lookarounds; at a filter's edges `filter_regex` rewrites
//!   them first);
//! - refused: backreferences, atomic groups, other flags, nested or
//!   set-operation classes, repetition counts over 1000 (RE2's limit).

use super::dialect::{Dialect, WHITE_SPACE_CLASS};

/// `pattern` in the dialect's syntax, or why it cannot be compiled.
pub fn translate(pattern: &str, dialect: Dialect) -> Result<String, String> {
    translate_groups(pattern, dialect, None)
}

/// A capture group of a pattern translated by [`translate_capturing`].
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its name (`(?<name>...)`), if it has one.
    pub name: Option<String>,
    /// Whether every match of the pattern has it take part: a group at the
    /// top of the pattern, not repeated by `?`, `*` or `{0,..}`, in a
    /// pattern with no top-level `|`. Only then do the engines' empty text
    /// for a group that took no part and evidx's "no value" agree.
    pub certain: bool,
}

/// `pattern` in the dialect's syntax with its capture groups kept (named
/// ones as plain groups, so they keep their numbers: group `i + 1` is
/// `groups[i]`), for `rex`.
pub fn translate_capturing(
    pattern: &str,
    dialect: Dialect,
) -> Result<(String, Vec<Group>), String> {
    let mut groups = Vec::new();
    let out = translate_groups(pattern, dialect, Some(&mut groups))?;
    Ok((out, groups))
}

/// [`translate`]; with `groups`, capture groups are kept and listed there.
fn translate_groups(
    pattern: &str,
    dialect: Dialect,
    mut groups: Option<&mut Vec<Group>>,
) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    if pattern.starts_with("(?i)") {
        out.push_str(match dialect {
            Dialect::DuckDb => "(?i)",
            Dialect::Spark => "(?iu)",
        });
        i = 4;
    }
    let mut depth = 0usize;
    // Per open group: its index in `groups` if it captures.
    let mut open: Vec<Option<usize>> = Vec::new();
    // The capture group that closed last, for a quantifier after it.
    let mut closed: Option<usize> = None;
    // Whether the previous item can take a quantifier.
    let mut quantifiable = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let (text, next) = escape(&chars, i, false, dialect)?;
                out.push_str(&text);
                i = next;
                quantifiable = true;
                continue;
            }
            '[' => {
                let (text, next) = class(&chars, i, dialect)?;
                out.push_str(&text);
                i = next;
                quantifiable = true;
                continue;
            }
            '(' => {
                let named = named_group(&chars, i);
                let capture = match (&mut groups, named) {
                    (Some(groups), Some((name, next))) => {
                        groups.push(Group {
                            name: Some(name),
                            certain: depth == 0,
                        });
                        i = next;
                        Some(groups.len() - 1)
                    }
                    (Some(groups), None) if chars.get(i + 1) != Some(&'?') => {
                        groups.push(Group {
                            name: None,
                            certain: depth == 0,
                        });
                        i += 1;
                        Some(groups.len() - 1)
                    }
                    _ if lookaround(&chars, i).is_some() => {
                        let len = lookaround(&chars, i).unwrap_or_default();
                        if dialect == Dialect::DuckDb {
                            return Err(format!(
                                "the lookaround `{}` has no equivalent in DuckDB's RE2; compiled for Spark only",
                                chars[i..i + len].iter().collect::<String>()
                            ));
                        }
                        out.push_str(&chars[i..i + len].iter().collect::<String>());
                        open.push(None);
                        depth += 1;
                        quantifiable = false;
                        i += len;
                        continue;
                    }
                    _ => {
                        if chars.get(i + 1) == Some(&'?') {
                            if chars.get(i + 2) != Some(&':') {
                                return Err(format!(
                                    "the group `{}` (lookaround, named group or flags) has no equivalent in SQL",
                                    chars[i..(i + 4).min(chars.len())].iter().collect::<String>()
                                ));
                            }
                            i += 3;
                        } else {
                            i += 1;
                        }
                        None
                    }
                };
                out.push_str(if capture.is_some() { "(" } else { "(?:" });
                open.push(capture);
                depth += 1;
                quantifiable = false;
                continue;
            }
            ')' | '|' | '.' | '^' | '$' => {
                if c == ')' {
                    depth = depth.checked_sub(1).ok_or("unbalanced `)`")?;
                    closed = open.pop().flatten();
                }
                if c == '|' && depth == 0 {
                    // Any group may take no part in a match.
                    groups
                        .iter_mut()
                        .flat_map(|g| g.iter_mut())
                        .for_each(|g| g.certain = false);
                }
                // (translation, whether it can be repeated)
                let (text, q) = match c {
                    ')' => (")", true),
                    '|' => ("|", false),
                    '.' => (r"[^\x{A}]", true),
                    '^' => ("^", false),
                    _ => (r"\z", false),
                };
                out.push_str(text);
                quantifiable = q;
            }
            '*' | '+' | '?' | '{' => {
                if !quantifiable {
                    return Err(format!("`{c}` has nothing to repeat"));
                }
                // A group repeated perhaps zero times may take no part.
                let optional = c != '+' && !(c == '{' && chars.get(i + 1) != Some(&'0'));
                if let (Some(g), Some(groups), true) = (closed, &mut groups, optional) {
                    if out.ends_with(')') {
                        groups[g].certain = false;
                    }
                }
                let next = if c == '{' {
                    let (text, next) = counted(&chars, i)?;
                    out.push_str(&text);
                    next
                } else {
                    out.push(c);
                    i + 1
                };
                i = next;
                match chars.get(i) {
                    Some('?') => {
                        out.push('?');
                        i += 1;
                    }
                    Some('+') => {
                        return Err("possessive repetition has no equivalent in SQL".into())
                    }
                    _ => {}
                }
                if matches!(chars.get(i), Some('*' | '+' | '{')) {
                    return Err(
                        "a repetition of a repetition is read differently by SQL engines".into(),
                    );
                }
                quantifiable = false;
                continue;
            }
            _ => {
                out.push_str(&literal(c));
                quantifiable = true;
            }
        }
        if c != ')' {
            closed = None;
        }
        i += 1;
    }
    if depth != 0 {
        return Err("unbalanced `(`".into());
    }
    if dialect == Dialect::Spark && UNICODE_WORDS.iter().any(|w| out.contains(w)) {
        out.insert_str(0, "(?U)");
    }
    Ok(out)
}

/// Escapes that Java reads as Unicode's word characters under `(?U)`
/// (`UNICODE_CHARACTER_CLASS`), as Rust's regex reads them: alphabetic,
/// marks, decimal digits, connector punctuation, join controls. The rest
/// of a translated pattern never writes them (literal backslashes are
/// `\x{5C}`), and `\d`, `\s` are already explicit, so the flag changes
/// nothing else.
const UNICODE_WORDS: [&str; 4] = [r"\w", r"\W", r"\b", r"\B"];

/// The length of a lookaround opening `(?=`, `(?!`, `(?<=`, `(?<!` at
/// `chars[i]`.
fn lookaround(chars: &[char], i: usize) -> Option<usize> {
    match (chars.get(i + 1), chars.get(i + 2), chars.get(i + 3)) {
        (Some('?'), Some('=' | '!'), _) => Some(3),
        (Some('?'), Some('<'), Some('=' | '!')) => Some(4),
        _ => None,
    }
}

/// The name of a named group `(?<name>` or `(?P<name>` at `chars[i]`, and
/// the index after its `>` (None for any other group, lookbehinds too).
fn named_group(chars: &[char], i: usize) -> Option<(String, usize)> {
    let start = match (chars.get(i + 1), chars.get(i + 2), chars.get(i + 3)) {
        (Some('?'), Some('<'), Some(c)) if *c != '=' && *c != '!' => i + 3,
        (Some('?'), Some('P'), Some('<')) => i + 4,
        _ => return None,
    };
    let len = chars[start..].iter().position(|&c| c == '>')?;
    let name: String = chars[start..start + len].iter().collect();
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, start + len + 1))
}

/// A literal character in a form every engine reads the same.
fn literal(c: char) -> String {
    if c.is_ascii_alphanumeric() || c == ' ' || !c.is_ascii() && !c.is_control() {
        c.to_string()
    } else {
        format!(r"\x{{{:X}}}", c as u32)
    }
}

/// The escape at `chars[i]` (a backslash): its translation and the index
/// after it. `in_class`: inside `[...]`, where `\s` is spliced as ranges.
fn escape(
    chars: &[char],
    i: usize,
    in_class: bool,
    dialect: Dialect,
) -> Result<(String, usize), String> {
    let Some(&e) = chars.get(i + 1) else {
        return Err("the pattern ends with a lone `\\`".into());
    };
    let simple = |text: String| Ok((text, i + 2));
    match e {
        // Java's word classes under `(?U)` are Unicode's, as evidx's are
        // (see `UNICODE_WORDS`); RE2's are ASCII.
        'w' | 'W' | 'b' | 'B' if dialect == Dialect::Spark && !(in_class && e == 'b') => {
            simple(format!("\\{e}"))
        }
        // For RE2, Unicode's word characters written out.
        'w' | 'W' if dialect == Dialect::DuckDb => {
            let mut class = word_class();
            if e == 'W' {
                class.negate();
            }
            let text = unicode_class(&class);
            simple(match in_class {
                true => text[1..text.len() - 1].to_string(),
                false => text,
            })
        }
        'b' | 'B' if dialect == Dialect::DuckDb => Err(format!(
            "`\\{e}` inside the pattern has no RE2 form (RE2's is ASCII, evidx's Unicode); at its edges it is rewritten, and Spark reads it everywhere"
        )),
        'd' => simple(r"\p{Nd}".into()),
        'D' if !in_class => simple(r"\P{Nd}".into()),
        's' if in_class => simple(WHITE_SPACE_CLASS.into()),
        's' => simple(format!("[{WHITE_SPACE_CLASS}]")),
        'S' if !in_class => simple(format!("[^{WHITE_SPACE_CLASS}]")),
        't' => simple(literal('\t')),
        'n' => simple(literal('\n')),
        'r' => simple(literal('\r')),
        'x' => {
            let (code, next) = if chars.get(i + 2) == Some(&'{') {
                let end = (i + 3..chars.len())
                    .find(|&j| chars[j] == '}')
                    .ok_or("unterminated `\\x{`")?;
                (chars[i + 3..end].iter().collect::<String>(), end + 1)
            } else {
                let hex: String = chars.iter().skip(i + 2).take(2).collect();
                (hex, i + 4)
            };
            let c = u32::from_str_radix(&code, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("bad hex escape `\\x{code}`"))?;
            Ok((format!(r"\x{{{:X}}}", c as u32), next))
        }
        c if c.is_ascii_punctuation() => simple(literal(c)),
        _ => Err(format!(
            "`\\{e}` means something else to SQL engines (RE2 and Java read it as ASCII, or do not have it)"
        )),
    }
}

/// The class `[...]` at `chars[i]`: its translation and the index after it.
fn class(chars: &[char], i: usize, dialect: Dialect) -> Result<(String, usize), String> {
    let mut out = String::from("[");
    let mut j = i + 1;
    if chars.get(j) == Some(&'^') {
        out.push('^');
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        return Err("a class starting with `]` is read differently by SQL engines".into());
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(j) else {
            return Err("unterminated `[` class".into());
        };
        match c {
            ']' => {
                out.push(']');
                return Ok((out, j + 1));
            }
            '[' => return Err("nested or POSIX classes have no SQL equivalent".into()),
            '&' | '-' | '~' if chars.get(j + 1) == Some(&c) => {
                return Err("class set operations have no SQL equivalent".into())
            }
            '\\' => {
                let (text, next) = escape(chars, j, true, dialect)?;
                out.push_str(&text);
                j = next;
            }
            '-' if first || chars.get(j + 1) == Some(&']') => {
                out.push_str(&literal('-'));
                j += 1;
            }
            '-' => {
                out.push('-');
                j += 1;
            }
            _ => {
                out.push_str(&literal(c));
                j += 1;
            }
        }
        first = false;
    }
}

/// The counted repetition `{n}`, `{n,}` or `{n,m}` at `chars[i]`.
fn counted(chars: &[char], i: usize) -> Result<(String, usize), String> {
    let end = (i + 1..chars.len())
        .find(|&j| chars[j] == '}')
        .ok_or("a `{` that is not a repetition count")?;
    let body: String = chars[i + 1..end].iter().collect();
    let ok = |s: &str| s.trim().parse::<u32>().ok().filter(|&n| n <= 1000);
    let valid = match body.split_once(',') {
        None => ok(&body).is_some(),
        Some((a, b)) => {
            let lo = ok(a);
            lo.is_some() && (b.trim().is_empty() || ok(b).is_some_and(|hi| Some(hi) >= lo))
        }
    };
    if !valid {
        return Err(format!(
            "the repetition `{{{body}}}` is not a count SQL engines take (at most 1000)"
        ));
    }
    Ok((format!("{{{}}}", body.replace(' ', "")), end + 1))
}

/// Unicode's word characters, as evidx's regexes read `\w`.
pub fn word_class() -> regex_syntax::hir::ClassUnicode {
    match regex_syntax::Parser::new()
        .parse(r"\w")
        .map(|h| h.into_kind())
    {
        Ok(regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(c))) => c,
        // `\w` always parses to a Unicode class.
        _ => regex_syntax::hir::ClassUnicode::empty(),
    }
}

/// A class written out as `[\x{..}-\x{..}...]` (RE2 and Java syntax).
pub fn unicode_class(class: &regex_syntax::hir::ClassUnicode) -> String {
    let mut out = String::from("[");
    for r in class.ranges() {
        match r.start() == r.end() {
            true => out.push_str(&format!(r"\x{{{:X}}}", r.start() as u32)),
            false => out.push_str(&format!(
                r"\x{{{:X}}}-\x{{{:X}}}",
                r.start() as u32,
                r.end() as u32
            )),
        }
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn capture_groups_keep_their_numbers_and_say_if_they_always_take_part() {
        let (re, groups) =
            translate_capturing(r"(?<a>x+)(\d)(?:y)(?P<b>z)?(?<c>[.])", Dialect::DuckDb).unwrap();
        assert!(re.starts_with("(x+)("), "{re}");
        let named: Vec<(Option<&str>, bool)> = groups
            .iter()
            .map(|g| (g.name.as_deref(), g.certain))
            .collect();
        assert_eq!(
            named,
            [
                (Some("a"), true),
                (None, true),
                (Some("b"), false),
                (Some("c"), true)
            ]
        );
        // A top-level alternative, a nested group, a repeat that may be zero.
        let (_, groups) = translate_capturing("(?<a>x)|y", Dialect::Spark).unwrap();
        assert!(!groups[0].certain);
        let (_, groups) = translate_capturing("((?<a>x))", Dialect::Spark).unwrap();
        assert!(!groups[1].certain);
        let (_, groups) =
            translate_capturing("(?<a>x){0,2}(?<b>y){1,2}(?<c>z)*", Dialect::Spark).unwrap();
        let certain: Vec<bool> = groups.iter().map(|g| g.certain).collect();
        assert_eq!(certain, [false, true, false]);
        // Without capture, a named group is still refused; lookbehinds always.
        assert!(translate("(?<a>x)", Dialect::DuckDb).is_err());
        assert!(translate_capturing("(?<=a)b", Dialect::DuckDb).is_err());
    }

    use super::*;

    #[test]
    fn rewrites_to_the_common_subset() {
        let d = Dialect::DuckDb;
        assert_eq!(
            translate(r"(?i)(regasm\.exe.{0,4}$)", d).unwrap(),
            r"(?i)(?:regasm\x{2E}exe[^\x{A}]{0,4}\z)"
        );
        assert_eq!(translate(r"(?i)x", Dialect::Spark).unwrap(), "(?iu)x");
        assert_eq!(translate(r"[\-|\/]a", d).unwrap(), r"[\x{2D}\x{7C}\x{2F}]a");
        assert_eq!(
            translate(r"[A-Za-z0-9+/=]{5,}", d).unwrap(),
            r"[A-Za-z0-9\x{2B}\x{2F}\x{3D}]{5,}"
        );
    }

    #[test]
    fn refuses_what_differs() {
        let d = Dialect::DuckDb;
        // `\w` is written out as Unicode's word characters.
        let words = regex::Regex::new(&translate(r"^\w+$", d).unwrap()).unwrap();
        assert!(words.is_match("é_Ω9٣") && !words.is_match("a-b"));
        for p in [
            r"a\b",
            r"(?!\.)",
            r"(?<=a)b",
            r"(a)\1",
            "[[:alpha:]]",
            "a{2000}",
            "a++",
            "(?s).",
        ] {
            assert!(translate(p, d).is_err(), "{p}");
        }
    }
}
