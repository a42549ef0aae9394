//! Usage billed in arrears from ingested events, next to a recurring fee on the same
//! invoice, on both stores: one usage line per ended period, rated with the usage price;
//! late events after the period is billed are not billed twice.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(usage_is_billed_in_arrears_with_the_plan);

fn ev(id: &str, key: &str, at: &str, gb: &str) -> Value {
    json!({"id": id, "item_key": key, "metric": "data_gb", "timestamp": at, "quantity": gb})
}

async fn usage_is_billed_in_arrears_with_the_plan(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2024-03-01T06:00:00Z"}),
        200,
    )
    .await;
    let doc = json!({
        "metrics": [{"code": "data_gb", "name": "Data", "aggregation": "sum", "field": "quantity"}],
        "products": [{"code": "mobile", "name": "Mobile", "status": "active", "prices": [
            {"code": "mobile-monthly", "currency": "USD", "amount": "20.00", "period": "month"},
            {"code": "mobile-data", "type": "usage", "currency": "USD", "metric": "data_gb", "period": "month",
             "model": {"type": "graduated", "tiers": [
                {"from": "0", "to": "10", "unit_amount": "0"},
                {"from": "10", "unit_amount": "1.50"}]}}]}]});
    let r = api.post("/v1/catalog/import", doc).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let product = api.get("/v1/products").await.body["data"][0].clone();
    let price = |code: &str| {
        product["prices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == json!(code))
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let acc = api
        .post_ok(
            "/v1/accounts",
            json!({"kind": "person", "name": "Roamer", "billing": {"currency": "USD", "bill_cycle_day": 1}}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let plan = api
        .post_ok(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": price("mobile-monthly"), "start_date": "2024-03-01"}),
            201,
        )
        .await;
    let data = api
        .post_ok(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": price("mobile-data"), "start_date": "2024-03-01",
                   "usage_key": "SIM-42", "parent_id": null}),
            201,
        )
        .await;
    assert_eq!(data["items"][0]["usage_key"], json!("SIM-42"));
    let got = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2024-03-01T12:00:00Z"}),
            200,
        )
        .await;
    assert_eq!(got["invoices"][0]["total"], json!("20.00"));

    api.post_ok(
        "/v1/test-clock/advance",
        json!({"to": "2024-03-20T12:00:00Z"}),
        200,
    )
    .await;
    let r = api
        .post_ok(
            "/v1/events",
            json!({"events": [
                ev("u1", "SIM-42", "2024-03-02T10:00:00Z", "4.5"),
                ev("u2", "SIM-42", "2024-03-15T10:00:00Z", "9"),
                ev("u2", "SIM-42", "2024-03-15T10:00:00Z", "9"),
                ev("u3", "SIM-42", "2024-03-19T23:00:00Z", "0.25")]}),
            200,
        )
        .await;
    assert_eq!(
        (r["accepted"].clone(), r["duplicates"].clone()),
        (json!(3), json!(1))
    );

    let got = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2024-04-01T12:00:00Z"}),
            200,
        )
        .await;
    let inv = &got["invoices"][0];
    // 13.75 GB: the first 10 free, 3.75 × 1.50 = 5.625 → 5.63; plus April's fee in advance.
    let mut lines: Vec<(Value, Value, Value, Value, Value)> = inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].clone(),
                l["period_start"].clone(),
                l["period_end"].clone(),
                l["quantity"].clone(),
                l["amount"].clone(),
            )
        })
        .collect();
    lines.sort_by_key(|l| l.0.to_string());
    assert_eq!(
        lines,
        vec![
            (
                json!("recurring"),
                json!("2024-04-01"),
                json!("2024-05-01"),
                json!("1"),
                json!("20.00")
            ),
            (
                json!("usage"),
                json!("2024-03-01"),
                json!("2024-04-01"),
                json!("13.75"),
                json!("5.63")
            ),
        ]
    );
    assert_eq!(inv["total"], json!("25.63"));
    assert_eq!(plan["status"], json!("active"));

    // A late event for March is re-rated on the next invoice: 15.75 GB now, 5.75 above
    // the free 10 → 8.63, of which 5.63 was billed.
    api.post_ok(
        "/v1/events",
        json!({"events": [ev("late", "SIM-42", "2024-03-30T10:00:00Z", "2")]}),
        200,
    )
    .await;
    let got = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2024-04-02T12:00:00Z"}),
            200,
        )
        .await;
    let adjustment = &got["invoices"][0]["lines"][0];
    assert_eq!(
        (
            adjustment["kind"].clone(),
            adjustment["period_start"].clone(),
            adjustment["quantity"].clone(),
            adjustment["amount"].clone()
        ),
        (
            json!("usage_adjustment"),
            json!("2024-03-01"),
            json!("15.75"),
            json!("3.00")
        )
    );
    assert_eq!(got["invoices"].as_array().unwrap().len(), 1);
    api.cleanup().await;
}
