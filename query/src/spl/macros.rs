//! Splunk search macros: `` `name` `` and `` `name(a, "b")` `` expand to
//! their definition with `$arg$` substituted, recursively, before parsing.
//! Backticks inside double-quoted strings are literal.

use std::collections::HashMap;

use super::ast::Span;
use super::SplError;

/// Expansion deeper than this is treated as runaway recursion.
const MAX_DEPTH: usize = 32;
/// Expanded text longer than this is refused (macro bombs).
const MAX_LEN: usize = 16 << 20;

/// One macro definition (`name(argcount)` in Splunk's terms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    pub name: String,
    /// Argument names, substituted as `$name$` in `definition`.
    pub args: Vec<String>,
    pub definition: String,
}

/// Macros keyed by name and arity, as Splunk keys them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MacroSet {
    map: HashMap<(String, usize), Macro>,
}

impl MacroSet {
    /// An empty set: only the fallbacks of [`builtin_definition`] apply.
    pub fn new() -> Self {
        Self::default()
    }

    /// The macros ESCU detections use that are not in security_content
    /// (`drop_dm_object_name`) plus ESCU's default configuration. A missing
    /// `*_filter` macro is handled by the fallback, since it has no fixed name.
    pub fn builtin() -> Self {
        let mut set = Self::new();
        let defs: [(&str, &[&str], &str); 3] = [
            (
                "drop_dm_object_name",
                &["object"],
                "rename \"$object$.*\" as *",
            ),
            (
                "security_content_summariesonly",
                &[],
                "summariesonly=false allow_old_summaries=true fillnull_value=null",
            ),
            (
                "security_content_ctime",
                &["field"],
                "convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime($field$)",
            ),
        ];
        for (name, args, def) in defs {
            set.insert(Macro {
                name: name.to_string(),
                args: args.iter().map(|s| s.to_string()).collect(),
                definition: def.to_string(),
            });
        }
        set
    }

    /// Add or replace a macro.
    pub fn insert(&mut self, m: Macro) {
        self.map.insert((m.name.clone(), m.args.len()), m);
    }

    pub fn get(&self, name: &str, arity: usize) -> Option<&Macro> {
        self.map.get(&(name.to_string(), arity))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Macro> {
        self.map.values()
    }

    /// Expand every macro in `text`. Error spans point into `text`.
    pub fn expand(&self, text: &str) -> Result<String, SplError> {
        let mut stack = Vec::new();
        let out = self.expand_inner(text, &mut stack)?;
        Ok(out)
    }

    fn expand_inner(&self, text: &str, stack: &mut Vec<String>) -> Result<String, SplError> {
        let mut out = String::with_capacity(text.len());
        let mut in_quote = false;
        let mut i = 0;
        let bytes = text.as_bytes();
        let mut copied = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_quote => {
                    i += 2;
                    continue;
                }
                b'"' => in_quote = !in_quote,
                b'`' if !in_quote => {
                    let close = text[i + 1..].find('`').map(|j| i + 1 + j).ok_or_else(|| {
                        SplError::new("unterminated macro (missing closing backtick)", i..i + 1)
                    })?;
                    out.push_str(&text[copied..i]);
                    let span = i..close + 1;
                    let body = &text[i + 1..close];
                    let expansion = self.expand_call(body, span.clone(), stack)?;
                    out.push_str(&expansion);
                    if out.len() > MAX_LEN {
                        return Err(SplError::new("macro expansion is too large", span));
                    }
                    i = close + 1;
                    copied = i;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        out.push_str(&text[copied.min(text.len())..]);
        Ok(out)
    }

    /// Expand one call `name(args)` (the text between the backticks).
    fn expand_call(
        &self,
        body: &str,
        span: Span,
        stack: &mut Vec<String>,
    ) -> Result<String, SplError> {
        let (name, args) = split_call(body).map_err(|m| SplError::new(m, span.clone()))?;
        if name.is_empty() {
            return Err(SplError::new("empty macro name", span));
        }
        let key = format!("{name}({})", args.len());
        if stack.contains(&key) {
            return Err(SplError::new(
                format!("macro `{key}` expands to itself"),
                span,
            ));
        }
        if stack.len() >= MAX_DEPTH {
            return Err(SplError::new("macros nested too deeply", span));
        }
        let definition = match self.get(&name, args.len()) {
            Some(m) => substitute(&m.definition, &m.args, &args),
            None => builtin_definition(&name, &args).ok_or_else(|| {
                SplError::new(
                    format!("unknown macro `{name}` with {} argument(s)", args.len()),
                    span.clone(),
                )
            })?,
        };
        stack.push(key);
        let result = self
            .expand_inner(&definition, stack)
            .map_err(|e| SplError::new(format!("in macro `{name}`: {}", e.message), span.clone()));
        stack.pop();
        result
    }
}

/// Definitions used when a macro is not in the loaded set: the Splunk_SA_CIM
/// and contentctl macros that security_content does not ship.
pub fn builtin_definition(name: &str, args: &[String]) -> Option<String> {
    match (name, args) {
        ("drop_dm_object_name", [obj]) => Some(format!("rename \"{obj}.*\" as *")),
        ("security_content_summariesonly", []) => {
            Some("summariesonly=false allow_old_summaries=true fillnull_value=null".into())
        }
        ("security_content_ctime", [f]) => Some(format!(
            "convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime({f})"
        )),
        (n, []) if n.ends_with("_filter") => Some("search *".into()),
        _ => None,
    }
}

/// Replace `$arg$` by the argument values.
fn substitute(def: &str, names: &[String], values: &[String]) -> String {
    let mut out = def.to_string();
    for (n, v) in names.iter().zip(values) {
        out = out.replace(&format!("${n}$"), v);
    }
    out
}

/// Split `name(a, "b, c")` into the name and its arguments; quotes around an
/// argument are stripped, commas inside quotes or parentheses do not split.
fn split_call(body: &str) -> Result<(String, Vec<String>), String> {
    let body = body.trim();
    let Some(open) = body.find('(') else {
        return Ok((body.to_string(), Vec::new()));
    };
    let name = body[..open].trim().to_string();
    let inner = body[open + 1..]
        .strip_suffix(')')
        .ok_or_else(|| format!("macro call `{body}` is missing its closing `)`"))?;
    if inner.trim().is_empty() {
        return Ok((name, Vec::new()));
    }
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let mut in_quote = false;
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_quote => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '"' => in_quote = !in_quote,
            '(' if !in_quote => depth += 1,
            ')' if !in_quote => depth = depth.saturating_sub(1),
            ',' if !in_quote && depth == 0 => {
                args.push(strip_quotes(&cur));
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    args.push(strip_quotes(&cur));
    Ok((name, args))
}

fn strip_quotes(arg: &str) -> String {
    let t = arg.trim();
    match t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if t.len() >= 2 => inner.to_string(),
        _ => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> MacroSet {
        let mut s = MacroSet::builtin();
        s.insert(Macro {
            name: "process_net".into(),
            args: vec![],
            definition: "(Processes.process_name=net.exe OR `inner`)".into(),
        });
        s.insert(Macro {
            name: "inner".into(),
            args: vec![],
            definition: "Processes.process_name=net1.exe".into(),
        });
        s.insert(Macro {
            name: "loop_a".into(),
            args: vec![],
            definition: "`loop_b`".into(),
        });
        s.insert(Macro {
            name: "loop_b".into(),
            args: vec![],
            definition: "x `loop_a`".into(),
        });
        s.insert(Macro {
            name: "two".into(),
            args: vec!["a".into(), "b".into()],
            definition: "$a$-$b$-$a$".into(),
        });
        s
    }

    #[test]
    fn nested_and_args() {
        let s = set();
        assert_eq!(
            s.expand("where `process_net` by x").unwrap(),
            "where (Processes.process_name=net.exe OR Processes.process_name=net1.exe) by x"
        );
        assert_eq!(s.expand("`two(x, \"y, z\")`").unwrap(), "x-y, z-x");
        assert_eq!(
            s.expand("| `drop_dm_object_name(\"Processes\")`").unwrap(),
            "| rename \"Processes.*\" as *"
        );
        assert_eq!(
            s.expand("`security_content_ctime(firstTime)`").unwrap(),
            "convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime)"
        );
        assert_eq!(s.expand("`my_detection_filter`").unwrap(), "search *");
    }

    #[test]
    fn quoted_backticks_are_literal() {
        let s = set();
        let q = r#"eval x=split(process,"`") | eval y="a\"`b`" | `inner`"#;
        let out = s.expand(q).unwrap();
        assert!(out.starts_with(r#"eval x=split(process,"`") | eval y="a\"`b`" | Processes"#));
    }

    #[test]
    fn errors() {
        let s = set();
        let e = s.expand("| tstats count `nope(1)` x").unwrap_err();
        assert_eq!(e.span, 15..24);
        assert!(e.message.contains("unknown macro `nope`"), "{}", e.message);
        let e = s.expand("`loop_a`").unwrap_err();
        assert!(e.message.contains("expands to itself"), "{}", e.message);
        assert_eq!(e.span, 0..8);
        assert!(s.expand("a `open").is_err());
        // An unknown macro nested in a definition is reported at the outer call.
        let mut s2 = MacroSet::new();
        s2.insert(Macro {
            name: "outer".into(),
            args: vec![],
            definition: "`missing`".into(),
        });
        let e = s2.expand("ab `outer`").unwrap_err();
        assert_eq!(e.span, 3..10);
        assert!(e.message.contains("missing"));
    }
}
