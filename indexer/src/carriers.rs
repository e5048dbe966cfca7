//! Gram carriers: which document carries the trigrams of a value.
//!
//! A `*text*` glob finds the *values* that match through the trigram
//! field, then every document holding them through the exact term field
//! (see `evidx_schema::grams`). So the trigrams of a value need to be
//! indexed in one document only, not in every document that repeats it
//! (command lines repeat: services, scheduled tasks, the same script on a
//! thousand hosts), which is most of the cost of a trigram index.
//!
//! [`Carriers`] remembers the values recently given grams, in a fixed-size
//! direct-mapped table of 128-bit hashes: memory is bounded whatever the
//! archive. Forgetting a value only makes a second carrier, never none, so
//! every distinct value keeps at least one carrier.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Mutex;

/// Slots per shard, and shards (locks) of the table: 2^20 slots, 16 MiB.
const SLOTS: usize = 1 << 16;
const SHARDS: usize = 16;

pub struct Carriers {
    shards: Vec<Mutex<Vec<u128>>>,
    keys: (
        std::collections::hash_map::RandomState,
        std::collections::hash_map::RandomState,
    ),
}

impl Default for Carriers {
    fn default() -> Self {
        Carriers {
            shards: (0..SHARDS).map(|_| Mutex::new(vec![0; SLOTS])).collect(),
            keys: Default::default(),
        }
    }
}

impl Carriers {
    /// True when the document holding `folded` (the case-folded value of
    /// CIM field `field`) is to carry its grams: the value was not seen
    /// recently.
    pub fn first_sight(&self, field: usize, folded: &str) -> bool {
        let half = |state: &std::collections::hash_map::RandomState| {
            let mut h = state.build_hasher();
            field.hash(&mut h);
            folded.hash(&mut h);
            h.finish()
        };
        let (a, b) = (half(&self.keys.0), half(&self.keys.1));
        // 0 marks an empty slot.
        let key = ((u128::from(a) << 64) | u128::from(b)).max(1);
        let shard = (a as usize) % SHARDS;
        let slot = (b as usize) % SLOTS;
        let mut table = self.shards[shard].lock().unwrap_or_else(|p| p.into_inner());
        if table[slot] == key {
            false
        } else {
            table[slot] = key;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_gets_a_carrier_once_while_remembered() {
        let c = Carriers::default();
        assert!(c.first_sight(2, "cmd.exe /c dir"));
        assert!(!c.first_sight(2, "cmd.exe /c dir"));
        assert!(c.first_sight(6, "cmd.exe /c dir"), "another field");
        assert!(c.first_sight(2, "cmd.exe /c dir2"));
    }

    #[test]
    fn every_value_has_a_carrier_even_when_forgotten() {
        // More distinct values than slots: some are forgotten and carried
        // again, none is never carried.
        let c = Carriers::default();
        let mut carried = std::collections::HashSet::new();
        for round in 0..2 {
            for i in 0..(SLOTS * SHARDS + 5000) {
                let v = format!("value {i}");
                if c.first_sight(0, &v) {
                    carried.insert(v);
                } else {
                    assert!(round == 1 || carried.contains(&v));
                }
            }
        }
        assert_eq!(carried.len(), SLOTS * SHARDS + 5000);
    }
}
