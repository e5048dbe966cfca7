//! One EVTX chunk (the input, cut or zero-padded to 64 KiB) through every
//! chunk extractor, called directly: a panic here is a bug even though the
//! pipeline would contain it to one chunk.
#![no_main]

use evidx_fuzz::{extractors, Checked};
use evidx_index::parse::evtx::{CHUNK_SIZE, FILE_HEADER_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut chunk = vec![0u8; CHUNK_SIZE];
    let n = data.len().min(CHUNK_SIZE);
    chunk[..n].copy_from_slice(&data[..n]);
    let offset = FILE_HEADER_SIZE as u64;
    for (_, extractor) in extractors() {
        let sink = Checked::within(offset..offset + CHUNK_SIZE as u64);
        extractor.extract(0, offset, &chunk, &sink);
    }
});
