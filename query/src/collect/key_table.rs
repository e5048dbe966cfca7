//! Group slots by key: a key is a fixed-width tuple of `u64` (term
//! ordinals or time buckets), stored flat in one arena, so finding a
//! document's group costs one hash of a few integers and no allocation.
//! When every key part is an ordinal of a small dictionary, the tuple is
//! used directly as an index into a dense array instead.

use hashbrown::HashTable;

/// Slot numbers are `u32`; a segment has fewer than 2^31 documents.
const EMPTY: u32 = u32::MAX;

/// Largest dense array (entries) before the hash table is used instead.
const MAX_DENSE: u64 = 1 << 20;

pub struct KeyTable {
    width: usize,
    /// Every key, `width` parts each, in slot order.
    keys: Vec<u64>,
    len: usize,
    index: Index,
}

enum Index {
    Hash(HashTable<u32>),
    /// `strides[i]` and the radix (`cardinality + 1`, the last value for
    /// "null") of each part; `slots[position]` is a slot or EMPTY.
    Dense {
        strides: Vec<u64>,
        radix: Vec<u64>,
        slots: Vec<u32>,
    },
}

/// FxHash-style mixing of the parts, then a final avalanche so the top
/// bits (which hashbrown uses for its control bytes) vary too.
fn hash_key(key: &[u64]) -> u64 {
    let mut h = 0u64;
    for &x in key {
        h = (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(0x9e_37_79_b9_7f_4a_7c_15);
    h ^ (h >> 29)
}

impl KeyTable {
    /// `cardinalities[i]`: the number of distinct non-null values of part
    /// `i` when they are ordinals `0..n` (and `u64::MAX` is null), or None
    /// when the part is unbounded (time).
    pub fn new(cardinalities: &[Option<u64>]) -> Self {
        let width = cardinalities.len();
        let mut size: u64 = 1;
        let mut dense = true;
        let mut radix = Vec::with_capacity(width);
        for c in cardinalities {
            match c {
                Some(n) => {
                    radix.push(n + 1);
                    size = size.saturating_mul(n + 1);
                }
                None => dense = false,
            }
        }
        let index = if dense && size <= MAX_DENSE {
            let mut strides = vec![1u64; width];
            for i in (0..width.saturating_sub(1)).rev() {
                strides[i] = strides[i + 1] * radix[i + 1];
            }
            Index::Dense {
                strides,
                radix,
                slots: vec![EMPTY; size as usize],
            }
        } else {
            Index::Hash(HashTable::new())
        };
        KeyTable {
            width,
            keys: Vec::new(),
            len: 0,
            index,
        }
    }

    /// Number of slots (distinct keys) so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// About how many bytes of heap the keys take (the dense array, fixed
    /// and at most 4 MiB, is not counted: emptying the table keeps it).
    pub fn heap_bytes(&self) -> usize {
        let index = match &self.index {
            // A slot number and a control byte per key.
            Index::Hash(_) => 5,
            Index::Dense { .. } => 0,
        };
        self.len * (self.width * 8 + index)
    }

    /// Forget every key (keeping the allocations, to fill again).
    pub fn clear(&mut self) {
        self.keys.clear();
        self.len = 0;
        match &mut self.index {
            Index::Hash(table) => table.clear(),
            Index::Dense { slots, .. } => slots.fill(EMPTY),
        }
    }

    /// The key of a slot.
    pub fn key(&self, slot: usize) -> &[u64] {
        &self.keys[slot * self.width..(slot + 1) * self.width]
    }

    /// The slot of `key` and whether it was just created.
    #[inline]
    pub fn slot(&mut self, key: &[u64]) -> (usize, bool) {
        let next = self.len() as u32;
        match &mut self.index {
            Index::Dense {
                strides,
                radix,
                slots,
            } => {
                let mut pos = 0u64;
                for ((&k, &s), &r) in key.iter().zip(strides.iter()).zip(radix.iter()) {
                    let part = if k == u64::MAX { r - 1 } else { k.min(r - 1) };
                    pos += part * s;
                }
                let entry = &mut slots[pos as usize];
                if *entry != EMPTY {
                    return (*entry as usize, false);
                }
                *entry = next;
                self.keys.extend_from_slice(key);
                self.len += 1;
                (next as usize, true)
            }
            Index::Hash(table) => {
                let width = self.width;
                let keys = &self.keys;
                let h = hash_key(key);
                let found = table
                    .find(h, |&s| {
                        &keys[s as usize * width..(s as usize + 1) * width] == key
                    })
                    .copied();
                if let Some(s) = found {
                    return (s as usize, false);
                }
                table.insert_unique(h, next, |&s| {
                    hash_key(&keys[s as usize * width..(s as usize + 1) * width])
                });
                self.keys.extend_from_slice(key);
                self.len += 1;
                (next as usize, true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cards: &[Option<u64>], keys: &[Vec<u64>]) {
        let mut t = KeyTable::new(cards);
        let mut seen: Vec<Vec<u64>> = Vec::new();
        for k in keys {
            let (slot, new) = t.slot(k);
            match seen.iter().position(|s| s == k) {
                Some(i) => assert_eq!((slot, new), (i, false)),
                None => {
                    assert_eq!((slot, new), (seen.len(), true));
                    seen.push(k.clone());
                }
            }
            assert_eq!(t.key(slot), &k[..]);
        }
        assert_eq!(t.len(), seen.len());
    }

    #[test]
    fn dense_and_hashed_agree() {
        let keys: Vec<Vec<u64>> = (0..500u64)
            .map(|i| vec![i % 7, if i % 11 == 0 { u64::MAX } else { i % 5 }])
            .collect();
        check(&[Some(7), Some(5)], &keys);
        check(&[None, Some(5)], &keys);
        check(&[Some(1 << 30), Some(1 << 30)], &keys);
    }

    #[test]
    fn a_cleared_table_starts_over() {
        for cards in [[Some(7), Some(5)], [None, Some(5)]] {
            let mut t = KeyTable::new(&cards);
            t.slot(&[1, 2]);
            t.slot(&[3, 4]);
            assert!(t.heap_bytes() >= 2 * 2 * 8);
            t.clear();
            assert_eq!((t.len(), t.heap_bytes()), (0, 0));
            assert_eq!(t.slot(&[3, 4]), (0, true));
            assert_eq!(t.slot(&[1, 2]), (1, true));
            assert_eq!(t.slot(&[3, 4]), (0, false));
        }
    }

    #[test]
    fn zero_width_key_is_one_group() {
        let mut t = KeyTable::new(&[]);
        assert_eq!(t.slot(&[]), (0, true));
        assert_eq!(t.slot(&[]), (0, false));
        assert_eq!(t.len(), 1);
    }
}
