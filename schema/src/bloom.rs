//! A blocked Bloom filter of 128-bit keys, kept in a file next to the index
//! (one per segment) and read through a memory map: the format of the
//! per-segment filters of event keys (the indexer's de-duplication) and of
//! the values of the trigram fields (the `value_filter` module, for the
//! query engine's lookups).
//!
//! An exact answer to "does this segment hold X" is a term lookup in one of
//! its dictionaries, which costs microseconds; the filter answers
//! "certainly not" for ~99% of absent keys with one cache line. It lives in
//! a file, so memory does not grow with the index: the kernel keeps the
//! pages it reads.
//!
//! Keys are uniform 128-bit hashes: the high 64 bits pick the 512-bit
//! block, the low 64 bits give the 7 bits to set in it. 12 bits per key
//! give ~1% false positives, each of them settled by the term lookup.

use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Deref;
use std::path::Path;

use memmap2::{Mmap, MmapMut};

const MAGIC: &[u8; 8] = b"EVXKEYS1";
const HEADER: usize = 24;
const BLOCK: usize = 64;
const BITS_PER_KEY: u64 = 12;
const BITS_SET: u32 = 7;

/// An open filter: its bytes, mapped from its file.
pub struct BloomFilter<B = Mmap> {
    map: B,
    blocks: u64,
}

impl BloomFilter {
    /// Write the filter of `keys` (`count` of them, or fewer) to `path`:
    /// built in a mapped temporary file then renamed, so a run killed
    /// meanwhile leaves no half-written filter, and no heap is used
    /// whatever the size of the segment.
    pub fn write(
        path: &Path,
        count: u64,
        keys: impl IntoIterator<Item = io::Result<u128>>,
    ) -> io::Result<()> {
        let blocks = (count * BITS_PER_KEY).div_ceil(BLOCK as u64 * 8).max(1);
        let tmp = path.with_extension("tmp");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let len = HEADER as u64 + blocks * BLOCK as u64;
        file.set_len(len)?;
        // SAFETY: the file was just created by this process (under the
        // index lock) and nothing else writes it while it is mapped.
        let mut map = unsafe { MmapMut::map_mut(&file)? };
        let mut n = 0u64;
        for key in keys {
            let key = key?;
            let (offset, mask) = probe(key, blocks);
            for (w, m) in mask.iter().enumerate() {
                let at = offset + w * 8;
                let word = read_u64(&map[at..]) | m;
                map[at..at + 8].copy_from_slice(&word.to_le_bytes());
            }
            n += 1;
        }
        map[..8].copy_from_slice(MAGIC);
        map[8..16].copy_from_slice(&n.to_le_bytes());
        map[16..24].copy_from_slice(&blocks.to_le_bytes());
        map.flush()?;
        drop(map);
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    }

    /// Write the filter of the terms of `dict` (a segment's dictionary of
    /// one field), each made a key by `key`, as [`BloomFilter::write`] does.
    pub fn write_terms(
        path: &Path,
        dict: &tantivy::termdict::TermDictionary,
        key: impl Fn(&[u8]) -> io::Result<u128>,
    ) -> io::Result<()> {
        let mut stream = dict.stream()?;
        let keys = std::iter::from_fn(move || stream.advance().then(|| key(stream.key())));
        BloomFilter::write(path, dict.num_terms() as u64, keys)
    }

    /// Open a filter written by [`BloomFilter::write`]; `None` when the
    /// file is missing or not a whole filter.
    pub fn open(path: &Path) -> Option<BloomFilter> {
        let file = File::open(path).ok()?;
        // SAFETY: filter files are written to a temporary name and renamed
        // into place complete; they are never modified afterwards, only
        // deleted (which leaves this mapping valid).
        let map = unsafe { Mmap::map(&file).ok()? };
        BloomFilter::from_bytes(map)
    }
}

impl<B: Deref<Target = [u8]>> BloomFilter<B> {
    /// The filter in `bytes` (a file written by [`BloomFilter::write`]);
    /// `None` when they are not a whole filter.
    pub fn from_bytes(map: B) -> Option<BloomFilter<B>> {
        if map.len() < HEADER || &map[..8] != MAGIC {
            return None;
        }
        let blocks = read_u64(&map[16..]);
        if blocks == 0 || (map.len() - HEADER) as u64 != blocks.checked_mul(BLOCK as u64)? {
            return None;
        }
        Some(BloomFilter { map, blocks })
    }

    /// False when `key` is certainly not in the segment.
    pub fn may_contain(&self, key: u128) -> bool {
        let (offset, mask) = probe(key, self.blocks);
        mask.iter()
            .enumerate()
            .all(|(w, m)| read_u64(&self.map[offset + w * 8..]) & m == *m)
    }
}

/// The byte offset of `key`'s block and the bits it sets in the block's
/// eight words.
fn probe(key: u128, blocks: u64) -> (usize, [u64; 8]) {
    let hi = (key >> 64) as u64;
    let lo = key as u64;
    let block = ((u128::from(hi) * u128::from(blocks)) >> 64) as usize;
    let mut mask = [0u64; 8];
    for i in 0..BITS_SET {
        let bit = (lo >> (9 * i)) & 511;
        mask[(bit / 64) as usize] |= 1 << (bit % 64);
    }
    (HEADER + block * BLOCK, mask)
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> u128 {
        xxhash_rust::xxh3::xxh3_128(&i.to_le_bytes())
    }

    #[test]
    fn every_written_key_is_found_and_few_others_are() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.keys");
        let n = 50_000;
        BloomFilter::write(&path, n, (0..n).map(|i| Ok(key(i)))).unwrap();
        let f = BloomFilter::open(&path).unwrap();
        assert!((0..n).all(|i| f.may_contain(key(i))));
        let false_positives = (n..2 * n).filter(|&i| f.may_contain(key(i))).count();
        // ~1% expected; 3% would mean a broken probe.
        assert!(false_positives < (n / 33) as usize, "{false_positives}");
        assert!(false_positives > 0, "a filter of this size has some");
    }

    #[test]
    fn a_truncated_or_foreign_file_is_not_a_filter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.keys");
        BloomFilter::write(&path, 10, (0..10).map(|i| Ok(key(i)))).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(BloomFilter::open(&path).is_none());
        std::fs::write(&path, b"not a filter at all, but long enough").unwrap();
        assert!(BloomFilter::open(&path).is_none());
        // An empty segment still makes a valid filter.
        BloomFilter::write(&path, 0, std::iter::empty()).unwrap();
        assert!(!BloomFilter::open(&path).unwrap().may_contain(key(1)));
    }
}
