//! Quoin catalog entities as TMF620 resources.

use std::collections::HashMap;

use quoin_app::catalog::spec::{CategorySpec, ModelSpec, PriceTypeCode, ProductKindCode};
use quoin_app::model::{ListParams, Price, Product};
use quoin_app::{App, AppResult, Principal};
use serde_json::{json, Map, Value};

use super::href;

pub const SPECIFICATION: &str = "productSpecification";
pub const OFFERING: &str = "productOffering";
pub const PRICE: &str = "productOfferingPrice";
pub const CATEGORY: &str = "category";

/// Quoin products and categories are not versioned (prices are): they have one version.
const UNVERSIONED: &str = "1";

/// Top-level attributes a list may filter on, per resource.
pub const SPECIFICATION_ATTRS: &[&str] = &[
    "id",
    "href",
    "@type",
    "name",
    "description",
    "productNumber",
    "lifecycleStatus",
    "lastUpdate",
    "version",
    "isBundle",
    "bundledProductSpecification",
    "productSpecificationRelationship",
];
pub const OFFERING_ATTRS: &[&str] = &[
    "id",
    "href",
    "@type",
    "name",
    "description",
    "lifecycleStatus",
    "lastUpdate",
    "version",
    "isBundle",
    "category",
    "productSpecification",
    "productOfferingPrice",
    "bundledProductOffering",
];
pub const PRICE_ATTRS: &[&str] = &[
    "id",
    "href",
    "@type",
    "name",
    "lifecycleStatus",
    "lastUpdate",
    "version",
    "priceType",
    "recurringChargePeriodType",
    "recurringChargePeriodLength",
    "price",
    "percentage",
    "unitOfMeasure",
    "pricingLogicAlgorithm",
    "productOfferingTerm",
    "validFor",
    "productOffering",
];
pub const CATEGORY_ATTRS: &[&str] = &[
    "id",
    "href",
    "@type",
    "name",
    "lifecycleStatus",
    "lastUpdate",
    "version",
    "isRoot",
    "parentId",
    "subCategory",
    "productOffering",
];

/// Quoin lifecycle (draft / active / retired) as a TMF `lifecycleStatus`.
pub fn lifecycle_out(status: &str) -> String {
    match status {
        "draft" => "In design".into(),
        "active" => "Active".into(),
        "retired" => "Retired".into(),
        other => other.into(),
    }
}

/// `recurringChargePeriodType` and `recurringChargePeriodLength` of a Quoin period code.
pub fn period_out(code: &str) -> Option<(&'static str, u32)> {
    Some(match code {
        "day" => ("day", 1),
        "week" => ("week", 1),
        "month" => ("month", 1),
        "quarter" => ("month", 3),
        "half_year" => ("month", 6),
        "year" => ("year", 1),
        other => {
            let (n, unit) = other.split_once('_')?;
            let n: u32 = n.parse().ok()?;
            match unit {
                "days" => ("day", n),
                "weeks" => ("week", n),
                "months" => ("month", n),
                _ => return None,
            }
        }
    })
}

/// A decimal string as a JSON number (TMF `Money.value` is a number): "1200.00" → 1200,
/// "49.90" → 49.9.
pub(crate) fn number(decimal: &str) -> Option<Value> {
    let d = decimal.trim();
    let d = if d.contains('.') {
        d.trim_end_matches('0').trim_end_matches('.')
    } else {
        d
    };
    serde_json::from_str::<serde_json::Number>(d)
        .ok()
        .map(Value::Number)
}

/// When each entity last changed (microseconds), from the app's catalog stamps.
#[derive(Debug, Default)]
pub struct Stamps {
    products: HashMap<String, i64>,
    prices: HashMap<String, i64>,
    categories: HashMap<String, i64>,
}

impl Stamps {
    pub async fn load(app: &App, p: &Principal) -> AppResult<Stamps> {
        let s = app.catalog_stamps(p).await?;
        Ok(Stamps {
            products: s.products,
            prices: s.prices,
            categories: s.categories,
        })
    }

    fn rfc3339(us: Option<&i64>) -> Option<String> {
        us.and_then(|us| jiff::Timestamp::from_microsecond(*us).ok())
            .map(|t| t.to_string())
    }

    fn product(&self, id: &str) -> Option<String> {
        Self::rfc3339(self.products.get(id))
    }

    fn price(&self, id: &str) -> Option<String> {
        Self::rfc3339(self.prices.get(id))
    }

    fn category(&self, code: &str) -> Option<String> {
        Self::rfc3339(self.categories.get(code))
    }
}

/// Every product of the caller's tenant (all pages).
pub async fn all_products(app: &App, p: &Principal) -> AppResult<Vec<Product>> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .list_products(
                p,
                &ListParams {
                    limit: Some(ListParams::MAX_LIMIT),
                    cursor,
                },
            )
            .await?;
        all.extend(page.data);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// Product code → (id, name), to turn Quoin's code references into TMF references.
pub type CodeIds = HashMap<String, (String, String)>;

pub fn code_ids(products: &[Product]) -> CodeIds {
    products
        .iter()
        .map(|p| (p.code.clone(), (p.id.clone(), p.name.clone())))
        .collect()
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        map.insert(key.to_string(), v.into());
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn reference(resource: &str, referred: &str, id: &str, name: Option<&str>) -> Value {
    let mut r = object(json!({
        "id": id,
        "href": href(resource, id),
        "@referredType": referred,
    }));
    insert_opt(&mut r, "name", name);
    Value::Object(r)
}

/// The fields a product's specification and offering share.
fn product_base(p: &Product, resource: &str, kind: &str, stamps: &Stamps) -> Map<String, Value> {
    let mut m = object(json!({
        "id": p.id,
        "href": href(resource, &p.id),
        "@type": kind,
        "name": p.name,
        "lifecycleStatus": lifecycle_out(&p.status),
        "version": UNVERSIONED,
        "isBundle": p.kind == ProductKindCode::Bundle,
    }));
    insert_opt(&mut m, "description", p.description.clone());
    insert_opt(&mut m, "lastUpdate", stamps.product(&p.id));
    m
}

/// A Quoin product as a `ProductSpecification` (`productNumber` is the product code).
pub fn specification(p: &Product, stamps: &Stamps, ids: &CodeIds) -> Value {
    let mut m = product_base(p, SPECIFICATION, "ProductSpecification", stamps);
    m.insert("productNumber".into(), p.code.clone().into());
    if !p.components.is_empty() {
        let bundled: Vec<Value> = p
            .components
            .iter()
            .filter_map(|c| ids.get(&c.product))
            .map(|(id, name)| {
                json!({
                    "id": id,
                    "href": href(SPECIFICATION, id),
                    "name": name,
                    "@type": "BundledProductSpecification",
                })
            })
            .collect();
        m.insert("bundledProductSpecification".into(), bundled.into());
    }
    if !p.add_ons.is_empty() {
        let related: Vec<Value> = p
            .add_ons
            .iter()
            .filter_map(|a| ids.get(&a.product))
            .map(|(id, _)| {
                json!({
                    "id": id,
                    "href": href(SPECIFICATION, id),
                    "relationshipType": "addOn",
                    "@type": "ProductSpecificationRelationship",
                })
            })
            .collect();
        m.insert("productSpecificationRelationship".into(), related.into());
    }
    Value::Object(m)
}

/// A Quoin product as a `ProductOffering` of its own specification.
pub fn offering(p: &Product, stamps: &Stamps, ids: &CodeIds) -> Value {
    let mut m = product_base(p, OFFERING, "ProductOffering", stamps);
    let mut spec = object(reference(
        SPECIFICATION,
        "ProductSpecification",
        &p.id,
        Some(&p.name),
    ));
    spec.insert("version".into(), UNVERSIONED.into());
    m.insert("productSpecification".into(), Value::Object(spec));
    let prices: Vec<Value> = p
        .prices
        .iter()
        .map(|pr| reference(PRICE, "ProductOfferingPrice", &pr.id, Some(&pr.code)))
        .collect();
    m.insert("productOfferingPrice".into(), prices.into());
    if let Some(c) = &p.category {
        m.insert(
            "category".into(),
            json!([reference(CATEGORY, "Category", c, None)]),
        );
    }
    if !p.components.is_empty() {
        let bundled: Vec<Value> = p
            .components
            .iter()
            .filter_map(|c| ids.get(&c.product).map(|ids| (ids, c)))
            .map(|((id, name), c)| {
                let mut b = object(json!({
                    "id": id,
                    "href": href(OFFERING, id),
                    "name": name,
                    "@type": "BundledProductOffering",
                }));
                if let Ok(n) = c.quantity.parse::<u64>() {
                    b.insert(
                        "bundledProductOfferingOption".into(),
                        json!({"numberRelOfferDefault": n, "@type": "BundledProductOfferingOption"}),
                    );
                }
                Value::Object(b)
            })
            .collect();
        m.insert("bundledProductOffering".into(), bundled.into());
    }
    Value::Object(m)
}

pub fn price_type_out(t: PriceTypeCode) -> &'static str {
    match t {
        PriceTypeCode::Recurring => "recurring",
        PriceTypeCode::OneTime => "oneTime",
        PriceTypeCode::Usage => "usage",
    }
}

/// What a price's product contributes to its representation.
pub struct Owner<'a> {
    pub name: &'a str,
    pub status: &'a str,
}

/// One version of a Quoin price as a `ProductOfferingPrice`. The latest version takes its
/// product's lifecycle; a superseded version is `Retired`. `productOffering` (a reference
/// to the product) is an extension attribute.
pub fn price(pr: &Price, owner: &Owner, latest: bool, stamps: &Stamps) -> Value {
    let status = if latest {
        lifecycle_out(owner.status)
    } else {
        "Retired".to_string()
    };
    let mut m = object(json!({
        "id": pr.id,
        "href": href(PRICE, &pr.id),
        "@type": "ProductOfferingPrice",
        "name": pr.code,
        "version": pr.version.to_string(),
        "lifecycleStatus": status,
        "priceType": price_type_out(pr.price_type),
        "productOffering": reference(OFFERING, "ProductOffering", &pr.product_id, Some(owner.name)),
    }));
    insert_opt(&mut m, "lastUpdate", stamps.price(&pr.id));
    if let Some((unit, length)) = pr.period.as_deref().and_then(period_out) {
        m.insert("recurringChargePeriodType".into(), unit.into());
        m.insert("recurringChargePeriodLength".into(), length.into());
    }
    match &pr.model {
        Some(ModelSpec::Flat { amount: value })
        | Some(ModelSpec::PerUnit { unit_amount: value }) => {
            if let Some(v) = number(value) {
                m.insert("price".into(), json!({"unit": pr.currency, "value": v}));
            }
        }
        Some(other) => {
            if let ModelSpec::Percentage { rate, .. } = other {
                insert_opt(&mut m, "percentage", number(rate));
            }
            let model = serde_json::to_value(other).unwrap_or(Value::Null);
            let name = model.get("type").cloned().unwrap_or(Value::Null);
            m.insert(
                "pricingLogicAlgorithm".into(),
                json!([{
                    "name": name,
                    "description": model.to_string(),
                    "@type": "PricingLogicAlgorithm",
                }]),
            );
        }
        None => {}
    }
    if let Some(metric) = &pr.metric {
        m.insert(
            "unitOfMeasure".into(),
            json!({"amount": 1, "units": metric}),
        );
    }
    if let Some(term) = &pr.term {
        m.insert(
            "productOfferingTerm".into(),
            json!([{"name": term, "@type": "ProductOfferingTerm"}]),
        );
    }
    if let Some(from) = pr.effective_from {
        m.insert(
            "validFor".into(),
            json!({"startDateTime": format!("{from}T00:00:00Z")}),
        );
    }
    Value::Object(m)
}

/// A Quoin category as a `Category` (id = code; categories have no lifecycle: `Active`).
pub fn category(
    c: &CategorySpec,
    categories: &[CategorySpec],
    products: &[Product],
    stamps: &Stamps,
) -> Value {
    let mut m = object(json!({
        "id": c.code,
        "href": href(CATEGORY, &c.code),
        "@type": "Category",
        "name": c.name,
        "lifecycleStatus": "Active",
        "version": UNVERSIONED,
        "isRoot": c.parent.is_none(),
    }));
    insert_opt(&mut m, "parentId", c.parent.clone());
    insert_opt(&mut m, "lastUpdate", stamps.category(&c.code));
    let subs: Vec<Value> = categories
        .iter()
        .filter(|s| s.parent.as_deref() == Some(c.code.as_str()))
        .map(|s| reference(CATEGORY, "Category", &s.code, Some(&s.name)))
        .collect();
    if !subs.is_empty() {
        m.insert("subCategory".into(), subs.into());
    }
    let offerings: Vec<Value> = products
        .iter()
        .filter(|p| p.category.as_deref() == Some(c.code.as_str()))
        .map(|p| reference(OFFERING, "ProductOffering", &p.id, Some(&p.name)))
        .collect();
    if !offerings.is_empty() {
        m.insert("productOffering".into(), offerings.into());
    }
    Value::Object(m)
}
