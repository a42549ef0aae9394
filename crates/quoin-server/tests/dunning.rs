//! Dunning through the API on a test clock, on both stores: reminder at +3 days, suspend
//! at +14, disconnect at +30; every step an outbox event; full payment resolves it and
//! resumes the services dunning suspended. Declined gateway charges are retried on the
//! tenant's retry days by the same daily job, each attempt kept on the invoice.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    steps_apply_on_schedule_and_payment_resolves,
    unpaid_account_is_disconnected_at_thirty_days,
    bad_schedules_are_refused,
    declined_charge_is_retried_until_a_new_card_pays_and_dunning_resolves,
    retry_policy_is_validated_and_failures_without_one_are_not_retried
);

async fn setup(api: &TestApi) -> (String, String) {
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2024-01-01T06:00:00Z"}),
        200,
    )
    .await;
    let policy = json!({"steps": [
        {"after_days": 3, "action": "reminder"},
        {"after_days": 14, "action": "suspend"},
        {"after_days": 30, "action": "disconnect"}]});
    api.call("PUT", "/v1/dunning-policy", Some(&api.key), Some(policy))
        .await;
    let price = api
        .post_ok(
            "/v1/products",
            json!({"code": "plan", "name": "Plan", "prices": [{"currency": "USD", "amount": "10.00", "period": "month"}]}),
            201,
        )
        .await["prices"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let acc = api
        .post_ok(
            "/v1/accounts",
            json!({"kind": "person", "name": "Late Payer", "billing": {"currency": "USD", "payment_terms_days": 0, "bill_cycle_day": 1}}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sub = api
        .post_ok(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": price, "start_date": "2024-01-01"}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    (acc, sub)
}

async fn advance(api: &TestApi, to: &str) -> Value {
    let r = api
        .post_ok("/v1/test-clock/advance", json!({ "to": to }), 200)
        .await;
    assert_eq!(r["errors"], json!([]));
    r
}

/// Dunning events of the tenant, as (topic, step).
async fn dunning_events(api: &TestApi) -> Vec<(String, Value)> {
    let events = api.get("/v1/events?limit=500").await.body;
    events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["topic"].as_str().unwrap().starts_with("dunning."))
        .map(|e| {
            (
                e["topic"].as_str().unwrap().to_string(),
                e["payload"]["step"].clone(),
            )
        })
        .collect()
}

async fn status(api: &TestApi, sub: &str) -> Value {
    api.get(&format!("/v1/subscriptions/{sub}")).await.body["status"].clone()
}

async fn steps_apply_on_schedule_and_payment_resolves(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let (acc, sub) = setup(&api).await;
    advance(&api, "2024-01-03T12:00:00Z").await;
    assert!(dunning_events(&api).await.is_empty());
    advance(&api, "2024-01-04T12:00:00Z").await;
    assert_eq!(
        dunning_events(&api).await,
        vec![("dunning.reminder".into(), json!(1))]
    );
    // B16: plan changes wait while the account is overdue; nothing changes.
    let before = api
        .get(&format!("/v1/subscriptions/{sub}/history"))
        .await
        .body;
    let change = json!({"operation": "change", "quantity": "2", "effective_date": "2024-01-04"});
    let r = api
        .call(
            "POST",
            &format!("/v1/subscriptions/{sub}/operations"),
            Some(&api.key),
            Some(change.clone()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    assert_eq!(r.body["code"], json!("account_overdue"));
    assert_eq!(
        api.get(&format!("/v1/subscriptions/{sub}/history"))
            .await
            .body,
        before
    );
    let d = api.get(&format!("/v1/accounts/{acc}/dunning")).await.body;
    assert_eq!(
        (
            d["steps_done"].clone(),
            d["days_overdue"].clone(),
            d["next_step"]["action"].clone()
        ),
        (json!(1), json!(3), json!("suspend"))
    );
    advance(&api, "2024-01-14T12:00:00Z").await;
    assert_eq!(status(&api, &sub).await, json!("active"));
    let r = advance(&api, "2024-01-15T12:00:00Z").await;
    assert_eq!(status(&api, &sub).await, json!("suspended"));
    assert_eq!(dunning_events(&api).await.len(), 2);
    // Suspended from 01-15: 17 of January's 31 days are credited.
    let credit = &r["invoices"][0];
    assert_eq!(credit["total"], json!("-5.48"));

    // Paying the overdue invoice resolves dunning at once and resumes the service.
    api.post_ok(
        "/v1/payments",
        json!({"account_id": acc, "amount": "10.00", "currency": "USD", "received_on": "2024-01-15"}),
        201,
    )
    .await;
    let topics: Vec<String> = dunning_events(&api)
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        topics,
        ["dunning.reminder", "dunning.suspend", "dunning.resolved"]
    );
    assert_eq!(status(&api, &sub).await, json!("active"));
    // Paid up: changes are accepted again.
    api.post_ok(
        &format!("/v1/subscriptions/{sub}/operations"),
        json!({"operation": "change", "quantity": "2", "effective_date": "2024-02-01"}),
        200,
    )
    .await;
    let h = api
        .get(&format!("/v1/subscriptions/{sub}/history"))
        .await
        .body;
    let ops: Vec<Value> = h["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["operation"].clone())
        .collect();
    assert_eq!(
        ops,
        [
            json!("activate"),
            json!("suspend"),
            json!("resume"),
            json!("change")
        ]
    );
    assert_eq!(h["versions"][2]["effective_date"], json!("2024-01-15"));
    // Resumed on the clock's day (01-15); billing charges the rest of January again.
    let r = advance(&api, "2024-01-15T18:00:00Z").await;
    assert_eq!(r["invoices"][0]["total"], json!("5.48"));
    api.cleanup().await;
}

async fn unpaid_account_is_disconnected_at_thirty_days(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let (_acc, sub) = setup(&api).await;
    advance(&api, "2024-01-30T12:00:00Z").await;
    assert_eq!(status(&api, &sub).await, json!("suspended"));
    advance(&api, "2024-01-31T12:00:00Z").await;
    let s = api.get(&format!("/v1/subscriptions/{sub}")).await.body;
    assert_eq!(
        (s["status"].clone(), s["end_date"].clone()),
        (json!("disconnected"), json!("2024-01-31"))
    );
    let topics: Vec<String> = dunning_events(&api)
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        topics,
        ["dunning.reminder", "dunning.suspend", "dunning.disconnect"]
    );
    // Nothing more is billed after the disconnect.
    let r = advance(&api, "2024-03-01T12:00:00Z").await;
    assert_eq!(r["invoices"], json!([]));
    api.cleanup().await;
}

async fn bad_schedules_are_refused(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let before = api.counts().await;
    for steps in [
        json!([{"after_days": 5, "action": "reminder"}, {"after_days": 5, "action": "suspend"}]),
        json!([{"after_days": 0, "action": "reminder"}]),
        json!([{"after_days": 9, "action": "disconnect"}, {"after_days": 12, "action": "reminder"}]),
    ] {
        let r = api
            .call(
                "PUT",
                "/v1/dunning-policy",
                Some(&api.key),
                Some(json!({ "steps": steps })),
            )
            .await;
        assert_eq!(r.status.as_u16(), 422, "{}", r.body);
        assert_eq!(r.body["code"], json!("invalid_dunning_schedule"));
        assert_eq!(r.body["field"], json!("steps"));
    }
    assert_eq!(api.counts().await, before);
    api.cleanup().await;
}

async fn put(api: &TestApi, path: &str, body: Value) -> common::Reply {
    api.call("PUT", path, Some(&api.key), Some(body)).await
}

/// `payment.retried` events as (retry, outcome, amount, next retry, plan status).
async fn retry_events(api: &TestApi) -> Vec<(i64, String, String, Value, String)> {
    let events = api.get("/v1/events?limit=500").await.body;
    events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["topic"] == "payment.retried")
        .map(|e| {
            let p = &e["payload"];
            (
                p["retry"].as_i64().unwrap(),
                p["outcome"].as_str().unwrap().to_string(),
                p["amount"].as_str().unwrap().to_string(),
                p["next_retry_on"].clone(),
                p["retry_status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// (attempt, retry, date, outcome, failure code) of each attempt on the invoice.
async fn attempts(api: &TestApi, inv: &str) -> (Value, Vec<(i64, i64, String, String, Value)>) {
    let r = api
        .get(&format!("/v1/invoices/{inv}/payment-attempts"))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let list = r.body["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["amount"], json!("10.00"));
            (
                a["attempt"].as_i64().unwrap(),
                a["retry"].as_i64().unwrap(),
                a["attempted_on"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap().to_string(),
                a["failure_code"].clone(),
            )
        })
        .collect();
    (r.body["retry"].clone(), list)
}

fn attempt(
    n: i64,
    retry: i64,
    on: &str,
    outcome: &str,
    code: Value,
) -> (i64, i64, String, String, Value) {
    (n, retry, on.to_string(), outcome.to_string(), code)
}

/// B16's retry days: a declined card is charged again 1 and 9 days after the failure;
/// the customer gives a new card in between, the second retry pays, the retries end and
/// dunning resolves.
async fn declined_charge_is_retried_until_a_new_card_pays_and_dunning_resolves(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let (acc, sub) = setup(&api).await;
    let r = put(
        &api,
        "/v1/payment-retry-policy",
        json!({"retry_days": [1, 9, 13, 20]}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), &r.body),
        (200, &json!({"retry_days": [1, 9, 13, 20]}))
    );
    let inv = advance(&api, "2024-01-01T12:00:00Z").await["invoices"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let charge = json!({"account_id": acc, "amount": "10.00", "currency": "USD",
        "gateway": "test", "payment_method": "tok_declined"});
    let r = api.post("/v1/payments", charge).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["code"]),
        (402, &json!("payment_declined"))
    );
    let (plan, list) = attempts(&api, &inv).await;
    assert_eq!(
        plan,
        json!({"status": "scheduled", "gateway": "test", "failed_on": "2024-01-01",
               "retry_days": [1, 9, 13, 20], "retries_done": 0, "next_retry_on": "2024-01-02"})
    );
    assert_eq!(
        list,
        [attempt(
            1,
            0,
            "2024-01-01",
            "declined",
            json!("card_declined")
        )]
    );

    advance(&api, "2024-01-02T12:00:00Z").await;
    assert_eq!(
        retry_events(&api).await,
        [(
            1,
            "declined".into(),
            "10.00".into(),
            json!("2024-01-10"),
            "scheduled".into()
        )]
    );
    // The reminder (3 days past due) comes meanwhile.
    advance(&api, "2024-01-09T12:00:00Z").await;
    assert_eq!(retry_events(&api).await.len(), 1);
    assert_eq!(
        api.get(&format!("/v1/accounts/{acc}/dunning")).await.body["steps_done"],
        json!(1)
    );

    // The customer gives a new card; the schedule keeps its dates.
    let r = put(
        &api,
        &format!("/v1/invoices/{inv}/payment-retry"),
        json!({"payment_method": "tok_visa"}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["retry"]["next_retry_on"], json!("2024-01-10"));
    advance(&api, "2024-01-10T12:00:00Z").await;
    let (plan, list) = attempts(&api, &inv).await;
    assert_eq!(
        (
            &plan["status"],
            &plan["retries_done"],
            &plan["next_retry_on"]
        ),
        (&json!("succeeded"), &json!(2), &Value::Null)
    );
    assert_eq!(
        list,
        [
            attempt(1, 0, "2024-01-01", "declined", json!("card_declined")),
            attempt(2, 1, "2024-01-02", "declined", json!("card_declined")),
            attempt(3, 2, "2024-01-10", "succeeded", Value::Null),
        ]
    );
    assert_eq!(
        retry_events(&api).await[1],
        (
            2,
            "succeeded".into(),
            "10.00".into(),
            Value::Null,
            "succeeded".into()
        )
    );
    let invoice = api.get(&format!("/v1/invoices/{inv}")).await.body;
    assert_eq!(
        (
            &invoice["settlement"]["payment_status"],
            &invoice["settlement"]["open"]
        ),
        (&json!("paid"), &json!("0.00"))
    );
    let balance = api.get(&format!("/v1/accounts/{acc}/balance")).await.body;
    assert_eq!(balance["balance"], json!("0.00"));
    assert_eq!(
        dunning_events(&api).await,
        [
            ("dunning.reminder".to_string(), json!(1)),
            ("dunning.resolved".to_string(), Value::Null)
        ]
    );
    assert_eq!(status(&api, &sub).await, json!("active"));
    let payments = api
        .get(&format!("/v1/payments?account_id={acc}"))
        .await
        .body;
    let mut seen: Vec<(String, String)> = payments["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["status"].as_str().unwrap().to_string(),
                p["reference"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("failed".to_string(), String::new()),
            ("failed".to_string(), format!("retry 1 of invoice {inv}")),
            ("succeeded".to_string(), format!("retry 2 of invoice {inv}")),
        ]
    );

    // Paid: no more retries on the later retry days, and none to redirect.
    advance(&api, "2024-01-25T12:00:00Z").await;
    assert_eq!(attempts(&api, &inv).await.1.len(), 3);
    let r = put(
        &api,
        &format!("/v1/invoices/{inv}/payment-retry"),
        json!({"payment_method": "tok_visa"}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["code"]),
        (409, &json!("no_scheduled_retry"))
    );
    api.cleanup().await;
}

async fn retry_policy_is_validated_and_failures_without_one_are_not_retried(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let (acc, _) = setup(&api).await;
    let inv = advance(&api, "2024-01-01T12:00:00Z").await["invoices"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = api.counts().await;
    for (days, field) in [
        (json!([0]), "retry_days[0]"),
        (json!([1, 9, 9]), "retry_days[2]"),
        (json!([3, 1]), "retry_days[1]"),
        (json!([1, 400]), "retry_days[1]"),
    ] {
        let r = put(
            &api,
            "/v1/payment-retry-policy",
            json!({ "retry_days": days }),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), &r.body["code"], &r.body["field"]),
            (422, &json!("invalid_retry_days"), &json!(field)),
            "{days}"
        );
    }
    // An unreachable gateway charges and records nothing.
    let r = api
        .post(
            "/v1/payments",
            json!({"account_id": acc, "amount": "10.00", "currency": "USD",
                   "gateway": "test", "payment_method": "tok_error"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["code"]),
        (503, &json!("gateway_unavailable"))
    );
    assert_eq!(api.counts().await, before);
    assert_eq!(
        api.get("/v1/payment-retry-policy").await.body,
        json!({"retry_days": []})
    );

    // Without retry days a decline is recorded as an attempt and not retried.
    let r = api
        .post(
            "/v1/payments",
            json!({"account_id": acc, "amount": "10.00", "currency": "USD",
                   "gateway": "test", "payment_method": "tok_insufficient_funds",
                   "allocations": [{"invoice_id": inv, "amount": "10.00"}]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 402);
    advance(&api, "2024-01-05T12:00:00Z").await;
    let (plan, list) = attempts(&api, &inv).await;
    assert_eq!(plan, Value::Null);
    assert_eq!(
        list,
        [attempt(
            1,
            0,
            "2024-01-01",
            "declined",
            json!("insufficient_funds")
        )]
    );
    assert!(retry_events(&api).await.is_empty());
    let r = api.get("/v1/invoices/inv_missing/payment-attempts").await;
    assert_eq!(r.status.as_u16(), 404);
    api.cleanup().await;
}
