//! Baseline of the index benchmark for JSON input: the work a re-parsing hunt
//! tool does on every hunt over NDJSON exports — `serde_json`-parse every line
//! of every file into a `serde_json::Value`.
//!
//! Files are memory-mapped and cut into line-aligned blocks of about 4 MiB,
//! parsed in parallel on a rayon pool.

use std::time::Instant;

use anyhow::Result;
use rayon::prelude::*;

use evidx_bench::{find_files, init_pool, map_file, parse_args, print_report, Counters};

const NAME: &str = "json-baseline";
const BLOCK: usize = 4 << 20;

fn main() -> Result<()> {
    let args = parse_args(
        NAME,
        "serde_json-parses every non-empty line of every NDJSON file (a file whose first\n\
         non-blank byte is `{`) into a serde_json::Value, counting records.",
    )?;
    init_pool(args.threads)?;
    let start = Instant::now();
    let files = find_files(&args.inputs, |_, head| {
        head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
    })?;
    let counters = Counters::default();
    files.par_iter().for_each(|(path, len)| {
        if *len == 0 {
            return;
        }
        let map = match map_file(path) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("{NAME}: {}: {e}", path.display());
                counters.add(0, 0, 1);
                return;
            }
        };
        let data: &[u8] = &map;
        // Line-aligned blocks.
        let mut blocks = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let mut end = (at + BLOCK).min(data.len());
            if end < data.len() {
                end = memchr::memchr(b'\n', &data[end..]).map_or(data.len(), |i| end + i + 1);
            }
            blocks.push(&data[at..end]);
            at = end;
        }
        blocks.par_iter().for_each(|block| {
            let (mut n, mut b, mut e) = (0u64, 0u64, 0u64);
            for line in block.split(|&c| c == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(|c| c.is_ascii_whitespace()) {
                    continue;
                }
                match serde_json::from_slice::<serde_json::Value>(line) {
                    Ok(v) => {
                        n += 1;
                        b += line.len() as u64 + 1;
                        std::hint::black_box(&v);
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
