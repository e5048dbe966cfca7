//! Differential test of the JSON skip-scan: on every JSON event of
//! `../shared` (plain files and archive members, NDJSON lines and the values
//! of JSON documents) and of generated archives, the skip-scan and the
//! reference `Value` path read the same events and the same skips.
//! Records that are not process creations are compared by EventID and kind
//! (only that is counted of them); process creations field by field.

use std::io::Read;
use std::path::{Path, PathBuf};

use evidx_index::event::EventKind;
use evidx_index::parse::json_scan::{read_line, read_line_reference, skip_scan, LineRead, Scratch};
use evidx_index::parse::text::is_ndjson;
use serde_json::value::RawValue;

/// How the events of a set of JSON buffers compared.
#[derive(Default, Debug)]
struct Tally {
    events: usize,
    process: usize,
    /// Read by the skip-scan itself (not handed to the reference path).
    scanned: usize,
}

fn same(a: &LineRead, b: &LineRead) -> bool {
    match (a, b) {
        (LineRead::Event(x), LineRead::Event(y)) if x.kind() == EventKind::Other => {
            y.kind() == EventKind::Other && x.event_id == y.event_id
        }
        _ => a == b,
    }
}

/// Compare both paths on one JSON event.
fn check(what: &str, event: &[u8], scratch: &mut Scratch, tally: &mut Tally) {
    let reference = read_line_reference(event);
    let new = read_line(event, scratch);
    assert!(
        same(&reference, &new),
        "{what}: reference {reference:?}\n  skip-scan {new:?}\n  event {}",
        String::from_utf8_lossy(event)
    );
    tally.events += 1;
    if matches!(&reference, LineRead::Event(e) if e.kind() != EventKind::Other) {
        tally.process += 1;
    }
    if skip_scan(event, scratch).is_some() {
        tally.scanned += 1;
    }
}

/// Every event of one JSON buffer: NDJSON lines, or the values of a
/// document (an array's elements, concatenated objects).
fn check_buffer(what: &str, data: &[u8], scratch: &mut Scratch, tally: &mut Tally) {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if is_ndjson(data) {
        for (i, line) in data.split(|&b| b == b'\n').enumerate() {
            let line = line.trim_ascii();
            if !line.is_empty() {
                check(&format!("{what}:{}", i + 1), line, scratch, tally);
            }
        }
        return;
    }
    let values = serde_json::Deserializer::from_slice(data).into_iter::<&RawValue>();
    for (i, v) in values.enumerate() {
        let Ok(v) = v else { break };
        let elements: Vec<&RawValue> = if v.get().starts_with('[') {
            serde_json::from_str(v.get()).expect("array of values")
        } else {
            vec![v]
        };
        for (j, e) in elements.iter().enumerate() {
            check(
                &format!("{what} value {i}.{j}"),
                e.get().as_bytes(),
                scratch,
                tally,
            );
        }
    }
}

/// The JSON buffers of a file: itself, or its members when it is an
/// archive (zip, tar.gz, gz).
fn json_buffers(path: &Path) -> Vec<(String, Vec<u8>)> {
    let name = path.display().to_string();
    let data = std::fs::read(path).expect("read");
    let is_json = |b: &[u8]| {
        let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
        matches!(
            b.iter().find(|c| !c.is_ascii_whitespace()),
            Some(b'{' | b'[')
        )
    };
    let mut out = Vec::new();
    if name.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(data)).expect("zip");
        for i in 0..zip.len() {
            let mut member = zip.by_index(i).expect("zip member");
            let mut bytes = Vec::new();
            member.read_to_end(&mut bytes).expect("unzip");
            out.push((
                format!("{name}!{}", member.name_raw().escape_ascii()),
                bytes,
            ));
        }
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&data[..]));
        for entry in tar.entries().expect("tar") {
            let mut entry = entry.expect("tar member");
            let member = entry.path().expect("member path").display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("untar");
            out.push((format!("{name}!{member}"), bytes));
        }
    } else if name.ends_with(".gz") {
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(&data[..])
            .read_to_end(&mut bytes)
            .expect("gunzip");
        out.push((name, bytes));
    } else {
        out.push((name, data));
    }
    out.retain(|(_, b)| is_json(b));
    out
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

#[test]
fn skip_scan_reads_every_shared_json_event_as_the_value_path() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    let mut scratch = Scratch::default();
    let mut tally = Tally::default();
    let mut buffers = 0;
    for dir in ["datasets", "sigma-regression"] {
        for f in files(&shared.join(dir)) {
            for (what, data) in json_buffers(&f) {
                check_buffer(&what, &data, &mut scratch, &mut tally);
                buffers += 1;
            }
        }
    }
    eprintln!("shared: {buffers} JSON buffers, {tally:?}");
    // The shared data has NDJSON of three shapes (NXLog, Mordor, Winlogbeat
    // 6), archives of them, and pretty-printed evtx_dump documents.
    assert!(
        buffers >= 50,
        "only {buffers} JSON buffers found under {shared:?}"
    );
    assert!(tally.process >= 100, "{tally:?}");
    assert!(
        tally.scanned * 10 >= tally.events * 9,
        "the scan read too few itself: {tally:?}"
    );
}

#[test]
fn skip_scan_reads_generated_json_as_the_value_path() {
    for format in ["jsonl", "ecs"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = evidx_gen::RunConfig {
            seed: 7,
            size: 0,
            events: Some(6_000),
            format: format.parse().expect("format"),
            out: dir.path().to_path_buf(),
            planted: None,
            hosts: None,
            days: None,
            start_day: evidx_gen::time::days_from_civil(2024, 5, 6),
        };
        evidx_gen::run(&cfg).expect("evidx-gen");
        let mut scratch = Scratch::default();
        let mut tally = Tally::default();
        for f in files(dir.path()) {
            let name = f.display().to_string();
            if name.ends_with(".jsonl") {
                let data = std::fs::read(&f).expect("read");
                check_buffer(&name, &data, &mut scratch, &mut tally);
            }
        }
        eprintln!("generated {format}: {tally:?}");
        assert_eq!(tally.events, 6_000, "{format}: {tally:?}");
        assert!(tally.process >= 300, "{format}: {tally:?}");
        assert_eq!(tally.scanned, tally.events, "{format}: {tally:?}");
    }
}
