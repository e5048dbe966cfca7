//! Field references: what a field name written in a query refers to in
//! the index. The planner, the collector and the renderers resolve names
//! here, the same way.

use evidx_schema::Cim;

/// The data model object whose fields the index holds.
pub const OBJECT_PREFIX: &str = "Processes.";

/// What a field name in a query refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRef {
    /// A CIM string field.
    Cim(Cim),
    /// `_time`.
    Time,
    /// Not in the model: it has no values.
    Unknown,
}

/// Resolve a field name as written in a query (`Processes.user`, `user`,
/// `_time`).
pub fn resolve_field(name: &str) -> FieldRef {
    if name == "_time" {
        return FieldRef::Time;
    }
    let bare = name.strip_prefix(OBJECT_PREFIX).unwrap_or(name);
    match Cim::from_name(bare) {
        Some(f) => FieldRef::Cim(f),
        None => FieldRef::Unknown,
    }
}
