//! Invoice finishing through the HTTP API on both stores: PUBLIC-EXAMPLES B13 (taxes, a
//! fixed coupon spread pro rata, a per-price minimum true-up), B14 (a prepaid wallet
//! restricted to some charges), a tax-inclusive account, and bad input that changes
//! nothing.
//!
//! Modelling: billing has only recurring prices so far, so B13's usage charges (FX 50 @0%,
//! cards 30 @20% with a €50 minimum) are monthly recurring prices, the cards price with
//! `minimum: "50"`; B14's metrics are products `m1`/`m2` (the wallet is restricted by
//! product; a metric restriction works the same on usage lines once they are billed).

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    b13_taxes_coupon_and_minimum,
    b14_wallet_restricted_to_products,
    tax_inclusive_account,
    bad_finishing_input_changes_nothing
);

async fn put(api: &TestApi, path: &str, body: Value) -> common::Reply {
    api.call("PUT", path, Some(&api.key), Some(body)).await
}

async fn put_ok(api: &TestApi, path: &str, body: Value) -> Value {
    let r = put(api, path, body).await;
    assert_eq!(r.status.as_u16(), 200, "PUT {path}: {}", r.body);
    r.body
}

async fn account(api: &TestApi, name: &str) -> String {
    let body = json!({"kind": "business", "name": name,
                      "billing": {"currency": "EUR", "payment_terms_days": 30, "bill_cycle_day": 1}});
    api.post_ok("/v1/accounts", body, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn product(api: &TestApi, code: &str, amount: &str, minimum: Option<&str>) -> String {
    let mut price = json!({"currency": "EUR", "amount": amount, "period": "month"});
    if let Some(m) = minimum {
        price["minimum"] = json!(m);
    }
    let body = json!({"code": code, "name": code.to_uppercase(), "prices": [price]});
    api.post_ok("/v1/products", body, 201).await["prices"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn subscribe(api: &TestApi, account: &str, price: &str, start: &str) -> String {
    let body = json!({"account_id": account, "price_id": price, "start_date": start});
    api.post_ok("/v1/subscriptions", body, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn advance(api: &TestApi, to: &str) -> Vec<Value> {
    let r = api
        .post_ok("/v1/test-clock/advance", json!({"to": to}), 200)
        .await;
    assert_eq!(r["errors"], json!([]));
    r["invoices"].as_array().unwrap().clone()
}

/// (kind, amount, discount, tax) per line.
fn lines(inv: &Value) -> Vec<(String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap().to_string();
    inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                s(&l["kind"]),
                s(&l["amount"]),
                s(&l["discount"]),
                s(&l["tax"]),
            )
        })
        .collect()
}

fn row(k: &str, a: &str, d: &str, t: &str) -> (String, String, String, String) {
    (k.into(), a.into(), d.into(), t.into())
}

fn totals(inv: &Value) -> [&str; 5] {
    [
        inv["subtotal"].as_str().unwrap(),
        inv["discount"].as_str().unwrap(),
        inv["tax"].as_str().unwrap(),
        inv["total"].as_str().unwrap(),
        inv["amount_due"].as_str().unwrap(),
    ]
}

async fn b13_taxes_coupon_and_minimum(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2025-01-01T06:00:00Z"}),
        200,
    )
    .await;
    put_ok(
        &api,
        "/v1/tax-rates",
        json!({"rates": [
            {"jurisdiction": "FR", "category": "standard", "components": [{"name": "TVA", "percent": "10"}]},
            {"jurisdiction": "FR", "category": "fx", "components": [{"name": "TVA", "percent": "0"}]},
            {"jurisdiction": "FR", "category": "cards", "components": [{"name": "TVA", "percent": "20"}]}
        ]}),
    )
    .await;
    let plan = product(&api, "plan", "100", None).await;
    let fx = product(&api, "fx", "50", None).await;
    let cards = product(&api, "cards", "30", Some("50")).await;
    put_ok(&api, "/v1/tax-categories/fx", json!({"category": "fx"})).await;
    put_ok(
        &api,
        "/v1/tax-categories/cards",
        json!({"category": "cards"}),
    )
    .await;
    let acc = account(&api, "B13").await;
    put_ok(
        &api,
        &format!("/v1/accounts/{acc}/tax-profile"),
        json!({"jurisdiction": "FR"}),
    )
    .await;
    api.post_ok(
        "/v1/coupons",
        json!({"code": "TEN", "amount": "10", "currency": "EUR", "duration": "once"}),
        201,
    )
    .await;
    let red = api
        .post_ok(
            &format!("/v1/accounts/{acc}/coupons"),
            json!({"coupon_code": "TEN"}),
            201,
        )
        .await;
    assert_eq!(red["status"], json!("active"));
    for p in [&plan, &fx, &cards] {
        subscribe(&api, &acc, p, "2025-01-01").await;
    }
    let invoices = advance(&api, "2025-01-01T12:00:00Z").await;
    assert_eq!(invoices.len(), 1);
    let inv = &invoices[0];
    assert_eq!(
        lines(inv),
        [
            row("recurring", "100.00", "5.00", "9.50"),
            row("recurring", "50.00", "2.50", "0.00"),
            row("recurring", "30.00", "1.50", "5.70"),
            row("minimum_true_up", "20.00", "1.00", "3.80"),
        ]
    );
    // fees 200.00 − coupons 10.00 = subtotal 190.00; taxes 19.00; total 209.00.
    assert_eq!(
        totals(inv),
        ["190.00", "10.00", "19.00", "209.00", "209.00"]
    );
    let detail = &inv["lines"][0]["detail"];
    assert_eq!(detail["tax"]["components"][0]["name"], json!("TVA"));
    assert_eq!(detail["tax"]["components"][0]["amount"], json!("9.50"));
    assert_eq!(
        detail["coupons"],
        json!([{"coupon": "TEN", "amount": "5.00"}])
    );
    // The invoice is finalized with its total due, and the coupon is used up.
    assert!(inv["number"].is_string());
    let again = advance(&api, "2025-02-01T12:00:00Z").await;
    assert_eq!(
        lines(&again[0]),
        [
            row("recurring", "100.00", "0.00", "10.00"),
            row("recurring", "50.00", "0.00", "0.00"),
            row("recurring", "30.00", "0.00", "6.00"),
            row("minimum_true_up", "20.00", "0.00", "4.00"),
        ]
    );
    assert_eq!(
        totals(&again[0]),
        ["200.00", "0.00", "20.00", "220.00", "220.00"]
    );
    // PDF and HTML render the finished invoice.
    let id = inv["id"].as_str().unwrap();
    let r = api
        .call(
            "GET",
            &format!("/v1/invoices/{id}/html"),
            Some(&api.key),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200);
    let html = r.body.as_str().unwrap();
    assert!(html.contains("discount 5.00, TVA 10% 9.50"), "{html}");
    assert!(html.contains("amount due 209.00 EUR"), "{html}");
    let pdf = api.get(&format!("/v1/invoices/{id}/pdf")).await;
    assert_eq!(pdf.status.as_u16(), 200);
    api.cleanup().await;
}

async fn b14_wallet_restricted_to_products(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2025-01-01T06:00:00Z"}),
        200,
    )
    .await;
    put_ok(
        &api,
        "/v1/tax-rates",
        json!({"rates": [{"jurisdiction": "FI", "category": "standard", "components": [{"name": "ALV", "percent": "24"}]}]}),
    )
    .await;
    let m1 = product(&api, "m1", "14.29", None).await;
    let m2 = product(&api, "m2", "14.27", None).await;
    let other = product(&api, "other", "10", None).await;
    let acc = account(&api, "B14").await;
    put_ok(
        &api,
        &format!("/v1/accounts/{acc}/tax-profile"),
        json!({"jurisdiction": "FI"}),
    )
    .await;
    let w = api
        .post_ok(
            &format!("/v1/accounts/{acc}/wallets"),
            json!({"code": "credits", "balance": "39.00", "products": ["m1", "m2"]}),
            201,
        )
        .await;
    assert_eq!(w["balance"], json!("39.00"));
    let s1 = subscribe(&api, &acc, &m1, "2025-01-01").await;
    let inv = advance(&api, "2025-01-01T12:00:00Z").await;
    assert_eq!(
        lines(&inv[0]),
        [
            row("recurring", "14.29", "0.00", "3.43"),
            row("prepaid_credit", "-17.72", "0.00", "0.00"),
        ]
    );
    assert_eq!(totals(&inv[0]), ["14.29", "0.00", "3.43", "17.72", "0.00"]);
    let wallets = api.get(&format!("/v1/accounts/{acc}/wallets")).await.body;
    assert_eq!(wallets["wallets"][0]["balance"], json!("21.28"));

    // m1 ends with January; m2 starts in February.
    let r = api
        .post(
            &format!("/v1/subscriptions/{s1}/operations"),
            json!({"operation": "disconnect", "effective_date": "2025-02-01"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    subscribe(&api, &acc, &m2, "2025-02-01").await;
    let inv = advance(&api, "2025-02-01T12:00:00Z").await;
    assert_eq!(inv.len(), 1);
    assert_eq!(totals(&inv[0]), ["14.27", "0.00", "3.42", "17.69", "0.00"]);
    let wallets = api.get(&format!("/v1/accounts/{acc}/wallets")).await.body;
    assert_eq!(wallets["wallets"][0]["balance"], json!("3.59"));

    // A charge the wallet does not cover uses no credit.
    let acc2 = account(&api, "B14 other").await;
    put_ok(
        &api,
        &format!("/v1/accounts/{acc2}/tax-profile"),
        json!({"jurisdiction": "FI"}),
    )
    .await;
    api.post_ok(
        &format!("/v1/accounts/{acc2}/wallets"),
        json!({"code": "credits", "balance": "39.00", "products": ["m1"]}),
        201,
    )
    .await;
    subscribe(&api, &acc2, &other, "2025-02-01").await;
    let inv = advance(&api, "2025-02-01T18:00:00Z").await;
    assert_eq!(lines(&inv[0]), [row("recurring", "10.00", "0.00", "2.40")]);
    assert_eq!(totals(&inv[0]), ["10.00", "0.00", "2.40", "12.40", "12.40"]);
    let wallets = api.get(&format!("/v1/accounts/{acc2}/wallets")).await.body;
    assert_eq!(wallets["wallets"][0]["balance"], json!("39.00"));
    api.cleanup().await;
}

async fn tax_inclusive_account(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2025-01-01T06:00:00Z"}),
        200,
    )
    .await;
    put_ok(
        &api,
        "/v1/tax-rates",
        json!({"rates": [{"jurisdiction": "FR", "category": "standard", "components": [{"name": "TVA", "percent": "10"}]}]}),
    )
    .await;
    let plan = product(&api, "plan", "110", None).await;
    let incl = account(&api, "Consumer").await;
    let excl = account(&api, "Business").await;
    let p = put_ok(
        &api,
        &format!("/v1/accounts/{incl}/tax-profile"),
        json!({"jurisdiction": "FR", "tax_inclusive": true}),
    )
    .await;
    assert_eq!(p["tax_inclusive"], json!(true));
    put_ok(
        &api,
        &format!("/v1/accounts/{excl}/tax-profile"),
        json!({"jurisdiction": "FR"}),
    )
    .await;
    subscribe(&api, &incl, &plan, "2025-01-01").await;
    subscribe(&api, &excl, &plan, "2025-01-01").await;
    let invs = advance(&api, "2025-01-01T12:00:00Z").await;
    let of = |a: &str| invs.iter().find(|i| i["account_id"] == json!(a)).unwrap();
    let i = of(&incl);
    assert_eq!(lines(i), [row("recurring", "110.00", "0.00", "10.00")]);
    assert_eq!(totals(i), ["100.00", "0.00", "10.00", "110.00", "110.00"]);
    assert_eq!(i["lines"][0]["detail"]["tax_mode"], json!("inclusive"));
    let e = of(&excl);
    assert_eq!(lines(e), [row("recurring", "110.00", "0.00", "11.00")]);
    assert_eq!(totals(e), ["110.00", "0.00", "11.00", "121.00", "121.00"]);
    api.cleanup().await;
}

/// (method, path, body, status, code, field).
type BadCase = (
    &'static str,
    String,
    Value,
    u16,
    &'static str,
    Option<&'static str>,
);

async fn bad_finishing_input_changes_nothing(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let acc = account(&api, "Bad").await;
    let before = api.counts().await;
    let cases: Vec<BadCase> = vec![
        (
            "PUT",
            "/v1/tax-rates".to_string(),
            json!({"rates": [{"jurisdiction": "FR", "category": "standard", "components": [{"name": "TVA", "percent": "150"}]}]}),
            422,
            "invalid_field",
            Some("rates[0].components[0].percent"),
        ),
        (
            "PUT",
            "/v1/tax-rates".to_string(),
            json!({"rates": [{"jurisdiction": "FR", "category": "s", "components": []},
                          {"jurisdiction": "FR", "category": "s", "components": []}]}),
            422,
            "duplicate_tax_rate",
            Some("rates[1].category"),
        ),
        (
            "PUT",
            "/v1/tax-rates".to_string(),
            json!({"rates": [], "bogus": 1}),
            400,
            "unknown_field",
            Some("bogus"),
        ),
        (
            "PUT",
            "/v1/fees".to_string(),
            json!({"fees": [{"code": "f", "percent": "1", "per_line": "1"}]}),
            422,
            "invalid_field",
            Some("fees[0].percent"),
        ),
        (
            "PUT",
            "/v1/tax-categories/nope".to_string(),
            json!({"category": "x"}),
            404,
            "not_found",
            None,
        ),
        (
            "POST",
            "/v1/coupons".to_string(),
            json!({"code": "C", "percent": "10", "amount": "5", "duration": "once"}),
            422,
            "invalid_field",
            Some("percent"),
        ),
        (
            "POST",
            "/v1/coupons".to_string(),
            json!({"code": "C", "percent": "10", "duration": "periods"}),
            422,
            "invalid_field",
            Some("periods"),
        ),
        (
            "POST",
            "/v1/coupons".to_string(),
            json!({"code": "C", "amount": "5", "duration": "once"}),
            422,
            "invalid_field",
            Some("currency"),
        ),
        (
            "POST",
            format!("/v1/accounts/{acc}/coupons"),
            json!({"coupon_code": "NOPE"}),
            422,
            "unknown_coupon",
            Some("coupon_code"),
        ),
        (
            "POST",
            format!("/v1/accounts/{acc}/wallets"),
            json!({"code": "w", "balance": "-1"}),
            422,
            "invalid_field",
            Some("balance"),
        ),
        (
            "POST",
            format!("/v1/accounts/{acc}/wallets"),
            json!({"code": "w", "balance": "1.001"}),
            422,
            "invalid_field",
            Some("balance"),
        ),
        (
            "PUT",
            format!("/v1/accounts/{acc}/tax-profile"),
            json!({"jurisdiction": ""}),
            422,
            "invalid_field",
            Some("jurisdiction"),
        ),
        (
            "PUT",
            "/v1/accounts/acc_missing/tax-profile".to_string(),
            json!({"jurisdiction": "FR"}),
            404,
            "not_found",
            None,
        ),
    ];
    for (method, path, body, status, code, field) in cases {
        let r = api
            .call(method, &path, Some(&api.key), Some(body.clone()))
            .await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{method} {path} {body}: {}",
            r.body
        );
        assert_eq!(
            r.body["code"],
            json!(code),
            "{method} {path} {body}: {}",
            r.body
        );
        if let Some(f) = field {
            assert_eq!(
                r.body["field"],
                json!(f),
                "{method} {path} {body}: {}",
                r.body
            );
        }
    }
    assert_eq!(api.counts().await, before);
    // A coupon in another currency cannot be applied to a EUR account.
    api.post_ok(
        "/v1/coupons",
        json!({"code": "USD5", "amount": "5", "currency": "USD", "duration": "forever"}),
        201,
    )
    .await;
    let r = api
        .post(
            &format!("/v1/accounts/{acc}/coupons"),
            json!({"coupon_code": "USD5"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].clone()),
        (422, json!("currency_mismatch"))
    );
    let r = api
        .post(
            "/v1/coupons",
            json!({"code": "USD5", "percent": "5", "duration": "forever"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].clone()),
        (409, json!("coupon_exists"))
    );
    api.cleanup().await;
}
