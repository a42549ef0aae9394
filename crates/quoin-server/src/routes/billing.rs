//! Subscriptions, invoices, billing runs and the test clock.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::Json;
use quoin_app::model::*;
use quoin_store::repo::InvoiceFilter;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Finalized,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InvoiceQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub account_id: Option<String>,
    pub status: Option<InvoiceStatus>,
}

#[utoipa::path(operation_id = "createSubscription", post, path = "/v1/subscriptions", tag = "subscriptions", request_body = CreateSubscription,
    responses((status = 201, body = Subscription), (status = 422, body = ErrorBody)))]
pub async fn create_subscription(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<CreateSubscription>,
) -> ApiResult<(StatusCode, Json<Subscription>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_subscription(&p, body).await?),
    ))
}

#[utoipa::path(operation_id = "listSubscriptions", get, path = "/v1/subscriptions", tag = "subscriptions", params(SubscriptionQuery),
    responses((status = 200, body = SubscriptionPage)))]
pub async fn list_subscriptions(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<SubscriptionQuery>,
) -> ApiResult<Json<SubscriptionPage>> {
    let page = ListParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    Ok(Json(
        s.app
            .list_subscriptions(&p, q.account_id.as_deref(), &page)
            .await?,
    ))
}

#[utoipa::path(operation_id = "operateSubscription", post, path = "/v1/subscriptions/{id}/operations", tag = "subscriptions",
    params(("id" = String, Path)), request_body = SubscriptionOperation,
    responses((status = 200, body = Subscription), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn operate_subscription(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SubscriptionOperation>,
) -> ApiResult<Json<Subscription>> {
    Ok(Json(s.app.operate_subscription(&p, &id, body).await?))
}

#[utoipa::path(operation_id = "getSubscriptionHistory", get, path = "/v1/subscriptions/{id}/history", tag = "subscriptions",
    params(("id" = String, Path)),
    responses((status = 200, body = SubscriptionHistory), (status = 404, body = ErrorBody)))]
pub async fn subscription_history(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SubscriptionHistory>> {
    Ok(Json(s.app.subscription_history(&p, &id).await?))
}

#[utoipa::path(operation_id = "getSubscription", get, path = "/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = String, Path)),
    responses((status = 200, body = Subscription), (status = 404, body = ErrorBody)))]
pub async fn get_subscription(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Subscription>> {
    Ok(Json(s.app.get_subscription(&p, &id).await?))
}

#[utoipa::path(operation_id = "billAccount", post, path = "/v1/accounts/{id}/bill", tag = "billing", params(("id" = String, Path)), request_body = BillRequest,
    responses((status = 200, body = BillResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn bill_account(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BillRequest>,
) -> ApiResult<Json<BillResult>> {
    Ok(Json(s.app.bill_account(&p, &id, body).await?))
}

#[utoipa::path(operation_id = "runBilling", post, path = "/v1/billing/run", tag = "billing",
    responses((status = 200, body = AdvanceResult, description = "Invoices created for every bill-to account due now")))]
pub async fn run_billing(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<AdvanceResult>> {
    Ok(Json(s.app.run_billing_now(&p).await?))
}

#[utoipa::path(operation_id = "listInvoices", get, path = "/v1/invoices", tag = "invoices", params(InvoiceQuery),
    responses((status = 200, body = InvoicePage)))]
pub async fn list_invoices(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<InvoiceQuery>,
) -> ApiResult<Json<InvoicePage>> {
    let filter = InvoiceFilter {
        account_id: q.account_id.clone(),
        status: q.status.map(|st| match st {
            InvoiceStatus::Draft => "draft".to_string(),
            InvoiceStatus::Finalized => "finalized".to_string(),
        }),
    };
    let page = ListParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    Ok(Json(s.app.list_invoices(&p, filter, &page).await?))
}

#[utoipa::path(operation_id = "getInvoice", get, path = "/v1/invoices/{id}", tag = "invoices", params(("id" = String, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = ErrorBody)))]
pub async fn get_invoice(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Invoice>> {
    Ok(Json(s.app.get_invoice(&p, &id).await?))
}

#[utoipa::path(operation_id = "finalizeInvoice", post, path = "/v1/invoices/{id}/finalize", tag = "invoices", params(("id" = String, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn finalize_invoice(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Invoice>> {
    Ok(Json(s.app.finalize_invoice(&p, &id).await?))
}

#[utoipa::path(operation_id = "getTestClock", get, path = "/v1/test-clock", tag = "test-clock",
    responses((status = 200, body = TestClock)))]
pub async fn get_clock(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<Json<TestClock>> {
    Ok(Json(s.app.get_test_clock(&p).await?))
}

#[utoipa::path(operation_id = "setTestClock", post, path = "/v1/test-clock", tag = "test-clock", request_body = SetTestClock,
    responses((status = 200, body = TestClock), (status = 403, body = ErrorBody)))]
pub async fn set_clock(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<SetTestClock>,
) -> ApiResult<Json<TestClock>> {
    Ok(Json(s.app.set_test_clock(&p, body).await?))
}

#[utoipa::path(operation_id = "clearTestClock", delete, path = "/v1/test-clock", tag = "test-clock",
    responses((status = 200, body = TestClock), (status = 403, body = ErrorBody)))]
pub async fn clear_clock(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<TestClock>> {
    Ok(Json(s.app.clear_test_clock(&p).await?))
}

#[utoipa::path(operation_id = "advanceTestClock", post, path = "/v1/test-clock/advance", tag = "test-clock", request_body = AdvanceTestClock,
    responses((status = 200, body = AdvanceResult), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn advance_clock(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<AdvanceTestClock>,
) -> ApiResult<Json<AdvanceResult>> {
    Ok(Json(s.app.advance_test_clock(&p, body).await?))
}

#[utoipa::path(operation_id = "getInvoicePdf", get, path = "/v1/invoices/{id}/pdf", tag = "invoices", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", description = "The invoice as an A4 PDF (a draft is marked DRAFT)"), (status = 404, body = ErrorBody)))]
pub async fn invoice_pdf(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let bytes = s.app.invoice_pdf(&p, &id).await?;
    let disposition = format!("inline; filename=\"{id}.pdf\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}

#[utoipa::path(operation_id = "getInvoiceHtml", get, path = "/v1/invoices/{id}/html", tag = "invoices", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", description = "The invoice as a printable HTML page"), (status = 404, body = ErrorBody)))]
pub async fn invoice_html(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Html<String>> {
    Ok(Html(s.app.invoice_html(&p, &id).await?))
}

#[utoipa::path(operation_id = "putDunningPolicy", put, path = "/v1/dunning-policy", tag = "dunning", request_body = DunningPolicy,
    responses((status = 200, body = DunningPolicy), (status = 422, body = ErrorBody)))]
pub async fn put_dunning_policy(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<DunningPolicy>,
) -> ApiResult<Json<DunningPolicy>> {
    Ok(Json(s.app.put_dunning_policy(&p, body).await?))
}

#[utoipa::path(operation_id = "getDunningPolicy", get, path = "/v1/dunning-policy", tag = "dunning",
    responses((status = 200, body = DunningPolicy)))]
pub async fn get_dunning_policy(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<DunningPolicy>> {
    Ok(Json(s.app.get_dunning_policy(&p).await?))
}

#[utoipa::path(operation_id = "getUpcomingInvoice", get, path = "/v1/accounts/{id}/upcoming-invoice", tag = "invoices",
    description = "The next invoice of the account's bill-to account as billing would draw it now, usage of the open period to date included; nothing is stored (`id` and `status` are `upcoming`).",
    params(("id" = String, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn upcoming_invoice(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Invoice>> {
    Ok(Json(s.app.upcoming_invoice(&p, &id).await?))
}

#[utoipa::path(operation_id = "getAccountDunning", get, path = "/v1/accounts/{id}/dunning", tag = "dunning",
    params(("id" = String, Path)),
    responses((status = 200, body = DunningStatus), (status = 404, body = ErrorBody)))]
pub async fn account_dunning(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DunningStatus>> {
    Ok(Json(s.app.account_dunning(&p, &id).await?))
}
