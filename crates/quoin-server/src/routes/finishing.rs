//! Invoice finishing: tax rates, tax categories and profiles, fees, coupons and
//! redemptions, prepaid wallets.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use quoin_app::model::*;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::AppState;

#[utoipa::path(operation_id = "putTaxRates", put, path = "/v1/tax-rates", tag = "taxes", request_body = TaxRates,
    responses((status = 200, body = TaxRates), (status = 422, body = ErrorBody)))]
pub async fn put_tax_rates(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<TaxRates>,
) -> ApiResult<Json<TaxRates>> {
    Ok(Json(s.app.put_tax_rates(&p, body).await?))
}

#[utoipa::path(operation_id = "getTaxRates", get, path = "/v1/tax-rates", tag = "taxes",
    responses((status = 200, body = TaxRates)))]
pub async fn get_tax_rates(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<TaxRates>> {
    Ok(Json(s.app.get_tax_rates(&p).await?))
}

#[utoipa::path(operation_id = "putTaxCategory", put, path = "/v1/tax-categories/{product_code}", tag = "taxes",
    params(("product_code" = String, Path)), request_body = SetTaxCategory,
    responses((status = 200, body = TaxCategory), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_tax_category(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<SetTaxCategory>,
) -> ApiResult<Json<TaxCategory>> {
    Ok(Json(s.app.put_tax_category(&p, &code, body).await?))
}

#[utoipa::path(operation_id = "putTaxProfile", put, path = "/v1/accounts/{id}/tax-profile", tag = "taxes",
    params(("id" = String, Path)), request_body = SetTaxProfile,
    responses((status = 200, body = TaxProfile), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_tax_profile(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetTaxProfile>,
) -> ApiResult<Json<TaxProfile>> {
    Ok(Json(s.app.put_tax_profile(&p, &id, body).await?))
}

#[utoipa::path(operation_id = "getTaxProfile", get, path = "/v1/accounts/{id}/tax-profile", tag = "taxes",
    params(("id" = String, Path)),
    responses((status = 200, body = TaxProfile), (status = 404, body = ErrorBody)))]
pub async fn get_tax_profile(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TaxProfile>> {
    Ok(Json(s.app.get_tax_profile(&p, &id).await?))
}

#[utoipa::path(operation_id = "putFees", put, path = "/v1/fees", tag = "taxes", request_body = Fees,
    responses((status = 200, body = Fees), (status = 422, body = ErrorBody)))]
pub async fn put_fees(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<Fees>,
) -> ApiResult<Json<Fees>> {
    Ok(Json(s.app.put_fees(&p, body).await?))
}

#[utoipa::path(operation_id = "getFees", get, path = "/v1/fees", tag = "taxes",
    responses((status = 200, body = Fees)))]
pub async fn get_fees(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<Json<Fees>> {
    Ok(Json(s.app.get_fees(&p).await?))
}

#[utoipa::path(operation_id = "createCoupon", post, path = "/v1/coupons", tag = "coupons", request_body = CouponInput,
    responses((status = 201, body = CouponInput), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_coupon(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<CouponInput>,
) -> ApiResult<(StatusCode, Json<CouponInput>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_coupon(&p, body).await?),
    ))
}

#[utoipa::path(operation_id = "listCoupons", get, path = "/v1/coupons", tag = "coupons",
    responses((status = 200, body = CouponList)))]
pub async fn list_coupons(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<CouponList>> {
    Ok(Json(s.app.list_coupons(&p).await?))
}

#[utoipa::path(operation_id = "redeemCoupon", post, path = "/v1/accounts/{id}/coupons", tag = "coupons",
    params(("id" = String, Path)), request_body = RedeemCoupon,
    responses((status = 201, body = CouponRedemption), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn redeem_coupon(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RedeemCoupon>,
) -> ApiResult<(StatusCode, Json<CouponRedemption>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.redeem_coupon(&p, &id, body).await?),
    ))
}

#[utoipa::path(operation_id = "createWallet", post, path = "/v1/accounts/{id}/wallets", tag = "wallets",
    params(("id" = String, Path)), request_body = CreateWallet,
    responses((status = 201, body = Wallet), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_wallet(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreateWallet>,
) -> ApiResult<(StatusCode, Json<Wallet>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_wallet(&p, &id, body).await?),
    ))
}

#[utoipa::path(operation_id = "listWallets", get, path = "/v1/accounts/{id}/wallets", tag = "wallets",
    params(("id" = String, Path)),
    responses((status = 200, body = WalletList), (status = 404, body = ErrorBody)))]
pub async fn list_wallets(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<WalletList>> {
    Ok(Json(s.app.list_wallets(&p, &id).await?))
}
