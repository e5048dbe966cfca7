//! Render a result table: aligned text for a terminal, CSV (RFC 4180,
//! multi-values joined by newlines inside one cell, as Splunk exports
//! them), or JSON (one object per row; multi-values as arrays).

use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use crate::table::{Cell, Table};

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

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn joined(c: &Cell) -> String {
    c.0.join("\n")
}

pub fn csv(t: &Table, out: &mut dyn Write) -> io::Result<()> {
    let header: Vec<String> = t.columns.iter().map(|c| csv_field(c)).collect();
    writeln!(out, "{}", header.join(","))?;
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| csv_field(&joined(c))).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

fn json(t: &Table, out: &mut dyn Write) -> io::Result<()> {
    for row in &t.rows {
        let mut obj = serde_json::Map::new();
        for (name, cell) in t.columns.iter().zip(row) {
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
