//! Which of many `*` patterns a text may match, in one pass over the text.
//!
//! Every literal piece of a pattern (the text between its `*`s) occurs in
//! any text it matches, so its longest piece is a required literal: one
//! Aho-Corasick pass over the text finds the patterns worth checking. A
//! pattern that is `*piece*` matches wherever its piece occurs, so it needs
//! no check. Used by the glob lists of a search (`GlobSet` in `glob.rs`:
//! Sigma's `IN` lists of hundreds of emoji) and by WILDCARD lookups
//! (`lookups.rs`: ESCU's lists of protocol handlers, dynamic DNS domains).

use aho_corasick::{AhoCorasick, AhoCorasickKind};

/// Up to this many distinct literals the automaton is a DFA: the fastest
/// to search, and small for the few hundred most lists have.
const DFA_LITERALS: usize = 2_000;

#[derive(Debug, Clone)]
pub struct LiteralIndex {
    /// The distinct required literals; None when there are none or they
    /// could not be compiled (every pattern is then in `always`).
    literals: Option<AhoCorasick>,
    /// Per literal: the patterns it is required by, in order, each with
    /// whether it is `*literal*`.
    patterns_of: Vec<Vec<(usize, bool)>>,
    /// Patterns any text may match: no literal (`*`, the empty pattern),
    /// or, ignoring case, a literal that is not ASCII (Unicode case folding
    /// is left to the pattern's own check).
    always: Vec<usize>,
    ascii_case_insensitive: bool,
}

impl LiteralIndex {
    /// `patterns`: each one's pieces (split on `*`). With
    /// `ascii_case_insensitive`, literals match ignoring ASCII case.
    pub fn new<'p, P>(patterns: impl Iterator<Item = P>, ascii_case_insensitive: bool) -> Self
    where
        P: AsRef<[&'p str]>,
    {
        let mut ids: std::collections::HashMap<String, usize> = Default::default();
        let mut literals: Vec<String> = Vec::new();
        let mut patterns_of: Vec<Vec<(usize, bool)>> = Vec::new();
        let mut always = Vec::new();
        for (p, pieces) in patterns.enumerate() {
            let pieces = pieces.as_ref();
            let longest = pieces.iter().copied().max_by_key(|s| s.len()).unwrap_or("");
            if longest.is_empty() || (ascii_case_insensitive && !longest.is_ascii()) {
                always.push(p);
                continue;
            }
            let key = match ascii_case_insensitive {
                true => longest.to_ascii_lowercase(),
                false => longest.to_string(),
            };
            let id = *ids.entry(key.clone()).or_insert_with(|| {
                literals.push(key);
                patterns_of.push(Vec::new());
                literals.len() - 1
            });
            let contains = matches!(pieces, ["", _, ""]);
            patterns_of[id].push((p, contains));
        }
        let built = (!literals.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(ascii_case_insensitive)
                    .kind((literals.len() <= DFA_LITERALS).then_some(AhoCorasickKind::DFA))
                    .build(&literals)
                    .ok()
            })
            .flatten();
        if built.is_none() {
            always.extend(patterns_of.drain(..).flatten().map(|(p, _)| p));
            always.sort_unstable();
        }
        LiteralIndex {
            literals: built,
            patterns_of,
            always,
            ascii_case_insensitive,
        }
    }

    /// Calls `visit(pattern, surely)` for every pattern `text` may match
    /// (`surely`: it does), the `always` ones first, each literal's once,
    /// until `visit` returns true; returns whether it did.
    ///
    /// Ignoring case, the only characters that Unicode simple case folding
    /// (a regex's `(?i)`) equates with an ASCII letter are `ſ` (s) and the
    /// Kelvin sign (k): the text is read with those letters in their place.
    pub fn visit(&self, text: &str, mut visit: impl FnMut(usize, bool) -> bool) -> bool {
        if self.always.iter().any(|&p| visit(p, false)) {
            return true;
        }
        let Some(literals) = &self.literals else {
            return false;
        };
        let folded;
        let text = match self.ascii_case_insensitive && text.contains(['\u{17f}', '\u{212a}']) {
            true => {
                folded = text.replace('\u{17f}', "s").replace('\u{212a}', "k");
                folded.as_str()
            }
            false => text,
        };
        let mut seen: Vec<usize> = Vec::new();
        for m in literals.find_overlapping_iter(text) {
            let id = m.pattern().as_usize();
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            if self.patterns_of[id].iter().any(|&(p, sure)| visit(p, sure)) {
                return true;
            }
        }
        false
    }
}
