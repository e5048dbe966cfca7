//! Baseline of the index benchmark: the work a re-parsing hunt tool (Chainsaw,
//! Hayabusa, evtx_dump piped into grep/jq) does on every hunt — parse every
//! record of every EVTX file with the `evtx` crate and render it to JSON.
//!
//! Parallel like `evtx_dump` (chunks of a file on a rayon pool), and also
//! across files. Each rendered record is only measured (its length summed),
//! never written, so the time is parse + render and nothing else.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use evtx::{EvtxParser, ParserSettings};
use rayon::prelude::*;

use evidx_bench::{find_files, init_pool, parse_args, print_report, Report};

const NAME: &str = "evtx-baseline";

fn main() -> Result<()> {
    let args = parse_args(
        NAME,
        "Parses every record of every EVTX file (recognised by its `ElfFile` magic) with the\n\
         `evtx` crate and renders it to JSON (evtx_dump -o jsonl), counting records.",
    )?;
    init_pool(args.threads)?;
    let start = Instant::now();
    let files = find_files(&args.inputs, |_, head| head.starts_with(b"ElfFile\0"))?;
    let settings = Arc::new(
        ParserSettings::new()
            .num_threads(1)
            .indent(false)
            .separate_json_attributes(false),
    );
    let records = AtomicU64::new(0);
    let out_bytes = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    files.par_iter().for_each(|(path, _)| {
        let mut parser = match EvtxParser::from_path(path) {
            Ok(p) => p.with_configuration((*settings).clone()),
            Err(e) => {
                eprintln!("{NAME}: {}: {e}", path.display());
                errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        parser.chunks().par_bridge().for_each(|chunk| {
            let mut data = match chunk {
                Ok(d) => d,
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            let mut chunk = match data.parse(settings.clone()) {
                Ok(c) => c,
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            let (mut n, mut b, mut e) = (0u64, 0u64, 0u64);
            for rec in chunk.iter() {
                match rec.and_then(|r| r.into_json()) {
                    Ok(s) => {
                        n += 1;
                        b += s.data.len() as u64 + 1;
                    }
                    Err(_) => e += 1,
                }
            }
            records.fetch_add(n, Ordering::Relaxed);
            out_bytes.fetch_add(b, Ordering::Relaxed);
            errors.fetch_add(e, Ordering::Relaxed);
        });
    });
    let report = Report {
        files: files.len(),
        bytes: files.iter().map(|f| f.1).sum(),
        records: records.into_inner(),
        out_bytes: out_bytes.into_inner(),
        errors: errors.into_inner(),
    };
    print_report(NAME, &report, start);
    Ok(())
}
