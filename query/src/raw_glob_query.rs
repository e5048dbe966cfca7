//! [`RawGlobQuery`]: case-insensitive globs over a raw (not case-folded)
//! indexed field with few distinct values, such as `source` and
//! `sourcetype` (one value per input file): one pass over the segment's
//! term dictionary, each term lower-cased and matched.

use std::sync::Arc;

use tantivy::query::{
    BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::Field;
use tantivy::{DocId, DocSet, Score, SegmentReader};

use crate::glob::Glob;
use crate::glob_query::add_postings;

/// Documents whose value of `field` matches any of the globs, ignoring case.
#[derive(Clone, Debug)]
pub struct RawGlobQuery {
    field: Field,
    globs: Arc<[Glob]>,
}

impl RawGlobQuery {
    pub fn new(field: Field, globs: Vec<Glob>) -> Self {
        RawGlobQuery {
            field,
            globs: globs.into(),
        }
    }
}

impl Query for RawGlobQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for RawGlobQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut docs = tantivy::BitSet::with_max_value(reader.max_doc());
        let inverted = reader.inverted_index(self.field)?;
        let mut stream = inverted.terms().stream()?;
        while stream.advance() {
            let term = String::from_utf8_lossy(stream.key()).to_lowercase();
            if self.globs.iter().any(|g| g.matches(&term)) {
                add_postings(&inverted, stream.value(), &mut docs)?;
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(docs), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("RawGlobQuery", 1.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(
                "document does not match".into(),
            ))
        }
    }
}
