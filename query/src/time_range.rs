//! The time range of a search (`--earliest` / `--latest`), written as
//! Splunk's time modifiers and evaluated in UTC:
//!
//! - absolute: `2024-01-31T12:00:00` (ISO 8601, optionally with a fraction
//!   and `Z` or an offset; or a bare date), `01/31/2024:12:00:00`
//!   (Splunk's default format), or epoch seconds (`1706702400`);
//! - relative to now: `now`, offsets `[+-]N<unit>` and snaps `@<unit>`
//!   in any order (`-7d@d`, `-24h`, `@d`, `-1mon@mon`, `@d+8h`), units
//!   `s m h d w mon q y` (and Splunk's longer names), `@w0`..`@w6`
//!   snapping to that weekday (0 = Sunday; `@w` is `@w0`).
//!
//! As in Splunk, `earliest` is inclusive and `latest` exclusive.

use std::ops::Bound;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::schema::Field;
use tantivy::Term;

/// A time modifier that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time `{text}`: {reason}")]
pub struct TimeError {
    pub text: String,
    pub reason: String,
}

/// `[earliest, latest)` in microseconds since the epoch; None is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub earliest: Option<i64>,
    pub latest: Option<i64>,
}

impl TimeWindow {
    /// The window of `--earliest` / `--latest`, evaluated at `now`.
    pub fn parse(
        earliest: Option<&str>,
        latest: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, TimeError> {
        let at = |t: Option<&str>| t.map(|t| parse_time(t, now)).transpose();
        Ok(TimeWindow {
            earliest: at(earliest)?,
            latest: at(latest)?,
        })
    }

    pub fn is_all(&self) -> bool {
        self.earliest.is_none() && self.latest.is_none()
    }

    /// The part of this window that is also in `other`.
    pub fn within(&self, other: &TimeWindow) -> TimeWindow {
        let pick = |a: Option<i64>, b: Option<i64>, f: fn(i64, i64) -> i64| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, b) => a.or(b),
        };
        TimeWindow {
            earliest: pick(self.earliest, other.earliest, i64::max),
            latest: pick(self.latest, other.latest, i64::min),
        }
    }

    /// Whether events from `first` to `last` (inclusive) may fall in it.
    pub fn overlaps(&self, first: i64, last: i64) -> bool {
        self.earliest.is_none_or(|e| last >= e) && self.latest.is_none_or(|l| first < l)
    }

    /// `query` within the window: and-ed with a range query on the
    /// indexed `_time` field (`time`).
    pub fn restrict(&self, query: Box<dyn Query>, time: Field) -> Box<dyn Query> {
        if self.is_all() {
            return query;
        }
        let t = |m: i64| Term::from_field_i64(time, m);
        let lo = self
            .earliest
            .map_or(Bound::Unbounded, |e| Bound::Included(t(e)));
        let hi = self
            .latest
            .map_or(Bound::Unbounded, |l| Bound::Excluded(t(l)));
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, query),
            (Occur::Must, Box::new(RangeQuery::new(lo, hi))),
        ]))
    }
}

/// A time modifier as microseconds since the epoch.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<i64, TimeError> {
    let err = |reason: &str| TimeError {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(err("empty"));
    }
    if let Some(abs) = absolute(t) {
        return abs.map_err(|r| err(&r));
    }
    if t.eq_ignore_ascii_case("now") {
        return Ok(now.timestamp_micros());
    }
    relative(t, now.naive_utc())
        .map(|d| d.and_utc().timestamp_micros())
        .map_err(|r| err(&r))
}

/// An absolute time (None: not one; Some(Err): one that is out of range).
fn absolute(t: &str) -> Option<Result<i64, String>> {
    let out_of_range = || "out of range".to_string();
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') && t.bytes().any(|b| b != b'.') {
        let secs: f64 = t.parse().ok()?;
        let micros = (secs * 1e6).round();
        return Some(match micros.abs() < 9.2e18 {
            true => Ok(micros as i64),
            false => Err(out_of_range()),
        });
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(Ok(d.timestamp_micros()));
    }
    let formats = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%m/%d/%Y:%H:%M:%S",
    ];
    if let Some(d) = formats
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    {
        return Some(Ok(d.and_utc().timestamp_micros()));
    }
    let dates = ["%Y-%m-%d", "%m/%d/%Y"];
    let d = dates
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(t, f).ok())?;
    Some(Ok(d
        .and_time(Default::default())
        .and_utc()
        .timestamp_micros()))
}

/// Offsets and snaps applied to `now`, left to right.
fn relative(t: &str, now: NaiveDateTime) -> Result<NaiveDateTime, String> {
    let mut at = now;
    let mut rest = t;
    while let Some(c) = rest.chars().next() {
        let (sign, body) = match c {
            '+' => (1, &rest[1..]),
            '-' => (-1, &rest[1..]),
            '@' => {
                let (unit, tail) = split_unit(&rest[1..]);
                at = snap(at, unit).ok_or_else(|| bad_unit(unit))?;
                rest = tail;
                continue;
            }
            _ => return Err("not a time: give `now`, `-7d@d`, `2024-01-31T12:00:00`, `01/31/2024:12:00:00` or epoch seconds".into()),
        };
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        let n: i64 = match digits {
            0 => 1,
            _ => body[..digits].parse().map_err(|_| "number too large")?,
        };
        let (unit, tail) = split_unit(&body[digits..]);
        at = offset(at, sign * n, unit).ok_or_else(|| match Unit::of(unit) {
            Some(_) => "out of range".to_string(),
            None => bad_unit(unit),
        })?;
        rest = tail;
    }
    Ok(at)
}

fn bad_unit(unit: &str) -> String {
    format!("unknown time unit `{unit}` (s, m, h, d, w, mon, q, y)")
}

/// The unit at the start of `s` (letters, and a weekday digit after `w`).
fn split_unit(s: &str) -> (&str, &str) {
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let end = match &s[..letters] {
        "w" | "W" if s[1..].starts_with(|c: char| c.is_ascii_digit()) => 2,
        _ => letters,
    };
    s.split_at(end)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    /// A week; when snapping, to the given weekday (0 = Sunday).
    Week(u32),
    Month,
    Quarter,
    Year,
}

impl Unit {
    fn of(s: &str) -> Option<Unit> {
        Some(match s.to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => Unit::Second,
            "m" | "min" | "mins" | "minute" | "minutes" => Unit::Minute,
            "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Hour,
            "d" | "day" | "days" => Unit::Day,
            "w" | "week" | "weeks" | "w0" | "w7" => Unit::Week(0),
            "w1" => Unit::Week(1),
            "w2" => Unit::Week(2),
            "w3" => Unit::Week(3),
            "w4" => Unit::Week(4),
            "w5" => Unit::Week(5),
            "w6" => Unit::Week(6),
            "mon" | "month" | "months" => Unit::Month,
            "q" | "qtr" | "qtrs" | "quarter" | "quarters" => Unit::Quarter,
            "y" | "yr" | "yrs" | "year" | "years" => Unit::Year,
            _ => return None,
        })
    }
}

/// `at` moved by `n` units (None: unknown unit or out of range).
fn offset(at: NaiveDateTime, n: i64, unit: &str) -> Option<NaiveDateTime> {
    let secs = |k: i64| at.checked_add_signed(TimeDelta::try_seconds(n.checked_mul(k)?)?);
    let months = |k: i64| {
        let m = u32::try_from(n.checked_mul(k)?.unsigned_abs()).ok()?;
        match n < 0 {
            true => at.checked_sub_months(Months::new(m)),
            false => at.checked_add_months(Months::new(m)),
        }
    };
    match Unit::of(unit)? {
        Unit::Second => secs(1),
        Unit::Minute => secs(60),
        Unit::Hour => secs(3600),
        Unit::Day => secs(86_400),
        Unit::Week(_) => secs(7 * 86_400),
        Unit::Month => months(1),
        Unit::Quarter => months(3),
        Unit::Year => months(12),
    }
}

/// `at` rounded down to the start of its `unit` (None: unknown unit).
fn snap(at: NaiveDateTime, unit: &str) -> Option<NaiveDateTime> {
    let day = at.date();
    let midnight = |d: NaiveDate| d.and_time(Default::default());
    let time = at.time();
    use chrono::Timelike as _;
    Some(match Unit::of(unit)? {
        Unit::Second => at.with_nanosecond(0)?,
        Unit::Minute => {
            midnight(day) + TimeDelta::seconds(i64::from(time.hour() * 3600 + time.minute() * 60))
        }
        Unit::Hour => midnight(day) + TimeDelta::seconds(i64::from(time.hour() * 3600)),
        Unit::Day => midnight(day),
        Unit::Week(weekday) => {
            let back = (day.weekday().num_days_from_sunday() + 7 - weekday) % 7;
            midnight(day.checked_sub_days(Days::new(u64::from(back)))?)
        }
        Unit::Month => midnight(day.with_day(1)?),
        Unit::Quarter => midnight(NaiveDate::from_ymd_opt(
            day.year(),
            (day.month0() / 3) * 3 + 1,
            1,
        )?),
        Unit::Year => midnight(NaiveDate::from_ymd_opt(day.year(), 1, 1)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wednesday 2024-03-13 15:47:30.5 UTC.
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-03-13T15:47:30.5Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn at(t: &str) -> String {
        let micros = parse_time(t, now()).unwrap_or_else(|e| panic!("{e}"));
        DateTime::from_timestamp_micros(micros)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.f")
            .to_string()
    }

    #[test]
    fn absolute_times() {
        assert_eq!(at("2024-01-31T12:00:00"), "2024-01-31T12:00:00");
        assert_eq!(at("2024-01-31T12:00:00.25"), "2024-01-31T12:00:00.250");
        assert_eq!(at("2024-01-31T12:00:00+02:00"), "2024-01-31T10:00:00");
        assert_eq!(at("2024-01-31"), "2024-01-31T00:00:00");
        assert_eq!(at("01/31/2024:12:00:00"), "2024-01-31T12:00:00");
        assert_eq!(at("1706702400"), "2024-01-31T12:00:00");
        assert_eq!(parse_time("1706702400.5", now()), Ok(1_706_702_400_500_000));
        assert_eq!(parse_time("0", now()), Ok(0));
    }

    #[test]
    fn relative_times() {
        assert_eq!(at("now"), "2024-03-13T15:47:30.500");
        assert_eq!(at("-24h"), "2024-03-12T15:47:30.500");
        assert_eq!(at("-7d@d"), "2024-03-06T00:00:00");
        assert_eq!(at("@d"), "2024-03-13T00:00:00");
        assert_eq!(at("@h"), "2024-03-13T15:00:00");
        assert_eq!(at("@m"), "2024-03-13T15:47:00");
        assert_eq!(at("@s"), "2024-03-13T15:47:30");
        assert_eq!(at("-1mon@mon"), "2024-02-01T00:00:00");
        assert_eq!(at("-1y@y"), "2023-01-01T00:00:00");
        assert_eq!(at("@q"), "2024-01-01T00:00:00");
        assert_eq!(at("-30m"), "2024-03-13T15:17:30.500");
        assert_eq!(at("-90s"), "2024-03-13T15:46:00.500");
        assert_eq!(at("+1d"), "2024-03-14T15:47:30.500");
        assert_eq!(at("-d"), "2024-03-12T15:47:30.500");
        assert_eq!(at("-2w"), "2024-02-28T15:47:30.500");
        // Snap to Sunday, or to a given weekday (Monday = w1).
        assert_eq!(at("@w"), "2024-03-10T00:00:00");
        assert_eq!(at("@w0"), "2024-03-10T00:00:00");
        assert_eq!(at("@w1"), "2024-03-11T00:00:00");
        assert_eq!(at("@w3"), "2024-03-13T00:00:00");
        assert_eq!(at("@w4"), "2024-03-07T00:00:00");
        // An offset after a snap.
        assert_eq!(at("@d+8h"), "2024-03-13T08:00:00");
        assert_eq!(at("-1d@d-2h"), "2024-03-11T22:00:00");
        // Longer unit names, and a month end clamped.
        assert_eq!(at("-3hours"), "2024-03-13T12:47:30.500");
        let end_of_march = DateTime::parse_from_rfc3339("2024-03-31T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let m = parse_time("-1mon", end_of_march).unwrap();
        assert_eq!(
            DateTime::from_timestamp_micros(m).unwrap().to_rfc3339(),
            "2024-02-29T00:00:00+00:00"
        );
    }

    #[test]
    fn bad_times_are_named() {
        for t in [
            "",
            "yesterday",
            "-7x",
            "@fortnight",
            "-5",
            "2024-13-45",
            "-99999999999y",
        ] {
            let e = parse_time(t, now()).expect_err(t);
            assert_eq!(e.text, t);
            assert!(e.to_string().contains(&format!("`{t}`")), "{e}");
        }
    }

    #[test]
    fn window_overlap_is_half_open() {
        let w = TimeWindow {
            earliest: Some(10),
            latest: Some(20),
        };
        assert!(w.overlaps(0, 10) && w.overlaps(19, 30) && w.overlaps(12, 13));
        assert!(!w.overlaps(0, 9) && !w.overlaps(20, 30));
        assert!(TimeWindow::default().overlaps(i64::MIN, i64::MAX));
    }
}
