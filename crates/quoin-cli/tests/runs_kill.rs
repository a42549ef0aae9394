//! Crash safety of invoice runs, end to end: the real `quoin` binary bills a few thousand
//! generated subscriptions and is killed with SIGKILL at random moments, several times;
//! resuming finishes the run with exactly one invoice per bill-to account, no service period
//! billed twice and invoice numbers INV-000001..N without gaps. On SQLite always; on
//! PostgreSQL through `--database-url` (skipped with a notice when unreachable, unless CI).

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quoin_store::{on_tx, Store};

const SUBSCRIPTIONS: &str = "3000";
const KILLS: usize = 5;

fn quoin(target: &[String], args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quoin"));
    c.args(target).args(args).env_remove("QUOIN_DATABASE_URL");
    c
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "quoin failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A pseudo-random delay between 50 and 450 ms (no RNG crate needed): short enough to land
/// inside a run of an idle machine, and the start is retried when it lands before one.
fn random_delay(salt: usize) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let x = (u64::from(nanos) ^ (salt as u64).wrapping_mul(0x9E37_79B9)) % 400;
    Duration::from_millis(50 + x)
}

/// Starts `args`, kills it with SIGKILL after `delay` unless it ended; true when killed.
fn run_and_kill(target: &[String], args: &[&str], delay: Duration) -> bool {
    let mut child = quoin(target, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn quoin");
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if child.try_wait().expect("wait").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    true
}

fn crash_and_resume(target: Vec<String>, url: String) {
    let tenant = ok(quoin(
        &target,
        &[
            "bench",
            "invoice-run",
            "--subscriptions",
            SUBSCRIPTIONS,
            "--generate-only",
        ],
    )
    .output()
    .expect("generate"))
    .trim()
    .to_string();
    let t = ["--tenant", tenant.as_str()];
    let mut killed = 0;
    let first = [
        &t[..],
        &["--as-of", "2025-02-01", "--chunk", "100", "--quiet"],
    ]
    .concat();
    let start = [&["runs", "start"][..], &first].concat();
    // On a loaded machine the first kill can land before the run is even created; then
    // there is nothing to resume and the run is simply started again, a little later.
    let mut attempt: u64 = 0;
    let (run, interrupted) = loop {
        let delay = random_delay(0) + Duration::from_millis(150 * attempt);
        let was_killed = run_and_kill(&target, &start, delay);
        if was_killed {
            killed += 1;
        }
        let list: serde_json::Value =
            serde_json::from_str(&ok(quoin(&target, &[&["runs", "list"][..], &t].concat())
                .output()
                .unwrap()))
            .unwrap();
        if let Some(id) = list["data"][0]["id"].as_str() {
            break (id.to_string(), was_killed);
        }
        attempt += 1;
        assert!(attempt < 8, "no run was created in {attempt} attempts");
    };
    // The killed process left the run `running` with a fresh lease: a second start is
    // refused, and a plain resume too, until forced (the operator knows it died).
    if interrupted {
        let again = quoin(&target, &start).output().unwrap();
        assert!(!again.status.success());
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("in progress"),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
    }
    let resume = [
        &[
            "runs",
            "resume",
            run.as_str(),
            "--force",
            "--chunk",
            "100",
            "--quiet",
        ][..],
        &t,
    ]
    .concat();
    for i in 1..KILLS {
        if run_and_kill(&target, &resume, random_delay(i)) {
            killed += 1;
        } else {
            // This resume ran to its end: nothing is left to interrupt.
            break;
        }
    }
    let list: serde_json::Value =
        serde_json::from_str(&ok(quoin(&target, &[&["runs", "list"][..], &t].concat())
            .output()
            .unwrap()))
        .unwrap();
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == run.as_str())
        .expect("the run is listed")
        .clone();
    let done: serde_json::Value = if listed["status"] == "succeeded" {
        listed
    } else {
        serde_json::from_str(&ok(quoin(&target, &resume).output().unwrap())).unwrap()
    };
    assert_eq!(done["status"], "succeeded", "{done}");
    eprintln!("killed {killed} times; run {run}: {}", done["counts"]);
    assert!(
        killed >= 1,
        "the run was never interrupted; slow the kill down"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(&url).await.expect("open store");
        let mut tx = store.read().await.unwrap();
        let scalar = |sql: &'static str| sql;
        let accounts: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(scalar(
            "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1"
        ))
        .bind(&tenant)
        .fetch_one(&mut *c)
        .await
        .unwrap());
        let invoices: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(scalar(
            "SELECT COUNT(*) FROM invoices WHERE tenant_id = $1"
        ))
        .bind(&tenant)
        .fetch_one(&mut *c)
        .await
        .unwrap());
        assert_eq!(invoices, accounts, "one invoice per bill-to account");
        assert_eq!(done["counts"]["invoices_created"], accounts);
        assert_eq!(done["counts"]["invoices_finalized"], accounts);
        assert_eq!(done["counts"]["accounts_billed"], accounts);
        let dup_invoices: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(scalar(
            "SELECT COUNT(*) FROM (SELECT account_id, invoice_date FROM invoices \
             WHERE tenant_id = $1 GROUP BY account_id, invoice_date HAVING COUNT(*) > 1) d"
        ))
        .bind(&tenant)
        .fetch_one(&mut *c)
        .await
        .unwrap());
        assert_eq!(dup_invoices, 0, "two invoices for one account and date");
        let dup_lines: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(scalar(
            "SELECT COUNT(*) FROM (SELECT item_id, period_start FROM invoice_lines \
             WHERE tenant_id = $1 GROUP BY item_id, period_start HAVING COUNT(*) > 1) d"
        ))
        .bind(&tenant)
        .fetch_one(&mut *c)
        .await
        .unwrap());
        assert_eq!(dup_lines, 0, "a service period billed twice");
        let subs: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(scalar(
            "SELECT COUNT(*) FROM subscriptions WHERE tenant_id = $1"
        ))
        .bind(&tenant)
        .fetch_one(&mut *c)
        .await
        .unwrap());
        let lines: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(scalar(
            "SELECT COUNT(*) FROM invoice_lines WHERE tenant_id = $1"
        ))
        .bind(&tenant)
        .fetch_one(&mut *c)
        .await
        .unwrap());
        assert_eq!(lines, subs, "every subscription billed once");
        let numbers: Vec<Option<String>> = on_tx!(&mut tx, |c| sqlx::query_scalar(scalar(
            "SELECT number FROM invoices WHERE tenant_id = $1 ORDER BY number"
        ))
        .bind(&tenant)
        .fetch_all(&mut *c)
        .await
        .unwrap());
        let expected: Vec<Option<String>> = (1..=accounts)
            .map(|n| Some(format!("INV-{n:06}")))
            .collect();
        assert_eq!(
            numbers, expected,
            "numbers must be INV-000001..N without gaps"
        );
        // Each finalized invoice has exactly one finalized event.
        let events: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(scalar(
            "SELECT COUNT(*) FROM outbox WHERE tenant_id = $1 AND topic = 'invoice.finalized'"
        ))
        .bind(&tenant)
        .fetch_one(&mut *c)
        .await
        .unwrap());
        assert_eq!(events, accounts);
        tx.commit().await.unwrap();
        store.close().await;
    });
}

#[test]
fn sigkill_and_resume_on_sqlite() {
    common::on_sqlite("runs-kill", crash_and_resume);
}

#[test]
fn sigkill_and_resume_on_postgres() {
    common::on_postgres("runs-kill", crash_and_resume);
}
