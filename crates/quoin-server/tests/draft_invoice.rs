//! Continuous draft invoices on both stores: usage marks the bill-to account, the scheduler
//! tick stores its next invoice once the tenant's cadence has passed since the last
//! refresh, and `GET /v1/accounts/{id}/draft-invoice` answers the stored draft with its age.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(draft_invoice_follows_usage_at_the_cadence);

fn gb(id: &str, at: &str, q: &str) -> Value {
    json!({"id": id, "item_key": "SIM-1", "metric": "data_gb", "timestamp": at, "quantity": q})
}

async fn advance(api: &TestApi, to: &str) {
    api.post_ok("/v1/test-clock/advance", json!({ "to": to }), 200)
        .await;
}

/// (refreshed_at, age_seconds, usage_through, usage_pending, invoice total)
async fn draft(api: &TestApi, acc: &str) -> (Value, Value, Value, Value, Value) {
    let r = api.get(&format!("/v1/accounts/{acc}/draft-invoice")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let b = r.body;
    (
        b["refreshed_at"].clone(),
        b["age_seconds"].clone(),
        b["usage_through"].clone(),
        b["usage_pending"].clone(),
        b["invoice"]["total"].clone(),
    )
}

async fn draft_invoice_follows_usage_at_the_cadence(db: TestStore) {
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
            {"code": "mobile-data", "type": "usage", "currency": "USD", "metric": "data_gb",
             "period": "month", "amount": "0.50"}]}]});
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
            .clone()
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
    for (p, key) in [
        ("mobile-monthly", Value::Null),
        ("mobile-data", json!("SIM-1")),
    ] {
        api.post_ok(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": price(p), "start_date": "2024-03-01", "usage_key": key}),
            201,
        )
        .await;
    }
    advance(&api, "2024-03-01T12:00:00Z").await;

    // The cadence: 300 s by default, 1 s to a day.
    assert_eq!(
        api.get("/v1/draft-invoice-settings").await.body,
        json!({"draft_refresh_seconds": 300})
    );
    for bad in [0, 86_401] {
        let r = api
            .call(
                "PUT",
                "/v1/draft-invoice-settings",
                Some(&api.key),
                Some(json!({ "draft_refresh_seconds": bad })),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), &r.body["field"]),
            (422, &json!("draft_refresh_seconds")),
            "{}",
            r.body
        );
    }
    let r = api
        .call(
            "PUT",
            "/v1/draft-invoice-settings",
            Some(&api.key),
            Some(json!({"draft_refresh_seconds": 600})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        api.get("/v1/draft-invoice-settings").await.body,
        json!({"draft_refresh_seconds": 600})
    );

    // Nothing refreshed yet.
    let r = api.get(&format!("/v1/accounts/{acc}/draft-invoice")).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["code"]),
        (409, &json!("no_draft_invoice"))
    );

    // Usage arrives; the first tick stores the draft: April's plan and March's 7 GB × 0.50.
    advance(&api, "2024-03-10T12:00:00Z").await;
    let r = api
        .post_ok(
            "/v1/events",
            json!({"events": [gb("g1", "2024-03-02T10:00:00Z", "3"), gb("g2", "2024-03-05T10:00:00Z", "4")]}),
            200,
        )
        .await;
    assert_eq!(r["accepted"], json!(2));
    api.app.scheduler_tick().await.unwrap();
    assert_eq!(
        draft(&api, &acc).await,
        (
            json!("2024-03-10T12:00:00Z"),
            json!(0),
            json!("2024-03-10T12:00:00Z"),
            json!(false),
            json!("23.50")
        )
    );
    let stored = api
        .get(&format!("/v1/accounts/{acc}/draft-invoice"))
        .await
        .body;
    assert_eq!(
        (
            &stored["account_id"],
            &stored["invoice"]["id"],
            &stored["invoice"]["status"],
            &stored["invoice"]["invoice_date"],
            &stored["refresh_seconds"]
        ),
        (
            &json!(acc),
            &json!("draft"),
            &json!("draft"),
            &json!("2024-04-01"),
            &json!(600)
        )
    );

    // More usage five minutes later: the draft is only 300 s old, the tick leaves it.
    advance(&api, "2024-03-10T12:05:00Z").await;
    api.post_ok(
        "/v1/events",
        json!({"events": [gb("g3", "2024-03-10T11:00:00Z", "2")]}),
        200,
    )
    .await;
    api.app.scheduler_tick().await.unwrap();
    assert_eq!(
        draft(&api, &acc).await,
        (
            json!("2024-03-10T12:00:00Z"),
            json!(300),
            json!("2024-03-10T12:00:00Z"),
            json!(true),
            json!("23.50")
        )
    );
    // Once the cadence has passed, the next tick includes it: 9 GB → 4.50.
    advance(&api, "2024-03-10T12:10:00Z").await;
    api.app.scheduler_tick().await.unwrap();
    assert_eq!(
        draft(&api, &acc).await,
        (
            json!("2024-03-10T12:10:00Z"),
            json!(0),
            json!("2024-03-10T12:05:00Z"),
            json!(false),
            json!("24.50")
        )
    );
    // Without new usage nothing is recomputed: the draft just ages.
    advance(&api, "2024-03-10T12:30:00Z").await;
    api.app.scheduler_tick().await.unwrap();
    assert_eq!(
        draft(&api, &acc).await,
        (
            json!("2024-03-10T12:10:00Z"),
            json!(1200),
            json!("2024-03-10T12:05:00Z"),
            json!(false),
            json!("24.50")
        )
    );
    api.cleanup().await;
}
