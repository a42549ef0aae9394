//! PUBLIC-EXAMPLES B1 (Kill Bill: $24.95/month in advance, leading proration over the
//! surrounding billing period, actual days) reproduced through the HTTP API on a test clock,
//! on both stores.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    b1_all_rows_through_the_api,
    invoices_are_numbered_gaplessly_on_finalize
);

async fn account(api: &TestApi, name: &str, bcd: Option<i64>) -> String {
    let mut billing = json!({"currency": "USD", "payment_terms_days": 30});
    if let Some(d) = bcd {
        billing["bill_cycle_day"] = json!(d);
    }
    let body = json!({"kind": "business", "name": name, "billing": billing});
    api.post_ok("/v1/accounts", body, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn monthly_price(api: &TestApi) -> String {
    let body = json!({"code": "plan", "name": "Plan", "prices": [{"currency": "USD", "amount": "24.95", "period": "month"}]});
    api.post_ok("/v1/products", body, 201).await["prices"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn subscribe(api: &TestApi, account: &str, price: &str, start: &str) {
    let body = json!({"account_id": account, "price_id": price, "start_date": start});
    api.post_ok("/v1/subscriptions", body, 201).await;
}

async fn advance(api: &TestApi, to: &str) -> Vec<Value> {
    let r = api
        .post_ok("/v1/test-clock/advance", json!({"to": to}), 200)
        .await;
    assert_eq!(r["errors"], json!([]));
    r["invoices"].as_array().unwrap().clone()
}

/// (period start, period end, amount) of a line.
type LineSummary = (String, String, String);
/// (account, invoice date, total, lines) of an invoice.
type InvoiceSummary = (String, String, String, Vec<LineSummary>);

fn summary(invoices: &[Value]) -> Vec<InvoiceSummary> {
    let s = |v: &Value| v.as_str().unwrap().to_string();
    invoices
        .iter()
        .map(|i| {
            let lines = i["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| (s(&l["period_start"]), s(&l["period_end"]), s(&l["amount"])))
                .collect();
            (
                s(&i["account_id"]),
                s(&i["invoice_date"]),
                s(&i["total"]),
                lines,
            )
        })
        .collect()
}

fn inv(
    acc: &str,
    date: &str,
    total: &str,
    lines: &[(&str, &str, &str)],
) -> (String, String, String, Vec<(String, String, String)>) {
    (
        acc.into(),
        date.into(),
        total.into(),
        lines
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect(),
    )
}

async fn b1_all_rows_through_the_api(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2021-09-16T06:00:00Z"}),
        200,
    )
    .await;
    let price = monthly_price(&api).await;
    let a = account(&api, "A (BCD 25)", Some(25)).await;
    let b = account(&api, "B (BCD 25)", Some(25)).await;
    let c = account(&api, "C (no BCD)", None).await;
    subscribe(&api, &a, &price, "2021-09-16").await;
    subscribe(&api, &b, &price, "2021-09-17").await;
    subscribe(&api, &a, &price, "2021-09-30").await; // A's second subscription
    subscribe(&api, &c, &price, "2021-09-17").await; // sets C's BCD to 17
    subscribe(&api, &c, &price, "2021-09-25").await;
    assert_eq!(
        api.get(&format!("/v1/accounts/{c}")).await.body["billing"]["bill_cycle_day"],
        json!(17)
    );

    // Row 1: BCD 25, start 09-16 → $7.24 for 09-16 → 09-25 (9/31).
    let got = advance(&api, "2021-09-16T12:00:00Z").await;
    assert_eq!(
        summary(&got),
        vec![inv(
            &a,
            "2021-09-16",
            "7.24",
            &[("2021-09-16", "2021-09-25", "7.24")]
        )]
    );
    let line = &got[0]["lines"][0];
    assert_eq!(line["proration"]["numerator"], json!(9));
    assert_eq!(line["proration"]["denominator"], json!(31));
    assert_eq!(got[0]["status"], json!("finalized"));
    assert_eq!(got[0]["due_date"], json!("2021-10-16"));

    // Row 2: BCD 25, start 09-17 → $6.44 (8/31). C's first subscription is a full cycle.
    let got = advance(&api, "2021-09-17T12:00:00Z").await;
    let mut s = summary(&got);
    s.sort();
    let mut want = vec![
        inv(
            &b,
            "2021-09-17",
            "6.44",
            &[("2021-09-17", "2021-09-25", "6.44")],
        ),
        inv(
            &c,
            "2021-09-17",
            "24.95",
            &[("2021-09-17", "2021-10-17", "24.95")],
        ),
    ];
    want.sort();
    assert_eq!(s, want);

    // Row 4: BCD set to 17 by the first subscription, second starts 09-25 → $18.30 (22/30).
    let got = advance(&api, "2021-09-25T12:00:00Z").await;
    let mut s = summary(&got);
    s.sort();
    let mut want = vec![
        inv(
            &a,
            "2021-09-25",
            "24.95",
            &[("2021-09-25", "2021-10-25", "24.95")],
        ),
        inv(
            &b,
            "2021-09-25",
            "24.95",
            &[("2021-09-25", "2021-10-25", "24.95")],
        ),
        inv(
            &c,
            "2021-09-25",
            "18.30",
            &[("2021-09-25", "2021-10-17", "18.30")],
        ),
    ];
    want.sort();
    assert_eq!(s, want);

    // Row 3: the second subscription on BCD 25 from 09-30 → $20.79 (25/30).
    let got = advance(&api, "2021-09-30T12:00:00Z").await;
    assert_eq!(
        summary(&got),
        vec![inv(
            &a,
            "2021-09-30",
            "20.79",
            &[("2021-09-30", "2021-10-25", "20.79")]
        )]
    );

    // Next full cycles: C on the 17th ($49.90 for both), A and B on the 25th; A's two
    // subscriptions on one BCD make one invoice of $49.90.
    let got = advance(&api, "2021-10-25T12:00:00Z").await;
    let mut s = summary(&got);
    s.sort();
    let mut want = vec![
        inv(
            &c,
            "2021-10-17",
            "49.90",
            &[
                ("2021-10-17", "2021-11-17", "24.95"),
                ("2021-10-17", "2021-11-17", "24.95"),
            ],
        ),
        inv(
            &a,
            "2021-10-25",
            "49.90",
            &[
                ("2021-10-25", "2021-11-25", "24.95"),
                ("2021-10-25", "2021-11-25", "24.95"),
            ],
        ),
        inv(
            &b,
            "2021-10-25",
            "24.95",
            &[("2021-10-25", "2021-11-25", "24.95")],
        ),
    ];
    want.sort();
    assert_eq!(s, want);

    // Reading back: A has exactly four invoices, numbered, none twice.
    let list = api.get(&format!("/v1/invoices?account_id={a}")).await.body;
    let totals: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["total"].as_str().unwrap())
        .collect();
    assert_eq!(totals, ["7.24", "24.95", "20.79", "49.90"]);
    // Billing again at the same instant creates nothing.
    let again = api.post_ok("/v1/billing/run", json!({}), 200).await;
    assert_eq!(again["invoices"], json!([]));
    api.cleanup().await;
}

async fn invoices_are_numbered_gaplessly_on_finalize(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let price = monthly_price(&api).await;
    let a = account(&api, "A", Some(1)).await;
    subscribe(&api, &a, &price, "2024-01-15").await;
    // Drafts for everything due by 2024-03-01: 01-15 (partial), 02-01, 03-01.
    let r = api
        .post_ok(
            &format!("/v1/accounts/{a}/bill"),
            json!({"as_of": "2024-03-01"}),
            200,
        )
        .await;
    let drafts = r["invoices"].as_array().unwrap();
    assert_eq!(drafts.len(), 3);
    assert!(drafts
        .iter()
        .all(|i| i["status"] == "draft" && i["number"].is_null()));
    // 17/31 × 24.95 = 13.6822… → 13.68
    assert_eq!(drafts[0]["total"], json!("13.68"));
    let ids: Vec<String> = drafts
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    // Finalize out of order: numbers follow finalization order without gaps.
    for (id, want) in [
        (&ids[2], "INV-000001"),
        (&ids[0], "INV-000002"),
        (&ids[1], "INV-000003"),
    ] {
        let f = api
            .post_ok(&format!("/v1/invoices/{id}/finalize"), json!({}), 200)
            .await;
        assert_eq!(f["number"], json!(want));
        assert_eq!(f["status"], json!("finalized"));
    }
    // A finalized invoice cannot be finalized again, and the failed attempt takes no number.
    let again = api
        .post(&format!("/v1/invoices/{}/finalize", ids[0]), json!({}))
        .await;
    assert_eq!(again.status.as_u16(), 409);
    assert_eq!(again.body["code"], json!("invoice_not_draft"));
    let r = api
        .post_ok(
            &format!("/v1/accounts/{a}/bill"),
            json!({"as_of": "2024-04-01", "finalize": true}),
            200,
        )
        .await;
    assert_eq!(r["invoices"][0]["number"], json!("INV-000004"));
    api.cleanup().await;
}
