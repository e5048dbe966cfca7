//! Windows event XML (`<Event xmlns=...><System>...</System><EventData>
//! <Data Name='X'>v</Data>...</EventData></Event>`) -> [`RawEvent`].
//!
//! A small scanner for the regular XML that Windows renders, rather than a
//! general XML parser: elements, attributes in either quote style, text,
//! CDATA, comments, and the five predefined plus numeric entities (decoded,
//! so values match what EVTX yields). Malformed input is an error, never a
//! panic.

use crate::event::RawEvent;
use crate::time::parse_micros;

/// Why an XML event could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    pub offset: usize,
    pub reason: &'static str,
}

/// Decode the XML entities of `raw`. Unknown entities are kept literally.
pub fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let name = &after[..semi];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((ch, semi))
        });
        match decoded {
            Some((ch, semi)) => {
                out.push(ch);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One start tag: name and attributes (decoded).
struct Tag<'a> {
    name: &'a str,
    attrs: Vec<(&'a str, String)>,
    self_closing: bool,
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn parse_tag(s: &str, offset: usize) -> Result<Tag<'_>, XmlError> {
    let err = |reason| XmlError { offset, reason };
    let self_closing = s.ends_with('/');
    let body = s.strip_suffix('/').unwrap_or(s);
    let name_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
    let name = &body[..name_end];
    if name.is_empty() {
        return Err(err("empty element name"));
    }
    let mut attrs = Vec::new();
    let mut rest = body[name_end..].trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or_else(|| err("attribute without '='"))?;
        let key = rest[..eq].trim();
        let after = rest[eq + 1..].trim_start();
        let quote = after
            .chars()
            .next()
            .ok_or_else(|| err("attribute without value"))?;
        if quote != '"' && quote != '\'' {
            return Err(err("unquoted attribute value"));
        }
        let close = after[1..]
            .find(quote)
            .ok_or_else(|| err("unterminated attribute value"))?;
        attrs.push((local(key), decode_entities(&after[1..1 + close])));
        rest = after[close + 2..].trim_start();
    }
    Ok(Tag {
        name: local(name),
        attrs,
        self_closing,
    })
}

/// Parse one `<Event>` element.
pub fn event_from_xml(xml: &str) -> Result<RawEvent, XmlError> {
    let mut ev = RawEvent::default();
    let mut have_event_id = false;
    // Open elements (local names) and, for <Data Name=..>, the pending name.
    let mut stack: Vec<&str> = Vec::new();
    let mut data_name: Option<String> = None;
    let mut text = String::new();
    let mut pos = 0;
    let bytes = xml.as_bytes();
    let mut saw_event = false;
    while pos < bytes.len() {
        if bytes[pos] != b'<' {
            let end = xml[pos..].find('<').map_or(xml.len(), |i| pos + i);
            text.push_str(&decode_entities(&xml[pos..end]));
            pos = end;
            continue;
        }
        let rest = &xml[pos..];
        if rest.starts_with("<!--") {
            let end = rest.find("-->").ok_or(XmlError {
                offset: pos,
                reason: "unterminated comment",
            })?;
            pos += end + 3;
            continue;
        }
        if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            let end = cdata.find("]]>").ok_or(XmlError {
                offset: pos,
                reason: "unterminated CDATA",
            })?;
            text.push_str(&cdata[..end]);
            pos += 9 + end + 3;
            continue;
        }
        if rest.starts_with("<?") || rest.starts_with("<!") {
            let end = rest.find('>').ok_or(XmlError {
                offset: pos,
                reason: "unterminated declaration",
            })?;
            pos += end + 1;
            continue;
        }
        let end = rest.find('>').ok_or(XmlError {
            offset: pos,
            reason: "unterminated tag",
        })?;
        let inner = &rest[1..end];
        let tag_offset = pos;
        pos += end + 1;
        if let Some(close) = inner.strip_prefix('/') {
            let name = local(close.trim());
            let open = stack.pop().ok_or(XmlError {
                offset: tag_offset,
                reason: "close tag without open tag",
            })?;
            if open != name {
                return Err(XmlError {
                    offset: tag_offset,
                    reason: "mismatched close tag",
                });
            }
            let value = std::mem::take(&mut text);
            end_element(
                &mut ev,
                &stack,
                name,
                value,
                &mut data_name,
                &mut have_event_id,
            );
            if stack.is_empty() {
                break;
            }
            continue;
        }
        let tag = parse_tag(inner, tag_offset)?;
        if stack.is_empty() {
            if tag.name != "Event" {
                return Err(XmlError {
                    offset: tag_offset,
                    reason: "root element is not <Event>",
                });
            }
            saw_event = true;
        }
        text.clear();
        start_element(&mut ev, &stack, &tag, &mut data_name);
        if tag.self_closing {
            end_element(
                &mut ev,
                &stack,
                tag.name,
                String::new(),
                &mut data_name,
                &mut have_event_id,
            );
        } else {
            stack.push(tag.name);
        }
    }
    if !saw_event {
        return Err(XmlError {
            offset: 0,
            reason: "no <Event> element",
        });
    }
    if !stack.is_empty() {
        return Err(XmlError {
            offset: xml.len(),
            reason: "truncated event (unclosed elements)",
        });
    }
    if !have_event_id {
        return Err(XmlError {
            offset: 0,
            reason: "missing or non-numeric EventID",
        });
    }
    Ok(ev)
}

fn attr<'t>(tag: &'t Tag<'_>, name: &str) -> Option<&'t str> {
    tag.attrs
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

fn start_element(ev: &mut RawEvent, stack: &[&str], tag: &Tag<'_>, data_name: &mut Option<String>) {
    let parent = stack.last().copied();
    match (parent, tag.name) {
        (Some("System"), "Provider") => {
            ev.provider = attr(tag, "Name").unwrap_or_default().to_string();
        }
        (Some("System"), "TimeCreated") => {
            ev.time_created = attr(tag, "SystemTime").and_then(parse_micros);
        }
        (Some("System"), "Security") => {
            ev.user_sid = attr(tag, "UserID").map(str::to_string);
        }
        (Some("EventData"), "Data") => {
            *data_name = attr(tag, "Name").map(str::to_string);
        }
        _ => {}
    }
}

fn end_element(
    ev: &mut RawEvent,
    stack: &[&str],
    name: &str,
    value: String,
    data_name: &mut Option<String>,
    have_event_id: &mut bool,
) {
    let parent = stack.last().copied();
    match (parent, name) {
        (Some("System"), "EventID") => {
            if let Ok(id) = value.trim().parse() {
                ev.event_id = id;
                *have_event_id = true;
            }
        }
        (Some("System"), "Channel") => ev.channel = value,
        (Some("System"), "Computer") => ev.computer = value,
        (Some("System"), "EventRecordID") => ev.record_id = value.trim().parse().ok(),
        (Some("System"), "Keywords") => ev.keywords = Some(value),
        (Some("EventData"), "Data") => {
            if let Some(n) = data_name.take() {
                ev.data.push((n, value));
            }
        }
        // UserData/<Payload>/<Field>: the field's element name is its name.
        (Some(_), field) if stack.len() == 3 && stack[1] == "UserData" => {
            ev.data.push((field.to_string(), value));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSMON: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'/><EventID>1</EventID><TimeCreated SystemTime='2021-01-14T23:41:40.145335200Z'/><EventRecordID>19683891</EventRecordID><Correlation/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>win-dc</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'></Data><Data Name='CommandLine'>cmd /c a 2&gt;&amp;1 &#x41;</Data><Data Name='Image'>C:\\x.exe</Data></EventData></Event>";

    #[test]
    fn parses_sysmon_line() {
        let e = event_from_xml(SYSMON).unwrap();
        assert_eq!(e.provider, "Microsoft-Windows-Sysmon");
        assert_eq!(e.event_id, 1);
        assert_eq!(e.record_id, Some(19683891));
        assert_eq!(e.computer, "win-dc");
        assert_eq!(e.user_sid.as_deref(), Some("S-1-5-18"));
        assert_eq!(e.get("CommandLine"), Some("cmd /c a 2>&1 A"));
        assert_eq!(e.get("RuleName"), Some(""));
        assert!(e.time_created.is_some());
    }

    #[test]
    fn rejects_broken_xml_without_panicking() {
        for bad in [
            "",
            "<Event>",
            "<Event><System><EventID>1</EventID></System>",
            "<Foo/>",
            "<Event><System></Event>",
            "<Event a=b/>",
            &SYSMON[..SYSMON.len() / 2],
        ] {
            assert!(event_from_xml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;&bogus;&"),
            "a&b<>\"'AB&bogus;&"
        );
    }
}
