//! Indexing stages, one group each, on the process creations of a generated
//! archive:
//! - `to_document`: RawEvent to tantivy document (CIM normalization, then
//!   `document::build`);
//! - `index_writer`: documents into a tantivy writer in RAM, committed.
//!
//! `cargo bench --workspace --bench index [-- FILTER]`

mod common;

use std::hint::black_box;

use common::{generate, json_lines};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use evidx_index::carriers::Carriers;
use evidx_index::document::{self, Provenance};
use evidx_index::event::{EventKind, Origin, RawEvent};
use evidx_index::normalize::normalize;
use evidx_index::parse::json_scan::{read_line_reference, LineRead};
use evidx_schema::{index_settings, EvidxSchema};
use tantivy::{Index, IndexWriter, TantivyDocument};

/// The process creations of a generated evtx_dump JSONL archive.
fn process_events() -> Vec<RawEvent> {
    let (_dir, files) = generate("jsonl");
    let (lines, _) = json_lines(&files);
    lines
        .iter()
        .filter_map(|l| match read_line_reference(l) {
            LineRead::Event(ev) if ev.kind() != EventKind::Other => Some(ev),
            _ => None,
        })
        .collect()
}

fn provenance() -> Provenance {
    Provenance {
        source: "bench.jsonl".into(),
        sourcetype: "json",
    }
}

fn documents(schema: &EvidxSchema, events: &[RawEvent]) -> Vec<TantivyDocument> {
    let carriers = Carriers::default();
    let prov = provenance();
    events
        .iter()
        .enumerate()
        .filter_map(|(i, ev)| {
            let row = normalize(ev)?;
            let origin = Origin {
                offset: i as u64,
                ..Origin::default()
            };
            let key = document::event_key(ev, &row);
            Some(document::build(
                schema, key, &carriers, ev, &row, &origin, &prov,
            ))
        })
        .collect()
}

fn to_document(c: &mut Criterion) {
    let schema = EvidxSchema::build();
    let events = process_events();
    let mut group = c.benchmark_group("to_document");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("normalize+build", |b| {
        b.iter(|| black_box(documents(&schema, &events)).len())
    });
    group.finish();
}

fn index_writer(c: &mut Criterion) {
    let schema = EvidxSchema::build();
    let docs = documents(&schema, &process_events());
    let mut group = c.benchmark_group("index_writer");
    group.sample_size(10);
    group.throughput(Throughput::Elements(docs.len() as u64));
    group.bench_function("add+commit/1-thread", |b| {
        b.iter_batched(
            || {
                let index = Index::builder()
                    .schema(schema.schema.clone())
                    .settings(index_settings())
                    .create_in_ram()
                    .expect("RAM index");
                evidx_schema::grams::register_tokenizers(&index);
                let writer: IndexWriter<TantivyDocument> =
                    index.writer_with_num_threads(1, 64 << 20).expect("writer");
                (writer, docs.clone())
            },
            |(mut writer, docs)| {
                for doc in docs {
                    writer.add_document(doc).expect("add");
                }
                writer.commit().expect("commit");
                writer.wait_merging_threads().expect("merge");
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, to_document, index_writer);
criterion_main!(benches);
