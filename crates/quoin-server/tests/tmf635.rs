//! The TMF635 Usage facade on both stores: usage events listed and fetched as TMF `Usage`
//! with their status (received / guided / billed), characteristics, related party and
//! rated product usage; paging, filters, creation through ingestion and errors. Bodies are checked against the
//! committed TMF635 definitions (attribute names, required attributes, the status enum).

mod common;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(usage_events_read_and_created_as_tmf635_usage);

const BASE: &str = "/tmf-api/usageManagement/v4";
const SPEC: &str = include_str!("tmf/TMF635-UsageManagement-v4.0.0.swagger.json");

/// Problems of `value` against a TMF635 definition: unknown attributes, missing required
/// ones, values outside an enum; nested definitions through `$ref` and arrays.
fn check(spec: &Value, definition: &str, value: &Value, at: &str, errors: &mut Vec<String>) {
    let def = &spec["definitions"][definition];
    let props = def["properties"].as_object().unwrap();
    for required in def["required"].as_array().into_iter().flatten() {
        if value.get(required.as_str().unwrap()).is_none() {
            errors.push(format!("{at}: missing `{required}`"));
        }
    }
    for (name, v) in value.as_object().unwrap() {
        let Some(schema) = props.get(name) else {
            errors.push(format!(
                "{at}: `{name}` is not an attribute of {definition}"
            ));
            continue;
        };
        let (schema, items) = match schema.get("items") {
            Some(item) => (item, v.as_array().unwrap().iter().collect::<Vec<_>>()),
            None => (schema, vec![v]),
        };
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            if schema["type"] == json!("string") && !v.is_string() {
                errors.push(format!("{at}.{name}: not a string"));
            }
            if schema["type"] == json!("boolean") && !v.is_boolean() {
                errors.push(format!("{at}.{name}: not a boolean"));
            }
            continue;
        };
        let target = reference.trim_start_matches("#/definitions/");
        for item in items {
            let inner = &spec["definitions"][target];
            if let Some(allowed) = inner["enum"].as_array() {
                if !allowed.contains(item) {
                    errors.push(format!("{at}.{name}: {item} not in {target}"));
                }
            } else if inner["properties"].is_object() && target != "Any" {
                check(spec, target, item, &format!("{at}.{name}"), errors);
            }
        }
    }
}

fn assert_usage(spec: &Value, usage: &Value) {
    let mut errors = Vec::new();
    check(spec, "Usage", usage, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}\n{usage:#}");
}

fn header(r: &common::Reply, name: &str) -> String {
    r.headers[name].to_str().unwrap().to_string()
}

async fn usage_events_read_and_created_as_tmf635_usage(db: TestStore) {
    let spec: Value = serde_json::from_str(SPEC).unwrap();
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2024-03-01T06:00:00Z"}),
        200,
    )
    .await;
    let doc = json!({
        "metrics": [{"code": "data_gb", "name": "Data", "aggregation": "sum", "field": "quantity"}],
        "products": [{"code": "mobile", "name": "Mobile", "status": "active", "prices": [
            {"code": "mobile-data", "type": "usage", "currency": "USD", "metric": "data_gb",
             "period": "month", "amount": "1.00"}]}]});
    let r = api.post("/v1/catalog/import", doc).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let price = api.get("/v1/products").await.body["data"][0]["prices"][0]["id"].clone();
    let acc = api
        .post_ok(
            "/v1/accounts",
            json!({"kind": "person", "name": "Roamer", "billing": {"currency": "USD", "bill_cycle_day": 1}}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sub = api
        .post_ok(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": price, "start_date": "2024-03-01", "usage_key": "SIM-1"}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.post_ok(
        "/v1/test-clock/advance",
        json!({"to": "2024-03-30T12:00:00Z"}),
        200,
    )
    .await;
    let ev = |id: &str, key: &str, at: &str| {
        json!({"id": id, "item_key": key, "metric": "data_gb", "timestamp": at, "quantity": "2.5",
               "properties": {"cell": "A7"}})
    };
    let r = api
        .post_ok(
            "/v1/events",
            json!({"events": [
                ev("e1", "SIM-1", "2024-03-02T10:00:00Z"),
                ev("e2", "SIM-1", "2024-03-15T10:00:00Z"),
                ev("e3", "SIM-404", "2024-03-16T10:00:00Z")]}),
            200,
        )
        .await;
    assert_eq!(
        (r["accepted"].clone(), r["suspended"].clone()),
        (json!(3), json!(1)),
        "{r}"
    );
    // March is billed on April 1st; an April event stays unbilled.
    api.post_ok(
        "/v1/test-clock/advance",
        json!({"to": "2024-04-02T12:00:00Z"}),
        200,
    )
    .await;
    api.post_ok(
        "/v1/events",
        json!({"events": [ev("e4", "SIM-1", "2024-04-01T10:00:00Z")]}),
        200,
    )
    .await;

    let r = api.get(&format!("{BASE}/usage")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (header(&r, "x-result-count"), header(&r, "x-total-count")),
        ("4".to_string(), "4".to_string())
    );
    for u in r.body.as_array().unwrap() {
        assert_usage(&spec, u);
    }
    let status: Vec<(Value, Value)> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["id"].clone(), u["status"].clone()))
        .collect();
    assert_eq!(
        status,
        vec![
            (json!("e1"), json!("billed")),
            (json!("e2"), json!("billed")),
            (json!("e3"), json!("received")),
            (json!("e4"), json!("guided")),
        ]
    );

    let one = api.get(&format!("{BASE}/usage/e1")).await;
    assert_eq!(one.status, 200);
    assert_eq!(
        one.body,
        json!({
            "id": "e1", "href": format!("{BASE}/usage/e1"), "@type": "Usage",
            "usageDate": "2024-03-02T10:00:00Z", "usageType": "data_gb", "status": "billed",
            "usageCharacteristic": [
                {"name": "quantity", "valueType": "decimal", "value": "2.5"},
                {"name": "cell", "valueType": "string", "value": "A7"}],
            "relatedParty": [{"id": acc, "href": format!("/v1/accounts/{acc}"),
                              "role": "customer", "@referredType": "Account"}],
            "ratedProductUsage": [{"@type": "RatedProductUsage", "isBilled": true,
                "productRef": {"id": sub, "href": format!("/v1/subscriptions/{sub}"),
                               "@referredType": "Subscription"}}]
        })
    );
    let suspended = api.get(&format!("{BASE}/usage/e3")).await.body;
    assert!(suspended.get("relatedParty").is_none(), "{suspended}");

    // Paging, filters and field selection.
    let page = api
        .get(&format!("{BASE}/usage?offset=1&limit=2&fields=status"))
        .await;
    assert_eq!(
        (
            header(&page, "x-result-count"),
            header(&page, "x-total-count")
        ),
        ("2".to_string(), "4".to_string())
    );
    assert_eq!(
        page.body,
        json!([
            {"id": "e2", "href": format!("{BASE}/usage/e2"), "@type": "Usage", "status": "billed"},
            {"id": "e3", "href": format!("{BASE}/usage/e3"), "@type": "Usage", "status": "received"}
        ])
    );
    let april = api
        .get(&format!("{BASE}/usage?usageType=data_gb&usageDate.gte=2024-03-16T00:00:00Z&usageDate.lt=2024-05-01T00:00:00Z"))
        .await;
    let ids: Vec<&str> = april
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e3", "e4"]);
    let late = api
        .get(&format!(
            "{BASE}/usage?usageDate.gte=2024-03-10T00:00:00Z&limit=1"
        ))
        .await;
    assert_eq!(
        (
            header(&late, "x-result-count"),
            header(&late, "x-total-count")
        ),
        ("1".to_string(), "3".to_string())
    );
    let none = api.get(&format!("{BASE}/usage?usageType=voice")).await;
    assert_eq!(none.body, json!([]));
    assert_eq!(
        (
            header(&none, "x-result-count"),
            header(&none, "x-total-count")
        ),
        ("0".to_string(), "0".to_string())
    );

    // Errors are TMF Error bodies.
    let missing = api.get(&format!("{BASE}/usage/nope")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["@type"], json!("Error"));
    let bad = api.get(&format!("{BASE}/usage?status=billed")).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let bad = api
        .get(&format!("{BASE}/usage?usageDate.gte=yesterday"))
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.body["field"].clone()),
        (400, json!("usageDate.gte"))
    );

    // POST creates an event through ingestion; the same eventId again is a 409.
    let create = json!({
        "usageType": "data_gb", "usageDate": "2024-04-02T08:00:00Z",
        "usageCharacteristic": [
            {"name": "eventId", "value": "t1"}, {"name": "itemKey", "value": "SIM-1"},
            {"name": "quantity", "value": "1.25"}, {"name": "cell", "value": "B2"}]});
    let r = api.post(&format!("{BASE}/usage"), create.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(header(&r, "location"), format!("{BASE}/usage/t1"));
    assert_usage(&spec, &r.body);
    assert_eq!(
        (&r.body["status"], &r.body["usageCharacteristic"]),
        (
            &json!("guided"),
            &json!([{"name": "quantity", "valueType": "decimal", "value": "1.25"},
                    {"name": "cell", "valueType": "string", "value": "B2"}])
        )
    );
    let again = api.post(&format!("{BASE}/usage"), create).await;
    assert_eq!(
        (again.status.as_u16(), again.body["code"].clone()),
        (409, json!("duplicate_usage"))
    );
    // By subscription through ratedProductUsage, without an eventId.
    let by_sub = api
        .post(
            &format!("{BASE}/usage"),
            json!({"usageType": "data_gb", "usageDate": "2024-04-02T09:00:00Z",
                   "usageCharacteristic": [{"name": "quantity", "value": "3"}],
                   "ratedProductUsage": [{"productRef": {"id": sub}}]}),
        )
        .await;
    assert_eq!(by_sub.status, 201, "{}", by_sub.body);
    assert_eq!(
        by_sub.body["ratedProductUsage"][0]["productRef"]["id"],
        json!(sub)
    );
    let before = api.counts().await;
    let bad = api
        .post(
            &format!("{BASE}/usage"),
            json!({"usageType": "voice", "usageDate": "2024-04-02T09:00:00Z",
                   "usageCharacteristic": [{"name": "itemKey", "value": "SIM-1"}]}),
        )
        .await;
    assert_eq!(
        (
            bad.status.as_u16(),
            bad.body["code"].clone(),
            bad.body["field"].clone()
        ),
        (422, json!("unknown_metric"), json!("usageType"))
    );
    assert_eq!(api.counts().await, before);

    // Another tenant sees none of it.
    let other = api.other_tenant().await;
    let r = api
        .call("GET", &format!("{BASE}/usage/e1"), Some(&other), None)
        .await;
    assert_eq!(r.status, 404);
    api.cleanup().await;
}
