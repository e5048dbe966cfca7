//! Warnings about a query that runs but likely not as meant. Splunk
//! answers a field that the data model does not have as a field with no
//! values (so `by` drops every event and `where` does not match), and so
//! does evidx; but the field is named on stderr, so that a typo or a
//! missing field is visible.

use crate::field::{resolve_field, unknown_field_warning, FieldRef};
use crate::spl::ast::{ByField, Pipeline, SearchExpr, SubSource, Tstats};

/// The warnings of a pipeline (and of its tstats subsearches), each once.
pub fn warnings(pipeline: &Pipeline) -> Vec<String> {
    let mut unknown: Vec<&str> = Vec::new();
    tstats_fields(&pipeline.tstats, &mut |f| {
        if resolve_field(f) == FieldRef::Unknown && !unknown.contains(&f) {
            unknown.push(f);
        }
    });
    unknown.into_iter().map(unknown_field_warning).collect()
}

/// Every field a tstats clause reads from the index.
fn tstats_fields<'a>(ts: &'a Tstats, out: &mut dyn FnMut(&'a str)) {
    if let Some(filter) = &ts.filter {
        search_fields(filter, out);
    }
    for b in &ts.by {
        if let ByField::Field(f) = b {
            out(f);
        }
    }
    for a in &ts.aggs {
        if let Some(f) = &a.field {
            out(f);
        }
    }
}

fn search_fields<'a>(e: &'a SearchExpr, out: &mut dyn FnMut(&'a str)) {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => v.iter().for_each(|x| search_fields(x, out)),
        SearchExpr::Not(x) => search_fields(x, out),
        SearchExpr::Cmp { field, .. } | SearchExpr::In { field, .. }
            if crate::time_modifiers::is_modifier(field) => {}
        SearchExpr::Cmp { field, .. } | SearchExpr::In { field, .. } => out(field),
        SearchExpr::Term { .. } => {}
        SearchExpr::Subsearch(sub) => {
            if let SubSource::Tstats(ts) = &sub.source {
                tstats_fields(ts, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spl::parser::parse_pipeline;

    fn w(q: &str) -> Vec<String> {
        warnings(&parse_pipeline(q).unwrap())
    }

    #[test]
    fn names_each_unknown_field_once() {
        let got = w("| tstats count values(Processes.proces) from datamodel=Endpoint.Processes where Processes.dest=x evidx_source=* NOT nosuch=1 by evidx_source source sourcetype host _time span=1h");
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            got[0].starts_with("field Processes.proces is not")
                || got[0].starts_with("field evidx_source is not"),
            "{got:?}"
        );
        assert!(got
            .iter()
            .any(|g| g.contains("evidx_source") && g.ends_with("did you mean source?")));
        assert!(got.iter().any(|g| g.starts_with("field nosuch ")));
        assert!(w("| tstats count from datamodel=Endpoint.Processes where [| tstats count from datamodel=Endpoint.Processes by Processes.nope]")
            .iter()
            .any(|g| g.starts_with("field Processes.nope ")));
        assert!(w(
            "| from datamodel:Endpoint.Processes | search Processes.process_name=x source=*.evtx"
        )
        .is_empty());
        // Time modifiers are not fields.
        assert!(w("| tstats count from datamodel=Endpoint.Processes where earliest=-7d@d latest=now Processes.dest=x").is_empty());
        assert_eq!(
            w("| datamodel Endpoint Processes search | search Processes.bad=x").len(),
            1
        );
    }
}
