//! Voice CDRs end to end on both stores: a rating plan through `POST /v1/rating-plans`
//! (bad plans refused with a code and field, nothing stored), a usage price with the
//! `voice` model, CDRs ingested as ordinary usage events, and the ended month billed as one
//! `usage` line rated call by call with its summary in `detail`.

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    voice_calls_are_rated_call_by_call,
    bad_rating_plans_change_nothing,
    usage_csv_lists_every_billed_event,
    unratable_calls_wait_in_suspense_until_the_plan_covers_them,
    unratable_calls_found_at_billing_leave_the_item
);

/// Peak Mon–Fri 08:00–19:00, off-peak the other weekday hours, weekend all day.
pub fn plan() -> Value {
    let weekdays = json!(["mon", "tue", "wed", "thu", "fri"]);
    json!({
        "code": "voice-eur",
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
            {"code": "uk-mobile", "prefixes": ["447"], "increment": "30/6", "connection_fee": "0.05",
             "rates": {"peak": "0.30", "offpeak": "0.20", "weekend": "0.15"}},
            {"code": "us", "prefixes": ["1"], "increment": "1/1", "minimum_charge": "0.10",
             "rates": {"peak": "0.012", "offpeak": "0.012", "weekend": "0.012"}}
        ]
    })
}

pub fn cdr(id: &str, number: &str, at: &str, seconds: u32) -> Value {
    json!({"id": id, "item_key": "LINE-1", "metric": "calls", "timestamp": at,
           "properties": {"destination": number, "duration": seconds.to_string()}})
}

/// Catalog, account (Europe/London) and a voice subscription from 2026-11-01; returns
/// the account id.
pub async fn voice_customer(api: &TestApi) -> String {
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2026-11-01T06:00:00Z"}),
        200,
    )
    .await;
    api.post_ok("/v1/rating-plans", plan(), 201).await;
    let doc = json!({
        "metrics": [{"code": "calls", "name": "Calls", "aggregation": "count"},
                    {"code": "data_mb", "name": "Data", "aggregation": "sum", "field": "quantity"}],
        "products": [{"code": "voice", "name": "Voice", "status": "active", "prices": [
            {"code": "voice-calls", "type": "usage", "currency": "EUR", "metric": "calls", "period": "month",
             "model": {"type": "voice", "rating_plan": "voice-eur"}}]},
            {"code": "data", "name": "Data", "status": "active", "prices": [
            {"code": "data-mb", "type": "usage", "currency": "EUR", "metric": "data_mb", "period": "month",
             "amount": "0.01"}]}]});
    let r = api.post("/v1/catalog/import", doc).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let price = price_id(api, "voice").await;
    let acc = api
        .post_ok(
            "/v1/accounts",
            json!({"kind": "person", "name": "Caller", "billing": {"currency": "EUR",
                   "bill_cycle_day": 1, "time_zone": "Europe/London"}}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.post_ok(
        "/v1/subscriptions",
        json!({"account_id": acc, "price_id": price, "start_date": "2026-11-01", "usage_key": "LINE-1"}),
        201,
    )
    .await;
    acc
}

pub async fn price_id(api: &TestApi, product: &str) -> Value {
    let products = api.get("/v1/products").await.body["data"].clone();
    let found = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == json!(product));
    found.unwrap()["prices"][0]["id"].clone()
}

/// The six calls, charges as in quoin-core's `rating_voice` table (London = UTC in November).
pub fn november_calls() -> Value {
    json!({"events": [
        // uk, peak, 61 s → 120 s × 0.10/min = 0.20
        cdr("c1", "442071234567", "2026-11-23T10:00:00Z", 61),
        // uk-mobile (447 beats 44), peak, 31 s → 36 s: 0.05 + 0.30 × 0.6 = 0.23
        cdr("c2", "447700900123", "2026-11-23T10:00:00Z", 31),
        // uk-mobile, Saturday, 100 s → 102 s: 0.05 + 0.15 × 1.7 = 0.305 → 0.31
        cdr("c3", "447700900123", "2026-11-28T12:00:00Z", 100),
        // us, 1/1, 7 s: 0.0014 → minimum 0.10
        cdr("c4", "+12125551234", "2026-11-23T10:00:00Z", 7),
        // uk-mobile, 07:59:59 is off-peak, 100 s → 102 s: 0.05 + 0.20 × 1.7 = 0.39
        cdr("c5", "447700900123", "2026-11-23T07:59:59Z", 100),
        // a 0-second call is free but counted
        cdr("c6", "442071234567", "2026-11-24T09:00:00Z", 0),
    ]})
}

async fn voice_calls_are_rated_call_by_call(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let acc = voice_customer(&api).await;
    api.post_ok(
        "/v1/test-clock/advance",
        json!({"to": "2026-11-29T12:00:00Z"}),
        200,
    )
    .await;
    let r = api.post_ok("/v1/events", november_calls(), 200).await;
    assert_eq!(r["accepted"], json!(6), "{r}");
    // Current usage is rated as billing will rate it: six calls, 1.23.
    let subs = api
        .get(&format!("/v1/subscriptions?account_id={acc}"))
        .await
        .body;
    let sub = subs["data"][0]["id"].as_str().unwrap().to_string();
    let usage = api
        .get(&format!("/v1/subscriptions/{sub}/usage"))
        .await
        .body;
    assert_eq!(
        (
            usage["items"][0]["quantity"].clone(),
            usage["items"][0]["amount"].clone()
        ),
        (json!("6"), json!("1.23")),
        "{usage}"
    );

    let got = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2026-12-01T12:00:00Z"}),
            200,
        )
        .await;
    let inv = &got["invoices"][0];
    let line = &inv["lines"][0];
    assert_eq!(inv["lines"].as_array().unwrap().len(), 1, "{inv}");
    assert_eq!(
        (
            &line["kind"],
            &line["period_start"],
            &line["period_end"],
            &line["quantity"],
            &line["amount"]
        ),
        (
            &json!("usage"),
            &json!("2026-11-01"),
            &json!("2026-12-01"),
            &json!("6"),
            &json!("1.23")
        )
    );
    assert_eq!(inv["total"], json!("1.23"));
    // 120 + 36 + 102 + 7 + 102 + 0 = 367 s = 6.1166… → 6.12 minutes shown.
    assert_eq!(
        line["detail"],
        json!({"usage": {
        "model": "voice", "rating_plan": "voice-eur", "calls": 6,
        "billed_seconds": 367, "minutes_billed": "6.12", "amount": "1.23",
        "subtotals": [
            {"destination": "uk", "band": "peak", "calls": 2, "billed_seconds": 120, "minutes_billed": "2", "amount": "0.20"},
            {"destination": "uk-mobile", "band": "peak", "calls": 1, "billed_seconds": 36, "minutes_billed": "0.6", "amount": "0.23"},
            {"destination": "uk-mobile", "band": "offpeak", "calls": 1, "billed_seconds": 102, "minutes_billed": "1.7", "amount": "0.39"},
            {"destination": "uk-mobile", "band": "weekend", "calls": 1, "billed_seconds": 102, "minutes_billed": "1.7", "amount": "0.31"},
            {"destination": "us", "band": "peak", "calls": 1, "billed_seconds": 7, "minutes_billed": "0.12", "amount": "0.10"}
        ]}})
    );
    api.cleanup().await;
}

async fn bad_rating_plans_change_nothing(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let before = api.counts().await;
    let mut gap = plan();
    gap["bands"][2]["windows"][0]["days"] = json!(["sat"]);
    let mut increment = plan();
    increment["destinations"][1]["increment"] = json!("30");
    let mut rate = plan();
    rate["destinations"][2]["rates"]["offpeak"] = json!("-1");
    let mut prefix = plan();
    prefix["destinations"][2]["prefixes"] = json!(["44"]);
    for (body, code, field) in [
        (gap, "bands_gap", "bands"),
        (increment, "invalid_increment", "destinations[1].increment"),
        (rate, "negative", "destinations[2].rates.offpeak"),
        (prefix, "duplicate_prefix", "destinations[2].prefixes[0]"),
    ] {
        let r = api.post("/v1/rating-plans", body).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(
            (&r.body["code"], &r.body["field"]),
            (&json!(code), &json!(field)),
            "{}",
            r.body
        );
    }
    assert_eq!(api.counts().await, before);

    let created = api.post_ok("/v1/rating-plans", plan(), 201).await;
    assert_eq!(created["destinations"][0]["increment"], json!("60/60"));
    assert_eq!(created["destinations"][0]["connection_fee"], json!("0"));
    let r = api.post("/v1/rating-plans", plan()).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], json!("rating_plan_exists"));
    let list = api.get("/v1/rating-plans").await;
    assert_eq!(list.body["rating_plans"][0]["code"], json!("voice-eur"));
    assert_eq!(api.get("/v1/rating-plans/nope").await.status, 404);

    // A voice price must name an existing plan.
    let doc = json!({
        "metrics": [{"code": "calls", "name": "Calls", "aggregation": "count"}],
        "products": [{"code": "voice", "name": "Voice", "prices": [
            {"type": "usage", "currency": "EUR", "metric": "calls", "period": "month",
             "model": {"type": "voice", "rating_plan": "missing"}}]}]});
    let r = api.post("/v1/catalog/import", doc).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.to_string().contains("unknown rating plan `missing`"),
        "{}",
        r.body
    );
    api.cleanup().await;
}

async fn usage_csv_lists_every_billed_event(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let acc = voice_customer(&api).await;
    let data = price_id(&api, "data").await;
    api.post_ok(
        "/v1/subscriptions",
        json!({"account_id": acc, "price_id": data, "start_date": "2026-11-01", "usage_key": "DATA-1"}),
        201,
    )
    .await;
    api.post_ok(
        "/v1/test-clock/advance",
        json!({"to": "2026-11-29T12:00:00Z"}),
        200,
    )
    .await;
    api.post_ok("/v1/events", november_calls(), 200).await;
    let mb = |id: &str, at: &str, q: &str| json!({"id": id, "item_key": "DATA-1", "metric": "data_mb", "timestamp": at, "quantity": q});
    api.post_ok(
        "/v1/events",
        json!({"events": [mb("d1", "2026-11-02T08:00:00Z", "150.5"), mb("d,2", "2026-11-20T23:30:00Z", "49.5")]}),
        200,
    )
    .await;
    let got = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2026-12-01T12:00:00Z"}),
            200,
        )
        .await;
    let inv = &got["invoices"][0];
    // 200 MB × 0.01 = 2.00 next to the calls' 1.23.
    assert_eq!(inv["total"], json!("3.23"), "{inv}");
    let line = |product_kind: &str| {
        let lines = inv["lines"].as_array().unwrap();
        let l = lines
            .iter()
            .find(|l| l["description"].as_str().unwrap().starts_with(product_kind));
        l.unwrap()["id"].as_str().unwrap().to_string()
    };
    let (voice, data) = (line("Voice"), line("Data"));
    let r = api
        .get(&format!(
            "/v1/invoices/{}/usage.csv",
            inv["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    let mut expected = String::from(
        "line_id,event_id,metric,timestamp,quantity,destination,rated_as,band,duration_seconds,billed_seconds,charge\n",
    );
    let voice_rows = [
        "c5,calls,2026-11-23T07:59:59Z,,447700900123,uk-mobile,offpeak,100,102,0.39",
        "c1,calls,2026-11-23T10:00:00Z,,442071234567,uk,peak,61,120,0.20",
        "c2,calls,2026-11-23T10:00:00Z,,447700900123,uk-mobile,peak,31,36,0.23",
        "c4,calls,2026-11-23T10:00:00Z,,+12125551234,us,peak,7,7,0.10",
        "c6,calls,2026-11-24T09:00:00Z,,442071234567,uk,peak,0,0,0.00",
        "c3,calls,2026-11-28T12:00:00Z,,447700900123,uk-mobile,weekend,100,102,0.31",
    ];
    let data_rows = [
        "d1,data_mb,2026-11-02T08:00:00Z,150.5,,,,,,",
        "\"d,2\",data_mb,2026-11-20T23:30:00Z,49.5,,,,,,",
    ];
    // Rows follow the invoice's line order.
    let lines: Vec<&str> = inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    for id in lines {
        let rows: &[&str] = if id == voice {
            &voice_rows
        } else {
            assert_eq!(id, data);
            &data_rows
        };
        for row in rows {
            expected.push_str(&format!("{id},{row}\n"));
        }
    }
    assert_eq!(r.body, json!(expected));

    let other = api.get("/v1/invoices/inv_nope/usage.csv").await;
    assert_eq!(other.status, 404);
    api.cleanup().await;
}

/// France, which `plan()` lacks: 60/60, peak 0.20.
fn france() -> Value {
    json!({"destinations": [{"code": "fr", "prefixes": ["33"], "increment": "60/60",
        "rates": {"peak": "0.20", "offpeak": "0.10", "weekend": "0.05"}}]})
}

async fn suspended(api: &TestApi) -> Vec<(String, String, String)> {
    let r = api.get("/v1/usage/suspense").await;
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap().to_string(),
                e["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn unratable_calls_wait_in_suspense_until_the_plan_covers_them(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    voice_customer(&api).await;
    api.post_ok(
        "/v1/test-clock/advance",
        json!({"to": "2026-11-29T12:00:00Z"}),
        200,
    )
    .await;
    let mut calls = november_calls();
    let events = calls["events"].as_array_mut().unwrap();
    // France, Monday peak, 90 s: no prefix of the plan matches.
    events.push(cdr("fr1", "33612345678", "2026-11-23T10:00:00Z", 90));
    let mut no_duration = cdr("bad", "442071234567", "2026-11-23T11:00:00Z", 1);
    no_duration["properties"]["duration"] = json!("1.5");
    events.push(no_duration);
    let r = api.post_ok("/v1/events", calls, 200).await;
    assert_eq!(
        (&r["accepted"], &r["suspended"], &r["rejected"]),
        (&json!(8), &json!(2), &json!(0)),
        "{r}"
    );
    assert_eq!(
        suspended(&api).await,
        vec![
            (
                "bad".into(),
                "unratable".into(),
                "`duration` is not a whole number of seconds".into()
            ),
            (
                "fr1".into(),
                "unratable".into(),
                "no destination prefix matches number 33612345678".into()
            ),
        ]
    );
    // The account bills its six ratable calls (1.23) instead of failing.
    let got = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2026-12-01T12:00:00Z"}),
            200,
        )
        .await;
    assert_eq!(got["errors"], json!([]), "{got}");
    let inv = &got["invoices"][0];
    assert_eq!(
        (&inv["lines"][0]["quantity"], &inv["total"]),
        (&json!("6"), &json!("1.23")),
        "{inv}"
    );
    // A December call to France (Wednesday peak, 30 s) waits too.
    let r = api
        .post_ok(
            "/v1/events",
            json!({"events": [cdr("fr2", "33612345678", "2026-12-02T10:00:00Z", 30)]}),
            200,
        )
        .await;
    assert_eq!(r["suspended"], json!(1), "{r}");

    // A new prefix under an existing one would re-rate billed calls: refused, nothing kept.
    let mut under = france();
    under["destinations"][0]["prefixes"] = json!(["33", "4479"]);
    let r = api
        .post("/v1/rating-plans/voice-eur/destinations", under)
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        (&r.body["code"], &r.body["field"]),
        (
            &json!("prefix_would_rerate"),
            &json!("destinations[0].prefixes[1]")
        )
    );
    let mut unpriced = france();
    unpriced["destinations"][0]["rates"] = json!({"peak": "0.20"});
    let r = api
        .post("/v1/rating-plans/voice-eur/destinations", unpriced)
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["field"]),
        (422, &json!("destinations[0].rates")),
        "{}",
        r.body
    );
    let r = api
        .post("/v1/rating-plans/nope/destinations", france())
        .await;
    assert_eq!(r.status, 404);
    let plan = api.get("/v1/rating-plans/voice-eur").await.body;
    assert_eq!(plan["destinations"].as_array().unwrap().len(), 3);

    // Fixed: France is added, the two calls to it are recycled; the bad CDR stays.
    let plan = api
        .post_ok("/v1/rating-plans/voice-eur/destinations", france(), 200)
        .await;
    assert_eq!(plan["destinations"][3]["code"], json!("fr"));
    let r = api
        .post_ok(
            "/v1/usage/suspense/recycle",
            json!({"filter": {"reason": "unratable"}}),
            200,
        )
        .await;
    assert_eq!(
        r,
        json!({"examined": 3, "matched": 2, "still_suspended": 1})
    );
    assert_eq!(
        suspended(&api)
            .await
            .into_iter()
            .map(|s| s.0)
            .collect::<Vec<_>>(),
        vec!["bad".to_string()]
    );
    // November is billed already: re-rated with fr1 (120 s × 0.20 = 0.40) on today's invoice.
    let got = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2026-12-02T12:00:00Z"}),
            200,
        )
        .await;
    let inv = &got["invoices"][0];
    let line = &inv["lines"][0];
    assert_eq!(
        (
            &line["kind"],
            &line["period_start"],
            &line["quantity"],
            &line["amount"],
            &inv["total"]
        ),
        (
            &json!("usage_adjustment"),
            &json!("2026-11-01"),
            &json!("7"),
            &json!("0.40"),
            &json!("0.40")
        ),
        "{inv}"
    );
    // December bills fr2 (60 s × 0.20) with its own period.
    let got = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2027-01-01T12:00:00Z"}),
            200,
        )
        .await;
    let inv = &got["invoices"][0];
    assert_eq!(
        (
            &inv["lines"][0]["kind"],
            &inv["lines"][0]["period_start"],
            &inv["lines"][0]["quantity"],
            &inv["total"]
        ),
        (
            &json!("usage"),
            &json!("2026-12-01"),
            &json!("1"),
            &json!("0.20")
        ),
        "{inv}"
    );
    api.cleanup().await;
}

/// A call stored on the item before ingestion checked ratability (written here straight
/// into the store) is moved to suspense when billing rates its period; the rest bills and
/// the item's rollups no longer count it.
async fn unratable_calls_found_at_billing_leave_the_item(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let acc = voice_customer(&api).await;
    api.post_ok(
        "/v1/test-clock/advance",
        json!({"to": "2026-11-29T12:00:00Z"}),
        200,
    )
    .await;
    api.post_ok("/v1/events", november_calls(), 200).await;
    let sub = api
        .get(&format!("/v1/subscriptions?account_id={acc}"))
        .await
        .body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let item = api
        .get(&format!("/v1/subscriptions/{sub}/usage"))
        .await
        .body["items"][0]["item_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ts = jiff::Timestamp::from_second(1_795_428_000).unwrap(); // 2026-11-23T10:00:00Z
    let mut tx = api.db.store.begin().await.unwrap();
    tx.insert_usage_events(
        &api.tenant,
        (ts.as_microsecond() << 10) | 1,
        &[quoin_store::repo::NewUsageEvent {
            event_id: "old",
            item_id: Some(&item),
            metric_code: "calls",
            ts_us: ts.as_microsecond(),
            quantity: None,
            properties: Some(r#"{"destination":"33612345678","duration":"60"}"#),
        }],
    )
    .await
    .unwrap();
    // …and counted in the day's rollup, as ingestion did then.
    let mut day = tx
        .usage_rollups(&api.tenant, &item, "calls", "2026-11-23", "2026-11-24")
        .await
        .unwrap()
        .remove(0);
    day.events += 1;
    tx.upsert_usage_rollup(&day).await.unwrap();
    tx.commit().await.unwrap();
    let day_usage = format!("/v1/subscriptions/{sub}/usage?from=2026-11-23&to=2026-11-24");
    let usage = api.get(&day_usage).await.body;
    assert_eq!(
        usage["items"][0]["groups"][0]["quantity"],
        json!("5"),
        "{usage}"
    );

    let got = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2026-12-01T12:00:00Z"}),
            200,
        )
        .await;
    assert_eq!(got["errors"], json!([]), "{got}");
    let inv = &got["invoices"][0];
    assert_eq!(
        (&inv["lines"][0]["quantity"], &inv["total"]),
        (&json!("6"), &json!("1.23")),
        "{inv}"
    );
    let parked = api.get("/v1/usage/suspense").await.body["data"][0].clone();
    assert_eq!(
        (
            &parked["id"],
            &parked["reason"],
            &parked["item_key"],
            &parked["detail"],
            &parked["received_at"]
        ),
        (
            &json!("old"),
            &json!("unratable"),
            &json!("LINE-1"),
            &json!("no destination prefix matches number 33612345678"),
            &json!("2026-11-23T10:00:00Z")
        )
    );
    let event = api.get(&format!("/v1/usage/events?item={item}")).await;
    assert_eq!(event.body["data"].as_array().unwrap().len(), 6);
    // The day's rollup is rebuilt from the calls left: c1, c2, c4, c5 on the 23rd.
    let usage = api.get(&day_usage).await.body;
    assert_eq!(
        usage["items"][0]["groups"][0]["quantity"],
        json!("4"),
        "{usage}"
    );
    api.cleanup().await;
}
