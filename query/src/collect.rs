//! Collect: tstats grouping and aggregation as a tantivy [`Collector`] over
//! fast-field columns. Per segment, a group is a tuple of term ordinals (or
//! time buckets), aggregated without loading any stored document; each
//! distinct tuple is resolved to strings once at harvest, and segments are
//! merged by string keys.

use std::collections::{BTreeSet, HashMap};

use evidx_schema::layout::{stored_full_value, TIME};
use evidx_schema::terms::is_cut;
use evidx_schema::{Cim, EvidxSchema};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, TantivyDocument};

use crate::field::{resolve_field, FieldRef};
use crate::num::format_num;
use crate::spl::ast::{Agg, AggFunc, ByField};
use crate::table::{Cell, Table};

/// Ordinal used for "no value" in a group key.
const NULL: u64 = u64::MAX;
const MICROS: i64 = 1_000_000;

/// What a by-field or aggregate reads from a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Cim(Cim),
    Time,
    None,
}

fn source_of(name: &str) -> Source {
    match resolve_field(name) {
        FieldRef::Cim(i) => Source::Cim(i),
        FieldRef::Time => Source::Time,
        FieldRef::Unknown => Source::None,
    }
}

/// The tstats `by` + aggregates, as a collector.
pub struct GroupBy {
    by: Vec<(Source, Option<i64>)>,
    by_names: Vec<String>,
    /// (function, field source; None for a bare `count`).
    aggs: Vec<(AggFunc, Option<Source>)>,
    agg_names: Vec<String>,
    fillnull: Option<String>,
}

impl GroupBy {
    pub fn new(by: &[ByField], aggs: &[Agg], fillnull: Option<&str>) -> Self {
        let mut by_src = Vec::new();
        let mut by_names = Vec::new();
        for b in by {
            match b {
                ByField::Field(f) => {
                    by_src.push((source_of(f), None));
                    by_names.push(f.clone());
                }
                ByField::Time { span_secs } => {
                    by_src.push((Source::Time, *span_secs));
                    by_names.push("_time".into());
                }
            }
        }
        GroupBy {
            by: by_src,
            by_names,
            aggs: aggs
                .iter()
                .map(|a| (a.func, a.field.as_deref().map(source_of)))
                .collect(),
            agg_names: aggs.iter().map(|a| a.column.clone()).collect(),
            fillnull: fillnull.map(str::to_string),
        }
    }
}

/// An aggregate's merged state, keyed by strings (segment-independent).
#[derive(Clone, Debug)]
enum AggValue {
    Count(u64),
    /// min/max/latest/earliest: (sort key time or value, text).
    Extreme(Option<(Ordered, String)>),
    Set(BTreeSet<String>),
    Sum {
        sum: f64,
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

/// Groups of one segment or merged: key (None = null) -> aggregates.
#[derive(Debug, Default)]
pub struct Groups {
    map: HashMap<Vec<Option<String>>, Vec<AggValue>>,
}

/// Per-segment columns.
enum SegSource {
    Str(StrColumn),
    Time(Column<i64>),
    None,
}

pub struct GroupSegment {
    spec: Vec<(Source, Option<i64>)>,
    aggs: Vec<(AggFunc, Option<Source>)>,
    /// `_time`, for latest/earliest.
    time: Column<i64>,
    by_cols: Vec<SegSource>,
    agg_cols: Vec<SegSource>,
    index: HashMap<Box<[u64]>, usize>,
    states: Vec<Vec<SegAgg>>,
    /// One document of each group, to read a value too long for its fast
    /// column from the doc store (see `evidx_schema::terms::fast_value`).
    first_doc: Vec<DocId>,
    /// Opened only when a cut value shows up (rare).
    segment: SegmentReader,
    keys: Vec<Box<[u64]>>,
    scratch: Vec<u64>,
}

/// An aggregate's state inside one segment, on ordinals.
#[derive(Clone, Debug)]
enum SegAgg {
    Count(u64),
    /// (time or ord, ord or time) extremes: for min/max on a string column
    /// ordinals order like the strings within a segment; for _time the value.
    Min(Option<i64>),
    Max(Option<i64>),
    /// latest/earliest: (time, ordinal or value).
    Latest(Option<(i64, u64)>),
    Earliest(Option<(i64, u64)>),
    Set(BTreeSet<u64>),
    /// sum/avg need numbers: ordinals are resolved at harvest.
    Ords(Vec<u64>),
}

fn open(reader: &SegmentReader, src: Source) -> tantivy::Result<SegSource> {
    Ok(match src {
        Source::Cim(i) => match reader.fast_fields().str(i.name())? {
            Some(c) => SegSource::Str(c),
            None => SegSource::None,
        },
        Source::Time => SegSource::Time(reader.fast_fields().i64(TIME)?),
        Source::None => SegSource::None,
    })
}

impl Collector for GroupBy {
    type Fruit = Groups;
    type Child = GroupSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<GroupSegment> {
        Ok(GroupSegment {
            spec: self.by.clone(),
            aggs: self.aggs.clone(),
            time: reader.fast_fields().i64(TIME)?,
            by_cols: self
                .by
                .iter()
                .map(|(s, _)| open(reader, *s))
                .collect::<tantivy::Result<_>>()?,
            agg_cols: self
                .aggs
                .iter()
                .map(|(_, s)| open(reader, s.unwrap_or(Source::None)))
                .collect::<tantivy::Result<_>>()?,
            index: HashMap::new(),
            states: Vec::new(),
            first_doc: Vec::new(),
            segment: reader.clone(),
            keys: Vec::new(),
            scratch: vec![0; self.by.len()],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Groups>) -> tantivy::Result<Groups> {
        let mut out = Groups::default();
        for f in fruits {
            for (k, v) in f.map {
                match out.map.get_mut(&k) {
                    Some(acc) => merge_aggs(acc, v, &self.aggs),
                    None => {
                        out.map.insert(k, v);
                    }
                }
            }
        }
        Ok(out)
    }
}

fn value_at(col: &SegSource, doc: DocId) -> Option<u64> {
    match col {
        SegSource::Str(c) => c.ords().first(doc),
        SegSource::Time(c) => c.first(doc).map(|t| t as u64),
        SegSource::None => None,
    }
}

impl SegmentCollector for GroupSegment {
    type Fruit = Groups;

    fn collect(&mut self, doc: DocId, _: Score) {
        for (i, col) in self.by_cols.iter().enumerate() {
            self.scratch[i] = match (col, self.spec[i].1) {
                (SegSource::Time(c), span) => match c.first(doc) {
                    Some(t) => {
                        let secs = t.div_euclid(MICROS);
                        let span = span.unwrap_or(1).max(1);
                        secs.div_euclid(span).wrapping_mul(span) as u64
                    }
                    None => NULL,
                },
                (c, _) => value_at(c, doc).unwrap_or(NULL),
            };
        }
        let slot = match self.index.get(&self.scratch[..]) {
            Some(&s) => s,
            None => {
                let s = self.states.len();
                let key: Box<[u64]> = self.scratch.clone().into_boxed_slice();
                self.index.insert(key.clone(), s);
                self.keys.push(key);
                self.first_doc.push(doc);
                self.states
                    .push(self.aggs.iter().map(|(f, _)| init(*f)).collect());
                s
            }
        };
        for (j, state) in self.states[slot].iter_mut().enumerate() {
            let col = &self.agg_cols[j];
            let (func, _) = self.aggs[j];
            let v = value_at(col, doc);
            match state {
                SegAgg::Count(n) => {
                    if self.aggs[j].1.is_none() || v.is_some() {
                        *n += 1;
                    }
                }
                SegAgg::Min(m) => {
                    if let Some(v) = v {
                        let v = v as i64;
                        *m = Some(m.map_or(v, |x| x.min(v)));
                    }
                }
                SegAgg::Max(m) => {
                    if let Some(v) = v {
                        let v = v as i64;
                        *m = Some(m.map_or(v, |x| x.max(v)));
                    }
                }
                SegAgg::Latest(l) | SegAgg::Earliest(l) => {
                    if let Some(v) = v {
                        let t = self.time.first(doc).unwrap_or(i64::MIN);
                        let later = matches!(func, AggFunc::Latest);
                        let replace = match l {
                            None => true,
                            Some((lt, _)) => {
                                if later {
                                    t >= *lt
                                } else {
                                    t < *lt
                                }
                            }
                        };
                        if replace {
                            *l = Some((t, v));
                        }
                    }
                }
                SegAgg::Set(s) => {
                    if let Some(v) = v {
                        s.insert(v);
                    }
                }
                SegAgg::Ords(o) => {
                    if let Some(v) = v {
                        o.push(v);
                    }
                }
            }
        }
    }

    fn harvest(self) -> Groups {
        let mut groups = Groups::default();
        let mut store = None;
        let mut buf = String::new();
        let resolve = |col: &SegSource, v: u64, buf: &mut String| -> Option<String> {
            match col {
                SegSource::Str(c) => {
                    buf.clear();
                    c.ord_to_str(v, buf)
                        .ok()
                        .filter(|&found| found)
                        .map(|_| buf.clone())
                }
                SegSource::Time(_) => Some((v as i64).div_euclid(MICROS).to_string()),
                SegSource::None => None,
            }
        };
        for (slot, key) in self.keys.iter().enumerate() {
            let mut skey: Vec<Option<String>> = key
                .iter()
                .zip(&self.by_cols)
                .map(|(&v, col)| {
                    if v == NULL {
                        None
                    } else if let SegSource::Time(_) = col {
                        Some((v as i64).to_string())
                    } else {
                        resolve(col, v, &mut buf)
                    }
                })
                .collect();
            for (part, (src, _)) in skey.iter_mut().zip(&self.spec) {
                if let (Some(v), Source::Cim(i)) = (part.as_mut(), src) {
                    if is_cut(v) {
                        if let Some(full) = self.full_value(&mut store, self.first_doc[slot], i) {
                            *v = full;
                        }
                    }
                }
            }
            let mut aggs = Vec::with_capacity(self.aggs.len());
            for (j, st) in self.states[slot].iter().enumerate() {
                let col = &self.agg_cols[j];
                aggs.push(match st {
                    SegAgg::Count(n) => AggValue::Count(*n),
                    SegAgg::Min(m) | SegAgg::Max(m) => AggValue::Extreme(
                        m.and_then(|v| resolve(col, v as u64, &mut buf))
                            .map(|s| (ordered(&s), s)),
                    ),
                    SegAgg::Latest(l) | SegAgg::Earliest(l) => {
                        AggValue::Extreme(l.and_then(|(t, v)| {
                            resolve(col, v, &mut buf).map(|s| (Ordered::Num(t as f64), s))
                        }))
                    }
                    SegAgg::Set(s) => AggValue::Set(
                        s.iter()
                            .filter_map(|&v| resolve(col, v, &mut buf))
                            .collect(),
                    ),
                    SegAgg::Ords(o) => {
                        let mut sum = 0.0;
                        let mut n = 0;
                        for &v in o {
                            if let Some(x) =
                                resolve(col, v, &mut buf).and_then(|s| s.trim().parse::<f64>().ok())
                            {
                                sum += x;
                                n += 1;
                            }
                        }
                        AggValue::Sum { sum, n }
                    }
                });
            }
            match groups.map.get_mut(&skey) {
                // Two ordinal tuples can resolve to one string key only when
                // a value is missing from the dictionary; merge them.
                Some(acc) => merge_aggs(acc, aggs, &self.aggs),
                None => {
                    groups.map.insert(skey, aggs);
                }
            }
        }
        groups
    }
}

impl GroupSegment {
    /// The full text of CIM field `i` of `doc`, from the doc store (opened
    /// on first use); None when it cannot be read, and the cut value with
    /// its marker is shown instead.
    fn full_value(
        &self,
        store: &mut Option<(tantivy::store::StoreReader, EvidxSchema)>,
        doc: DocId,
        i: &Cim,
    ) -> Option<String> {
        if store.is_none() {
            let reader = self.segment.get_store_reader(1).ok()?;
            let schema = EvidxSchema::from_schema(self.segment.schema()).ok()?;
            *store = Some((reader, schema));
        }
        let (reader, schema) = store.as_ref()?;
        let doc = reader.get::<TantivyDocument>(doc).ok()?;
        stored_full_value(&doc, schema, i.name()).map(str::to_string)
    }
}

fn init(f: AggFunc) -> SegAgg {
    match f {
        AggFunc::Count => SegAgg::Count(0),
        AggFunc::Min => SegAgg::Min(None),
        AggFunc::Max => SegAgg::Max(None),
        AggFunc::Latest => SegAgg::Latest(None),
        AggFunc::Earliest => SegAgg::Earliest(None),
        AggFunc::Values | AggFunc::Dc => SegAgg::Set(BTreeSet::new()),
        AggFunc::Sum | AggFunc::Avg => SegAgg::Ords(Vec::new()),
    }
}

fn merge_aggs(acc: &mut [AggValue], other: Vec<AggValue>, aggs: &[(AggFunc, Option<Source>)]) {
    for ((a, b), (func, _)) in acc.iter_mut().zip(other).zip(aggs) {
        match (a, b) {
            (AggValue::Count(x), AggValue::Count(y)) => *x += y,
            (AggValue::Extreme(x), AggValue::Extreme(Some(yv))) => {
                let take = match x {
                    None => true,
                    Some(xv) => match func {
                        AggFunc::Min | AggFunc::Earliest => yv.0 < xv.0,
                        _ => yv.0 > xv.0,
                    },
                };
                if take {
                    *x = Some(yv);
                }
            }
            (AggValue::Set(x), AggValue::Set(y)) => x.extend(y),
            (AggValue::Sum { sum, n }, AggValue::Sum { sum: s2, n: n2 }) => {
                *sum += s2;
                *n += n2;
            }
            _ => {}
        }
    }
}

impl GroupBy {
    /// The result table: by-fields then aggregates, rows in by-field order.
    /// A null by-value becomes `fillnull_value`, or drops the row without it.
    pub fn table(&self, groups: Groups) -> Table {
        let mut columns = self.by_names.clone();
        columns.extend(self.agg_names.iter().cloned());
        let mut rows: Vec<(Vec<String>, Vec<Cell>)> = Vec::with_capacity(groups.map.len());
        'groups: for (key, aggs) in groups.map {
            let mut keys = Vec::with_capacity(key.len());
            for k in key {
                match (k, &self.fillnull) {
                    (Some(v), _) => keys.push(v),
                    (None, Some(fill)) => keys.push(fill.clone()),
                    (None, None) => continue 'groups,
                }
            }
            let mut cells: Vec<Cell> = keys.iter().cloned().map(Cell::one).collect();
            for (a, (func, _)) in aggs.into_iter().zip(&self.aggs) {
                cells.push(match a {
                    AggValue::Count(n) => Cell::one(n.to_string()),
                    AggValue::Extreme(v) => v.map_or_else(Cell::null, |(_, s)| Cell::one(s)),
                    AggValue::Set(s) => match func {
                        AggFunc::Dc => Cell::one(s.len().to_string()),
                        _ => Cell(s.into_iter().collect()),
                    },
                    AggValue::Sum { sum, n } => match func {
                        AggFunc::Avg if n > 0 => Cell::one(format_num(sum / n as f64)),
                        AggFunc::Avg => Cell::null(),
                        _ => Cell::one(format_num(sum)),
                    },
                });
            }
            rows.push((keys, cells));
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Table {
            columns,
            rows: rows.into_iter().map(|(_, c)| c).collect(),
        }
    }
}
