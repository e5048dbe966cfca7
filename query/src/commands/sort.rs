//! The `sort` command's order: nulls first, then numbers, then strings
//! (`str(f)` compares as text); a stable sort.

use std::cmp::Ordering;

use crate::num::parse_num;
use crate::spl::ast::SortKey;
use crate::table::{Cell, Table};

/// Splunk's `sort` keeps at most this many rows unless a count is given.
pub const SORT_DEFAULT_LIMIT: usize = 10_000;

/// Order for `sort`: nulls first, then numbers, then strings.
fn sort_cmp(a: Option<&str>, b: Option<&str>, kind: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => {
            if kind == Some("str") {
                return x.cmp(y);
            }
            match (parse_num(x), parse_num(y)) {
                (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(Ordering::Equal),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => x.cmp(y),
            }
        }
    }
}

pub fn sort(table: &mut Table, keys: &[SortKey]) {
    let idx: Vec<(Option<usize>, &SortKey)> = keys
        .iter()
        .map(|k| (table.column_index(&k.field), k))
        .collect();
    table.rows.sort_by(|ra, rb| {
        for (col, key) in &idx {
            let get = |r: &Vec<Cell>| {
                col.and_then(|i| r.get(i))
                    .and_then(|c| c.first().map(str::to_string))
            };
            let (a, b) = (get(ra), get(rb));
            let mut o = sort_cmp(a.as_deref(), b.as_deref(), key.kind.as_deref());
            if key.descending {
                o = o.reverse();
            }
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}
