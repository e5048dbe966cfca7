//! Little-endian reads at a byte offset, `None` past the end: every length
//! in a chunk is checked against the chunk before it is used.

pub fn u8_at(d: &[u8], at: usize) -> Option<u8> {
    d.get(at).copied()
}

pub fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes(d, at)?))
}

pub fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes(d, at)?))
}

pub fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes(d, at)?))
}

/// `N` bytes at `at`.
pub fn bytes<const N: usize>(d: &[u8], at: usize) -> Option<[u8; N]> {
    d.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// `len` bytes at `at`.
pub fn slice(d: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    d.get(at..at.checked_add(len)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end() {
        let d = [1, 2, 3, 4, 5];
        assert_eq!(u16_at(&d, 0), Some(0x0201));
        assert_eq!(u32_at(&d, 1), Some(0x05040302));
        assert_eq!(u32_at(&d, 2), None);
        assert_eq!(u64_at(&d, 0), None);
        assert_eq!(slice(&d, 3, 2), Some(&d[3..]));
        assert_eq!(slice(&d, usize::MAX, 2), None);
    }
}
