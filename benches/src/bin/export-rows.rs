//! export-rows: every indexed event of an evidx index as one CSV row (the
//! CIM fields as `Processes.F`, and `_time` in microseconds), so another
//! engine (DuckDB in `scripts/bench-hunt.sh`) can run the same group-by
//! over the same rows. Values are read from the fast columns, as the
//! collector reads them.
//!
//! usage: export-rows INDEX_DIR OUT.csv

use std::io::Write as _;

use anyhow::{bail, Context, Result};
use evidx_query::render::{Format, Streaming};
use evidx_query::table::{Cell, RowSink};
use evidx_schema::layout::TIME;
use evidx_schema::CIM_FIELDS;
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Index};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [index, out] = args.as_slice() else {
        bail!("usage: export-rows INDEX_DIR OUT.csv");
    };
    let index = Index::open_in_dir(index).with_context(|| format!("opening {index}"))?;
    let searcher = index.reader()?.searcher();
    let file = std::fs::File::create(out).with_context(|| format!("creating {out}"))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut sink = Streaming::new(Format::Csv, &mut w);
    let mut columns: Vec<String> = CIM_FIELDS
        .iter()
        .map(|f| format!("Processes.{f}"))
        .collect();
    columns.push("_time".into());
    sink.begin(&columns)?;
    let mut total = 0u64;
    for reader in searcher.segment_readers() {
        let docs: Vec<DocId> = reader.doc_ids_alive().collect();
        let mut cols: Vec<Vec<Option<String>>> = Vec::new();
        for f in CIM_FIELDS {
            let col = reader.fast_fields().str(f)?;
            cols.push(match col {
                Some(c) => values(&c, &docs)?,
                None => vec![None; docs.len()],
            });
        }
        let time = reader.fast_fields().i64(TIME)?;
        let rows: Vec<Vec<Cell>> = (0..docs.len())
            .map(|d| {
                let mut row: Vec<Cell> = cols
                    .iter_mut()
                    .map(|c| c[d].take().map_or_else(Cell::null, Cell::one))
                    .collect();
                row.push(
                    time.first(docs[d])
                        .map_or_else(Cell::null, |t| Cell::one(t.to_string())),
                );
                row
            })
            .collect();
        total += rows.len() as u64;
        sink.rows(&rows)?;
    }
    drop(sink);
    w.flush()?;
    eprintln!("export-rows: {total} rows");
    Ok(())
}

/// The value of every doc, decoding each distinct ordinal once.
fn values(col: &StrColumn, docs: &[DocId]) -> Result<Vec<Option<String>>> {
    let mut ords = vec![None; docs.len()];
    col.ords().first_vals(docs, &mut ords);
    let mut distinct: Vec<u64> = ords.iter().flatten().copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut texts = Vec::with_capacity(distinct.len());
    col.dictionary().sorted_ords_to_term_cb(&distinct, |b| {
        texts.push(String::from_utf8_lossy(b).into_owned())
    })?;
    Ok(ords
        .iter()
        .map(|o| {
            o.and_then(|o| distinct.binary_search(&o).ok())
                .and_then(|i| texts.get(i).cloned())
        })
        .collect())
}
