//! API keys and the event feed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use quoin_app::model::*;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::AppState;

#[utoipa::path(operation_id = "createApiKey", post, path = "/v1/api-keys", tag = "access", request_body = CreateApiKey,
    responses((status = 201, body = IssuedApiKey), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<CreateApiKey>,
) -> ApiResult<(StatusCode, Json<IssuedApiKey>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_api_key(&p, body).await?),
    ))
}

#[utoipa::path(operation_id = "listApiKeys", get, path = "/v1/api-keys", tag = "access",
    responses((status = 200, body = Vec<ApiKey>), (status = 403, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<Json<Vec<ApiKey>>> {
    Ok(Json(s.app.list_api_keys(&p).await?))
}

#[utoipa::path(operation_id = "revokeApiKey", post, path = "/v1/api-keys/{id}/revoke", tag = "access", params(("id" = String, Path)),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKey>> {
    Ok(Json(s.app.revoke_api_key(&p, &id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Return events with an id greater than this (default 0).
    pub after: Option<i64>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
}

#[utoipa::path(operation_id = "listEvents", get, path = "/v1/events", tag = "events", params(EventQuery),
    responses((status = 200, body = EventPage), (status = 422, body = ErrorBody)))]
pub async fn events(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> ApiResult<Json<EventPage>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(quoin_app::AppError::invalid(
            "limit",
            format!("must be between 1 and 500, got {limit}"),
        )
        .into());
    }
    Ok(Json(
        s.app.list_events(&p, q.after.unwrap_or(0), limit).await?,
    ))
}
