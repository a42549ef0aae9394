//! Invoice runs and run schedules through the API and the app, on both stores: counts,
//! per-account errors that do not stop the run, the bill → finalize → send chain, one
//! active run per tenant, idempotent re-runs, and schedules on the tenant's test clock.

mod common;

use common::TestApi;
use quoin_app::model::StartInvoiceRun;
use quoin_app::runs::RunOptions;
use quoin_app::{Mode, Principal};
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    runs_bill_finalize_send_and_record_errors,
    schedules_follow_the_test_clock
);

async fn account(api: &TestApi, name: &str) -> String {
    let body = json!({"kind": "business", "name": name,
        "billing": {"currency": "USD", "bill_cycle_day": 1, "payment_terms_days": 30}});
    api.post_ok("/v1/accounts", body, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn setup(api: &TestApi) -> Vec<String> {
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2025-01-01T12:00:00Z"}),
        200,
    )
    .await;
    let body = json!({"code": "plan", "name": "Plan", "prices": [{"currency": "USD", "amount": "24.95", "period": "month"}]});
    let price = api.post_ok("/v1/products", body, 201).await["prices"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ids = Vec::new();
    for name in ["A", "B", "C"] {
        let id = account(api, name).await;
        let body = json!({"account_id": id, "price_id": price, "start_date": "2025-01-01"});
        api.post_ok("/v1/subscriptions", body, 201).await;
        ids.push(id);
    }
    ids
}

async fn principal(api: &TestApi) -> Principal {
    api.app.operator(&api.tenant).await.unwrap()
}

async fn runs_bill_finalize_send_and_record_errors(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let accounts = setup(&api).await;
    // Break one account: its stored time zone is unknown, so its billing date fails.
    let broken = accounts[1].clone();
    {
        let mut tx = api.db.store.begin().await.unwrap();
        let mut row = tx.get_account(&api.tenant, &broken).await.unwrap().unwrap();
        row.time_zone = "Mars/Olympus_Mons".into();
        tx.update_account(&row).await.unwrap();
        tx.commit().await.unwrap();
    }
    let p = principal(&api).await;
    let run = api
        .app
        .create_invoice_run(
            &p,
            StartInvoiceRun {
                as_of: Some("2025-01-01".parse().unwrap()),
                chain: Some(vec![
                    quoin_app::model::RunStep::Bill,
                    quoin_app::model::RunStep::Finalize,
                    quoin_app::model::RunStep::Send,
                ]),
            },
        )
        .await
        .unwrap();
    // One active run per tenant.
    let r = api.post("/v1/invoice-runs", json!({})).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    assert_eq!(r.body["code"], "run_in_progress");
    // Bad chains are refused with the field.
    let r = api
        .post("/v1/invoice-runs", json!({"chain": ["finalize", "bill"]}))
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.body["field"], "chain");

    let done = api
        .app
        .execute_invoice_run(
            &api.tenant,
            &run.id,
            RunOptions {
                chunk: Some(1),
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    let view = api.get(&format!("/v1/invoice-runs/{}", run.id)).await.body;
    assert_eq!(view["status"], "succeeded", "{view}");
    assert_eq!(
        view["counts"],
        json!({"accounts_billed": 2, "invoices_created": 2, "invoices_finalized": 2, "invoices_sent": 2, "errors": 1})
    );
    assert_eq!(view["errors"][0]["account_id"], broken.as_str());
    assert_eq!(done.counts.errors, 1);
    let invoices = api.get("/v1/invoices?status=finalized").await.body;
    assert_eq!(invoices["data"].as_array().unwrap().len(), 2);
    let events = api.get("/v1/events?limit=200").await.body;
    let sent: Vec<&Value> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["topic"] == "invoice.sent")
        .collect();
    assert_eq!(sent.len(), 2);
    // The failure is also kept on the account.
    let mut tx = api.db.store.read().await.unwrap();
    let err = tx
        .account_billing_error(&api.tenant, &broken)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(err.map(|e| e.0), Some(run.id.clone()));

    // A finished run cannot be resumed; a second run for the same day bills nothing.
    let r = api
        .post(&format!("/v1/invoice-runs/{}/resume", run.id), json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    let again = api
        .app
        .create_invoice_run(
            &p,
            StartInvoiceRun {
                as_of: Some("2025-01-01".parse().unwrap()),
                chain: None,
            },
        )
        .await
        .unwrap();
    let again = api
        .app
        .execute_invoice_run(&api.tenant, &again.id, RunOptions::default())
        .await
        .unwrap();
    assert_eq!(again.counts.invoices_created, 0);
    assert_eq!(again.counts.errors, 1);
    let list = api.get("/v1/invoice-runs").await.body;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert_eq!(list["data"][0]["id"], again.id.as_str());
    api.cleanup().await;
}

async fn schedules_follow_the_test_clock(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    setup(&api).await;
    let s = api
        .post_ok(
            "/v1/invoice-run-schedules",
            json!({"cron": "0 2 * * *"}),
            201,
        )
        .await;
    assert_eq!(s["next_run_at"], "2025-01-02T02:00:00Z");
    assert_eq!(s["chain"], json!(["bill", "finalize"]));
    let r = api
        .post("/v1/invoice-run-schedules", json!({"cron": "61 * * * *"}))
        .await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.body["field"], "cron");
    // Nothing is due yet on the tenant's clock.
    assert!(api.app.scheduler_tick().await.unwrap().is_empty());
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2025-02-01T03:00:00Z"}),
        200,
    )
    .await;
    let due = api.app.scheduler_tick().await.unwrap();
    assert_eq!(due.len(), 1);
    let (tenant, run) = &due[0];
    let done = api
        .app
        .execute_invoice_run(tenant, run, RunOptions::default())
        .await
        .unwrap();
    assert_eq!(done.trigger, "schedule");
    // January and February for each of the three accounts.
    assert_eq!(done.counts.invoices_created, 6);
    let id = s["id"].as_str().unwrap();
    let s = api
        .get(&format!("/v1/invoice-run-schedules/{id}"))
        .await
        .body;
    assert_eq!(s["next_run_at"], "2025-02-02T02:00:00Z");
    assert_eq!(s["last_run_id"], run.as_str());
    let r = api
        .call(
            "DELETE",
            &format!("/v1/invoice-run-schedules/{id}"),
            Some(&api.key),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    let list = api.get("/v1/invoice-run-schedules").await.body;
    assert_eq!(list["data"], json!([]));
    api.cleanup().await;
}

/// On SQLite a run reads its next page on a reader connection while the current page
/// bills. A write that lands between two pages must still be billed: one made through
/// this process (the shared writer connection) after the first page, one made by another
/// connection to the file (another process) after the second. Each changes the payment
/// terms, so the due dates show which rows billing saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_run_pages_see_writes_made_between_pages() {
    let db = quoin_store::testing::sqlite().await;
    let path = db.sqlite_path().unwrap().to_path_buf();
    let api = TestApi::new(db, Mode::Development).await;
    let mut accounts = setup(&api).await;
    accounts.sort();
    let other = quoin_store::Store::open_sqlite(&path).await.unwrap();
    let run_id = api.start_run("2025-01-01", None).await;
    let handle = tokio::runtime::Handle::current();
    let between_pages = |view: &quoin_app::runs_model::InvoiceRun| {
        let billed = view.counts.accounts_billed;
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                if billed == 1 {
                    let body = json!({"billing": {"payment_terms_days": 10}});
                    let r = api
                        .call(
                            "PATCH",
                            &format!("/v1/accounts/{}", accounts[1]),
                            Some(&api.key),
                            Some(body),
                        )
                        .await;
                    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
                } else if billed == 2 {
                    let mut tx = other.begin().await.unwrap();
                    let mut row = tx
                        .get_account(&api.tenant, &accounts[2])
                        .await
                        .unwrap()
                        .unwrap();
                    row.payment_terms_days = 45;
                    tx.update_account(&row).await.unwrap();
                    tx.commit().await.unwrap();
                }
            })
        })
    };
    let done = api
        .app
        .execute_invoice_run(
            &api.tenant,
            &run_id,
            RunOptions {
                chunk: Some(1),
                progress: Some(&between_pages),
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.counts.invoices_finalized, 3);
    let mut due = Vec::new();
    for account in &accounts {
        let list = api
            .get(&format!("/v1/invoices?account_id={account}"))
            .await
            .body;
        assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
        due.push(list["data"][0]["due_date"].as_str().unwrap().to_string());
    }
    assert_eq!(due, ["2025-01-31", "2025-01-11", "2025-02-15"]);
    other.close().await;
    api.cleanup().await;
}

/// SQLite bills a run's next page ahead, on a read-only snapshot, while the current page
/// is written. A page whose billing has to write outside the page's buffer (here: a
/// subscription whose stored status disagrees with its history, so billing corrects it)
/// cannot be billed there and is billed in its own transaction: the run's invoices,
/// numbers and that correction are the same as without billing ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_page_billed_ahead_falls_back_when_billing_writes() {
    let db = quoin_store::testing::sqlite().await;
    let api = TestApi::new(db, Mode::Development).await;
    let mut accounts = setup(&api).await;
    let price = api.get("/v1/products").await.body["data"][0]["prices"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for name in ["D", "E"] {
        let id = account(&api, name).await;
        let body = json!({"account_id": id, "price_id": price, "start_date": "2025-01-01"});
        api.post_ok("/v1/subscriptions", body, 201).await;
        accounts.push(id);
    }
    accounts.sort();
    // The fourth page's subscription says `suspended`; its history says active.
    let tampered = {
        let list = api
            .get(&format!("/v1/subscriptions?account_id={}", accounts[3]))
            .await
            .body;
        list["data"][0]["id"].as_str().unwrap().to_string()
    };
    let mut tx = api.app.store().begin().await.unwrap();
    let mut row = tx
        .get_subscription(&api.tenant, &tampered)
        .await
        .unwrap()
        .unwrap();
    row.status = "suspended".into();
    tx.update_subscription(&row).await.unwrap();
    tx.commit().await.unwrap();

    let run_id = api.start_run("2025-01-01", None).await;
    let done = api
        .app
        .execute_invoice_run(
            &api.tenant,
            &run_id,
            RunOptions {
                chunk: Some(1),
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.counts.accounts_billed, 5);
    assert_eq!(done.counts.invoices_finalized, 5);
    assert_eq!(done.counts.errors, 0);
    let mut numbers = Vec::new();
    for account in &accounts {
        let list = api
            .get(&format!("/v1/invoices?account_id={account}"))
            .await
            .body;
        let data = list["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{list}");
        assert_eq!(data[0]["total"], "24.95", "{list}");
        numbers.push(data[0]["number"].as_str().unwrap().to_string());
    }
    // Accounts are billed in id order, so their numbers run in that order without a gap.
    let mut expected = numbers.clone();
    expected.sort();
    assert_eq!(numbers, expected);
    let seq: Vec<u64> = numbers
        .iter()
        .map(|n| {
            n.trim_start_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(seq, (seq[0]..seq[0] + 5).collect::<Vec<_>>(), "{numbers:?}");
    let sub = api.get(&format!("/v1/subscriptions/{tampered}")).await.body;
    assert_eq!(sub["status"], "active", "{sub}");
    api.cleanup().await;
}
