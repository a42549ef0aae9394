//! `GET /v1/subscriptions/{id}/usage` pinned on both stores: a subscription with eight
//! usage items (sum, graduated, package, unique count with volume tiers, weighted sum,
//! grouped sum rated per group, a voice item rated call by call and a yearly item) on an
//! account in New York, events on both sides of the period's local boundaries. The figures
//! are the answer as it was before the query was batched (about 30 statements then), so
//! any rewrite of the query must give exactly these amounts, quantities and periods.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(current_usage_of_every_kind_of_item_is_pinned);

fn plan() -> Value {
    let weekdays = json!(["mon", "tue", "wed", "thu", "fri"]);
    json!({
        "code": "voice-q",
        "currency": "EUR",
        "bands": [
            {"code": "peak", "windows": [{"days": weekdays, "from": "08:00", "to": "19:00"}]},
            {"code": "offpeak", "windows": [
                {"days": weekdays, "from": "00:00", "to": "08:00"},
                {"days": weekdays, "from": "19:00", "to": "24:00"}]},
            {"code": "weekend", "windows": [{"days": ["sat", "sun"], "from": "00:00", "to": "24:00"}]}
        ],
        "destinations": [
            {"code": "uk", "prefixes": ["44"], "increment": "60/60",
             "rates": {"peak": "0.10", "offpeak": "0.05", "weekend": "0.02"}},
            {"code": "us", "prefixes": ["1"], "increment": "1/1", "minimum_charge": "0.10",
             "rates": {"peak": "0.012", "offpeak": "0.012", "weekend": "0.012"}}
        ]
    })
}

fn catalog() -> Value {
    let usage = |code: &str, metric: &str, extra: Value| {
        let mut p = json!({"type": "usage", "code": code, "currency": "EUR", "metric": metric,
                           "period": "month"});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    json!({
        "metrics": [
            {"code": "calls", "name": "Call seconds", "aggregation": "sum", "field": "quantity"},
            {"code": "data_mb", "name": "Data", "aggregation": "sum", "field": "quantity"},
            {"code": "sms", "name": "SMS", "aggregation": "count"},
            {"code": "users", "name": "Users", "aggregation": "unique_count", "field": "user"},
            {"code": "storage", "name": "Storage", "aggregation": "weighted_sum", "field": "value"},
            {"code": "bytes", "name": "Bytes", "aggregation": "sum", "field": "v", "group_by": ["region"]},
            {"code": "voice", "name": "Voice", "aggregation": "count"},
            {"code": "api", "name": "API calls", "aggregation": "sum", "field": "quantity"}
        ],
        "products": [{"code": "combo", "name": "Combo", "status": "active", "prices": [
            {"code": "base", "currency": "EUR", "amount": "20", "period": "month"},
            usage("u-calls", "calls", json!({"amount": "0.001"})),
            usage("u-data", "data_mb", json!({"model": {"type": "graduated", "tiers": [
                {"from": "0", "to": "1000", "unit_amount": "0"},
                {"from": "1000", "unit_amount": "0.002"}]}})),
            usage("u-sms", "sms", json!({"model": {"type": "package", "block_size": "10",
                "block_amount": "0.5"}})),
            usage("u-users", "users", json!({"model": {"type": "volume", "tiers": [
                {"from": "0", "to": "2", "unit_amount": "3"},
                {"from": "2", "unit_amount": "2"}]}})),
            usage("u-storage", "storage", json!({"amount": "0.1"})),
            usage("u-bytes", "bytes", json!({"model": {"type": "graduated", "tiers": [
                {"from": "0", "to": "5", "unit_amount": "0"},
                {"from": "5", "unit_amount": "1"}]}})),
            usage("u-voice", "voice", json!({"model": {"type": "voice", "rating_plan": "voice-q"}})),
            usage("u-api", "api", json!({"period": "year", "amount": "0.0001"}))
        ]}]
    })
}

const KEYS: [(&str, &str); 8] = [
    ("u-calls", "K-calls"),
    ("u-data", "K-data"),
    ("u-sms", "K-sms"),
    ("u-users", "K-users"),
    ("u-storage", "K-storage"),
    ("u-bytes", "K-bytes"),
    ("u-voice", "K-voice"),
    ("u-api", "K-api"),
];

fn ev(id: &str, key: &str, metric: &str, at: &str, rest: Value) -> Value {
    let mut e = json!({"id": id, "item_key": key, "metric": metric, "timestamp": at});
    for (k, v) in rest.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

/// New York is UTC−5 in November: 2026-11-15T04:30Z is still the 14th there (previous
/// period), 05:30Z is the 15th (current period, which starts on the bill cycle day 15).
fn events() -> Value {
    let q = |n: &str| json!({"quantity": n});
    let p = |v: Value| json!({"properties": v});
    json!({"events": [
        ev("c0", "K-calls", "calls", "2026-11-15T04:30:00Z", q("1000")),
        ev("c1", "K-calls", "calls", "2026-11-15T05:30:00Z", q("125")),
        ev("c2", "K-calls", "calls", "2026-11-18T10:00:00Z", q("600.5")),
        ev("c3", "K-calls", "calls", "2026-11-20T11:00:00Z", q("0.25")),
        ev("d0", "K-data", "data_mb", "2026-11-10T10:00:00Z", q("5000")),
        ev("d1", "K-data", "data_mb", "2026-11-16T10:00:00Z", q("800")),
        ev("d2", "K-data", "data_mb", "2026-11-19T10:00:00Z", q("450.75")),
        ev("s1", "K-sms", "sms", "2026-11-15T06:00:00Z", json!({})),
        ev("s2", "K-sms", "sms", "2026-11-16T06:00:00Z", json!({})),
        ev("s3", "K-sms", "sms", "2026-11-17T06:00:00Z", json!({})),
        ev("s4", "K-sms", "sms", "2026-11-14T06:00:00Z", json!({})),
        ev("n1", "K-users", "users", "2026-11-15T08:00:00Z", p(json!({"user": "ann"}))),
        ev("n2", "K-users", "users", "2026-11-16T08:00:00Z", p(json!({"user": "bob"}))),
        ev("n3", "K-users", "users", "2026-11-17T08:00:00Z", p(json!({"user": "ann"}))),
        ev("n4", "K-users", "users", "2026-11-18T08:00:00Z", p(json!({"user": "cy"}))),
        ev("n5", "K-users", "users", "2026-11-01T08:00:00Z", p(json!({"user": "dee"}))),
        ev("w1", "K-storage", "storage", "2026-11-15T05:00:00Z", p(json!({"value": "30"}))),
        ev("w2", "K-storage", "storage", "2026-11-20T05:00:00Z", p(json!({"value": "-10"}))),
        ev("b1", "K-bytes", "bytes", "2026-11-16T12:00:00Z", p(json!({"v": "4", "region": "eu"}))),
        ev("b2", "K-bytes", "bytes", "2026-11-17T12:00:00Z", p(json!({"v": "9", "region": "us"}))),
        ev("b3", "K-bytes", "bytes", "2026-11-18T12:00:00Z", p(json!({"v": "3", "region": "eu"}))),
        // Voice (New York local times): Monday 16th 10:00 peak, uk 61 s → 0.20; Saturday
        // 21st is after the clock, so Tuesday 17th 20:00 offpeak, uk 30 s → 0.05; us 7 s
        // → minimum 0.10.
        ev("v1", "K-voice", "voice", "2026-11-16T15:00:00Z",
           p(json!({"destination": "442071234567", "duration": "61"}))),
        ev("v2", "K-voice", "voice", "2026-11-18T01:00:00Z",
           p(json!({"destination": "442071234567", "duration": "30"}))),
        ev("v3", "K-voice", "voice", "2026-11-19T15:00:00Z",
           p(json!({"destination": "+12125551234", "duration": "7"}))),
        ev("a1", "K-api", "api", "2026-07-01T12:00:00Z", q("40000")),
        ev("a2", "K-api", "api", "2026-11-19T12:00:00Z", q("2500")),
    ]})
}

/// The answer without generated ids, item by item in item order.
fn pinned(body: &Value) -> Vec<Value> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            json!({
                "usage_key": i["usage_key"], "metric": i["metric"],
                "period_start": i["period_start"], "period_end": i["period_end"],
                "quantity": i["quantity"], "groups": i["groups"],
                "amount": i["amount"], "currency": i["currency"],
            })
        })
        .collect()
}

fn item(key: &str, metric: &str, period: (&str, &str), quantity: &str, amount: &str) -> Value {
    json!({
        "usage_key": key, "metric": metric, "period_start": period.0, "period_end": period.1,
        "quantity": quantity, "groups": [{"key": [], "quantity": quantity}],
        "amount": amount, "currency": "EUR",
    })
}

async fn current_usage_of_every_kind_of_item_is_pinned(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2026-06-10T12:00:00Z"}),
        200,
    )
    .await;
    api.post_ok("/v1/rating-plans", plan(), 201).await;
    let r = api.post("/v1/catalog/import", catalog()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let product = api.get("/v1/products").await.body["data"][0].clone();
    let price = |code: &str| {
        product["prices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == json!(code))
            .unwrap_or_else(|| panic!("price {code}"))["id"]
            .clone()
    };
    let acc = api
        .post_ok(
            "/v1/accounts",
            json!({"kind": "business", "name": "Q", "billing": {"currency": "EUR",
                   "bill_cycle_day": 15, "time_zone": "America/New_York"}}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let items: Vec<Value> = KEYS
        .iter()
        .map(|(code, key)| json!({"price_id": price(code), "usage_key": key}))
        .collect();
    let sub = api
        .post_ok(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": price("base"), "start_date": "2026-06-10",
                   "external_id": "ext-q", "items": items}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.post_ok(
        "/v1/test-clock/advance",
        json!({"to": "2026-11-20T12:00:00Z"}),
        200,
    )
    .await;
    let r = api.post_ok("/v1/events", events(), 200).await;
    assert_eq!(
        (&r["accepted"], &r["suspended"], &r["rejected"]),
        (&json!(26), &json!(0), &json!(0)),
        "{r}"
    );

    let month = ("2026-11-15", "2026-12-15");
    let expected = vec![
        // 125 + 600.5 + 0.25 (c0 is the 14th in New York) at 0.001.
        item("K-calls", "calls", month, "725.75", "0.72575"),
        // 1,250.75 MB, the first 1,000 free, 250.75 at 0.002.
        item("K-data", "data_mb", month, "1250.75", "0.5015"),
        // Three SMS: one started block of 10.
        item("K-sms", "sms", month, "3", "0.5"),
        // ann, bob, cy: three users, all at the volume tier's 2.
        item("K-users", "users", month, "3", "6"),
        // 30 from the 15th 00:00 local for 5 days, then 20 for the remaining 25 days of a
        // 30-day period: (30 × 5 + 20 × 25) / 30 = 21.666…
        item(
            "K-storage",
            "storage",
            month,
            "21.666666666666666666666666667",
            "2.1666666666666666666666666667",
        ),
        json!({
            "usage_key": "K-bytes", "metric": "bytes", "period_start": month.0,
            "period_end": month.1, "quantity": "16",
            "groups": [{"key": ["eu"], "quantity": "7"}, {"key": ["us"], "quantity": "9"}],
            // Each region rated on its own: eu 7 → 2, us 9 → 4.
            "amount": "6", "currency": "EUR",
        }),
        // Three calls: 0.20 + 0.05 + 0.10.
        item("K-voice", "voice", month, "3", "0.35"),
        // The yearly item's period: a year ending on a bill cycle day, both calls inside.
        item(
            "K-api",
            "api",
            ("2026-01-15", "2027-01-15"),
            "42500",
            "4.25",
        ),
    ];
    for who in [sub.as_str(), "ext-q"] {
        let r = api.get(&format!("/v1/subscriptions/{who}/usage")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["subscription_id"], json!(sub));
        assert_eq!(pinned(&r.body), expected, "{}", r.body);
    }

    // An explicit range applies to every item, whatever its price's period.
    let r = api
        .get(&format!(
            "/v1/subscriptions/{sub}/usage?from=2026-11-14&to=2026-11-17"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let range = ("2026-11-14", "2026-11-17");
    let expected = vec![
        item("K-calls", "calls", range, "1125", "1.125"),
        item("K-data", "data_mb", range, "800", "0"),
        item("K-sms", "sms", range, "3", "0.5"),
        item("K-users", "users", range, "2", "6"),
        item("K-storage", "storage", range, "20", "2"),
        json!({
            "usage_key": "K-bytes", "metric": "bytes", "period_start": range.0,
            "period_end": range.1, "quantity": "4",
            "groups": [{"key": ["eu"], "quantity": "4"}],
            "amount": "0", "currency": "EUR",
        }),
        item("K-voice", "voice", range, "1", "0.2"),
        item("K-api", "api", range, "0", "0"),
    ];
    assert_eq!(pinned(&r.body), expected, "{}", r.body);
    api.cleanup().await;
}
