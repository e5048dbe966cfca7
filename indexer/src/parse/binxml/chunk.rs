//! The chunk around the records: its header, its string table and the walk
//! from one record to the next. Each check mirrors one the `evtx` crate
//! makes; where the crate would report an error, or resynchronise on the
//! next record, these return None and the whole chunk goes to the crate.

use std::ops::Range;

use super::le::{slice, u16_at, u32_at, u64_at};
use super::utf16::{decode_strict, is_valid, until_nul};

/// Records start after this.
pub const HEADER_SIZE: usize = 512;
const RECORD_HEADER_SIZE: usize = 24;
const RECORD_MAGIC: &[u8; 4] = b"\x2a\x2a\x00\x00";
/// The string table: 64 bucket offsets at byte 128.
const STRING_BUCKETS: Range<usize> = 128..384;

/// What the record walk needs from the chunk header.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub last_record_id: u64,
    pub free_space: u32,
}

/// The chunk header, when the chunk has one.
pub fn header(data: &[u8]) -> Option<Header> {
    if data.len() < HEADER_SIZE || &data[..8] != b"ElfChnk\0" {
        return None;
    }
    Some(Header {
        last_record_id: u64_at(data, 32)?,
        free_space: u32_at(data, 48)?,
    })
}

/// The name of the string-table entry at `offset` (a 6-byte link, then a
/// length-prefixed, NUL-terminated UTF-16 name), None when it cannot be read.
pub fn name_at(data: &[u8], offset: u32) -> Option<String> {
    decode_strict(name_units(data, offset)?)
}

/// The UTF-16 bytes of that name.
fn name_units(data: &[u8], offset: u32) -> Option<&[u8]> {
    let at = (offset as usize).checked_add(6)?;
    let len = usize::from(u16_at(data, at)?);
    let chars = slice(data, at + 2, 2 * len)?;
    u16_at(data, at + 2 + 2 * len)?;
    Some(until_nul(chars))
}

/// Whether every chain of the string table reads, as the crate reads the
/// whole table before the first record (a broken one fails the chunk).
pub fn strings_readable(data: &[u8]) -> bool {
    // Entries read so far, by offset: a chain that links back ends there.
    let mut seen = vec![0u64; data.len() / 64 + 1];
    for bucket in STRING_BUCKETS.step_by(4) {
        let Some(mut at) = u32_at(data, bucket).map(|o| o as usize) else {
            return false;
        };
        if at == 0 {
            continue;
        }
        loop {
            let Some(next) = u32_at(data, at).map(|o| o as usize) else {
                return false;
            };
            if u16_at(data, at + 4).is_none() || !name_units(data, at as u32).is_some_and(is_valid)
            {
                return false;
            }
            seen[at / 64] |= 1 << (at % 64);
            if next == 0 || (next <= data.len() && seen[next / 64] & (1 << (next % 64)) != 0) {
                break;
            }
            if next > data.len() {
                return false;
            }
            at = next;
        }
    }
    true
}

/// One record: where it starts in the chunk, its id, and its BinXML.
#[derive(Debug, Clone)]
pub struct Span {
    pub start: usize,
    pub id: u64,
    pub binxml: Range<usize>,
}

/// The chunk's records, walked from the header by their sizes up to the
/// free space or the chunk's last record id. None at the first record
/// header that does not read.
pub fn records(data: &[u8], header: &Header) -> Option<Vec<Span>> {
    let live_end = (header.free_space as usize).min(data.len());
    let mut spans = Vec::with_capacity(256);
    let mut at = HEADER_SIZE;
    while at < live_end {
        let head = slice(data, at, RECORD_HEADER_SIZE)?;
        if &head[..4] != RECORD_MAGIC {
            return None;
        }
        let size = u32_at(head, 4)? as usize;
        let id = u64_at(head, 8)?;
        if !timestamp_valid(u64_at(head, 16)?) {
            return None;
        }
        let data_size = size.checked_sub(RECORD_HEADER_SIZE + 4)?;
        let start = at + RECORD_HEADER_SIZE;
        let end = start.checked_add(data_size)?;
        if end > data.len() {
            return None;
        }
        spans.push(Span {
            start: at,
            id,
            binxml: start..end,
        });
        if id == header.last_record_id {
            break;
        }
        at += size;
    }
    Some(spans)
}

/// Whether the record header's FILETIME is a time the crate accepts.
fn timestamp_valid(filetime: u64) -> bool {
    const TICKS_PER_SEC: u64 = 10_000_000;
    const WINDOWS_TO_UNIX_SECS: i64 = 11_644_473_600;
    let secs = (filetime / TICKS_PER_SEC) as i64 - WINDOWS_TO_UNIX_SECS;
    let nanos = ((filetime % TICKS_PER_SEC) * 100) as i32;
    evtx::Timestamp::new(secs, nanos).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(data: &mut [u8], at: usize, next: u32, name: &str) {
        let mut e = next.to_le_bytes().to_vec();
        e.extend(0u16.to_le_bytes());
        e.extend((name.len() as u16).to_le_bytes());
        e.extend(name.encode_utf16().flat_map(u16::to_le_bytes));
        e.extend(0u16.to_le_bytes());
        data[at..at + e.len()].copy_from_slice(&e);
    }

    #[test]
    fn string_chains_that_loop_end_and_broken_ones_fail() {
        let mut data = vec![0u8; 1024];
        entry(&mut data, 600, 700, "A");
        entry(&mut data, 700, 600, "B");
        entry(&mut data, 800, 800, "C");
        data[128..132].copy_from_slice(&600u32.to_le_bytes());
        data[132..136].copy_from_slice(&800u32.to_le_bytes());
        assert!(strings_readable(&data));
        assert_eq!(name_at(&data, 700).as_deref(), Some("B"));
        // A link past the end of the chunk.
        data[700..704].copy_from_slice(&5000u32.to_le_bytes());
        assert!(!strings_readable(&data));
        // A lone surrogate in a name.
        entry(&mut data, 700, 0, "B");
        data[708..710].copy_from_slice(&0xD800u16.to_le_bytes());
        assert!(!strings_readable(&data));
    }

    #[test]
    fn record_times_the_crate_accepts() {
        assert!(timestamp_valid(0));
        assert!(timestamp_valid(133_000_000_000_000_000));
        assert!(!timestamp_valid(u64::MAX));
    }
}
