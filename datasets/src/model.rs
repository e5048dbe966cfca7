//! The event model every output renders from: one `Event` value is written as EVTX BinXML,
//! evtx_dump JSON, Winlogbeat ECS and Windows XML, which is what keeps the formats identical.

use std::fmt::Write as _;
use std::sync::Arc;

/// A GUID in its Windows field layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid {
    pub d1: u32,
    pub d2: u16,
    pub d3: u16,
    pub d4: [u8; 8],
}

impl Guid {
    /// Builds a GUID from 128 random bits.
    pub fn from_u128(v: u128) -> Guid {
        let b = v.to_be_bytes();
        Guid {
            d1: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            d2: u16::from_be_bytes([b[4], b[5]]),
            d3: u16::from_be_bytes([b[6], b[7]]),
            d4: [b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]],
        }
    }

    /// Parses `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` (used for the static provider GUIDs).
    pub const fn parse(s: &str) -> Guid {
        let b = s.as_bytes();
        const fn hex(c: u8) -> u128 {
            match c {
                b'0'..=b'9' => (c - b'0') as u128,
                b'a'..=b'f' => (c - b'a' + 10) as u128,
                b'A'..=b'F' => (c - b'A' + 10) as u128,
                _ => 0,
            }
        }
        let mut v: u128 = 0;
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'-' {
                v = (v << 4) | hex(b[i]);
            }
            i += 1;
        }
        let x = v.to_be_bytes();
        Guid {
            d1: u32::from_be_bytes([x[0], x[1], x[2], x[3]]),
            d2: u16::from_be_bytes([x[4], x[5]]),
            d3: u16::from_be_bytes([x[6], x[7]]),
            d4: [x[8], x[9], x[10], x[11], x[12], x[13], x[14], x[15]],
        }
    }

    /// The 16 bytes as stored in BinXML (first three fields little-endian).
    pub fn to_le_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[0..4].copy_from_slice(&self.d1.to_le_bytes());
        out[4..6].copy_from_slice(&self.d2.to_le_bytes());
        out[6..8].copy_from_slice(&self.d3.to_le_bytes());
        out[8..16].copy_from_slice(&self.d4);
        out
    }

    /// Uppercase, no braces: the evtx_dump JSON form (`5770385F-C22A-43E0-BF4C-06F5698FFBD9`).
    pub fn push_plain(&self, out: &mut String) {
        let d = &self.d4;
        let _ = write!(
            out,
            "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
            self.d1, self.d2, self.d3, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
        );
    }

    /// Uppercase in braces: how Windows renders GUIDs in XML and Winlogbeat in ECS.
    pub fn braced(&self) -> String {
        let mut s = String::with_capacity(38);
        s.push('{');
        self.push_plain(&mut s);
        s.push('}');
        s
    }

    /// Uppercase, no braces.
    pub fn plain(&self) -> String {
        let mut s = String::with_capacity(36);
        self.push_plain(&mut s);
        s
    }
}

/// A security identifier (revision 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sid {
    pub authority: u64,
    pub subs: [u32; 6],
    pub count: u8,
}

impl Sid {
    /// A SID `S-1-<authority>-<subs...>` (at most six sub-authorities are kept).
    pub fn new(authority: u64, subs: &[u32]) -> Sid {
        let mut s = [0u32; 6];
        let count = subs.len().min(6);
        s[..count].copy_from_slice(&subs[..count]);
        Sid {
            authority,
            subs: s,
            count: count as u8,
        }
    }

    /// `S-1-5-18`, LocalSystem.
    pub const SYSTEM: Sid = Sid {
        authority: 5,
        subs: [18, 0, 0, 0, 0, 0],
        count: 1,
    };
    /// `S-1-0-0`, the NULL SID Windows writes when there is no target user.
    pub const NULL: Sid = Sid {
        authority: 0,
        subs: [0, 0, 0, 0, 0, 0],
        count: 1,
    };

    /// The binary form: revision, count, 48-bit big-endian authority, LE sub-authorities.
    pub fn push_bytes(&self, out: &mut Vec<u8>) {
        out.push(1);
        out.push(self.count);
        out.extend_from_slice(&self.authority.to_be_bytes()[2..8]);
        for s in &self.subs[..usize::from(self.count)] {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }

    /// Byte length of the binary form.
    pub fn byte_len(&self) -> usize {
        8 + 4 * usize::from(self.count)
    }

    /// `S-1-5-21-...` text.
    pub fn to_text(&self) -> String {
        let mut s = format!("S-1-{}", self.authority);
        for sub in &self.subs[..usize::from(self.count)] {
            let _ = write!(s, "-{sub}");
        }
        s
    }
}

/// A typed EventData or System value. The type decides the BinXML value type and how each
/// output renders it (number vs string, hex, braces), exactly as Windows and evtx do.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// UTF-16 string (`win:UnicodeString`).
    Str(String),
    U8(u8),
    U16(u16),
    U32(u32),
    I32(i32),
    U64(u64),
    Bool(bool),
    Guid(Guid),
    /// FILETIME ticks.
    FileTime(u64),
    Sid(Sid),
    /// `win:HexInt32`, rendered `0x…` lowercase.
    Hex32(u32),
    /// `win:HexInt64`, rendered `0x…` lowercase (4688 process ids, logon ids).
    Hex64(u64),
}

impl Value {
    /// BinXML value type byte.
    pub fn type_code(&self) -> u8 {
        match self {
            Value::Str(_) => 0x01,
            Value::U8(_) => 0x04,
            Value::U16(_) => 0x06,
            Value::I32(_) => 0x07,
            Value::U32(_) => 0x08,
            Value::U64(_) => 0x0a,
            Value::Bool(_) => 0x0d,
            Value::Guid(_) => 0x0f,
            Value::FileTime(_) => 0x11,
            Value::Sid(_) => 0x13,
            Value::Hex32(_) => 0x14,
            Value::Hex64(_) => 0x15,
        }
    }

    /// The text Windows renders for this value in XML (GUIDs braced, SIDs `S-…`, hex `0x…`).
    /// Winlogbeat's `event_data` uses the same strings.
    pub fn windows_text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::U8(v) => v.to_string(),
            Value::U16(v) => v.to_string(),
            Value::U32(v) => v.to_string(),
            Value::I32(v) => v.to_string(),
            Value::U64(v) => v.to_string(),
            Value::Bool(b) => if *b { "true" } else { "false" }.to_string(),
            Value::Guid(g) => g.braced(),
            Value::FileTime(ft) => {
                let mut s = String::new();
                crate::time::push_iso(&mut s, *ft, 9);
                s
            }
            Value::Sid(s) => s.to_text(),
            Value::Hex32(v) => format!("0x{v:x}"),
            Value::Hex64(v) => format!("0x{v:x}"),
        }
    }

    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A provider (source) of events and the channel its events go to.
#[derive(Debug, PartialEq, Eq)]
pub struct Provider {
    pub name: &'static str,
    pub guid: Guid,
    pub channel: &'static str,
    /// File stem used in the output layout (`Sysmon`, `Security`, ...).
    pub file_stem: &'static str,
    /// Stable small number, part of template keys.
    pub index: u8,
}

/// Microsoft-Windows-Sysmon.
pub static SYSMON: Provider = Provider {
    name: "Microsoft-Windows-Sysmon",
    guid: Guid::parse("5770385F-C22A-43E0-BF4C-06F5698FFBD9"),
    channel: "Microsoft-Windows-Sysmon/Operational",
    file_stem: "Sysmon",
    index: 0,
};

/// Microsoft-Windows-Security-Auditing.
pub static SECURITY: Provider = Provider {
    name: "Microsoft-Windows-Security-Auditing",
    guid: Guid::parse("54849625-5478-4994-A5BA-3E3B0328C30D"),
    channel: "Security",
    file_stem: "Security",
    index: 1,
};

/// Microsoft-Windows-PowerShell (script block logging).
pub static POWERSHELL: Provider = Provider {
    name: "Microsoft-Windows-PowerShell",
    guid: Guid::parse("A0C1853B-5C40-4B15-8766-3CF1C58F985A"),
    channel: "Microsoft-Windows-PowerShell/Operational",
    file_stem: "PowerShell-Operational",
    index: 2,
};

/// All providers, in channel order.
pub static PROVIDERS: [&Provider; 3] = [&SYSMON, &SECURITY, &POWERSHELL];

/// One EventData field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub value: Value,
}

/// One Windows event: the System block plus ordered EventData.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub provider: &'static Provider,
    pub event_id: u16,
    pub version: u8,
    pub level: u8,
    pub task: u16,
    pub opcode: u8,
    pub keywords: u64,
    /// `TimeCreated/@SystemTime` as FILETIME ticks; also the record header time.
    pub time: u64,
    pub record_id: u64,
    pub exec_pid: u32,
    pub exec_tid: u32,
    pub computer: Arc<str>,
    /// `Security/@UserID`; `None` renders `<Security/>` (Security-Auditing events).
    pub user_sid: Option<Sid>,
    pub data: Vec<Field>,
}

impl Event {
    /// The value of an EventData field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.data.iter().find(|f| f.name == name).map(|f| &f.value)
    }

    /// The string value of an EventData field (`None` when absent or not a string).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_forms() {
        let g = SYSMON.guid;
        assert_eq!(g.plain(), "5770385F-C22A-43E0-BF4C-06F5698FFBD9");
        assert_eq!(g.braced(), "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}");
        // Bytes as in a real Sysmon record.
        assert_eq!(
            g.to_le_bytes(),
            [
                0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f,
                0xfb, 0xd9
            ]
        );
    }

    #[test]
    fn sid_forms() {
        let mut b = Vec::new();
        Sid::SYSTEM.push_bytes(&mut b);
        assert_eq!(b, [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
        assert_eq!(Sid::SYSTEM.to_text(), "S-1-5-18");
        assert_eq!(
            Sid::new(5, &[21, 1, 2, 3, 500]).to_text(),
            "S-1-5-21-1-2-3-500"
        );
        assert_eq!(Value::Hex64(0xf84).windows_text(), "0xf84");
    }
}
