//! Collect: tstats grouping and aggregation as a tantivy [`Collector`] over
//! fast-field columns, at a cost that follows the matching documents and the
//! distinct values, not the strings:
//!
//! - Per segment, a group key is a tuple of term ordinals (or time buckets)
//!   in a flat [`key_table::KeyTable`]; documents are read in blocks
//!   (`collect_block`) and aggregated without loading a stored document.
//! - At harvest, each column's distinct ordinals are sorted and decoded in
//!   one streaming pass over its dictionary (random ordinal lookups in the
//!   sstable dictionary were the largest cost of a wide group-by). A
//!   segment with a large answer is harvested in pieces cut in the order
//!   of its largest dictionary, and once its harvests have decoded a good
//!   share of a dictionary, the rest are read from a flat copy
//!   ([`flat_dict`]).
//! - Segments merge on interned value ids: a string is hashed once per
//!   distinct value and segment, not once per group.
//! - A group-by by text fields and `_time` (most detections) needs no
//!   value's text before it is shown: it goes from the documents to the
//!   output on ordinals, and its segments meet only there ([`ordinal`]).
//! - [`KeyFilter`]s, predicates on one by-field that a later command would
//!   apply anyway (`| regex process=...`, `| where match(process, ...)`),
//!   are evaluated once per distinct value of the segment, and documents
//!   whose group would be filtered out are never grouped.

mod flat_dict;
mod global_ranks;
mod key_table;
mod ordinal;
mod parallel;
mod spill;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use evidx_schema::layout::{stored_full_value, TIME};
use evidx_schema::terms::{is_cut, push_i64, push_u64};
use evidx_schema::EvidxSchema;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::Weight;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, TantivyDocument};

use crate::exact_sum::ExactSum;
use crate::field::{resolve_field, FieldRef};
use crate::index_set::Part;
use crate::memory::{Pacer, PACE, STRING_BYTES};
use crate::num::{format_num, parse_num};
use crate::spl::ast::{Agg, AggFunc, ByField};
use crate::table::{Cell, Table};
use flat_dict::FlatDict;
use key_table::KeyTable;
use parallel::Mergers;

/// Groups in the first piece of a segment's harvest (see
/// `GroupSegment::flush`).
const FIRST_PIECE_GROUPS: usize = 64;

/// Blocks (of up to 64 documents), or values read for a filter's verdict,
/// between two checks of the index pages the process holds
/// ([`crate::memory::release_if_over`]).
const RELEASE_EVERY: u32 = 64;

/// Ordinal used for "no value" in a group key.
const NULL: u64 = u64::MAX;
/// Interned id of "no value".
const NULL_ID: u32 = u32::MAX;
const MICROS: i64 = 1_000_000;

/// A test of one value, with whatever state (compiled patterns, caches) it
/// keeps within one segment.
pub type Predicate = Box<dyn FnMut(&str) -> bool>;

/// A predicate on the value of one by-field, pushed down from a command
/// after tstats. A group whose value fails it is dropped; the command still
/// runs on the result, so a filter only saves work and never changes it.
#[derive(Clone)]
pub struct KeyFilter {
    /// Position in the tstats `by` list.
    pub by_index: usize,
    /// Makes the predicate of one segment (it may cache, compile, ...).
    pub make: Arc<dyn Fn() -> Predicate + Send + Sync>,
}

impl std::fmt::Debug for KeyFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyFilter(by #{})", self.by_index)
    }
}

/// The tstats `by` + aggregates, as a collector.
pub struct GroupBy {
    /// Each by-field and its time bucket in seconds (1 unless `span=`).
    by: Vec<(FieldRef, i64)>,
    by_names: Vec<String>,
    /// (function, field source; None for a bare `count`).
    aggs: Vec<(AggFunc, Option<FieldRef>)>,
    agg_names: Vec<String>,
    fillnull: Option<String>,
    filters: Vec<KeyFilter>,
    /// Whether the group-by may merge on ordinals ([`ordinal`]).
    ordinals: bool,
}

impl GroupBy {
    pub fn new(by: &[ByField], aggs: &[Agg], fillnull: Option<&str>) -> Self {
        let mut by_src = Vec::new();
        let mut by_names = Vec::new();
        for b in by {
            match b {
                ByField::Field(f) => {
                    by_src.push((resolve_field(f), 1));
                    by_names.push(f.clone());
                }
                ByField::Time { span_secs } => {
                    by_src.push((FieldRef::Time, span_secs.unwrap_or(1).max(1)));
                    by_names.push("_time".into());
                }
            }
        }
        GroupBy {
            by: by_src,
            by_names,
            aggs: aggs
                .iter()
                .map(|a| (a.func, a.field.as_deref().map(resolve_field)))
                .collect(),
            agg_names: aggs.iter().map(|a| a.column.clone()).collect(),
            fillnull: fillnull.map(str::to_string),
            filters: Vec::new(),
            ordinals: true,
        }
    }

    /// Add predicates on by-field values (see [`KeyFilter`]).
    pub fn with_filters(mut self, filters: Vec<KeyFilter>) -> Self {
        self.filters = filters;
        self
    }

    /// Let the group-by merge on term ordinals when it can ([`ordinal`]),
    /// or make it merge on the values' text; the answer is the same.
    pub fn with_ordinals(mut self, on: bool) -> Self {
        self.ordinals = on;
        self
    }

    /// True when by-field `i` is a CIM string field (filters apply to those).
    pub fn by_is_text(&self, i: usize) -> bool {
        matches!(self.by.get(i), Some((FieldRef::Cim(_), _)))
    }

    /// The CIM field of by-field `i`, if it is one.
    pub fn by_cim(&self, i: usize) -> Option<evidx_schema::Cim> {
        match self.by.get(i) {
            Some((FieldRef::Cim(c), _)) => Some(*c),
            _ => None,
        }
    }
}

/// An aggregate's merged state, keyed by strings (segment-independent).
#[derive(Clone, Debug)]
enum AggValue {
    Count(u64),
    /// min/max of `_time`, in microseconds.
    Time(Option<i64>),
    /// min/max/latest/earliest: (sort key time or value, text).
    Extreme(Option<(Ordered, String)>),
    Set(BTreeSet<String>),
    /// sum/avg: exact, so that segments and runs merge in any order.
    Sum {
        sum: ExactSum,
        n: u64,
    },
}

/// A value ordered as Splunk compares: numbers numerically, then text.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum Ordered {
    Num(f64),
    Text(String),
}

fn ordered(s: &str) -> Ordered {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ordered::Num(n),
        _ => Ordered::Text(s.to_string()),
    }
}

/// Groups of one segment, or merged: each by-field's distinct values, and
/// per group its key (value ids, [`NULL_ID`] for null) and aggregates.
#[derive(Debug, Default)]
pub struct Groups {
    /// `values[i][id]`: the text of value `id` of by-field `i`.
    values: Vec<Vec<String>>,
    /// `keys[g * width + i]`: value id of by-field `i` in group `g`.
    keys: Vec<u32>,
    /// `aggs[g * n_aggs + j]`.
    aggs: Vec<AggValue>,
    len: usize,
}

impl Groups {
    /// About how many bytes of heap the table holds (to keep a merge within
    /// its budget; an overestimate is fine).
    fn heap_bytes(&self) -> usize {
        const STRING: usize = std::mem::size_of::<String>();
        let values: usize = self.values.iter().flatten().map(|v| v.len() + STRING).sum();
        let aggs: usize = self
            .aggs
            .iter()
            .map(|a| {
                std::mem::size_of::<AggValue>()
                    + match a {
                        AggValue::Extreme(Some((Ordered::Text(t), s))) => t.len() + s.len(),
                        AggValue::Extreme(Some((_, s))) => s.len(),
                        // A B-tree node (room for 11 values), and each string.
                        AggValue::Set(set) => {
                            12 * STRING + set.iter().map(|v| v.len() + 2 * STRING).sum::<usize>()
                        }
                        _ => 0,
                    }
            })
            .sum();
        // Each group also has a key in the merge's key table.
        values + aggs + self.keys.len() * (4 + 8) + self.len * 8
    }

    /// The groups shown (every by-value present), sorted by by-field
    /// values (byte order, compared field by field).
    fn sorted_order(&self, width: usize) -> Vec<u32> {
        // Rank of each value id in byte order, so rows sort on integers.
        let ranks: Vec<Vec<u32>> = self
            .values
            .iter()
            .map(|dict| {
                let mut order: Vec<u32> = (0..dict.len() as u32).collect();
                order.sort_unstable_by(|&a, &b| dict[a as usize].cmp(&dict[b as usize]));
                let mut rank = vec![0u32; dict.len()];
                for (r, &id) in order.iter().enumerate() {
                    rank[id as usize] = r as u32;
                }
                rank
            })
            .collect();
        let key = |g: u32| &self.keys[g as usize * width..(g as usize + 1) * width];
        let shown: Vec<u32> = (0..self.len as u32)
            .filter(|&g| key(g).iter().all(|&k| k != NULL_ID))
            .collect();
        let rank = |g: u32| key(g).iter().zip(&ranks).map(|(&id, r)| r[id as usize]);
        // Each group's ranks packed into one u128, most significant field
        // first, when they fit (a 9-field key of 387 K groups takes about
        // 130 bits, most keys far fewer): the sort compares integers held
        // next to each other instead of following ids into rank tables.
        let bits: Vec<u32> = ranks
            .iter()
            .map(|r| u32::BITS - (r.len() as u32).leading_zeros())
            .collect();
        if bits.iter().sum::<u32>() <= u128::BITS {
            let mut packed: Vec<(u128, u32)> = shown
                .into_iter()
                .map(|g| {
                    let k = rank(g)
                        .zip(&bits)
                        .fold(0u128, |acc, (r, &b)| (acc << b) | u128::from(r));
                    (k, g)
                })
                .collect();
            packed.sort_unstable();
            return packed.into_iter().map(|(_, g)| g).collect();
        }
        // Wider keys: the ranks of each shown group side by side.
        let ranked: Vec<u32> = shown.iter().flat_map(|&g| rank(g)).collect();
        let ranked = |i: usize| &ranked[i * width..(i + 1) * width];
        let mut order: Vec<usize> = (0..shown.len()).collect();
        order.sort_unstable_by(|&a, &b| ranked(a).cmp(ranked(b)));
        order.into_iter().map(|i| shown[i]).collect()
    }
}

/// Per-segment columns.
enum SegSource {
    Str(StrColumn),
    Time(Column<i64>, i64),
    None,
}

impl SegSource {
    /// The column of `field`; `_time` in buckets of `span` seconds.
    fn open(reader: &SegmentReader, field: FieldRef, span: i64) -> tantivy::Result<SegSource> {
        Ok(match field {
            FieldRef::Time => SegSource::Time(reader.fast_fields().i64(TIME)?, span),
            FieldRef::Cim(_) | FieldRef::Meta(_) | FieldRef::Unknown => match field.text_column() {
                Some(name) => reader
                    .fast_fields()
                    .str(name)?
                    .map_or(SegSource::None, SegSource::Str),
                None => SegSource::None,
            },
        })
    }

    /// Distinct non-null values when they are ordinals.
    fn cardinality(&self) -> Option<u64> {
        match self {
            SegSource::Str(c) => Some(c.num_terms() as u64),
            SegSource::Time(..) => None,
            SegSource::None => Some(0),
        }
    }

    /// The values of `docs` into `out` (ordinals, time buckets in seconds,
    /// or raw microseconds when `raw_time`), [`NULL`] for none.
    fn fill(&self, docs: &[DocId], out: &mut Vec<u64>, raw_time: bool, tmp: &mut Vec<Option<u64>>) {
        out.clear();
        match self {
            SegSource::Str(c) => {
                tmp.clear();
                tmp.resize(docs.len(), None);
                c.ords().first_vals(docs, tmp);
                out.extend(tmp.iter().map(|v| v.unwrap_or(NULL)));
            }
            SegSource::Time(c, span) => {
                for &d in docs {
                    out.push(match c.first(d) {
                        Some(t) if raw_time => t as u64,
                        Some(t) => {
                            let secs = t.div_euclid(MICROS);
                            secs.div_euclid(*span).wrapping_mul(*span) as u64
                        }
                        None => NULL,
                    });
                }
            }
            SegSource::None => out.resize(docs.len(), NULL),
        }
    }
}

/// An aggregate's state inside one segment, on ordinals.
#[derive(Clone, Debug)]
enum SegAgg {
    Count(u64),
    /// min/max of `_time` (text columns collect a `Set`).
    Min(Option<u64>),
    Max(Option<u64>),
    /// latest/earliest: (time, ordinal or value).
    Latest(Option<(i64, u64)>),
    Earliest(Option<(i64, u64)>),
    Set(BTreeSet<u64>),
    /// sum/avg need numbers: ordinals are resolved at harvest.
    Ords(Vec<u64>),
}

/// The empty state of `f` on column `col`. min/max of text keep every
/// ordinal: ordinals order values as bytes, but Splunk compares numbers
/// numerically, so the extreme is found once they are decoded.
fn init(f: AggFunc, col: &SegSource) -> SegAgg {
    let is_time = matches!(col, SegSource::Time(..));
    match f {
        AggFunc::Count => SegAgg::Count(0),
        AggFunc::Min if is_time => SegAgg::Min(None),
        AggFunc::Max if is_time => SegAgg::Max(None),
        AggFunc::Min | AggFunc::Max => SegAgg::Set(BTreeSet::new()),
        AggFunc::Latest => SegAgg::Latest(None),
        AggFunc::Earliest => SegAgg::Earliest(None),
        AggFunc::Values | AggFunc::Dc => SegAgg::Set(BTreeSet::new()),
        AggFunc::Sum | AggFunc::Avg => SegAgg::Ords(Vec::new()),
    }
}

/// A pushed-down filter in one segment: its verdict per ordinal, computed
/// on first use (0 unknown, 1 keep, 2 drop).
struct SegFilter {
    by_index: usize,
    keep: Predicate,
    verdicts: Vec<u8>,
    null_verdict: u8,
    /// Verdicts made one ordinal at a time: past [`sweep_after`] of them,
    /// the rest are made in one pass over the dictionary.
    looked_up: usize,
}

/// Verdicts looked up one by one, in a column of `terms` distinct values
/// in a segment of `docs` documents, after which the rest are made in one
/// pass ([`GroupSegment::sweep`]). A lookup decodes a block of the
/// dictionary (a few KiB) for one value; the pass reads the by-columns of
/// every document (some 0.1 µs each) and decodes each value once. Past an
/// eighth of the values, and as many lookups as a 32nd of the documents
/// (the pass then costs about what the lookups did), a filter over a large
/// share of a segment (a `tstats` with no `where`) pays at most twice the
/// pass, and a narrow one never makes it.
fn sweep_after(terms: usize, docs: u32) -> usize {
    (terms / 8).max(docs as usize / 32).max(64)
}

pub struct GroupSegment {
    by_src: Vec<(FieldRef, i64)>,
    by_cols: Vec<SegSource>,
    aggs: Vec<(AggFunc, Option<FieldRef>)>,
    agg_cols: Vec<SegSource>,
    /// `_time` (raw), when a latest/earliest needs it.
    time: Option<SegSource>,
    fillnull: Option<String>,
    filters: Vec<SegFilter>,
    table: KeyTable,
    /// `states[slot * aggs.len() + j]`.
    states: Vec<SegAgg>,
    /// Ordinals held by the `Set` and `Ords` states.
    held_ords: usize,
    /// One document of each group, to read a value too long for its fast
    /// column from the doc store (see `evidx_schema::terms::fast_value`).
    first_doc: Vec<DocId>,
    segment: SegmentReader,
    /// Block buffers: by-values, aggregate values, key scratch.
    by_vals: Vec<Vec<u64>>,
    agg_vals: Vec<Vec<u64>>,
    key: Vec<u64>,
    tmp: Vec<Option<u64>>,
    times: Vec<u64>,
    /// Index pages are given back every few blocks or values read.
    pages: Pacer,
    /// Per by-column, the values its harvests decoded so far.
    decoded: Vec<usize>,
    /// Per by-column, its dictionary written out flat once the harvests
    /// have decoded enough of it ([`flat_dict::worth_it`]).
    flat: Vec<Option<FlatDict>>,
}

impl Collector for GroupBy {
    type Fruit = Groups;
    type Child = GroupSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<GroupSegment> {
        let by_cols: Vec<SegSource> = self
            .by
            .iter()
            .map(|&(f, span)| SegSource::open(reader, f, span))
            .collect::<tantivy::Result<_>>()?;
        let cards: Vec<Option<u64>> = by_cols.iter().map(SegSource::cardinality).collect();
        Ok(GroupSegment {
            by_src: self.by.clone(),
            aggs: self.aggs.clone(),
            agg_cols: self
                .aggs
                .iter()
                .map(|(_, f)| SegSource::open(reader, f.unwrap_or(FieldRef::Unknown), 1))
                .collect::<tantivy::Result<_>>()?,
            time: match self
                .aggs
                .iter()
                .any(|(f, _)| matches!(f, AggFunc::Latest | AggFunc::Earliest))
            {
                true => Some(SegSource::open(reader, FieldRef::Time, 1)?),
                false => None,
            },
            fillnull: self.fillnull.clone(),
            filters: self
                .filters
                .iter()
                .filter(|f| matches!(by_cols.get(f.by_index), Some(SegSource::Str(_))))
                .map(|f| SegFilter {
                    by_index: f.by_index,
                    keep: (f.make)(),
                    verdicts: Vec::new(),
                    null_verdict: 0,
                    looked_up: 0,
                })
                .collect(),
            table: KeyTable::new(&cards),
            states: Vec::new(),
            held_ords: 0,
            first_doc: Vec::new(),
            segment: reader.clone(),
            by_vals: vec![Vec::new(); self.by.len()],
            agg_vals: vec![Vec::new(); self.aggs.len()],
            key: vec![0; self.by.len()],
            tmp: Vec::new(),
            times: Vec::new(),
            pages: Pacer::new(RELEASE_EVERY),
            decoded: vec![0; by_cols.len()],
            flat: by_cols.iter().map(|_| None).collect(),
            by_cols,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Groups>) -> tantivy::Result<Groups> {
        let mut merger = Merger::new(self.by.len(), &self.aggs, usize::MAX);
        for fruit in fruits {
            merger.add(fruit)?;
        }
        Ok(merger.take())
    }
}

impl SegmentCollector for GroupSegment {
    type Fruit = Groups;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.pages.step();
        for (i, col) in self.by_cols.iter().enumerate() {
            col.fill(docs, &mut self.by_vals[i], false, &mut self.tmp);
        }
        for (j, col) in self.agg_cols.iter().enumerate() {
            col.fill(docs, &mut self.agg_vals[j], true, &mut self.tmp);
        }
        if let Some(t) = &self.time {
            t.fill(docs, &mut self.times, true, &mut self.tmp);
        }
        let n_aggs = self.aggs.len();
        let mut held = 0;
        'docs: for (d, &doc) in docs.iter().enumerate() {
            for (i, vals) in self.by_vals.iter().enumerate() {
                let v = vals[d];
                if v == NULL && self.fillnull.is_none() {
                    // Splunk drops an event whose by-field is null.
                    continue 'docs;
                }
                self.key[i] = v;
            }
            for f in 0..self.filters.len() {
                if !self.passes(f, doc) {
                    continue 'docs;
                }
            }
            let (slot, new) = self.table.slot(&self.key);
            if new {
                self.first_doc.push(doc);
                let cols = &self.agg_cols;
                self.states
                    .extend(self.aggs.iter().zip(cols).map(|((f, _), c)| init(*f, c)));
            }
            let states = &mut self.states[slot * n_aggs..(slot + 1) * n_aggs];
            for (j, state) in states.iter_mut().enumerate() {
                let v = self.agg_vals[j][d];
                let v = (v != NULL).then_some(v);
                match state {
                    SegAgg::Count(n) => {
                        if self.aggs[j].1.is_none() || v.is_some() {
                            *n += 1;
                        }
                    }
                    SegAgg::Min(m) => {
                        if let Some(v) = v {
                            *m = Some(m.map_or(v, |x| signed_min(x, v, &self.agg_cols[j])));
                        }
                    }
                    SegAgg::Max(m) => {
                        if let Some(v) = v {
                            *m = Some(m.map_or(v, |x| signed_max(x, v, &self.agg_cols[j])));
                        }
                    }
                    SegAgg::Latest(l) | SegAgg::Earliest(l) => {
                        if let Some(v) = v {
                            let t = match self.times[d] {
                                NULL => i64::MIN,
                                t => t as i64,
                            };
                            // Ties go to the larger (latest) or smaller
                            // value, as in the merge: the same answer
                            // however events fall into segments.
                            let later = matches!(self.aggs[j].0, AggFunc::Latest);
                            let replace = match *l {
                                None => true,
                                Some(old) if later => (t, v) > old,
                                Some(old) => (t, v) < old,
                            };
                            if replace {
                                *l = Some((t, v));
                            }
                        }
                    }
                    SegAgg::Set(s) => {
                        if let Some(v) = v {
                            held += usize::from(s.insert(v));
                        }
                    }
                    SegAgg::Ords(o) => {
                        if let Some(v) = v {
                            o.push(v);
                            held += 1;
                        }
                    }
                }
            }
        }
        self.held_ords += held;
    }

    fn harvest(self) -> Groups {
        let mut store = None;
        // Without a cap the harvest is never given up.
        let slots: Vec<u32> = (0..self.table.len() as u32).collect();
        let all = self.harvest_range(&slots, &mut store, usize::MAX);
        all.unwrap_or_default()
    }
}

/// The merged state of aggregate `func` from its state in a segment,
/// `text` giving the text of the ordinals it holds (of a time column, the
/// value itself is kept).
fn agg_value(
    func: AggFunc,
    is_time: bool,
    state: &SegAgg,
    text: impl Fn(u64) -> Option<String>,
) -> AggValue {
    match state {
        SegAgg::Count(n) => AggValue::Count(*n),
        SegAgg::Min(m) | SegAgg::Max(m) if is_time => AggValue::Time(m.map(|v| v as i64)),
        SegAgg::Min(m) | SegAgg::Max(m) => {
            AggValue::Extreme(m.and_then(&text).map(|s| (ordered(&s), s)))
        }
        SegAgg::Latest(l) | SegAgg::Earliest(l) => {
            AggValue::Extreme(l.and_then(|(t, v)| text(v).map(|s| (Ordered::Num(t as f64), s))))
        }
        SegAgg::Set(s) => match func {
            f @ (AggFunc::Min | AggFunc::Max) => {
                let values = s.iter().filter_map(|&v| text(v)).map(|s| (ordered(&s), s));
                AggValue::Extreme(values.reduce(|a, b| match extreme_wins(f, &b, &a) {
                    true => b,
                    false => a,
                }))
            }
            _ => AggValue::Set(s.iter().filter_map(|&v| text(v)).collect()),
        },
        SegAgg::Ords(o) => {
            let mut sum = ExactSum::default();
            let mut n = 0;
            for x in o
                .iter()
                .filter_map(|&v| text(v))
                .filter_map(|s| parse_num(&s))
            {
                sum.add(x);
                n += 1;
            }
            AggValue::Sum { sum, n }
        }
    }
}

/// Bytes of heap per ordinal held in a `Set` (a B-tree of `u64`: about
/// 11 per 192-byte node) or `Ords` state.
const HELD_ORD_BYTES: usize = 16;

/// Heap bytes a harvested string takes, as its piece's cap counts them.
fn held(s: &str) -> usize {
    s.len() + STRING_BYTES
}

/// min/max of two values of a column: time values compare as signed.
fn signed_min(a: u64, b: u64, col: &SegSource) -> u64 {
    match col {
        SegSource::Time(..) => (a as i64).min(b as i64) as u64,
        _ => a.min(b),
    }
}

fn signed_max(a: u64, b: u64, col: &SegSource) -> u64 {
    match col {
        SegSource::Time(..) => (a as i64).max(b as i64) as u64,
        _ => a.max(b),
    }
}

impl GroupSegment {
    /// Whether `doc`'s value of filter `f`'s field passes it.
    fn passes(&mut self, f: usize, doc: DocId) -> bool {
        let by = self.filters[f].by_index;
        let ord = self.key[by];
        let cached = if ord == NULL {
            self.filters[f].null_verdict
        } else {
            self.filters[f]
                .verdicts
                .get(ord as usize)
                .copied()
                .unwrap_or(0)
        };
        if cached != 0 {
            return cached == 1;
        }
        self.pages.step();
        let text = if ord == NULL {
            self.fillnull.clone()
        } else {
            self.text_of(by, ord, doc)
        };
        // A value that cannot be read is kept: the command decides.
        let verdict = if text.is_none_or(|t| (self.filters[f].keep)(&t)) {
            1
        } else {
            2
        };
        let filter = &mut self.filters[f];
        if ord == NULL {
            filter.null_verdict = verdict;
        } else {
            if filter.verdicts.is_empty() {
                if let SegSource::Str(c) = &self.by_cols[by] {
                    filter.verdicts = vec![0; c.num_terms()];
                }
            }
            if let Some(v) = filter.verdicts.get_mut(ord as usize) {
                *v = verdict;
            }
            filter.looked_up += 1;
            if filter.looked_up == sweep_after(filter.verdicts.len(), self.segment.max_doc()) {
                self.sweep(f);
            }
        }
        verdict == 1
    }

    /// Make filter `f`'s verdict of every value a document would bring
    /// that is not judged yet: one pass over the segment's by-columns finds
    /// the values of the documents the filter sees (every by-value present,
    /// unless fillnull), one pass over the dictionary tests them. The
    /// predicate sees no value a lookup would not have brought (it may
    /// cost far more than the lookup: a `split` into every word). A value
    /// cut short in its column (its full text is read from a document) or
    /// that is not UTF-8 is left to be judged when a document brings it.
    fn sweep(&mut self, f: usize) {
        /// A value a document brings, not judged yet.
        const BROUGHT: u8 = 3;
        let by = self.filters[f].by_index;
        let SegSource::Str(c) = &self.by_cols[by] else {
            return;
        };
        let Ok(mut terms) = c.dictionary().stream() else {
            return;
        };
        let verdicts = &mut self.filters[f].verdicts;
        let mut pages = Pacer::new(PACE);
        let mut vals: Vec<Vec<u64>> = vec![Vec::new(); self.by_cols.len()];
        let mut tmp = Vec::new();
        let max_doc = self.segment.max_doc();
        let mut docs: Vec<DocId> = Vec::with_capacity(64);
        for start in (0..max_doc).step_by(64) {
            pages.step();
            docs.clear();
            docs.extend(start..max_doc.min(start + 64));
            for (col, v) in self.by_cols.iter().zip(vals.iter_mut()) {
                col.fill(&docs, v, false, &mut tmp);
            }
            for d in 0..docs.len() {
                if self.fillnull.is_none() && vals.iter().any(|v| v[d] == NULL) {
                    continue;
                }
                if let Some(v) = verdicts.get_mut(vals[by][d] as usize) {
                    if *v == 0 {
                        *v = BROUGHT;
                    }
                }
            }
        }
        let SegFilter { keep, verdicts, .. } = &mut self.filters[f];
        while terms.advance() {
            pages.step();
            let Some(slot) = verdicts.get_mut(terms.term_ord() as usize) else {
                continue;
            };
            if *slot != BROUGHT {
                continue;
            }
            *slot = match std::str::from_utf8(terms.key()) {
                Ok(text) if !is_cut(text) => match keep(text) {
                    true => 1,
                    false => 2,
                },
                _ => 0,
            };
        }
        for v in verdicts.iter_mut().filter(|v| **v == BROUGHT) {
            *v = 0;
        }
    }

    /// The full text of ordinal `ord` of by-column `by`, read from `doc`'s
    /// stored document when the fast column holds a cut value.
    fn text_of(&self, by: usize, ord: u64, doc: DocId) -> Option<String> {
        let SegSource::Str(c) = &self.by_cols[by] else {
            return None;
        };
        let mut s = String::new();
        if !c.ord_to_str(ord, &mut s).ok()? {
            return None;
        }
        if is_cut(&s) {
            let mut store = None;
            if let Some(full) = self.full_value(&mut store, doc, by) {
                return Some(full);
            }
        }
        Some(s)
    }

    /// About how many bytes of heap the groups collected so far take: their
    /// keys, aggregate states and the ordinals those hold.
    fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
            + self.states.len() * std::mem::size_of::<SegAgg>()
            + self.held_ords * HELD_ORD_BYTES
            + self.first_doc.len() * std::mem::size_of::<DocId>()
    }

    /// The groups collected so far in pieces of about `piece_bytes` bytes
    /// of heap, each passed to `emit` as it is made, then an empty table. A
    /// segment with a large answer is thus never held whole, neither as
    /// ordinals nor as values: its parts merge as different segments'
    /// groups do.
    fn flush(
        &mut self,
        piece_bytes: usize,
        mut emit: impl FnMut(Groups) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let n = self.table.len();
        let piece_bytes = piece_bytes.max(1);
        let mut store = None;
        self.flatten_dictionaries();
        let order = self.piece_order();
        // The first piece is small; the next ones are sized from the bytes
        // per group of the last (values are only known once decoded), and
        // grow at most fourfold a piece. Values differ in size along a
        // segment (up to 60 kB each): a piece whose text passes the
        // budget is given up and made again, half as large.
        let (mut start, mut size) = (0, FIRST_PIECE_GROUPS);
        while start < n {
            let end = n.min(start + size);
            let cap = if end - start == 1 {
                usize::MAX
            } else {
                piece_bytes
            };
            let Some(piece) = self.harvest_range(&order[start..end], &mut store, cap) else {
                size = (end - start) / 2;
                continue;
            };
            let per_group = piece.heap_bytes() / (end - start).max(1);
            size = (piece_bytes / per_group.max(1)).min(size * 4).max(1);
            for (decoded, values) in self.decoded.iter_mut().zip(&piece.values) {
                *decoded += values.len();
            }
            emit(piece)?;
            start = end;
        }
        self.table.clear();
        self.states.clear();
        self.first_doc.clear();
        self.held_ords = 0;
        Ok(())
    }

    /// Write out flat the dictionaries of the by-columns whose harvests
    /// have decoded enough of them that the next ones would cost more than
    /// one pass. A dictionary that cannot be written out is decoded as
    /// before.
    fn flatten_dictionaries(&mut self) {
        let cols = self.by_cols.iter().zip(&self.decoded);
        for ((col, &decoded), flat) in cols.zip(self.flat.iter_mut()) {
            if let (SegSource::Str(c), None) = (col, &flat) {
                if flat_dict::worth_it(c.num_terms(), decoded) {
                    *flat = FlatDict::build(c).ok();
                }
            }
        }
    }

    /// The order in which [`Self::flush`] cuts the groups into pieces:
    /// by their ordinal in the by-column with the largest dictionary. Each
    /// piece decodes its values in one pass over the dictionary blocks that
    /// hold them; in the order groups were found, every piece of a wide
    /// group-by touched most blocks of a large column (a block decoded per
    /// value: a fifth of the search), sorted, the pieces share them out.
    fn piece_order(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.table.len() as u32).collect();
        let largest = (self.by_cols.iter().enumerate())
            .filter_map(|(i, col)| match col {
                SegSource::Str(c) => Some((c.dictionary().num_bytes(), i)),
                _ => None,
            })
            .max();
        if let Some((_, i)) = largest {
            order.sort_unstable_by_key(|&slot| (self.table.key(slot as usize)[i], slot));
        }
        order
    }

    /// The groups in `slots` of the segment, with their values; None as
    /// soon as the text decoded passes `cap` bytes.
    fn harvest_range(
        &self,
        slots: &[u32],
        store: &mut Option<(tantivy::store::StoreReader, EvidxSchema)>,
        cap: usize,
    ) -> Option<Groups> {
        let mut left = cap;
        let width = self.by_cols.len();
        let n_groups = slots.len();
        // By-fields: decode each column's distinct ordinals in one pass.
        let mut values: Vec<Vec<String>> = Vec::with_capacity(width);
        let mut keys = vec![NULL_ID; n_groups * width];
        for (i, col) in self.by_cols.iter().enumerate() {
            let parts = slots.iter().map(|&g| self.table.key(g as usize)[i]);
            let (mut dict, ids) = decode_column(col, self.flat[i].as_ref(), parts, left)?;
            // A value too long for its fast column: its full text.
            for (id, v) in dict.iter_mut().enumerate() {
                if is_cut(v) {
                    if let Some(g) = ids.iter().position(|&x| x == id as u32) {
                        let doc = self.first_doc[slots[g] as usize];
                        if let Some(full) = self.full_value(store, doc, i) {
                            *v = full;
                        }
                    }
                }
            }
            left = left.checked_sub(dict.iter().map(|v| held(v)).sum())?;
            for (g, id) in ids.into_iter().enumerate() {
                keys[g * width + i] = id;
            }
            // Null parts take the fill value (Splunk fills before grouping).
            if let Some(fill) = &self.fillnull {
                if keys.iter().skip(i).step_by(width).any(|&k| k == NULL_ID) {
                    let fill_id = dict.len() as u32;
                    dict.push(fill.clone());
                    for g in 0..n_groups {
                        if keys[g * width + i] == NULL_ID {
                            keys[g * width + i] = fill_id;
                        }
                    }
                }
            }
            values.push(dict);
        }
        // Aggregates: every ordinal they hold, decoded in one pass per column.
        let n_aggs = self.aggs.len();
        let mut aggs = Vec::with_capacity(n_groups * n_aggs);
        let texts: Vec<HashMap<u64, String>> = self
            .agg_cols
            .iter()
            .enumerate()
            .map(|(j, col)| {
                // Min and max of a time column stay numbers (AggValue::Time).
                let is_time = matches!(col, SegSource::Time(..));
                let mut ords: Vec<u64> = Vec::new();
                for &g in slots {
                    match &self.states[g as usize * n_aggs + j] {
                        SegAgg::Min(Some(v)) | SegAgg::Max(Some(v)) if !is_time => ords.push(*v),
                        SegAgg::Latest(Some((_, v))) | SegAgg::Earliest(Some((_, v))) => {
                            ords.push(*v)
                        }
                        SegAgg::Set(s) => ords.extend(s.iter().copied()),
                        SegAgg::Ords(o) => ords.extend(o.iter().copied()),
                        _ => {}
                    }
                }
                let texts = agg_texts(col, ords, left)?;
                left = left.checked_sub(texts.values().map(|v| held(v)).sum())?;
                Some(texts)
            })
            .collect::<Option<_>>()?;
        // A set's values are copied into each group that holds them (a
        // value in a thousand groups' sets is a thousand strings): counted
        // against the cap before they are made.
        for (j, texts) in texts.iter().enumerate() {
            if matches!(self.aggs[j].0, AggFunc::Min | AggFunc::Max) {
                continue;
            }
            for &g in slots {
                if let SegAgg::Set(s) = &self.states[g as usize * n_aggs + j] {
                    let copies: usize =
                        s.iter().filter_map(|v| texts.get(v)).map(|t| held(t)).sum();
                    left = left.checked_sub(copies)?;
                }
            }
        }
        for &g in slots {
            for (j, col) in self.agg_cols.iter().enumerate() {
                let text = |v: u64| texts[j].get(&v).cloned();
                let is_time = matches!(col, SegSource::Time(..));
                let state = &self.states[g as usize * n_aggs + j];
                aggs.push(agg_value(self.aggs[j].0, is_time, state, text));
            }
        }
        Some(Groups {
            values,
            keys,
            aggs,
            len: n_groups,
        })
    }

    /// The full text of by-column `by` of `doc`, from the doc store (opened
    /// on first use); None when it cannot be read, and the cut value with
    /// its marker is shown instead.
    fn full_value(
        &self,
        store: &mut Option<(tantivy::store::StoreReader, EvidxSchema)>,
        doc: DocId,
        by: usize,
    ) -> Option<String> {
        let Some((FieldRef::Cim(field), _)) = self.by_src.get(by) else {
            return None;
        };
        let name = field.name();
        if store.is_none() {
            let reader = self.segment.get_store_reader(1).ok()?;
            let schema = EvidxSchema::from_schema(self.segment.schema()).ok()?;
            *store = Some((reader, schema));
        }
        let (reader, schema) = store.as_ref()?;
        let doc = reader.get::<TantivyDocument>(doc).ok()?;
        stored_full_value(&doc, schema, name).map(str::to_string)
    }
}

/// Decode one by-column's key parts: the distinct values (in ordinal
/// order) and, per part, the index of its value ([`NULL_ID`] for null).
fn decode_column(
    col: &SegSource,
    flat: Option<&FlatDict>,
    parts: impl Iterator<Item = u64>,
    cap: usize,
) -> Option<(Vec<String>, Vec<u32>)> {
    let parts: Vec<u64> = parts.collect();
    let (distinct, ids) = distinct_ids(&parts, col.cardinality());
    let dict: Vec<String> = match col {
        SegSource::Str(c) => {
            let mut out = Vec::with_capacity(distinct.len());
            let mut pacer = Pacer::new(PACE);
            let (mut left, mut over) = (cap, false);
            // Whether the value is kept: past the cap the rest is read (from
            // the dictionary's blocks) but not kept.
            let mut keep = |bytes: &[u8]| {
                pacer.step();
                if over || bytes.len() + STRING_BYTES > left {
                    over = true;
                    return false;
                }
                left -= bytes.len() + STRING_BYTES;
                out.push(utf8(bytes));
                true
            };
            let ok = match flat {
                Some(flat) => distinct
                    .iter()
                    .all(|&o| flat.term(o).is_some_and(&mut keep)),
                None => c
                    .dictionary()
                    .sorted_ords_to_term_cb(&distinct, |bytes| {
                        keep(bytes);
                    })
                    .unwrap_or(false),
            };
            if over {
                return None;
            }
            if !ok || out.len() != distinct.len() {
                // A damaged dictionary: fall back to one lookup per value.
                out = distinct
                    .iter()
                    .map(|&o| {
                        let mut s = String::new();
                        let _ = c.ord_to_str(o, &mut s);
                        s
                    })
                    .collect();
            }
            out
        }
        SegSource::Time(..) => distinct.iter().map(|&v| (v as i64).to_string()).collect(),
        SegSource::None => Vec::new(),
    };
    Some((dict, ids))
}

/// The sorted distinct non-null values of `parts`, and per part the index
/// of its value among them ([`NULL_ID`] for null). When the values are
/// ordinals below a `cardinality` not much larger than `parts`, one pass
/// over a dense table replaces the sort and the binary searches.
fn distinct_ids(parts: &[u64], cardinality: Option<u64>) -> (Vec<u64>, Vec<u32>) {
    match cardinality {
        Some(card) if card <= (parts.len() as u64).saturating_mul(4) => {
            const UNSEEN: u32 = u32::MAX;
            let mut index = vec![UNSEEN; card as usize];
            for &p in parts {
                if let Some(slot) = index.get_mut(p as usize) {
                    *slot = 0;
                }
            }
            let mut distinct = Vec::new();
            for (ord, slot) in index.iter_mut().enumerate() {
                if *slot != UNSEEN {
                    *slot = distinct.len() as u32;
                    distinct.push(ord as u64);
                }
            }
            let ids = parts
                .iter()
                .map(|&p| index.get(p as usize).copied().unwrap_or(NULL_ID))
                .collect();
            (distinct, ids)
        }
        _ => {
            let mut distinct: Vec<u64> = parts.iter().copied().filter(|&p| p != NULL).collect();
            distinct.sort_unstable();
            distinct.dedup();
            let ids = parts
                .iter()
                .map(|&p| match p {
                    NULL => NULL_ID,
                    p => distinct.binary_search(&p).map_or(NULL_ID, |i| i as u32),
                })
                .collect();
            (distinct, ids)
        }
    }
}

/// A dictionary term as text: terms are UTF-8 unless the index is damaged,
/// and checking that is much cheaper than a lossy conversion.
fn utf8(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The texts of the ordinals (or time values) an aggregate column holds.
fn agg_texts(col: &SegSource, mut ords: Vec<u64>, cap: usize) -> Option<HashMap<u64, String>> {
    ords.sort_unstable();
    ords.dedup();
    Some(match col {
        SegSource::Str(_) => {
            let (dict, _) = decode_column(col, None, ords.iter().copied(), cap)?;
            ords.into_iter().zip(dict).collect()
        }
        SegSource::Time(..) => ords
            .into_iter()
            .map(|v| (v, (v as i64).div_euclid(MICROS).to_string()))
            .collect(),
        SegSource::None => HashMap::new(),
    })
}

/// Distinct values of one by-field across segments, each stored once.
#[derive(Default)]
struct Interner {
    hasher: hashbrown::DefaultHashBuilder,
    table: hashbrown::HashTable<u32>,
    values: Vec<String>,
}

impl Interner {
    fn intern(&mut self, v: String) -> u32 {
        use std::hash::BuildHasher as _;
        let (hasher, values) = (&self.hasher, &mut self.values);
        let h = hasher.hash_one(&v);
        if let Some(&id) = self.table.find(h, |&id| values[id as usize] == v) {
            return id;
        }
        let id = values.len() as u32;
        self.table
            .insert_unique(h, id, |&id| hasher.hash_one(&values[id as usize]));
        values.push(v);
        id
    }
}

/// Merges segment groups on interned value ids, in the order they are
/// added. When the merged table outgrows its budget it is written out as a
/// sorted run ([`spill`]) and merging starts afresh.
pub struct Merger {
    width: usize,
    aggs: Vec<(AggFunc, Option<FieldRef>)>,
    interners: Vec<Interner>,
    table: KeyTable,
    key: Vec<u64>,
    out: Groups,
    /// Estimated heap bytes of the merged table, and the budget.
    bytes: usize,
    budget: usize,
    runs: crate::sorted_runs::Runs<spill::GroupRecords>,
}

impl Merger {
    fn new(width: usize, aggs: &[(AggFunc, Option<FieldRef>)], budget: usize) -> Self {
        Merger {
            width,
            aggs: aggs.to_vec(),
            interners: (0..width).map(|_| Interner::default()).collect(),
            table: KeyTable::new(&vec![None; width]),
            key: vec![0u64; width],
            out: Groups::default(),
            bytes: 0,
            budget,
            runs: spill::GroupRecords::runs(aggs),
        }
    }

    /// Merge in the groups of one segment.
    pub fn add(&mut self, fruit: Groups) -> std::io::Result<()> {
        let (width, n_aggs) = (self.width, self.aggs.len());
        self.bytes += fruit.heap_bytes();
        // Local value id -> merged value id, per by-field.
        let remap: Vec<Vec<u32>> = fruit
            .values
            .into_iter()
            .zip(self.interners.iter_mut())
            .map(|(dict, interner)| dict.into_iter().map(|v| interner.intern(v)).collect())
            .collect();
        let mut fruit_aggs = fruit.aggs.into_iter();
        for g in 0..fruit.len {
            let ids = &fruit.keys[g * width..(g + 1) * width];
            for ((part, &id), remap) in self.key.iter_mut().zip(ids).zip(&remap) {
                *part = match id {
                    NULL_ID => NULL,
                    id => u64::from(remap[id as usize]),
                };
            }
            let group_aggs = fruit_aggs.by_ref().take(n_aggs);
            let (slot, new) = self.table.slot(&self.key);
            if new {
                self.out.keys.extend(self.key.iter().map(|&k| match k {
                    NULL => NULL_ID,
                    id => id as u32,
                }));
                self.out.aggs.extend(group_aggs);
                self.out.len += 1;
            } else {
                merge_aggs(
                    &mut self.out.aggs[slot * n_aggs..(slot + 1) * n_aggs],
                    group_aggs,
                    &self.aggs,
                );
            }
        }
        if self.bytes > self.budget {
            let full = self.take();
            self.runs
                .push(spill::write_run(full, self.width, self.aggs.len())?)?;
        }
        Ok(())
    }

    /// Merge in every group of `other` (its runs join these).
    fn absorb(&mut self, mut other: Merger) -> std::io::Result<()> {
        let rest = other.take();
        self.runs.append(other.runs)?;
        self.add(rest)
    }

    /// The merged table so far, leaving the merger empty.
    fn take(&mut self) -> Groups {
        let mut out = std::mem::take(&mut self.out);
        out.values = std::mem::take(&mut self.interners)
            .into_iter()
            .map(|i| i.values)
            .collect();
        self.interners = (0..self.width).map(|_| Interner::default()).collect();
        self.table = KeyTable::new(&vec![None; self.width]);
        self.bytes = 0;
        out
    }

    /// Every group added: in memory, or in sorted runs when it spilled.
    pub fn finish(mut self) -> std::io::Result<Merged> {
        let rest = self.take();
        if self.runs.is_empty() {
            return Ok(Merged::Memory(rest));
        }
        self.runs
            .push(spill::write_run(rest, self.width, self.aggs.len())?)?;
        Ok(Merged::Runs(spill::RunMerge::new(self.runs)?))
    }
}

/// The groups of a search, merged.
pub enum Merged {
    Memory(Groups),
    /// Too large for the budget: sorted runs on disk, merged as read.
    Runs(spill::RunMerge),
    /// Each segment's groups on ordinals, merged as read ([`ordinal`]).
    Ordinal(ordinal::OrdinalMerge),
}

fn merge_aggs(
    acc: &mut [AggValue],
    other: impl Iterator<Item = AggValue>,
    aggs: &[(AggFunc, Option<FieldRef>)],
) {
    for ((a, b), (func, _)) in acc.iter_mut().zip(other).zip(aggs) {
        let smaller_wins = matches!(func, AggFunc::Min | AggFunc::Earliest);
        match (a, b) {
            (AggValue::Count(x), AggValue::Count(y)) => *x += y,
            (AggValue::Time(x), AggValue::Time(Some(y))) => {
                *x = Some(match *x {
                    None => y,
                    Some(x) if smaller_wins => x.min(y),
                    Some(x) => x.max(y),
                });
            }
            (AggValue::Extreme(x), AggValue::Extreme(Some(yv))) => {
                let take = x.as_ref().is_none_or(|xv| extreme_wins(*func, &yv, xv));
                if take {
                    *x = Some(yv);
                }
            }
            (AggValue::Set(x), AggValue::Set(y)) => x.extend(y),
            (AggValue::Sum { sum, n }, AggValue::Sum { sum: s2, n: n2 }) => {
                sum.merge(&s2);
                *n += n2;
            }
            _ => {}
        }
    }
}

/// Whether `new` replaces `old` as the value of min/max/latest/earliest:
/// compared by sort key, and on a tie by text, so that the answer does not
/// depend on the order in which segments and indexes merge.
fn extreme_wins(func: AggFunc, new: &(Ordered, String), old: &(Ordered, String)) -> bool {
    let order = new
        .0
        .partial_cmp(&old.0)
        .unwrap_or(std::cmp::Ordering::Equal)
        .then_with(|| new.1.cmp(&old.1));
    match func {
        AggFunc::Min | AggFunc::Earliest => order.is_lt(),
        _ => order.is_gt(),
    }
}

impl GroupBy {
    /// The columns of the by-fields: a key of the result table.
    pub fn by_columns(&self) -> &[String] {
        &self.by_names
    }

    /// The result columns: by-fields then aggregates.
    pub fn columns(&self) -> Vec<String> {
        let mut columns = self.by_names.clone();
        columns.extend(self.agg_names.iter().cloned());
        columns
    }

    /// The result table: by-fields then aggregates, rows in by-field order
    /// (byte order of the values, compared field by field).
    pub fn table(&self, merged: Merged) -> std::io::Result<Table> {
        let mut rows = self.rows(merged, usize::MAX);
        let mut chunk = Vec::new();
        let mut all = Vec::new();
        while rows.fill(&mut chunk)? {
            all.append(&mut chunk);
        }
        Ok(Table {
            columns: self.columns(),
            rows: all,
        })
    }

    /// The result rows in by-field order, made `chunk` at a time, so a
    /// large result streams to its output instead of being built whole.
    /// With no by-field and no match, Splunk's single row of zero counts.
    pub fn rows(&self, merged: Merged, chunk: usize) -> Rows<'_> {
        let width = self.by.len();
        let source = match merged {
            Merged::Memory(groups) => Source::Memory {
                order: groups.sorted_order(width).into_iter(),
                aggs: groups.aggs.into_iter().map(Some).collect(),
                values: groups.values,
                keys: groups.keys,
            },
            Merged::Runs(runs) => Source::Runs(runs),
            Merged::Ordinal(merge) => Source::Ordinal(merge),
        };
        let zero_row =
            width == 0 && matches!(&source, Source::Memory { order, .. } if order.len() == 0);
        Rows {
            by: self,
            source,
            chunk: chunk.max(1),
            zero_row,
        }
    }

    /// Collect the groups of each part's matches (its weight's) in every
    /// segment of its searcher, on up to `threads` threads, within about
    /// `budget` bytes of heap. Several indexes merge as one. A group-by
    /// that can goes the ordinal way ([`ordinal`]); any other is made in
    /// pieces per segment, each thread merges the pieces of its segments
    /// on their text, and a merged table over its share spills to disk.
    ///
    /// The budget (of the text merge) is shared so that its parts add up to the whole,
    /// whatever the threads: the merged tables half between them, the
    /// segment tables three eighths between them (a larger table is emptied
    /// less often, and each time decodes its values again), and the piece
    /// being made an eighth.
    pub fn collect(
        &self,
        parts: &[Part],
        threads: usize,
        budget: usize,
    ) -> Result<Merged, CollectError> {
        let threads = threads.max(1);
        let mergers = Mergers::new(self.by.len(), &self.aggs, budget / 2, threads);
        let piece_bytes = (budget / 8).max(1);
        let spill = |e: std::io::Error| tantivy::TantivyError::InternalError(spill_message(&e));
        let segments: Vec<(&SegmentReader, &dyn Weight)> = parts
            .iter()
            .flat_map(|p| p.searcher.segment_readers().iter().map(|r| (r, &*p.weight)))
            .collect();
        let readers: Vec<&SegmentReader> = segments.iter().map(|&(r, _)| r).collect();
        if self.ordinals && ordinal::applies(self, &readers) {
            return self.collect_ordinals(&segments, threads, budget);
        }
        // A segment's table is emptied into the merge whenever it passes
        // its share: the memory a search takes does not follow the size of
        // its segments.
        let segment_budget = budget / 8 * 3 / threads;
        parallel::run_in_order(segments.len(), threads, |ord| {
            let (reader, weight) = segments[ord];
            let mut seg = self.for_segment(ord as SegmentOrdinal, reader)?;
            let mut merger = mergers.take();
            let mut flushed = Ok(());
            let mut collect = |seg: &mut GroupSegment, docs: &[DocId]| {
                seg.collect_block(docs);
                if seg.heap_bytes() > segment_budget && flushed.is_ok() {
                    flushed = seg.flush(piece_bytes, |piece| merger.add(piece));
                }
            };
            let searched = search_segment(reader, weight, &mut |docs| collect(&mut seg, docs));
            let merged = searched
                .map(|()| flushed.and_then(|()| seg.flush(piece_bytes, |piece| merger.add(piece))));
            mergers.put(merger);
            merged?.map_err(spill)?;
            crate::memory::release_if_over();
            Ok::<(), tantivy::TantivyError>(())
        })?;
        Ok(mergers.finish()?)
    }

    /// Write aggregate `a` into `cell`, reusing its text.
    fn agg_cell(&self, func: AggFunc, a: Option<AggValue>, cell: &mut Cell) {
        match a {
            Some(AggValue::Count(n)) => set_with(cell, |s| push_u64(n, s)),
            Some(AggValue::Time(Some(t))) => set_with(cell, |s| push_i64(t.div_euclid(MICROS), s)),
            Some(AggValue::Extreme(Some((_, s)))) => set_str(cell, &s),
            Some(AggValue::Set(s)) => match func {
                AggFunc::Dc => set_text(cell, format_args!("{}", s.len())),
                _ => *cell = Cell(s.into_iter().collect()),
            },
            Some(AggValue::Sum { sum, n }) => match func {
                AggFunc::Avg if n > 0 => {
                    set_text(cell, format_args!("{}", format_num(sum.value() / n as f64)))
                }
                AggFunc::Avg => cell.0.clear(),
                _ => set_text(cell, format_args!("{}", format_num(sum.value()))),
            },
            Some(AggValue::Time(None) | AggValue::Extreme(None)) | None => cell.0.clear(),
        }
    }
}

/// Pass every block of the live documents `weight` matches in `reader` to
/// `collect`.
fn search_segment(
    reader: &SegmentReader,
    weight: &dyn Weight,
    collect: &mut dyn FnMut(&[DocId]),
) -> tantivy::Result<()> {
    match reader.alive_bitset() {
        None => weight.for_each_no_score(reader, &mut |docs| collect(docs)),
        Some(alive) => weight.for_each_no_score(reader, &mut |docs| {
            for &d in docs.iter().filter(|&&d| alive.is_alive(d)) {
                collect(&[d]);
            }
        }),
    }
}

/// Make `cell` the single value `text`, reusing its string when it has one.
fn set_text(cell: &mut Cell, text: std::fmt::Arguments<'_>) {
    use std::fmt::Write as _;
    set_with(cell, |s| {
        let _ = s.write_fmt(text);
    });
}

/// Make `cell` the single value that `write` appends to an empty string:
/// counts and times are written digit by digit ([`push_u64`]), as the
/// formatting machinery took a tenth of the thread that makes a wide
/// group-by's rows.
fn set_with(cell: &mut Cell, write: impl FnOnce(&mut String)) {
    if cell.0.len() != 1 {
        cell.0.clear();
        cell.0.push(String::new());
    }
    let s = &mut cell.0[0];
    s.clear();
    write(s);
}

/// Make `cell` the single value `text`: a plain copy into its string (the
/// formatting machinery cost a tenth of a wide group-by's output).
fn set_str(cell: &mut Cell, text: &str) {
    set_with(cell, |s| match s.capacity() > 4 * text.len() + 4096 {
        // Do not keep a long value's room for short ones.
        true => *s = text.to_owned(),
        false => s.push_str(text),
    });
}

/// Heap bytes a row's cells hold (their strings' room, not their text).
fn held_bytes(row: &[Cell]) -> usize {
    row.iter()
        .map(|c| {
            c.0.capacity() * std::mem::size_of::<String>()
                + c.0.iter().map(String::capacity).sum::<usize>()
        })
        .sum::<usize>()
        + std::mem::size_of_val(row)
}

/// A search failed, or a large result could not be spilled to disk.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("search failed: {0}")]
    Search(#[from] tantivy::TantivyError),
    #[error("{}", spill_message(.0))]
    Spill(#[from] std::io::Error),
}

fn spill_message(e: &std::io::Error) -> String {
    format!(
        "writing a large result to a temporary file: {e} (set TMPDIR to a folder with room, \
         or give the search more memory with --group-memory)"
    )
}

/// Text of by-values in one chunk of result rows, at most (about).
const CHUNK_BYTES: usize = 2 << 20;

/// Result rows, a chunk at a time (see [`GroupBy::rows`]).
pub struct Rows<'g> {
    by: &'g GroupBy,
    source: Source,
    chunk: usize,
    zero_row: bool,
}

enum Source {
    Memory {
        values: Vec<Vec<String>>,
        keys: Vec<u32>,
        aggs: Vec<Option<AggValue>>,
        order: std::vec::IntoIter<u32>,
    },
    Runs(spill::RunMerge),
    Ordinal(ordinal::OrdinalMerge),
}

impl Rows<'_> {
    /// Fill `buf` with the next rows (at most the chunk size), reusing its
    /// rows, cells and strings; false when there were none left.
    pub fn fill(&mut self, buf: &mut Vec<Vec<Cell>>) -> std::io::Result<bool> {
        let (width, n_aggs) = (self.by.by.len(), self.by.aggs.len());
        if std::mem::take(&mut self.zero_row) {
            // Splunk returns one row of zero counts for an empty result.
            buf.clear();
            buf.push(
                self.by
                    .aggs
                    .iter()
                    .map(|(f, _)| match f {
                        AggFunc::Count | AggFunc::Dc => Cell::one("0"),
                        _ => Cell::null(),
                    })
                    .collect(),
            );
            return Ok(true);
        }
        let mut n = 0;
        let mut bytes = 0;
        // A chunk ends at `chunk` rows or at about CHUNK_BYTES of heap held
        // by its cells: 4096 command lines of a few KiB each would be tens
        // of MiB, three chunks of them in flight. Held, not used: cells are
        // reused from chunk to chunk, and a string keeps the room of the
        // longest value it had, so counting text alone let the chunks grow
        // with the number of rows seen.
        while n < self.chunk && bytes < CHUNK_BYTES {
            if buf.len() == n {
                buf.push(Vec::new());
            }
            let row = &mut buf[n];
            row.truncate(width + n_aggs);
            row.resize_with(width + n_aggs, Cell::null);
            let (by_cells, agg_cells) = row.split_at_mut(width);
            match &mut self.source {
                Source::Memory {
                    values,
                    keys,
                    aggs,
                    order,
                } => {
                    let Some(g) = order.next() else { break };
                    let g = g as usize;
                    for (i, &id) in keys[g * width..(g + 1) * width].iter().enumerate() {
                        set_str(&mut by_cells[i], &values[i][id as usize]);
                    }
                    for (j, (func, _)) in self.by.aggs.iter().enumerate() {
                        let a = aggs[g * n_aggs + j].take();
                        self.by.agg_cell(*func, a, &mut agg_cells[j]);
                    }
                }
                Source::Runs(runs) => {
                    let Some((key, aggs)) = runs.next_group()? else {
                        break;
                    };
                    if crate::encode::ordered_values(&key, width, |i, v| {
                        set_str(&mut by_cells[i], v)
                    })
                    .is_none()
                    {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "a spilled group's key is damaged",
                        ));
                    }
                    for ((cell, a), (func, _)) in agg_cells.iter_mut().zip(aggs).zip(&self.by.aggs)
                    {
                        self.by.agg_cell(*func, Some(a), cell);
                    }
                }
                Source::Ordinal(merge) => {
                    let Some(aggs) = merge.next_group(|i, v| set_str(&mut by_cells[i], v))? else {
                        break;
                    };
                    for ((cell, a), (func, _)) in agg_cells.iter_mut().zip(aggs).zip(&self.by.aggs)
                    {
                        self.by.agg_cell(*func, Some(a), cell);
                    }
                }
            }
            bytes += held_bytes(row);
            n += 1;
        }
        buf.truncate(n);
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::{distinct_ids, set_with, Groups, NULL, NULL_ID};
    use crate::table::Cell;
    use evidx_schema::terms::{push_i64, push_u64};

    /// Integers are written as `Display` writes them, into a cell that
    /// held anything before.
    #[test]
    fn integers_are_written_as_display_writes_them() {
        let mut cell = Cell(vec![
            "a much longer value than any number".into(),
            "x".into(),
        ]);
        for n in [
            0,
            1,
            9,
            10,
            99,
            1_000_000,
            -1,
            -10,
            -1_700_000_000,
            i64::MIN,
            i64::MAX,
        ] {
            set_with(&mut cell, |s| push_i64(n, s));
            assert_eq!(cell.0, vec![n.to_string()]);
        }
        set_with(&mut cell, |s| push_u64(u64::MAX, s));
        assert_eq!(cell.0, vec![u64::MAX.to_string()]);
    }

    /// Groups sort by their values field by field, whether their ranks
    /// pack into a u128 (few fields) or not (70 fields of 3 values: 140
    /// bits); a group with a null value is left out.
    #[test]
    fn groups_sort_by_their_values_packed_or_not() {
        for width in [3, 70] {
            let dict: Vec<String> = ["b", "a", "ab"].iter().map(|s| s.to_string()).collect();
            let n = 50;
            // Scattered value ids (a multiplicative hash of the position).
            let mut keys: Vec<u32> = (0..n * width)
                .map(|i| ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 61) as u32 % 3)
                .collect();
            keys[7 * width + 1] = NULL_ID;
            let groups = Groups {
                values: vec![dict.clone(); width],
                keys,
                aggs: Vec::new(),
                len: n,
            };
            let text = |g: u32| -> Vec<&str> {
                groups.keys[g as usize * width..(g as usize + 1) * width]
                    .iter()
                    .map(|&id| dict[id as usize].as_str())
                    .collect()
            };
            let mut expected: Vec<u32> = (0..n as u32).filter(|&g| g != 7).collect();
            expected.sort_by(|&a, &b| text(a).cmp(&text(b)).then(a.cmp(&b)));
            let order = groups.sorted_order(width);
            let texts = |o: &[u32]| o.iter().map(|&g| text(g)).collect::<Vec<_>>();
            assert_eq!(texts(&order), texts(&expected), "width {width}");
        }
    }

    #[test]
    fn dense_and_sorted_distinct_ids_agree() {
        let parts = [7, 3, NULL, 7, 0, 9, 3, NULL];
        let dense = distinct_ids(&parts, Some(10));
        let sorted = distinct_ids(&parts, None);
        assert_eq!(dense, sorted);
        assert_eq!(dense.0, vec![0, 3, 7, 9]);
        assert_eq!(dense.1, vec![2, 1, NULL_ID, 2, 0, 3, 1, NULL_ID]);
        // A cardinality far above the parts takes the sorting path.
        assert_eq!(distinct_ids(&parts, Some(1 << 40)), sorted);
    }
}
