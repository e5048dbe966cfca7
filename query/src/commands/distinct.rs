//! The distinct values of a field that a group gathers (`values`, `dc`, a
//! transaction's fields), in byte order.
//!
//! Most groups hold one value or a few: a `stats ... by` four fields after
//! a `tstats` by the same four has one row per group. A B-tree's first node
//! is about three hundred bytes, ten times a short value, so a few values
//! are kept in a sorted vector (room for exactly what they hold), and only
//! a group that gathers many gets the tree (a vector's insertions would
//! then move more than they save).

use std::collections::BTreeSet;

/// Distinct values past which the vector becomes a tree.
const FEW: usize = 32;

#[derive(Debug, Clone)]
pub enum Distinct {
    Few(Vec<String>),
    Many(BTreeSet<String>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Few(Vec::new())
    }
}

impl Distinct {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `v` unless it is there; true when it was added (and copied).
    pub fn insert(&mut self, v: &str) -> bool {
        match self {
            Distinct::Few(few) => {
                let Err(at) = few.binary_search_by(|x| x.as_str().cmp(v)) else {
                    return false;
                };
                // Most hold one value: no room for four.
                few.reserve_exact(1);
                few.insert(at, v.to_owned());
                if few.len() > FEW {
                    *self = Distinct::Many(std::mem::take(few).into_iter().collect());
                }
                true
            }
            Distinct::Many(set) => !set.contains(v) && set.insert(v.to_owned()),
        }
    }

    /// Add every value of `other`.
    pub fn extend(&mut self, other: Distinct) {
        if self.is_empty() {
            *self = other;
            return;
        }
        match other {
            Distinct::Few(values) => values.iter().for_each(|v| {
                self.insert(v);
            }),
            Distinct::Many(set) => {
                let mut all = match std::mem::take(self) {
                    Distinct::Few(few) => few.into_iter().collect(),
                    Distinct::Many(all) => all,
                };
                all.extend(set);
                *self = Distinct::Many(all);
            }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Distinct::Few(few) => few.len(),
            Distinct::Many(set) => set.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values in byte order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = &String> + '_> {
        match self {
            Distinct::Few(few) => Box::new(few.iter()),
            Distinct::Many(set) => Box::new(set.iter()),
        }
    }

    /// The values in byte order.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Distinct::Few(few) => few,
            Distinct::Many(set) => set.into_iter().collect(),
        }
    }
}

/// Equal when they hold the same values, vector or tree.
impl PartialEq for Distinct {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl FromIterator<String> for Distinct {
    fn from_iter<I: IntoIterator<Item = String>>(values: I) -> Self {
        let mut d = Distinct::new();
        values.into_iter().for_each(|v| {
            d.insert(&v);
        });
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the order values come in, and past the change from vector
    /// to tree, the values are a sorted set's; so are two merged.
    #[test]
    fn holds_a_sorted_sets_values() {
        for n in [0usize, 1, 2, FEW, FEW + 1, 200] {
            let values: Vec<String> = (0..3 * n)
                .map(|i| format!("v{}", (i * 7919) % (n + 1)))
                .collect();
            let mut d = Distinct::new();
            let mut set = BTreeSet::new();
            for v in &values {
                assert_eq!(d.insert(v), set.insert(v.clone()), "{v}");
            }
            assert_eq!(d.len(), set.len());
            assert_eq!(matches!(d, Distinct::Many(_)), set.len() > FEW, "{n}");
            assert!(d.iter().eq(set.iter()));
            for m in [0usize, 3, 100] {
                let other: Distinct = (0..m).map(|i| format!("w{i}")).collect();
                let mut merged = d.clone();
                merged.extend(other.clone());
                let mut want = set.clone();
                want.extend(other.into_vec());
                assert_eq!(merged.into_vec(), want.into_iter().collect::<Vec<_>>());
            }
            let tree = Distinct::Many(set.clone());
            assert_eq!(d, tree, "a vector and a tree of the same values are equal");
            assert_eq!(d.into_vec(), set.into_iter().collect::<Vec<_>>());
        }
    }
}
