//! Orchestration: plan, generate every file in parallel (rayon), then write the expected
//! detection table, the planted-event list and a manifest.

use crate::cim::{getnettcpconnection_with_powershell, processes_row, Table};
use crate::error::{Error, Result};
use crate::gen::FileGen;
use crate::output::Format;
use crate::plan::{Plan, PlanConfig, EVTX_BYTES_PER_EVENT};
use crate::plant::Expect;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A complete run configuration.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub seed: u64,
    /// Target size in bytes (turned into an event budget); ignored when `events` is set.
    pub size: u64,
    pub events: Option<u64>,
    pub format: Format,
    pub out: PathBuf,
    pub planted: Option<usize>,
    pub hosts: Option<usize>,
    pub days: Option<usize>,
    pub start_day: i64,
}

impl RunConfig {
    /// The plan inputs (format-independent).
    pub fn plan_config(&self) -> PlanConfig {
        PlanConfig {
            seed: self.seed,
            events: self
                .events
                .unwrap_or(self.size / EVTX_BYTES_PER_EVENT)
                .max(1),
            hosts: self.hosts,
            days: self.days,
            start_day: self.start_day,
            planted: self.planted,
        }
    }
}

/// What one file ended up holding.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: PathBuf,
    pub events: u64,
    pub bytes: u64,
    pub first_record_id: u64,
    pub last_record_id: u64,
    /// (plant index, record id).
    pub planted: Vec<(usize, u64)>,
    /// Record ids of events the detection matches.
    pub matched: Vec<u64>,
}

/// Result of a run.
#[derive(Debug)]
pub struct Summary {
    pub files: Vec<FileReport>,
    pub events: u64,
    pub bytes: u64,
    pub positives: usize,
    pub near_misses: usize,
    pub table: Table,
    pub seconds: f64,
}

/// Generates file `i` of `plan` into `out`.
fn write_file(plan: &Plan, i: usize, format: Format, out: &Path) -> Result<(FileReport, Table)> {
    let spec = &plan.files[i];
    let rel = plan.rel_stem(i).with_extension(format.extension());
    let path = out.join(&rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut sink = format.create(&path)?;
    let mut gen = FileGen::new(&plan.world, spec, &plan.placed[i]);
    let mut table = Table::default();
    let mut matched = Vec::new();
    let mut events = 0u64;
    let mut last = spec.first_record_id;
    for ev in gen.by_ref() {
        if let Some(row) = processes_row(&ev) {
            if getnettcpconnection_with_powershell(&row) {
                matched.push(ev.record_id);
                table.add(row);
            }
        }
        sink.write(&ev)?;
        events += 1;
        last = ev.record_id;
    }
    let bytes = sink.finish()?;
    Ok((
        FileReport {
            path: rel,
            events,
            bytes,
            first_record_id: spec.first_record_id,
            last_record_id: last,
            planted: gen.emitted,
            matched,
        },
        table,
    ))
}

/// Runs the generator.
pub fn run(cfg: &RunConfig) -> Result<Summary> {
    let start = Instant::now();
    let plan = Plan::new(&cfg.plan_config());
    std::fs::create_dir_all(&cfg.out).map_err(|e| Error::io(&cfg.out, e))?;
    // Biggest files first for better load balance.
    let mut order: Vec<usize> = (0..plan.files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(plan.files[i].background));
    let results: Vec<(usize, FileReport, Table)> = order
        .par_iter()
        .map(|&i| write_file(&plan, i, cfg.format, &cfg.out).map(|(r, t)| (i, r, t)))
        .collect::<Result<_>>()?;
    let mut results = results;
    results.sort_by_key(|r| r.0);
    let mut table = Table::default();
    let mut files = Vec::with_capacity(results.len());
    for (_, r, t) in results {
        table.merge(t);
        files.push(r);
    }
    write_outputs(cfg, &plan, &files, &table)?;
    let positives = plan
        .plants
        .iter()
        .filter(|p| p.expect == Expect::Positive)
        .count();
    Ok(Summary {
        events: files.iter().map(|f| f.events).sum(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        positives,
        near_misses: plan.plants.len() - positives,
        files,
        table,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn write_outputs(cfg: &RunConfig, plan: &Plan, files: &[FileReport], table: &Table) -> Result<()> {
    let expected = cfg.out.join("expected");
    write(
        &expected.join("getnettcpconnection_with_powershell.csv"),
        &table.to_csv(),
    )?;

    // Planted events with where they landed.
    let mut located: Vec<(usize, &FileReport, u64)> = files
        .iter()
        .flat_map(|f| f.planted.iter().map(move |&(p, id)| (p, f, id)))
        .collect();
    located.sort_by_key(|x| x.0);
    let rows = located.into_iter().map(|(p, f, id)| {
        let plant = &plan.plants[p];
        let ev = plan.placed[plant.file].iter().find(|x| x.plant == p);
        let (expect, reason) = match &plant.expect {
            Expect::Positive => ("positive", ""),
            Expect::NearMiss(r) => ("near_miss", *r),
        };
        vec![
            p.to_string(),
            expect.to_string(),
            reason.to_string(),
            plant.repeat_of.map(|r| r.to_string()).unwrap_or_default(),
            f.path.to_string_lossy().replace('\\', "/"),
            id.to_string(),
            ev.map(|e| e.event.event_id.to_string()).unwrap_or_default(),
            ev.map(|e| e.event.computer.to_string()).unwrap_or_default(),
        ]
    });
    let planted = crate::csv::render(
        &[
            "plant",
            "expect",
            "reason",
            "repeat_of",
            "path",
            "record_id",
            "event_id",
            "computer",
        ],
        rows,
    );
    write(&expected.join("planted.csv"), &planted)?;

    let manifest = serde_json::json!({
        "generator": "evidx-gen",
        "version": env!("CARGO_PKG_VERSION"),
        "seed": cfg.seed,
        "format": cfg.format.name(),
        "requested_size": cfg.size,
        "events": files.iter().map(|f| f.events).sum::<u64>(),
        "bytes": files.iter().map(|f| f.bytes).sum::<u64>(),
        "hosts": plan.world.hosts.len(),
        "days": plan.days,
        "detections": {"getnettcpconnection_with_powershell": {
            "csv": "expected/getnettcpconnection_with_powershell.csv",
            "groups": table.groups.len(),
            "events": table.groups.values().map(|g| g.0).sum::<u64>(),
        }},
        "files": files.iter().map(|f| serde_json::json!({
            "path": f.path.to_string_lossy().replace('\\', "/"),
            "events": f.events,
            "bytes": f.bytes,
            "first_record_id": f.first_record_id,
            "last_record_id": f.last_record_id,
        })).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    write(&cfg.out.join("manifest.json"), &text)
}
