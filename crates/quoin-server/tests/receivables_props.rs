//! Random sequences of receivables operations through the HTTP API on SQLite: after every
//! step the balance the API reports equals Σ finalized invoices − Σ credit notes −
//! Σ payments + Σ refunds over the accepted operations, and Σ open amounts of the
//! account's invoices equals balance + unapplied credit. Credit notes come in both forms:
//! an amount on the invoice as a whole, and amounts or quantities of its line.

mod common;

use common::TestApi;
use proptest::prelude::*;
use quoin_app::Mode;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
enum Op {
    /// Next month: one more $100 invoice.
    Advance,
    Pay(i64),
    PayTo(usize, i64),
    Refund(usize, i64),
    Credit(usize, i64),
    /// A credit note on the invoice's line: by amount, or (with `None`) one of its unit.
    CreditLine(usize, Option<i64>),
    AccountCredit(i64),
    Void(usize),
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![6 => 1i64..15_000, 1 => 15_000i64..40_000]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Advance),
        3 => amount().prop_map(Op::Pay),
        2 => (0usize..4, amount()).prop_map(|(i, a)| Op::PayTo(i, a)),
        2 => (0usize..4, amount()).prop_map(|(i, a)| Op::Refund(i, a)),
        2 => (0usize..4, amount()).prop_map(|(i, a)| Op::Credit(i, a)),
        2 => (0usize..4, prop::option::of(amount())).prop_map(|(i, a)| Op::CreditLine(i, a)),
        1 => amount().prop_map(Op::AccountCredit),
        1 => (0usize..4).prop_map(Op::Void),
    ]
}

fn text(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

fn minor(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not an amount: {v}"));
    let neg = s.starts_with('-');
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().unwrap();
    if neg {
        -n
    } else {
        n
    }
}

#[derive(Default)]
struct Model {
    invoices: Vec<String>,
    /// The (only) line of each invoice, in `invoices` order.
    lines: Vec<String>,
    payments: Vec<String>,
    invoiced: i64,
    credited: i64,
    paid: i64,
    refunded: i64,
    month: i8,
}

async fn advance(api: &TestApi, account: &str, m: &mut Model) {
    if m.month >= 12 {
        return;
    }
    m.month += 1;
    let r = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": format!("2026-{:02}-01T12:00:00Z", m.month)}),
            200,
        )
        .await;
    for inv in r["invoices"].as_array().unwrap() {
        assert_eq!(inv["account_id"], json!(account));
        m.invoiced += minor(&inv["total"]);
        m.invoices.push(inv["id"].as_str().unwrap().to_string());
        m.lines
            .push(inv["lines"][0]["id"].as_str().unwrap().to_string());
    }
}

async fn run(ops: Vec<Op>) {
    let db = quoin_store::testing::sqlite().await;
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2025-12-31T12:00:00Z"}),
        200,
    )
    .await;
    let body = json!({"kind": "business", "name": "P",
        "billing": {"currency": "USD", "payment_terms_days": 30, "bill_cycle_day": 1}});
    let account = api.post_ok("/v1/accounts", body, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"code": "plan", "name": "Plan",
        "prices": [{"currency": "USD", "amount": "100.00", "period": "month"}]});
    let price = api.post_ok("/v1/products", body, 201).await["prices"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"account_id": account, "price_id": price, "start_date": "2026-01-01"});
    api.post_ok("/v1/subscriptions", body, 201).await;
    let mut m = Model::default();
    let pick = |list: &[String], i: usize| {
        if list.is_empty() {
            "none".to_string()
        } else {
            list[i % list.len()].clone()
        }
    };
    for op in ops {
        let received_on = format!("2026-{:02}-01", m.month.max(1));
        match &op {
            Op::Advance => advance(&api, &account, &mut m).await,
            Op::Pay(a) => {
                let r = api
                    .post("/v1/payments", json!({"account_id": account, "amount": text(*a), "currency": "USD", "received_on": received_on}))
                    .await;
                if r.status == 201 {
                    m.paid += a;
                    m.payments.push(r.body["id"].as_str().unwrap().to_string());
                }
            }
            Op::PayTo(i, a) => {
                let inv = pick(&m.invoices, *i);
                let part = (*a / 2).max(1);
                let r = api
                    .post(
                        "/v1/payments",
                        json!({"account_id": account, "amount": text(*a), "currency": "USD",
                        "allocations": [{"invoice_id": inv, "amount": text(part)}]}),
                    )
                    .await;
                if r.status == 201 {
                    m.paid += a;
                    m.payments.push(r.body["id"].as_str().unwrap().to_string());
                } else {
                    assert_eq!(r.status, 422, "{op:?}: {}", r.body);
                }
            }
            Op::Refund(i, a) => {
                let p = pick(&m.payments, *i);
                let r = api
                    .post(
                        &format!("/v1/payments/{p}/refunds"),
                        json!({"amount": text(*a)}),
                    )
                    .await;
                if r.status == 201 {
                    m.refunded += a;
                } else {
                    assert!(r.status == 422 || r.status == 404, "{op:?}: {}", r.body);
                }
            }
            Op::Credit(i, a) => {
                let inv = pick(&m.invoices, *i);
                let r = api
                    .post(
                        &format!("/v1/invoices/{inv}/credit-notes"),
                        json!({"amount": text(*a), "reason": "p"}),
                    )
                    .await;
                if r.status == 201 {
                    m.credited += a;
                } else {
                    assert!(
                        [404, 409, 422].contains(&r.status.as_u16()),
                        "{op:?}: {}",
                        r.body
                    );
                }
            }
            Op::CreditLine(i, a) => {
                let inv = pick(&m.invoices, *i);
                let line = match a {
                    Some(a) => json!({"line_id": pick(&m.lines, *i), "amount": text(*a)}),
                    None => json!({"line_id": pick(&m.lines, *i), "quantity": "1"}),
                };
                let r = api
                    .post(
                        &format!("/v1/invoices/{inv}/credit-notes"),
                        json!({"lines": [line], "reason": "p"}),
                    )
                    .await;
                if r.status == 201 {
                    let credited = minor(&r.body["amount"]);
                    assert_eq!(credited, minor(&r.body["lines"][0]["amount"]));
                    if let Some(a) = a {
                        assert_eq!(credited, *a);
                    }
                    m.credited += credited;
                } else {
                    assert!(
                        [404, 409, 422].contains(&r.status.as_u16()),
                        "{op:?}: {}",
                        r.body
                    );
                }
            }
            Op::AccountCredit(a) => {
                let r = api
                    .post(
                        &format!("/v1/accounts/{account}/credits"),
                        json!({"amount": text(*a), "currency": "USD", "reason": "p"}),
                    )
                    .await;
                assert_eq!(r.status, 201, "{}", r.body);
                m.credited += a;
            }
            Op::Void(i) => {
                let inv = pick(&m.invoices, *i);
                let r = api
                    .post(&format!("/v1/invoices/{inv}/void"), json!({"reason": "p"}))
                    .await;
                if r.status == 200 {
                    if let Some(cn) = r.body["credit_note"].get("amount") {
                        m.credited += minor(cn);
                    }
                } else {
                    assert!(
                        [404, 409].contains(&r.status.as_u16()),
                        "{op:?}: {}",
                        r.body
                    );
                }
            }
        }
        let b = api
            .get(&format!("/v1/accounts/{account}/balance"))
            .await
            .body;
        let expected = m.invoiced - m.credited - m.paid + m.refunded;
        assert_eq!(minor(&b["balance"]), expected, "after {op:?}: {b}");
        let invoices = api
            .get(&format!("/v1/invoices?account_id={account}&limit=200"))
            .await
            .body;
        let open: i64 = invoices["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["settlement"].get("open"))
            .map(minor)
            .sum();
        assert_eq!(open, minor(&b["open_total"]), "after {op:?}");
        assert_eq!(
            open - minor(&b["unapplied_credit"]),
            expected,
            "after {op:?}: {b}"
        );
    }
    api.cleanup().await;
}

proptest! {
    // Each case builds a store and drives the API in-process; a few cases keep CI quick.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn balance_matches_accepted_documents(ops in proptest::collection::vec(op(), 1..24)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops));
    }
}
