//! evidx-query: run Splunk `tstats` detections over an evidx index.
//!
//! The pipeline: `spl` (macros -> lexer -> parser -> [`spl::ast`]) ->
//! `plan` (the `where` clause becomes a tantivy query) -> `collect`
//! (group-by over fast-field columns) -> `post` (commands after tstats)
//! -> `render` (table, CSV, JSON).

pub mod collect;
pub mod columns;
pub mod detection;
pub mod engine;
pub mod eval;
pub mod field;
pub mod glob;
pub mod glob_query;
pub mod join;
pub mod lookup;
pub mod lookup_cmd;
pub mod mvcmds;
pub mod num;
pub mod pack;
pub mod pattern;
pub mod plan;
pub mod post;
pub mod pushdown;
pub mod render;
pub mod rex;
pub mod row_search;
pub mod spl;
pub mod stats;
pub mod subsearch;
pub mod table;
pub mod transaction;

pub use engine::{Engine, QueryError};
