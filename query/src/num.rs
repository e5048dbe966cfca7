//! Numbers in Splunk's text form: which strings are numbers, and how a
//! number is printed. One place, so tstats aggregates, `eval` and `sort`
//! agree.

/// Format a number the way Splunk prints it: integers without `.0`.
pub fn format_num(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Parse a string as a number when it looks like one (`12`, `-1.5`,
/// `2e3`); `inf`, `nan` and empty strings are not numbers.
pub fn parse_num(s: &str) -> Option<f64> {
    let t = s.trim();
    let first = t.chars().next()?;
    if !(first.is_ascii_digit() || matches!(first, '+' | '-' | '.')) {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}
