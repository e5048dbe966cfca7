//! evidx-schema: the evidx index format, the contract between the indexer
//! (which writes it) and the query engine (which reads it).
//!
//! - [`fields`]: the CIM `Endpoint.Processes` fields, as an enum and a name
//!   list of the same length.
//! - [`terms`]: case folding, term cutting and the fast-column form of long
//!   values, applied alike to indexed values and to query literals.
//! - [`grams`]: the trigram index of the long text fields, which answers
//!   `*text*` globs from their candidates.
//! - [`layout`]: the tantivy schema (value, search and provenance fields)
//!   and the index settings.
//! - [`bloom`] and [`value_filter`]: per-segment filter files, of the event
//!   keys (de-duplication) and of the values of the trigram fields (which
//!   segments a `*text*` search asks).
//! - [`version`]: the format version, recorded in every commit and checked
//!   on open.
//! - [`memory`]: index pages mapped by tantivy, and freed heap, given back
//!   past a limit: searches and the indexer's merges read the index alike.

pub mod bloom;
pub mod fields;
pub mod grams;
pub mod layout;
pub mod memory;
pub mod terms;
pub mod value_filter;
pub mod version;

pub use fields::{Cim, CIM_FIELDS, N_CIM};
pub use grams::GRAM_FIELDS;
pub use layout::{index_settings, EvidxSchema};
pub use terms::{fold_case, MAX_FAST_BYTES, MAX_TERM_BYTES};
pub use version::{FormatError, FORMAT_VERSION};
