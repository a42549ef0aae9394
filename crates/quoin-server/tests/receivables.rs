//! Receivables through the HTTP API on both stores: PUBLIC-EXAMPLES B15 (Kill Bill's
//! credit balance arithmetic) end to end, payments, refunds, credit notes, voids, the test
//! gateway, CSV import, balance and aging; rejected input changes nothing.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    b15_four_figures_through_the_api,
    payments_refunds_and_events,
    bad_input_is_rejected_and_changes_nothing,
    finalized_invoices_cannot_be_modified,
    void_and_credit_notes,
    test_gateway_charges_and_declines,
    csv_import_records_valid_rows_and_reports_the_rest,
    aging_buckets_as_of_the_tenant_today,
    negative_invoice_becomes_account_credit,
);

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

async fn account(api: &TestApi, name: &str) -> String {
    let body = json!({"kind": "business", "name": name,
        "billing": {"currency": "USD", "payment_terms_days": 30, "bill_cycle_day": 1}});
    s(&api.post_ok("/v1/accounts", body, 201).await["id"]).to_string()
}

async fn price(api: &TestApi, code: &str, amount: &str) -> String {
    let body = json!({"code": code, "name": code,
        "prices": [{"currency": "USD", "amount": amount, "period": "month"}]});
    s(&api.post_ok("/v1/products", body, 201).await["prices"][0]["id"]).to_string()
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

fn invoice_of<'a>(invoices: &'a [Value], account: &str) -> &'a Value {
    invoices
        .iter()
        .find(|i| i["account_id"] == json!(account))
        .unwrap_or_else(|| panic!("no invoice for {account}"))
}

async fn pay(api: &TestApi, account: &str, amount: &str) -> Value {
    api.post_ok(
        "/v1/payments",
        json!({"account_id": account, "amount": amount, "currency": "USD", "method": "bank_transfer"}),
        201,
    )
    .await
}

async fn balance(api: &TestApi, account: &str) -> Value {
    let r = api.get(&format!("/v1/accounts/{account}/balance")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn settlement(api: &TestApi, invoice: &str) -> Value {
    let r = api.get(&format!("/v1/invoices/{invoice}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["settlement"].clone()
}

/// A tenant on a test clock at 2026-01-01 with one $100 invoice per named account.
async fn with_invoices(api: &TestApi, names: &[&str]) -> Vec<(String, String)> {
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2026-01-01T06:00:00Z"}),
        200,
    )
    .await;
    let p = price(api, "plan100", "100.00").await;
    let mut accounts = Vec::new();
    for n in names {
        let a = account(api, n).await;
        subscribe(api, &a, &p, "2026-01-01").await;
        accounts.push(a);
    }
    let invoices = advance(api, "2026-01-01T12:00:00Z").await;
    accounts
        .into_iter()
        .map(|a| {
            let i = s(&invoice_of(&invoices, &a)["id"]).to_string();
            (a, i)
        })
        .collect()
}

async fn events(api: &TestApi) -> Vec<Value> {
    let r = api.get("/v1/events?limit=500").await;
    r.body["data"].as_array().unwrap().clone()
}

fn topics_for(events: &[Value], aggregate: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["aggregate_id"] == json!(aggregate))
        .map(|e| s(&e["topic"]).to_string())
        .collect()
}

async fn b15_four_figures_through_the_api(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2026-01-01T06:00:00Z"}),
        200,
    )
    .await;
    let p100 = price(&api, "plan100", "100.00").await;
    let p249 = price(&api, "plan249", "249.95").await;
    let credit_first = account(&api, "Credit first").await;
    let adjusted = account(&api, "Adjusted").await;
    let refunded = account(&api, "Refunded").await;
    let beatrix = account(&api, "Beatrix").await;

    // 1. Account credit of $20, then a $100 invoice → open $80.
    let cn = api
        .post_ok(
            &format!("/v1/accounts/{credit_first}/credits"),
            json!({"amount": "20.00", "currency": "USD", "reason": "goodwill"}),
            201,
        )
        .await;
    assert_eq!(cn["number"], json!("CN-000001"));
    assert_eq!(cn["kind"], json!("account_credit"));
    assert_eq!(
        balance(&api, &credit_first).await["balance"],
        json!("-20.00")
    );
    for (a, p) in [
        (&credit_first, &p100),
        (&adjusted, &p100),
        (&refunded, &p100),
        (&beatrix, &p249),
    ] {
        subscribe(&api, a, p, "2026-01-01").await;
    }
    let jan = advance(&api, "2026-01-01T12:00:00Z").await;
    let inv1 = s(&invoice_of(&jan, &credit_first)["id"]).to_string();
    let st = settlement(&api, &inv1).await;
    assert_eq!(
        st,
        json!({"payment_status": "partially_paid", "paid": "20.00", "credited": "0.00", "open": "80.00"})
    );
    let b = balance(&api, &credit_first).await;
    assert_eq!(b["balance"], json!("80.00"));
    assert_eq!(b["unapplied_credit"], json!("0.00"));
    assert_eq!(b["open_invoices"][0]["open"], json!("80.00"));

    // 2. A $100 paid invoice adjusted by $10 → charged 90, account credit +10, invoice
    //    balance 0 (the account is in credit by the $10).
    let inv2 = s(&invoice_of(&jan, &adjusted)["id"]).to_string();
    pay(&api, &adjusted, "100.00").await;
    assert_eq!(
        settlement(&api, &inv2).await["payment_status"],
        json!("paid")
    );
    api.post_ok(
        &format!("/v1/invoices/{inv2}/credit-notes"),
        json!({"amount": "10.00", "reason": "item adjustment"}),
        201,
    )
    .await;
    assert_eq!(
        settlement(&api, &inv2).await,
        json!({"payment_status": "paid", "paid": "90.00", "credited": "10.00", "open": "0.00"})
    );
    let b = balance(&api, &adjusted).await;
    assert_eq!(b["unapplied_credit"], json!("10.00"));
    assert_eq!(b["balance"], json!("-10.00"));
    assert_eq!(b["open_invoices"], json!([]));

    // 3. Refund of $10 without an adjustment → balance 10.
    let inv3 = s(&invoice_of(&jan, &refunded)["id"]).to_string();
    let payment = pay(&api, &refunded, "100.00").await;
    let r = api
        .post_ok(
            &format!("/v1/payments/{}/refunds", s(&payment["id"])),
            json!({"amount": "10.00", "reason": "partial refund"}),
            201,
        )
        .await;
    assert_eq!(r["amount"], json!("10.00"));
    assert_eq!(balance(&api, &refunded).await["balance"], json!("10.00"));
    assert_eq!(
        settlement(&api, &inv3).await,
        json!({"payment_status": "partially_paid", "paid": "90.00", "credited": "0.00", "open": "10.00"})
    );

    // 4. Beatrix: an unpaid 249.95 invoice and 300 received → −50.05; the next 249.95
    //    invoice is then paid with 199.90.
    pay(&api, &beatrix, "300.00").await;
    assert_eq!(balance(&api, &beatrix).await["balance"], json!("-50.05"));
    let feb = advance(&api, "2026-02-01T12:00:00Z").await;
    let next = s(&invoice_of(&feb, &beatrix)["id"]).to_string();
    assert_eq!(settlement(&api, &next).await["open"], json!("199.90"));
    assert_eq!(balance(&api, &beatrix).await["balance"], json!("199.90"));
    pay(&api, &beatrix, "199.90").await;
    assert_eq!(balance(&api, &beatrix).await["balance"], json!("0.00"));
    assert_eq!(
        settlement(&api, &next).await["payment_status"],
        json!("paid")
    );
    api.cleanup().await;
}

async fn payments_refunds_and_events(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let rows = with_invoices(&api, &["A"]).await;
    let (a, inv) = &rows[0];
    // Oldest-first allocation, overpayment becomes credit.
    let p = pay(&api, a, "130.00").await;
    assert_eq!(p["status"], json!("succeeded"));
    assert_eq!(
        p["allocations"],
        json!([{"invoice_id": inv, "amount": "100.00"}])
    );
    assert_eq!(p["unapplied"], json!("30.00"));
    let pid = s(&p["id"]).to_string();
    let got = api.get(&format!("/v1/payments/{pid}")).await;
    assert_eq!(got.body["allocations"], p["allocations"]);
    let list = api.get(&format!("/v1/payments?account_id={a}")).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);

    // Refund everything: credit first, then the invoice reopens.
    let r = api
        .post(
            &format!("/v1/payments/{pid}/refunds"),
            json!({"amount": "130.00"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = api.get(&format!("/v1/payments/{pid}")).await.body;
    assert_eq!(got["status"], json!("refunded"));
    assert_eq!(got["refundable"], json!("0.00"));
    assert_eq!(settlement(&api, inv).await["open"], json!("100.00"));
    assert_eq!(balance(&api, a).await["balance"], json!("100.00"));

    let ev = events(&api).await;
    assert_eq!(
        topics_for(&ev, &pid),
        vec!["payment.received", "payment.refunded"]
    );
    let inv_topics = topics_for(&ev, inv);
    assert!(
        inv_topics.contains(&"invoice.paid".to_string()),
        "{inv_topics:?}"
    );
    api.cleanup().await;
}

/// (what, path, body, status, code, field) of a request that must be rejected.
type Case<'a> = (&'a str, String, Value, u16, &'a str, Option<&'a str>);

async fn bad_input_is_rejected_and_changes_nothing(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let rows = with_invoices(&api, &["A", "B"]).await;
    let (a, inv) = &rows[0];
    let (_, other_inv) = &rows[1];
    let p = pay(&api, a, "100.00").await;
    let pid = s(&p["id"]).to_string();
    let before = api.counts().await;

    let cases: Vec<Case> = vec![
        (
            "negative amount",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": "-5.00", "currency": "USD"}),
            422,
            "invalid_amount",
            Some("amount"),
        ),
        (
            "zero amount",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": "0", "currency": "USD"}),
            422,
            "invalid_amount",
            Some("amount"),
        ),
        (
            "too precise",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": "1.001", "currency": "USD"}),
            422,
            "invalid_amount",
            Some("amount"),
        ),
        (
            "currency mismatch",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": "5.00", "currency": "EUR"}),
            422,
            "currency_mismatch",
            Some("currency"),
        ),
        (
            "unknown account",
            "/v1/payments".into(),
            json!({"account_id": "acc_nope", "amount": "5.00", "currency": "USD"}),
            422,
            "unknown_account",
            Some("account_id"),
        ),
        (
            "unknown invoice",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": "5.00", "currency": "USD", "allocations": [{"invoice_id": "inv_nope", "amount": "5.00"}]}),
            422,
            "unknown_invoice",
            Some("allocations[0].invoice_id"),
        ),
        (
            "another account's invoice",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": "5.00", "currency": "USD", "allocations": [{"invoice_id": other_inv, "amount": "5.00"}]}),
            422,
            "unknown_invoice",
            Some("allocations[0].invoice_id"),
        ),
        (
            "over-allocation (invoice already paid)",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": "5.00", "currency": "USD", "allocations": [{"invoice_id": inv, "amount": "5.00"}]}),
            422,
            "over_allocation",
            Some("allocations[0].amount"),
        ),
        (
            "allocations above the amount",
            "/v1/payments".into(),
            json!({"account_id": rows[1].0, "amount": "5.00", "currency": "USD", "allocations": [{"invoice_id": other_inv, "amount": "6.00"}]}),
            422,
            "allocations_exceed_payment",
            Some("allocations"),
        ),
        (
            "future received_on",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": "5.00", "currency": "USD", "received_on": "2030-01-01"}),
            422,
            "invalid_field",
            Some("received_on"),
        ),
        (
            "unknown method",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": "5.00", "currency": "USD", "method": "bitcoin"}),
            400,
            "invalid_field",
            Some("method"),
        ),
        (
            "amount as a number",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": 5, "currency": "USD"}),
            400,
            "invalid_field",
            Some("amount"),
        ),
        (
            "refund above refundable",
            format!("/v1/payments/{pid}/refunds"),
            json!({"amount": "100.01"}),
            422,
            "refund_exceeds_refundable",
            Some("amount"),
        ),
        (
            "void of a paid invoice",
            format!("/v1/invoices/{inv}/void"),
            json!({"reason": "oops"}),
            409,
            "invoice_has_payments",
            None,
        ),
        (
            "void without a reason",
            format!("/v1/invoices/{other_inv}/void"),
            json!({"reason": " "}),
            422,
            "invalid_field",
            Some("reason"),
        ),
        (
            "credit above the invoice",
            format!("/v1/invoices/{other_inv}/credit-notes"),
            json!({"amount": "100.01", "reason": "x"}),
            422,
            "credit_exceeds_invoice",
            Some("amount"),
        ),
        (
            "credit note on an unknown invoice",
            "/v1/invoices/inv_nope/credit-notes".into(),
            json!({"amount": "1.00", "reason": "x"}),
            404,
            "not_found",
            None,
        ),
        (
            "account credit in another currency",
            format!("/v1/accounts/{a}/credits"),
            json!({"amount": "1.00", "currency": "EUR", "reason": "x"}),
            422,
            "currency_mismatch",
            Some("currency"),
        ),
        (
            "unknown gateway",
            "/v1/payments".into(),
            json!({"account_id": a, "amount": "5.00", "currency": "USD", "gateway": "stripe", "payment_method": "tok_visa"}),
            422,
            "unknown_gateway",
            Some("gateway"),
        ),
    ];
    for (what, path, body, status, code, field) in cases {
        let r = api.post(&path, body).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
        assert_eq!(r.body["code"], json!(code), "{what}: {}", r.body);
        assert_eq!(r.body["field"].as_str(), field, "{what}: {}", r.body);
        assert_eq!(api.counts().await, before, "{what} wrote something");
    }
    // Another tenant sees none of it.
    let other = api.other_tenant().await;
    let r = api
        .call("GET", &format!("/v1/payments/{pid}"), Some(&other), None)
        .await;
    assert_eq!(r.status, 404);
    let r = api
        .call(
            "GET",
            &format!("/v1/accounts/{a}/balance"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    api.cleanup().await;
}

async fn finalized_invoices_cannot_be_modified(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let rows = with_invoices(&api, &["A"]).await;
    let (_, inv) = &rows[0];
    let original = api.get(&format!("/v1/invoices/{inv}")).await.body;
    let before = api.counts().await;
    // Finalizing again.
    let r = api
        .post(&format!("/v1/invoices/{inv}/finalize"), json!({}))
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["code"], json!("invoice_not_draft"));
    // No endpoint edits an invoice or its lines.
    for (method, path) in [
        ("PATCH", format!("/v1/invoices/{inv}")),
        ("PUT", format!("/v1/invoices/{inv}")),
        ("DELETE", format!("/v1/invoices/{inv}")),
        ("POST", format!("/v1/invoices/{inv}")),
        ("POST", format!("/v1/invoices/{inv}/lines")),
        ("PATCH", format!("/v1/invoices/{inv}/lines")),
    ] {
        let r = api
            .call(
                method,
                &path,
                Some(&api.key),
                Some(json!({"total": "1.00"})),
            )
            .await;
        assert!(
            r.status == 405 || r.status == 404,
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
    }
    assert_eq!(api.counts().await, before);
    // A credit note and a void leave the invoice document as it was (only the status
    // word changes to void).
    api.post_ok(
        &format!("/v1/invoices/{inv}/credit-notes"),
        json!({"amount": "30.00", "reason": "discount"}),
        201,
    )
    .await;
    let v = api
        .post_ok(
            &format!("/v1/invoices/{inv}/void"),
            json!({"reason": "cancelled"}),
            200,
        )
        .await;
    assert_eq!(v["credit_note"]["amount"], json!("70.00"));
    assert_eq!(v["credit_note"]["kind"], json!("void"));
    let after = api.get(&format!("/v1/invoices/{inv}")).await.body;
    for key in [
        "number",
        "total",
        "lines",
        "invoice_date",
        "due_date",
        "finalized_at",
    ] {
        assert_eq!(after[key], original[key], "{key} changed");
    }
    assert_eq!(after["status"], json!("void"));
    assert_eq!(after["settlement"]["payment_status"], json!("void"));
    // A void invoice takes nothing more.
    let r = api
        .post(
            &format!("/v1/invoices/{inv}/void"),
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(r.body["code"], json!("invoice_already_void"));
    let r = api
        .post(
            &format!("/v1/invoices/{inv}/credit-notes"),
            json!({"amount": "1.00", "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], json!("invoice_void"));
    api.cleanup().await;
}

async fn void_and_credit_notes(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let rows = with_invoices(&api, &["A", "B"]).await;
    let (a, inv) = &rows[0];
    let (b, _) = &rows[1];
    // $20 of account credit went to the next invoice; voiding it returns the credit.
    api.post_ok(
        &format!("/v1/accounts/{b}/credits"),
        json!({"amount": "20.00", "currency": "USD", "reason": "goodwill"}),
        201,
    )
    .await;
    let cn = api
        .post_ok(
            &format!("/v1/invoices/{inv}/credit-notes"),
            json!({"amount": "25.50", "reason": "service outage"}),
            201,
        )
        .await;
    assert_eq!(cn["number"], json!("CN-000002"));
    assert_eq!(settlement(&api, inv).await["open"], json!("74.50"));
    let v = api
        .post_ok(
            &format!("/v1/invoices/{inv}/void"),
            json!({"reason": "duplicate"}),
            200,
        )
        .await;
    assert_eq!(v["credit_note"]["number"], json!("CN-000003"));
    assert_eq!(v["credit_note"]["amount"], json!("74.50"));
    assert_eq!(v["invoice"]["status"], json!("void"));
    assert_eq!(balance(&api, a).await["balance"], json!("0.00"));
    let list = api.get(&format!("/v1/credit-notes?invoice_id={inv}")).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
    let one = api.get(&format!("/v1/credit-notes/{}", s(&cn["id"]))).await;
    assert_eq!(one.body["reason"], json!("service outage"));
    let ev = events(&api).await;
    let t = topics_for(&ev, inv);
    assert!(t.contains(&"invoice.voided".to_string()), "{t:?}");
    assert!(!t.contains(&"invoice.paid".to_string()), "{t:?}");

    // A draft can be voided too: no number, no credit note.
    let p = price(&api, "plan-draft", "40.00").await;
    let c = account(&api, "C").await;
    subscribe(&api, &c, &p, "2026-01-01").await;
    let billed = api
        .post_ok(&format!("/v1/accounts/{c}/bill"), json!({}), 200)
        .await;
    let draft = s(&billed["invoices"][0]["id"]).to_string();
    let v = api
        .post_ok(
            &format!("/v1/invoices/{draft}/void"),
            json!({"reason": "wrong"}),
            200,
        )
        .await;
    assert_eq!(v["credit_note"], Value::Null);
    assert_eq!(v["invoice"]["status"], json!("void"));
    assert_eq!(v["invoice"]["number"], Value::Null);
    api.cleanup().await;
}

async fn test_gateway_charges_and_declines(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let rows = with_invoices(&api, &["A", "B"]).await;
    let (a, inv) = &rows[0];
    let body = |token: &str| json!({"account_id": a, "amount": "100.00", "currency": "USD", "gateway": "test", "payment_method": token});
    // A decline is recorded as failed, allocates nothing, and answers 402.
    let r = api.post("/v1/payments", body("tok_declined")).await;
    assert_eq!(r.status, 402, "{}", r.body);
    assert_eq!(r.body["code"], json!("payment_declined"));
    let list = api.get(&format!("/v1/payments?account_id={a}")).await.body;
    let failed = &list["data"][0];
    assert_eq!(failed["status"], json!("failed"));
    assert_eq!(failed["failure_code"], json!("card_declined"));
    assert_eq!(failed["allocations"], json!([]));
    assert_eq!(settlement(&api, inv).await["open"], json!("100.00"));
    let ev = events(&api).await;
    assert_eq!(topics_for(&ev, s(&failed["id"])), vec!["payment.failed"]);
    // A refund of a failed payment is refused.
    let r = api
        .post(
            &format!("/v1/payments/{}/refunds", s(&failed["id"])),
            json!({"amount": "1.00"}),
        )
        .await;
    assert_eq!(r.body["code"], json!("payment_failed"));

    // A transient failure records nothing.
    let before = api.counts().await;
    let r = api.post("/v1/payments", body("tok_error")).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["code"], json!("gateway_unavailable"));
    assert_eq!(api.counts().await, before);

    // A good card pays the invoice.
    let p = api.post_ok("/v1/payments", body("tok_visa"), 201).await;
    assert_eq!(p["method"], json!("gateway"));
    assert_eq!(p["gateway"], json!("test"));
    assert!(s(&p["gateway_reference"]).starts_with("ch_test_"));
    assert_eq!(settlement(&api, inv).await["payment_status"], json!("paid"));

    // Refunding it goes back through the gateway, which answers with its reference.
    let r = api
        .post_ok(
            &format!("/v1/payments/{}/refunds", s(&p["id"])),
            json!({"amount": "30.00", "reason": "goodwill"}),
            201,
        )
        .await;
    assert!(s(&r["gateway_reference"]).starts_with("re_test_"), "{r}");
    assert_eq!(r["amount"], json!("30.00"));
    assert_eq!(balance(&api, a).await["balance"], json!("30.00"));

    // A refund the gateway refuses records nothing.
    let (b, _) = &rows[1];
    let paid = api
        .post_ok(
            "/v1/payments",
            json!({"account_id": b, "amount": "100.00", "currency": "USD", "gateway": "test", "payment_method": "tok_no_refunds"}),
            201,
        )
        .await;
    let before = api.counts().await;
    let r = api
        .post(
            &format!("/v1/payments/{}/refunds", s(&paid["id"])),
            json!({"amount": "10.00"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (402, Some("refund_declined")),
        "{}",
        r.body
    );
    assert_eq!(api.counts().await, before);
    api.cleanup().await;
}

async fn csv_import_records_valid_rows_and_reports_the_rest(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let rows = with_invoices(&api, &["A", "B"]).await;
    let (a, inv_a) = &rows[0];
    let (b, inv_b) = &rows[1];
    let ban_b = s(&api.get(&format!("/v1/accounts/{b}")).await.body["ban"]).to_string();
    let number_b = s(&api.get(&format!("/v1/invoices/{inv_b}")).await.body["number"]).to_string();
    let csv = format!(
        "account_id,account_number,amount,currency,received_on,method,reference,invoice_number\n\
         {a},,60.00,USD,2026-01-01,bank_transfer,BT-1,\n\
         ,{ban_b},120.00,USD,,check,CHK-9,{number_b}\n\
         {a},,-1,USD,,,BT-2,\n\
         {a},,5.00,EUR,,,BT-3,\n\
         ,9999999,5.00,USD,,,BT-4,\n\
         {a},,5.00,USD,,,BT-1,\n\
         {a},,5.00,USD,,,BT-5,INV-999999\n\
         {a},,5.00\n"
    );
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/payments/import")
        .header("authorization", format!("Bearer {}", api.key))
        .header("content-type", "text/csv")
        .body(axum::body::Body::from(csv))
        .unwrap();
    let r = api.send(req).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["accepted"], json!(2));
    let rejected: Vec<(u64, Option<String>)> = r.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["field"].as_str().map(str::to_string),
            )
        })
        .collect();
    let f = |x: &str| Some(x.to_string());
    assert_eq!(
        rejected,
        vec![
            (3, f("amount")),
            (4, f("currency")),
            (5, f("account_number")),
            (6, f("reference")),
            (7, f("invoice_number")),
            (8, None),
        ]
    );
    assert_eq!(settlement(&api, inv_a).await["open"], json!("40.00"));
    // B paid its invoice by number; the $20 over became account credit.
    assert_eq!(
        settlement(&api, inv_b).await["payment_status"],
        json!("paid")
    );
    assert_eq!(balance(&api, b).await["unapplied_credit"], json!("20.00"));

    let bad = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/payments/import")
        .header("authorization", format!("Bearer {}", api.key))
        .header("content-type", "text/csv")
        .body(axum::body::Body::from("account,amount\nx,1\n"))
        .unwrap();
    let r = api.send(bad).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], json!("unknown_column"));
    api.cleanup().await;
}

async fn aging_buckets_as_of_the_tenant_today(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let rows = with_invoices(&api, &["A", "B"]).await;
    let (a, inv_a) = &rows[0];
    let (b, _) = &rows[1];
    pay(&api, b, "100.00").await;
    // Due 2026-01-31. On 2026-03-15 January's invoice is 43 days late, February's
    // (due 03-03) 12 days, March's (due 03-31) current.
    advance(&api, "2026-03-15T12:00:00Z").await;
    assert_eq!(
        settlement(&api, inv_a).await["payment_status"],
        json!("overdue")
    );
    let r = api.get("/v1/receivables/aging").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let acc = r.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["account_id"] == json!(a))
        .unwrap()
        .clone();
    assert_eq!(acc["as_of"], json!("2026-03-15"));
    assert_eq!(
        acc["buckets"],
        json!({"current": "100.00", "days_1_30": "100.00", "days_31_60": "100.00",
               "days_61_90": "0.00", "over_90": "0.00", "total": "300.00"})
    );
    // B paid January; February and March are open.
    assert_eq!(
        r.body["totals"],
        json!([{"currency": "USD", "buckets": {"current": "200.00", "days_1_30": "200.00",
            "days_31_60": "100.00", "days_61_90": "0.00", "over_90": "0.00", "total": "500.00"}}])
    );
    let b_bal = balance(&api, b).await;
    assert_eq!(b_bal["balance"], json!("200.00"));
    assert_eq!(b_bal["open_invoices"][0]["status"], json!("overdue"));
    assert_eq!(b_bal["open_invoices"][1]["status"], json!("open"));
    api.cleanup().await;
}

/// A draft with a negative total (plan-change repairs exceeding the new charges, as the
/// lead's reconciliation produces) written straight to the store, then finalized through
/// the API: its absolute amount becomes account credit that the next invoice consumes.
async fn negative_invoice_becomes_account_credit(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let rows = with_invoices(&api, &["A"]).await;
    let (a, jan) = &rows[0];
    pay(&api, a, "100.00").await;
    let mut tx = api.db.store.begin().await.unwrap();
    let row = quoin_store::rows::InvoiceRow {
        id: "inv_negative".into(),
        tenant_id: api.tenant.clone(),
        account_id: a.clone(),
        currency: "USD".into(),
        status: "draft".into(),
        number: None,
        invoice_date: "2026-01-01".into(),
        due_date: "2026-01-31".into(),
        period_start: "2026-01-01".into(),
        period_end: "2026-02-01".into(),
        total_minor: -216_488,
        created_at_us: 0,
        finalized_at_us: None,
        subtotal_minor: -216_488,
        discount_minor: 0,
        tax_minor: 0,
    };
    tx.insert_invoice(&row).await.unwrap();
    tx.commit().await.unwrap();
    let fin = api
        .post_ok("/v1/invoices/inv_negative/finalize", json!({}), 200)
        .await;
    assert_eq!(fin["total"], json!("-2164.88"));
    let b = balance(&api, a).await;
    assert_eq!(b["balance"], json!("-2164.88"));
    assert_eq!(b["unapplied_credit"], json!("2164.88"));
    assert_eq!(
        settlement(&api, "inv_negative").await["payment_status"],
        json!("paid")
    );
    // It cannot be voided or credited; the paid January invoice is untouched.
    let r = api
        .post("/v1/invoices/inv_negative/void", json!({"reason": "x"}))
        .await;
    assert_eq!(r.body["code"], json!("invoice_not_voidable"));
    let r = api
        .post(
            "/v1/invoices/inv_negative/credit-notes",
            json!({"amount": "1.00", "reason": "x"}),
        )
        .await;
    assert_eq!(r.body["code"], json!("credit_exceeds_invoice"));
    assert_eq!(settlement(&api, jan).await["payment_status"], json!("paid"));
    // February's $100 is paid from the credit.
    let feb = advance(&api, "2026-02-01T12:00:00Z").await;
    let feb = s(&invoice_of(&feb, a)["id"]).to_string();
    assert_eq!(
        settlement(&api, &feb).await,
        json!({"payment_status": "paid", "paid": "100.00", "credited": "0.00", "open": "0.00"})
    );
    assert_eq!(balance(&api, a).await["balance"], json!("-2064.88"));
    api.cleanup().await;
}
