//! The tantivy schema of an evidx index.
//!
//! One tantivy document per process-creation event. For every CIM field `F`
//! (see [`crate::fields`]):
//! - `F`: the value exactly as normalized (original case), a **fast** (columnar)
//!   string column for group-by and aggregation, and stored. Group-by reads
//!   per-segment term ordinals of this column; no stored document is loaded.
//! - `_lc_F`: the value case-folded ([`fold_case`]) and indexed as one raw term
//!   (no tokenization, no fieldnorms, doc ids only). Exact matches are a term
//!   lookup; prefix globs a dictionary range; `*x*` globs a scan of the
//!   field's *distinct* values, never of the documents.
//!
//! For the fields of [`GRAM_FIELDS`] (long free text):
//! - `_ng_F`: the distinct trigrams of the case-folded full value, each a raw
//!   term (doc ids only, no fieldnorms, neither stored nor fast). A
//!   `*text*` glob intersects the postings of the trigrams of its literal
//!   pieces and verifies the candidates (see [`crate::grams`]).
//!
//! Terms longer than [`MAX_TERM_BYTES`] are cut at a character boundary (see
//! [`crate::terms`]). Such documents also get the term `F` in `_long`, so the
//! query engine verifies them against the full stored value.
//!
//! The fast column keeps at most [`MAX_FAST_BYTES`] of a value. A longer
//! value is kept there as its first bytes plus a marker naming its length
//! and hash ([`fast_value`]); the full value is stored in `_long_values` as
//! `F\0value`.
//!
//! `_time` is an indexed, fast i64 (microseconds since the epoch). The
//! `evidx_*` fields are provenance: source file, record id, EVTX chunk, byte
//! offset, event code, and `evidx_key`: 16 bytes, the 128-bit hash of what
//! identifies an event (host, channel, record id, normalized row), indexed as
//! one raw term (neither stored nor fast), so the indexer finds whether an
//! event is already in a segment with one term lookup when it appends.
//!
//! The doc store is zstd-compressed in 64 KiB blocks.

use tantivy::schema::{
    BytesOptions, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
    FAST, INDEXED, STORED,
};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::IndexSettings;

use crate::fields::{Cim, CIM_FIELDS, N_CIM};
use crate::grams::{gram_field_name, GRAM_FIELDS, GRAM_TOKENIZER};
#[allow(unused_imports)] // named by the module documentation
use crate::terms::{fast_value, fold_case, MAX_FAST_BYTES, MAX_TERM_BYTES};

pub const TIME: &str = "_time";
pub const LONG: &str = "_long";
pub const LONG_VALUES: &str = "_long_values";
pub const SOURCE_FILE: &str = "evidx_source";
pub const SOURCETYPE: &str = "sourcetype";
pub const RECORD_ID: &str = "evidx_record_id";
pub const CHUNK: &str = "evidx_chunk";
pub const OFFSET: &str = "evidx_offset";
pub const EVENT_CODE: &str = "evidx_event_code";
pub const CHANNEL: &str = "evidx_channel";
pub const KEY: &str = "evidx_key";

/// Name of the case-folded search field of CIM field `field`.
pub fn search_field_name(field: &str) -> String {
    format!("_lc_{field}")
}

/// The whole value of CIM field `name` in a stored document: from
/// `_long_values` when it was too long for its fast column, else the stored
/// value itself.
pub fn stored_full_value<'d>(
    doc: &'d tantivy::TantivyDocument,
    s: &EvidxSchema,
    name: &str,
) -> Option<&'d str> {
    use tantivy::schema::document::Value as _;
    let (value, _) = s.cim_field(name)?;
    doc.get_all(s.long_values)
        .filter_map(|v| v.as_str())
        .find_map(|entry| {
            entry
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('\0'))
        })
        .or_else(|| doc.get_first(value).and_then(|v| v.as_str()))
}

/// Resolved field handles.
#[derive(Clone, Debug)]
pub struct EvidxSchema {
    pub schema: Schema,
    /// `(value field, search field)` for each of `CIM_FIELDS`, same order.
    pub cim: Vec<(Field, Field)>,
    /// The trigram field `_ng_F` of each CIM field, by [`Cim::index`]; `Some`
    /// for the fields of [`GRAM_FIELDS`].
    pub gram: [Option<Field>; N_CIM],
    pub time: Field,
    pub long: Field,
    pub long_values: Field,
    pub source_file: Field,
    pub sourcetype: Field,
    pub record_id: Field,
    pub chunk: Field,
    pub offset: Field,
    pub event_code: Field,
    pub channel: Field,
    pub key: Field,
}

impl EvidxSchema {
    pub fn build() -> Self {
        let mut b = Schema::builder();
        let value_opts = TextOptions::default().set_fast("raw").set_stored();
        let search_opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        );
        let raw_indexed_fast = search_opts.clone().set_fast("raw").set_stored();
        let mut cim = Vec::new();
        for f in CIM_FIELDS {
            let value = b.add_text_field(f, value_opts.clone());
            let search = b.add_text_field(&search_field_name(f), search_opts.clone());
            cim.push((value, search));
        }
        let gram_opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(GRAM_TOKENIZER)
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        );
        let mut gram = [None; N_CIM];
        for f in GRAM_FIELDS {
            gram[f.index()] = Some(b.add_text_field(&gram_field_name(f.name()), gram_opts.clone()));
        }
        let num = |b: &mut tantivy::schema::SchemaBuilder, name: &str, opts: NumericOptions| {
            b.add_i64_field(name, opts)
        };
        let time = num(&mut b, TIME, NumericOptions::from(INDEXED | FAST | STORED));
        let long = b.add_text_field(LONG, search_opts.clone());
        let long_values = b.add_text_field(LONG_VALUES, STORED);
        let source_file = b.add_text_field(SOURCE_FILE, raw_indexed_fast.clone());
        let sourcetype = b.add_text_field(SOURCETYPE, raw_indexed_fast.clone());
        let record_id = b.add_u64_field(RECORD_ID, FAST | STORED);
        let chunk = b.add_u64_field(CHUNK, FAST | STORED);
        let offset = b.add_u64_field(OFFSET, STORED);
        let event_code = b.add_u64_field(EVENT_CODE, INDEXED | FAST | STORED);
        let channel = b.add_text_field(CHANNEL, raw_indexed_fast);
        let key = b.add_bytes_field(KEY, BytesOptions::default().set_indexed());
        EvidxSchema {
            schema: b.build(),
            cim,
            gram,
            time,
            long,
            long_values,
            source_file,
            sourcetype,
            record_id,
            chunk,
            offset,
            event_code,
            channel,
            key,
        }
    }

    /// Resolve the handles of an existing index's schema.
    pub fn from_schema(schema: &Schema) -> Result<Self, tantivy::TantivyError> {
        let built = Self::build();
        for (name, _) in built.schema.fields().map(|(f, e)| (e.name(), f)) {
            schema.get_field(name)?;
        }
        Ok(built)
    }

    /// The value and search fields of a CIM field name.
    pub fn cim_field(&self, name: &str) -> Option<(Field, Field)> {
        CIM_FIELDS
            .iter()
            .position(|f| *f == name)
            .map(|i| self.cim[i])
    }

    /// The trigram field of `field`, if it has one.
    pub fn gram_field(&self, field: Cim) -> Option<Field> {
        self.gram[field.index()]
    }
}

/// Index settings: zstd doc store in 64 KiB blocks.
pub fn index_settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::Zstd(ZstdCompressor::default()),
        docstore_blocksize: 64 * 1024,
        ..IndexSettings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_every_cim_field() {
        let s = EvidxSchema::build();
        for f in CIM_FIELDS {
            assert!(s.schema.get_field(f).is_ok());
            assert!(s.schema.get_field(&search_field_name(f)).is_ok());
        }
        assert!(EvidxSchema::from_schema(&s.schema).is_ok());
        assert_eq!(
            s.cim_field("process_name"),
            Some(s.cim[Cim::ProcessName.index()])
        );
        assert_eq!(s.cim_field("Processes.process_name"), None);
        for f in Cim::ALL {
            let gram = s.gram_field(f);
            assert_eq!(gram.is_some(), GRAM_FIELDS.contains(&f), "{}", f.name());
            if let Some(g) = gram {
                assert_eq!(s.schema.get_field_name(g), gram_field_name(f.name()));
                let entry = s.schema.get_field_entry(g);
                assert!(entry.is_indexed() && !entry.is_stored() && !entry.is_fast());
                assert!(!entry.has_fieldnorms());
            }
        }
    }
}
