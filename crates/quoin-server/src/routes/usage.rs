//! Usage: event ingestion (JSON batch or NDJSON stream), event search, suspense and
//! recycling, and a subscription's current usage.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use jiff::civil::Date;
use jiff::Timestamp;
use quoin_app::model::*;
use quoin_app::usage::EventSearch;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::AppState;

/// Request bodies of `POST /v1/events` may be this large (10,000 events with properties).
pub const MAX_INGEST_BODY: usize = 32 * 1024 * 1024;

#[utoipa::path(operation_id = "ingestEvents", post, path = "/v1/events", tag = "usage",
    request_body(content(
        (IngestRequest = "application/json"),
        (UsageEventInput = "application/x-ndjson"),
    ), description = "At most 10,000 events: `{\"events\": [...]}`, or one event per line as NDJSON."),
    responses(
        (status = 200, body = IngestResult, description = "Accepted, duplicate and rejected counts; each rejected event with index, id and reason"),
        (status = 400, body = ErrorBody, description = "The body is not JSON (`malformed_json`)"),
        (status = 413, description = "Body larger than 32 MiB"),
        (status = 422, body = ErrorBody, description = "More than 10,000 events (`batch_too_large`)"),
    ))]
pub async fn ingest(
    State(s): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<IngestResult>> {
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if ct.starts_with("application/x-ndjson") || ct.starts_with("application/jsonl") {
        let text = std::str::from_utf8(&body).map_err(|e| {
            ApiError::bad_request("malformed_body", None, format!("body is not UTF-8: {e}"))
        })?;
        return Ok(Json(s.app.ingest_usage_ndjson(&p, text).await?));
    }
    if !ct.starts_with("application/json") {
        return Err(ApiError::bad_request(
            "unsupported_content_type",
            None,
            format!("expected application/json or application/x-ndjson, got `{ct}`"),
        ));
    }
    // Fast path: every event well-formed, deserialised straight into typed inputs (no
    // `Value` tree per event). Anything else takes the per-event path, which says which
    // event is malformed and why; both validate the same way.
    if let Ok(typed) = serde_json::from_slice::<TypedBatch>(&body) {
        return Ok(Json(s.app.ingest_usage_inputs(&p, typed.events).await?));
    }
    let req: IngestRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            Some("events".into()),
            format!("request body is not an events batch: {e}"),
        )
    })?;
    Ok(Json(s.app.ingest_usage(&p, req.events).await?))
}

/// [`IngestRequest`] with typed events (same shape, same unknown-field rule).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypedBatch {
    events: Vec<UsageEventInput>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventSearchQuery {
    /// Subscription id or external id.
    pub subscription: Option<String>,
    pub item: Option<String>,
    pub metric: Option<String>,
    /// Events at or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<Timestamp>,
    /// Events before this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<Timestamp>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(operation_id = "searchUsageEvents", get, path = "/v1/usage/events", tag = "usage", params(EventSearchQuery),
    responses((status = 200, body = UsageEventPage), (status = 422, body = ErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<EventSearchQuery>,
) -> ApiResult<Json<UsageEventPage>> {
    let search = EventSearch {
        subscription: q.subscription,
        item: q.item,
        metric: q.metric,
        from: q.from,
        to: q.to,
    };
    let page = ListParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(s.app.search_usage_events(&p, &search, &page).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SuspenseListQuery {
    /// unknown_item_key, unknown_subscription, metric_not_on_plan or outside_service_dates.
    pub reason: Option<String>,
    pub metric: Option<String>,
    pub subscription: Option<String>,
    pub item_key: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(operation_id = "listSuspense", get, path = "/v1/usage/suspense", tag = "usage", params(SuspenseListQuery),
    responses((status = 200, body = SuspensePage), (status = 422, body = ErrorBody)))]
pub async fn suspense(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<SuspenseListQuery>,
) -> ApiResult<Json<SuspensePage>> {
    let filter = SuspenseQuery {
        reason: q.reason,
        metric: q.metric,
        subscription: q.subscription,
        item_key: q.item_key,
    };
    let page = ListParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(s.app.list_suspense(&p, &filter, &page).await?))
}

#[utoipa::path(operation_id = "recycleSuspense", post, path = "/v1/usage/suspense/recycle", tag = "usage", request_body = RecycleRequest,
    responses((status = 200, body = RecycleResult), (status = 422, body = ErrorBody)))]
pub async fn recycle(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<RecycleRequest>,
) -> ApiResult<Json<RecycleResult>> {
    Ok(Json(s.app.recycle_suspense(&p, &body).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsagePeriodQuery {
    /// Period start (local date); give with `to` to override the current period.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    /// Period end (exclusive).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<Date>,
}

#[utoipa::path(operation_id = "getSubscriptionUsage", get, path = "/v1/subscriptions/{id}/usage", tag = "usage",
    params(("id" = String, Path, description = "Subscription id or external id"), UsagePeriodQuery),
    responses((status = 200, body = SubscriptionUsage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn subscription_usage(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<UsagePeriodQuery>,
) -> ApiResult<Json<SubscriptionUsage>> {
    let range = match (q.from, q.to) {
        (Some(a), Some(b)) if a < b => Some((a, b)),
        (None, None) => None,
        _ => {
            return Err(quoin_app::AppError::invalid(
                "to",
                "give both from and to, with from before to",
            )
            .into())
        }
    };
    Ok(Json(s.app.subscription_usage(&p, &id, range).await?))
}
