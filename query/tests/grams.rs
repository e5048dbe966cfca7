//! The trigram path of `GlobQuery` gives exactly the documents of the
//! term-dictionary scan, on one index of real data (`../shared/datasets`),
//! the committed `datasets/sample`, and a few events with Unicode and very
//! long (over 16 KiB, over 60 kB) values: globs written by hand (contains,
//! prefix, suffix, several pieces, Unicode, no match, short pieces that fall
//! back to the scan) and globs cut from the indexed values themselves.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use common::*;
use evidx_query::glob::Glob;
use evidx_query::glob_query::GlobQuery;
use evidx_query::value_filters::ValueFilters;
use evidx_schema::{value_filter, Cim, EvidxSchema, GRAM_FIELDS, MAX_TERM_BYTES};
use tantivy::collector::DocSetCollector;
use tantivy::{DocAddress, Index, Searcher};

struct Fixture {
    searcher: Searcher,
    schema: Arc<EvidxSchema>,
    filters: Arc<ValueFilters>,
}

/// The long and Unicode command lines (pid, command line).
fn odd_values() -> Vec<(&'static str, String)> {
    // The needle straddles the 16 KiB cut of the indexed term.
    let at_term_cut = format!(
        "rundll32.exe {} straddle-16k {}",
        "x".repeat(MAX_TERM_BYTES - 20),
        "y".repeat(10_000)
    );
    // Three-byte characters up to past the fast column's 60 kB cut (which
    // lands mid-character), the needle beyond it; and another ending.
    let past_fast_cut = |end: &str| format!("wscript {} beyond-60k {end}", "€".repeat(20_000));
    vec![
        ("1", at_term_cut),
        ("2", past_fast_cut(&"z".repeat(20_000))),
        ("3", past_fast_cut("other-end")),
        ("5", "cmd /c echo ÄRGER im ΟΔΟΣ Straße".to_string()),
        (
            "6",
            "notepad.exe C:\\Users\\İlkay\\日本語のファイル.txt".to_string(),
        ),
        ("7", "cmd /c echo KELVIN 5\u{212A} ﬁle".to_string()),
    ]
}

/// One Sysmon process-creation event, as a line of evtx_dump JSON.
fn event(rid: usize, pid: &str, cmd: &str) -> String {
    let q = |v: &str| serde_json::Value::from(v).to_string();
    let (cmd, image) = (q(cmd), q(&format!("C:\\Temp\\Ünïcode\\{pid}\\tool.exe")));
    let cwd = q("C:\\Users\\İlkay\\");
    format!(
        r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon"}}}},"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"G1","EventRecordID":{rid},"TimeCreated":{{"#attributes":{{"SystemTime":"2024-01-01T05:00:00Z"}}}}}},"EventData":{{"UtcTime":"2024-01-01 05:00:00","Image":{image},"CommandLine":{cmd},"ParentCommandLine":{cmd},"CurrentDirectory":{cwd},"User":"DOM\\eve","ProcessId":"{pid}","ParentProcessId":"9","ParentImage":"C:\\Windows\\System32\\cmd.exe"}}}}}}"##
    )
}

fn write_odd_events(dir: &Path) {
    let text: String = odd_values()
        .iter()
        .enumerate()
        .map(|(i, (pid, cmd))| event(i + 1, pid, cmd) + "\n")
        .collect();
    std::fs::write(dir.join("odd.json"), text).unwrap();
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = scratch("grams");
        let odd = dir.join("odd");
        std::fs::create_dir_all(&odd).unwrap();
        write_odd_events(&odd);
        let index_dir = dir.join("index");
        let inputs = [shared("datasets"), workspace("datasets/sample"), odd];
        let (process_events, _) = build_index(&inputs, &index_dir);
        assert!(process_events > 3_000, "{process_events} process events");
        let index = Index::open_in_dir(&index_dir).unwrap();
        let schema = Arc::new(EvidxSchema::from_schema(&index.schema()).unwrap());
        let searcher = index.reader().unwrap().searcher();
        assert!(
            searcher.segment_readers().len() > 1,
            "the comparison should span several segments"
        );
        let filters = Arc::new(ValueFilters::new(vec![index_dir]));
        Fixture {
            searcher,
            schema,
            filters,
        }
    })
}

fn search(q: &GlobQuery) -> HashSet<DocAddress> {
    fixture().searcher.search(q, &DocSetCollector).unwrap()
}

/// Runs `patterns` over `field` both ways; returns the number of matches.
fn compare(field: Cim, patterns: &[&str]) -> usize {
    let globs: Vec<Glob> = patterns.iter().map(|p| Glob::new(p)).collect();
    let q = GlobQuery::new(fixture().schema.clone(), field, globs);
    let scan = q.clone().without_grams();
    assert!(!scan.uses_grams());
    let (by_grams, by_scan) = (search(&q), search(&scan));
    assert!(
        by_grams == by_scan,
        "{} {patterns:?}: grams {} docs, scan {} docs",
        field.name(),
        by_grams.len(),
        by_scan.len()
    );
    // Both ways of finding the documents of the matching values agree,
    // and so does the fallback when the values are too many to hold.
    let ways = [
        q.clone().with_lookup_cost(0),
        q.clone().with_lookup_cost(usize::MAX),
        q.clone().with_values_budget(0),
        q.clone().with_value_filters(fixture().filters.clone()),
    ];
    for (cost, way) in [
        "lookups",
        "ordered pass",
        "values over budget",
        "value filters",
    ]
    .iter()
    .zip(ways)
    {
        let by_way = search(&way);
        assert!(
            by_way == by_scan,
            "{} {patterns:?}: {cost}: {} docs, scan {} docs",
            field.name(),
            by_way.len(),
            by_scan.len()
        );
    }
    by_scan.len()
}

/// Like [`compare`], and the trigram path must be the one taken.
fn compare_grams(field: Cim, patterns: &[&str]) -> usize {
    let globs = patterns.iter().map(|p| Glob::new(p)).collect();
    assert!(
        GlobQuery::new(fixture().schema.clone(), field, globs).uses_grams(),
        "{patterns:?} should use the grams"
    );
    compare(field, patterns)
}

#[test]
fn hand_written_globs_agree() {
    let p = Cim::Process;
    let cases: [&[&str]; 10] = [
        &["*Get-NetTcpConnection*"],
        &["*powershell*"],
        &["*-enc*"],
        &["*.exe"],
        &["*\\rundll32.exe*"],
        &["\"C:\\Windows\\*"],
        &["C:\\Windows\\system32\\*.exe*"],
        &["*net*user*/add*"],
        &["*reg* add *\\run*"],
        &["*schtasks*", "*wmic*", "*vssadmin*delete*"],
    ];
    let counts: Vec<usize> = cases.iter().map(|c| compare_grams(p, c)).collect();
    eprintln!("{counts:?}");
    assert!(counts.iter().filter(|&&n| n > 0).count() >= 8, "{counts:?}");
    assert!(counts[1] > 100, "{counts:?}");
    assert_eq!(compare_grams(p, &["*no-such-value-xyzzy*"]), 0);
    assert_eq!(compare_grams(p, &["*qqq*zzz*"]), 0);
    assert_eq!(compare_grams(p, &["zzz*"]), 0);
    compare_grams(p, &["*abcd*", "*bcdxabc*"]);
    // Every glob needs a 3-character piece, else the dictionary scan.
    for short in [
        &["*ab*"][..],
        &["*a*b*c*"],
        &["*powershell*", "*ps*"],
        &["*"],
    ] {
        let globs = short.iter().map(|p| Glob::new(p)).collect();
        assert!(!GlobQuery::new(fixture().schema.clone(), p, globs).uses_grams());
        compare(p, short);
    }
    // Fields without grams always scan.
    let globs = vec![Glob::new("*powershell*")];
    assert!(!GlobQuery::new(fixture().schema.clone(), Cim::ProcessName, globs).uses_grams());
    assert!(compare(Cim::ProcessName, &["*powershell*"]) > 0);
    for f in GRAM_FIELDS {
        compare_grams(f, &["*system32*"]);
        compare_grams(f, &["*\\windows\\*"]);
        compare_grams(f, &["*md5=*", "*sha256=*", "*exe*"]);
        compare_grams(f, &["*users*appdata*"]);
    }
}

#[test]
fn long_and_unicode_values_agree() {
    let p = Cim::Process;
    let one = |patterns: &[&str]| assert_eq!(compare_grams(p, patterns), 1, "{patterns:?}");
    let none = |patterns: &[&str]| assert_eq!(compare_grams(p, patterns), 0, "{patterns:?}");
    one(&["*straddle-16k*"]);
    one(&["*STRADDLE-16K*yyyy"]);
    one(&["rundll32.exe xxxx*"]);
    one(&["*yyyy"]);
    one(&["*beyond-60k zzz*"]);
    one(&["*€€€ beyond-60k*other-end"]);
    one(&["*€ beyond-60k other-end"]);
    assert_eq!(compare_grams(p, &["*beyond-60k*"]), 2);
    assert_eq!(compare_grams(p, &["wscript €€€*"]), 2);
    // Only the indexed first 16 KiB or the fast column's cut form would match.
    none(&["*xxxx"]);
    none(&["rundll32.exe x*x"]);
    none(&["*€€€…[evidx: cut*"]);
    none(&["*sha256:*"]);
    one(&["*ärger*"]);
    one(&["*ΟΔΟΣ*"]);
    one(&["*οδος straße*"]);
    none(&["*οδος strasse*"]);
    one(&["*日本語*"]);
    one(&["*ファイル.TXT"]);
    one(&["*N 5\u{212A}*"]);
    one(&["*5k ﬁ*"]);
    none(&["*ilkay*"]);
    for (_, v) in odd_values() {
        one(&[v.as_str()]);
        let chars: Vec<char> = v.chars().collect();
        let head: String = chars[..20].iter().collect();
        let tail: String = chars[chars.len() - 20..].iter().collect();
        assert!(compare_grams(p, &[&format!("{head}*")]) >= 1);
        assert!(compare_grams(p, &[&format!("*{tail}")]) >= 1);
        if chars.len() >= 40 {
            assert!(compare_grams(p, &[&format!("*{head}*{tail}*")]) >= 1);
        }
    }
    // Fields without trigrams answer by the dictionary scan.
    let f = Cim::ProcessCurrentDirectory;
    assert!(compare(f, &["*\\İlkay\\*"]) >= 6);
    assert!(compare(f, &["*\\i̇lkay\\*"]) >= 6);
    assert!(compare(Cim::ProcessPath, &["*\\ünïcode\\*"]) >= 6);
    assert_eq!(
        compare_grams(Cim::ParentProcess, &["*beyond-60k*other*"]),
        1
    );
}

/// Globs cut from indexed values: for every 7th distinct value of each gram
/// field, a middle substring as `*x*`, upper-cased, with the value's start
/// as a prefix, and the value's end as a suffix.
#[test]
fn globs_cut_from_indexed_values_agree() {
    let fx = fixture();
    let mut compared = 0;
    let mut matched = 0;
    for f in GRAM_FIELDS {
        let mut values = Vec::new();
        for segment in fx.searcher.segment_readers() {
            let Some(column) = segment.fast_fields().str(f.name()).unwrap() else {
                continue;
            };
            let mut stream = column.dictionary().stream().unwrap();
            let mut n = 0;
            while stream.advance() {
                n += 1;
                if n % 7 == 0 && values.len() < 120 {
                    values.push(String::from_utf8_lossy(stream.key()).into_owned());
                }
            }
        }
        for v in &values {
            let chars: Vec<char> = v.chars().collect();
            if chars.len() < 12 {
                continue;
            }
            let cut = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
            let n = chars.len();
            let middle = cut(n / 3, (n / 3 + 9).min(n));
            let start = cut(0, 4);
            let end = cut(n - 5, n);
            let patterns = [
                format!("*{middle}*"),
                format!("*{}*", middle.to_uppercase()),
                format!("{start}*{middle}*"),
                format!("*{middle}*{end}"),
                format!("{start}*{end}"),
            ];
            for p in &patterns {
                if Glob::new(p).pieces().iter().any(|x| x.chars().count() >= 3) {
                    matched += compare_grams(f, &[p.as_str()]);
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 500, "only {compared} globs compared");
    assert!(matched > compared, "{matched} matches for {compared} globs");
}

/// Every segment has a value filter for each trigram field, which holds
/// every term of the field's search dictionary in the segment (a missing
/// one would lose matches) and few terms of the other segments.
#[test]
fn value_filters_hold_every_term_of_their_segment() {
    let fx = fixture();
    let segments = fx.searcher.segment_readers();
    for f in GRAM_FIELDS {
        let (_, search) = fx.schema.cim[f.index()];
        let (mut own, mut foreign, mut foreign_passed) = (0, 0, 0);
        for segment in segments {
            let id = segment.segment_id().uuid_string();
            let filter = (fx.filters.open(&id, f))
                .unwrap_or_else(|| panic!("segment {id} has no {} filter", f.name()));
            let terms = segment.inverted_index(search).unwrap();
            let mut stream = terms.terms().stream().unwrap();
            while stream.advance() {
                let key = value_filter::key(stream.key());
                assert!(filter.may_contain(key), "{}: a term of {id}", f.name());
                own += 1;
            }
            for other in segments
                .iter()
                .filter(|o| o.segment_id() != segment.segment_id())
            {
                let other_terms = other.inverted_index(search).unwrap();
                let mut stream = other_terms.terms().stream().unwrap();
                while stream.advance() {
                    if terms.terms().get(stream.key()).unwrap().is_none() {
                        foreign += 1;
                        foreign_passed +=
                            usize::from(filter.may_contain(value_filter::key(stream.key())));
                    }
                }
            }
        }
        // The segments' layout varies with thread timing: a few hundred
        // terms each way at least.
        assert!(
            own > 300 && foreign > 100,
            "{own} own, {foreign} foreign terms"
        );
        // ~1% expected; 5% would mean a broken filter.
        assert!(
            foreign_passed * 20 < foreign,
            "{foreign_passed} of {foreign} passed"
        );
    }
}

/// `GlobQuery::all_of` (the planner's `f=*a* f=*b*` on one field) finds
/// exactly the documents that every glob alone finds, by trigrams and by
/// scan, also for globs without trigrams, prefixes, and the long values.
#[test]
fn all_of_is_the_intersection_of_its_globs() {
    let cases: &[(Cim, &[&str])] = &[
        (
            Cim::Process,
            &["*powershell*", "*-nop*", "* -w *", "*hidden*"],
        ),
        (Cim::Process, &["*cmd*", "* /c *"]),
        (Cim::Process, &["*rundll32*", "*,*"]),
        (Cim::Process, &["rundll32.exe *", "*straddle-16k*"]),
        (Cim::Process, &["*beyond-60k*", "*other-end"]),
        (Cim::Process, &["*ärger*", "*straße*"]),
        (Cim::Process, &["*a*", "*no such text anywhere*"]),
        (Cim::ParentProcess, &["*.exe*", "*c:\\windows\\*"]),
        (Cim::ProcessName, &["*.exe", "c*"]),
    ];
    let mut found = 0;
    for (field, patterns) in cases {
        let globs: Vec<Glob> = patterns.iter().map(|p| Glob::new(p)).collect();
        let each: Vec<HashSet<DocAddress>> = globs
            .iter()
            .map(|g| {
                search(&GlobQuery::new(
                    fixture().schema.clone(),
                    *field,
                    vec![g.clone()],
                ))
            })
            .collect();
        let want: HashSet<DocAddress> = each.iter().skip(1).fold(each[0].clone(), |acc, s| {
            acc.intersection(s).copied().collect()
        });
        let q = GlobQuery::all_of(fixture().schema.clone(), *field, globs);
        for (way, q) in [
            ("as planned", q.clone()),
            ("by scan", q.clone().without_grams()),
            ("over budget", q.clone().with_values_budget(0)),
            (
                "value filters",
                q.clone().with_value_filters(fixture().filters.clone()),
            ),
        ] {
            assert_eq!(search(&q), want, "{} {patterns:?} {way}", field.name());
        }
        found += want.len();
    }
    assert!(found > 100, "only {found} documents matched");
}
