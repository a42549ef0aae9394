//! Receivables: payments and refunds, credit notes, voiding invoices, account balances
//! and aging. Routed and documented from here (merged into the router and the OpenAPI
//! document by one line each).

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use quoin_app::model::*;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/payments", post(create_payment).get(list_payments))
        .route("/v1/payments/import", post(import_payments))
        .route("/v1/payments/{id}", get(get_payment))
        .route("/v1/payments/{id}/refunds", post(refund_payment))
        .route("/v1/invoices/{id}/void", post(void_invoice))
        .route("/v1/invoices/{id}/credit-notes", post(create_credit_note))
        .route("/v1/accounts/{id}/credits", post(create_account_credit))
        .route("/v1/accounts/{id}/balance", get(account_balance))
        .route("/v1/credit-notes", get(list_credit_notes))
        .route("/v1/credit-notes/{id}", get(get_credit_note))
        .route("/v1/receivables/aging", get(aging))
        .route(
            "/v1/payment-retry-policy",
            get(get_payment_retry_policy).put(put_payment_retry_policy),
        )
        .route(
            "/v1/invoices/{id}/payment-attempts",
            get(invoice_payment_attempts),
        )
        .route(
            "/v1/invoices/{id}/payment-retry",
            axum::routing::put(set_retry_payment_method),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        create_payment, list_payments, get_payment, refund_payment, import_payments,
        void_invoice, create_credit_note, create_account_credit, list_credit_notes,
        get_credit_note, account_balance, aging,
        put_payment_retry_policy, get_payment_retry_policy, invoice_payment_attempts,
        set_retry_payment_method,
    ),
    tags(
        (name = "payments", description = "Payments received or charged, their allocation to invoices, refunds, CSV import"),
        (name = "credit-notes", description = "Credit notes against invoices, account credit, voiding invoices"),
        (name = "receivables", description = "Account balances and aging"),
    )
)]
pub struct ReceivablesDoc;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PaymentQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub account_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub account_id: Option<String>,
    pub invoice_id: Option<String>,
}

#[utoipa::path(operation_id = "createPayment", post, path = "/v1/payments", tag = "payments", request_body = CreatePayment,
    responses((status = 201, body = Payment), (status = 402, body = ErrorBody, description = "`payment_declined`: the gateway declined; a failed payment is recorded"),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody, description = "`gateway_unavailable`: nothing charged or recorded")))]
pub async fn create_payment(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<CreatePayment>,
) -> ApiResult<(StatusCode, Json<Payment>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.record_payment(&p, body).await?),
    ))
}

#[utoipa::path(operation_id = "listPayments", get, path = "/v1/payments", tag = "payments", params(PaymentQuery),
    responses((status = 200, body = PaymentPage)))]
pub async fn list_payments(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<PaymentQuery>,
) -> ApiResult<Json<PaymentPage>> {
    let page = ListParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    Ok(Json(s.app.list_payments(&p, q.account_id, &page).await?))
}

#[utoipa::path(operation_id = "getPayment", get, path = "/v1/payments/{id}", tag = "payments", params(("id" = String, Path)),
    responses((status = 200, body = Payment), (status = 404, body = ErrorBody)))]
pub async fn get_payment(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Payment>> {
    Ok(Json(s.app.get_payment(&p, &id).await?))
}

#[utoipa::path(operation_id = "refundPayment", post, path = "/v1/payments/{id}/refunds", tag = "payments", params(("id" = String, Path)), request_body = CreateRefund,
    responses((status = 201, body = Refund), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn refund_payment(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreateRefund>,
) -> ApiResult<(StatusCode, Json<Refund>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.refund_payment(&p, &id, body).await?),
    ))
}

#[utoipa::path(operation_id = "importPayments", post, path = "/v1/payments/import", tag = "payments",
    request_body(content = String, content_type = "text/csv", description = "Columns: account_id or account_number, amount, currency, received_on, method, reference, invoice_number"),
    responses((status = 200, body = PaymentImportResult, description = "Valid rows recorded, invalid rows reported"), (status = 400, body = ErrorBody)))]
pub async fn import_payments(
    State(s): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<PaymentImportResult>> {
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("text/csv") {
        return Err(ApiError::bad_request(
            "unsupported_content_type",
            None,
            format!("expected Content-Type text/csv, got `{ct}`"),
        ));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("malformed_csv", None, "the file is not UTF-8"))?;
    Ok(Json(s.app.import_payments(&p, text, &mut |_, _| {}).await?))
}

#[utoipa::path(operation_id = "voidInvoice", post, path = "/v1/invoices/{id}/void", tag = "credit-notes", params(("id" = String, Path)), request_body = VoidInvoice,
    responses((status = 200, body = VoidResult), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`invoice_has_payments` (refund or credit instead), `invoice_already_void`, `invoice_not_voidable`"),
        (status = 422, body = ErrorBody)))]
pub async fn void_invoice(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VoidInvoice>,
) -> ApiResult<Json<VoidResult>> {
    Ok(Json(s.app.void_invoice(&p, &id, body).await?))
}

#[utoipa::path(operation_id = "createCreditNote", post, path = "/v1/invoices/{id}/credit-notes", tag = "credit-notes", params(("id" = String, Path)), request_body = CreateCreditNote,
    responses((status = 201, body = CreditNote), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`invoice_void`, `invoice_not_finalized`"),
        (status = 422, body = ErrorBody, description = "`amount_or_lines_required`, `amount_with_lines`, `invalid_amount`, `credit_exceeds_invoice`; per line (field `lines[i].…`): `unknown_invoice_line`, `line_not_on_invoice`, `duplicate_line`, `amount_and_quantity`, `amount_or_quantity_required`, `invalid_quantity`, `line_not_creditable`, `credit_exceeds_line`")))]
pub async fn create_credit_note(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreateCreditNote>,
) -> ApiResult<(StatusCode, Json<CreditNote>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_credit_note(&p, &id, body).await?),
    ))
}

#[utoipa::path(operation_id = "createAccountCredit", post, path = "/v1/accounts/{id}/credits", tag = "credit-notes", params(("id" = String, Path)), request_body = CreateAccountCredit,
    responses((status = 201, body = CreditNote), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_account_credit(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreateAccountCredit>,
) -> ApiResult<(StatusCode, Json<CreditNote>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_account_credit(&p, &id, body).await?),
    ))
}

#[utoipa::path(operation_id = "listCreditNotes", get, path = "/v1/credit-notes", tag = "credit-notes", params(CreditNoteQuery),
    responses((status = 200, body = CreditNotePage)))]
pub async fn list_credit_notes(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<CreditNoteQuery>,
) -> ApiResult<Json<CreditNotePage>> {
    let page = ListParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    Ok(Json(
        s.app
            .list_credit_notes(&p, q.account_id, q.invoice_id, &page)
            .await?,
    ))
}

#[utoipa::path(operation_id = "getCreditNote", get, path = "/v1/credit-notes/{id}", tag = "credit-notes", params(("id" = String, Path)),
    responses((status = 200, body = CreditNote), (status = 404, body = ErrorBody)))]
pub async fn get_credit_note(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CreditNote>> {
    Ok(Json(s.app.get_credit_note(&p, &id).await?))
}

#[utoipa::path(operation_id = "getAccountBalance", get, path = "/v1/accounts/{id}/balance", tag = "receivables", params(("id" = String, Path)),
    responses((status = 200, body = AccountBalance), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn account_balance(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AccountBalance>> {
    Ok(Json(s.app.account_balance(&p, &id).await?))
}

#[utoipa::path(operation_id = "getReceivablesAging", get, path = "/v1/receivables/aging", tag = "receivables",
    responses((status = 200, body = AgingReport)))]
pub async fn aging(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<Json<AgingReport>> {
    Ok(Json(s.app.receivables_aging(&p).await?))
}

#[utoipa::path(operation_id = "putPaymentRetryPolicy", put, path = "/v1/payment-retry-policy", tag = "payments", request_body = PaymentRetryPolicy,
    responses((status = 200, body = PaymentRetryPolicy), (status = 422, body = ErrorBody, description = "`invalid_retry_days`; nothing changed")))]
pub async fn put_payment_retry_policy(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<PaymentRetryPolicy>,
) -> ApiResult<Json<PaymentRetryPolicy>> {
    Ok(Json(s.app.put_payment_retry_policy(&p, body).await?))
}

#[utoipa::path(operation_id = "getPaymentRetryPolicy", get, path = "/v1/payment-retry-policy", tag = "payments",
    responses((status = 200, body = PaymentRetryPolicy)))]
pub async fn get_payment_retry_policy(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<PaymentRetryPolicy>> {
    Ok(Json(s.app.get_payment_retry_policy(&p).await?))
}

#[utoipa::path(operation_id = "invoicePaymentAttempts", get, path = "/v1/invoices/{id}/payment-attempts", tag = "payments",
    params(("id" = String, Path)),
    responses((status = 200, body = InvoicePaymentAttempts, description = "Every gateway charge aimed at the invoice, in order, and where its retries stand"),
        (status = 404, body = ErrorBody)))]
pub async fn invoice_payment_attempts(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<InvoicePaymentAttempts>> {
    Ok(Json(s.app.invoice_payment_attempts(&p, &id).await?))
}

#[utoipa::path(operation_id = "setRetryPaymentMethod", put, path = "/v1/invoices/{id}/payment-retry", tag = "payments",
    params(("id" = String, Path)), request_body = SetRetryPaymentMethod,
    responses((status = 200, body = InvoicePaymentAttempts, description = "The next retries charge this payment method"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "`no_scheduled_retry`"),
        (status = 422, body = ErrorBody)))]
pub async fn set_retry_payment_method(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetRetryPaymentMethod>,
) -> ApiResult<Json<InvoicePaymentAttempts>> {
    Ok(Json(s.app.set_retry_payment_method(&p, &id, body).await?))
}
