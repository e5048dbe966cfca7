//! BinXML encoding of one EVTX chunk, laid out the way Windows writes it: per record a fragment
//! header and a TemplateInstance of the generic `Event` template whose 18 substitutions hold
//! the System values, the last one a BinXml value with a nested TemplateInstance for EventData.
//! Templates and element names are defined inline at first use in a chunk (names entered in
//! the chunk's 64-bucket string table, templates in its 32-bucket template table) and referenced
//! by chunk offset afterwards.

use crate::model::{Event, Value};
use crate::rng::mix;
use std::collections::HashMap;

/// Chunk size.
pub const CHUNK_SIZE: usize = 65_536;
/// Chunk header size; records start here.
pub const CHUNK_HEADER_SIZE: usize = 512;
const RECORD_HEADER_SIZE: usize = 24;

/// Substitution indices of the Windows `Event` template (as in real Sysmon/Security logs).
mod sub {
    pub const LEVEL: u16 = 0;
    pub const OPCODE: u16 = 1;
    pub const TASK: u16 = 2;
    pub const EVENT_ID: u16 = 3;
    pub const QUALIFIERS: u16 = 4;
    pub const KEYWORDS: u16 = 5;
    pub const TIME_CREATED: u16 = 6;
    pub const ACTIVITY_ID: u16 = 7;
    pub const PROCESS_ID: u16 = 8;
    pub const THREAD_ID: u16 = 9;
    pub const RECORD_ID: u16 = 10;
    pub const VERSION: u16 = 11;
    pub const USER_ID: u16 = 12;
    pub const RELATED_ACTIVITY_ID: u16 = 13;
    pub const PROVIDER_NAME: u16 = 14;
    pub const PROVIDER_GUID: u16 = 15;
    pub const CHANNEL: u16 = 16;
    pub const EVENT_DATA: u16 = 17;
    pub const COUNT: u32 = 18;
}

const T_NULL: u8 = 0x00;
const T_STR: u8 = 0x01;
const T_U8: u8 = 0x04;
const T_U16: u8 = 0x06;
const T_U32: u8 = 0x08;
const T_U64: u8 = 0x0a;
const T_GUID: u8 = 0x0f;
const T_FILETIME: u8 = 0x11;
const T_SID: u8 = 0x13;
const T_HEX64: u8 = 0x15;
const T_BINXML: u8 = 0x21;

const XMLNS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// The record did not fit into the rest of the chunk (nothing was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkFull {
    /// Bytes the record needed.
    pub needed: usize,
}

/// The Windows name hash (`hash * 65599 + unit` over UTF-16 units, low 16 bits).
pub fn name_hash(s: &str) -> u16 {
    let mut h: u32 = 0;
    for u in s.encode_utf16() {
        h = h.wrapping_mul(65_599).wrapping_add(u32::from(u));
    }
    (h & 0xffff) as u16
}

fn push_utf16(buf: &mut Vec<u8>, s: &str) -> usize {
    let start = buf.len();
    if s.is_ascii() {
        buf.reserve(s.len() * 2);
        for &b in s.as_bytes() {
            buf.push(b);
            buf.push(0);
        }
    } else {
        for u in s.encode_utf16() {
            buf.extend_from_slice(&u.to_le_bytes());
        }
    }
    (buf.len() - start) / 2
}

fn put_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Builder for one 64 KiB chunk.
#[derive(Debug)]
pub struct ChunkBuilder {
    buf: Vec<u8>,
    names: HashMap<&'static str, u32>,
    string_buckets: [u32; 64],
    templates: HashMap<u64, u32>,
    template_buckets: [u32; 32],
    first_id: u64,
    last_id: u64,
    last_record_offset: u32,
    records: u32,
    names_added: Vec<&'static str>,
    templates_added: Vec<u64>,
}

impl Default for ChunkBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkBuilder {
    /// An empty chunk.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(CHUNK_SIZE + 4096);
        buf.resize(CHUNK_HEADER_SIZE, 0);
        ChunkBuilder {
            buf,
            names: HashMap::new(),
            string_buckets: [0; 64],
            templates: HashMap::new(),
            template_buckets: [0; 32],
            first_id: 0,
            last_id: 0,
            last_record_offset: 0,
            records: 0,
            names_added: Vec::new(),
            templates_added: Vec::new(),
        }
    }

    /// Resets to an empty chunk, keeping allocations.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.buf.resize(CHUNK_HEADER_SIZE, 0);
        self.names.clear();
        self.string_buckets = [0; 64];
        self.templates.clear();
        self.template_buckets = [0; 32];
        self.records = 0;
        self.first_id = 0;
        self.last_id = 0;
        self.last_record_offset = 0;
    }

    /// Number of records in the chunk.
    pub fn records(&self) -> u32 {
        self.records
    }

    /// Appends one record; on `ChunkFull` the chunk is unchanged.
    pub fn add(&mut self, ev: &Event) -> Result<(), ChunkFull> {
        let start = self.buf.len();
        let strings = self.string_buckets;
        let tbuckets = self.template_buckets;
        self.names_added.clear();
        self.templates_added.clear();
        self.encode_record(ev);
        let end = self.buf.len();
        if end > CHUNK_SIZE {
            self.buf.truncate(start);
            for n in self.names_added.drain(..) {
                self.names.remove(n);
            }
            for t in self.templates_added.drain(..) {
                self.templates.remove(&t);
            }
            self.string_buckets = strings;
            self.template_buckets = tbuckets;
            return Err(ChunkFull {
                needed: end - start,
            });
        }
        if self.records == 0 {
            self.first_id = ev.record_id;
        }
        self.records += 1;
        self.last_id = ev.record_id;
        self.last_record_offset = start as u32;
        Ok(())
    }

    /// Finalises the header (offsets, tables, both CRC32s) and returns the 64 KiB chunk.
    pub fn finish(&mut self) -> &[u8] {
        let free = self.buf.len();
        self.buf.resize(CHUNK_SIZE, 0);
        let b = &mut self.buf;
        b[0..8].copy_from_slice(b"ElfChnk\0");
        b[8..16].copy_from_slice(&self.first_id.to_le_bytes());
        b[16..24].copy_from_slice(&self.last_id.to_le_bytes());
        b[24..32].copy_from_slice(&self.first_id.to_le_bytes());
        b[32..40].copy_from_slice(&self.last_id.to_le_bytes());
        put_u32(b, 40, 128);
        put_u32(b, 44, self.last_record_offset);
        put_u32(b, 48, free as u32);
        let events_crc = crc32fast::hash(&b[CHUNK_HEADER_SIZE..free]);
        put_u32(b, 52, events_crc);
        put_u32(b, 120, 0);
        for (i, &o) in self.string_buckets.iter().enumerate() {
            put_u32(b, 128 + 4 * i, o);
        }
        for (i, &o) in self.template_buckets.iter().enumerate() {
            put_u32(b, 384 + 4 * i, o);
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&b[..120]);
        h.update(&b[128..CHUNK_HEADER_SIZE]);
        let header_crc = h.finalize();
        put_u32(b, 124, header_crc);
        &self.buf
    }

    /// First and last record id in the chunk.
    pub fn id_range(&self) -> (u64, u64) {
        (self.first_id, self.last_id)
    }

    fn pos(&self) -> u32 {
        self.buf.len() as u32
    }

    /// A name reference: the offset, followed by the string-table entry if first use.
    fn name(&mut self, name: &'static str) {
        if let Some(&off) = self.names.get(name) {
            self.buf.extend_from_slice(&off.to_le_bytes());
            return;
        }
        let off = self.pos() + 4;
        self.buf.extend_from_slice(&off.to_le_bytes());
        let hash = name_hash(name);
        let bucket = usize::from(hash) % 64;
        self.buf
            .extend_from_slice(&self.string_buckets[bucket].to_le_bytes());
        self.buf.extend_from_slice(&hash.to_le_bytes());
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        let n = push_utf16(&mut self.buf, name);
        put_u16(&mut self.buf, len_at, n as u16);
        self.buf.extend_from_slice(&[0, 0]);
        self.string_buckets[bucket] = off;
        self.names.insert(name, off);
        self.names_added.push(name);
    }

    /// OpenStartElement (template form, with dependency id). Returns patch positions.
    fn open(&mut self, name: &'static str, dep: u16, attrs: bool) -> (usize, Option<usize>) {
        self.buf.push(if attrs { 0x41 } else { 0x01 });
        self.buf.extend_from_slice(&dep.to_le_bytes());
        let size_at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.name(name);
        let attr_at = attrs.then(|| {
            let at = self.buf.len();
            self.buf.extend_from_slice(&[0; 4]);
            at
        });
        (size_at, attr_at)
    }

    fn patch_from(&mut self, at: usize) {
        let v = (self.buf.len() - at - 4) as u32;
        put_u32(&mut self.buf, at, v);
    }

    fn attr(&mut self, name: &'static str, more: bool) {
        self.buf.push(if more { 0x46 } else { 0x06 });
        self.name(name);
    }

    fn text(&mut self, s: &str) {
        self.buf.push(0x05);
        self.buf.push(T_STR);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        let n = push_utf16(&mut self.buf, s);
        put_u16(&mut self.buf, at, n as u16);
    }

    fn subst(&mut self, idx: u16, ty: u8, optional: bool) {
        self.buf.push(if optional { 0x0e } else { 0x0d });
        self.buf.extend_from_slice(&idx.to_le_bytes());
        self.buf.push(ty);
    }

    /// `<name>%sub%</name>`, dependent on the substitution.
    fn simple(&mut self, name: &'static str, idx: u16, ty: u8) {
        let (size_at, _) = self.open(name, idx, false);
        self.buf.push(0x02);
        self.subst(idx, ty, true);
        self.buf.push(0x04);
        self.patch_from(size_at);
    }

    /// Element with only attributes: `<name a='%x%' b='%y%'/>`.
    fn empty_with_attrs(&mut self, name: &'static str, attrs: &[(&'static str, u16, u8)]) {
        let (size_at, attr_at) = self.open(name, 0xffff, true);
        for (i, &(a, idx, ty)) in attrs.iter().enumerate() {
            self.attr(a, i + 1 < attrs.len());
            self.subst(idx, ty, true);
        }
        if let Some(at) = attr_at {
            self.patch_from(at);
        }
        self.buf.push(0x03);
        self.patch_from(size_at);
    }

    /// Starts a template definition at the current position; returns (data-size field pos).
    fn template_header(&mut self, key: u64, guid_seed: u64) -> usize {
        let guid = crate::model::Guid::from_u128(
            (u128::from(mix(guid_seed)) << 64) | u128::from(mix(guid_seed ^ 0x5555)),
        );
        let off = self.pos();
        let bucket = (guid.d1 % 32) as usize;
        self.buf
            .extend_from_slice(&self.template_buckets[bucket].to_le_bytes());
        self.buf.extend_from_slice(&guid.to_le_bytes());
        let size_at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.template_buckets[bucket] = off;
        self.templates.insert(key, off);
        self.templates_added.push(key);
        size_at
    }

    /// TemplateInstance token + template reference; defines the template inline if needed.
    fn instance(&mut self, key: u64, guid_seed: u64, define: impl FnOnce(&mut Self)) {
        self.buf.push(0x0c);
        self.buf.push(0x01);
        let guid_d1 = (mix(guid_seed) >> 32) as u32;
        self.buf.extend_from_slice(&guid_d1.to_le_bytes());
        match self.templates.get(&key) {
            Some(&off) => self.buf.extend_from_slice(&off.to_le_bytes()),
            None => {
                let off = self.pos() + 4;
                self.buf.extend_from_slice(&off.to_le_bytes());
                let size_at = self.template_header(key, guid_seed);
                let body_start = self.buf.len();
                self.buf.extend_from_slice(&[0x0f, 0x01, 0x01, 0x00]);
                define(self);
                self.buf.push(0x00);
                let len = (self.buf.len() - body_start) as u32;
                put_u32(&mut self.buf, size_at, len);
            }
        }
    }

    fn define_system(&mut self, computer: &str) {
        let (ev_size, ev_attr) = self.open("Event", 0xffff, true);
        self.attr("xmlns", false);
        self.text(XMLNS);
        if let Some(at) = ev_attr {
            self.patch_from(at);
        }
        self.buf.push(0x02);
        let (sys_size, _) = self.open("System", 0xffff, false);
        self.buf.push(0x02);
        self.empty_with_attrs(
            "Provider",
            &[
                ("Name", sub::PROVIDER_NAME, T_STR),
                ("Guid", sub::PROVIDER_GUID, T_GUID),
            ],
        );
        // <EventID Qualifiers='%4%'>%3%</EventID>
        let (eid_size, eid_attr) = self.open("EventID", 0xffff, true);
        self.attr("Qualifiers", false);
        self.subst(sub::QUALIFIERS, T_U16, true);
        if let Some(at) = eid_attr {
            self.patch_from(at);
        }
        self.buf.push(0x02);
        self.subst(sub::EVENT_ID, T_U16, true);
        self.buf.push(0x04);
        self.patch_from(eid_size);
        self.simple("Version", sub::VERSION, T_U8);
        self.simple("Level", sub::LEVEL, T_U8);
        self.simple("Task", sub::TASK, T_U16);
        self.simple("Opcode", sub::OPCODE, T_U8);
        self.simple("Keywords", sub::KEYWORDS, T_HEX64);
        self.empty_with_attrs(
            "TimeCreated",
            &[("SystemTime", sub::TIME_CREATED, T_FILETIME)],
        );
        self.simple("EventRecordID", sub::RECORD_ID, T_U64);
        self.empty_with_attrs(
            "Correlation",
            &[
                ("ActivityID", sub::ACTIVITY_ID, T_GUID),
                ("RelatedActivityID", sub::RELATED_ACTIVITY_ID, T_GUID),
            ],
        );
        self.empty_with_attrs(
            "Execution",
            &[
                ("ProcessID", sub::PROCESS_ID, T_U32),
                ("ThreadID", sub::THREAD_ID, T_U32),
            ],
        );
        self.simple("Channel", sub::CHANNEL, T_STR);
        // Windows writes the computer name as literal text in the template.
        let (c_size, _) = self.open("Computer", 0xffff, false);
        self.buf.push(0x02);
        self.text(computer);
        self.buf.push(0x04);
        self.patch_from(c_size);
        self.empty_with_attrs("Security", &[("UserID", sub::USER_ID, T_SID)]);
        self.buf.push(0x04); // </System>
        self.patch_from(sys_size);
        self.subst(sub::EVENT_DATA, T_BINXML, true);
        self.buf.push(0x04); // </Event>
        self.patch_from(ev_size);
    }

    fn define_event_data(&mut self, ev: &Event) {
        let (ed_size, _) = self.open("EventData", 0xffff, false);
        self.buf.push(0x02);
        for (i, f) in ev.data.iter().enumerate() {
            let (d_size, d_attr) = self.open("Data", 0xffff, true);
            self.attr("Name", false);
            self.text(f.name);
            if let Some(at) = d_attr {
                self.patch_from(at);
            }
            self.buf.push(0x02);
            self.subst(i as u16, f.value.type_code(), false);
            self.buf.push(0x04);
            self.patch_from(d_size);
        }
        self.buf.push(0x04);
        self.patch_from(ed_size);
    }

    /// Descriptor array + values: `values` yields (type, writer) pairs in index order.
    fn write_value(&mut self, v: &Value, nul_terminated: bool) {
        match v {
            Value::Str(s) => {
                push_utf16(&mut self.buf, s);
                if nul_terminated {
                    self.buf.extend_from_slice(&[0, 0]);
                }
            }
            Value::U8(x) => self.buf.push(*x),
            Value::U16(x) => self.buf.extend_from_slice(&x.to_le_bytes()),
            Value::U32(x) | Value::Hex32(x) => self.buf.extend_from_slice(&x.to_le_bytes()),
            Value::I32(x) => self.buf.extend_from_slice(&x.to_le_bytes()),
            Value::U64(x) | Value::Hex64(x) | Value::FileTime(x) => {
                self.buf.extend_from_slice(&x.to_le_bytes())
            }
            Value::Bool(b) => self.buf.extend_from_slice(&u32::from(*b).to_le_bytes()),
            Value::Guid(g) => self.buf.extend_from_slice(&g.to_le_bytes()),
            Value::Sid(s) => s.push_bytes(&mut self.buf),
        }
    }

    fn encode_event_data(&mut self, ev: &Event) {
        // Key: provider, event id and the field layout (names are static, types vary).
        let mut key = mix(u64::from(ev.provider.index) << 16 | u64::from(ev.event_id));
        let mut content = key;
        for f in &ev.data {
            key = mix(key ^ (f.name.as_ptr() as u64) ^ (u64::from(f.value.type_code()) << 56));
            for b in f.name.bytes() {
                content = mix(content ^ u64::from(b));
            }
            content = mix(content ^ u64::from(f.value.type_code()));
        }
        self.buf.extend_from_slice(&[0x0f, 0x01, 0x01, 0x00]);
        self.instance(key, content, |c| c.define_event_data(ev));
        let n = ev.data.len();
        self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        let desc_at = self.buf.len();
        self.buf.resize(desc_at + 4 * n, 0);
        for (i, f) in ev.data.iter().enumerate() {
            let before = self.buf.len();
            self.write_value(&f.value, true);
            let size = (self.buf.len() - before).min(0xffff) as u16;
            let d = desc_at + 4 * i;
            put_u16(&mut self.buf, d, size);
            self.buf[d + 2] = f.value.type_code();
        }
    }

    fn encode_record(&mut self, ev: &Event) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0x2a, 0x2a, 0, 0, 0, 0, 0, 0]);
        self.buf.extend_from_slice(&ev.record_id.to_le_bytes());
        self.buf.extend_from_slice(&ev.time.to_le_bytes());
        self.buf.extend_from_slice(&[0x0f, 0x01, 0x01, 0x00]);
        let computer = ev.computer.clone();
        let key = 0xE0E0_0000_0000_0000 | u64::from(ev.provider.index);
        let mut guid_seed = mix(u64::from(ev.provider.index) ^ 0xE0E0);
        for b in computer.bytes() {
            guid_seed = mix(guid_seed ^ u64::from(b));
        }
        self.instance(key, guid_seed, |c| c.define_system(&computer));
        self.buf.extend_from_slice(&sub::COUNT.to_le_bytes());
        let desc_at = self.buf.len();
        self.buf.resize(desc_at + 4 * sub::COUNT as usize, 0);
        let set = |buf: &mut Vec<u8>, idx: u16, size: usize, ty: u8| {
            let d = desc_at + 4 * usize::from(idx);
            put_u16(buf, d, size.min(0xffff) as u16);
            buf[d + 2] = ty;
        };
        // Values in index order.
        self.buf.push(ev.level);
        set(&mut self.buf, sub::LEVEL, 1, T_U8);
        self.buf.push(ev.opcode);
        set(&mut self.buf, sub::OPCODE, 1, T_U8);
        self.buf.extend_from_slice(&ev.task.to_le_bytes());
        set(&mut self.buf, sub::TASK, 2, T_U16);
        self.buf.extend_from_slice(&ev.event_id.to_le_bytes());
        set(&mut self.buf, sub::EVENT_ID, 2, T_U16);
        set(&mut self.buf, sub::QUALIFIERS, 0, T_NULL);
        self.buf.extend_from_slice(&ev.keywords.to_le_bytes());
        set(&mut self.buf, sub::KEYWORDS, 8, T_HEX64);
        self.buf.extend_from_slice(&ev.time.to_le_bytes());
        set(&mut self.buf, sub::TIME_CREATED, 8, T_FILETIME);
        set(&mut self.buf, sub::ACTIVITY_ID, 0, T_NULL);
        self.buf.extend_from_slice(&ev.exec_pid.to_le_bytes());
        set(&mut self.buf, sub::PROCESS_ID, 4, T_U32);
        self.buf.extend_from_slice(&ev.exec_tid.to_le_bytes());
        set(&mut self.buf, sub::THREAD_ID, 4, T_U32);
        self.buf.extend_from_slice(&ev.record_id.to_le_bytes());
        set(&mut self.buf, sub::RECORD_ID, 8, T_U64);
        self.buf.push(ev.version);
        set(&mut self.buf, sub::VERSION, 1, T_U8);
        match &ev.user_sid {
            Some(sid) => {
                sid.push_bytes(&mut self.buf);
                set(&mut self.buf, sub::USER_ID, sid.byte_len(), T_SID);
            }
            None => set(&mut self.buf, sub::USER_ID, 0, T_NULL),
        }
        set(&mut self.buf, sub::RELATED_ACTIVITY_ID, 0, T_NULL);
        let n = push_utf16(&mut self.buf, ev.provider.name);
        set(&mut self.buf, sub::PROVIDER_NAME, 2 * n, T_STR);
        self.buf.extend_from_slice(&ev.provider.guid.to_le_bytes());
        set(&mut self.buf, sub::PROVIDER_GUID, 16, T_GUID);
        let n = push_utf16(&mut self.buf, ev.provider.channel);
        set(&mut self.buf, sub::CHANNEL, 2 * n, T_STR);
        let before = self.buf.len();
        self.encode_event_data(ev);
        let size = self.buf.len() - before;
        set(&mut self.buf, sub::EVENT_DATA, size, T_BINXML);
        // Pad to 8 bytes like Windows, then the trailing size copy.
        while !(self.buf.len() - start + 4).is_multiple_of(8) {
            self.buf.push(0);
        }
        let total = (self.buf.len() - start + 4) as u32;
        self.buf.extend_from_slice(&total.to_le_bytes());
        put_u32(&mut self.buf, start + 4, total);
        debug_assert!(self.buf.len() - start >= RECORD_HEADER_SIZE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_hash_matches_windows() {
        // Hashes seen in a real Sysmon chunk: "Event" -> 0x0cba, "System" -> 0x546f.
        assert_eq!(name_hash("Event"), 0x0cba);
        assert_eq!(name_hash("System"), 0x546f);
        assert_eq!(name_hash("Data"), 0x6f8a);
    }
}
