//! `--emit-sql duckdb` against evidx itself: every shared ESCU detection
//! that evidx runs and every Sigma regression query, compiled to SQL and
//! run in DuckDB over a `processes` table of the same events, gives the
//! CSV `evidx-query --format csv` gives over the index (same header, same
//! rows in the same order, same cells).
//!
//! The table is the Parquet the same indexing run wrote (`--parquet`),
//! read by `scripts/sql-run-duckdb.py`. One heavy Spark test runs the jobs
//! of `scripts/spark/evidx_spark.py` on a multi-process Spark (`index`,
//! then `hunt` over what it wrote) and diffs them against the same run.
//! DuckDB and PySpark come from PyPI when they are missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use evidx_index::parquet::ParquetConfig;
use evidx_query::sql::{self, compile, Dialect};
use evidx_query::table::Table;
use evidx_query::{detection, spl, Engine};

/// Compiled and matching shared detections and Sigma queries must not
/// fall below these (the counts when last raised: a regression in the
/// compiler shows here): every one evidx runs.
const MIN_MATCHED: usize = 84;
const MIN_MATCHED_SPARK: usize = 84;

/// The ESCU detection files (the main set and the post-command set).
fn escu_files() -> Vec<PathBuf> {
    let mut files = yamls(&shared("escu/detections"));
    files.extend(yamls(&shared("escu/post-commands/detections")));
    files
}

fn sigma_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(shared("sigma-regression"))
        .expect("../shared/sigma-regression")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("query.spl").exists() && p.join("events.evtx").exists())
        .collect();
    cases.sort();
    cases
}

/// `python3` with `module`, installed from PyPI (`package`) when missing.
fn ensure_python_module(module: &str, package: &str) {
    let has = |py: &str| {
        Command::new("python3")
            .args(["-c", py])
            .status()
            .is_ok_and(|s| s.success())
    };
    let import = format!("import {module}");
    if has(&import) {
        return;
    }
    let ok = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", package])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok && has(&import),
        "the SQL tests need {module} for Python: `python3 -m pip install {package}` failed"
    );
}

/// An engine to run compiled SQL in: its dialect and its runner script.
#[derive(Clone, Copy)]
struct Runner {
    dialect: Dialect,
    script: &'static str,
}

const DUCKDB: Runner = Runner {
    dialect: Dialect::DuckDb,
    script: "scripts/sql-run-duckdb.py",
};

fn to_csv_rows(t: &Table) -> Vec<Vec<String>> {
    parse_csv(&to_csv(t))
}

/// The index of `../shared/datasets` and the Sigma cases, and the Parquet
/// of the same run (`-o index --parquet parquet`), made once for the test
/// binary.
struct Fixture {
    engine: Engine,
    inputs: Vec<PathBuf>,
    parquet: PathBuf,
    /// The index's manifest totals.
    totals: serde_json::Value,
    work: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        ensure_python_module("duckdb", "duckdb");
        let work = scratch("sql-duckdb");
        let mut inputs = vec![shared("datasets")];
        inputs.extend(sigma_cases().iter().map(|c| c.join("events.evtx")));
        let (index, parquet) = (work.join("index"), work.join("parquet"));
        let cfg = evidx_index::Config {
            threads: 2,
            force: true,
            memory: 64 << 20,
            parquet: Some(ParquetConfig::new(parquet.clone(), false)),
            ..evidx_index::Config::new(inputs.clone(), index.clone())
        };
        let quiet = evidx_index::progress::Progress::new(evidx_index::progress::Mode::Quiet);
        let outcome = evidx_index::run(&cfg, &quiet).expect("index with --parquet");
        assert!(
            outcome.index.documents > 3_000,
            "only {} events indexed",
            outcome.index.documents
        );
        let mut engine = Engine::open(&index).expect("open the index");
        engine.set_lookups(
            evidx_query::lookups::LookupStore::load_dir(&shared("escu/lookups")).expect("lookups"),
        );
        Fixture {
            engine,
            inputs,
            parquet,
            totals: serde_json::to_value(&outcome.index).expect("totals as JSON"),
            work,
        }
    })
}

/// What became of a set of searches.
#[derive(Default)]
struct Outcome {
    compiled: usize,
    matched: usize,
    refused: Vec<(String, String)>,
    not_run: Vec<String>,
    failures: Vec<String>,
}

/// Compile each `(name, search)` for the runner's dialect, run the SQL
/// there and compare its CSV with evidx's over the index.
fn diff(set: &str, searches: &[(String, String)], runner: Runner) -> Outcome {
    let fx = fixture();
    let lookups =
        evidx_query::lookups::LookupStore::load_dir(&shared("escu/lookups")).expect("lookups");
    let macros = escu_macros();
    let sql_dir = fx.work.join(set).join("sql");
    let out = fx.work.join(set).join("out");
    std::fs::create_dir_all(&sql_dir).unwrap();
    let mut o = Outcome::default();
    // (name, evidx's CSV records) of every compiled search.
    let mut expected: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    for (name, search) in searches {
        let Ok(query) = spl::parse_query(search, &macros) else {
            o.not_run.push(name.clone());
            continue;
        };
        let Ok(table) = fx.engine.run(&query) else {
            o.not_run.push(name.clone());
            continue;
        };
        match compile(&sql::with_lookups(&query, &lookups), runner.dialect) {
            Ok(sql) => {
                std::fs::write(sql_dir.join(format!("{name}.sql")), sql).unwrap();
                expected.push((name.clone(), to_csv_rows(&table)));
            }
            Err(e) => o.refused.push((name.clone(), e.to_string())),
        }
    }
    o.compiled = expected.len();
    let status = Command::new("python3")
        .arg(workspace(runner.script))
        .arg("--parquet")
        .arg(&fx.parquet)
        .arg("--sql-dir")
        .arg(&sql_dir)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run python3");
    for (name, want) in &expected {
        let Ok(text) = std::fs::read_to_string(out.join(format!("{name}.csv"))) else {
            let err = std::fs::read_to_string(out.join(format!("{name}.err")))
                .unwrap_or_else(|_| format!("no output (sql-run-duckdb.py: {status})"));
            o.failures
                .push(format!("{name}: the SQL engine failed: {err}"));
            continue;
        };
        let got = parse_csv(&text);
        if got == *want {
            o.matched += 1;
            continue;
        }
        let at = got
            .iter()
            .zip(want)
            .position(|(g, e)| g != e)
            .unwrap_or(got.len().min(want.len()));
        o.failures.push(format!(
            "{name}: SQL gave {} records, evidx {}; first difference at record {at}:\n  sql:   {:?}\n  evidx: {:?}\n  SQL: {}",
            got.len(),
            want.len(),
            got.get(at),
            want.get(at),
            sql_dir.join(format!("{name}.sql")).display()
        ));
    }
    println!(
        "{set}: {} searches, {} compiled ({} match evidx), {} refused, {} not run by evidx",
        searches.len(),
        o.compiled,
        o.matched,
        o.refused.len(),
        o.not_run.len()
    );
    for (name, why) in &o.refused {
        let first = why.lines().next().unwrap_or_default();
        println!("refused\t{name}\t{first}");
    }
    for name in &o.not_run {
        println!("not run by evidx\t{name}");
    }
    o
}

/// The shared ESCU detections and the Sigma regression queries.
fn shared_searches() -> Vec<(String, String)> {
    let mut searches: Vec<(String, String)> = Vec::new();
    for f in escu_files() {
        let name = format!("escu.{}", f.file_stem().unwrap().to_string_lossy());
        searches.push((name, detection::load(&f).expect("detection").search));
    }
    for case in sigma_cases() {
        let name = format!("sigma.{}", case.file_name().unwrap().to_string_lossy());
        searches.push((
            name,
            std::fs::read_to_string(case.join("query.spl")).unwrap(),
        ));
    }
    searches
}

#[test]
fn duckdb_gives_evidx_tables_for_shared_detections() {
    let o = diff("shared", &shared_searches(), DUCKDB);
    assert!(o.failures.is_empty(), "{}", o.failures.join("\n"));
    assert!(
        o.matched >= MIN_MATCHED,
        "only {} detections compile and match (at least {MIN_MATCHED} did)",
        o.matched
    );
}

/// Searches aimed at the semantics that are easy to get wrong in SQL:
/// LIKE metacharacters and backslashes in globs, a literal `\*`, `!=`
/// against `NOT`, fields the model lacks, fillnull, `_time` spans and
/// aggregates, the empty result, multi-values in `search` and `where`,
/// numbers against text.
fn edge_searches() -> Vec<(String, String)> {
    let ts = "| tstats count from datamodel=Endpoint.Processes";
    let fill = "| tstats fillnull_value=null count from datamodel=Endpoint.Processes";
    let mv = "| tstats count values(Processes.user) as user dc(Processes.process) as procs min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes";
    let cases: Vec<String> = vec![
        format!("{ts} where Processes.process=\"*%*\" by Processes.process"),
        format!("{ts} where Processes.process_name=\"*_*\" by Processes.process_name"),
        format!("{ts} where Processes.process_path=\"*\\\\Windows\\\\*\" by Processes.process_path"),
        format!("{ts} where Processes.process=\"*\\**\" by Processes.process"),
        format!("{ts} where Processes.process=\"*&gt;*\" by Processes.process"),
        format!("{fill} where NOT Processes.original_file_name=\"*.exe\" by Processes.original_file_name Processes.process_name"),
        format!("{fill} where Processes.original_file_name!=\"*.exe\" by Processes.original_file_name Processes.process_name"),
        format!("{fill} where NOT Processes.nosuch=x by Processes.nosuch sourcetype"),
        format!("{ts} where Processes.nosuch!=x by Processes.dest"),
        format!("{ts} where Processes.process_name IN (cmd.exe, \"power*\", \"*.EXE\") OR Processes.user=\"*system*\" by Processes.process_name"),
        format!("{ts} where Processes.process_name=cmd.exe OR Processes.process_name=powershell.exe Processes.user=* by Processes.user Processes.process_name"),
        "| tstats count values(_time) as t dc(_time) as dt count(Processes.user) as users earliest(_time) as e latest(_time) as l from datamodel=Endpoint.Processes by _time span=1d sourcetype".into(),
        "| tstats count from datamodel=Endpoint.Processes where _time>1600000000 _time<=1700000000.5 by _time span=1h".into(),
        "| tstats count from datamodel=Endpoint.Processes where earliest=1546300800 latest=@y Processes.process_name=* by _time span=30d".into(),
        "| tstats count dc(Processes.user) values(Processes.user) min(_time) from datamodel=Endpoint.Processes where Processes.process_name=no-such-process".into(),
        format!("{ts} where source=\"*.evtx\" by sourcetype Processes.host"),
        format!("{mv} by Processes.process_name | search count>5 | search user!=*SYSTEM* | convert ctime(firstTime) | convert timeformat=\"%d.%m.%Y %H-%M\" ctime(lastTime) as last"),
        format!("{mv} by Processes.process_name | search count=1 user=\"*a*\" OR procs<3 | head 7"),
        format!("{mv} by Processes.process_name | rename Processes.* as * | where count > 2 AND NOT process_name=\"cmd.exe\" AND 100 >= procs | table process_name nosuch count user"),
        format!("{mv} by Processes.process_name | rename Processes.* as *, count as n | where match(process_name, \"(?i)^(cmd|power)\\S*\\.exe$\") OR like(process_name, \"%.com\") | fields - firstTime"),
        format!("{mv} by Processes.process_name Processes.dest | rename Processes.* as * | regex user!=\"(?i)system\" | regex process_name=\"\\d\" | fillnull value=NA nosuch user"),
        format!("{mv} by Processes.dest | search \"*cmd*\" | where isnull(nosuch) AND isnotnull(user) AND firstTime <= 1800000000"),
        format!("{ts} by Processes.process_id | rename Processes.* as * | search process_id=4* OR Processes.process_id>1000 | where process_id < \"2\""),
        format!("{mv} by Processes.process_name Processes.dest | rename Processes.* as * | eval n=len(process_name), u=upper(process_name), l=lower(user), both=process_name . \"@\" . dest, k=count*2+1-procs, c=coalesce(nosuch, dest, \"none\"), m=coalesce(nosuch, user) | where n > 7 AND len(dest) >= 3 AND k != 3"),
        format!("{mv} by Processes.process_name Processes.dest | rename Processes.* as * | eval parts=split(process_name, \".\"), np=mvcount(parts), first=mvindex(parts, 0), last=mvindex(parts, -1), none=mvindex(parts, 5), mid=mvindex(user, 0, 1), tail=mvindex(user, -2, -1), s1=substr(process_name, 2, 3), s2=substr(process_name, -4), s3=substr(dest, 0, 2), s4=substr(dest, 3, -1), nu=mvcount(nosuch) | table process_name parts np first last none mid tail s1 s2 s3 s4 nu"),
        format!("{mv} by Processes.process_name Processes.dest | rename Processes.* as * | eval big=if(count > 3, \"many\", \"few\"), kind=case(match(process_name, \"^cmd\"), \"shell\", like(process_name, \"%.exe\"), count), flag=isnull(nosuch), cmp=count >= 2, same=process_name = dest, lonely=upper(nosuch) | search big=many OR kind=shell OR cmp=false | where len(process_name) < len(dest) OR count >= procs"),
        format!("{mv} by Processes.process_name Processes.dest | rename Processes.* as * | eventstats count as n dc(process_name) as kinds values(process_name) as names max(lastTime) as last by dest | stats count dc(dest) as dests values(dest) as hosts min(firstTime) as first max(n) as most values(kinds) as k by process_name | where dests > 0"),
        format!("{fill} by Processes.user Processes.original_file_name Processes.process_id | rename Processes.* as * | stats count dc(original_file_name) as files values(process_id) as pids count(process_id) as n by user"),
        format!("{ts} by Processes.process_id | rename Processes.* as * | stats count as c by process_id | head 40"),
        format!("{ts} by Processes.dest | rename Processes.* as * | stats count as hosts, count(nosuch) as none, dc(nosuch) as d2, values(nosuch) as v2, max(count) as top | eval x=top"),
        format!("{ts} by Processes.dest | rename Processes.* as * | eventstats count as total max(count) as top | eventstats count as x by nosuch | where count = top"),
        format!("{ts} by Processes.dest | rename Processes.* as * | stats count by nosuch"),
        format!("{mv} by Processes.process_name Processes.dest | rename Processes.* as * | eval d2=substr(dest, 1, 4) | dedup d2 | dedup 2 process_name keepempty=true | fillnull value=x nosuch | dedup nosuch process_name | dedup nothere keepempty=true"),
        format!("{ts} by Processes.dest | dedup nothere"),
        "| tstats count latest(Processes.process_name) as last_name earliest(Processes.process_name) as first_name latest(Processes.user) as lu earliest(Processes.parent_process) as ep latest(Processes.nosuch) as ln from datamodel=Endpoint.Processes by Processes.dest _time span=1d".into(),
        format!("{mv} by Processes.process_name Processes.dest Processes.process_path | rename Processes.* as * | eval p2=lower(process_path) | lookup attacker_tools attacker_tool_names AS process_name OUTPUT description | lookup lolbas_file_path lolbas_file_name as process_name lolbas_file_path as p2 OUTPUT description as lolbas_desc | lookup is_windows_system_file filename as process_name OUTPUT systemFile | eval keep=\"kept\" | lookup is_windows_system_file filename as process_name OUTPUTNEW systemFile as keep | lookup hijacklibs library as nosuch OUTPUT islibrary | rename description as tool | lookup attacker_tools attacker_tool_names AS dest | table process_name dest p2 tool description lolbas_desc systemFile keep islibrary"),
        // Subsearches as filters: case-insensitive, `_` fields left out,
        // wildcards, numbers, a field the row lacks, no rows.
        format!("{ts} by Processes.process_id Processes.dest Processes.process_name | rename Processes.* as * | search [| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe by Processes.parent_process_id Processes.dest | rename Processes.parent_process_id as process_id, Processes.dest as dest | eval dest=upper(dest), _t=\"nomatch\" | table process_id dest _t]"),
        format!("{ts} by Processes.process_id Processes.dest Processes.process_name | rename Processes.* as * | search process_name=cmd.exe OR [| tstats count from datamodel=Endpoint.Processes where Processes.process_name=whoami.exe by Processes.dest | rename Processes.dest as dest | eval dest=substr(dest, 1, 3) . \"*\", nosuch2=if(count > 1, \"x\", null()) | fields - count]"),
        format!("{ts} by Processes.process_id Processes.process_name | rename Processes.* as * | search NOT [| tstats count from datamodel=Endpoint.Processes where Processes.process_name=nomatch by Processes.dest | rename Processes.dest as dest] [| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe by Processes.process_id | rename Processes.process_id as process_id | eval process_id=process_id . \".0\" | fields process_id]"),
        // join: inner and left, max, overwrite, the common fields, a key
        // one side lacks.
        format!("{mv} by Processes.process_name Processes.dest | rename Processes.* as * | join dest [| tstats count dc(Processes.process_name) as kinds values(Processes.user) as users from datamodel=Endpoint.Processes by Processes.dest | rename Processes.dest as dest]"),
        format!("{ts} by Processes.process_name Processes.dest | rename Processes.* as * | eval count=if(process_name=\"cmd.exe\", null(), count) | join type=left max=0 overwrite=false process_name [| tstats count values(Processes.dest) as dests from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe OR Processes.process_name=powershell.exe by Processes.process_name Processes.user | rename Processes.* as *]"),
        format!("{ts} by Processes.process_name Processes.dest | rename Processes.* as * | join max=2 process_name nosuch [| tstats count from datamodel=Endpoint.Processes by Processes.process_name | rename Processes.* as * | eval nosuch=1]"),
        format!("{ts} by Processes.process_name Processes.dest | rename Processes.* as * | join type=left [| tstats count as n from datamodel=Endpoint.Processes by Processes.process_name Processes.dest | rename Processes.* as * | eval dest=lower(dest)] | head 50"),
        // transaction: pauses, maxevents, keepevicted, no `_time`, rows
        // without the field, a field no row has.
        format!("{ts} by Processes.dest Processes.process_name _time | rename Processes.* as * | transaction dest maxpause=5m | where eventcount >= 2"),
        "| tstats count values(Processes.user) as user from datamodel=Endpoint.Processes by Processes.process_name Processes.dest _time span=1h | rename Processes.* as * | transaction process_name maxevents=3 maxpause=1d keepevicted=true | head 60".into(),
        format!("{ts} by Processes.dest Processes.process_name | rename Processes.* as * | transaction dest maxevents=4 | head 30"),
        format!("{ts} by Processes.dest Processes.process_name _time span=1d | rename Processes.* as * | eval k=if(count > 1, dest, null()) | transaction k connected=false | table k _time duration eventcount count"),
        format!("{ts} by Processes.dest _time | rename Processes.* as * | transaction nosuch"),
        // Numeric aggregates and arithmetic on fractions: printed as
        // evidx prints numbers, `+` of a number and a text joining them,
        // a division by zero null, a numeric group key.
        format!("{ts} by Processes.dest Processes.process_name | rename Processes.* as * | eval l=len(process_name) | stats avg(l) as a stdev(l) as s var(l) as v stdevp(l) as sp varp(l) as vp sum(l) as t avg(count) as ac stdev(nosuch) as ns by dest"),
        format!("{ts} by Processes.dest Processes.process_name | rename Processes.* as * | eval l=len(process_name) | eventstats avg(l) as a stdev(l) as s by dest | eval z=(l - a) / s, half=l / 2, mix=a + dest, y=3*s + a, zero=l / 0 | where l > 2*s + a OR z < -1 | table dest process_name l a s z half mix y zero"),
        format!("{ts} by Processes.dest Processes.process_name | rename Processes.* as * | eval l=len(process_name) | eventstats avg(l) as a by dest | stats count values(a) as avgs by a | head 20"),
        // sort: numbers before texts, nulls first, `-` reversing all of
        // it, str(), a multi-value's first value, equal numbers keeping
        // their order, a limit, 0 for all, a field no row has.
        format!("{mv} by Processes.process_name | rename Processes.* as * | sort - count, str(process_name) | head 30"),
        format!("{mv} by Processes.process_name Processes.dest | rename Processes.* as * | sort 40 user -dest"),
        format!("{mv} by Processes.process_name | rename Processes.* as * | eval k=if(count > 3, count, process_name), r=count / 3, e=if(count > 3, \"1.0\", \"1\") | sort -k | head 25 | sort - r, nosuch, e"),
        format!("{mv} by Processes.process_name | rename Processes.* as * | eval e=if(count > 3, \"1.0\", \"1\"), n=if(procs > 2, null(), procs) | sort 0 e, -n"),
        format!("{ts} by Processes.process_name | rename Processes.* as * | eval n=count * 7 | sort str(n) -process_name | head 40"),
        // Regexes with Unicode word classes, and assertions and
        // one-character lookarounds at their edges (DuckDB's RE2 gets
        // them rewritten as context).
        format!("{ts} by Processes.process Processes.dest | rename Processes.* as * | regex process=\"(?<![\\\\\\\\])\\b\\w+\\.exe(?=\\s|\\\"|$)\" | where NOT match(dest, \"\\B\\d\")"),
        format!("{ts} by Processes.process Processes.process_name | rename Processes.* as * | regex process=\"(?i)\\b(net|cmd|powershell)\\.exe\\b\" | where match(process_name, \"\\w+\\.\\w{{3}}$\")"),
        format!("{ts} by Processes.process | rename Processes.* as * | regex process!=\"(\\s|^)-\\w+\" | where NOT match(process, \"(?<=\\\\\\\\)\\w+\\.exe\\B\")"),
        format!("{ts} by Processes.process Processes.dest | rename Processes.* as * | eval tag=\"old\" | rex field=process \"(?<exe>[^ ]+[.]exe)(?<rest>.*)\" | rex field=process \"(?i)(?<tag>powershell|cmd)\" | rex field=dest \"(?<dest>[^.]+)[.](?<domain>.*)\" | rex field=nosuch \"(?<never>.)\" | table process exe rest tag dest domain"),
    ];
    cases
        .into_iter()
        .enumerate()
        .map(|(i, s)| (format!("edge{i:02}"), s))
        .collect()
}

/// Regexes only Spark reads as evidx does: a word boundary inside the
/// pattern (RE2 has no Unicode one).
fn spark_edge_searches() -> Vec<(String, String)> {
    let ts = "| tstats count from datamodel=Endpoint.Processes";
    [
        format!("{ts} by Processes.process | rename Processes.* as * | regex process=\"(?i)\\bpowershell(?:\\.exe)?\\b\\W+-\\w+\""),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, s)| (format!("spark_edge{i:02}"), s))
    .collect()
}

#[test]
fn duckdb_gives_evidx_tables_for_edge_cases() {
    let o = diff("edge", &edge_searches(), DUCKDB);
    assert!(o.failures.is_empty(), "{}", o.failures.join("\n"));
    assert!(o.refused.is_empty(), "refused: {:?}", o.refused);
    assert!(o.not_run.is_empty(), "evidx did not run: {:?}", o.not_run);
}

/// The Spark master of the heavy test: two executor processes (one core,
/// 1 GiB each) besides the driver, as a small real cluster has.
const SPARK_MASTER: &str = "local-cluster[2,1,1024]";

/// Compares two Parquet directories in DuckDB: prints the row counts and
/// the rows each has more of than the other (all columns, as multisets).
const PARQUET_DIFF: &str = r#"
import sys, duckdb
con = duckdb.connect()
for name, d in (("a", sys.argv[1]), ("b", sys.argv[2])):
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{d}/**/*.parquet', "
                "hive_partitioning = true, hive_types = {'date': 'VARCHAR'})")
n = lambda q: con.execute(q).fetchone()[0]
print(n("SELECT count(*) FROM a"), n("SELECT count(*) FROM b"),
      n("SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)"),
      n("SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a)"))
"#;

/// `scripts/spark/evidx_spark.py JOB ARGS...` on [`SPARK_MASTER`]; its
/// standard output.
fn spark_job(job: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new("python3")
        .arg(workspace("scripts/spark/evidx_spark.py"))
        .args([job, "--master", SPARK_MASTER])
        .args(args)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "evidx_spark.py {job}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The Spark jobs on a multi-process Spark (PySpark from PyPI on the
/// machine's Java 17): `index` over the fixture's inputs gives the rows
/// and the manifest totals of the single `evidx-index --parquet` run, and
/// `hunt` over what it wrote gives, for every shared detection and Sigma
/// query, the CSV `evidx-query --format csv` gives over the index. One
/// heavy test: starting Spark takes most of a minute.
#[test]
fn spark_jobs_give_evidx_rows_and_tables() {
    let java = Command::new("java").arg("-version").output();
    assert!(
        java.is_ok_and(|o| o.status.success()),
        "the Spark test needs Java (17) on PATH"
    );
    ensure_python_module("pyspark", "pyspark==3.5.*");
    let fx = fixture();
    let bin = |name: &str| Path::new(env!("CARGO_BIN_EXE_evidx-query")).with_file_name(name);
    let evidx_index = bin("evidx-index");
    assert!(
        evidx_index.exists(),
        "{} is missing: cargo build --workspace",
        evidx_index.display()
    );
    let work = fx.work.join("spark");

    // index: the inputs spread over the executors.
    let ix = work.join("index");
    let mut args: Vec<&std::ffi::OsStr> = vec!["--out".as_ref(), ix.as_os_str()];
    args.extend(["--evidx-index".as_ref(), evidx_index.as_os_str()]);
    args.extend(fx.inputs.iter().map(|p| p.as_os_str()));
    println!("{}", spark_job("index", &args));
    let diff = Command::new("python3")
        .args(["-c", PARQUET_DIFF])
        .arg(&fx.parquet)
        .arg(ix.join("parquet"))
        .output()
        .expect("run python3");
    let counts = String::from_utf8_lossy(&diff.stdout);
    let counts: Vec<u64> = counts
        .split_whitespace()
        .map(|n| n.parse().expect("a count"))
        .collect();
    let documents = fx.totals["documents"].as_u64().expect("documents");
    assert_eq!(
        counts,
        [documents, documents, 0, 0],
        "rows of evidx-index, of the Spark job, only in the first, only in the second ({})",
        String::from_utf8_lossy(&diff.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ix.join("manifest.json")).unwrap())
            .expect("the job's manifest.json");
    let totals = &manifest["totals"];
    for (key, want) in fx.totals.as_object().expect("totals") {
        if want.is_number() && key != "runs" {
            assert_eq!(&totals[key], want, "manifest totals.{key}");
        }
    }
    let files = manifest["files"].as_array().expect("files").len() as u64;
    assert_eq!(
        Some(files),
        fx.totals["files"].as_u64(),
        "per-input reports"
    );

    // hunt: every shared detection and Sigma query over the job's Parquet.
    let out = work.join("hunt");
    let escu = [
        shared("escu/detections"),
        shared("escu/post-commands/detections"),
    ];
    let macros = shared("escu/macros");
    let query = bin("evidx-query");
    let data = ix.join("parquet");
    let mut args: Vec<&std::ffi::OsStr> = vec!["--data".as_ref(), data.as_os_str()];
    args.extend(["--out".as_ref(), out.as_os_str()]);
    args.extend(["--macros".as_ref(), macros.as_os_str()]);
    args.extend(["--evidx-query".as_ref(), query.as_os_str()]);
    for pack in &escu {
        args.extend(["--pack".as_ref(), pack.as_os_str()]);
    }
    let sigma: Vec<PathBuf> = sigma_cases().iter().map(|c| c.join("query.spl")).collect();
    for f in &sigma {
        args.extend(["--file".as_ref(), f.as_os_str()]);
    }
    // The edge cases too, as files named after them.
    let edge_dir = work.join("edge");
    std::fs::create_dir_all(&edge_dir).unwrap();
    let edge: Vec<PathBuf> = edge_searches()
        .into_iter()
        .chain(spark_edge_searches())
        .map(|(name, search)| {
            let f = edge_dir.join(format!("{name}.spl"));
            std::fs::write(&f, search).unwrap();
            f
        })
        .collect();
    for f in &edge {
        args.extend(["--file".as_ref(), f.as_os_str()]);
    }
    let report = spark_job("hunt", &args);
    println!("{report}");
    let ms = escu_macros();
    let (mut matched, mut refused, mut failures) = (0, 0, Vec::new());
    let mut shared_matched = 0;
    let lookups =
        evidx_query::lookups::LookupStore::load_dir(&shared("escu/lookups")).expect("lookups");
    let searches = shared_searches()
        .into_iter()
        .chain(edge_searches())
        .chain(spark_edge_searches());
    for (name, search) in searches {
        // The job names an ESCU detection or an edge case by its file's
        // stem and a Sigma query by its case (`<case>.query`).
        let job_name = match name.split_once('.') {
            Some(("escu", stem)) => stem.to_string(),
            Some(("sigma", case)) => format!("{case}.query"),
            _ => name.clone(),
        };
        let Ok(q) = spl::parse_query(&search, &ms) else {
            continue;
        };
        let Ok(table) = fx.engine.run(&q) else {
            continue;
        };
        if compile(&sql::with_lookups(&q, &lookups), Dialect::Spark).is_err() {
            refused += 1;
            if !report.contains(&format!("refused\t{job_name}\t")) {
                failures.push(format!("{job_name}: not reported as refused"));
            }
            continue;
        }
        match std::fs::read_to_string(out.join(format!("{job_name}.csv"))) {
            Ok(got) if got == to_csv(&table) => {
                matched += 1;
                shared_matched +=
                    usize::from(name.starts_with("escu.") || name.starts_with("sigma."));
            }
            Ok(got) => failures.push(format!(
                "{job_name}: the Spark job's CSV differs from evidx's:\n{got}\n---\n{}",
                to_csv(&table)
            )),
            Err(e) => failures.push(format!("{job_name}: no CSV ({e})")),
        }
    }
    println!("spark hunt: {matched} match evidx, {refused} refused");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        shared_matched >= MIN_MATCHED_SPARK,
        "only {shared_matched} shared searches compile and match in Spark (at least {MIN_MATCHED_SPARK} did)"
    );
    let edges = edge_searches().len() + spark_edge_searches().len();
    assert_eq!(
        matched - shared_matched,
        edges,
        "every edge search matches in Spark"
    );
}
