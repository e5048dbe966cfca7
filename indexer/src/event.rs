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
        EventKind::of(&self.provider, &self.channel, self.event_id)
    }
}

/// Sysmon's EventID for a process creation.
pub const SYSMON_PROCESS_CREATE: u32 = 1;
/// The Security log's EventID for a process creation.
pub const SECURITY_PROCESS_CREATE: u32 = 4688;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Sysmon EventID 1.
    SysmonProcessCreate,
    /// Security 4688.
    SecurityProcessCreate,
    /// Counted, not indexed.
    Other,
}

impl EventKind {
    /// The one test of what is a process creation, by provider (or, for
    /// 4688, channel) and EventID; names compare case-insensitively.
    pub fn of(provider: &str, channel: &str, event_id: u32) -> EventKind {
        if event_id == SYSMON_PROCESS_CREATE
            && provider.eq_ignore_ascii_case("Microsoft-Windows-Sysmon")
        {
            EventKind::SysmonProcessCreate
        } else if event_id == SECURITY_PROCESS_CREATE
            && (channel.eq_ignore_ascii_case("Security")
                || provider.eq_ignore_ascii_case("Microsoft-Windows-Security-Auditing"))
        {
            EventKind::SecurityProcessCreate
        } else {
            EventKind::Other
        }
    }

    /// False when an event of this EventID is [`EventKind::Other`] whatever
    /// its provider and channel: the parsers count such events from their
    /// EventID alone, without reading the rest.
    pub fn may_be_process_creation(event_id: u32) -> bool {
        matches!(event_id, SYSMON_PROCESS_CREATE | SECURITY_PROCESS_CREATE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_creation_by_provider_or_channel_and_event_id() {
        let sysmon = "Microsoft-Windows-Sysmon";
        let auditing = "Microsoft-Windows-Security-Auditing";
        for (provider, channel, id, kind) in [
            (sysmon, "", 1, EventKind::SysmonProcessCreate),
            (
                "microsoft-windows-sysmon",
                "",
                1,
                EventKind::SysmonProcessCreate,
            ),
            (sysmon, "", 3, EventKind::Other),
            (sysmon, "Security", 4688, EventKind::SecurityProcessCreate),
            (auditing, "", 4688, EventKind::SecurityProcessCreate),
            ("", "security", 4688, EventKind::SecurityProcessCreate),
            (
                "Microsoft-Windows-PowerShell",
                "Other",
                4688,
                EventKind::Other,
            ),
            (auditing, "Security", 1, EventKind::Other),
        ] {
            assert_eq!(
                EventKind::of(provider, channel, id),
                kind,
                "{provider} {id}"
            );
            if kind != EventKind::Other {
                assert!(EventKind::may_be_process_creation(id));
            }
        }
        assert!(!EventKind::may_be_process_creation(4624));
    }
}
