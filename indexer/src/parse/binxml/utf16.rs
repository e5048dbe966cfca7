//! UTF-16LE text as the `evtx` crate renders it: values and literal text
//! stop at the first NUL unit, and an unpaired surrogate becomes U+FFFD
//! (names, which it decodes strictly, make the chunk unreadable instead).

/// The bytes of the code units before the first NUL unit (an odd last byte
/// is left out).
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    let units = bytes.len() / 2;
    let n = (0..units)
        .find(|&i| bytes[2 * i] == 0 && bytes[2 * i + 1] == 0)
        .unwrap_or(units);
    &bytes[..2 * n]
}

fn units(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .map(|u| u16::from_le_bytes([u[0], u[1]]))
}

/// Appends `bytes` (whole code units), unpaired surrogates as U+FFFD.
pub fn push_lossy(bytes: &[u8], out: &mut String) {
    // Event text is mostly ASCII: narrowed 32 units at a time, each block
    // checked in the same loop (which the compiler vectorizes); from the
    // first block that is not ASCII on, decoded unit by unit.
    const BLOCK: usize = 32;
    out.reserve(bytes.len() / 2);
    let mut rest = bytes;
    let mut narrow = [0u8; BLOCK];
    while rest.len() >= 2 {
        let n = (rest.len() / 2).min(BLOCK);
        let (block, tail) = rest.split_at(2 * n);
        let mut high = 0u8;
        for (d, u) in narrow.iter_mut().zip(block.chunks_exact(2)) {
            *d = u[0];
            high |= u[1] | (u[0] & 0x80);
        }
        if high != 0 {
            break;
        }
        match std::str::from_utf8(&narrow[..n]) {
            Ok(ascii) => out.push_str(ascii),
            Err(_) => break,
        }
        rest = tail;
    }
    out.extend(char::decode_utf16(units(rest)).map(|c| c.unwrap_or('\u{FFFD}')));
}

/// `bytes` decoded, or None when a surrogate is unpaired.
pub fn decode_strict(bytes: &[u8]) -> Option<String> {
    char::decode_utf16(units(bytes))
        .collect::<Result<String, _>>()
        .ok()
}

/// Whether `bytes` decode: no surrogate is unpaired.
pub fn is_valid(bytes: &[u8]) -> bool {
    char::decode_utf16(units(bytes)).all(|c| c.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(units: &[u16]) -> Vec<u8> {
        units.iter().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn stops_at_nul_and_replaces_lone_surrogates() {
        let b = le(&[0x61, 0xD83D, 0xDE00, 0xD800, 0x62, 0, 0x63]);
        let text = until_nul(&b);
        assert_eq!(text.len(), 10);
        let mut s = String::new();
        push_lossy(text, &mut s);
        assert_eq!(s, "a\u{1F600}\u{FFFD}b");
        assert_eq!(decode_strict(text), None);
        assert!(!is_valid(text) && is_valid(&le(&[0xD83D, 0xDE00])));
        assert_eq!(decode_strict(&le(&[0x61, 0xe9])).as_deref(), Some("aé"));
        let mut ascii = String::new();
        push_lossy(&le(&[0x41, 0x42]), &mut ascii);
        assert_eq!(ascii, "AB");
        assert_eq!(until_nul(&[0x41, 0, 0x42]), &[0x41, 0]);
    }

    #[test]
    fn long_text_decodes_as_the_standard_library_does() {
        // ASCII blocks, then non-ASCII (a pair split across a block's end,
        // a lone surrogate), then ASCII again; and an odd last byte.
        let mut text: Vec<u16> = "C:\\Windows\\System32\\cmd.exe /c echo "
            .encode_utf16()
            .collect();
        text.truncate(31);
        text.extend([0xD83D, 0xDE00, 0xDC00]);
        text.extend("é and more ASCII text, long enough for another block".encode_utf16());
        for cut in 0..text.len() {
            let mut b = le(&text[..cut]);
            let expected: String = char::decode_utf16(text[..cut].iter().copied())
                .map(|c| c.unwrap_or('\u{FFFD}'))
                .collect();
            let mut s = String::from("x");
            push_lossy(&b, &mut s);
            assert_eq!(s, format!("x{expected}"), "cut at {cut}");
            b.push(0x41);
            let mut odd = String::new();
            push_lossy(&b, &mut odd);
            assert_eq!(odd, expected, "odd byte after {cut}");
        }
    }
}
