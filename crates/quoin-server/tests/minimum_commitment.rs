//! A subscription's minimum commitment per billing period (Lago's plan "minimum
//! commitment") through the HTTP API on both stores: on the plan price or on the
//! subscription, counted after coupons and before tax over the subscription's own charges,
//! prorated for a partial period, taxed like the plan; changed by an operation from an
//! effective date, each part of a split period at its commitment; bad input changes
//! nothing.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    prorated_true_up_after_a_coupon_taxed_like_the_plan,
    subscription_commitment_replaces_the_price_and_counts_only_its_own_charges,
    bad_commitments_change_nothing,
    a_commitment_change_bills_from_its_date_prorating_the_split_period,
    bad_commitment_changes_change_nothing,
);

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

async fn put_ok(api: &TestApi, path: &str, body: Value) {
    let r = api.call("PUT", path, Some(&api.key), Some(body)).await;
    assert_eq!(r.status, 200, "PUT {path}: {}", r.body);
}

/// Tenant at `now` with FR rates (standard 20%, reduced 10%) and one EUR account (BCD 1)
/// taxed in FR.
async fn tenant(db: TestStore, now: &str) -> (TestApi, String) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok("/v1/test-clock", json!({"now": now}), 200)
        .await;
    put_ok(
        &api,
        "/v1/tax-rates",
        json!({"rates": [
            {"jurisdiction": "FR", "category": "standard", "components": [{"name": "TVA", "percent": "20"}]},
            {"jurisdiction": "FR", "category": "reduced", "components": [{"name": "TVA", "percent": "10"}]}
        ]}),
    )
    .await;
    let body = json!({"kind": "business", "name": "Acme",
        "billing": {"currency": "EUR", "payment_terms_days": 30, "bill_cycle_day": 1}});
    let acc = s(&api.post_ok("/v1/accounts", body, 201).await["id"]).to_string();
    put_ok(
        &api,
        &format!("/v1/accounts/{acc}/tax-profile"),
        json!({"jurisdiction": "FR"}),
    )
    .await;
    (api, acc)
}

async fn advance(api: &TestApi, to: &str) -> Vec<Value> {
    let r = api
        .post_ok("/v1/test-clock/advance", json!({"to": to}), 200)
        .await;
    assert_eq!(r["errors"], json!([]));
    r["invoices"].as_array().unwrap().clone()
}

fn line<'a>(inv: &'a Value, kind: &str) -> &'a Value {
    inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} line in {inv}"))
}

fn kinds(inv: &Value) -> Vec<&str> {
    inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| s(&l["kind"]))
        .collect()
}

fn totals(inv: &Value) -> [&str; 4] {
    [
        s(&inv["subtotal"]),
        s(&inv["discount"]),
        s(&inv["tax"]),
        s(&inv["total"]),
    ]
}

async fn prorated_true_up_after_a_coupon_taxed_like_the_plan(db: TestStore) {
    let (api, acc) = tenant(db, "2026-01-11T06:00:00Z").await;
    // PRO (reduced, 10%): a 20.00 plan committing to 50.00 a month, and 10.00 of seats.
    let body = json!({"code": "pro", "name": "PRO", "prices": [
        {"code": "pro-plan", "currency": "EUR", "amount": "20.00", "period": "month", "minimum_commitment": "50"},
        {"code": "pro-seats", "currency": "EUR", "amount": "10.00", "period": "month"}]});
    let prices = api.post_ok("/v1/products", body, 201).await["prices"].clone();
    assert_eq!(prices[0]["minimum_commitment"], "50.00");
    put_ok(
        &api,
        "/v1/tax-categories/pro",
        json!({"category": "reduced"}),
    )
    .await;
    api.post_ok(
        "/v1/coupons",
        json!({"code": "TWO", "amount": "2.00", "currency": "EUR", "duration": "once"}),
        201,
    )
    .await;
    api.post_ok(
        &format!("/v1/accounts/{acc}/coupons"),
        json!({"coupon_code": "TWO"}),
        201,
    )
    .await;
    let body = json!({"account_id": acc, "price_id": prices[0]["id"], "start_date": "2026-01-11",
        "items": [{"price_id": prices[1]["id"]}]});
    let sub = s(&api.post_ok("/v1/subscriptions", body, 201).await["id"]).to_string();

    // January from the 11th, 21/31: plan 20 × 21/31 = 13.548… → 13.55, seats 6.774… → 6.77;
    // the 2.00 coupon leaves 18.32. The commitment 50 × 21/31 = 33.870… → 33.87, so the
    // true-up is 15.55, not discounted, taxed at the plan's 10%: 1.555 → 1.56. The coupon
    // splits 13.55 : 6.77 → 1.33 + 0.67 (largest remainder): tax (12.22 → 1.22) + (6.10 →
    // 0.61) + 1.56 = 3.39. Subtotal = the prorated commitment, 33.87.
    let inv = advance(&api, "2026-01-11T12:00:00Z").await;
    assert_eq!(inv.len(), 1);
    let inv = &inv[0];
    assert_eq!(kinds(inv), ["recurring", "recurring", "minimum_commitment"]);
    let t = line(inv, "minimum_commitment");
    assert_eq!(
        (s(&t["amount"]), s(&t["discount"]), s(&t["tax"])),
        ("15.55", "0.00", "1.56")
    );
    assert_eq!(
        (s(&t["period_start"]), s(&t["period_end"])),
        ("2026-01-11", "2026-02-01")
    );
    assert_eq!(t["detail"]["subscription_id"], json!(sub));
    assert_eq!(t["price_id"], prices[0]["id"]);
    assert_eq!(t["detail"]["tax"]["category"], "reduced");
    assert_eq!(totals(inv), ["33.87", "2.00", "3.39", "37.26"]);

    // February, full period, the coupon used up: 30.00 → trued up by 20.00 (tax 2.00).
    let inv = advance(&api, "2026-02-01T12:00:00Z").await;
    let inv = &inv[0];
    let t = line(inv, "minimum_commitment");
    assert_eq!((s(&t["amount"]), s(&t["tax"])), ("20.00", "2.00"));
    assert_eq!(totals(inv), ["50.00", "0.00", "5.00", "55.00"]);
    api.cleanup().await;
}

async fn subscription_commitment_replaces_the_price_and_counts_only_its_own_charges(db: TestStore) {
    let (api, acc) = tenant(db, "2026-03-01T06:00:00Z").await;
    let body = json!({"code": "pro", "name": "PRO", "prices": [
        {"code": "pro-plan", "currency": "EUR", "amount": "20.00", "period": "month", "minimum_commitment": "50.00"}]});
    let plan = api.post_ok("/v1/products", body, 201).await["prices"][0]["id"].clone();
    let body = json!({"code": "extra", "name": "Extra", "prices": [
        {"currency": "EUR", "amount": "45.00", "period": "month"}]});
    let extra = api.post_ok("/v1/products", body, 201).await["prices"][0]["id"].clone();
    // A: its own 15.00 commitment, met by the 20.00 plan. B: the price's 50.00; the 45.00
    // of another subscription on the same invoice does not count toward it.
    let body = json!({"account_id": acc, "price_id": plan, "start_date": "2026-03-01",
        "minimum_commitment": "15"});
    let a = api.post_ok("/v1/subscriptions", body, 201).await;
    assert_eq!(a["minimum_commitment"], "15.00");
    let body = json!({"account_id": acc, "price_id": plan, "start_date": "2026-03-01"});
    let b = s(&api.post_ok("/v1/subscriptions", body, 201).await["id"]).to_string();
    let body = json!({"account_id": acc, "price_id": extra, "start_date": "2026-03-01"});
    api.post_ok("/v1/subscriptions", body, 201).await;
    let inv = advance(&api, "2026-03-01T12:00:00Z").await;
    let inv = &inv[0];
    let trueups: Vec<&Value> = inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "minimum_commitment")
        .collect();
    assert_eq!(trueups.len(), 1, "{inv}");
    // B: 50.00 − 20.00 = 30.00, standard 20% (PRO has no category here) → 6.00.
    assert_eq!(trueups[0]["detail"]["subscription_id"], json!(b));
    assert_eq!(
        (s(&trueups[0]["amount"]), s(&trueups[0]["tax"])),
        ("30.00", "6.00")
    );
    // 20 + 20 + 45 + 30 = 115.00, tax 23.00.
    assert_eq!(totals(inv), ["115.00", "0.00", "23.00", "138.00"]);
    api.cleanup().await;
}

async fn bad_commitments_change_nothing(db: TestStore) {
    let (api, acc) = tenant(db, "2026-03-01T06:00:00Z").await;
    let body = json!({"code": "pro", "name": "PRO", "prices": [
        {"code": "pro-plan", "currency": "EUR", "amount": "20.00", "period": "month"}]});
    let plan = api.post_ok("/v1/products", body, 201).await["prices"][0]["id"].clone();
    put_ok(
        &api,
        "/v1/metrics/calls",
        json!({"code": "calls", "name": "Calls", "aggregation": "count"}),
    )
    .await;
    let before = api.counts().await;
    let usage_price = json!({"code": "u", "name": "U", "prices": [{"type": "usage", "currency": "EUR",
        "metric": "calls", "period": "month", "amount": "0.10", "minimum_commitment": "10"}]});
    let negative = json!({"code": "n", "name": "N", "prices": [{"currency": "EUR", "amount": "1",
        "period": "month", "minimum_commitment": "-1"}]});
    for (body, field) in [
        (usage_price, "prices[0].minimum_commitment"),
        (negative, "prices[0].minimum_commitment"),
    ] {
        let r = api.post("/v1/products", body).await;
        assert_eq!(r.status, 422, "{}", r.body);
        let fields: Vec<&str> = r.body["errors"]
            .as_array()
            .map(|e| e.iter().map(|e| s(&e["field"])).collect())
            .unwrap_or_else(|| vec![s(&r.body["field"])]);
        assert_eq!(fields, [field], "{}", r.body);
    }
    for bad in ["-1", "1.001", "ten"] {
        let body = json!({"account_id": acc, "price_id": plan, "start_date": "2026-03-01",
            "minimum_commitment": bad});
        let r = api.post("/v1/subscriptions", body).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
        assert_eq!(r.body["field"], "minimum_commitment", "{}", r.body);
    }
    assert_eq!(api.counts().await, before);
    api.cleanup().await;
}

/// An untaxed USD account (BCD 1) on `now` with a 20.00 monthly plan committing to 50.00
/// from 2026-01-01: (api, plan price id, subscription id).
async fn committed_plan(db: TestStore, now: &str) -> (TestApi, String) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok("/v1/test-clock", json!({"now": now}), 200)
        .await;
    let body = json!({"kind": "business", "name": "Acme",
        "billing": {"currency": "USD", "payment_terms_days": 30, "bill_cycle_day": 1}});
    let acc = s(&api.post_ok("/v1/accounts", body, 201).await["id"]).to_string();
    let body = json!({"code": "plan", "name": "Plan", "prices": [
        {"code": "plan-monthly", "currency": "USD", "amount": "20.00", "period": "month"}]});
    let plan = api.post_ok("/v1/products", body, 201).await["prices"][0]["id"].clone();
    let body = json!({"account_id": acc, "price_id": plan, "start_date": "2026-01-01",
        "minimum_commitment": "50"});
    let sub = s(&api.post_ok("/v1/subscriptions", body, 201).await["id"]).to_string();
    (api, sub)
}

async fn operate(api: &TestApi, sub: &str, body: Value) -> common::Reply {
    api.post(&format!("/v1/subscriptions/{sub}/operations"), body)
        .await
}

async fn a_commitment_change_bills_from_its_date_prorating_the_split_period(db: TestStore) {
    let (api, sub) = committed_plan(db, "2026-01-01T06:00:00Z").await;
    // January: 20.00 trued up to 50.00.
    let inv = advance(&api, "2026-01-01T12:00:00Z").await;
    assert_eq!(s(&line(&inv[0], "minimum_commitment")["amount"]), "30.00");
    assert_eq!(s(&inv[0]["total"]), "50.00");

    // 80.00 from Feb 15: February (28 days, billed in advance on Feb 1) commits to
    // 50 × 14/28 + 80 × 14/28 = 65.00, so its true-up is 45.00.
    let r = operate(
        &api,
        &sub,
        json!({"operation": "change_commitment", "minimum_commitment": "80",
               "effective_date": "2026-02-15", "reason": "upsell"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["minimum_commitment"], "80.00");
    let inv = advance(&api, "2026-02-01T12:00:00Z").await;
    assert_eq!(kinds(&inv[0]), ["recurring", "minimum_commitment"]);
    let t = line(&inv[0], "minimum_commitment");
    assert_eq!(s(&t["amount"]), "45.00");
    assert_eq!(
        (s(&t["period_start"]), s(&t["period_end"])),
        ("2026-02-01", "2026-03-01")
    );
    assert_eq!(s(&inv[0]["total"]), "65.00");

    // March at 80.00: 60.00 of true-up.
    let inv = advance(&api, "2026-03-01T12:00:00Z").await;
    assert_eq!(s(&line(&inv[0], "minimum_commitment")["amount"]), "60.00");
    assert_eq!(s(&inv[0]["total"]), "80.00");

    // 30.00 from April 11 (March is billed already): April commits to
    // 80 × 10/30 + 30 × 20/30 = 46.666… → 46.67, 26.67 over the 20.00 plan.
    let r = operate(
        &api,
        &sub,
        json!({"operation": "change_commitment", "minimum_commitment": "30.00",
               "effective_date": "2026-04-11"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let inv = advance(&api, "2026-04-01T12:00:00Z").await;
    assert_eq!(s(&line(&inv[0], "minimum_commitment")["amount"]), "26.67");
    assert_eq!(s(&inv[0]["total"]), "46.67");

    // Zero from May: nothing to true up.
    let r = operate(
        &api,
        &sub,
        json!({"operation": "change_commitment", "minimum_commitment": "0",
               "effective_date": "2026-05-01"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let inv = advance(&api, "2026-05-01T12:00:00Z").await;
    assert_eq!(kinds(&inv[0]), ["recurring"]);
    assert_eq!(s(&inv[0]["total"]), "20.00");

    // The version history tells each change with its date.
    let h = api
        .get(&format!("/v1/subscriptions/{sub}/history"))
        .await
        .body;
    let changes: Vec<(&str, &Value)> = h["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["operation"] == "change_commitment")
        .map(|v| (s(&v["effective_date"]), &v["details"]))
        .collect();
    assert_eq!(
        changes,
        [
            (
                "2026-02-15",
                &json!({"from": "50.00", "to": "80.00", "reason": "upsell"})
            ),
            (
                "2026-04-11",
                &json!({"from": "80.00", "to": "30.00", "reason": null})
            ),
            (
                "2026-05-01",
                &json!({"from": "30.00", "to": "0.00", "reason": null})
            ),
        ]
    );
    api.cleanup().await;
}

async fn bad_commitment_changes_change_nothing(db: TestStore) {
    let (api, sub) = committed_plan(db, "2026-01-01T06:00:00Z").await;
    advance(&api, "2026-01-10T12:00:00Z").await;
    let before = api.counts().await;
    let op = |extra: Value| {
        let mut body = json!({"operation": "change_commitment", "effective_date": "2026-02-01"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (
            op(json!({"minimum_commitment": "-5"})),
            "minimum_commitment",
        ),
        (
            op(json!({"minimum_commitment": "10.001"})),
            "minimum_commitment",
        ),
        (
            op(json!({"minimum_commitment": "lots"})),
            "minimum_commitment",
        ),
        (op(json!({})), "minimum_commitment"),
        (
            op(json!({"minimum_commitment": "50.00"})),
            "minimum_commitment",
        ),
        // January is billed (in advance) and finalized.
        (
            op(json!({"minimum_commitment": "60", "effective_date": "2026-01-20"})),
            "effective_date",
        ),
        (
            json!({"operation": "suspend", "minimum_commitment": "60"}),
            "minimum_commitment",
        ),
    ];
    let mut codes = Vec::new();
    for (body, field) in cases {
        let r = operate(&api, &sub, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.body["field"], field, "{body}: {}", r.body);
        codes.push(s(&r.body["code"]).to_string());
    }
    assert_eq!(
        codes[3..],
        [
            "required",
            "no_change",
            "effective_date_in_billed_period",
            "invalid_field"
        ]
    );
    assert_eq!(api.counts().await, before);
    api.cleanup().await;
}
