//! Lookup tables (ESCU's lookup YAML plus CSV, as Splunk's transforms.conf
//! would define them) and the `lookup` command over a result table.
//!
//! A definition declares how its rows match: `match_type` WILDCARD(f)
//! (the lookup's value is a `*` glob) or CIDR(f) (a subnet), exact
//! otherwise; `case_sensitive_match` (insensitive unless declared true);
//! `min_matches` with `default_match` (the value given when fewer rows
//! match) and `max_matches` (the first N rows in file order, 100 by
//! default). Several matching rows make a multivalue field.
//!
//! A KV-store collection (`collection:`) has no rows outside Splunk, so
//! it is an empty table with its `fields_list`; so are the Enterprise
//! Security asset and identity lookups that ESCU macros use, which ES
//! fills from its own configuration.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use yaml_rust2::Yaml;

use crate::literals::LiteralIndex;
use crate::table::{Cell, Table};

/// Splunk's `max_matches` when the definition does not set one.
pub const DEFAULT_MAX_MATCHES: usize = 100;

/// Enterprise Security lookups that are empty without ES's asset and
/// identity configuration.
const ES_LOOKUPS: &[&str] = &[
    "asset_lookup_by_str",
    "asset_lookup_by_cidr",
    "identity_lookup_expanded",
];

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

/// How a lookup field's values match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    Exact,
    Wildcard,
    Cidr,
}

/// The rows of each value of an exact column.
type ValueRows = HashMap<String, Vec<usize>>;

/// One lookup: its definition and its rows.
#[derive(Debug)]
pub struct LookupTable {
    pub name: String,
    pub columns: Vec<String>,
    /// Rows as in the file; an empty CSV cell is an absent value.
    pub rows: Vec<Vec<String>>,
    match_types: Vec<MatchType>,
    pub case_sensitive: bool,
    pub min_matches: usize,
    pub max_matches: usize,
    pub default_match: String,
    /// Compiled WILDCARD patterns, per column (None: not a wildcard column)
    /// then per row; compiled on the first match, since a store holds every
    /// lookup of a folder and a search uses few of them.
    wildcards: OnceLock<Vec<Option<Vec<regex::Regex>>>>,
    /// Per WILDCARD column: the rows whose pattern a value can match,
    /// found in one pass over the value ([`LiteralIndex`], ignoring ASCII
    /// case unless case-sensitive); built on the first match. Two hundred
    /// `*handler:*` patterns were each tried on every command line.
    pattern_index: OnceLock<Vec<Option<LiteralIndex>>>,
    /// Per exact column (None for the others): the rows of each value
    /// (lowercased unless case-sensitive), in file order; built on the
    /// first match. A lookup of a hundred thousand rows against a table
    /// of 750 compared every pair.
    exact: OnceLock<Vec<Option<ValueRows>>>,
}

impl PartialEq for LookupTable {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl LookupTable {
    /// A lookup from its parts; `wildcard` and `cidr` name the columns
    /// whose values are patterns or subnets.
    pub fn new(
        name: &str,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        wildcard: &[String],
        cidr: &[String],
    ) -> Self {
        let match_types = columns
            .iter()
            .map(|c| {
                if wildcard.contains(c) {
                    MatchType::Wildcard
                } else if cidr.contains(c) {
                    MatchType::Cidr
                } else {
                    MatchType::Exact
                }
            })
            .collect();
        LookupTable {
            name: name.to_string(),
            columns,
            rows,
            match_types,
            case_sensitive: false,
            min_matches: 0,
            max_matches: DEFAULT_MAX_MATCHES,
            default_match: String::new(),
            wildcards: OnceLock::new(),
            pattern_index: OnceLock::new(),
            exact: OnceLock::new(),
        }
    }

    /// Set case sensitivity (recompiling the wildcard patterns).
    pub fn with_case_sensitive(mut self, yes: bool) -> Self {
        self.case_sensitive = yes;
        self.wildcards = OnceLock::new();
        self.pattern_index = OnceLock::new();
        self.exact = OnceLock::new();
        self
    }

    pub fn with_matches(mut self, min: usize, max: usize, default: &str) -> Self {
        self.min_matches = min;
        self.max_matches = max.max(1);
        self.default_match = default.to_string();
        self
    }

    fn wildcards(&self) -> &[Option<Vec<regex::Regex>>] {
        let ci = !self.case_sensitive;
        self.wildcards.get_or_init(|| {
            (0..self.columns.len())
                .map(|c| {
                    (self.match_types[c] == MatchType::Wildcard).then(|| {
                        self.rows
                            .iter()
                            .map(|r| wildcard_regex(r.get(c).map_or("", String::as_str), ci))
                            .collect()
                    })
                })
                .collect()
        })
    }

    fn pattern_index(&self) -> &[Option<LiteralIndex>] {
        self.pattern_index.get_or_init(|| {
            (0..self.columns.len())
                .map(|c| {
                    (self.match_types[c] == MatchType::Wildcard).then(|| {
                        let patterns = (self.rows.iter()).map(|r| {
                            r.get(c)
                                .map_or("", String::as_str)
                                .split('*')
                                .collect::<Vec<_>>()
                        });
                        LiteralIndex::new(patterns, !self.case_sensitive)
                    })
                })
                .collect()
        })
    }

    fn exact(&self) -> &[Option<ValueRows>] {
        self.exact.get_or_init(|| {
            (0..self.columns.len())
                .map(|c| {
                    (self.match_types[c] == MatchType::Exact).then(|| {
                        let mut rows = ValueRows::new();
                        for (r, row) in self.rows.iter().enumerate() {
                            if let Some(cell) = row.get(c) {
                                rows.entry(self.fold(cell)).or_default().push(r);
                            }
                        }
                        rows
                    })
                })
                .collect()
        })
    }

    /// A value as exact columns compare it.
    fn fold(&self, value: &str) -> String {
        match self.case_sensitive {
            true => value.to_string(),
            false => value.to_lowercase(),
        }
    }

    /// How column `col`'s values match an event's (Exact for a column
    /// out of range).
    pub fn match_type(&self, col: usize) -> MatchType {
        self.match_types
            .get(col)
            .copied()
            .unwrap_or(MatchType::Exact)
    }

    /// An Enterprise Security lookup with no rows outside Splunk (nor
    /// columns): any field may be looked up in it, and nothing matches.
    pub fn is_es_placeholder(&self) -> bool {
        self.columns.is_empty() && ES_LOOKUPS.contains(&self.name.as_str())
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The rows as a result table (`inputlookup`).
    pub fn to_table(&self) -> Table {
        Table {
            columns: self.columns.clone(),
            rows: self
                .rows
                .iter()
                .map(|r| {
                    (0..self.columns.len())
                        .map(|i| match r.get(i) {
                            Some(v) if !v.is_empty() => Cell::one(v.clone()),
                            _ => Cell::null(),
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// Whether lookup row `row`'s column `col` matches the event value.
    fn cell_matches(&self, row: usize, col: usize, value: &str) -> bool {
        let Some(cell) = self.rows[row].get(col) else {
            return false;
        };
        match self.match_types[col] {
            MatchType::Exact => self.fold(cell) == self.fold(value),
            MatchType::Wildcard => self.wildcards()[col]
                .as_ref()
                .is_some_and(|w| w[row].is_match(value)),
            MatchType::Cidr => cidr_contains(cell, value),
        }
    }

    /// The rows (in file order, at most `max_matches`) whose inputs match:
    /// `inputs` gives, per lookup column, the event's values (any may
    /// match).
    pub fn matching_rows(&self, inputs: &[(usize, &[String])]) -> Vec<usize> {
        // An exact input narrows the rows to those holding one of its
        // values; every input is still checked on each of them.
        let exact = self.exact();
        let narrowed: Option<Vec<usize>> = inputs.iter().find_map(|&(col, values)| {
            let index = exact.get(col)?.as_ref()?;
            let mut rows: Vec<usize> = values
                .iter()
                .filter_map(|v| index.get(&self.fold(v)))
                .flatten()
                .copied()
                .collect();
            rows.sort_unstable();
            rows.dedup();
            Some(rows)
        });
        // Else a wildcard input narrows them to the rows whose pattern's
        // longest literal piece occurs in one of its values; for a
        // `*piece*` pattern, that occurrence is the match.
        let mut proved_input = None;
        let narrowed: Option<Vec<(usize, bool)>> = match narrowed {
            Some(rows) => Some(rows.into_iter().map(|r| (r, false)).collect()),
            None => {
                let index = self.pattern_index();
                inputs.iter().enumerate().find_map(|(i, &(col, values))| {
                    let index = index.get(col)?.as_ref()?;
                    let mut rows = Vec::new();
                    for v in values {
                        index.visit(v, |row, surely| {
                            rows.push((row, surely));
                            false
                        });
                    }
                    // Row order, a proved entry before an unproved one.
                    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
                    rows.dedup_by_key(|r| r.0);
                    proved_input = Some(i);
                    Some(rows)
                })
            }
        };
        let candidates: Box<dyn Iterator<Item = (usize, bool)>> = match narrowed {
            Some(rows) => Box::new(rows.into_iter()),
            None => Box::new((0..self.rows.len()).map(|r| (r, false))),
        };
        let mut out = Vec::new();
        for (r, proved) in candidates {
            let all = inputs.iter().enumerate().all(|(i, (col, values))| {
                (proved && proved_input == Some(i))
                    || values.iter().any(|v| self.cell_matches(r, *col, v))
            });
            if all {
                out.push(r);
                if out.len() >= self.max_matches {
                    break;
                }
            }
        }
        out
    }
}

/// A WILDCARD lookup value as an anchored regex (`*` is the only special
/// character).
fn wildcard_regex(pattern: &str, case_insensitive: bool) -> regex::Regex {
    let body: Vec<String> = pattern.split('*').map(regex::escape).collect();
    let re = format!(
        "{}(?s)^{}$",
        if case_insensitive { "(?i)" } else { "" },
        body.join(".*")
    );
    // An escaped literal always compiles; never-matching if it somehow does not.
    regex::Regex::new(&re).unwrap_or_else(|_| regex::Regex::new("[^\\s\\S]").expect("valid"))
}

/// `value` is an IP address inside the subnet `cidr` (`10.0.0.0/8`, or a
/// single address).
pub fn cidr_contains(cidr: &str, value: &str) -> bool {
    let (net, bits) = match cidr.trim().split_once('/') {
        Some((n, b)) => match b.parse::<u32>() {
            Ok(b) => (n, Some(b)),
            Err(_) => return false,
        },
        None => (cidr.trim(), None),
    };
    let (Ok(net), Ok(ip)) = (net.parse::<IpAddr>(), value.trim().parse::<IpAddr>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// The lookups a search may use, by definition name and by file name.
#[derive(Debug, Default, Clone)]
pub struct LookupStore {
    tables: HashMap<String, Arc<LookupTable>>,
    /// A folder loaded on the first search that uses a lookup (most use
    /// none, and loading every YAML and CSV cost more than a small hunt).
    later: Option<Arc<LaterDir>>,
}

/// The lookups of a folder, or why they could not be read.
type Loaded = Result<HashMap<String, Arc<LookupTable>>, String>;

#[derive(Debug)]
struct LaterDir {
    dir: PathBuf,
    loaded: OnceLock<Loaded>,
}

impl LookupStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, table: LookupTable) {
        self.tables.insert(table.name.clone(), Arc::new(table));
    }

    /// A lookup by definition name or CSV file name; the ES lookups are
    /// empty. An error when the folder given to [`LookupStore::later`]
    /// cannot be read.
    pub fn get(&self, name: &str) -> Result<Option<Arc<LookupTable>>, String> {
        if let Some(t) = self.tables.get(name) {
            return Ok(Some(t.clone()));
        }
        if let Some(later) = &self.later {
            let loaded = later.loaded.get_or_init(|| {
                LookupStore::load_dir(&later.dir)
                    .map(|store| store.tables)
                    .map_err(|e| e.to_string())
            });
            if let Some(t) = loaded.as_ref()?.get(name) {
                return Ok(Some(t.clone()));
            }
        }
        Ok(ES_LOOKUPS
            .contains(&name)
            .then(|| Arc::new(LookupTable::new(name, Vec::new(), Vec::new(), &[], &[]))))
    }

    /// The lookups of `dir` (as [`LookupStore::load_dir`]), read when a
    /// search first uses one.
    pub fn later(dir: &Path) -> Self {
        LookupStore {
            tables: HashMap::new(),
            later: Some(Arc::new(LaterDir {
                dir: dir.to_path_buf(),
                loaded: OnceLock::new(),
            })),
        }
    }

    /// Every lookup YAML under `dir` (recursively) with its CSV, named by
    /// `filename:` next to it.
    pub fn load_dir(dir: &Path) -> Result<Self, LookupError> {
        let mut store = LookupStore::new();
        let mut paths = Vec::new();
        for entry in walkdir::WalkDir::new(dir).follow_links(true) {
            let entry = entry.map_err(|e| LookupError::File {
                path: e.path().unwrap_or(dir).to_path_buf(),
                message: e.to_string(),
            })?;
            let p = entry.path();
            if entry.file_type().is_file()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml")
                })
            {
                paths.push(entry.into_path());
            }
        }
        paths.sort();
        for p in paths {
            if let Some((table, file)) = load_definition(&p)? {
                let table = Arc::new(table);
                if let Some(f) = file {
                    store.tables.entry(f).or_insert_with(|| table.clone());
                }
                store.tables.insert(table.name.clone(), table);
            }
        }
        Ok(store)
    }
}

fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `WILDCARD(a),WILDCARD(b),CIDR(c)` as (wildcard fields, cidr fields).
fn match_types(spec: &str) -> (Vec<String>, Vec<String>) {
    let (mut wild, mut cidr) = (Vec::new(), Vec::new());
    for part in spec.split(')') {
        let part = part.trim_matches(|c: char| c == ',' || c.is_whitespace());
        if let Some((kind, field)) = part.split_once('(') {
            let field = field.trim().to_string();
            match kind.trim().to_ascii_uppercase().as_str() {
                "WILDCARD" => wild.push(field),
                "CIDR" => cidr.push(field),
                _ => {}
            }
        }
    }
    (wild, cidr)
}

/// One lookup YAML (None when it is not a lookup definition) and the CSV
/// file name it reads.
fn load_definition(path: &Path) -> Result<Option<(LookupTable, Option<String>)>, LookupError> {
    let err = |message: String| LookupError::File {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let doc = crate::yaml::first_document(&text).map_err(|e| err(format!("invalid YAML: {e}")))?;
    if doc.is_null() {
        return Ok(None);
    }
    let Some(name) = scalar(&doc["name"]) else {
        return Ok(None);
    };
    let filename = scalar(&doc["filename"]);
    let (columns, rows) = match (&filename, scalar(&doc["collection"])) {
        (Some(f), _) => read_csv(&path.with_file_name(f))?,
        (None, Some(_)) => {
            let fields = scalar(&doc["fields_list"]).unwrap_or_default();
            let cols = fields
                .split(',')
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .collect();
            (cols, Vec::new())
        }
        (None, None) => return Ok(None),
    };
    let (wild, cidr) = match_types(&scalar(&doc["match_type"]).unwrap_or_default());
    let num = |key: &str, default: usize| -> Result<usize, LookupError> {
        match scalar(&doc[key]) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| err(format!("`{key}: {v}` is not a number"))),
        }
    };
    let case_sensitive = scalar(&doc["case_sensitive_match"])
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "t"));
    let table = LookupTable::new(&name, columns, rows, &wild, &cidr)
        .with_case_sensitive(case_sensitive)
        .with_matches(
            num("min_matches", 0)?,
            num("max_matches", DEFAULT_MAX_MATCHES)?,
            &scalar(&doc["default_match"]).unwrap_or_default(),
        );
    Ok(Some((table, filename)))
}

/// A lookup CSV: header, then rows (short rows padded with absent values).
fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), LookupError> {
    let err = |message: String| LookupError::File {
        path: path.to_path_buf(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(|e| err(e.to_string()))?;
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| err(e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(format!("line {line}: {e}"))
        })?;
        let mut row: Vec<String> = rec.iter().map(str::to_string).collect();
        row.resize(columns.len(), String::new());
        rows.push(row);
    }
    Ok((columns, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        assert!(cidr_contains("10.0.0.0/8", "10.200.3.4"));
        assert!(!cidr_contains("10.0.0.0/8", "11.0.0.1"));
        assert!(cidr_contains("192.168.1.7", "192.168.1.7"));
        assert!(cidr_contains("0.0.0.0/0", "8.8.8.8"));
        assert!(cidr_contains("fe80::/10", "fe80::1"));
        assert!(!cidr_contains("fe80::/10", "10.0.0.1"));
        assert!(!cidr_contains("10.0.0.0/x", "10.0.0.1"));
        assert!(!cidr_contains("10.0.0.0/8", "host1"));
    }

    /// Rows narrowed by an exact column's index are the rows a scan of
    /// every row finds, in file order and within max_matches: on the
    /// ESCU lookups (exact and wildcard columns, case-insensitive), for
    /// each one's own values, other case, multivalue inputs and misses.
    #[test]
    fn indexed_rows_are_the_rows_a_scan_finds() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/escu/lookups");
        let store = LookupStore::load_dir(&dir).unwrap();
        let mut narrowed = 0;
        for name in [
            "lolbas_file_path",
            "is_windows_system_file",
            "remote_access_software",
        ] {
            let t = store.get(name).unwrap().unwrap();
            let scan = |inputs: &[(usize, &[String])]| -> Vec<usize> {
                (0..t.rows.len())
                    .filter(|&r| {
                        inputs
                            .iter()
                            .all(|(c, vs)| vs.iter().any(|v| t.cell_matches(r, *c, v)))
                    })
                    .take(t.max_matches)
                    .collect()
            };
            for (i, row) in t.rows.iter().enumerate().step_by(7) {
                let cols: Vec<usize> = (0..t.columns.len().min(2)).collect();
                let mut values: Vec<Vec<String>> = cols
                    .iter()
                    .map(|&c| vec![row.get(c).cloned().unwrap_or_default().to_uppercase()])
                    .collect();
                if i % 2 == 0 {
                    values[0].push("no-such-value.exe".into());
                    values[0].push(t.rows[(i + 3) % t.rows.len()][0].clone());
                }
                for n in 1..=cols.len() {
                    let inputs: Vec<(usize, &[String])> = cols[..n]
                        .iter()
                        .map(|&c| (c, values[c].as_slice()))
                        .collect();
                    let want = scan(&inputs);
                    narrowed += usize::from(!want.is_empty());
                    assert_eq!(t.matching_rows(&inputs), want, "{name} {inputs:?}");
                }
            }
        }
        assert!(narrowed > 100, "only {narrowed} inputs matched");
    }

    /// The rows a wildcard column's pattern index narrows to are those a
    /// scan of every row finds, case-insensitively or not, for ASCII and
    /// other values (Unicode folds `ſ` to `s` and `K` to `k`).
    #[test]
    fn pattern_index_rows_are_the_rows_a_scan_finds() {
        let patterns = [
            "*bingmaps:*",
            "*CALCULATOR:*",
            "*",
            "",
            "cmd.exe",
            "*\\temp\\*.exe",
            "c:\\windows\\*",
            "*.ps1",
            "*\u{212a}ey*",
            "*caf\u{e9}*",
            "*s*",
            "*exe*",
            "*key*",
        ];
        let values = [
            "explorer.exe bingmaps:foo",
            "BINGMAPS:X calculator:",
            "cmd.exe",
            "CMD.EXE",
            "c:\\users\\a\\TEMP\\x.exe",
            "C:\\Windows\\system32\\run.ps1",
            "key",
            "\u{17f}",
            "\u{212a}EY caf\u{e9}",
            // Pieces of `cmd.exe`, `c:\windows\*` and `*.ps1` in values
            // that those patterns do not match.
            "run cmd.exe /c",
            "d:\\c:\\windows\\x",
            "a.ps1.txt",
            "CAF\u{c9} au lait",
            "",
            "nothing at all",
        ];
        // Two wildcard columns: the patterns, and the same list shifted.
        let rows: Vec<Vec<String>> = (0..patterns.len())
            .map(|i| {
                let other = patterns[(i + 5) % patterns.len()];
                vec![patterns[i].to_string(), other.to_string(), i.to_string()]
            })
            .collect();
        let wild = ["pattern".to_string(), "other".to_string()];
        for (case_sensitive, max) in [(false, 1000), (true, 1000), (false, 2)] {
            let t = LookupTable::new(
                "p",
                vec!["pattern".into(), "other".into(), "n".into()],
                rows.clone(),
                &wild,
                &[],
            )
            .with_case_sensitive(case_sensitive)
            .with_matches(0, max, "");
            let mut matched = 0;
            for n in 1..=3 {
                for w in values.windows(n) {
                    let vals: Vec<String> = w.iter().map(|v| v.to_string()).collect();
                    let firsts: Vec<String> = w[..1].iter().map(|v| v.to_string()).collect();
                    for inputs in [
                        vec![(0, vals.as_slice())],
                        vec![(0, vals.as_slice()), (1, firsts.as_slice())],
                    ] {
                        let want: Vec<usize> = (0..t.rows.len())
                            .filter(|&r| {
                                inputs
                                    .iter()
                                    .all(|(c, vs)| vs.iter().any(|v| t.cell_matches(r, *c, v)))
                            })
                            .take(max)
                            .collect();
                        matched += want.len();
                        assert_eq!(
                            t.matching_rows(&inputs),
                            want,
                            "{case_sensitive} {max} {inputs:?}"
                        );
                    }
                }
            }
            assert!(matched > 50, "{matched}");
        }
    }

    #[test]
    fn match_type_spec() {
        let (w, c) = match_types("WILDCARD(a),WILDCARD(b), CIDR(ip)");
        assert_eq!(w, ["a", "b"]);
        assert_eq!(c, ["ip"]);
    }

    #[test]
    fn loads_escu_lookups() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/escu/lookups");
        // Loaded now, and loaded on first use: the same tables.
        for store in [
            LookupStore::load_dir(&dir).unwrap(),
            LookupStore::later(&dir),
        ] {
            let get = |name: &str| store.get(name).unwrap();
            let t = get("lolbas_file_path").unwrap();
            assert_eq!(
                t.columns,
                ["lolbas_file_name", "lolbas_file_path", "description"]
            );
            assert_eq!((t.min_matches, t.max_matches), (1, 1));
            assert_eq!(t.default_match, "false");
            assert!(!t.case_sensitive);
            assert!(get("lolbas_file_path20240725.csv").is_some());
            let kv = get("zoom_first_time_child_process").unwrap();
            assert!(kv.rows.is_empty() && kv.columns.contains(&"process_name".to_string()));
            assert!(get("asset_lookup_by_str").is_some());
            assert!(get("no_such_lookup").is_none());
        }
        let store = LookupStore::load_dir(&dir).unwrap();
        let t = store.get("lolbas_file_path").unwrap().unwrap();
        // A folder that cannot be read is an error when a lookup is used.
        let missing = LookupStore::later(&dir.join("no-such-folder"));
        assert!(missing.get("lolbas_file_path").is_err());
        let name = t.column_index("lolbas_file_name").unwrap();
        let path = t.column_index("lolbas_file_path").unwrap();
        let v = |s: &str| vec![s.to_string()];
        let (n, p) = (v("EVENTVWR.exe"), v("C:\\Windows\\System32\\eventvwr.exe"));
        assert_eq!(t.matching_rows(&[(name, &n), (path, &p)]).len(), 1);
        let p = v("C:\\Users\\x\\eventvwr.exe");
        assert!(t.matching_rows(&[(name, &n), (path, &p)]).is_empty());
    }
}
