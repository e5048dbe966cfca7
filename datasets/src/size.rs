//! Parsing of human sizes (`5MB`, `10GiB`, `123456`) so the CLI accepts what people type.

use crate::error::{Error, Result};

/// Parses a byte size. Decimal units (`kB`, `MB`, `GB`, `TB`) are powers of 1000, binary units
/// (`KiB`, `MiB`, `GiB`, `TiB`) powers of 1024; a bare number is bytes; `K`/`M`/`G`/`T` alone
/// are decimal. Case-insensitive, fractions allowed (`1.5GB`), optional space before the unit.
pub fn parse_size(input: &str) -> Result<u64> {
    let err = |reason| Error::InvalidSize {
        input: input.to_string(),
        reason,
    };
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: String = num.chars().filter(|&c| c != '_').collect();
    if num.is_empty() {
        return Err(err("expected a number"));
    }
    let unit = unit.trim().to_ascii_lowercase();
    let mult: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        _ => {
            return Err(err(
                "unknown unit (use B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)",
            ))
        }
    };
    if let Ok(int) = num.parse::<u64>() {
        return int.checked_mul(mult).ok_or_else(|| err("too large"));
    }
    let f: f64 = num.parse().map_err(|_| err("not a number"))?;
    let bytes = f * mult as f64;
    if !bytes.is_finite() || !(0.0..=1.8e19).contains(&bytes) {
        return Err(err("out of range"));
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_size("123456").unwrap(), 123_456);
        assert_eq!(parse_size("5MB").unwrap(), 5_000_000);
        assert_eq!(parse_size("5mb").unwrap(), 5_000_000);
        assert_eq!(parse_size("10GiB").unwrap(), 10 << 30);
        assert_eq!(parse_size("1.5 GB").unwrap(), 1_500_000_000);
        assert_eq!(parse_size("3M").unwrap(), 3_000_000);
        assert_eq!(parse_size("64KiB").unwrap(), 65_536);
        assert_eq!(parse_size("1_000").unwrap(), 1000);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "GB",
            "12XB",
            "1.2.3MB",
            "-5MB",
            "99999999999999999999TB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
