//! The event searches at the head of a pipeline: Splunk's `| from
//! datamodel:Endpoint.Processes` and `| datamodel Endpoint Processes
//! search` (or `flat`). Both give the data model's events, one row each;
//! the `| search` that follows them is their filter, planned on the index
//! as a tstats `where` is.

use super::ast::*;
use super::lexer::{Cursor, Result};
use super::SplError;

/// An event search at the cursor (after the leading `|`), or None with the
/// cursor unchanged when the pipeline starts with something else.
pub(super) fn parse_event_source(c: &mut Cursor) -> Result<Option<Tstats>> {
    let start = c.pos();
    let (word, _) = c.ident();
    let tstats = |datamodel: String, naming, end| Tstats {
        options: Vec::new(),
        aggs: Vec::new(),
        datamodel,
        filter: None,
        by: Vec::new(),
        span: start..end,
        events: Some(naming),
    };
    let found = match word.to_ascii_lowercase().as_str() {
        "from" => {
            c.skip_ws();
            let (kw, _) = c.ident();
            if !kw.eq_ignore_ascii_case("datamodel") || !c.eat(":") {
                return Err(c.error_here(format!(
                    "expected `datamodel:NAME` after `from` (evidx reads only the Endpoint.Processes data model), found {}",
                    c.describe_next()
                )));
            }
            let name = data_model_name(c)?;
            tstats(name, EventNaming::Qualified, c.pos())
        }
        "datamodel" => {
            c.skip_ws();
            let model = data_model_name(c)?;
            c.skip_ws();
            let (object, object_span) = c.ident();
            if object.is_empty() {
                return Err(c.error_here(
                    "expected the data model and its dataset, as in `| datamodel Endpoint Processes search`",
                ));
            }
            let object = object.to_string();
            c.skip_ws();
            let (mode, mode_span) = c.ident();
            let naming = match mode.to_ascii_lowercase().as_str() {
                "search" => EventNaming::Qualified,
                "flat" => EventNaming::Flat,
                "" => {
                    return Err(SplError::new(
                        "`datamodel` needs a mode: `search` (events) or `flat` (events, unqualified field names)",
                        object_span,
                    ))
                }
                other => {
                    return Err(SplError::new(
                        format!("`datamodel` mode `{other}` is not supported (use `search` or `flat`)"),
                        mode_span,
                    ))
                }
            };
            tstats(format!("{model}.{object}"), naming, c.pos())
        }
        _ => {
            c.set_pos(start);
            return Ok(None);
        }
    };
    c.skip_ws();
    if !c.at_command_end() {
        return Err(c.error_here(format!(
            "unexpected {}: filter the events with `| search ...`",
            c.describe_next()
        )));
    }
    Ok(Some(found))
}

/// A data model name, possibly quoted.
fn data_model_name(c: &mut Cursor) -> Result<String> {
    c.skip_ws();
    let name = c.word(&[])?;
    if name.is_empty() {
        return Err(c.error_here("expected a data model name"));
    }
    Ok(name)
}

/// Make the first command of an event search its filter when it is a
/// `search`: the index answers it, as it answers a tstats `where`.
pub(super) fn take_leading_search(head: &mut Tstats, commands: &mut Vec<Command>) {
    if head.events.is_some() && matches!(commands.first(), Some(Command::Search(_))) {
        if let Command::Search(expr) = commands.remove(0) {
            head.filter = Some(expr);
        }
    }
}
