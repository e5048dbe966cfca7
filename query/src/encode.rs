//! Numbers and strings in the temporary files a search writes (spilled
//! group runs, `stats` runs): little-endian `u64`s, `f64`s by their bits,
//! strings as a `u64` length and their bytes; and text in keys that
//! compare as bytes ([`put_ordered`], read back by [`ordered_values`]).

use std::io::{self, Read, Write};

/// Longest string a temporary file may hold (a full command line from the
/// doc store is far below it): the file is this process's own, so a
/// length past it is damage, not data.
const MAX_STRING_BYTES: usize = 1 << 30;

pub fn put_u64(out: &mut impl Write, v: u64) -> io::Result<()> {
    out.write_all(&v.to_le_bytes())
}

pub fn get_u64(input: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    input.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

pub fn put_f64(out: &mut impl Write, x: f64) -> io::Result<()> {
    put_u64(out, x.to_bits())
}

pub fn get_f64(input: &mut impl Read) -> io::Result<f64> {
    Ok(f64::from_bits(get_u64(input)?))
}

pub fn put_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    put_bytes(out, s.as_bytes())
}

/// Bytes as a `u64` length and the bytes (a string's layout).
pub fn put_bytes(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    put_u64(out, bytes.len() as u64)?;
    out.write_all(bytes)
}

/// A length written by [`put_bytes`], checked against
/// [`MAX_STRING_BYTES`].
fn get_len(input: &mut impl Read) -> io::Result<usize> {
    usize::try_from(get_u64(input)?)
        .ok()
        .filter(|&n| n <= MAX_STRING_BYTES)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "a temporary file's string is too long",
            )
        })
}

pub fn get_str(input: &mut impl Read) -> io::Result<String> {
    String::from_utf8(get_bytes(input)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Bytes written by [`put_bytes`].
pub fn get_bytes(input: &mut impl Read) -> io::Result<Vec<u8>> {
    // Sized once and filled exactly (no growth, no probe for the end).
    let mut bytes = vec![0; get_len(input)?];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Append `value` to a key so that keys compare, as bytes, in the order of
/// their values field by field: the value's bytes with each 0 written as
/// 0 1, then 0 0 (which sorts before any byte that may follow a prefix).
/// One allocation and one `memcmp` per key, where a key of separate
/// strings took one allocation per field (spilled group keys, sort keys).
pub fn put_ordered(key: &mut Vec<u8>, value: &str) {
    let mut rest = value.as_bytes();
    // Most values have no 0: a test of every byte, which compiles to
    // vector compares, costs less than `memchr`'s set-up on short values.
    if rest.iter().fold(false, |any, &b| any | (b == 0)) {
        while let Some(at) = memchr::memchr(0, rest) {
            key.extend_from_slice(&rest[..=at]);
            key.push(1);
            rest = &rest[at + 1..];
        }
    }
    key.extend_from_slice(rest);
    key.extend_from_slice(&[0, 0]);
}

/// The `width` values of a key made by [`put_ordered`], each given to
/// `take` with its position; None for a key that is not one.
pub fn ordered_values(key: &[u8], width: usize, mut take: impl FnMut(usize, &str)) -> Option<()> {
    // One scan for the 0 bytes of the whole key: a 0 is followed by 0
    // (the value's end) or 1 (a 0 inside it).
    let mut zeros = memchr::memchr_iter(0, key);
    let mut start = 0;
    let mut bytes = Vec::new();
    for i in 0..width {
        let mut inner = false;
        let end = loop {
            let at = zeros.next()?;
            match key.get(at + 1)? {
                0 => {
                    zeros.next();
                    break at;
                }
                1 => inner = true,
                _ => return None,
            }
        };
        let mut value = &key[start..end];
        start = end + 2;
        if inner {
            bytes.clear();
            let mut rest = value;
            while let Some(at) = memchr::memchr(0, rest) {
                bytes.extend_from_slice(&rest[..=at]);
                rest = &rest[at + 2..];
            }
            bytes.extend_from_slice(rest);
            value = &bytes;
        }
        take(i, std::str::from_utf8(value).ok()?);
    }
    (start == key.len()).then_some(())
}

/// The key [`put_ordered`] makes of `values` (for tests).
#[cfg(test)]
pub(crate) fn ordered_key(values: &[&str]) -> Vec<u8> {
    let mut k = Vec::new();
    values.iter().for_each(|v| put_ordered(&mut k, v));
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::ordered_key as key;

    #[test]
    fn keys_sort_as_their_values_field_by_field() {
        let tuples: Vec<Vec<&str>> = vec![
            vec!["", ""],
            vec!["", "a"],
            vec!["a", ""],
            vec!["a", "z"],
            vec!["a\0", ""],
            vec!["a\0b", "c"],
            vec!["a\x01", ""],
            vec!["ab", "a"],
            vec!["b\0\0", "\0"],
            vec!["é", "x"],
        ];
        for a in &tuples {
            for b in &tuples {
                assert_eq!(key(a).cmp(&key(b)), a.cmp(b), "{a:?} against {b:?}");
            }
            let mut back = vec![String::new(); a.len()];
            let found = ordered_values(&key(a), a.len(), |i, v| back[i] = v.to_string());
            assert_eq!(found, Some(()));
            assert_eq!(&back, a);
        }
        // A key cut short, or with a stray marker, is refused.
        let k = key(&["ab", "c"]);
        assert_eq!(ordered_values(&k[..k.len() - 1], 2, |_, _| ()), None);
        assert_eq!(ordered_values(&k, 1, |_, _| ()), None);
        assert_eq!(ordered_values(b"a\0\x07b\0\0", 1, |_, _| ()), None);
    }
}
