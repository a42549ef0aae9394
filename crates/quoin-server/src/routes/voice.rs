//! Voice usage: rating plans, and the usage detail CSV of an invoice. Carries its own
//! router and OpenAPI fragment, merged into the application and the document.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use quoin_app::model::{NewDestinations, RatingPlan, RatingPlanInput, RatingPlanList};
use utoipa::OpenApi;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/rating-plans",
            post(create_rating_plan).get(list_rating_plans),
        )
        .route("/v1/rating-plans/{code}", get(get_rating_plan))
        .route(
            "/v1/rating-plans/{code}/destinations",
            post(add_rating_plan_destinations),
        )
        .route("/v1/invoices/{id}/usage.csv", get(invoice_usage_csv))
}

#[derive(OpenApi)]
#[openapi(
    paths(create_rating_plan, list_rating_plans, get_rating_plan, add_rating_plan_destinations, invoice_usage_csv),
    tags((name = "rating-plans", description = "Voice rating plans: destinations by prefix, time bands, increments, per-minute rates")),
)]
pub struct VoiceDoc;

#[utoipa::path(operation_id = "createRatingPlan", post, path = "/v1/rating-plans", tag = "rating-plans", request_body = RatingPlanInput,
    responses((status = 201, body = RatingPlan), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_rating_plan(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<RatingPlanInput>,
) -> ApiResult<(StatusCode, Json<RatingPlan>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_rating_plan(&p, body).await?),
    ))
}

#[utoipa::path(operation_id = "listRatingPlans", get, path = "/v1/rating-plans", tag = "rating-plans",
    responses((status = 200, body = RatingPlanList)))]
pub async fn list_rating_plans(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<RatingPlanList>> {
    Ok(Json(s.app.list_rating_plans(&p).await?))
}

#[utoipa::path(operation_id = "getRatingPlan", get, path = "/v1/rating-plans/{code}", tag = "rating-plans",
    params(("code" = String, Path)),
    responses((status = 200, body = RatingPlan), (status = 404, body = ErrorBody)))]
pub async fn get_rating_plan(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(code): Path<String>,
) -> ApiResult<Json<RatingPlan>> {
    Ok(Json(s.app.get_rating_plan(&p, &code).await?))
}

#[utoipa::path(operation_id = "addRatingPlanDestinations", post, path = "/v1/rating-plans/{code}/destinations", tag = "rating-plans",
    description = "Adds destinations to a plan. A new prefix may not extend a prefix the plan has (`prefix_would_rerate`), so every call the plan rated before rates the same; calls parked in suspense as `unratable` can then be recycled (`POST /v1/usage/suspense/recycle`).",
    params(("code" = String, Path)), request_body = NewDestinations,
    responses((status = 200, body = RatingPlan), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_rating_plan_destinations(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<NewDestinations>,
) -> ApiResult<Json<RatingPlan>> {
    Ok(Json(
        s.app.add_rating_plan_destinations(&p, &code, body).await?,
    ))
}

#[utoipa::path(operation_id = "getInvoiceUsageCsv", get, path = "/v1/invoices/{id}/usage.csv", tag = "invoices",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "text/csv", description = "One row per usage event billed on the invoice: line_id, event_id, metric, timestamp, quantity, then for rated calls destination (dialled), rated_as, band, duration_seconds, billed_seconds, charge"),
        (status = 404, body = ErrorBody)))]
pub async fn invoice_usage_csv(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let csv = s.app.invoice_usage_csv(&p, &id).await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv))
}
