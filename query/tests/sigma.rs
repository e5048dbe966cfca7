//! The Sigma regression cases of `../shared/sigma-regression`: each case's
//! `query.spl` (pySigma's Splunk `data_model` output) finds its positive
//! events in `events.evtx` and in `events.json` indexed separately, and both
//! give the same table, up to the trailing spaces the JSON export trimmed.

mod common;

use std::path::PathBuf;

use common::*;
use evidx_query::spl::MacroSet;
use evidx_query::table::Table;

/// Values that the evtx_dump JSON export of the Sigma regression data
/// changed: it trimmed trailing spaces. evidx keeps values as the source has
/// them, so EVTX rows keep the space. Each entry: (case, CIM field). The
/// same list as `indexer/tests/formats.rs`, which checks it row by row; here
/// every entry must also show in the query's result.
const EXPORT_TRIMMED_TRAILING_SPACE: &[(&str, &str)] = &[
    (
        "proc_creation_win_browsers_chromium_load_extension",
        "parent_process",
    ),
    (
        "proc_creation_win_browsers_chromium_mockbin_abuse",
        "parent_process",
    ),
    (
        "proc_creation_win_browsers_chromium_susp_load_extension",
        "parent_process",
    ),
    ("proc_creation_win_certutil_decode", "parent_process"),
    ("proc_creation_win_certutil_download", "parent_process"),
    (
        "proc_creation_win_certutil_download_direct_ip",
        "parent_process",
    ),
    (
        "proc_creation_win_certutil_encode_susp_extensions",
        "parent_process",
    ),
    ("proc_creation_win_certutil_export_pfx", "parent_process"),
    ("proc_creation_win_cmd_mklink_osk_cmd", "parent_process"),
    (
        "proc_creation_win_curl_ntlm_hash_leak_attempt",
        "parent_process",
    ),
    (
        "proc_creation_win_devcon_disable_vmci_driver",
        "parent_process",
    ),
    ("proc_creation_win_dirlister_execution", "process"),
    (
        "proc_creation_win_discovery_via_reg_queries",
        "parent_process",
    ),
    ("proc_creation_win_findstr_lsass", "process"),
    ("proc_creation_win_findstr_lsass", "parent_process"),
    (
        "proc_creation_win_findstr_recon_pipe_output",
        "parent_process",
    ),
    ("proc_creation_win_gpresult_execution", "parent_process"),
    (
        "proc_creation_win_mal_shai_hulud_malicious_npm_package_installation",
        "parent_process",
    ),
    ("proc_creation_win_pua_advancedrun", "process"),
    (
        "proc_creation_win_pua_advancedrun_priv_user",
        "parent_process",
    ),
    ("proc_creation_win_pua_kdu_driver_tool", "parent_process"),
    (
        "proc_creation_win_reg_system_language_discovery",
        "parent_process",
    ),
    ("proc_creation_win_renamed_ftp", "parent_process"),
];

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(shared("sigma-regression"))
        .expect("../shared/sigma-regression")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("query.spl").exists())
        .collect();
    cases.sort();
    cases
}

/// Index one file alone into a fresh directory and run the case's query.
fn run_on(case: &std::path::Path, file: &str, macros: &MacroSet, tmp: &std::path::Path) -> Table {
    let name = case.file_name().unwrap().to_string_lossy();
    let dir = tmp.join(format!("{name}.{file}"));
    let engine = index_and_open(&[case.join(file)], &dir);
    let spl = std::fs::read_to_string(case.join("query.spl")).expect("query.spl");
    engine
        .run_text(&spl, macros)
        .unwrap_or_else(|e| panic!("{name} on {file}:\n{e}"))
}

fn sorted_rows(t: &Table) -> Vec<Vec<String>> {
    let mut rows = cells(t);
    rows.sort();
    rows
}

#[test]
fn every_case_fires_on_evtx_and_json_alike() {
    let cases = cases();
    let index = std::fs::read_to_string(shared("sigma-regression/INDEX.json")).unwrap();
    let listed = serde_json::from_str::<serde_json::Value>(&index).unwrap();
    let listed_names = listed.to_string();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let macros = MacroSet::builtin();
    let tmp = tempfile::tempdir().unwrap();
    let mut exceptions_used: Vec<(String, String)> = Vec::new();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        assert!(listed_names.contains(&name), "{name} is not in INDEX.json");
        let mut evtx = run_on(case, "events.evtx", &macros, tmp.path());
        let json = run_on(case, "events.json", &macros, tmp.path());
        if evtx.rows.is_empty() || json.rows.is_empty() {
            failures.push(format!(
                "{name}: {} rows from EVTX, {} from JSON; want at least one each",
                evtx.rows.len(),
                json.rows.len()
            ));
            continue;
        }
        assert_eq!(evtx.columns, json.columns, "{name}: columns");
        // Apply the listed export difference to the EVTX side.
        for (c, field) in EXPORT_TRIMMED_TRAILING_SPACE {
            if *c != name {
                continue;
            }
            let i = evtx
                .column_index(field)
                .unwrap_or_else(|| panic!("{name}: no column {field}"));
            for row in &mut evtx.rows {
                for v in &mut row[i].0 {
                    if v.ends_with(' ') {
                        *v = v.trim_end().to_string();
                        exceptions_used.push((name.clone(), field.to_string()));
                    }
                }
            }
        }
        if sorted_rows(&evtx) != sorted_rows(&json) {
            failures.push(format!(
                "{name}: EVTX and JSON tables differ\n  evtx: {:?}\n  json: {:?}",
                sorted_rows(&evtx),
                sorted_rows(&json)
            ));
        }
    }
    for (case, field) in EXPORT_TRIMMED_TRAILING_SPACE {
        if !exceptions_used.iter().any(|(c, f)| c == case && f == field) {
            failures.push(format!(
                "exception ({case}, {field}) is listed but no longer needed"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
