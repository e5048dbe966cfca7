//! An in-memory result table: what the collector produces and what the
//! post-processing commands (`commands`) and the renderers (`render`) consume.
//! Results are groups, not events, so they are small.

/// One cell. Splunk fields are multi-valued: `values()` yields several
/// values, most fields one; an empty vector is null.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Cell(pub Vec<String>);

impl Cell {
    pub fn null() -> Self {
        Cell(Vec::new())
    }
    pub fn one(s: impl Into<String>) -> Self {
        Cell(vec![s.into()])
    }
    pub fn is_null(&self) -> bool {
        self.0.is_empty()
    }
    /// The first value, as Splunk uses for a scalar context.
    pub fn first(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Keep the rows `keep` says yes to, in order. The others are kept
    /// for reuse ([`take_removed`]), not freed.
    pub fn retain_rows(&mut self, mut keep: impl FnMut(&[Cell]) -> bool) {
        let mut kept = 0;
        for i in 0..self.rows.len() {
            if keep(&self.rows[i]) {
                self.rows.swap(kept, i);
                kept += 1;
            }
        }
        REMOVED.with_borrow_mut(|removed| {
            let room = REMOVED_KEPT.saturating_sub(removed.len());
            removed.extend(self.rows.drain(kept..).take(room));
        });
    }
}

// Rows removed by a filter on this thread ([`Table::retain_rows`]), up to
// REMOVED_KEPT, for the thread that makes rows to fill again. A search's
// rows are made on one thread and filtered on another: freed here, every
// string of a removed row went back to the maker's allocator arena under
// its lock while the maker was allocating, and a `dedup` that kept one
// row in a hundred took twice as long as with the rows reused.
thread_local! {
    static REMOVED: std::cell::RefCell<Vec<Vec<Cell>>> = const { std::cell::RefCell::new(Vec::new()) };
}

const REMOVED_KEPT: usize = 4096;

/// Move the rows removed on this thread into `buf`, to be filled again.
pub fn take_removed(buf: &mut Vec<Vec<Cell>>) {
    REMOVED.with_borrow_mut(|removed| buf.append(removed));
}

/// Free the rows removed on this thread and not taken.
pub fn drop_removed() {
    REMOVED.with_borrow_mut(|removed| *removed = Vec::new());
}

/// Where result rows go as they are made: the header once, then rows in
/// chunks. A large result streams to its output instead of being held
/// whole (`commands::run_chunked` feeds one).
pub trait RowSink {
    /// The columns; called once, before any rows.
    fn begin(&mut self, columns: &[String]) -> std::io::Result<()>;
    /// The next rows, in order (the caller reuses their buffers).
    fn rows(&mut self, rows: &[Vec<Cell>]) -> std::io::Result<()>;
    /// After the last rows.
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A table collects a whole result.
impl RowSink for Table {
    fn begin(&mut self, columns: &[String]) -> std::io::Result<()> {
        self.columns = columns.to_vec();
        Ok(())
    }

    fn rows(&mut self, rows: &[Vec<Cell>]) -> std::io::Result<()> {
        self.rows.extend_from_slice(rows);
        Ok(())
    }
}
