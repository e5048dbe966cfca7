//! Column operations shared by the commands after tstats: add or replace
//! a column, keep or reorder columns, keep rows, rename with wildcards.

use crate::spl::ast::Command;
use crate::table::{Cell, Table};

pub fn retain_rows(table: &mut Table, keep: &[bool]) {
    let mut i = 0;
    table.retain_rows(|_| {
        let k = keep.get(i).copied().unwrap_or(false);
        i += 1;
        k
    });
}

/// Replace or append a column.
pub fn set_column(table: &mut Table, name: &str, cells: Vec<Cell>) {
    match table.column_index(name) {
        Some(i) => {
            for (row, cell) in table.rows.iter_mut().zip(cells) {
                if let Some(slot) = row.get_mut(i) {
                    *slot = cell;
                }
            }
        }
        None => {
            table.columns.push(name.to_string());
            for (row, cell) in table.rows.iter_mut().zip(cells) {
                row.push(cell);
            }
        }
    }
}

/// Keep the columns at `idx` (in that order; `usize::MAX` = a new null column).
pub fn project(table: &mut Table, idx: &[usize]) {
    let n = table.columns.len();
    table.columns = idx
        .iter()
        .map(|&i| table.columns.get(i).cloned().unwrap_or_default())
        .collect();
    if idx.len() == n && idx.iter().enumerate().all(|(k, &i)| k == i) {
        // Every column in place (a rename): the cells stay where they are.
        for row in &mut table.rows {
            row.resize_with(n, Cell::default);
        }
        return;
    }
    // Cells move to their new place; only a column taken twice is copied.
    let mut seen = vec![false; n];
    let unique = idx
        .iter()
        .all(|&i| i >= n || !std::mem::replace(&mut seen[i], true));
    for row in &mut table.rows {
        let new: Vec<Cell> = idx
            .iter()
            .map(|&i| match row.get_mut(i) {
                Some(c) if unique => std::mem::take(c),
                Some(c) => c.clone(),
                None => Cell::default(),
            })
            .collect();
        *row = new;
    }
}

/// `rename`, `table` and `fields`: the commands that only move, rename
/// or drop columns; false (the table untouched) for any other.
pub fn reshape(table: &mut Table, cmd: &Command) -> bool {
    match cmd {
        Command::Rename(pairs) => {
            for (src, dst) in pairs {
                rename(table, src, dst);
            }
        }
        Command::Table(names) => select_columns(table, names, true),
        Command::Fields {
            remove: true,
            fields,
        } => {
            let globs: Vec<&str> = fields.iter().map(String::as_str).collect();
            let keep: Vec<usize> = (0..table.columns.len())
                .filter(|&i| !globs.iter().any(|g| name_matches(g, &table.columns[i])))
                .collect();
            project(table, &keep);
        }
        Command::Fields { fields, .. } => select_columns(table, fields, false),
        _ => return false,
    }
    true
}

/// `table` / `fields +`: named columns in the order given; globs expand to
/// the matching columns in table order. `table` also shows a named column
/// that does not exist (empty), as Splunk does.
pub fn select_columns(table: &mut Table, names: &[String], create_missing: bool) {
    let mut idx: Vec<usize> = Vec::new();
    let mut new_names: Vec<String> = Vec::new();
    for n in names {
        if n.contains('*') {
            for (i, c) in table.columns.iter().enumerate() {
                if name_matches(n, c) && !idx.contains(&i) {
                    idx.push(i);
                    new_names.push(c.clone());
                }
            }
        } else if let Some(i) = table.column_index(n) {
            if !idx.contains(&i) {
                idx.push(i);
                new_names.push(n.clone());
            }
        } else if create_missing && !new_names.contains(n) {
            idx.push(usize::MAX);
            new_names.push(n.clone());
        }
    }
    project(table, &idx);
    table.columns = new_names;
}

/// Case-sensitive wildcard match of field names (Splunk field names are
/// case-sensitive), returning what each `*` matched.
pub fn name_captures(pattern: &str, name: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return (pattern == name).then(Vec::new);
    }
    let first = parts[0];
    let last = parts[parts.len() - 1];
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return None;
    }
    let body = &name[first.len()..name.len() - last.len()];
    let mut caps = Vec::new();
    let mut pos = 0;
    // Inner pieces matched leftmost; the last `*` takes the remainder.
    for piece in &parts[1..parts.len() - 1] {
        let at = body[pos..].find(piece)?;
        caps.push(body[pos..pos + at].to_string());
        pos += at + piece.len();
    }
    caps.push(body[pos..].to_string());
    Some(caps)
}

pub fn name_matches(pattern: &str, name: &str) -> bool {
    name_captures(pattern, name).is_some()
}

/// `rename src as dst`; with wildcards each `*` in `dst` receives what the
/// corresponding `*` in `src` matched. A renamed column replaces any other
/// column that already had the new name.
pub fn rename(table: &mut Table, src: &str, dst: &str) {
    let mut new_names: Vec<Option<String>> = vec![None; table.columns.len()];
    for (i, col) in table.columns.iter().enumerate() {
        if let Some(caps) = name_captures(src, col) {
            let mut out = String::new();
            let mut caps = caps.into_iter();
            for (k, piece) in dst.split('*').enumerate() {
                if k > 0 {
                    out.push_str(&caps.next().unwrap_or_default());
                }
                out.push_str(piece);
            }
            if out != *col {
                new_names[i] = Some(out);
            }
        }
    }
    if new_names.iter().all(Option::is_none) {
        return;
    }
    let final_names: Vec<String> = table
        .columns
        .iter()
        .zip(&new_names)
        .map(|(c, n)| n.clone().unwrap_or_else(|| c.clone()))
        .collect();
    // Keep, for each final name, the renamed column (last one wins) over an
    // untouched column of the same name.
    let mut keep = Vec::new();
    for (i, name) in final_names.iter().enumerate() {
        let winner = (0..final_names.len())
            .rev()
            .filter(|&j| final_names[j] == *name)
            .find(|&j| new_names[j].is_some())
            .unwrap_or(i);
        if winner == i {
            keep.push(i);
        }
    }
    table.columns = final_names;
    project(table, &keep);
}

/// The index of column `name`, added (null in every row) when missing.
pub fn ensure_column(table: &mut Table, name: &str) -> usize {
    match table.column_index(name) {
        Some(i) => i,
        None => {
            table.columns.push(name.to_string());
            for row in &mut table.rows {
                row.push(Cell::null());
            }
            table.columns.len() - 1
        }
    }
}

/// The cell of `row` in column `col` (null when out of range).
pub fn cell_at(row: &[Cell], col: Option<usize>) -> &[String] {
    col.and_then(|i| row.get(i)).map_or(&[], |c| c.0.as_slice())
}

/// Small tables for the commands' tests.
#[cfg(test)]
pub(crate) mod testutil {
    use crate::table::{Cell, Table};

    /// A `fill` for `run_chunked` that gives `rows` in chunks of `size`.
    pub fn chunks_of(
        rows: &[Vec<Cell>],
        size: usize,
    ) -> impl FnMut(&mut Vec<Vec<Cell>>) -> bool + '_ {
        let mut chunks = rows.chunks(size).map(<[_]>::to_vec);
        move |buf| match chunks.next() {
            Some(c) => {
                *buf = c;
                true
            }
            None => false,
        }
    }

    /// A table; a cell `a|b` is multivalue, `<null>` is null.
    pub fn t(cols: &[&str], rows: &[&[&str]]) -> Table {
        Table {
            columns: cols.iter().map(|s| s.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|v| match *v {
                            "<null>" => Cell::null(),
                            v => Cell(v.split('|').map(str::to_string).collect()),
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// Process rows of the stats tests: two hosts and a null one, a
    /// multivalue, a value that is not a number.
    pub fn procs() -> Table {
        t(
            &["dest", "user", "process", "n", "_time"],
            &[
                &["h1", "bob", "cmd.exe", "3", "30"],
                &["h1", "eve", "net.exe|cmd.exe", "10", "10"],
                &["h2", "bob", "ipconfig", "x", "20"],
                &["<null>", "bob", "whoami", "1", "40"],
                &["h1", "bob", "cmd.exe", "2", "50"],
            ],
        )
    }

    /// A column's cells, multivalues joined with `|`, null as `<null>`.
    pub fn col(table: &Table, name: &str) -> Vec<String> {
        let i = table
            .column_index(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", table.columns));
        table
            .rows
            .iter()
            .map(|r| match r[i].is_null() {
                true => "<null>".to_string(),
                false => r[i].0.join("|"),
            })
            .collect()
    }

    /// The commands of `| tstats count from datamodel=X CMDS`.
    pub fn cmds(text: &str) -> Vec<crate::spl::ast::Command> {
        crate::spl::parser::parse_pipeline(&format!("| tstats count from datamodel=X {text}"))
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .commands
    }

    /// Apply commands (with no lookups or subsearches).
    pub fn run(table: &mut Table, text: &str) {
        crate::commands::apply_all(table, &cmds(text)).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}
