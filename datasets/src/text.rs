//! String escaping shared by the text outputs: JSON (RFC 8259) and Windows-style XML.

/// Appends `s` as a JSON string literal.
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{:04x}", b));
        } else {
            out.push_str(esc);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Appends XML element text the way Windows renders it: `&`, `<`, `>` escaped, quotes kept.
pub fn xml_text(out: &mut String, s: &str) {
    xml_escape(out, s, false);
}

/// Appends an attribute value for single-quoted attributes (also escapes `'` and `"`).
pub fn xml_attr(out: &mut String, s: &str) {
    xml_escape(out, s, true);
}

fn xml_escape(out: &mut String, s: &str, attr: bool) {
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\'' if attr => "&apos;",
            b'"' if attr => "&quot;",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        out.push_str(esc);
        run = i + 1;
    }
    out.push_str(&s[run..]);
}

/// The XML-escaped text of `s` (see [`xml_text`]).
pub fn xml_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    xml_text(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\u{1}ü");
        assert_eq!(s, r#""a\"b\\c\u0001ü""#);
        assert_eq!(
            xml_escaped(r#"a & "b" <c> 'd'"#),
            r#"a &amp; "b" &lt;c&gt; 'd'"#
        );
        let mut a = String::new();
        xml_attr(&mut a, "it's \"x\"");
        assert_eq!(a, "it&apos;s &quot;x&quot;");
    }
}
