//! Pushdown never changes an answer: every shared ESCU detection (those
//! with lookups and other commands after tstats too), every Sigma
//! regression query, and filters of every kind after tstats give the
//! same table with filters pushed into the collector as without, over an
//! index of all the shared data and the generated sample. Nor does
//! spilling: the same tables come out when every group table goes to disk
//! and is merged back (`Engine::set_group_memory(0)`).

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::*;
use evidx_query::collect::GroupBy;
use evidx_query::lookups::LookupStore;
use evidx_query::spl::ast::{Command, Pipeline, SubSource};
use evidx_query::spl::{self, MacroSet};
use evidx_query::{detection, pushdown, Engine};

/// The lookups of the shared ESCU corpus.
fn lookups() -> LookupStore {
    LookupStore::load_dir(&shared("escu/lookups")).expect("escu/lookups")
}

/// The index, opened three times: pushdown on, off, and on with every
/// group table spilled to disk; and its folder.
fn engines() -> &'static (Engine, Engine, Engine, PathBuf) {
    static ENGINES: OnceLock<(Engine, Engine, Engine, PathBuf)> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let dir = scratch("pushdown-all-shared");
        let inputs = [
            shared("datasets"),
            shared("sigma-regression"),
            workspace("datasets/sample"),
        ];
        let (events, _) = build_index(&inputs, &dir);
        assert!(events > 3_000, "only {events} process events");
        let mut on = Engine::open(&dir).expect("open");
        let mut off = Engine::open(&dir).expect("open");
        off.set_pushdown(false);
        let mut spilling = Engine::open(&dir).expect("open");
        spilling.set_group_memory(0);
        for engine in [&mut on, &mut off, &mut spilling] {
            engine.set_lookups(lookups());
        }
        (on, off, spilling, dir)
    })
}

/// Runs `spl` both ways; returns the number of rows and of pushed filters.
fn same_both_ways(spl_text: &str, macros: &MacroSet) -> (usize, usize) {
    let (on, off, spilling, _) = engines();
    let query = spl::parse_query(spl_text, macros).unwrap_or_else(|e| panic!("{spl_text}\n{e:?}"));
    let ts = &query.pipeline.tstats;
    // The lookups loaded, as the engine does before it plans.
    let store = lookups();
    let mut commands = query.pipeline.commands.clone();
    for cmd in &mut commands {
        match cmd {
            Command::Lookup(l) => l.table = store.get(&l.name).expect("lookup"),
            // A join's subsearch run, as the engine runs it before it plans.
            Command::Join(j) => {
                if let SubSource::Tstats(sub) = &j.sub.source {
                    let sub = spl::Query {
                        text: query.text.clone(),
                        pipeline: Pipeline {
                            tstats: sub.clone(),
                            commands: j.sub.commands.clone(),
                        },
                    };
                    j.resolved = on.run(&sub).ok().map(std::sync::Arc::new);
                }
            }
            _ => {}
        }
    }
    let pushed = pushdown::key_filters(
        &GroupBy::new(&ts.by, &ts.aggs, ts.fillnull_value()),
        &commands,
    )
    .len();
    let a = on.run(&query);
    let b = off.run(&query);
    let spilled = spilling.run(&query);
    match (&a, &spilled) {
        (Ok(a), Ok(s)) => assert_eq!(a, s, "spilling changed the answer of\n{spl_text}"),
        (Err(a), Err(s)) => assert_eq!(a.to_string(), s.to_string(), "{spl_text}"),
        (a, s) => panic!("{spl_text}\nin memory: {a:?}\nspilled: {s:?}"),
    }
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "pushdown changed the answer of\n{spl_text}");
            (a.rows.len(), pushed)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{spl_text}");
            (0, pushed)
        }
        (a, b) => panic!("{spl_text}\nwith pushdown: {a:?}\nwithout: {b:?}"),
    }
}

#[test]
fn every_shared_detection_gives_the_same_table() {
    let macros = escu_macros();
    let mut ran = 0;
    let mut pushed = 0;
    let mut with_lookup = 0;
    let mut paths = yamls(&shared("escu/detections"));
    paths.extend(yamls(&shared("escu/post-commands/detections")));
    for path in paths {
        let d = detection::load(&path).expect("load");
        if d.search.contains("| apply ") {
            // Needs an MLTK model: refused before it runs.
            continue;
        }
        let (rows, p) = same_both_ways(&d.search, &macros);
        pushed += usize::from(p > 0);
        // `lookup attacker_tools ... | search description!=false` finds
        // the tools of the shared datasets through its pushed filter.
        with_lookup += usize::from(p > 0 && rows > 0 && d.search.contains("| lookup "));
        ran += 1;
    }
    assert!(ran >= 44, "{ran} detections");
    // The pack has `| regex` and `| where match()` detections.
    assert!(pushed >= 4, "filters pushed in only {pushed} detections");
    assert!(with_lookup >= 1, "no lookup filter pushed with rows");
}

#[test]
fn every_sigma_query_gives_the_same_table() {
    let mut ran = 0;
    for entry in std::fs::read_dir(shared("sigma-regression")).expect("sigma-regression") {
        let q: PathBuf = entry.expect("entry").path().join("query.spl");
        if let Ok(text) = std::fs::read_to_string(&q) {
            same_both_ways(&text, &MacroSet::builtin());
            ran += 1;
        }
    }
    assert!(ran >= 40, "{ran} Sigma queries");
}

/// Filters of every shape the pushdown follows: renames, eval chains,
/// conjunctions, negations, nulls, `table`, and the ones it must not move
/// (after head or sort, on aggregates, on several fields, bare terms).
#[test]
fn filters_of_every_kind_give_the_same_table() {
    let base = "| tstats count min(_time) as firstTime max(_time) as lastTime \
                values(Processes.process_id) as pids from datamodel=Endpoint.Processes \
                by Processes.process_name Processes.process Processes.dest Processes.parent_process_name";
    let fill = "| tstats fillnull_value=NULLX count from datamodel=Endpoint.Processes \
                by Processes.original_file_name Processes.process_name";
    // (pipeline after tstats, whether a filter must be pushed)
    let cases: &[(&str, &str, bool)] = &[
        (base, "| rename Processes.* as * | regex process=\"(?i)powershell.*-(e|enc)\\s\"", true),
        (base, "| rename Processes.* as * | regex process!=\"(?i)\\.exe\"", true),
        (base, "| rename Processes.* as * | regex process=\"(\\w+)\\s+\\1\"", true),
        (base, "| rename Processes.* as * | regex process=\"\\w+:\\w+(?!\\.)\"", true),
        (base, "| rename Processes.* as * | where match(process, \"(?i)cmd\") AND count > 0", true),
        (base, "| rename Processes.* as * | where like(process_name, \"%.exe\") OR count > 1", false),
        (base, "| rename Processes.* as * | eval l=len(process) | where l > 60", true),
        (base, "| rename Processes.* as * | eval n=lower(process_name), m=n | search m=power*", true),
        (base, "| rename Processes.* as * | eval x=process.dest | where like(x, \"%corp%\")", false),
        (base, "| rename Processes.* as * | search NOT process_name IN (cmd.exe, \"*shell*\")", true),
        (base, "| rename Processes.* as * | search process=*http* dest!=*srv*", true),
        (base, "| rename Processes.* as * | search *powershell*", false),
        (base, "| rename Processes.* as * | where count > 2 | where isnull(process)", true),
        (base, "| rename Processes.process as p | table p count | where len(p) < 40", true),
        (base, "| rename Processes.* as * | fields - process | where isnull(process)", false),
        (base, "| rename Processes.* as * | head 5 | where match(process, \"a\")", false),
        (base, "| rename Processes.* as * | sort - count | regex process=\"e\"", false),
        (base, "| rename Processes.* as * | convert ctime(firstTime) | where firstTime > \"2\"", false),
        (base, "| rename Processes.* as * | eval r=count*2 | where r > 5 AND match(process_name, \"e\")", true),
        // A filter that fails on some rows: a later filter is not pushed
        // ahead of it, which would drop those rows and hide the error.
        (base, "| rename Processes.* as * | where process_name=\"cmd.exe\" OR process_name | where process_name=\"cmd.exe\"", true),
        (base, "| rename Processes.* as * | where NOT process_name | search process_name=cmd.exe", true),
        (base, "| rename Processes.* as * | where like(process_name, \"%.exe\") AND count > 0 | where NOT match(process, \"(?i)cmd\")", true),
        // An eval that may fail on another column, and a part of a where
        // that may fail, are not passed by a filter either.
        (base, "| rename Processes.* as * | eval bad=if(len(process) > 40, \"a\" AND true, 0) | where process_name=\"nosuch.exe\"", false),
        (base, "| rename Processes.* as * | eval bad=if(count > 0, \"a\" AND true, 0) | search process_name=nosuch.exe", false),
        (base, "| rename Processes.* as * | where match(process, \"(\" + process) AND process_name=\"nosuch.exe\"", false),
        // Commands before the renames that set other columns are not
        // replayed; one whose column a rename replaces is.
        (base, "| convert ctime(firstTime) | rename Processes.* as * | regex process=\"(?i)powershell\"", true),
        (base, "| convert ctime(lastTime) | eval x=1 | rename Processes.* as * | eval l=len(process) | where l > 60", true),
        (base, "| eval process_name=count | rename Processes.* as * | search process_name=power*", true),
        // A command that fails on every value still fails the search when
        // the filter keeps no value.
        (base, "| eval x=(\"abc\" AND true) | rename Processes.* as * | regex process=\"^no such value$\"", true),
        (base, "| eval bad=if(len(Processes.process) > 40, \"a\" AND true, 0) | rename Processes.* as * | where len(process) < 30", true),
        (base, "| eval my_proc.len=len(Processes.process) | rename *.* as *_* | where my_proc_len > 5", true),
        // A lookup's outputs follow from its inputs (and from the column's
        // earlier value, which OUTPUTNEW or a row with no input keeps).
        (base, "| rename Processes.* as * | lookup attacker_tools attacker_tool_names AS process_name OUTPUT description | search description!=false", true),
        (base, "| rename Processes.* as * | lookup attacker_tools attacker_tool_names AS process_name | where description=\"false\"", true),
        (base, "| rename Processes.* as * | lookup is_windows_system_file filename as process_name OUTPUT systemFile | where isnull(systemFile)", true),
        (base, "| rename Processes.* as * | lookup is_windows_system_file filename as process_name OUTPUT systemFile as dest | search dest=*corp*", false),
        (base, "| rename Processes.* as * | eval keep=dest | lookup is_windows_system_file filename as process_name OUTPUTNEW systemFile as keep | search keep=true", false),
        (base, "| rename Processes.* as * | eval keep=dest | lookup is_windows_system_file filename as nosuch OUTPUT systemFile as keep | search keep=*corp*", true),
        (base, "| rename Processes.* as * | lookup attacker_tools attacker_tool_names AS pids OUTPUT description | search description!=false", false),
        (base, "| rename Processes.* as * | lookup attacker_tools attacker_tool_names AS process_name OUTPUT description | where count > 1 AND description!=\"false\"", true),
        // An inner join filters on each join field that follows from one
        // by-field (a semi-join); renames that leave it alone are not
        // replayed. A left join keeps every row.
        (base, "| rename Processes.* as * | join process_name [| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe by Processes.process_name | rename Processes.* as *]", true),
        (base, "| rename Processes.* as * | eval g=lower(process_name) | rename process* as proc* | join max=0 dest g [| tstats count from datamodel=Endpoint.Processes where Processes.parent_process_name=cmd.exe by Processes.dest Processes.process_name | rename Processes.* as * | eval g=lower(process_name)]", true),
        (base, "| rename Processes.* as * | join [| tstats count from datamodel=Endpoint.Processes where Processes.process_name=c* by Processes.dest | rename Processes.* as *]", true),
        (base, "| rename Processes.* as * | join type=left process_name [| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe by Processes.process_name | rename Processes.* as *]", false),
        (base, "| rename Processes.* as * | join nosuch [| tstats count from datamodel=Endpoint.Processes by Processes.process_name | rename Processes.* as *]", false),
        // rex: what it extracts follows from the field it reads (and, where
        // it does not match, from the column's earlier value).
        (base, "| rename Processes.* as * | rex field=process \"(?<flag>-\\w+)\" | eval c=if(isnotnull(flag), \"t\", \"f\") | search c=f", true),
        (base, "| rename Processes.* as * | eval flag=\"pre\" | rex field=process \"(?<flag>\\s/\\w)\" | search flag=pre", true),
        (base, "| rename Processes.* as * | eval flag=dest | rex field=process \"(?<flag>\\s/\\w)\" | search flag=*a*", false),
        (base, "| rename Processes.* as * | rex field=nosuch \"(?<process>.)\" | search process=*cmd*", true),
        (base, "| rename Processes.* as * | rex mode=sed field=process \"s/system32/s32/g\" | search process=*\\\\s32\\\\*", true),
        (fill, "| where original_file_name=\"NULLX\" OR 1=2", false),
        (fill, "| rename Processes.* as * | where original_file_name=\"NULLX\"", true),
        (fill, "| rename Processes.* as * | regex original_file_name!=\"^NULL\"", true),
    ];
    let mut nonempty = 0;
    for (tstats, post, must_push) in cases {
        let text = format!("{tstats} {post}");
        let (rows, pushed) = same_both_ways(&text, &MacroSet::builtin());
        assert_eq!(pushed > 0, *must_push, "pushed {pushed} filters for {post}");
        nonempty += usize::from(rows > 0);
    }
    assert!(nonempty >= 12, "only {nonempty} cases returned rows");
}

/// What the filters after the tstats of `text` need of its by-fields.
fn substrings_needed(text: &str) -> Vec<evidx_query::necessary::Needed> {
    let query = spl::parse_query(text, &MacroSet::builtin()).expect("parse");
    let ts = &query.pipeline.tstats;
    let group_by = GroupBy::new(&ts.by, &ts.aggs, ts.fillnull_value());
    // The lookups loaded, as the engine does before it plans.
    let store = lookups();
    let mut commands = query.pipeline.commands.clone();
    for cmd in &mut commands {
        if let Command::Lookup(l) = cmd {
            l.table = store.get(&l.name).expect("lookup");
        }
    }
    pushdown::analyze(&group_by, &commands).needed
}

/// A filter that needs a substring of a field with trigrams narrows the
/// tstats to the values holding it (`necessary.rs`): the table is the same
/// as with nothing pushed, and the narrowing finds rows where there are.
#[test]
fn necessary_substrings_narrow_without_changing_the_answer() {
    let base = "| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes \
                by Processes.process_name Processes.process Processes.parent_process";
    let fill = "| tstats fillnull_value=\"no cmd\" count from datamodel=Endpoint.Processes \
                by Processes.dest Processes.process";
    let cases: &[(&str, &str)] = &[
        (base, "| rename Processes.* as * | regex process=\"(?i)powershell\""),
        (base, "| rename Processes.* as * | regex process=\"(?i)(-enc|-nop)\\s\""),
        (base, "| rename Processes.* as * | where match(process, \"(?i)system32.+\\\\.exe\")"),
        (base, "| rename Processes.* as * | where like(process, \"%.exe%\") AND count > 0"),
        (base, "| rename Processes.* as * | search process=*cmd* OR process=*powershell*"),
        (base, "| rename Processes.* as * | search process IN (\"*/c *\", \"*-command*\")"),
        (base, "| rename Processes.* as * | eval n=mvcount(split(process, \"exe\"))-1 | search n > 1"),
        (base, "| rename Processes.* as * | eval n=mvcount(split(parent_process, \".exe\")) | where n >= 2"),
        (base, "| convert ctime(firstTime) | rename Processes.* as * | eval l=len(process) | regex process=\"exe\""),
        // Through a lookup on the command line: the value must match a key
        // (`min_matches=1` with `default_match=false` fails the filter).
        (base, "| rename Processes.* as * | lookup windows_protocol_handlers handler AS process OUTPUT ishandler | where ishandler=\"TRUE\""),
        (base, "| rename Processes.* as * | lookup attacker_tools attacker_tool_names AS process OUTPUT description | search description!=false"),
        // The fill value lacks the literal: events without a command line
        // would fail the filter anyway. It holds it: they may pass.
        (fill, "| rename Processes.* as * | search process=*cmd*"),
        (fill, "| rename Processes.* as * | search process=*cmd* OR process=\"no cmd\""),
    ];
    let mut nonempty = 0;
    for (tstats, post) in cases {
        let text = format!("{tstats} {post}");
        let needed = substrings_needed(&text);
        assert!(!needed.is_empty(), "no substring found for {post}");
        let (rows, _) = same_both_ways(&text, &MacroSet::builtin());
        nonempty += usize::from(rows > 0);
    }
    assert!(nonempty >= 9, "only {nonempty} cases returned rows");
    // Not narrowed: may fail on some value, negated, or too short.
    for post in [
        "| rename Processes.* as * | eval x=if(len(process) > 9, \"a\" AND true, 1) | regex process=\"cmd\"",
        "| rename Processes.* as * | regex process!=\"cmd\"",
        "| rename Processes.* as * | search process=*ab*",
        // A threshold `search` compares as text; U+FDD0, which a glob reads
        // as a literal `*`; a backtracking pattern too large for its twin,
        // which may fail on any value; a side of AND that may fail.
        "| rename Processes.* as * | eval n=mvcount(split(process, \"cmd\")) | search n > +inf",
        "| rename Processes.* as * | regex process=\"\\x{FDD0}cmd\"",
        "| rename Processes.* as * | regex process=\"(\\w{1500})?((a|aa)+)+\\2exe\"",
        "| rename Processes.* as * | where ((process OR true) AND like(process, \"%exe%\")) OR like(process, \"%exe%\")",
        "| rename Processes.* as * | where process AND like(process, \"%cmd%\")",
        "| rename Processes.* as * | regex process=\"(a+)+\\1\" | regex process=\"cmd\"",
        // The default value passes: a value that matches no key may too.
        "| rename Processes.* as * | lookup windows_protocol_handlers handler AS process OUTPUT ishandler | search ishandler=false",
        "| rename Processes.* as * | eval ishandler=1 | lookup windows_protocol_handlers handler AS process OUTPUTNEW ishandler | where ishandler=\"TRUE\"",
        "| rename Processes.* as * | rex field=process \"(?<x>\\w+)\" | regex process=\"cmd\"",
    ] {
        let text = format!("{base} {post}");
        let needed = substrings_needed(&text);
        assert!(needed.is_empty(), "{post}: {needed:?}");
        same_both_ways(&text, &MacroSet::builtin());
    }
}

/// A segment's group table is emptied into the merge whenever it passes
/// half the group memory, and harvested in pieces whose text stays within
/// it: every kind of aggregate comes out as when each segment is held
/// whole, from one group at a time (0) to pieces of many groups.
#[test]
fn every_aggregate_survives_tables_emptied_mid_segment() {
    let (on, _, _, dir) = engines();
    let spl_text = "| tstats count dc(Processes.process) as dc \
        values(Processes.process_name) as names min(Processes.process_id) as min_pid \
        max(Processes.process_id) as max_pid sum(Processes.process_id) as sum_pid \
        avg(Processes.parent_process_id) as avg_ppid latest(Processes.process) as last \
        earliest(Processes.process) as first min(_time) as firstTime max(_time) as lastTime \
        from datamodel=Endpoint.Processes \
        by Processes.dest Processes.user Processes.parent_process_name";
    let query = spl::parse_query(spl_text, &MacroSet::default()).expect("parse");
    let whole = on.run(&query).expect("run");
    assert!(whole.rows.len() > 100, "{} rows", whole.rows.len());
    for budget in [0, 4 << 10, 64 << 10, 1 << 20] {
        let mut engine = Engine::open(dir).expect("open");
        engine.set_group_memory(budget);
        let table = engine.run(&query).expect("run");
        assert_eq!(table, whole, "group memory {budget} bytes");
    }
}
