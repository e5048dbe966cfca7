//! `evidx-gen`: deterministic, realistic Windows event collections (EVTX, evtx_dump JSONL,
//! Winlogbeat ECS, Windows XML) with planted detection ground truth, for testing and
//! benchmarking evidx.
//!
//! Pipeline: [`plan`] decides files and counts from the seed and event budget, [`gen`] streams
//! each file's events (background from [`world`]/[`events`], plus [`plant`]ed ones), a
//! [`sink::Sink`] writes them ([`evtx_writer`]/[`binxml`], [`jsonl`], [`ecs`], [`xml`]), and
//! [`cim`] computes the expected detection table from the same events.
#![forbid(unsafe_code)]

pub mod binxml;
pub mod cim;
pub mod cmdline;
pub mod csv;
pub mod ecs;
pub mod error;
pub mod events;
pub mod evtx_writer;
pub mod gen;
pub mod jsonl;
pub mod model;
pub mod output;
pub mod plan;
pub mod plant;
pub mod rng;
pub mod run;
pub mod sink;
pub mod size;
pub mod text;
pub mod time;
pub mod world;
pub mod xml;

pub use error::{Error, Result};
pub use output::Format;
pub use run::{run, RunConfig, Summary};
