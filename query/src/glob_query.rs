//! [`GlobQuery`]: a tantivy query for case-insensitive globs over one CIM
//! field, answered from the field's trigrams when it has them, else from
//! its term dictionary.

use std::collections::BTreeSet;
use std::sync::Arc;

use evidx_schema::bloom::BloomFilter;
use evidx_schema::grams::grams;
use evidx_schema::layout::stored_full_value;
use evidx_schema::terms::{fold_case, is_cut, truncate_term, MAX_TERM_BYTES};
use evidx_schema::{value_filter, Cim, EvidxSchema};
use tantivy::postings::TermInfo;
use tantivy::query::{
    BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::store::StoreReader;
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyDocument, Term};

use crate::glob::{Glob, GlobSet};
use crate::memory::{Pacer, PACE};
use crate::value_filters::ValueFilters;

/// Grams intersected per glob, rarest first: past a few, a gram rarely
/// removes a candidate and costs a postings walk.
const MAX_INTERSECTED: usize = 8;

/// A term-dictionary lookup costs about as much as reading this many terms
/// in order (an FST search and a block scan against a sequential decode):
/// with more values than the dictionary's terms over this, the documents
/// holding them are found in one ordered pass instead.
const LOOKUP_COST_IN_TERMS: usize = 32;

/// Bytes of matching values the trigram path holds at most; past it the
/// query falls back to scanning each segment's dictionary. A pack runs one
/// search per core: at 16 MiB, two broad globs on an 8 GiB archive held
/// 30 MB between them, twice the rest of the pack's heap, and the scan
/// that replaces them past 4 MiB did not change the pack's time.
const VALUES_BUDGET: usize = 4 << 20;

/// Grams of a glob whose document frequency is looked up in each segment
/// (spread over its grams): a lookup costs tens of microseconds (an FST
/// search and a block of term infos decoded), and past a few grams the
/// candidates hardly shrink. A seed hunt spent a fifth of its time looking
/// up all 18 grams of one literal in every segment.
const MAX_LOOKED_UP: usize = 8;

/// Case-insensitive globs over one CIM field (a document matches if any
/// glob does).
///
/// When the field has a trigram field (`evidx_schema::grams`) and every
/// glob has a literal piece of at least 3 characters, the query runs in two
/// phases. First, over all segments, the *values* that match: each glob's
/// candidates are the documents holding its rarest trigrams (postings
/// intersected), unioned over the globs; the indexer gives a value's grams
/// to one carrier document only (`evidx_index::carriers`), so a candidate
/// stands for its value, which is verified: read by ordinal from the fast
/// column (distinct ordinals decoded in one sorted pass), or in full from
/// the doc store when the fast column holds a cut form. Then, per segment,
/// the documents holding those values: exact lookups of the case-folded
/// term, of the values the segment's value filter
/// (`evidx_schema::value_filter`) says it may hold, with the values too
/// long to index whole verified in full. The cost follows the candidates
/// and the hits, not the distinct values nor, much, the segments.
///
/// Otherwise: one scan of the segment's term dictionary of the case-folded
/// field (a range when there is one glob with a literal prefix), unioning
/// the postings of matching terms; documents whose value was too long to
/// index whole (listed under `_long`) are checked against the full value.
#[derive(Clone, Debug)]
pub struct GlobQuery {
    field: Cim,
    search: Field,
    schema: Arc<EvidxSchema>,
    long: Field,
    field_name: &'static str,
    globs: Arc<[Glob]>,
    /// The globs matched as one (long `IN` lists).
    set: Arc<GlobSet>,
    /// Whether a value must match every glob ([`GlobQuery::all_of`]), not
    /// any.
    all: bool,
    /// The trigram field and, per glob, the distinct trigrams of its
    /// pieces; `None` when the dictionary scan answers.
    grams: Option<(Field, Arc<[Vec<String>]>)>,
    /// See [`LOOKUP_COST_IN_TERMS`].
    lookup_cost: usize,
    /// See [`VALUES_BUDGET`].
    values_budget: usize,
    /// Where the segments' value filters are; without them every segment
    /// is asked for every value.
    value_filters: Option<Arc<ValueFilters>>,
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
            field,
            search,
            long: schema.long,
            schema,
            field_name: field.name(),
            set: Arc::new(GlobSet::new(globs.clone())),
            all: false,
            globs: globs.into(),
            grams,
            lookup_cost: LOOKUP_COST_IN_TERMS,
            values_budget: VALUES_BUDGET,
            value_filters: None,
        }
    }

    /// The documents whose value of `field` matches every one of `globs`
    /// (`process=*-nop* process=*hidden* process=*FromBase64String*`): a
    /// value holds the trigrams of all their pieces, so the rarest of them
    /// all narrow the candidates, which are then checked against every glob.
    pub fn all_of(schema: Arc<EvidxSchema>, field: Cim, globs: Vec<Glob>) -> Self {
        let mut q = GlobQuery::new(schema.clone(), field, globs);
        let mut grams: Vec<String> = q.globs.iter().flat_map(glob_grams).collect();
        grams.sort_unstable();
        grams.dedup();
        q.grams = (schema.gram_field(field))
            .filter(|_| !grams.is_empty())
            .map(|f| (f, vec![grams].into()));
        q.all = true;
        q
    }

    /// The same query, asking only the segments whose value filter (in
    /// `filters`) may hold a value.
    pub fn with_value_filters(mut self, filters: Arc<ValueFilters>) -> Self {
        self.value_filters = Some(filters);
        self
    }

    /// The same query with another bound on the matching values held (0:
    /// the dictionaries are scanned as soon as one value matches), to
    /// compare the ways in tests.
    #[doc(hidden)]
    pub fn with_values_budget(mut self, bytes: usize) -> Self {
        self.values_budget = bytes;
        self
    }

    /// The same query with another cost of a dictionary lookup (0: always
    /// look values up; `usize::MAX`: always read the dictionary in order),
    /// to compare the two ways in tests.
    #[doc(hidden)]
    pub fn with_lookup_cost(mut self, terms: usize) -> Self {
        self.lookup_cost = terms;
        self
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

/// A matching value with the value filter key of its indexed term, made
/// once for all segments.
fn with_filter_key(value: String) -> (String, u128) {
    let key = value_filter::key(truncate_term(&value, MAX_TERM_BYTES).as_bytes());
    (value, key)
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
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let (Some((field, per_glob)), Some(searcher)) = (&self.grams, scoring.searcher()) else {
            return Ok(Box::new(GlobWeight {
                query: self.clone(),
                values: None,
            }));
        };
        let mut values = BTreeSet::new();
        let mut bytes = 0;
        for reader in searcher.segment_readers() {
            let candidates = self.gram_candidates(reader, *field, per_glob)?;
            bytes += self.matching_values(reader, &candidates, &mut values)?;
            crate::memory::release_if_over();
            if bytes > self.values_budget {
                // So many matching values that holding them would make
                // memory follow the archive: each segment's dictionary
                // is scanned instead (bounded memory, slower).
                return Ok(Box::new(GlobWeight {
                    query: self.clone(),
                    values: None,
                }));
            }
        }
        Ok(Box::new(GlobWeight {
            query: self.clone(),
            values: Some(values.into_iter().map(with_filter_key).collect()),
        }))
    }
}

/// A [`GlobQuery`] ready to run: with the matching values when the
/// trigrams found them, else by dictionary scan.
struct GlobWeight {
    query: GlobQuery,
    /// Case-folded full values that match, sorted, each with the value
    /// filter key of its indexed term.
    values: Option<Vec<(String, u128)>>,
}

impl Weight for GlobWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = match &self.values {
            Some(values) => {
                let filter = (self.query.value_filters.as_ref())
                    .and_then(|f| f.open(&reader.segment_id().uuid_string(), self.query.field));
                self.query.holding(reader, values, filter.as_ref())?
            }
            None => self.query.dictionary_scan(reader)?,
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
    /// Whether a case-folded value matches: any glob, or, for
    /// [`GlobQuery::all_of`], every one.
    fn matches(&self, folded: &str) -> bool {
        match self.all {
            true => self.globs.iter().all(|g| g.matches(folded)),
            false => self.set.matches(folded),
        }
    }

    /// The full stored value of document `d`, case-folded (None when the
    /// document has none).
    fn full_folded(&self, store: &StoreReader, d: DocId) -> tantivy::Result<Option<String>> {
        let doc: TantivyDocument = store.get(d)?;
        Ok(stored_full_value(&doc, &self.schema, self.field_name).map(fold_case))
    }

    /// Whether any glob matches the full stored value of document `d`.
    fn full_value_matches(&self, store: &StoreReader, d: DocId) -> tantivy::Result<bool> {
        Ok(self
            .full_folded(store, d)?
            .is_some_and(|v| self.matches(&v)))
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

    /// Adds to `values` the case-folded full values of the candidates that
    /// match: each one's ordinal in the field's fast column, the distinct
    /// ordinals decoded in one sorted pass and matched once; a cut (over
    /// 60 kB) value is matched in full from the doc store.
    fn matching_values(
        &self,
        reader: &SegmentReader,
        candidates: &[DocId],
        values: &mut BTreeSet<String>,
    ) -> tantivy::Result<usize> {
        if candidates.is_empty() {
            return Ok(0);
        }
        let Some(column) = reader.fast_fields().str(self.field_name)? else {
            return Ok(0);
        };
        let mut added = 0;
        let mut pacer = Pacer::new(PACE);
        let mut with_ord: Vec<(u64, DocId)> = candidates
            .iter()
            .filter_map(|&d| {
                pacer.step();
                column.ords().first(d).map(|o| (o, d))
            })
            .collect();
        with_ord.sort_unstable();
        with_ord.dedup_by_key(|(o, _)| *o);
        let ords: Vec<u64> = with_ord.iter().map(|&(o, _)| o).collect();
        // Each value is matched as it is decoded and only a match is kept
        // (a broad glob's candidates may be most of a segment's values),
        // and none once past the budget, where the caller gives the values
        // up. A cut value is matched in full from the doc store afterwards.
        let mut decoded = 0;
        let mut cut = Vec::new();
        let mut keep = |folded: String, added: &mut usize| {
            let len = folded.len() + 48;
            if *added <= self.values_budget && values.insert(folded) {
                *added += len;
            }
        };
        column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
            pacer.step();
            let text = String::from_utf8_lossy(bytes);
            if is_cut(&text) {
                cut.extend(with_ord.get(decoded).map(|&(_, d)| d));
            } else {
                let folded = fold_case(&text);
                if self.matches(&folded) {
                    keep(folded, &mut added);
                }
            }
            decoded += 1;
        })?;
        if decoded != ords.len() {
            return Err(tantivy::TantivyError::InternalError(format!(
                "fast column `{}`: {} of {} ordinals decoded",
                self.field_name,
                decoded,
                ords.len()
            )));
        }
        if !cut.is_empty() {
            let store = reader.get_store_reader(1)?;
            for d in cut {
                if let Some(full) = self.full_folded(&store, d)? {
                    if self.matches(&full) {
                        keep(full, &mut added);
                    }
                }
            }
        }
        Ok(added)
    }

    /// The documents of the segment holding one of `values` (case-folded
    /// full values): the terms that its value `filter` (if any) may hold
    /// looked up, then the values too long to be indexed whole verified in
    /// full.
    fn holding(
        &self,
        reader: &SegmentReader,
        values: &[(String, u128)],
        filter: Option<&BloomFilter>,
    ) -> tantivy::Result<tantivy::BitSet> {
        let mut docs = tantivy::BitSet::with_max_value(reader.max_doc());
        let inverted = reader.inverted_index(self.search)?;
        let dict = inverted.terms();
        // The indexed terms, sorted and distinct (cutting keeps the order).
        let mut terms: Vec<&str> = values
            .iter()
            .filter(|(_, key)| filter.is_none_or(|f| f.may_contain(*key)))
            .map(|(v, _)| truncate_term(v, MAX_TERM_BYTES))
            .collect();
        terms.dedup();
        if terms.len().saturating_mul(self.lookup_cost) < dict.num_terms() {
            // Few values: one dictionary lookup each.
            for term in terms {
                if let Some(info) = dict.get(term.as_bytes())? {
                    add_postings(&inverted, &info, &mut docs)?;
                }
            }
        } else if let (Some(first), Some(last)) = (terms.first(), terms.last()) {
            // Many values (most of them from other segments): a lookup costs
            // about as much as reading dozens of terms in order, so one
            // pass over the dictionary between the first and last value,
            // merged with the sorted values, costs less.
            let mut stream = dict
                .range()
                .ge(first.as_bytes())
                .le(last.as_bytes())
                .into_stream()?;
            let mut wanted = terms.iter().map(|t| t.as_bytes()).peekable();
            let mut pacer = Pacer::new(PACE);
            while stream.advance() {
                pacer.step();
                let key = stream.key();
                while wanted.next_if(|w| *w < key).is_some() {}
                match wanted.peek() {
                    None => break,
                    Some(w) if *w == key => add_postings(&inverted, stream.value(), &mut docs)?,
                    Some(_) => {}
                }
            }
        }
        self.verify_long_values(reader, &mut docs)?;
        Ok(docs)
    }

    /// The matches from a scan of the term dictionary of the case-folded
    /// field, then the long values verified in full.
    fn dictionary_scan(&self, reader: &SegmentReader) -> tantivy::Result<tantivy::BitSet> {
        let mut docs = tantivy::BitSet::with_max_value(reader.max_doc());
        let inverted = reader.inverted_index(self.search)?;
        let dict = inverted.terms();
        // A value starts with the prefix of the one glob, or, when it must
        // match all of them, with each one's.
        let prefix = match &self.globs[..] {
            [one] => truncate_term(one.prefix(), MAX_TERM_BYTES),
            all if self.all => (all
                .iter()
                .map(|g| truncate_term(g.prefix(), MAX_TERM_BYTES)))
            .max_by_key(|p| p.len())
            .unwrap_or(""),
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
        let mut pacer = Pacer::new(PACE);
        while stream.advance() {
            pacer.step();
            let Ok(term) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            if self.matches(term) {
                add_postings(&inverted, stream.value(), &mut docs)?;
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

/// Adds the documents of a term's postings to `docs`.
pub(crate) fn add_postings(
    inverted: &tantivy::InvertedIndexReader,
    info: &TermInfo,
    docs: &mut tantivy::BitSet,
) -> tantivy::Result<()> {
    let mut postings =
        inverted.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
    while !postings.docs().is_empty() {
        for &d in postings.docs() {
            docs.insert(d);
        }
        postings.advance();
    }
    Ok(())
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
