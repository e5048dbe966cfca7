//! Timestamp parsing for the forms Windows exports use, without a time-zone
//! database: `2021-01-14T23:41:40.145335200Z`, `2020-12-19 12:50:13.618`,
//! `2020-08-01 05:46:46`, `2019-05-18T20:37:10.409+02:00`. A time without a
//! zone is taken as UTC (Sysmon's `UtcTime`, NXLog's `EventTime`).

use chrono::NaiveDate;

/// Microseconds since the Unix epoch, or None when `s` is not a timestamp.
pub fn parse_micros(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let mut v = 0u32;
        for &c in b.get(r)? {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        Some(v)
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut digits = 0;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if digits < 6 {
                micros = micros * 10 + i64::from(c - b'0');
            }
            digits += 1;
            i += 1;
        }
        for _ in digits..6 {
            micros *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        None | Some(b'Z') | Some(b'z') => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let hh = num(i + 1..i + 3)? as i64;
            let mm_start = if b.get(i + 3) == Some(&b':') {
                i + 4
            } else {
                i + 3
            };
            let mm = num(mm_start..mm_start + 2).unwrap_or(0) as i64;
            let off = hh * 3600 + mm * 60;
            if sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let days = i64::from(
        date.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1)?)
            .num_days() as i32,
    );
    let secs =
        days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(sec) - offset_secs;
    Some(secs * 1_000_000 + micros)
}

/// `%Y-%m-%dT%H:%M:%S.ffffffZ` for manifests and diagnostics.
pub fn format_micros(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_else(|| micros.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_windows_forms() {
        assert_eq!(parse_micros("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(
            parse_micros("2021-01-14T23:41:40.145335200Z"),
            Some(1_610_667_700_145_335)
        );
        assert_eq!(
            parse_micros("2020-12-19 12:50:13.618"),
            Some(1_608_382_213_618_000)
        );
        assert_eq!(
            parse_micros("2020-08-01 05:46:46"),
            Some(1_596_260_806_000_000)
        );
        assert_eq!(
            parse_micros("2020-08-01T07:46:46+02:00"),
            parse_micros("2020-08-01 05:46:46")
        );
        assert_eq!(parse_micros("not a time"), None);
        assert_eq!(parse_micros("2020-13-01 05:46:46"), None);
        assert_eq!(format_micros(1_000_001), "1970-01-01T00:00:01.000001Z");
    }
}
