//! Analytics: exchange rates into the reporting currency and MRR/ARR.

use axum::extract::{Path, State};
use axum::Json;
use jiff::civil::Date;
use quoin_app::model::*;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MrrQuery {
    /// Default: today in the tenant's time zone.
    #[param(value_type = Option<String>, format = Date)]
    pub date: Option<Date>,
    /// Reporting currency (default: that of the stored exchange rates, else the one
    /// currency of the subscriptions).
    pub currency: Option<String>,
}

#[utoipa::path(operation_id = "putFxRate", put, path = "/v1/fx-rates/{currency}", tag = "analytics",
    params(("currency" = String, Path)), request_body = PutFxRate,
    responses((status = 200, body = FxRate), (status = 422, body = ErrorBody)))]
pub async fn put_fx_rate(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(currency): Path<String>,
    ApiJson(body): ApiJson<PutFxRate>,
) -> ApiResult<Json<FxRate>> {
    Ok(Json(s.app.put_fx_rate(&p, &currency, body).await?))
}

#[utoipa::path(operation_id = "listFxRates", get, path = "/v1/fx-rates", tag = "analytics",
    responses((status = 200, body = FxRateList)))]
pub async fn list_fx_rates(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<FxRateList>> {
    Ok(Json(s.app.list_fx_rates(&p).await?))
}

#[utoipa::path(operation_id = "getMrr", get, path = "/v1/analytics/mrr", tag = "analytics", params(MrrQuery),
    responses((status = 200, body = MrrReport), (status = 422, body = ErrorBody)))]
pub async fn mrr(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<MrrQuery>,
) -> ApiResult<Json<MrrReport>> {
    Ok(Json(s.app.mrr(&p, q.date, q.currency).await?))
}
