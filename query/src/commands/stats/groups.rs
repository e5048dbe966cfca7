//! The groups of a `stats` or `eventstats`: found by hashing a row's
//! by-values where they lie in the row (no string is copied for a group
//! that exists), and ordered only when they are written out. They were
//! held in a B-tree whose every comparison parsed both values as numbers
//! (Splunk's order): most of the time of a `stats` by four fields.

use std::hash::BuildHasher;

use super::num_first;
use crate::commands::columns::cell_at;
use crate::num::parse_num;
use crate::table::Cell;

/// Groups in the order they were first seen, with a state `V` each.
pub(super) struct GroupTable<V> {
    hasher: hashbrown::DefaultHashBuilder,
    index: hashbrown::HashTable<usize>,
    entries: Vec<(Vec<String>, V)>,
}

impl<V> Default for GroupTable<V> {
    fn default() -> Self {
        GroupTable {
            hasher: Default::default(),
            index: hashbrown::HashTable::new(),
            entries: Vec::new(),
        }
    }
}

impl<V> GroupTable<V> {
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The state of group `key`, made by `fresh` if it is new (and then
    /// `true`).
    pub(super) fn get_or_insert(
        &mut self,
        key: &[&str],
        fresh: impl FnOnce() -> V,
    ) -> (&mut V, bool) {
        let (hasher, entries) = (&self.hasher, &self.entries);
        // `[&str]` and `[String]` hash alike.
        let hash = hasher.hash_one(key);
        let found = self
            .index
            .find(hash, |&i| entries[i].0.iter().eq(key.iter().copied()))
            .copied();
        let (i, new) = match found {
            Some(i) => (i, false),
            None => {
                let i = entries.len();
                self.index
                    .insert_unique(hash, i, |&j| hasher.hash_one(self.entries[j].0.as_slice()));
                self.entries
                    .push((key.iter().map(|s| s.to_string()).collect(), fresh()));
                (i, true)
            }
        };
        (&mut self.entries[i].1, new)
    }

    /// The same groups, each state mapped by `f`.
    pub(super) fn map<W>(self, mut f: impl FnMut(V) -> W) -> GroupTable<W> {
        GroupTable {
            hasher: self.hasher,
            index: self.index,
            entries: self.entries.into_iter().map(|(k, v)| (k, f(v))).collect(),
        }
    }

    /// The state of group `key`, if it exists.
    pub(super) fn get(&self, key: &[&str]) -> Option<&V> {
        let hash = self.hasher.hash_one(key);
        self.index
            .find(hash, |&i| self.entries[i].0.iter().eq(key.iter().copied()))
            .map(|&i| &self.entries[i].1)
    }

    /// Every group with its state, in by-value order (Splunk's: numbers
    /// numerically and before text, field by field).
    pub(super) fn into_sorted(self) -> Vec<(Vec<String>, V)> {
        // Each value parsed once, not at each comparison.
        let nums: Vec<Vec<Option<f64>>> = self
            .entries
            .iter()
            .map(|(k, _)| k.iter().map(|v| parse_num(v)).collect())
            .collect();
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            let (ka, kb) = (&self.entries[a].0, &self.entries[b].0);
            ka.iter()
                .zip(kb)
                .zip(nums[a].iter().zip(&nums[b]))
                .map(|((x, y), (nx, ny))| num_first(*nx, *ny).then_with(|| x.cmp(y)))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| ka.len().cmp(&kb.len()))
        });
        let mut entries: Vec<Option<(Vec<String>, V)>> =
            self.entries.into_iter().map(Some).collect();
        order
            .into_iter()
            .filter_map(|i| entries[i].take())
            .collect()
    }
}

/// Call `each` with every group key of a row: one value of each by-field,
/// every combination of a multivalue field's distinct values; none when
/// a by-field is null.
pub(super) fn each_key<'r>(
    row: &'r [Cell],
    by: &[Option<usize>],
    key: &mut Vec<&'r str>,
    each: &mut dyn FnMut(&[&'r str]),
) {
    let Some((&col, rest)) = by.split_first() else {
        each(key);
        return;
    };
    let values = cell_at(row, col);
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            continue;
        }
        key.push(v);
        each_key(row, rest, key, each);
        key.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_found_again_and_sorted_numbers_first() {
        let mut t: GroupTable<u32> = GroupTable::default();
        for key in [
            ["b", "10"],
            ["a", "9"],
            ["b", "9.0"],
            ["b", "10"],
            ["b", "x"],
            ["b", "9"],
        ] {
            *t.get_or_insert(&key, || 0).0 += 1;
        }
        assert_eq!(t.get(&["b", "10"]), Some(&2));
        assert_eq!(t.get(&["b", "1"]), None);
        let sorted: Vec<(Vec<String>, u32)> = t.into_sorted();
        let keys: Vec<String> = sorted.iter().map(|(k, _)| k.join(",")).collect();
        // 9 and 9.0 are equal numbers: their text breaks the tie.
        assert_eq!(keys, ["a,9", "b,9", "b,9.0", "b,10", "b,x"]);
    }

    #[test]
    fn a_multivalue_field_gives_each_distinct_value_a_key() {
        let row = vec![
            Cell(vec!["h".into()]),
            Cell(vec!["u1".into(), "u2".into(), "u1".into()]),
            Cell(Vec::new()),
        ];
        let mut got = Vec::new();
        each_key(&row, &[Some(0), Some(1)], &mut Vec::new(), &mut |k| {
            got.push(k.join(","))
        });
        assert_eq!(got, ["h,u1", "h,u2"]);
        got.clear();
        each_key(&row, &[Some(0), Some(2)], &mut Vec::new(), &mut |k| {
            got.push(k.join(","))
        });
        assert!(got.is_empty(), "a null by-field puts the row in no group");
    }
}
