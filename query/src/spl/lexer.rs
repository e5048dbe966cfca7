//! A byte cursor over the expanded query text.
//!
//! SPL has no context-free token set (an unquoted value may contain `(`,
//! `=` or `*`; keywords depend on the command), so the parser drives this
//! cursor directly and asks for the kind of token it expects next. The
//! token readers that several languages share (quoted names, `as NAME`,
//! the subsearch error) are methods here, below all the parser modules.

use super::ast::{Span, Subsearch, Value};
use super::SplError;
use crate::glob::LITERAL_STAR;

/// The result of every parser function.
pub(super) type Result<T> = std::result::Result<T, SplError>;

/// Parentheses, `NOT`s, signs and function calls nested deeper than this
/// are refused: the parsers recurse on them (as do the planner and the
/// evaluator on the tree), and a query must not overflow the stack.
pub const MAX_NESTING: usize = 64;

#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    src: &'a str,
    pos: usize,
    /// Where the text this cursor reads ends: `src.len()`, or the `]` of
    /// the subsearch being parsed (spans stay offsets into `src`).
    end: usize,
    /// The parser of a `[...]` subsearch, set by the pipeline parser (the
    /// languages that contain subsearches are below it).
    subsearch: Option<SubsearchParser>,
    /// Nesting of [`Cursor::nested`] calls.
    depth: usize,
}

/// Parses the subsearch at the cursor (at `[`), leaving it after the `]`.
pub type SubsearchParser = for<'b> fn(&mut Cursor<'b>) -> Result<Subsearch>;

impl<'a> Cursor<'a> {
    pub fn new(src: &'a str) -> Self {
        Cursor {
            src,
            pos: 0,
            end: src.len(),
            subsearch: None,
            depth: 0,
        }
    }

    /// Parse with `f` one nesting level deeper; refused past
    /// [`MAX_NESTING`].
    pub fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_NESTING {
            return Err(self.error_here(format!("nested deeper than {MAX_NESTING} levels")));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// Allow subsearches, parsed by `parser`.
    pub fn with_subsearches(mut self, parser: SubsearchParser) -> Self {
        self.subsearch = Some(parser);
        self
    }

    /// The subsearch at the cursor (at `[`), one nesting level deeper.
    pub(super) fn subsearch(&mut self) -> Result<Subsearch> {
        match self.subsearch {
            Some(parse) => self.nested(parse),
            None => Err(self.subsearch_error()),
        }
    }

    /// A cursor over `src[pos..end]` (a subsearch's body), as deep as this.
    pub fn bounded(&self, end: usize) -> Self {
        Cursor {
            src: self.src,
            pos: self.pos,
            end: end.min(self.end),
            subsearch: self.subsearch,
            depth: self.depth,
        }
    }

    /// Where this cursor's text ends.
    pub fn end(&self) -> usize {
        self.end
    }

    pub fn src(&self) -> &'a str {
        self.src
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.end);
    }

    pub fn rest(&self) -> &'a str {
        &self.src[self.pos.min(self.end)..self.end]
    }

    pub fn eof(&self) -> bool {
        self.pos >= self.end
    }

    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// The character after the next one.
    pub fn peek2(&self) -> Option<char> {
        let mut it = self.rest().chars();
        it.next();
        it.next()
    }

    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    /// Skip whitespace and the `,` separators between list items.
    pub(super) fn skip_commas(&mut self) {
        self.skip_ws();
        while self.eat(",") {
            self.skip_ws();
        }
    }

    /// Consume `s` if the text continues with it exactly.
    pub fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// At end of input or at a `|` that starts the next command.
    pub fn at_command_end(&self) -> bool {
        matches!(self.peek(), None | Some('|'))
    }

    /// True if the next word is `kw` (ASCII case-insensitive when
    /// `ci`), followed by a word boundary.
    pub fn peek_keyword(&self, kw: &str, ci: bool) -> bool {
        let rest = self.rest().as_bytes();
        if rest.len() < kw.len() {
            return false;
        }
        let head = &rest[..kw.len()];
        let same = if ci {
            head.eq_ignore_ascii_case(kw.as_bytes())
        } else {
            head == kw.as_bytes()
        };
        same && self.src[self.pos + kw.len()..self.end]
            .chars()
            .next()
            .is_none_or(is_keyword_boundary)
    }

    /// Consume the keyword `kw` if it is next; returns its span.
    pub fn eat_keyword(&mut self, kw: &str, ci: bool) -> Option<Span> {
        if self.peek_keyword(kw, ci) {
            let start = self.pos;
            self.pos += kw.len();
            Some(start..self.pos)
        } else {
            None
        }
    }

    /// Consume characters while `pred` holds; returns the slice and span.
    pub fn take_while(&mut self, mut pred: impl FnMut(char) -> bool) -> (&'a str, Span) {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !pred(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        (&self.src[start..self.pos], start..self.pos)
    }

    /// An identifier: letters, digits and `_` (option and function names).
    pub fn ident(&mut self) -> (&'a str, Span) {
        self.take_while(|c| c.is_alphanumeric() || c == '_')
    }

    /// A double-quoted string at the cursor (which must be at `"`),
    /// unescaped with [`unescape`]. Errors on a missing closing quote.
    pub fn quoted(&mut self) -> Result<(Value, Span)> {
        let start = self.pos;
        if !self.eat("\"") {
            return Err(SplError::new("expected `\"`", start..start + 1));
        }
        let body_start = self.pos;
        loop {
            match self.bump() {
                None => {
                    return Err(SplError::new(
                        "unterminated quoted string",
                        start..start + 1,
                    ))
                }
                Some('\\') => {
                    self.bump();
                }
                Some('"') => break,
                Some(_) => {}
            }
        }
        let raw = &self.src[body_start..self.pos - 1];
        Ok((
            Value {
                text: unescape(raw),
                quoted: true,
            },
            start..self.pos,
        ))
    }

    /// [`Cursor::quoted`] in the search language, where `\*` is a literal
    /// asterisk ([`unescape_search`]).
    pub fn quoted_search(&mut self) -> Result<(Value, Span)> {
        let start = self.pos;
        let (mut v, span) = self.quoted()?;
        let raw = &self.src[start + 1..span.end - 1];
        v.text = unescape_search(raw);
        Ok((v, span))
    }

    /// An error pointing at the next character (or the end).
    pub fn error_here(&self, message: impl Into<String>) -> SplError {
        let end = self.peek().map_or(self.pos, |c| self.pos + c.len_utf8());
        SplError::new(message, self.pos..end)
    }

    /// A short description of what is at the cursor, for error messages.
    pub fn describe_next(&self) -> String {
        match self.peek() {
            None => "end of query".to_string(),
            Some(_) => {
                let word: String = self
                    .rest()
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .take(30)
                    .collect();
                format!("`{word}`")
            }
        }
    }

    /// The error for a `[...]` subsearch where none can be.
    pub(super) fn subsearch_error(&self) -> SplError {
        self.error_here("a subsearch `[...]` cannot be used here (evidx runs subsearches after `search`, in a tstats `where` and in `join`)")
    }

    /// The offset of the `]` that closes the `[` at the cursor, skipping
    /// quoted strings and nested brackets.
    pub(super) fn closing_bracket(&self) -> Result<usize> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut depth = 0usize;
        let mut i = start;
        let mut in_quote = false;
        while i < self.end {
            match bytes[i] {
                b'\\' if in_quote => i += 1,
                b'"' => in_quote = !in_quote,
                b'[' if !in_quote => depth += 1,
                b']' if !in_quote => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(i);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Err(SplError::new("unclosed subsearch `[`", start..start + 1))
    }

    /// A `'quoted'` field name (eval language and `eval` assignments).
    pub(super) fn single_quoted(&mut self) -> Result<String> {
        let start = self.pos;
        self.eat("'");
        let (body, _) = self.take_while(|ch| ch != '\'');
        if !self.eat("'") {
            return Err(SplError::new(
                "unterminated `'` field name",
                start..start + 1,
            ));
        }
        Ok(body.to_string())
    }

    /// A value: double-quoted (unescaped), or the text up to whitespace, `|`
    /// or one of `stops` (possibly empty).
    pub(super) fn word(&mut self, stops: &[char]) -> Result<String> {
        Ok(if self.peek() == Some('"') {
            self.quoted()?.0.text
        } else {
            self.take_while(|ch| !ch.is_whitespace() && ch != '|' && !stops.contains(&ch))
                .0
                .to_string()
        })
    }

    /// A field name inside `f(...)`: quoted, or up to `)`, whitespace or `|`.
    pub(super) fn paren_field(&mut self) -> Result<String> {
        self.word(&[')'])
    }

    /// An optional `as NAME` (NAME quoted, or up to whitespace, `,` or `|`).
    /// Leaves the cursor where it was when there is no `as`.
    pub(super) fn as_alias(&mut self) -> Result<Option<String>> {
        let save = self.pos;
        self.skip_ws();
        if self.eat_keyword("as", true).is_none() {
            self.set_pos(save);
            return Ok(None);
        }
        self.skip_ws();
        let alias = self.word(&[','])?;
        if alias.is_empty() {
            return Err(self.error_here("expected a name after `as`"));
        }
        Ok(Some(alias))
    }
}

/// Characters that end a keyword such as `AND`, `by` or `from`.
fn is_keyword_boundary(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '|' | ',' | '[' | '=')
}

/// SPL unescaping of values: `\\` -> `\`, `\"` -> `"`; any other
/// backslash stays literal (`\s` stays `\s`), as Splunk does.
pub fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('\\') | Some('"') => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// [`unescape`] for search-language values: also `\*` -> a literal `*`
/// ([`LITERAL_STAR`], which globs do not treat as a wildcard).
pub fn unescape_search(raw: &str) -> String {
    if !raw.contains("\\*") {
        return unescape(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('\\') | Some('"') => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                Some('*') => {
                    chars.next();
                    out.push(LITERAL_STAR);
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_rules() {
        assert_eq!(unescape(r"a\\b"), r"a\b");
        assert_eq!(unescape(r#"a\"b"#), r#"a"b"#);
        assert_eq!(unescape(r"\s+"), r"\s+");
        assert_eq!(unescape(r"\\\\root\\x"), r"\\root\x");
        assert_eq!(unescape("end\\"), "end\\");
        let star = LITERAL_STAR.to_string();
        assert_eq!(unescape_search(r"*\*x*"), format!("*{star}x*"));
        assert_eq!(unescape_search(r"*\\*"), r"*\*");
        assert_eq!(unescape_search(r"a\\\*"), format!(r"a\{star}"));
        assert_eq!(unescape(r"\*"), r"\*");
    }

    #[test]
    fn quoted_strings() {
        let mut c = Cursor::new(r#""*stop \"samss\"*"rest"#);
        let (v, span) = c.quoted().unwrap();
        assert_eq!(v.text, r#"*stop "samss"*"#);
        assert!(v.quoted);
        assert_eq!(span, 0..18);
        assert_eq!(c.rest(), "rest");
        let mut c = Cursor::new(r#""open \""#);
        assert!(c.quoted().is_err());
    }

    #[test]
    fn keywords() {
        let c = Cursor::new("FROM datamodel");
        assert!(c.peek_keyword("from", true));
        assert!(!c.peek_keyword("from", false));
        let c = Cursor::new("ORx");
        assert!(!c.peek_keyword("OR", false));
        let c = Cursor::new("NOT(");
        assert!(c.peek_keyword("NOT", false));
    }
}
