//! Continuous draft invoices: the stored draft of an account's next invoice and the
//! tenant's refresh cadence. Carries its own router and OpenAPI fragment.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use quoin_app::model::{DraftInvoice, DraftSettings};
use utoipa::OpenApi;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts/{id}/draft-invoice", get(draft_invoice))
        .route(
            "/v1/draft-invoice-settings",
            get(get_draft_settings).put(put_draft_settings),
        )
}

#[derive(OpenApi)]
#[openapi(paths(draft_invoice, get_draft_settings, put_draft_settings))]
pub struct DraftsDoc;

#[utoipa::path(operation_id = "getDraftInvoice", get, path = "/v1/accounts/{id}/draft-invoice", tag = "invoices",
    description = "The stored draft of the next invoice of the account's bill-to account, kept up to date as usage arrives: recomputed by the scheduler at most every `draft_refresh_seconds` (tenant clock) once usage arrived since the last refresh. Answers with its age, the arrival of the latest usage it includes (`usage_through`) and whether newer usage waits for the next refresh; reading never computes (see `upcoming-invoice` for a live computation). 409 `no_draft_invoice` before the first refresh.",
    params(("id" = String, Path)),
    responses((status = 200, body = DraftInvoice), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn draft_invoice(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DraftInvoice>> {
    Ok(Json(s.app.draft_invoice(&p, &id).await?))
}

#[utoipa::path(operation_id = "getDraftInvoiceSettings", get, path = "/v1/draft-invoice-settings", tag = "invoices",
    responses((status = 200, body = DraftSettings)))]
pub async fn get_draft_settings(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<DraftSettings>> {
    Ok(Json(s.app.draft_settings(&p).await?))
}

#[utoipa::path(operation_id = "putDraftInvoiceSettings", put, path = "/v1/draft-invoice-settings", tag = "invoices",
    request_body = DraftSettings,
    responses((status = 200, body = DraftSettings), (status = 422, body = ErrorBody)))]
pub async fn put_draft_settings(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<DraftSettings>,
) -> ApiResult<Json<DraftSettings>> {
    Ok(Json(s.app.put_draft_settings(&p, body).await?))
}
