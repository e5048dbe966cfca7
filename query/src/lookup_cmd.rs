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

use crate::columns::ensure_column;
use crate::lookup::LookupTable;
use crate::spl::ast::Lookup;
use crate::table::{Cell, Table};

/// Apply `cmd` with its loaded table. Errors name a field the lookup does
/// not have.
pub fn apply(table: &mut Table, cmd: &Lookup, lookup: &LookupTable) -> Result<(), String> {
    let mut inputs = Vec::with_capacity(cmd.inputs.len());
    for (lf, ef) in &cmd.inputs {
        let col = lookup
            .column_index(lf)
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
        let matched = lookup.matching_rows(&values);
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
