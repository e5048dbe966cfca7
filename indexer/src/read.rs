//! Read: bytes of an input -> the parser of its format. Plain files are
//! memory-mapped and parsed in parallel (EVTX chunks, blocks of lines);
//! compressed files and archives (`.gz`, `.zst`, `.zip`, `.tar[.gz]`) are
//! streamed member by member, never unpacked to disk, in bounded memory.
//! Formats are recognised by content ([`crate::parse::sniff`]), never by name.

use std::io::{Cursor, Read};

use rayon::prelude::*;

use crate::parse::evtx::{is_empty_chunk, ChunkExtractor, CHUNK_SIZE, FILE_HEADER_SIZE, MAGIC};
use crate::parse::text::{
    count_lines, is_ndjson, process_json_document, process_lines, LineFormat,
};
use crate::parse::{sniff, Format, Note, Sink, Skip, SkipUnit};

/// Bytes of lines handed to the parser at once.
const BLOCK_BYTES: usize = 8 << 20;
/// A single line longer than this is skipped (a bounded-memory guard).
const MAX_LINE_BYTES: usize = 256 << 20;
/// EVTX chunks parsed together from a stream.
const STREAM_CHUNK_BATCH: usize = 32;
/// Archives nested deeper than this are not opened.
const MAX_DEPTH: usize = 4;
/// Bytes used to recognise a format.
const SNIFF_BYTES: usize = 8192;

/// Receives one unit of input (a file, or a member of an archive).
pub trait Target: Sync {
    /// A unit starts: the file itself (`member` None) or an archive member.
    fn begin(&self, member: Option<&str>, format: Option<Format>) -> Box<dyn Unit + '_>;
}

/// The sink of one unit; `finish` gets the unit's (decompressed) size.
pub trait Unit: Sink {
    fn finish(self: Box<Self>, bytes: u64);
}

/// Reads inputs with a given EVTX chunk extractor.
pub struct Reader<'e> {
    pub extractor: &'e dyn ChunkExtractor,
}

impl Reader<'_> {
    /// Read a whole file that is mapped in memory. Returns its format.
    pub fn read_mapped(&self, data: &[u8], target: &dyn Target) -> Option<Format> {
        let format = sniff(&data[..data.len().min(SNIFF_BYTES)]);
        match format {
            Some(Format::Evtx) => {
                let unit = target.begin(None, format);
                self.evtx_mapped(data, &*unit);
                unit.finish(data.len() as u64);
            }
            Some(Format::Json) | Some(Format::Xml) => {
                let unit = target.begin(None, format);
                text_mapped(format == Some(Format::Xml), data, &*unit);
                unit.finish(data.len() as u64);
            }
            Some(Format::Zip) => self.zip(data, target, 0),
            Some(Format::Gzip) | Some(Format::Zstd) | Some(Format::Tar) => {
                self.read_stream(&mut Cursor::new(data), target, None, 0);
            }
            None => {
                let unit = target.begin(None, None);
                unit.skip(Skip::new(SkipUnit::NotEvent, 0, unrecognised(data)));
                unit.finish(data.len() as u64);
            }
        }
        format
    }

    fn evtx_mapped(&self, data: &[u8], sink: &dyn Sink) {
        if data.len() < FILE_HEADER_SIZE || &data[..8] != MAGIC {
            sink.skip(Skip::file("EVTX file shorter than its 4 KiB header"));
            return;
        }
        let body = &data[FILE_HEADER_SIZE..];
        let n = body.len() / CHUNK_SIZE;
        (0..n).into_par_iter().for_each(|i| {
            let chunk = &body[i * CHUNK_SIZE..(i + 1) * CHUNK_SIZE];
            self.chunk(i as u64, chunk, sink);
        });
        let tail = &body[n * CHUNK_SIZE..];
        if !is_empty_chunk(tail) {
            let offset = (FILE_HEADER_SIZE + n * CHUNK_SIZE) as u64;
            sink.skip(
                Skip::new(
                    SkipUnit::Chunk,
                    offset,
                    format!("truncated chunk: {} of {CHUNK_SIZE} bytes", tail.len()),
                )
                .chunk(n as u64),
            );
        }
    }

    fn chunk(&self, number: u64, data: &[u8], sink: &dyn Sink) {
        let offset = FILE_HEADER_SIZE as u64 + number * CHUNK_SIZE as u64;
        if is_empty_chunk(data) {
            sink.note(Note::EmptyChunk);
        } else {
            // Hostile input must not end the run: a parser panic on one
            // chunk costs that chunk only (records of it already sent stay).
            let run =
                std::panic::AssertUnwindSafe(|| self.extractor.extract(number, offset, data, sink));
            if let Err(panic) = std::panic::catch_unwind(run) {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                sink.skip(
                    Skip::new(
                        SkipUnit::Chunk,
                        offset,
                        format!("EVTX parser failed on this chunk: {what}"),
                    )
                    .chunk(number),
                );
            }
        }
        sink.progress(data.len() as u64);
    }

    fn zip(&self, data: &[u8], target: &dyn Target, depth: usize) {
        let mut archive = match zip::ZipArchive::new(Cursor::new(data)) {
            Ok(a) => a,
            Err(e) => {
                let unit = target.begin(None, Some(Format::Zip));
                unit.skip(Skip::file(format!("unreadable zip archive: {e}")));
                unit.finish(0);
                return;
            }
        };
        for i in 0..archive.len() {
            match archive.by_index(i) {
                Ok(mut entry) => {
                    if entry.is_dir() {
                        continue;
                    }
                    let name = entry
                        .name()
                        .map(|n| n.into_owned())
                        .unwrap_or_else(|_| format!("#{i}"));
                    self.read_stream(&mut entry, target, Some(&name), depth + 1);
                }
                Err(e) => {
                    let unit = target.begin(Some(&format!("#{i}")), None);
                    unit.skip(Skip::file(format!("unreadable zip member #{i}: {e}")));
                    unit.finish(0);
                }
            }
        }
    }

    /// Read a stream: sniff it, then decompress, walk its members, or parse it.
    fn read_stream(
        &self,
        r: &mut dyn Read,
        target: &dyn Target,
        member: Option<&str>,
        depth: usize,
    ) {
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        let head_err = r.take(SNIFF_BYTES as u64).read_to_end(&mut head).err();
        let format = sniff(&head);
        let mut chained = Cursor::new(head).chain(r);
        if depth > MAX_DEPTH
            && matches!(
                format,
                Some(Format::Gzip | Format::Zstd | Format::Tar | Format::Zip)
            )
        {
            let unit = target.begin(member, format);
            unit.skip(Skip::file(format!(
                "archive nested deeper than {MAX_DEPTH} levels"
            )));
            unit.finish(0);
            return;
        }
        let inner_name = |suffixes: &[&str]| -> String {
            let base = member.unwrap_or("");
            let base = base.rsplit(['/', '\\']).next().unwrap_or(base);
            suffixes
                .iter()
                .find_map(|s| base.strip_suffix(s))
                .unwrap_or(base)
                .to_string()
        };
        match format {
            Some(Format::Gzip) => {
                let name = inner_name(&[".gz", ".tgz"]);
                let mut d = flate2::read::MultiGzDecoder::new(chained);
                self.read_stream(&mut d, target, Some(&name), depth + 1);
            }
            Some(Format::Zstd) => match zstd::stream::read::Decoder::new(chained) {
                Ok(mut d) => {
                    let name = inner_name(&[".zst", ".zstd"]);
                    self.read_stream(&mut d, target, Some(&name), depth + 1)
                }
                Err(e) => {
                    let unit = target.begin(member, format);
                    unit.skip(Skip::file(format!("unreadable zstd stream: {e}")));
                    unit.finish(0);
                }
            },
            Some(Format::Tar) => {
                let mut archive = tar::Archive::new(chained);
                let entries = match archive.entries() {
                    Ok(e) => e,
                    Err(e) => {
                        let unit = target.begin(member, format);
                        unit.skip(Skip::file(format!("unreadable tar archive: {e}")));
                        unit.finish(0);
                        return;
                    }
                };
                for (i, entry) in entries.enumerate() {
                    match entry {
                        Ok(mut entry) => {
                            if !entry.header().entry_type().is_file() {
                                continue;
                            }
                            let name = entry
                                .path()
                                .map(|p| p.to_string_lossy().into_owned())
                                .unwrap_or_else(|_| format!("#{i}"));
                            self.read_stream(&mut entry, target, Some(&name), depth + 1);
                        }
                        Err(e) => {
                            let unit = target.begin(Some(&format!("#{i}")), None);
                            unit.skip(Skip::file(format!("unreadable tar member #{i}; the rest of the archive is unreadable: {e}")));
                            unit.finish(0);
                            return;
                        }
                    }
                }
            }
            Some(Format::Zip) => {
                // A zip needs random access: only a bounded one is buffered.
                let unit = target.begin(member, format);
                unit.skip(Skip::file(
                    "a zip archive inside a compressed stream is not read; unpack the outer layer",
                ));
                unit.finish(0);
            }
            Some(Format::Evtx) => {
                let unit = target.begin(member, format);
                let bytes = self.evtx_stream(&mut chained, &*unit);
                unit.finish(bytes);
            }
            Some(Format::Json) | Some(Format::Xml) => {
                let unit = target.begin(member, format);
                let sniffed_ndjson =
                    format == Some(Format::Xml) || is_ndjson(chained.get_ref().0.get_ref());
                let bytes = if sniffed_ndjson {
                    lines_stream(format == Some(Format::Xml), &mut chained, &*unit)
                } else {
                    let mut counter = CountingReader {
                        inner: &mut chained,
                        count: 0,
                    };
                    process_json_document(serde_json::de::IoRead::new(&mut counter), &*unit);
                    counter.count
                };
                unit.finish(bytes);
            }
            None => {
                let unit = target.begin(member, None);
                let reason = match &head_err {
                    Some(e) => format!("unreadable stream: {e}"),
                    None => unrecognised(chained.get_ref().0.get_ref()),
                };
                let kind = if head_err.is_some() {
                    SkipUnit::File
                } else {
                    SkipUnit::NotEvent
                };
                unit.skip(Skip::new(kind, 0, reason));
                unit.finish(chained.get_ref().0.get_ref().len() as u64);
            }
        }
    }

    /// EVTX from a stream: the header, then batches of chunks in parallel.
    fn evtx_stream(&self, r: &mut dyn Read, sink: &dyn Sink) -> u64 {
        let mut header = vec![0u8; FILE_HEADER_SIZE];
        if let Err(e) = r.read_exact(&mut header) {
            sink.skip(Skip::file(format!("EVTX header unreadable: {e}")));
            return 0;
        }
        let mut total = FILE_HEADER_SIZE as u64;
        let mut number = 0u64;
        loop {
            let mut batch: Vec<Vec<u8>> = Vec::with_capacity(STREAM_CHUNK_BATCH);
            let mut end = false;
            while batch.len() < STREAM_CHUNK_BATCH {
                let mut buf = Vec::with_capacity(CHUNK_SIZE);
                match r.take(CHUNK_SIZE as u64).read_to_end(&mut buf) {
                    Ok(n) if n == CHUNK_SIZE => batch.push(buf),
                    Ok(n) => {
                        if !is_empty_chunk(&buf) {
                            let at = total + (batch.len() * CHUNK_SIZE) as u64;
                            sink.skip(
                                Skip::new(
                                    SkipUnit::Chunk,
                                    at,
                                    format!("truncated chunk: {n} of {CHUNK_SIZE} bytes"),
                                )
                                .chunk(number + batch.len() as u64),
                            );
                        }
                        total += n as u64;
                        end = true;
                        break;
                    }
                    Err(e) => {
                        let at = total + (batch.len() * CHUNK_SIZE) as u64;
                        sink.skip(Skip::new(
                            SkipUnit::File,
                            at,
                            format!("read failed; the rest is unreadable: {e}"),
                        ));
                        end = true;
                        break;
                    }
                }
            }
            batch.par_iter().enumerate().for_each(|(i, chunk)| {
                self.chunk(number + i as u64, chunk, sink);
            });
            number += batch.len() as u64;
            total += (batch.len() * CHUNK_SIZE) as u64;
            if end {
                return total;
            }
        }
    }
}

/// Text (JSON or XML) from memory: NDJSON / XML lines in parallel blocks,
/// or a JSON document streamed from the slice.
fn text_mapped(xml: bool, data: &[u8], sink: &dyn Sink) {
    if !xml && !is_ndjson(&data[..data.len().min(1 << 20)]) {
        process_json_document(serde_json::de::SliceRead::new(data), sink);
        sink.progress(data.len() as u64);
        return;
    }
    let format = if xml {
        LineFormat::Xml
    } else {
        LineFormat::Json
    };
    let mut start = 0usize;
    let mut line = 1u64;
    while start < data.len() {
        let mut end = (start + BLOCK_BYTES).min(data.len());
        if end < data.len() {
            end = match memchr::memrchr(b'\n', &data[start..end]) {
                Some(i) => start + i + 1,
                None => memchr::memchr(b'\n', &data[end..]).map_or(data.len(), |i| end + i + 1),
            };
        }
        let block = &data[start..end];
        process_lines(format, block, start as u64, line, sink);
        line += count_lines(block);
        start = end;
    }
}

/// Lines from a stream, in blocks, carrying partial lines over. Returns
/// the bytes read.
fn lines_stream(xml: bool, r: &mut dyn Read, sink: &dyn Sink) -> u64 {
    let format = if xml {
        LineFormat::Xml
    } else {
        LineFormat::Json
    };
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK_BYTES * 2);
    // Stream offset of buf[0] and line number of its first line.
    let (mut offset, mut line) = (0u64, 1u64);
    // Inside a line too long to keep: drop bytes up to its end.
    let mut skipping = false;
    loop {
        let before = buf.len();
        let eof = match r.take(BLOCK_BYTES as u64).read_to_end(&mut buf) {
            Ok(n) => n == 0,
            Err(e) => {
                let reason =
                    format!("read failed (corrupt compressed data?); the rest is unreadable: {e}");
                sink.skip(Skip::new(SkipUnit::File, offset + before as u64, reason));
                true
            }
        };
        if skipping {
            match memchr::memchr(b'\n', &buf) {
                Some(i) => {
                    offset += i as u64 + 1;
                    line += 1;
                    buf.drain(..=i);
                    skipping = false;
                }
                None => {
                    offset += buf.len() as u64;
                    buf.clear();
                    if eof {
                        return offset;
                    }
                    continue;
                }
            }
        }
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(i) => i + 1,
                None if buf.len() > MAX_LINE_BYTES => {
                    let reason = format!("line longer than {MAX_LINE_BYTES} bytes");
                    sink.skip(Skip::new(SkipUnit::Line, offset, reason).line(line));
                    offset += buf.len() as u64;
                    buf.clear();
                    skipping = true;
                    continue;
                }
                // The line goes on: read more before parsing.
                None => continue,
            }
        };
        if cut > 0 && (eof || buf.len() >= BLOCK_BYTES) {
            process_lines(format, &buf[..cut], offset, line, sink);
            line += count_lines(&buf[..cut]);
            offset += cut as u64;
            buf.drain(..cut);
        }
        if eof {
            return offset;
        }
    }
}

struct CountingReader<'a> {
    inner: &'a mut dyn Read,
    count: u64,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

fn unrecognised(head: &[u8]) -> String {
    if head.iter().all(u8::is_ascii_whitespace) {
        return "empty file".into();
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return "UTF-16 text is not read yet; convert to UTF-8 (iconv -f UTF-16 -t UTF-8)".into();
    }
    let shown: String = head
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "unrecognised format (not EVTX, JSON, XML, zip, tar, gzip or zstd); first bytes: {shown}"
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::event::{Origin, RawEvent};

    /// An extractor that fails the way a buggy parser would.
    struct Panicking;

    impl ChunkExtractor for Panicking {
        fn extract(&self, number: u64, _: u64, _: &[u8], _: &dyn Sink) {
            panic!("boom in chunk {number}");
        }
    }

    #[derive(Default)]
    struct Skips(Mutex<Vec<Skip>>);

    impl Sink for Skips {
        fn event(&self, _: RawEvent, _: Origin) {}
        fn skip(&self, s: Skip) {
            self.0.lock().unwrap().push(s);
        }
    }

    impl Unit for &Skips {
        fn finish(self: Box<Self>, _: u64) {}
    }

    impl Sink for &Skips {
        fn event(&self, _: RawEvent, _: Origin) {}
        fn skip(&self, s: Skip) {
            (*self).skip(s)
        }
    }

    impl Target for Skips {
        fn begin(&self, _: Option<&str>, _: Option<Format>) -> Box<dyn Unit + '_> {
            Box::new(self)
        }
    }

    #[test]
    fn a_parser_panic_costs_one_chunk_not_the_run() {
        let mut file = vec![0u8; FILE_HEADER_SIZE + 2 * CHUNK_SIZE];
        file[..8].copy_from_slice(MAGIC);
        // Chunk 1 is used; chunk 0 is an empty slot.
        file[FILE_HEADER_SIZE + CHUNK_SIZE] = 1;
        let skips = Skips::default();
        let format = Reader {
            extractor: &Panicking,
        }
        .read_mapped(&file, &skips);
        assert_eq!(format, Some(Format::Evtx));
        let skips = skips.0.into_inner().unwrap();
        assert_eq!(skips.len(), 1);
        assert_eq!(skips[0].chunk, Some(1));
        assert_eq!(skips[0].offset, (FILE_HEADER_SIZE + CHUNK_SIZE) as u64);
        assert!(
            skips[0].reason.contains("boom in chunk 1"),
            "{}",
            skips[0].reason
        );
    }
}
