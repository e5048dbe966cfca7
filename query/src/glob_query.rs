//! [`GlobQuery`]: a tantivy query for case-insensitive globs over one CIM
//! field, answered from the field's term dictionary.

use std::sync::Arc;

use evidx_schema::layout::stored_full_value;
use evidx_schema::terms::{fold_case, truncate_term, MAX_TERM_BYTES};
use evidx_schema::EvidxSchema;
use tantivy::query::{
    BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyDocument, Term};

use crate::glob::Glob;

/// Case-insensitive globs over one CIM field (a document matches if any
/// glob does): one scan of the segment's term dictionary of the case-folded
/// field (a range when there is one glob with a literal prefix), unioning
/// the postings of matching terms. Documents whose value was too long
/// to index whole (listed under `_long`) are checked against the full value
/// in the fast column.
#[derive(Clone, Debug)]
pub struct GlobQuery {
    pub(crate) search: Field,
    pub(crate) schema: Arc<EvidxSchema>,
    pub(crate) long: Field,
    pub(crate) field_name: &'static str,
    pub(crate) globs: Arc<[Glob]>,
}

impl Query for GlobQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for GlobQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
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
            if self.globs.iter().any(|g| g.matches(term)) {
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
                let doc: TantivyDocument = store.get(d)?;
                let matched =
                    stored_full_value(&doc, &self.schema, self.field_name).is_some_and(|v| {
                        let folded = fold_case(v);
                        self.globs.iter().any(|g| g.matches(&folded))
                    });
                if matched {
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
