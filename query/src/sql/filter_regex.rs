//! A regex used as a filter (`| regex`, `match()`: only whether it
//! matches somewhere counts) for DuckDB's RE2, which has no lookarounds
//! and reads `\b` as ASCII where evidx's is Unicode.
//!
//! At the edges of a pattern, one-character assertions only say what the
//! character before the match or after it may be, and an unanchored search
//! may as well consume that character. So a leading run of `\b`, `\B`,
//! `^`, lookbehinds of one character (and groups of them, whose
//! alternatives may also be one consumed character, as in `(\s|^)`) and a
//! trailing run of `\b`, `\B`, `$`, lookaheads of one character (and such
//! groups) become one character class, or the start or end of the text:
//! `\bcmd\b` becomes `(?:^|[^\w])cmd(?:[^\w]|\z)` with `\w` written out as
//! Unicode's word characters. A word boundary's sense comes from the
//! first (last) characters the rest of the pattern can match, which must
//! all be word characters or all not. Assertions anywhere else are
//! refused, as is every pattern whose rest does not translate
//! ([`super::regex`]).

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind};

use super::dialect::Dialect;
use super::regex::{translate, unicode_class, word_class};

/// `pattern`, used as a filter, in the dialect's syntax.
pub fn translate_filter(pattern: &str, dialect: Dialect) -> Result<String, String> {
    if dialect == Dialect::Spark {
        return translate(pattern, dialect);
    }
    let (flag, body) = match pattern.strip_prefix("(?i)") {
        Some(rest) => ("(?i)", rest),
        None => ("", pattern),
    };
    let items = split(body)?;
    let lead = items.iter().take_while(|i| i.context.is_some()).count();
    let trail = items[lead..]
        .iter()
        .rev()
        .take_while(|i| i.context.is_some())
        .count();
    if lead == 0 && trail == 0 {
        return translate(pattern, dialect);
    }
    // Every edge element speaks of the one character beside the rest of
    // the pattern; one that consumes a character is that character only
    // when nothing stands between it and the rest's far side.
    let consumes = |i: &Item| {
        i.context.as_ref().is_some_and(|e| {
            e.alternatives
                .iter()
                .flatten()
                .any(|c| matches!(c, Cond::Char(_)))
        })
    };
    let inner_lead = items[..lead].iter().skip(1);
    let inner_trail = items[items.len() - trail..].iter().rev().skip(1);
    if inner_lead.chain(inner_trail).any(consumes) {
        return Err(
            "an assertion between a consumed edge character and the rest has no RE2 form".into(),
        );
    }
    let core_items = &items[lead..items.len() - trail];
    if core_items.is_empty() {
        return Err("a pattern of assertions only has no RE2 form".into());
    }
    let core: String = core_items.iter().map(|i| i.src.as_str()).collect();
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(!flag.is_empty())
        .build()
        .parse(&core)
        .map_err(|e| format!("the pattern between its edge assertions: {e}"))?;
    let first = edge_chars(&hir, true);
    let last = edge_chars(&hir, false);
    let mut out = String::from(flag);
    if lead > 0 {
        let elements: Vec<&Element> = items[..lead].iter().flat_map(|i| &i.context).collect();
        let set = context(&elements, Side::Before, first.as_ref(), flag)?;
        out.push_str(&set.re2(Side::Before));
    }
    out.push_str(&translate(&format!("{flag}{core}"), dialect)?[flag.len()..]);
    if trail > 0 {
        let elements: Vec<&Element> = items[items.len() - trail..]
            .iter()
            .flat_map(|i| &i.context)
            .collect();
        let set = context(&elements, Side::After, last.as_ref(), flag)?;
        out.push_str(&set.re2(Side::After));
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    Before,
    After,
}

/// A top-level item of a pattern: its text, and what it says of the
/// character beside the match when it is an edge element.
struct Item {
    src: String,
    context: Option<Element>,
}

/// One-character context: alternatives, each a list of conditions that
/// all hold.
#[derive(Debug, Clone)]
struct Element {
    alternatives: Vec<Vec<Cond>>,
}

#[derive(Debug, Clone)]
enum Cond {
    /// `\b` (true) or `\B`.
    Boundary(bool),
    /// `^` (true: the text's start) or `$` (its end).
    Edge(bool),
    /// A lookaround of one character: direction (ahead?), negated, the
    /// character class's text.
    Look {
        ahead: bool,
        negated: bool,
        class: String,
    },
    /// One character consumed (in a group's alternative).
    Char(String),
}

/// The characters allowed beside the match, and whether the text's edge
/// is.
struct Allowed {
    chars: ClassUnicode,
    edge: bool,
}

impl Allowed {
    fn all() -> Self {
        let mut chars = ClassUnicode::empty();
        chars.negate();
        Allowed { chars, edge: true }
    }

    fn intersect(&mut self, other: &Allowed) {
        self.chars.intersect(&other.chars);
        self.edge &= other.edge;
    }

    fn union(&mut self, other: &Allowed) {
        self.chars.union(&other.chars);
        self.edge |= other.edge;
    }

    /// As RE2 text on `side` of the rest of the pattern.
    fn re2(&self, side: Side) -> String {
        let full = Allowed::all().chars;
        let mut rest = full.clone();
        rest.difference(&self.chars);
        if self.edge && rest.ranges().is_empty() {
            return String::new();
        }
        let edge = match side {
            Side::Before => "^",
            Side::After => r"\z",
        };
        let class = unicode_class(&self.chars);
        match (self.chars.ranges().is_empty(), self.edge) {
            (true, true) => format!("(?:{edge})"),
            // Nothing may be beside the match: it never matches.
            (true, false) => r"[^\x{0}-\x{10FFFF}]".into(),
            (false, true) => format!("(?:{edge}|{class})"),
            (false, false) => class,
        }
    }
}

/// What `elements` (all at the same place, on `side` of the rest of the
/// pattern, whose characters there are `beside`) allow.
fn context(
    elements: &[&Element],
    side: Side,
    beside: Option<&ClassUnicode>,
    flag: &str,
) -> Result<Allowed, String> {
    let word = word_class();
    // Whether the characters of the rest of the pattern beside are word
    // characters (needed by a boundary only).
    let wordy = || -> Result<bool, String> {
        let beside = beside.ok_or("a word boundary beside a part that may match nothing")?;
        let mut outside = beside.clone();
        outside.difference(&word);
        let mut inside = beside.clone();
        inside.intersect(&word);
        match (inside.ranges().is_empty(), outside.ranges().is_empty()) {
            (false, true) => Ok(true),
            (true, false) => Ok(false),
            _ => Err(
                "a word boundary beside characters that may or may not be word characters".into(),
            ),
        }
    };
    let mut allowed = Allowed::all();
    for e in elements {
        let mut any = Allowed {
            chars: ClassUnicode::empty(),
            edge: false,
        };
        for conds in &e.alternatives {
            let mut all = Allowed::all();
            for c in conds {
                let set = match c {
                    Cond::Boundary(b) => {
                        // A boundary: the character beside is of the other
                        // kind (the edge counts as a non-word character).
                        let other_kind = *b;
                        let beside_word = wordy()?;
                        let want_word = beside_word != other_kind;
                        let mut chars = word.clone();
                        if !want_word {
                            chars.negate();
                        }
                        Allowed {
                            chars,
                            edge: !want_word,
                        }
                    }
                    // `^` after the match, or `$` before it: never.
                    Cond::Edge(start) => Allowed {
                        chars: ClassUnicode::empty(),
                        edge: *start == (side == Side::Before),
                    },
                    Cond::Look {
                        ahead,
                        negated,
                        class,
                    } => {
                        if *ahead != (side == Side::After) {
                            return Err(
                                "a lookaround at the edge that looks into the match has no RE2 form"
                                    .into(),
                            );
                        }
                        let mut set = look_set(class, flag, side)?;
                        if *negated {
                            set.chars.negate();
                            set.edge = !set.edge;
                        }
                        set
                    }
                    Cond::Char(class) => Allowed {
                        chars: one_char(class, flag)?,
                        edge: false,
                    },
                };
                all.intersect(&set);
            }
            any.union(&all);
        }
        allowed.intersect(&any);
    }
    Ok(allowed)
}

/// What a lookaround's inside matches: alternatives of one character or
/// the text's edge (`(?=\s|"|$)`).
fn look_set(inner: &str, flag: &str, side: Side) -> Result<Allowed, String> {
    let mut set = Allowed {
        chars: ClassUnicode::empty(),
        edge: false,
    };
    let alternatives =
        split_alternatives(inner).ok_or_else(|| format!("the lookaround `{inner}`"))?;
    for alt in alternatives {
        match alt.as_str() {
            "^" | r"\A" => set.edge |= side == Side::Before,
            "$" | r"\z" => set.edge |= side == Side::After,
            one => set.chars.union(&one_char(one, flag)?),
        }
    }
    Ok(set)
}

/// The class of a pattern that matches exactly one character.
fn one_char(src: &str, flag: &str) -> Result<ClassUnicode, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(!flag.is_empty())
        .build()
        .parse(src)
        .map_err(|e| format!("`{src}`: {e}"))?;
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => Ok(c.clone()),
        HirKind::Literal(l) => match std::str::from_utf8(&l.0)
            .ok()
            .map(|s| s.chars().collect::<Vec<_>>())
        {
            Some(v) if v.len() == 1 => Ok(ClassUnicode::new([ClassUnicodeRange::new(v[0], v[0])])),
            _ => Err(format!("`{src}` is not one character")),
        },
        _ => Err(format!("`{src}` is not one character")),
    }
}

/// The characters a match of `hir` can start (`first`) or end with; None
/// when it can match nothing.
fn edge_chars(hir: &Hir, first: bool) -> Option<ClassUnicode> {
    let (set, nullable) = edge(hir, first);
    (!nullable).then_some(set)
}

fn edge(hir: &Hir, first: bool) -> (ClassUnicode, bool) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => (ClassUnicode::empty(), true),
        HirKind::Literal(l) => {
            let s = String::from_utf8_lossy(&l.0);
            let c = if first {
                s.chars().next()
            } else {
                s.chars().last()
            };
            match c {
                Some(c) => (ClassUnicode::new([ClassUnicodeRange::new(c, c)]), false),
                None => (ClassUnicode::empty(), true),
            }
        }
        HirKind::Class(Class::Unicode(c)) => (c.clone(), false),
        HirKind::Class(Class::Bytes(_)) => {
            // Not made in Unicode mode; any character then.
            let mut all = ClassUnicode::empty();
            all.negate();
            (all, false)
        }
        HirKind::Repetition(r) => {
            let (set, nullable) = edge(&r.sub, first);
            (set, nullable || r.min == 0)
        }
        HirKind::Capture(c) => edge(&c.sub, first),
        HirKind::Concat(items) => {
            let mut set = ClassUnicode::empty();
            let ordered: Vec<&Hir> = match first {
                true => items.iter().collect(),
                false => items.iter().rev().collect(),
            };
            for h in ordered {
                let (s, nullable) = edge(h, first);
                set.union(&s);
                if !nullable {
                    return (set, false);
                }
            }
            (set, true)
        }
        HirKind::Alternation(alts) => {
            let mut set = ClassUnicode::empty();
            let mut nullable = false;
            for h in alts {
                let (s, n) = edge(h, first);
                set.union(&s);
                nullable |= n;
            }
            (set, nullable)
        }
    }
}

/// The pattern's top-level items, each with its edge meaning if it has
/// one. A top-level `|` makes the whole pattern one item (its edges are
/// not shared by all matches).
fn split(p: &str) -> Result<Vec<Item>, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut items: Vec<Item> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let end = item_end(&chars, i)?;
        let src: String = chars[i..end].iter().collect();
        if src == "|" {
            return Ok(vec![Item {
                src: p.to_string(),
                context: None,
            }]);
        }
        // A quantifier belongs to the item before it.
        if matches!(chars[i], '*' | '+' | '?' | '{') {
            if let Some(prev) = items.last_mut() {
                prev.src.push_str(&src);
                prev.context = None;
                i = end;
                continue;
            }
        }
        let context = element(&src);
        items.push(Item { src, context });
        i = end;
    }
    Ok(items)
}

/// The end of the item starting at `chars[i]`.
fn item_end(chars: &[char], i: usize) -> Result<usize, String> {
    let c = chars[i];
    Ok(match c {
        '\\' => {
            let next = *chars
                .get(i + 1)
                .ok_or("the pattern ends with a lone `\\`")?;
            match (next, chars.get(i + 2)) {
                ('x' | 'p' | 'P', Some('{')) => {
                    (i + 3..chars.len())
                        .find(|&j| chars[j] == '}')
                        .ok_or("unterminated `{`")?
                        + 1
                }
                ('x', _) => i + 4,
                ('p' | 'P', _) => i + 3,
                _ => i + 2,
            }
        }
        '[' => {
            let mut j = i + 1;
            if chars.get(j) == Some(&'^') {
                j += 1;
            }
            if chars.get(j) == Some(&']') {
                j += 1;
            }
            while j < chars.len() && chars[j] != ']' {
                if chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            if j >= chars.len() {
                return Err("unterminated `[` class".into());
            }
            j + 1
        }
        '(' => {
            let mut depth = 0;
            let mut j = i;
            while j < chars.len() {
                match chars[j] {
                    '\\' => j += 1,
                    '[' => j = item_end(chars, j)? - 1,
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            if j >= chars.len() {
                return Err("unbalanced `(`".into());
            }
            j + 1
        }
        '{' => (i + 1..chars.len())
            .find(|&j| chars[j] == '}')
            .map_or(i + 1, |j| j + 1),
        _ => i + 1,
    })
    .map(|end| {
        // A lazy `?` after a quantifier goes with it.
        match (c, chars.get(end)) {
            ('*' | '+' | '?' | '{', Some('?')) => end + 1,
            _ => end,
        }
    })
}

/// The edge meaning of an item: an assertion, a one-character lookaround,
/// or a group whose alternatives are each assertions or one character.
fn element(src: &str) -> Option<Element> {
    let one = |conds: Vec<Cond>| {
        Some(Element {
            alternatives: vec![conds],
        })
    };
    match src {
        r"\b" => return one(vec![Cond::Boundary(true)]),
        r"\B" => return one(vec![Cond::Boundary(false)]),
        "^" | r"\A" => return one(vec![Cond::Edge(true)]),
        "$" | r"\z" => return one(vec![Cond::Edge(false)]),
        _ => {}
    }
    let inner = src.strip_prefix('(')?.strip_suffix(')')?;
    for (open, ahead, negated) in [
        ("?=", true, false),
        ("?!", true, true),
        ("?<=", false, false),
        ("?<!", false, true),
    ] {
        if let Some(class) = inner.strip_prefix(open) {
            return one(vec![Cond::Look {
                ahead,
                negated,
                class: class.to_string(),
            }]);
        }
    }
    let inner = match inner.strip_prefix("?:") {
        Some(rest) => rest,
        None if inner.starts_with('?') => match inner.find('>') {
            // A named group.
            Some(gt) if inner.starts_with("?<") || inner.starts_with("?P<") => &inner[gt + 1..],
            _ => return None,
        },
        None => inner,
    };
    let mut alternatives = Vec::new();
    let mut has_assertion = false;
    for alt in split_alternatives(inner)? {
        let items = split(&alt).ok()?;
        let mut conds = Vec::new();
        for item in &items {
            match &item.context {
                Some(e) if e.alternatives.len() == 1 => {
                    has_assertion = true;
                    conds.extend(e.alternatives[0].iter().cloned());
                }
                Some(_) => return None,
                None if items.len() == 1 && single_char(&item.src) => {
                    conds.push(Cond::Char(item.src.clone()))
                }
                None => return None,
            }
        }
        alternatives.push(conds);
    }
    has_assertion.then_some(Element { alternatives })
}

/// Whether an item matches exactly one character (an escape, a class, a
/// literal; `.` is left out: its newline rule differs by engine).
fn single_char(src: &str) -> bool {
    let mut chars = src.chars();
    match chars.next() {
        Some('[') => true,
        Some('\\') => !matches!(chars.next(), Some('b' | 'B' | 'A' | 'z' | 'Z' | 'G' | 'K')),
        Some(c) => !"()|*+?{}^$.".contains(c) && chars.next().is_none(),
        None => false,
    }
}

/// The top-level alternatives of a group's inside.
fn split_alternatives(inner: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = inner.chars().collect();
    let mut out = vec![String::new()];
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '|' {
            out.push(String::new());
            i += 1;
            continue;
        }
        let end = item_end(&chars, i).ok()?;
        out.last_mut()?.extend(&chars[i..end]);
        i = end;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duck(p: &str) -> String {
        translate_filter(p, Dialect::DuckDb).unwrap_or_else(|e| format!("refused: {e}"))
    }

    /// The translation matches (RE2 is not here: Rust's regex reads the
    /// same syntax) exactly where evidx's regex does.
    fn agrees(p: &str, texts: &[&str]) {
        let translated =
            translate_filter(p, Dialect::DuckDb).unwrap_or_else(|e| panic!("{p}: {e}"));
        let ours = regex::Regex::new(&translated).unwrap_or_else(|e| panic!("{p}: {e}"));
        let evidx = fancy_regex::Regex::new(p).unwrap();
        for t in texts {
            assert_eq!(
                ours.is_match(t),
                evidx.is_match(t).unwrap(),
                "{p:?} on {t:?}: {}",
                duck(p)
            );
        }
    }

    #[test]
    fn edge_assertions_become_context() {
        let texts = [
            "run cmd now",
            "cmd",
            "xcmd",
            "cmdx",
            "é cmd.exe",
            "écmd",
            "cmdé",
            "(cmd)",
            "a.b:c.txt",
            "file.txt:stream.exe ",
            "file.txt:stream.exe.",
            "file.txt:stream.exe&",
            "file.txt:stream.exe",
            "xfile.txt:ads.bat.x",
            "ö:ä.exe",
        ];
        for p in [
            r"\bcmd\b",
            r"(?i)\bCMD\b",
            r"(\b)\w+(\.\w+)?:\w+(\.\w{2,4})(?!\.)(\b|\s|&)",
            r"(\s|^)cmd(\s|$)",
            r"(?<![a-z])cmd(?=\.)",
            r"\Bmd\B",
            r"(?:\b|\()cmd",
            r#"(?<![\\])\b\w+\.exe(?=\s|"|$)"#,
            r"(?i)\bcmd(?!\.|x)",
            r"$cmd",
            r"cmd^",
            r"(?<=^|\s)cmd(?=$)",
            r"(\s|^)\bcmd\b(?!\.)(\s|$)",
        ] {
            agrees(p, &texts);
        }
    }

    #[test]
    fn what_has_no_form_is_refused() {
        assert!(duck(r"a\bb").starts_with("refused"));
        assert!(duck(r"\b.?x").starts_with("refused"));
        assert!(duck(r"(?=x)x").starts_with("refused"));
        assert!(duck(r"\b").starts_with("refused"));
        // `\b` between the consumed space and the word: not the same
        // character as the one before `cmd`.
        assert!(duck(r"\b(\s|^)cmd").starts_with("refused"));
        assert!(duck(r"cmd(\s|$)\b").starts_with("refused"));
        // Spark keeps them.
        assert!(translate_filter(r"a\bb", Dialect::Spark).is_ok());
    }
}
