//! An account's default payment method and automatic collection. Carries its own router
//! and OpenAPI fragment.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use quoin_app::model::{AccountPaymentMethod, SetPaymentMethod};
use utoipa::OpenApi;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/v1/accounts/{id}/payment-method",
        get(get_payment_method)
            .put(put_payment_method)
            .delete(delete_payment_method),
    )
}

#[derive(OpenApi)]
#[openapi(paths(put_payment_method, get_payment_method, delete_payment_method))]
pub struct PaymentMethodsDoc;

#[utoipa::path(operation_id = "putPaymentMethod", put, path = "/v1/accounts/{id}/payment-method", tag = "payments",
    description = "Sets the bill-to account's default payment method. With `auto_collection` (default true) each invoice finalized from then on with an amount due is charged once through the gateway, after the finalizing transaction commits; the attempt shows in `GET /v1/invoices/{id}/payment-attempts`, and a decline is retried on the tenant's retry days.",
    params(("id" = String, Path)), request_body = SetPaymentMethod,
    responses((status = 200, body = AccountPaymentMethod), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`unknown_gateway`, an empty or malformed `payment_method`, `not_bill_to_account`; nothing changed")))]
pub async fn put_payment_method(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetPaymentMethod>,
) -> ApiResult<Json<AccountPaymentMethod>> {
    Ok(Json(s.app.put_payment_method(&p, &id, body).await?))
}

#[utoipa::path(operation_id = "getPaymentMethod", get, path = "/v1/accounts/{id}/payment-method", tag = "payments",
    params(("id" = String, Path)),
    responses((status = 200, body = AccountPaymentMethod), (status = 404, body = ErrorBody, description = "No such account, or it has no payment method")))]
pub async fn get_payment_method(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AccountPaymentMethod>> {
    Ok(Json(s.app.get_payment_method(&p, &id).await?))
}

#[utoipa::path(operation_id = "deletePaymentMethod", delete, path = "/v1/accounts/{id}/payment-method", tag = "payments",
    params(("id" = String, Path)),
    responses((status = 204, description = "Removed: nothing more is charged automatically"), (status = 404, body = ErrorBody)))]
pub async fn delete_payment_method(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.app.delete_payment_method(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
