//! Trigram index of the long free-text fields, so that a `*text*` glob is
//! answered from the documents that can match instead of from every
//! distinct value of the field.
//!
//! A glob's literal pieces occur in every value it matches, and so do all
//! their character trigrams: the documents holding every trigram of a piece
//! are a superset of the matches (the *candidates*), which the query engine
//! then verifies against the value. For each field of [`GRAM_FIELDS`] the
//! indexer adds the distinct trigrams of the case-folded ([`fold_case`])
//! full value (not its cut term) as raw terms of `_ng_F` (doc ids only).
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

/// The fields that get a trigram field `_ng_F`: the long, high-cardinality
/// text fields that hunts search with `*text*`.
pub const GRAM_FIELDS: [Cim; 6] = [
    Cim::Process,
    Cim::ParentProcess,
    Cim::ProcessPath,
    Cim::ParentProcessPath,
    Cim::ProcessCurrentDirectory,
    Cim::ProcessHash,
];

/// Name of the trigram field of CIM field `field`.
pub fn gram_field_name(field: &str) -> String {
    format!("_ng_{field}")
}

/// The distinct character trigrams (three Unicode scalar values, sliding by
/// one) of `folded`, an already case-folded value, sorted. A value under
/// three characters has none.
pub fn grams(folded: &str) -> Vec<&str> {
    let starts: Vec<usize> = folded
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(folded.len()))
        .collect();
    let mut out: Vec<&str> = starts.windows(4).map(|w| &folded[w[0]..w[3]]).collect();
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
