//! The `convert` command: `ctime` turns epoch seconds into text with a
//! strftime format (Splunk's default `%m/%d/%Y %H:%M:%S`).

use std::fmt::Write as _;

use chrono::format::{Item, StrftimeItems};
use chrono::DateTime;

use crate::commands::columns::set_column;
use crate::num::parse_num;
use crate::spl::ast::Conversion;
use crate::table::{Cell, Table};

/// Check a strftime format once; chrono panics when formatting a bad one.
fn checked_format(fmt: &str) -> Result<Vec<Item<'_>>, String> {
    let items: Vec<Item> = StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(fmt.to_string());
    }
    Ok(items)
}

/// Epoch seconds (possibly fractional) as UTC text; None if not a number.
pub fn ctime(value: &str, items: &[Item<'_>]) -> Option<String> {
    let secs = parse_num(value)?.floor();
    if !(-1e13..=1e13).contains(&secs) {
        return None;
    }
    let dt = DateTime::from_timestamp(secs as i64, 0)?;
    let mut out = String::new();
    write!(out, "{}", dt.format_with_items(items.iter())).ok()?;
    Some(out)
}

/// `convert ctime(f) [as g]`; a bad format is returned as the error.
pub fn apply(table: &mut Table, fmt: &str, conversions: &[Conversion]) -> Result<(), String> {
    let items = checked_format(fmt)?;
    for conv in conversions {
        // Only `ctime` is accepted by the parser.
        let Some(src) = table.column_index(&conv.field) else {
            continue;
        };
        let cells: Vec<Cell> = table
            .rows
            .iter()
            .map(|row| {
                let cell = row.get(src).cloned().unwrap_or_default();
                Cell(
                    cell.0
                        .into_iter()
                        .map(|v| ctime(&v, &items).unwrap_or(v))
                        .collect(),
                )
            })
            .collect();
        let target = conv.alias.as_deref().unwrap_or(&conv.field);
        set_column(table, target, cells);
    }
    Ok(())
}
