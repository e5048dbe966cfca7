//! kill -9 at several points of a run (20 ms, first file, a sixth and a
//! third of the way), then the same command. Meanwhile the index is at its
//! last commit: readable, and its manifest counts exactly what it holds.
//! The rerun takes over the dead run's lock and completes the job with no
//! event lost or doubled. While a run is under way, queries succeed and a
//! second writer is refused. And a run whose input file another process
//! cuts short while it is read completes and says so.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use evidx_gen::Format;
use serde_json::Value;

fn command(inputs: &[PathBuf], index: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_evidx-index"));
    c.args([
        "-j",
        "2",
        "--memory",
        "32",
        "--commit-interval",
        "0.05",
        "-o",
    ])
    .arg(index)
    .args(inputs)
    .stdin(Stdio::null())
    .stdout(Stdio::null());
    c
}

fn run_to_end(inputs: &[PathBuf], index: &Path) -> String {
    let out = command(inputs, index).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{err}");
    err
}

/// The run under way in `index`'s manifest, if a commit has written one.
fn current_run(index: &Path) -> Option<Value> {
    // The manifest of the last commit: a kill between a commit and its
    // publishing leaves it staged (see `current_manifest`).
    let text = std::fs::read(current_manifest(index)).ok()?;
    let m: Value = serde_json::from_slice(&text).ok()?;
    m["runs"].as_array()?.last().cloned()
}

/// When to kill: after some time, or once a commit of the run under way
/// lists this many files done.
#[derive(Debug, Clone, Copy)]
enum Point {
    Millis(u64),
    FilesDone(usize),
}

fn wait_for(child: &mut Child, index: &Path, point: Point) {
    let start = Instant::now();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{point:?}: the run ended before the kill"
        );
        assert!(start.elapsed() < Duration::from_secs(120), "{point:?}");
        let reached = match point {
            Point::Millis(ms) => start.elapsed() >= Duration::from_millis(ms),
            // A manifest of the run still under way: the final one (status
            // `complete`) may be the first to reach the point.
            Point::FilesDone(n) => current_run(index).is_some_and(|r| {
                r["status"] == "running" && r["files"].as_array().map_or(0, Vec::len) >= n
            }),
        };
        if reached {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

struct Stop<'a>(&'a AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A scratch folder `name`, generated EVTX (`seed`, `size` bytes) in it,
/// and the index of one uninterrupted run over them (`DIR/clean`) with its
/// rows and how long it took.
fn clean_run(
    name: &str,
    seed: u64,
    size: u64,
) -> (PathBuf, Vec<PathBuf>, PathBuf, (u64, String), Duration) {
    let dir = scratch(name);
    let hosts = generate(Format::Evtx, seed, size, &dir.join("evtx"));
    let clean = dir.join("clean");
    let start = Instant::now();
    run_to_end(&hosts, &clean);
    let took = start.elapsed();
    let want = rows(&clean);
    (dir, hosts, clean, want, took)
}

#[test]
fn a_run_killed_at_any_point_is_completed_by_the_same_command() {
    let (dir, hosts, clean, want, took) = clean_run("kill", 11, 20_000_000);
    let files = current_run(&clean).unwrap()["files"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        files >= 8 && want.0 > 1000,
        "{files} files, {} events",
        want.0
    );

    for point in [
        Point::Millis(20),
        Point::FilesDone(1),
        // A sixth and a third of the way, by the clean run's time: files
        // are read in parallel and most finish together near the end, and
        // a commit takes a good part of a short run, so no count of files
        // or documents marks these points reliably. (The first run, the
        // clean one, can take twice as long as the later ones.)
        Point::Millis(took.as_millis() as u64 / 6),
        Point::Millis(took.as_millis() as u64 / 3),
    ] {
        let index = dir.join(format!("{point:?}"));
        let mut child = command(&hosts, &index)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Queries run while the run writes; each sees a commit, never
        // less than the one before.
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut seen = 0;
                let mut queries = 0;
                while !stop.load(Ordering::Relaxed) {
                    if index.join("meta.json").exists() {
                        let (count, _) = rows(&index);
                        assert!(count >= seen, "{count} < {seen}");
                        seen = count;
                        queries += 1;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                queries
            });
            // Stop the reader however this ends (a failed assertion would
            // leave the scope waiting for it otherwise).
            let stopper = Stop(&stop);
            wait_for(&mut child, &index, point);
            if let Point::FilesDone(1) = point {
                // A second writer is refused, naming the first.
                let out = command(&hosts, &index).output().unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(4), "{err}");
                assert!(
                    err.contains("another evidx-index")
                        && err.contains(&format!("pid {}", child.id())),
                    "{err}"
                );
            }
            // Kill before anything else: on a slow machine the run could
            // finish the remaining files while the reader is joined.
            child.kill().unwrap();
            drop(stopper);
            let queries = reader.join().unwrap();
            if let Point::FilesDone(_) = point {
                assert!(queries > 0, "{point:?}: no query ran during the run");
            }
        });
        let status = child.wait().unwrap();
        assert_eq!(status.code(), None, "{point:?}: killed by a signal");

        // The index is at its last commit: readable, and counted exactly.
        let before = current_run(&index);
        if let Some(run) = &before {
            checked_manifest(&index);
            assert_eq!(run["status"], "running", "{point:?}");
            assert!(rows(&index).0 < want.0, "{point:?}");
        }
        let held = std::fs::read(index.join("evidx-index.lock")).is_ok_and(|l| !l.is_empty());

        // The same command again completes the job.
        let err = run_to_end(&hosts, &index);
        assert_eq!(rows(&index), want, "{point:?}");
        assert_eq!(
            err.contains("took over the lock of a run that was killed"),
            held,
            "{point:?}: {err}"
        );
        let m = checked_manifest(&index);
        let runs = m["runs"].as_array().unwrap();
        let last = runs.last().unwrap();
        assert_eq!(last["status"], "complete");
        if let Some(killed) = &before {
            assert_eq!(runs.len(), 2);
            assert_eq!(runs[0]["status"], "interrupted");
            // The files the killed run finished are not read again.
            let done = killed["files"].as_array().unwrap().len();
            assert_eq!(last["already_indexed"].as_array().unwrap().len(), done);
            assert_eq!(last["files"].as_array().unwrap().len(), files - done);
        }
    }
}

/// A run whose writes fail (a file size limit, as a full disk would) exits
/// 1 and names the failure, instead of blocking for ever in the writer;
/// its index stays at its last commit, and the same command with room to
/// write completes the job. (After a failed commit tantivy keeps its
/// document channel open with no worker reading it: adding the 10,000
/// documents after it used to hang the run.)
#[test]
fn a_run_whose_writes_fail_stops_at_its_last_commit() {
    let (dir, hosts, _, want, _) = clean_run("write-failure", 12, 200_000_000);
    assert!(want.0 > 25_000, "{} events", want.0);

    let index = dir.join("limited");
    // `ulimit -f` in KiB blocks; SIGXFSZ ignored (inherited through exec)
    // so a write past the limit fails with EFBIG instead of killing.
    let mut limited = Command::new("bash");
    limited
        .arg("-c")
        .arg(r#"ulimit -f 16 && trap '' XFSZ && exec "$@""#)
        .arg("bash")
        .arg(command(&hosts, &index).get_program())
        .args(command(&hosts, &index).get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = limited.spawn().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(300) {
            child.kill().unwrap();
            panic!("the run hung after its writes failed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("File too large") || err.contains("index writer failed"),
        "{err}"
    );
    if let Some(run) = current_run(&index) {
        checked_manifest(&index);
        assert_eq!(run["status"], "running");
        assert!(rows(&index).0 < want.0);
    }

    let err = run_to_end(&hosts, &index);
    assert_eq!(rows(&index), want, "{err}");
    assert_eq!(
        checked_manifest(&index)["runs"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["status"],
        "complete"
    );
}

/// A file another process cuts short while it is read (a collector still
/// writing, a rotated log, a failing share). Reading through a memory map,
/// the next access past the new end used to kill the run (SIGBUS). Now the
/// run completes, the file's entry says from which byte its content was
/// gone and carries no hash, and the index is readable.
#[test]
fn a_file_cut_short_while_it_is_read_is_reported_not_fatal() {
    let dir = scratch("kill-shrinks");
    let hosts = generate(Format::Jsonl, 11, 160 << 20, &dir.join("gen"));
    // One large file, so that the cut falls in the middle of its read.
    let big = dir.join("big.jsonl");
    let mut out = std::fs::File::create(&big).unwrap();
    for host in &hosts {
        for day in std::fs::read_dir(host).unwrap() {
            for log in std::fs::read_dir(day.unwrap().path()).unwrap() {
                let mut f = std::fs::File::open(log.unwrap().path()).unwrap();
                std::io::copy(&mut f, &mut out).unwrap();
            }
        }
    }
    drop(out);
    let len = std::fs::metadata(&big).unwrap().len();
    assert!(len > 100 << 20, "{len} bytes");
    let index = dir.join("idx");
    let mut child = Command::new(env!("CARGO_BIN_EXE_evidx-index"))
        .args(["-q", "-j", "1", "-o"])
        .arg(&index)
        .arg(&big)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Cut the file as soon as the run has mapped it.
    let maps = format!("/proc/{}/maps", child.id());
    let start = Instant::now();
    while !std::fs::read_to_string(&maps).is_ok_and(|m| m.contains("big.jsonl")) {
        assert!(child.try_wait().unwrap().is_none(), "the run ended first");
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(1));
    }
    let cut = len / 4;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let status = child.wait().unwrap();
    // 3: the run completed with skips (not a signal: no exit code).
    assert_eq!(status.code(), Some(3), "{status}");
    let manifest = checked_manifest(&index);
    let file = &manifest["runs"][0]["files"][0];
    assert!(file.get("sha256").is_none(), "{file}");
    let shrank: Vec<&Value> = file["skips"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["unit"] == "file")
        .collect();
    assert_eq!(shrank.len(), 1, "{shrank:?}");
    let at = num(&shrank[0]["offset"]);
    // The first page found gone is at or past the page of the cut (pages
    // of up to 64 KiB).
    assert!(
        at >= cut - cut % (64 << 10) && at < len,
        "cut at {cut}, gone from {at}"
    );
    assert!(num(&file["process_events"]) > 0, "{file}");
    assert!(rows(&index).0 > 0);
}
