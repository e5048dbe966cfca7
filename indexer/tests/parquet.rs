//! `--parquet`: the Parquet rows are the index's rows (same count as the
//! index and its manifest, the same full values and provenance), in the
//! right day partition, sorted by (dest, _time) in every row group; with
//! and without an index, and when appending.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use common::{checked_manifest, num, scratch, shared};
use evidx_gen::Format;
use evidx_index::parquet::{ParquetConfig, STATE_DIR};
use evidx_index::progress::{Mode, Progress};
use evidx_schema::layout::stored_full_value;
use evidx_schema::terms::MAX_FAST_BYTES;
use evidx_schema::{EvidxSchema, CIM_FIELDS, N_CIM};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use tantivy::schema::document::Value as _;

/// One row, as the Parquet file or the index holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Back {
    source: String,
    offset: Option<i64>,
    time: Option<i64>,
    values: Vec<Option<String>>,
    sourcetype: Option<String>,
    record_id: Option<i64>,
    chunk: Option<i64>,
    event_code: Option<i64>,
    channel: Option<String>,
}

impl Back {
    fn dest(&self) -> Option<&str> {
        self.values[0].as_deref()
    }
}

/// The rows of one record batch.
fn batch_rows(b: &RecordBatch) -> Vec<Back> {
    let text = |name: &str, i: usize| {
        let c = b
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no {name}"));
        let c = c.as_string::<i32>();
        c.is_valid(i).then(|| c.value(i).to_string())
    };
    let int = |name: &str, i: usize| {
        let c = b
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no {name}"));
        let c = c.as_primitive::<Int64Type>();
        c.is_valid(i).then(|| c.value(i))
    };
    let time = b.column_by_name("_time").unwrap();
    let time = time.as_primitive::<TimestampMicrosecondType>();
    (0..b.num_rows())
        .map(|i| Back {
            source: text("evidx_source", i).expect("evidx_source is never null"),
            offset: int("evidx_offset", i),
            time: time.is_valid(i).then(|| time.value(i)),
            values: CIM_FIELDS.iter().map(|f| text(f, i)).collect(),
            sourcetype: text("sourcetype", i),
            record_id: int("evidx_record_id", i),
            chunk: int("evidx_chunk", i),
            event_code: int("evidx_event_code", i),
            channel: text("evidx_channel", i),
        })
        .collect()
}

/// Every part under `dir`: (partition name, rows of each row group).
fn parquet_parts(dir: &Path) -> Vec<(String, Vec<Vec<Back>>)> {
    let mut parts = Vec::new();
    for day in std::fs::read_dir(dir).unwrap() {
        let day = day.unwrap().path();
        let name = day.file_name().unwrap().to_string_lossy().into_owned();
        if name == STATE_DIR {
            continue;
        }
        let partition = name.strip_prefix("date=").expect("a date= partition");
        for part in std::fs::read_dir(&day).unwrap() {
            let path = part.unwrap().path();
            let fname = path.file_name().unwrap().to_string_lossy().into_owned();
            if fname.starts_with('.') {
                continue; // not published (see unpublished)
            }
            assert!(
                fname.starts_with("part-") && fname.ends_with(".parquet"),
                "{}",
                path.display()
            );
            let file = std::fs::File::open(&path).unwrap();
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
            let meta = builder.metadata().clone();
            let mut groups = Vec::new();
            for g in 0..meta.num_row_groups() {
                for c in meta.row_group(g).columns() {
                    assert!(
                        matches!(c.compression(), Compression::ZSTD(_)),
                        "{}",
                        path.display()
                    );
                }
                let file = std::fs::File::open(&path).unwrap();
                let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                    .unwrap()
                    .with_row_groups(vec![g])
                    .build()
                    .unwrap();
                let rows: Vec<Back> = reader.flat_map(|b| batch_rows(&b.unwrap())).collect();
                assert_eq!(rows.len() as i64, meta.row_group(g).num_rows());
                groups.push(rows);
            }
            parts.push((partition.to_string(), groups));
        }
    }
    parts
}

/// The parts under `dir` not published (written, or staged for a commit).
fn unpublished(dir: &Path) -> Vec<PathBuf> {
    let mut hidden = Vec::new();
    for day in std::fs::read_dir(dir).unwrap() {
        let day = day.unwrap().path();
        if day.ends_with(STATE_DIR) {
            continue;
        }
        for part in std::fs::read_dir(&day).unwrap() {
            let path = part.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with('.') {
                hidden.push(path);
            }
        }
    }
    hidden
}

/// Every row under `dir`, sorted; checks partitions and sort order.
fn parquet_rows(dir: &Path) -> Vec<Back> {
    let mut all = Vec::new();
    for (partition, groups) in parquet_parts(dir) {
        for rows in groups {
            for w in rows.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                assert!(
                    (a.dest(), a.time) <= (b.dest(), b.time),
                    "row group not sorted by (dest, _time): {:?} {:?} then {:?} {:?}",
                    a.dest(),
                    a.time,
                    b.dest(),
                    b.time
                );
            }
            for r in &rows {
                let day = r.time.map(|t| {
                    chrono::DateTime::from_timestamp_micros(t)
                        .unwrap()
                        .format("%Y-%m-%d")
                        .to_string()
                });
                assert_eq!(day.as_deref().unwrap_or("unknown"), partition, "{r:?}");
            }
            all.extend(rows);
        }
    }
    all.sort();
    all
}

/// Every document of the index in `dir`, by its stored values, sorted.
fn index_rows(dir: &Path) -> Vec<Back> {
    let index = tantivy::Index::open_in_dir(dir).unwrap();
    let s = EvidxSchema::build();
    let searcher = index.reader().unwrap().searcher();
    let mut all = Vec::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let alive = segment.alive_bitset();
        for doc in 0..segment.max_doc() {
            if alive.is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            let d: tantivy::TantivyDocument = searcher
                .doc(tantivy::DocAddress::new(ord as u32, doc))
                .unwrap();
            let text = |f| d.get_first(f).and_then(|v| v.as_str()).map(str::to_string);
            let int = |f| d.get_first(f).and_then(|v| v.as_u64()).map(|v| v as i64);
            all.push(Back {
                source: text(s.source_file).unwrap(),
                offset: int(s.offset),
                time: d.get_first(s.time).and_then(|v| v.as_i64()),
                values: CIM_FIELDS
                    .iter()
                    .map(|f| stored_full_value(&d, &s, f).map(str::to_string))
                    .collect(),
                sourcetype: text(s.sourcetype),
                record_id: int(s.record_id),
                chunk: int(s.chunk),
                event_code: int(s.event_code),
                channel: text(s.channel),
            });
        }
    }
    all.sort();
    all
}

/// A Sysmon process creation in Mordor's flat JSON shape, one line.
fn sysmon_line(rid: u64, host: &str, time: &str, cmd: &str) -> String {
    serde_json::json!({
        "SourceName": "Microsoft-Windows-Sysmon",
        "EventID": 1,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Hostname": host,
        "RecordNumber": rid,
        "TimeCreated": time,
        "Image": "C:\\Windows\\System32\\cmd.exe",
        "CommandLine": cmd,
        "ProcessId": "42",
    })
    .to_string()
}

/// Command lines longer than the index's fast column keeps (one of
/// two-byte characters), on two days.
fn long_events(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("long.json");
    let lines = [
        sysmon_line(
            1,
            "LONG1",
            "2024-02-29T23:59:59.999999Z",
            &format!("cmd /c echo {} fin", "é".repeat(35_000)),
        ),
        sysmon_line(
            2,
            "LONG1",
            "2024-03-01T00:00:00Z",
            &format!("powershell -c {} end", "A".repeat(100_000)),
        ),
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

fn parquet_config(dir: &Path, only: bool) -> Option<ParquetConfig> {
    Some(ParquetConfig {
        // Small: many flushes, several parts a day.
        budget: 1 << 20,
        ..ParquetConfig::new(dir.to_path_buf(), only)
    })
}

#[test]
fn parquet_rows_are_the_index_rows() {
    let dir = scratch("parquet-with-index");
    let long = long_events(&dir.join("long"));
    let (idx, pq) = (dir.join("idx"), dir.join("pq"));
    let inputs = vec![shared("datasets"), shared("sigma-regression"), long];
    let cfg = evidx_index::Config {
        parquet: parquet_config(&pq, false),
        ..common::config(&inputs, &idx)
    };
    let outcome = evidx_index::run(&cfg, &Progress::new(Mode::Quiet)).unwrap();
    let manifest = checked_manifest(&idx);
    let documents = num(&manifest["totals"]["documents"]);
    assert_eq!(documents, outcome.index.documents);

    let rows = parquet_rows(&pq);
    assert_eq!(unpublished(&pq), Vec::<PathBuf>::new());
    assert_eq!(rows.len() as u64, documents, "one row per document");
    assert!(documents > 1000, "{documents}");
    let indexed = index_rows(&idx);
    assert_eq!(indexed.len(), rows.len());
    for (a, b) in rows.iter().zip(&indexed) {
        assert_eq!(a, b, "the Parquet row is the document");
    }
    let longest = rows
        .iter()
        .flat_map(|r| r.values.iter().flatten())
        .map(String::len)
        .max();
    assert!(longest > Some(MAX_FAST_BYTES), "{longest:?}");

    let parts = parquet_parts(&pq);
    let days: std::collections::BTreeSet<&str> = parts.iter().map(|(d, _)| d.as_str()).collect();
    assert!(days.contains("2024-02-29") && days.contains("2024-03-01"));
    assert!(
        parts.len() > days.len(),
        "the budget makes several parts of a day"
    );
    duckdb_reads(&pq, &rows);

    // Appending the same inputs adds no document and no part.
    let again = evidx_index::run(&cfg, &Progress::new(Mode::Quiet)).unwrap();
    assert_eq!(again.manifest.documents_added, 0);
    assert_eq!(parquet_parts(&pq).len(), parts.len());
}

/// DuckDB (when python3 has it) reads the partitions with Hive
/// partitioning: the same count per day and the longest value whole.
fn duckdb_reads(dir: &Path, rows: &[Back]) {
    let has = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        eprintln!("note: python3 has no duckdb; skipping the DuckDB check");
        return;
    }
    let script = format!(
        "import duckdb\n\
         q = \"select cast(date as varchar), count(*), max(length(process)) from \
         read_parquet('{}/**/*.parquet', hive_partitioning=true) group by 1 order by 1\"\n\
         for d, n, m in duckdb.sql(q).fetchall(): print(d, n, m)\n",
        dir.display()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in rows {
        let day = r.time.map_or("unknown".into(), |t| {
            chrono::DateTime::from_timestamp_micros(t)
                .unwrap()
                .format("%Y-%m-%d")
                .to_string()
        });
        let e = want.entry(day).or_default();
        e.0 += 1;
        // DuckDB's length counts characters.
        let len = r.values[2].as_deref().map_or(0, |p| p.chars().count());
        e.1 = e.1.max(len);
    }
    let want: Vec<String> = want
        .iter()
        .map(|(d, (n, m))| format!("{d} {n} {m}"))
        .collect();
    let got = String::from_utf8(out.stdout).unwrap();
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got, want);
}

fn evidx_index(args: &[&Path]) -> i32 {
    let out = Command::new(env!("CARGO_BIN_EXE_evidx-index"))
        .args(args)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.code().unwrap_or(-1)
}

#[test]
fn parquet_without_an_index() {
    let dir = scratch("parquet-only");
    let long = long_events(&dir.join("long"));
    let cases: Vec<PathBuf> = ["evtx", "json"]
        .iter()
        .map(|ext| {
            shared(&format!(
                "sigma-regression/proc_creation_win_certutil_decode/events.{ext}"
            ))
        })
        .collect();
    // Inside an input directory of the second run, which must not read it.
    let pq = dir.join("long/pq");
    let p = Path::new;
    assert_eq!(evidx_index(&[p("--parquet"), &pq, &cases[0]]), 0);
    let state = pq.join(STATE_DIR);
    let manifest = checked_manifest(&state);
    let first = parquet_rows(&pq);
    assert_eq!(first.len() as u64, num(&manifest["totals"]["documents"]));
    assert!(!first.is_empty());
    // The same rows as an index of the same input, values and provenance.
    let idx = dir.join("idx");
    common::index(&cases[..1], &idx);
    assert_eq!(first, index_rows(&idx));

    // Appending: the JSON export of the same events adds nothing; the long
    // events are added, and only they.
    let long_dir = dir.join("long");
    assert_eq!(evidx_index(&[p("--parquet"), &pq, &cases[1], &long_dir]), 0);
    let manifest = checked_manifest(&state);
    let read = manifest["runs"][1]["files"].as_array().unwrap();
    assert_eq!(read.len(), 2, "the Parquet is not read: {read:?}");
    let rows = parquet_rows(&pq);
    assert_eq!(rows.len() as u64, num(&manifest["totals"]["documents"]));
    assert_eq!(rows.len(), first.len() + 2);
    assert_eq!(unpublished(&pq), Vec::<PathBuf>::new());
    let long_hosts = rows.iter().filter(|r| r.dest() == Some("LONG1")).count();
    assert_eq!(long_hosts, 2);

    // --force starts again (with the smallest buffer).
    let flags = [p("--force"), p("--parquet-memory"), p("1"), p("--parquet")];
    assert_eq!(
        evidx_index(&[&flags[..], &[&pq, long.as_path()]].concat()),
        0
    );
    assert_eq!(parquet_rows(&pq).len(), 2);
    assert_eq!(num(&checked_manifest(&state)["totals"]["documents"]), 2);

    // Neither -o nor --parquet, or a buffer of 0 MiB: a usage error.
    assert_eq!(evidx_index(&[long.as_path()]), 2);
    let no_buffer = [p("--parquet-memory"), p("0"), p("--parquet"), &pq, &long];
    assert_eq!(evidx_index(&no_buffer), 2);
}

/// kill -9 while parts are being written and committed, then the same
/// command: the Parquet holds exactly the index's rows, none doubled or
/// lost, and nothing unpublished is left.
#[test]
fn a_killed_run_is_completed_with_parquet_in_step_with_the_index() {
    let dir = scratch("parquet-kill");
    let hosts = common::generate(Format::Evtx, 12, 20_000_000, &dir.join("evtx"));
    let (idx, pq) = (dir.join("idx"), dir.join("pq"));
    let command = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_evidx-index"));
        c.args(["-j", "2", "--memory", "32", "--commit-interval", "0.05"])
            .arg("-o")
            .arg(&idx)
            .arg("--parquet")
            .arg(&pq)
            .args(&hosts)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let mut child = command().spawn().unwrap();
    let start = Instant::now();
    // Once a commit has published parts, and the run goes on.
    while !pq.exists() || parquet_parts(&pq).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "ended before the kill");
        assert!(start.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().code(), None, "killed by a signal");
    let at_kill = index_rows(&idx);
    let visible = parquet_rows(&pq);
    assert!(!visible.is_empty() && visible.len() <= at_kill.len());

    assert_eq!(command().status().unwrap().code(), Some(0));
    let rows = parquet_rows(&pq);
    assert_eq!(unpublished(&pq), Vec::<PathBuf>::new());
    assert!(rows.len() > at_kill.len(), "the rerun added rows");
    let manifest = checked_manifest(&idx);
    assert_eq!(rows.len() as u64, num(&manifest["totals"]["documents"]));
    assert!(rows == index_rows(&idx), "the Parquet rows are the index's");
}

/// The CIM columns in the contract's order.
#[test]
fn cim_columns_follow_cim_fields() {
    let schema = evidx_index::parquet::row::schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names[0], "_time");
    assert_eq!(&names[1..=N_CIM], CIM_FIELDS);
    assert_eq!(
        &names[N_CIM + 1..],
        [
            "evidx_source",
            "sourcetype",
            "evidx_record_id",
            "evidx_chunk",
            "evidx_offset",
            "evidx_event_code",
            "evidx_channel"
        ]
    );
}
