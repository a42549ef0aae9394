//! Service inventory operations through the HTTP API on a test clock, on both stores:
//! plan changes with repair credits, same-day changes, add-ons and co-termination,
//! suspension, disconnects, and the bad operations that must change nothing.
//! Figures are PUBLIC-EXAMPLES section B (Kill Bill and Lago).

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    b2_add_on_aligned_to_the_base_cycle,
    b3_annual_to_monthly_and_back_with_repairs,
    b4_change_to_a_dearer_annual_plan,
    b5_negotiated_free_price_removed_mid_month,
    b6_thirty_360_starts_and_same_day_cancels,
    b8_same_day_upgrade_add_on_cancel_and_end_of_period_change,
    b8_change_rules_refuse_illegal_changes_and_time_the_rest,
    b10_monthly_to_yearly_on_anniversary_with_leap_year,
    b11_in_arrears_upgrade_bills_the_old_plan_to_the_change,
    suspend_and_resume_credit_and_restart_billing,
    bad_operations_change_nothing,
    history_shows_changes_against_the_original
);

async fn clock(api: &TestApi, at: &str) {
    api.post_ok("/v1/test-clock", json!({ "now": at }), 200)
        .await;
}

async fn advance(api: &TestApi, to: &str) -> Vec<Value> {
    let r = api
        .post_ok("/v1/test-clock/advance", json!({ "to": to }), 200)
        .await;
    assert_eq!(r["errors"], json!([]));
    r["invoices"].as_array().unwrap().clone()
}

async fn account(api: &TestApi, billing: Value) -> String {
    let mut b = json!({"currency": "USD", "payment_terms_days": 30});
    for (k, v) in billing.as_object().unwrap() {
        b[k] = v.clone();
    }
    let body = json!({"kind": "business", "name": "Customer", "billing": b});
    api.post_ok("/v1/accounts", body, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Creates a product and answers its price ids in order.
async fn product(api: &TestApi, body: Value) -> Vec<String> {
    api.post_ok("/v1/products", body, 201).await["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

async fn plan(api: &TestApi, code: &str, amount: &str, period: &str) -> String {
    let body = json!({"code": code, "name": code, "prices": [{"currency": "USD", "amount": amount, "period": period}]});
    product(api, body).await.remove(0)
}

async fn subscribe(api: &TestApi, body: Value) -> String {
    api.post_ok("/v1/subscriptions", body, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn operate(api: &TestApi, sub: &str, body: Value) -> Value {
    api.post_ok(&format!("/v1/subscriptions/{sub}/operations"), body, 200)
        .await
}

/// (kind, period start, period end, amount) of each line, and the total.
fn lines(inv: &Value) -> (Vec<(String, String, String, String)>, String) {
    let s = |v: &Value| v.as_str().unwrap().to_string();
    (
        inv["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    s(&l["kind"]),
                    s(&l["period_start"]),
                    s(&l["period_end"]),
                    s(&l["amount"]),
                )
            })
            .collect(),
        s(&inv["total"]),
    )
}

fn want(
    rows: &[(&str, &str, &str, &str)],
    total: &str,
) -> (Vec<(String, String, String, String)>, String) {
    (
        rows.iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
            .collect(),
        total.to_string(),
    )
}

async fn b2_add_on_aligned_to_the_base_cycle(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2021-09-20T06:00:00Z").await;
    let addon = product(
        &api,
        json!({"code": "addon", "name": "Add-on", "kind": "add_on", "prices": [{"currency": "USD", "amount": "17.95", "period": "month"}]}),
    )
    .await
    .remove(0);
    let base = product(
        &api,
        json!({"code": "base", "name": "Base", "add_ons": [{"product": "addon"}], "prices": [{"currency": "USD", "amount": "24.95", "period": "month"}]}),
    )
    .await
    .remove(0);
    let acc = account(&api, json!({})).await;
    let b = subscribe(
        &api,
        json!({"account_id": acc, "price_id": base, "start_date": "2021-09-20"}),
    )
    .await;
    let got = advance(&api, "2021-09-20T12:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[("recurring", "2021-09-20", "2021-10-20", "24.95")],
            "24.95"
        )
    );
    clock(&api, "2021-09-30T06:00:00Z").await;
    let a = api
        .post_ok(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": addon, "start_date": "2021-09-30", "parent_id": b}),
            201,
        )
        .await;
    assert_eq!(a["parent_id"], json!(b));
    assert_eq!(a["coterminate"], json!(true));
    let got = advance(&api, "2021-09-30T12:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[("recurring", "2021-09-30", "2021-10-20", "11.97")],
            "11.97"
        )
    );
    let got = advance(&api, "2021-10-20T12:00:00Z").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["total"], json!("42.90"));

    // Disconnecting the base ends its add-on with it.
    clock(&api, "2021-10-25T06:00:00Z").await;
    operate(
        &api,
        &b,
        json!({"operation": "disconnect", "reason": "moving"}),
    )
    .await;
    let add_on = api
        .get(&format!("/v1/subscriptions/{}", a["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(add_on["end_date"], json!("2021-10-25"));
    assert_eq!(add_on["status"], json!("disconnected"));
    let got = advance(&api, "2021-10-25T12:00:00Z").await;
    // Credits for 10-25 → 11-20 (26/31) of both.
    assert_eq!(
        lines(&got[0]),
        want(
            &[
                ("repair", "2021-10-25", "2021-11-20", "-20.93"),
                ("repair", "2021-10-25", "2021-11-20", "-15.05")
            ],
            "-35.98"
        )
    );
    api.cleanup().await;
}

async fn b3_annual_to_monthly_and_back_with_repairs(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2012-05-01T06:00:00Z").await;
    let prices = product(
        &api,
        json!({"code": "shotgun", "name": "Shotgun", "prices": [
            {"code": "shotgun-annual", "currency": "USD", "amount": "2399.95", "period": "year"},
            {"code": "shotgun-monthly", "currency": "USD", "amount": "249.95", "period": "month"}]}),
    )
    .await;
    let acc = account(&api, json!({"alignment": "anniversary"})).await;
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": prices[0], "start_date": "2012-05-01"}),
    )
    .await;
    let got = advance(&api, "2012-05-01T12:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[("recurring", "2012-05-01", "2013-05-01", "2399.95")],
            "2399.95"
        )
    );

    clock(&api, "2012-05-11T06:00:00Z").await;
    let s = operate(
        &api,
        &sub,
        json!({"operation": "change", "price_id": prices[1]}),
    )
    .await;
    assert_eq!(s["price_id"], json!(prices[1]));
    let got = advance(&api, "2012-05-11T08:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[
                ("repair", "2012-05-11", "2013-05-01", "-2334.20"),
                ("recurring", "2012-05-11", "2012-06-01", "169.32")
            ],
            "-2164.88"
        )
    );
    let repaired = got[0]["lines"][0]["repairs_line_id"].clone();
    assert!(repaired.is_string());

    // Back to annual the same day.
    operate(
        &api,
        &sub,
        json!({"operation": "change", "price_id": prices[0]}),
    )
    .await;
    let got = advance(&api, "2012-05-11T10:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[
                ("repair", "2012-05-11", "2012-06-01", "-169.32"),
                ("recurring", "2012-05-11", "2013-05-01", "2334.20")
            ],
            "2164.88"
        )
    );
    // Nothing more is due for a year, and re-running proposes nothing.
    assert!(advance(&api, "2012-06-01T12:00:00Z").await.is_empty());
    api.cleanup().await;
}

async fn b4_change_to_a_dearer_annual_plan(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2012-05-01T06:00:00Z").await;
    let shotgun = plan(&api, "shotgun", "2399.95", "year").await;
    let rifle = plan(&api, "assault-rifle", "5999.95", "year").await;
    let acc = account(&api, json!({"alignment": "anniversary"})).await;
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": shotgun, "start_date": "2012-05-01"}),
    )
    .await;
    advance(&api, "2012-05-01T12:00:00Z").await;
    clock(&api, "2012-05-11T06:00:00Z").await;
    let s = operate(
        &api,
        &sub,
        json!({"operation": "change", "price_id": rifle}),
    )
    .await;
    // A plan change across products moves the subscription to the new product.
    assert_ne!(s["product_id"], json!(null));
    assert_eq!(s["price_id"], json!(rifle));
    let products = api.get("/v1/products").await.body;
    let rifle_product = products["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == json!("assault-rifle"))
        .unwrap()["id"]
        .clone();
    assert_eq!(s["product_id"], rifle_product);
    let got = advance(&api, "2012-05-11T12:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[
                ("repair", "2012-05-11", "2013-05-01", "-2334.20"),
                ("recurring", "2012-05-11", "2013-05-01", "5835.57")
            ],
            "3501.37"
        )
    );
    api.cleanup().await;
}

async fn b5_negotiated_free_price_removed_mid_month(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2017-01-01T06:00:00Z").await;
    let blowdart = plan(&api, "blowdart", "29.95", "month").await;
    let acc = account(&api, json!({"bill_cycle_day": 1})).await;
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": blowdart, "start_date": "2017-01-01", "unit_amount": "0"}),
    )
    .await;
    advance(&api, "2017-02-01T12:00:00Z").await;
    clock(&api, "2017-02-15T06:00:00Z").await;
    operate(
        &api,
        &sub,
        json!({"operation": "change", "price_id": blowdart}),
    )
    .await;
    let got = advance(&api, "2017-02-15T12:00:00Z").await;
    // The free line needs no credit; 14/28 × 29.95 = 14.975 → 14.98 half-up.
    assert_eq!(
        lines(&got[0]),
        want(
            &[("recurring", "2017-02-15", "2017-03-01", "14.98")],
            "14.98"
        )
    );
    let got = advance(&api, "2017-03-01T12:00:00Z").await;
    assert_eq!(got[0]["total"], json!("29.95"));
    api.cleanup().await;
}

async fn b6_thirty_360_starts_and_same_day_cancels(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2023-05-15T06:00:00Z").await;
    let price = plan(&api, "plan", "19.95", "month").await;
    let a = account(
        &api,
        json!({"bill_cycle_day": 23, "proration": "thirty360"}),
    )
    .await;
    let sa = subscribe(
        &api,
        json!({"account_id": a, "price_id": price, "start_date": "2023-05-15"}),
    )
    .await;
    let got = advance(&api, "2023-05-15T08:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(&[("recurring", "2023-05-15", "2023-05-23", "5.32")], "5.32")
    );
    operate(&api, &sa, json!({"operation": "disconnect"})).await;
    let got = advance(&api, "2023-05-15T10:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(&[("repair", "2023-05-15", "2023-05-23", "-5.32")], "-5.32")
    );

    clock(&api, "2023-05-23T06:00:00Z").await;
    let b = account(
        &api,
        json!({"bill_cycle_day": 15, "proration": "thirty360"}),
    )
    .await;
    let sb = subscribe(
        &api,
        json!({"account_id": b, "price_id": price, "start_date": "2023-05-23"}),
    )
    .await;
    let got = advance(&api, "2023-05-23T08:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[("recurring", "2023-05-23", "2023-06-15", "14.63")],
            "14.63"
        )
    );
    operate(&api, &sb, json!({"operation": "disconnect"})).await;
    let got = advance(&api, "2023-05-23T10:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[("repair", "2023-05-23", "2023-06-15", "-14.63")],
            "-14.63"
        )
    );
    // Disconnected services bill nothing more.
    assert!(advance(&api, "2023-07-01T10:00:00Z").await.is_empty());
    api.cleanup().await;
}

async fn b8_same_day_upgrade_add_on_cancel_and_end_of_period_change(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-03-01T06:00:00Z").await;
    let sports = plan(&api, "sports", "500", "month").await;
    let super_ = plan(&api, "super", "1000", "month").await;
    let addon = product(
        &api,
        json!({"code": "extra", "name": "Extra", "kind": "add_on", "prices": [{"currency": "USD", "amount": "15", "period": "month"}]}),
    )
    .await
    .remove(0);
    let acc = account(&api, json!({"bill_cycle_day": 1})).await;
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": sports, "start_date": "2024-03-01"}),
    )
    .await;
    let extra = subscribe(
        &api,
        json!({"account_id": acc, "price_id": addon, "start_date": "2024-03-01", "parent_id": sub}),
    )
    .await;
    let got = advance(&api, "2024-03-01T08:00:00Z").await;
    assert_eq!(got[0]["total"], json!("515.00"));

    // IMMEDIATE upgrade on the start day: $500 more for the balance.
    operate(
        &api,
        &sub,
        json!({"operation": "change", "price_id": super_}),
    )
    .await;
    // The add-on cancelled on its start day is credited in full.
    operate(&api, &extra, json!({"operation": "disconnect"})).await;
    let got = advance(&api, "2024-03-01T10:00:00Z").await;
    let (_, total) = lines(&got[0]);
    assert_eq!(total, "485.00"); // −500 + 1000 − 15
    let mut rows = lines(&got[0]).0;
    rows.sort();
    assert_eq!(
        rows,
        want(
            &[
                ("recurring", "2024-03-01", "2024-04-01", "1000.00"),
                ("repair", "2024-03-01", "2024-04-01", "-15.00"),
                ("repair", "2024-03-01", "2024-04-01", "-500.00"),
            ],
            ""
        )
        .0
    );

    // A change at the end of the period generates no credit.
    clock(&api, "2024-03-10T06:00:00Z").await;
    let s = operate(
        &api,
        &sub,
        json!({"operation": "change", "price_id": sports, "timing": "end_of_period"}),
    )
    .await;
    assert_eq!(s["items"][0]["since"], json!("2024-04-01"));
    assert!(advance(&api, "2024-03-31T10:00:00Z").await.is_empty());
    let got = advance(&api, "2024-04-01T10:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[("recurring", "2024-04-01", "2024-05-01", "500.00")],
            "500.00"
        )
    );
    api.cleanup().await;
}

async fn b10_monthly_to_yearly_on_anniversary_with_leap_year(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2023-06-29T06:00:00Z").await;
    let monthly = plan(&api, "monthly", "10.00", "month").await;
    let yearly = plan(&api, "yearly", "120.00", "year").await;
    let acc = account(&api, json!({"alignment": "anniversary"})).await;
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": monthly, "start_date": "2023-06-29"}),
    )
    .await;
    advance(&api, "2023-09-27T12:00:00Z").await;
    clock(&api, "2023-09-28T05:00:00Z").await;
    operate(
        &api,
        &sub,
        json!({"operation": "change", "price_id": yearly}),
    )
    .await;
    let got = advance(&api, "2023-09-28T12:00:00Z").await;
    // One unused day of the 31-day period: 1000/31 = 32 cents; 275/366 × 120.00 = 90.16.
    assert_eq!(
        lines(&got[0]),
        want(
            &[
                ("repair", "2023-09-28", "2023-09-29", "-0.32"),
                ("recurring", "2023-09-28", "2024-06-29", "90.16")
            ],
            "89.84"
        )
    );
    api.cleanup().await;
}

async fn b11_in_arrears_upgrade_bills_the_old_plan_to_the_change(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-01-01T06:00:00Z").await;
    let a = product(
        &api,
        json!({"code": "a", "name": "A", "prices": [{"currency": "USD", "amount": "100", "period": "month", "timing": "in_arrears"}]}),
    )
    .await
    .remove(0);
    let b = product(
        &api,
        json!({"code": "b", "name": "B", "prices": [{"currency": "USD", "amount": "200", "period": "month", "timing": "in_arrears"}]}),
    )
    .await
    .remove(0);
    let acc = account(&api, json!({"bill_cycle_day": 1})).await;
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": a, "start_date": "2024-01-01"}),
    )
    .await;
    clock(&api, "2024-01-15T06:00:00Z").await;
    operate(&api, &sub, json!({"operation": "change", "price_id": b})).await;
    let got = advance(&api, "2024-01-15T12:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[("recurring", "2024-01-01", "2024-01-15", "45.16")],
            "45.16"
        )
    );
    let got = advance(&api, "2024-02-01T12:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[("recurring", "2024-01-15", "2024-02-01", "109.68")],
            "109.68"
        )
    );
    api.cleanup().await;
}

async fn suspend_and_resume_credit_and_restart_billing(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-04-01T06:00:00Z").await;
    let price = plan(&api, "plan", "30.00", "month").await;
    let acc = account(&api, json!({"bill_cycle_day": 1})).await;
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": price, "start_date": "2024-04-01"}),
    )
    .await;
    advance(&api, "2024-04-01T12:00:00Z").await;
    clock(&api, "2024-04-21T06:00:00Z").await;
    let s = operate(&api, &sub, json!({"operation": "suspend"})).await;
    assert_eq!(s["status"], json!("suspended"));
    let got = advance(&api, "2024-04-21T12:00:00Z").await;
    // 10 unused days of 30.
    assert_eq!(
        lines(&got[0]),
        want(
            &[("repair", "2024-04-21", "2024-05-01", "-10.00")],
            "-10.00"
        )
    );
    // Nothing is billed while suspended.
    assert!(advance(&api, "2024-05-10T12:00:00Z").await.is_empty());
    clock(&api, "2024-05-11T06:00:00Z").await;
    let s = operate(&api, &sub, json!({"operation": "resume"})).await;
    assert_eq!(s["status"], json!("active"));
    let got = advance(&api, "2024-05-11T12:00:00Z").await;
    // 21 of May's 31 days.
    assert_eq!(
        lines(&got[0]),
        want(
            &[("recurring", "2024-05-11", "2024-06-01", "20.32")],
            "20.32"
        )
    );
    api.cleanup().await;
}

/// B8's catalog rules: premium → standard is illegal, upgrades from sports are immediate,
/// everything else waits for the end of the period (no credit); a timing the request
/// gives wins over the rule's.
async fn b8_change_rules_refuse_illegal_changes_and_time_the_rest(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-03-01T06:00:00Z").await;
    let sports = plan(&api, "sports", "500", "month").await;
    let super_ = plan(&api, "super", "1000", "month").await;
    let premium = plan(&api, "premium", "2000", "month").await;
    let standard = plan(&api, "standard", "100", "month").await;
    let rules = json!({"rules": [
        {"from_product": "premium", "to_product": "standard", "policy": "illegal"},
        {"from_product": "sports", "policy": "immediate"},
        {"policy": "end_of_period"},
    ]});
    let put = api
        .raw("PUT", "/v1/catalog/change-rules", &rules.to_string())
        .await;
    assert_eq!((put.status.as_u16(), &put.body), (200, &rules));

    // Rules naming what does not exist are refused, naming the field; nothing changes.
    let before = api.counts().await;
    let bad = [
        (
            json!({"rules": [{"to_product": "gold", "policy": "illegal"}]}),
            422,
            "unknown_product",
            "rules[0].to_product",
        ),
        (
            json!({"rules": [{"policy": "immediate"}, {"from_period": "fortnight", "policy": "illegal"}]}),
            422,
            "invalid_period",
            "rules[1].from_period",
        ),
        (
            json!({"rules": [{"to_price_book": "promo", "policy": "illegal"}]}),
            422,
            "unknown_price_book",
            "rules[0].to_price_book",
        ),
        (
            json!({"rules": [{"policy": "sometimes"}]}),
            400,
            "invalid_field",
            "rules[0].policy",
        ),
    ];
    for (body, status, code, field) in bad {
        let r = api
            .raw("PUT", "/v1/catalog/change-rules", &body.to_string())
            .await;
        assert_eq!(
            (r.status.as_u16(), &r.body["code"], &r.body["field"]),
            (status, &json!(code), &json!(field)),
            "{body}: {}",
            r.body
        );
    }
    assert_eq!(api.counts().await, before);
    assert_eq!(api.get("/v1/catalog/change-rules").await.body, rules);

    let acc = account(&api, json!({"bill_cycle_day": 1})).await;
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": sports, "start_date": "2024-03-01"}),
    )
    .await;
    assert_eq!(
        advance(&api, "2024-03-01T08:00:00Z").await[0]["total"],
        json!("500.00")
    );

    // sports → premium: immediate by rule 1, $1500 for the balance.
    let s = operate(
        &api,
        &sub,
        json!({"operation": "change", "price_id": premium}),
    )
    .await;
    assert_eq!(s["items"][0]["since"], json!("2024-03-01"));
    let got = advance(&api, "2024-03-01T10:00:00Z").await;
    let (mut rows, total) = lines(&got[0]);
    rows.sort();
    assert_eq!(
        (rows, total),
        want(
            &[
                ("recurring", "2024-03-01", "2024-04-01", "2000.00"),
                ("repair", "2024-03-01", "2024-04-01", "-500.00"),
            ],
            "1500.00"
        )
    );

    // premium → standard is illegal: 422 on the price, nothing written.
    clock(&api, "2024-03-10T06:00:00Z").await;
    let before = api.counts().await;
    let r = api
        .post(
            &format!("/v1/subscriptions/{sub}/operations"),
            json!({"operation": "change", "price_id": standard}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["code"], &r.body["field"]),
        (422, &json!("plan_change_not_allowed"), &json!("price_id"))
    );
    assert_eq!(api.counts().await, before);
    // Even with an explicit timing.
    let r = api
        .post(
            &format!("/v1/subscriptions/{sub}/operations"),
            json!({"operation": "change", "price_id": standard, "timing": "end_of_period"}),
        )
        .await;
    assert_eq!(r.body["code"], json!("plan_change_not_allowed"));

    // premium → super: the catch-all waits for the end of the period; no credit.
    let s = operate(
        &api,
        &sub,
        json!({"operation": "change", "price_id": super_}),
    )
    .await;
    assert_eq!(s["items"][0]["since"], json!("2024-04-01"));
    assert!(advance(&api, "2024-03-31T10:00:00Z").await.is_empty());
    let got = advance(&api, "2024-04-01T10:00:00Z").await;
    assert_eq!(
        lines(&got[0]),
        want(
            &[("recurring", "2024-04-01", "2024-05-01", "1000.00")],
            "1000.00"
        )
    );

    // super → sports with an explicit immediate timing: the request wins over the
    // catch-all. 21 of April's 30 days: −700.00 + 350.00.
    clock(&api, "2024-04-10T06:00:00Z").await;
    let s = operate(
        &api,
        &sub,
        json!({"operation": "change", "price_id": sports, "timing": "immediate"}),
    )
    .await;
    assert_eq!(s["items"][0]["since"], json!("2024-04-10"));
    let got = advance(&api, "2024-04-10T10:00:00Z").await;
    let (mut rows, total) = lines(&got[0]);
    rows.sort();
    assert_eq!(
        (rows, total),
        want(
            &[
                ("recurring", "2024-04-10", "2024-05-01", "350.00"),
                ("repair", "2024-04-10", "2024-05-01", "-700.00"),
            ],
            "-350.00"
        )
    );
    // A quantity change is not a plan change: no rule applies, it is immediate.
    let s = operate(&api, &sub, json!({"operation": "change", "quantity": "2"})).await;
    assert_eq!(s["items"][0]["since"], json!("2024-04-10"));
    api.cleanup().await;
}

async fn bad_operations_change_nothing(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-03-01T06:00:00Z").await;
    let price = plan(&api, "plan", "30.00", "month").await;
    let eur = product(
        &api,
        json!({"code": "euro", "name": "Euro plan", "prices": [{"currency": "EUR", "amount": "30", "period": "month"}]}),
    )
    .await
    .remove(0);
    let addon = product(
        &api,
        json!({"code": "extra", "name": "Extra", "kind": "add_on", "prices": [{"currency": "USD", "amount": "5", "period": "month"}]}),
    )
    .await
    .remove(0);
    let acc = account(&api, json!({"bill_cycle_day": 1})).await;
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": price, "start_date": "2024-03-01"}),
    )
    .await;
    api.post_ok("/v1/billing/run", json!({}), 200).await;
    clock(&api, "2024-03-10T06:00:00Z").await;
    let before = api.counts().await;
    let path = format!("/v1/subscriptions/{sub}/operations");
    let cases = [
        (
            json!({"operation": "change", "quantity": "-1"}),
            422,
            "invalid_field",
            "quantity",
        ),
        (
            json!({"operation": "change", "price_id": eur}),
            422,
            "currency_mismatch",
            "price_id",
        ),
        (json!({"operation": "change"}), 422, "no_change", "price_id"),
        (
            json!({"operation": "change", "price_id": price}),
            422,
            "no_change",
            "price_id",
        ),
        (
            json!({"operation": "change", "quantity": "2", "effective_date": "2024-02-01"}),
            422,
            "before_service_start",
            "effective_date",
        ),
        (
            json!({"operation": "change", "quantity": "2", "effective_date": "2024-02-29"}),
            422,
            "before_service_start",
            "effective_date",
        ),
        (json!({"operation": "resume"}), 409, "not_suspended", ""),
        (json!({"operation": "renew"}), 422, "no_term", "operation"),
        (
            json!({"operation": "suspend", "timing": "end_of_period"}),
            422,
            "invalid_timing",
            "timing",
        ),
        (
            json!({"operation": "explode"}),
            400,
            "invalid_field",
            "operation",
        ),
    ];
    for (body, status, code, field) in cases {
        let r = api.post(&path, body.clone()).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.body);
        assert_eq!(r.body["code"], json!(code), "{body}: {}", r.body);
        if !field.is_empty() {
            assert_eq!(r.body["field"], json!(field), "{body}: {}", r.body);
        }
    }
    // An add-on without its base.
    let r = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": addon, "start_date": "2024-03-10"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].clone()),
        (422, json!("base_required"))
    );
    assert_eq!(api.counts().await, before);

    // A finalized invoice closes the past: changes may not be dated before it.
    clock(&api, "2024-04-02T06:00:00Z").await;
    api.post_ok("/v1/billing/run", json!({}), 200).await;
    let before = api.counts().await;
    let r = api
        .post(
            &path,
            json!({"operation": "change", "quantity": "2", "effective_date": "2024-03-20"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].clone()),
        (422, json!("effective_date_before_finalized"))
    );
    // Disconnect, then anything else is refused.
    operate(&api, &sub, json!({"operation": "disconnect"})).await;
    let after_disconnect = api.counts().await;
    assert_ne!(after_disconnect, before);
    for body in [
        json!({"operation": "disconnect"}),
        json!({"operation": "change", "quantity": "2"}),
        json!({"operation": "suspend"}),
    ] {
        let r = api.post(&path, body).await;
        assert_eq!(
            (r.status.as_u16(), r.body["code"].clone()),
            (409, json!("subscription_disconnected"))
        );
    }
    assert_eq!(api.counts().await, after_disconnect);
    api.cleanup().await;
}

async fn history_shows_changes_against_the_original(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-03-01T06:00:00Z").await;
    let price = plan(&api, "plan", "30.00", "month").await;
    let acc = account(&api, json!({"bill_cycle_day": 1})).await;
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": price, "start_date": "2024-03-01"}),
    )
    .await;
    operate(
        &api,
        &sub,
        json!({"operation": "change", "quantity": "3", "effective_date": "2024-03-15"}),
    )
    .await;
    operate(
        &api,
        &sub,
        json!({"operation": "suspend", "effective_date": "2024-04-01"}),
    )
    .await;
    let h = api
        .get(&format!("/v1/subscriptions/{sub}/history"))
        .await
        .body;
    let ops: Vec<(Value, Value, Value)> = h["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].clone(),
                v["operation"].clone(),
                v["effective_date"].clone(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        vec![
            (json!(1), json!("activate"), json!("2024-03-01")),
            (json!(2), json!("change"), json!("2024-03-15")),
            (json!(3), json!("suspend"), json!("2024-04-01")),
        ]
    );
    assert_eq!(h["versions"][1]["details"]["from"]["quantity"], json!("1"));
    assert_eq!(h["versions"][1]["details"]["to"]["quantity"], json!("3"));
    assert_eq!(h["original"][0]["quantity"], json!("1"));
    assert_eq!(h["current"][0]["quantity"], json!("3"));
    assert_eq!(h["current"][0]["since"], json!("2024-03-15"));
    // The suspension is scheduled: still active today.
    let s = api.get(&format!("/v1/subscriptions/{sub}")).await.body;
    assert_eq!(
        (s["status"].clone(), s["version"].clone()),
        (json!("active"), json!(3))
    );
    api.cleanup().await;
}
