//! Every shared ESCU detection (tiers S0-S2) and Sigma regression query
//! parses; the known tokenizer quirks parse to the right tree.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use evidx_query::detection::{self, Detection};
use evidx_query::spl::ast::*;
use evidx_query::spl::{parse_query, MacroSet, Query};

const ESCU: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/escu");
const SIGMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/sigma-regression");

fn macros() -> MacroSet {
    MacroSet::load_dir(&Path::new(ESCU).join("macros")).expect("macros load")
}

/// file (relative to the ESCU dir) -> tier, from INDEX.tsv.
fn tiers() -> HashMap<String, String> {
    common::index_tsv().into_iter().collect()
}

fn load(rel: &str) -> (Detection, Query) {
    let d = detection::load(&Path::new(ESCU).join(rel)).expect(rel);
    let q = parse_query(&d.search, &macros()).unwrap_or_else(|e| panic!("{rel}:\n{}", e.diagram()));
    (d, q)
}

fn filter(q: &Query) -> &SearchExpr {
    q.pipeline.tstats.filter.as_ref().expect("where clause")
}

/// All comparison leaves in order.
fn leaves(e: &SearchExpr) -> Vec<(String, String)> {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => v.iter().flat_map(leaves).collect(),
        SearchExpr::Not(x) => leaves(x),
        SearchExpr::Cmp { field, value, .. } => vec![(field.clone(), value.text.clone())],
        SearchExpr::In { field, values, .. } => values
            .iter()
            .map(|v| (field.clone(), v.text.clone()))
            .collect(),
        SearchExpr::Term { value, .. } => vec![(String::new(), value.text.clone())],
        SearchExpr::Subsearch(_) => Vec::new(),
    }
}

/// Every span lies inside the text and a comparison's span starts at its field.
fn check_spans(e: &SearchExpr, text: &str) {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => v.iter().for_each(|x| check_spans(x, text)),
        SearchExpr::Not(x) => check_spans(x, text),
        SearchExpr::Cmp { field, span, .. } | SearchExpr::In { field, span, .. } => {
            let s = text.get(span.clone()).expect("span in text");
            assert!(
                s.starts_with(field.as_str()) || s.starts_with(&format!("\"{field}\"")),
                "span {s:?} for {field}"
            );
        }
        SearchExpr::Term { span, .. } => assert!(text.get(span.clone()).is_some()),
        SearchExpr::Subsearch(sub) => assert!(text.get(sub.span.clone()).is_some()),
    }
}

#[test]
fn every_escu_detection_in_tiers_s0_to_s2_parses() {
    let tiers = tiers();
    let set = macros();
    let mut parsed = 0;
    let mut files = common::yamls(&Path::new(ESCU).join("detections"));
    files.extend(common::yamls(&Path::new(ESCU).join("variants")));
    assert!(files.len() >= 37, "found {} files", files.len());
    for path in files {
        let rel = path
            .strip_prefix(ESCU)
            .expect("under ESCU")
            .to_string_lossy()
            .replace('\\', "/");
        // Variants are later versions of sampled detections (tier S0).
        let tier = tiers.get(&rel).map_or("S0", String::as_str);
        let d = detection::load(&path).expect("load");
        let res = parse_query(&d.search, &set);
        match tier {
            "S0" | "S1" | "S2" => {
                let q = res.unwrap_or_else(|e| panic!("{rel} ({tier}):\n{}", e.diagram()));
                assert_eq!(q.pipeline.tstats.datamodel, "Endpoint.Processes", "{rel}");
                assert!(!q.pipeline.tstats.aggs.is_empty(), "{rel}");
                assert!(!q.pipeline.tstats.by.is_empty(), "{rel}");
                if let Some(f) = &q.pipeline.tstats.filter {
                    check_spans(f, &q.text);
                }
                assert!(
                    !q.text.contains('`'),
                    "{rel}: unexpanded macro in {}",
                    q.text
                );
                parsed += 1;
            }
            _ => {
                let e = res.expect_err(&rel);
                assert!(e.message.contains("unsupported"), "{rel}: {}", e.message);
            }
        }
    }
    assert_eq!(parsed, 37);
}

/// Every detection of `detections/` and `post-commands/` parses, with its
/// macros expanded; those that run an MLTK model (`apply`/`fit`) are
/// refused, saying why and pointing at the command.
#[test]
fn every_detection_parses_except_mltk_ones() {
    let set = macros();
    let mut files = common::yamls(&Path::new(ESCU).join("detections"));
    files.extend(common::yamls(&Path::new(ESCU).join("post-commands")));
    let (mut parsed, mut mltk) = (0, 0);
    for path in &files {
        let d = detection::load(path).expect("load");
        match parse_query(&d.search, &set) {
            Ok(q) => {
                assert!(
                    !q.text.contains('`'),
                    "{}: unexpanded macro",
                    path.display()
                );
                parsed += 1;
            }
            Err(e) => {
                assert!(
                    e.message.contains("Machine Learning Toolkit model"),
                    "{}:\n{}",
                    path.display(),
                    e.diagram()
                );
                let at = &e.text[e.span.clone()];
                assert!(at.starts_with("apply ") || at.starts_with("fit "), "{at}");
                mltk += 1;
            }
        }
    }
    assert_eq!((parsed, mltk), (files.len() - 1, 1));
}

#[test]
fn tier_s3_and_x_constructs_parse() {
    let (d, _) = load("detections/endpoint/usn_journal_deletion.yml");
    let set = macros();
    for (tail, is) in [
        ("| lookup update=true lolbas_file_path lolbas_file_name as process_name OUTPUT description", "Lookup"),
        ("| rex field=process \"(?<x>\\w+)\"", "Rex"),
        ("| stats count by dest", "Stats"),
        ("| eventstats count", "Stats"),
        ("| makemv delim=\" \" process", "Makemv"),
        ("| join dest [| tstats count from datamodel=Endpoint.Processes by Processes.dest]", "Join"),
        ("| search [| inputlookup x.csv]", "Search"),
        ("| transaction dest", "Transaction"),
        ("| `is_windows_system_file_macro`", "Lookup"),
        ("| `uncommon_processes`", "Lookup"),
        ("| search [`prohibited_apps_launching_cmd_macro`]", "Search"),
    ] {
        let text = format!("{} {tail}", d.search);
        let q = parse_query(&text, &set).unwrap_or_else(|e| panic!("{tail}:\n{}", e.diagram()));
        let cmd = q
            .pipeline
            .commands
            .iter()
            .rev()
            .find(|c| format!("{c:?}").starts_with(is))
            .unwrap_or_else(|| panic!("{tail}: no {is} in {:?}", q.pipeline.commands));
        if let Command::Search(e) = cmd {
            assert!(matches!(e, SearchExpr::Subsearch(_)), "{e:?}");
        }
    }
    let e = parse_query(&format!("{} | apply model", d.search), &set).expect_err("apply");
    assert!(
        e.message.contains("Machine Learning Toolkit"),
        "{}",
        e.message
    );
    assert!(e.diagram().contains('^'));
}

#[test]
fn standard_tail_expands_to_commands() {
    let (_, q) = load("detections/endpoint/getnettcpconnection_with_powershell.yml");
    let p = &q.pipeline;
    assert_eq!(
        p.tstats.options,
        [
            ("summariesonly".to_string(), "false".to_string()),
            ("allow_old_summaries".to_string(), "true".to_string()),
            ("fillnull_value".to_string(), "null".to_string())
        ]
    );
    let cols: Vec<&str> = p.tstats.aggs.iter().map(|a| a.column.as_str()).collect();
    assert_eq!(cols, ["count", "firstTime", "lastTime"]);
    assert_eq!(
        p.commands[0],
        Command::Rename(vec![("Processes.*".into(), "*".into())])
    );
    for c in &p.commands[1..3] {
        match c {
            Command::Convert {
                timeformat,
                conversions,
            } => {
                assert_eq!(timeformat, "%Y-%m-%dT%H:%M:%S");
                assert_eq!(conversions[0].func, "ctime");
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        matches!(&p.commands[3], Command::Search(SearchExpr::Term { value, .. }) if value.text == "*")
    );
    // v7 (multi-line, FROM/WHERE/BY) has the same filter as v3.
    let v7 = detection::load(
        &Path::new(ESCU).join("variants/getnettcpconnection_with_powershell.v7_2026-02-25.yml"),
    )
    .expect("v7");
    let q7 = parse_query(&v7.search, &macros()).expect("v7 parses");
    assert_eq!(leaves(filter(&q7)), leaves(filter(&q)));
    assert_eq!(q7.pipeline.tstats.by.len(), 20);
}

#[test]
fn quirks_parse_as_splunk_does() {
    // Quoted field names and \" inside a value.
    let (_, q) = load("detections/endpoint/windows_security_account_manager_stopped.yml");
    assert_eq!(
        leaves(filter(&q)),
        [
            ("Processes.process_name".to_string(), "net*.exe".to_string()),
            (
                "Processes.process".to_string(),
                "*stop \"samss\"*".to_string()
            )
        ]
    );
    // Unquoted value with balanced parentheses.
    let (_, q) = load("detections/endpoint/getcurrent_user_with_powershell.yml");
    assert!(leaves(filter(&q)).contains(&("Processes.process".into(), "*GetCurrent()*".into())));
    // Four backslashes in an unquoted value mean two.
    let (_, q) = load("detections/endpoint/domain_group_discovery_with_wmic.yml");
    assert!(leaves(filter(&q)).contains(&(
        "Processes.process".into(),
        r"*/NAMESPACE:\\root\directory\ldap*".into()
    )));
    // Lone \s stays.
    let (_, q) = load("detections/endpoint/extraction_of_registry_hives.yml");
    assert!(leaves(filter(&q)).contains(&("Processes.process".into(), r"*\sam *".into())));
    // Lower-case field name kept as written.
    let (_, q) = load("detections/endpoint/get_wmiobject_group_discovery.yml");
    assert!(leaves(filter(&q))
        .iter()
        .any(|(f, _)| f == "processes.process_name"));
    // `as Processes.process` and aggregates with no `as`.
    let (_, q) = load("detections/endpoint/processes_launching_netsh.yml");
    assert_eq!(q.pipeline.tstats.aggs[1].column, "Processes.process");
    let (_, q) = load("detections/endpoint/excel_spawning_powershell.yml");
    assert_eq!(
        q.pipeline.tstats.aggs[1].column,
        "values(Processes.process)"
    );
    // Span.
    let (_, q) = load("detections/endpoint/excessive_distinct_processes_from_windows_temp.yml");
    assert!(q.pipeline.tstats.by.contains(&ByField::Time {
        span_secs: Some(1200)
    }));
    assert!(matches!(q.pipeline.commands[0], Command::Where(_)));
    // The OR-before-AND rule.
    let (_, q) = load("detections/endpoint/clop_common_exec_parameter.yml");
    match filter(&q) {
        SearchExpr::And(v) => {
            assert!(matches!(&v[0], SearchExpr::Cmp { op: CmpOp::Ne, .. }));
            assert!(matches!(&v[1], SearchExpr::Or(o) if o.len() == 2));
        }
        other => panic!("{other:?}"),
    }
    let (_, q) =
        load("detections/endpoint/attempted_credential_dump_from_registry_via_reg_exe.yml");
    match filter(&q) {
        SearchExpr::And(v) => {
            assert_eq!(v.len(), 3);
            assert!(matches!(&v[0], SearchExpr::Or(o) if o.len() == 2));
            assert!(matches!(&v[2], SearchExpr::Or(o) if o.len() == 6));
        }
        other => panic!("{other:?}"),
    }
    // A macro that expands to conditions, then juxtaposed terms.
    let (_, q) = load("detections/endpoint/creation_of_shadow_copy_with_wmic_and_powershell.yml");
    match filter(&q) {
        SearchExpr::And(v) => {
            assert_eq!(v.len(), 3);
            assert!(matches!(&v[0], SearchExpr::Or(o) if o.len() == 10));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_sigma_query_parses() {
    let set = MacroSet::builtin();
    let mut n = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(SIGMA)
        .expect("sigma dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("query.spl").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let d = detection::load(&dir.join("query.spl")).expect("load");
        let q = parse_query(&d.search, &set)
            .unwrap_or_else(|e| panic!("{}:\n{}", dir.display(), e.diagram()));
        assert_eq!(q.pipeline.tstats.fillnull_value(), Some("null"));
        assert_eq!(q.pipeline.tstats.by.len(), 13, "{}", dir.display());
        check_spans(filter(&q), &q.text);
        n += 1;
    }
    assert!(n >= 40, "only {n} sigma cases");
}

#[test]
fn sigma_regex_values_are_unescaped() {
    let d = detection::load(
        &Path::new(SIGMA).join("proc_creation_win_curl_download_direct_ip_exec/query.spl"),
    )
    .expect("load");
    let q = parse_query(&d.search, &MacroSet::builtin()).expect("parse");
    let re = q
        .pipeline
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Regex { field, pattern, .. } => Some((field.clone(), pattern.clone())),
            _ => None,
        })
        .expect("regex command");
    assert_eq!(re.0.as_deref(), Some("Processes.process"));
    assert_eq!(re.1, r"://[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}");
}

#[test]
fn unknown_macro_reports_its_position() {
    let text =
        "| tstats count from datamodel=Endpoint.Processes where `nope_macro` by Processes.dest";
    let e = parse_query(text, &macros()).expect_err("unknown macro");
    assert!(e.message.contains("`nope_macro`"), "{}", e.message);
    assert_eq!(&text[e.span.clone()], "`nope_macro`");
    assert!(e.diagram().contains("^^^^^^^^^^^^"), "{}", e.diagram());
}
