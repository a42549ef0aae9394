//! Dunning through the API on a test clock, on both stores: reminder at +3 days, suspend
//! at +14, disconnect at +30; every step an outbox event; full payment resolves it and
//! resumes the services dunning suspended.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    steps_apply_on_schedule_and_payment_resolves,
    unpaid_account_is_disconnected_at_thirty_days,
    bad_schedules_are_refused
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
