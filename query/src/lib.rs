//! evidx-query: run Splunk `tstats` detections over evidx indexes
//! (several are searched as one: `index_set`, within a `time_range`).
//!
//! The pipeline, one module per stage: `spl` (macros -> lexer -> parser
//! -> [`spl::ast`]) -> `resolve` (run subsearches, load `lookups`) ->
//! `plan` (the `where` clause becomes a tantivy query; `value_filters`
//! tell which segments a `*text*` value may be in) -> `collect`
//! (group-by over fast-field columns) -> `commands` (the commands after
//! tstats, one file per command or family) -> `render` (table, CSV,
//! JSON). `engine` drives them; `pack` runs many detections; `sql` compiles a pipeline to
//! SQL for DuckDB or Spark instead.

pub mod collect;
pub mod commands;
pub mod detection;
pub mod encode;
pub mod engine;
pub mod eval;
pub mod events;
pub mod exact_sum;
pub mod field;
pub mod glob;
pub mod glob_query;
pub mod index_set;
pub mod lint;
pub mod literals;
pub mod lookups;
pub mod necessary;
/// Index pages and freed heap given back (in `evidx-schema`: the indexer's
/// merges read the index through the same maps).
pub use evidx_schema::memory;
pub mod num;
pub mod pack;
pub mod pattern;
pub mod plan;
pub mod pushdown;
pub mod raw_glob_query;
pub mod render;
pub mod resolve;
pub mod sorted_runs;
pub mod spl;
pub mod sql;
pub mod table;
pub mod time_modifiers;
pub mod time_range;
pub mod value_filters;
pub mod yaml;

pub use engine::{Engine, QueryError};
