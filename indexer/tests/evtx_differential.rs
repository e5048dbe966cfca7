//! The template-aware EVTX extractor against the reference (the `evtx`
//! crate's rendering, read as evtx_dump JSON): on every EVTX file of
//! ../shared (the corrupt samples included), on damaged copies of some, and
//! on generated files, both make the same sink calls, chunk by chunk:
//! the same events with the same origins, the same skips and notes. The
//! fast extractor's fallbacks to the reference are counted apart.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use evidx_index::event::{EventKind, Origin, RawEvent};
use evidx_index::parse::binxml::TemplateExtractor;
use evidx_index::parse::evtx::{
    is_empty_chunk, ChunkExtractor, EvtxCrateExtractor, CHUNK_SIZE, FILE_HEADER_SIZE,
};
use evidx_index::parse::{Note, Sink, Skip};

#[derive(Debug, PartialEq)]
enum Call {
    Event(RawEvent, Origin),
    Skip(Skip),
    Note(Note),
}

#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<Call>>,
    fallbacks: Mutex<u64>,
}

impl Sink for Recorder {
    fn event(&self, event: RawEvent, origin: Origin) {
        self.calls.lock().unwrap().push(Call::Event(event, origin));
    }
    fn skip(&self, skip: Skip) {
        self.calls.lock().unwrap().push(Call::Skip(skip));
    }
    fn note(&self, note: Note) {
        match note {
            Note::EvtxFallback => *self.fallbacks.lock().unwrap() += 1,
            other => self.calls.lock().unwrap().push(Call::Note(other)),
        }
    }
}

/// What the files compared held.
#[derive(Debug, Default)]
struct Tally {
    files: usize,
    chunks: usize,
    events: u64,
    process_events: u64,
    skips: u64,
    fallbacks: u64,
}

/// Both extractors over every used chunk of `data` (an EVTX file).
fn compare(name: &str, data: &[u8], tally: &mut Tally) {
    tally.files += 1;
    if data.len() < FILE_HEADER_SIZE {
        return;
    }
    let (reference, fast) = (EvtxCrateExtractor::default(), TemplateExtractor::default());
    for (number, chunk) in data[FILE_HEADER_SIZE..]
        .chunks_exact(CHUNK_SIZE)
        .enumerate()
    {
        if is_empty_chunk(chunk) {
            continue;
        }
        let offset = (FILE_HEADER_SIZE + number * CHUNK_SIZE) as u64;
        let (want, got) = (Recorder::default(), Recorder::default());
        reference.extract(number as u64, offset, chunk, &want);
        fast.extract(number as u64, offset, chunk, &got);
        let (want, got) = (want.calls.into_inner().unwrap(), got);
        let fallbacks = got.fallbacks.into_inner().unwrap();
        let got = got.calls.into_inner().unwrap();
        if want != got {
            let at = want.iter().zip(&got).position(|(a, b)| a != b);
            panic!(
                "{name} chunk {number}: {} calls from the reference, {} from the fast path; \
                 first difference at {at:?}:\n reference: {:?}\n fast:      {:?}",
                want.len(),
                got.len(),
                at.and_then(|i| want.get(i)),
                at.and_then(|i| got.get(i)),
            );
        }
        tally.chunks += 1;
        tally.fallbacks += fallbacks;
        for c in &want {
            match c {
                Call::Event(e, _) => {
                    tally.events += 1;
                    tally.process_events += u64::from(e.kind() != EventKind::Other);
                }
                Call::Skip(_) => tally.skips += 1,
                Call::Note(_) => {}
            }
        }
    }
}

/// [`compare`] over each of `files`.
fn compare_files(files: &[PathBuf]) -> Tally {
    let mut tally = Tally::default();
    for f in files {
        compare(
            &f.display().to_string(),
            &std::fs::read(f).unwrap(),
            &mut tally,
        );
    }
    tally
}

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(rel)
}

fn evtx_files() -> Vec<PathBuf> {
    evtx_files_under(["datasets", "sigma-regression"].map(shared))
}

/// Every `.evtx` file under `dirs`, sorted.
fn evtx_files_under(dirs: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dirs
        .into_iter()
        .flat_map(walkdir::WalkDir::new)
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn same_sink_calls_on_every_shared_evtx_file() {
    let files = evtx_files();
    assert!(
        files.len() >= 60,
        "{} EVTX files under ../shared",
        files.len()
    );
    let tally = compare_files(&files);
    eprintln!("shared EVTX: {tally:?}");
    assert!(tally.process_events > 1000, "{tally:?}");
    assert!(
        tally.skips > 0,
        "the corrupt samples have unreadable parts: {tally:?}"
    );
    // The fast path reads most records itself.
    assert!(tally.fallbacks * 5 < tally.events, "{tally:?}");
}

/// The same check over EVTX files outside ../shared, for a wider sweep
/// (all of EVTX-ATTACK-SAMPLES or hayabusa-sample-evtx, a case's own
/// logs):
/// `EVIDX_EXTRA_EVTX=dir1:dir2 cargo test --release -p evidx-index --test evtx_differential -- --ignored`
#[test]
#[ignore = "reads the directories named by EVIDX_EXTRA_EVTX"]
fn same_sink_calls_on_extra_evtx_files() {
    let dirs = std::env::var_os("EVIDX_EXTRA_EVTX")
        .expect("EVIDX_EXTRA_EVTX names the directories of EVTX files to compare (':'-separated)");
    let files = evtx_files_under(std::env::split_paths(&dirs));
    assert!(!files.is_empty(), "no .evtx file under {dirs:?}");
    let tally = compare_files(&files);
    eprintln!("extra EVTX: {tally:?}");
}

#[test]
fn same_sink_calls_on_damaged_files() {
    let mut tally = Tally::default();
    for rel in [
        "datasets/evtx-rs-samples/security.evtx",
        "datasets/evtx-rs-samples/sysmon.evtx",
    ] {
        let data = std::fs::read(shared(rel)).unwrap();
        for (stride, mask) in [(997, 0x5a), (4093, 0xff), (65_537, 0x01), (211, 0x80)] {
            let mut bad = data.clone();
            for i in (FILE_HEADER_SIZE + 600..bad.len()).step_by(stride) {
                bad[i] ^= mask;
            }
            compare(&format!("{rel} flipped every {stride}"), &bad, &mut tally);
        }
    }
    eprintln!("damaged EVTX: {tally:?}");
    assert!(tally.events > 1000 && tally.skips > 0, "{tally:?}");
}

#[test]
fn generated_files_take_the_fast_path_only() {
    let dir = tempfile::tempdir().unwrap();
    let summary = evidx_gen::run(&evidx_gen::RunConfig {
        seed: 7,
        size: 12 << 20,
        events: None,
        format: evidx_gen::Format::Evtx,
        out: dir.path().to_path_buf(),
        planted: None,
        hosts: None,
        days: None,
        start_day: evidx_gen::time::days_from_civil(2024, 5, 6),
    })
    .unwrap();
    let mut tally = Tally::default();
    for f in &summary.files {
        let path = dir.path().join(&f.path);
        compare(
            &path.display().to_string(),
            &std::fs::read(&path).unwrap(),
            &mut tally,
        );
    }
    eprintln!("generated EVTX: {tally:?}");
    assert_eq!(tally.events, summary.events, "{tally:?}");
    assert!(tally.process_events > 100, "{tally:?}");
    assert_eq!((tally.fallbacks, tally.skips), (0, 0), "{tally:?}");
}
