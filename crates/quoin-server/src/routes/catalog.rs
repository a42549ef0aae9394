use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use quoin_app::model::*;

use super::PageQuery;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::AppState;

#[utoipa::path(operation_id = "createProduct", post, path = "/v1/products", tag = "catalog", request_body = CreateProduct,
    responses((status = 201, body = Product), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<CreateProduct>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_product(&p, body).await?),
    ))
}

#[utoipa::path(operation_id = "listProducts", get, path = "/v1/products", tag = "catalog", params(PageQuery),
    responses((status = 200, body = ProductPage)))]
pub async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ProductPage>> {
    Ok(Json(s.app.list_products(&p, &(&q).into()).await?))
}

#[utoipa::path(operation_id = "getProduct", get, path = "/v1/products/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Product>> {
    Ok(Json(s.app.get_product(&p, &id).await?))
}
