//! Row-shaping commands: `makemv`, `mvexpand`, `dedup` and `fillnull`.

use std::collections::HashMap;

use fancy_regex::Regex;

use crate::commands::columns::ensure_column;
use crate::spl::ast::MvSplit;
use crate::table::{Cell, Table};

/// `makemv`: split each value of `field` (a null field stays null).
pub fn makemv(
    table: &mut Table,
    field: &str,
    split: &MvSplit,
    allow_empty: bool,
) -> Result<(), String> {
    let Some(col) = table.column_index(field) else {
        return Ok(());
    };
    let tokenizer = match split {
        MvSplit::Tokenizer(re) => {
            Some(Regex::new(re).map_err(|e| format!("invalid tokenizer {re:?}: {e}"))?)
        }
        MvSplit::Delim(_) => None,
    };
    for row in &mut table.rows {
        let mut out = Vec::new();
        for v in &row[col].0 {
            match (split, &tokenizer) {
                (_, Some(re)) => {
                    for caps in re.captures_iter(v) {
                        let caps = caps.map_err(|e| format!("tokenizer: {e}"))?;
                        if let Some(m) = caps.get(1).or_else(|| caps.get(0)) {
                            if allow_empty || !m.as_str().is_empty() {
                                out.push(m.as_str().to_string());
                            }
                        }
                    }
                }
                (MvSplit::Delim(d), None) => {
                    if d.is_empty() {
                        out.push(v.clone());
                        continue;
                    }
                    out.extend(
                        v.split(d.as_str())
                            .filter(|p| allow_empty || !p.is_empty())
                            .map(str::to_string),
                    );
                }
                (MvSplit::Tokenizer(_), None) => {}
            }
        }
        row[col] = Cell(out);
    }
    Ok(())
}

/// `mvexpand`: one row per value of `field` (the first `limit` values);
/// a row where it is null stays as it is.
pub fn mvexpand(table: &mut Table, field: &str, limit: Option<usize>) {
    let Some(col) = table.column_index(field) else {
        return;
    };
    let rows = std::mem::take(&mut table.rows);
    for row in rows {
        if row[col].0.len() <= 1 {
            table.rows.push(row);
            continue;
        }
        let n = limit.unwrap_or(usize::MAX);
        for v in row[col].0.iter().take(n) {
            let mut r = row.clone();
            r[col] = Cell::one(v.clone());
            table.rows.push(r);
        }
    }
}

/// `dedup`: keep the first `count` rows of each combination of the
/// fields' values. A row missing one of them is dropped, or kept with
/// `keep_empty`; `consecutive` only removes runs of equal rows.
pub fn dedup(
    table: &mut Table,
    fields: &[String],
    count: usize,
    keep_empty: bool,
    consecutive: bool,
) {
    Dedup::new(fields, count, keep_empty, consecutive).apply(table);
}

/// `dedup` over rows that come in chunks: what it has seen is kept from
/// one chunk to the next (the keys, not the rows), so it streams.
pub struct Dedup {
    fields: Vec<String>,
    count: usize,
    keep_empty: bool,
    consecutive: bool,
    seen: HashMap<Vec<Cell>, usize>,
    last: Option<Vec<Cell>>,
    run: usize,
}

impl Dedup {
    pub fn new(fields: &[String], count: usize, keep_empty: bool, consecutive: bool) -> Self {
        Dedup {
            fields: fields.to_vec(),
            count: count.max(1),
            keep_empty,
            consecutive,
            seen: HashMap::new(),
            last: None,
            run: 0,
        }
    }

    /// Keep the rows of the next chunk that the rows so far leave in.
    pub fn apply(&mut self, table: &mut Table) {
        let cols: Vec<Option<usize>> = self.fields.iter().map(|f| table.column_index(f)).collect();
        table.retain_rows(|row| {
            let key: Vec<Cell> = cols
                .iter()
                .map(|c| c.and_then(|i| row.get(i)).cloned().unwrap_or_default())
                .collect();
            if key.iter().any(Cell::is_null) {
                return self.keep_empty;
            }
            if self.consecutive {
                if self.last.as_ref() == Some(&key) {
                    self.run += 1;
                } else {
                    self.run = 1;
                    self.last = Some(key);
                }
                return self.run <= self.count;
            }
            let n = self.seen.entry(key).or_insert(0);
            *n += 1;
            *n <= self.count
        });
    }
}

/// `fillnull`: null cells of `fields` (every column when none) become
/// `value`; a named field that does not exist is created.
pub fn fillnull(table: &mut Table, value: &str, fields: &[String]) {
    let cols: Vec<usize> = if fields.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        fields.iter().map(|f| ensure_column(table, f)).collect()
    };
    for row in &mut table.rows {
        for &c in &cols {
            if row[c].is_null() {
                row[c] = Cell::one(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::commands::columns::testutil::{col, run, t};

    #[test]
    fn makemv_delim_tokenizer_and_empty() {
        let mut tb = t(&["p", "q"], &[&["a  b c", "x,,y"], &["<null>", ""]]);
        run(&mut tb, "| makemv p | makemv delim=\",\" q");
        assert_eq!(col(&tb, "p"), ["a|b|c", "<null>"]);
        assert_eq!(col(&tb, "q"), ["x|y", "<null>"]);
        let mut tb = t(&["q"], &[&["x,,y"]]);
        run(&mut tb, "| makemv delim=\",\" allowempty=true q");
        assert_eq!(col(&tb, "q"), ["x||y"]);
        let mut tb = t(&["p"], &[&["iex (new-object net.webclient)"]]);
        run(&mut tb, "| makemv tokenizer=\"([\\w\\d\\-]+)\" p");
        assert_eq!(col(&tb, "p"), ["iex|new-object|net|webclient"]);
    }

    #[test]
    fn mvexpand_rows() {
        let mut tb = t(
            &["a", "b"],
            &[&["x|y|z", "1"], &["<null>", "2"], &["w", "3"]],
        );
        run(&mut tb, "| mvexpand a");
        assert_eq!(col(&tb, "a"), ["x", "y", "z", "<null>", "w"]);
        assert_eq!(col(&tb, "b"), ["1", "1", "1", "2", "3"]);
        let mut tb = t(&["a"], &[&["x|y|z"]]);
        run(&mut tb, "| mvexpand a limit=2");
        assert_eq!(col(&tb, "a"), ["x", "y"]);
    }

    #[test]
    fn dedup_variants() {
        let rows: &[&[&str]] = &[
            &["h1", "1"],
            &["h1", "2"],
            &["h2", "3"],
            &["<null>", "4"],
            &["h1", "5"],
        ];
        let mut tb = t(&["d", "n"], rows);
        run(&mut tb, "| dedup d");
        assert_eq!(col(&tb, "n"), ["1", "3"]);
        let mut tb = t(&["d", "n"], rows);
        run(&mut tb, "| dedup 2 d keepempty=true");
        assert_eq!(col(&tb, "n"), ["1", "2", "3", "4"]);
        let mut tb = t(&["d", "n"], rows);
        run(&mut tb, "| dedup d consecutive=true");
        assert_eq!(col(&tb, "n"), ["1", "3", "5"]);
        let mut tb = t(&["d", "n"], rows);
        run(&mut tb, "| dedup d sortby -n");
        assert_eq!(col(&tb, "n"), ["3", "1"]);
    }

    #[test]
    fn fillnull_all_and_named() {
        let mut tb = t(&["a", "b"], &[&["<null>", "x"], &["y", "<null>"]]);
        run(&mut tb, "| fillnull");
        assert_eq!(col(&tb, "a"), ["0", "y"]);
        assert_eq!(col(&tb, "b"), ["x", "0"]);
        let mut tb = t(&["a", "b"], &[&["<null>", "<null>"]]);
        run(&mut tb, "| fillnull value=unknown b c");
        assert_eq!(col(&tb, "a"), ["<null>"]);
        assert_eq!(col(&tb, "b"), ["unknown"]);
        assert_eq!(col(&tb, "c"), ["unknown"]);
    }
}
