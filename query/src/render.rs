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
    /// A multi-value cell, joined.
    joined: String,
}

enum Out<'w> {
    /// RFC 4180: a field is quoted when it holds `,`, `"` or a line break,
    /// quotes doubled; records end with `\n`.
    Csv(Box<csv::Writer<&'w mut dyn Write>>),
    Json(&'w mut dyn Write),
}

impl<'w> Streaming<'w> {
    /// A sink writing `format` (CSV or JSON lines; a table is written as
    /// CSV) to `out`.
    pub fn new(format: Format, out: &'w mut dyn Write) -> Self {
        let out = match format {
            Format::Json => Out::Json(out),
            Format::Csv | Format::Table => Out::Csv(Box::new(
                csv::WriterBuilder::new()
                    .quote_style(csv::QuoteStyle::Necessary)
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(out),
            )),
        };
        Streaming {
            columns: Vec::new(),
            out,
            joined: String::new(),
        }
    }

    /// One CSV record; a multi-value cell is its values joined by `\n`.
    fn csv_row(&mut self, row: &[Cell]) -> io::Result<()> {
        let Out::Csv(w) = &mut self.out else {
            return Ok(());
        };
        for cell in row {
            match cell.0.as_slice() {
                [one] => w.write_field(one)?,
                many => {
                    self.joined.clear();
                    for (i, v) in many.iter().enumerate() {
                        if i > 0 {
                            self.joined.push('\n');
                        }
                        self.joined.push_str(v);
                    }
                    w.write_field(&self.joined)?;
                }
            }
        }
        w.write_record(None::<&[u8]>)?;
        Ok(())
    }
}

impl RowSink for Streaming<'_> {
    fn begin(&mut self, columns: &[String]) -> io::Result<()> {
        self.columns = columns.to_vec();
        match &mut self.out {
            Out::Csv(w) => Ok(w.write_record(columns)?),
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
