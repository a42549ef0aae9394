//! Runs every scenario file in `tests/scenarios/*.yaml` through the HTTP API on SQLite and,
//! when available, PostgreSQL. `SCENARIO=b01` runs only the files whose name contains it.
//! A file with `skip:` is reported, not run; every failure is collected before failing.

mod common;
mod scenario;

use std::path::PathBuf;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use scenario::format::Scenario;

fn files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let only = std::env::var("SCENARIO").ok();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| {
            only.as_deref()
                .is_none_or(|o| p.file_name().unwrap().to_string_lossy().contains(o))
        })
        .collect();
    files.sort();
    files
}

fn load(path: &PathBuf) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs every file, each on a fresh store from `store`; panics listing all failures.
async fn run_all<F, Fut>(store_name: &str, store: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<TestStore>>,
{
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in files() {
        let sc = match load(&path) {
            Ok(sc) => sc,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        if let Some(reason) = &sc.skip {
            eprintln!("[{store_name}] SKIPPED {}: {reason}", sc.name);
            continue;
        }
        let Some(db) = store().await else {
            eprintln!("[{store_name}] store unavailable: not run");
            return;
        };
        let api = TestApi::new(db, Mode::Development).await;
        match scenario::runner::run(&api, &sc).await {
            Ok(()) => {
                ran += 1;
                eprintln!("[{store_name}] ok {}", sc.name);
            }
            Err(e) => failures.push(e),
        }
        api.cleanup().await;
    }
    assert!(
        failures.is_empty(),
        "[{store_name}] {} scenario(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        ran > 0 || std::env::var("SCENARIO").is_ok(),
        "no scenario ran"
    );
}

#[tokio::test]
async fn scenarios_on_sqlite() {
    run_all("sqlite", || async {
        Some(quoin_store::testing::sqlite().await)
    })
    .await;
}

#[tokio::test]
async fn scenarios_on_postgres() {
    run_all("postgres", quoin_store::testing::postgres).await;
}

/// The format refuses what it does not know, so a typo cannot silently test less; an
/// unquoted amount is read as its text, never through a float.
#[test]
fn unknown_keys_are_errors_and_amounts_stay_text() {
    let head = "name: x\nsource: s\nconvention: c\nclock: 2024-01-01T00:00:00Z\nsteps:\n";
    let text = format!("{head}  - advance: 2024-01-02T00:00:00Z\n    invoice: []\n");
    let err = serde_yaml_ng::from_str::<Scenario>(&text)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `invoice`"), "{err}");
    let text = format!(
        "{head}  - advance: 2024-01-02T00:00:00Z\n    invoices:\n      - {{account: a, date: 2024-01-02, total: 24.90, lines: []}}\n"
    );
    let sc = serde_yaml_ng::from_str::<Scenario>(&text).unwrap();
    let invoices = sc.steps[0].invoices.as_ref().unwrap();
    assert_eq!(invoices[0].total, "24.90");
}
