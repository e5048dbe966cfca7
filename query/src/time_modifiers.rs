//! Splunk's time modifiers written inside a search: `| tstats … where
//! earliest=-7d@d latest=now Processes.process_name=cmd.exe`.
//!
//! In Splunk, `earliest=` and `latest=` in a search are not conditions on a
//! field: they set the search's time range, as `--earliest`/`--latest` do
//! (see [`crate::time_range`] for the forms they take). They are read here
//! from the top-level conjunction of a `where` clause and taken out of it;
//! the range they give narrows the command line's. Under `OR` or `NOT` a
//! modifier is refused: it would not be a condition there either, and
//! silently applying it to the whole search would change the answer.

use chrono::{DateTime, Utc};

use crate::spl::ast::{CmpOp, SearchExpr, Span};
use crate::time_range::{parse_time, TimeWindow};

/// A time modifier that cannot be used, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifierError {
    pub message: String,
    pub span: Span,
}

/// Whether a field name in a search is a time modifier.
pub fn is_modifier(field: &str) -> bool {
    modifier(field).is_some()
}

/// Which modifier a field name is, if any: `Some(true)` for `earliest`.
fn modifier(field: &str) -> Option<bool> {
    match field {
        "earliest" => Some(true),
        "latest" => Some(false),
        _ => None,
    }
}

/// `filter` without its top-level time modifiers, and the window they set
/// (relative times evaluated at `now`). A later modifier of the same end
/// replaces an earlier one, as in Splunk.
pub fn take(
    filter: Option<&SearchExpr>,
    now: DateTime<Utc>,
) -> Result<(Option<SearchExpr>, TimeWindow), ModifierError> {
    let mut window = TimeWindow::default();
    let Some(filter) = filter else {
        return Ok((None, window));
    };
    let items = match filter {
        SearchExpr::And(items) => items.as_slice(),
        one => std::slice::from_ref(one),
    };
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        match item {
            SearchExpr::Cmp {
                field,
                op,
                value,
                span,
            } if modifier(field).is_some() => {
                let err = |message: String| ModifierError {
                    message,
                    span: span.clone(),
                };
                if *op != CmpOp::Eq {
                    return Err(err(format!(
                        "the time modifier `{field}` takes `=` (as in {field}=-7d@d)"
                    )));
                }
                let at = parse_time(&value.text, now).map_err(|e| err(e.to_string()))?;
                match modifier(field) == Some(true) {
                    true => window.earliest = Some(at),
                    false => window.latest = Some(at),
                }
            }
            other => {
                refuse_nested(other)?;
                kept.push(other.clone());
            }
        }
    }
    let rest = match kept.len() {
        0 => None,
        1 => kept.pop(),
        _ => Some(SearchExpr::And(kept)),
    };
    Ok((rest, window))
}

/// An error for a time modifier anywhere in `e` (not at the top level).
fn refuse_nested(e: &SearchExpr) -> Result<(), ModifierError> {
    match e {
        SearchExpr::And(items) | SearchExpr::Or(items) => items.iter().try_for_each(refuse_nested),
        SearchExpr::Not(inner) => refuse_nested(inner),
        SearchExpr::Cmp { field, span, .. } | SearchExpr::In { field, span, .. }
            if modifier(field).is_some() =>
        {
            Err(ModifierError {
                message: format!(
                    "the time modifier `{field}` sets the time range of the whole search: write it at the top level of the where clause, not under OR or NOT"
                ),
                span: span.clone(),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spl::ast::Value;
    use chrono::TimeZone;

    fn cmp(field: &str, op: CmpOp, text: &str) -> SearchExpr {
        SearchExpr::Cmp {
            field: field.into(),
            op,
            value: Value {
                text: text.into(),
                quoted: false,
            },
            span: 3..9,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 10, 15, 30, 0).unwrap()
    }

    fn micros(y: i32, m: u32, d: u32, h: u32) -> i64 {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().timestamp() * 1_000_000
    }

    #[test]
    fn top_level_modifiers_become_the_window() {
        let name = cmp("Processes.process_name", CmpOp::Eq, "cmd.exe");
        let e = SearchExpr::And(vec![
            cmp("earliest", CmpOp::Eq, "-1d@d"),
            name.clone(),
            cmp("latest", CmpOp::Eq, "@h"),
        ]);
        let (rest, w) = take(Some(&e), now()).unwrap();
        assert_eq!(rest, Some(name));
        assert_eq!(w.earliest, Some(micros(2024, 3, 9, 0)));
        assert_eq!(w.latest, Some(micros(2024, 3, 10, 15)));
        // Only a modifier: no condition left.
        let (rest, w) = take(Some(&cmp("earliest", CmpOp::Eq, "1710000000")), now()).unwrap();
        assert_eq!(rest, None);
        assert_eq!(w.earliest, Some(1_710_000_000_000_000));
        assert_eq!(w.latest, None);
        // No modifier: the clause is unchanged.
        let e = SearchExpr::And(vec![cmp("a", CmpOp::Eq, "1"), cmp("b", CmpOp::Ne, "2")]);
        assert_eq!(
            take(Some(&e), now()).unwrap(),
            (Some(e), TimeWindow::default())
        );
    }

    #[test]
    fn misplaced_or_unreadable_modifiers_are_refused_with_their_position() {
        let nested = SearchExpr::Or(vec![
            cmp("a", CmpOp::Eq, "1"),
            cmp("earliest", CmpOp::Eq, "-1d"),
        ]);
        let e = take(Some(&nested), now()).unwrap_err();
        assert!(e.message.contains("top level"), "{}", e.message);
        assert_eq!(e.span, 3..9);
        let not = SearchExpr::Not(Box::new(cmp("latest", CmpOp::Eq, "now")));
        assert!(take(Some(&not), now()).is_err());
        let e = take(Some(&cmp("earliest", CmpOp::Gt, "-1d")), now()).unwrap_err();
        assert!(e.message.contains("takes `=`"), "{}", e.message);
        let e = take(Some(&cmp("latest", CmpOp::Eq, "yesterday-ish")), now()).unwrap_err();
        assert!(e.message.contains("yesterday-ish"), "{}", e.message);
    }
}
