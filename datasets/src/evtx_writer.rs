//! EVTX files: a 4 KiB file header (written last, once the chunk count and next record id are
//! known) followed by 64 KiB chunks built by `binxml::ChunkBuilder`. Streams chunk by chunk, so
//! memory stays at one chunk per open file.

use crate::binxml::{ChunkBuilder, CHUNK_SIZE};
use crate::error::{Error, Result};
use crate::model::Event;
use crate::sink::Sink;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// File header block size.
pub const FILE_HEADER_SIZE: usize = 4096;

/// Builds the 4 KiB file header with its CRC32.
pub fn file_header(chunk_count: u16, next_record_id: u64) -> [u8; FILE_HEADER_SIZE] {
    let mut h = [0u8; FILE_HEADER_SIZE];
    h[0..8].copy_from_slice(b"ElfFile\0");
    h[8..16].copy_from_slice(&0u64.to_le_bytes());
    let last = u64::from(chunk_count.saturating_sub(1));
    h[16..24].copy_from_slice(&last.to_le_bytes());
    h[24..32].copy_from_slice(&next_record_id.to_le_bytes());
    h[32..36].copy_from_slice(&128u32.to_le_bytes());
    h[36..38].copy_from_slice(&1u16.to_le_bytes());
    h[38..40].copy_from_slice(&3u16.to_le_bytes());
    h[40..42].copy_from_slice(&(FILE_HEADER_SIZE as u16).to_le_bytes());
    h[42..44].copy_from_slice(&chunk_count.to_le_bytes());
    h[120..124].copy_from_slice(&0u32.to_le_bytes());
    let crc = crc32fast::hash(&h[..120]);
    h[124..128].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Streaming EVTX writer.
pub struct EvtxSink {
    out: BufWriter<File>,
    path: PathBuf,
    chunk: ChunkBuilder,
    chunks: u32,
    next_record_id: u64,
    bytes: u64,
}

impl EvtxSink {
    /// Creates `path` and reserves the header block.
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        out.write_all(&[0u8; FILE_HEADER_SIZE])
            .map_err(|e| Error::io(path, e))?;
        Ok(EvtxSink {
            out,
            path: path.to_path_buf(),
            chunk: ChunkBuilder::new(),
            chunks: 0,
            next_record_id: 1,
            bytes: FILE_HEADER_SIZE as u64,
        })
    }

    fn flush_chunk(&mut self) -> Result<()> {
        if self.chunks >= u32::from(u16::MAX) {
            return Err(Error::TooManyChunks(self.path.clone()));
        }
        let data = self.chunk.finish();
        self.out
            .write_all(data)
            .map_err(|e| Error::io(&self.path, e))?;
        self.chunks += 1;
        self.bytes += CHUNK_SIZE as u64;
        self.chunk.clear();
        Ok(())
    }
}

impl Sink for EvtxSink {
    fn write(&mut self, ev: &Event) -> Result<()> {
        if self.chunk.add(ev).is_err() {
            if self.chunk.records() == 0 {
                return Err(Error::RecordTooLarge {
                    record_id: ev.record_id,
                    size: CHUNK_SIZE,
                });
            }
            self.flush_chunk()?;
            if let Err(full) = self.chunk.add(ev) {
                return Err(Error::RecordTooLarge {
                    record_id: ev.record_id,
                    size: full.needed,
                });
            }
        }
        self.next_record_id = ev.record_id + 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64> {
        if self.chunk.records() > 0 {
            self.flush_chunk()?;
        }
        let header = file_header(self.chunks as u16, self.next_record_id);
        let path = self.path.clone();
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&header))
            .and_then(|_| file.flush())
            .map_err(|e| Error::io(&path, e))?;
        Ok(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let h = file_header(3, 42);
        assert_eq!(&h[0..8], b"ElfFile\0");
        assert_eq!(u16::from_le_bytes([h[42], h[43]]), 3);
        assert_eq!(u64::from_le_bytes(h[24..32].try_into().unwrap()), 42);
        assert_eq!(
            u32::from_le_bytes(h[124..128].try_into().unwrap()),
            crc32fast::hash(&h[..120])
        );
    }
}
