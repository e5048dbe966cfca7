//! Substitution values: which types and sizes the fast path reads, whether
//! a value is empty, and its text exactly as the `evtx` crate renders it to
//! JSON (and `event_from_json` reads it back): integers in decimal, HexInt
//! and SizeT as `0x` + lower-case hex, GUIDs lower-case in braces, SIDs as
//! `S-1-5-…`, times with seven fractional digits, binary as upper-case hex.

use std::fmt::Write as _;

use super::le::bytes;
use super::utf16::{push_lossy, until_nul};
use evidx_schema::terms::{push_i64, push_u64};

pub const NULL: u8 = 0x00;
pub const STRING: u8 = 0x01;
pub const ANSI: u8 = 0x02;
pub const INT8: u8 = 0x03;
pub const UINT8: u8 = 0x04;
pub const INT16: u8 = 0x05;
pub const UINT16: u8 = 0x06;
pub const INT32: u8 = 0x07;
pub const UINT32: u8 = 0x08;
pub const INT64: u8 = 0x09;
pub const UINT64: u8 = 0x0a;
pub const REAL32: u8 = 0x0b;
pub const REAL64: u8 = 0x0c;
pub const BOOL: u8 = 0x0d;
pub const BINARY: u8 = 0x0e;
pub const GUID: u8 = 0x0f;
pub const SIZE_T: u8 = 0x10;
pub const FILETIME: u8 = 0x11;
pub const SYSTIME: u8 = 0x12;
pub const SID: u8 = 0x13;
pub const HEX_INT32: u8 = 0x14;
pub const HEX_INT64: u8 = 0x15;
pub const BIN_XML: u8 = 0x21;

/// Whether `ty` is a value type the crate knows (an unknown one fails the
/// record there).
pub fn known_type(ty: u8) -> bool {
    matches!(ty, 0x00..=0x15 | 0x20 | 0x21 | 0x23 | 0x81..=0x95)
}

/// Whether the fast path reads a value of type `ty` stored in `b`: the
/// types a chunk holds in practice, each at the size the crate reads, so
/// that it would not shift the values after it. (BinXML is read apart.)
pub fn readable(ty: u8, b: &[u8]) -> bool {
    match ty {
        NULL | BINARY | ANSI => true,
        STRING => b.len().is_multiple_of(2),
        INT8 | UINT8 => b.len() == 1,
        INT16 | UINT16 => b.len() == 2,
        INT32 | UINT32 | REAL32 | BOOL | HEX_INT32 => b.len() == 4,
        INT64 | UINT64 | REAL64 | FILETIME | HEX_INT64 => b.len() == 8,
        GUID | SYSTIME => b.len() == 16,
        SIZE_T => b.len() == 4 || b.len() == 8,
        SID => b.len() >= 8 && b.len() == 8 + 4 * usize::from(b[1]),
        _ => false,
    }
}

/// Whether the value is empty, so that an optional substitution leaves
/// nothing and the value is no text content.
pub fn is_empty(ty: u8, b: &[u8]) -> bool {
    match ty {
        NULL => true,
        STRING => until_nul(b).is_empty(),
        // The crate drops the NULs of ANSI strings.
        ANSI => b.iter().all(|&c| c == 0),
        BINARY | BIN_XML => b.is_empty(),
        _ => false,
    }
}

/// Appends the value's text; None for the types whose text the fast path
/// does not render (ANSI code pages, floats): the record then falls back.
pub fn push_text(ty: u8, b: &[u8], out: &mut String) -> Option<()> {
    match ty {
        NULL | BIN_XML => {}
        STRING => push_lossy(until_nul(b), out),
        INT8 => push_i64(i64::from(b[0] as i8), out),
        UINT8 => push_u64(u64::from(b[0]), out),
        INT16 => push_i64(i64::from(i16::from_le_bytes(bytes(b, 0)?)), out),
        UINT16 => push_u64(u64::from(u16::from_le_bytes(bytes(b, 0)?)), out),
        INT32 => push_i64(i64::from(i32::from_le_bytes(bytes(b, 0)?)), out),
        UINT32 => push_u64(u64::from(u32::from_le_bytes(bytes(b, 0)?)), out),
        INT64 => push_i64(i64::from_le_bytes(bytes(b, 0)?), out),
        UINT64 => push_u64(u64::from_le_bytes(bytes(b, 0)?), out),
        // Windows writes bit masks into some bool slots: kept as integers.
        BOOL => match i32::from_le_bytes(bytes(b, 0)?) {
            0 => out.push_str("false"),
            1 => out.push_str("true"),
            n => push_i64(i64::from(n), out),
        },
        BINARY => {
            out.reserve(2 * b.len());
            for &c in b {
                push_hex(c, b"0123456789ABCDEF", out);
            }
        }
        GUID => push_guid(&bytes(b, 0)?, out),
        SIZE_T | HEX_INT32 | HEX_INT64 => {
            let n = match b.len() {
                4 => u64::from(u32::from_le_bytes(bytes(b, 0)?)),
                _ => u64::from_le_bytes(bytes(b, 0)?),
            };
            write!(out, "0x{n:x}").ok()?
        }
        FILETIME => push_time(filetime_fields(u64::from_le_bytes(bytes(b, 0)?)), out),
        SYSTIME => push_time(systime_fields(&bytes(b, 0)?), out),
        SID => push_sid(b, out)?,
        _ => return None,
    }
    Some(())
}

/// `{d1-d2-d3-d4[..2]-d4[2..]}` in lower case, the first three fields
/// little-endian.
fn push_guid(g: &[u8; 16], out: &mut String) {
    const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    out.push('{');
    for (i, &at) in ORDER.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        push_hex(g[at], b"0123456789abcdef", out);
    }
    out.push('}');
}

/// A byte as two hex digits of `digits`.
fn push_hex(c: u8, digits: &[u8; 16], out: &mut String) {
    out.push(char::from(digits[usize::from(c >> 4)]));
    out.push(char::from(digits[usize::from(c & 0xf)]));
}

/// `S-{revision}-{authority}-{sub}…`: the authority is 48-bit big-endian,
/// the sub-authorities 32-bit little-endian.
fn push_sid(b: &[u8], out: &mut String) -> Option<()> {
    let authority = u64::from_be_bytes([0, 0, b[2], b[3], b[4], b[5], b[6], b[7]]);
    write!(out, "S-{}-{authority}", b[0]).ok()?;
    for sub in b[8..].chunks_exact(4).take(usize::from(b[1])) {
        write!(
            out,
            "-{}",
            u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]])
        )
        .ok()?;
    }
    Some(())
}

/// A date and time of day, with the 100 ns ticks of the second.
#[derive(Debug, Default, PartialEq, Eq)]
struct Fields {
    year: u64,
    month: u64,
    day: u64,
    hour: u64,
    minute: u64,
    second: u64,
    ticks: u64,
}

const TICKS_PER_SEC: u64 = 10_000_000;
const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SEC;

/// A FILETIME (100 ns since 1601) as the crate renders it: years past 9999
/// keep their last four digits, values past `i64::MAX` render as zeros.
fn filetime_fields(ft: u64) -> Fields {
    if ft > i64::MAX as u64 {
        return Fields::default();
    }
    let (days, ticks) = (ft / TICKS_PER_DAY, ft % TICKS_PER_DAY);
    // Howard Hinnant's civil_from_days, counted from 0000-03-01 (584,694
    // days before 1601-01-01) in 400-year eras of 146,097 days.
    let z = days + 584_694;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    let secs = ticks / TICKS_PER_SEC;
    Fields {
        year: year % 10_000,
        month,
        day,
        hour: secs / 3_600,
        minute: secs / 60 % 60,
        second: secs % 60,
        ticks: ticks % TICKS_PER_SEC,
    }
}

/// A SYSTEMTIME (eight u16: year, month, weekday, day, h, m, s, ms); one
/// Windows would not take renders as 1601-01-01.
fn systime_fields(b: &[u8; 16]) -> Fields {
    let f = |i: usize| u64::from(u16::from_le_bytes([b[2 * i], b[2 * i + 1]]));
    let (year, month, day) = (f(0), f(1), f(3));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let valid = (1601..=30827).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month).contains(&day)
        && f(4) < 24
        && f(5) < 60
        && f(6) < 60
        && f(7) < 1_000;
    if !valid {
        return Fields {
            year: 1601,
            month: 1,
            day: 1,
            ..Fields::default()
        };
    }
    Fields {
        year: year % 10_000,
        month,
        day,
        hour: f(4),
        minute: f(5),
        second: f(6),
        ticks: f(7) * 10_000,
    }
}

fn push_time(t: Fields, out: &mut String) {
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.ticks
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ty: u8, b: &[u8]) -> String {
        let mut s = String::new();
        push_text(ty, b, &mut s).unwrap();
        s
    }

    #[test]
    fn renders_as_the_evtx_crate() {
        assert_eq!(text(INT8, &[0xff]), "-1");
        assert_eq!(text(INT64, &i64::MIN.to_le_bytes()), i64::MIN.to_string());
        assert_eq!(text(UINT64, &u64::MAX.to_le_bytes()), u64::MAX.to_string());
        assert_eq!(text(UINT32, &0u32.to_le_bytes()), "0");
        assert_eq!(text(UINT16, &4688u16.to_le_bytes()), "4688");
        assert_eq!(text(BOOL, &1i32.to_le_bytes()), "true");
        assert_eq!(text(BOOL, &6i32.to_le_bytes()), "6");
        assert_eq!(
            text(HEX_INT64, &0x8020_0000_0000_0000u64.to_le_bytes()),
            "0x8020000000000000"
        );
        assert_eq!(text(HEX_INT32, &0u32.to_le_bytes()), "0x0");
        assert_eq!(text(SIZE_T, &0x1fu32.to_le_bytes()), "0x1f");
        assert_eq!(text(BINARY, &[0x0a, 0xbc]), "0ABC");
        let guid = [
            0x44, 0x3a, 0xa1, 0x5a, 0x30, 0x01, 0xfd, 0x68, 0x4e, 0x35, 0, 0, 0, 0, 0x40, 0x02,
        ];
        assert_eq!(text(GUID, &guid), "{5aa13a44-0130-68fd-4e35-000000004002}");
        let sid = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0];
        assert_eq!(text(SID, &sid), "S-1-5-32-544");
        assert!(readable(SID, &sid) && !readable(SID, &sid[..12]));
        // 2021-01-14T23:41:40.1453352Z
        assert_eq!(
            text(FILETIME, &132_551_413_001_453_352u64.to_le_bytes()),
            "2021-01-14T23:41:40.1453352Z"
        );
        assert_eq!(
            text(FILETIME, &u64::MAX.to_le_bytes()),
            "0000-00-00T00:00:00.0000000Z"
        );
        let st: Vec<u8> = [2019u16, 3, 5, 1, 12, 34, 56, 789]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(text(SYSTIME, &st), "2019-03-01T12:34:56.7890000Z");
        assert_eq!(text(SYSTIME, &[0; 16]), "1601-01-01T00:00:00.0000000Z");
        assert_eq!(text(STRING, b"a\0b\0\0\0c\0"), "ab");
        assert!(is_empty(STRING, b"\0\0x\0") && !is_empty(STRING, b"x\0"));
        assert!(push_text(REAL64, &[0; 8], &mut String::new()).is_none());
    }
}
