//! The parsed form of a tstats detection: the contract between the SPL
//! front end (`spl::parser`), the planner (`plan`), the collector
//! (`collect`) and the post-processing commands (`commands`).
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

impl Pipeline {
    /// This pipeline's tstats and those of its subsearches, nested ones
    /// included, outermost first: what a search needs checked before any
    /// of it runs.
    pub fn all_tstats(&self) -> Vec<&Tstats> {
        let mut out = Vec::new();
        tstats_of(&self.tstats, &self.commands, &mut out);
        out
    }
}

fn tstats_of<'a>(ts: &'a Tstats, cmds: &'a [Command], out: &mut Vec<&'a Tstats>) {
    out.push(ts);
    if let Some(f) = &ts.filter {
        tstats_in_expr(f, out);
    }
    tstats_in_commands(cmds, out);
}

fn tstats_in_commands<'a>(cmds: &'a [Command], out: &mut Vec<&'a Tstats>) {
    for cmd in cmds {
        match cmd {
            Command::Search(e) => tstats_in_expr(e, out),
            Command::Join(j) => tstats_in_subsearch(&j.sub, out),
            _ => {}
        }
    }
}

fn tstats_in_expr<'a>(e: &'a SearchExpr, out: &mut Vec<&'a Tstats>) {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => v.iter().for_each(|x| tstats_in_expr(x, out)),
        SearchExpr::Not(x) => tstats_in_expr(x, out),
        SearchExpr::Subsearch(sub) => tstats_in_subsearch(sub, out),
        _ => {}
    }
}

fn tstats_in_subsearch<'a>(sub: &'a Subsearch, out: &mut Vec<&'a Tstats>) {
    match &sub.source {
        SubSource::Tstats(ts) => tstats_of(ts, &sub.commands, out),
        SubSource::Inputlookup { filter, .. } => {
            if let Some(f) = filter {
                tstats_in_expr(f, out);
            }
            tstats_in_commands(&sub.commands, out);
        }
    }
}

/// The data model search at the head of the pipeline: `tstats` (groups),
/// or, when `events` is set, Splunk's `| from datamodel:X` or `| datamodel
/// DM OBJECT search|flat` (events, one row each; no aggregates, no `by`;
/// the `filter` is the `| search` that follows, planned on the index).
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
    /// Events instead of groups, and how their fields are named.
    pub events: Option<EventNaming>,
}

/// Field names of an event search: `from datamodel` and `datamodel ...
/// search` qualify the data model's own fields (`Processes.dest`); `datamodel
/// ... flat` does not (`dest`). Inherited fields (`_time`, `host`,
/// `source`, `sourcetype`) are never qualified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventNaming {
    Qualified,
    Flat,
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
    /// `[ | tstats ... ]` or `[ | inputlookup ... ]`: replaced, before the
    /// search runs, by the OR of its result rows (`resolve.rs`).
    Subsearch(Box<Subsearch>),
}

/// A subsearch `[ | source | commands ]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subsearch {
    pub source: SubSource,
    pub commands: Vec<Command>,
    /// From `[` to `]`.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SubSource {
    Tstats(Tstats),
    /// `inputlookup [append=..] [max=N] NAME [where SEARCH]`.
    Inputlookup {
        name: String,
        max: Option<usize>,
        filter: Option<SearchExpr>,
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
    Lookup(Lookup),
    /// `rex [field=F] [max_match=N] [mode=sed] "REGEX"`.
    Rex(Rex),
    /// `stats`, `eventstats`, `streamstats`.
    Stats(Stats),
    /// `makemv [delim=S | tokenizer=RE] [allowempty=B] [setsv=B] FIELD`.
    Makemv {
        field: String,
        split: MvSplit,
        allow_empty: bool,
        setsv: bool,
    },
    /// `mvexpand FIELD [limit=N]`.
    Mvexpand {
        field: String,
        limit: Option<usize>,
    },
    /// `dedup [N] FIELDS [keepempty=B] [consecutive=B] [sortby ...]`.
    Dedup {
        count: usize,
        fields: Vec<String>,
        keep_empty: bool,
        consecutive: bool,
        sort: Vec<SortKey>,
    },
    /// `fillnull [value=V] [FIELDS]` (no fields: every column).
    Fillnull {
        value: String,
        fields: Vec<String>,
    },
    Join(Join),
    Transaction(Transaction),
}

/// `lookup [local=B] [update=B] NAME (FIELD [AS EVENTFIELD])...
/// [OUTPUT|OUTPUTNEW (FIELD [AS EVENTFIELD])...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    pub name: String,
    /// (lookup field, event field).
    pub inputs: Vec<(String, String)>,
    /// (lookup field, event field); empty: every lookup field that is not
    /// an input.
    pub outputs: Vec<(String, String)>,
    /// OUTPUTNEW: only fields the row does not have yet are written.
    pub output_new: bool,
    pub span: Span,
    /// The lookup's definition and rows, once loaded
    /// (`resolve.rs`).
    pub table: Option<std::sync::Arc<crate::lookups::LookupTable>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rex {
    /// `_raw` when not given.
    pub field: String,
    pub pattern: String,
    /// 0 = unlimited.
    pub max_match: usize,
    /// `mode=sed`: the pattern is a sed expression.
    pub sed: bool,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsKind {
    Stats,
    Eventstats,
    Streamstats,
}

/// Aggregate functions of `stats`, `eventstats` and `streamstats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsFunc {
    Count,
    Dc,
    Values,
    List,
    Min,
    Max,
    Sum,
    Avg,
    Stdev,
    Stdevp,
    Var,
    Varp,
    Range,
    Median,
    Mode,
    First,
    Last,
    Earliest,
    Latest,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatsAgg {
    pub func: StatsFunc,
    /// None for a bare `count`.
    pub field: Option<String>,
    /// The `as` alias or Splunk's name (`count`, `dc(user)`).
    pub column: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub kind: StatsKind,
    pub aggs: Vec<StatsAgg>,
    pub by: Vec<String>,
    /// streamstats: include the current row (`current=t`, the default).
    pub current: bool,
    /// streamstats: the last N rows (0 = all).
    pub window: usize,
    /// `stats` whose rows are each a group of their own (they are unique
    /// on some of its by-fields): it gives each row's group as it comes,
    /// and a sort after it orders them. Set by the planner when it knows
    /// the rows unique (`commands/unique_key.rs`), never by the parser.
    pub groups_of_one: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MvSplit {
    /// Split on this string (`delim=`, a space by default).
    Delim(String),
    /// Every match of this regex (its first group when it has one).
    Tokenizer(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// `type=left|outer` keeps main rows with no match.
    pub left: bool,
    /// Matching subsearch rows joined to each row (0 = all; 1 by default).
    pub max: usize,
    /// `overwrite=true` (default): subsearch values replace the row's.
    pub overwrite: bool,
    /// Empty: the fields both sides have.
    pub fields: Vec<String>,
    pub sub: Box<Subsearch>,
    /// The subsearch's result, once run (`resolve.rs`).
    pub resolved: Option<std::sync::Arc<crate::table::Table>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub fields: Vec<String>,
    pub maxspan: Option<i64>,
    pub maxpause: Option<i64>,
    pub maxevents: Option<usize>,
    pub startswith: Option<Expr>,
    pub endswith: Option<Expr>,
    /// Keep every value of a field in event order (`mvlist=true`) instead
    /// of the sorted distinct values.
    pub mvlist: bool,
    /// `keepevicted=true`: also the transactions whose `startswith` or
    /// `endswith` did not match (with `closed_txn=0`).
    pub keep_evicted: bool,
    /// `connected=false`: a row that shares no instantiated field with an
    /// open transaction (and contradicts none) joins it instead of opening
    /// a new one (the default, `true`).
    pub connected: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// `ctime`, `mktime`, `num`, ... lower-cased.
    pub func: String,
    pub field: String,
    pub alias: Option<String>,
}
