//! Archive walking: an input -> its units. A file's format is recognised
//! by content ([`crate::parse::sniff`]), never by name; compressed streams
//! and archives (`.gz`, `.zst`, `.zip`, `.tar[.gz]`) are opened member by
//! member, never unpacked to disk (but for a zip inside a stream, spooled
//! to an unnamed temporary file: its directory is at its end), nested up
//! to [`MAX_DEPTH`] levels. Every
//! file or member of an event format begins a [`Unit`] of the [`Target`] and
//! its bytes go to `frame.rs`; what cannot be opened is a skip of its unit.
//! What decompressors may produce is bounded per input ([`Budget`]), so a
//! decompression bomb costs bounded time as well as bounded memory.

use std::cell::Cell;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};

use super::frame::{evtx_mapped, evtx_stream, text_mapped, text_stream};
use super::{Reader, Target};
use crate::parse::text::{is_ndjson, LineFormat};
use crate::parse::{sniff, Format, Skip, SkipUnit};

/// Archives nested deeper than this are not opened.
const MAX_DEPTH: usize = 4;
/// Bytes used to recognise a format.
const SNIFF_BYTES: usize = 8192;
/// Decompressed bytes allowed per compressed byte of an input. One deflate
/// layer cannot expand more than 1032:1, and real logs compress 5-50:1
/// with zstd: only bombs (nested layers, crafted zstd) go past it.
const MAX_EXPANSION: u64 = 1024;
/// Decompressed bytes always allowed per input, whatever its size, so that
/// small archives of highly compressible files (EVTX with empty chunks)
/// are read whole.
const MIN_BUDGET: u64 = 256 << 20;

/// What all the decompressors of one input may still produce, shared by
/// its nested layers.
struct Budget {
    left: Cell<u64>,
    limit: u64,
}

impl Budget {
    fn for_input(size: u64) -> Budget {
        let limit = size.saturating_mul(MAX_EXPANSION).max(MIN_BUDGET);
        Budget {
            left: Cell::new(limit),
            limit,
        }
    }
}

/// A decompressed stream charged to a [`Budget`]: once it is spent, reads
/// fail, and the reader of the member reports the rest as skipped at the
/// offset it reached.
struct Limited<'b, R> {
    inner: R,
    budget: &'b Budget,
}

impl<R: Read> Read for Limited<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.budget.left.get();
        // A stream that ends exactly at the limit is not over it.
        if left == 0 && !buf.is_empty() && self.inner.read(&mut [0u8])? > 0 {
            return Err(std::io::Error::other(format!(
                "decompressed data exceeds {} bytes, {MAX_EXPANSION} times the size of the file \
                 (at least {} MiB): a decompression bomb?",
                self.budget.limit,
                MIN_BUDGET >> 20
            )));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.budget.left.set(left - n as u64);
        Ok(n)
    }
}

impl Reader<'_> {
    /// Read a whole file that is mapped in memory. Returns its format.
    pub fn read_mapped(&self, data: &[u8], target: &dyn Target) -> Option<Format> {
        let format = sniff(&data[..data.len().min(SNIFF_BYTES)]);
        let budget = &Budget::for_input(data.len() as u64);
        match format {
            Some(Format::Evtx) => {
                let unit = target.begin(None, format);
                evtx_mapped(self.extractor, data, &*unit);
                unit.finish(data.len() as u64);
            }
            Some(Format::Json) | Some(Format::Xml) => {
                let unit = target.begin(None, format);
                text_mapped(line_format(format), data, &*unit);
                unit.finish(data.len() as u64);
            }
            Some(Format::Zip) => self.zip(Cursor::new(data), target, None, budget, 0),
            Some(Format::Gzip) | Some(Format::Zstd) | Some(Format::Tar) => {
                self.read_stream(&mut Cursor::new(data), target, None, budget, 0);
            }
            None => {
                let unit = target.begin(None, None);
                unit.skip(Skip::new(SkipUnit::NotEvent, 0, unrecognised(data)));
                unit.finish(data.len() as u64);
            }
        }
        format
    }

    /// Read the members of a zip archive (the input itself, or `member`).
    fn zip<R: Read + Seek>(
        &self,
        data: R,
        target: &dyn Target,
        member: Option<&str>,
        budget: &Budget,
        depth: usize,
    ) {
        let mut archive = match zip::ZipArchive::new(data) {
            Ok(a) => a,
            Err(e) => {
                let reason = format!("unreadable zip archive: {e}");
                return unreadable(target, member, Some(Format::Zip), reason);
            }
        };
        for i in 0..archive.len() {
            match archive.by_index(i) {
                Ok(entry) => {
                    if entry.is_dir() {
                        continue;
                    }
                    let name = entry
                        .name()
                        .map(|n| n.into_owned())
                        .unwrap_or_else(|_| format!("#{i}"));
                    let mut entry = Limited {
                        inner: entry,
                        budget,
                    };
                    self.read_stream(&mut entry, target, Some(&name), budget, depth + 1);
                }
                Err(e) => {
                    let reason = format!("unreadable zip member #{i}: {e}");
                    unreadable(target, Some(&format!("#{i}")), None, reason);
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
        budget: &Budget,
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
            let reason = format!("archive nested deeper than {MAX_DEPTH} levels");
            return unreadable(target, member, format, reason);
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
                let mut d = Limited {
                    inner: flate2::read::MultiGzDecoder::new(chained),
                    budget,
                };
                self.read_stream(&mut d, target, Some(&name), budget, depth + 1);
            }
            Some(Format::Zstd) => match zstd::stream::read::Decoder::new(chained) {
                Ok(d) => {
                    let name = inner_name(&[".zst", ".zstd"]);
                    let mut d = Limited { inner: d, budget };
                    self.read_stream(&mut d, target, Some(&name), budget, depth + 1)
                }
                Err(e) => {
                    let reason = format!("unreadable zstd stream: {e}");
                    unreadable(target, member, format, reason);
                }
            },
            Some(Format::Tar) => {
                let mut archive = tar::Archive::new(chained);
                let entries = match archive.entries() {
                    Ok(e) => e,
                    Err(e) => {
                        let reason = format!("unreadable tar archive: {e}");
                        return unreadable(target, member, format, reason);
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
                            self.read_stream(&mut entry, target, Some(&name), budget, depth + 1);
                        }
                        Err(e) => {
                            let reason = format!(
                                "unreadable tar member #{i}; the rest of the archive is unreadable: {e}"
                            );
                            return unreadable(target, Some(&format!("#{i}")), None, reason);
                        }
                    }
                }
            }
            Some(Format::Zip) => {
                // A zip needs random access (its directory is at its end):
                // the stream is spooled to an unnamed temporary file (gone
                // when closed), within the input's decompression budget.
                let spooled = tempfile::tempfile().and_then(|mut file| {
                    std::io::copy(&mut chained, &mut file)?;
                    file.seek(SeekFrom::Start(0))?;
                    Ok(file)
                });
                match spooled {
                    Ok(file) => self.zip(BufReader::new(file), target, member, budget, depth),
                    Err(e) => {
                        let reason = format!(
                            "zip archive inside a stream, not copied to a temporary file \
                             (TMPDIR): {e}"
                        );
                        unreadable(target, member, format, reason);
                    }
                }
            }
            Some(Format::Evtx) => {
                let unit = target.begin(member, format);
                let bytes = evtx_stream(self.extractor, &mut chained, &*unit);
                unit.finish(bytes);
            }
            Some(Format::Json) | Some(Format::Xml) => {
                let unit = target.begin(member, format);
                let lines = format == Some(Format::Xml) || is_ndjson(chained.get_ref().0.get_ref());
                let bytes = text_stream(line_format(format), lines, &mut chained, &*unit);
                unit.finish(bytes);
            }
            None => {
                let unit = target.begin(member, None);
                let skip = match &head_err {
                    Some(e) => Skip::file(format!("unreadable stream: {e}")),
                    None => Skip::new(
                        SkipUnit::NotEvent,
                        0,
                        unrecognised(chained.get_ref().0.get_ref()),
                    ),
                };
                unit.skip(skip);
                unit.finish(chained.get_ref().0.get_ref().len() as u64);
            }
        }
    }
}

/// A file or member that cannot be opened: its unit is begun, skipped
/// whole, and finished empty.
fn unreadable(target: &dyn Target, member: Option<&str>, format: Option<Format>, reason: String) {
    let unit = target.begin(member, format);
    unit.skip(Skip::file(reason));
    unit.finish(0);
}

/// The line format of a text format.
fn line_format(format: Option<Format>) -> LineFormat {
    if format == Some(Format::Xml) {
        LineFormat::Xml
    } else {
        LineFormat::Json
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
    use super::*;

    fn read_all(data: &[u8], limit: u64) -> std::io::Result<Vec<u8>> {
        let budget = Budget {
            left: Cell::new(limit),
            limit,
        };
        let mut out = Vec::new();
        Limited {
            inner: data,
            budget: &budget,
        }
        .read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn a_budget_stops_decompression_past_its_limit_only() {
        assert_eq!(read_all(b"0123456789", 10).unwrap(), b"0123456789");
        let e = read_all(b"0123456789x", 10).unwrap_err();
        assert!(e.to_string().contains("exceeds 10 bytes"), "{e}");
        assert_eq!(Budget::for_input(1).limit, MIN_BUDGET);
        assert_eq!(Budget::for_input(1 << 30).limit, MAX_EXPANSION << 30);
    }
}
