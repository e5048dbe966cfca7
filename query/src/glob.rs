//! Splunk value globs: `*` matches any run of characters (anywhere in the
//! pattern), nothing else is special, and matching is case-insensitive.
//! Both sides are lower-cased with Unicode `to_lowercase`; the caller
//! lower-cases the text once so a glob can be run over millions of terms.

use memchr::memmem::Finder;

use crate::literals::LiteralIndex;

/// A literal `*` in a pattern: the search language's `\*`, which the
/// parser writes as this noncharacter so that `*` stays the wildcard.
pub const LITERAL_STAR: char = '\u{FDD0}';

#[derive(Debug, Clone)]
pub struct Glob {
    /// The lower-cased pattern.
    pattern: String,
    /// The pattern split on `*` (empty first/last piece = unanchored side).
    pieces: Vec<String>,
    has_star: bool,
    /// Finders for the inner pieces (all but first and last), non-empty only.
    inner: Vec<Finder<'static>>,
}

impl PartialEq for Glob {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for Glob {}

impl Glob {
    /// Compile `pattern`; it is lower-cased here. [`LITERAL_STAR`] stands
    /// for a `*` that is not a wildcard.
    pub fn new(pattern: &str) -> Self {
        let lowered = pattern.to_lowercase();
        let literal = |p: &str| p.replace(LITERAL_STAR, "*");
        let pieces: Vec<String> = lowered.split('*').map(literal).collect();
        let pattern = literal(&lowered);
        let has_star = pieces.len() > 1;
        let inner = if pieces.len() > 2 {
            pieces[1..pieces.len() - 1]
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| Finder::new(p.as_bytes()).into_owned())
                .collect()
        } else {
            Vec::new()
        };
        Glob {
            pattern,
            pieces,
            has_star,
            inner,
        }
    }

    /// The lower-cased pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The literal value when the pattern has no `*`.
    pub fn is_exact(&self) -> Option<&str> {
        (!self.has_star).then_some(self.pattern.as_str())
    }

    /// The literal text before the first `*` (the whole pattern if none).
    pub fn prefix(&self) -> &str {
        self.pieces.first().map_or("", String::as_str)
    }

    /// The literal text after the last `*` (empty when there is no `*`).
    pub fn suffix(&self) -> &str {
        if self.has_star {
            self.pieces.last().map_or("", String::as_str)
        } else {
            ""
        }
    }

    /// The pattern split on `*`: `*a*b` gives `["", "a", "b"]`. An empty
    /// first piece means the start is unanchored, an empty last piece the end.
    pub fn pieces(&self) -> &[String] {
        &self.pieces
    }

    /// True when the pattern is only `*`s (matches every value).
    pub fn matches_all(&self) -> bool {
        self.has_star && self.pieces.iter().all(String::is_empty)
    }

    /// Match against text that the caller has already lower-cased.
    pub fn matches(&self, lowered_text: &str) -> bool {
        if !self.has_star {
            return lowered_text == self.pattern;
        }
        let text = lowered_text.as_bytes();
        let prefix = self.prefix().as_bytes();
        let suffix = self.suffix().as_bytes();
        if text.len() < prefix.len() + suffix.len()
            || !text.starts_with(prefix)
            || !text.ends_with(suffix)
        {
            return false;
        }
        // Leftmost matching of each inner piece is optimal for globs.
        let mut hay = &text[prefix.len()..text.len() - suffix.len()];
        for f in &self.inner {
            match f.find(hay) {
                Some(i) => hay = &hay[i + f.needle().len()..],
                None => return false,
            }
        }
        true
    }

    /// Lower-case `text` and match it (convenience for one-off checks).
    pub fn matches_unlowered(&self, text: &str) -> bool {
        self.matches(&text.to_lowercase())
    }
}

/// Several globs matched as one, for the long `IN (...)` lists of Sigma
/// rules (hundreds of emoji, of parameter spellings): the globs worth
/// checking are found in one pass over the text ([`LiteralIndex`]). A text
/// matched glob by glob against three hundred globs cost three hundred
/// searches.
#[derive(Debug, Clone)]
pub struct GlobSet {
    globs: Vec<Glob>,
    /// None with few globs: they are tried one by one.
    index: Option<LiteralIndex>,
}

/// From this many globs on, a [`GlobSet`] finds candidates with one pass.
const SET_MIN_GLOBS: usize = 4;

impl GlobSet {
    pub fn new(globs: Vec<Glob>) -> Self {
        // The globs and the text are lower-cased already: bytes compare.
        let index = (globs.len() >= SET_MIN_GLOBS).then(|| {
            let pieces = globs
                .iter()
                .map(|g| g.pieces.iter().map(String::as_str).collect::<Vec<_>>());
            LiteralIndex::new(pieces, false)
        });
        GlobSet { globs, index }
    }

    /// Whether any glob matches text that the caller has already
    /// lower-cased.
    pub fn matches(&self, lowered_text: &str) -> bool {
        match &self.index {
            None => self.globs.iter().any(|g| g.matches(lowered_text)),
            Some(index) => index.visit(lowered_text, |g, surely| {
                surely || self.globs[g].matches(lowered_text)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).matches_unlowered(t)
    }

    /// A [`GlobSet`] matches what trying its globs one by one matches.
    #[test]
    fn glob_set_matches_as_its_globs() {
        let patterns = [
            "*emoji🤷🏼*",
            "*🤷🏼*",
            "*",
            "",
            "cmd.exe",
            "*.exe",
            "c:\\windows\\*",
            "*a*b*",
            "*-enc *",
            "powershell*-w*hidden*",
            "*\u{FDD0}*",
        ];
        let texts = [
            "cmd.exe",
            "run cmd.exe /c",
            "emoji🤷🏼 x",
            "🤷🏼",
            "",
            "c:\\windows\\system32\\x.exe",
            "d:\\c:\\windows\\",
            "xaxb",
            "ba",
            "powershell -w 1 hidden",
            "powershell -enc abc",
            "a*b",
        ];
        for n in 1..=patterns.len() {
            for w in patterns.windows(n) {
                let globs: Vec<Glob> = w.iter().map(|p| Glob::new(p)).collect();
                let set = GlobSet::new(globs.clone());
                for t in texts {
                    let want = globs.iter().any(|g| g.matches(t));
                    assert_eq!(set.matches(t), want, "{w:?} {t:?}");
                }
            }
        }
    }

    #[test]
    fn exact() {
        let g = Glob::new("PowerShell.EXE");
        assert_eq!(g.is_exact(), Some("powershell.exe"));
        assert!(g.matches("powershell.exe"));
        assert!(!g.matches("powershell.exe2"));
        assert!(m("PowerShell.EXE", "POWERSHELL.exe"));
    }

    #[test]
    fn prefix_suffix_contains_inner() {
        assert!(m("reg*", "reg.exe"));
        assert!(!m("reg*", "xreg.exe"));
        assert_eq!(Glob::new("Reg*").prefix(), "reg");
        assert!(m("*users", "net user USERS"));
        assert!(!m("*users", "users x"));
        assert_eq!(Glob::new("*X").suffix(), "x");
        assert!(m("*-addstore*", "certutil -ADDSTORE root"));
        assert!(!m("*-addstore*", "certutil"));
        assert!(m("net*.exe", "net1.exe"));
        assert!(m("net*.exe", "net.exe"));
        assert!(!m("net*.exe", "net.ex"));
        // Prefix and suffix must not overlap.
        assert!(!m("ab*ba", "aba"));
        assert!(m(
            "*c:\\windows\\system32\\conhost.exe* 0xffffffff *-forcev1*",
            "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1"
        ));
        assert!(m("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!m("*a*b*c*", "xxcxxbxxaxx"));
        assert_eq!(Glob::new("*a*b").pieces(), &["", "a", "b"]);
    }

    #[test]
    fn unicode_case_folding() {
        assert!(m("*ÄRGER*", "das ärger"));
        assert!(m("straße", "STRAßE"));
        assert!(m("*–decode *", "certutil –DECODE x"));
    }

    #[test]
    fn edge_patterns() {
        let empty = Glob::new("");
        assert_eq!(empty.is_exact(), Some(""));
        assert!(empty.matches(""));
        assert!(!empty.matches("a"));
        for p in ["*", "**", "***"] {
            let g = Glob::new(p);
            assert!(g.matches_all());
            assert!(g.matches(""));
            assert!(g.matches("anything"));
            assert_eq!(g.prefix(), "");
        }
        assert!(m("a**b", "ab"));
        assert!(m("a**b", "axxb"));
        assert!(!Glob::new("a*").matches_all());
    }

    #[test]
    fn literal_star() {
        let star = LITERAL_STAR.to_string();
        let g = Glob::new(&format!("*a{star}b*"));
        assert!(g.matches("xa*by"));
        assert!(!g.matches("xaqby"));
        assert_eq!(g.pieces(), &["", "a*b", ""]);
        let exact = Glob::new(&star);
        assert_eq!(exact.is_exact(), Some("*"));
        assert!(exact.matches("*") && !exact.matches("x") && !exact.matches_all());
    }
}
