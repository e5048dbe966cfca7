//! evidx-index: index Windows event archives (EVTX, JSON, XML, and archives
//! of them) into a tantivy index of CIM `Endpoint.Processes` rows.
//!
//! The pipeline, one module per stage:
//! [`discover`] (walk inputs) -> [`read`] (mmap, decompress, archive members;
//! cut into EVTX chunks and blocks of lines) -> [`parse`] (EVTX chunks, JSON
//! shapes, XML) -> [`normalize`] (Sysmon 1 / Security 4688 -> CIM) ->
//! [`document`] (tantivy documents in the format of the `evidx-schema`
//! crate) — driven by [`pipeline`], accounted for in [`manifest`].
//!
//! The index being written: [`store`] (one shared writer, commits at
//! bounded intervals), [`dedupe`] (events already in the index are not
//! added again), [`value_filters`] (which values each segment holds, for
//! the query engine), [`history`] (the manifest of every run, in
//! step with the commits) and [`lock`] (one writer at a time).
//!
//! [`parquet`]: the same rows as Parquet files, beside the index or instead
//! of it.

pub mod carriers;
pub mod dedupe;
pub mod discover;
pub mod document;
pub mod error;
pub mod event;
pub mod history;
pub mod inspect;
pub mod lock;
pub mod manifest;
pub mod merges;
pub mod normalize;
pub mod parquet;
pub mod parse;
pub mod pipeline;
pub mod progress;
pub mod read;
pub mod store;
pub mod time;
pub mod value_filters;

pub use error::IndexError;
pub use pipeline::{run, Config, Outcome};
