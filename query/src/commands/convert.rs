//! The `convert` command: `ctime` turns epoch seconds into text with a
//! strftime format (Splunk's default `%m/%d/%Y %H:%M:%S`).

use std::fmt::Write as _;

use chrono::format::{Item, Numeric, Pad, StrftimeItems};
use chrono::{DateTime, Datelike as _, NaiveDateTime, Timelike as _};

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
    let mut out = String::new();
    ctime_into(value, items, &mut out).then_some(out)
}

/// [`ctime`] into `out` (cleared first); false if `value` is not a number.
fn ctime_into(value: &str, items: &[Item<'_>], out: &mut String) -> bool {
    out.clear();
    let Some(secs) = parse_num(value).map(f64::floor) else {
        return false;
    };
    if !(-1e13..=1e13).contains(&secs) {
        return false;
    }
    let Some(dt) = DateTime::from_timestamp(secs as i64, 0) else {
        return false;
    };
    if !format_plain(&dt.naive_utc(), items, out) {
        out.clear();
        if write!(out, "{}", dt.format_with_items(items.iter())).is_err() {
            return false;
        }
    }
    true
}

/// Format the common strftime items (literals and zero-padded date and
/// time numbers, as ESCU's formats use) without the formatting machinery,
/// which was a third of a large hunt's time; false for any other item (the
/// caller then lets chrono format).
fn format_plain(t: &NaiveDateTime, items: &[Item<'_>], out: &mut String) -> bool {
    fn two(out: &mut String, n: u32) {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    }
    for item in items {
        match item {
            Item::Literal(s) | Item::Space(s) => out.push_str(s),
            Item::OwnedLiteral(s) | Item::OwnedSpace(s) => out.push_str(s),
            Item::Numeric(n, Pad::Zero) => match n {
                Numeric::Year if (0..=9999).contains(&t.year()) => {
                    let y = t.year() as u32;
                    two(out, y / 100);
                    two(out, y % 100);
                }
                Numeric::Month => two(out, t.month()),
                Numeric::Day => two(out, t.day()),
                Numeric::Hour => two(out, t.hour()),
                Numeric::Minute => two(out, t.minute()),
                Numeric::Second => two(out, t.second()),
                _ => return false,
            },
            _ => return false,
        }
    }
    true
}

/// `convert ctime(f) [as g]`; a bad format is returned as the error.
pub fn apply(table: &mut Table, fmt: &str, conversions: &[Conversion]) -> Result<(), String> {
    let items = checked_format(fmt)?;
    let mut text = String::new();
    for conv in conversions {
        // Only `ctime` is accepted by the parser.
        let Some(src) = table.column_index(&conv.field) else {
            continue;
        };
        let target = conv.alias.as_deref().unwrap_or(&conv.field);
        if target == conv.field {
            // In place: each value that is a number becomes its text.
            for cell in table.rows.iter_mut().filter_map(|row| row.get_mut(src)) {
                for v in cell.0.iter_mut() {
                    if ctime_into(v, &items, &mut text) {
                        std::mem::swap(v, &mut text);
                    }
                }
            }
            continue;
        }
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
        set_column(table, target, cells);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain formatter writes what chrono writes.
    #[test]
    fn plain_format_equals_chrono() {
        let formats = [
            "%m/%d/%Y %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
            "%d.%m.%Y",
            "%Y-%m-%d %H:%M:%S %Z",
            "%b %e %y %p",
        ];
        let times = [
            0i64,
            1_700_000_000,
            951_782_400,
            -86_401,
            253_402_300_799,
            1_234_567_890,
        ];
        for fmt in formats {
            let items = checked_format(fmt).unwrap();
            for t in times {
                let dt = DateTime::from_timestamp(t, 0).unwrap();
                let want = dt.format_with_items(items.iter()).to_string();
                assert_eq!(ctime(&t.to_string(), &items), Some(want), "{fmt} {t}");
            }
        }
        assert_eq!(ctime("not a time", &checked_format("%Y").unwrap()), None);
    }
}
