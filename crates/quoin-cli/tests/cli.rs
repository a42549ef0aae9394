//! The `quoin` binary end to end: the demo prepares a tenant and prints a key, the operator
//! commands read the same store, and `serve` answers real HTTP with that key.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn quoin(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quoin"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("QUOIN_DATABASE_URL")
        .output()
        .expect("run quoin")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "quoin failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A minimal HTTP/1.1 GET; returns (status, body).
fn http_get(addr: &str, path: &str, key: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn demo_then_operator_commands_then_serve() {
    let dir = std::env::temp_dir().join(format!("quoin-cli-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let out = Command::new(env!("CARGO_BIN_EXE_quoin"))
        .args(["demo", "--no-serve", "--dir"])
        .arg(&dir)
        .output()
        .expect("run demo");
    let text = stdout(&out);
    assert!(
        text.contains("5 accounts, 19 invoices over Jan–Jun 2025"),
        "{text}"
    );
    let key = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("API key:"))
        .map(|k| k.trim().to_string())
        .expect("the demo prints an API key");
    assert!(key.starts_with("qk_"));
    let tenant = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("tenant:"))
        .and_then(|t| t.split_whitespace().next())
        .expect("the demo prints its tenant")
        .to_string();
    // Two tenants exist (broadband and SaaS), so the CLI must be told which.
    let ambiguous = quoin(&dir, &["accounts", "list"]);
    assert!(String::from_utf8_lossy(&ambiguous.stderr).contains("several tenants exist"));
    std::env::set_var("QUOIN_TENANT", &tenant);

    // The operator commands see the same store.
    let list = stdout(&quoin(&dir, &["accounts", "list"]));
    for name in [
        "Jane Doe",
        "Acme Corporation",
        "Acme West Branch",
        "Riverside Cafe",
        "Bob Smith",
    ] {
        assert!(list.contains(name), "{list}");
    }
    let jane = list
        .lines()
        .find(|l| l.contains("Jane Doe"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let shown: serde_json::Value =
        serde_json::from_str(&stdout(&quoin(&dir, &["accounts", "show", &jane]))).unwrap();
    assert_eq!(shown["billing"]["bill_cycle_day"], 1);
    // The demo billed everything due up to its clock (2025-06-28): nothing is left, and
    // billing ahead of the clock is refused with the reason.
    let billed: serde_json::Value = serde_json::from_str(&stdout(&quoin(
        &dir,
        &["bill", "--account", &jane, "--as-of", "2025-06-28"],
    )))
    .unwrap();
    assert_eq!(billed["invoices"], serde_json::json!([]));
    let ahead = quoin(&dir, &["bill", "--account", &jane, "--as-of", "2025-07-01"]);
    assert!(!ahead.status.success());
    assert!(String::from_utf8_lossy(&ahead.stderr)
        .contains("must not be after the account's today (2025-06-28)"));
    let created = stdout(&quoin(
        &dir,
        &[
            "accounts",
            "create",
            "--name",
            "New Customer",
            "--kind",
            "person",
            "--bcd",
            "31",
        ],
    ));
    assert!(created.contains("\"bill_cycle_day\": 31"), "{created}");
    let bad = quoin(&dir, &["accounts", "create", "--name", "X", "--bcd", "32"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("bill cycle day must be between 1 and 31")
    );

    // The catalog round-trips through the CLI: export, re-import finds nothing to change.
    let exported = stdout(&quoin(&dir, &["catalog", "export", "--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(doc["products"].as_array().unwrap().len(), 8);
    let file = dir.join("catalog.json");
    std::fs::write(&file, &exported).unwrap();
    let report: serde_json::Value = serde_json::from_str(&stdout(&quoin(
        &dir,
        &["catalog", "import", file.to_str().unwrap()],
    )))
    .unwrap();
    assert_eq!(report["products"]["unchanged"], 8);
    assert_eq!(report["prices"]["unchanged"], 9);
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "products:\n  - code: x\n    name: X\n    prices:\n      - currency: USD\n        period: month\n        amount: \"-1\"\n").unwrap();
    let out = quoin(&dir, &["catalog", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("products[0].prices[0].amount: must not be negative"));

    // serve answers with the demo's key.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_quoin"))
            .arg("--data-dir")
            .arg(&dir)
            .args(["serve", "--listen", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while http_get(&addr, "/healthz", "").map(|(s, _)| s).ok() != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, body) = http_get(&addr, "/v1/accounts", &key).unwrap();
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 6);
    let (status, body) = http_get(&addr, "/v1/invoices?limit=1", &key).unwrap();
    assert_eq!(status, 200);
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["data"][0]["number"], "INV-000001");
    // Acme's first, partial cycle: 2025-01-03 → 01-15 is 12/31 of 79.95 = 30.948… → 30.95.
    assert_eq!(page["data"][0]["invoice_date"], "2025-01-03");
    assert_eq!(page["data"][0]["total"], "30.95");
    let (status, _) = http_get(&addr, "/v1/accounts", "qk_wrong_key").unwrap();
    assert_eq!(status, 401);
    drop(_server);
    let _ = std::fs::remove_dir_all(&dir);
}
