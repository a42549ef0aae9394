//! The TMF620 Product Catalog Management facade on both stores: the broadband example
//! catalog seen as productSpecification, productOffering, productOfferingPrice and category;
//! list (filters, `fields`, paging headers), get, create, patch, delete, tenant isolation.
//! Every TMF response body is validated against the schema the TMF620 v4 specification
//! (committed in `tests/tmf/`, Apache-2.0, see its LICENSE) declares for that operation
//! and status, with a small validator for the Swagger 2.0 subset the specification uses.

mod common;

use std::collections::HashSet;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use common::{Reply, TestApi};
use quoin_app::catalog::format::{parse, Format};
use quoin_app::Mode;
use quoin_store::testing::TestStore;
use serde_json::{json, Value};

on_both_stores!(
    product_specifications,
    product_offerings,
    product_offering_prices,
    categories,
    requests_tmf_cannot_use_are_refused_in_tmf_form,
);

const BASE: &str = "/tmf-api/productCatalogManagement/v4";
const BROADBAND: &str = include_str!("../../../examples/catalogs/broadband.yaml");
const SPEC: &str = include_str!("tmf/TMF620-ProductCatalog-v4.0.0.swagger.json");

// ---- a validator for the Swagger 2.0 schema subset of the TMF620 specification ---------

/// Extension attributes Quoin adds to a definition (TMF allows them; any other attribute
/// outside the definition is reported, which catches misspelt attribute names).
const EXTENSIONS: &[(&str, &str)] = &[
    ("ProductOfferingPrice", "productOffering"),
    ("Error", "field"),
    ("Error", "details"),
];

fn spec() -> &'static Value {
    static SPEC_DOC: OnceLock<Value> = OnceLock::new();
    SPEC_DOC.get_or_init(|| serde_json::from_str(SPEC).expect("the TMF620 specification is JSON"))
}

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, and a real instant.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    let zone = match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    zone && s.parse::<jiff::Timestamp>().is_ok()
}

fn is_uri(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, _)) => {
            scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

struct Validator<'a> {
    definitions: &'a Value,
    errors: Vec<String>,
}

impl Validator<'_> {
    fn fail(&mut self, at: &str, message: String) {
        self.errors.push(format!("{at}: {message}"));
    }

    fn check(
        &mut self,
        schema: &Value,
        value: &Value,
        at: &str,
        definition: Option<&str>,
        depth: usize,
    ) {
        assert!(depth < 64, "schema recursion too deep at {at}");
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r
                .strip_prefix("#/definitions/")
                .unwrap_or_else(|| panic!("unsupported $ref `{r}`"));
            let target = self
                .definitions
                .get(name)
                .unwrap_or_else(|| panic!("$ref `{r}` names no definition"));
            self.check(target, value, at, Some(name), depth + 1);
            return;
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.check(s, value, at, definition, depth + 1);
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                self.fail(at, format!("{value} is not one of {options:?}"));
            }
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                other => panic!("unsupported type `{other}`"),
            };
            if !ok {
                self.fail(at, format!("expected {t}, got {value}"));
                return;
            }
        }
        if let (Some(format), Some(s)) =
            (schema.get("format").and_then(Value::as_str), value.as_str())
        {
            let ok = match format {
                "date-time" => is_date_time(s),
                "uri" => is_uri(s),
                _ => true,
            };
            if !ok {
                self.fail(at, format!("`{s}` is not a valid {format}"));
            }
        }
        if let Some(items) = schema.get("items") {
            for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                self.check(items, item, &format!("{at}[{i}]"), None, depth + 1);
            }
        }
        let Some(object) = value.as_object() else {
            return;
        };
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                self.fail(at, format!("required attribute `{name}` is missing"));
            }
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, v) in object {
                let path = format!("{at}.{name}");
                match properties.get(name) {
                    Some(s) => self.check(s, v, &path, None, depth + 1),
                    None => {
                        let allowed =
                            definition.is_some_and(|d| EXTENSIONS.contains(&(d, name.as_str())));
                        if !allowed {
                            let d = definition.unwrap_or("(inline schema)");
                            self.fail(&path, format!("`{name}` is not an attribute of {d}"));
                        }
                    }
                }
            }
        }
    }
}

/// Problems of `value` against `schema` (resolving `$ref`s in the TMF620 specification).
fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut v = Validator {
        definitions: &spec()["definitions"],
        errors: Vec::new(),
    };
    v.check(schema, value, "$", None, 0);
    v.errors
}

fn definition(name: &str) -> Value {
    json!({"$ref": format!("#/definitions/{name}")})
}

/// The specification's path template of a request path (`/category/fiber` → `/category/{id}`).
fn template(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let rest = path
        .strip_prefix(BASE)
        .unwrap_or_else(|| panic!("not a TMF620 path: {path}"));
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [resource] => format!("/{resource}"),
        [resource, _] => format!("/{resource}/{{id}}"),
        _ => panic!("unexpected TMF620 path {path}"),
    }
}

/// Checks a TMF response against what the specification declares for that operation and
/// status (error statuses it does not list, like 415 and 422, against `Error`).
fn check_response(method: &str, path: &str, r: &Reply) {
    let status = r.status.as_u16();
    if status == 204 {
        assert_eq!(r.body, Value::Null, "{method} {path}: a 204 has no body");
        return;
    }
    let responses = &spec()["paths"][template(path)][method.to_ascii_lowercase()]["responses"];
    assert!(
        responses.is_object(),
        "{method} {path}: no such operation in TMF620"
    );
    let schema = match responses.get(status.to_string()) {
        Some(declared) => declared["schema"].clone(),
        None if status >= 400 => definition("Error"),
        None => panic!("{method} {path}: TMF620 declares no {status} response"),
    };
    let content_type = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{method} {path}: content-type `{content_type}`"
    );
    let errors = validate(&schema, &r.body);
    assert!(
        errors.is_empty(),
        "{method} {path} → {status}: the body does not validate against TMF620:\n{}\n{:#}",
        errors.join("\n"),
        r.body
    );
}

// ---- driving the API -------------------------------------------------------------------

struct Tmf {
    api: TestApi,
    /// Admin key of another tenant.
    other: String,
}

fn header(r: &Reply, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

fn names(list: &Value) -> HashSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> HashSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Tmf {
    /// Tenant A with the broadband example catalog, imported through `/v1/catalog/import`.
    async fn new(db: TestStore) -> Tmf {
        let api = TestApi::new(db, Mode::Development).await;
        let doc = serde_json::to_value(parse(BROADBAND, Format::Yaml).unwrap()).unwrap();
        api.post_ok("/v1/catalog/import", doc, 200).await;
        let other = api.other_tenant().await;
        Tmf { api, other }
    }

    /// A TMF request (path relative to the base), its response checked against TMF620.
    async fn send(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<(&str, String)>,
    ) -> Reply {
        let path = format!("{BASE}{path}");
        let b = Request::builder()
            .method(method)
            .uri(&path)
            .header("authorization", format!("Bearer {key}"));
        let req = match body {
            Some((content_type, text)) => b
                .header("content-type", content_type)
                .body(Body::from(text)),
            None => b.body(Body::empty()),
        };
        let r = self.api.send(req.unwrap()).await;
        check_response(method, &path, &r);
        r
    }

    async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &self.api.key, None).await
    }

    async fn get_as(&self, key: &str, path: &str) -> Reply {
        self.send("GET", path, key, None).await
    }

    /// A GET that must answer 200; returns the body.
    async fn ok(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status.as_u16(), 200, "GET {path}: {}", r.body);
        r.body
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(
            "POST",
            path,
            &self.api.key,
            Some(("application/json", body.to_string())),
        )
        .await
    }

    /// A POST that must create: 201, `Location` = the resource's `href`, GET gives it back.
    async fn create(&self, path: &str, body: Value) -> Value {
        let r = self.post(path, body).await;
        assert_eq!(r.status.as_u16(), 201, "POST {path}: {}", r.body);
        let href = r.body["href"].as_str().unwrap().to_string();
        assert_eq!(header(&r, "location"), href);
        assert_eq!(
            href,
            format!("{BASE}{path}/{}", r.body["id"].as_str().unwrap())
        );
        let again = self.ok(href.strip_prefix(BASE).unwrap()).await;
        assert_eq!(again, r.body, "GET {href} differs from what POST returned");
        r.body
    }

    async fn patch_as(&self, key: &str, path: &str, body: Value) -> Reply {
        self.send(
            "PATCH",
            path,
            key,
            Some(("application/merge-patch+json", body.to_string())),
        )
        .await
    }

    async fn patch(&self, path: &str, body: Value) -> Reply {
        self.patch_as(&self.api.key, path, body).await
    }

    async fn patch_ok(&self, path: &str, body: Value) -> Value {
        let r = self.patch(path, body).await;
        assert_eq!(r.status.as_u16(), 200, "PATCH {path}: {}", r.body);
        r.body
    }

    async fn delete_as(&self, key: &str, path: &str) -> Reply {
        self.send("DELETE", path, key, None).await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.delete_as(&self.api.key, path).await
    }

    /// A list: 200, the paging headers agree with the body; returns the body.
    async fn list(&self, path: &str) -> (Value, usize) {
        let r = self.get(path).await;
        assert_eq!(r.status.as_u16(), 200, "GET {path}: {}", r.body);
        let count: usize = header(&r, "x-result-count").parse().unwrap();
        let total: usize = header(&r, "x-total-count").parse().unwrap();
        assert_eq!(
            count,
            r.body.as_array().unwrap().len(),
            "GET {path}: X-Result-Count"
        );
        (r.body, total)
    }

    /// The id of the product with this code (through the productSpecification list).
    async fn product_id(&self, code: &str) -> String {
        let (list, total) = self
            .list(&format!("/productSpecification?productNumber={code}"))
            .await;
        assert_eq!(total, 1, "product {code}");
        list[0]["id"].as_str().unwrap().to_string()
    }

    async fn price_id(&self, code: &str) -> String {
        let (list, total) = self
            .list(&format!("/productOfferingPrice?name={code}"))
            .await;
        assert_eq!(total, 1, "price {code}");
        list[0]["id"].as_str().unwrap().to_string()
    }

    /// 404 with a TMF error for the other tenant on get, patch and delete; its lists are empty.
    async fn isolated(&self, resource: &str, id: &str) {
        let path = format!("/{resource}/{id}");
        let r = self.get_as(&self.other, &path).await;
        assert_eq!(
            r.status.as_u16(),
            404,
            "{path} as another tenant: {}",
            r.body
        );
        assert_eq!(r.body["code"], json!("not_found"));
        let r = self
            .patch_as(&self.other, &path, json!({"name": "Stolen"}))
            .await;
        assert_eq!(
            r.status.as_u16(),
            404,
            "PATCH {path} as another tenant: {}",
            r.body
        );
        let r = self.delete_as(&self.other, &path).await;
        assert_eq!(
            r.status.as_u16(),
            404,
            "DELETE {path} as another tenant: {}",
            r.body
        );
        let r = self.get_as(&self.other, &format!("/{resource}")).await;
        assert_eq!(r.body, json!([]), "{resource} list of another tenant");
        assert_eq!(header(&r, "x-total-count"), "0");
        // Still there for its owner.
        self.ok(&path).await;
    }

    /// Delete answers 204, after which the resource is gone.
    async fn deleted(&self, resource: &str, id: &str) {
        let path = format!("/{resource}/{id}");
        let r = self.delete(&path).await;
        assert_eq!(r.status.as_u16(), 204, "DELETE {path}: {}", r.body);
        let r = self.get(&path).await;
        assert_eq!(
            r.status.as_u16(),
            404,
            "GET {path} after delete: {}",
            r.body
        );
        assert_eq!(r.body["@type"], json!("Error"));
        assert_eq!(r.body["status"], json!("404"));
        let r = self.delete(&path).await;
        assert_eq!(r.status.as_u16(), 404, "DELETE {path} again: {}", r.body);
    }

    async fn cleanup(self) {
        self.api.cleanup().await;
    }
}

/// The attributes every resource carries.
fn assert_common(resource: &Value, kind: &str, path: &str) {
    let id = resource["id"].as_str().unwrap();
    assert_eq!(resource["@type"], json!(kind));
    assert_eq!(resource["href"], json!(format!("{BASE}/{path}/{id}")));
    assert!(
        is_date_time(resource["lastUpdate"].as_str().unwrap()),
        "{resource}"
    );
    assert!(resource["version"].is_string(), "{resource}");
    assert!(resource["lifecycleStatus"].is_string(), "{resource}");
    assert!(resource["name"].is_string(), "{resource}");
}

// ---- the cases ---------------------------------------------------------------------------

async fn product_specifications(db: TestStore) {
    let t = Tmf::new(db).await;
    let (all, total) = t.list("/productSpecification").await;
    assert_eq!(total, 8);
    for s in all.as_array().unwrap() {
        assert_common(s, "ProductSpecification", "productSpecification");
    }
    let numbers: HashSet<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["productNumber"].as_str().unwrap().to_string())
        .collect();
    assert!(numbers.contains("fiber-100") && numbers.contains("home-bundle"));

    // Filters and attribute selection.
    let (active, total) = t.list("/productSpecification?lifecycleStatus=Active").await;
    assert_eq!((total, active.as_array().unwrap().len()), (8, 8));
    let (bundles, _) = t.list("/productSpecification?isBundle=true").await;
    assert_eq!(
        names(&bundles),
        set(&["Home bundle (Fiber 100 with router)"])
    );
    let (one, total) = t.list("/productSpecification?name=SIP%20trunk").await;
    assert_eq!(total, 1);
    assert_eq!(one[0]["productNumber"], json!("sip-trunk"));
    let (slim, _) = t
        .list("/productSpecification?fields=name&productNumber=fiber-100")
        .await;
    let keys: HashSet<String> = slim[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, set(&["id", "href", "@type", "name"]));

    // Get: the bundle names its parts, the service its add-ons.
    let bundle_id = bundles[0]["id"].as_str().unwrap().to_string();
    let fiber = t.product_id("fiber-100").await;
    let router = t.product_id("router-rental").await;
    let bundle = t.ok(&format!("/productSpecification/{bundle_id}")).await;
    assert_eq!(bundle["isBundle"], json!(true));
    assert_eq!(
        ids(&bundle["bundledProductSpecification"]),
        vec![fiber.clone(), router.clone()]
    );
    let spec = t.ok(&format!("/productSpecification/{fiber}")).await;
    assert_eq!(spec["name"], json!("Fiber 100 Mbps"));
    assert_eq!(
        spec["description"],
        json!("Symmetric 100 Mbps fiber internet.")
    );
    assert_eq!(spec["lifecycleStatus"], json!("Active"));
    assert_eq!(spec["isBundle"], json!(false));
    assert_eq!(
        spec["productSpecificationRelationship"][1]["id"],
        json!(router)
    );
    assert_eq!(
        spec["productSpecificationRelationship"][1]["relationshipType"],
        json!("addOn")
    );
    let slim = t
        .ok(&format!(
            "/productSpecification/{fiber}?fields=lifecycleStatus"
        ))
        .await;
    assert_eq!(slim.as_object().unwrap().len(), 4, "{slim}");

    // Create: the code from productNumber, or derived from the name.
    let created = t
        .create(
            "/productSpecification",
            json!({"name": "Fiber 2 Gbps", "productNumber": "fiber-2000", "lifecycleStatus": "In design",
                   "description": "Symmetric 2 Gbps.", "@type": "ProductSpecification"}),
        )
        .await;
    assert_common(&created, "ProductSpecification", "productSpecification");
    assert_eq!(created["productNumber"], json!("fiber-2000"));
    let static_ip = t.product_id("static-ip").await;
    let with_add_on = t
        .create(
            "/productSpecification",
            json!({"name": "Fiber 5 Gbps", "productSpecificationRelationship": [
                {"id": static_ip, "relationshipType": "addOn"}]}),
        )
        .await;
    assert_eq!(
        with_add_on["productSpecificationRelationship"][0]["id"],
        json!(static_ip)
    );
    let r = t
        .post(
            "/productSpecification",
            json!({"name": "Fiber 5 Gbps", "productSpecificationRelationship": [
                {"id": static_ip, "relationshipType": "substitution"}]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(
        r.body["field"],
        json!("productSpecificationRelationship[0].relationshipType")
    );
    assert_eq!(created["lifecycleStatus"], json!("In design"));
    let derived = t
        .create("/productSpecification", json!({"name": "Fiber 2 Gbps"}))
        .await;
    assert_eq!(derived["productNumber"], json!("fiber-2-gbps"));
    let again = t
        .create("/productSpecification", json!({"name": "Fiber 2 Gbps"}))
        .await;
    assert_eq!(again["productNumber"], json!("fiber-2-gbps-2"));
    let r = t
        .post(
            "/productSpecification",
            json!({"name": "Clash", "productNumber": "fiber-2000"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    assert_eq!(r.body["code"], json!("code_taken"));
    let bundle2 = t
        .create(
            "/productSpecification",
            json!({"name": "Fiber with static IP", "isBundle": true,
                   "bundledProductSpecification": [{"id": fiber}, {"id": static_ip}]}),
        )
        .await;
    assert_eq!(bundle2["isBundle"], json!(true));
    assert_eq!(
        bundle2["bundledProductSpecification"][0]["id"],
        json!(fiber)
    );

    // Patch: name, description, lifecycle (nothing leaves Retired).
    let id = created["id"].as_str().unwrap();
    let path = format!("/productSpecification/{id}");
    let patched = t
        .patch_ok(&path, json!({"name": "Fiber 2 Gbps (launch)", "lifecycleStatus": "Active", "description": null}))
        .await;
    assert_eq!(patched["name"], json!("Fiber 2 Gbps (launch)"));
    assert_eq!(patched["lifecycleStatus"], json!("Active"));
    assert!(patched.get("description").is_none(), "{patched}");
    assert_eq!(t.ok(&path).await, patched);
    t.patch_ok(&path, json!({"lifecycleStatus": "Retired"}))
        .await;
    let r = t.patch(&path, json!({"lifecycleStatus": "Active"})).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    assert_eq!(r.body["code"], json!("invalid_transition"));
    let r = t.patch(&path, json!({"productNumber": "renamed"})).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    assert_eq!(r.body["field"], json!("productNumber"));

    // Tenant isolation, then delete (a product that is a bundle's part is in use).
    t.isolated("productSpecification", id).await;
    let r = t.delete(&format!("/productSpecification/{router}")).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    assert_eq!(r.body["code"], json!("product_in_use"));
    t.deleted("productSpecification", id).await;
    let r = t.get(&format!("/productOffering/{id}")).await;
    assert_eq!(
        r.status.as_u16(),
        404,
        "the offering goes with its specification"
    );
    let (_, total) = t.list("/productSpecification").await;
    assert_eq!(total, 8 + 5 - 1);
    t.cleanup().await;
}

async fn product_offerings(db: TestStore) {
    let t = Tmf::new(db).await;
    let (all, total) = t.list("/productOffering").await;
    assert_eq!(total, 8);
    for o in all.as_array().unwrap() {
        assert_common(o, "ProductOffering", "productOffering");
        // An offering is its own specification.
        assert_eq!(o["productSpecification"]["id"], o["id"]);
    }

    // Filters on nested references and attribute selection.
    let (fiber, total) = t.list("/productOffering?category.id=fiber").await;
    assert_eq!(total, 3);
    assert_eq!(
        names(&fiber),
        set(&[
            "Fiber 100 Mbps",
            "Fiber 1 Gbps",
            "Business Fiber 500, annual"
        ])
    );
    let (both, total) = t
        .list("/productOffering?category.id=voice&category.id=equipment&lifecycleStatus=Active")
        .await;
    assert_eq!(total, 3, "{both}");
    let (slim, _) = t
        .list("/productOffering?fields=name,category&name=Fiber%201%20Gbps")
        .await;
    let keys: HashSet<String> = slim[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, set(&["id", "href", "@type", "name", "category"]));
    let (none, total) = t.list("/productOffering?lifecycleStatus=Retired").await;
    assert_eq!((none, total), (json!([]), 0));

    // Paging.
    let (page, total) = t.list("/productOffering?offset=6&limit=5").await;
    assert_eq!((page.as_array().unwrap().len(), total), (2, 8));
    let (first, _) = t.list("/productOffering?limit=3").await;
    assert_eq!(ids(&first), ids(&all)[..3].to_vec());

    // Get: prices, category and bundle parts as references.
    let sip = t.product_id("sip-trunk").await;
    let offering = t.ok(&format!("/productOffering/{sip}")).await;
    assert_eq!(offering["name"], json!("SIP trunk"));
    assert_eq!(offering["category"][0]["id"], json!("voice"));
    let prices = offering["productOfferingPrice"].as_array().unwrap();
    assert_eq!(prices.len(), 2);
    for p in prices {
        let price = t
            .ok(p["href"].as_str().unwrap().strip_prefix(BASE).unwrap())
            .await;
        assert_eq!(price["productOffering"]["id"], json!(sip));
    }
    let home = t.product_id("home-bundle").await;
    let bundle = t.ok(&format!("/productOffering/{home}")).await;
    assert_eq!(bundle["isBundle"], json!(true));
    let parts = bundle["bundledProductOffering"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["id"], json!(t.product_id("fiber-100").await));
    assert_eq!(
        parts[0]["bundledProductOfferingOption"]["numberRelOfferDefault"],
        json!(1)
    );

    // Create.
    let created = t
        .create(
            "/productOffering",
            json!({"name": "Fiber 300 Mbps", "lifecycleStatus": "In design", "category": [{"id": "fiber"}],
                   "description": "300 down, 300 up."}),
        )
        .await;
    assert_common(&created, "ProductOffering", "productOffering");
    assert_eq!(created["lifecycleStatus"], json!("In design"));
    assert_eq!(created["category"][0]["id"], json!("fiber"));
    assert_eq!(created["productOfferingPrice"], json!([]));
    let id = created["id"].as_str().unwrap();
    let spec = t.ok(&format!("/productSpecification/{id}")).await;
    assert_eq!(spec["productNumber"], json!("fiber-300-mbps"));
    let static_ip = t.product_id("static-ip").await;
    let bundle = t
        .create(
            "/productOffering",
            json!({"name": "Two static IPs", "bundledProductOffering": [
                {"id": static_ip, "bundledProductOfferingOption": {"numberRelOfferDefault": 2}}]}),
        )
        .await;
    assert_eq!(bundle["isBundle"], json!(true));
    assert_eq!(
        bundle["bundledProductOffering"][0]["bundledProductOfferingOption"]
            ["numberRelOfferDefault"],
        json!(2)
    );
    let r = t
        .post(
            "/productOffering",
            json!({"name": "Bad", "category": [{"id": "no-such-category"}]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.body["field"], json!("category"));
    let r = t
        .post(
            "/productOffering",
            json!({"name": "Bad", "bundledProductOffering": [{"id": "prd_nope"}]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.body["field"], json!("bundledProductOffering[0].id"));

    // Patch: category moves and goes; lifecycle In design → Active.
    let path = format!("/productOffering/{id}");
    let patched = t
        .patch_ok(
            &path,
            json!({"category": [{"id": "broadband"}], "lifecycleStatus": "Active"}),
        )
        .await;
    assert_eq!(patched["category"][0]["id"], json!("broadband"));
    assert_eq!(patched["lifecycleStatus"], json!("Active"));
    let (in_broadband, _) = t.list("/productOffering?category.id=broadband").await;
    assert!(ids(&in_broadband).contains(&id.to_string()));
    let patched = t
        .patch_ok(&path, json!({"category": null, "name": "Fiber 300"}))
        .await;
    assert!(patched.get("category").is_none(), "{patched}");
    assert_eq!(patched["name"], json!("Fiber 300"));
    assert_eq!(t.ok(&path).await, patched);

    // Tenant isolation, delete.
    t.isolated("productOffering", id).await;
    t.deleted("productOffering", id).await;
    let r = t.get(&format!("/productSpecification/{id}")).await;
    assert_eq!(
        r.status.as_u16(),
        404,
        "the specification goes with its offering"
    );
    t.cleanup().await;
}

async fn product_offering_prices(db: TestStore) {
    let t = Tmf::new(db).await;
    let (all, total) = t.list("/productOfferingPrice").await;
    assert_eq!(total, 9);
    for p in all.as_array().unwrap() {
        assert_common(p, "ProductOfferingPrice", "productOfferingPrice");
        assert_eq!(p["version"], json!("1"));
    }

    // Get: a monthly per-unit price with its contract term.
    let fiber = t.product_id("fiber-100").await;
    let monthly = t.price_id("fiber-100-monthly").await;
    let price = t.ok(&format!("/productOfferingPrice/{monthly}")).await;
    assert_eq!(price["priceType"], json!("recurring"));
    assert_eq!(price["recurringChargePeriodType"], json!("month"));
    assert_eq!(price["recurringChargePeriodLength"], json!(1));
    assert_eq!(price["price"], json!({"unit": "USD", "value": 49.95}));
    assert_eq!(price["productOfferingTerm"][0]["name"], json!("24m"));
    assert_eq!(price["productOffering"]["id"], json!(fiber));
    assert_eq!(price["lifecycleStatus"], json!("Active"));
    let offering = t.ok(&format!("/productOffering/{fiber}")).await;
    assert_eq!(
        ids(&offering["productOfferingPrice"]),
        vec![monthly.clone()]
    );

    // Filters: usage with its metric and tiers; yearly flat; one-time.
    let (usage, total) = t.list("/productOfferingPrice?priceType=usage").await;
    assert_eq!(total, 1);
    assert_eq!(usage[0]["name"], json!("sip-trunk-minutes"));
    assert_eq!(
        usage[0]["unitOfMeasure"],
        json!({"amount": 1, "units": "voice_minutes"})
    );
    assert_eq!(
        usage[0]["pricingLogicAlgorithm"][0]["name"],
        json!("graduated")
    );
    let (yearly, _) = t
        .list("/productOfferingPrice?recurringChargePeriodType=year&fields=price")
        .await;
    assert_eq!(
        yearly,
        json!([{"id": yearly[0]["id"], "href": yearly[0]["href"], "@type": "ProductOfferingPrice",
                "price": {"unit": "USD", "value": 1200}}])
    );
    let (once, _) = t.list("/productOfferingPrice?priceType=oneTime").await;
    assert_eq!(names(&once), set(&["installation-fee"]));
    assert!(once[0].get("recurringChargePeriodType").is_none());
    let (of_fiber, total) = t
        .list(&format!("/productOfferingPrice?productOffering.id={fiber}"))
        .await;
    assert_eq!((ids(&of_fiber), total), (vec![monthly.clone()], 1));

    // Create: the offering it belongs to is the productOffering extension attribute.
    let created = t
        .create(
            "/productOfferingPrice",
            json!({"name": "Fiber 100 quarterly", "priceType": "recurring",
                   "recurringChargePeriodType": "month", "recurringChargePeriodLength": 3,
                   "price": {"unit": "USD", "value": 139.5},
                   "productOffering": {"id": fiber}, "@type": "ProductOfferingPrice"}),
        )
        .await;
    assert_common(&created, "ProductOfferingPrice", "productOfferingPrice");
    assert_eq!(created["name"], json!("fiber-100-quarterly"));
    assert_eq!(created["version"], json!("1"));
    assert_eq!(created["recurringChargePeriodLength"], json!(3));
    assert_eq!(created["price"]["value"], json!(139.5));
    let offering = t.ok(&format!("/productOffering/{fiber}")).await;
    assert_eq!(
        offering["productOfferingPrice"].as_array().unwrap().len(),
        2
    );
    let usage = t
        .create(
            "/productOfferingPrice",
            json!({"name": "Data overage", "priceType": "usage", "recurringChargePeriodType": "month",
                   "price": {"unit": "USD", "value": 0.5}, "unitOfMeasure": {"amount": 1, "units": "data_gb"},
                   "validFor": {"startDateTime": "2030-01-01T00:00:00Z"},
                   "productOffering": {"id": fiber}}),
        )
        .await;
    assert_eq!(usage["unitOfMeasure"]["units"], json!("data_gb"));
    assert_eq!(
        usage["validFor"]["startDateTime"],
        json!("2030-01-01T00:00:00Z")
    );
    let r = t
        .post(
            "/productOfferingPrice",
            json!({"name": "Orphan", "price": {"unit": "USD", "value": 1}}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(
        (&r.body["code"], &r.body["field"]),
        (&json!("missing_field"), &json!("productOffering"))
    );
    let r = t
        .post(
            "/productOfferingPrice",
            json!({"name": "No period", "priceType": "recurring", "price": {"unit": "USD", "value": 1},
                   "productOffering": {"id": fiber}}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.body["field"], json!("recurringChargePeriodType"));

    // Patch: a new version with its own id; the old one stays readable, superseded.
    let path = format!("/productOfferingPrice/{monthly}");
    let v2 = t.patch_ok(&path, json!({"price": {"value": 52.95}})).await;
    assert_eq!(v2["version"], json!("2"));
    assert_eq!(v2["name"], json!("fiber-100-monthly"));
    assert_eq!(v2["price"], json!({"unit": "USD", "value": 52.95}));
    assert_eq!(
        v2["productOfferingTerm"][0]["name"],
        json!("24m"),
        "untouched attributes stay"
    );
    assert_ne!(v2["id"], json!(monthly));
    let v1 = t.ok(&path).await;
    assert_eq!(
        (&v1["version"], &v1["lifecycleStatus"]),
        (&json!("1"), &json!("Retired"))
    );
    assert_eq!(v1["price"]["value"], json!(49.95));
    let v2_id = v2["id"].as_str().unwrap().to_string();
    assert_eq!(t.price_id("fiber-100-monthly").await, v2_id);
    let r = t.patch(&path, json!({"price": {"value": 1}})).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    assert_eq!(r.body["code"], json!("superseded_version"));
    let v3 = t
        .patch_ok(
            &format!("/productOfferingPrice/{v2_id}"),
            json!({"recurringChargePeriodType": "year", "productOfferingTerm": null}),
        )
        .await;
    assert_eq!(
        (&v3["version"], &v3["recurringChargePeriodType"]),
        (&json!("3"), &json!("year"))
    );
    assert!(v3.get("productOfferingTerm").is_none(), "{v3}");
    let r = t
        .patch(
            &format!("/productOfferingPrice/{}", v3["id"].as_str().unwrap()),
            json!({"name": "renamed"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    assert_eq!(r.body["code"], json!("not_patchable"));

    // A PATCH keeps every attribute TMF has no name for (price book, timing, phases, …).
    let exported = |doc: Value| -> Value {
        doc["products"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == "fiber-1000")
            .unwrap()["prices"][0]
            .clone()
    };
    let before = exported(t.api.get("/v1/catalog/export").await.body);
    let gig = t.price_id("fiber-1000-monthly").await;
    let patched = t
        .patch_ok(
            &format!("/productOfferingPrice/{gig}"),
            json!({"price": {"value": 74.95}}),
        )
        .await;
    assert_eq!(patched["version"], json!("2"));
    let mut after = exported(t.api.get("/v1/catalog/export").await.body);
    assert_eq!(
        after["model"],
        json!({"type": "per_unit", "unit_amount": "74.95"})
    );
    after["model"] = before["model"].clone();
    assert_eq!(after, before);

    // Tenant isolation; delete is not offered (price versions are kept), unknown ids are 404.
    let created_id = created["id"].as_str().unwrap();
    t.isolated("productOfferingPrice", created_id).await;
    let r = t
        .delete(&format!("/productOfferingPrice/{created_id}"))
        .await;
    assert_eq!(r.status.as_u16(), 405, "{}", r.body);
    assert_eq!(header(&r, "allow"), "GET, PATCH");
    t.ok(&format!("/productOfferingPrice/{created_id}")).await;
    let r = t.delete("/productOfferingPrice/pri_nope").await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.body);
    // Prices go with their offering.
    let installation = t.product_id("installation").await;
    let fee = t.price_id("installation-fee").await;
    t.deleted("productOffering", &installation).await;
    let r = t.get(&format!("/productOfferingPrice/{fee}")).await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.body);
    t.cleanup().await;
}

async fn categories(db: TestStore) {
    let t = Tmf::new(db).await;
    let (all, total) = t.list("/category").await;
    assert_eq!(total, 4);
    assert_eq!(ids(&all), vec!["broadband", "equipment", "fiber", "voice"]);
    for c in all.as_array().unwrap() {
        assert_common(c, "Category", "category");
    }
    let (roots, total) = t.list("/category?isRoot=true").await;
    assert_eq!(
        (ids(&roots), total),
        (
            vec!["broadband".into(), "equipment".into(), "voice".into()],
            3
        )
    );
    let (children, _) = t.list("/category?parentId=broadband&fields=name").await;
    assert_eq!(
        children,
        json!([{"id": "fiber", "href": format!("{BASE}/category/fiber"), "@type": "Category", "name": "Fiber access"}])
    );

    let fiber = t.ok("/category/fiber").await;
    assert_eq!(fiber["parentId"], json!("broadband"));
    assert_eq!(fiber["isRoot"], json!(false));
    assert_eq!(fiber["productOffering"].as_array().unwrap().len(), 3);
    let broadband = t.ok("/category/broadband").await;
    assert_eq!(ids(&broadband["subCategory"]), vec!["fiber"]);
    assert_eq!(
        names(&broadband["productOffering"]),
        set(&["Static IPv4 address", "Home bundle (Fiber 100 with router)"])
    );

    // Create: the id derived from the name, unique.
    let tv = t
        .create(
            "/category",
            json!({"name": "TV & Streaming", "@type": "Category"}),
        )
        .await;
    assert_common(&tv, "Category", "category");
    assert_eq!(
        (&tv["id"], &tv["isRoot"], &tv["lifecycleStatus"]),
        (&json!("tv-streaming"), &json!(true), &json!("Active"))
    );
    let tv2 = t
        .create("/category", json!({"name": "TV & streaming"}))
        .await;
    assert_eq!(tv2["id"], json!("tv-streaming-2"));
    let sports = t
        .create(
            "/category",
            json!({"name": "Sports", "parentId": "tv-streaming", "isRoot": false}),
        )
        .await;
    assert_eq!(sports["parentId"], json!("tv-streaming"));
    assert_eq!(
        ids(&t.ok("/category/tv-streaming").await["subCategory"]),
        vec!["sports"]
    );
    let r = t
        .post("/category", json!({"name": "Lost", "parentId": "nowhere"}))
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.body["field"], json!("parentId"));
    let r = t
        .post(
            "/category",
            json!({"name": "Odd", "lifecycleStatus": "Retired"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.body["field"], json!("lifecycleStatus"));

    // Patch: rename, move, no cycles.
    let renamed = t
        .patch_ok("/category/tv-streaming-2", json!({"name": "Television"}))
        .await;
    assert_eq!(renamed["name"], json!("Television"));
    let moved = t
        .patch_ok("/category/sports", json!({"parentId": "tv-streaming-2"}))
        .await;
    assert_eq!(moved["parentId"], json!("tv-streaming-2"));
    let r = t
        .patch("/category/tv-streaming-2", json!({"parentId": "sports"}))
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    let rooted = t
        .patch_ok("/category/sports", json!({"isRoot": true}))
        .await;
    assert!(rooted.get("parentId").is_none(), "{rooted}");
    assert_eq!(t.ok("/category/sports").await, rooted);

    // Tenant isolation; delete only what nothing uses.
    t.isolated("category", "sports").await;
    for used in ["fiber", "broadband"] {
        let r = t.delete(&format!("/category/{used}")).await;
        assert_eq!(r.status.as_u16(), 409, "{}", r.body);
        assert_eq!(r.body["code"], json!("in_use"));
    }
    t.deleted("category", "sports").await;
    let (_, total) = t.list("/category").await;
    assert_eq!(total, 4 + 2);
    let r = t.get("/category/nothing-here").await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.body);
    t.cleanup().await;
}

async fn requests_tmf_cannot_use_are_refused_in_tmf_form(db: TestStore) {
    let t = Tmf::new(db).await;
    let fiber = t.product_id("fiber-100").await;
    let cases: Vec<(Reply, u16, &str, Option<&str>)> = vec![
        (
            t.post("/productOffering", json!({"name": "X", "isSellable": true}))
                .await,
            400,
            "unsupported_attribute",
            Some("isSellable"),
        ),
        (
            t.post("/productOffering", json!({"description": "no name"}))
                .await,
            422,
            "missing_field",
            Some("name"),
        ),
        (
            t.post(
                "/productOffering",
                json!({"name": "X", "lifecycleStatus": "Launched"}),
            )
            .await,
            422,
            "invalid_field",
            Some("lifecycleStatus"),
        ),
        (
            t.post("/productSpecification", json!({"name": 7})).await,
            400,
            "invalid_field",
            Some("name"),
        ),
        (
            t.send(
                "POST",
                "/category",
                &t.api.key,
                Some(("application/json", "{\"name\":".into())),
            )
            .await,
            400,
            "malformed_json",
            None,
        ),
        (
            t.send(
                "PATCH",
                &format!("/productOffering/{fiber}"),
                &t.api.key,
                Some(("application/json-patch+json", "[]".into())),
            )
            .await,
            415,
            "unsupported_media_type",
            None,
        ),
        (
            t.get("/productOffering?brand=acme").await,
            400,
            "invalid_query",
            Some("brand"),
        ),
        (
            t.get("/productOffering?limit=0").await,
            400,
            "invalid_query",
            Some("limit"),
        ),
        (
            t.get("/productOffering?offset=-1").await,
            400,
            "invalid_query",
            Some("offset"),
        ),
        (
            t.get("/productOffering/prd_missing").await,
            404,
            "not_found",
            None,
        ),
        (
            t.get("/productSpecification/prd_missing").await,
            404,
            "not_found",
            None,
        ),
        (
            t.get("/productOfferingPrice/pri_missing").await,
            404,
            "not_found",
            None,
        ),
    ];
    for (r, status, code, field) in cases {
        assert_eq!(r.status.as_u16(), status, "{}", r.body);
        assert_eq!(r.body["code"], json!(code), "{}", r.body);
        assert_eq!(r.body["@type"], json!("Error"));
        assert_eq!(r.body["status"], json!(status.to_string()));
        assert!(r.body["reason"].is_string() && r.body["message"].is_string());
        if let Some(f) = field {
            assert_eq!(r.body["field"], json!(f), "{}", r.body);
        }
    }
    // The same API keys as /v1: none, no access.
    let r = t
        .api
        .call("GET", &format!("{BASE}/productOffering"), None, None)
        .await;
    assert_eq!(r.status.as_u16(), 401);
    // None of the refused requests wrote anything.
    let (_, total) = t.list("/productOffering").await;
    assert_eq!(total, 8);
    t.cleanup().await;
}

// ---- the validator bites ---------------------------------------------------------------

fn a_valid_price() -> Value {
    json!({
        "id": "pri_1", "href": format!("{BASE}/productOfferingPrice/pri_1"), "@type": "ProductOfferingPrice",
        "name": "fiber-100-monthly", "version": "1", "lifecycleStatus": "Active",
        "lastUpdate": "2025-01-31T10:00:00.123456Z", "priceType": "recurring",
        "recurringChargePeriodType": "month", "recurringChargePeriodLength": 1,
        "price": {"unit": "USD", "value": 49.95},
        "productOfferingTerm": [{"name": "24m", "@type": "ProductOfferingTerm"}],
        "productOffering": {"id": "prd_1"},
    })
}

#[test]
fn the_validator_accepts_a_valid_body_and_rejects_broken_ones() {
    let schema = definition("ProductOfferingPrice");
    assert_eq!(validate(&schema, &a_valid_price()), Vec::<String>::new());
    let list = json!({"type": "array", "items": definition("ProductOfferingPrice")});
    assert_eq!(
        validate(&list, &json!([a_valid_price()])),
        Vec::<String>::new()
    );

    let broken = |f: fn(&mut Value)| {
        let mut body = a_valid_price();
        f(&mut body);
        validate(&schema, &body)
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            broken(|b| b["lifecycleStatus"] = json!(3)),
            "$.lifecycleStatus: expected string",
        ),
        (
            broken(|b| b["lastUpdate"] = json!("yesterday")),
            "$.lastUpdate: `yesterday` is not a valid date-time",
        ),
        (
            broken(|b| b["lastUpdate"] = json!("2025-01-31 10:00:00")),
            "not a valid date-time",
        ),
        (
            broken(|b| b["lastUpdate"] = json!("2025-02-30T10:00:00Z")),
            "not a valid date-time",
        ),
        (
            broken(|b| b["recurringChargePeriodLength"] = json!(1.5)),
            "$.recurringChargePeriodLength: expected integer",
        ),
        (
            broken(|b| b["price"]["value"] = json!("49.95")),
            "$.price.value: expected number",
        ),
        (
            broken(|b| b["productOfferingTerm"] = json!({"name": "24m"})),
            "$.productOfferingTerm: expected array",
        ),
        (
            broken(|b| b["productOfferingTerm"][0]["duration"] = json!({"amount": "24"})),
            "$.productOfferingTerm[0].duration.amount: expected number",
        ),
        (
            broken(|b| b["lifecycleStaus"] = json!("Active")),
            "`lifecycleStaus` is not an attribute of ProductOfferingPrice",
        ),
        (
            broken(|b| b["popRelationship"] = json!([{"id": 1}])),
            "$.popRelationship[0].id: expected string",
        ),
        (
            broken(|b| b["@schemaLocation"] = json!(7)),
            "expected string",
        ),
    ];
    for (errors, expected) in cases {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "wanted `{expected}` in {errors:?}"
        );
    }
    // A reference without its required id, an Error without its required reason.
    let errors = validate(
        &definition("ProductOffering"),
        &json!({"category": [{"name": "Fiber"}]}),
    );
    assert_eq!(
        errors,
        vec!["$.category[0]: required attribute `id` is missing"]
    );
    let errors = validate(
        &definition("Error"),
        &json!({"code": "not_found", "message": "gone"}),
    );
    assert_eq!(errors, vec!["$: required attribute `reason` is missing"]);
    // An enum (the only one in the specification).
    assert!(!validate(&definition("JobStateType"), &json!("Nope")).is_empty());
    assert!(validate(&definition("JobStateType"), &json!("Succeeded")).is_empty());
    // The response check uses the operation's declared schema.
    let r = Reply {
        status: axum::http::StatusCode::OK,
        body: json!([{"id": "fiber", "href": "x", "@type": "Category", "isRoot": "yes"}]),
        headers: {
            let mut h = axum::http::HeaderMap::new();
            h.insert("content-type", "application/json".parse().unwrap());
            h
        },
    };
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_response("GET", &format!("{BASE}/category"), &r)
    }));
    assert!(
        failed.is_err(),
        "a list whose item breaks Category must fail the response check"
    );
}

#[test]
fn every_resource_definition_and_operation_is_in_the_committed_specification() {
    for name in [
        "ProductSpecification",
        "ProductOffering",
        "ProductOfferingPrice",
        "Category",
        "Error",
    ] {
        assert!(spec()["definitions"][name].is_object(), "{name}");
    }
    for (path, methods) in [
        ("/productSpecification", ["get", "post"].as_slice()),
        ("/productSpecification/{id}", &["get", "patch", "delete"]),
        ("/productOffering", &["get", "post"]),
        ("/productOffering/{id}", &["get", "patch", "delete"]),
        ("/productOfferingPrice", &["get", "post"]),
        ("/productOfferingPrice/{id}", &["get", "patch", "delete"]),
        ("/category", &["get", "post"]),
        ("/category/{id}", &["get", "patch", "delete"]),
    ] {
        for m in methods {
            assert!(spec()["paths"][path][m].is_object(), "{m} {path}");
        }
    }
    assert_eq!(spec()["basePath"], json!(format!("{BASE}/")));
}
