//! TM Forum TMF620 Product Catalog Management (v4) as a facade over Quoin's own catalog,
//! under `/tmf-api/productCatalogManagement/v4/`.
//!
//! - A Quoin product is both a `productSpecification` and a `productOffering` (same id);
//!   the offering refers to its specification and to its prices.
//! - The latest version of a Quoin price is a `productOfferingPrice` (id = the version's id;
//!   a PATCH makes a new version, which has its own id).
//! - A Quoin category is a `category` (id = the category code).
//!
//! These routes follow the TMF specification, not Quoin's, so they stay out of the OpenAPI
//! document; their errors are TMF `Error` bodies `{code, reason, message, status, @type}`.

pub(crate) mod error;
mod handlers;
mod input;
pub(crate) mod list;
mod mapping;

use axum::routing::get;
use axum::Router;

use crate::AppState;

pub use error::TmfError;

/// Path prefix of every TMF620 resource (`href`s are absolute paths under it).
pub const BASE: &str = "/tmf-api/productCatalogManagement/v4";

/// The TMF620 routes; mount them behind the same authentication as `/v1`.
pub fn routes() -> Router<AppState> {
    use handlers::*;
    let path = |resource: &str| format!("{BASE}/{resource}");
    Router::new()
        .route(
            &path("productSpecification"),
            get(list_specifications).post(create_specification),
        )
        .route(
            &path("productSpecification/{id}"),
            get(get_specification)
                .patch(patch_specification)
                .delete(delete_specification),
        )
        .route(
            &path("productOffering"),
            get(list_offerings).post(create_offering),
        )
        .route(
            &path("productOffering/{id}"),
            get(get_offering)
                .patch(patch_offering)
                .delete(delete_offering),
        )
        .route(
            &path("productOfferingPrice"),
            get(list_prices).post(create_price),
        )
        .route(
            &path("productOfferingPrice/{id}"),
            get(get_price).patch(patch_price).delete(delete_price),
        )
        .route(
            &path("category"),
            get(list_categories).post(create_category),
        )
        .route(
            &path("category/{id}"),
            get(get_category)
                .patch(patch_category)
                .delete(delete_category),
        )
}

/// The absolute path of a resource.
pub(crate) fn href(resource: &str, id: &str) -> String {
    format!("{BASE}/{resource}/{id}")
}
