//! One Parquet row, and the arrow schema and record batches of many. The
//! columns, in order: `_time`, the CIM fields (`CIM_FIELDS` order), then
//! the provenance columns, named as in the index (`evidx_schema::layout`).

use std::sync::{Arc, LazyLock};

use arrow_array::builder::{Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use evidx_schema::layout::{
    CHANNEL, CHUNK, EVENT_CODE, OFFSET, RECORD_ID, SOURCETYPE, SOURCE_FILE, TIME,
};
use evidx_schema::{Cim, CIM_FIELDS, N_CIM};

use crate::document::Provenance;
use crate::event::{Origin, RawEvent};
use crate::normalize::ProcessRow;

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// One normalized event with its provenance: what its document holds, with
/// every value whole (never the index's cut fast-column value).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `_time`, microseconds since the epoch.
    pub time: Option<i64>,
    pub values: [Option<String>; N_CIM],
    pub source: String,
    pub sourcetype: &'static str,
    pub record_id: Option<u64>,
    pub chunk: Option<u64>,
    pub offset: u64,
    pub event_code: u32,
    pub channel: String,
}

impl Row {
    pub fn new(ev: &RawEvent, row: ProcessRow, origin: &Origin, prov: &Provenance) -> Row {
        Row {
            time: row.time,
            values: row.values,
            source: prov.source.clone(),
            sourcetype: prov.sourcetype,
            record_id: ev.record_id,
            chunk: origin.chunk,
            offset: origin.offset,
            event_code: row.event_code,
            channel: ev.channel.clone(),
        }
    }

    /// The UTC day of `_time` (days since the epoch): its partition.
    pub fn day(&self) -> Option<i64> {
        self.time.map(|t| t.div_euclid(DAY_MICROS))
    }

    pub fn dest(&self) -> Option<&str> {
        self.values[Cim::Dest.index()].as_deref()
    }

    /// Roughly the memory the row holds, for the buffer's budget.
    pub fn bytes(&self) -> usize {
        let text: usize = self.values.iter().flatten().map(String::len).sum();
        std::mem::size_of::<Row>() + text + self.source.len() + self.channel.len()
    }
}

/// The arrow schema of the rows (all columns nullable).
pub fn schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let int = |name: &str| Field::new(name, DataType::Int64, true);
        let time = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let mut fields = vec![Field::new(TIME, time, true)];
        fields.extend(CIM_FIELDS.iter().map(|f| text(f)));
        fields.extend([
            text(SOURCE_FILE),
            text(SOURCETYPE),
            int(RECORD_ID),
            int(CHUNK),
            int(OFFSET),
            int(EVENT_CODE),
            text(CHANNEL),
        ]);
        Arc::new(Schema::new(fields))
    });
    SCHEMA.clone()
}

/// The column index of `dest` (the first sort column) and `_time`.
pub const DEST_COLUMN: usize = 1 + Cim::Dest.index();
pub const TIME_COLUMN: usize = 0;

/// `rows` as one record batch of [`schema`].
pub fn batch(rows: &[Row]) -> Result<RecordBatch, ArrowError> {
    let n = rows.len();
    let mut time = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut cim: Vec<StringBuilder> = (0..N_CIM).map(|_| StringBuilder::new()).collect();
    let mut source = StringBuilder::new();
    let mut sourcetype = StringBuilder::new();
    let mut channel = StringBuilder::new();
    let mut ints: [Int64Builder; 4] = std::array::from_fn(|_| Int64Builder::with_capacity(n));
    // Provenance numbers are below 2^63 (offsets, counts, record ids).
    let int = |v: u64| i64::try_from(v).ok();
    for r in rows {
        time.append_option(r.time);
        for (b, v) in cim.iter_mut().zip(&r.values) {
            b.append_option(v.as_deref());
        }
        source.append_value(&r.source);
        sourcetype.append_value(r.sourcetype);
        ints[0].append_option(r.record_id.and_then(int));
        ints[1].append_option(r.chunk.and_then(int));
        ints[2].append_option(int(r.offset));
        ints[3].append_value(i64::from(r.event_code));
        channel.append_value(&r.channel);
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(time.finish())];
    columns.extend(cim.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(source.finish()));
    columns.push(Arc::new(sourcetype.finish()));
    columns.extend(ints.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(channel.finish()));
    RecordBatch::try_new(schema(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMicrosecondType};
    use arrow_array::Array;

    #[test]
    fn a_batch_holds_the_rows_in_schema_order() {
        let mut values: [Option<String>; N_CIM] = Default::default();
        values[Cim::Dest.index()] = Some("WS1".into());
        values[Cim::Process.index()] = Some("x".repeat(70_000));
        let row = Row {
            time: Some(-1),
            values,
            source: "a.evtx".into(),
            sourcetype: "evtx",
            record_id: Some(7),
            chunk: None,
            offset: 4096,
            event_code: 4688,
            channel: "Security".into(),
        };
        assert_eq!(row.day(), Some(-1), "1969-12-31");
        let b = batch(&[row.clone(), Row { time: None, ..row }]).unwrap();
        assert_eq!(b.num_columns(), 1 + N_CIM + 7);
        assert_eq!(b.schema().field(DEST_COLUMN).name(), "dest");
        let t = b.column(0).as_primitive::<TimestampMicrosecondType>();
        assert_eq!((t.value(0), t.is_null(1)), (-1, true));
        let process = b.column(1 + Cim::Process.index()).as_string::<i32>();
        assert_eq!(process.value(0).len(), 70_000);
        assert!(b.column(1 + Cim::User.index()).is_null(0));
        let chunk = b.column(1 + N_CIM + 3).as_primitive::<Int64Type>();
        assert!(chunk.is_null(0));
        let code = b.column(1 + N_CIM + 5).as_primitive::<Int64Type>();
        assert_eq!(code.value(1), 4688);
    }
}
