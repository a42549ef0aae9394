//! The committed `openapi.json` must match what the code serves. After an intended API
//! change run `cargo run -- openapi > openapi.json` (or this test with UPDATE_OPENAPI=1).

use std::path::PathBuf;

#[test]
fn committed_openapi_matches_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json");
    let generated = quoin_server::openapi::document_json();
    if std::env::var("UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is out of date with the code: run `cargo run -- openapi > openapi.json` and commit it"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/accounts",
        "/v1/accounts/{id}/bill",
        "/v1/invoices/{id}",
        "/v1/test-clock/advance",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the document"
        );
    }
    for schema in ["Account", "Invoice", "ErrorBody", "CreateAccount"] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "{schema} schema missing"
        );
    }
}
