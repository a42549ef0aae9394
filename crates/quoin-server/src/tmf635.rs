//! TM Forum TMF635 Usage Management (v4), read side, as a facade over Quoin's usage
//! events under `/tmf-api/usageManagement/v4/usage`.
//!
//! - A usage event is a `Usage` (id = the event id); `usageType` is its metric code,
//!   `usageDate` its timestamp, `usageCharacteristic` its quantity and properties.
//! - `status` is what Quoin knows: `received` (stored, matched to no item: in suspense),
//!   `guided` (matched to a subscription item), `billed` (the item is billed through the
//!   event's local date). The account is the `relatedParty` (role `customer`) and the
//!   subscription the `productRef` of a `ratedProductUsage` saying whether it is billed.
//! - Lists page with `offset`/`limit` (read through, so `offset + limit` ≤ 100,000) and
//!   filter on `usageType`, `usageDate.gte` and `usageDate.lt`. As TMF630 asks,
//!   `X-Result-Count` is the number of resources in the page and `X-Total-Count` the number
//!   matching the filters — counted with a scan bounded by that same 100,000 window, so it
//!   is left out when more match (no page can reach past it anyway).
//!
//! - `POST /usage` creates a usage event through the same ingestion path as
//!   `POST /v1/events`: `usageType` is the metric, `usageDate` the timestamp, and among the
//!   `usageCharacteristic`s `eventId` is the event id (the exactly-once key; a fresh id
//!   when absent), `itemKey` the item's usage key, `quantity` the quantity and every other
//!   one a property; without `itemKey` the first `ratedProductUsage.productRef.id` names the
//!   subscription. A rejected event is a 422 with the ingestion reason as code, an id
//!   already stored a 409.
//!
//! Like TMF620, these routes follow the TMF spec and stay out of Quoin's OpenAPI document;
//! errors are TMF `Error` bodies.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use quoin_app::usage::{UsageRecord, UsageRecordFilter, UsageState};
use quoin_app::AppError;
use serde_json::{json, Map, Value};

use crate::extract::Caller;
use crate::tmf620::error::{TmfError, TmfResult};
use crate::tmf620::list::{created, json_response, select, ListQuery};
use crate::AppState;

pub const BASE: &str = "/tmf-api/usageManagement/v4";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE}/usage"), get(list_usage).post(create_usage))
        .route(&format!("{BASE}/usage/{{id}}"), get(get_usage))
}

const FILTERABLE: [&str; 2] = ["usageType", "usageDate"];

async fn list_usage(State(s): State<AppState>, Caller(p): Caller, uri: Uri) -> TmfResult<Response> {
    let q = ListQuery::parse(uri.query(), &FILTERABLE)?;
    let mut filter = UsageRecordFilter::default();
    for (path, values) in &q.filters {
        let name = path.join(".");
        let [value] = values.as_slice() else {
            return Err(TmfError::bad_request(
                "invalid_query",
                Some(name),
                "give this filter once",
            ));
        };
        let instant = || {
            value.parse::<jiff::Timestamp>().map_err(|e| {
                TmfError::bad_request("invalid_query", Some(name.clone()), e.to_string())
            })
        };
        match name.as_str() {
            "usageType" => filter.metric = Some(value.clone()),
            "usageDate.gte" => filter.from = Some(instant()?),
            "usageDate.lt" => filter.to = Some(instant()?),
            _ => {
                return Err(TmfError::bad_request(
                    "invalid_query",
                    Some(name),
                    "usage filters: usageType, usageDate.gte, usageDate.lt",
                ))
            }
        }
    }
    let found = s.app.usage_records(&p, &filter, q.offset, q.limit).await?;
    let page: Vec<Value> = found
        .records
        .iter()
        .map(|r| select(usage_of(r), q.fields.as_deref()))
        .collect();
    let mut res = json_response(StatusCode::OK, &Value::Array(page));
    let headers = res.headers_mut();
    if let Some(total) = found.total {
        headers.insert(
            HeaderName::from_static("x-total-count"),
            HeaderValue::from(total),
        );
    }
    headers.insert(
        HeaderName::from_static("x-result-count"),
        HeaderValue::from(found.records.len()),
    );
    Ok(res)
}

async fn get_usage(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> TmfResult<Response> {
    let record = s.app.usage_record(&p, &id).await.map_err(|e| match e {
        AppError::NotFound { .. } => TmfError::not_found("Usage", &id),
        other => other.into(),
    })?;
    let fields = ListQuery::fields_only(uri.query());
    Ok(json_response(
        StatusCode::OK,
        &select(usage_of(&record), fields.as_deref()),
    ))
}

/// The TMF635 `Usage` of a Quoin usage event.
fn usage_of(r: &UsageRecord) -> Value {
    let e = &r.event;
    let mut characteristics = Vec::new();
    if let Some(q) = &e.quantity {
        characteristics.push(json!({"name": "quantity", "valueType": "decimal", "value": q}));
    }
    for (name, value) in &e.properties {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        characteristics.push(json!({"name": name, "valueType": "string", "value": text}));
    }
    let status = match r.state {
        UsageState::Received => "received",
        UsageState::Guided => "guided",
        UsageState::Billed => "billed",
    };
    let mut m = json!({
        "id": e.id,
        "href": format!("{BASE}/usage/{}", e.id),
        "@type": "Usage",
        "usageDate": e.timestamp.to_string(),
        "usageType": e.metric,
        "status": status,
        "usageCharacteristic": characteristics,
    });
    if let Some(account) = &r.account_id {
        m["relatedParty"] = json!([{
            "id": account, "href": format!("/v1/accounts/{account}"),
            "role": "customer", "@referredType": "Account"
        }]);
    }
    if let Some(sub) = &r.subscription_id {
        m["ratedProductUsage"] = json!([{
            "@type": "RatedProductUsage",
            "isBilled": r.state == UsageState::Billed,
            "productRef": {"id": sub, "href": format!("/v1/subscriptions/{sub}"), "@referredType": "Subscription"}
        }]);
    }
    m
}

async fn create_usage(
    State(s): State<AppState>,
    Caller(p): Caller,
    bytes: Bytes,
) -> TmfResult<Response> {
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| TmfError::bad_request("malformed_json", None, e.to_string()))?;
    let Value::Object(usage) = body else {
        return Err(TmfError::bad_request(
            "malformed_json",
            None,
            "the body must be a Usage object",
        ));
    };
    let (id, event) = event_of(&usage)?;
    let result = s.app.ingest_usage(&p, vec![event]).await?;
    if let Some(rejected) = result.errors.first() {
        let field = match rejected.reason.as_str() {
            "unknown_metric" => "usageType",
            "missing_timestamp" | "invalid_timestamp" | "timestamp_in_future" => "usageDate",
            _ => "usageCharacteristic",
        };
        return Err(TmfError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            &rejected.reason,
            rejected.message.clone(),
        )
        .with_field(field));
    }
    if result.duplicates > 0 {
        return Err(TmfError::new(
            StatusCode::CONFLICT,
            "duplicate_usage",
            format!("usage `{id}` already exists"),
        ));
    }
    Ok(created(&usage_of(&s.app.usage_record(&p, &id).await?)))
}

/// A `Usage_Create` as a `POST /v1/events` event, with its id.
fn event_of(usage: &Map<String, Value>) -> TmfResult<(String, Value)> {
    let mut event = Map::new();
    let mut properties = Map::new();
    let mut id = None;
    if let Some(metric) = usage.get("usageType") {
        event.insert("metric".into(), metric.clone());
    }
    if let Some(date) = usage.get("usageDate") {
        event.insert("timestamp".into(), date.clone());
    }
    let characteristics = usage.get("usageCharacteristic").and_then(Value::as_array);
    for (i, c) in characteristics.into_iter().flatten().enumerate() {
        let (Some(name), Some(value)) = (c.get("name").and_then(Value::as_str), c.get("value"))
        else {
            return Err(TmfError::missing(
                &format!("usageCharacteristic[{i}]"),
                "a characteristic needs a name and a value",
            ));
        };
        match name {
            "eventId" => id = value.as_str().map(str::to_string),
            "itemKey" => {
                event.insert("item_key".into(), value.clone());
            }
            "quantity" => {
                event.insert("quantity".into(), value.clone());
            }
            _ => {
                properties.insert(name.to_string(), value.clone());
            }
        }
    }
    if !event.contains_key("item_key") {
        let product =
            &usage.get("ratedProductUsage").unwrap_or(&Value::Null)[0]["productRef"]["id"];
        if product.is_string() {
            event.insert("subscription".into(), product.clone());
        }
    }
    let id = id.unwrap_or_else(|| quoin_store::new_id("usg"));
    event.insert("id".into(), Value::String(id.clone()));
    if !properties.is_empty() {
        event.insert("properties".into(), Value::Object(properties));
    }
    Ok((id, Value::Object(event)))
}
