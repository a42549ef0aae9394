//! Credit notes by invoice line through the HTTP API on both stores: by quantity and by
//! amount, tax credited in proportion with the cumulative half-up rounding of
//! `quoin_core::ledger::credit_line` (a fully credited line gives back exactly its total
//! and its tax), the note's lines shown on the note, and bad input rejected with a stable
//! code and field, nothing changed.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    quantity_credits_sum_to_the_line_and_its_tax,
    amount_credits_and_the_invoice_wide_form_share_the_invoice_cap,
    bad_line_credits_change_nothing,
);

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// A tenant at 2026-01-01 with 19% VAT, and one finalized invoice per account: `plan`
/// (3 × 33.33 = 99.99, tax 19.00, total 118.99) and `free` (0.00).
struct Setup {
    api: TestApi,
    /// (invoice id, plan line id, free line id) per account.
    invoices: Vec<(String, String, String)>,
}

async fn setup(db: TestStore, accounts: usize) -> Setup {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2026-01-01T06:00:00Z"}),
        200,
    )
    .await;
    let r = api
        .call(
            "PUT",
            "/v1/tax-rates",
            Some(&api.key),
            Some(
                json!({"rates": [{"jurisdiction": "DE", "category": "standard",
                "components": [{"name": "VAT", "percent": "19"}]}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut prices = Vec::new();
    for (code, amount) in [("plan", "33.33"), ("free", "0")] {
        let body = json!({"code": code, "name": code,
            "prices": [{"currency": "EUR", "amount": amount, "period": "month"}]});
        prices
            .push(s(&api.post_ok("/v1/products", body, 201).await["prices"][0]["id"]).to_string());
    }
    let mut ids = Vec::new();
    for n in 0..accounts {
        let body = json!({"kind": "business", "name": format!("A{n}"),
            "billing": {"currency": "EUR", "payment_terms_days": 30, "bill_cycle_day": 1}});
        let acc = s(&api.post_ok("/v1/accounts", body, 201).await["id"]).to_string();
        let r = api
            .call(
                "PUT",
                &format!("/v1/accounts/{acc}/tax-profile"),
                Some(&api.key),
                Some(json!({"jurisdiction": "DE"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        for (price, qty) in [(&prices[0], "3"), (&prices[1], "1")] {
            let body = json!({"account_id": acc, "price_id": price, "quantity": qty,
                "start_date": "2026-01-01"});
            api.post_ok("/v1/subscriptions", body, 201).await;
        }
        ids.push(acc);
    }
    let r = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2026-01-01T12:00:00Z"}),
            200,
        )
        .await;
    let mut invoices = Vec::new();
    for acc in &ids {
        let inv = r["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["account_id"] == json!(acc))
            .unwrap();
        assert_eq!(inv["status"], "finalized");
        assert_eq!(inv["total"], "118.99", "{inv}");
        let line = |amount: &str| {
            s(&inv["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["amount"] == amount)
                .unwrap_or_else(|| panic!("no {amount} line in {inv}"))["id"])
            .to_string()
        };
        invoices.push((s(&inv["id"]).to_string(), line("99.99"), line("0.00")));
    }
    Setup { api, invoices }
}

async fn credit(api: &TestApi, invoice: &str, body: Value) -> common::Reply {
    api.post(&format!("/v1/invoices/{invoice}/credit-notes"), body)
        .await
}

async fn settlement(api: &TestApi, invoice: &str) -> Value {
    api.get(&format!("/v1/invoices/{invoice}")).await.body["settlement"].clone()
}

async fn quantity_credits_sum_to_the_line_and_its_tax(db: TestStore) {
    let Setup { api, invoices } = setup(db, 1).await;
    let (inv, plan, _) = &invoices[0];
    // 118.99 × 1/3 = 39.663… → 39.66; × 2/3 = 79.326… → 79.33, less 39.66 = 39.67; the
    // rest 39.66. Tax 19.00 × 39.66/118.99 = 6.33; × 79.33/118.99 = 12.67 → 6.34; 6.33.
    let want = [("39.66", "6.33"), ("39.67", "6.34"), ("39.66", "6.33")];
    let mut notes = Vec::new();
    for (amount, tax) in want {
        let r = credit(
            &api,
            inv,
            json!({"lines": [{"line_id": plan, "quantity": "1"}], "reason": "returned one"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["amount"], amount);
        assert_eq!(r.body["tax"], tax);
        assert_eq!(r.body["kind"], "adjustment");
        assert_eq!(
            r.body["lines"],
            json!([{"invoice_line_id": plan, "quantity": "1", "amount": amount, "tax": tax}])
        );
        notes.push(s(&r.body["id"]).to_string());
    }
    let st = settlement(&api, inv).await;
    assert_eq!(
        (&st["credited"], &st["open"]),
        (&json!("118.99"), &json!("0.00"))
    );
    // Every unit is credited: one more is refused, by quantity or by amount.
    let before = api.counts().await;
    let r = credit(
        &api,
        inv,
        json!({"lines": [{"line_id": plan, "quantity": "0.5"}], "reason": "x"}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        (&r.body["code"], &r.body["field"]),
        (&json!("credit_exceeds_line"), &json!("lines[0].quantity"))
    );
    assert_eq!(api.counts().await, before);
    // The notes read back with their lines.
    let r = api.get(&format!("/v1/credit-notes/{}", notes[1])).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["lines"][0]["amount"], "39.67");
    let r = api.get(&format!("/v1/credit-notes?invoice_id={inv}")).await;
    let listed: Vec<&str> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| s(&n["lines"][0]["tax"]))
        .collect();
    assert_eq!(listed.len(), 3);
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["6.33", "6.33", "6.34"]);
    // The invoice document lists each credit note with the lines it credits.
    let html = api.get(&format!("/v1/invoices/{inv}/html")).await;
    let page = html.body.as_str().unwrap();
    for (n, amount, tax) in [
        (1, "39.66", "6.33"),
        (2, "39.67", "6.34"),
        (3, "39.66", "6.33"),
    ] {
        let note = format!(
            "Credit note CN-00000{n} of 2026-01-01: {amount} EUR (tax {tax}) on plan × 1: {amount}, returned one."
        );
        assert!(page.contains(&note), "{note} not in {page}");
    }
    api.cleanup().await;
}

async fn amount_credits_and_the_invoice_wide_form_share_the_invoice_cap(db: TestStore) {
    let Setup { api, invoices } = setup(db, 1).await;
    let (inv, plan, _) = &invoices[0];
    // 50.00 of the line: tax 19.00 × 50/118.99 = 7.983… → 7.98.
    let r = credit(
        &api,
        inv,
        json!({"lines": [{"line_id": plan, "amount": "50.00"}], "reason": "goodwill"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (&r.body["amount"], &r.body["tax"]),
        (&json!("50.00"), &json!("7.98"))
    );
    assert_eq!(r.body["lines"][0]["quantity"], Value::Null);
    // The invoice-wide form still works, carries no lines and no tax split.
    let r = credit(&api, inv, json!({"amount": "60.00", "reason": "discount"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["lines"], json!([]));
    assert_eq!(r.body["tax"], Value::Null);
    // The line still has 68.99 left, but the invoice only 8.99: the ledger refuses.
    let before = api.counts().await;
    let r = credit(
        &api,
        inv,
        json!({"lines": [{"line_id": plan, "amount": "9.00"}], "reason": "x"}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        (&r.body["code"], &r.body["field"]),
        (&json!("credit_exceeds_invoice"), &json!("lines"))
    );
    assert_eq!(api.counts().await, before);
    // What the invoice has left, on the line.
    let r = credit(
        &api,
        inv,
        json!({"lines": [{"line_id": plan, "amount": "8.99"}], "reason": "rest"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Tax on the cumulative 58.99: 19 × 58.99/118.99 = 9.419… → 9.42, less 7.98 = 1.44.
    assert_eq!(r.body["tax"], "1.44");
    let st = settlement(&api, inv).await;
    assert_eq!(
        (&st["credited"], &st["open"]),
        (&json!("118.99"), &json!("0.00"))
    );
    let b = api
        .get(&format!(
            "/v1/accounts/{}/balance",
            s(&api.get(&format!("/v1/invoices/{inv}")).await.body["account_id"])
        ))
        .await
        .body;
    assert_eq!(b["balance"], "0.00", "{b}");
    api.cleanup().await;
}

async fn bad_line_credits_change_nothing(db: TestStore) {
    let Setup { api, invoices } = setup(db, 2).await;
    let (inv, plan, free) = &invoices[0];
    let (other_inv, other_plan, _) = &invoices[1];
    let before = api.counts().await;
    let cases = [
        (json!({"reason": "x"}), "amount_or_lines_required", "amount"),
        (
            json!({"lines": [], "reason": "x"}),
            "amount_or_lines_required",
            "amount",
        ),
        (
            json!({"amount": "1.00", "lines": [{"line_id": plan, "amount": "1.00"}], "reason": "x"}),
            "amount_with_lines",
            "lines",
        ),
        (
            json!({"lines": [{"line_id": "inl_nope", "amount": "1.00"}], "reason": "x"}),
            "unknown_invoice_line",
            "lines[0].line_id",
        ),
        (
            json!({"lines": [{"line_id": plan, "amount": "1.00"}, {"line_id": other_plan, "amount": "1.00"}], "reason": "x"}),
            "line_not_on_invoice",
            "lines[1].line_id",
        ),
        (
            json!({"lines": [{"line_id": plan, "amount": "1.00", "quantity": "1"}], "reason": "x"}),
            "amount_and_quantity",
            "lines[0].quantity",
        ),
        (
            json!({"lines": [{"line_id": plan}], "reason": "x"}),
            "amount_or_quantity_required",
            "lines[0].amount",
        ),
        (
            json!({"lines": [{"line_id": plan, "amount": "1.00"}, {"line_id": plan, "quantity": "1"}], "reason": "x"}),
            "duplicate_line",
            "lines[1].line_id",
        ),
        (
            json!({"lines": [{"line_id": plan, "amount": "119.00"}], "reason": "x"}),
            "credit_exceeds_line",
            "lines[0].amount",
        ),
        (
            json!({"lines": [{"line_id": plan, "quantity": "3.5"}], "reason": "x"}),
            "credit_exceeds_line",
            "lines[0].quantity",
        ),
        (
            json!({"lines": [{"line_id": plan, "quantity": "-1"}], "reason": "x"}),
            "invalid_field",
            "lines[0].quantity",
        ),
        (
            json!({"lines": [{"line_id": plan, "quantity": "0.00001"}], "reason": "x"}),
            "invalid_quantity",
            "lines[0].quantity",
        ),
        (
            json!({"lines": [{"line_id": plan, "amount": "1.001"}], "reason": "x"}),
            "invalid_amount",
            "lines[0].amount",
        ),
        (
            json!({"lines": [{"line_id": free, "quantity": "1"}], "reason": "x"}),
            "line_not_creditable",
            "lines[0].line_id",
        ),
    ];
    for (body, code, field) in cases {
        let r = credit(&api, inv, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(
            (s(&r.body["code"]), r.body["field"].as_str()),
            (code, Some(field)),
            "{body}: {}",
            r.body
        );
    }
    // Unknown fields in a line are a 400/422 from the extractor, not silently ignored.
    let r = credit(
        &api,
        inv,
        json!({"lines": [{"line_id": plan, "amount": "1.00", "taxes": "0"}], "reason": "x"}),
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    assert_eq!(api.counts().await, before);
    // A voided invoice takes no line credits either.
    api.post_ok(
        &format!("/v1/invoices/{other_inv}/void"),
        json!({"reason": "wrong"}),
        200,
    )
    .await;
    let r = credit(
        &api,
        other_inv,
        json!({"lines": [{"line_id": other_plan, "amount": "1.00"}], "reason": "x"}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), s(&r.body["code"])),
        (409, "invoice_void")
    );
    api.cleanup().await;
}
