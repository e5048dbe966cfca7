//! A template-aware EVTX reader: the fields of a record straight from its
//! BinXML template instance and substitution values, without rendering XML
//! or JSON. One small module per piece:
//!
//! - `le`, `utf16`: bounds-checked little-endian reads, UTF-16 text;
//! - `chunk`: the chunk header, its string table, the walk over records;
//! - `template`: template definitions (the BinXML token reader), parsed
//!   once per chunk;
//! - `value`: substitution value types, their checks and their text;
//! - `instance`: a record's template instances and values;
//! - `fields`: [`RawEvent`](crate::event::RawEvent) fields from them, as
//!   `event_from_json` reads the `evtx` crate's rendering;
//! - `extractor`: [`TemplateExtractor`], with the fallback to the crate.

mod chunk;
mod extractor;
mod fields;
mod instance;
mod le;
mod template;
mod utf16;
mod value;

pub use extractor::TemplateExtractor;

use crate::parse::evtx::{ChunkExtractor, EvtxCrateExtractor};

/// Names the EVTX extractor: `reference` for the `evtx` crate's rendering
/// (for differential tests and benchmarks), anything else or unset for
/// [`TemplateExtractor`].
pub const EXTRACTOR_ENV: &str = "EVIDX_EVTX_EXTRACTOR";

/// The EVTX extractor [`EXTRACTOR_ENV`] chooses.
pub fn extractor_from_env() -> Box<dyn ChunkExtractor> {
    match std::env::var(EXTRACTOR_ENV).as_deref() {
        Ok("reference") => Box::new(EvtxCrateExtractor::default()),
        _ => Box::new(TemplateExtractor::default()),
    }
}
