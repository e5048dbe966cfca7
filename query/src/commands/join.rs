//! The `join` command: each row joined with the rows of a subsearch's
//! result that have the same values of the join fields.
//!
//! As in Splunk: values compare exactly (case-sensitively); with no field
//! list the join fields are the columns both sides have; `max` (1 by
//! default, 0 = no limit) matching rows are joined, each giving one row;
//! `type=inner` drops a row with no match (or with a null join field),
//! `type=left` keeps it; with `overwrite=true` (the default) a
//! subsearch value replaces the row's value of a same-named field.

use std::collections::HashMap;

use crate::spl::ast::Join;
use crate::table::{Cell, Table};

pub fn apply(table: &mut Table, cmd: &Join, sub: &Table) {
    let fields: Vec<String> = if cmd.fields.is_empty() {
        table
            .columns
            .iter()
            .filter(|c| sub.column_index(c).is_some())
            .cloned()
            .collect()
    } else {
        cmd.fields.clone()
    };
    let main_keys: Vec<Option<usize>> = fields.iter().map(|f| table.column_index(f)).collect();
    let sub_keys: Vec<Option<usize>> = fields.iter().map(|f| sub.column_index(f)).collect();
    let key = |row: &[Cell], cols: &[Option<usize>]| -> Option<Vec<Vec<String>>> {
        cols.iter()
            .map(|c| {
                let cell = c.and_then(|i| row.get(i))?;
                (!cell.is_null()).then(|| cell.0.clone())
            })
            .collect()
    };
    let mut index: HashMap<Vec<Vec<String>>, Vec<usize>> = HashMap::new();
    for (r, row) in sub.rows.iter().enumerate() {
        if let Some(k) = key(row, &sub_keys) {
            index.entry(k).or_default().push(r);
        }
    }
    // Where each subsearch column goes in the output.
    let mut columns = table.columns.clone();
    let targets: Vec<(usize, bool)> = sub
        .columns
        .iter()
        .map(|c| match columns.iter().position(|m| m == c) {
            Some(i) => (i, true),
            None => {
                columns.push(c.clone());
                (columns.len() - 1, false)
            }
        })
        .collect();
    let width = columns.len();
    let limit = if cmd.max == 0 { usize::MAX } else { cmd.max };
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in std::mem::take(&mut table.rows) {
        let matches = key(&row, &main_keys)
            .and_then(|k| index.get(&k))
            .map_or(&[][..], |v| v.as_slice());
        if matches.is_empty() {
            if cmd.left {
                let mut r = row;
                r.resize(width, Cell::null());
                rows.push(r);
            }
            continue;
        }
        for &m in matches.iter().take(limit) {
            let mut r = row.clone();
            r.resize(width, Cell::null());
            for (s, &(t, existed)) in targets.iter().enumerate() {
                let v = &sub.rows[m][s];
                if !existed || r[t].is_null() || (cmd.overwrite && !v.is_null()) {
                    r[t] = v.clone();
                }
            }
            rows.push(r);
        }
    }
    *table = Table { columns, rows };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::columns::testutil::{cmds, col, t};
    use crate::spl::ast::Command;

    fn join(table: &mut Table, text: &str, sub: &Table) {
        let Command::Join(j) = cmds(text).remove(0) else {
            panic!()
        };
        apply(table, &j, sub);
    }

    fn sides() -> (Table, Table) {
        let main = t(
            &["dest", "guid", "user"],
            &[
                &["h1", "g1", "bob"],
                &["h1", "g2", "eve"],
                &["h2", "g1", "<null>"],
                &["h1", "<null>", "x"],
            ],
        );
        let sub = t(
            &["dest", "guid", "child", "user"],
            &[
                &["h1", "g1", "a.exe", "SYSTEM"],
                &["h1", "g1", "b.exe", "<null>"],
                &["H1", "g2", "c.exe", "y"],
            ],
        );
        (main, sub)
    }

    #[test]
    fn unknown_keys_join_like_any_value() {
        let mut tb = t(
            &["dest", "guid"],
            &[
                &["unknown", "unknown"],
                &["h1", "g1"],
                &["<null>", "unknown"],
            ],
        );
        let sub = t(
            &["dest", "guid", "child"],
            &[&["unknown", "unknown", "x.exe"], &["h1", "g2", "y.exe"]],
        );
        join(&mut tb, "| join dest guid [| inputlookup x]", &sub);
        assert_eq!(col(&tb, "dest"), ["unknown"]);
        assert_eq!(col(&tb, "child"), ["x.exe"]);
    }

    #[test]
    fn inner_left_max_and_overwrite() {
        let (main, sub) = sides();
        let mut tb = main.clone();
        join(&mut tb, "| join dest guid [| inputlookup x]", &sub);
        assert_eq!(tb.columns, ["dest", "guid", "user", "child"]);
        assert_eq!(col(&tb, "child"), ["a.exe"]);
        assert_eq!(col(&tb, "user"), ["SYSTEM"]);
        let mut tb = main.clone();
        join(
            &mut tb,
            "| join max=0 overwrite=false dest, guid [| inputlookup x]",
            &sub,
        );
        assert_eq!(col(&tb, "child"), ["a.exe", "b.exe"]);
        assert_eq!(col(&tb, "user"), ["bob", "bob"]);
        let mut tb = main.clone();
        join(
            &mut tb,
            "| join type=left dest guid [| inputlookup x]",
            &sub,
        );
        assert_eq!(col(&tb, "child"), ["a.exe", "<null>", "<null>", "<null>"]);
        assert_eq!(col(&tb, "user"), ["SYSTEM", "eve", "<null>", "x"]);
        // No field list: the common columns (dest, guid, user).
        let mut tb = main;
        join(&mut tb, "| join type=outer [| inputlookup x]", &sub);
        assert_eq!(col(&tb, "child"), ["<null>"; 4]);
        let mut empty = t(&["dest"], &[]);
        join(&mut empty, "| join dest [| inputlookup x]", &sub);
        assert!(empty.rows.is_empty());
    }
}
