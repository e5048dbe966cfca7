//! Read: bytes of an input -> the parser of its format, in two jobs kept
//! apart so that each can change without the other:
//!
//! - `archive.rs` walks an input down to its units: it recognises formats by
//!   content ([`crate::parse::sniff`], never by name), streams `.gz`, `.zst`,
//!   `.zip` and `.tar[.gz]` member by member (never unpacked to disk, nested
//!   up to a depth), and begins one [`Unit`] per file or member.
//! - `frame.rs` cuts the bytes of one unit into parse units: EVTX chunks and
//!   blocks of whole lines, in parallel, from a memory map or in bounded
//!   memory from a stream.
//! - `mapped.rs` maps an input file, and keeps a file that another process
//!   cuts short while it is read from killing the run (SIGBUS).
//!
//! This file holds what they share with the pipeline: the [`Reader`] and
//! the [`Target`] / [`Unit`] seam that receives what is read.

mod archive;
mod frame;
pub mod mapped;

use crate::parse::evtx::ChunkExtractor;
use crate::parse::{Format, Sink};

/// Receives one unit of input (a file, or a member of an archive).
pub trait Target: Sync {
    /// A unit starts: the file itself (`member` None) or an archive member.
    fn begin(&self, member: Option<&str>, format: Option<Format>) -> Box<dyn Unit + '_>;
}

/// The sink of one unit; `finish` gets the unit's (decompressed) size.
pub trait Unit: Sink {
    fn finish(self: Box<Self>, bytes: u64);
}

/// Reads inputs with a given EVTX chunk extractor (`read_mapped`, in
/// `archive.rs`).
pub struct Reader<'e> {
    pub extractor: &'e dyn ChunkExtractor,
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::event::{Origin, RawEvent};
    use crate::parse::evtx::{CHUNK_SIZE, FILE_HEADER_SIZE, MAGIC};
    use crate::parse::Skip;

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
