//! PCRE-style patterns (`| regex`, `match()`, `replace()`), as Splunk
//! runs them, with a fast rejection test.
//!
//! Detections use lookarounds and backreferences, which only a
//! backtracking engine (fancy-regex) runs, and backtracking over long
//! command lines that do not match is the costliest step of a hunt. So a
//! pattern with such constructs also gets a *relaxed* twin for the linear
//! `regex` engine: each lookaround becomes an empty group, an atomic
//! group a plain one, a backreference `.*`. The relaxed language contains
//! the original one (those constructs only ever remove matches), so a text
//! the twin rejects is rejected without backtracking; a text it accepts is
//! decided by the real pattern. A pattern whose twin cannot be built is
//! simply run as it is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use fancy_regex::Regex;

/// Most patterns the process keeps compiled (see [`compiled`]).
const CACHE_CAPACITY: usize = 4096;

/// `pattern`, compiled once per process and shared: by every chunk of
/// rows, every segment's pushed-down filter and every detection of a
/// pack. A case-insensitive Unicode pattern takes milliseconds to compile,
/// which, once per chunk and segment, was a fifth of a large hunt.
pub fn compiled(pattern: &str) -> Result<Arc<Pattern>, fancy_regex::Error> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Pattern>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let lock = || {
        cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    if let Some(p) = lock().get(pattern) {
        return Ok(p.clone());
    }
    // Compiled outside the lock: two threads may both compile a new
    // pattern; either result is the same.
    let p = Arc::new(Pattern::new(pattern)?);
    let mut cache = lock();
    if cache.len() >= CACHE_CAPACITY {
        cache.clear();
    }
    cache.insert(pattern.to_string(), p.clone());
    Ok(p)
}

#[derive(Debug)]
pub struct Pattern {
    re: Regex,
    /// Matches a superset of `re`'s texts, in linear time.
    prefilter: Option<regex::Regex>,
}

impl Pattern {
    pub fn new(pattern: &str) -> Result<Self, fancy_regex::Error> {
        let re = Regex::new(pattern)?;
        let prefilter = relaxed(pattern).and_then(|r| {
            regex::RegexBuilder::new(&r)
                .size_limit(1 << 24)
                .dfa_size_limit(1 << 24)
                .build()
                .ok()
        });
        Ok(Pattern { re, prefilter })
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> Result<bool, fancy_regex::Error> {
        if let Some(p) = &self.prefilter {
            if !p.is_match(text) {
                return Ok(false);
            }
        }
        self.re.is_match(text)
    }

    /// The regex that decides, in the `regex` crate's syntax, when no text
    /// it rejects can match and nothing runs before it: the relaxed twin,
    /// or, for a pattern fancy-regex hands whole to the `regex` crate, its
    /// rewrite of it. None for a pattern that backtracks with no twin (it
    /// may fail as it runs, on any text).
    pub fn linear_text(&self) -> Option<String> {
        if let Some(p) = &self.prefilter {
            return Some(p.as_str().to_string());
        }
        let tree = fancy_regex::Expr::parse_tree(self.re.as_str()).ok()?;
        if !tree.backrefs.is_empty() || !linear(&tree.expr) {
            return None;
        }
        let mut text = String::new();
        tree.expr.to_str(&mut text, 0);
        Some(text)
    }

    /// Whether matching never fails: the pattern runs on the `regex`
    /// crate alone, with no backtracking limit to reach.
    pub fn never_fails(&self) -> bool {
        self.prefilter.is_none() && self.linear_text().is_some()
    }

    /// The backtracking regex itself (for replacement).
    pub fn regex(&self) -> &Regex {
        &self.re
    }
}

/// Whether fancy-regex writes `e` for the `regex` crate (`Expr::to_str`,
/// which panics on anything else): no lookaround, backreference, atomic
/// group or other construct only backtracking runs.
fn linear(e: &fancy_regex::Expr) -> bool {
    use fancy_regex::{Assertion as A, Expr as E};
    match e {
        E::Empty | E::Any { .. } | E::Literal { .. } | E::Delegate { .. } => true,
        E::DefineGroup { .. } => true,
        E::Assertion(a) => matches!(
            a,
            A::StartText
                | A::EndText
                | A::StartLine { .. }
                | A::StartLineOniguruma { .. }
                | A::EndLine { .. }
                | A::WordBoundary
                | A::NotWordBoundary
                | A::LeftWordBoundary
                | A::RightWordBoundary
                | A::LeftWordHalfBoundary
                | A::RightWordHalfBoundary
        ),
        E::Concat(_) | E::Alt(_) | E::Group(_) | E::Repeat { .. } => e.children_iter().all(linear),
        _ => false,
    }
}

/// The relaxed twin of a pattern that needs backtracking, or None when it
/// has no such construct (fancy-regex then runs it on the linear engine
/// anyway) or one this rewrite does not know (conditionals, `\K`, ...).
fn relaxed(p: &str) -> Option<String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len());
    let mut fancy = false;
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let next = *chars.get(i + 1)?;
                if !in_class && (next.is_ascii_digit() && next != '0' || next == 'k' || next == 'g')
                {
                    // A backreference: any text.
                    if next == 'k' || next == 'g' {
                        let close = match chars.get(i + 2)? {
                            '<' => '>',
                            '{' => '}',
                            '\'' => '\'',
                            _ => return None,
                        };
                        let end = (i + 3..chars.len()).find(|&j| chars[j] == close)?;
                        i = end + 1;
                    } else {
                        i += 2;
                        while chars.get(i).is_some_and(char::is_ascii_digit) {
                            i += 1;
                        }
                    }
                    out.push_str("(?s:.*)");
                    fancy = true;
                    continue;
                }
                if matches!(next, 'K' | 'G' | 'Z') && !in_class {
                    return None;
                }
                out.push(c);
                out.push(next);
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                i += 1;
                // A `]` right after `[` or `[^` is a literal.
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push(']');
                    i += 1;
                }
                continue;
            }
            '[' if in_class && chars.get(i + 1) == Some(&':') => {
                // A POSIX class `[:alpha:]` inside a class.
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == ':' && chars[j + 1] == ']')?;
                out.extend(&chars[i..end + 2]);
                i = end + 2;
                continue;
            }
            ']' if in_class => in_class = false,
            '(' if !in_class && chars.get(i + 1) == Some(&'?') => {
                let rest: String = chars[i + 2..chars.len().min(i + 5)].iter().collect();
                let lookaround = ["=", "!", "<=", "<!"]
                    .iter()
                    .find(|k| rest.starts_with(**k));
                if let Some(k) = lookaround {
                    let end = group_end(&chars, i)?;
                    let _ = k;
                    out.push_str("(?:)");
                    i = end + 1;
                    fancy = true;
                    continue;
                }
                if rest.starts_with('>') {
                    out.push_str("(?:");
                    i += 3;
                    fancy = true;
                    continue;
                }
                if rest.starts_with('(') {
                    // A conditional.
                    return None;
                }
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    fancy.then_some(out)
}

/// The index of the `)` that closes the group opened at `open`.
fn group_end(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' if !in_class => {
                in_class = true;
                if chars.get(i + 1) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    i += 1;
                }
            }
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxes_lookarounds_atomic_groups_and_backreferences() {
        assert_eq!(relaxed(r"a(?!\.)b"), Some(r"a(?:)b".into()));
        assert_eq!(relaxed(r"(?<=x)y(?=[)(])"), Some(r"(?:)y(?:)".into()));
        assert_eq!(relaxed(r"(?>ab)c"), Some(r"(?:ab)c".into()));
        assert_eq!(relaxed(r"(a)\1"), Some(r"(a)(?s:.*)".into()));
        assert_eq!(relaxed(r"[(?=]x"), None, "no fancy construct: no twin");
        assert_eq!(relaxed(r"plain\.exe"), None);
        assert_eq!(relaxed(r"(?(1)a|b)(?=c)"), None);
    }

    #[test]
    fn compiled_patterns_are_shared() {
        let a = compiled(r"(?i)enc\w+").unwrap();
        let b = compiled(r"(?i)enc\w+").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.is_match("-EncodedCommand").unwrap());
        assert!(compiled("(unclosed").is_err());
    }

    /// The twin never rejects a text the real pattern accepts.
    #[test]
    fn prefilter_keeps_every_match() {
        let ads = r"(\b)\w+(\.\w+)?:\w+(\.\w{2,4})(?!\.)(\b|\s|&)";
        let cases = [
            (ads, "type C:\\x\\file.txt:evil.exe & echo"),
            (ads, "cmd /c notepad.exe:stream.bat"),
            (ads, "C:\\Windows\\system32\\cmd.exe /c dir"),
            (ads, "file.txt:ads.exe.txt"),
            (r"(\w+)=\1", "key=key"),
            (r"(\w+)=\1", "key=value"),
            (r"(?<!\\)powershell(?=\.exe)", "C:\\x\\powershell.exe"),
            (r"(?<!\\)powershell(?=\.exe)", "powershell_ise.exe"),
        ];
        for (p, text) in cases {
            let pat = Pattern::new(p).unwrap();
            assert!(pat.prefilter.is_some(), "{p} has a twin");
            let real = Regex::new(p).unwrap().is_match(text).unwrap();
            assert_eq!(pat.is_match(text).unwrap(), real, "{p} on {text}");
            if real {
                assert!(pat.prefilter.as_ref().unwrap().is_match(text));
            }
        }
    }
}
