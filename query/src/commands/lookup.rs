//! The `lookup` command: enrich each row from a lookup table
//! ([`crate::lookup`]), with Splunk's OUTPUT / OUTPUTNEW rules.
//!
//! - A row whose input field is null is not looked up (left as it is).
//! - OUTPUT writes every output field, null when nothing matched (and no
//!   `default_match` applies); OUTPUTNEW writes only the fields the row
//!   does not have yet.
//! - Several matching rows give a multivalue field (file order); fewer
//!   than `min_matches` are padded with `default_match`.
//! - A multivalue input matches when any of its values does.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::commands::columns::ensure_column;
use crate::lookups::LookupTable;
use crate::spl::ast::Lookup;
use crate::table::{Cell, Table};

/// Apply `cmd` with its loaded table. Errors name a field the lookup does
/// not have.
pub fn apply(table: &mut Table, cmd: &Lookup, lookup: &LookupTable) -> Result<(), String> {
    let mut inputs = Vec::with_capacity(cmd.inputs.len());
    for (lf, ef) in &cmd.inputs {
        // An ES lookup without rows has no columns: nothing matches it.
        let col = lookup
            .column_index(lf)
            .or(lookup.is_es_placeholder().then_some(0))
            .ok_or_else(|| format!("lookup `{}` has no field `{lf}`", cmd.name))?;
        inputs.push((col, table.column_index(ef)));
    }
    // (lookup column, event column name); all non-input fields when none given.
    let outputs: Vec<(Option<usize>, String)> = if cmd.outputs.is_empty() {
        (0..lookup.columns.len())
            .filter(|c| !inputs.iter().any(|(i, _)| i == c))
            .map(|c| (Some(c), lookup.columns[c].clone()))
            .collect()
    } else {
        let mut v = Vec::new();
        for (lf, ef) in &cmd.outputs {
            // An ES lookup without rows has no columns: its outputs stay null.
            let col = lookup.column_index(lf);
            if col.is_none() && !lookup.columns.is_empty() {
                return Err(format!("lookup `{}` has no field `{lf}`", cmd.name));
            }
            v.push((col, ef.clone()));
        }
        v
    };
    let out_cols: Vec<usize> = outputs
        .iter()
        .map(|(_, ef)| ensure_column(table, ef))
        .collect();
    // The rows each input's values matched: a result's rows repeat a few
    // values (a process name per host and command line), and a wildcard
    // lookup tests every pattern of the table for each.
    let mut matched_by: HashMap<String, Vec<usize>> = HashMap::new();
    let mut memo_key = String::new();
    for row in &mut table.rows {
        let mut values: Vec<(usize, &[String])> = Vec::with_capacity(inputs.len());
        let mut missing = false;
        for (lc, ec) in &inputs {
            let v = ec
                .and_then(|i| row.get(i))
                .map_or(&[][..], |c| c.0.as_slice());
            if v.is_empty() {
                missing = true;
                break;
            }
            values.push((*lc, v));
        }
        if missing {
            continue;
        }
        // Counts and lengths first: no two inputs give the same key.
        memo_key.clear();
        for (_, vals) in &values {
            let _ = write!(memo_key, "{};", vals.len());
            for v in vals.iter() {
                let _ = write!(memo_key, "{}:{v}", v.len());
            }
        }
        let matched: &[usize] = match matched_by.get(&memo_key) {
            Some(rows) => rows,
            None => matched_by
                .entry(memo_key.clone())
                .or_insert_with(|| lookup.matching_rows(&values)),
        };
        let pad = lookup.min_matches.saturating_sub(matched.len());
        for ((lc, _), &oc) in outputs.iter().zip(&out_cols) {
            if cmd.output_new && !row[oc].is_null() {
                continue;
            }
            let mut vals: Vec<String> = match lc {
                Some(lc) => matched
                    .iter()
                    .filter_map(|&r| lookup.rows[r].get(*lc))
                    .filter(|v| !v.is_empty())
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            vals.extend(std::iter::repeat_n(lookup.default_match.clone(), pad));
            row[oc] = Cell(vals);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::commands::columns::testutil::{cmds, col, t};
    use crate::lookups::LookupTable;
    use crate::spl::ast::Command;

    fn tools() -> LookupTable {
        let rows = [
            ["*psexec*", "remote exec", "high"],
            ["mimikatz.exe", "creds", "high"],
            ["MIMIKATZ.EXE", "creds again", ""],
            ["net.exe", "discovery", "low"],
        ];
        LookupTable::new(
            "tools",
            vec!["name".into(), "description".into(), "level".into()],
            rows.iter()
                .map(|r| r.iter().map(|s| s.to_string()).collect())
                .collect(),
            &["name".to_string()],
            &[],
        )
    }

    fn run(table: &mut Table, text: &str, lookup: LookupTable) {
        let lookup = Arc::new(lookup);
        for c in cmds(text) {
            let Command::Lookup(l) = c else {
                panic!("{c:?}")
            };
            apply(table, &l, &lookup).unwrap();
        }
    }

    #[test]
    fn unknown_is_looked_up_like_any_value() {
        let mut tb = t(
            &["process_name", "description"],
            &[
                &["unknown", "old"],
                &["UNKNOWN", "<null>"],
                &["cmd.exe", "old"],
            ],
        );
        // No row for `unknown`: OUTPUT clears, as for any value without a match.
        run(
            &mut tb,
            "| lookup tools name AS process_name OUTPUT description",
            tools(),
        );
        assert_eq!(col(&tb, "description"), ["<null>", "<null>", "<null>"]);
        // A row for `unknown` matches it (case-insensitively, by default).
        let with_unknown = LookupTable::new(
            "tools",
            vec!["name".into(), "description".into()],
            vec![vec!["unknown".into(), "no name".into()]],
            &["name".to_string()],
            &[],
        );
        run(
            &mut tb,
            "| lookup tools name AS process_name OUTPUTNEW description",
            with_unknown,
        );
        assert_eq!(col(&tb, "description"), ["no name", "no name", "<null>"]);
    }

    #[test]
    fn an_es_lookup_without_rows_matches_nothing() {
        // ESCU's remote_access_software_usage_exceptions macro reads
        // `asset_lookup_by_str asset as x OUTPUTNEW asset as y`.
        let mut tb = t(&["dest", "y"], &[&["h1", "<null>"], &["h2", "kept"]]);
        let es = LookupTable::new("asset_lookup_by_str", vec![], vec![], &[], &[]);
        run(
            &mut tb,
            "| lookup update=true asset_lookup_by_str asset as dest OUTPUTNEW asset as y",
            es,
        );
        assert_eq!(col(&tb, "y"), ["<null>", "kept"]);
        let mut tb = t(&["dest"], &[&["h1"]]);
        let err = {
            let l = match &cmds("| lookup tools nosuch AS dest")[0] {
                Command::Lookup(l) => l.clone(),
                c => panic!("{c:?}"),
            };
            apply(&mut tb, &l, &tools()).unwrap_err()
        };
        assert_eq!(err, "lookup `tools` has no field `nosuch`");
        // A lookup of the user's with no columns (an empty CSV) is no ES one.
        let empty = LookupTable::new("mine", vec![], vec![], &[], &[]);
        let l = match &cmds("| lookup mine x AS dest OUTPUT y")[0] {
            Command::Lookup(l) => l.clone(),
            c => panic!("{c:?}"),
        };
        assert_eq!(
            apply(&mut tb, &l, &empty).unwrap_err(),
            "lookup `mine` has no field `x`"
        );
    }

    #[test]
    fn wildcard_case_insensitive_multivalue_and_null() {
        let mut tb = t(
            &["process_name", "description"],
            &[
                &["PsExec64.exe", "old"],
                &["Mimikatz.exe", "<null>"],
                &["cmd.exe", "old"],
                &["<null>", "old"],
                &["cmd.exe|net.exe", "<null>"],
            ],
        );
        run(
            &mut tb,
            "| lookup tools name AS process_name OUTPUT description, level AS sev",
            tools(),
        );
        assert_eq!(
            col(&tb, "description"),
            [
                "remote exec",
                "creds|creds again",
                "<null>",
                "old",
                "discovery"
            ]
        );
        // An empty lookup cell is no value.
        assert_eq!(col(&tb, "sev"), ["high", "high", "<null>", "<null>", "low"]);
    }

    /// Rows with the same input values share one match; values that only
    /// read alike when run together (`net` and `.exe`, `net.exe`) do not.
    #[test]
    fn repeated_inputs_match_once_and_distinct_ones_apart() {
        let mut tb = t(
            &["process_name"],
            &[
                &["net|.exe"],
                &["net.exe"],
                &["NET.EXE"],
                &["net|.exe"],
                &["psexec.exe"],
            ],
        );
        run(
            &mut tb,
            "| lookup tools name AS process_name OUTPUT description",
            tools(),
        );
        assert_eq!(
            col(&tb, "description"),
            ["<null>", "discovery", "discovery", "<null>", "remote exec"]
        );
    }

    #[test]
    fn outputnew_keeps_existing_values_and_no_output_clause_takes_all() {
        let mut tb = t(
            &["name", "description"],
            &[&["net.exe", "mine"], &["net.exe", "<null>"]],
        );
        run(
            &mut tb,
            "| lookup tools name OUTPUTNEW description",
            tools(),
        );
        assert_eq!(col(&tb, "description"), ["mine", "discovery"]);
        let mut tb = t(&["name"], &[&["net.exe"]]);
        run(&mut tb, "| lookup tools name", tools());
        assert_eq!(tb.columns, ["name", "description", "level"]);
        assert_eq!(col(&tb, "level"), ["low"]);
    }

    #[test]
    fn min_matches_default_match_and_case_sensitivity() {
        let lk = || tools().with_matches(1, 1, "false");
        let mut tb = t(&["p"], &[&["calc.exe"], &["MIMIKATZ.exe"]]);
        run(&mut tb, "| lookup tools name AS p OUTPUT description", lk());
        // No match: default_match; max_matches=1: the first matching row.
        assert_eq!(col(&tb, "description"), ["false", "creds"]);
        let mut tb = t(&["p"], &[&["MIMIKATZ.EXE"], &["Net.exe"]]);
        run(
            &mut tb,
            "| lookup tools name AS p OUTPUT description",
            tools().with_case_sensitive(true),
        );
        assert_eq!(col(&tb, "description"), ["creds again", "<null>"]);
    }

    #[test]
    fn several_inputs_and_cidr() {
        let nets = LookupTable::new(
            "nets",
            vec!["net".into(), "zone".into(), "site".into()],
            vec![
                vec!["10.0.0.0/8".into(), "internal".into(), "a".into()],
                vec!["10.1.0.0/16".into(), "lab".into(), "b".into()],
                vec!["0.0.0.0/0".into(), "any".into(), "a".into()],
            ],
            &[],
            &["net".to_string()],
        );
        let mut tb = t(
            &["ip", "site"],
            &[&["10.1.2.3", "b"], &["8.8.8.8", "a"], &["host", "a"]],
        );
        run(&mut tb, "| lookup nets net AS ip site OUTPUT zone", nets);
        assert_eq!(col(&tb, "zone"), ["lab", "any", "<null>"]);
    }

    #[test]
    fn unknown_lookup_field_is_an_error() {
        let mut tb = t(&["p"], &[&["x"]]);
        let Command::Lookup(l) = cmds("| lookup tools nope AS p").remove(0) else {
            panic!()
        };
        let e = apply(&mut tb, &l, &tools()).unwrap_err();
        assert!(e.contains("no field `nope`"), "{e}");
        // Empty input: nothing to do, the output column still exists.
        let mut tb = t(&["p"], &[]);
        run(&mut tb, "| lookup tools name AS p OUTPUT level", tools());
        assert_eq!(tb.columns, ["p", "level"]);
    }
}
