//! API conventions on both stores: validation errors name the field and write nothing,
//! tenants are isolated, roles are enforced, POSTs are idempotent, lists paginate, and
//! test clocks are refused in production mode.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    bad_input_names_the_field_and_writes_nothing,
    missing_or_wrong_key_is_401,
    tenant_b_gets_404_for_every_record_of_tenant_a,
    read_only_key_reads_but_cannot_write,
    idempotency_key_replays_or_conflicts,
    cursor_pagination_and_filters,
    test_clock_is_refused_in_production,
    hierarchy_bill_to_must_be_an_ancestor,
    outbox_records_each_change,
    account_updates_are_partial_and_guarded,
    billing_edges_are_refused_or_handled,
    idempotency_is_per_caller_and_never_stores_secrets,
);

fn account_body(name: &str) -> Value {
    json!({"kind": "person", "name": name, "billing": {"currency": "USD", "bill_cycle_day": 1}})
}

async fn seed(api: &TestApi) -> (String, String, String) {
    let acc = api.post_ok("/v1/accounts", account_body("Jane"), 201).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let prod = api
        .post_ok(
            "/v1/products",
            json!({"code": "p1", "name": "P1", "prices": [{"currency": "USD", "amount": "10", "period": "month"}]}),
            201,
        )
        .await;
    let price = prod["prices"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(prod["prices"][0]["amount"], json!("10.00"));
    let sub = api
        .post_ok(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": price, "start_date": "2024-01-01"}),
            201,
        )
        .await;
    (
        acc,
        prod["id"].as_str().unwrap().to_string(),
        sub["id"].as_str().unwrap().to_string(),
    )
}

async fn bad_input_names_the_field_and_writes_nothing(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let (acc, _, _) = seed(&api).await;
    let before = api.counts().await;

    // (raw body, path, status, code, field)
    let cases: Vec<(String, &str, u16, &str, Option<&str>)> = vec![
        ("{\"kind\": \"person\",".into(), "/v1/accounts", 400, "malformed_json", None),
        ("[1, 2".into(), "/v1/accounts", 400, "malformed_json", None),
        (
            json!({"kind": "person", "name": "X", "nickname": "x", "billing": {"currency": "USD"}}).to_string(),
            "/v1/accounts",
            400,
            "unknown_field",
            Some("nickname"),
        ),
        (
            json!({"kind": "person", "name": "X", "billing": {"currency": "USD", "colour": 1}}).to_string(),
            "/v1/accounts",
            400,
            "unknown_field",
            Some("billing.colour"),
        ),
        (
            json!({"kind": "robot", "name": "X", "billing": {"currency": "USD"}}).to_string(),
            "/v1/accounts",
            400,
            "invalid_field",
            Some("kind"),
        ),
        (
            json!({"kind": "person", "billing": {"currency": "USD"}}).to_string(),
            "/v1/accounts",
            400,
            "missing_field",
            Some("name"),
        ),
        (
            json!({"kind": "person", "name": "X", "billing": {"currency": "USD", "bill_cycle_day": 0}}).to_string(),
            "/v1/accounts",
            422,
            "invalid_field",
            Some("billing.bill_cycle_day"),
        ),
        (
            json!({"kind": "person", "name": "X", "billing": {"currency": "USD", "bill_cycle_day": 32}}).to_string(),
            "/v1/accounts",
            422,
            "invalid_field",
            Some("billing.bill_cycle_day"),
        ),
        (
            json!({"kind": "person", "name": "X", "billing": {"currency": "XYZ"}}).to_string(),
            "/v1/accounts",
            422,
            "invalid_field",
            Some("billing.currency"),
        ),
        (
            json!({"kind": "person", "name": "X", "billing": {"currency": "USD", "time_zone": "Mars/Olympus"}}).to_string(),
            "/v1/accounts",
            422,
            "invalid_field",
            Some("billing.time_zone"),
        ),
        (
            json!({"kind": "person", "name": "X", "billing": {"currency": "USD"},
                   "locations": [{"label": "HQ", "line1": "1 Way", "city": "Oslo", "country": "Norway"}]})
            .to_string(),
            "/v1/accounts",
            422,
            "invalid_field",
            Some("locations[0].country"),
        ),
        (
            json!({"code": "neg", "name": "Neg", "prices": [{"currency": "USD", "amount": "-5.00", "period": "month"}]}).to_string(),
            "/v1/products",
            422,
            "invalid_field",
            Some("prices[0].amount"),
        ),
        (
            json!({"code": "num", "name": "Num", "prices": [{"currency": "USD", "amount": 5.1, "period": "month"}]}).to_string(),
            "/v1/products",
            400,
            "invalid_field",
            Some("prices[0].amount"),
        ),
        (
            json!({"code": "per", "name": "Per", "prices": [{"currency": "USD", "amount": "5", "period": "fortnight"}]}).to_string(),
            "/v1/products",
            422,
            "invalid_field",
            Some("prices[0].period"),
        ),
        (
            json!({"code": "p1", "name": "Dup", "prices": [{"currency": "USD", "amount": "5", "period": "month"}]}).to_string(),
            "/v1/products",
            409,
            "code_taken",
            None,
        ),
        (
            json!({"account_id": acc, "price_id": "pri_nope", "start_date": "2024-01-01"}).to_string(),
            "/v1/subscriptions",
            422,
            "invalid_field",
            Some("price_id"),
        ),
        (
            json!({"account_id": acc, "price_id": "pri_nope", "start_date": "2024-02-30"}).to_string(),
            "/v1/subscriptions",
            400,
            "invalid_field",
            Some("start_date"),
        ),
    ];
    for (body, path, status, code, field) in cases {
        let r = api.raw("POST", path, &body).await;
        assert_eq!(r.status.as_u16(), status, "{path} {body}: {}", r.body);
        assert_eq!(r.body["code"], json!(code), "{body}: {}", r.body);
        assert_eq!(r.body["field"].as_str(), field, "{body}: {}", r.body);
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // A quantity of zero and a currency mismatch are refused too.
    let eur = api
        .post_ok(
            "/v1/products",
            json!({"code": "eur", "name": "EUR plan", "prices": [{"currency": "EUR", "amount": "5", "period": "month"}]}),
            201,
        )
        .await;
    let before_sub = api.counts().await;
    let r = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": eur["prices"][0]["id"], "start_date": "2024-01-01"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (422, Some("currency_mismatch"))
    );
    let r = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": eur["prices"][0]["id"], "start_date": "2024-01-01", "quantity": "0"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("quantity"))
    );
    assert_eq!(api.counts().await, before_sub);
    // Apart from the EUR product, nothing was written by any rejected request.
    let mut after = api.counts().await;
    for (table, n) in after.iter_mut() {
        match *table {
            "products" | "prices" | "outbox" => *n -= 1,
            _ => {}
        }
    }
    assert_eq!(after, before);
    api.cleanup().await;
}

async fn missing_or_wrong_key_is_401(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let before = api.counts().await;
    for key in [None, Some("qk_nothere_secret"), Some("not-a-key")] {
        let r = api
            .call("POST", "/v1/accounts", key, Some(account_body("X")))
            .await;
        assert_eq!(r.status.as_u16(), 401);
        assert_eq!(r.body["code"], json!("unauthenticated"));
        assert_eq!(r.body["field"], json!("Authorization"));
        let r = api.call("GET", "/v1/accounts", key, None).await;
        assert_eq!(r.status.as_u16(), 401);
    }
    // Right id, wrong secret.
    let id = api.key.rsplit_once('_').unwrap().0;
    let r = api
        .call(
            "GET",
            "/v1/accounts",
            Some(&format!("{id}_wrongsecret")),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 401);
    assert_eq!(api.counts().await, before);
    // Health and the OpenAPI document need no key.
    assert_eq!(
        api.call("GET", "/healthz", None, None)
            .await
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        api.call("GET", "/readyz", None, None).await.status.as_u16(),
        200
    );
    let doc = api.call("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(doc.body["openapi"], json!("3.1.0"));
    let metrics = api.call("GET", "/metrics", None, None).await;
    assert!(metrics
        .body
        .as_str()
        .unwrap()
        .contains("quoin_http_requests_total"));
    api.cleanup().await;
}

async fn tenant_b_gets_404_for_every_record_of_tenant_a(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let (acc, prod, sub) = seed(&api).await;
    let bill = api
        .post_ok(
            &format!("/v1/accounts/{acc}/bill"),
            json!({"as_of": "2024-01-01"}),
            200,
        )
        .await;
    let inv = bill["invoices"][0]["id"].as_str().unwrap().to_string();
    let other = api.other_tenant().await;
    let before = api.counts().await;
    for path in [
        format!("/v1/accounts/{acc}"),
        format!("/v1/accounts/{acc}/contacts"),
        format!("/v1/accounts/{acc}/locations"),
        format!("/v1/products/{prod}"),
        format!("/v1/subscriptions/{sub}"),
        format!("/v1/invoices/{inv}"),
    ] {
        let r = api.call("GET", &path, Some(&other), None).await;
        assert_eq!(r.status.as_u16(), 404, "GET {path}: {}", r.body);
        assert_eq!(r.body["code"], json!("not_found"));
        // The owner sees it.
        assert_eq!(api.get(&path).await.status.as_u16(), 200, "{path}");
    }
    for (path, body) in [
        (
            format!("/v1/accounts/{acc}/contacts"),
            json!({"name": "Eve"}),
        ),
        (
            format!("/v1/accounts/{acc}/locations"),
            json!({"label": "x", "line1": "x", "city": "x", "country": "US"}),
        ),
        (format!("/v1/accounts/{acc}/bill"), json!({})),
        (format!("/v1/invoices/{inv}/finalize"), json!({})),
    ] {
        let r = api.call("POST", &path, Some(&other), Some(body)).await;
        assert_eq!(r.status.as_u16(), 404, "POST {path}: {}", r.body);
    }
    // Referencing A's records from B's writes does not reach them either.
    let r = api
        .call(
            "POST",
            "/v1/subscriptions",
            Some(&other),
            Some(json!({"account_id": acc, "price_id": "x", "start_date": "2024-01-01"})),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("account_id"))
    );
    for path in [
        "/v1/accounts",
        "/v1/products",
        "/v1/subscriptions",
        "/v1/invoices",
    ] {
        let r = api.call("GET", path, Some(&other), None).await;
        assert_eq!(r.body["data"], json!([]), "{path}");
    }
    assert_eq!(
        api.call("GET", "/v1/events", Some(&other), None).await.body["data"],
        json!([])
    );
    assert_eq!(api.counts().await, before);
    api.cleanup().await;
}

async fn read_only_key_reads_but_cannot_write(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let (acc, _, _) = seed(&api).await;
    let issued = api
        .post_ok(
            "/v1/api-keys",
            json!({"name": "auditor", "role": "read_only"}),
            201,
        )
        .await;
    let ro = issued["key"].as_str().unwrap().to_string();
    let sales = api
        .post_ok("/v1/api-keys", json!({"name": "rep", "role": "sales"}), 201)
        .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let before = api.counts().await;
    assert_eq!(
        api.call("GET", &format!("/v1/accounts/{acc}"), Some(&ro), None)
            .await
            .status
            .as_u16(),
        200
    );
    for (path, body) in [
        ("/v1/accounts".to_string(), account_body("Nope")),
        (
            format!("/v1/accounts/{acc}/contacts"),
            json!({"name": "Eve"}),
        ),
        (
            "/v1/products".to_string(),
            json!({"code": "x", "name": "x", "prices": []}),
        ),
        (format!("/v1/accounts/{acc}/bill"), json!({})),
        (
            "/v1/test-clock".to_string(),
            json!({"now": "2024-01-01T00:00:00Z"}),
        ),
        (
            "/v1/api-keys".to_string(),
            json!({"name": "x", "role": "admin"}),
        ),
    ] {
        let r = api.call("POST", &path, Some(&ro), Some(body)).await;
        assert_eq!(r.status.as_u16(), 403, "{path}: {}", r.body);
        assert_eq!(r.body["code"], json!("forbidden"));
    }
    // Sales may add accounts but not bill or manage keys.
    let r = api
        .call(
            "POST",
            &format!("/v1/accounts/{acc}/bill"),
            Some(&sales),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 403);
    assert_eq!(
        api.call("GET", "/v1/api-keys", Some(&sales), None)
            .await
            .status
            .as_u16(),
        403
    );
    assert_eq!(api.counts().await, before);
    // A revoked key stops working.
    let id = issued["id"].as_str().unwrap();
    api.post_ok(&format!("/v1/api-keys/{id}/revoke"), json!({}), 200)
        .await;
    assert_eq!(
        api.call("GET", "/v1/accounts", Some(&ro), None)
            .await
            .status
            .as_u16(),
        401
    );
    api.cleanup().await;
}

async fn idempotency_key_replays_or_conflicts(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let send = |key: &'static str, body: Value| {
        Request::builder()
            .method("POST")
            .uri("/v1/accounts")
            .header("authorization", format!("Bearer {}", api.key))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let first = api.send(send("k-1", account_body("Once"))).await;
    assert_eq!(first.status.as_u16(), 201);
    let replay = api.send(send("k-1", account_body("Once"))).await;
    assert_eq!(replay.status.as_u16(), 201);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    let other = api.send(send("k-1", account_body("Different"))).await;
    assert_eq!(other.status.as_u16(), 409);
    assert_eq!(other.body["code"], json!("idempotency_key_reused"));
    let list = api.get("/v1/accounts").await.body;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    // A validation failure is remembered too: retrying it replays the same 422.
    let bad = json!({"kind": "person", "name": "X", "billing": {"currency": "USD", "bill_cycle_day": 40}});
    let r1 = api.send(send("k-2", bad.clone())).await;
    let r2 = api.send(send("k-2", bad)).await;
    assert_eq!((r1.status.as_u16(), r2.status.as_u16()), (422, 422));
    assert_eq!(r1.body, r2.body);
    // The key belongs to the tenant: another tenant may use the same key independently.
    let other_key = api.other_tenant().await;
    let req = Request::builder()
        .method("POST")
        .uri("/v1/accounts")
        .header("authorization", format!("Bearer {other_key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", "k-1")
        .body(Body::from(account_body("Other tenant").to_string()))
        .unwrap();
    let r = api.send(req).await;
    assert_eq!(r.status.as_u16(), 201);
    assert_ne!(r.body["id"], first.body["id"]);
    api.cleanup().await;
}

async fn cursor_pagination_and_filters(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let kind = if i % 2 == 0 { "person" } else { "business" };
        let body =
            json!({"kind": kind, "name": format!("Customer {i}"), "billing": {"currency": "USD"}});
        ids.push(
            api.post_ok("/v1/accounts", body, 201).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut seen = Vec::new();
    let mut url = "/v1/accounts?limit=2".to_string();
    loop {
        let page = api.get(&url).await.body;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/v1/accounts?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let people = api.get("/v1/accounts?kind=person").await.body;
    assert_eq!(people["data"].as_array().unwrap().len(), 3);
    let q = api.get("/v1/accounts?q=customer%203").await.body;
    assert_eq!(q["data"][0]["id"].as_str(), Some(ids[3].as_str()));
    for bad in ["/v1/accounts?limit=0", "/v1/accounts?limit=201"] {
        let r = api.get(bad).await;
        assert_eq!(
            (r.status.as_u16(), r.body["field"].as_str()),
            (422, Some("limit"))
        );
    }
    let r = api.get("/v1/accounts?colour=red").await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (400, Some("invalid_query"))
    );
    api.cleanup().await;
}

async fn test_clock_is_refused_in_production(db: TestStore) {
    let api = TestApi::new(db, Mode::Production).await;
    for (method, path, body) in [
        (
            "POST",
            "/v1/test-clock",
            Some(json!({"now": "2024-01-01T00:00:00Z"})),
        ),
        ("POST", "/v1/test-clock/advance", Some(json!({"days": 1}))),
        ("DELETE", "/v1/test-clock", None),
    ] {
        let r = api.call(method, path, Some(&api.key), body).await;
        assert_eq!(r.status.as_u16(), 403, "{method} {path}");
        assert_eq!(r.body["code"], json!("test_clock_disabled"));
    }
    assert_eq!(
        api.get("/v1/test-clock").await.body["mode"],
        json!("system")
    );
    api.cleanup().await;
}

async fn hierarchy_bill_to_must_be_an_ancestor(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let parent = api
        .post_ok("/v1/accounts", json!({"kind": "business", "name": "Group", "billing": {"currency": "USD", "bill_cycle_day": 1}}), 201)
        .await;
    let pid = parent["id"].as_str().unwrap();
    let child = api
        .post_ok(
            "/v1/accounts",
            json!({"kind": "business", "name": "Branch", "parent_id": pid, "bill_to_id": pid, "billing": {"currency": "USD"}}),
            201,
        )
        .await;
    assert_eq!(child["bill_to_id"], json!(pid));
    assert_ne!(child["ban"], parent["ban"]);
    let stranger = api
        .post_ok("/v1/accounts", account_body("Stranger"), 201)
        .await;
    let r = api
        .post(
            "/v1/accounts",
            json!({"kind": "business", "name": "Bad", "parent_id": pid, "bill_to_id": stranger["id"], "billing": {"currency": "USD"}}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("bill_to_id"))
    );
    let r = api
        .post(
            "/v1/accounts",
            json!({"kind": "business", "name": "Bad", "parent_id": pid, "bill_to_id": pid, "billing": {"currency": "EUR"}}),
        )
        .await;
    assert_eq!(r.body["code"], json!("currency_mismatch"));
    // The child's subscription is invoiced to the parent; billing the child directly is refused.
    let prod = api
        .post_ok(
            "/v1/products",
            json!({"code": "p", "name": "P", "prices": [{"currency": "USD", "amount": "30", "period": "month"}]}),
            201,
        )
        .await;
    let cid = child["id"].as_str().unwrap();
    api.post_ok(
        "/v1/subscriptions",
        json!({"account_id": cid, "price_id": prod["prices"][0]["id"], "start_date": "2024-03-01"}),
        201,
    )
    .await;
    let r = api
        .post(&format!("/v1/accounts/{cid}/bill"), json!({}))
        .await;
    assert_eq!(r.body["code"], json!("not_bill_to_account"));
    let r = api
        .post_ok(
            &format!("/v1/accounts/{pid}/bill"),
            json!({"as_of": "2024-03-01"}),
            200,
        )
        .await;
    assert_eq!(r["invoices"][0]["account_id"], json!(pid));
    assert_eq!(r["invoices"][0]["total"], json!("30.00"));
    let children = api.get(&format!("/v1/accounts?parent_id={pid}")).await.body;
    assert_eq!(children["data"].as_array().unwrap().len(), 1);
    api.cleanup().await;
}

async fn outbox_records_each_change(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let (acc, _, _) = seed(&api).await;
    api.post_ok(
        &format!("/v1/accounts/{acc}/bill"),
        json!({"as_of": "2024-01-01", "finalize": true}),
        200,
    )
    .await;
    let events = api.get("/v1/events").await.body;
    let topics: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["topic"].as_str().unwrap())
        .collect();
    assert_eq!(
        topics,
        [
            "account.created",
            "product.created",
            "subscription.created",
            "invoice.created",
            "invoice.finalized"
        ]
    );
    assert_eq!(events["data"][0]["payload"]["id"], json!(acc));
    let after = events["next_after"].as_i64().unwrap();
    let rest = api.get(&format!("/v1/events?after={after}")).await.body;
    assert_eq!(rest["data"], json!([]));
    // Keys and clocks are state changes too; a key's event never carries its secret.
    let issued = api
        .post_ok(
            "/v1/api-keys",
            json!({"name": "ci", "role": "billing"}),
            201,
        )
        .await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2024-06-01T00:00:00Z"}),
        200,
    )
    .await;
    let more = api.get(&format!("/v1/events?after={after}")).await.body;
    let topics: Vec<&str> = more["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics, ["api_key.created", "test_clock.set"]);
    assert_eq!(more["data"][0]["payload"]["id"], issued["id"]);
    assert!(!more["data"][0]["payload"]
        .to_string()
        .contains(issued["key"].as_str().unwrap()));
    api.cleanup().await;
}

async fn account_updates_are_partial_and_guarded(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let body = json!({"kind": "business", "name": "Old Name", "email": "a@example.com",
                      "billing": {"currency": "USD", "bill_cycle_day": 5}});
    let acc = api.post_ok("/v1/accounts", body, 201).await;
    let id = acc["id"].as_str().unwrap();
    let path = format!("/v1/accounts/{id}");
    let patch = |b: Value| api.call("PATCH", &path, Some(&api.key), Some(b));

    let r = patch(
        json!({"name": "New Name", "billing": {"bill_cycle_day": 31, "payment_terms_days": 14}}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["name"], json!("New Name"));
    assert_eq!(r.body["email"], json!("a@example.com"));
    assert_eq!(r.body["billing"]["bill_cycle_day"], json!(31));
    assert_eq!(r.body["billing"]["payment_terms_days"], json!(14));
    assert_eq!(r.body["ban"], acc["ban"]);

    let before = api.counts().await;
    let r = patch(json!({"billing": {"bill_cycle_day": 0}})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("billing.bill_cycle_day"))
    );
    let r = patch(json!({"billing": {"currency": "EUR"}})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (400, Some("billing.currency"))
    );
    let r = patch(json!({"name": "  "})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("name"))
    );
    assert_eq!(api.counts().await, before);
    assert_eq!(api.get(&path).await.body["name"], json!("New Name"));

    // Once the account has a subscription its cycle is fixed; other fields still change.
    let prod = api
        .post_ok("/v1/products", json!({"code": "p", "name": "P", "prices": [{"currency": "USD", "amount": "9", "period": "month"}]}), 201)
        .await;
    api.post_ok(
        "/v1/subscriptions",
        json!({"account_id": id, "price_id": prod["prices"][0]["id"], "start_date": "2024-01-01"}),
        201,
    )
    .await;
    let r = patch(json!({"billing": {"bill_cycle_day": 1}})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (409, Some("billing_cycle_locked"))
    );
    let r = patch(json!({"email": ""})).await;
    assert_eq!(r.body["email"], Value::Null);
    let other = api.other_tenant().await;
    let r = api
        .call(
            "PATCH",
            &path,
            Some(&other),
            Some(json!({"name": "Hijack"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 404);
    let events = api.get("/v1/events").await.body;
    let updates = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["topic"] == "account.updated")
        .count();
    assert_eq!(updates, 2);
    api.cleanup().await;
}

async fn billing_edges_are_refused_or_handled(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2025-01-01T12:00:00Z"}),
        200,
    )
    .await;
    let (acc, _, _) = seed(&api).await; // a 10.00/month subscription from 2024-01-01
    let price = api.get("/v1/prices").await.body[0]["id"].clone();
    let sub = |start: &str, qty: &str| json!({"account_id": acc, "price_id": price, "start_date": start, "quantity": qty});

    // Absurd quantities and start dates are refused up front (no panic, no flood of invoices).
    let r = api
        .post(
            "/v1/subscriptions",
            sub("2025-01-01", "79228162514264337593543950335"),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("quantity"))
    );
    let r = api.post("/v1/subscriptions", sub("1900-01-01", "1")).await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("start_date"))
    );
    // Billing ahead of the account's today is refused.
    let r = api
        .post(
            &format!("/v1/accounts/{acc}/bill"),
            json!({"as_of": "2025-02-01"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("as_of"))
    );

    // A subscription added on a day that already has an invoice gets its own invoice, and
    // the account keeps billing afterwards.
    let first = api
        .post_ok(
            &format!("/v1/accounts/{acc}/bill"),
            json!({"finalize": true}),
            200,
        )
        .await;
    assert_eq!(first["invoices"].as_array().unwrap().len(), 13); // 2024-01 … 2025-01
    api.post_ok("/v1/subscriptions", sub("2025-01-01", "2"), 201)
        .await;
    let r = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2025-02-01T12:00:00Z"}),
            200,
        )
        .await;
    assert_eq!(r["errors"], json!([]));
    let got: Vec<(&str, &str)> = r["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["invoice_date"].as_str().unwrap(),
                i["total"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("2025-01-01", "20.00"), ("2025-02-01", "30.00")]);

    // Prices billing cannot charge yet (tiered recurring seats) are refused, not mis-billed.
    api.post_ok(
        "/v1/products",
        json!({"code": "trial-plan", "name": "Tiered seats", "prices": [{"currency": "USD", "period": "month",
               "model": {"type": "graduated", "tiers": [
                   {"from": "0", "to": "10", "unit_amount": "5"}, {"from": "10", "unit_amount": "4"}]}}]}),
        201,
    )
    .await;
    let trial = api
        .get("/v1/prices")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "trial-plan-usd-month")
        .unwrap()["id"]
        .clone();
    let r = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": acc, "price_id": trial, "start_date": "2025-01-15"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (422, Some("price_not_billable"))
    );

    // In production mode a tenant left on a test clock runs on real time.
    let prod = quoin_app::App::new(
        api.db.store.clone(),
        std::sync::Arc::new(quoin_app::SystemClock),
        Mode::Production,
    );
    let p = prod.operator(&api.tenant).await.unwrap();
    let now = prod.get_test_clock(&p).await.unwrap().now;
    assert!(now > "2026-01-01T00:00:00Z".parse().unwrap());
    api.cleanup().await;
}

async fn idempotency_is_per_caller_and_never_stores_secrets(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let post = |key: String, idem: &'static str, path: &'static str, body: Value| {
        Request::builder()
            .method("POST")
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .header("idempotency-key", idem)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    // An admin's response is not replayed to a read-only key that reuses its Idempotency-Key.
    let first = api
        .send(post(
            api.key.clone(),
            "k-1",
            "/v1/accounts",
            account_body("Once"),
        ))
        .await;
    assert_eq!(first.status.as_u16(), 201);
    let ro = api
        .post_ok(
            "/v1/api-keys",
            json!({"name": "ro", "role": "read_only"}),
            201,
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .send(post(ro, "k-1", "/v1/accounts", account_body("Once")))
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    assert!(r.headers.get("idempotent-replayed").is_none());
    // Issuing an API key is never stored for replay: each call issues its own key.
    let body = json!({"name": "ops", "role": "admin"});
    let a = api
        .send(post(api.key.clone(), "k-2", "/v1/api-keys", body.clone()))
        .await;
    let b = api
        .send(post(api.key.clone(), "k-2", "/v1/api-keys", body))
        .await;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (201, 201));
    assert_ne!(a.body["key"], b.body["key"]);
    let mut tx = api.db.store.read().await.unwrap();
    assert!(tx
        .get_idempotency(&api.tenant, "k-2")
        .await
        .unwrap()
        .is_none());
    tx.commit().await.unwrap();
    api.cleanup().await;
}
