//! The search language (`| search`, the filter of a tstats `where` once
//! results exist) interpreted over result rows. The index-side twin is
//! [`crate::plan`]; both follow the same rules.

use std::cmp::Ordering;

use crate::glob::Glob;
use crate::num::parse_num;
use crate::spl::ast::{CmpOp, SearchExpr};
use crate::table::Table;

/// The search language over table rows: case-insensitive globs; `f!=v` is
/// false when `f` is null while `NOT f=v` is true; a bare term matches any
/// cell containing it (`*` matches every row).
pub struct SearchMatcher {
    root: Node,
}

enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Cmp {
        field: String,
        op: CmpOp,
        glob: Glob,
        raw: String,
    },
    In {
        field: String,
        globs: Vec<Glob>,
    },
    Term(Glob),
}

impl SearchMatcher {
    pub fn new(e: &SearchExpr) -> Self {
        SearchMatcher { root: compile(e) }
    }

    pub fn matches(&self, table: &Table, row: usize) -> bool {
        eval_node(&self.root, table, row)
    }
}

fn compile(e: &SearchExpr) -> Node {
    match e {
        SearchExpr::And(v) => Node::And(v.iter().map(compile).collect()),
        SearchExpr::Or(v) => Node::Or(v.iter().map(compile).collect()),
        SearchExpr::Not(x) => Node::Not(Box::new(compile(x))),
        SearchExpr::Cmp {
            field, op, value, ..
        } => Node::Cmp {
            field: field.clone(),
            op: *op,
            glob: Glob::new(&value.text),
            raw: value.text.clone(),
        },
        SearchExpr::In { field, values, .. } => Node::In {
            field: field.clone(),
            globs: values.iter().map(|v| Glob::new(&v.text)).collect(),
        },
        SearchExpr::Term { value, .. } => Node::Term(term_glob(&value.text)),
        // Run before the search (`resolve.rs`); unresolved, nothing.
        SearchExpr::Subsearch(_) => Node::Or(Vec::new()),
    }
}

/// The glob of a bare search term: it matches a cell containing it.
pub fn term_glob(t: &str) -> Glob {
    if t.starts_with('*') && t.ends_with('*') {
        Glob::new(t)
    } else {
        Glob::new(&format!("*{t}*"))
    }
}

fn cell<'t>(table: &'t Table, row: usize, field: &str) -> &'t [String] {
    table
        .column_index(field)
        .and_then(|i| table.rows.get(row)?.get(i))
        .map_or(&[], |c| c.0.as_slice())
}

fn glob_eq(glob: &Glob, value: &str) -> bool {
    if let (Some(exact), Some(a)) = (glob.is_exact(), parse_num(value)) {
        if let Some(b) = parse_num(exact) {
            return a == b;
        }
    }
    glob.matches(&value.to_lowercase())
}

fn eval_node(n: &Node, table: &Table, row: usize) -> bool {
    match n {
        Node::And(v) => v.iter().all(|x| eval_node(x, table, row)),
        Node::Or(v) => v.iter().any(|x| eval_node(x, table, row)),
        Node::Not(x) => !eval_node(x, table, row),
        Node::Cmp {
            field,
            op,
            glob,
            raw,
        } => {
            let vals = cell(table, row, field);
            match op {
                CmpOp::Eq => vals.iter().any(|v| glob_eq(glob, v)),
                CmpOp::Ne => !vals.is_empty() && !vals.iter().any(|v| glob_eq(glob, v)),
                _ => vals.iter().any(|v| {
                    let ord = match (parse_num(v), parse_num(raw)) {
                        (Some(a), Some(b)) => a.partial_cmp(&b),
                        _ => Some(v.as_str().cmp(raw.as_str())),
                    };
                    matches!(
                        (op, ord),
                        (CmpOp::Lt, Some(Ordering::Less))
                            | (CmpOp::Le, Some(Ordering::Less | Ordering::Equal))
                            | (CmpOp::Gt, Some(Ordering::Greater))
                            | (CmpOp::Ge, Some(Ordering::Greater | Ordering::Equal))
                    )
                }),
            }
        }
        Node::In { field, globs } => cell(table, row, field)
            .iter()
            .any(|v| globs.iter().any(|g| glob_eq(g, v))),
        Node::Term(g) => {
            g.matches_all()
                || table.rows.get(row).is_some_and(|r| {
                    r.iter()
                        .flat_map(|c| &c.0)
                        .any(|v| g.matches(&v.to_lowercase()))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::commands::columns::testutil::{col, run, t};

    #[test]
    fn escaped_asterisk_is_literal() {
        let rows: &[&[&str]] = &[&["a*b"], &["axb"], &["a\\b"]];
        let mut tb = t(&["p"], rows);
        run(&mut tb, "| search p=\"a\\*b\"");
        assert_eq!(col(&tb, "p"), ["a*b"]);
        let mut tb = t(&["p"], rows);
        run(&mut tb, "| search p=a*b");
        assert_eq!(tb.rows.len(), 3);
        let mut tb = t(&["p"], rows);
        run(&mut tb, "| search p=\"a\\\\*\"");
        assert_eq!(col(&tb, "p"), ["a\\b"]);
        let mut tb = t(&["p"], rows);
        run(&mut tb, "| search p IN (\"*\\**\")");
        assert_eq!(col(&tb, "p"), ["a*b"]);
    }
}
