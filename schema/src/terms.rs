//! Term rules: how a value is case-folded, cut to an indexable term, and
//! kept in a fast (group-by) column. The indexer applies them to values and
//! the query engine to query literals, so both sides always agree.

/// Longest indexed term, in bytes. tantivy silently drops terms over 65,530
/// bytes, and long command lines are what hunters look for: a longer value
/// is indexed cut and listed under `_long`, so queries verify it against
/// the full stored value.
pub const MAX_TERM_BYTES: usize = 16 * 1024;

/// Longest value kept whole in a fast (group-by) column, in bytes (tantivy
/// cuts column keys at 64 KiB, mid-character).
pub const MAX_FAST_BYTES: usize = 60_000;

/// The case folding used for indexing and for query values alike: exactly
/// `str::to_lowercase`, but the ASCII runs found 16 bytes at a time (most
/// of a command line, even one with a few non-ASCII characters) are
/// lowered a byte at a time instead of a character at a time.
pub fn fold_case(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    // A capital sigma lowers by its neighbours, which a piece cannot see.
    if s.contains('Σ') {
        return s.to_lowercase();
    }
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut done, mut at) = (0, 0);
    while at + 16 <= bytes.len() {
        if !bytes[at..at + 16].is_ascii() {
            at += 16;
            continue;
        }
        // An ASCII byte is never inside a character: `at` is a boundary.
        let mut end = at + 16;
        while end < bytes.len() && bytes[end].is_ascii() {
            end += 1;
        }
        if done < at {
            out.push_str(&s[done..at].to_lowercase());
        }
        let start = out.len();
        out.push_str(&s[at..end]);
        out[start..].make_ascii_lowercase();
        (done, at) = (end, end);
    }
    if done < bytes.len() {
        out.push_str(&s[done..].to_lowercase());
    }
    out
}

/// `n` in decimal, appended to `out` without going through `fmt`: the
/// indexer writes the numbers of event data this way, the query engine
/// its counts and times (both write very many).
pub fn push_u64(mut n: u64, out: &mut String) {
    // Two digits a step, from a table: half the divisions of one a step.
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        digits[at] = b'0' + n as u8;
    }
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// `n` in decimal, appended to `out` (see [`push_u64`]).
pub fn push_i64(n: i64, out: &mut String) {
    if n < 0 {
        out.push('-');
    }
    push_u64(n.unsigned_abs(), out);
}

/// `s` cut to at most `max` bytes at a character boundary.
pub fn truncate_term(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The form of `value` kept in its fast column: the value itself, or for
/// one longer than [`MAX_FAST_BYTES`] its first bytes and a marker naming
/// its length and hash, so distinct long values stay distinct groups and
/// the cut is visible.
pub fn fast_value(value: &str) -> std::borrow::Cow<'_, str> {
    if value.len() <= MAX_FAST_BYTES {
        return value.into();
    }
    use sha2::Digest;
    let kept = truncate_term(value, MAX_FAST_BYTES);
    let hash = sha2::Sha256::digest(value.as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{kept}…[evidx: cut at {} of {} bytes, sha256:{hex}]",
        kept.len(),
        value.len()
    )
    .into()
}

/// Whether a fast-column value is [`fast_value`]'s cut form.
pub fn is_cut(fast: &str) -> bool {
    fast.len() > MAX_FAST_BYTES && fast.ends_with(']') && fast.contains("…[evidx: cut at ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every width of number is written as `Display` writes it: all
    /// numbers below 100,000, each power of ten and its neighbours, the
    /// extremes, and scattered large ones.
    #[test]
    fn numbers_are_written_as_display_writes_them() {
        let mut check = |n: u64| {
            let mut s = String::from("x");
            push_u64(n, &mut s);
            assert_eq!(s, format!("x{n}"));
            let i = n as i64;
            let mut s = String::new();
            push_i64(i, &mut s);
            assert_eq!(s, i.to_string());
        };
        (0..100_000).for_each(&mut check);
        for p in 0..20 {
            let p = 10u64.pow(p);
            [p - 1, p, p + 1].into_iter().for_each(&mut check);
        }
        [u64::MAX, i64::MAX as u64, i64::MIN as u64]
            .into_iter()
            .for_each(&mut check);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(x);
            check(x >> (x % 64));
        }
    }

    #[test]
    fn truncates_on_char_boundary() {
        assert_eq!(truncate_term("abc", 10), "abc");
        assert_eq!(truncate_term("aé", 2), "a");
        assert_eq!(truncate_term("aé", 3), "aé");
    }

    #[test]
    fn long_values_keep_a_marked_prefix_in_the_fast_column() {
        assert_eq!(fast_value("short"), "short");
        let long = "é".repeat(35_000);
        let f = fast_value(&long);
        assert!(f.len() < MAX_FAST_BYTES + 100);
        assert!(f.contains("[evidx: cut at 60000 of 70000 bytes, sha256:"));
        assert!(is_cut(&f));
        assert!(!is_cut(&long));
        assert_ne!(
            fast_value(&(long.clone() + "x")),
            f,
            "distinct values stay distinct"
        );
    }

    #[test]
    fn folds_unicode() {
        assert_eq!(fold_case("PowerShell.EXE"), "powershell.exe");
        assert_eq!(fold_case("ÉCOLE"), "école");
    }

    /// The piecewise folding is `str::to_lowercase` on strings mixing long
    /// and short ASCII runs with characters that lower to other lengths
    /// (`İ`), to ASCII (the Kelvin sign), by context (`Σ`), or not at all.
    #[test]
    fn folds_as_to_lowercase_does() {
        let pool = [
            "A",
            "z",
            " ",
            "-",
            "\\",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "Get-NetTcpConnection ",
            "É",
            "ж",
            "Ж",
            "İ",
            "\u{212A}",
            "ẞ",
            "ǅ",
            "\u{0301}",
            "€",
            "😀",
            // The last two hold a capital sigma.
            "Σ",
            "ΑΣ ",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        // Without `Σ` too, which sends a whole value to `to_lowercase`.
        for pool in [&pool[..], &pool[..pool.len() - 2]] {
            for _ in 0..20_000 {
                let len = next(24);
                let s: String = (0..len).map(|_| pool[next(pool.len())]).collect();
                assert_eq!(fold_case(&s), s.to_lowercase(), "{s:?}");
            }
        }
    }
}
