//! Framing: the bytes of one unit (a file or an archive member) -> the units
//! its parser works on, EVTX chunks and blocks of whole lines, handed out in
//! parallel. From a memory map the blocks are slices; from a stream they
//! are read in bounded batches, carrying partial lines over. Framing does
//! not know where the bytes came from: `archive.rs` decides that.

use std::io::Read;

use rayon::prelude::*;

use crate::parse::evtx::{is_empty_chunk, ChunkExtractor, CHUNK_SIZE, FILE_HEADER_SIZE, MAGIC};
use crate::parse::text::{
    count_lines, is_ndjson, process_json_document, process_lines, LineFormat,
};
use crate::parse::{Note, Sink, Skip, SkipUnit};

/// Bytes of lines handed to the parser at once.
const BLOCK_BYTES: usize = 8 << 20;
/// A single line longer than this is skipped (a bounded-memory guard).
const MAX_LINE_BYTES: usize = 256 << 20;
/// EVTX chunks parsed together from a stream.
const STREAM_CHUNK_BATCH: usize = 32;

/// EVTX from memory: every chunk in parallel.
pub(super) fn evtx_mapped(extractor: &dyn ChunkExtractor, data: &[u8], sink: &dyn Sink) {
    if data.len() < FILE_HEADER_SIZE || &data[..8] != MAGIC {
        sink.skip(Skip::file("EVTX file shorter than its 4 KiB header"));
        return;
    }
    let body = &data[FILE_HEADER_SIZE..];
    let n = body.len() / CHUNK_SIZE;
    (0..n).into_par_iter().for_each(|i| {
        let chunk = &body[i * CHUNK_SIZE..(i + 1) * CHUNK_SIZE];
        parse_chunk(extractor, i as u64, chunk, sink);
    });
    let tail = &body[n * CHUNK_SIZE..];
    if !is_empty_chunk(tail) {
        let offset = (FILE_HEADER_SIZE + n * CHUNK_SIZE) as u64;
        sink.skip(truncated_chunk(n as u64, offset, tail.len()));
    }
}

/// EVTX from a stream: the header, then batches of chunks in parallel.
/// Returns the bytes read.
pub(super) fn evtx_stream(
    extractor: &dyn ChunkExtractor,
    r: &mut dyn Read,
    sink: &dyn Sink,
) -> u64 {
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
                        sink.skip(truncated_chunk(number + batch.len() as u64, at, n));
                    }
                    total += n as u64;
                    end = true;
                    break;
                }
                Err(e) => {
                    let at = total + (batch.len() * CHUNK_SIZE) as u64;
                    let reason = format!("read failed; the rest is unreadable: {e}");
                    sink.skip(Skip::new(SkipUnit::File, at, reason));
                    end = true;
                    break;
                }
            }
        }
        batch.par_iter().enumerate().for_each(|(i, chunk)| {
            parse_chunk(extractor, number + i as u64, chunk, sink);
        });
        number += batch.len() as u64;
        total += (batch.len() * CHUNK_SIZE) as u64;
        if end {
            return total;
        }
    }
}

/// The last chunk of a file, cut short.
fn truncated_chunk(number: u64, offset: u64, len: usize) -> Skip {
    let reason = format!("truncated chunk: {len} of {CHUNK_SIZE} bytes");
    Skip::new(SkipUnit::Chunk, offset, reason).chunk(number)
}

/// One whole chunk, numbered from 0 in its file.
fn parse_chunk(extractor: &dyn ChunkExtractor, number: u64, data: &[u8], sink: &dyn Sink) {
    let offset = FILE_HEADER_SIZE as u64 + number * CHUNK_SIZE as u64;
    if is_empty_chunk(data) {
        sink.note(Note::EmptyChunk);
    } else {
        // Hostile input must not end the run: a parser panic on one
        // chunk costs that chunk only (records of it already sent stay).
        let run = std::panic::AssertUnwindSafe(|| extractor.extract(number, offset, data, sink));
        if let Err(panic) = std::panic::catch_unwind(run) {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let reason = format!("EVTX parser failed on this chunk: {what}");
            sink.skip(Skip::new(SkipUnit::Chunk, offset, reason).chunk(number));
        }
    }
    sink.progress(data.len() as u64);
}

/// Text (JSON or XML) from memory: NDJSON / XML lines in parallel blocks,
/// or a JSON document streamed from the slice.
pub(super) fn text_mapped(format: LineFormat, data: &[u8], sink: &dyn Sink) {
    if format == LineFormat::Json && !is_ndjson(&data[..data.len().min(1 << 20)]) {
        process_json_document(serde_json::de::SliceRead::new(data), sink);
        sink.progress(data.len() as u64);
        return;
    }
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

/// Text from a stream: blocks of lines (`lines`: XML, or JSON sniffed as
/// NDJSON), else a JSON document streamed value by value. Returns the bytes
/// read.
pub(super) fn text_stream(
    format: LineFormat,
    lines: bool,
    r: &mut dyn Read,
    sink: &dyn Sink,
) -> u64 {
    if lines {
        return lines_stream(format, r, sink);
    }
    let mut counter = CountingReader { inner: r, count: 0 };
    process_json_document(serde_json::de::IoRead::new(&mut counter), sink);
    counter.count
}

/// Lines from a stream, in blocks, carrying partial lines over. Returns
/// the bytes read.
fn lines_stream(format: LineFormat, r: &mut dyn Read, sink: &dyn Sink) -> u64 {
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
