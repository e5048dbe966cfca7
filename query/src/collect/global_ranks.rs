//! One order for a by-field's values across segments.
//!
//! Each segment holds a by-field's values sorted as bytes, numbered by
//! their place there. A k-way merge of those lists gives every value its
//! rank among the values of all segments, equal bytes one rank. The merge
//! of the segments' groups then compares a rank per field instead of the
//! values' bytes: a group is compared several times (log k in a heap of k
//! segments), a value is ranked once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A segment's values of one field, sorted as bytes.
pub(super) trait SortedValues: Sync {
    /// How many values there are.
    fn count(&self) -> usize;
    /// Value `i`, `i < count()`.
    fn value(&self, i: usize) -> &[u8];
}

/// The ranks of one field's values: `segments[s][i]` is the rank of
/// value `i` of segment `s`, `extras[j]` the rank of extra value `j`.
pub(super) struct FieldRanks {
    pub segments: Vec<Vec<u32>>,
    pub extras: Vec<u32>,
}

/// Rank the values of `segments` and `extras` (values no segment needs
/// to hold, such as a group-by's fill value) together; None when there
/// are too many to rank in a `u32`, or a segment's values are not sorted
/// (a damaged dictionary: the caller compares bytes instead).
pub(super) fn rank(segments: &[&dyn SortedValues], extras: &[&[u8]]) -> Option<FieldRanks> {
    let total: usize = segments.iter().map(|s| s.count()).sum::<usize>() + extras.len();
    if total >= u32::MAX as usize {
        return None;
    }
    let mut ranks: Vec<Vec<u32>> = segments.iter().map(|s| vec![0; s.count()]).collect();
    let mut extra_ranks = vec![0; extras.len()];
    // Extra value `j` is at `(segments.len() + j, 0)`.
    let value = |s: usize, i: usize| match segments.get(s) {
        Some(seg) => seg.value(i),
        None => extras[s - segments.len()],
    };
    let mut heap: BinaryHeap<Reverse<(&[u8], usize, usize)>> = (0..segments.len() + extras.len())
        .filter(|&s| segments.get(s).is_none_or(|seg| seg.count() > 0))
        .map(|s| Reverse((value(s, 0), s, 0)))
        .collect();
    let (mut rank, mut last): (u32, Option<&[u8]>) = (0, None);
    while let Some(Reverse((bytes, s, i))) = heap.pop() {
        match last {
            Some(prev) if prev == bytes => {}
            Some(prev) if prev > bytes => return None,
            Some(_) => rank += 1,
            None => {}
        }
        last = Some(bytes);
        match ranks.get_mut(s) {
            Some(seg) => {
                seg[i] = rank;
                if i + 1 < seg.len() {
                    heap.push(Reverse((value(s, i + 1), s, i + 1)));
                }
            }
            None => extra_ranks[s - segments.len()] = rank,
        }
    }
    Some(FieldRanks {
        segments: ranks,
        extras: extra_ranks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sorted(Vec<&'static str>);

    impl SortedValues for Sorted {
        fn count(&self) -> usize {
            self.0.len()
        }
        fn value(&self, i: usize) -> &[u8] {
            self.0[i].as_bytes()
        }
    }

    #[test]
    fn equal_values_share_a_rank_and_ranks_follow_the_bytes() {
        let a = Sorted(vec!["B", "a", "cmd.exe", "z"]);
        let b = Sorted(vec![]);
        let c = Sorted(vec!["a", "b", "cmd.exe"]);
        let ranks = rank(&[&a, &b, &c], &[b"unknown", b""]).unwrap();
        assert_eq!(
            ranks.segments,
            vec![vec![1, 2, 4, 6], vec![], vec![2, 3, 4]]
        );
        assert_eq!(ranks.extras, vec![5, 0]);
        // An extra value equal to a segment's value takes its rank.
        let ranks = rank(&[&a, &c], &[b"b"]).unwrap();
        assert_eq!(ranks.extras, vec![ranks.segments[1][1]]);
        assert_eq!(ranks.segments[0], vec![0, 1, 3, 4]);
    }

    #[test]
    fn values_out_of_order_are_not_ranked() {
        let a = Sorted(vec!["b", "a"]);
        assert!(rank(&[&a], &[b""]).is_none());
    }
}
