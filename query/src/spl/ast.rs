//! The parsed form of a tstats detection: the contract between the SPL
//! front end (`spl::parser`), the planner (`plan`), the collector
//! (`collect`) and the post-processing commands (`post`).
//!
//! Field names are kept exactly as written (`Processes.process_name`); the
//! planner matches them case-sensitively, as Splunk does.

/// Byte range in the macro-expanded query text (see `spl::Query::text`).
pub type Span = std::ops::Range<usize>;

/// `| tstats ... | cmd | cmd ...`
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub tstats: Tstats,
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tstats {
    /// `summariesonly`, `allow_old_summaries`, `fillnull_value`, ... in order,
    /// names lower-cased, values unquoted.
    pub options: Vec<(String, String)>,
    pub aggs: Vec<Agg>,
    /// e.g. `Endpoint.Processes`.
    pub datamodel: String,
    /// None when there is no `where` clause.
    pub filter: Option<SearchExpr>,
    pub by: Vec<ByField>,
    pub span: Span,
}

impl Tstats {
    /// `fillnull_value` when given (`null` by ESCU's default config).
    pub fn fillnull_value(&self) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == "fillnull_value")
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    Min,
    Max,
    Values,
    Dc,
    Latest,
    Earliest,
    Sum,
    Avg,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Agg {
    pub func: AggFunc,
    /// None for a bare `count`.
    pub field: Option<String>,
    /// The output column name: the `as` alias, or the name Splunk gives
    /// (`count`, `values(Processes.process)`, `dc(Processes.user)`,
    /// `distinct_count(...)` when written that way).
    pub column: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ByField {
    Field(String),
    /// `_time [span=1h]`; `span_secs` None means no span (group by exact time).
    Time {
        span_secs: Option<i64>,
    },
}

/// A value as written in the search language, after unescaping
/// (`\\` -> `\`, `\"` -> `"`, any other backslash kept literally).
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub text: String,
    /// True when it was written in double quotes.
    pub quoted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The search language (tstats `where`, the `search` command): glob values,
/// case-insensitive, OR binds tighter than AND.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchExpr {
    And(Vec<SearchExpr>),
    Or(Vec<SearchExpr>),
    Not(Box<SearchExpr>),
    Cmp {
        field: String,
        op: CmpOp,
        value: Value,
        span: Span,
    },
    In {
        field: String,
        values: Vec<Value>,
        span: Span,
    },
    /// A bare term with no field (`search *` is `Term("*")`).
    Term {
        value: Value,
        span: Span,
    },
}

/// The eval language (`where`, `eval`): AND binds tighter than OR.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Field(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `f(args)`, name lower-cased.
    Call {
        name: String,
        args: Vec<Expr>,
        span: Span,
    },
    /// `x LIKE "pat%"` written as an operator.
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
    },
    /// `x IN ("a", "b")` in eval syntax.
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Xor,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
    /// `num(f)`, `str(f)`, `ip(f)`, `auto(f)`; None means auto.
    pub kind: Option<String>,
}

/// Commands allowed after `tstats` (tiers S0-S2 of `SPL_SUBSET.md`).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `rename a as b, "X.*" as *` (wildcards allowed).
    Rename(Vec<(String, String)>),
    /// `convert [timeformat=F] ctime(f) [as g] ...`.
    Convert {
        timeformat: String,
        conversions: Vec<Conversion>,
    },
    Where(Expr),
    Eval(Vec<(String, Expr)>),
    Search(SearchExpr),
    /// `regex f="re"` / `regex f!="re"` (no field means `_raw`).
    Regex {
        field: Option<String>,
        negate: bool,
        pattern: String,
    },
    Table(Vec<String>),
    /// `fields [+|-] a, b*`.
    Fields {
        remove: bool,
        fields: Vec<String>,
    },
    Sort {
        limit: Option<usize>,
        keys: Vec<SortKey>,
    },
    Head(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// `ctime`, `mktime`, `num`, ... lower-cased.
    pub func: String,
    pub field: String,
    pub alias: Option<String>,
}
