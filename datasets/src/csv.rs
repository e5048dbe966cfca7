//! RFC 4180 CSV records: fields with `,`, `"`, CR or LF are quoted and quotes doubled.

/// Appends one record (terminated by `\n`).
pub fn push_record(out: &mut String, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
}

/// Parses RFC 4180 text into records (used by tests and tools reading the expected tables).
pub fn parse(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        let fields: Vec<String> = ["plain", "a,b", "say \"hi\"", "x\ny", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut s = String::new();
        push_record(&mut s, &fields);
        assert_eq!(s, "plain,\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",\n");
        assert_eq!(parse(&s), vec![fields]);
    }
}
