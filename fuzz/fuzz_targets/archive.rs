//! A whole input file as the indexer reads it: the format is sniffed, and
//! zip, tar, gzip and zstd archives are walked member by member (nested),
//! down to the EVTX, JSON and XML readers of their members.
#![no_main]

use evidx_fuzz::{extractors, Checked};
use evidx_index::read::Reader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (_, extractor) = &extractors()[0];
    let target = Checked::default();
    Reader {
        extractor: extractor.as_ref(),
    }
    .read_mapped(data, &target);
});
