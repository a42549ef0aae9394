//! Automatic collection on both stores: an account's default payment method
//! (`/v1/accounts/{id}/payment-method`, validated), invoices charged once when finalized
//! (after the finalizing transaction commits), declines handed to the retry policy, and
//! exactly one charge even when an invoice run's page is rolled back and billed again, and
//! a charge that fails at the end of a run's step recorded as an error of the run.

mod common;

use common::TestApi;
use quoin_app::model::{RunStep, StartInvoiceRun};
use quoin_app::runs::RunOptions;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    payment_methods_are_validated_and_change_nothing_when_bad,
    a_card_on_file_pays_each_invoice_once_when_finalized,
    a_declining_card_follows_the_retry_schedule,
    a_run_page_billed_again_charges_once,
    a_draft_is_charged_when_finalized_by_request,
);

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// A tenant on 2025-01-01T06:00Z with a 24.95 monthly plan: (api, plan price id).
async fn tenant(db: TestStore) -> (TestApi, String) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2025-01-01T06:00:00Z"}),
        200,
    )
    .await;
    let body = json!({"code": "plan", "name": "Plan", "prices": [{"currency": "USD", "amount": "24.95", "period": "month"}]});
    let price = s(&api.post_ok("/v1/products", body, 201).await["prices"][0]["id"]).to_string();
    (api, price)
}

/// A USD account (BCD 1, net 30) subscribed to `price` from 2025-01-01.
async fn customer(api: &TestApi, price: &str, name: &str) -> String {
    let body = json!({"kind": "business", "name": name,
        "billing": {"currency": "USD", "bill_cycle_day": 1, "payment_terms_days": 30}});
    let id = s(&api.post_ok("/v1/accounts", body, 201).await["id"]).to_string();
    let body = json!({"account_id": id, "price_id": price, "start_date": "2025-01-01"});
    api.post_ok("/v1/subscriptions", body, 201).await;
    id
}

async fn card(api: &TestApi, account: &str, token: &str) -> Value {
    let r = api
        .call(
            "PUT",
            &format!("/v1/accounts/{account}/payment-method"),
            Some(&api.key),
            Some(json!({"gateway": "test", "payment_method": token})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn advance(api: &TestApi, to: &str) -> Vec<Value> {
    let r = api
        .post_ok("/v1/test-clock/advance", json!({"to": to}), 200)
        .await;
    assert_eq!(r["errors"], json!([]));
    r["invoices"].as_array().unwrap().clone()
}

/// (attempt, retry, attempted_on, outcome, failure code) of each attempt on the invoice.
async fn attempts(api: &TestApi, invoice: &str) -> (Vec<(i64, i64, String, String, Value)>, Value) {
    let r = api
        .get(&format!("/v1/invoices/{invoice}/payment-attempts"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.body["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["attempt"].as_i64().unwrap(),
                a["retry"].as_i64().unwrap(),
                s(&a["attempted_on"]).to_string(),
                s(&a["outcome"]).to_string(),
                a["failure_code"].clone(),
            )
        })
        .collect();
    (list, r.body["retry"].clone())
}

async fn settlement(api: &TestApi, invoice: &str) -> Value {
    api.get(&format!("/v1/invoices/{invoice}")).await.body["settlement"].clone()
}

fn ok(on: &str) -> (i64, i64, String, String, Value) {
    (1, 0, on.to_string(), "succeeded".to_string(), Value::Null)
}

async fn payment_methods_are_validated_and_change_nothing_when_bad(db: TestStore) {
    let (api, price) = tenant(db).await;
    let acc = customer(&api, &price, "Acme").await;
    let path = format!("/v1/accounts/{acc}/payment-method");
    let r = api.get(&path).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["code"]),
        (404, &json!("not_found"))
    );
    let before = api.counts().await;
    let bad = [
        (
            json!({"gateway": "stripe", "payment_method": "tok_visa"}),
            422,
            "unknown_gateway",
            "gateway",
        ),
        (
            json!({"gateway": "test", "payment_method": "  "}),
            422,
            "invalid_field",
            "payment_method",
        ),
        (
            json!({"gateway": "test", "payment_method": "tok visa"}),
            422,
            "invalid_field",
            "payment_method",
        ),
        (
            json!({"gateway": "test", "payment_method": "x".repeat(201)}),
            422,
            "invalid_field",
            "payment_method",
        ),
        (
            json!({"gateway": "test"}),
            400,
            "missing_field",
            "payment_method",
        ),
        (
            json!({"gateway": "test", "payment_method": "tok_visa", "auto_collection": "yes"}),
            400,
            "invalid_field",
            "auto_collection",
        ),
        (
            json!({"gateway": "test", "payment_method": "tok_visa", "cvv": "123"}),
            400,
            "unknown_field",
            "cvv",
        ),
    ];
    for (body, status, code, field) in bad {
        let r = api
            .call("PUT", &path, Some(&api.key), Some(body.clone()))
            .await;
        assert_eq!(
            (r.status.as_u16(), s(&r.body["code"]), &r.body["field"]),
            (status, code, &json!(field)),
            "{body}: {}",
            r.body
        );
    }
    let r = api
        .call(
            "PUT",
            "/v1/accounts/acc_missing/payment-method",
            Some(&api.key),
            Some(json!({"gateway": "test", "payment_method": "tok_visa"})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = api.call("DELETE", &path, Some(&api.key), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(api.counts().await, before);

    // Set, read, turn auto-collection off, remove.
    let set = card(&api, &acc, "tok_visa").await;
    assert_eq!(
        (
            &set["gateway"],
            &set["payment_method"],
            &set["auto_collection"]
        ),
        (&json!("test"), &json!("tok_visa"), &json!(true))
    );
    assert_eq!(set["active_since"], json!("2025-01-01T06:00:00Z"));
    assert_eq!(api.get(&path).await.body, set);
    let r = api
        .call(
            "PUT",
            &path,
            Some(&api.key),
            Some(json!({"gateway": "test", "payment_method": "tok_mastercard", "auto_collection": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["auto_collection"], json!(false));
    let r = api.call("DELETE", &path, Some(&api.key), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(api.get(&path).await.status, 404);
    api.cleanup().await;
}

async fn a_card_on_file_pays_each_invoice_once_when_finalized(db: TestStore) {
    let (api, price) = tenant(db).await;
    let acc = customer(&api, &price, "Acme").await;
    card(&api, &acc, "tok_visa").await;

    let inv = advance(&api, "2025-01-01T12:00:00Z").await;
    assert_eq!(inv.len(), 1);
    let jan = s(&inv[0]["id"]).to_string();
    assert_eq!(s(&inv[0]["amount_due"]), "24.95");
    assert_eq!(
        settlement(&api, &jan).await,
        json!({"payment_status": "paid", "paid": "24.95", "credited": "0.00", "open": "0.00"})
    );
    let (list, retry) = attempts(&api, &jan).await;
    assert_eq!(list, [ok("2025-01-01")]);
    assert_eq!(retry, Value::Null);
    // The payment: charged through the gateway for exactly the amount due, allocated.
    let pay = api.get(&format!("/v1/payments/pay_auto_{jan}")).await;
    assert_eq!(pay.status, 200, "{}", pay.body);
    assert_eq!(
        (
            s(&pay.body["amount"]),
            s(&pay.body["method"]),
            s(&pay.body["gateway"]),
            s(&pay.body["status"]),
            s(&pay.body["received_on"])
        ),
        ("24.95", "gateway", "test", "succeeded", "2025-01-01")
    );
    assert_eq!(
        pay.body["allocations"],
        json!([{"invoice_id": jan, "amount": "24.95"}])
    );
    assert_eq!(
        api.get(&format!("/v1/accounts/{acc}/balance")).await.body["balance"],
        json!("0.00")
    );
    let events = api.get("/v1/events?limit=200").await.body;
    let topics: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["aggregate_id"] == json!(jan) || e["aggregate_id"] == json!(format!("pay_auto_{jan}"))
        })
        .map(|e| s(&e["topic"]))
        .collect();
    for topic in ["invoice.finalized", "payment.received", "invoice.paid"] {
        assert!(topics.contains(&topic), "{topic} missing from {topics:?}");
    }

    // Another pass the same day, and a later month: each invoice charged exactly once.
    api.post_ok("/v1/billing/run", json!({}), 200).await;
    let inv = advance(&api, "2025-02-01T12:00:00Z").await;
    let feb = s(&inv[0]["id"]).to_string();
    assert_eq!(attempts(&api, &jan).await.0, [ok("2025-01-01")]);
    assert_eq!(attempts(&api, &feb).await.0, [ok("2025-02-01")]);
    assert_eq!(settlement(&api, &feb).await["payment_status"], "paid");

    // Without a payment method, March stays open.
    let r = api
        .call(
            "DELETE",
            &format!("/v1/accounts/{acc}/payment-method"),
            Some(&api.key),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let inv = advance(&api, "2025-03-01T12:00:00Z").await;
    let mar = s(&inv[0]["id"]).to_string();
    assert_eq!(attempts(&api, &mar).await.0, []);
    assert_eq!(settlement(&api, &mar).await["open"], "24.95");
    // A card set now does not reach back to March.
    card(&api, &acc, "tok_visa").await;
    api.post_ok("/v1/billing/run", json!({}), 200).await;
    assert_eq!(attempts(&api, &mar).await.0, []);
    api.cleanup().await;
}

async fn a_declining_card_follows_the_retry_schedule(db: TestStore) {
    let (api, price) = tenant(db).await;
    let r = api
        .call(
            "PUT",
            "/v1/payment-retry-policy",
            Some(&api.key),
            Some(json!({"retry_days": [1, 3]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let acc = customer(&api, &price, "Acme").await;
    card(&api, &acc, "tok_declined").await;

    let inv = advance(&api, "2025-01-01T12:00:00Z").await;
    let jan = s(&inv[0]["id"]).to_string();
    let declined = |n: i64, retry: i64, on: &str| {
        (
            n,
            retry,
            on.to_string(),
            "declined".to_string(),
            json!("card_declined"),
        )
    };
    let (list, retry) = attempts(&api, &jan).await;
    assert_eq!(list, [declined(1, 0, "2025-01-01")]);
    assert_eq!(
        (
            &retry["status"],
            &retry["next_retry_on"],
            &retry["retries_done"]
        ),
        (&json!("scheduled"), &json!("2025-01-02"), &json!(0))
    );
    let failed = api.get(&format!("/v1/payments/pay_auto_{jan}")).await.body;
    assert_eq!(
        (s(&failed["status"]), s(&failed["amount"])),
        ("failed", "24.95")
    );
    assert_eq!(settlement(&api, &jan).await["open"], "24.95");

    // Day 1 after the failure: retried with the same card, declined again.
    advance(&api, "2025-01-02T12:00:00Z").await;
    let (list, retry) = attempts(&api, &jan).await;
    assert_eq!(
        list,
        [declined(1, 0, "2025-01-01"), declined(2, 1, "2025-01-02")]
    );
    assert_eq!(retry["next_retry_on"], "2025-01-04");

    // The customer gives the retries a working card; day 3 pays the invoice.
    let r = api
        .call(
            "PUT",
            &format!("/v1/invoices/{jan}/payment-retry"),
            Some(&api.key),
            Some(json!({"payment_method": "tok_visa"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    advance(&api, "2025-01-04T12:00:00Z").await;
    let (list, retry) = attempts(&api, &jan).await;
    assert_eq!(
        list,
        [
            declined(1, 0, "2025-01-01"),
            declined(2, 1, "2025-01-02"),
            (3, 2, "2025-01-04".into(), "succeeded".into(), Value::Null)
        ]
    );
    assert_eq!(retry["status"], "succeeded");
    assert_eq!(
        settlement(&api, &jan).await,
        json!({"payment_status": "paid", "paid": "24.95", "credited": "0.00", "open": "0.00"})
    );
    api.cleanup().await;
}

async fn a_run_page_billed_again_charges_once(db: TestStore) {
    let (api, price) = tenant(db).await;
    let mut accounts = Vec::new();
    for name in ["A", "B", "C"] {
        accounts.push(customer(&api, &price, name).await);
    }
    // Accounts are billed in id order: the first has a card, the last fails, so the
    // page is billed once without savepoints, rolled back, and billed again.
    accounts.sort();
    let (payer, broken) = (accounts[0].clone(), accounts[2].clone());
    card(&api, &payer, "tok_visa").await;
    {
        let mut tx = api.db.store.begin().await.unwrap();
        let mut row = tx.get_account(&api.tenant, &broken).await.unwrap().unwrap();
        row.time_zone = "Mars/Olympus_Mons".into();
        tx.update_account(&row).await.unwrap();
        tx.commit().await.unwrap();
    }
    let p = api.app.operator(&api.tenant).await.unwrap();
    for _ in 0..2 {
        let run = api
            .app
            .create_invoice_run(
                &p,
                StartInvoiceRun {
                    as_of: Some("2025-01-01".parse().unwrap()),
                    chain: Some(vec![RunStep::Bill, RunStep::Finalize]),
                },
            )
            .await
            .unwrap();
        let done = api
            .app
            .execute_invoice_run(&api.tenant, &run.id, RunOptions::default())
            .await
            .unwrap();
        assert_eq!(done.counts.errors, 1);
    }
    let invoices = api
        .get(&format!("/v1/invoices?account_id={payer}"))
        .await
        .body;
    let list = invoices["data"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{invoices}");
    let inv = s(&list[0]["id"]).to_string();
    assert_eq!(attempts(&api, &inv).await.0, [ok("2025-01-01")]);
    assert_eq!(settlement(&api, &inv).await["paid"], "24.95");
    // The other invoiced account has no card: not charged.
    let other = api
        .get(&format!("/v1/invoices?account_id={}", accounts[1]))
        .await
        .body;
    let other = s(&other["data"][0]["id"]).to_string();
    assert_eq!(attempts(&api, &other).await.0, []);
    // One payment in all.
    let payments = api.get("/v1/payments").await.body;
    assert_eq!(payments["data"].as_array().unwrap().len(), 1, "{payments}");
    api.cleanup().await;
}

async fn a_draft_is_charged_when_finalized_by_request(db: TestStore) {
    let (api, price) = tenant(db).await;
    let acc = customer(&api, &price, "Acme").await;
    card(&api, &acc, "tok_visa").await;
    // A draft owes nothing yet: not charged.
    let r = api
        .post_ok(&format!("/v1/accounts/{acc}/bill"), json!({}), 200)
        .await;
    let inv = s(&r["invoices"][0]["id"]).to_string();
    assert_eq!(r["invoices"][0]["status"], "draft");
    assert_eq!(attempts(&api, &inv).await.0, []);
    let r = api
        .post_ok(&format!("/v1/invoices/{inv}/finalize"), json!({}), 200)
        .await;
    assert_eq!(r["status"], "finalized");
    assert_eq!(attempts(&api, &inv).await.0, [ok("2025-01-01")]);
    assert_eq!(
        settlement(&api, &inv).await,
        json!({"payment_status": "paid", "paid": "24.95", "credited": "0.00", "open": "0.00"})
    );
    api.cleanup().await;
}

/// A charge that fails outright at the end of a run's step (not a decline: the account's
/// time zone broke after it was billed, so the charge cannot date its payment) is an error
/// of the run and of the account, counted once, and the run still succeeds.
async fn a_failed_charge_is_an_error_of_the_run(db: TestStore) {
    let (api, price) = tenant(db).await;
    let payer = customer(&api, &price, "A").await;
    let other = customer(&api, &price, "B").await;
    card(&api, &payer, "tok_visa").await;
    card(&api, &other, "tok_visa").await;
    let run_id = api
        .start_run("2025-01-01", Some(vec![RunStep::Bill, RunStep::Finalize]))
        .await;
    let handle = tokio::runtime::Handle::current();
    let store = api.db.store.clone();
    let tenant_id = api.tenant.clone();
    let between_pages = |view: &quoin_app::runs_model::InvoiceRun| {
        if view.counts.accounts_billed != 2 {
            return;
        }
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let mut tx = store.begin().await.unwrap();
                let mut row = tx.get_account(&tenant_id, &payer).await.unwrap().unwrap();
                row.time_zone = "Mars/Olympus_Mons".into();
                tx.update_account(&row).await.unwrap();
                tx.commit().await.unwrap();
            })
        })
    };
    let done = api
        .app
        .execute_invoice_run(
            &api.tenant,
            &run_id,
            RunOptions {
                progress: Some(&between_pages),
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(s(&serde_json::to_value(done.status).unwrap()), "succeeded");
    assert_eq!(done.counts.invoices_finalized, 2);
    assert_eq!(done.counts.errors, 1);
    assert_eq!(done.errors.len(), 1, "{:?}", done.errors);
    assert_eq!(done.errors[0].account_id, payer);
    assert!(
        done.errors[0].message.contains("invoice `"),
        "{:?}",
        done.errors
    );
    // Mend the account (the API's views date things in its zone too).
    let mut tx = api.db.store.begin().await.unwrap();
    let mut row = tx.get_account(&api.tenant, &payer).await.unwrap().unwrap();
    row.time_zone = "UTC".into();
    tx.update_account(&row).await.unwrap();
    tx.commit().await.unwrap();
    // The other account was charged; the failed one was not.
    let paid = |account: String| {
        let api = &api;
        async move {
            let list = api
                .get(&format!("/v1/invoices?account_id={account}"))
                .await
                .body;
            let inv = s(&list["data"][0]["id"]).to_string();
            settlement(api, &inv).await["paid"].clone()
        }
    };
    assert_eq!(paid(other.clone()).await, "24.95");
    assert_eq!(paid(payer.clone()).await, "0.00");
    api.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_charge_is_an_error_of_the_run_sqlite() {
    a_failed_charge_is_an_error_of_the_run(quoin_store::testing::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_charge_is_an_error_of_the_run_postgres() {
    let Some(db) = quoin_store::testing::postgres().await else {
        return;
    };
    a_failed_charge_is_an_error_of_the_run(db).await;
}
