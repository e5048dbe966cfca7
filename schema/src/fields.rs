//! The CIM `Endpoint.Processes` string fields evidx indexes, in schema
//! order. `_time` is separate (an i64 column).
//!
//! [`Cim`] names a field in code, so a misspelt field does not compile;
//! [`CIM_FIELDS`] is its name list, an array whose length is [`N_CIM`], so
//! adding a field without a name (or the reverse) does not compile either.

/// Number of CIM string fields.
pub const N_CIM: usize = 23;

/// The names of the CIM string fields, in schema order: `CIM_FIELDS[f as usize]`
/// is the name of [`Cim`] `f`.
pub const CIM_FIELDS: [&str; N_CIM] = [
    "dest",
    "user",
    "process",
    "process_name",
    "process_path",
    "process_exec",
    "parent_process",
    "parent_process_name",
    "parent_process_path",
    "parent_process_exec",
    "process_id",
    "parent_process_id",
    "process_guid",
    "parent_process_guid",
    "original_file_name",
    "process_hash",
    "process_integrity_level",
    "process_current_directory",
    "user_id",
    "action",
    "vendor_product",
    "os",
    "host",
];

/// A CIM string field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cim {
    Dest,
    User,
    Process,
    ProcessName,
    ProcessPath,
    ProcessExec,
    ParentProcess,
    ParentProcessName,
    ParentProcessPath,
    ParentProcessExec,
    ProcessId,
    ParentProcessId,
    ProcessGuid,
    ParentProcessGuid,
    OriginalFileName,
    ProcessHash,
    ProcessIntegrityLevel,
    ProcessCurrentDirectory,
    UserId,
    Action,
    VendorProduct,
    Os,
    Host,
}

impl Cim {
    /// Every field, in schema order (`ALL[i] as usize == i`).
    pub const ALL: [Cim; N_CIM] = [
        Cim::Dest,
        Cim::User,
        Cim::Process,
        Cim::ProcessName,
        Cim::ProcessPath,
        Cim::ProcessExec,
        Cim::ParentProcess,
        Cim::ParentProcessName,
        Cim::ParentProcessPath,
        Cim::ParentProcessExec,
        Cim::ProcessId,
        Cim::ParentProcessId,
        Cim::ProcessGuid,
        Cim::ParentProcessGuid,
        Cim::OriginalFileName,
        Cim::ProcessHash,
        Cim::ProcessIntegrityLevel,
        Cim::ProcessCurrentDirectory,
        Cim::UserId,
        Cim::Action,
        Cim::VendorProduct,
        Cim::Os,
        Cim::Host,
    ];

    /// Position in schema order.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The field's CIM name (`process_name`).
    pub const fn name(self) -> &'static str {
        CIM_FIELDS[self as usize]
    }

    /// The field of a bare CIM name, case-sensitively as Splunk resolves
    /// field names.
    pub fn from_name(name: &str) -> Option<Cim> {
        CIM_FIELDS
            .iter()
            .position(|f| *f == name)
            .map(|i| Cim::ALL[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_and_names_agree() {
        for (i, f) in Cim::ALL.iter().enumerate() {
            assert_eq!(f.index(), i);
            assert_eq!(Cim::from_name(f.name()), Some(*f));
        }
        assert_eq!(Cim::ProcessName.name(), "process_name");
        assert_eq!(Cim::from_name("Process_Name"), None);
    }
}
