//! `transaction FIELD [maxpause=..] [maxevents=..]` in SQL, as
//! [`crate::commands::transaction`] makes it for one single-valued field:
//! rows in `_time` order (ties in row order), a row without the field in
//! none; a field's rows form one transaction until the next comes more
//! than `maxpause` after the previous one, or the transaction holds
//! `maxevents` rows. With one field every row has, `connected` changes
//! nothing. Each transaction's row has every column's distinct values in
//! byte order, `_time` of its first row, `duration` and `eventcount`;
//! transactions come newest first, ties in the order they were opened.
//!
//! Window functions give the breaks: a running sum of the pauses longer
//! than `maxpause` numbers a field's stretches, and row numbers within a
//! stretch cut it every `maxevents` rows. Several fields (where a row
//! lacking one joins a transaction it agrees with), `maxspan`,
//! `startswith`/`endswith` and `mvlist=true` are refused.

use super::{refuse, Col, Compiler, Kind, Result};
use crate::spl::ast::Transaction;

pub fn compile(c: &mut Compiler, t: &Transaction) -> Result<()> {
    let span = &t.span;
    let [field] = t.fields.as_slice() else {
        return refuse(
            "transaction over other than one field is not compiled to SQL (a row lacking one field joins the transaction it agrees with)",
            span,
        );
    };
    if t.maxspan.is_some() || t.startswith.is_some() || t.endswith.is_some() || t.mvlist {
        return refuse(
            "transaction with maxspan, startswith, endswith or mvlist=true is not compiled to SQL (one field, maxpause and maxevents are)",
            span,
        );
    }
    let d = c.d;
    let key = match c.col(field) {
        None => d.null_text(),
        Some(col) if col.kind == Kind::Multi => {
            return refuse(
                format!("transaction over the multi-valued `{field}` is not compiled to SQL"),
                span,
            )
        }
        Some(col) => c.text(col),
    };
    // A row's time: the first value of `_time` as a number, else 0.
    let time = match c.col("_time") {
        None => "CAST(0 AS DOUBLE)".to_string(),
        Some(col) => format!(
            "coalesce({}, CAST(0 AS DOUBLE))",
            c.first_num(&col.sql, col.kind)
        ),
    };
    let order = "tx_t, ord";
    // The rows with the field, their time and their place in time order.
    let cols: Vec<String> = c.cols.iter().map(|col| col.sql.clone()).collect();
    let mut list = cols.clone();
    list.push("ord".into());
    c.push_cte(format!(
        "SELECT {}, tx_k, tx_t, row_number() OVER (ORDER BY {order}) AS tx_step FROM (SELECT *, {key} AS tx_k, {time} AS tx_t FROM {}) AS r WHERE tx_k IS NOT NULL",
        list.join(", "),
        c.current()
    ));
    // The stretches: a new one after a pause longer than maxpause.
    let stretch = match t.maxpause {
        None => "0".to_string(),
        Some(p) => format!(
            "sum(CASE WHEN tx_t - tx_prev > {p} THEN 1 ELSE 0 END) OVER (PARTITION BY tx_k ORDER BY {order} ROWS UNBOUNDED PRECEDING)"
        ),
    };
    list.extend(["tx_k", "tx_t", "tx_step"].map(String::from));
    c.push_cte(format!(
        "SELECT {}, {stretch} AS tx_s FROM (SELECT *, lag(tx_t) OVER (PARTITION BY tx_k ORDER BY {order}) AS tx_prev FROM {}) AS p",
        list.join(", "),
        c.current()
    ));
    // The transactions: stretches cut every maxevents rows.
    let part = match t.maxevents {
        None => "0".to_string(),
        Some(m) => d.floor_div(
            &format!("(row_number() OVER (PARTITION BY tx_k, tx_s ORDER BY {order}) - 1)"),
            m.max(1) as i64,
        ),
    };
    list.push("tx_s".into());
    c.push_cte(format!(
        "SELECT {}, CAST({part} AS BIGINT) AS tx_n FROM {}",
        list.join(", "),
        c.current()
    ));
    // One row per transaction.
    let mut out: Vec<(String, Col)> = Vec::new();
    for col in c.cols.clone() {
        let expr = match (col.name.as_str(), col.kind) {
            ("_time", _) => (d.num_text("min(tx_t)"), Kind::Text),
            (_, Kind::Multi) => (d.flat_values_agg(&col.sql), Kind::Multi),
            _ => (d.values_agg(&c.text(&col)), Kind::Multi),
        };
        out.push((
            expr.0,
            Col {
                name: col.name.clone(),
                sql: c.fresh(),
                kind: expr.1,
            },
        ));
    }
    let mut extra = vec![
        ("duration", d.num_text("max(tx_t) - min(tx_t)"), Kind::Text),
        ("eventcount", "count(*)".to_string(), Kind::Int),
    ];
    if t.keep_evicted {
        extra.push(("closed_txn", d.lit("1"), Kind::Text));
    }
    for (name, expr, kind) in extra {
        let col = Col {
            name: name.to_string(),
            sql: c.fresh(),
            kind,
        };
        match out.iter().position(|(_, o)| o.name == name) {
            Some(i) => out[i] = (expr, col),
            None => out.push((expr, col)),
        }
    }
    let from = format!("{} GROUP BY tx_k, tx_s, tx_n", c.current());
    c.stage_from(
        out,
        &from,
        "row_number() OVER (ORDER BY min(tx_t) DESC, min(tx_step))",
    );
    Ok(())
}
