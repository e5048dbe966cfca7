//! Render a result table: aligned text for a terminal, CSV (RFC 4180,
//! multi-values joined by newlines inside one cell, as Splunk exports
//! them), or JSON (one object per row; multi-values as arrays).

use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use crate::table::{Cell, RowSink, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

pub fn render(t: &Table, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => text(t, out),
        Format::Csv => csv(t, out),
        Format::Json => json(t, out),
    }
}

pub fn csv(t: &Table, out: &mut dyn Write) -> io::Result<()> {
    let mut sink = Streaming::new(Format::Csv, out);
    sink.begin(&t.columns)?;
    for row in &t.rows {
        sink.csv_row(row)?;
    }
    sink.finish()
}

/// A [`RowSink`] that writes CSV or JSON lines as rows arrive. (The
/// aligned text table needs every row for its widths: collect a
/// [`Table`] and call [`render`] for it.)
pub struct Streaming<'w> {
    columns: Vec<String>,
    out: Out<'w>,
}

enum Out<'w> {
    Csv(CsvWriter<'w>),
    Json(&'w mut dyn Write),
}

impl<'w> Streaming<'w> {
    /// A sink writing `format` (CSV or JSON lines; a table is written as
    /// CSV) to `out`.
    pub fn new(format: Format, out: &'w mut dyn Write) -> Self {
        let out = match format {
            Format::Json => Out::Json(out),
            Format::Csv | Format::Table => Out::Csv(CsvWriter {
                out,
                buf: Vec::with_capacity(CSV_BUFFER + 4096),
            }),
        };
        Streaming {
            columns: Vec::new(),
            out,
        }
    }

    /// One CSV record; a multi-value cell is its values joined by `\n`.
    fn csv_row(&mut self, row: &[Cell]) -> io::Result<()> {
        let Out::Csv(w) = &mut self.out else {
            return Ok(());
        };
        w.record(row.iter().map(|cell| cell.0.as_slice()))
    }
}

/// Bytes of CSV gathered before they are written out.
const CSV_BUFFER: usize = 1 << 16;

/// RFC 4180 as the `csv` crate writes it with `QuoteStyle::Necessary`: a
/// field is quoted when it holds `,`, `"`, `\r` or `\n`, quotes doubled; a
/// record whose fields are all empty and unseparated is `""`; records end
/// with `\n`. Written here because the crate tests a field byte by byte
/// and copies it through a second buffer, a tenth of the time of printing
/// a wide group-by; [`needs_quotes`] tests many bytes at a time.
struct CsvWriter<'w> {
    out: &'w mut dyn Write,
    buf: Vec<u8>,
}

impl CsvWriter<'_> {
    /// One record; each field is its values joined by `\n`.
    fn record<'v>(&mut self, fields: impl Iterator<Item = &'v [String]>) -> io::Result<()> {
        let start = self.buf.len();
        for (i, values) in fields.enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            let quote = values.iter().any(|v| needs_quotes(v.as_bytes())) || values.len() > 1;
            if quote {
                self.buf.push(b'"');
            }
            for (j, v) in values.iter().enumerate() {
                if j > 0 {
                    self.buf.push(b'\n');
                }
                match quote {
                    true => push_quoted(&mut self.buf, v.as_bytes()),
                    false => self.buf.extend_from_slice(v.as_bytes()),
                }
            }
            if quote {
                self.buf.push(b'"');
            }
        }
        if self.buf.len() == start {
            self.buf.extend_from_slice(b"\"\"");
        }
        self.buf.push(b'\n');
        if self.buf.len() >= CSV_BUFFER {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

impl Drop for CsvWriter<'_> {
    /// Rows not yet written go out (the `csv` crate's writer did the
    /// same); an error here has nowhere to go.
    fn drop(&mut self) {
        let _ = self.out.write_all(&self.buf);
    }
}

/// Whether `v` holds a byte that must be quoted. Every byte is tested,
/// without an early exit, so that the loop compiles to vector compares
/// (most fields are short, where `memchr`'s set-up costs more).
fn needs_quotes(v: &[u8]) -> bool {
    v.iter().fold(false, |any, &b| {
        any | matches!(b, b',' | b'"' | b'\n' | b'\r')
    })
}

/// `v` with each `"` doubled.
fn push_quoted(buf: &mut Vec<u8>, mut v: &[u8]) {
    while let Some(at) = memchr::memchr(b'"', v) {
        buf.extend_from_slice(&v[..=at]);
        buf.push(b'"');
        v = &v[at + 1..];
    }
    buf.extend_from_slice(v);
}

impl RowSink for Streaming<'_> {
    fn begin(&mut self, columns: &[String]) -> io::Result<()> {
        self.columns = columns.to_vec();
        match &mut self.out {
            Out::Csv(w) => w.record(columns.iter().map(std::slice::from_ref)),
            Out::Json(_) => Ok(()),
        }
    }

    fn rows(&mut self, rows: &[Vec<Cell>]) -> io::Result<()> {
        match &mut self.out {
            Out::Csv(_) => rows.iter().try_for_each(|r| self.csv_row(r)),
            Out::Json(out) => write_json_rows(&self.columns, rows, *out),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match &mut self.out {
            Out::Csv(w) => w.flush(),
            Out::Json(out) => out.flush(),
        }
    }
}

fn json(t: &Table, out: &mut dyn Write) -> io::Result<()> {
    write_json_rows(&t.columns, &t.rows, out)
}

fn write_json_rows(columns: &[String], rows: &[Vec<Cell>], out: &mut dyn Write) -> io::Result<()> {
    for row in rows {
        let mut obj = serde_json::Map::new();
        for (name, cell) in columns.iter().zip(row) {
            let v = match cell.0.len() {
                0 => serde_json::Value::Null,
                1 => serde_json::Value::String(cell.0[0].clone()),
                _ => serde_json::Value::Array(
                    cell.0
                        .iter()
                        .cloned()
                        .map(serde_json::Value::String)
                        .collect(),
                ),
            };
            obj.insert(name.clone(), v);
        }
        serde_json::to_writer(&mut *out, &serde_json::Value::Object(obj))?;
        writeln!(out)?;
    }
    Ok(())
}

/// Widest a text column gets before its values are cut with `…`.
const MAX_WIDTH: usize = 80;

fn text(t: &Table, out: &mut dyn Write) -> io::Result<()> {
    let clip = |s: &str| -> String {
        let s = s.replace(['\n', '\r', '\t'], " ");
        if s.width() > MAX_WIDTH {
            let mut width = 0;
            let cut: String = s
                .chars()
                .take_while(|ch| {
                    width += unicode_width::UnicodeWidthChar::width(*ch).unwrap_or(0);
                    width < MAX_WIDTH
                })
                .collect();
            format!("{cut}…")
        } else {
            s
        }
    };
    // Each row spans as many lines as its largest multi-value cell.
    let rows: Vec<Vec<Vec<String>>> = t
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| c.0.iter().map(|v| clip(v)).collect())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = t.columns.iter().map(|c| c.width()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            for v in c {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(v.width());
                }
            }
        }
    }
    let line = |cells: Vec<&str>, out: &mut dyn Write| -> io::Result<()> {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.width()))))
            .collect();
        writeln!(out, "{}", parts.join("  ").trim_end())
    };
    line(t.columns.iter().map(String::as_str).collect(), out)?;
    line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
        out,
    )?;
    for r in &rows {
        let height = r.iter().map(|c| c.len()).max().unwrap_or(1).max(1);
        for h in 0..height {
            line(
                r.iter()
                    .map(|c| c.get(h).map_or("", String::as_str))
                    .collect(),
                out,
            )?;
        }
    }
    writeln!(
        out,
        "({} row{})",
        t.rows.len(),
        if t.rows.len() == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::{Format, Streaming};
    use crate::table::{Cell, RowSink};

    /// The CSV of these rows as the `csv` crate writes it (RFC 4180,
    /// quotes where necessary, `\n` between records).
    fn csv_crate(columns: &[String], rows: &[Vec<Cell>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Necessary)
            .terminator(csv::Terminator::Any(b'\n'))
            .flexible(true)
            .from_writer(Vec::new());
        w.write_record(columns).unwrap();
        for row in rows {
            w.write_record(row.iter().map(|c| c.0.join("\n"))).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn csv_is_the_csv_crates() {
        let texts = [
            "",
            "plain",
            "a,b",
            "say \"hi\"",
            "\"",
            "line\nbreak",
            "cr\rhere",
            "é ü",
            "C:\\Windows\\cmd.exe /c \"x, y\"",
            " spaced ",
            "#hash",
            "'quote'",
        ];
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for a in texts {
            for b in texts {
                rows.push(vec![Cell::one(a), Cell::one(b)]);
            }
            rows.push(vec![Cell::one(a)]);
            rows.push(vec![
                Cell(vec![a.to_string(), "x".to_string()]),
                Cell::null(),
            ]);
        }
        rows.push(Vec::new());
        rows.push(vec![Cell::null()]);
        rows.push(vec![Cell::null(), Cell::null()]);
        rows.push(vec![Cell(vec![String::new(), String::new()])]);
        let columns = vec!["process".to_string(), "count, all".to_string()];
        let mut out = Vec::new();
        let mut sink = Streaming::new(Format::Csv, &mut out);
        sink.begin(&columns).unwrap();
        sink.rows(&rows).unwrap();
        sink.finish().unwrap();
        drop(sink);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(csv_crate(&columns, &rows)).unwrap()
        );
    }
}
