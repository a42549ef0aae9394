//! The TMF678 Customer Bill facade on both stores: invoices as customerBill (state, amounts,
//! period, document link), lines as appliedCustomerBillingRate, TMF list conventions and
//! errors. Every body is checked against the definitions of the TMF678 v4.0.0
//! specification committed in `tests/tmf/` (Apache-2.0, see its LICENSE).

mod common;

use std::sync::OnceLock;

use common::TestApi;
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(bills_and_rates_through_the_facade);

const BASE: &str = "/tmf-api/customerBillManagement/v4";
const SPEC: &str = include_str!("tmf/TMF678-CustomerBill-v4.0.0.swagger.json");

/// Attributes Quoin adds to a definition (TMF allows extensions).
const EXTENSIONS: &[(&str, &str)] = &[("Error", "field"), ("Error", "details")];

fn definitions() -> &'static Value {
    static SPEC_DOC: OnceLock<Value> = OnceLock::new();
    &SPEC_DOC.get_or_init(|| serde_json::from_str(SPEC).expect("TMF678 is JSON"))["definitions"]
}

/// Problems of `value` against `schema` (the Swagger 2.0 subset TMF678 uses): `$ref`,
/// types, enums, `date-time`, and attributes the definition does not declare.
fn check(schema: &Value, value: &Value, at: &str, def: Option<&str>, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        let target = &definitions()[name];
        assert!(!target.is_null(), "$ref {r} names no definition");
        return check(target, value, at, Some(name), errors);
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            errors.push(format!("{at}: {value} not in {options:?}"));
        }
    }
    let ok = match schema.get("type").and_then(Value::as_str) {
        Some("string") => value.is_string(),
        Some("number") => value.is_number(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        Some("object") => value.is_object(),
        _ => true,
    };
    if !ok {
        errors.push(format!("{at}: {value} is not a {}", schema["type"]));
        return;
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time") {
        if let Some(s) = value.as_str() {
            if s.parse::<jiff::Timestamp>().is_err() {
                errors.push(format!("{at}: `{s}` is not a date-time"));
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (n, v) in values.iter().enumerate() {
            check(items, v, &format!("{at}[{n}]"), None, errors);
        }
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for required in schema["required"].as_array().into_iter().flatten() {
            if !obj.contains_key(required.as_str().unwrap()) {
                errors.push(format!("{at}: missing required `{required}`"));
            }
        }
        for (k, v) in obj {
            match props.get(k) {
                Some(s) => check(s, v, &format!("{at}.{k}"), None, errors),
                None if def.is_some_and(|d| EXTENSIONS.contains(&(d, k.as_str()))) => {}
                None => errors.push(format!("{at}: `{k}` is not an attribute of {def:?}")),
            }
        }
    }
}

fn valid(definition: &str, value: &Value) {
    let mut errors = Vec::new();
    let schema = json!({"$ref": format!("#/definitions/{definition}")});
    check(&schema, value, definition, None, &mut errors);
    assert!(errors.is_empty(), "{errors:#?}\n{value:#}");
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

async fn get_list(api: &TestApi, path: &str) -> (Vec<Value>, String, String) {
    let r = api.get(path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    let h = |n: &str| r.headers[n].to_str().unwrap().to_string();
    let (total, count) = (h("x-total-count"), h("x-result-count"));
    (r.body.as_array().unwrap().clone(), total, count)
}

async fn bills_and_rates_through_the_facade(db: TestStore) {
    let api = TestApi::new(db, Mode::Development).await;
    api.post_ok(
        "/v1/test-clock",
        json!({"now": "2024-01-01T06:00:00Z"}),
        200,
    )
    .await;
    let r = api
        .call(
            "PUT",
            "/v1/tax-rates",
            Some(&api.key),
            Some(
                json!({"rates": [{"jurisdiction": "FR", "category": "standard",
                "components": [{"name": "TVA", "percent": "10"}]}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let price = s(&api
        .post_ok(
            "/v1/products",
            json!({"code": "plan", "name": "Plan", "prices": [{"currency": "USD", "amount": "100.00", "period": "month"}]}),
            201,
        )
        .await["prices"][0]["id"]);
    let mut accounts = Vec::new();
    for name in ["taxed", "plain", "draft"] {
        let body = json!({"kind": "business", "name": name,
            "billing": {"currency": "USD", "bill_cycle_day": 1, "payment_terms_days": 30}});
        accounts.push(s(&api.post_ok("/v1/accounts", body, 201).await["id"]));
    }
    let (taxed, plain, draft) = (&accounts[0], &accounts[1], &accounts[2]);
    let r = api
        .call(
            "PUT",
            &format!("/v1/accounts/{taxed}/tax-profile"),
            Some(&api.key),
            Some(json!({"jurisdiction": "FR"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for a in [taxed, plain] {
        let body = json!({"account_id": a, "price_id": price, "start_date": "2024-01-01"});
        api.post_ok("/v1/subscriptions", body, 201).await;
    }
    let jan = api
        .post_ok(
            "/v1/test-clock/advance",
            json!({"to": "2024-01-01T12:00:00Z"}),
            200,
        )
        .await;
    let of = |acc: &str| {
        jan["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["account_id"] == json!(acc))
            .unwrap()
            .clone()
    };
    let (taxed_jan, plain_jan) = (of(taxed), of(plain));
    for (a, amount) in [(taxed, "50.00"), (plain, "100.00")] {
        let body = json!({"account_id": a, "amount": amount, "currency": "USD"});
        api.post_ok("/v1/payments", body, 201).await;
    }
    // A draft: billed without finalizing.
    let body = json!({"account_id": draft, "price_id": price, "start_date": "2024-01-01"});
    api.post_ok("/v1/subscriptions", body, 201).await;
    let drafted = api
        .post_ok(
            &format!("/v1/accounts/{draft}/bill"),
            json!({"as_of": "2024-01-01"}),
            200,
        )
        .await;
    let draft_id = s(&drafted["invoices"][0]["id"]);

    // Every bill, valid TMF678, with the list headers.
    let (all, total, count) = get_list(&api, &format!("{BASE}/customerBill")).await;
    assert_eq!((total.as_str(), count.as_str()), ("3", "3"));
    for b in &all {
        valid("CustomerBill", b);
    }

    // One bill in full: a taxed invoice half paid.
    let id = s(&taxed_jan["id"]);
    let r = api.get(&format!("{BASE}/customerBill/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let b = &r.body;
    valid("CustomerBill", b);
    assert_eq!(b["href"], json!(format!("{BASE}/customerBill/{id}")));
    assert_eq!(b["billNo"], taxed_jan["number"]);
    assert_eq!(b["state"], json!("partiallyPaid"));
    assert_eq!(b["billDate"], json!("2024-01-01T00:00:00Z"));
    assert_eq!(b["paymentDueDate"], json!("2024-01-31T00:00:00Z"));
    assert_eq!(b["taxExcludedAmount"], json!({"unit": "USD", "value": 100}));
    assert_eq!(b["taxIncludedAmount"], json!({"unit": "USD", "value": 110}));
    assert_eq!(b["amountDue"], json!({"unit": "USD", "value": 110}));
    assert_eq!(b["remainingAmount"], json!({"unit": "USD", "value": 60}));
    assert_eq!(
        b["taxItem"],
        json!([{"taxAmount": {"unit": "USD", "value": 10}}])
    );
    assert_eq!(
        b["billingPeriod"],
        json!({"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": "2024-02-01T00:00:00Z"})
    );
    assert_eq!(b["billingAccount"]["id"], json!(taxed));
    let pdf = s(&b["billDocument"][0]["href"]);
    assert_eq!(b["billDocument"][0]["mimeType"], json!("application/pdf"));
    let doc = api.get(&pdf).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.headers["content-type"], "application/pdf");

    // States: settled when paid, new for a draft (no billNo yet).
    let plain_bill = api
        .get(&format!("{BASE}/customerBill/{}", s(&plain_jan["id"])))
        .await
        .body;
    assert_eq!(plain_bill["state"], json!("settled"));
    assert_eq!(plain_bill["remainingAmount"]["value"], json!(0));
    let d = api
        .get(&format!("{BASE}/customerBill/{draft_id}"))
        .await
        .body;
    assert_eq!(d["state"], json!("new"));
    assert!(d.get("billNo").is_none());

    // Filters and paging.
    let (by_account, total, _) = get_list(
        &api,
        &format!("{BASE}/customerBill?billingAccount.id={taxed}"),
    )
    .await;
    assert_eq!(total, "1");
    assert_eq!(by_account[0]["id"], json!(id));
    let (settled, _, _) = get_list(&api, &format!("{BASE}/customerBill?state=settled")).await;
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0]["id"], plain_jan["id"]);
    let (page, total, count) = get_list(
        &api,
        &format!("{BASE}/customerBill?offset=1&limit=1&fields=state"),
    )
    .await;
    assert_eq!((total.as_str(), count.as_str(), page.len()), ("3", "1", 1));
    let keys: Vec<&String> = page[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["@type", "href", "id", "state"]);

    // The applied rate of the taxed line, found by bill and by its own id.
    let (rates, total, _) = get_list(
        &api,
        &format!("{BASE}/appliedCustomerBillingRate?bill.id={id}"),
    )
    .await;
    assert_eq!(total, "1");
    let rate = &rates[0];
    valid("AppliedCustomerBillingRate", rate);
    assert_eq!(rate["type"], json!("recurring"));
    assert_eq!(rate["isBilled"], json!(true));
    assert_eq!(
        rate["taxExcludedAmount"],
        json!({"unit": "USD", "value": 100})
    );
    assert_eq!(
        rate["taxIncludedAmount"],
        json!({"unit": "USD", "value": 110})
    );
    assert_eq!(rate["appliedTax"][0]["taxAmount"]["value"], json!(10));
    assert_eq!(rate["bill"]["id"], json!(id));
    assert_eq!(
        rate["periodCoverage"],
        json!({"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": "2024-02-01T00:00:00Z"})
    );
    let rate_id = s(&rate["id"]);
    let got = api
        .get(&format!("{BASE}/appliedCustomerBillingRate/{rate_id}"))
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(&got.body, rate);
    let (every, total, _) = get_list(&api, &format!("{BASE}/appliedCustomerBillingRate")).await;
    assert_eq!((total.as_str(), every.len()), ("3", 3));
    let (drafts, _, _) = get_list(
        &api,
        &format!("{BASE}/appliedCustomerBillingRate?isBilled=false"),
    )
    .await;
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0]["bill"]["id"], json!(draft_id));

    // Errors in TMF form: unknown ids, unknown filters, another tenant's bill.
    for path in [
        format!("{BASE}/customerBill/nope"),
        format!("{BASE}/appliedCustomerBillingRate/nope"),
        format!("{BASE}/appliedCustomerBillingRate/{id}.nope"),
    ] {
        let r = api.get(&path).await;
        assert_eq!(r.status, 404, "{path}");
        valid("Error", &r.body);
        assert_eq!(r.body["code"], json!("not_found"));
    }
    let r = api.get(&format!("{BASE}/customerBill?colour=red")).await;
    assert_eq!(r.status, 400);
    valid("Error", &r.body);
    assert_eq!(r.body["field"], json!("colour"));
    let other = api.other_tenant().await;
    let r = api
        .call(
            "GET",
            &format!("{BASE}/customerBill/{id}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let r = api
        .call("GET", &format!("{BASE}/customerBill"), Some(&other), None)
        .await;
    assert_eq!(r.body, json!([]));
    api.cleanup().await;
}
