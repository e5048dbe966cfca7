//! The text readers: NDJSON and XML lines, and JSON documents. The first
//! byte picks the reader, the rest is its input.
#![no_main]

use evidx_fuzz::Checked;
use evidx_index::parse::text::{is_ndjson, process_json_document, process_lines, LineFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, text)) = data.split_first() else {
        return;
    };
    let len = text.len() as u64;
    // Line readers locate events and skips by the offset of their line.
    let sink = Checked::within(0..len.max(1));
    match mode % 3 {
        0 => process_lines(LineFormat::Json, text, 0, 1, &sink),
        1 => process_lines(LineFormat::Xml, text, 0, 1, &sink),
        _ => {
            let _ = is_ndjson(text);
            // A document's events are located by their index in it.
            let sink = Checked::default();
            process_json_document(serde_json::de::SliceRead::new(text), &sink);
        }
    }
});
