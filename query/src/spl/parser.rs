//! Recursive-descent parser for the supported SPL subset (tiers S0-S2 of
//! `SPL_SUBSET.md`): `| tstats ...` followed by post-processing commands.
//!
//! This module is the entry point, [`parse_pipeline`]; the languages live in
//! sibling modules and their public items are re-exported here:
//!
//! - `tstats`: the `tstats` clause;
//! - `events`: the event searches `from datamodel:X`, `datamodel X Y search`;
//! - `search`: the search language (tstats `where`, `search`);
//! - `eval_expr`: the eval language (`where`, `eval`);
//! - `post_commands` and `reshape_commands`: the commands after `tstats`.
//!
//! All of them drive the token cursor of `lexer`, which also holds the
//! helpers they share.

use super::ast::*;
use super::lexer::{Cursor, Result};

pub use super::eval_expr::{parse_eval_expr, EVAL_FUNCTIONS, REGEX_FUNCTIONS};
pub use super::post_commands::SUPPORTED_COMMANDS;
pub use super::search::parse_search_expr;
pub use super::tstats::parse_span;

use super::events::{parse_event_source, take_leading_search};
use super::post_commands::parse_command;
use super::subsearch::parse_subsearch;
use super::tstats::parse_tstats;

/// Parse a macro-expanded query.
pub fn parse_pipeline(text: &str) -> Result<Pipeline> {
    let mut c = Cursor::new(text).with_subsearches(parse_subsearch);
    c.skip_ws();
    c.eat("|");
    c.skip_ws();
    let mut tstats = match parse_event_source(&mut c)? {
        Some(events) => events,
        None => parse_tstats(&mut c)?,
    };
    let mut commands = Vec::new();
    loop {
        c.skip_ws();
        if c.eof() {
            break;
        }
        if !c.eat("|") {
            return Err(c.error_here(format!("expected `|` before {}", c.describe_next())));
        }
        c.skip_ws();
        commands.push(parse_command(&mut c)?);
    }
    take_leading_search(&mut tstats, &mut commands);
    Ok(Pipeline { tstats, commands })
}

/// The span of each command after the data model search, parsed as
/// [`parse_pipeline`] parses them, so a consumer of the AST (the SQL
/// compiler) can point at a command the AST keeps no span for. Empty when
/// the text does not parse.
pub fn command_spans(text: &str) -> Vec<Span> {
    let mut c = Cursor::new(text).with_subsearches(parse_subsearch);
    c.skip_ws();
    c.eat("|");
    c.skip_ws();
    let mut tstats = match parse_event_source(&mut c) {
        Ok(Some(events)) => events,
        Ok(None) => match parse_tstats(&mut c) {
            Ok(t) => t,
            Err(_) => return Vec::new(),
        },
        Err(_) => return Vec::new(),
    };
    let mut spans = Vec::new();
    let mut commands = Vec::new();
    loop {
        c.skip_ws();
        if c.eof() || !c.eat("|") {
            break;
        }
        c.skip_ws();
        let start = c.pos();
        match parse_command(&mut c) {
            Ok(cmd) => commands.push(cmd),
            Err(_) => return Vec::new(),
        }
        let end = text[..c.pos()].trim_end().len().max(start);
        spans.push(start..end);
    }
    let before = commands.len();
    take_leading_search(&mut tstats, &mut commands);
    spans.drain(..before - commands.len());
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deep nesting overflowed the stack (found while writing the SPL fuzz
    /// target). Each shape nested to the limit parses; far past it, it is
    /// an error (in a 2 MiB test thread, with unoptimised frames).
    #[test]
    fn nesting_is_bounded_not_a_stack_overflow() {
        use crate::spl::lexer::MAX_NESTING;
        let deep = |open: &str, inner: &str, close: &str, n: usize| {
            format!("{}{inner}{}", open.repeat(n), close.repeat(n))
        };
        type Parse = fn(&str) -> Result<()>;
        let search: Parse = |t| parse_search_expr(t).map(drop);
        let eval: Parse = |t| parse_eval_expr(t).map(drop);
        let cases: [(&str, &str, &str, Parse); 7] = [
            ("(", "a=1", ")", search),
            ("NOT ", "a=1", "", search),
            ("(", "1", ")", eval),
            ("-", "1", "", eval),
            ("NOT ", "a", "", eval),
            ("abs(", "1", ")", eval),
            ("x IN (", "1", ")", eval),
        ];
        for (open, inner, close, parse) in cases {
            let ok = deep(open, inner, close, MAX_NESTING);
            assert!(parse(&ok).is_ok(), "{open}: {:?}", parse(&ok));
            let e = parse(&deep(open, inner, close, 20_000)).unwrap_err();
            assert!(e.message.contains("nested deeper than"), "{open}: {e}");
        }
        // Subsearches in subsearches.
        let sub = |n: usize| {
            let open = "| tstats count from datamodel=X where [";
            let close = " by a]";
            format!(
                "{}| tstats count from datamodel=X by a{}",
                open.repeat(n),
                close.repeat(n)
            )
        };
        assert!(
            parse_pipeline(&sub(4)).is_ok(),
            "{:?}",
            parse_pipeline(&sub(4))
        );
        let e = parse_pipeline(&sub(5_000)).unwrap_err();
        assert!(e.message.contains("nested deeper than"), "{e}");
    }

    /// A compact form: `and(or(a=1 b=2) c=3)`.
    fn show(e: &SearchExpr) -> String {
        let list = |v: &[SearchExpr]| v.iter().map(show).collect::<Vec<_>>().join(" ");
        match e {
            SearchExpr::And(v) => format!("and({})", list(v)),
            SearchExpr::Or(v) => format!("or({})", list(v)),
            SearchExpr::Not(x) => format!("not({})", show(x)),
            SearchExpr::Cmp {
                field, op, value, ..
            } => {
                let op = match op {
                    CmpOp::Eq => "=",
                    CmpOp::Ne => "!=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                let q = if value.quoted { "\"" } else { "" };
                format!("{field}{op}{q}{}{q}", value.text)
            }
            SearchExpr::In { field, values, .. } => format!(
                "{field} in[{}]",
                values
                    .iter()
                    .map(|v| v.text.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            SearchExpr::Term { value, .. } => format!("term({})", value.text),
            SearchExpr::Subsearch(s) => format!("sub({} cmds)", s.commands.len()),
        }
    }

    fn s(src: &str) -> String {
        show(&parse_search_expr(src).unwrap_or_else(|e| panic!("{src}: {}", e.render(src))))
    }

    fn tstats(src: &str) -> Tstats {
        parse_pipeline(src)
            .unwrap_or_else(|e| panic!("{}", e.render(src)))
            .tstats
    }

    #[test]
    fn or_binds_tighter_than_and() {
        assert_eq!(
            s(r#"process_name=net.exe OR process_name=net1.exe (process="*localgroup*")"#),
            r#"and(or(process_name=net.exe process_name=net1.exe) process="*localgroup*")"#
        );
        assert_eq!(s("a=1 b=2 OR c=3"), "and(a=1 or(b=2 c=3))");
        assert_eq!(s("a=1 OR b=2 AND c=3"), "and(or(a=1 b=2) c=3)");
        assert_eq!(
            s("(a=1 OR b=2) (c=3 OR d=4) e=5"),
            "and(or(a=1 b=2) or(c=3 d=4) e=5)"
        );
        assert_eq!(s("a=1 OR (b=2 OR c=3)"), "or(a=1 b=2 c=3)");
        assert_eq!(s("(a=1 b=2) OR c=3"), "or(and(a=1 b=2) c=3)");
    }

    #[test]
    fn not_binding() {
        assert_eq!(s("NOT a=1 OR b=2"), "or(not(a=1) b=2)");
        assert_eq!(s("a=1 NOT (b=2 OR c=3)"), "and(a=1 not(or(b=2 c=3)))");
        assert_eq!(
            s(
                r#"x="*cmd /c set" OR x = "*cmd.exe /c set" AND NOT (p = "cmd.exe" OR p="pwsh.exe")"#
            ),
            r#"and(or(x="*cmd /c set" x="*cmd.exe /c set") not(or(p="cmd.exe" p="pwsh.exe")))"#
        );
        assert_eq!(s("NOT NOT a=1"), "not(not(a=1))");
        assert_eq!(
            s("p=regasm.exe NOT (n IN (\"conhost.exe\"))"),
            "and(p=regasm.exe not(n in[conhost.exe]))"
        );
    }

    #[test]
    fn in_lists_and_ops() {
        assert_eq!(
            s("p IN (*create*, *addfile*, \"a b*\" c *resume* )"),
            "p in[*create*,*addfile*,a b*,c,*resume*]"
        );
        assert_eq!(s("p in (a,b)"), "p in[a,b]");
        assert_eq!(
            s("a != \"unknown\" b IN (\"x\")"),
            "and(a!=\"unknown\" b in[x])"
        );
        assert_eq!(
            s("count>5 count<=6 c>=1 d<2 e==3"),
            "and(count>5 count<=6 c>=1 d<2 e=3)"
        );
        assert!(parse_search_expr("p IN ()").is_err());
        assert!(parse_search_expr("p IN (a, b").is_err());
    }

    #[test]
    fn values_escapes_and_quirks() {
        assert_eq!(s(r#"p="*C:\\Windows\\x*""#), r#"p="*C:\Windows\x*""#);
        assert_eq!(s(r#"p="*stop \"samss\"*""#), r#"p="*stop "samss"*""#);
        assert_eq!(s(r#"p="*\sam *""#), r#"p="*\sam *""#);
        assert_eq!(
            s(r"p=*/NAMESPACE:\\\\root\\directory\\ldap*"),
            r"p=*/NAMESPACE:\\root\directory\ldap*"
        );
        assert_eq!(
            s(r#"("Processes.process_name"="net*.exe" "Processes.process"="*stop*")"#),
            r#"and(Processes.process_name="net*.exe" Processes.process="*stop*")"#
        );
        assert_eq!(
            s(r#"p= "*firewall*" q="*x*""#),
            r#"and(p="*firewall*" q="*x*")"#
        );
        assert_eq!(
            s(r#"p="*Nul*"Processes.parent_process=x"#),
            r#"and(p="*Nul*" Processes.parent_process=x)"#
        );
        assert_eq!(
            s("(n=\"powershell.exe\") (p=*System.Security* OR p=*GetCurrent()*)"),
            "and(n=\"powershell.exe\" or(p=*System.Security* p=*GetCurrent()*))"
        );
        assert_eq!(s("(n=net.exe)"), "n=net.exe");
        assert_eq!(s("(n=net.exe OR n=a(b)c)"), "or(n=net.exe n=a(b)c)");
        assert_eq!(
            s("processes.process_name=cmd.exe"),
            "processes.process_name=cmd.exe"
        );
        assert_eq!(s("*"), "term(*)");
        assert_eq!(s("p=*share*"), "p=*share*");
    }

    #[test]
    fn spans_point_at_terms() {
        let src = "a=1 OR  bb=\"x y\"";
        let e = parse_search_expr(src).unwrap();
        let SearchExpr::Or(v) = e else { panic!() };
        let SearchExpr::Cmp { span, .. } = &v[1] else {
            panic!()
        };
        assert_eq!(&src[span.clone()], "bb=\"x y\"");
    }

    #[test]
    fn tstats_clause() {
        let t = tstats(
            "| tstats summariesonly=false allow_old_summaries=true fillnull_value=\"null\" count, min(_time) AS firstTime max(_time) as lastTime values(Processes.process) dc(Processes.user) distinct_count(Processes.dest) values(Processes.process) AS Processes.process latest(Processes.x) FROM datamodel=\"Endpoint.Processes\" WHERE Processes.process_name=a BY Processes.dest, Processes.user _time span=1h",
        );
        assert_eq!(t.fillnull_value(), Some("null"));
        assert_eq!(t.options.len(), 3);
        let cols: Vec<&str> = t.aggs.iter().map(|a| a.column.as_str()).collect();
        assert_eq!(
            cols,
            [
                "count",
                "firstTime",
                "lastTime",
                "values(Processes.process)",
                "dc(Processes.user)",
                "distinct_count(Processes.dest)",
                "Processes.process",
                "latest(Processes.x)"
            ]
        );
        assert_eq!(t.aggs[4].func, AggFunc::Dc);
        assert_eq!(t.aggs[5].func, AggFunc::Dc);
        assert_eq!(t.aggs[1].field.as_deref(), Some("_time"));
        assert_eq!(t.datamodel, "Endpoint.Processes");
        assert_eq!(
            t.by,
            [
                ByField::Field("Processes.dest".into()),
                ByField::Field("Processes.user".into()),
                ByField::Time {
                    span_secs: Some(3600)
                }
            ]
        );
        let t = tstats("tstats count from datamodel=Endpoint.Processes nodename=Processes by _time span=20m, host");
        assert!(t.filter.is_none());
        assert_eq!(
            t.options,
            [("nodename".to_string(), "Processes".to_string())]
        );
        assert_eq!(
            t.by[0],
            ByField::Time {
                span_secs: Some(1200)
            }
        );
        let t = tstats("| tstats min(_time) from datamodel=X where a=1 by _time");
        assert_eq!(t.aggs[0].column, "min(_time)");
        assert_eq!(t.by, [ByField::Time { span_secs: None }]);
        assert!(parse_pipeline("| tstats count from datamodel=X by _time span=1mon").is_err());
        assert!(parse_pipeline("| tstats count from datamodel=X by a span=1h").is_err());
        assert!(parse_pipeline("| tstats perc95(x) from datamodel=X").is_err());
        assert!(parse_pipeline("| tstats count where a=1").is_err());
        assert_eq!(parse_span("5m"), Ok(300));
        assert_eq!(parse_span("2d"), Ok(172_800));
        assert_eq!(parse_span("30s"), Ok(30));
        assert_eq!(parse_span("1hr"), Ok(3600));
    }

    #[test]
    fn multiline_query() {
        let src = "| tstats count FROM datamodel=Endpoint.Processes\n  WHERE (\n        Processes.process_name=\"powershell.exe\"\n    )\n    (Processes.process=*Get-NetTcpConnection*)\n  BY Processes.action\n     Processes.dest\n| rename \"Processes.*\" as *\n| search *";
        let p = parse_pipeline(src).unwrap();
        assert_eq!(
            show(p.tstats.filter.as_ref().unwrap()),
            "and(Processes.process_name=\"powershell.exe\" Processes.process=*Get-NetTcpConnection*)"
        );
        assert_eq!(p.tstats.by.len(), 2);
        assert_eq!(p.commands.len(), 2);
    }

    #[test]
    fn commands() {
        let p = parse_pipeline(
            "| tstats count from datamodel=X | rename \"Processes.*\" as * | convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime) ctime(lastTime) as lt \
             | where count >= 8 | eval a=lower(x), 'b c'=1 | search dc_dest < 10 | regex process=\"(?i)(notepad\\.exe.{0,4}$)\" \
             | regex Processes.process!=\"\\\\s\" | table a b* | fields - a | sort 0 - count +num(x) | head 5",
        )
        .unwrap();
        let c = &p.commands;
        assert_eq!(
            c[0],
            Command::Rename(vec![("Processes.*".into(), "*".into())])
        );
        match &c[1] {
            Command::Convert {
                timeformat,
                conversions,
            } => {
                assert_eq!(timeformat, "%Y-%m-%dT%H:%M:%S");
                assert_eq!(conversions.len(), 2);
                assert_eq!(conversions[1].alias.as_deref(), Some("lt"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c[2],
            Command::Where(Expr::Binary { op: BinOp::Ge, .. })
        ));
        match &c[3] {
            Command::Eval(v) => assert_eq!(v[1].0, "b c"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &c[4],
            Command::Search(SearchExpr::Cmp { op: CmpOp::Lt, .. })
        ));
        assert_eq!(
            c[5],
            Command::Regex {
                field: Some("process".into()),
                negate: false,
                pattern: r"(?i)(notepad\.exe.{0,4}$)".into()
            }
        );
        assert_eq!(
            c[6],
            Command::Regex {
                field: Some("Processes.process".into()),
                negate: true,
                pattern: r"\s".into()
            }
        );
        assert_eq!(c[7], Command::Table(vec!["a".into(), "b*".into()]));
        assert_eq!(
            c[8],
            Command::Fields {
                remove: true,
                fields: vec!["a".into()]
            }
        );
        match &c[9] {
            Command::Sort { limit, keys } => {
                assert_eq!(*limit, Some(0));
                assert!(keys[0].descending && keys[0].field == "count");
                assert!(!keys[1].descending && keys[1].kind.as_deref() == Some("num"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c[10], Command::Head(5));
    }

    #[test]
    fn where_with_quoted_regex() {
        let src = r#"| tstats count from datamodel=X | where match(process,"(?i)[\-|\/|–|—|―][Ee^]{1,2}[NnCcOoDdEeMmAa^]+\s+[\"]?[A-Za-z0-9+/=]{5,}[\"]?") | search *"#;
        let p = parse_pipeline(src).unwrap();
        match &p.commands[0] {
            Command::Where(Expr::Call { name, args, .. }) => {
                assert_eq!(name, "match");
                assert_eq!(
                    args[1],
                    Expr::Str(r#"(?i)[\-|\/|–|—|―][Ee^]{1,2}[NnCcOoDdEeMmAa^]+\s+["]?[A-Za-z0-9+/=]{5,}["]?"#.into())
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(p.commands.len(), 2);
    }

    #[test]
    fn unsupported_constructs_are_named() {
        let src = "| tstats count from datamodel=X | outputlookup foo";
        let e = parse_pipeline(src).unwrap_err();
        assert!(
            e.message.contains("unsupported command `outputlookup`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("tstats, rename, convert"));
        assert_eq!(&src[e.span.clone()], "outputlookup");
        assert!(e.render(src).contains("^^^^^^"));
        for (q, what, at) in [
            (
                "| apply model",
                "Machine Learning Toolkit model",
                "apply model",
            ),
            (
                "| fit DensityFunction x",
                "Machine Learning Toolkit model",
                "fit DensityFunction",
            ),
            (
                "| stats perc95(x)",
                "unsupported `stats` function `perc95`",
                "perc95",
            ),
            ("| stats count(eval(x>1))", "eval", "e"),
            (
                "| rex field=x \"(?<a>\"",
                "invalid regular expression",
                "\"(?<a>\"",
            ),
            ("| rex mode=sed \"s/a/b/q\"", "sed flags", "\"s/a/b/q\""),
            ("| lookup x OUTPUT", "needs a field to match", "lookup x"),
            ("| join x", "subsearch", "join"),
            (
                "| transaction x startswith=\"a\"",
                "eval(EXPRESSION)",
                "startswith",
            ),
            ("| eval x=[| inputlookup x]", "subsearch", "["),
            ("| search [| search x]", "must start with", "search"),
            ("| search [| inputlookup x", "unclosed subsearch", "["),
            (
                "| eval x=md5(y)",
                "unsupported eval function `md5`",
                "md5(y)",
            ),
            (
                "| regex process=\"(a\"",
                "invalid regular expression",
                "\"(a\"",
            ),
            ("| regex process!=a[b", "invalid regular expression", "a[b"),
            ("| regex \"(\"", "invalid regular expression", "\"(\""),
            (
                "| where match(process, \"[a-\")",
                "invalid regular expression",
                "match(",
            ),
            (
                "| eval x=replace(y, \"(?<n\", \"z\")",
                "invalid regular expression",
                "replace(",
            ),
            (
                "| eval x=mvfind(y, \"[\")",
                "invalid regular expression",
                "mvfind(",
            ),
        ] {
            let src = format!("| tstats count from datamodel=X {q}");
            let e = parse_pipeline(&src).unwrap_err();
            assert!(e.message.contains(what), "{q}: {}", e.message);
            assert!(
                src[e.span.clone()].starts_with(at),
                "{q}: {:?}",
                &src[e.span.clone()]
            );
        }
        let e = parse_pipeline("| search x").unwrap_err();
        assert!(e.message.contains("tstats"));
    }

    #[test]
    fn an_option_value_ends_at_a_subsearch() {
        // ESCU's "Detect Outlook exe writing a zip file" writes the option
        // after the field and the subsearch right after its value.
        let p = parse_pipeline(
            "| tstats count from datamodel=X by a | join a type=inner[| tstats count from datamodel=X by a] \
             | transaction a startswith=eval(match(a, \"[x]\")) maxspan=1h",
        )
        .unwrap();
        match &p.commands[..] {
            [Command::Join(j), Command::Transaction(t)] => {
                assert_eq!(j.fields, ["a"]);
                assert!(!j.left);
                assert!(t.startswith.is_some());
            }
            other => panic!("{other:?}"),
        }
        // A quote or parenthesis left open does not swallow what follows.
        for value in ["N\"A", ":("] {
            let p = parse_pipeline(&format!(
                "| tstats count from datamodel=X by a | fillnull value={value} a | stats count by a"
            ))
            .unwrap();
            match &p.commands[..] {
                [Command::Fillnull { value: v, fields }, Command::Stats(_)] => {
                    assert_eq!((v.as_str(), &fields[..]), (value, &["a".to_string()][..]));
                }
                other => panic!("{value}: {other:?}"),
            }
        }
    }

    #[test]
    fn post_tstats_commands_parse() {
        let p = parse_pipeline(
            "| tstats count from datamodel=X where a=1 [| inputlookup l where k=v | table a] by a \
             | lookup update=true l1 f1 AS a, f2 OUTPUTNEW o1 AS x o2 \
             | lookup l2 k | rex field=a max_match=0 \"(?<n>\\d)\" | rex mode=sed field=a \"s/x/y/g\" \
             | stats count dc(a) AS d values(b) by c, d | eventstats avg(x) | streamstats current=f window=2 count by a \
             | makemv delim=\",\" allowempty=true a | makemv tokenizer=\"(\\w+)\" b | mvexpand a limit=3 \
             | dedup 2 a b keepempty=true sortby -c | fillnull value=NULL a b | fillnull \
             | join type=left max=0 a [| tstats count from datamodel=X by a | rename a as b] \
             | transaction dest connected=false maxpause=5m maxspan=1h maxevents=-1 mvlist=true \
             | search a=1 [| inputlookup l | fields a] NOT b=\\*",
        )
        .unwrap();
        let f = p.tstats.filter.as_ref().unwrap();
        assert_eq!(show(f), "and(a=1 sub(1 cmds))");
        let c = &p.commands;
        match &c[0] {
            Command::Lookup(l) => {
                assert_eq!(l.name, "l1");
                assert_eq!(
                    l.inputs,
                    [("f1".into(), "a".into()), ("f2".into(), "f2".into())]
                );
                assert_eq!(
                    l.outputs,
                    [("o1".into(), "x".into()), ("o2".into(), "o2".into())]
                );
                assert!(l.output_new);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&c[1], Command::Lookup(l) if l.outputs.is_empty() && !l.output_new));
        assert!(
            matches!(&c[2], Command::Rex(r) if r.field == "a" && r.max_match == 0 && r.pattern == "(?<n>\\d)" && !r.sed)
        );
        assert!(matches!(&c[3], Command::Rex(r) if r.sed && r.pattern == "s/x/y/g"));
        match &c[4] {
            Command::Stats(s) => {
                let cols: Vec<&str> = s.aggs.iter().map(|a| a.column.as_str()).collect();
                assert_eq!(cols, ["count", "d", "values(b)"]);
                assert_eq!(s.by, ["c", "d"]);
                assert_eq!(s.kind, StatsKind::Stats);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&c[5], Command::Stats(s) if s.kind == StatsKind::Eventstats && s.aggs[0].column == "avg(x)")
        );
        assert!(matches!(&c[6], Command::Stats(s) if !s.current && s.window == 2 && s.by == ["a"]));
        assert!(
            matches!(&c[7], Command::Makemv { split: MvSplit::Delim(d), allow_empty: true, .. } if d == ",")
        );
        assert!(
            matches!(&c[8], Command::Makemv { split: MvSplit::Tokenizer(t), .. } if t == "(\\w+)")
        );
        assert_eq!(
            c[9],
            Command::Mvexpand {
                field: "a".into(),
                limit: Some(3)
            }
        );
        assert!(
            matches!(&c[10], Command::Dedup { count: 2, keep_empty: true, sort, fields, .. } if fields.len() == 2 && sort[0].descending)
        );
        assert_eq!(
            c[11],
            Command::Fillnull {
                value: "NULL".into(),
                fields: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(
            c[12],
            Command::Fillnull {
                value: "0".into(),
                fields: vec![]
            }
        );
        match &c[13] {
            Command::Join(j) => {
                assert!(j.left && j.max == 0 && j.overwrite);
                assert_eq!(j.fields, ["a"]);
                assert_eq!(j.sub.commands.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        match &c[14] {
            Command::Transaction(t) => {
                assert_eq!(t.fields, ["dest"]);
                assert_eq!(
                    (t.maxpause, t.maxspan, t.maxevents),
                    (Some(300), Some(3600), None)
                );
                assert!(t.mvlist);
            }
            other => panic!("{other:?}"),
        }
        match &c[15] {
            Command::Search(e) => {
                let s = show(e);
                assert!(s.starts_with("and(a=1 sub(1 cmds) not(b="), "{s}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn syntax_errors_have_spans() {
        for src in [
            "| tstats count from datamodel=X where (a=1 by b",
            "| tstats count from datamodel=X where a=1) by b",
            "| tstats count from datamodel=X where a=",
            "| tstats count from datamodel=X where a=\"open by b",
            "| tstats count from datamodel=X where OR a=1",
            "| tstats count from datamodel=X where a=1 AND",
            "| tstats count from datamodel=X where",
            "| tstats count from datamodel=X by",
            "| tstats count from datamodel=X |",
            "| tstats count from datamodel=X | head x",
            "| tstats count from datamodel=X | rename a b",
            "| tstats count from datamodel=X | where (a=1",
            "| tstats count from datamodel=X | where a=",
            "| tstats count from datamodel=X | eval a",
            "| tstats count from datamodel=X | sort",
            "| tstats count from datamodel=X | convert ctime(x",
            "| tstats count from datamodel=X | convert dur2sec(x)",
            "",
            "|",
            "| tstats",
        ] {
            let e = parse_pipeline(src).expect_err(src);
            assert!(
                e.span.start <= src.len() && e.span.end <= src.len(),
                "{src}: {e:?}"
            );
            let _ = e.render(src);
        }
    }

    #[test]
    fn never_panics_on_random_token_soup() {
        const TOKENS: &[&str] = &[
            "| ",
            "tstats ",
            "count ",
            "min(_time) ",
            "as ",
            "x ",
            "from ",
            "datamodel=",
            "E.P ",
            "where ",
            "by ",
            "_time ",
            "span=",
            "1h ",
            "a",
            "=",
            "!=",
            "<",
            ">=",
            "\"",
            "\\",
            "(",
            ")",
            "*",
            " OR ",
            " AND ",
            " NOT ",
            " IN ",
            ",",
            "[",
            "]",
            "'",
            "search ",
            "eval ",
            "rename ",
            "sort ",
            "- ",
            "head ",
            "regex ",
            "table ",
            "fields ",
            "convert ",
            "ctime(",
            "match(",
            "len(",
            "like(",
            ".",
            "+",
            "é",
            "\n",
            " ",
            "1",
            "2.5",
            "`",
            "%",
            "where ",
            "substr(",
            "mvindex(",
            "split(",
            "round(",
            "replace(",
            "if(",
            "case(",
            "-1e300",
            "_time",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..4000 {
            let mut q = String::new();
            let len = (seed % 24) as usize;
            for _ in 0..len {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                q.push_str(TOKENS[(seed >> 33) as usize % TOKENS.len()]);
            }
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            for prefix in [
                "",
                "| tstats count from datamodel=X where ",
                "| tstats count from datamodel=X | where ",
            ] {
                let full = format!("{prefix}{q}");
                match parse_pipeline(&full) {
                    Err(e) => {
                        let _ = e.render(&full);
                    }
                    Ok(p) => {
                        use crate::table::{Cell, Table};
                        let mut t = Table {
                            columns: vec!["a".into(), "x".into(), "_time".into()],
                            rows: vec![
                                vec![
                                    Cell::one("1"),
                                    Cell(vec!["é".into(), "b".into()]),
                                    Cell::one("1.5"),
                                ],
                                vec![Cell::null(), Cell::one("-2.5"), Cell::one("x")],
                            ],
                        };
                        let _ = crate::commands::apply_all(&mut t, &p.commands);
                    }
                }
                let _ = parse_search_expr(&q);
                let _ = parse_eval_expr(&q);
                let _ = crate::spl::MacroSet::builtin().expand(&full);
            }
        }
    }

    #[test]
    fn never_panics_on_prefixes() {
        let src = r#"| tstats `x` count min(_time) as firstTime values(Processes.process) from datamodel=Endpoint.Processes where (a="x\"y" OR b IN (c, "d*")) NOT e!=*f()* by g, _time span=1h | rename "P.*" as * | convert timeformat="%Y" ctime(firstTime) | where match(a, "é") AND len(b)>2 | eval z=if(a=1,"x",'y z') | regex a!="\\d" | table a | fields + a | sort - a | head 3"#;
        let mut cut = 0;
        while cut <= src.len() {
            if src.is_char_boundary(cut) {
                let _ = parse_pipeline(&src[..cut]);
                let _ = parse_search_expr(&src[..cut]);
                let _ = parse_eval_expr(&src[..cut]);
            }
            cut += 1;
        }
    }
}
