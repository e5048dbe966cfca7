//! The state of one aggregate over one group, as rows arrive: what its
//! function needs and no more (a count keeps a number, `values()` its
//! distinct values), so `stats` holds its groups, not its input rows.
//!
//! Each state gives what the function gives over all the values at once:
//! ties resolved in row order, as Splunk's do over a table. Two states of
//! the same group, of earlier and of later rows, merge into the state of
//! all of them ([`Acc::merge`]): a `stats` whose groups spill to disk
//! gives the answer one in memory gives. That is why sums are exact
//! ([`ExactSum`]): a running float sum depends on where it was cut.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::{self, Read, Write};

use super::{value_cmp, LIST_LIMIT};
use crate::commands::distinct::Distinct;
use crate::encode::{get_f64, get_str, get_u64, put_f64, put_str, put_u64};
use crate::exact_sum::ExactSum;
use crate::memory::STRING_BYTES;
use crate::num::{format_num, parse_num};
use crate::spl::ast::StatsFunc;
use crate::table::Cell;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Acc {
    /// `count`: rows.
    Rows(usize),
    /// `count(f)`: values (a multivalue counts each).
    Count(usize),
    /// `dc`, `values`: the distinct values (byte order).
    Distinct(Distinct),
    /// `list`: the first [`LIST_LIMIT`] values.
    List(Vec<String>),
    /// `min`, `max`, `first`, `last`: the value kept so far.
    One(Option<String>),
    /// `sum`, `avg`: the numbers' exact sum and count.
    Sum(ExactSum, usize),
    /// `range`: the least and greatest number.
    Range(Option<(f64, f64)>),
    /// `stdev`, `var`, ...: the numbers (two passes, mean first).
    Nums(Vec<f64>),
    /// `median`: every value.
    All(Vec<String>),
    /// `mode`: each value's count and first position, and the values seen.
    Mode(HashMap<String, (usize, usize)>, usize),
    /// `earliest`, `latest`: the time and value kept so far.
    Timed(Option<(f64, String)>),
}

impl Acc {
    pub(super) fn new(func: StatsFunc, field: Option<&str>) -> Self {
        match func {
            StatsFunc::Count if field.is_none() => Acc::Rows(0),
            StatsFunc::Count => Acc::Count(0),
            StatsFunc::Dc | StatsFunc::Values => Acc::Distinct(Distinct::new()),
            StatsFunc::List => Acc::List(Vec::new()),
            StatsFunc::Min | StatsFunc::Max | StatsFunc::First | StatsFunc::Last => Acc::One(None),
            StatsFunc::Sum | StatsFunc::Avg => Acc::Sum(ExactSum::default(), 0),
            StatsFunc::Range => Acc::Range(None),
            StatsFunc::Stdev | StatsFunc::Stdevp | StatsFunc::Var | StatsFunc::Varp => {
                Acc::Nums(Vec::new())
            }
            StatsFunc::Median => Acc::All(Vec::new()),
            StatsFunc::Mode => Acc::Mode(HashMap::new(), 0),
            StatsFunc::Earliest | StatsFunc::Latest => Acc::Timed(None),
        }
    }

    /// One row: its time and the aggregate field's values. Returns about
    /// how many bytes of heap the state grew by.
    pub(super) fn add(&mut self, func: StatsFunc, time: Option<f64>, vals: &[String]) -> usize {
        let mut grew = 0;
        match self {
            Acc::Rows(n) => *n += 1,
            Acc::Count(n) => *n += vals.len(),
            Acc::Distinct(set) => {
                for v in vals {
                    if set.insert(v) {
                        grew += v.len() + STRING_BYTES;
                    }
                }
            }
            Acc::List(list) => {
                let room = LIST_LIMIT.saturating_sub(list.len());
                for v in vals.iter().take(room) {
                    grew += v.len() + STRING_BYTES;
                    list.push(v.clone());
                }
            }
            Acc::One(kept) => {
                for v in vals {
                    if one_wins(func, kept.as_deref(), v) {
                        grew += v.len().saturating_sub(kept.as_ref().map_or(0, String::len));
                        *kept = Some(v.clone());
                    }
                }
            }
            Acc::Sum(sum, n) => {
                for x in vals.iter().filter_map(|v| parse_num(v)) {
                    sum.add(x);
                    *n += 1;
                }
            }
            Acc::Range(r) => {
                for x in vals.iter().filter_map(|v| parse_num(v)) {
                    let (lo, hi) = r.get_or_insert((f64::INFINITY, f64::NEG_INFINITY));
                    *lo = lo.min(x);
                    *hi = hi.max(x);
                }
            }
            Acc::Nums(nums) => {
                let before = nums.len();
                nums.extend(vals.iter().filter_map(|v| parse_num(v)));
                grew += (nums.len() - before) * 8;
            }
            Acc::All(all) => {
                for v in vals {
                    grew += v.len() + STRING_BYTES;
                    all.push(v.clone());
                }
            }
            Acc::Mode(counts, seen) => {
                for v in vals {
                    match counts.get_mut(v.as_str()) {
                        Some(c) => c.0 += 1,
                        None => {
                            grew += v.len() + STRING_BYTES + 24;
                            counts.insert(v.clone(), (1, *seen));
                        }
                    }
                    *seen += 1;
                }
            }
            Acc::Timed(kept) => {
                // A row without a time sorts before every time.
                let t = time.unwrap_or(f64::NEG_INFINITY);
                for v in vals {
                    if timed_wins(func, kept.as_ref().map(|k| k.0), t) {
                        grew += v.len();
                        *kept = Some((t, v.clone()));
                    }
                }
            }
        }
        grew
    }

    /// Fold in `later`, the state of the same group over rows that came
    /// after this one's.
    pub(super) fn merge(&mut self, func: StatsFunc, later: Acc) {
        match (self, later) {
            (Acc::Rows(a), Acc::Rows(b)) | (Acc::Count(a), Acc::Count(b)) => *a += b,
            (Acc::Distinct(a), Acc::Distinct(b)) => a.extend(b),
            (Acc::List(a), Acc::List(b)) => {
                let room = LIST_LIMIT.saturating_sub(a.len());
                a.extend(b.into_iter().take(room));
            }
            (Acc::One(a), Acc::One(Some(b))) if one_wins(func, a.as_deref(), &b) => *a = Some(b),
            (Acc::Sum(a, n), Acc::Sum(b, m)) => {
                a.merge(&b);
                *n += m;
            }
            (Acc::Range(a), Acc::Range(Some((lo, hi)))) => {
                let (alo, ahi) = a.get_or_insert((lo, hi));
                *alo = alo.min(lo);
                *ahi = ahi.max(hi);
            }
            (Acc::Nums(a), Acc::Nums(b)) => a.extend(b),
            (Acc::All(a), Acc::All(b)) => a.extend(b),
            (Acc::Mode(a, seen), Acc::Mode(b, more)) => {
                for (v, (count, first)) in b {
                    match a.get_mut(&v) {
                        Some(c) => c.0 += count,
                        None => {
                            a.insert(v, (count, *seen + first));
                        }
                    }
                }
                *seen += more;
            }
            (Acc::Timed(a), Acc::Timed(Some((t, v))))
                if timed_wins(func, a.as_ref().map(|k| k.0), t) =>
            {
                *a = Some((t, v))
            }
            // The later state is empty or loses (or, impossibly, is of
            // another kind).
            _ => {}
        }
    }

    pub(super) fn result(&self, func: StatsFunc) -> Cell {
        let num = |n: Option<f64>| n.map_or(Cell::null(), |n| Cell::one(format_num(n)));
        match self {
            Acc::Rows(n) | Acc::Count(n) => Cell::one(n.to_string()),
            Acc::Distinct(set) if func == StatsFunc::Dc => Cell::one(set.len().to_string()),
            Acc::Distinct(set) => Cell(set.iter().cloned().collect()),
            Acc::List(list) => Cell(list.clone()),
            Acc::One(kept) => kept.as_deref().map_or(Cell::null(), Cell::one),
            Acc::Sum(_, 0) => Cell::null(),
            Acc::Sum(sum, n) if func == StatsFunc::Avg => num(Some(sum.value() / *n as f64)),
            Acc::Sum(sum, _) => num(Some(sum.value())),
            Acc::Range(r) => num(r.map(|(lo, hi)| hi - lo)),
            Acc::Nums(n) => {
                let sample = matches!(func, StatsFunc::Stdev | StatsFunc::Var);
                let denom = if sample {
                    n.len().saturating_sub(1)
                } else {
                    n.len()
                };
                if denom == 0 {
                    // Splunk gives 0 for the spread of a single value.
                    return num((!n.is_empty()).then_some(0.0));
                }
                let var = variance(n, denom);
                num(Some(match func {
                    StatsFunc::Stdev | StatsFunc::Stdevp => var.sqrt(),
                    _ => var,
                }))
            }
            Acc::All(all) => {
                let mut v: Vec<&str> = all.iter().map(String::as_str).collect();
                v.sort_by(|a, b| value_cmp(a, b));
                // Splunk's median of an even count is the upper middle value.
                v.get(v.len() / 2).map_or(Cell::null(), |m| Cell::one(*m))
            }
            // Most frequent; the first seen wins a tie.
            Acc::Mode(counts, _) => counts
                .iter()
                .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
                .map_or(Cell::null(), |(v, _)| Cell::one(v)),
            Acc::Timed(kept) => kept
                .as_ref()
                .map_or(Cell::null(), |(_, v)| Cell::one(v.clone())),
        }
    }
}

/// Whether a later value `v` replaces the one `kept` so far: min keeps the
/// first of equal values, max the last; first and last are row order's.
fn one_wins(func: StatsFunc, kept: Option<&str>, v: &str) -> bool {
    match (kept, func) {
        (None, _) | (Some(_), StatsFunc::Last) => true,
        (Some(_), StatsFunc::First) => false,
        (Some(k), StatsFunc::Min) => value_cmp(v, k) == Ordering::Less,
        (Some(k), _) => value_cmp(v, k) != Ordering::Less,
    }
}

/// Whether a later value at time `t` replaces the one kept at `kept`:
/// earliest keeps the first of equal times, latest the last.
fn timed_wins(func: StatsFunc, kept: Option<f64>, t: f64) -> bool {
    match kept {
        None => true,
        Some(k) if func == StatsFunc::Earliest => t < k,
        Some(k) => t >= k,
    }
}

/// The variance of `n` (`denom` is `n.len()` or one less), the same
/// whatever the order of `n`. Whole numbers under 2^31 (lengths, counts,
/// ids) are exact up to the last division, `(n*sum(x^2) - sum(x)^2) /
/// (n*denom)`, each side rounded once, so SQL engines give it to the bit
/// (`sql::stats`); other numbers take their deviations from the exact
/// mean, summed exactly.
pub(super) fn variance(n: &[f64], denom: usize) -> f64 {
    const WHOLE: f64 = 2_147_483_648.0;
    if n.len() < 1 << 31 && n.iter().all(|x| x.fract() == 0.0 && x.abs() < WHOLE) {
        let (mut sum, mut squares) = (0i128, 0i128);
        for &x in n {
            let x = x as i128;
            sum += x;
            squares += x * x;
        }
        let count = n.len() as i128;
        let num = count * squares - sum * sum;
        return num as f64 / (count * denom as i128) as f64;
    }
    let mut sum = ExactSum::default();
    n.iter().for_each(|&x| sum.add(x));
    let mean = sum.value() / n.len() as f64;
    let mut dev = ExactSum::default();
    n.iter().for_each(|&x| dev.add((x - mean) * (x - mean)));
    dev.value() / denom as f64
}

/// A state as bytes, for a run on disk.
pub(super) fn write(out: &mut impl Write, acc: &Acc) -> io::Result<()> {
    match acc {
        Acc::Rows(n) => tag_u64(out, 0, *n as u64),
        Acc::Count(n) => tag_u64(out, 1, *n as u64),
        Acc::Distinct(set) => {
            tag_u64(out, 2, set.len() as u64)?;
            set.iter().try_for_each(|v| put_str(out, v))
        }
        Acc::List(list) => {
            tag_u64(out, 3, list.len() as u64)?;
            list.iter().try_for_each(|v| put_str(out, v))
        }
        Acc::One(kept) => {
            tag_u64(out, 4, u64::from(kept.is_some()))?;
            kept.iter().try_for_each(|v| put_str(out, v))
        }
        Acc::Sum(sum, n) => {
            tag_u64(out, 5, *n as u64)?;
            sum.write(out)
        }
        Acc::Range(r) => {
            tag_u64(out, 6, u64::from(r.is_some()))?;
            r.iter()
                .try_for_each(|(lo, hi)| put_f64(out, *lo).and_then(|()| put_f64(out, *hi)))
        }
        Acc::Nums(nums) => {
            tag_u64(out, 7, nums.len() as u64)?;
            nums.iter().try_for_each(|x| put_f64(out, *x))
        }
        Acc::All(all) => {
            tag_u64(out, 8, all.len() as u64)?;
            all.iter().try_for_each(|v| put_str(out, v))
        }
        Acc::Mode(counts, seen) => {
            tag_u64(out, 9, counts.len() as u64)?;
            put_u64(out, *seen as u64)?;
            counts.iter().try_for_each(|(v, (count, first))| {
                put_str(out, v)?;
                put_u64(out, *count as u64)?;
                put_u64(out, *first as u64)
            })
        }
        Acc::Timed(kept) => {
            tag_u64(out, 10, u64::from(kept.is_some()))?;
            kept.iter()
                .try_for_each(|(t, v)| put_f64(out, *t).and_then(|()| put_str(out, v)))
        }
    }
}

/// A state written by [`write`].
pub(super) fn read(input: &mut impl Read) -> io::Result<Acc> {
    let mut tag = [0u8; 1];
    input.read_exact(&mut tag)?;
    let n = get_u64(input)? as usize;
    Ok(match tag[0] {
        0 => Acc::Rows(n),
        1 => Acc::Count(n),
        2 => Acc::Distinct(get_strs(input, n)?),
        3 => Acc::List(get_strs(input, n)?),
        4 => Acc::One(if n == 1 { Some(get_str(input)?) } else { None }),
        5 => Acc::Sum(ExactSum::read(input)?, n),
        6 => Acc::Range(if n == 1 {
            Some((get_f64(input)?, get_f64(input)?))
        } else {
            None
        }),
        7 => Acc::Nums((0..n).map(|_| get_f64(input)).collect::<io::Result<_>>()?),
        8 => Acc::All(get_strs(input, n)?),
        9 => {
            let seen = get_u64(input)? as usize;
            let mut counts = HashMap::with_capacity(n);
            for _ in 0..n {
                let v = get_str(input)?;
                let count = get_u64(input)? as usize;
                let first = get_u64(input)? as usize;
                counts.insert(v, (count, first));
            }
            Acc::Mode(counts, seen)
        }
        10 => Acc::Timed(if n == 1 {
            Some((get_f64(input)?, get_str(input)?))
        } else {
            None
        }),
        t => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a stats run holds an unknown state {t}"),
            ))
        }
    })
}

fn tag_u64(out: &mut impl Write, tag: u8, n: u64) -> io::Result<()> {
    out.write_all(&[tag])?;
    put_u64(out, n)
}

/// `n` strings into any collection of them.
fn get_strs<C: FromIterator<String>>(input: &mut impl Read, n: usize) -> io::Result<C> {
    (0..n).map(|_| get_str(input)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variance_does_not_depend_on_order() {
        // Whole numbers: the exact formula, also against the textbook one
        // on small values where both are exact.
        let lens = [31.0, 7.0, 12.0, 12.0, 64.0, 3.0, 250.0];
        let mut rev = lens;
        rev.reverse();
        assert_eq!(variance(&lens, 6).to_bits(), variance(&rev, 6).to_bits());
        let small = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(variance(&small, 3), 5.0 / 3.0);
        assert_eq!(variance(&small, 4), 1.25);
        // Fractions: deviations from the exact mean, summed exactly.
        let xs = [0.1, 1e8 + 0.7, 0.2, 3.3, -1e8, 2.25];
        let mut ys = xs;
        ys.rotate_left(2);
        ys.swap(0, 3);
        assert_eq!(variance(&xs, 5).to_bits(), variance(&ys, 5).to_bits());
        // Past 2^31 the fraction path is taken, still exact for these.
        let big = [3e9, 3e9 + 2.0];
        assert_eq!(variance(&big, 1), 2.0);
    }

    #[test]
    fn states_merge_as_if_never_cut_and_survive_a_run() {
        let rows: Vec<(Option<f64>, Vec<String>)> = [
            (Some(5.0), vec!["1"]),
            (Some(5.0), vec!["1.0", "b"]),
            (None, vec!["01"]),
            (Some(2.0), vec!["b"]),
            (Some(9.0), vec![]),
            (Some(9.0), vec!["-3.5"]),
        ]
        .into_iter()
        .map(|(t, v)| (t, v.into_iter().map(String::from).collect()))
        .collect();
        use StatsFunc::*;
        let funcs = [
            Count, Dc, Values, List, Min, Max, First, Last, Sum, Avg, Range, Stdev, Median, Mode,
            Earliest, Latest,
        ];
        for func in funcs {
            let field = Some("f");
            let mut whole = Acc::new(func, field);
            for (t, v) in &rows {
                whole.add(func, *t, v);
            }
            for cut in 0..=rows.len() {
                let (mut a, mut b) = (Acc::new(func, field), Acc::new(func, field));
                for (t, v) in &rows[..cut] {
                    a.add(func, *t, v);
                }
                for (t, v) in &rows[cut..] {
                    b.add(func, *t, v);
                }
                let mut bytes = Vec::new();
                write(&mut bytes, &b).unwrap();
                let b = read(&mut bytes.as_slice()).unwrap();
                a.merge(func, b);
                assert_eq!(a.result(func), whole.result(func), "{func:?} cut at {cut}");
            }
        }
    }
}
