//! Ordinal groups: a group-by carried on term ordinals from the documents
//! to its output.
//!
//! When every by-field is a text column, no group needs a value's text
//! until it is shown. Within a segment a term's ordinal orders it as its
//! bytes do, so a segment's groups sort on the ranks of their keys (the
//! ordinals, and a null filled by `fillnull_value` at the fill value's
//! place among them: [`Ranker`]); their aggregates keep counts, times and
//! the ordinals of what they gather (`values()`, `latest()`, `sum()`...).
//! A table over its share of the budget spills as a run of integers (tens
//! of bytes a group, where the values' text is hundreds), and a segment's
//! runs merge back without reading a dictionary.
//!
//! Segments meet only at the output: a k-way merge compares their current
//! groups' values, and merges a group found in several on the text of what
//! its aggregates hold. Values are read from only the terms a segment's
//! groups hold, decoded in one pass over the blocks that hold them: in
//! memory within the budget, else written out flat ([`FlatDict`]). Before
//! the merge, each by-field's values are ranked across the segments
//! ([`global_ranks`]), so that it compares integers; with no room for the
//! ranks, it compares the values' bytes.
//!
//! `_time` buckets rank as numbers, which sort as their text when all have
//! ten digits (2001 to 2286). A group-by by other times, or by a value too
//! long for its fast column, goes the general way: segments merge on
//! interned text ([`super::Merger`]).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

use evidx_schema::EvidxSchema;
use tantivy::collector::{Collector as _, SegmentCollector as _};
use tantivy::columnar::{StrColumn, TermOrdHit};
use tantivy::query::Weight;
use tantivy::{DocId, SegmentOrdinal, SegmentReader, Term};

use super::flat_dict::FlatDict;
use super::global_ranks::{self, SortedValues};
use super::{
    agg_texts as agg_texts_of, agg_value, decode_column, init, merge_aggs, parallel,
    search_segment, spill_message, AggValue, CollectError, GroupBy, GroupSegment, Merged, SegAgg,
    SegSource, HELD_ORD_BYTES, MICROS, NULL, NULL_ID,
};
use crate::encode::{get_u64, put_u64};
use crate::field::FieldRef;
use crate::memory::STRING_BYTES;
use crate::sorted_runs::{self, Runs, FAN_IN};
use crate::spl::ast::AggFunc;

/// Whether the group-by goes the ordinal way over `segments`: aggregates
/// of text fields or of `_time`, not too many segments (their runs are
/// read at once), by-fields whose values rank as their text sorts
/// ([`Ranker::of`]), and no by-value cut in its fast column (its full
/// text, from the doc store, would not sort as its ordinal does).
pub(super) fn applies(by: &GroupBy, segments: &[&SegmentReader]) -> bool {
    let held = |(func, field): &(AggFunc, Option<FieldRef>)| match (func, field) {
        (AggFunc::Count, _) => true,
        (_, Some(FieldRef::Time)) => true,
        (_, Some(f)) => f.text_column().is_some(),
        (_, None) => false,
    };
    if by.by.is_empty() || !by.aggs.iter().all(held) || segments.len() > MAX_SEGMENTS {
        return false;
    }
    segments
        .iter()
        .all(|reader| no_cut_values(by, reader).unwrap_or(false))
}

/// The most segments a group-by merges on ordinals: each spilled one keeps
/// a run open to the end (a file and its buffer).
const MAX_SEGMENTS: usize = 4 * FAN_IN;

/// True when no by-field of `reader` holds a value cut in its fast column,
/// and each ranks its values ([`Ranker`]).
fn no_cut_values(by: &GroupBy, reader: &SegmentReader) -> tantivy::Result<bool> {
    let schema = EvidxSchema::from_schema(reader.schema())
        .map_err(|e| tantivy::TantivyError::SchemaError(e.to_string()))?;
    let long = reader.inverted_index(schema.long)?;
    for &(field, _) in &by.by {
        if let FieldRef::Cim(cim) = field {
            // Cut values are longer than the longest term, so listed there.
            let term = Term::from_field_text(schema.long, cim.name());
            if long.get_term_info(&term)?.is_some() {
                return Ok(false);
            }
        }
    }
    let cols = (by.by.iter())
        .map(|&(field, span)| SegSource::open(reader, field, span))
        .collect::<tantivy::Result<Vec<_>>>()?;
    Ok(cols
        .iter()
        .all(|col| Ranker::of(col, None).is_ok_and(|r| r.is_some())))
}

impl GroupBy {
    /// [`GroupBy::collect`] the ordinal way (see [`applies`]). Each
    /// segment's table spills as a sorted run of ranks whenever it
    /// passes its share of the budget (half the budget between the
    /// threads); a segment that ends within the other half, held by all
    /// the segments at once, stays in memory with its values decoded.
    pub(super) fn collect_ordinals(
        &self,
        segments: &[(&SegmentReader, &dyn Weight)],
        threads: usize,
        budget: usize,
    ) -> Result<Merged, CollectError> {
        let threads = threads.max(1);
        let table_budget = budget / 2 / threads;
        let held = Held {
            bytes: AtomicUsize::new(0),
            limit: budget / 2,
        };
        let spill = |e: io::Error| tantivy::TantivyError::InternalError(spill_message(&e));
        let done: Mutex<Vec<Option<SortedSegment>>> =
            Mutex::new((0..segments.len()).map(|_| None).collect());
        parallel::run_in_order(segments.len(), threads, |ord| {
            let (reader, weight) = segments[ord];
            let mut seg = self.for_segment(ord as SegmentOrdinal, reader)?;
            let rankers = (seg.by_cols.iter())
                .map(|col| Ranker::of(col, self.fillnull.as_deref()))
                .collect::<io::Result<Option<Vec<Ranker>>>>()
                .map_err(spill)?
                .ok_or_else(|| spill(io::Error::other("a by-field's values cannot be ranked")))?;
            let mut runs = Runs::new(OrdRecords::new(&seg));
            let mut seen = Seen::new(&seg);
            let mut spilled = Ok(());
            search_segment(reader, weight, &mut |docs: &[DocId]| {
                seg.collect_block(docs);
                if seg.heap_bytes() > table_budget && spilled.is_ok() {
                    spilled = (seg.take_sorted(&rankers, &mut seen))
                        .write(&runs)
                        .and_then(|r| runs.push(r));
                }
            })?;
            spilled.map_err(spill)?;
            let mut sorted =
                (seg.finish_sorted(runs, &rankers, &mut seen, &held)).map_err(spill)?;
            if let GroupSource::Runs(runs) = &mut sorted.groups {
                // The merge reads FAN_IN runs at once, shared by the
                // segments that spilled: each segment's thread merges its
                // own runs down to a share, instead of the merge, alone,
                // for all (a quarter of a second at 32 GiB, the other core
                // idle). Which segments spill is known only at the end, so
                // the share assumes all do: a lone spilling segment among
                // many merges its runs more than it would have to.
                runs.reduce_to(FAN_IN / segments.len()).map_err(spill)?;
            }
            let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
            done[ord] = Some(sorted);
            drop(done);
            crate::memory::release_if_over();
            Ok::<(), tantivy::TantivyError>(())
        })?;
        let done = done.into_inner().unwrap_or_else(|p| p.into_inner());
        let fill = self.fillnull.as_deref().unwrap_or_default();
        Ok(Merged::Ordinal(OrdinalMerge::new(
            done.into_iter().flatten().collect(),
            fill.into(),
            &self.aggs,
            &held,
            threads,
        )?))
    }
}

/// How one by-column of a segment ranks its key parts: ranks are `u32`s
/// that order the parts as their text sorts. Term `o` is `2o + 1`, and a
/// null (kept only with `fillnull_value`) is `fill`, the fill value's
/// place among the terms. A `_time` bucket `b` is `2(b - base) / span + 1`:
/// buckets of ten digits sort as numbers and as text alike.
#[derive(Clone, Copy)]
struct Ranker {
    fill: u32,
    /// `(base, span)` of a `_time` column.
    time: Option<(i64, i64)>,
    /// The largest rank.
    most: u64,
}

/// Seconds of ten digits: from 2001-09-09 to 2286-11-20.
const TEN_DIGITS: std::ops::Range<i64> = 1_000_000_000..10_000_000_000;

impl Ranker {
    /// The ranker of `col` with the fill value `fill`; None when its parts
    /// cannot be ranked: more than `u32::MAX / 2` terms, or `_time`
    /// buckets that are not all there and of ten digits.
    fn of(col: &SegSource, fill: Option<&str>) -> io::Result<Option<Ranker>> {
        Ok(match col {
            SegSource::Str(c) if c.num_terms() as u64 >= u64::from(u32::MAX / 2) => None,
            SegSource::Str(c) => Some(Ranker {
                fill: fill_rank(c, fill)?,
                time: None,
                most: 2 * c.num_terms() as u64 + 1,
            }),
            SegSource::None => Some(Ranker {
                fill: 0,
                time: None,
                most: 1,
            }),
            SegSource::Time(c, span) => {
                let bucket = |micros: i64| micros.div_euclid(MICROS).div_euclid(*span) * span;
                let (base, last) = (bucket(c.min_value()), bucket(c.max_value()));
                let buckets = (last - base) / span + 1;
                let every_doc = c.get_cardinality() == tantivy::columnar::Cardinality::Full;
                let fits = TEN_DIGITS.contains(&base) && TEN_DIGITS.contains(&last);
                (every_doc && fits && buckets < i64::from(u32::MAX / 2)).then_some(Ranker {
                    fill: 0,
                    time: Some((base, *span)),
                    most: 2 * buckets as u64 + 1,
                })
            }
        })
    }

    fn rank(&self, part: u64) -> u32 {
        match (part, self.time) {
            // Buckets are at least `base` (checked in `Ranker::of`).
            (_, Some((base, span))) => (2 * ((part as i64 - base) / span) + 1) as u32,
            (NULL, None) => self.fill,
            // Terms are fewer than u32::MAX / 2 (checked in `Ranker::of`).
            (o, None) => (2 * o + 1) as u32,
        }
    }
}

/// The rank of the fill value in `col`: the rank of the term equal to it
/// (its groups are the term's), or the even rank just before the first
/// term after it.
fn fill_rank(col: &StrColumn, fill: Option<&str>) -> io::Result<u32> {
    let Some(fill) = fill else {
        return Ok(0);
    };
    let rank = match col.dictionary().term_ord_or_next(fill)? {
        TermOrdHit::Exact(o) => 2 * o + 1,
        TermOrdHit::Next(o) => 2 * o.min(col.num_terms() as u64),
    };
    Ok(rank as u32)
}

/// Bytes of finished segments' tables held in memory by a search, and
/// its limit.
struct Held {
    bytes: AtomicUsize,
    limit: usize,
}

impl Held {
    fn left(&self) -> usize {
        self.limit
            .saturating_sub(self.bytes.load(AtomicOrdering::Relaxed))
    }

    /// Take `n` more bytes, if they fit.
    fn take(&self, n: usize) -> bool {
        self.bytes
            .fetch_update(AtomicOrdering::Relaxed, AtomicOrdering::Relaxed, |held| {
                held.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    /// Give back `n` bytes taken.
    fn give(&self, n: usize) {
        self.bytes.fetch_sub(n, AtomicOrdering::Relaxed);
    }
}

/// Groups of one segment sorted on their keys: `keys[g * width + i]` is
/// the rank ([`Ranker`]) of by-field `i` in group `g`, of its ordinal or,
/// once decoded, of its value id; `aggs[g * n_aggs + j]` its aggregate
/// `j`.
struct SortedTable {
    width: usize,
    n_aggs: usize,
    keys: Vec<u32>,
    aggs: Vec<SegAgg>,
    /// Ordinals the aggregates hold.
    held_ords: usize,
}

impl SortedTable {
    fn len(&self) -> usize {
        self.keys.len().checked_div(self.width).unwrap_or(0)
    }

    fn heap_bytes(&self) -> usize {
        self.keys.len() * 4
            + self.aggs.len() * std::mem::size_of::<SegAgg>()
            + self.held_ords * HELD_ORD_BYTES
    }

    /// Group `g`: its key and its aggregates.
    fn group(&self, g: usize) -> (&[u32], &[SegAgg]) {
        let (w, n) = (self.width, self.n_aggs);
        (
            &self.keys[g * w..(g + 1) * w],
            &self.aggs[g * n..(g + 1) * n],
        )
    }

    /// Write the table as a run.
    fn write(self, runs: &Runs<OrdRecords>) -> io::Result<sorted_runs::Run> {
        let records = runs.records();
        let groups = (0..self.len()).map(|g| self.group(g));
        sorted_runs::write(groups, |out, (key, aggs)| records.put(out, key, aggs))
    }
}

impl GroupSegment {
    /// The groups collected so far, sorted on their ranks (each by-column
    /// ranked by its ranker), leaving the table empty; the ordinals they
    /// hold are added to `seen`.
    fn take_sorted(&mut self, rankers: &[Ranker], seen: &mut Seen) -> SortedTable {
        let (width, n_aggs) = (self.by_cols.len(), self.aggs.len());
        let n = self.table.len();
        let mut ranked = Vec::with_capacity(n * width);
        for g in 0..n {
            let key = self.table.key(g).iter().zip(rankers).zip(&mut seen.by);
            ranked.extend(key.map(|((&part, ranker), seen)| {
                seen.insert(part);
                ranker.rank(part)
            }));
        }
        let mut ords = Vec::new();
        for (j, seen) in seen.aggs.iter_mut().enumerate() {
            for state in self.states.iter().skip(j).step_by(n_aggs) {
                ords.clear();
                held_ordinals(state, &mut ords);
                ords.iter().for_each(|&o| seen.insert(o));
            }
        }
        let key = |g: u32| &ranked[g as usize * width..(g as usize + 1) * width];
        let mut order: Vec<u32> = (0..n as u32).collect();
        // Each key's ranks packed into one u128 when they fit (they mostly
        // do: a 9-field key of a large segment takes about 110 bits), so
        // the sort compares integers held side by side.
        let bits: Vec<u32> = (rankers.iter())
            .map(|r| u64::BITS - r.most.leading_zeros())
            .collect();
        if bits.iter().sum::<u32>() <= u128::BITS {
            let mut packed: Vec<(u128, u32)> = (order.iter())
                .map(|&g| {
                    let parts = key(g).iter().zip(&bits);
                    let k = parts.fold(0u128, |acc, (&r, &b)| (acc << b) | u128::from(r));
                    (k, g)
                })
                .collect();
            packed.sort_unstable();
            order = packed.into_iter().map(|(_, g)| g).collect();
        } else {
            order.sort_unstable_by(|&a, &b| key(a).cmp(key(b)));
        }
        let mut keys = Vec::with_capacity(n * width);
        let mut aggs = Vec::with_capacity(n * n_aggs);
        let mut states = std::mem::take(&mut self.states);
        for (i, &g) in order.iter().enumerate() {
            let g_states = &mut states[g as usize * n_aggs..(g as usize + 1) * n_aggs];
            let g_states = g_states
                .iter_mut()
                .map(|s| std::mem::replace(s, SegAgg::Count(0)));
            // Nulls filled with a value the column has are that value's
            // group: two slots, one key.
            if i > 0 && key(order[i - 1]) == key(g) {
                let last = aggs.len() - n_aggs;
                combine(&mut aggs[last..], g_states);
                continue;
            }
            keys.extend_from_slice(key(g));
            aggs.extend(g_states);
        }
        states.clear();
        self.states = states;
        self.table.clear();
        self.first_doc.clear();
        let held_ords = std::mem::take(&mut self.held_ords);
        SortedTable {
            width,
            n_aggs,
            keys,
            aggs,
            held_ords,
        }
    }

    /// The segment's groups once searched: held in memory with their
    /// values decoded when they fit what `held` has left, else in runs
    /// with the segment's dictionaries to read their values from.
    fn finish_sorted(
        &mut self,
        mut runs: Runs<OrdRecords>,
        rankers: &[Ranker],
        seen: &mut Seen,
        held: &Held,
    ) -> io::Result<SortedSegment> {
        let table = self.take_sorted(rankers, seen);
        if runs.is_empty() {
            // Packed values end at `u32` offsets.
            let cap = held.left().min(u32::MAX as usize);
            if let Some((ids, values, agg_texts)) = self.decode(&table, rankers, cap) {
                let text: usize = values.iter().map(Values::heap_bytes).sum::<usize>()
                    + agg_texts.iter().map(AggTexts::heap_bytes).sum::<usize>();
                if held.take(table.heap_bytes() + text) {
                    let table = SortedTable { keys: ids, ..table };
                    return Ok(SortedSegment {
                        groups: GroupSource::Memory { table, next: 0 },
                        values,
                        agg_texts,
                    });
                }
            }
        }
        if table.len() > 0 {
            runs.push(table.write(&runs)?)?;
        }
        let values = (self.by_cols.iter().zip(&seen.by).zip(rankers))
            .map(|((col, seen), ranker)| match ranker.time {
                Some((base, span)) => Ok(Values::time(base, span)),
                None => column_values(col, seen, held),
            })
            .collect::<io::Result<_>>()?;
        let agg_cols = self.aggs.iter().zip(&self.agg_cols).zip(&seen.aggs);
        let agg_texts = agg_cols
            .map(|(((func, _), col), seen)| match (func, col) {
                (_, SegSource::Time(..)) => Ok(AggTexts::Time),
                (AggFunc::Count, _) => Ok(AggTexts::None),
                (_, col) => column_values(col, seen, held).map(AggTexts::Every),
            })
            .collect::<io::Result<_>>()?;
        Ok(SortedSegment {
            groups: GroupSource::Runs(runs),
            values,
            agg_texts,
        })
    }
}

impl GroupSegment {
    /// The table's keys as the ranks of ids into each by-field's distinct
    /// values (the fill value keeps its even rank), and those values,
    /// decoded in one pass per column; None when their text passes `cap`
    /// bytes.
    fn decode(
        &self,
        table: &SortedTable,
        rankers: &[Ranker],
        cap: usize,
    ) -> Option<(Vec<u32>, Vec<Values>, Vec<AggTexts>)> {
        let width = table.width;
        let mut left = cap;
        let mut ids = vec![0u32; table.keys.len()];
        let mut values = Vec::with_capacity(width);
        for (i, (col, ranker)) in self.by_cols.iter().zip(rankers).enumerate() {
            if let Some((base, span)) = ranker.time {
                // A bucket's rank is its own id.
                for (id, &r) in ids.iter_mut().zip(&table.keys).skip(i).step_by(width) {
                    *id = r;
                }
                values.push(Values::time(base, span));
                continue;
            }
            let parts = table
                .keys
                .iter()
                .skip(i)
                .step_by(width)
                .map(|&r| match r & 1 {
                    1 => u64::from(r >> 1),
                    _ => NULL,
                });
            let (dict, col_ids) = decode_column(col, None, parts, left)?;
            left = left.checked_sub(dict.iter().map(|v| v.len() + STRING_BYTES).sum())?;
            for (g, id) in col_ids.into_iter().enumerate() {
                ids[g * width + i] = match id {
                    NULL_ID => 0,
                    id => 2 * id + 1,
                };
            }
            values.push(Values::packed(dict));
        }
        // The texts of the ordinals the aggregates hold, per column.
        let mut agg_texts = Vec::with_capacity(table.n_aggs);
        for (j, col) in self.agg_cols.iter().enumerate() {
            if matches!(col, SegSource::Time(..)) {
                agg_texts.push(AggTexts::Time);
                continue;
            }
            let mut ords = Vec::new();
            let states = table.aggs.iter().skip(j).step_by(table.n_aggs.max(1));
            states.for_each(|state| held_ordinals(state, &mut ords));
            let texts = agg_texts_of(col, ords, left)?;
            left = left.checked_sub(texts.values().map(|v| v.len() + STRING_BYTES + 8).sum())?;
            agg_texts.push(AggTexts::Some(texts));
        }
        Some((ids, values, agg_texts))
    }
}

/// Where the values of `col` a segment's spilled groups hold are read:
/// in memory while the search's share allows, else written out flat;
/// only those values (by a pass over the dictionary's blocks that hold
/// them), not the whole dictionary.
fn column_values(col: &SegSource, seen: &OrdSet, held: &Held) -> io::Result<Values> {
    let SegSource::Str(c) = col else {
        return Ok(Values::packed(Vec::new()));
    };
    let ords = seen.ords();
    let every = ords.len() == c.num_terms();
    let store = match seen_terms(c, &ords, held)? {
        Some(packed) => packed,
        None if every => Store::Flat(FlatDict::build(c)?),
        None => Store::Flat(FlatDict::build_some(c, &ords)?),
    };
    Ok(Values {
        store,
        positions: Positions::of(&ords, c.num_terms(), held),
    })
}

/// The terms of the sorted ordinals `ords` of `col`, packed in memory;
/// None when they would pass what `held` has left (or the dictionary
/// cannot give them).
fn seen_terms(col: &StrColumn, ords: &[u64], held: &Held) -> io::Result<Option<Store>> {
    let cap = held.left().min(u32::MAX as usize);
    let (mut text, mut ends) = (String::new(), Vec::with_capacity(ords.len()));
    let mut over = false;
    let found = col.dictionary().sorted_ords_to_term_cb(ords, |term| {
        // Each value also takes its end and its ordinal.
        over = over || text.len() + term.len() + (ends.len() + 1) * 8 > cap;
        if !over {
            match std::str::from_utf8(term) {
                Ok(term) => text.push_str(term),
                Err(_) => text.push_str(&String::from_utf8_lossy(term)),
            }
            ends.push(text.len() as u32);
        }
    })?;
    if over || !found || ends.len() != ords.len() {
        return Ok(None);
    }
    let bytes = text.len() + ends.len() * 8;
    Ok(held.take(bytes).then_some(Store::Packed { text, ends }))
}

/// The ordinals of one column a segment's groups hold.
struct OrdSet {
    words: Vec<u64>,
    len: usize,
}

impl OrdSet {
    fn new(col: &SegSource) -> OrdSet {
        let terms = match col {
            SegSource::Str(c) => c.num_terms(),
            _ => 0,
        };
        OrdSet {
            words: vec![0; terms.div_ceil(64)],
            len: 0,
        }
    }

    /// Add `ord` (null and ordinals past the column's are not kept).
    fn insert(&mut self, ord: u64) {
        let Some(word) = self.words.get_mut((ord / 64) as usize) else {
            return;
        };
        let bit = 1 << (ord % 64);
        if *word & bit == 0 {
            *word |= bit;
            self.len += 1;
        }
    }

    /// The ordinals, in order.
    fn ords(&self) -> Vec<u64> {
        let mut ords = Vec::with_capacity(self.len);
        for (i, &word) in self.words.iter().enumerate() {
            let mut w = word;
            while w != 0 {
                ords.push(i as u64 * 64 + u64::from(w.trailing_zeros()));
                w &= w - 1;
            }
        }
        ords
    }
}

/// The ordinals a segment's groups hold, per by-column and per aggregate.
struct Seen {
    by: Vec<OrdSet>,
    aggs: Vec<OrdSet>,
}

impl Seen {
    fn new(seg: &GroupSegment) -> Seen {
        let agg_cols = seg.aggs.iter().zip(&seg.agg_cols);
        Seen {
            by: seg.by_cols.iter().map(OrdSet::new).collect(),
            aggs: agg_cols
                .map(|((func, _), col)| match func {
                    AggFunc::Count => OrdSet::new(&SegSource::None),
                    _ => OrdSet::new(col),
                })
                .collect(),
        }
    }
}

/// One segment's groups, sorted, and where its by-values and the
/// ordinals its aggregates hold are read.
struct SortedSegment {
    groups: GroupSource,
    values: Vec<Values>,
    agg_texts: Vec<AggTexts>,
}

enum GroupSource {
    /// Keys are ranks of ids into [`Store::Packed`]; `next` is the next
    /// group.
    Memory {
        table: SortedTable,
        next: usize,
    },
    /// Keys are ranks of ordinals.
    Runs(Runs<OrdRecords>),
    Merge(sorted_runs::Merge<OrdRecords>),
}

/// One column's values in a segment, stored in ordinal order: every term,
/// or those the groups hold; for a table held in memory, its value ids.
struct Values {
    store: Store,
    positions: Positions,
}

/// Where the value of an ordinal is stored.
enum Positions {
    /// At the ordinal: every term is stored (or the ordinals are ids).
    Every,
    /// `ords[i]` at `i`, found by a binary search.
    Sorted(Vec<u32>),
    /// At `at[ordinal]` ([`NO_POSITION`] for a term not stored): a
    /// wide answer looks up every value, and a search is a dozen misses.
    Dense(Vec<u32>),
}

/// The position of a term not stored.
const NO_POSITION: u32 = u32::MAX;

impl Positions {
    /// The positions of the sorted ordinals `ords` of a column of `terms`
    /// terms; dense when they are many and `held` has room.
    fn of(ords: &[u64], terms: usize, held: &Held) -> Positions {
        if ords.len() == terms {
            return Positions::Every;
        }
        if ords.len() >= terms / 16 && held.take(terms * 4) {
            let mut at = vec![NO_POSITION; terms];
            for (i, &o) in ords.iter().enumerate() {
                if let Some(slot) = at.get_mut(o as usize) {
                    *slot = i as u32;
                }
            }
            return Positions::Dense(at);
        }
        Positions::Sorted(ords.iter().map(|&o| o as u32).collect())
    }

    fn get(&self, id: u32) -> Option<usize> {
        match self {
            Positions::Every => Some(id as usize),
            Positions::Sorted(ords) => ords.binary_search(&id).ok(),
            Positions::Dense(at) => at
                .get(id as usize)
                .filter(|&&p| p != NO_POSITION)
                .map(|&p| p as usize),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Positions::Every => 0,
            Positions::Sorted(v) | Positions::Dense(v) => v.len() * 4,
        }
    }
}

enum Store {
    /// One after another: value `i` ends at `ends[i]`.
    Packed { text: String, ends: Vec<u32> },
    /// `_time` buckets: value `i` is `base + i * span` seconds.
    Time { base: i64, span: i64 },
    /// Written out flat, for values too large to hold.
    Flat(FlatDict),
}

impl Values {
    fn packed(values: Vec<String>) -> Values {
        let mut text = String::with_capacity(values.iter().map(String::len).sum());
        let mut ends = Vec::with_capacity(values.len());
        for v in values {
            text.push_str(&v);
            ends.push(text.len() as u32);
        }
        Values {
            store: Store::Packed { text, ends },
            positions: Positions::Every,
        }
    }

    fn time(base: i64, span: i64) -> Values {
        Values {
            store: Store::Time { base, span },
            positions: Positions::Every,
        }
    }

    /// The bucket of value `id` of a `_time` column.
    fn bucket(&self, id: u32) -> Option<i64> {
        match self.store {
            Store::Time { base, span } => Some(base + i64::from(id) * span),
            _ => None,
        }
    }

    fn heap_bytes(&self) -> usize {
        let positions = self.positions.heap_bytes();
        match &self.store {
            Store::Packed { text, ends } => text.len() + ends.len() * 4 + positions,
            Store::Flat(_) | Store::Time { .. } => positions,
        }
    }

    /// Where the value of `id` is stored; None for a value not kept.
    fn position(&self, id: u32) -> Option<usize> {
        self.positions.get(id)
    }

    /// Value `id` as text (a value written out flat is checked here).
    fn text(&self, id: u32) -> Cow<'_, str> {
        match self.position(id) {
            Some(i) => self.stored_text(i),
            None => Cow::Borrowed(""),
        }
    }

    /// The value stored at `i` as text.
    fn stored_text(&self, i: usize) -> Cow<'_, str> {
        match &self.store {
            Store::Packed { text, ends } => {
                Cow::Borrowed(text.get(packed_range(ends, i)).unwrap_or_default())
            }
            Store::Time { base, span } => Cow::Owned((base + i as i64 * span).to_string()),
            Store::Flat(flat) => {
                let bytes = flat.term(i as u64).unwrap_or_default();
                match std::str::from_utf8(bytes) {
                    Ok(text) => Cow::Borrowed(text),
                    // Terms are UTF-8 unless the index is damaged; checking
                    // is much cheaper than a lossy conversion.
                    Err(_) => String::from_utf8_lossy(bytes),
                }
            }
        }
    }

    /// The value stored at `i` as bytes.
    fn stored(&self, i: usize) -> &[u8] {
        match &self.store {
            Store::Packed { text, ends } => {
                (text.as_bytes().get(packed_range(ends, i))).unwrap_or_default()
            }
            Store::Flat(flat) => flat.term(i as u64).unwrap_or_default(),
            // Compared as numbers (`Cursor::cmp`).
            Store::Time { .. } => &[],
        }
    }
}

/// Stored values are in ordinal order, which is their bytes' order.
impl SortedValues for Values {
    fn count(&self) -> usize {
        match &self.store {
            Store::Packed { ends, .. } => ends.len(),
            Store::Flat(flat) => flat.count(),
            Store::Time { .. } => 0,
        }
    }

    fn value(&self, i: usize) -> &[u8] {
        self.stored(i)
    }
}

/// Where the `i`th packed value is (an empty range past the last).
fn packed_range(ends: &[u32], i: usize) -> std::ops::Range<usize> {
    let end = ends.get(i).map_or(0, |&e| e as usize);
    let start = i
        .checked_sub(1)
        .map_or(0, |i| ends.get(i).map_or(end, |&e| e as usize));
    start..end
}

/// A spilled group: its key's ranks and its aggregates' states.
type Record = (Vec<u32>, Vec<SegAgg>);

/// How a run of ordinal groups is written and read: each by-field's rank
/// (4 bytes), then each aggregate's state (`template` has their kinds).
#[derive(Clone)]
pub(super) struct OrdRecords {
    width: usize,
    template: Vec<SegAgg>,
}

impl OrdRecords {
    fn new(seg: &GroupSegment) -> Self {
        OrdRecords {
            width: seg.by_cols.len(),
            template: (seg.aggs.iter().zip(&seg.agg_cols))
                .map(|((f, _), col)| init(*f, col))
                .collect(),
        }
    }

    fn put(&self, mut out: &mut dyn Write, key: &[u32], aggs: &[SegAgg]) -> io::Result<()> {
        for &k in key {
            out.write_all(&k.to_le_bytes())?;
        }
        let mut put_ords = |ords: &mut dyn ExactSizeIterator<Item = u64>| -> io::Result<()> {
            put_u64(&mut out, ords.len() as u64)?;
            for o in ords {
                put_u64(&mut out, o)?;
            }
            Ok(())
        };
        for a in aggs {
            match a {
                SegAgg::Count(n) => put_ords(&mut std::iter::once(*n))?,
                SegAgg::Min(t) | SegAgg::Max(t) => put_ords(&mut t.iter().copied())?,
                SegAgg::Latest(None) | SegAgg::Earliest(None) => put_ords(&mut std::iter::empty())?,
                SegAgg::Latest(Some((t, v))) | SegAgg::Earliest(Some((t, v))) => {
                    put_ords(&mut [*t as u64, *v].into_iter())?
                }
                SegAgg::Set(set) => put_ords(&mut set.iter().copied())?,
                SegAgg::Ords(ords) => put_ords(&mut ords.iter().copied())?,
            }
        }
        Ok(())
    }

    /// The record at the start of `buf` and the bytes it takes; None when
    /// `buf` ends before the record does.
    fn parse(&self, buf: &[u8]) -> Option<(io::Result<Record>, usize)> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Option<&[u8]> {
            let bytes = buf.get(at..at.checked_add(n)?)?;
            at += n;
            Some(bytes)
        };
        let key = (take(self.width.checked_mul(4)?)?.chunks_exact(4))
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mut aggs = Vec::with_capacity(self.template.len());
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        for kind in &self.template {
            let n = usize::try_from(word(take(8)?)).ok()?;
            let bytes = take(n.checked_mul(8)?)?;
            let state = match n {
                // Counts and times: no vector.
                0..=2 => {
                    let mut small = [0u64; 2];
                    for (o, b) in small.iter_mut().zip(bytes.chunks_exact(8)) {
                        *o = word(b);
                    }
                    state_of(kind, &small[..n])
                }
                _ => state_of_owned(kind, bytes.chunks_exact(8).map(word).collect()),
            };
            match state {
                Ok(state) => aggs.push(state),
                Err(e) => return Some((Err(e), at)),
            }
        }
        Some((Ok((key, aggs)), at))
    }
}

/// Append the next `n` bytes of `input` to `bytes`, read as they come (a
/// damaged length meets the run's end before it is allocated).
fn gather(input: &mut impl Read, bytes: &mut Vec<u8>, n: usize) -> io::Result<()> {
    match input.take(n as u64).read_to_end(bytes)? == n {
        true => Ok(()),
        false => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

fn damaged_record() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a spilled group is damaged")
}

/// The state of kind `kind` that `ords` were written from ([`OrdRecords::put`]).
fn state_of(kind: &SegAgg, ords: &[u64]) -> io::Result<SegAgg> {
    Ok(match (kind, ords) {
        (SegAgg::Count(_), &[n]) => SegAgg::Count(n),
        (SegAgg::Min(_), &[]) => SegAgg::Min(None),
        (SegAgg::Min(_), &[t]) => SegAgg::Min(Some(t)),
        (SegAgg::Max(_), &[]) => SegAgg::Max(None),
        (SegAgg::Max(_), &[t]) => SegAgg::Max(Some(t)),
        (SegAgg::Latest(_), &[]) => SegAgg::Latest(None),
        (SegAgg::Latest(_), &[t, v]) => SegAgg::Latest(Some((t as i64, v))),
        (SegAgg::Earliest(_), &[]) => SegAgg::Earliest(None),
        (SegAgg::Earliest(_), &[t, v]) => SegAgg::Earliest(Some((t as i64, v))),
        (SegAgg::Set(_) | SegAgg::Ords(_), _) => state_of_owned(kind, ords.to_vec())?,
        _ => return Err(damaged_record()),
    })
}

/// [`state_of`], keeping the vector of a list of ordinals.
fn state_of_owned(kind: &SegAgg, ords: Vec<u64>) -> io::Result<SegAgg> {
    match kind {
        SegAgg::Set(_) => Ok(SegAgg::Set(ords.into_iter().collect())),
        SegAgg::Ords(_) => Ok(SegAgg::Ords(ords)),
        _ => state_of(kind, &ords),
    }
}

impl sorted_runs::Records for OrdRecords {
    type Key = Vec<u32>;
    type Value = Vec<SegAgg>;

    fn read(&mut self, input: &mut BufReader<File>) -> io::Result<Record> {
        // Most records lie whole in the reader's buffer: read from it in
        // place (a read call per number took a tenth of a wide group-by's
        // merge). A record across the buffer's end is gathered first.
        if let Some((record, used)) = self.parse(input.fill_buf()?) {
            input.consume(used);
            return record;
        }
        let mut bytes = Vec::new();
        gather(input, &mut bytes, self.width * 4)?;
        for _ in &self.template {
            gather(input, &mut bytes, 8)?;
            let n = get_u64(&mut &bytes[bytes.len() - 8..])?;
            // The run is this process's own: a count past what a state
            // holds is damage, not data.
            let n = usize::try_from(n).ok().and_then(|n| n.checked_mul(8));
            gather(input, &mut bytes, n.ok_or_else(damaged_record)?)?;
        }
        match self.parse(&bytes) {
            Some((record, _)) => record,
            None => Err(damaged_record()),
        }
    }

    fn write(&self, out: &mut dyn Write, key: &Vec<u32>, aggs: &Vec<SegAgg>) -> io::Result<()> {
        self.put(out, key, aggs)
    }

    fn combine(&self, earlier: &mut Vec<SegAgg>, later: Vec<SegAgg>) {
        combine(earlier, later)
    }
}

/// Combine the states of one group from two tables of a segment (the same
/// ordinals): as [`GroupSegment::collect_block`] adds a document to them.
fn combine(acc: &mut [SegAgg], later: impl IntoIterator<Item = SegAgg>) {
    for (a, b) in acc.iter_mut().zip(later) {
        match (a, b) {
            (SegAgg::Count(x), SegAgg::Count(y)) => *x += y,
            // `_time` extremes, raw microseconds: signed.
            (SegAgg::Min(x), SegAgg::Min(Some(y))) => {
                *x = Some(x.map_or(y, |x| (x as i64).min(y as i64) as u64))
            }
            (SegAgg::Max(x), SegAgg::Max(Some(y))) => {
                *x = Some(x.map_or(y, |x| (x as i64).max(y as i64) as u64))
            }
            // (time, ordinal): ties go to the larger or smaller value.
            (SegAgg::Latest(x), SegAgg::Latest(Some(y))) => {
                *x = Some(x.map_or(y, |x| x.max(y)));
            }
            (SegAgg::Earliest(x), SegAgg::Earliest(Some(y))) => {
                *x = Some(x.map_or(y, |x| x.min(y)));
            }
            (SegAgg::Set(x), SegAgg::Set(y)) => x.extend(y),
            (SegAgg::Ords(x), SegAgg::Ords(y)) => x.extend(y),
            _ => {}
        }
    }
}

/// The ordinals an aggregate's state holds.
fn held_ordinals(state: &SegAgg, out: &mut Vec<u64>) {
    match state {
        SegAgg::Min(Some(v)) | SegAgg::Max(Some(v)) => out.push(*v),
        SegAgg::Latest(Some((_, v))) | SegAgg::Earliest(Some((_, v))) => out.push(*v),
        SegAgg::Set(set) => out.extend(set.iter().copied()),
        SegAgg::Ords(ords) => out.extend(ords.iter().copied()),
        _ => {}
    }
}

/// Where a segment's aggregate reads the text of its ordinals.
enum AggTexts {
    /// Counts hold no ordinal.
    None,
    /// `_time` values are held themselves, shown in seconds.
    Time,
    /// The ordinals the groups held in memory hold.
    Some(HashMap<u64, String>),
    /// Every term of the column.
    Every(Values),
}

impl AggTexts {
    fn heap_bytes(&self) -> usize {
        match self {
            AggTexts::Some(texts) => texts.values().map(|v| v.len() + STRING_BYTES + 8).sum(),
            AggTexts::Every(values) => values.heap_bytes(),
            AggTexts::None | AggTexts::Time => 0,
        }
    }

    fn text(&self, ord: u64) -> Option<String> {
        match self {
            AggTexts::None => None,
            AggTexts::Time => Some((ord as i64).div_euclid(MICROS).to_string()),
            AggTexts::Some(texts) => texts.get(&ord).cloned(),
            AggTexts::Every(values) => {
                let id = u32::try_from(ord).ok()?;
                Some(values.text(id).into_owned())
            }
        }
    }
}

/// How the merge orders one by-field's values.
enum FieldOrder {
    /// As bytes: the field's values were not ranked.
    Bytes,
    /// `_time` buckets, as numbers (all of ten digits).
    Time,
    /// By rank among the values of every segment ([`global_ranks`]):
    /// `ranks[i]` is the rank of the value stored at `i`, `fill` the fill
    /// value's, `empty` that of a value not stored (shown empty).
    Ranked {
        ranks: Vec<u32>,
        fill: u32,
        empty: u32,
    },
}

/// Each segment's [`FieldOrder`] of each by-field: a text field is ranked
/// across the segments when `held` has room for its ranks (4 bytes a
/// value the segments hold), one field per thread.
fn field_orders(
    segments: &[SortedSegment],
    fill: &str,
    held: &Held,
    threads: usize,
) -> Vec<Vec<FieldOrder>> {
    let width = segments.first().map_or(0, |s| s.values.len());
    let time: Vec<bool> = (0..width)
        .map(|f| (segments.iter()).any(|s| matches!(s.values[f].store, Store::Time { .. })))
        .collect();
    let ranked: Vec<Mutex<Option<global_ranks::FieldRanks>>> =
        (0..width).map(|_| Mutex::new(None)).collect();
    let _ = parallel::run_in_order(width, threads, |f| {
        let values: Vec<&dyn SortedValues> = (segments.iter())
            .map(|s| &s.values[f] as &dyn SortedValues)
            .collect();
        let bytes = values.iter().map(|v| v.count()).sum::<usize>() * 4;
        if !time[f] && held.take(bytes) {
            let ranks = global_ranks::rank(&values, &[fill.as_bytes(), b""]);
            if ranks.is_none() {
                held.give(bytes);
            }
            *ranked[f].lock().unwrap_or_else(|p| p.into_inner()) = ranks;
        }
        Ok::<(), ()>(())
    });
    let mut ranked: Vec<Option<global_ranks::FieldRanks>> = (ranked.into_iter())
        .map(|r| r.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect();
    (0..segments.len())
        .map(|s| {
            (0..width)
                .map(|f| match &mut ranked[f] {
                    _ if time[f] => FieldOrder::Time,
                    Some(r) => FieldOrder::Ranked {
                        ranks: std::mem::take(&mut r.segments[s]),
                        fill: r.extras[0],
                        empty: r.extras[1],
                    },
                    None => FieldOrder::Bytes,
                })
                .collect()
        })
        .collect()
}

/// A segment's current group in the merge.
struct Cursor {
    groups: GroupSource,
    values: Vec<Values>,
    agg_texts: Vec<AggTexts>,
    /// The text of even ranks: the fill value.
    fill: Arc<str>,
    key: Vec<u32>,
    aggs: Vec<SegAgg>,
    orders: Vec<FieldOrder>,
    /// Whether no by-field is ordered as bytes.
    ranked: bool,
    /// Per by-field, the current group's place in its order (not for
    /// [`FieldOrder::Bytes`]).
    order: Vec<u64>,
    /// Per by-field, where the current group's value is stored; None for
    /// the fill value and a value not stored.
    at: Vec<Option<usize>>,
}

impl Cursor {
    /// Move to the next group; false past the last.
    fn advance(&mut self) -> io::Result<bool> {
        match &mut self.groups {
            GroupSource::Memory { table, next } => {
                if *next >= table.len() {
                    return Ok(false);
                }
                let (g, w, n) = (*next, table.width, table.n_aggs);
                *next += 1;
                self.key.clear();
                self.key.extend_from_slice(&table.keys[g * w..(g + 1) * w]);
                self.aggs.clear();
                let states = table.aggs[g * n..(g + 1) * n].iter_mut();
                self.aggs
                    .extend(states.map(|s| std::mem::replace(s, SegAgg::Count(0))));
            }
            GroupSource::Merge(merge) => match merge.next_group()? {
                Some((key, aggs)) => (self.key, self.aggs) = (key, aggs),
                None => return Ok(false),
            },
            GroupSource::Runs(_) => return Ok(false),
        }
        // Where each value is stored, looked up once a group: the merge
        // compares a group several times and shows it once.
        self.order.clear();
        self.at.clear();
        for (i, (field, &r)) in self.orders.iter().zip(&self.key).enumerate() {
            let at = match r & 1 {
                1 => self.values[i].position(r >> 1),
                _ => None,
            };
            self.at.push(at);
            self.order.push(match field {
                FieldOrder::Bytes => 0,
                // Bucket seconds, with the sign bit flipped to sort as u64.
                FieldOrder::Time => self.values[i]
                    .bucket(r >> 1)
                    .map_or(0, |b| b as u64 ^ (1 << 63)),
                FieldOrder::Ranked { ranks, fill, empty } => u64::from(match (r & 1, at) {
                    (1, Some(p)) => ranks.get(p).copied().unwrap_or(*empty),
                    (1, None) => *empty,
                    _ => *fill,
                }),
            });
        }
        Ok(true)
    }

    fn value(&self, i: usize) -> &[u8] {
        match (self.key[i] & 1, self.at[i]) {
            (1, Some(p)) => self.values[i].stored(p),
            (1, None) => &[],
            _ => self.fill.as_bytes(),
        }
    }

    fn text(&self, i: usize) -> Cow<'_, str> {
        match (self.key[i] & 1, self.at[i]) {
            (1, Some(p)) => self.values[i].stored_text(p),
            (1, None) => Cow::Borrowed(""),
            _ => Cow::Borrowed(&self.fill),
        }
    }

    /// The aggregates of the current group as shown (`kinds`: each one's
    /// function, and whether it is of `_time`).
    fn shown(&mut self, kinds: &[(AggFunc, bool)]) -> Vec<AggValue> {
        let states = std::mem::take(&mut self.aggs).into_iter().zip(kinds);
        (states.zip(&self.agg_texts))
            .map(|((state, &(func, is_time)), texts)| {
                agg_value(func, is_time, &state, |ord| texts.text(ord))
            })
            .collect()
    }

    /// The order of the by-values' text, field by field: their ranks,
    /// the numbers of `_time` buckets, or bytes.
    fn cmp(&self, other: &Cursor) -> Ordering {
        if self.ranked {
            return self.order.cmp(&other.order);
        }
        (0..self.key.len())
            .map(|i| match self.orders[i] {
                FieldOrder::Bytes => self.value(i).cmp(other.value(i)),
                _ => self.order[i].cmp(&other.order[i]),
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

/// The groups of every segment, merged in by-field order: a min-heap of
/// the segments' cursors, compared on their current values.
pub struct OrdinalMerge {
    cursors: Vec<Cursor>,
    heap: Vec<usize>,
    /// The aggregates, to merge a group found in several segments.
    aggs: Vec<(AggFunc, Option<FieldRef>)>,
    kinds: Vec<(AggFunc, bool)>,
}

impl OrdinalMerge {
    fn new(
        segments: Vec<SortedSegment>,
        fill: Arc<str>,
        aggs: &[(AggFunc, Option<FieldRef>)],
        held: &Held,
        threads: usize,
    ) -> io::Result<Self> {
        // The segments' runs are read at once: FAN_IN in all, at least one
        // per segment.
        let spilled = (segments.iter())
            .filter(|s| matches!(s.groups, GroupSource::Runs(_)))
            .count();
        let most = (FAN_IN / spilled.max(1)).max(1);
        let orders = field_orders(&segments, &fill, held, threads);
        let mut cursors = Vec::with_capacity(segments.len());
        for (seg, orders) in segments.into_iter().zip(orders) {
            let groups = match seg.groups {
                GroupSource::Runs(runs) => GroupSource::Merge(runs.merge_within(most)?),
                groups => groups,
            };
            let mut cursor = Cursor {
                groups,
                values: seg.values,
                agg_texts: seg.agg_texts,
                fill: fill.clone(),
                key: Vec::new(),
                aggs: Vec::new(),
                ranked: !orders.iter().any(|o| matches!(o, FieldOrder::Bytes)),
                orders,
                order: Vec::new(),
                at: Vec::new(),
            };
            if cursor.advance()? {
                cursors.push(cursor);
            }
        }
        let mut merge = OrdinalMerge {
            heap: (0..cursors.len()).collect(),
            cursors,
            aggs: aggs.to_vec(),
            kinds: (aggs.iter())
                .map(|&(f, field)| (f, field == Some(FieldRef::Time)))
                .collect(),
        };
        for i in (0..merge.heap.len() / 2).rev() {
            merge.sift_down(i);
        }
        Ok(merge)
    }

    /// The next group: each by-value passed to `value(i, text)`, and its
    /// aggregates; None past the last.
    pub(super) fn next_group(
        &mut self,
        mut value: impl FnMut(usize, &str),
    ) -> io::Result<Option<Vec<AggValue>>> {
        let Some(&top) = self.heap.first() else {
            return Ok(None);
        };
        self.remove_top();
        let mut aggs = self.cursors[top].shown(&self.kinds);
        // The same group in other segments, merged on the text of what
        // their aggregates hold.
        while let Some(&other) = self.heap.first() {
            if self.cursors[other].cmp(&self.cursors[top]).is_ne() {
                break;
            }
            let more = self.cursors[other].shown(&self.kinds);
            merge_aggs(&mut aggs, more.into_iter(), &self.aggs);
            match self.cursors[other].advance()? {
                true => self.sift_down(0),
                false => self.remove_top(),
            }
        }
        let cursor = &self.cursors[top];
        for i in 0..cursor.key.len() {
            value(i, &cursor.text(i));
        }
        if self.cursors[top].advance()? {
            self.heap.push(top);
            self.sift_up(self.heap.len() - 1);
        }
        Ok(Some(aggs))
    }

    fn less(&self, a: usize, b: usize) -> bool {
        self.cursors[self.heap[a]]
            .cmp(&self.cursors[self.heap[b]])
            .is_lt()
    }

    fn remove_top(&mut self) {
        let last = self.heap.len() - 1;
        self.heap.swap(0, last);
        self.heap.pop();
        self.sift_down(0);
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut least = i;
            if l < self.heap.len() && self.less(l, least) {
                least = l;
            }
            if r < self.heap.len() && self.less(r, least) {
                least = r;
            }
            if least == i {
                return;
            }
            self.heap.swap(i, least);
            i = least;
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if !self.less(i, parent) {
                return;
            }
            self.heap.swap(i, parent);
            i = parent;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index_set::Part;
    use crate::spl::ast::{Agg, ByField};
    use crate::table::{Cell, Table};
    use tantivy::indexer::NoMergePolicy;
    use tantivy::query::{AllQuery, EnableScoring, Query as _};
    use tantivy::{Index, TantivyDocument};

    /// Records read back as written, whether they lie whole in the
    /// reader's buffer (read in place) or across its end (number by
    /// number): every kind of state, lists short and long, over buffers of
    /// several sizes.
    #[test]
    fn spilled_records_read_back_across_buffer_ends() {
        let template = vec![
            SegAgg::Count(0),
            SegAgg::Min(None),
            SegAgg::Max(None),
            SegAgg::Latest(None),
            SegAgg::Earliest(None),
            SegAgg::Set(Default::default()),
            SegAgg::Ords(Vec::new()),
        ];
        let records = OrdRecords { width: 3, template };
        let written: Vec<Record> = (0..500u64)
            .map(|i| {
                let some = i % 3 != 0;
                let key = vec![i as u32, u32::MAX - i as u32, (i * 7 % 5) as u32];
                let aggs = vec![
                    SegAgg::Count(i * 1_000_003),
                    SegAgg::Min(some.then_some(i)),
                    SegAgg::Max(some.then_some(u64::MAX - i)),
                    SegAgg::Latest(some.then_some((-(i as i64), i))),
                    SegAgg::Earliest((i % 2 == 0).then_some((i as i64, i + 1))),
                    SegAgg::Set((0..i % 5).map(|k| k * i).collect()),
                    SegAgg::Ords((0..i % 9).collect()),
                ];
                (key, aggs)
            })
            .collect();
        let mut file = tempfile::tempfile().unwrap();
        for (key, aggs) in &written {
            records.put(&mut file, key, aggs).unwrap();
        }
        let shown = |r: &Record| format!("{r:?}");
        for capacity in [8, 13, 100, 1000, 1 << 16] {
            std::io::Seek::rewind(&mut file).unwrap();
            let mut input = BufReader::with_capacity(capacity, file.try_clone().unwrap());
            let mut reader = records.clone();
            for w in &written {
                let got = sorted_runs::Records::read(&mut reader, &mut input).unwrap();
                assert_eq!(shown(&got), shown(w), "buffer of {capacity} bytes");
            }
            assert!(input.fill_buf().unwrap().is_empty());
        }
        // A count past what a state holds is damage, read either way.
        let mut bad = tempfile::tempfile().unwrap();
        records.put(&mut bad, &written[1].0, &written[1].1).unwrap();
        let mut bytes = Vec::new();
        std::io::Seek::rewind(&mut bad).unwrap();
        bad.read_to_end(&mut bytes).unwrap();
        // The first state, a count, claims two numbers.
        bytes[12..20].copy_from_slice(&2u64.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        for capacity in [8, 1 << 16] {
            let mut damaged = tempfile::tempfile().unwrap();
            damaged.write_all(&bytes).unwrap();
            std::io::Seek::rewind(&mut damaged).unwrap();
            let mut input = BufReader::with_capacity(capacity, damaged);
            let got = sorted_runs::Records::read(&mut records.clone(), &mut input);
            assert_eq!(got.unwrap_err().kind(), io::ErrorKind::InvalidData);
        }
    }

    /// Two segments of process names, hosts and process ids (many pairs in
    /// both), and documents with no host, at times around `epoch` seconds
    /// (0: on both sides of the epoch); with `long_dest`, one host listed
    /// as a long value.
    fn index(long_dest: bool, epoch: i64) -> Index {
        index_of(long_dest, epoch, 2)
    }

    /// [`index`] with `segments` segments.
    fn index_of(long_dest: bool, epoch: i64, segments: i64) -> Index {
        let s = EvidxSchema::build();
        let index = Index::create_in_ram(s.schema.clone());
        evidx_schema::grams::register_tokenizers(&index);
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(NoMergePolicy));
        let (name, _) = s.cim_field("process_name").unwrap();
        let (dest, _) = s.cim_field("dest").unwrap();
        let (pid, _) = s.cim_field("process_id").unwrap();
        for seg in 0..segments {
            for i in 0..600i64 {
                let mut doc = TantivyDocument::default();
                doc.add_text(name, format!("p{}.exe", (i * 7 + seg) % 37));
                doc.add_text(pid, format!("{}", (i * 31 + seg * 5) % 97 * 10));
                if long_dest && i == 5 {
                    doc.add_text(s.long, "dest");
                }
                if i % 13 != 0 {
                    doc.add_text(dest, format!("host-{}", (i + seg) % 11));
                }
                doc.add_i64(s.time, epoch * 1_000_000 + (i - 300 + seg * 50) * 1_000_003);
                writer.add_document(doc).unwrap();
            }
            writer.commit().unwrap();
        }
        index
    }

    fn group_by(ordinals: bool, fillnull: Option<&str>) -> GroupBy {
        let agg = |func, field: Option<&str>, column: &str| Agg {
            func,
            field: field.map(str::to_string),
            column: column.into(),
            span: 0..0,
        };
        let by = ["Processes.dest", "Processes.process_name"].map(|f| ByField::Field(f.into()));
        let pid = Some("Processes.process_id");
        let aggs = [
            agg(AggFunc::Count, None, "count"),
            agg(AggFunc::Min, Some("_time"), "first"),
            agg(AggFunc::Max, Some("_time"), "last"),
            agg(AggFunc::Count, Some("Processes.dest"), "with_dest"),
            agg(AggFunc::Values, pid, "pids"),
            agg(AggFunc::Dc, pid, "n_pids"),
            agg(AggFunc::Min, pid, "min_pid"),
            agg(AggFunc::Max, pid, "max_pid"),
            agg(AggFunc::Latest, pid, "latest_pid"),
            agg(AggFunc::Earliest, pid, "earliest_pid"),
            agg(AggFunc::Sum, pid, "sum_pid"),
            agg(AggFunc::Avg, pid, "avg_pid"),
            agg(AggFunc::Latest, Some("_time"), "latest_time"),
        ];
        GroupBy::new(&by, &aggs, fillnull).with_ordinals(ordinals)
    }

    fn table(
        ordinals: bool,
        fillnull: Option<&str>,
        budget: usize,
        threads: usize,
    ) -> (Table, bool) {
        run(
            &index(false, 0),
            &group_by(ordinals, fillnull),
            budget,
            threads,
        )
    }

    /// The table of `by` over `index`, and whether it went the ordinal way.
    fn run(index: &Index, by: &GroupBy, budget: usize, threads: usize) -> (Table, bool) {
        let (table, how) = run_ranked(index, by, budget, threads);
        (table, how.is_some())
    }

    /// The table of `by` over `index`; whether it went the ordinal way
    /// and then, whether the segments' text by-fields were ranked.
    fn run_ranked(
        index: &Index,
        by: &GroupBy,
        budget: usize,
        threads: usize,
    ) -> (Table, Option<bool>) {
        let searcher = index.reader().unwrap().searcher();
        assert!(searcher.segment_readers().len() >= 2);
        let weight = AllQuery
            .weight(EnableScoring::disabled_from_searcher(&searcher))
            .unwrap();
        let parts = [Part { searcher, weight }];
        let merged = by.collect(&parts, threads, budget).unwrap();
        let how = match &merged {
            Merged::Ordinal(m) => Some(m.cursors.iter().all(|c| c.ranked)),
            _ => None,
        };
        (by.table(merged).unwrap(), how)
    }

    /// Forty segments, each spilled run by run (ten runs each, which each
    /// segment's thread merges down to one, its share of the merge's):
    /// the table is still the text merge's.
    #[test]
    fn many_spilled_segments_give_the_text_merge_table() {
        let index = index_of(false, 0, 40);
        let by = |ordinals| group_by(ordinals, Some("null"));
        let (expected, was_ordinal) = run(&index, &by(false), 16 << 20, 1);
        assert!(!was_ordinal);
        assert!(expected.rows.len() > 100, "{} groups", expected.rows.len());
        for threads in [1, 2] {
            let (got, was_ordinal) = run(&index, &by(true), 0, threads);
            assert!(was_ordinal);
            assert!(got.rows == expected.rows, "{threads} thread(s)");
        }
    }

    /// On ordinals, held in memory or spilled run by run (a budget of 0),
    /// on one thread or two, with no fill value (documents with no host
    /// are left out) or one (a new value, one that sorts first, one that
    /// sorts last, or a host the documents have), segments merged on the
    /// by-values' ranks or (no room for ranks) on their bytes: the table
    /// of the merge on the values' text.
    #[test]
    fn the_ordinal_merge_gives_the_table_of_the_text_merge() {
        for fillnull in [None, Some("null"), Some(""), Some("zzz"), Some("host-3")] {
            let (expected, was_ordinal) = table(false, fillnull, 16 << 20, 1);
            assert!(!was_ordinal);
            assert!(expected.rows.len() > 100, "{} groups", expected.rows.len());
            // Negative times, and groups found in both segments (a pair of
            // values is in at most two documents of one).
            assert!(expected.rows.iter().any(|r| r[3].0[0].starts_with('-')));
            let count = |r: &Vec<Cell>| r[2].0[0].parse::<u32>().unwrap();
            assert!(expected.rows.iter().any(|r| count(r) > 2));
            let filled = expected
                .rows
                .iter()
                .filter(|r| Some(r[0].0[0].as_str()) == fillnull);
            match fillnull {
                None => assert_eq!(filled.count(), 0),
                // The documents with no host joined the groups of host-3.
                Some("host-3") => assert!(filled.map(count).sum::<u32>() > 1200 / 11 + 20),
                Some(_) => assert!(filled.count() > 10),
            }
            for (budget, threads) in [
                (16 << 20, 1),
                (16 << 20, 2),
                (0, 1),
                (0, 2),
                (2048, 2),
                (65536, 2),
            ] {
                let by = group_by(true, fillnull);
                let (got, how) = run_ranked(&index(false, 0), &by, budget, threads);
                match budget {
                    0 => assert_eq!(how, Some(false), "no room to rank"),
                    16_777_216 => assert_eq!(how, Some(true), "ranked"),
                    _ => assert!(how.is_some()),
                }
                assert_eq!(got.columns, expected.columns);
                let differs = (got.rows.iter().zip(&expected.rows)).position(|(a, b)| a != b);
                assert!(
                    differs.is_none() && got.rows.len() == expected.rows.len(),
                    "fill {fillnull:?}, budget {budget}, {threads} thread(s): {} rows, {} \
                     expected, the first difference at {differs:?}: {:?}, expected {:?}",
                    got.rows.len(),
                    expected.rows.len(),
                    differs.map(|i| &got.rows[i..(i + 3).min(got.rows.len())]),
                    differs.map(|i| &expected.rows[i..(i + 3).min(expected.rows.len())]),
                );
            }
        }
    }

    /// A group-by by `_time`, or by a field with a value too long for its
    /// fast column, goes the general way.
    #[test]
    fn other_group_bys_merge_on_text() {
        let by = |by: &str, func, field: &str| {
            let by = match by {
                "_time" => ByField::Time {
                    span_secs: Some(60),
                },
                f => ByField::Field(f.into()),
            };
            let agg = Agg {
                func,
                field: Some(field.into()),
                column: "x".into(),
                span: 0..0,
            };
            GroupBy::new(&[by], &[agg], None)
        };
        let (dest, name) = ("Processes.dest", "Processes.process_name");
        for long_dest in [false, true] {
            let index = index(long_dest, 0);
            let searcher = index.reader().unwrap().searcher();
            let readers: Vec<&SegmentReader> = searcher.segment_readers().iter().collect();
            assert!(applies(&group_by(true, Some("null")), &readers) != long_dest);
            for func in [
                AggFunc::Count,
                AggFunc::Values,
                AggFunc::Min,
                AggFunc::Latest,
            ] {
                assert!(applies(&by(dest, func, name), &readers) != long_dest);
                assert!(applies(&by(name, func, dest), &readers));
                assert!(!applies(&by("_time", func, name), &readers));
            }
            assert!(applies(&by(name, AggFunc::Max, "_time"), &readers));
        }
    }

    /// `_time` buckets of ten digits go the ordinal way, by themselves or
    /// with text, and sort as their text; others (around the epoch) do not.
    #[test]
    fn time_buckets_of_ten_digits_merge_on_ordinals() {
        let recent = index(false, 1_700_000_000);
        let by = |ordinals: bool, span: i64, text_first: bool| {
            let time = ByField::Time {
                span_secs: Some(span),
            };
            let dest = ByField::Field("Processes.dest".into());
            let by = match text_first {
                true => [dest, time],
                false => [time, dest],
            };
            let agg = Agg {
                func: AggFunc::Values,
                field: Some("Processes.process_name".into()),
                column: "names".into(),
                span: 0..0,
            };
            GroupBy::new(&by, &[agg], Some("none")).with_ordinals(ordinals)
        };
        for (span, text_first) in [(1, false), (60, true), (3600, false)] {
            let (expected, _) = run(&recent, &by(false, span, text_first), 16 << 20, 1);
            assert!(expected.rows.len() > 10, "{} rows", expected.rows.len());
            for (budget, threads) in [(16 << 20, 2), (0, 1), (4096, 2)] {
                let (got, was_ordinal) = run(&recent, &by(true, span, text_first), budget, threads);
                assert!(was_ordinal, "span {span}");
                assert!(got.rows == expected.rows, "span {span}, budget {budget}");
            }
        }
        let around_epoch = index(false, 0);
        let (_, was_ordinal) = run(&around_epoch, &by(true, 60, false), 16 << 20, 1);
        assert!(!was_ordinal);
    }
}
