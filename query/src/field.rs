//! Field references: what a field name written in a query refers to in
//! the index. The planner, the collector and the renderers resolve names
//! here, the same way.
//!
//! Besides the CIM fields and `_time`, Splunk gives every event the
//! inherited fields `host`, `source` and `sourcetype`:
//! - `source` is the file the event came from (`path!member` inside an
//!   archive), the index's `evidx_source`;
//! - `sourcetype` is the format evidx read it as (`evtx`, `json`, `xml`);
//! - `host` is a CIM string field of its own, the event's computer, the
//!   same value as `dest`: a Windows event names one computer, which
//!   Splunk's Windows add-ons give as both `host` and `dest`.

use evidx_schema::layout::{SOURCETYPE, SOURCE_FILE};
use evidx_schema::{Cim, CIM_FIELDS};

/// The data model object whose fields the index holds.
pub const OBJECT_PREFIX: &str = "Processes.";

/// A Splunk inherited field that is not a CIM field of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    /// `source`: the input file (`path!member` for archive members).
    Source,
    /// `sourcetype`: the input format.
    Sourcetype,
}

impl Meta {
    /// The field's name in queries.
    pub fn name(self) -> &'static str {
        match self {
            Meta::Source => "source",
            Meta::Sourcetype => "sourcetype",
        }
    }

    /// Its fast string column in the index (raw, case kept).
    pub fn column(self) -> &'static str {
        match self {
            Meta::Source => SOURCE_FILE,
            Meta::Sourcetype => SOURCETYPE,
        }
    }
}

/// What a field name in a query refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRef {
    /// A CIM string field.
    Cim(Cim),
    /// `_time`.
    Time,
    /// `source` or `sourcetype`.
    Meta(Meta),
    /// Not in the model: it has no values.
    Unknown,
}

impl FieldRef {
    /// The fast string column holding the field's values, if it has one.
    pub fn text_column(self) -> Option<&'static str> {
        match self {
            FieldRef::Cim(f) => Some(f.name()),
            FieldRef::Meta(m) => Some(m.column()),
            FieldRef::Time | FieldRef::Unknown => None,
        }
    }
}

/// Resolve a field name as written in a query (`Processes.user`, `user`,
/// `_time`, `source`).
pub fn resolve_field(name: &str) -> FieldRef {
    if name == "_time" {
        return FieldRef::Time;
    }
    let bare = name.strip_prefix(OBJECT_PREFIX).unwrap_or(name);
    match bare {
        "source" => return FieldRef::Meta(Meta::Source),
        "sourcetype" => return FieldRef::Meta(Meta::Sourcetype),
        _ => {}
    }
    match Cim::from_name(bare) {
        Some(f) => FieldRef::Cim(f),
        None => FieldRef::Unknown,
    }
}

/// The warning for a field that is not in the data model: Splunk's answer
/// (no values) stands, but a typo should be visible. Names a likely
/// intended field when there is one.
pub fn unknown_field_warning(name: &str) -> String {
    let mut msg = format!(
        "field {name} is not in Endpoint.Processes: it has no values, so `by` drops every event and `where {name}=...` matches none"
    );
    if let Some(s) = suggestion(name) {
        msg.push_str(&format!("; did you mean {s}?"));
    }
    msg
}

/// The known field closest to `name` (provenance names, a missing or
/// miscased `Processes.` prefix, a small typo).
fn suggestion(name: &str) -> Option<String> {
    let bare = name.strip_prefix(OBJECT_PREFIX).unwrap_or(name);
    let aliases = [
        ("evidx_source", "source"),
        ("evidx_sourcetype", "sourcetype"),
        ("index", "source"),
    ];
    if let Some((_, to)) = aliases.iter().find(|(from, _)| *from == bare) {
        return Some(to.to_string());
    }
    let lower = bare.to_ascii_lowercase();
    let lower = lower.strip_prefix("processes.").unwrap_or(&lower);
    let known = CIM_FIELDS
        .iter()
        .copied()
        .chain(["source", "sourcetype", "_time"]);
    let (best, dist) = known
        .map(|k| (k, edit_distance(lower, k)))
        .min_by_key(|&(_, d)| d)?;
    let prefixed = !["source", "sourcetype", "_time"].contains(&best);
    (dist <= 2.max(lower.len() / 6)).then(|| match prefixed {
        true => format!("{OBJECT_PREFIX}{best}"),
        false => best.to_string(),
    })
}

/// Levenshtein distance (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherited_fields_resolve() {
        assert_eq!(resolve_field("source"), FieldRef::Meta(Meta::Source));
        assert_eq!(
            resolve_field("Processes.sourcetype"),
            FieldRef::Meta(Meta::Sourcetype)
        );
        assert_eq!(resolve_field("host"), FieldRef::Cim(Cim::Host));
        assert_eq!(resolve_field("Source"), FieldRef::Unknown);
        assert_eq!(resolve_field("evidx_source"), FieldRef::Unknown);
    }

    #[test]
    fn warnings_suggest_the_intended_field() {
        let w = unknown_field_warning("evidx_source");
        assert!(
            w.contains("field evidx_source is not in Endpoint.Processes"),
            "{w}"
        );
        assert!(w.ends_with("did you mean source?"), "{w}");
        let w = unknown_field_warning("Processes.proces_name");
        assert!(w.ends_with("did you mean Processes.process_name?"), "{w}");
        let w = unknown_field_warning("processes.process_name");
        assert!(w.ends_with("did you mean Processes.process_name?"), "{w}");
        let w = unknown_field_warning("Processes.dest_category");
        assert!(!w.contains("did you mean"), "{w}");
    }
}
