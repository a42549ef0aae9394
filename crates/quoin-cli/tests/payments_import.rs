//! `quoin payments import`: valid rows are recorded, invalid rows reported with row, field
//! and reason, and a re-import of the same file records nothing twice.

use std::path::Path;
use std::process::{Command, Output};

fn quoin(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quoin"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("QUOIN_DATABASE_URL")
        .env_remove("QUOIN_TENANT")
        .output()
        .expect("run quoin")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "quoin failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn import_records_valid_rows_and_reports_the_rest() {
    let dir = std::env::temp_dir().join(format!("quoin-pay-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    ok(&quoin(&dir, &["tenant", "create", "--name", "T"]));
    let acc: serde_json::Value =
        serde_json::from_str(&ok(&quoin(&dir, &["accounts", "create", "--name", "Acme"]))).unwrap();
    let ban = acc["ban"].as_str().unwrap();
    let id = acc["id"].as_str().unwrap();
    let csv = dir.join("payments.csv");
    std::fs::write(
        &csv,
        format!(
            "account_number,account_id,amount,currency,reference\n\
             {ban},,50.00,USD,R1\n\
             ,{id},abc,USD,R2\n\
             42,,1.00,USD,R3\n\
             ,{id},7.50,EUR,R4\n"
        ),
    )
    .unwrap();
    let file = csv.to_str().unwrap();
    let out = quoin(&dir, &["payments", "import", file, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["accepted"], 1);
    let rejected: Vec<(u64, String)> = result["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (2, "amount".to_string()),
            (3, "account_number".to_string()),
            (4, "currency".to_string())
        ]
    );
    // The same file again: R1 is a duplicate now.
    let out = quoin(&dir, &["payments", "import", file]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("0 payment(s) recorded, 4 row(s) rejected"),
        "{text}"
    );
    assert!(text.contains("row 1: reference:"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
