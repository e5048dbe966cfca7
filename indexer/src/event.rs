//! The format-neutral event that every parser produces and the normalizer
//! consumes. It carries only what CIM normalization and provenance need, as
//! text exactly as the source wrote it (XML entities decoded).

/// Where an event came from, for provenance columns and error messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// Byte offset of the record or line inside the (decompressed) stream.
    pub offset: u64,
    /// 1-based line number for line-oriented formats.
    pub line: Option<u64>,
    /// EVTX chunk number.
    pub chunk: Option<u64>,
}

/// One Windows event, whatever format it came in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawEvent {
    pub provider: String,
    pub event_id: u32,
    pub channel: String,
    pub computer: String,
    pub record_id: Option<u64>,
    /// `System/TimeCreated/@SystemTime` in microseconds since the Unix epoch.
    pub time_created: Option<i64>,
    /// `System/Keywords` as the source wrote it (`0x8020000000000000`, a
    /// signed decimal from NXLog, or ECS keyword names).
    pub keywords: Option<String>,
    /// `System/Security/@UserID` (a SID).
    pub user_sid: Option<String>,
    /// EventData (or a flat export's top-level fields), name -> text.
    pub data: Vec<(String, String)>,
}

impl RawEvent {
    /// The EventData value named `name` (case-sensitive, as Windows names
    /// them: NXLog exports put `ProcessID` next to Sysmon's `ProcessId`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// What kind of event this is for the CIM model.
    pub fn kind(&self) -> EventKind {
        if self.event_id == 1
            && self
                .provider
                .eq_ignore_ascii_case("Microsoft-Windows-Sysmon")
        {
            EventKind::SysmonProcessCreate
        } else if self.event_id == 4688
            && (self.channel.eq_ignore_ascii_case("Security")
                || self
                    .provider
                    .eq_ignore_ascii_case("Microsoft-Windows-Security-Auditing"))
        {
            EventKind::SecurityProcessCreate
        } else {
            EventKind::Other
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Sysmon EventID 1.
    SysmonProcessCreate,
    /// Security 4688.
    SecurityProcessCreate,
    /// Counted, not indexed.
    Other,
}
