//! An index records its format version in every commit; evidx-query
//! refuses an index of another version with a message that says what to
//! do, instead of answering from a layout it does not know.

mod common;

use std::path::Path;

use common::*;
use evidx_query::Engine;
use evidx_schema::FORMAT_VERSION;

/// Rewrite the commit payload of the index in `dir`.
fn set_payload(dir: &Path, payload: serde_json::Value) {
    let meta = dir.join("meta.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    json["payload"] = payload;
    std::fs::write(&meta, serde_json::to_string(&json).unwrap()).unwrap();
}

fn open_error(dir: &Path) -> String {
    match Engine::open(dir) {
        Ok(_) => panic!("an index of another format version was opened"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn other_format_versions_are_refused_with_a_way_out() {
    let dir = scratch("format-version");
    build_index(&[workspace("datasets/sample")], &dir);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    assert_eq!(
        meta["payload"],
        serde_json::Value::String(format!("{{\"evidx_format\":{FORMAT_VERSION}}}")),
        "the commit records the format"
    );
    let engine = Engine::open(&dir).expect("this build's format opens");
    assert!(engine.num_docs() > 100);
    drop(engine);

    // An index from before versions were recorded has no payload.
    set_payload(&dir, serde_json::Value::Null);
    let e = open_error(&dir);
    assert!(
        e.contains("index format 1") && e.contains("older evidx"),
        "{e}"
    );
    assert!(
        e.contains("evidx-index --force"),
        "says how to rebuild: {e}"
    );

    set_payload(
        &dir,
        serde_json::json!(format!("{{\"evidx_format\":{}}}", FORMAT_VERSION + 1)),
    );
    let e = open_error(&dir);
    assert!(
        e.contains("newer evidx") && e.contains("use a newer evidx-query"),
        "{e}"
    );
}
