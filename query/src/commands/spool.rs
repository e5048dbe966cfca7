//! Rows kept on disk between two passes over a result: a command that
//! needs every row before it gives any (`eventstats`) reads them once to
//! learn its groups and once more to give them out, and holding them in
//! memory between the passes would make memory follow the result. They go
//! to an unnamed temporary file (gone when closed, even after a kill).
//!
//! Per row: its number of cells, then per cell its number of values and
//! each value as a length and bytes (u32, little-endian).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use crate::table::{Cell, RowSink};

/// Rows read back per chunk, at most; a chunk also ends past
/// [`CHUNK_BYTES`] of text.
const CHUNK_ROWS: usize = 4096;
const CHUNK_BYTES: usize = 2 << 20;

/// Rows being written (a [`RowSink`]); [`Spool::read`] turns it into a
/// reader from the first row.
pub struct Spool {
    columns: Vec<String>,
    out: BufWriter<File>,
    rows: u64,
}

impl Spool {
    pub fn new() -> io::Result<Self> {
        Ok(Spool {
            columns: Vec::new(),
            out: BufWriter::with_capacity(1 << 16, tempfile::tempfile()?),
            rows: 0,
        })
    }

    /// The columns given to [`RowSink::begin`].
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The rows written, from the first.
    pub fn read(self) -> io::Result<SpoolReader> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(SpoolReader {
            input: BufReader::with_capacity(1 << 16, file),
            left: self.rows,
        })
    }
}

impl RowSink for Spool {
    fn begin(&mut self, columns: &[String]) -> io::Result<()> {
        self.columns = columns.to_vec();
        Ok(())
    }

    fn rows(&mut self, rows: &[Vec<Cell>]) -> io::Result<()> {
        rows.iter()
            .try_for_each(|row| put_row(&mut self.out, row))?;
        self.rows += rows.len() as u64;
        Ok(())
    }
}

/// Rows read back from a [`Spool`], a chunk at a time.
pub struct SpoolReader {
    input: BufReader<File>,
    left: u64,
}

impl SpoolReader {
    /// The next chunk into `buf` (its rows and strings reused); false when
    /// no row is left.
    pub fn next_chunk(&mut self, buf: &mut Vec<Vec<Cell>>) -> io::Result<bool> {
        let (mut n, mut bytes) = (0, 0);
        while self.left > 0 && n < CHUNK_ROWS && bytes < CHUNK_BYTES {
            if buf.len() == n {
                buf.push(Vec::new());
            }
            bytes += get_row(&mut self.input, &mut buf[n])?;
            self.left -= 1;
            n += 1;
        }
        buf.truncate(n);
        Ok(n > 0)
    }
}

/// Write `row` in the spool's layout (also a sorted run's rows).
pub(super) fn put_row(out: &mut impl Write, row: &[Cell]) -> io::Result<()> {
    put_len(out, row.len())?;
    for cell in row {
        put_len(out, cell.0.len())?;
        for v in &cell.0 {
            put_len(out, v.len())?;
            out.write_all(v.as_bytes())?;
        }
    }
    Ok(())
}

/// Read a row written by [`put_row`] into `row`, reusing its cells and
/// strings; returns the bytes of text read.
pub(super) fn get_row(input: &mut impl Read, row: &mut Vec<Cell>) -> io::Result<usize> {
    let mut bytes = 0;
    let cells = get_len(input)?;
    row.truncate(cells);
    row.resize_with(cells, Cell::null);
    for cell in row.iter_mut() {
        let values = get_len(input)?;
        cell.0.truncate(values);
        cell.0.resize_with(values, String::new);
        for v in cell.0.iter_mut() {
            let len = get_len(input)?;
            let mut bytes_of = std::mem::take(v).into_bytes();
            bytes_of.clear();
            bytes_of.resize(len, 0);
            input.read_exact(&mut bytes_of)?;
            *v = String::from_utf8(bytes_of)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            bytes += len;
        }
    }
    Ok(bytes)
}

fn put_len(out: &mut impl Write, n: usize) -> io::Result<()> {
    let n = u32::try_from(n)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a value over 4 GiB"))?;
    out.write_all(&n.to_le_bytes())
}

fn get_len(input: &mut impl Read) -> io::Result<usize> {
    let mut b = [0u8; 4];
    input.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_written_in_chunks() {
        let rows: Vec<Vec<Cell>> = (0..10_000)
            .map(|i| {
                vec![
                    Cell::one(format!("host-{i}")),
                    Cell::null(),
                    Cell(vec!["a".into(), String::new(), "ü 日本".repeat(i % 7)]),
                ]
            })
            .collect();
        let mut spool = Spool::new().unwrap();
        spool.begin(&["a".into(), "b".into(), "c".into()]).unwrap();
        for part in rows.chunks(333) {
            spool.rows(part).unwrap();
        }
        assert_eq!(spool.columns(), ["a", "b", "c"]);
        let mut reader = spool.read().unwrap();
        let (mut back, mut buf, mut chunks) = (Vec::new(), Vec::new(), 0);
        while reader.next_chunk(&mut buf).unwrap() {
            back.extend(buf.iter().cloned());
            chunks += 1;
        }
        assert_eq!(back, rows);
        assert_eq!(chunks, rows.len().div_ceil(CHUNK_ROWS));
    }
}
