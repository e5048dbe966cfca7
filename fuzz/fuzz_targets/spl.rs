//! The SPL front end: macro expansion, then the pipeline parser; and the
//! search and eval expression parsers on their own. The input is macro
//! definitions, one `name(arg, ...)=definition` per line, then a line
//! `====`, then the query (or only a query).
#![no_main]

use evidx_query::spl::parser::{parse_eval_expr, parse_search_expr};
use evidx_query::spl::{parse_query, Macro, MacroSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (defs, query) = text.split_once("\n====\n").unwrap_or(("", text));
    let mut macros = MacroSet::builtin();
    for line in defs.lines() {
        let Some((head, definition)) = line.split_once('=') else {
            continue;
        };
        let (name, args) = match head.split_once('(') {
            Some((name, args)) => (name, args.trim_end_matches(')')),
            None => (head, ""),
        };
        let args = args
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        macros.insert(Macro {
            name: name.trim().to_string(),
            args,
            definition: definition.to_string(),
        });
    }
    match parse_query(query, &macros) {
        Ok(q) => {
            let _ = format!("{:?}", q.pipeline);
        }
        Err(e) => {
            let _ = e.diagram();
        }
    }
    if let Err(e) = parse_search_expr(query) {
        let _ = e.render(query);
    }
    if let Err(e) = parse_eval_expr(query) {
        let _ = e.render(query);
    }
});
