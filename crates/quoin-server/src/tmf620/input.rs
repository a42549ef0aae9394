//! TMF620 request bodies and their translation to Quoin's catalog inputs. Attributes Quoin
//! cannot honour are refused by name (400) rather than dropped silently.

use std::collections::HashSet;

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use quoin_app::catalog::spec::{LifecycleCode, ModelSpec, PriceSpec, PriceTypeCode};
use quoin_app::model::Price;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::error::{TmfError, TmfResult};

/// `Some(None)` for an explicit `null` (merge-patch: remove), `None` when absent.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The name between the first pair of backticks of a serde message.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() || path == "." {
        name.to_string()
    } else if path == name || path.ends_with(&format!(".{name}")) {
        path.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Reads a JSON body: `application/json` for POST, `application/merge-patch+json` (or
/// `application/json`) for PATCH.
pub fn body<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8], patch: bool) -> TmfResult<T> {
    if let Some(ct) = headers.get(CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let ok = media == "application/json" || (patch && media == "application/merge-patch+json");
        if !ok {
            let expected = if patch {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            return Err(TmfError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("expected Content-Type {expected}, got `{ct}`"),
            ));
        }
    }
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return TmfError::bad_request(
                "malformed_json",
                None,
                format!("request body is not valid JSON: {message}"),
            );
        }
        if message.starts_with("unknown field") {
            let field = quoted(&message).map(|n| join(&path, n));
            let name = field.clone().unwrap_or_default();
            return TmfError::bad_request(
                "unsupported_attribute",
                field,
                format!("attribute `{name}` is not supported here ({message})"),
            );
        }
        if message.starts_with("missing field") {
            let field = quoted(&message).map(|n| join(&path, n)).unwrap_or(path);
            return TmfError::missing(&field, format!("`{field}` is required"));
        }
        TmfError::bad_request("invalid_field", Some(path).filter(|p| p != "."), message)
    })
}

/// A reference to another resource; only its `id` is used.
#[derive(Debug, Clone, Deserialize)]
pub struct Ref {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct RelationshipRef {
    pub id: String,
    #[serde(rename = "relationshipType", default)]
    pub relationship_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundledOption {
    #[serde(rename = "numberRelOfferDefault", default)]
    pub default: Option<u64>,
    #[serde(rename = "numberRelOfferLowerLimit", default)]
    _lower: Option<u64>,
    #[serde(rename = "numberRelOfferUpperLimit", default)]
    _upper: Option<u64>,
    #[serde(rename = "@type", default)]
    _type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct BundledRef {
    pub id: String,
    #[serde(rename = "bundledProductOfferingOption", default)]
    pub option: Option<BundledOption>,
}

/// `@type`, `@baseType`, `@schemaLocation` and the server-managed `lastUpdate` are accepted
/// and ignored on every body.
macro_rules! tmf_body {
    ($(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$m])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $name {
            $($body)*
            #[serde(rename = "@type", default)]
            _type: Option<String>,
            #[serde(rename = "@baseType", default)]
            _base_type: Option<String>,
            #[serde(rename = "@schemaLocation", default)]
            _schema_location: Option<String>,
            #[serde(rename = "lastUpdate", default)]
            _last_update: Option<String>,
        }
    };
}

tmf_body! {
    /// `ProductSpecification_Create`: `productNumber` becomes the product code.
    pub struct SpecificationCreate {
        pub name: String,
        #[serde(default)]
        pub description: Option<String>,
        #[serde(default)]
        pub lifecycle_status: Option<String>,
        #[serde(default)]
        pub product_number: Option<String>,
        #[serde(default)]
        pub is_bundle: Option<bool>,
        #[serde(default)]
        pub bundled_product_specification: Vec<Ref>,
        /// `relationshipType: addOn` entries become add-ons.
        #[serde(default)]
        pub product_specification_relationship: Vec<RelationshipRef>,
    }
}

tmf_body! {
    pub struct SpecificationPatch {
        #[serde(default)]
        pub name: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        pub description: Option<Option<String>>,
        #[serde(default)]
        pub lifecycle_status: Option<String>,
        /// The product code: not changeable (accepted when unchanged).
        #[serde(default)]
        pub product_number: Option<String>,
    }
}

tmf_body! {
    /// `ProductOffering_Create`.
    pub struct OfferingCreate {
        pub name: String,
        #[serde(default)]
        pub description: Option<String>,
        #[serde(default)]
        pub lifecycle_status: Option<String>,
        #[serde(default)]
        pub is_bundle: Option<bool>,
        #[serde(default)]
        pub category: Vec<Ref>,
        #[serde(default)]
        pub bundled_product_offering: Vec<BundledRef>,
        /// Refused: a Quoin product is its own specification.
        #[serde(default)]
        pub product_specification: Option<Ref>,
        /// Refused: prices are created as productOfferingPrice referring to the offering.
        #[serde(default)]
        pub product_offering_price: Vec<Ref>,
    }
}

tmf_body! {
    pub struct OfferingPatch {
        #[serde(default)]
        pub name: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        pub description: Option<Option<String>>,
        #[serde(default)]
        pub lifecycle_status: Option<String>,
        /// At most one category; `null` or `[]` removes it.
        #[serde(default, deserialize_with = "nullable")]
        pub category: Option<Option<Vec<Ref>>>,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub value: Option<serde_json::Number>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantity {
    #[serde(default)]
    pub amount: Option<serde_json::Number>,
    #[serde(default)]
    pub units: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TimePeriod {
    #[serde(default)]
    pub start_date_time: Option<String>,
    #[serde(default)]
    pub end_date_time: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TermRef {
    #[serde(default)]
    pub name: Option<String>,
}

tmf_body! {
    /// `ProductOfferingPrice_Create` plus the `productOffering` extension attribute naming
    /// the offering (Quoin product) the price belongs to.
    pub struct PriceCreate {
        pub name: String,
        #[serde(default)]
        pub price_type: Option<String>,
        #[serde(default)]
        pub recurring_charge_period_type: Option<String>,
        #[serde(default)]
        pub recurring_charge_period_length: Option<u32>,
        #[serde(default)]
        pub price: Option<Money>,
        #[serde(default)]
        pub percentage: Option<serde_json::Number>,
        #[serde(default)]
        pub unit_of_measure: Option<Quantity>,
        #[serde(default)]
        pub valid_for: Option<TimePeriod>,
        #[serde(default)]
        pub product_offering_term: Vec<TermRef>,
        #[serde(default)]
        pub product_offering: Option<Ref>,
    }
}

tmf_body! {
    /// A PATCH makes a new version of the price.
    pub struct PricePatch {
        /// The price code: not changeable (accepted when unchanged).
        #[serde(default)]
        pub name: Option<String>,
        #[serde(default)]
        pub price_type: Option<String>,
        #[serde(default)]
        pub recurring_charge_period_type: Option<String>,
        #[serde(default)]
        pub recurring_charge_period_length: Option<u32>,
        #[serde(default)]
        pub price: Option<Money>,
        #[serde(default)]
        pub percentage: Option<serde_json::Number>,
        #[serde(default, deserialize_with = "nullable")]
        pub unit_of_measure: Option<Option<Quantity>>,
        #[serde(default, deserialize_with = "nullable")]
        pub valid_for: Option<Option<TimePeriod>>,
        #[serde(default, deserialize_with = "nullable")]
        pub product_offering_term: Option<Option<Vec<TermRef>>>,
        /// Not changeable (accepted when unchanged).
        #[serde(default)]
        pub product_offering: Option<Ref>,
    }
}

tmf_body! {
    /// `Category_Create`: `parentId` is the parent category's id (its code).
    pub struct CategoryCreate {
        pub name: String,
        #[serde(default)]
        pub parent_id: Option<String>,
        #[serde(default)]
        pub is_root: Option<bool>,
        #[serde(default)]
        pub lifecycle_status: Option<String>,
    }
}

tmf_body! {
    pub struct CategoryPatch {
        #[serde(default)]
        pub name: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        pub parent_id: Option<Option<String>>,
        #[serde(default)]
        pub is_root: Option<bool>,
        #[serde(default)]
        pub lifecycle_status: Option<String>,
    }
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// TMF `lifecycleStatus` → Quoin lifecycle: `In design` (draft), `Active`, `Retired`.
pub fn lifecycle_in(value: &str) -> TmfResult<LifecycleCode> {
    match squash(value).as_str() {
        "indesign" | "draft" => Ok(LifecycleCode::Draft),
        "active" => Ok(LifecycleCode::Active),
        "retired" => Ok(LifecycleCode::Retired),
        _ => Err(TmfError::invalid(
            "lifecycleStatus",
            format!("unknown lifecycleStatus `{value}` (expected In design, Active or Retired)"),
        )),
    }
}

/// Categories have no lifecycle in Quoin: only `Active` is accepted.
pub fn category_lifecycle(value: Option<&str>) -> TmfResult<()> {
    match value {
        None => Ok(()),
        Some(v) if squash(v) == "active" => Ok(()),
        Some(v) => Err(TmfError::invalid(
            "lifecycleStatus",
            format!("categories are always Active in Quoin, got `{v}`"),
        )),
    }
}

pub fn price_type_in(value: &str) -> TmfResult<PriceTypeCode> {
    match squash(value).as_str() {
        "recurring" => Ok(PriceTypeCode::Recurring),
        "onetime" => Ok(PriceTypeCode::OneTime),
        "usage" => Ok(PriceTypeCode::Usage),
        _ => Err(TmfError::invalid(
            "priceType",
            format!("unknown priceType `{value}` (expected recurring, oneTime or usage)"),
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Day,
    Week,
    Month,
}

/// `recurringChargePeriodType` × `recurringChargePeriodLength` → a Quoin period code.
pub fn period_in(kind: &str, length: u32) -> TmfResult<String> {
    let (unit, per) = match squash(kind).as_str() {
        "day" | "days" | "daily" => (Unit::Day, 1),
        "week" | "weeks" | "weekly" => (Unit::Week, 1),
        "month" | "months" | "monthly" => (Unit::Month, 1),
        "quarter" | "quarters" | "quarterly" => (Unit::Month, 3),
        "year" | "years" | "yearly" | "annual" | "annually" => (Unit::Month, 12),
        _ => {
            return Err(TmfError::invalid(
                "recurringChargePeriodType",
                format!(
                "unknown recurringChargePeriodType `{kind}` (expected day, week, month or year)"
            ),
            ))
        }
    };
    if length == 0 {
        return Err(TmfError::invalid(
            "recurringChargePeriodLength",
            "must be at least 1",
        ));
    }
    let n = length.saturating_mul(per);
    Ok(match (unit, n) {
        (Unit::Day, 1) => "day".into(),
        (Unit::Week, 1) => "week".into(),
        (Unit::Month, 1) => "month".into(),
        (Unit::Month, 3) => "quarter".into(),
        (Unit::Month, 6) => "half_year".into(),
        (Unit::Month, 12) => "year".into(),
        (Unit::Day, n) => format!("{n}_days"),
        (Unit::Week, n) => format!("{n}_weeks"),
        (Unit::Month, n) => format!("{n}_months"),
    })
}

/// A code from a name: lowercase ASCII letters and digits joined by `-` (at most 56
/// characters, leaving room for a uniqueness suffix).
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(56);
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "item".into()
    } else {
        out
    }
}

/// `base`, or `base-2`, `base-3`, … whichever is not taken.
pub fn unique(base: String, taken: &HashSet<String>) -> String {
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|c| !taken.contains(c))
        .unwrap_or(base)
}

fn decimal(n: &serde_json::Number) -> String {
    n.to_string()
}

fn start_date(field: &str, tp: &TimePeriod) -> TmfResult<Option<jiff::civil::Date>> {
    if tp.end_date_time.is_some() {
        return Err(TmfError::invalid(
            format!("{field}.endDateTime"),
            "Quoin prices have no end date: make a new version instead",
        ));
    }
    let Some(text) = tp.start_date_time.as_deref() else {
        return Ok(None);
    };
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(Some(ts.to_zoned(jiff::tz::TimeZone::UTC).date()));
    }
    text.parse::<jiff::civil::Date>().map(Some).map_err(|e| {
        TmfError::invalid(
            format!("{field}.startDateTime"),
            format!("not an RFC 3339 date-time: {e}"),
        )
    })
}

fn metric(field: &str, q: &Quantity) -> TmfResult<String> {
    if let Some(a) = &q.amount {
        if a.as_u64() != Some(1) {
            return Err(TmfError::invalid(
                format!("{field}.amount"),
                "Quoin usage prices are per one unit: amount must be 1",
            ));
        }
    }
    q.units.clone().ok_or_else(|| {
        TmfError::missing(
            &format!("{field}.units"),
            "the billable metric's code is required",
        )
    })
}

fn term(field: &str, terms: &[TermRef]) -> TmfResult<Option<String>> {
    match terms {
        [] => Ok(None),
        [t] => t
            .name
            .clone()
            .map(Some)
            .ok_or_else(|| TmfError::missing(&format!("{field}[0].name"), "the term's code")),
        _ => Err(TmfError::invalid(
            field,
            "a Quoin price has at most one contract term",
        )),
    }
}

/// Quoin field paths of a price and the TMF attributes they come from.
pub const PRICE_FIELDS: &[(&str, &str)] = &[
    ("code", "name"),
    ("type", "priceType"),
    ("currency", "price.unit"),
    ("amount", "price.value"),
    ("model", "price"),
    ("period", "recurringChargePeriodType"),
    ("metric", "unitOfMeasure.units"),
    ("term", "productOfferingTerm"),
    ("effective_from", "validFor.startDateTime"),
];

/// Quoin field paths of a product and the TMF attributes they come from.
pub const PRODUCT_FIELDS: &[(&str, &str)] = &[
    ("code", "productNumber"),
    ("status", "lifecycleStatus"),
    ("kind", "isBundle"),
    ("components", "bundledProductOffering"),
    ("add_ons", "productSpecificationRelationship"),
];

/// Quoin field paths of a one-category document and the TMF attributes they come from.
pub const CATEGORY_FIELDS: &[(&str, &str)] = &[
    ("categories[0].parent", "parentId"),
    ("categories[0].name", "name"),
    ("categories[0].code", "id"),
];

impl PriceCreate {
    /// The Quoin price (its code chosen by the caller).
    pub fn to_spec(&self, code: String) -> TmfResult<PriceSpec> {
        let price_type = self.price_type.as_deref().map(price_type_in).transpose()?;
        let period = match (
            &self.recurring_charge_period_type,
            self.recurring_charge_period_length,
        ) {
            (Some(kind), length) => Some(period_in(kind, length.unwrap_or(1))?),
            (None, Some(_)) => {
                return Err(TmfError::missing(
                    "recurringChargePeriodType",
                    "recurringChargePeriodLength needs recurringChargePeriodType",
                ))
            }
            (None, None) => None,
        };
        let currency = self
            .price
            .as_ref()
            .and_then(|m| m.unit.clone())
            .ok_or_else(|| {
                TmfError::missing(
                    "price.unit",
                    "the price's currency (price.unit) is required",
                )
            })?;
        let amount = self
            .price
            .as_ref()
            .and_then(|m| m.value.as_ref())
            .map(decimal);
        let model = self.percentage.as_ref().map(|rate| ModelSpec::Percentage {
            rate: decimal(rate),
            fixed_fee: None,
            free_events: None,
            free_amount: None,
            min_per_event: None,
            max_per_event: None,
        });
        let mut spec = json!({
            "code": code,
            "currency": currency,
        });
        let fields = [
            ("type", price_type.map(|t| json!(t))),
            ("period", period.map(Value::from)),
            ("amount", amount.map(Value::from)),
            ("model", model.map(|m| json!(m))),
            (
                "metric",
                self.unit_of_measure
                    .as_ref()
                    .map(|q| metric("unitOfMeasure", q))
                    .transpose()?
                    .map(Value::from),
            ),
            (
                "term",
                term("productOfferingTerm", &self.product_offering_term)?.map(Value::from),
            ),
            (
                "effective_from",
                match &self.valid_for {
                    Some(tp) => start_date("validFor", tp)?,
                    None => None,
                }
                .map(|d| Value::from(d.to_string())),
            ),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                spec[name] = v;
            }
        }
        quoin_input(spec)
    }
}

/// A Quoin input built from JSON, so fields Quoin adds later take their defaults.
pub fn quoin_input<T: DeserializeOwned>(value: Value) -> TmfResult<T> {
    serde_json::from_value(value).map_err(|e| {
        TmfError::from(quoin_app::AppError::Internal(format!(
            "TMF620 input does not fit Quoin's: {e}"
        )))
    })
}

fn not_patchable(field: &str, why: &str) -> TmfError {
    TmfError::bad_request("not_patchable", Some(field.to_string()), why.to_string())
}

impl PricePatch {
    /// The next version of `current` (whose definition is `spec`) with this patch applied.
    pub fn apply(self, current: &Price, mut spec: PriceSpec) -> TmfResult<PriceSpec> {
        if self.name.as_ref().is_some_and(|n| *n != current.code) {
            return Err(not_patchable(
                "name",
                "the name is the price's code: create a new productOfferingPrice instead",
            ));
        }
        if self
            .product_offering
            .as_ref()
            .is_some_and(|r| r.id != current.product_id)
        {
            return Err(not_patchable(
                "productOffering",
                "a price cannot move to another productOffering",
            ));
        }
        if let Some(t) = &self.price_type {
            let t = price_type_in(t)?;
            if t == PriceTypeCode::OneTime && self.recurring_charge_period_type.is_none() {
                // A one-time price has no period.
                spec.period = None;
            }
            spec.price_type = Some(t);
        }
        let current_period = current
            .period
            .as_deref()
            .and_then(super::mapping::period_out);
        match (
            &self.recurring_charge_period_type,
            self.recurring_charge_period_length,
        ) {
            (None, None) => {}
            (Some(kind), length) => spec.period = Some(period_in(kind, length.unwrap_or(1))?),
            (None, Some(length)) => match current_period {
                Some((kind, _)) => spec.period = Some(period_in(kind, length)?),
                None => {
                    return Err(TmfError::missing(
                        "recurringChargePeriodType",
                        "recurringChargePeriodLength needs recurringChargePeriodType",
                    ))
                }
            },
        }
        if let Some(money) = &self.price {
            if let Some(unit) = &money.unit {
                spec.currency = unit.clone();
            }
            if let Some(value) = &money.value {
                let value = decimal(value);
                spec.amount = None;
                spec.model = Some(match &spec.model {
                    Some(ModelSpec::Flat { .. }) => ModelSpec::Flat { amount: value },
                    _ => ModelSpec::PerUnit { unit_amount: value },
                });
            }
        }
        if let Some(rate) = &self.percentage {
            let rate = decimal(rate);
            spec.amount = None;
            spec.model = Some(match spec.model.clone() {
                Some(ModelSpec::Percentage {
                    fixed_fee,
                    free_events,
                    free_amount,
                    min_per_event,
                    max_per_event,
                    ..
                }) => ModelSpec::Percentage {
                    rate,
                    fixed_fee,
                    free_events,
                    free_amount,
                    min_per_event,
                    max_per_event,
                },
                _ => ModelSpec::Percentage {
                    rate,
                    fixed_fee: None,
                    free_events: None,
                    free_amount: None,
                    min_per_event: None,
                    max_per_event: None,
                },
            });
        }
        match &self.unit_of_measure {
            None => {}
            Some(None) => spec.metric = None,
            Some(Some(q)) => spec.metric = Some(metric("unitOfMeasure", q)?),
        }
        match &self.valid_for {
            None => {}
            Some(None) => spec.effective_from = None,
            Some(Some(tp)) => spec.effective_from = start_date("validFor", tp)?,
        }
        match &self.product_offering_term {
            None => {}
            Some(None) => spec.term = None,
            Some(Some(terms)) => spec.term = term("productOfferingTerm", terms)?,
        }
        Ok(spec)
    }
}
