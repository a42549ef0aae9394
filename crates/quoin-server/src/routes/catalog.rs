use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use quoin_app::catalog::spec::{
    CatalogDocument, CategorySpec, MetricSpec, PriceBookSpec, ProductSpec, TermSpec,
};
use quoin_app::catalog::spec::{PriceSpec, ProductPatch};
use quoin_app::catalog::{CatalogEntry, CatalogEntryKind, ImportReport};
use quoin_app::model::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::PageQuery;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::AppState;

#[utoipa::path(operation_id = "createProduct", post, path = "/v1/products", tag = "catalog", request_body = ProductSpec,
    responses((status = 201, body = Product), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<ProductSpec>,
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

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Validate and report what would change, writing nothing.
    pub dry_run: Option<bool>,
}

#[utoipa::path(operation_id = "importCatalog", post, path = "/v1/catalog/import", tag = "catalog", params(ImportQuery), request_body = CatalogDocument,
    responses((status = 200, body = ImportReport), (status = 422, body = ErrorBody, description = "Every problem, each with its path, in `details`; nothing written")))]
pub async fn import(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<ImportQuery>,
    ApiJson(body): ApiJson<CatalogDocument>,
) -> ApiResult<Json<ImportReport>> {
    Ok(Json(
        s.app
            .import_catalog(&p, body, q.dry_run.unwrap_or(false))
            .await?,
    ))
}

#[utoipa::path(operation_id = "exportCatalog", get, path = "/v1/catalog/export", tag = "catalog",
    responses((status = 200, body = CatalogDocument)))]
pub async fn export(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<CatalogDocument>> {
    Ok(Json(s.app.export_catalog(&p).await?))
}

#[utoipa::path(operation_id = "listMetrics", get, path = "/v1/metrics", tag = "catalog",
    responses((status = 200, body = Vec<MetricSpec>)))]
pub async fn metrics(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<MetricSpec>>> {
    Ok(Json(s.app.list_metrics(&p).await?))
}

#[utoipa::path(operation_id = "listTerms", get, path = "/v1/terms", tag = "catalog",
    responses((status = 200, body = Vec<TermSpec>)))]
pub async fn terms(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<Json<Vec<TermSpec>>> {
    Ok(Json(s.app.list_terms(&p).await?))
}

#[utoipa::path(operation_id = "listPriceBooks", get, path = "/v1/price-books", tag = "catalog",
    responses((status = 200, body = Vec<PriceBookSpec>)))]
pub async fn price_books(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<PriceBookSpec>>> {
    Ok(Json(s.app.list_price_books(&p).await?))
}

#[utoipa::path(operation_id = "listCategories", get, path = "/v1/categories", tag = "catalog",
    responses((status = 200, body = Vec<CategorySpec>)))]
pub async fn categories(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<CategorySpec>>> {
    Ok(Json(s.app.list_categories(&p).await?))
}

#[utoipa::path(operation_id = "updateProduct", patch, path = "/v1/products/{id}", tag = "catalog", params(("id" = String, Path)), request_body = ProductPatch,
    responses((status = 200, body = Product), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProductPatch>,
) -> ApiResult<Json<Product>> {
    Ok(Json(s.app.update_product(&p, &id, body).await?))
}

#[utoipa::path(operation_id = "deleteProduct", delete, path = "/v1/products/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.app.delete_product(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(operation_id = "addPrice", post, path = "/v1/products/{id}/prices", tag = "catalog", params(("id" = String, Path)), request_body = PriceSpec,
    responses((status = 201, body = Price, description = "A new price, or a new version of the price with the same code"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_price(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PriceSpec>,
) -> ApiResult<(StatusCode, Json<Price>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.add_price(&p, &id, body).await?),
    ))
}

#[utoipa::path(operation_id = "listPrices", get, path = "/v1/prices", tag = "catalog",
    responses((status = 200, body = Vec<Price>, description = "The latest version of every price")))]
pub async fn list_prices(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<Price>>> {
    Ok(Json(s.app.list_prices(&p).await?))
}

#[utoipa::path(operation_id = "getPrice", get, path = "/v1/prices/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Price), (status = 404, body = ErrorBody)))]
pub async fn get_price(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Price>> {
    Ok(Json(s.app.get_price(&p, &id).await?))
}

/// GET, PUT (create or replace) and DELETE of one reference-list entry by code.
macro_rules! entry_routes {
    ($spec:ident, $variant:ident, $path:literal, $tag_get:literal, $tag_put:literal, $tag_delete:literal, $get:ident, $put:ident, $delete:ident) => {
        #[utoipa::path(operation_id = $tag_get, get, path = $path, tag = "catalog", params(("code" = String, Path)),
            responses((status = 200, body = $spec), (status = 404, body = ErrorBody)))]
        pub async fn $get(State(s): State<AppState>, Caller(p): Caller, Path(code): Path<String>) -> ApiResult<Json<$spec>> {
            match s.app.get_catalog_entry(&p, CatalogEntryKind::$variant, &code).await? {
                CatalogEntry::$variant(e) => Ok(Json(e)),
                _ => Err(quoin_app::AppError::Internal("catalog entry of another kind".into()).into()),
            }
        }

        #[utoipa::path(operation_id = $tag_put, put, path = $path, tag = "catalog", params(("code" = String, Path)), request_body = $spec,
            responses((status = 200, body = $spec), (status = 422, body = ErrorBody)))]
        pub async fn $put(State(s): State<AppState>, Caller(p): Caller, Path(code): Path<String>, ApiJson(body): ApiJson<$spec>) -> ApiResult<Json<$spec>> {
            match s.app.put_catalog_entry(&p, &code, CatalogEntry::$variant(body)).await? {
                CatalogEntry::$variant(e) => Ok(Json(e)),
                _ => Err(quoin_app::AppError::Internal("catalog entry of another kind".into()).into()),
            }
        }

        #[utoipa::path(operation_id = $tag_delete, delete, path = $path, tag = "catalog", params(("code" = String, Path)),
            responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Still used by a price or product")))]
        pub async fn $delete(State(s): State<AppState>, Caller(p): Caller, Path(code): Path<String>) -> ApiResult<StatusCode> {
            s.app.delete_catalog_entry(&p, CatalogEntryKind::$variant, &code).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    };
}

entry_routes!(
    MetricSpec,
    Metric,
    "/v1/metrics/{code}",
    "getMetric",
    "putMetric",
    "deleteMetric",
    get_metric,
    put_metric,
    delete_metric
);
entry_routes!(
    TermSpec,
    Term,
    "/v1/terms/{code}",
    "getTerm",
    "putTerm",
    "deleteTerm",
    get_term,
    put_term,
    delete_term
);
entry_routes!(
    PriceBookSpec,
    PriceBook,
    "/v1/price-books/{code}",
    "getPriceBook",
    "putPriceBook",
    "deletePriceBook",
    get_price_book,
    put_price_book,
    delete_price_book
);
entry_routes!(
    CategorySpec,
    Category,
    "/v1/categories/{code}",
    "getCategory",
    "putCategory",
    "deleteCategory",
    get_category,
    put_category,
    delete_category
);

#[utoipa::path(operation_id = "putChangeRules", put, path = "/v1/catalog/change-rules", tag = "catalog", request_body = ChangeRules,
    responses((status = 200, body = ChangeRules, description = "The rules, in matching order: the first rule matching a plan change decides"),
        (status = 422, body = ErrorBody, description = "A rule names an unknown product, period or price book; nothing changed")))]
pub async fn put_change_rules(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<ChangeRules>,
) -> ApiResult<Json<ChangeRules>> {
    Ok(Json(s.app.put_change_rules(&p, body).await?))
}

#[utoipa::path(operation_id = "getChangeRules", get, path = "/v1/catalog/change-rules", tag = "catalog",
    responses((status = 200, body = ChangeRules)))]
pub async fn get_change_rules(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<ChangeRules>> {
    Ok(Json(s.app.get_change_rules(&p).await?))
}
