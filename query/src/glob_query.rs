//! [`GlobQuery`]: a tantivy query for case-insensitive globs over one CIM
//! field, answered from the field's trigrams when it has them, else from
//! its term dictionary.

use std::sync::Arc;

use evidx_schema::grams::grams;
use evidx_schema::layout::stored_full_value;
use evidx_schema::terms::{fold_case, is_cut, truncate_term, MAX_TERM_BYTES};
use evidx_schema::{Cim, EvidxSchema};
use tantivy::postings::TermInfo;
use tantivy::query::{
    BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::store::StoreReader;
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyDocument, Term};

use crate::glob::Glob;

/// Grams intersected per glob, rarest first: past a few, a gram rarely
/// removes a candidate and costs a postings walk.
const MAX_INTERSECTED: usize = 8;

/// Grams of a glob whose document frequency is looked up (spread over its
/// pieces): bounds the dictionary lookups of a very long literal.
const MAX_LOOKED_UP: usize = 64;

/// Case-insensitive globs over one CIM field (a document matches if any
/// glob does).
///
/// When the field has a trigram field (`evidx_schema::grams`) and every
/// glob has a literal piece of at least 3 characters, each glob's
/// candidates are the documents holding its rarest trigrams (postings
/// intersected), unioned over the globs; each candidate is then verified
/// against its value, read by ordinal from the fast column (distinct
/// ordinals decoded in one sorted pass), or against the full stored value
/// when the fast column holds a cut form. The cost follows the candidates.
///
/// Otherwise: one scan of the segment's term dictionary of the case-folded
/// field (a range when there is one glob with a literal prefix), unioning
/// the postings of matching terms; documents whose value was too long to
/// index whole (listed under `_long`) are checked against the full value.
#[derive(Clone, Debug)]
pub struct GlobQuery {
    search: Field,
    schema: Arc<EvidxSchema>,
    long: Field,
    field_name: &'static str,
    globs: Arc<[Glob]>,
    /// The trigram field and, per glob, the distinct trigrams of its
    /// pieces; `None` when the dictionary scan answers.
    grams: Option<(Field, Arc<[Vec<String>]>)>,
}

impl GlobQuery {
    pub fn new(schema: Arc<EvidxSchema>, field: Cim, globs: Vec<Glob>) -> Self {
        let (_, search) = schema.cim[field.index()];
        let per_glob: Vec<Vec<String>> = globs.iter().map(glob_grams).collect();
        let grams = schema
            .gram_field(field)
            .filter(|_| per_glob.iter().all(|g| !g.is_empty()))
            .map(|f| (f, per_glob.into()));
        GlobQuery {
            search,
            long: schema.long,
            schema,
            field_name: field.name(),
            globs: globs.into(),
            grams,
        }
    }

    /// The same query answered by the term-dictionary scan (to compare the
    /// two paths in tests).
    #[doc(hidden)]
    pub fn without_grams(mut self) -> Self {
        self.grams = None;
        self
    }

    /// Whether the trigram path answers this query.
    #[doc(hidden)]
    pub fn uses_grams(&self) -> bool {
        self.grams.is_some()
    }
}

/// The distinct trigrams of a glob's literal pieces (sorted).
fn glob_grams(glob: &Glob) -> Vec<String> {
    let mut out: Vec<String> = glob
        .pieces()
        .iter()
        .flat_map(|p| grams(p))
        .map(str::to_string)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl Query for GlobQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for GlobQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = match &self.grams {
            Some((field, per_glob)) => {
                let candidates = self.gram_candidates(reader, *field, per_glob)?;
                self.verify_candidates(reader, &candidates)?
            }
            None => self.dictionary_scan(reader)?,
        };
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(docs), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("GlobQuery", 1.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(
                "document does not match".into(),
            ))
        }
    }
}

impl GlobQuery {
    /// Whether any glob matches a case-folded value.
    fn matches(&self, folded: &str) -> bool {
        self.globs.iter().any(|g| g.matches(folded))
    }

    /// Whether any glob matches the full stored value of document `d`.
    fn full_value_matches(&self, store: &StoreReader, d: DocId) -> tantivy::Result<bool> {
        let doc: TantivyDocument = store.get(d)?;
        Ok(stored_full_value(&doc, &self.schema, self.field_name)
            .is_some_and(|v| self.matches(&fold_case(v))))
    }

    /// The documents of the segment holding, for some glob, its rarest
    /// trigrams (sorted, distinct): a superset of the matches.
    fn gram_candidates(
        &self,
        reader: &SegmentReader,
        field: Field,
        per_glob: &[Vec<String>],
    ) -> tantivy::Result<Vec<DocId>> {
        let inverted = reader.inverted_index(field)?;
        let dict = inverted.terms();
        let mut all = Vec::new();
        'globs: for grams in per_glob {
            let stride = grams.len().div_ceil(MAX_LOOKED_UP);
            let mut infos: Vec<TermInfo> = Vec::new();
            for g in grams.iter().step_by(stride) {
                match dict.get(g.as_bytes())? {
                    Some(info) => infos.push(info),
                    // A gram no value has: this glob matches nothing here.
                    None => continue 'globs,
                }
            }
            infos.sort_by_key(|i| i.doc_freq);
            let Some((rarest, rest)) = infos.split_first() else {
                continue;
            };
            let mut candidates = Vec::with_capacity(rarest.doc_freq as usize);
            let mut block =
                inverted.read_block_postings_from_terminfo(rarest, IndexRecordOption::Basic)?;
            while !block.docs().is_empty() {
                candidates.extend_from_slice(block.docs());
                block.advance();
            }
            for info in rest.iter().take(MAX_INTERSECTED - 1) {
                if candidates.is_empty() {
                    break;
                }
                let mut postings =
                    inverted.read_postings_from_terminfo(info, IndexRecordOption::Basic)?;
                candidates.retain(|&d| {
                    if postings.doc() < d {
                        postings.seek(d);
                    }
                    postings.doc() == d
                });
            }
            all.extend(candidates);
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// The candidates whose value matches: each one's ordinal in the
    /// field's fast column, the distinct ordinals decoded in one sorted
    /// pass and matched once; a cut (over 60 kB) value is matched in full
    /// from the doc store.
    fn verify_candidates(
        &self,
        reader: &SegmentReader,
        candidates: &[DocId],
    ) -> tantivy::Result<tantivy::BitSet> {
        let mut docs = tantivy::BitSet::with_max_value(reader.max_doc());
        if candidates.is_empty() {
            return Ok(docs);
        }
        let Some(column) = reader.fast_fields().str(self.field_name)? else {
            return Ok(docs);
        };
        let with_ord: Vec<(DocId, u64)> = candidates
            .iter()
            .filter_map(|&d| column.ords().first(d).map(|o| (d, o)))
            .collect();
        let mut ords: Vec<u64> = with_ord.iter().map(|&(_, o)| o).collect();
        ords.sort_unstable();
        ords.dedup();
        #[derive(Clone, Copy, PartialEq)]
        enum Verdict {
            Matches,
            Fails,
            Cut,
        }
        let mut verdicts = Vec::with_capacity(ords.len());
        column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
            verdicts.push(match std::str::from_utf8(bytes) {
                Ok(v) if is_cut(v) => Verdict::Cut,
                Ok(v) if self.matches(&fold_case(v)) => Verdict::Matches,
                _ => Verdict::Fails,
            })
        })?;
        if verdicts.len() != ords.len() {
            return Err(tantivy::TantivyError::InternalError(format!(
                "fast column `{}`: {} of {} ordinals decoded",
                self.field_name,
                verdicts.len(),
                ords.len()
            )));
        }
        let mut store = None;
        for (d, ord) in with_ord {
            let verdict = ords
                .binary_search(&ord)
                .map_or(Verdict::Fails, |i| verdicts[i]);
            let matched = match verdict {
                Verdict::Matches => true,
                Verdict::Fails => false,
                Verdict::Cut => {
                    let store = match &mut store {
                        Some(s) => s,
                        None => store.insert(reader.get_store_reader(1)?),
                    };
                    self.full_value_matches(store, d)?
                }
            };
            if matched {
                docs.insert(d);
            }
        }
        Ok(docs)
    }

    /// The matches from a scan of the term dictionary of the case-folded
    /// field, then the long values verified in full.
    fn dictionary_scan(&self, reader: &SegmentReader) -> tantivy::Result<tantivy::BitSet> {
        let mut docs = tantivy::BitSet::with_max_value(reader.max_doc());
        let inverted = reader.inverted_index(self.search)?;
        let dict = inverted.terms();
        let prefix = match &self.globs[..] {
            [one] => truncate_term(one.prefix(), MAX_TERM_BYTES),
            _ => "",
        };
        let mut stream = if prefix.is_empty() {
            dict.stream()?
        } else {
            let mut builder = dict.range().ge(prefix.as_bytes());
            if let Some(end) = prefix_successor(prefix.as_bytes()) {
                builder = builder.lt(end);
            }
            builder.into_stream()?
        };
        while stream.advance() {
            let Ok(term) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            if self.matches(term) {
                let mut postings = inverted
                    .read_block_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)?;
                while !postings.docs().is_empty() {
                    for &d in postings.docs() {
                        docs.insert(d);
                    }
                    postings.advance();
                }
            }
        }
        self.verify_long_values(reader, &mut docs)?;
        Ok(docs)
    }

    fn verify_long_values(
        &self,
        reader: &SegmentReader,
        docs: &mut tantivy::BitSet,
    ) -> tantivy::Result<()> {
        let inverted = reader.inverted_index(self.long)?;
        let term = Term::from_field_text(self.long, self.field_name);
        let Some(info) = inverted.get_term_info(&term)? else {
            return Ok(());
        };
        let store = reader.get_store_reader(1)?;
        let mut postings =
            inverted.read_block_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
        while !postings.docs().is_empty() {
            for &d in postings.docs() {
                if self.full_value_matches(&store, d)? {
                    docs.insert(d);
                } else {
                    docs.remove(d);
                }
            }
            postings.advance();
        }
        Ok(())
    }
}

/// The smallest byte string greater than every string starting with `p`.
fn prefix_successor(p: &[u8]) -> Option<Vec<u8>> {
    let mut v = p.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xFF {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}
