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
