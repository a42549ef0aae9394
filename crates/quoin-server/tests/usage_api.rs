//! Usage ingestion through the HTTP API on both stores: exactly-once counting, per-event
//! rejections, suspense and recycling, PUBLIC-EXAMPLES A11/A12 from ingested events, and
//! rollups equal to a full scan of the stored events.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::rows::{ItemSegmentRow, SubscriptionItemRow};
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    duplicates_and_rejections_are_counted_per_event,
    suspense_lists_and_recycles,
    a11_aggregations_from_ingested_events,
    a12_weighted_sum_from_ingested_events,
    rollups_equal_a_full_scan
);

/// A tenant with the metrics, a product with usage prices on each, an account and a
/// subscription (external id `ext-1`) starting 2023-01-01; returns (api, subscription id,
/// usage price ids by metric).
async fn setup(db: TestStore, metrics: Value) -> (TestApi, String, Vec<(String, String)>) {
    let api = TestApi::new(db, Mode::Development).await;
    let codes: Vec<String> = metrics
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap().to_string())
        .collect();
    let mut prices = vec![json!({"currency": "USD", "amount": "10", "period": "month"})];
    for c in &codes {
        prices.push(
            json!({"type": "usage", "currency": "USD", "metric": c, "period": "month",
            "code": format!("use-{c}"), "amount": "0.5"}),
        );
    }
    let doc = json!({"metrics": metrics, "products": [{"code": "plan", "name": "Plan", "status": "active", "prices": prices}]});
    let r = api.post("/v1/catalog/import", doc).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let product = api.get("/v1/products").await.body["data"][0].clone();
    let mut usage = Vec::new();
    let mut recurring = String::new();
    for p in product["prices"].as_array().unwrap() {
        match p["metric"].as_str() {
            Some(m) => usage.push((m.to_string(), p["id"].as_str().unwrap().to_string())),
            None => recurring = p["id"].as_str().unwrap().to_string(),
        }
    }
    let acct = api
        .post_ok(
            "/v1/accounts",
            json!({"kind": "business", "name": "Acme", "billing": {"currency": "USD"}}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sub = api
        .post_ok(
            "/v1/subscriptions",
            json!({"account_id": acct, "price_id": recurring, "start_date": "2023-01-01"}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Give the subscription an external id and a usage item per usage price (the store
    // directly: creating usage items through the API is the subscriptions rework's job).
    let mut tx = api.db.store.begin().await.unwrap();
    let mut row = tx
        .get_subscription(&api.tenant, &sub)
        .await
        .unwrap()
        .unwrap();
    let ext_id = format!("{}x", row.id);
    row.external_id = Some("ext-1".into());
    row.id = ext_id.clone();
    tx.insert_subscription(&row).await.unwrap();
    for (k, (metric, price)) in usage.iter().enumerate() {
        add_item(
            &mut tx,
            &api.tenant,
            &ext_id,
            &format!("key-{metric}"),
            price,
            k as i64 + 1,
        )
        .await;
    }
    tx.commit().await.unwrap();
    (api, ext_id, usage)
}

async fn add_item(
    tx: &mut quoin_store::Tx,
    tenant: &str,
    sub: &str,
    key: &str,
    price: &str,
    pos: i64,
) {
    let id = format!("itm_{sub}_{pos}");
    tx.insert_subscription_item(&SubscriptionItemRow {
        id: id.clone(),
        tenant_id: tenant.into(),
        subscription_id: sub.into(),
        usage_key: Some(key.into()),
        position: pos,
        billed_through: None,
        created_at_us: 0,
        usage_reconcile_from: None,
    })
    .await
    .unwrap();
    tx.insert_item_segment(&ItemSegmentRow {
        tenant_id: tenant.into(),
        item_id: id,
        subscription_id: sub.into(),
        start_date: "2023-01-01".into(),
        end_date: Some("2024-01-01".into()),
        price_id: price.into(),
        quantity: "1".into(),
        unit_amount: None,
        version: 1,
    })
    .await
    .unwrap();
}

fn sum_metric() -> Value {
    json!([{"code": "calls", "name": "Calls", "aggregation": "sum", "field": "quantity"}])
}

async fn usage_of(api: &TestApi, sub: &str, from: &str, to: &str) -> Vec<(String, String)> {
    let r = api
        .get(&format!(
            "/v1/subscriptions/{sub}/usage?from={from}&to={to}"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["metric"].as_str().unwrap().to_string(),
                i["quantity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn duplicates_and_rejections_are_counted_per_event(db: TestStore) {
    let (api, sub, _) = setup(db, sum_metric()).await;
    let ev = |id: &str, q: Value| json!({"id": id, "subscription": "ext-1", "metric": "calls", "timestamp": "2023-03-05T10:00:00Z", "quantity": q});
    let batch = json!({"events": [
        ev("e1", json!(5)),
        ev("e2", json!("2.5")),
        ev("e1", json!(100)),                      // repeated in the batch: counted once
        {"subscription": "ext-1", "metric": "calls", "timestamp": "2023-03-05T10:00:00Z", "quantity": 1},
        {"id": "bad-metric", "subscription": "ext-1", "metric": "nope", "timestamp": "2023-03-05T10:00:00Z", "quantity": 1},
        ev("bad-qty", json!("lots")),
        {"id": "future", "subscription": "ext-1", "metric": "calls", "timestamp": "2999-01-01T00:00:00Z", "quantity": 1},
        {"id": "no-ts", "subscription": "ext-1", "metric": "calls", "quantity": 1},
        {"id": "no-qty", "subscription": "ext-1", "metric": "calls", "timestamp": "2023-03-05T10:00:00Z"},
        ev("e3", json!(1)),
    ]});
    let r = api.post_ok("/v1/events", batch, 200).await;
    assert_eq!(
        (
            r["accepted"].as_u64(),
            r["duplicates"].as_u64(),
            r["rejected"].as_u64()
        ),
        (Some(3), Some(1), Some(6))
    );
    let reasons: Vec<(u64, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (3, "missing_id".into()),
            (4, "unknown_metric".into()),
            (5, "non_numeric_quantity".into()),
            (6, "timestamp_in_future".into()),
            (7, "missing_timestamp".into()),
            (8, "missing_quantity".into()),
        ]
    );
    assert_eq!(r["errors"][1]["id"], "bad-metric");
    // Across batches (and NDJSON, with a malformed line rejected on its own).
    let nd = format!(
        "{}\nnot json\n{}\n",
        ev("e2", json!(9)),
        ev("e4", json!(10))
    );
    let r = api
        .raw_ct("POST", "/v1/events", &nd, "application/x-ndjson")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.body["accepted"].as_u64(),
            r.body["duplicates"].as_u64(),
            r.body["rejected"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(r.body["errors"][0]["index"], 1);
    assert_eq!(r.body["errors"][0]["reason"], "malformed");
    // 5 + 2.5 + 1 + 10
    assert_eq!(
        usage_of(&api, &sub, "2023-03-01", "2023-04-01").await,
        vec![("calls".into(), "18.5".into())]
    );
    // Oversize batch: the whole request is refused and nothing changes.
    let big: Vec<Value> = (0..10_001)
        .map(|i| ev(&format!("b{i}"), json!(1)))
        .collect();
    let r = api.post("/v1/events", json!({"events": big})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (422, Some("batch_too_large"))
    );
    let r = api
        .get("/v1/usage/events?subscription=ext-1&metric=calls&limit=2")
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 2);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = api
        .get(&format!(
            "/v1/usage/events?subscription=ext-1&limit=10&cursor={cursor}"
        ))
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["next_cursor"], Value::Null);
    api.cleanup().await;
}

async fn suspense_lists_and_recycles(db: TestStore) {
    let (api, sub, usage) = setup(
        db,
        json!([
            {"code": "calls", "name": "Calls", "aggregation": "sum", "field": "quantity"},
            {"code": "sms", "name": "SMS", "aggregation": "count"}
        ]),
    )
    .await;
    let batch = json!({"events": [
        {"id": "s1", "item_key": "later-key", "metric": "calls", "timestamp": "2023-03-05T10:00:00Z", "quantity": 4},
        {"id": "s2", "subscription": "nobody", "metric": "calls", "timestamp": "2023-03-05T10:00:00Z", "quantity": 1},
        {"id": "s3", "subscription": "ext-1", "metric": "calls", "timestamp": "2022-03-05T10:00:00Z", "quantity": 1},
        {"id": "ok", "item_key": "key-calls", "metric": "calls", "timestamp": "2023-03-05T10:00:00Z", "quantity": 2},
        {"id": "s4", "item_key": "key-calls", "metric": "sms", "timestamp": "2023-03-05T10:00:00Z"},
    ]});
    let r = api.post_ok("/v1/events", batch, 200).await;
    assert_eq!(
        (r["accepted"].as_u64(), r["suspended"].as_u64()),
        (Some(5), Some(4))
    );
    let r = api.get("/v1/usage/suspense").await;
    let listed: Vec<(String, String)> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().into(),
                e["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut listed = listed;
    listed.sort();
    assert_eq!(
        listed,
        vec![
            ("s1".into(), "unknown_item_key".into()),
            ("s2".into(), "unknown_subscription".into()),
            ("s3".into(), "outside_service_dates".into()),
            ("s4".into(), "metric_not_on_plan".into()),
        ]
    );
    let r = api
        .get("/v1/usage/suspense?reason=unknown_item_key&limit=1")
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    // Nothing fixed yet: recycling matches none.
    let r = api
        .post_ok("/v1/usage/suspense/recycle", json!({"ids": ["s1"]}), 200)
        .await;
    assert_eq!(
        r,
        json!({"examined": 1, "matched": 0, "still_suspended": 1})
    );
    // Fix: the item key now exists on the subscription.
    let calls_price = usage.iter().find(|(m, _)| m == "calls").unwrap().1.clone();
    let mut tx = api.db.store.begin().await.unwrap();
    add_item(&mut tx, &api.tenant, &sub, "later-key", &calls_price, 9).await;
    tx.commit().await.unwrap();
    let r = api
        .post_ok(
            "/v1/usage/suspense/recycle",
            json!({"filter": {"metric": "calls"}}),
            200,
        )
        .await;
    assert_eq!(
        r,
        json!({"examined": 3, "matched": 1, "still_suspended": 2})
    );
    let r = api.get("/v1/usage/suspense").await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 3);
    let got = usage_of(&api, &sub, "2023-03-01", "2023-04-01").await;
    // Two calls items (key-calls: 2, later-key: 4) and sms (none).
    let mut calls: Vec<String> = got
        .iter()
        .filter(|(m, _)| m == "calls")
        .map(|(_, q)| q.clone())
        .collect();
    calls.sort();
    assert_eq!(calls, vec!["2".to_string(), "4".to_string()]);
    api.cleanup().await;
}

async fn a11_aggregations_from_ingested_events(db: TestStore) {
    let metrics = json!([
        {"code": "pv_count", "name": "Count", "aggregation": "count"},
        {"code": "pv_sum", "name": "Sum", "aggregation": "sum", "field": "pageviews"},
        {"code": "pv_max", "name": "Max", "aggregation": "max", "field": "pageviews"},
        {"code": "pv_users", "name": "Users", "aggregation": "unique_count", "field": "tracked_user_id"},
    ]);
    let (api, sub, _) = setup(db, metrics).await;
    let mut events = Vec::new();
    for m in ["pv_count", "pv_sum", "pv_max", "pv_users"] {
        for (n, pv) in [(1, 10), (2, 20)] {
            events.push(
                json!({"id": format!("{m}-{n}"), "subscription": "ext-1", "metric": m,
                "timestamp": format!("2023-05-0{n}T12:00:00Z"),
                "properties": {"pageviews": pv, "tracked_user_id": "u-1"}}),
            );
        }
    }
    let r = api
        .post_ok("/v1/events", json!({"events": events}), 200)
        .await;
    assert_eq!(r["accepted"], 8);
    let mut got = usage_of(&api, &sub, "2023-05-01", "2023-06-01").await;
    got.sort();
    assert_eq!(
        got,
        vec![
            ("pv_count".into(), "2".into()),
            ("pv_max".into(), "20".into()),
            ("pv_sum".into(), "30".into()),
            ("pv_users".into(), "1".into()),
        ]
    );
    api.cleanup().await;
}

async fn a12_weighted_sum_from_ingested_events(db: TestStore) {
    let metrics = json!([
        {"code": "gb", "name": "GB", "aggregation": "weighted_sum", "field": "value"},
        {"code": "gb_region", "name": "GB by region", "aggregation": "weighted_sum", "field": "value", "group_by": ["region"]},
    ]);
    let (api, sub, _) = setup(db, metrics).await;
    let incs = [
        ("00:00", "2"),
        ("01:00", "3"),
        ("01:30", "1"),
        ("02:00", "-4"),
        ("04:00", "-2"),
        ("05:00", "10"),
        ("05:30", "-10"),
    ];
    let mut events: Vec<Value> = incs
        .iter()
        .enumerate()
        .map(|(i, (t, v))| {
            json!({
        "id": format!("w{i}"), "item_key": "key-gb", "metric": "gb",
        "timestamp": format!("2023-08-01T{t}:00Z"), "properties": {"value": v}})
        })
        .collect();
    for (i, (t, v, region)) in [
        ("00:00", "2", "eu"),
        ("02:00", "-1", "eu"),
        ("01:00", "3", "us"),
    ]
    .iter()
    .enumerate()
    {
        events.push(json!({"id": format!("g{i}"), "item_key": "key-gb_region", "metric": "gb_region",
            "timestamp": format!("2023-08-01T{t}:00Z"), "properties": {"value": v, "region": region}}));
    }
    let r = api
        .post_ok("/v1/events", json!({"events": events}), 200)
        .await;
    assert_eq!(r["accepted"], 10);
    let r = api
        .get(&format!(
            "/v1/subscriptions/{sub}/usage?from=2023-08-01&to=2023-09-01"
        ))
        .await;
    let items = r.body["items"].as_array().unwrap();
    let round5 = |s: &str| {
        s.parse::<rust_decimal::Decimal>()
            .unwrap()
            .round_dp(5)
            .to_string()
    };
    let gb = items.iter().find(|i| i["metric"] == "gb").unwrap();
    assert_eq!(round5(gb["quantity"].as_str().unwrap()), "0.02218");
    let region = items.iter().find(|i| i["metric"] == "gb_region").unwrap();
    let groups: Vec<(Value, String)> = region["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].clone(), round5(g["quantity"].as_str().unwrap())))
        .collect();
    assert_eq!(
        groups,
        vec![
            (json!(["eu"]), "1.00269".into()),
            (json!(["us"]), "2.99597".into())
        ]
    );
    // A single event of 1000 at the period start averages to 1000.
    let r = api
        .post_ok(
            "/v1/events",
            json!({"events": [{"id": "s", "item_key": "key-gb", "metric": "gb",
        "timestamp": "2023-10-01T00:00:00Z", "properties": {"value": 1000}}]}),
            200,
        )
        .await;
    assert_eq!(r["accepted"], 1);
    let got = usage_of(&api, &sub, "2023-10-01", "2023-11-01").await;
    assert!(got.contains(&("gb".into(), "1000".into())), "{got:?}");
    api.cleanup().await;
}

/// Rollups answer exactly what the core computes from the stored events, for every
/// aggregation, with filters and groups, over random periods (seeded, 12 cases).
async fn rollups_equal_a_full_scan(db: TestStore) {
    let metrics = json!([
        {"code": "m_count", "name": "c", "aggregation": "count", "filters": [{"property": "kind", "values": ["a", "b"]}]},
        {"code": "m_sum", "name": "s", "aggregation": "sum", "field": "v", "group_by": ["kind"]},
        {"code": "m_max", "name": "x", "aggregation": "max", "field": "v"},
        {"code": "m_latest", "name": "l", "aggregation": "latest", "field": "v"},
        {"code": "m_unique", "name": "u", "aggregation": "unique_count", "field": "user", "group_by": ["kind"]},
        {"code": "m_wsum", "name": "w", "aggregation": "weighted_sum", "field": "v"},
    ]);
    let (api, _sub, _) = setup(db, metrics).await;
    let codes = [
        "m_count", "m_sum", "m_max", "m_latest", "m_unique", "m_wsum",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for case in 0..12 {
        let mut events = Vec::new();
        let mut used_ts = std::collections::HashSet::new();
        for i in 0..(20 + next(60)) {
            let m = codes[next(6) as usize];
            // Distinct instants (ties of `latest` go to the later-ingested event).
            let mut secs = next(40 * 86_400);
            while !used_ts.insert(secs) {
                secs += 1;
            }
            let ts = jiff::Timestamp::from_second(1_685_577_600 + secs as i64).unwrap();
            let v = format!("{}.{}", next(200) as i64 - 50, next(100));
            let kind = ["a", "b", "c"][next(3) as usize];
            events.push(json!({"id": format!("c{case}-{i}"), "item_key": format!("key-{m}"), "metric": m,
                "timestamp": ts.to_string(), "properties": {"v": v, "kind": kind, "user": format!("u{}", next(5))}}));
        }
        // Ingest in two batches, the second repeating some of the first.
        let split = events.len() / 2;
        let first: Vec<Value> = events[..split].to_vec();
        let mut second: Vec<Value> = events[split..].to_vec();
        second.extend(events[..split / 3].iter().cloned());
        api.post_ok("/v1/events", json!({"events": first}), 200)
            .await;
        api.post_ok("/v1/events", json!({"events": second}), 200)
            .await;
        let mut tx = api.db.store.read().await.unwrap();
        for m in codes {
            let item = tx
                .item_by_usage_key(&api.tenant, &format!("key-{m}"))
                .await
                .unwrap()
                .unwrap();
            for _ in 0..3 {
                let a = jiff::civil::date(2023, 6, 1)
                    .checked_add(jiff::Span::new().days(next(35) as i64))
                    .unwrap();
                let b = a
                    .checked_add(jiff::Span::new().days(1 + next(20) as i64))
                    .unwrap();
                let fast =
                    quoin_app::usage::usage_for_period(&mut tx, &api.tenant, &item.id, m, a, b)
                        .await
                        .unwrap();
                let scan = quoin_app::usage::usage_by_scan(&mut tx, &api.tenant, &item.id, m, a, b)
                    .await
                    .unwrap();
                let norm = |g: Vec<quoin_app::model::GroupUsage>| -> Vec<(Vec<Option<String>>, rust_decimal::Decimal)> {
                    g.into_iter().map(|g| (g.key, g.quantity.parse().unwrap())).collect()
                };
                assert_eq!(
                    norm(fast),
                    norm(scan),
                    "case {case} metric {m} period {a}..{b}"
                );
            }
        }
        tx.commit().await.unwrap();
    }
    api.cleanup().await;
}
