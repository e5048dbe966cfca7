//! Hostile input: sizes read from the input are never trusted, and every
//! case below is handled within bounded memory and reported in the
//! manifest, where records read = indexed + other + skipped holds for every
//! file and member. Inputs are generated into a temporary directory from
//! real files of `../shared` and the project's fixtures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use evidx_index::history::Run;
use evidx_index::inspect::file_rows;
use evidx_index::manifest::InputReport;
use evidx_index::parse::SkipUnit;
use evidx_index::progress::{Mode, Progress};
use evidx_index::{run, Config};

mod common;

use common::{check_invariant, fixture, gzip, shared, tar};

/// A one-chunk EVTX file (69,632 bytes, 17 records).
const ONE_CHUNK_EVTX: &str = "datasets/evtx-rs-samples/Application_no_crc32.evtx";

/// One run at a time, so that each measures its own peak memory.
static SERIAL: Mutex<()> = Mutex::new(());

/// Index `inputs` into a new index under `out`; returns the manifest and
/// how much the peak resident memory of this process grew during the run
/// (None where Linux's peak reset is not available).
fn index(inputs: &[&Path], out: &Path) -> (Run, Option<u64>) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = Config {
        threads: 2,
        memory: 32 << 20,
        arguments: vec!["hostile".into()],
        ..Config::new(
            inputs.iter().map(|p| p.to_path_buf()).collect(),
            out.join("idx"),
        )
    };
    let before = reset_peak_rss().then(rss_kib).flatten();
    let outcome = run(&cfg, &Progress::new(Mode::Quiet)).expect("the run completes");
    let growth = before.and_then(|b| peak_rss_kib().map(|p| p.saturating_sub(b) >> 10));
    for f in &outcome.manifest.files {
        check_invariant(f);
    }
    (outcome.manifest, growth)
}

/// Resets the peak resident set size (VmHWM) to the current one.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// Peak memory growth allowed for a run: the writer's 32 MiB budget (which
/// tantivy may overshoot 2x), parse buffers, the 16 MiB table of command
/// lines, and slack; far below what any of these inputs claims.
const MAX_GROWTH_MIB: u64 = 400;

fn assert_bounded(growth: Option<u64>, what: &str) {
    match growth {
        Some(mib) => {
            eprintln!("{what}: peak memory grew {mib} MiB");
            assert!(mib < MAX_GROWTH_MIB, "{what}: peak memory grew {mib} MiB");
        }
        None => eprintln!("{what}: peak memory not measured (no /proc/self/clear_refs)"),
    }
}

/// The manifest entry of the input named `name`.
fn entry<'m>(m: &'m Run, name: &str) -> &'m InputReport {
    m.files
        .iter()
        .find(|f| Path::new(&f.path).file_name().is_some_and(|n| n == name))
        .unwrap_or_else(|| panic!("{name} is not in the manifest"))
}

/// splitmix64: a seeded generator, so every run mutates the same way.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        z.start_file(*name, options).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// Offsets in the first chunk's first record header.
const RECORD_0: usize = 4096 + 512;

#[test]
fn sizes_claimed_by_an_evtx_file_are_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(shared(ONE_CHUNK_EVTX)).unwrap();
    let intact = file_rows(&shared(ONE_CHUNK_EVTX)).unwrap();
    assert_eq!((intact.records, intact.skips.len()), (17, 0));
    let u32_at = |at: usize, v: u32| {
        let mut data = original.clone();
        data[at..at + 4].copy_from_slice(&v.to_le_bytes());
        data
    };
    // (name, bytes, records read, skipped): the first record claims 4 GiB
    // (or 2 GiB), and costs that record only; the chunk claims its free
    // space, or its last record, lies 4 GiB away, or the file header claims
    // 4 G chunks, and cost nothing (evidx reads the chunks that are there).
    let cases = [
        ("record-size.evtx", u32_at(RECORD_0 + 4, 0xFFFF_FFF0), 16, 1),
        (
            "record-size-copy.evtx",
            u32_at(RECORD_0 + 4, 0x8000_0000),
            16,
            1,
        ),
        ("free-space.evtx", u32_at(4096 + 48, 0xFFFF_FFF0), 17, 0),
        ("last-record.evtx", u32_at(4096 + 44, 0xFFFF_FFF0), 17, 0),
        ("chunk-count.evtx", u32_at(42, 0xFFFF_FFFF), 17, 0),
    ];
    for (name, data, _, _) in &cases {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    let (m, growth) = index(&[dir.path()], dir.path());
    for (name, _, read, skipped) in &cases {
        let f = entry(&m, name);
        assert_eq!(
            (f.counts.other_events, f.counts.skipped),
            (*read, *skipped),
            "{name}: {:?}",
            f.skips
        );
    }
    assert_bounded(growth, "records claiming gigabytes");
}

#[test]
fn a_megabyte_command_line_is_indexed_cut() {
    use evidx_schema::terms::{fast_value, fold_case, truncate_term, MAX_TERM_BYTES};
    use evidx_schema::{layout, EvidxSchema};
    use tantivy::collector::Count;
    use tantivy::query::TermQuery;
    use tantivy::schema::IndexRecordOption;
    use tantivy::Term;

    let dir = tempfile::tempdir().unwrap();
    let command = format!("powershell.exe -enc {}", "QQBCAEMA".repeat((1 << 20) / 8));
    let event = serde_json::json!({
        "EventID": 1,
        "SourceName": "Microsoft-Windows-Sysmon",
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Hostname": "ws1",
        "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "CommandLine": command,
    });
    let input = dir.path().join("long.json");
    std::fs::write(&input, format!("{event}\n")).unwrap();
    let (m, growth) = index(&[&input], dir.path());
    assert_eq!(entry(&m, "long.json").counts.sysmon_1, 1);
    assert_bounded(growth, "a 1 MB command line");

    let index = tantivy::Index::open_in_dir(dir.path().join("idx")).unwrap();
    let s = EvidxSchema::from_schema(&index.schema()).unwrap();
    let searcher = index.reader().unwrap().searcher();
    let (value, search) = s.cim_field("process").unwrap();
    // The term is the folded value cut to MAX_TERM_BYTES...
    let folded = fold_case(&command);
    let term = Term::from_field_text(search, truncate_term(&folded, MAX_TERM_BYTES));
    let hits = searcher
        .search(&TermQuery::new(term, IndexRecordOption::Basic), &Count)
        .unwrap();
    assert_eq!(hits, 1, "found by its cut term");
    // ...the stored value is the fast column's cut form, and the whole
    // value is kept beside it.
    let doc: tantivy::TantivyDocument = searcher.doc(tantivy::DocAddress::new(0, 0)).unwrap();
    use tantivy::schema::document::Value as _;
    let stored = doc.get_first(value).and_then(|v| v.as_str()).unwrap();
    assert_eq!(stored, fast_value(&command));
    assert!(stored.len() < command.len());
    assert_eq!(
        layout::stored_full_value(&doc, &s, "process"),
        Some(command.as_str())
    );
}

/// An EVTX header followed by `zeros` bytes of empty chunk slots,
/// zstd-compressed as it is written: a bomb of a few kilobytes.
fn evtx_zstd_bomb(zeros: usize) -> Vec<u8> {
    let header = std::fs::read(shared(ONE_CHUNK_EVTX)).unwrap()[..4096].to_vec();
    let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    e.write_all(&header).unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..zeros / block.len() {
        e.write_all(&block).unwrap();
    }
    e.finish().unwrap()
}

#[test]
fn a_decompression_bomb_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    // 320 MiB from a few kilobytes: past the 256 MiB every input may
    // decompress to (its budget is 1024 times its size, at least 256 MiB).
    let bomb = evtx_zstd_bomb(320 << 20);
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    std::fs::write(dir.path().join("bomb.evtx.zst"), &bomb).unwrap();
    let json = std::fs::read(fixture("winlogbeat8-ecs.ndjson")).unwrap();
    // In a zip, beside a member that is read whole.
    let zipped = zip(&[("events.ndjson", &json), ("inner/bomb.evtx.zst", &bomb)]);
    std::fs::write(dir.path().join("bomb.zip"), zipped).unwrap();
    let (m, growth) = index(&[dir.path()], dir.path());
    assert_bounded(growth, "a decompression bomb");

    let zst = entry(&m, "bomb.evtx.zst");
    let zipped = entry(&m, "bomb.zip");
    // Members are named without their compression suffix.
    let member = |f: &InputReport, name: &str| {
        f.members
            .iter()
            .find(|m| m.path == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {:?}", f.members))
    };
    assert_eq!(zst.members.len(), 1);
    for member in [zst.members[0].clone(), member(zipped, "bomb.evtx")] {
        assert_eq!(member.counts.skipped, 1, "{member:?}");
        let skip = &member.skips[0];
        assert_eq!(skip.unit, SkipUnit::File);
        assert!(skip.reason.contains("decompression bomb"), "{skip:?}");
        // Cut at the budget: where the member's reader stopped, a whole
        // number of chunks into it.
        assert!(
            skip.offset > 200 << 20 && skip.offset <= 256 << 20,
            "{skip:?}"
        );
        assert_eq!((skip.offset - 4096) % 65536, 0, "{skip:?}");
        assert!(member.counts.empty_chunks > 3000, "{member:?}");
    }
    let events = member(zipped, "events.ndjson");
    assert_eq!(
        (events.counts.process_events, events.counts.skipped),
        (2, 0)
    );
}

#[test]
fn archives_nested_past_the_limit_are_reported_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let json = std::fs::read(fixture("winlogbeat8-ecs.ndjson")).unwrap();
    // zip > tar.gz > zst > json: 3 levels, read.
    let zst = zstd::encode_all(&json[..], 3).unwrap();
    let tgz = gzip(&tar(&[("a.json.zst", &zst)]));
    std::fs::write(dir.path().join("ok.zip"), zip(&[("a.tar.gz", &tgz)])).unwrap();
    // tar > gz > tar > gz > zst > gz > json: the archive at the sixth level
    // is past the limit of 4.
    let deep = gzip(&zstd::encode_all(&gzip(&json)[..], 3).unwrap());
    let deep = tar(&[("x.gz", &gzip(&tar(&[("y.gz", &deep)])))]);
    std::fs::write(dir.path().join("deep.tar"), deep).unwrap();
    let (m, _) = index(&[dir.path()], dir.path());

    let (ok, deep) = (entry(&m, "ok.zip"), entry(&m, "deep.tar"));
    let counts = |f: &InputReport| (f.counts.process_events, f.counts.skipped);
    assert_eq!(counts(ok), (2, 0), "{ok:?}");
    assert_eq!(counts(deep), (0, 1), "{deep:?}");
    let skip = deep.members.iter().flat_map(|m| &m.skips).next().unwrap();
    assert!(skip.reason.contains("nested deeper than 4"), "{skip:?}");
}

/// A zip inside a compressed stream (`.zip.gz`, a zip member of a
/// `.tar.gz`) is read like one at the top: its directory is at its end, so
/// it is spooled to a temporary file first, within the input's
/// decompression budget. A damaged one is one skip that says so.
#[test]
fn a_zip_inside_a_compressed_stream_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let json = std::fs::read(fixture("winlogbeat8-ecs.ndjson")).unwrap();
    let evtx = std::fs::read(shared(ONE_CHUNK_EVTX)).unwrap();
    let inner = zip(&[("a.ndjson", &json), ("b/app.evtx", &evtx)]);
    std::fs::write(dir.path().join("logs.zip.gz"), gzip(&inner)).unwrap();
    let tgz = gzip(&tar(&[("collection/logs.zip", &inner)]));
    std::fs::write(dir.path().join("collection.tar.gz"), tgz).unwrap();
    let mut damaged = inner.clone();
    let end = damaged.len();
    damaged[end - 22..].fill(0); // the end of central directory record
    std::fs::write(
        dir.path().join("damaged.zip.zst"),
        zstd::encode_all(&damaged[..], 3).unwrap(),
    )
    .unwrap();
    let (m, _) = index(&[dir.path()], dir.path());

    // The zip on its own, as the reference.
    let alone = tempfile::tempdir().unwrap();
    std::fs::write(alone.path().join("logs.zip"), &inner).unwrap();
    let (reference, _) = index(&[alone.path()], alone.path());
    let want = &entry(&reference, "logs.zip").counts;
    assert!(want.process_events > 0 && want.other_events > 0, "{want:?}");
    // Both hold the same events: the second one read counts them as
    // duplicates.
    let process = |c: &evidx_index::manifest::Counts| c.process_events + c.duplicates;
    for name in ["logs.zip.gz", "collection.tar.gz"] {
        let got = entry(&m, name);
        assert_eq!(got.members.len(), 2, "{got:?}");
        assert_eq!(process(&got.counts), want.process_events, "{got:?}");
        assert_eq!(got.counts.other_events, want.other_events, "{got:?}");
        assert_eq!(got.counts.skipped, want.skipped, "{got:?}");
    }
    let damaged = entry(&m, "damaged.zip.zst");
    assert_eq!(
        (damaged.counts.process_events, damaged.counts.skipped),
        (0, 1)
    );
    let skip = damaged
        .members
        .iter()
        .flat_map(|m| &m.skips)
        .next()
        .unwrap();
    assert!(skip.reason.contains("unreadable zip archive"), "{skip:?}");
}

#[test]
fn a_truncated_evtx_keeps_every_whole_chunk_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = shared("datasets/evtx-rs-samples/security.evtx");
    let data = std::fs::read(&path).unwrap();
    let chunk_of = |at: usize| (at - 4096) / 65536;
    let mut rng = Rng(10);
    let mut cuts: Vec<usize> = (0..24).map(|_| 8 + rng.below(data.len() - 8)).collect();
    // Also the edges: inside the file header, at a chunk's first byte.
    cuts.extend([100, 4096 + 65536 * 3 + 1]);
    // Records in the whole chunks before each cut, counted by cutting at
    // the chunk boundary.
    let mut whole = std::collections::BTreeMap::new();
    for &at in cuts.iter().filter(|&&at| at >= 4096) {
        let boundary = 4096 + chunk_of(at) * 65536;
        whole.entry(boundary).or_insert_with(|| {
            let p = dir.path().join(format!("boundary-{boundary}.bin"));
            std::fs::write(&p, &data[..boundary]).unwrap();
            let r = file_rows(&p).unwrap();
            std::fs::remove_file(&p).unwrap();
            assert!(r.skips.is_empty());
            r.records
        });
    }
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    for at in &cuts {
        std::fs::write(inputs.join(format!("cut-{at}.evtx")), &data[..*at]).unwrap();
    }
    let (m, growth) = index(&[&inputs], dir.path());
    assert_bounded(growth, "truncated EVTX");
    for at in cuts {
        let f = entry(&m, &format!("cut-{at}.evtx"));
        let (read, skipped) = (f.counts.records_read, f.counts.skipped);
        if at < 4096 {
            assert_eq!((read, skipped), (1, 1), "cut at {at}: {:?}", f.skips);
            continue;
        }
        let boundary = 4096 + chunk_of(at) * 65536;
        // The cut chunk is one skip, unless what is left of it is an
        // unused (zero) slot.
        let partial = u64::from(data[boundary..at].iter().any(|&b| b != 0));
        assert_eq!(
            (read - skipped, skipped),
            (whole[&boundary], partial),
            "cut at {at}: {:?}",
            f.skips
        );
        if partial == 1 {
            assert_eq!(f.skips[0].unit, SkipUnit::Chunk);
            assert_eq!(f.skips[0].offset, boundary as u64);
            assert!(f.skips[0].reason.contains("truncated chunk"));
        }
    }
}

/// Flip `flips` random bits of `data` (its first 8 bytes, a magic, kept).
fn flip_bits(rng: &mut Rng, data: &[u8], flips: usize) -> Vec<u8> {
    let mut out = data.to_vec();
    for _ in 0..flips {
        let at = 8 + rng.below(out.len() - 8);
        out[at] ^= 1 << rng.below(8);
    }
    out
}

#[test]
fn random_bit_flips_never_end_the_run_and_every_record_is_accounted() {
    let dir = tempfile::tempdir().unwrap();
    let evtx = std::fs::read(shared(ONE_CHUNK_EVTX)).unwrap();
    let ndjson = std::fs::read(fixture("winlogbeat8-ecs.ndjson")).unwrap();
    let xml = std::fs::read(fixture("security-4688.xml")).unwrap();
    let array = std::fs::read(fixture("security-4688.evtx_dump-array.json")).unwrap();
    let tgz = gzip(&tar(&[("a.evtx", &evtx), ("b.ndjson", &ndjson)]));
    let sources: [(&str, &[u8], usize); 5] = [
        ("evtx", &evtx, 200),
        ("ndjson", &ndjson, 60),
        ("xml", &xml, 60),
        ("json", &array, 60),
        ("tgz", &tgz, 60),
    ];
    let mut rng = Rng(7);
    let mut total = 0;
    for (ext, data, variants) in sources {
        for i in 0..variants {
            let flips = 1 + rng.below(48);
            let mutated = flip_bits(&mut rng, data, flips);
            std::fs::write(dir.path().join(format!("{i:03}-{flips}.{ext}")), mutated).unwrap();
            total += 1;
        }
    }
    let inputs = dir.path().to_path_buf();
    let (m, growth) = index(&[&inputs], dir.path());
    assert_bounded(growth, "bit flips");
    assert_eq!(
        m.files.len(),
        total,
        "every mutated file is in the manifest"
    );
    let damaged = m.files.iter().filter(|f| f.counts.skipped > 0).count();
    assert!(damaged > total / 4, "{damaged} of {total} files with skips");
}

#[test]
fn walks_survive_symlink_loops_and_unreadable_entries() {
    use std::os::unix::fs::{symlink, PermissionsExt};

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("in");
    let sub = root.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    // Three copies of one fixture, each from its own hosts: neither the
    // same file nor the same events, so each is read and indexed.
    let fixture_from = |host: &str, to: &Path| {
        let text = std::fs::read_to_string(fixture("winlogbeat8-ecs.ndjson")).unwrap();
        let text = text
            .replace("ar-win-dc.attackrange.local", &format!("{host}-1"))
            .replace("FS03.offsec.lan", &format!("{host}-2"));
        std::fs::write(to, text).unwrap();
    };
    fixture_from("a", &sub.join("a.ndjson"));
    symlink(&root, sub.join("loop")).unwrap();
    symlink(root.join("missing.json"), root.join("dangling.json")).unwrap();
    let locked = root.join("locked.ndjson");
    fixture_from("locked", &locked);
    let locked_dir = root.join("locked-dir");
    std::fs::create_dir(&locked_dir).unwrap();
    fixture_from("b", &locked_dir.join("b.ndjson"));
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, PermissionsExt::from_mode(m));
    mode(&locked, 0o000).unwrap();
    mode(&locked_dir, 0o000).unwrap();
    // root reads files whatever their mode: then they are simply indexed.
    let enforced = std::fs::File::open(&locked).is_err();

    let (m, _) = index(&[&root], dir.path());
    mode(&locked, 0o644).unwrap();
    mode(&locked_dir, 0o755).unwrap();

    // The fixture holds a Sysmon 1 and a Security 4688.
    assert_eq!(entry(&m, "a.ndjson").counts.process_events, 2);
    let reason = |f: &InputReport| f.skips.first().map(|s| s.reason.clone());
    let looped = entry(&m, "loop");
    assert_eq!(looped.counts.skipped, 1);
    assert!(
        reason(looped).is_some_and(|r| r.contains("loop")),
        "{looped:?}"
    );
    let dangling = entry(&m, "dangling.json");
    assert_eq!(dangling.counts.skipped, 1, "{dangling:?}");
    let f = entry(&m, "locked.ndjson");
    let d = m.files.iter().find(|f| f.path.contains("locked-dir"));
    if enforced {
        assert_eq!(f.counts.skipped, 1);
        assert!(
            reason(f).is_some_and(|r| r.contains("ermission denied")),
            "{f:?}"
        );
        let d = d.expect("the unreadable directory is listed");
        assert_eq!(d.counts.skipped, 1);
        assert!(
            reason(d).is_some_and(|r| r.contains("ermission denied")),
            "{d:?}"
        );
    } else {
        eprintln!("running as root: modes are not enforced, unreadable files are read");
        assert_eq!(f.counts.process_events, 2);
        assert_eq!(d.map(|d| d.counts.process_events), Some(2));
    }
}

#[test]
fn files_that_vanish_during_the_run_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("in");
    std::fs::create_dir(&root).unwrap();
    let n = 300;
    let paths: Vec<PathBuf> = (0..n)
        .map(|i| root.join(format!("{i:03}.ndjson")))
        .collect();
    for p in &paths {
        std::fs::copy(fixture("winlogbeat8-ecs.ndjson"), p).unwrap();
    }
    // Delete the files, last first, as soon as the run has listed them
    // (it creates the index directory after the walk).
    let idx = dir.path().join("idx");
    let deleter = {
        let (idx, paths) = (idx.clone(), paths.clone());
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while !idx.exists() && start.elapsed().as_secs() < 60 {
                std::thread::yield_now();
            }
            for p in paths.iter().rev() {
                let _ = std::fs::remove_file(p);
            }
        })
    };
    let (m, _) = index(&[&root], dir.path());
    deleter.join().unwrap();
    let mut vanished = 0;
    for f in &m.files {
        if f.counts.skipped == 0 {
            assert_eq!(f.counts.process_events, 2, "{f:?}");
        } else {
            vanished += 1;
            assert_eq!(f.counts.records_read, 1, "{f:?}");
            assert!(f.skips[0].reason.contains("cannot read"), "{f:?}");
        }
    }
    eprintln!(
        "{} files listed, {vanished} vanished before they were read",
        m.files.len()
    );
}
