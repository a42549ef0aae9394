//! Billing over a service's life through the HTTP API on a test clock, on both stores:
//! one-time charges at activation, trial and introductory price phases, early-termination
//! fees on a disconnect inside the contract term, what happens when a term ends (renew,
//! roll month to month, end), and whether the disconnect day is billed (B9).

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    one_time_fee_is_billed_at_activation,
    trial_and_introductory_phases_bill_at_their_prices,
    early_disconnect_charges_the_termination_fee,
    ended_terms_renew_roll_or_end,
    disconnect_day_counts_when_the_account_says_so,
    usage_reaching_a_threshold_is_invoiced_early,
    terminated_after_a_threshold_owes_the_prorated_plan,
    late_usage_and_voided_usage_are_re_rated,
    upcoming_invoice_shows_usage_to_date,
    status_follows_a_dated_suspension_on_its_day
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
    let mut b = json!({"currency": "USD", "payment_terms_days": 30, "bill_cycle_day": 1});
    for (k, v) in billing.as_object().unwrap() {
        b[k] = v.clone();
    }
    let body = json!({"kind": "business", "name": "Customer", "billing": b});
    api.post_ok("/v1/accounts", body, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Creates a product and answers its price ids in the order the request lists them.
async fn product(api: &TestApi, body: Value) -> Vec<String> {
    let codes: Vec<Value> = body["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    let created = api.post_ok("/v1/products", body, 201).await;
    let prices = created["prices"].as_array().unwrap();
    if codes.len() == 1 {
        return vec![prices[0]["id"].as_str().unwrap().to_string()];
    }
    codes
        .iter()
        .map(|c| {
            let p = prices.iter().find(|p| &p["code"] == c).unwrap();
            p["id"].as_str().unwrap().to_string()
        })
        .collect()
}

async fn subscribe(api: &TestApi, body: Value) -> Value {
    api.post_ok("/v1/subscriptions", body, 201).await
}

async fn operate(api: &TestApi, sub: &str, body: Value) -> Value {
    api.post_ok(&format!("/v1/subscriptions/{sub}/operations"), body, 200)
        .await
}

/// (invoice date, total) of each invoice.
fn dated_totals(invoices: &[Value]) -> Vec<(String, String)> {
    invoices
        .iter()
        .map(|i| {
            (
                i["invoice_date"].as_str().unwrap().to_string(),
                i["total"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// (kind, description, period start, period end, amount) of each line.
fn lines(invoice: &Value) -> Vec<(String, String, String, String, String)> {
    invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_string(),
                l["description"].as_str().unwrap().to_string(),
                l["period_start"].as_str().unwrap().to_string(),
                l["period_end"].as_str().unwrap().to_string(),
                l["amount"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn line(
    kind: &str,
    desc: &str,
    start: &str,
    end: &str,
    amount: &str,
) -> (String, String, String, String, String) {
    (
        kind.into(),
        desc.into(),
        start.into(),
        end.into(),
        amount.into(),
    )
}

async fn one_time_fee_is_billed_at_activation(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-03-10T06:00:00Z").await;
    let acc = account(&api, json!({})).await;
    let prices = product(
        &api,
        json!({"code": "fiber", "name": "Fiber", "prices": [
            {"code": "fiber-monthly", "currency": "USD", "amount": "50.00", "period": "month"},
            {"code": "fiber-install", "type": "one_time", "currency": "USD", "amount": "99.00"}]}),
    )
    .await;
    let other = product(
        &api,
        json!({"code": "tv", "name": "TV", "prices": [
            {"code": "tv-install", "type": "one_time", "currency": "USD", "amount": "20.00"}]}),
    )
    .await;

    // An item priced by another product is refused and nothing is created.
    let before = api.counts().await;
    let r = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": prices[0], "start_date": "2024-03-10",
                   "items": [{"price_id": other[0]}]}),
        )
        .await;
    assert_eq!(
        (
            r.status.as_u16(),
            r.body["code"].as_str(),
            r.body["field"].as_str()
        ),
        (422, Some("price_other_product"), Some("items[0].price_id"))
    );
    for (thresholds, field) in [
        (
            json!(["300.00", "200.00"]),
            "progressive_billing.thresholds[1]",
        ),
        (json!(["1.001"]), "progressive_billing.thresholds[0]"),
        (json!([]), "progressive_billing.thresholds"),
    ] {
        let r = api
            .post(
                "/v1/subscriptions",
                json!({"account_id": acc, "price_id": prices[0], "start_date": "2024-03-10",
                       "progressive_billing": {"thresholds": thresholds}}),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["field"].as_str()),
            (422, Some(field)),
            "{}",
            r.body
        );
    }
    assert_eq!(api.counts().await, before);

    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": prices[0], "start_date": "2024-03-10",
               "items": [{"price_id": prices[1]}]}),
    )
    .await;
    let id = sub["id"].as_str().unwrap();
    let invoices = advance(&api, "2024-03-10T12:00:00Z").await;
    assert_eq!(
        dated_totals(&invoices),
        [("2024-03-10".into(), "134.48".into())]
    );
    // 22/31 of 50.00 = 35.48 for the rest of March; the installation once, at activation.
    assert_eq!(
        lines(&invoices[0]),
        [
            line("recurring", "Fiber", "2024-03-10", "2024-04-01", "35.48"),
            line(
                "one_time",
                "Fiber (one-time charge)",
                "2024-03-10",
                "2024-03-11",
                "99.00"
            ),
        ]
    );
    let invoices = advance(&api, "2024-05-01T12:00:00Z").await;
    assert_eq!(
        dated_totals(&invoices),
        [
            ("2024-04-01".into(), "50.00".into()),
            ("2024-05-01".into(), "50.00".into())
        ]
    );

    // The one-time item cannot be changed; nothing changes.
    let install = sub["items"][1]["id"].as_str().unwrap();
    let before = api.counts().await;
    let r = api
        .post(
            &format!("/v1/subscriptions/{id}/operations"),
            json!({"operation": "change", "item_id": install, "quantity": "2"}),
        )
        .await;
    assert_eq!(
        (
            r.status.as_u16(),
            r.body["code"].as_str(),
            r.body["field"].as_str()
        ),
        (422, Some("one_time_not_changeable"), Some("item_id")),
        "{}",
        r.body
    );
    assert_eq!(api.counts().await, before);
    api.cleanup().await;
}

async fn trial_and_introductory_phases_bill_at_their_prices(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-01-01T06:00:00Z").await;
    let acc = account(&api, json!({})).await;
    let prices = product(
        &api,
        json!({"code": "saas", "name": "SaaS", "prices": [
            {"currency": "USD", "amount": "30.00", "period": "month", "phases": [
                {"kind": "trial", "days": 14, "adjustment": {"type": "free"}},
                {"kind": "introductory", "periods": 3, "adjustment": {"type": "percent_off", "percent": "50"}},
                {"kind": "evergreen"}]}]}),
    )
    .await;
    subscribe(
        &api,
        json!({"account_id": acc, "price_id": prices[0], "start_date": "2024-01-01"}),
    )
    .await;
    let invoices = advance(&api, "2024-05-01T12:00:00Z").await;
    // Trial 01-01 → 01-15 free; 50% off for three months from 01-15 (to 04-15); then
    // the list price. Each phase change is invoiced on its day, prorated to the cycle.
    assert_eq!(
        dated_totals(&invoices),
        [
            ("2024-01-01".into(), "0.00".into()),
            ("2024-01-15".into(), "8.23".into()),
            ("2024-02-01".into(), "15.00".into()),
            ("2024-03-01".into(), "15.00".into()),
            ("2024-04-01".into(), "7.00".into()),
            ("2024-04-15".into(), "16.00".into()),
            ("2024-05-01".into(), "30.00".into()),
        ]
    );
    assert_eq!(
        lines(&invoices[0]),
        [line(
            "recurring",
            "SaaS (trial)",
            "2024-01-01",
            "2024-01-15",
            "0.00"
        )]
    );
    // 17/31 of 15.00 = 8.2258…
    assert_eq!(
        lines(&invoices[1]),
        [line(
            "recurring",
            "SaaS (introductory)",
            "2024-01-15",
            "2024-02-01",
            "8.23"
        )]
    );
    assert_eq!(
        invoices[1]["lines"][0]["detail"],
        json!({"phase": "introductory"})
    );
    assert_eq!(invoices[1]["lines"][0]["unit_amount"], json!("15.00"));
    // 14/30 of 15.00, then 16/30 of 30.00.
    assert_eq!(
        lines(&invoices[4]),
        [line(
            "recurring",
            "SaaS (introductory)",
            "2024-04-01",
            "2024-04-15",
            "7.00"
        )]
    );
    assert_eq!(
        lines(&invoices[5]),
        [line(
            "recurring",
            "SaaS",
            "2024-04-15",
            "2024-05-01",
            "16.00"
        )]
    );
    assert_eq!(invoices[5]["lines"][0]["detail"], Value::Null);
    api.cleanup().await;
}

async fn term(api: &TestApi, code: &str, months: u32, end_of_term: &str, etl: Value) {
    let body = json!({"code": code, "name": format!("{months} months"), "length_months": months,
                      "end_of_term": end_of_term, "etl": etl});
    let r = api
        .call(
            "PUT",
            &format!("/v1/terms/{code}"),
            Some(&api.key),
            Some(body),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
}

async fn early_disconnect_charges_the_termination_fee(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-01-01T06:00:00Z").await;
    term(
        &api,
        "12m",
        12,
        "renew_same_term",
        json!({"policy": "remaining_months"}),
    )
    .await;
    let acc = account(&api, json!({})).await;
    let plan = product(
        &api,
        json!({"code": "fiber", "name": "Fiber", "prices": [
            {"currency": "USD", "amount": "40.00", "period": "month"}]}),
    )
    .await
    .remove(0);
    let body =
        json!({"account_id": acc, "price_id": plan, "start_date": "2024-01-01", "term": "12m"});
    let charged = subscribe(&api, body.clone()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let waived = subscribe(&api, body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let invoices = advance(&api, "2024-04-10T12:00:00Z").await;
    assert_eq!(invoices.len(), 4);
    assert_eq!(invoices[3]["total"], json!("80.00"));

    operate(&api, &charged, json!({"operation": "disconnect"})).await;
    operate(
        &api,
        &waived,
        json!({"operation": "disconnect", "waive_etl": true}),
    )
    .await;
    let invoices = advance(&api, "2024-04-10T18:00:00Z").await;
    // Unused April (04-10 → 05-01, 21/30 of 40.00) is credited on both; the one not
    // waived owes the 9 months left of its 12-month term (3 have begun) × 40.00.
    assert_eq!(
        dated_totals(&invoices),
        [("2024-04-10".into(), "304.00".into())]
    );
    assert_eq!(
        lines(&invoices[0]),
        [
            line(
                "repair",
                "Fiber (credit for unused time)",
                "2024-04-10",
                "2024-05-01",
                "-28.00"
            ),
            line(
                "repair",
                "Fiber (credit for unused time)",
                "2024-04-10",
                "2024-05-01",
                "-28.00"
            ),
            line(
                "early_termination",
                "Early termination fee (12 months)",
                "2024-04-10",
                "2024-04-11",
                "360.00"
            ),
        ]
    );
    let etl = &invoices[0]["lines"][2];
    assert_eq!(etl["subscription_id"], json!(charged));
    assert_eq!(
        (
            etl["detail"]["remaining_months"].clone(),
            etl["detail"]["monthly_rate"].clone(),
            etl["detail"]["term_end"].clone()
        ),
        (json!("9"), json!("40.00"), json!("2025-01-01"))
    );
    // Billed once.
    assert_eq!(
        advance(&api, "2024-04-11T12:00:00Z").await,
        Vec::<Value>::new()
    );
    api.cleanup().await;
}

async fn term_of(api: &TestApi, sub: &str) -> (Value, Value, Value, Value) {
    let s = api.get(&format!("/v1/subscriptions/{sub}")).await.body;
    (
        s["status"].clone(),
        s["end_date"].clone(),
        s["term"]["start"].clone(),
        s["term"]["end"].clone(),
    )
}

async fn ended_terms_renew_roll_or_end(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-01-01T06:00:00Z").await;
    let fee = json!({"policy": "fixed", "amount": "100"});
    term(&api, "12m-renew", 12, "renew_same_term", fee.clone()).await;
    term(&api, "3m-roll", 3, "roll_month_to_month", fee.clone()).await;
    term(&api, "3m-end", 3, "cancel", fee).await;
    let acc = account(&api, json!({})).await;
    let plan = product(
        &api,
        json!({"code": "fiber", "name": "Fiber", "prices": [
            {"currency": "USD", "amount": "40.00", "period": "month"}]}),
    )
    .await
    .remove(0);
    let mut subs = Vec::new();
    for t in ["12m-renew", "3m-roll", "3m-end"] {
        let body =
            json!({"account_id": acc, "price_id": plan, "start_date": "2024-01-01", "term": t});
        subs.push(
            subscribe(&api, body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let invoices = advance(&api, "2024-04-02T12:00:00Z").await;
    // The ended term stops billing on its end without a fee; the others bill April.
    assert_eq!(
        dated_totals(&invoices),
        [
            ("2024-01-01".into(), "120.00".into()),
            ("2024-02-01".into(), "120.00".into()),
            ("2024-03-01".into(), "120.00".into()),
            ("2024-04-01".into(), "80.00".into()),
        ]
    );
    assert_eq!(
        term_of(&api, &subs[2]).await,
        (
            json!("disconnected"),
            json!("2024-04-01"),
            json!("2024-01-01"),
            json!("2024-04-01")
        )
    );
    let h = api
        .get(&format!("/v1/subscriptions/{}/history", subs[2]))
        .await
        .body;
    let last = h["versions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["operation"].clone(),
            last["effective_date"].clone(),
            last["details"]["reason"].clone()
        ),
        (
            json!("disconnect"),
            json!("2024-04-01"),
            json!("contract term ended")
        )
    );
    assert_eq!(
        term_of(&api, &subs[1]).await,
        (
            json!("active"),
            Value::Null,
            json!("2024-04-01"),
            json!("2024-05-01")
        )
    );
    assert_eq!(
        term_of(&api, &subs[0]).await,
        (
            json!("active"),
            Value::Null,
            json!("2024-01-01"),
            json!("2025-01-01")
        )
    );

    advance(&api, "2025-01-02T12:00:00Z").await;
    assert_eq!(
        term_of(&api, &subs[0]).await,
        (
            json!("active"),
            Value::Null,
            json!("2025-01-01"),
            json!("2026-01-01")
        )
    );
    assert_eq!(
        term_of(&api, &subs[1]).await,
        (
            json!("active"),
            Value::Null,
            json!("2025-01-01"),
            json!("2025-02-01")
        )
    );
    let h = api
        .get(&format!("/v1/subscriptions/{}/history", subs[0]))
        .await
        .body;
    let last = h["versions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["operation"].clone(),
            last["effective_date"].clone(),
            last["details"]["automatic"].clone(),
            last["details"]["to"].clone()
        ),
        (
            json!("renew"),
            json!("2025-01-01"),
            json!(true),
            json!("2026-01-01")
        )
    );
    // Rolling month to month: one renewal per month from April to January.
    let h = api
        .get(&format!("/v1/subscriptions/{}/history", subs[1]))
        .await
        .body;
    let renewals = h["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["operation"] == "renew")
        .count();
    assert_eq!(renewals, 10);
    api.cleanup().await;
}

/// B9 (Lago): 910.00 a quarter in arrears, calendar quarters; started 2024-05-20 and
/// terminated 2024-06-20 counting the day → 32 of the quarter's 91 days = 320.00. Kill
/// Bill's convention (the default) ends the service as 06-20 begins: 31 days = 310.00.
async fn disconnect_day_counts_when_the_account_says_so(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-05-20T10:00:00Z").await;
    let plan = product(
        &api,
        json!({"code": "quarterly", "name": "Quarterly", "prices": [
            {"currency": "USD", "amount": "910.00", "period": "quarter", "timing": "in_arrears"}]}),
    )
    .await
    .remove(0);
    let lago = account(&api, json!({"termination_day": "included"})).await;
    let kill_bill = account(&api, json!({})).await;
    let got = api.get(&format!("/v1/accounts/{lago}")).await.body;
    assert_eq!(got["billing"]["termination_day"], json!("included"));
    let mut subs = Vec::new();
    for acc in [&lago, &kill_bill] {
        let body = json!({"account_id": acc, "price_id": plan, "start_date": "2024-05-20"});
        subs.push(
            subscribe(&api, body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    advance(&api, "2024-06-20T11:00:00Z").await;
    for s in &subs {
        operate(&api, s, json!({"operation": "disconnect"})).await;
    }
    let s = api
        .get(&format!("/v1/subscriptions/{}", subs[0]))
        .await
        .body;
    assert_eq!(
        (s["status"].clone(), s["end_date"].clone()),
        (json!("pending_disconnect"), json!("2024-06-21"))
    );
    let invoices = advance(&api, "2024-06-21T12:00:00Z").await;
    let by_account = |acc: &str| {
        invoices
            .iter()
            .find(|i| i["account_id"] == acc)
            .map(|i| {
                (
                    lines(i),
                    i["lines"][0]["proration"]["numerator"].clone(),
                    i["lines"][0]["proration"]["denominator"].clone(),
                )
            })
            .unwrap()
    };
    assert_eq!(
        by_account(&lago),
        (
            vec![line(
                "recurring",
                "Quarterly",
                "2024-05-20",
                "2024-06-21",
                "320.00"
            )],
            json!(32),
            json!(91)
        )
    );
    assert_eq!(
        by_account(&kill_bill),
        (
            vec![line(
                "recurring",
                "Quarterly",
                "2024-05-20",
                "2024-06-20",
                "310.00"
            )],
            json!(31),
            json!(91)
        )
    );
    // The convention is fixed once the account bills.
    let r = api
        .call(
            "PATCH",
            &format!("/v1/accounts/{lago}"),
            Some(&api.key),
            Some(json!({"billing": {"termination_day": "excluded"}})),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (409, Some("billing_cycle_locked"))
    );
    api.cleanup().await;
}

/// B12 (Lago progressive billing): 31.00 a month in arrears plus 0.0002 per unit of a
/// sum metric, threshold 200.00, from 2022-12-01.
async fn b12_setup(api: &TestApi, termination_day: &str) -> (String, String) {
    metered_setup(api, termination_day, json!({"thresholds": ["200.00"]})).await
}

async fn metered_setup(
    api: &TestApi,
    termination_day: &str,
    progressive: Value,
) -> (String, String) {
    clock(api, "2022-12-01T06:00:00Z").await;
    let doc = json!({
        "metrics": [{"code": "units", "name": "Units", "aggregation": "sum", "field": "quantity"}],
        "products": [{"code": "metered", "name": "Metered", "status": "active", "prices": [
            {"code": "metered-plan", "currency": "USD", "amount": "31.00", "period": "month", "timing": "in_arrears"},
            {"code": "metered-units", "type": "usage", "currency": "USD", "metric": "units", "period": "month",
             "model": {"type": "per_unit", "unit_amount": "0.0002"}}]}]});
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
    let acc = account(api, json!({"termination_day": termination_day})).await;
    let sub = subscribe(
        api,
        json!({"account_id": acc, "price_id": price("metered-plan"), "start_date": "2022-12-01",
               "items": [{"price_id": price("metered-units"), "usage_key": "METER-1"}],
               "progressive_billing": progressive}),
    )
    .await;
    assert_eq!(sub["progressive_billing"], progressive);
    (acc, sub["id"].as_str().unwrap().to_string())
}

async fn send_units(api: &TestApi, id: &str, at: &str, units: &str) {
    let r = api
        .post_ok(
            "/v1/events",
            json!({"events": [{"id": id, "item_key": "METER-1", "metric": "units", "timestamp": at, "quantity": units}]}),
            200,
        )
        .await;
    assert_eq!(r["accepted"], json!(1), "{r}");
}

async fn usage_reaching_a_threshold_is_invoiced_early(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    b12_setup(&api, "excluded").await;
    assert_eq!(
        advance(&api, "2022-12-06T09:00:00Z").await,
        Vec::<Value>::new()
    );
    send_units(&api, "e1", "2022-12-06T08:00:00Z", "1000000").await;
    let early = advance(&api, "2022-12-06T18:00:00Z").await;
    assert_eq!(
        dated_totals(&early),
        [("2022-12-06".into(), "200.00".into())]
    );
    assert_eq!(
        lines(&early[0]),
        [line(
            "progressive_usage",
            "Metered (usage to date, threshold reached)",
            "2022-12-01",
            "2022-12-07",
            "200.00"
        )]
    );
    advance(&api, "2022-12-16T09:00:00Z").await;
    send_units(&api, "e2", "2022-12-16T08:00:00Z", "1000000").await;
    // The one threshold is passed already: no second early invoice.
    assert_eq!(
        advance(&api, "2022-12-31T18:00:00Z").await,
        Vec::<Value>::new()
    );
    let last = advance(&api, "2023-01-01T12:00:00Z").await;
    // Fees 431.00 (31.00 + 2,000,000 × 0.0002), less the 200.00 invoiced early.
    assert_eq!(
        dated_totals(&last),
        [("2023-01-01".into(), "231.00".into())]
    );
    assert_eq!(
        lines(&last[0]),
        [
            line("recurring", "Metered", "2022-12-01", "2023-01-01", "31.00"),
            line(
                "usage",
                "Metered (usage)",
                "2022-12-01",
                "2023-01-01",
                "400.00"
            ),
            line(
                "progressive_credit",
                "Metered (usage invoiced early)",
                "2022-12-01",
                "2023-01-01",
                "-200.00"
            ),
        ]
    );
    api.cleanup().await;
}

/// B12's termination variant: terminated on Dec 18 after one threshold, the day counted
/// (Lago) → 18/31 of the plan + 200.00 usage − 200.00 invoiced early = 18.00.
async fn terminated_after_a_threshold_owes_the_prorated_plan(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let (_, sub) = b12_setup(&api, "included").await;
    advance(&api, "2022-12-06T09:00:00Z").await;
    send_units(&api, "e1", "2022-12-06T08:00:00Z", "1000000").await;
    let early = advance(&api, "2022-12-06T18:00:00Z").await;
    assert_eq!(
        dated_totals(&early),
        [("2022-12-06".into(), "200.00".into())]
    );
    assert_eq!(
        advance(&api, "2022-12-18T09:00:00Z").await,
        Vec::<Value>::new()
    );
    operate(&api, &sub, json!({"operation": "disconnect"})).await;
    let last = advance(&api, "2022-12-19T12:00:00Z").await;
    assert_eq!(dated_totals(&last), [("2022-12-19".into(), "18.00".into())]);
    let amounts: Vec<String> = lines(&last[0]).into_iter().map(|l| l.4).collect();
    assert_eq!(amounts, ["18.00", "200.00", "-200.00"]);
    api.cleanup().await;
}

/// Late events for a billed period, and a voided invoice that billed usage, are re-rated
/// on the next invoice as the difference from what the period's other lines billed.
async fn late_usage_and_voided_usage_are_re_rated(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    metered_setup(&api, "excluded", Value::Null).await;
    advance(&api, "2022-12-05T09:00:00Z").await;
    send_units(&api, "e1", "2022-12-05T08:00:00Z", "1000").await;
    let december = advance(&api, "2023-01-01T12:00:00Z").await;
    assert_eq!(
        dated_totals(&december),
        [("2023-01-01".into(), "31.20".into())]
    );

    // 500,000 units on Dec 20 arrive after December is invoiced: 100.00 more.
    send_units(&api, "late", "2022-12-20T08:00:00Z", "500000").await;
    let late = advance(&api, "2023-01-02T12:00:00Z").await;
    assert_eq!(
        dated_totals(&late),
        [("2023-01-02".into(), "100.00".into())]
    );
    assert_eq!(
        lines(&late[0]),
        [line(
            "usage_adjustment",
            "Metered (usage re-rated)",
            "2022-12-01",
            "2023-01-01",
            "100.00"
        )]
    );
    assert_eq!(late[0]["lines"][0]["quantity"], json!("501000"));
    // Nothing more to adjust.
    assert_eq!(
        advance(&api, "2023-01-06T12:00:00Z").await,
        Vec::<Value>::new()
    );

    // Voiding the January 1 invoice returns its usage (0.20) to unbilled.
    let inv = december[0]["id"].as_str().unwrap();
    api.post_ok(
        &format!("/v1/invoices/{inv}/void"),
        json!({"reason": "wrong address"}),
        200,
    )
    .await;
    // The voided plan fee is charged again by reconciliation, the usage re-rated.
    let again = advance(&api, "2023-01-07T12:00:00Z").await;
    assert_eq!(
        lines(&again[0]),
        [
            line("recurring", "Metered", "2022-12-01", "2023-01-01", "31.00"),
            line(
                "usage_adjustment",
                "Metered (usage re-rated)",
                "2022-12-01",
                "2023-01-01",
                "0.20"
            )
        ]
    );
    api.cleanup().await;
}

/// A suspension recorded ahead, effective inside the billed period: on its day billing
/// credits the rest of the period and the stored status is `suspended` (the reconciling
/// pass must not write back the status it read before syncing).
async fn status_follows_a_dated_suspension_on_its_day(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    clock(&api, "2024-04-01T06:00:00Z").await;
    let acc = account(&api, json!({})).await;
    let plan = product(
        &api,
        json!({"code": "plan", "name": "Plan", "prices": [
            {"currency": "USD", "amount": "30.00", "period": "month"}]}),
    )
    .await
    .remove(0);
    let sub = subscribe(
        &api,
        json!({"account_id": acc, "price_id": plan, "start_date": "2024-04-01"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    advance(&api, "2024-04-01T12:00:00Z").await;
    operate(
        &api,
        &sub,
        json!({"operation": "suspend", "effective_date": "2024-04-21"}),
    )
    .await;
    let credit = advance(&api, "2024-04-21T12:00:00Z").await;
    assert_eq!(
        dated_totals(&credit),
        [("2024-04-21".into(), "-10.00".into())]
    );
    let s = api.get(&format!("/v1/subscriptions/{sub}")).await.body;
    assert_eq!(s["status"], json!("suspended"));
    api.cleanup().await;
}

/// The upcoming invoice is computed on read: the plan in arrears and the usage received so
/// far in the open period; nothing is stored.
async fn upcoming_invoice_shows_usage_to_date(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let (acc, _) = metered_setup(&api, "excluded", Value::Null).await;
    advance(&api, "2022-12-10T09:00:00Z").await;
    send_units(&api, "e1", "2022-12-05T08:00:00Z", "250000").await;
    let before = api.counts().await;
    let path = format!("/v1/accounts/{acc}/upcoming-invoice");
    let up = api.get(&path).await;
    assert_eq!(up.status.as_u16(), 200, "{}", up.body);
    assert_eq!(
        (
            up.body["id"].clone(),
            up.body["status"].clone(),
            up.body["invoice_date"].clone(),
            up.body["total"].clone()
        ),
        (
            json!("upcoming"),
            json!("upcoming"),
            json!("2023-01-01"),
            json!("81.00")
        )
    );
    assert_eq!(
        lines(&up.body),
        [
            line("recurring", "Metered", "2022-12-01", "2023-01-01", "31.00"),
            line(
                "usage",
                "Metered (usage)",
                "2022-12-01",
                "2023-01-01",
                "50.00"
            ),
        ]
    );
    // Nothing was stored by reading it.
    assert_eq!(api.counts().await, before);
    send_units(&api, "e2", "2022-12-09T08:00:00Z", "100000").await;
    assert_eq!(api.get(&path).await.body["total"], json!("101.00"));
    let missing = api.get("/v1/accounts/acc_missing/upcoming-invoice").await;
    assert_eq!(missing.status.as_u16(), 404);
    api.cleanup().await;
}
