//! Trigram index of the long free-text fields, so that a `*text*` glob is
//! answered from the documents that can match instead of from every
//! distinct value of the field.
//!
//! A glob's literal pieces occur in every value it matches, and so do all
//! their character trigrams: the documents holding every trigram of a piece
//! are a superset of the matches (the *candidates*), which the query engine
//! then verifies against the value. For each field of [`GRAM_FIELDS`] the
//! indexer adds the case-folded ([`fold_case`]) full value (not its cut
//! term) to `_ng_F`, whose tokenizer ([`GramTokenizer`], registered as
//! [`GRAM_TOKENIZER`]) makes its distinct trigrams (doc ids only).
//!
//! Why trigrams: bigrams are too common to narrow anything (`e.`, `ex`),
//! and 4-grams multiply the dictionary and miss 3-character pieces
//! (`*.ps1`, `-ep`). With three characters the dictionary stays small
//! (tens of thousands of distinct grams), while the intersection of a few
//! rare ones usually leaves a handful of candidates.
//!
//! Limits: a piece under 3 characters gives no trigram, so a glob without
//! a piece of at least 3 characters is answered by a scan of the term
//! dictionary instead. Trigrams ignore order and position: `*abcd*`
//! selects the documents holding `abc` and `bcd`, which also contain
//! `bcdxabc`; the candidates are always verified. A gram is of the folded
//! value, so matching is exactly as case-insensitive as the globs.
//! Common grams (`exe`, `c:\`) select most documents; the query engine
//! intersects the rarest ones first.

#[allow(unused_imports)] // named by the module documentation
use crate::terms::fold_case;
use crate::Cim;

/// The fields that get a trigram field `_ng_F`: the command lines, the
/// free text that hunts search with `*text*` and whose distinct values grow
/// with the archive (every run of a script, every encoded payload). Paths,
/// directories and hashes repeat across hosts and days, so a scan of their
/// distinct values stays cheap; grams for them cost more index than they
/// save (measured: +59% index size and 2.5x indexing CPU with six fields).
pub const GRAM_FIELDS: [Cim; 2] = [Cim::Process, Cim::ParentProcess];

/// The name under which [`GramTokenizer`] is registered on an index.
pub const GRAM_TOKENIZER: &str = "evidx_trigrams";

/// Register evidx's tokenizers on `index`. Custom tokenizers are not stored
/// in an index: every writer and reader registers them again.
pub fn register_tokenizers(index: &tantivy::Index) {
    index
        .tokenizers()
        .register(GRAM_TOKENIZER, GramTokenizer::default());
}

/// A tantivy tokenizer that makes the trigrams of an already case-folded
/// text (those of [`grams`], in text order, repeats included), in one pass
/// and without an allocation per gram.
#[derive(Clone, Default)]
pub struct GramTokenizer {
    token: tantivy::tokenizer::Token,
    /// Byte ranges of the grams of the current text.
    spans: Vec<(usize, usize)>,
}

/// The grams of one text, as a token stream.
pub struct GramStream<'a> {
    text: &'a str,
    spans: std::slice::Iter<'a, (usize, usize)>,
    token: &'a mut tantivy::tokenizer::Token,
}

impl tantivy::tokenizer::Tokenizer for GramTokenizer {
    type TokenStream<'a> = GramStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> GramStream<'a> {
        self.spans.clear();
        self.spans.extend(gram_spans(text));
        // Repeats are left in: postings record a document once, and sorting
        // the grams to drop them cost more than indexing them twice.
        self.token.reset();
        GramStream {
            text,
            spans: self.spans.iter(),
            token: &mut self.token,
        }
    }
}

impl tantivy::tokenizer::TokenStream for GramStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(&(from, to)) = self.spans.next() else {
            return false;
        };
        self.token.text.clear();
        self.token.text.push_str(&self.text[from..to]);
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = self.token.position.wrapping_add(1);
        true
    }

    fn token(&self) -> &tantivy::tokenizer::Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
        self.token
    }
}

/// Name of the trigram field of CIM field `field`.
pub fn gram_field_name(field: &str) -> String {
    format!("_ng_{field}")
}

/// The byte ranges of the character trigrams (three Unicode scalar values,
/// sliding by one) of `text`, in text order, repeats included.
fn gram_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    // The start of each character and the end: a gram spans 4 of them.
    let mut window = [0usize; 4];
    text.char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .enumerate()
        .filter_map(move |(n, s)| {
            window.rotate_left(1);
            window[3] = s;
            (n >= 3).then_some((window[0], window[3]))
        })
}

/// The distinct character trigrams of `folded`, an already case-folded
/// value, sorted. A value under three characters has none.
pub fn grams(folded: &str) -> Vec<&str> {
    let mut out: Vec<&str> = gram_spans(folded).map(|(a, b)| &folded[a..b]).collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_have_no_grams() {
        assert!(grams("").is_empty());
        assert!(grams("ab").is_empty());
        assert!(grams("éé").is_empty());
        assert_eq!(grams("abc"), ["abc"]);
    }

    #[test]
    fn the_tokenizer_makes_the_same_grams() {
        use tantivy::tokenizer::{TokenStream, Tokenizer};
        let mut t = GramTokenizer::default();
        let texts = [
            "",
            "ab",
            "abc",
            "abcabc",
            "aaaaa",
            "c:\\windows\\système32\\ßtraße",
        ];
        for text in texts {
            let mut stream = t.token_stream(text);
            let mut got = Vec::new();
            while stream.advance() {
                got.push(stream.token().text.clone());
            }
            got.sort_unstable();
            got.dedup();
            assert_eq!(got, grams(text), "{text}");
        }
    }

    #[test]
    fn grams_slide_by_one_character_and_are_distinct() {
        assert_eq!(grams("abcd"), ["abc", "bcd"]);
        assert_eq!(grams("aaaaa"), ["aaa"]);
        assert_eq!(grams("abcabc"), ["abc", "bca", "cab"]);
    }

    #[test]
    fn grams_are_characters_not_bytes() {
        let folded = fold_case("ÄRGER€");
        assert_eq!(folded, "ärger€");
        assert_eq!(grams(&folded), ["er€", "ger", "rge", "ärg"]);
        assert!(grams("日本語の").contains(&"本語の"));
        assert_eq!(grams("日本語の").len(), 2);
    }

    #[test]
    fn every_gram_field_has_a_name() {
        assert_eq!(gram_field_name(Cim::Process.name()), "_ng_process");
        let mut names: Vec<_> = GRAM_FIELDS.iter().map(|f| f.name()).collect();
        names.dedup();
        assert_eq!(names.len(), GRAM_FIELDS.len());
    }
}
