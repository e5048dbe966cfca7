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
    if bytes.chunks_exact(2).all(|u| u[1] == 0 && u[0] < 0x80) {
        out.reserve(bytes.len() / 2);
        for &b in bytes.iter().step_by(2) {
            out.push(char::from(b));
        }
        return;
    }
    out.extend(char::decode_utf16(units(bytes)).map(|c| c.unwrap_or('\u{FFFD}')));
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
}
