//! Exact float sums: the same answer whatever the order the numbers come
//! in, where a sum is cut (a spilled run, a segment, a piece) and merged.

use std::io::{self, Read, Write};

use crate::encode::{get_f64, get_u64, put_f64, put_u64};

/// An exact sum of floats (Shewchuk's non-overlapping partials, as
/// Python's `math.fsum`), rounded once at the end: the same whatever the
/// order the numbers came in or where the sum was cut and merged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExactSum {
    /// Non-overlapping, increasing magnitude; their exact sum is the sum.
    partials: Vec<f64>,
}

impl ExactSum {
    pub fn add(&mut self, mut x: f64) {
        let mut i = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        self.partials.truncate(i);
        self.partials.push(x);
    }

    pub fn merge(&mut self, other: &ExactSum) {
        for &p in &other.partials {
            self.add(p);
        }
    }

    /// The exact sum, correctly rounded (half to even).
    pub fn value(&self) -> f64 {
        let p = &self.partials;
        let Some(&top) = p.last() else {
            return 0.0;
        };
        let (mut hi, mut lo) = (top, 0.0);
        let mut n = p.len() - 1;
        while n > 0 {
            let (x, y) = (hi, p[n - 1]);
            n -= 1;
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        // Round half to even: when the rest is exactly half an ulp in the
        // direction of `lo`, the next partial decides.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

impl ExactSum {
    /// The partials, for a temporary file.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        put_u64(out, self.partials.len() as u64)?;
        self.partials.iter().try_for_each(|p| put_f64(out, *p))
    }

    /// A sum written by [`ExactSum::write`].
    pub fn read(input: &mut impl Read) -> io::Result<ExactSum> {
        let n = get_u64(input)?;
        // Partials do not overlap: a double has room for about 40 of them.
        if n > 64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a temporary file's sum is damaged",
            ));
        }
        let partials = (0..n).map(|_| get_f64(input)).collect::<io::Result<_>>()?;
        Ok(ExactSum { partials })
    }
}

#[cfg(test)]
mod tests {
    use super::ExactSum;

    #[test]
    fn exact_sums_do_not_depend_on_order_or_cuts() {
        let xs = [0.1, 1e16, 0.2, -1e16, 0.3, 1.5, -2.25, 1e-300, 3.0];
        let mut whole = ExactSum::default();
        xs.iter().for_each(|&x| whole.add(x));
        let mut reversed = ExactSum::default();
        xs.iter().rev().for_each(|&x| reversed.add(x));
        let (mut a, mut b) = (ExactSum::default(), ExactSum::default());
        xs[..4].iter().for_each(|&x| a.add(x));
        xs[4..].iter().for_each(|&x| b.add(x));
        a.merge(&b);
        // What math.fsum gives; a running float sum gives 2.55 here.
        assert_eq!(whole.value(), reversed.value());
        assert_eq!(whole.value(), a.value());
        assert_eq!(whole.value(), 2.85);
        let mut ints = ExactSum::default();
        (1..=100).for_each(|i| ints.add(f64::from(i)));
        assert_eq!(ints.value(), 5050.0);
        assert_eq!(ExactSum::default().value(), 0.0);
    }

    #[test]
    fn a_sum_reads_back_as_written() {
        let mut s = ExactSum::default();
        [0.1, 1e16, 0.2, -3.5].iter().for_each(|&x| s.add(x));
        let mut bytes = Vec::new();
        s.write(&mut bytes).unwrap();
        assert_eq!(ExactSum::read(&mut bytes.as_slice()).unwrap(), s);
        assert!(ExactSum::read(&mut &bytes[..bytes.len() - 1]).is_err());
    }
}
