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

/// One CSV field: quoted when it holds `,`, `"` or a line break, quotes
/// doubled. A multi-value cell is its values joined by `\n`.
fn csv_field<'v>(
    values: impl Iterator<Item = &'v str> + Clone,
    out: &mut dyn Write,
) -> io::Result<()> {
    let quote = values
        .clone()
        .enumerate()
        .any(|(i, v)| i > 0 || v.contains([',', '"', '\n', '\r']));
    if quote {
        out.write_all(b"\"")?;
    }
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
        }
        if quote && v.contains('"') {
            out.write_all(v.replace('"', "\"\"").as_bytes())?;
        } else {
            out.write_all(v.as_bytes())?;
        }
    }
    if quote {
        out.write_all(b"\"")?;
    }
    Ok(())
}

fn csv_record<'r, C, V>(cells: C, out: &mut dyn Write) -> io::Result<()>
where
    C: Iterator<Item = V>,
    V: Iterator<Item = &'r str> + Clone,
{
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        csv_field(cell, out)?;
    }
    out.write_all(b"\n")
}

pub fn csv(t: &Table, out: &mut dyn Write) -> io::Result<()> {
    let mut sink = Streaming::new(Format::Csv, out);
    sink.begin(&t.columns)?;
    write_csv_rows(&t.rows, sink.out)
}

fn write_csv_rows(rows: &[Vec<Cell>], out: &mut dyn Write) -> io::Result<()> {
    for row in rows {
        csv_record(
            row.iter().map(|c: &Cell| c.0.iter().map(String::as_str)),
            out,
        )?;
    }
    Ok(())
}

/// A [`RowSink`] that writes CSV or JSON lines as rows arrive. (The
/// aligned text table needs every row for its widths: collect a
/// [`Table`] and call [`render`] for it.)
pub struct Streaming<'w> {
    format: Format,
    columns: Vec<String>,
    out: &'w mut dyn Write,
}

impl<'w> Streaming<'w> {
    pub fn new(format: Format, out: &'w mut dyn Write) -> Self {
        Streaming {
            format,
            columns: Vec::new(),
            out,
        }
    }
}

impl RowSink for Streaming<'_> {
    fn begin(&mut self, columns: &[String]) -> io::Result<()> {
        self.columns = columns.to_vec();
        match self.format {
            Format::Csv => csv_record(
                columns.iter().map(|c| std::iter::once(c.as_str())),
                self.out,
            ),
            _ => Ok(()),
        }
    }

    fn rows(&mut self, rows: Vec<Vec<Cell>>) -> io::Result<()> {
        match self.format {
            Format::Csv => write_csv_rows(&rows, self.out),
            _ => write_json_rows(&self.columns, &rows, self.out),
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
