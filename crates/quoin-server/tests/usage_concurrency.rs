//! Ingestion under concurrency, on both stores: two Quoin nodes (two `App`s, each with its
//! own group-commit writer) on one database.
//!
//! - Overlapping batches with shared event ids, sent in opposite orders: every event is
//!   counted exactly once and no caller sees an error (on PostgreSQL two inserts of the
//!   same ids in different orders wait on each other; Quoin must take them in one order or
//!   retry, not answer 500).
//! - Ingest transactions marking overlapping bill-to accounts' drafts while billing invoices
//!   those accounts (and touches their drafts) and the drafts are refreshed: no deadlock,
//!   and no mark lost (the last refresh includes every event).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestApi;
use quoin_app::usage::UsageEvent;
use quoin_app::{App, Mode, Principal, SystemClock};
use quoin_store::testing::TestStore;
use rust_decimal::Decimal;
use serde_json::{json, Value};

on_both_stores!(
    overlapping_duplicate_ids_from_two_nodes_count_once,
    ingest_and_billing_on_overlapping_accounts_keep_every_draft_mark
);

/// Nothing here may take long: a deadlock that is never resolved fails the test.
const LIMIT: Duration = Duration::from_secs(120);

/// A tenant on a test clock (2024-03-10 12:00 UTC) with a monthly plan and a usage price on
/// `calls` (sum of `quantity`, 0.01 each), and `n` accounts each subscribed from 2024-01-01
/// with the usage item keyed `K{i}`. Returns the account ids.
async fn customers(api: &TestApi, n: usize) -> Vec<String> {
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2024-01-01T06:00:00Z"}),
        200,
    )
    .await;
    let doc = json!({
        "metrics": [{"code": "calls", "name": "Calls", "aggregation": "sum", "field": "quantity"}],
        "products": [{"code": "plan", "name": "Plan", "status": "active", "prices": [
            {"code": "monthly", "currency": "USD", "amount": "10.00", "period": "month"},
            {"code": "per-call", "type": "usage", "currency": "USD", "metric": "calls",
             "period": "month", "amount": "0.01"}]}]});
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
    let mut accounts = Vec::new();
    for i in 0..n {
        let acc = api
            .post_ok(
                "/v1/accounts",
                json!({"kind": "person", "name": format!("Caller {i}"),
                       "billing": {"currency": "USD", "bill_cycle_day": 1}}),
                201,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        api.post_ok(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": price("monthly"), "start_date": "2024-01-01",
                   "items": [{"price_id": price("per-call"), "usage_key": format!("K{i}")}]}),
            201,
        )
        .await;
        accounts.push(acc);
    }
    api.post_ok(
        "/v1/test-clock/advance",
        json!({"to": "2024-03-10T12:00:00Z"}),
        200,
    )
    .await;
    accounts
}

/// A second node on the same database.
fn second_node(api: &TestApi) -> App {
    App::new(
        api.db.store.clone(),
        Arc::new(SystemClock),
        Mode::Development,
    )
}

/// Event `id` for item `K{key}` on `day` of March 2024 with quantity `id`'s number + 1.
fn call(id: u32, key: usize, day: u32) -> Value {
    json!({"id": format!("e{id:06}"), "item_key": format!("K{key}"), "metric": "calls",
           "timestamp": format!("2024-03-{day:02}T10:00:{:02}Z", id % 60),
           "quantity": (id + 1).to_string()})
}

fn typed(v: &Value) -> UsageEvent {
    UsageEvent {
        id: v["id"].as_str().unwrap().into(),
        subscription: None,
        item_key: Some(v["item_key"].as_str().unwrap().into()),
        metric: "calls".into(),
        timestamp: v["timestamp"].as_str().unwrap().parse().unwrap(),
        quantity: Some(v["quantity"].as_str().unwrap().parse().unwrap()),
        properties: Vec::new(),
    }
}

/// The current usage quantity of every usage item of the tenant's subscriptions, by key.
async fn usage_by_key(app: &App, p: &Principal, accounts: &[String]) -> Vec<(String, Decimal)> {
    let mut out = Vec::new();
    for acc in accounts {
        let subs = app
            .list_subscriptions(p, Some(acc.as_str()), &Default::default())
            .await
            .unwrap();
        for s in subs.data {
            let usage = app.subscription_usage(p, &s.id, None).await.unwrap();
            for i in usage.items {
                out.push((i.usage_key.unwrap(), i.quantity.parse().unwrap()));
            }
        }
    }
    out.sort();
    out
}

async fn overlapping_duplicate_ids_from_two_nodes_count_once(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let accounts = customers(&api, 1).await;
    let p = api.app.operator(&api.tenant).await.unwrap();
    let nodes = [api.app.clone(), second_node(&api)];

    // Through the group-commit writers: each round both nodes send the same 1,500 ids,
    // one ascending and one descending, and a second pair overlapping it by half.
    let mut sent = 0;
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..4u32 {
        for part in 0..2u32 {
            let lo = round * 600 + part * 750;
            for (n, node) in nodes.iter().enumerate() {
                let mut ids: Vec<u32> = (lo..lo + 1_500).collect();
                if (n + part as usize) % 2 == 1 {
                    ids.reverse();
                }
                let events: Vec<Value> = ids.iter().map(|&i| call(i, 0, 5)).collect();
                sent += events.len();
                let (node, p) = (node.clone(), p.clone());
                tasks.spawn(async move { node.ingest_usage(&p, events).await });
            }
        }
    }
    let distinct = 3 * 600 + 750 + 1_500;
    let mut accepted = 0;
    let mut answered = 0;
    let all = tokio::time::timeout(LIMIT, tasks.join_all())
        .await
        .expect("ingestion finished");
    for r in all {
        let r = r.expect("no batch fails");
        assert_eq!((r.rejected, r.suspended), (0, 0), "{r:?}");
        accepted += r.accepted;
        answered += r.accepted + r.duplicates;
    }
    assert_eq!((accepted, answered), (distinct, sent));

    // The embedded path: two transactions of two batches each, the batches in opposite
    // orders, so no order within a batch can keep their inserts from crossing.
    let first: Vec<UsageEvent> = (10_000..11_000).map(|i| typed(&call(i, 0, 6))).collect();
    let second: Vec<UsageEvent> = (11_000..12_000).map(|i| typed(&call(i, 0, 6))).collect();
    let (a, b) = (nodes[0].clone(), nodes[1].clone());
    let (pa, pb) = (p.clone(), p.clone());
    let (f1, s1, f2, s2) = (first.clone(), second.clone(), first, second);
    let one = tokio::spawn(async move { a.ingest_usage_batches(&pa, &[&f1, &s1]).await });
    let two = tokio::spawn(async move { b.ingest_usage_batches(&pb, &[&s2, &f2]).await });
    let (one, two) = tokio::time::timeout(LIMIT, async { (one.await, two.await) })
        .await
        .expect("embedded ingestion finished");
    let counted: usize = one
        .unwrap()
        .expect("no transaction fails")
        .iter()
        .chain(two.unwrap().expect("no transaction fails").iter())
        .map(|r| {
            assert_eq!(r.accepted + r.duplicates, 1_000, "{r:?}");
            r.accepted
        })
        .sum();
    assert_eq!(counted, 2_000);

    // Each id once in the store and in the rollups: quantity of id i is i + 1.
    let ids: Vec<u32> = (0..distinct as u32).chain(10_000..12_000).collect();
    let expected: u64 = ids.iter().map(|&i| u64::from(i) + 1).sum();
    let mut tx = api.db.store.read().await.unwrap();
    let stored = tx
        .count_usage_events(&api.tenant, &Default::default(), 1_000_000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(stored, ids.len() as i64);
    assert_eq!(
        usage_by_key(&api.app, &p, &accounts).await,
        vec![("K0".to_string(), Decimal::from(expected))]
    );
    api.cleanup().await;
}

async fn ingest_and_billing_on_overlapping_accounts_keep_every_draft_mark(db: TestStore) {
    const ACCOUNTS: usize = 8;
    const ROUNDS: u32 = 12;
    let api = TestApi::new(db, Mode::Development).await;
    let accounts = customers(&api, ACCOUNTS).await;
    let p = api.app.operator(&api.tenant).await.unwrap();
    api.app
        .put_draft_settings(
            &p,
            serde_json::from_value(json!({"draft_refresh_seconds": 1})).unwrap(),
        )
        .await
        .unwrap();
    let nodes = [api.app.clone(), second_node(&api)];

    // Ingest: every round one transaction per node reaches every account, the accounts in
    // opposite orders, alternately through the writer and the embedded path; events of
    // January (already invoiced once billing ran: the items are marked for re-rating)
    // and of March.
    let mut tasks = tokio::task::JoinSet::new();
    for (n, node) in nodes.iter().enumerate() {
        let (node, p) = (node.clone(), p.clone());
        tasks.spawn(async move {
            for round in 0..ROUNDS {
                let mut keys: Vec<usize> = (0..ACCOUNTS).collect();
                if (n as u32 + round) % 2 == 1 {
                    keys.reverse();
                }
                let mut events = Vec::new();
                for (k, &key) in keys.iter().enumerate() {
                    let id = 100_000 * (n as u32 + 1) + round * 100 + k as u32 * 2;
                    events.push(call(id, key, 1 + round % 9));
                    let mut late = call(id + 1, key, 1);
                    late["timestamp"] = json!(format!("2024-01-15T10:00:{:02}Z", id % 60));
                    events.push(late);
                }
                if round % 2 == 0 {
                    let r = node.ingest_usage(&p, events).await?;
                    assert_eq!(r.accepted, 2 * ACCOUNTS, "{r:?}");
                } else {
                    let typed: Vec<UsageEvent> = events.iter().map(typed).collect();
                    node.ingest_usage_batches(&p, &[&typed]).await?;
                }
            }
            Ok::<_, quoin_app::AppError>("ingest")
        });
    }
    // Billing: each account billed one at a time, in turning order, then an invoice run
    // over all of them in pages of three (items updated, drafts touched per page).
    {
        let (app, p, accounts) = (nodes[1].clone(), p.clone(), accounts.clone());
        tasks.spawn(async move {
            for round in 0..3 {
                for k in 0..ACCOUNTS {
                    let acc = &accounts[(k + round * 3) % ACCOUNTS];
                    app.bill_account(&p, acc, Default::default()).await?;
                }
                let run = app
                    .create_invoice_run(&p, serde_json::from_value(json!({})).unwrap())
                    .await?;
                app.execute_invoice_run(
                    &p.tenant_id,
                    &run.id,
                    quoin_app::runs::RunOptions {
                        chunk: Some(3),
                        force: false,
                        progress: None,
                    },
                )
                .await?;
            }
            Ok("billing")
        });
    }
    // Refreshing: the clock moves past the 1 s cadence, the due drafts are recomputed.
    {
        let (app, tenant) = (nodes[0].clone(), api.tenant.clone());
        let p = p.clone();
        tasks.spawn(async move {
            for _ in 0..ROUNDS {
                advance_seconds(&app, &p, 2).await;
                let row = tenant_row(&app, &tenant).await;
                app.refresh_drafts(&row).await?;
            }
            Ok("refresh")
        });
    }
    let all = tokio::time::timeout(LIMIT, tasks.join_all())
        .await
        .expect("no deadlock: every task finished");
    for r in all {
        r.expect("no task fails");
    }

    // Once everything has committed, refreshing until nothing is due must leave every
    // draft with all of its account's March usage: a lost mark would leave one stale.
    advance_seconds(&api.app, &p, 2).await;
    let row = tenant_row(&api.app, &api.tenant).await;
    while api.app.refresh_drafts(&row).await.unwrap() > 0 {
        advance_seconds(&api.app, &p, 2).await;
    }
    for (key, acc) in accounts.iter().enumerate() {
        let mut march = Decimal::ZERO;
        for n in 0..2u32 {
            for round in 0..ROUNDS {
                let mut keys: Vec<usize> = (0..ACCOUNTS).collect();
                if (n + round) % 2 == 1 {
                    keys.reverse();
                }
                let k = keys.iter().position(|&x| x == key).unwrap() as u32;
                march += Decimal::from(100_000 * (n + 1) + round * 100 + k * 2 + 1);
            }
        }
        let draft = api.app.draft_invoice(&p, acc).await.unwrap();
        assert!(!draft.usage_pending, "{acc}: usage still pending");
        let lines = draft.invoice.expect("a draft invoice")["lines"].clone();
        let usage: Vec<&Value> = lines
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["kind"] == json!("usage") && l["period_start"] == json!("2024-03-01"))
            .collect();
        assert_eq!(usage.len(), 1, "{acc}: {lines}");
        assert_eq!(
            usage[0]["quantity"]
                .as_str()
                .unwrap()
                .parse::<Decimal>()
                .unwrap(),
            march,
            "{acc}: {lines}"
        );
    }
    api.cleanup().await;
}

async fn tenant_row(app: &App, tenant: &str) -> quoin_store::rows::TenantRow {
    let mut tx = app.store().read().await.unwrap();
    let row = tx.get_tenant(tenant).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    row
}

async fn advance_seconds(app: &App, p: &Principal, seconds: i64) {
    let row = tenant_row(app, &p.tenant_id).await;
    let now = jiff::Timestamp::from_microsecond(row.test_now_us.unwrap()).unwrap();
    app.set_test_clock(
        p,
        quoin_app::model::SetTestClock {
            now: now + jiff::SignedDuration::from_secs(seconds),
        },
    )
    .await
    .unwrap();
}
