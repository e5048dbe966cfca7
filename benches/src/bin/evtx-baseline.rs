//! Baseline of the index benchmark: the work a re-parsing hunt tool (Chainsaw,
//! Hayabusa, evtx_dump piped into grep/jq) does on every hunt — parse every
//! record of every EVTX file with the `evtx` crate and render it to JSON.
//!
//! Parallel like `evtx_dump` (chunks of a file on a rayon pool), and also
//! across files. Each rendered record is only measured (its length summed),
//! never written, so the time is parse + render and nothing else.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use evtx::{EvtxParser, ParserSettings};
use rayon::prelude::*;

use evidx_bench::{find_files, init_pool, parse_args, print_report, Counters};

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
    let counters = Counters::default();
    files.par_iter().for_each(|(path, _)| {
        let mut parser = match EvtxParser::from_path(path) {
            Ok(p) => p.with_configuration((*settings).clone()),
            Err(e) => {
                eprintln!("{NAME}: {}: {e}", path.display());
                counters.add(0, 0, 1);
                return;
            }
        };
        parser.chunks().par_bridge().for_each(|chunk| {
            let mut data = match chunk {
                Ok(d) => d,
                Err(_) => {
                    counters.add(0, 0, 1);
                    return;
                }
            };
            let mut chunk = match data.parse(settings.clone()) {
                Ok(c) => c,
                Err(_) => {
                    counters.add(0, 0, 1);
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
            counters.add(n, b, e);
        });
    });
    let report = counters.report(&files);
    print_report(NAME, &report, start);
    Ok(())
}
