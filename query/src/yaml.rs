//! Reading the YAML of ESCU detections, macros and lookups as Splunk's
//! tooling reads it.
//!
//! ESCU's files are written for PyYAML, which accepts a quoted scalar whose
//! continuation lines start at column 0:
//!
//! ```yaml
//! definition: 'eval x=1
//! | lookup t a OUTPUT b'
//! ```
//!
//! YAML 1.2 wants those lines indented past their key, and `yaml-rust2`
//! rejects them ("invalid indentation in quoted scalar"). A quoted scalar
//! folds its line breaks and drops each continuation line's leading spaces,
//! so indenting such lines by one space gives the same value: on that error
//! alone, the text is read again with every column-0 line that cannot start
//! a top-level entry indented.

use yaml_rust2::{ScanError, Yaml, YamlLoader};

/// The first document of `text` (`Yaml::Null` when there is none).
pub fn first_document(text: &str) -> Result<Yaml, ScanError> {
    let docs = match YamlLoader::load_from_str(text) {
        Ok(docs) => docs,
        Err(e) if e.info().contains("indentation in quoted scalar") => {
            // The error of the text as written is the one worth showing.
            YamlLoader::load_from_str(&indent_continuations(text)).map_err(|_| e)?
        }
        Err(e) => return Err(e),
    };
    Ok(docs.into_iter().next().unwrap_or(Yaml::Null))
}

/// `text` with one space before each line at column 0 that cannot begin a
/// top-level entry (a `key:`, a `- ` item, a comment or a document marker).
fn indent_continuations(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        if !starts_entry(line) {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

fn starts_entry(line: &str) -> bool {
    let body = line.trim_end_matches(['\n', '\r']);
    if body.is_empty() || body.starts_with([' ', '\t', '#']) {
        return true;
    }
    if body.starts_with("- ") || body == "-" || body.starts_with("---") || body == "..." {
        return true;
    }
    // `key:` followed by a space or the end of the line, the key a plain word.
    match body.find(':') {
        Some(colon) => {
            let key = &body[..colon];
            let after = &body[colon + 1..];
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
                && (after.is_empty() || after.starts_with([' ', '\t']))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_scalar_continued_at_column_zero() {
        let text = "arguments:\n  - b64in\ndefinition: 'eval x=split($b64in$,\"\") \n| lookup m a as x OUTPUT b\n| fields - x_*'\ndescription: d\nname: base64decode\n";
        assert!(
            YamlLoader::load_from_str(text).is_err(),
            "yaml-rust2 is strict"
        );
        let doc = first_document(text).unwrap();
        assert_eq!(
            doc["definition"].as_str(),
            Some("eval x=split($b64in$,\"\") | lookup m a as x OUTPUT b | fields - x_*")
        );
        assert_eq!(doc["name"].as_str(), Some("base64decode"));
        assert_eq!(doc["arguments"][0].as_str(), Some("b64in"));
    }

    #[test]
    fn double_quoted_too_and_valid_text_unchanged() {
        let text = "search: \"| tstats count\nfrom datamodel=Endpoint.Processes\"\nname: n\n";
        let doc = first_document(text).unwrap();
        assert_eq!(
            doc["search"].as_str(),
            Some("| tstats count from datamodel=Endpoint.Processes")
        );
        let valid = "name: a\nsearch: |-\n  | tstats count\n";
        assert_eq!(
            first_document(valid).unwrap(),
            YamlLoader::load_from_str(valid).unwrap().remove(0)
        );
    }

    #[test]
    fn other_errors_are_reported_as_written() {
        let text = "name: [unclosed\n";
        let e = first_document(text).unwrap_err();
        assert_eq!(
            e.to_string(),
            YamlLoader::load_from_str(text).unwrap_err().to_string()
        );
    }
}
