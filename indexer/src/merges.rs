//! Which segments merge: into segments of a bounded size.
//!
//! tantivy's default policy merges segments by levels with no upper bound
//! (up to 10 M documents), so the largest segment and a merge's memory grow
//! with the archive. Here segments under half the target are merged,
//! smallest first, into segments of at most [`TARGET_DOCS`] documents;
//! larger archives get more segments of the same size instead of larger
//! ones, as Lucene's tiered policy caps its segments.
//!
//! The target weighs a search against a merge. A search pays a fixed cost
//! per segment, whatever its size (dictionary lookups, columns opened:
//! about 1.5 ms of the seed detection's time at 2^18 documents), while a
//! merge rewrites its documents once. At 2^18 the segments the writer
//! flushes (about 145 K documents each with the default `--memory`) never
//! merged: 10 segments at 8 GiB, and a hunt's cost followed the archive.
//! At 2^20 they merge about four at a time (about 15% more indexing CPU):
//! 2 segments at 8 GiB. A search's memory does not follow the size of a
//! segment (its group table is emptied into the merge past a budget).

use tantivy::index::{SegmentId, SegmentMeta};
use tantivy::indexer::{MergeCandidate, MergePolicy};

/// Documents in a merged segment, at most.
pub const TARGET_DOCS: u32 = 1 << 20;

/// Fewest small segments worth one merge (each merge rewrites its
/// documents), as tantivy's default; fewer merge once they hold half a
/// target.
const MIN_MERGE: usize = 8;

#[derive(Debug, Clone)]
pub struct BoundedMerges {
    target: u32,
}

impl Default for BoundedMerges {
    fn default() -> Self {
        BoundedMerges {
            target: TARGET_DOCS,
        }
    }
}

impl MergePolicy for BoundedMerges {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let sizes: Vec<(SegmentId, u32)> =
            segments.iter().map(|s| (s.id(), s.num_docs())).collect();
        plan(&sizes, self.target)
            .into_iter()
            .map(MergeCandidate)
            .collect()
    }
}

/// The merges of segments (id, documents) under half `target`, smallest
/// first, each of at most `target` documents.
fn plan<T: Copy>(segments: &[(T, u32)], target: u32) -> Vec<Vec<T>> {
    let mut small: Vec<(T, u32)> = segments
        .iter()
        .copied()
        .filter(|&(_, n)| n < target / 2)
        .collect();
    small.sort_by_key(|&(_, n)| n);
    let mut merges = Vec::new();
    let mut group = Vec::new();
    let mut docs = 0u32;
    for (id, n) in small {
        if docs + n > target {
            if group.len() >= 2 {
                merges.push(std::mem::take(&mut group));
            }
            group.clear();
            docs = 0;
        }
        group.push(id);
        docs += n;
    }
    // A last group merges once it is worth it: enough segments, or half a
    // target of documents.
    if group.len() >= MIN_MERGE || (group.len() >= 2 && docs >= target / 2) {
        merges.push(group);
    }
    merges
}

#[cfg(test)]
mod tests {
    use super::plan;

    #[test]
    fn merged_segments_stay_under_the_target() {
        let segs: Vec<(usize, u32)> = [100, 200, 300, 400, 450, 900, 950, 10, 20]
            .into_iter()
            .enumerate()
            .collect();
        let merges = plan(&segs, 1000);
        assert!(!merges.is_empty());
        for m in &merges {
            let total: u32 = m.iter().map(|&i| segs[i].1).sum();
            assert!(total <= 1000, "a merge of {total} documents");
            assert!(m.len() >= 2);
            // Segments of half the target or more are left alone.
            assert!(m.iter().all(|&i| segs[i].1 < 500));
        }
        // Seven tiny segments are not worth a merge yet; eight are, and so
        // are two that hold half a target.
        let tiny: Vec<(usize, u32)> = (0..8).map(|i| (i, 10)).collect();
        assert!(plan(&tiny[..7], 1000).is_empty());
        assert_eq!(plan(&tiny, 1000), vec![(0..8).collect::<Vec<_>>()]);
        assert_eq!(plan(&[(0, 250), (1, 260)], 1000), vec![vec![0, 1]]);
    }
}
