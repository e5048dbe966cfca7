//! Ordinal groups: a group-by carried on term ordinals from the documents
//! to its output.
//!
//! When every by-field is a text column and every aggregate is a count or
//! a `_time` extreme, no group needs its text until it is shown. Within a
//! segment a term's ordinal orders it as its bytes do, so a segment's
//! groups sort on their ordinals, spill as runs of integers (tens of bytes
//! a group, where the values' text is hundreds) and merge back without
//! reading a dictionary. Segments meet only at the output: a k-way merge
//! compares their current groups' values as bytes, and each value is read
//! once per group shown, from a [`FlatDict`] when the segment's answer is
//! large, else from the values its groups hold, decoded in one pass.
//!
//! Any other group-by (a `_time` by-field, `fillnull_value`, `values()`,
//! a value too long for its fast column, ...) merges its segments on the
//! values' text ([`super::Merger`]).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Mutex;

use evidx_schema::EvidxSchema;
use tantivy::collector::{Collector as _, SegmentCollector as _};
use tantivy::columnar::StrColumn;
use tantivy::query::Weight;
use tantivy::{DocId, SegmentOrdinal, SegmentReader, Term};

use super::flat_dict::FlatDict;
use super::{
    decode_column, parallel, search_segment, spill_message, AggValue, CollectError, GroupBy,
    GroupSegment, Merged, SegAgg, SegSource,
};
use crate::encode::{get_u64, put_u64};
use crate::field::FieldRef;
use crate::memory::STRING_BYTES;
use crate::sorted_runs::{self, Runs, FAN_IN};
use crate::spl::ast::AggFunc;

/// Whether the group-by goes the ordinal way over `segments`: by-fields
/// that are all text, aggregates that are all counts or `_time` extremes,
/// no fill value, and no by-value cut in its fast column (its full text,
/// from the doc store, would not sort as its ordinal does).
pub(super) fn applies(by: &GroupBy, segments: &[&SegmentReader]) -> bool {
    let text_by = |f: &FieldRef| !matches!(f, FieldRef::Time);
    let counted = |(func, field): &(AggFunc, Option<FieldRef>)| match func {
        AggFunc::Count => true,
        AggFunc::Min | AggFunc::Max => matches!(field, Some(FieldRef::Time)),
        _ => false,
    };
    if by.by.is_empty()
        || by.fillnull.is_some()
        || !by.by.iter().all(|(f, _)| text_by(f))
        || !by.aggs.iter().all(counted)
    {
        return false;
    }
    segments
        .iter()
        .all(|reader| no_cut_values(by, reader).unwrap_or(false))
}

/// True when no by-field of `reader` holds a value cut in its fast column,
/// and its ordinals fit in a `u32`.
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
        let terms = SegSource::open(reader, field, 1)?.cardinality();
        if terms.is_none_or(|n| n >= u64::from(u32::MAX)) {
            return Ok(false);
        }
    }
    Ok(true)
}

impl GroupBy {
    /// [`GroupBy::collect`] the ordinal way (see [`applies`]). Each
    /// segment's table spills as a sorted run of ordinals whenever it
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
            let mut runs = Runs::new(OrdRecords::new(&seg));
            let mut spilled = Ok(());
            search_segment(reader, weight, &mut |docs: &[DocId]| {
                seg.collect_block(docs);
                if seg.heap_bytes() > table_budget && spilled.is_ok() {
                    spilled = seg.take_sorted().write(&runs).and_then(|r| runs.push(r));
                }
            })?;
            spilled.map_err(spill)?;
            let sorted = seg.finish_sorted(runs, &held).map_err(spill)?;
            let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
            done[ord] = Some(sorted);
            drop(done);
            crate::memory::release_if_over();
            Ok::<(), tantivy::TantivyError>(())
        })?;
        let done = done.into_inner().unwrap_or_else(|p| p.into_inner());
        Ok(Merged::Ordinal(OrdinalMerge::new(
            done.into_iter().flatten().collect(),
        )?))
    }
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
}

/// Groups of one segment sorted on their keys: `keys[g * width + i]` is
/// the ordinal (or, once decoded, the value id) of by-field `i` in group
/// `g`, `aggs[g * n_aggs + j]` its aggregate `j`.
struct SortedTable {
    width: usize,
    n_aggs: usize,
    keys: Vec<u32>,
    aggs: Vec<SegAgg>,
}

impl SortedTable {
    fn len(&self) -> usize {
        self.keys.len().checked_div(self.width).unwrap_or(0)
    }

    fn heap_bytes(&self) -> usize {
        self.keys.len() * 4 + self.aggs.len() * std::mem::size_of::<SegAgg>()
    }

    /// Write the table as a run.
    fn write(self, runs: &Runs<OrdRecords>) -> io::Result<sorted_runs::Run> {
        let records = runs.records();
        let groups = (self.keys.chunks(self.width)).zip(self.aggs.chunks(self.n_aggs.max(1)));
        sorted_runs::write(groups, |out, (key, aggs)| records.put(out, key, aggs))
    }
}

impl GroupSegment {
    /// The groups collected so far, sorted on their ordinals, leaving the
    /// table empty.
    fn take_sorted(&mut self) -> SortedTable {
        let (width, n_aggs) = (self.by_cols.len(), self.aggs.len());
        let mut order: Vec<u32> = (0..self.table.len() as u32).collect();
        // Each key's ordinals packed into one u128 when they fit (they
        // mostly do: a 9-field key of a large segment takes about 100
        // bits), so the sort compares integers held side by side.
        let bits: Vec<u32> = (self.by_cols.iter())
            .map(|c| u64::BITS - c.cardinality().unwrap_or(u64::MAX).leading_zeros())
            .collect();
        if bits.iter().sum::<u32>() <= u128::BITS {
            let mut packed: Vec<(u128, u32)> = order
                .iter()
                .map(|&g| {
                    let key = self.table.key(g as usize).iter().zip(&bits);
                    let k = key.fold(0u128, |acc, (&o, &b)| (acc << b) | u128::from(o));
                    (k, g)
                })
                .collect();
            packed.sort_unstable();
            order = packed.into_iter().map(|(_, g)| g).collect();
        } else {
            order.sort_unstable_by(|&a, &b| {
                self.table.key(a as usize).cmp(self.table.key(b as usize))
            });
        }
        let mut keys = Vec::with_capacity(order.len() * width);
        let mut aggs = Vec::with_capacity(order.len() * n_aggs);
        for &g in &order {
            // Ordinals are below the column's term count (checked to fit).
            keys.extend(self.table.key(g as usize).iter().map(|&o| o as u32));
            let g = g as usize;
            aggs.extend_from_slice(&self.states[g * n_aggs..(g + 1) * n_aggs]);
        }
        self.table.clear();
        self.states.clear();
        self.first_doc.clear();
        self.held_ords = 0;
        SortedTable {
            width,
            n_aggs,
            keys,
            aggs,
        }
    }

    /// The segment's groups once searched: held in memory with their
    /// values decoded when they fit what `held` has left, else in runs
    /// with the segment's dictionaries to read their values from.
    fn finish_sorted(
        &mut self,
        mut runs: Runs<OrdRecords>,
        held: &Held,
    ) -> io::Result<SortedSegment> {
        let table = self.take_sorted();
        if runs.is_empty() {
            if let Some((ids, values)) = self.decode(&table, held.left()) {
                let values: Vec<Values> = values.into_iter().map(Values::packed).collect();
                let text: usize = values.iter().map(Values::heap_bytes).sum();
                if held.take(table.heap_bytes() + text) {
                    let table = SortedTable { keys: ids, ..table };
                    return Ok(SortedSegment {
                        groups: GroupSource::Memory { table, next: 0 },
                        values,
                    });
                }
            }
        }
        if table.len() > 0 {
            runs.push(table.write(&runs)?)?;
        }
        // Each dictionary in memory while the search's share allows, else
        // written out flat.
        let values = (self.by_cols.iter())
            .map(|col| match col {
                SegSource::Str(c) => match all_terms(c, held)? {
                    Some(values) => Ok(values),
                    None => FlatDict::build(c).map(Values::Flat),
                },
                _ => Ok(Values::packed(Vec::new())),
            })
            .collect::<io::Result<_>>()?;
        Ok(SortedSegment {
            groups: GroupSource::Runs(runs),
            values,
        })
    }
}

impl GroupSegment {
    /// The table's keys as ids into each by-field's distinct values, and
    /// those values, decoded in one pass per column; None when their text
    /// passes `cap` bytes.
    fn decode(&self, table: &SortedTable, cap: usize) -> Option<(Vec<u32>, Vec<Vec<String>>)> {
        let width = table.width;
        let mut left = cap;
        let mut ids = vec![0u32; table.keys.len()];
        let mut values = Vec::with_capacity(width);
        for (i, col) in self.by_cols.iter().enumerate() {
            let parts = table
                .keys
                .iter()
                .skip(i)
                .step_by(width)
                .map(|&o| u64::from(o));
            let (dict, col_ids) = decode_column(col, None, parts, left)?;
            left = left.checked_sub(dict.iter().map(|v| v.len() + STRING_BYTES).sum())?;
            for (g, id) in col_ids.into_iter().enumerate() {
                ids[g * width + i] = id;
            }
            values.push(dict);
        }
        Some((ids, values))
    }
}

/// Every term of `col`'s dictionary, by ordinal, in memory; None when
/// they would pass what `held` has left.
fn all_terms(col: &StrColumn, held: &Held) -> io::Result<Option<Values>> {
    let cap = held.left().min(u32::MAX as usize);
    let mut stream = col.dictionary().stream()?;
    let (mut text, mut ends) = (String::new(), Vec::new());
    while stream.advance() {
        // Ordinals are the stream's positions: a gap would shift them.
        if stream.term_ord() != ends.len() as u64 {
            return Err(io::Error::other("dictionary stream skipped an ordinal"));
        }
        match std::str::from_utf8(stream.key()) {
            Ok(term) => text.push_str(term),
            Err(_) => text.push_str(&String::from_utf8_lossy(stream.key())),
        }
        ends.push(text.len() as u32);
        if text.len() + ends.len() * 4 > cap {
            return Ok(None);
        }
    }
    let values = Values::Packed { text, ends };
    Ok(held.take(values.heap_bytes()).then_some(values))
}

/// One segment's groups, sorted, and where its by-values are read.
struct SortedSegment {
    groups: GroupSource,
    values: Vec<Values>,
}

enum GroupSource {
    /// Keys are ids into [`Values::Decoded`]; `next` is the next group.
    Memory {
        table: SortedTable,
        next: usize,
    },
    /// Keys are ordinals.
    Runs(Runs<OrdRecords>),
    Merge(sorted_runs::Merge<OrdRecords>),
}

/// One by-field's values in a segment, by ordinal (or by id, for a
/// table held in memory).
enum Values {
    /// One after another: value `i` ends at `ends[i]`.
    Packed { text: String, ends: Vec<u32> },
    /// Written out flat, for a dictionary too large to hold.
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
        Values::Packed { text, ends }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Values::Packed { text, ends } => text.len() + ends.len() * 4,
            Values::Flat(_) => 0,
        }
    }

    /// Value `id` as text (a value written out flat is checked here).
    fn text(&self, id: u32) -> Cow<'_, str> {
        match self {
            Values::Packed { text, ends } => {
                let id = id as usize;
                let start = id.checked_sub(1).map_or(0, |i| ends[i] as usize);
                Cow::Borrowed(text.get(start..ends[id] as usize).unwrap_or_default())
            }
            Values::Flat(flat) => {
                let bytes = flat.term(u64::from(id)).unwrap_or_default();
                match std::str::from_utf8(bytes) {
                    Ok(text) => Cow::Borrowed(text),
                    // Terms are UTF-8 unless the index is damaged; checking
                    // is much cheaper than a lossy conversion.
                    Err(_) => String::from_utf8_lossy(bytes),
                }
            }
        }
    }

    /// Value `id` as bytes, to compare.
    fn get(&self, id: u32) -> &[u8] {
        match self {
            Values::Packed { text, ends } => {
                let id = id as usize;
                let start = id.checked_sub(1).map_or(0, |i| ends[i] as usize);
                text.as_bytes()
                    .get(start..ends[id] as usize)
                    .unwrap_or_default()
            }
            Values::Flat(flat) => flat.term(u64::from(id)).unwrap_or_default(),
        }
    }
}

/// How a run of ordinal groups is written and read: each by-field's
/// ordinal (4 bytes), then each aggregate's state.
#[derive(Clone)]
pub(super) struct OrdRecords {
    width: usize,
    funcs: Vec<AggFunc>,
}

impl OrdRecords {
    fn new(seg: &GroupSegment) -> Self {
        OrdRecords {
            width: seg.by_cols.len(),
            funcs: seg.aggs.iter().map(|(f, _)| *f).collect(),
        }
    }

    fn put(&self, mut out: &mut dyn Write, key: &[u32], aggs: &[SegAgg]) -> io::Result<()> {
        for &k in key {
            out.write_all(&k.to_le_bytes())?;
        }
        for a in aggs {
            match a {
                SegAgg::Count(n) => put_u64(&mut out, *n)?,
                SegAgg::Min(None) | SegAgg::Max(None) => out.write_all(&[0])?,
                SegAgg::Min(Some(t)) | SegAgg::Max(Some(t)) => {
                    out.write_all(&[1])?;
                    put_u64(&mut out, *t)?;
                }
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "an aggregate the ordinal group-by does not hold",
                    ))
                }
            }
        }
        Ok(())
    }
}

impl sorted_runs::Records for OrdRecords {
    type Key = Vec<u32>;
    type Value = Vec<SegAgg>;

    fn read(&mut self, input: &mut BufReader<File>) -> io::Result<(Vec<u32>, Vec<SegAgg>)> {
        let mut key = Vec::with_capacity(self.width);
        let mut b = [0u8; 4];
        for _ in 0..self.width {
            input.read_exact(&mut b)?;
            key.push(u32::from_le_bytes(b));
        }
        let mut aggs = Vec::with_capacity(self.funcs.len());
        for f in &self.funcs {
            aggs.push(match f {
                AggFunc::Count => SegAgg::Count(get_u64(input)?),
                f => {
                    let mut tag = [0u8];
                    input.read_exact(&mut tag)?;
                    let t = match tag[0] {
                        0 => None,
                        _ => Some(get_u64(input)?),
                    };
                    match f {
                        AggFunc::Min => SegAgg::Min(t),
                        _ => SegAgg::Max(t),
                    }
                }
            });
        }
        Ok((key, aggs))
    }

    fn write(&self, out: &mut dyn Write, key: &Vec<u32>, aggs: &Vec<SegAgg>) -> io::Result<()> {
        self.put(out, key, aggs)
    }

    fn combine(&self, earlier: &mut Vec<SegAgg>, later: Vec<SegAgg>) {
        combine(earlier, &later)
    }
}

/// Combine the states of one group from two tables: counts add, `_time`
/// extremes (raw microseconds) compare as signed.
fn combine(acc: &mut [SegAgg], later: &[SegAgg]) {
    for (a, b) in acc.iter_mut().zip(later) {
        match (a, b) {
            (SegAgg::Count(x), SegAgg::Count(y)) => *x += y,
            (SegAgg::Min(x), SegAgg::Min(Some(y))) => {
                *x = Some(x.map_or(*y, |x| (x as i64).min(*y as i64) as u64))
            }
            (SegAgg::Max(x), SegAgg::Max(Some(y))) => {
                *x = Some(x.map_or(*y, |x| (x as i64).max(*y as i64) as u64))
            }
            _ => {}
        }
    }
}

/// A group's merged state as the output shows it.
fn shown(a: SegAgg) -> AggValue {
    match a {
        SegAgg::Count(n) => AggValue::Count(n),
        SegAgg::Min(t) | SegAgg::Max(t) => AggValue::Time(t.map(|t| t as i64)),
        _ => AggValue::Time(None),
    }
}

/// A segment's current group in the merge.
struct Cursor {
    groups: GroupSource,
    values: Vec<Values>,
    key: Vec<u32>,
    aggs: Vec<SegAgg>,
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
                self.aggs.extend_from_slice(&table.aggs[g * n..(g + 1) * n]);
            }
            GroupSource::Merge(merge) => match merge.next_group()? {
                Some((key, aggs)) => (self.key, self.aggs) = (key, aggs),
                None => return Ok(false),
            },
            GroupSource::Runs(_) => return Ok(false),
        }
        Ok(true)
    }

    fn value(&self, i: usize) -> &[u8] {
        self.values[i].get(self.key[i])
    }

    /// Byte order of the by-values, field by field.
    fn cmp(&self, other: &Cursor) -> Ordering {
        (0..self.key.len())
            .map(|i| self.value(i).cmp(other.value(i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

/// The groups of every segment, merged in by-field order: a min-heap of
/// the segments' cursors, compared on their current values.
pub struct OrdinalMerge {
    cursors: Vec<Cursor>,
    heap: Vec<usize>,
}

impl OrdinalMerge {
    fn new(segments: Vec<SortedSegment>) -> io::Result<Self> {
        // The segments' runs are read at once: FAN_IN in all, at least one
        // per segment.
        let spilled = (segments.iter())
            .filter(|s| matches!(s.groups, GroupSource::Runs(_)))
            .count();
        let most = (FAN_IN / spilled.max(1)).max(1);
        let mut cursors = Vec::with_capacity(segments.len());
        for seg in segments {
            let groups = match seg.groups {
                GroupSource::Runs(runs) => GroupSource::Merge(runs.merge_within(most)?),
                groups => groups,
            };
            let mut cursor = Cursor {
                groups,
                values: seg.values,
                key: Vec::new(),
                aggs: Vec::new(),
            };
            if cursor.advance()? {
                cursors.push(cursor);
            }
        }
        let mut merge = OrdinalMerge {
            heap: (0..cursors.len()).collect(),
            cursors,
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
        let mut aggs = std::mem::take(&mut self.cursors[top].aggs);
        // The same group in other segments.
        while let Some(&other) = self.heap.first() {
            if self.cursors[other].cmp(&self.cursors[top]).is_ne() {
                break;
            }
            combine(&mut aggs, &self.cursors[other].aggs);
            match self.cursors[other].advance()? {
                true => self.sift_down(0),
                false => self.remove_top(),
            }
        }
        let cursor = &self.cursors[top];
        for (i, (values, &id)) in cursor.values.iter().zip(&cursor.key).enumerate() {
            value(i, &values.text(id));
        }
        if self.cursors[top].advance()? {
            self.heap.push(top);
            self.sift_up(self.heap.len() - 1);
        }
        Ok(Some(aggs.into_iter().map(shown).collect()))
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
    use crate::table::Table;
    use tantivy::indexer::NoMergePolicy;
    use tantivy::query::{AllQuery, EnableScoring, Query as _};
    use tantivy::{Index, TantivyDocument};

    /// Two segments of process names and hosts (many pairs in both), at
    /// times on both sides of the epoch, and documents with no host.
    fn index() -> Index {
        let s = EvidxSchema::build();
        let index = Index::create_in_ram(s.schema.clone());
        evidx_schema::grams::register_tokenizers(&index);
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(NoMergePolicy));
        let (name, _) = s.cim_field("process_name").unwrap();
        let (dest, _) = s.cim_field("dest").unwrap();
        for seg in 0..2i64 {
            for i in 0..600i64 {
                let mut doc = TantivyDocument::default();
                doc.add_text(name, format!("p{}.exe", (i * 7 + seg) % 37));
                if i % 13 != 0 {
                    doc.add_text(dest, format!("host-{}", (i + seg) % 11));
                }
                doc.add_i64(s.time, (i - 300 + seg * 50) * 1_000_003);
                writer.add_document(doc).unwrap();
            }
            writer.commit().unwrap();
        }
        index
    }

    fn group_by(ordinals: bool) -> GroupBy {
        let agg = |func, field: Option<&str>, column: &str| Agg {
            func,
            field: field.map(str::to_string),
            column: column.into(),
            span: 0..0,
        };
        let by = ["Processes.dest", "Processes.process_name"].map(|f| ByField::Field(f.into()));
        let aggs = [
            agg(AggFunc::Count, None, "count"),
            agg(AggFunc::Min, Some("_time"), "first"),
            agg(AggFunc::Max, Some("_time"), "last"),
            agg(AggFunc::Count, Some("Processes.dest"), "with_dest"),
        ];
        GroupBy::new(&by, &aggs, None).with_ordinals(ordinals)
    }

    fn table(ordinals: bool, budget: usize, threads: usize) -> (Table, bool) {
        let index = index();
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.segment_readers().len(), 2);
        let weight = AllQuery
            .weight(EnableScoring::disabled_from_searcher(&searcher))
            .unwrap();
        let parts = [Part { searcher, weight }];
        let by = group_by(ordinals);
        let merged = by.collect(&parts, threads, budget).unwrap();
        let was_ordinal = matches!(merged, Merged::Ordinal(_));
        (by.table(merged).unwrap(), was_ordinal)
    }

    /// On ordinals, held in memory or spilled run by run (a budget of 0),
    /// on one thread or two: the table of the merge on the values' text.
    #[test]
    fn the_ordinal_merge_gives_the_table_of_the_text_merge() {
        let (expected, was_ordinal) = table(false, 16 << 20, 1);
        assert!(!was_ordinal);
        assert!(expected.rows.len() > 100, "{} groups", expected.rows.len());
        // Negative times, and groups found in both segments (a pair of
        // values is in at most two documents of one).
        assert!(expected.rows.iter().any(|r| r[3].0[0].starts_with('-')));
        assert!(expected
            .rows
            .iter()
            .any(|r| r[2].0[0].parse::<u32>().unwrap() > 2));
        for (budget, threads) in [(16 << 20, 1), (16 << 20, 2), (0, 1), (0, 2), (2048, 2)] {
            let (got, was_ordinal) = table(true, budget, threads);
            assert!(was_ordinal);
            assert_eq!(got.columns, expected.columns);
            assert_eq!(
                got.rows, expected.rows,
                "budget {budget}, {threads} thread(s)"
            );
        }
    }

    /// What the ordinal merge does not hold goes the general way.
    #[test]
    fn other_group_bys_merge_on_text() {
        let index = index();
        let searcher = index.reader().unwrap().searcher();
        let readers: Vec<&SegmentReader> = searcher.segment_readers().iter().collect();
        assert!(applies(&group_by(true), &readers));
        let by = |by: ByField, func, fillnull: Option<&str>| {
            let agg = Agg {
                func,
                field: Some("Processes.process_name".into()),
                column: "x".into(),
                span: 0..0,
            };
            GroupBy::new(&[by], &[agg], fillnull)
        };
        let dest = || ByField::Field("Processes.dest".into());
        assert!(applies(&by(dest(), AggFunc::Count, None), &readers));
        assert!(!applies(
            &by(dest(), AggFunc::Count, Some("none")),
            &readers
        ));
        assert!(!applies(&by(dest(), AggFunc::Values, None), &readers));
        assert!(!applies(&by(dest(), AggFunc::Min, None), &readers));
        let time = ByField::Time {
            span_secs: Some(60),
        };
        assert!(!applies(&by(time, AggFunc::Count, None), &readers));
    }
}
