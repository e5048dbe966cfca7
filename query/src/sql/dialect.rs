//! What differs between the SQL engines evidx compiles for: quoting,
//! string literals, lists, time, regex and case functions. Everything
//! else in `sql` writes through these helpers, so one dialect's quirk is
//! handled in one place.
//!
//! Spark notes (3.5): string literals unescape backslashes, so they are
//! escaped here; strings compare as UTF-8 bytes (evidx's order); `RLIKE`
//! is Java's `find`. Time text is made in UTC whatever the session time
//! zone is (`to_utc_timestamp(.., current_timezone())`); run with
//! `spark.sql.session.timeZone=UTC` to be exact on daylight-saving gaps.
//! DuckDB notes: `VARCHAR` compares as bytes, `regexp_matches` is RE2's
//! partial match, lambdas are `lambda v: ...`.

/// A SQL engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    DuckDb,
    Spark,
}

/// Unicode White_Space, as Rust's `str::trim` and `char::is_whitespace`
/// know it, as a regex class body (RE2 and Java syntax).
pub const WHITE_SPACE_CLASS: &str = r"\x{9}-\x{D}\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";

impl Dialect {
    /// A quoted identifier.
    pub fn ident(self, name: &str) -> String {
        match self {
            Dialect::DuckDb => format!("\"{}\"", name.replace('"', "\"\"")),
            Dialect::Spark => format!("`{}`", name.replace('`', "``")),
        }
    }

    /// A string literal holding exactly `s`.
    pub fn lit(self, s: &str) -> String {
        match self {
            Dialect::DuckDb => format!("'{}'", s.replace('\'', "''")),
            Dialect::Spark => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        }
    }

    /// A number literal (finite, as evidx holds numbers).
    pub fn num(self, n: f64) -> String {
        // `{:?}` keeps the exact value and always has a `.` or `e`.
        format!("CAST({n:?} AS DOUBLE)")
    }

    pub fn text_type(self) -> &'static str {
        match self {
            Dialect::DuckDb => "VARCHAR",
            Dialect::Spark => "STRING",
        }
    }

    /// An integer expression as its decimal text.
    pub fn int_text(self, x: &str) -> String {
        format!("CAST({x} AS {})", self.text_type())
    }

    /// evidx's text of a finite DOUBLE `x` ([`crate::num::format_num`]):
    /// a whole number under 1e15 without a point, any other in plain
    /// decimal notation with the fewest digits that read back as `x`. The
    /// digits are the engine's own shortest text (DuckDB's, Java's
    /// `Double.toString`), laid out again without their exponent or
    /// padding zeros.
    pub fn num_text(self, x: &str) -> String {
        let t = self.text_type();
        // Each intermediate is bound once (see `bind`), innermost last:
        // `nx` the number, `ng` its digits, `np` the digits before the
        // point, `nd` the significant digits. Written inline, the text of
        // `x` would be repeated dozens of times, and nested numbers would
        // grow the statement exponentially.
        let s = format!("lower(CAST(nx AS {t}))");
        let int_part = self.regex_extract(&s, r"^-?([0-9]*)", 1);
        let frac = self.regex_extract(&s, r"^-?[0-9]*\.([0-9]*)", 1);
        let exp = format!(
            "coalesce(TRY_CAST(nullif({}, '') AS BIGINT), 0)",
            self.regex_extract(&s, r"e\+?(-?[0-9]+)$", 1)
        );
        let trimmed = self.regex_replace("ng", "^0+", "");
        let point = format!("(length({int_part}) + {exp} - length(ng) + length({trimmed}))");
        let significant = self.regex_replace(&trimmed, "0+$", "");
        let layout = "(CASE WHEN nd = '' THEN '0' \
             ELSE (CASE WHEN nx < 0 THEN '-' ELSE '' END) || (CASE \
             WHEN np <= 0 THEN '0.' || repeat('0', CAST(-np AS INT)) || nd \
             WHEN np >= length(nd) THEN nd || repeat('0', CAST(np - length(nd) AS INT)) \
             ELSE substr(nd, 1, CAST(np AS INT)) || '.' || substr(nd, CAST(np + 1 AS INT)) END) END)";
        let digits = self.bind(
            &format!("({int_part} || {frac})"),
            "ng",
            &self.bind(&point, "np", &self.bind(&significant, "nd", layout)),
        );
        self.bind(
            x,
            "nx",
            &format!(
                "(CASE WHEN nx = floor(nx) AND abs(nx) < 1e15 THEN CAST(CAST(nx AS BIGINT) AS {t}) ELSE {digits} END)"
            ),
        )
    }

    /// `body` (an expression over the variable `name`) with `name` bound
    /// to the value of `x`, which is computed once: a lambda over a list
    /// of one. An inner binding of the same name hides the outer one.
    pub fn bind(self, x: &str, name: &str, body: &str) -> String {
        match self {
            Dialect::DuckDb => format!("list_transform([{x}], lambda {name}: {body})[1]"),
            Dialect::Spark => format!("transform(array({x}), {name} -> {body})[0]"),
        }
    }

    /// The first match of the regex (this dialect's syntax) in `x`
    /// replaced by `with`.
    pub fn regex_replace(self, x: &str, re: &str, with: &str) -> String {
        format!("regexp_replace({x}, {}, {})", self.lit(re), self.lit(with))
    }

    /// Sorted (byte order) distinct values of the lists `x` in a group.
    pub fn flat_values_agg(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => format!(
                "list_sort(list_distinct(flatten(list({x}) FILTER (WHERE {x} IS NOT NULL))))"
            ),
            Dialect::Spark => format!("array_sort(array_distinct(flatten(collect_list({x}))))"),
        }
    }

    /// Stop the statement with `message` (an expression of any type).
    pub fn raise_error(self, message: &str) -> String {
        match self {
            Dialect::DuckDb => format!("error({})", self.lit(message)),
            Dialect::Spark => format!("raise_error({})", self.lit(message)),
        }
    }

    /// A null of the text type.
    pub fn null_text(self) -> String {
        format!("CAST(NULL AS {})", self.text_type())
    }

    /// `x` lower-cased (Unicode).
    pub fn lower(self, x: &str) -> String {
        format!("lower({x})")
    }

    /// `x LIKE pattern`, `\` escaping `%`, `_` and itself.
    pub fn like(self, x: &str, pattern: &str) -> String {
        self.like_expr(x, &self.lit(pattern))
    }

    /// `s` as literal LIKE text: `\`, `%` and `_` escaped with `\`.
    pub fn like_literal(s: &str) -> String {
        s.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    }

    /// `x LIKE pattern` for a pattern computed in SQL, `\` escaping.
    pub fn like_expr(self, x: &str, pattern: &str) -> String {
        format!("({x} LIKE {pattern} ESCAPE {})", self.lit("\\"))
    }

    /// Epoch microseconds of a timestamp column.
    pub fn epoch_micros(self, col: &str) -> String {
        match self {
            Dialect::DuckDb => format!("epoch_us({col})"),
            Dialect::Spark => format!("unix_micros({col})"),
        }
    }

    /// Integer division rounding down (also for negative `x`); `n` > 0.
    pub fn floor_div(self, x: &str, n: i64) -> String {
        let div = match self {
            Dialect::DuckDb => "//",
            Dialect::Spark => "div",
        };
        format!(
            "(CASE WHEN {x} >= 0 THEN ({x}) {div} {n} ELSE -((-({x}) + {}) {div} {n}) END)",
            n - 1
        )
    }

    /// Sorted (byte order) distinct non-null values of `x` in a group.
    pub fn values_agg(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => {
                format!("list(DISTINCT {x} ORDER BY {x}) FILTER (WHERE {x} IS NOT NULL)")
            }
            Dialect::Spark => format!("array_sort(collect_set({x}))"),
        }
    }

    /// A list's values joined by newlines (evidx's CSV form of a
    /// multi-value).
    pub fn list_join(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => format!("array_to_string({x}, chr(10))"),
            Dialect::Spark => format!("array_join({x}, {})", self.lit("\n")),
        }
    }

    /// A list of one value.
    pub fn list_of_one(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => format!("[{x}]"),
            Dialect::Spark => format!("array({x})"),
        }
    }

    /// Number of values of a list.
    pub fn list_len(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => format!("len({x})"),
            Dialect::Spark => format!("size({x})"),
        }
    }

    /// Whether some value `v` of the list `x` satisfies `pred` (written
    /// over the variable `v`); null when `x` is null.
    pub fn list_any(self, x: &str, pred: &str) -> String {
        match self {
            Dialect::DuckDb => format!("(len(list_filter({x}, lambda v: {pred})) > 0)"),
            Dialect::Spark => format!("exists({x}, v -> {pred})"),
        }
    }

    /// Each value `v` of the list `x` mapped by `f` (over `v`).
    pub fn list_map(self, x: &str, f: &str) -> String {
        match self {
            Dialect::DuckDb => format!("list_transform({x}, lambda v: {f})"),
            Dialect::Spark => format!("transform({x}, v -> {f})"),
        }
    }

    /// The non-null, non-empty values of `x` in a group, in the order of
    /// `by`, as a list (null when there are none).
    pub fn ordered_values(self, x: &str, by: &str) -> String {
        match self {
            Dialect::DuckDb => {
                format!("list({x} ORDER BY {by}) FILTER (WHERE {x} IS NOT NULL AND {x} <> '')")
            }
            // collect_list keeps no order: each value goes with its key,
            // and the pairs are sorted.
            Dialect::Spark => format!(
                "transform(array_sort(collect_list(CASE WHEN {x} IS NOT NULL AND {x} <> '' THEN named_struct('k', {by}, 'v', {x}) END)), s -> s.v)"
            ),
        }
    }

    /// In a group, the non-null `v` whose (`t`, `v`) is greatest
    /// (`largest`) or least.
    pub fn extreme_by(self, v: &str, t: &str, largest: bool) -> String {
        let f = match (self, largest) {
            (Dialect::DuckDb, true) => "arg_max",
            (Dialect::DuckDb, false) => "arg_min",
            (Dialect::Spark, true) => "max_by",
            (Dialect::Spark, false) => "min_by",
        };
        let key = match self {
            Dialect::DuckDb => format!("{{'t': {t}, 'v': {v}}}"),
            Dialect::Spark => format!("struct({t}, {v})"),
        };
        format!("{f}({v}, {key}) FILTER (WHERE {v} IS NOT NULL)")
    }

    /// An empty list of texts.
    pub fn empty_list(self) -> String {
        match self {
            Dialect::DuckDb => "CAST([] AS VARCHAR[])".into(),
            Dialect::Spark => "CAST(array() AS ARRAY<STRING>)".into(),
        }
    }

    /// The values of list `a` then those of list `b`.
    pub fn list_concat(self, a: &str, b: &str) -> String {
        match self {
            Dialect::DuckDb => format!("list_concat({a}, {b})"),
            Dialect::Spark => format!("concat({a}, {b})"),
        }
    }

    /// A list of `n` times the text `v` (`n` >= 0).
    pub fn repeat_list(self, v: &str, n: &str) -> String {
        match self {
            Dialect::DuckDb => format!("list_transform(range(CAST({n} AS BIGINT)), lambda i: {v})"),
            Dialect::Spark => format!("array_repeat({v}, CAST({n} AS INT))"),
        }
    }

    /// A list's first value (null for a null or empty list).
    pub fn list_first(self, x: &str) -> String {
        self.list_at(x, "0")
    }

    /// A list's value at the 0-based index `i` (null out of range).
    pub fn list_at(self, x: &str, i: &str) -> String {
        match self {
            Dialect::DuckDb => format!("({x})[({i}) + 1]"),
            Dialect::Spark => format!("try_element_at({x}, CAST(({i}) + 1 AS INT))"),
        }
    }

    /// A list's values from 0-based `from` to `to`, both included
    /// (`from <= to`, both in range).
    pub fn list_slice(self, x: &str, from: &str, to: &str) -> String {
        match self {
            Dialect::DuckDb => format!("list_slice({x}, ({from}) + 1, ({to}) + 1)"),
            Dialect::Spark => {
                format!("slice({x}, CAST(({from}) + 1 AS INT), CAST(({to}) - ({from}) + 1 AS INT))")
            }
        }
    }

    /// Number of characters (Unicode code points) of `x`.
    pub fn char_length(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => format!("length({x})"),
            Dialect::Spark => format!("char_length({x})"),
        }
    }

    /// The characters of `x` from the 1-based `from` (at least 1), `len`
    /// of them (at least 0) or to the end.
    pub fn substring(self, x: &str, from: &str, len: Option<&str>) -> String {
        match len {
            Some(len) => format!("substring({x}, CAST({from} AS INT), CAST({len} AS INT))"),
            None => format!("substring({x}, CAST({from} AS INT))"),
        }
    }

    /// `x` split at each occurrence of the non-empty literal `delim`
    /// (empty parts kept), as a list.
    pub fn split(self, x: &str, delim: &str) -> String {
        match self {
            Dialect::DuckDb => format!("string_split({x}, {})", self.lit(delim)),
            // Spark splits on a regex: the delimiter quoted as Java's
            // Pattern.quote does; -1 keeps trailing empty parts.
            Dialect::Spark => {
                let quoted = format!("\\Q{}\\E", delim.replace("\\E", "\\E\\\\E\\Q"));
                format!("split({x}, {}, -1)", self.lit(&quoted))
            }
        }
    }

    /// Whether the regex (already in this dialect's syntax) matches
    /// anywhere in `x`.
    pub fn regex_match(self, x: &str, re: &str) -> String {
        match self {
            Dialect::DuckDb => format!("regexp_matches({x}, {})", self.lit(re)),
            Dialect::Spark => format!("({x} RLIKE {})", self.lit(re)),
        }
    }

    /// The text of capture group `group` of the first match of the regex
    /// (already in this dialect's syntax) in `x`.
    pub fn regex_extract(self, x: &str, re: &str, group: usize) -> String {
        format!("regexp_extract({x}, {}, {group})", self.lit(re))
    }

    /// `x` with leading and trailing Unicode white space removed.
    fn trim_ws(self, x: &str) -> String {
        let re = format!("^[{WHITE_SPACE_CLASS}]+|[{WHITE_SPACE_CLASS}]+$");
        match self {
            Dialect::DuckDb => format!("regexp_replace({x}, {}, '', 'g')", self.lit(&re)),
            Dialect::Spark => format!("regexp_replace({x}, {}, '')", self.lit(&re)),
        }
    }

    /// evidx's `parse_num` of a text expression: the number it spells
    /// (trimmed, Rust float syntax, finite), else null.
    pub fn parse_num(self, x: &str) -> String {
        self.bind(x, "pn", &self.parse_num_of("pn"))
    }

    fn parse_num_of(self, x: &str) -> String {
        let ws = WHITE_SPACE_CLASS;
        let re = format!(r"^[{ws}]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[{ws}]*$");
        let cast = format!("TRY_CAST({} AS DOUBLE)", self.trim_ws(x));
        let finite = match self {
            Dialect::DuckDb => format!("isfinite({cast})"),
            Dialect::Spark => format!("abs({cast}) <> double('Infinity')"),
        };
        format!(
            "(CASE WHEN {} THEN (CASE WHEN {finite} THEN {cast} END) END)",
            self.regex_match(x, &re)
        )
    }

    /// Epoch seconds (an integer expression) as UTC text in a strftime
    /// format already translated by [`Dialect::time_format`].
    pub fn format_time(self, secs: &str, format: &str) -> String {
        match self {
            Dialect::DuckDb => format!(
                "strftime(make_timestamp(CAST({secs} AS BIGINT) * 1000000), {})",
                self.lit(format)
            ),
            Dialect::Spark => format!(
                "date_format(to_utc_timestamp(timestamp_seconds(CAST({secs} AS BIGINT)), current_timezone()), {})",
                self.lit(format)
            ),
        }
    }

    /// A strftime format in this dialect's syntax; None when it uses a
    /// directive whose output could differ from chrono's.
    pub fn time_format(self, strftime: &str) -> Option<String> {
        let mut out = String::new();
        let mut literal = String::new();
        let mut chars = strftime.chars();
        let flush = |literal: &mut String, out: &mut String| {
            if !literal.is_empty() {
                if self == Dialect::Spark {
                    out.push('\'');
                    out.push_str(&literal.replace('\'', "''"));
                    out.push('\'');
                } else {
                    out.push_str(&literal.replace('%', "%%"));
                }
                literal.clear();
            }
        };
        while let Some(c) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let d = chars.next()?;
            if d == '%' {
                literal.push('%');
                continue;
            }
            let spark = match d {
                'Y' => "yyyy",
                'm' => "MM",
                'd' => "dd",
                'H' => "HH",
                'M' => "mm",
                'S' => "ss",
                _ => return None,
            };
            flush(&mut literal, &mut out);
            match self {
                Dialect::DuckDb => {
                    out.push('%');
                    out.push(d);
                }
                Dialect::Spark => out.push_str(spark),
            }
        }
        flush(&mut literal, &mut out);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_keep_their_text() {
        assert_eq!(Dialect::DuckDb.lit(r"a'b\c"), r"'a''b\c'");
        assert_eq!(Dialect::Spark.lit(r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(Dialect::DuckDb.ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Spark.ident("values(x)"), "`values(x)`");
    }

    #[test]
    fn time_formats() {
        let f = "%Y-%m-%dT%H:%M:%S";
        assert_eq!(Dialect::DuckDb.time_format(f).as_deref(), Some(f));
        assert_eq!(
            Dialect::Spark.time_format(f).as_deref(),
            Some("yyyy'-'MM'-'dd'T'HH':'mm':'ss")
        );
        assert_eq!(Dialect::DuckDb.time_format("%s"), None);
        assert_eq!(
            Dialect::DuckDb.time_format("100%%").as_deref(),
            Some("100%%")
        );
    }
}
