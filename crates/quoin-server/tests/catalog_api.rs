//! Catalog as code through the API on both stores: round trip, atomic rejection of invalid
//! documents with every problem named by path, dry runs, and price versions that leave
//! existing subscriptions on the version they were sold on.

mod common;

use common::TestApi;
use quoin_app::catalog::format::{parse, Format};
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    export_import_export_is_identical,
    invalid_catalogs_are_rejected_whole_with_paths,
    dry_run_writes_nothing,
    changed_price_is_a_new_version_and_subscriptions_keep_theirs,
    product_lifecycle_prices_and_deletion,
    reference_entries_have_their_own_crud,
    change_rules_travel_with_the_catalog,
    a_bad_change_rule_rejects_the_whole_import,
);

const BROADBAND: &str = include_str!("../../../examples/catalogs/broadband.yaml");
const SAAS: &str = include_str!("../../../examples/catalogs/saas.yaml");

fn doc(yaml: &str) -> Value {
    serde_json::to_value(parse(yaml, Format::Yaml).unwrap()).unwrap()
}

async fn export_import_export_is_identical(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    for catalog in [BROADBAND, SAAS] {
        let report = api.post_ok("/v1/catalog/import", doc(catalog), 200).await;
        assert_eq!(report["dry_run"], json!(false));
    }
    let first = api.get("/v1/catalog/export").await.body;
    assert_eq!(first["products"].as_array().unwrap().len(), 8 + 4);
    assert_eq!(first["metrics"].as_array().unwrap().len(), 2 + 3);

    // Into an empty tenant, then out again: identical.
    let other = api.other_tenant().await;
    let r = api
        .call(
            "POST",
            "/v1/catalog/import",
            Some(&other),
            Some(first.clone()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(
        r.body["products"],
        json!({"created": 12, "updated": 0, "unchanged": 0})
    );
    assert_eq!(
        r.body["prices"],
        json!({"created": 17, "updated": 0, "unchanged": 0})
    );
    let second = api
        .call("GET", "/v1/catalog/export", Some(&other), None)
        .await
        .body;
    assert_eq!(second, first);
    // Re-importing the same document changes nothing.
    let again = api.post_ok("/v1/catalog/import", first.clone(), 200).await;
    assert_eq!(
        again["products"],
        json!({"created": 0, "updated": 0, "unchanged": 12})
    );
    assert_eq!(again["prices"]["unchanged"], json!(17));

    // The normalized form: defaults filled in, price codes and decimals canonical.
    let products = first["products"].as_array().unwrap();
    let fiber = products.iter().find(|p| p["code"] == "fiber-100").unwrap();
    assert_eq!(fiber["status"], json!("active"));
    assert_eq!(
        fiber["actions"],
        json!(["new", "change", "move", "renew", "cancel"])
    );
    assert_eq!(
        fiber["prices"][0]["model"],
        json!({"type": "per_unit", "unit_amount": "49.95"})
    );
    assert_eq!(fiber["prices"][0]["timing"], json!("in_advance"));
    let sip = products.iter().find(|p| p["code"] == "sip-trunk").unwrap();
    assert_eq!(
        sip["prices"][1]["model"]["tiers"][1],
        json!({"from": "1000", "to": "10000", "unit_amount": "0.012"})
    );
    assert_eq!(sip["prices"][1]["minimum"], json!("10.00"));
    assert_eq!(sip["prices"][1]["timing"], json!("in_arrears"));
    let pro = products.iter().find(|p| p["code"] == "pro").unwrap();
    let eur = pro["prices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "pro-seats-eur")
        .unwrap();
    assert_eq!(
        eur["phases"],
        json!([{"kind": "introductory", "periods": 3, "adjustment": {"type": "percent_off", "percent": "50"}},
               {"kind": "evergreen"}])
    );
    let starter = products.iter().find(|p| p["code"] == "starter").unwrap();
    let seats = starter["prices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "starter-seats")
        .unwrap();
    assert_eq!(
        seats["phases"][0],
        json!({"kind": "trial", "days": 14, "adjustment": {"type": "free"}})
    );

    // The reference lists are readable on their own.
    let books = api.get("/v1/price-books").await.body;
    assert_eq!(books.as_array().unwrap().len(), 4);
    let terms = api.get("/v1/terms").await.body;
    assert_eq!(terms[0]["code"], json!("12m-business"));
    assert_eq!(
        api.get("/v1/categories")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        api.get("/v1/metrics").await.body.as_array().unwrap().len(),
        5
    );
    api.cleanup().await;
}

/// (mutation of the broadband document, expected path, expected message fragment)
fn broken(f: impl Fn(&mut Value)) -> Value {
    let mut d = doc(BROADBAND);
    f(&mut d);
    d
}

fn product<'a>(d: &'a mut Value, code: &str) -> &'a mut Value {
    d["products"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["code"] == code)
        .unwrap()
}

async fn invalid_catalogs_are_rejected_whole_with_paths(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let before = api.counts().await;
    let sip_tiers =
        |d: &mut Value| -> Value { product(d, "sip-trunk")["prices"][1]["model"]["tiers"].clone() };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            broken(|d| {
                product(d, "sip-trunk")["prices"][1]["model"]["tiers"][1]["from"] = json!("900")
            }),
            "products[6].prices[1].model.tiers[1].from",
            "overlaps the previous tier, which ends at 1000",
        ),
        (
            broken(|d| {
                product(d, "sip-trunk")["prices"][1]["model"]["tiers"][2]["from"] = json!("12000")
            }),
            "products[6].prices[1].model.tiers[2].from",
            "leaves a gap after the previous tier, which ends at 10000",
        ),
        (
            broken(|d| {
                let mut t = sip_tiers(d);
                t[1]["to"] = json!("500");
                t[1]["from"] = json!("1000");
                product(d, "sip-trunk")["prices"][1]["model"]["tiers"] = t;
            }),
            "products[6].prices[1].model.tiers[1].to",
            "must be greater than from",
        ),
        (
            broken(|d| product(d, "fiber-100")["prices"][0]["amount"] = json!("-49.95")),
            "products[0].prices[0].amount",
            "must not be negative",
        ),
        (
            broken(|d| product(d, "sip-trunk")["prices"][1]["metric"] = json!("sms_count")),
            "products[6].prices[1].metric",
            "unknown metric `sms_count`",
        ),
        (
            broken(|d| product(d, "static-ip")["add_ons"] = json!([{"product": "static-ip"}])),
            "products[3].add_ons[0].product",
            "a product cannot be its own add-on",
        ),
        (
            broken(|d| {
                product(d, "fiber-100")["kind"] = json!("bundle");
                product(d, "fiber-100")["components"] =
                    json!([{"product": "home-bundle", "quantity": "1"}]);
            }),
            // Reported where the cycle closes: home-bundle's component fiber-100.
            "products[7].components[0].product",
            "bundle cycle fiber-100 → home-bundle → fiber-100",
        ),
        (
            broken(|d| product(d, "fiber-100")["prices"][0]["currency"] = json!("EUR")),
            "products[0].prices[0].currency",
            "currency mismatch",
        ),
        (
            broken(|d| {
                product(d, "fiber-100")["work_orders"][0]["tasks"][0]["depends_on"] =
                    json!(["activate"]);
            }),
            "products[0].work_orders[0].tasks[1].depends_on[0]",
            "dependency cycle survey → activate → install → survey",
        ),
        (
            broken(|d| {
                product(d, "fiber-1000")["prices"][0]["phases"] =
                    json!([{"kind": "evergreen"}, {"kind": "trial", "days": 14}]);
            }),
            "products[1].prices[0].phases[0].kind",
            "only the last phase may be evergreen",
        ),
        (
            broken(|d| d["categories"][0]["parent"] = json!("fiber")),
            "categories[0].parent",
            "category cycle broadband → fiber → broadband",
        ),
    ];
    for (document, path, message) in cases {
        let r = api.post("/v1/catalog/import", document).await;
        assert_eq!(r.status.as_u16(), 422, "{path}: {}", r.body);
        assert_eq!(r.body["code"], json!("invalid_catalog"));
        let details = r.body["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["field"] == path && d["message"].as_str().unwrap().contains(message)),
            "expected `{path}: …{message}…` in {details:?}"
        );
        assert_eq!(
            api.counts().await,
            before,
            "{path}: the rejected document wrote something"
        );
    }
    // Several problems are all reported at once.
    let many = broken(|d| {
        product(d, "fiber-100")["prices"][0]["amount"] = json!("-1");
        product(d, "fiber-1000")["prices"][0]["period"] = json!("fortnight");
    });
    let r = api.post("/v1/catalog/import", many).await;
    assert_eq!(r.body["details"].as_array().unwrap().len(), 2);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .starts_with("2 problems; first: "));
    // A document that does not parse names the place too.
    let r = api
        .post(
            "/v1/catalog/import",
            json!({"products": [{"code": "x", "name": "X", "colour": "red"}]}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (400, Some("products[0].colour"))
    );
    assert_eq!(api.counts().await, before);
    api.cleanup().await;
}

async fn dry_run_writes_nothing(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let before = api.counts().await;
    let r = api
        .post_ok("/v1/catalog/import?dry_run=true", doc(BROADBAND), 200)
        .await;
    assert_eq!(r["dry_run"], json!(true));
    assert_eq!(r["products"]["created"], json!(8));
    assert_eq!(api.counts().await, before);
    assert_eq!(api.get("/v1/catalog/export").await.body, json!({}));
    api.cleanup().await;
}

async fn changed_price_is_a_new_version_and_subscriptions_keep_theirs(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok("/v1/catalog/import", doc(BROADBAND), 200).await;
    let products = api.get("/v1/products?limit=200").await.body;
    let fiber = products["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "fiber-100")
        .unwrap()
        .clone();
    let v1 = fiber["prices"][0].clone();
    assert_eq!(
        (v1["version"].as_i64(), v1["amount"].as_str()),
        (Some(1), Some("49.95"))
    );
    let acc = api
        .post_ok("/v1/accounts", json!({"kind": "person", "name": "Early", "billing": {"currency": "USD", "bill_cycle_day": 1}}), 201)
        .await;
    let sub = api
        .post_ok(
            "/v1/subscriptions",
            json!({"account_id": acc["id"], "price_id": v1["id"], "start_date": "2025-01-01"}),
            201,
        )
        .await;

    // A price rise: the import creates version 2; the product now shows it.
    let mut d = doc(BROADBAND);
    product(&mut d, "fiber-100")["prices"][0]["amount"] = json!("54.95");
    product(&mut d, "fiber-100")["prices"][0]["effective_from"] = json!("2025-03-01");
    let r = api.post_ok("/v1/catalog/import", d, 200).await;
    assert_eq!(
        r["prices"],
        json!({"created": 0, "updated": 1, "unchanged": 8})
    );
    let fiber = api
        .get(&format!("/v1/products/{}", fiber["id"].as_str().unwrap()))
        .await
        .body;
    let v2 = &fiber["prices"][0];
    assert_eq!(
        (v2["version"].as_i64(), v2["amount"].as_str()),
        (Some(2), Some("54.95"))
    );
    assert_eq!(v2["effective_from"], json!("2025-03-01"));
    assert_ne!(v2["id"], v1["id"]);

    // The existing subscription is still billed at 49.95 (grandfathered).
    assert_eq!(
        api.get(&format!(
            "/v1/subscriptions/{}",
            sub["id"].as_str().unwrap()
        ))
        .await
        .body["price_id"],
        v1["id"]
    );
    let bill = api
        .post_ok(
            &format!("/v1/accounts/{}/bill", acc["id"].as_str().unwrap()),
            json!({"as_of": "2025-03-01"}),
            200,
        )
        .await;
    let totals: Vec<&str> = bill["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["total"].as_str().unwrap())
        .collect();
    assert_eq!(totals, ["49.95", "49.95", "49.95"]);

    // Prices that are not yet billable are refused for subscriptions, with the reason.
    let sip = api.get("/v1/products?limit=200").await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "sip-trunk")
        .unwrap()
        .clone();
    let usage = sip["prices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == "usage")
        .unwrap();
    let r = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": acc["id"], "price_id": usage["id"], "start_date": "2025-01-01"}),
        )
        .await;
    // Usage prices are billed from the item's usage (tests/usage_billing.rs).
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    assert_eq!(r.body["items"][0]["price_id"], usage["id"]);
    api.cleanup().await;
}

async fn product_lifecycle_prices_and_deletion(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok("/v1/catalog/import", doc(BROADBAND), 200).await;
    let draft = api
        .post_ok(
            "/v1/products",
            json!({"code": "fiber-10g", "name": "Fiber 10G", "status": "draft",
                   "prices": [{"currency": "USD", "period": "month", "amount": "299"}]}),
            201,
        )
        .await;
    let id = draft["id"].as_str().unwrap().to_string();
    let path = format!("/v1/products/{id}");
    let patch = |b: Value| api.call("PATCH", &path, Some(&api.key), Some(b));
    let acc = api
        .post_ok("/v1/accounts", json!({"kind": "business", "name": "Lab", "billing": {"currency": "USD", "bill_cycle_day": 1}}), 201)
        .await;
    let sub = json!({"account_id": acc["id"], "price_id": draft["prices"][0]["id"], "start_date": "2025-01-01"});
    // A draft cannot be sold.
    let r = api.post("/v1/subscriptions", sub.clone()).await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (422, Some("product_not_sellable"))
    );

    let r = patch(json!({"status": "active", "description": "Ten gigabit"})).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(
        (r.body["status"].as_str(), r.body["description"].as_str()),
        (Some("active"), Some("Ten gigabit"))
    );
    api.post_ok("/v1/subscriptions", sub.clone(), 201).await;

    // A second price code, then a new version of the first.
    let p2 = api
        .post_ok(&format!("{path}/prices"), json!({"code": "fiber-10g-setup", "type": "one_time", "currency": "USD", "model": {"type": "flat", "amount": "500"}}), 201)
        .await;
    assert_eq!(
        (p2["version"].as_i64(), p2["type"].as_str()),
        (Some(1), Some("one_time"))
    );
    let code = draft["prices"][0]["code"].as_str().unwrap();
    assert_eq!(code, "fiber-10g-usd-month");
    let v2 = api
        .post_ok(
            &format!("{path}/prices"),
            json!({"code": code, "currency": "USD", "period": "month", "amount": "279"}),
            201,
        )
        .await;
    assert_eq!(
        (v2["version"].as_i64(), v2["amount"].as_str()),
        (Some(2), Some("279.00"))
    );
    let bad = api
        .post(
            &format!("{path}/prices"),
            json!({"currency": "USD", "period": "month", "amount": "-1"}),
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.body["field"].as_str()),
        (422, Some("amount"))
    );
    assert_eq!(
        api.get(&format!("/v1/prices/{}", v2["id"].as_str().unwrap()))
            .await
            .body["amount"],
        json!("279.00")
    );
    // v1 is still readable (subscriptions point at it).
    let v1 = api
        .get(&format!(
            "/v1/prices/{}",
            draft["prices"][0]["id"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(
        (v1["version"].as_i64(), v1["amount"].as_str()),
        (Some(1), Some("299.00"))
    );
    let all = api.get("/v1/prices").await.body;
    assert_eq!(all.as_array().unwrap().len(), 9 + 2);

    // In use: no delete; retire instead; nothing leaves retired.
    let r = api.call("DELETE", &path, Some(&api.key), None).await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (409, Some("product_in_use"))
    );
    assert_eq!(
        patch(json!({"status": "retired"})).await.body["status"],
        json!("retired")
    );
    let r = patch(json!({"status": "active"})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (409, Some("invalid_transition"))
    );
    let r = api.post("/v1/subscriptions", sub).await;
    assert_eq!(r.body["code"], json!("product_not_sellable"));

    // An add-on others refer to cannot be deleted; an unused product can.
    let products = api.get("/v1/products?limit=200").await.body;
    let find = |code: &str| {
        products["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == code)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let r = api
        .call(
            "DELETE",
            &format!("/v1/products/{}", find("static-ip")),
            Some(&api.key),
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["code"].as_str()),
        (409, Some("product_in_use"))
    );
    let install = format!("/v1/products/{}", find("installation"));
    assert_eq!(
        api.call("DELETE", &install, Some(&api.key), None)
            .await
            .status
            .as_u16(),
        204
    );
    assert_eq!(api.get(&install).await.status.as_u16(), 404);
    let other = api.other_tenant().await;
    assert_eq!(
        api.call("PATCH", &path, Some(&other), Some(json!({"name": "x"})))
            .await
            .status
            .as_u16(),
        404
    );
    api.cleanup().await;
}

async fn reference_entries_have_their_own_crud(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok("/v1/catalog/import", doc(BROADBAND), 200).await;
    let put = |path: &'static str, body: Value| api.call("PUT", path, Some(&api.key), Some(body));

    // Create, read, replace, delete a metric.
    let sms = json!({"code": "sms", "name": "SMS sent", "aggregation": "count"});
    let r = put("/v1/metrics/sms", sms.clone()).await;
    assert_eq!((r.status.as_u16(), &r.body), (200, &sms));
    assert_eq!(api.get("/v1/metrics/sms").await.body, sms);
    let r = put(
        "/v1/metrics/sms",
        json!({"code": "sms", "name": "SMS", "aggregation": "sum", "field": "parts"}),
    )
    .await;
    assert_eq!(r.body["aggregation"], json!("sum"));
    assert_eq!(
        api.call("DELETE", "/v1/metrics/sms", Some(&api.key), None)
            .await
            .status
            .as_u16(),
        204
    );
    assert_eq!(api.get("/v1/metrics/sms").await.status.as_u16(), 404);

    // Validation names the field; the path and body codes must agree.
    let before = api.counts().await;
    let r = put(
        "/v1/metrics/bad",
        json!({"code": "bad", "name": "Bad", "aggregation": "sum"}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("field"))
    );
    let r = put("/v1/terms/t1", json!({"code": "t1", "name": "T", "length_months": 0, "end_of_term": "cancel", "etl": {"policy": "none"}})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("length_months"))
    );
    let r = put(
        "/v1/terms/t2",
        json!({"code": "t2", "name": "T", "length_months": 12, "end_of_term": "cancel",
        "etl": {"policy": "reducing", "schedule": [{"from_month": 2, "fee": "10"}]}}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("etl.schedule[0].from_month"))
    );
    let r = put(
        "/v1/price-books/x",
        json!({"code": "y", "name": "Y", "currency": "USD"}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.body["field"].as_str()),
        (422, Some("code"))
    );
    assert_eq!(api.counts().await, before);

    // Entries in use cannot be deleted; the message names who uses them.
    for (path, user) in [
        ("/v1/metrics/voice_minutes", "sip-trunk-minutes"),
        ("/v1/terms/24m", "fiber-100-monthly"),
        ("/v1/price-books/business-usd", "business-fiber-yearly"),
        ("/v1/categories/broadband", "fiber"),
    ] {
        let r = api.call("DELETE", path, Some(&api.key), None).await;
        assert_eq!(
            (r.status.as_u16(), r.body["code"].as_str()),
            (409, Some("in_use")),
            "{path}"
        );
        assert!(
            r.body["message"].as_str().unwrap().contains(user),
            "{path}: {}",
            r.body
        );
    }
    assert_eq!(
        api.call("DELETE", "/v1/terms/none-such", Some(&api.key), None)
            .await
            .status
            .as_u16(),
        404
    );
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
        .call(
            "PUT",
            "/v1/metrics/x",
            Some(&ro),
            Some(json!({"code": "x", "name": "X", "aggregation": "count"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 403);
    api.cleanup().await;
}

fn with_rules(rules: Value) -> Value {
    let mut d = doc(BROADBAND);
    d["change_rules"] = rules;
    d
}

/// Rules naming products and books of the same document (a fresh tenant has neither yet).
fn broadband_rules() -> Value {
    json!([
        {"from_product": "fiber-1000", "to_product": "fiber-100", "policy": "end_of_period"},
        {"from_period": "year", "to_price_book": "residential-usd", "policy": "illegal"},
        {"policy": "immediate"},
    ])
}

async fn change_rules_travel_with_the_catalog(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    let r = api
        .post_ok("/v1/catalog/import", with_rules(broadband_rules()), 200)
        .await;
    assert_eq!(
        r["change_rules"],
        json!({"created": 1, "updated": 0, "unchanged": 0})
    );
    assert_eq!(
        api.get("/v1/catalog/change-rules").await.body,
        json!({"rules": broadband_rules()})
    );
    let first = api.get("/v1/catalog/export").await.body;
    assert_eq!(first["change_rules"], broadband_rules());

    // Exported, imported into a fresh tenant, exported again: the same rules, same order.
    let other = api.other_tenant().await;
    let r = api
        .call(
            "POST",
            "/v1/catalog/import",
            Some(&other),
            Some(first.clone()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["change_rules"]["created"], json!(1));
    let rules = api
        .call("GET", "/v1/catalog/change-rules", Some(&other), None)
        .await;
    assert_eq!(rules.body, json!({"rules": broadband_rules()}));
    let second = api
        .call("GET", "/v1/catalog/export", Some(&other), None)
        .await
        .body;
    assert_eq!(second, first);

    // Again: unchanged. A document without rules keeps them; an empty list clears them.
    let again = api.post_ok("/v1/catalog/import", first.clone(), 200).await;
    assert_eq!(
        again["change_rules"],
        json!({"created": 0, "updated": 0, "unchanged": 1})
    );
    let none = api.post_ok("/v1/catalog/import", doc(BROADBAND), 200).await;
    assert_eq!(
        none["change_rules"],
        json!({"created": 0, "updated": 0, "unchanged": 0})
    );
    assert_eq!(
        api.get("/v1/catalog/change-rules").await.body["rules"],
        broadband_rules()
    );

    // What a rule names cannot be deleted from under it (the export would not re-import).
    let products = api.get("/v1/products").await.body;
    let fiber_1000 = products["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "fiber-1000")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let del = api
        .call(
            "DELETE",
            &format!("/v1/products/{fiber_1000}"),
            Some(&api.key),
            None,
        )
        .await;
    assert_eq!(
        (del.status.as_u16(), &del.body["code"]),
        (409, &json!("product_in_use")),
        "{}",
        del.body
    );
    assert!(del.body["message"]
        .as_str()
        .unwrap()
        .contains("change rule 0"));

    let cleared = api
        .post_ok("/v1/catalog/import", with_rules(json!([])), 200)
        .await;
    assert_eq!(cleared["change_rules"]["updated"], json!(1));
    assert_eq!(
        api.get("/v1/catalog/change-rules").await.body,
        json!({"rules": []})
    );
    assert!(api
        .get("/v1/catalog/export")
        .await
        .body
        .get("change_rules")
        .is_none());
    api.cleanup().await;
}

async fn a_bad_change_rule_rejects_the_whole_import(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok("/v1/catalog/import", with_rules(broadband_rules()), 200)
        .await;
    let before = api.counts().await;
    let export = api.get("/v1/catalog/export").await.body;
    // Each bad document also renames a product, which must not happen either.
    let bad = [
        (
            json!([{"policy": "immediate"}, {"to_product": "gold", "policy": "illegal"}]),
            422,
            "unknown_product",
            "change_rules[1].to_product",
        ),
        (
            json!([{"from_period": "fortnight", "policy": "illegal"}]),
            422,
            "invalid_period",
            "change_rules[0].from_period",
        ),
        (
            json!([{"to_price_book": "promo", "policy": "illegal"}]),
            422,
            "unknown_price_book",
            "change_rules[0].to_price_book",
        ),
        (
            json!([{"policy": "sometimes"}]),
            400,
            "invalid_field",
            "change_rules[0].policy",
        ),
    ];
    for (rules, status, code, field) in bad {
        let mut d = with_rules(rules.clone());
        product(&mut d, "fiber-100")["name"] = json!("Renamed");
        let r = api
            .call("POST", "/v1/catalog/import", Some(&api.key), Some(d))
            .await;
        assert_eq!(
            (r.status.as_u16(), &r.body["code"], &r.body["field"]),
            (status, &json!(code), &json!(field)),
            "{rules}: {}",
            r.body
        );
    }
    assert_eq!(api.counts().await, before);
    assert_eq!(api.get("/v1/catalog/export").await.body, export);
    api.cleanup().await;
}
