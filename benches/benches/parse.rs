//! Parse stages, one group each:
//! - `evtx_chunk`: a 64 KiB EVTX chunk to RawEvents through a
//!   [`ChunkExtractor`]; every extractor in [`extractors`] runs on the same
//!   chunks, so a new one is compared with the `evtx` crate's in one run.
//! - `json_line`: an NDJSON line to a RawEvent, by the reference `Value`
//!   path and by the skip-scan, on each JSON shape.
//!
//! `cargo bench --workspace --bench parse [-- FILTER]`

mod common;

use std::hint::black_box;
use std::sync::atomic::Ordering::Relaxed;

use common::{evtx_chunks, generate, json_lines, shared, CountSink};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use evidx_index::parse::evtx::{ChunkExtractor, EvtxCrateExtractor};
use evidx_index::parse::json_scan::{read_line, read_line_reference, LineRead, Scratch};

/// The extractors compared, by name.
fn extractors() -> Vec<(&'static str, Box<dyn ChunkExtractor>)> {
    vec![("evtx-crate", Box::new(EvtxCrateExtractor::default()))]
}

fn evtx_chunk(c: &mut Criterion) {
    let (_dir, generated) = generate("evtx");
    let real = shared(|p| p.extension().is_some_and(|e| e == "evtx"));
    let inputs = [
        ("generated", evtx_chunks(&generated)),
        ("shared", evtx_chunks(&real)),
    ];
    let mut group = c.benchmark_group("evtx_chunk");
    group.sample_size(10);
    for (input, chunks) in &inputs {
        if chunks.is_empty() {
            continue;
        }
        group.throughput(Throughput::Bytes((chunks.len() * chunks[0].2.len()) as u64));
        for (name, extractor) in extractors() {
            group.bench_function(format!("{name}/{input}"), |b| {
                b.iter(|| {
                    let sink = CountSink::default();
                    for (number, offset, data) in chunks {
                        extractor.extract(*number, *offset, data, &sink);
                    }
                    black_box(sink.events.load(Relaxed))
                })
            });
        }
    }
    group.finish();
}

fn json_line(c: &mut Criterion) {
    let (_evtx_dump_dir, evtx_dump) = generate("jsonl");
    let (_ecs_dir, ecs) = generate("ecs");
    let nxlog = shared(|p| p.to_string_lossy().contains("nxlog"));
    let mordor = shared(|p| p.to_string_lossy().contains("schtask_modification"));
    let inputs = [
        ("evtx_dump", json_lines(&evtx_dump)),
        ("ecs", json_lines(&ecs)),
        ("nxlog", json_lines(&nxlog)),
        ("mordor", json_lines(&mordor)),
    ];
    let mut group = c.benchmark_group("json_line");
    group.sample_size(10);
    for (input, (lines, bytes)) in &inputs {
        if lines.is_empty() {
            continue;
        }
        group.throughput(Throughput::Bytes(*bytes));
        group.bench_function(format!("value/{input}"), |b| {
            b.iter(|| {
                lines
                    .iter()
                    .map(|l| events(read_line_reference(l)))
                    .sum::<u64>()
            })
        });
        group.bench_function(format!("skip-scan/{input}"), |b| {
            let mut scratch = Scratch::default();
            b.iter(|| {
                lines
                    .iter()
                    .map(|l| events(read_line(l, &mut scratch)))
                    .sum::<u64>()
            })
        });
    }
    group.finish();
}

fn events(read: LineRead) -> u64 {
    u64::from(matches!(black_box(read), LineRead::Event(_)))
}

criterion_group!(benches, evtx_chunk, json_line);
criterion_main!(benches);
