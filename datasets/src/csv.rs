//! CSV in the dialect evidx-query writes (RFC 4180 with `\n` record ends): a field is quoted
//! only when it holds `,`, `"`, CR or LF, and quotes are doubled. The expected tables are
//! compared byte for byte with evidx-query output, so the writer settings below are part of
//! the contract.

use ::csv::{QuoteStyle, Terminator, WriterBuilder};

/// Renders `header` and then `rows` as CSV text, each record ended by `\n`.
pub fn render(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w = WriterBuilder::new()
        .quote_style(QuoteStyle::Necessary)
        .terminator(Terminator::Any(b'\n'))
        .flexible(true)
        .from_writer(Vec::new());
    let io = "writing CSV into memory cannot fail";
    w.write_record(header).expect(io);
    for row in rows {
        w.write_record(&row).expect(io);
    }
    let bytes = w.into_inner().expect(io);
    String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
}

/// Parses RFC 4180 text into records (used by tests and tools reading the expected tables).
pub fn parse(text: &str) -> Vec<Vec<String>> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("CSV of UTF-8 text")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        let fields: Vec<String> = ["plain", "a,b", "say \"hi\"", "x\ny", "c\rr", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = render(&["h1", "h2"], [fields.clone()]);
        assert_eq!(
            s,
            "h1,h2\nplain,\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",\"c\rr\",\n"
        );
        assert_eq!(
            parse(&s),
            vec![vec!["h1".to_string(), "h2".to_string()], fields]
        );
    }
}
