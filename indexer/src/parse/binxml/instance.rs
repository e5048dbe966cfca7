//! Template instances: a record's BinXML is (after a fragment header) one
//! TemplateInstance token, the template it fills and its values, each
//! described by size and type. A BinXML value may itself hold one instance
//! (Windows nests EventData that way); those are read too, recursively.
//! Anything else in a value (a general BinXML fragment, arrays, types the
//! fast path does not read) makes the record fall back.

use super::le::{slice, u32_at, u8_at};
use super::template::Templates;
use super::value::{known_type, readable, BIN_XML, NULL};

/// Instances inside instances, the record's own one included.
const MAX_NESTING: usize = 4;
/// Values of one instance (the crate's own sanity cap).
const MAX_VALUES: usize = 4096;
/// Marks a value that holds no nested instance.
pub const NOT_NESTED: u32 = u32::MAX;

/// One substitution value: its type and bytes (a window of the chunk), and
/// the instance it holds when it is nested BinXML.
#[derive(Debug, Clone, Copy)]
pub struct Value {
    pub ty: u8,
    pub start: u32,
    pub len: u16,
    pub nested: u32,
}

impl Value {
    pub fn bytes<'d>(&self, data: &'d [u8]) -> &'d [u8] {
        &data[self.start as usize..self.start as usize + usize::from(self.len)]
    }

    /// NULL, as the crate takes an empty BinXML value to be.
    pub fn is_null(&self) -> bool {
        self.ty == NULL || (self.ty == BIN_XML && self.len == 0)
    }
}

/// A template (index into the chunk's [`Templates`]) and its values.
#[derive(Debug, Clone, Copy)]
pub struct Inst {
    pub template: u32,
    pub first_value: u32,
    pub values: u32,
}

/// The instances and values of one record; instance 0 is the record's.
/// Reused from record to record.
#[derive(Debug, Default)]
pub struct Record {
    pub insts: Vec<Inst>,
    pub values: Vec<Value>,
}

impl Record {
    pub fn clear(&mut self) {
        self.insts.clear();
        self.values.clear();
    }

    pub fn values(&self, inst: u32) -> &[Value] {
        let i = self.insts[inst as usize];
        &self.values[i.first_value as usize..(i.first_value + i.values) as usize]
    }
}

/// Where the TemplateInstance token of a single-instance stream is: after
/// a fragment header or first.
pub fn instance_offset(stream: &[u8]) -> Option<usize> {
    match stream {
        [0x0f, _, _, _, 0x0c, _, ..] => Some(4),
        [0x0c, ..] => Some(0),
        _ => None,
    }
}

/// Whether a stream holds nothing after its instance (which ended at
/// `end`) but an end-of-stream token.
pub fn ends_at(data: &[u8], end: usize, limit: usize) -> bool {
    end == limit || (end < limit && data[end] == 0x00)
}

/// Reads the instance whose token is at `at`, its values (and theirs) kept
/// inside `..limit`. Returns its index in `rec` and where it ends; None
/// when the fast path does not read it.
pub fn read(
    data: &[u8],
    at: usize,
    limit: usize,
    templates: &mut Templates,
    depth: usize,
    rec: &mut Record,
) -> Option<(u32, usize)> {
    if depth >= MAX_NESTING || u8_at(data, at)? != 0x0c {
        return None;
    }
    let definition = u32_at(data, at + 6)?;
    let mut p = at + 10;
    if p == definition as usize {
        // Defined right here: skip the definition.
        let size = u32_at(data, p + 20)? as usize;
        p = p.checked_add(24 + size)?;
    }
    let count = u32_at(data, p)? as usize;
    if count > MAX_VALUES {
        return None;
    }
    let descriptors = slice(data, p + 4, 4 * count)?;
    let mut v = p + 4 + 4 * count;
    let inst = rec.insts.len() as u32;
    let first_value = rec.values.len() as u32;
    rec.insts.push(Inst {
        template: 0,
        first_value,
        values: count as u32,
    });
    for d in descriptors.chunks_exact(4) {
        let (len, ty) = (u16::from_le_bytes([d[0], d[1]]), d[2]);
        let end = v + usize::from(len);
        if end > limit || !known_type(ty) {
            return None;
        }
        if ty != BIN_XML && !readable(ty, &data[v..end]) {
            return None;
        }
        rec.values.push(Value {
            ty,
            start: v as u32,
            len,
            nested: NOT_NESTED,
        });
        v = end;
    }
    let template = templates.get(data, definition)?;
    rec.insts[inst as usize].template = template;
    for i in first_value..first_value + count as u32 {
        let value = rec.values[i as usize];
        if value.ty != BIN_XML || value.len == 0 {
            continue;
        }
        // A nested instance places elements: never in an attribute.
        let slot = (i - first_value) as u16;
        if templates
            .at(template)
            .attr_slots
            .binary_search(&slot)
            .is_ok()
        {
            return None;
        }
        let (start, end) = (
            value.start as usize,
            value.start as usize + usize::from(value.len),
        );
        let off = instance_offset(&data[start..end])?;
        let (nested, stop) = read(data, start + off, end, templates, depth + 1, rec)?;
        if !ends_at(data, stop, end) {
            return None;
        }
        rec.values[i as usize].nested = nested;
    }
    Some((inst, v))
}

/// Upper bounds on the JSON bytes and tree nodes the crate renders for
/// the record (see `MAX_CHUNK_OUTPUT` in the crate): compared per chunk,
/// so that the fast path never counts a record the crate would refuse.
pub fn bounds(rec: &Record, templates: &Templates) -> (usize, usize) {
    let (mut out, mut nodes) = (0usize, 0usize);
    for inst in &rec.insts {
        let t = templates.at(inst.template);
        let values: usize = rec.values[inst.first_value as usize..][..inst.values as usize]
            .iter()
            .map(|v| 64 + 6 * usize::from(v.len))
            .sum();
        out += t.out_bound + t.max_uses * values;
        nodes += 2 * t.nodes * t.max_uses + inst.values as usize;
    }
    (out, nodes)
}
