//! The format version of an index. It is written into every tantivy commit
//! (the commit payload in `meta.json`), so it is atomic with the data it
//! describes; a reader refuses an index of another version with a message
//! that says what to do, instead of answering wrongly from a layout it does
//! not know. Indexes live for months and are appended to, so every change
//! of layout or of a term rule bumps the version.

use tantivy::Index;

/// The version this build writes and reads. 1 was the layout before the
/// version was recorded (no payload); 3 added the trigram fields `_ng_F`;
/// 4 made `evidx_key` a 128-bit hash indexed as a bytes term.
pub const FORMAT_VERSION: u32 = 4;

const KEY: &str = "evidx_format";

/// Why an index cannot be read by this build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error(
        "index format {found} was written by an older evidx; this evidx reads format \
         {FORMAT_VERSION}: rebuild it with `evidx-index --force -o DIR INPUT...`"
    )]
    Older { found: u32 },
    #[error(
        "index format {found} was written by a newer evidx; this evidx reads format \
         {FORMAT_VERSION}: use a newer evidx-query"
    )]
    Newer { found: u32 },
    #[error("cannot read the index metadata: {0}")]
    Unreadable(String),
}

/// The commit payload that records [`FORMAT_VERSION`].
pub fn commit_payload() -> String {
    format!("{{\"{KEY}\":{FORMAT_VERSION}}}")
}

/// The format version recorded in a commit payload (1 when none is).
pub fn version_of_payload(payload: Option<&str>) -> u32 {
    payload
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .and_then(|v| v.get(KEY)?.as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(1)
}

/// Ok when `index` has this build's format, or holds nothing yet: tantivy
/// writes an index's first `meta.json` without a payload, and a reader that
/// opens it before the indexer's first commit (or after a kill in between)
/// finds an empty index, which no layout can answer wrongly.
pub fn check(index: &Index) -> Result<(), FormatError> {
    let metas = index
        .load_metas()
        .map_err(|e| FormatError::Unreadable(e.to_string()))?;
    if metas.payload.is_none() && metas.segments.is_empty() {
        return Ok(());
    }
    match version_of_payload(metas.payload.as_deref()) {
        FORMAT_VERSION => Ok(()),
        found if found < FORMAT_VERSION => Err(FormatError::Older { found }),
        found => Err(FormatError::Newer { found }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        assert_eq!(version_of_payload(Some(&commit_payload())), FORMAT_VERSION);
        assert_eq!(version_of_payload(None), 1);
        assert_eq!(version_of_payload(Some("not json")), 1);
        assert_eq!(version_of_payload(Some("{\"evidx_format\":7}")), 7);
    }

    #[test]
    fn a_new_empty_index_is_of_any_format() {
        let index = Index::create_in_ram(crate::EvidxSchema::build().schema);
        assert_eq!(check(&index), Ok(()));
    }
}
