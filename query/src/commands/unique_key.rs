//! Which columns are a key of the table (no two rows hold the same values
//! in all of them), command by command, and what that buys.
//!
//! `tstats` gives one row per group: its by-fields are a key. A `stats` by
//! a superset of a key meets each group in one row, so it need not hold
//! its groups (hundreds of thousands of command lines, spilled to disk and
//! merged back): each row gives its group's row as it comes
//! ([`Stats::groups_of_one`]), and a sort puts them in the `stats` order.
//! The sort waits past the commands after it that look at one row at a
//! time and leave the by-fields alone (`where`, `search`, `eval` of other
//! fields...), so it sorts what is left of the rows, not all of them:
//!
//! ```text
//! | tstats ... by user dest process | eventstats avg(len) by dest
//! | stats max(len) as max values(avg) as avg by dest user process
//! | where max > avg
//! ```
//!
//! groups its rows one by one and sorts only those the `where` keeps.
//!
//! A command whose effect on the columns is not known ends the tracking:
//! no later `stats` is changed.

use std::borrow::Cow;

use super::columns::reshape;
use super::sort::GROUP_ORDER;
use super::stats::Layout;
use crate::spl::ast::{Command, SortKey, Stats, StatsKind};
use crate::table::{Cell, Table};

/// `cmds`, over a table of `columns` on which `key` is a key (empty: none
/// known), with each `stats` by a superset of a key made to give its
/// groups of one row, and the sort that orders them placed after the
/// row-at-a-time commands that follow it.
pub fn plan<'c>(columns: &[String], key: &[String], cmds: &'c [Command]) -> Cow<'c, [Command]> {
    let mut table = Columns {
        columns: columns.to_vec(),
        key: Some(key.to_vec()).filter(|k| !k.is_empty() && is_key(columns, k)),
    };
    let mut marked = Vec::new();
    for (i, cmd) in cmds.iter().enumerate() {
        if table.key.is_none() {
            break;
        }
        if let Command::Stats(st) = cmd {
            if table.groups_of_one(st) {
                marked.push(i);
            }
        }
        table.after(cmd);
    }
    if marked.is_empty() {
        return Cow::Borrowed(cmds);
    }
    let mut out = Vec::with_capacity(cmds.len() + marked.len());
    // The by-fields of a marked `stats` whose sort is still to come.
    let mut pending: Option<&[String]> = None;
    for (i, cmd) in cmds.iter().enumerate() {
        if let Some(by) = pending.take_if(|by| !passes_sort(cmd, by)) {
            out.push(sort_into_stats_order(by));
        }
        match cmd {
            Command::Stats(st) if marked.contains(&i) => {
                out.push(Command::Stats(Stats {
                    groups_of_one: true,
                    ..st.clone()
                }));
                pending = Some(&st.by);
            }
            cmd => out.push(cmd.clone()),
        }
    }
    if let Some(by) = pending {
        out.push(sort_into_stats_order(by));
    }
    Cow::Owned(out)
}

/// Whether the sort into `stats` order (by `by`) may wait past `cmd`: it
/// looks at one row at a time, keeps or drops rows without reordering
/// them, and writes no by-field.
fn passes_sort(cmd: &Command, by: &[String]) -> bool {
    let writes_by = |name: &String| by.contains(name);
    match cmd {
        Command::Where(_) | Command::Search(_) | Command::Regex { .. } => true,
        Command::Eval(assigns) => !assigns.iter().any(|(name, _)| writes_by(name)),
        Command::Convert { conversions, .. } => !conversions
            .iter()
            .any(|c| writes_by(c.alias.as_ref().unwrap_or(&c.field))),
        _ => false,
    }
}

/// The order of a `stats`'s groups, as an unlimited `sort`: field by
/// field, numbers (by value) before text, equal numbers by their text.
fn sort_into_stats_order(by: &[String]) -> Command {
    let keys = by.iter().map(|field| SortKey {
        field: field.clone(),
        descending: false,
        kind: Some(GROUP_ORDER.to_string()),
    });
    Command::Sort {
        limit: Some(0),
        keys: keys.collect(),
    }
}

/// Whether an aggregate of `st` is named like one of its by-fields.
fn renames_a_by_field(st: &Stats) -> bool {
    st.aggs.iter().any(|a| st.by.contains(&a.column))
}

/// Each name of `key` is one column of `columns`.
fn is_key(columns: &[String], key: &[String]) -> bool {
    key.iter()
        .all(|k| columns.iter().filter(|c| *c == k).count() == 1)
}

/// What is known of the table between commands: its columns, and a key.
struct Columns {
    columns: Vec<String>,
    key: Option<Vec<String>>,
}

impl Columns {
    /// Whether `st` meets one row per group: a `stats` by every column of
    /// the key (and maybe more), none of its by-fields replaced by an
    /// aggregate of the same name (the sort would find the aggregate).
    fn groups_of_one(&self, st: &Stats) -> bool {
        let Some(key) = &self.key else { return false };
        st.kind == StatsKind::Stats
            && !st.by.is_empty()
            && !renames_a_by_field(st)
            && key.iter().all(|k| st.by.contains(k))
    }

    /// Follow the columns and the key through `cmd`.
    fn after(&mut self, cmd: &Command) {
        let written: Vec<&String> = match cmd {
            Command::Where(_)
            | Command::Search(_)
            | Command::Regex { .. }
            | Command::Head(_)
            | Command::Sort { .. }
            | Command::Dedup { .. } => Vec::new(),
            Command::Eval(assigns) => assigns.iter().map(|(name, _)| name).collect(),
            Command::Convert { conversions, .. } => conversions
                .iter()
                .map(|c| c.alias.as_ref().unwrap_or(&c.field))
                .collect(),
            Command::Stats(st) if st.kind != StatsKind::Stats => {
                st.aggs.iter().map(|a| &a.column).collect()
            }
            Command::Stats(st) => {
                let columns = Layout::of(st).columns;
                // Its by-fields are a key of what it gives, unless an
                // aggregate took one's name.
                let key = !st.by.is_empty() && !renames_a_by_field(st) && is_key(&columns, &st.by);
                self.key = key.then(|| st.by.clone());
                self.columns = columns;
                return;
            }
            Command::Rename(_) | Command::Table(_) | Command::Fields { .. } => {
                self.reshaped(cmd);
                return;
            }
            _ => {
                self.key = None;
                return;
            }
        };
        let key = self.key.as_deref().unwrap_or_default();
        if written.iter().any(|w| key.contains(w)) {
            self.key = None;
        }
        for w in written {
            if !self.columns.contains(w) {
                self.columns.push(w.clone());
            }
        }
    }

    /// Follow a command that moves, renames or drops columns: it runs on
    /// one row whose cells name their columns, and each key column is
    /// found again by its cell.
    fn reshaped(&mut self, cmd: &Command) {
        let mut probe = Table {
            columns: self.columns.clone(),
            rows: vec![(0..self.columns.len())
                .map(|i| Cell::one(i.to_string()))
                .collect()],
        };
        if !reshape(&mut probe, cmd) || probe.rows.len() != 1 {
            self.key = None;
            return;
        }
        let cells = &probe.rows[0];
        let moved = |name: &String| {
            let i = self.columns.iter().position(|c| c == name)?;
            let at = cells.iter().position(|c| c.0 == [i.to_string()])?;
            probe.columns.get(at).cloned()
        };
        self.key = (self.key.as_ref())
            .and_then(|key| key.iter().map(moved).collect::<Option<Vec<String>>>())
            .filter(|key| is_key(&probe.columns, key));
        self.columns = probe.columns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::apply_all;
    use crate::spl::parser::parse_pipeline;

    fn commands(spl: &str) -> Vec<Command> {
        let spl = format!("| tstats count from datamodel=Endpoint.Processes {spl}");
        parse_pipeline(&spl).unwrap().commands
    }

    fn marked(cmds: &[Command]) -> Vec<bool> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Stats(st) if st.kind == StatsKind::Stats => Some(st.groups_of_one),
                _ => None,
            })
            .collect()
    }

    /// A table unique on (a, b), with numbers written two ways, a value
    /// that is null and one with two values.
    fn table() -> Table {
        let cell = |v: &str| match v {
            "" => Cell::null(),
            v => Cell(v.split('|').map(str::to_string).collect()),
        };
        let rows = [
            ["x", "1", "5", "p|q"],
            ["x", "1.0", "7", "r"],
            ["y", "01", "3", ""],
            ["x", "b", "9", "s"],
            ["x", "", "2", "t"],
            ["y", "a", "12", "u"],
            ["10", "a", "1", "v"],
            ["9", "a", "4", "w"],
        ];
        Table {
            columns: ["Processes.a", "Processes.b", "n", "v"]
                .map(String::from)
                .to_vec(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| cell(v)).collect())
                .collect(),
        }
    }

    /// Planned or not, the commands give the same table; `expect` says
    /// which of their `stats` go row by row.
    fn check(spl: &str, expect: &[bool]) {
        let cmds = commands(spl);
        let input = table();
        let key = ["Processes.a".to_string(), "Processes.b".to_string()];
        let planned = plan(&input.columns, &key, &cmds);
        assert_eq!(marked(&planned), expect, "{spl}");
        let (mut want, mut got) = (input.clone(), input);
        apply_all(&mut want, &cmds).unwrap();
        apply_all(&mut got, &planned).unwrap();
        assert!(want.rows.len() > 1, "{spl}: {want:?}");
        assert_eq!(got, want, "{spl}");
    }

    #[test]
    fn a_stats_by_a_key_gives_the_table_of_its_groups() {
        let rename = "| rename Processes.* as *";
        check(
            &format!("{rename} | eval len=len(v) | stats max(n) as m values(v) as vs count by b a | eval t=m*2 | where t > 4"),
            &[true],
        );
        check(
            &format!("{rename} | eventstats avg(n) as avg by a | stats max(n) as m values(avg) as avg by a, b, v | where m > avg - 100"),
            &[true],
        );
        // The sort stops before a command that reorders or writes a by-field.
        check(
            &format!("{rename} | stats sum(n) as s by a b | head 3"),
            &[true],
        );
        check(
            &format!("{rename} | stats sum(n) as s by a b | eval a=s"),
            &[true],
        );
        // The key is then the stats' by-fields.
        check(
            &format!("{rename} | stats sum(n) as s by a b | stats count by b a | stats count by a"),
            &[true, true, false],
        );
        // Not a key: a by-field missing, written, or renamed over.
        check(&format!("{rename} | stats sum(n) as s by a"), &[false]);
        check(
            &format!("{rename} | eval b=n | stats sum(n) as s by a b"),
            &[false],
        );
        check(
            "| rename n as Processes.b | stats sum(n) as s by Processes.a Processes.b",
            &[false],
        );
        check(
            &format!("{rename} | mvexpand v | stats count by a b v"),
            &[false],
        );
        // An aggregate named like a by-field: not marked, and no key after.
        check(
            &format!("{rename} | stats count as a sum(n) as s by a b"),
            &[false],
        );
        check(
            &format!("{rename} | stats count as b by a b | stats sum(n) as t count as c by a b"),
            &[false, false],
        );
        // Kept through moves of columns.
        check(
            &format!("{rename} | table b a n | fields - n | stats count by a b"),
            &[true],
        );
    }

    /// Streamed in chunks, through `eventstats`'s two passes and the sort
    /// the plan adds, 20,000 rows unique on their first two columns give
    /// the table `stats` gives over all of them.
    #[test]
    fn streamed_groups_of_one_give_the_whole_tables_answer() {
        use crate::commands::run_chunked;
        let rows: Vec<Vec<Cell>> = (0..20_000u64)
            .map(|i| {
                let host = format!("host-{}", (i * 7919) % 37);
                let line = format!("{} {}", "x".repeat((i % 500) as usize), i % 4000);
                [host, line, (i % 300).to_string(), (i / 5000).to_string()]
                    .map(Cell::one)
                    .to_vec()
            })
            .collect();
        let input = Table {
            columns: ["Processes.dest", "Processes.process", "n", "g"]
                .map(String::from)
                .to_vec(),
            rows,
        };
        let key = &input.columns[..2];
        for text in [
            "| rename Processes.* as * | eval len=len(process) | eventstats stdev(len) as sd avg(len) as avg by dest | stats max(len) as m values(sd) as sd values(avg) as avg by dest, g, process | eval t=3 | where m > t*sd/4 + avg",
            "| stats count sum(n) as s by Processes.process Processes.dest | where s > 150",
            "| stats count by Processes.process Processes.dest",
        ] {
            let commands = commands(text);
            assert!(marked(&plan(&input.columns, key, &commands)).contains(&true));
            let mut whole = input.clone();
            apply_all(&mut whole, &commands).unwrap();
            assert!(whole.rows.len() > 100, "{text}: {} rows", whole.rows.len());
            for size in [1000, 4096] {
                let fill = crate::commands::columns::testutil::chunks_of(&input.rows, size);
                let mut got = Table::default();
                run_chunked(input.columns.clone(), key, fill, &commands, &mut got).unwrap();
                assert_eq!(got.columns, whole.columns, "{text}");
                assert!(got.rows == whole.rows, "{text}, chunks of {size}");
            }
        }
    }
}
