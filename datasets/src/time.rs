//! FILETIME arithmetic and the text forms each output uses. Hand-written (no chrono on the hot
//! path) because every event renders two or three timestamps.

/// 100 ns ticks per second.
pub const TICKS_PER_SEC: u64 = 10_000_000;
/// Ticks per day.
pub const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SEC;
const UNIX_EPOCH_SECS: u64 = 11_644_473_600;

/// FILETIME of a Unix time in seconds.
pub fn filetime_from_unix(secs: u64) -> u64 {
    (secs + UNIX_EPOCH_SECS) * TICKS_PER_SEC
}

/// FILETIME of midnight of day `d` after `start_day`.
pub fn day_start(start_day: i64, d: usize) -> u64 {
    let day = (start_day + d as i64).max(0) as u64;
    filetime_from_unix(day * 86_400).min(u64::MAX - TICKS_PER_DAY)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Broken-down UTC time of a FILETIME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Sub-second 100 ns ticks (0..10_000_000).
    pub ticks: u32,
}

impl Civil {
    /// Splits a FILETIME (times before 1970 are clamped to 1970).
    pub fn from_filetime(ft: u64) -> Civil {
        let unix_ticks = ft.saturating_sub(UNIX_EPOCH_SECS * TICKS_PER_SEC);
        let days = (unix_ticks / TICKS_PER_DAY) as i64;
        let rem = unix_ticks % TICKS_PER_DAY;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u32;
        let secs = rem / TICKS_PER_SEC;
        Civil {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: (secs / 60 % 60) as u32,
            second: (secs % 60) as u32,
            ticks: (rem % TICKS_PER_SEC) as u32,
        }
    }

    fn push_date_time(&self, out: &mut String, date_sep: char) {
        push_num(out, self.year, 4);
        out.push('-');
        push_num(out, self.month, 2);
        out.push('-');
        push_num(out, self.day, 2);
        out.push(date_sep);
        push_num(out, self.hour, 2);
        out.push(':');
        push_num(out, self.minute, 2);
        out.push(':');
        push_num(out, self.second, 2);
    }

    /// `YYYY-MM-DD`, the per-day folder name.
    pub fn date(&self) -> String {
        let mut s = String::with_capacity(10);
        push_num(&mut s, self.year, 4);
        s.push('-');
        push_num(&mut s, self.month, 2);
        s.push('-');
        push_num(&mut s, self.day, 2);
        s
    }
}

fn push_num(out: &mut String, v: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut v = v;
    let mut i = buf.len();
    while v > 0 && i > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let digits = (buf.len() - i).max(width);
    for &b in &buf[buf.len() - digits..] {
        out.push(b as char);
    }
}

/// Appends `YYYY-MM-DDTHH:MM:SS.<frac>Z` with `digits` fractional digits (1..=9; 9 = Windows XML).
pub fn push_iso(out: &mut String, ft: u64, digits: u32) {
    let c = Civil::from_filetime(ft);
    c.push_date_time(out, 'T');
    out.push('.');
    let nanos = c.ticks * 100;
    let digits = digits.clamp(1, 9);
    push_num(out, nanos / 10u32.pow(9 - digits), digits as usize);
    out.push('Z');
}

/// Sysmon's `UtcTime` form: `YYYY-MM-DD HH:MM:SS.mmm`.
pub fn sysmon_utc(ft: u64) -> String {
    let c = Civil::from_filetime(ft);
    let mut s = String::with_capacity(23);
    c.push_date_time(&mut s, ' ');
    s.push('.');
    push_num(&mut s, c.ticks / 10_000, 3);
    s
}

/// Parses Sysmon's `UtcTime` back to a FILETIME (ms precision). `None` when malformed.
pub fn parse_sysmon_utc(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 23 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let days = days_from_civil(i64::from(n(0..4)?), n(5..7)?, n(8..10)?);
    let secs = u64::try_from(days).ok()? * 86_400
        + u64::from(n(11..13)?) * 3600
        + u64::from(n(14..16)?) * 60
        + u64::from(n(17..19)?);
    Some(filetime_from_unix(secs) + u64::from(n(20..23)?) * 10_000)
}

/// `%Y-%m-%dT%H:%M:%S` with seconds floored: the expected-table time format.
pub fn csv_time(ft: u64) -> String {
    let c = Civil::from_filetime(ft);
    let mut s = String::with_capacity(19);
    c.push_date_time(&mut s, 'T');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_times() {
        // 2021-01-14T23:41:40.1453352Z from the Splunk sample.
        let secs = days_from_civil(2021, 1, 14) as u64 * 86_400 + 23 * 3600 + 41 * 60 + 40;
        let ft = filetime_from_unix(secs) + 1_453_352;
        let mut s = String::new();
        push_iso(&mut s, ft, 9);
        assert_eq!(s, "2021-01-14T23:41:40.145335200Z");
        s.clear();
        push_iso(&mut s, ft, 6);
        assert_eq!(s, "2021-01-14T23:41:40.145335Z");
        assert_eq!(sysmon_utc(ft), "2021-01-14 23:41:40.145");
        assert_eq!(csv_time(ft), "2021-01-14T23:41:40");
        assert_eq!(parse_sysmon_utc("2021-01-14 23:41:40.145"), Some(ft - 3352));
        assert_eq!(Civil::from_filetime(ft).date(), "2021-01-14");
        let leap = filetime_from_unix(days_from_civil(2024, 2, 29) as u64 * 86_400);
        assert_eq!(csv_time(leap), "2024-02-29T00:00:00");
    }
}
