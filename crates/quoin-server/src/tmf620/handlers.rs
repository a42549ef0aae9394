//! The TMF620 handlers: list, get, create, patch and delete of each resource, each a thin
//! translation around the catalog use cases of [`quoin_app::App`].

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use quoin_app::catalog::spec::{
    CatalogDocument, CategorySpec, ProductKindCode, ProductPatch, ProductSpec,
};
use quoin_app::catalog::CatalogEntryKind;
use quoin_app::model::Product;
use quoin_app::{App, AppError, Principal};
use serde_json::{json, Value};

use super::error::{TmfError, TmfResult};
use super::input::{self, Ref};
use super::list::{created, json_response, select, ListQuery};
use super::mapping::{self as map, CodeIds, Owner, Stamps};
use crate::extract::Caller;
use crate::AppState;

type Reply = TmfResult<Response>;

/// A Quoin 404 as the TMF resource's 404; other errors as they are.
fn missing<'a>(resource: &'static str, id: &'a str) -> impl FnOnce(AppError) -> TmfError + 'a {
    move |e| match e {
        AppError::NotFound { .. } => TmfError::not_found(resource, id),
        other => other.into(),
    }
}

/// A 200 with the resource, after `fields=` selection.
fn one(resource: Value, uri: &Uri) -> Response {
    let fields = ListQuery::fields_only(uri.query());
    json_response(StatusCode::OK, &select(resource, fields.as_deref()))
}

/// The product a reference in a request body names (422 naming the attribute if none).
async fn referenced(app: &App, p: &Principal, field: String, r: &Ref) -> TmfResult<Product> {
    app.get_product(p, &r.id).await.map_err(|e| match e {
        AppError::NotFound { .. } => TmfError::invalid(field, format!("no product `{}`", r.id)),
        other => other.into(),
    })
}

/// Code → id of what a product refers to by code (only loaded when it refers to any).
async fn code_ids_for(app: &App, p: &Principal, product: &Product) -> TmfResult<CodeIds> {
    if product.components.is_empty() && product.add_ons.is_empty() {
        return Ok(CodeIds::new());
    }
    Ok(map::code_ids(&map::all_products(app, p).await?))
}

type ProductView = fn(&Product, &Stamps, &CodeIds) -> Value;

async fn list_products_as(
    s: &AppState,
    p: &Principal,
    uri: &Uri,
    attrs: &[&str],
    view: ProductView,
) -> Reply {
    let q = ListQuery::parse(uri.query(), attrs)?;
    let products = map::all_products(&s.app, p).await?;
    let stamps = Stamps::load(&s.app, p).await?;
    let ids = map::code_ids(&products);
    Ok(q.respond(products.iter().map(|x| view(x, &stamps, &ids)).collect()))
}

async fn product_view(
    s: &AppState,
    p: &Principal,
    product: &Product,
    view: ProductView,
) -> TmfResult<Value> {
    let stamps = Stamps::load(&s.app, p).await?;
    let ids = code_ids_for(&s.app, p, product).await?;
    Ok(view(product, &stamps, &ids))
}

async fn get_product_as(
    s: &AppState,
    p: &Principal,
    id: &str,
    uri: &Uri,
    resource: &'static str,
    view: ProductView,
) -> Reply {
    let product = s
        .app
        .get_product(p, id)
        .await
        .map_err(missing(resource, id))?;
    Ok(one(product_view(s, p, &product, view).await?, uri))
}

/// Creates a product; a code derived from the name is made unique (retrying if another
/// request takes it first).
async fn create_product(
    app: &App,
    p: &Principal,
    mut spec: ProductSpec,
    derived: bool,
    bundled: &str,
) -> TmfResult<Product> {
    let mut attempts = 0;
    loop {
        if derived {
            let taken: HashSet<String> = map::all_products(app, p)
                .await?
                .into_iter()
                .map(|x| x.code)
                .collect();
            spec.code = input::unique(input::slug(&spec.name), &taken);
        }
        match app.create_product(p, spec.clone()).await {
            Err(AppError::Conflict {
                code: "code_taken", ..
            }) if derived && attempts < 3 => attempts += 1,
            Ok(product) => return Ok(product),
            Err(e) => {
                let code = if derived { "name" } else { "productNumber" };
                return Err(TmfError::from(e)
                    .rename_fields(&[("components", bundled), ("code", code)])
                    .rename_fields(input::PRODUCT_FIELDS));
            }
        }
    }
}

async fn patch_product(
    s: &AppState,
    p: &Principal,
    id: &str,
    patch: ProductPatch,
    resource: &'static str,
) -> TmfResult<Product> {
    s.app
        .update_product(p, id, patch)
        .await
        .map_err(|e| missing(resource, id)(e).rename_fields(input::PRODUCT_FIELDS))
}

async fn delete_product_as(s: &AppState, p: &Principal, id: &str, resource: &'static str) -> Reply {
    s.app
        .delete_product(p, id)
        .await
        .map_err(missing(resource, id))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn lifecycle(value: Option<&str>) -> TmfResult<Option<quoin_app::catalog::spec::LifecycleCode>> {
    value.map(input::lifecycle_in).transpose()
}

// ---- productSpecification -------------------------------------------------------------

pub async fn list_specifications(State(s): State<AppState>, Caller(p): Caller, uri: Uri) -> Reply {
    list_products_as(&s, &p, &uri, map::SPECIFICATION_ATTRS, map::specification).await
}

pub async fn get_specification(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Reply {
    get_product_as(&s, &p, &id, &uri, map::SPECIFICATION, map::specification).await
}

pub async fn create_specification(
    State(s): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Reply {
    let b: input::SpecificationCreate = input::body(&headers, &bytes, false)?;
    let status = lifecycle(b.lifecycle_status.as_deref())?;
    let mut components = Vec::new();
    for (i, r) in b.bundled_product_specification.iter().enumerate() {
        let part = referenced(
            &s.app,
            &p,
            format!("bundledProductSpecification[{i}].id"),
            r,
        )
        .await?;
        components.push(json!({"product": part.code, "quantity": "1"}));
    }
    let mut add_ons = Vec::new();
    for (i, r) in b.product_specification_relationship.iter().enumerate() {
        let kind = r.relationship_type.as_deref().unwrap_or("");
        if !kind.eq_ignore_ascii_case("addon") {
            return Err(TmfError::invalid(
                format!("productSpecificationRelationship[{i}].relationshipType"),
                format!("only addOn relationships are supported, got `{kind}`"),
            ));
        }
        let add_on = referenced(
            &s.app,
            &p,
            format!("productSpecificationRelationship[{i}].id"),
            &Ref { id: r.id.clone() },
        )
        .await?;
        add_ons.push(json!({"product": add_on.code}));
    }
    let bundle = b.is_bundle.unwrap_or(!components.is_empty());
    let derived = b.product_number.is_none();
    let spec: ProductSpec = input::quoin_input(json!({
        "code": b.product_number.unwrap_or_default(),
        "name": b.name,
        "kind": bundle.then_some(ProductKindCode::Bundle),
        "status": status,
        "description": b.description,
        "add_ons": add_ons,
        "components": components,
    }))?;
    let product = create_product(&s.app, &p, spec, derived, "bundledProductSpecification").await?;
    Ok(created(
        &product_view(&s, &p, &product, map::specification).await?,
    ))
}

pub async fn patch_specification(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Reply {
    let b: input::SpecificationPatch = input::body(&headers, &bytes, true)?;
    if let Some(number) = &b.product_number {
        let current = s
            .app
            .get_product(&p, &id)
            .await
            .map_err(missing(map::SPECIFICATION, &id))?;
        if *number != current.code {
            return Err(TmfError::bad_request(
                "not_patchable",
                Some("productNumber".into()),
                "productNumber is the product code and cannot change",
            ));
        }
    }
    let patch: ProductPatch = input::quoin_input(json!({
        "name": b.name,
        "description": b.description.map(Option::unwrap_or_default),
        "status": lifecycle(b.lifecycle_status.as_deref())?,
    }))?;
    let product = patch_product(&s, &p, &id, patch, map::SPECIFICATION).await?;
    Ok(json_response(
        StatusCode::OK,
        &product_view(&s, &p, &product, map::specification).await?,
    ))
}

pub async fn delete_specification(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Reply {
    delete_product_as(&s, &p, &id, map::SPECIFICATION).await
}

// ---- productOffering ------------------------------------------------------------------

pub async fn list_offerings(State(s): State<AppState>, Caller(p): Caller, uri: Uri) -> Reply {
    list_products_as(&s, &p, &uri, map::OFFERING_ATTRS, map::offering).await
}

pub async fn get_offering(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Reply {
    get_product_as(&s, &p, &id, &uri, map::OFFERING, map::offering).await
}

/// At most one category reference → the Quoin category code.
fn one_category(refs: &[Ref]) -> TmfResult<Option<String>> {
    match refs {
        [] => Ok(None),
        [c] => Ok(Some(c.id.clone())),
        _ => Err(TmfError::invalid(
            "category",
            "a Quoin product belongs to at most one category",
        )),
    }
}

pub async fn create_offering(
    State(s): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Reply {
    let b: input::OfferingCreate = input::body(&headers, &bytes, false)?;
    if b.product_specification.is_some() {
        return Err(TmfError::invalid(
            "productSpecification",
            "a Quoin product offering is its own specification: omit productSpecification",
        ));
    }
    if !b.product_offering_price.is_empty() {
        return Err(TmfError::invalid(
            "productOfferingPrice",
            "create prices with POST productOfferingPrice referring to this offering",
        ));
    }
    let status = lifecycle(b.lifecycle_status.as_deref())?;
    let category = one_category(&b.category)?;
    let mut components = Vec::new();
    for (i, r) in b.bundled_product_offering.iter().enumerate() {
        let part = referenced(
            &s.app,
            &p,
            format!("bundledProductOffering[{i}].id"),
            &Ref { id: r.id.clone() },
        )
        .await?;
        let quantity = r.option.as_ref().and_then(|o| o.default).unwrap_or(1);
        components.push(json!({"product": part.code, "quantity": quantity.to_string()}));
    }
    let bundle = b.is_bundle.unwrap_or(!components.is_empty());
    let spec: ProductSpec = input::quoin_input(json!({
        "code": "",
        "name": b.name,
        "kind": bundle.then_some(ProductKindCode::Bundle),
        "status": status,
        "category": category,
        "description": b.description,
        "components": components,
    }))?;
    let product = create_product(&s.app, &p, spec, true, "bundledProductOffering").await?;
    Ok(created(
        &product_view(&s, &p, &product, map::offering).await?,
    ))
}

pub async fn patch_offering(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Reply {
    let b: input::OfferingPatch = input::body(&headers, &bytes, true)?;
    let category = match &b.category {
        None => None,
        Some(None) => Some(String::new()),
        Some(Some(refs)) => Some(one_category(refs)?.unwrap_or_default()),
    };
    let patch: ProductPatch = input::quoin_input(json!({
        "name": b.name,
        "description": b.description.map(Option::unwrap_or_default),
        "status": lifecycle(b.lifecycle_status.as_deref())?,
        "category": category,
    }))?;
    let product = patch_product(&s, &p, &id, patch, map::OFFERING).await?;
    Ok(json_response(
        StatusCode::OK,
        &product_view(&s, &p, &product, map::offering).await?,
    ))
}

pub async fn delete_offering(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Reply {
    delete_product_as(&s, &p, &id, map::OFFERING).await
}

// ---- productOfferingPrice -------------------------------------------------------------

fn owner(product: &Product) -> Owner<'_> {
    Owner {
        name: &product.name,
        status: &product.status,
    }
}

pub async fn list_prices(State(s): State<AppState>, Caller(p): Caller, uri: Uri) -> Reply {
    let q = ListQuery::parse(uri.query(), map::PRICE_ATTRS)?;
    // A product view carries the latest version of each of its prices.
    let products = map::all_products(&s.app, &p).await?;
    let stamps = Stamps::load(&s.app, &p).await?;
    let stamps = &stamps;
    let all = products
        .iter()
        .flat_map(|product| {
            product
                .prices
                .iter()
                .map(move |pr| map::price(pr, &owner(product), true, stamps))
        })
        .collect();
    Ok(q.respond(all))
}

pub async fn get_price(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Reply {
    let price = s
        .app
        .get_price(&p, &id)
        .await
        .map_err(missing(map::PRICE, &id))?;
    let product = s.app.get_product(&p, &price.product_id).await?;
    let latest = product.prices.iter().any(|x| x.id == price.id);
    let stamps = Stamps::load(&s.app, &p).await?;
    Ok(one(
        map::price(&price, &owner(&product), latest, &stamps),
        &uri,
    ))
}

pub async fn create_price(
    State(s): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Reply {
    let b: input::PriceCreate = input::body(&headers, &bytes, false)?;
    let Some(offering) = &b.product_offering else {
        return Err(TmfError::missing(
            "productOffering",
            "productOffering (a reference to the offering the price belongs to) is required",
        ));
    };
    let product = referenced(&s.app, &p, "productOffering.id".into(), offering).await?;
    let taken: HashSet<String> = product.prices.iter().map(|x| x.code.clone()).collect();
    let spec = b.to_spec(input::unique(input::slug(&b.name), &taken))?;
    let price = s
        .app
        .add_price(&p, &product.id, spec)
        .await
        .map_err(|e| TmfError::from(e).rename_fields(input::PRICE_FIELDS))?;
    let stamps = Stamps::load(&s.app, &p).await?;
    Ok(created(&map::price(
        &price,
        &owner(&product),
        true,
        &stamps,
    )))
}

pub async fn patch_price(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Reply {
    let b: input::PricePatch = input::body(&headers, &bytes, true)?;
    let current = s
        .app
        .get_price(&p, &id)
        .await
        .map_err(missing(map::PRICE, &id))?;
    let product = s.app.get_product(&p, &current.product_id).await?;
    if let Some(latest) = product
        .prices
        .iter()
        .find(|x| x.code == current.code && x.id != current.id)
    {
        return Err(TmfError::new(
            StatusCode::CONFLICT,
            "superseded_version",
            format!(
                "version {} of price `{}` is superseded: patch the latest version `{}`",
                current.version, current.code, latest.id
            ),
        ));
    }
    // The definition as stored (every attribute, including those TMF has no name for).
    let spec = s
        .app
        .export_catalog(&p)
        .await?
        .products
        .into_iter()
        .find(|x| x.code == product.code)
        .and_then(|x| {
            x.prices
                .into_iter()
                .find(|pr| pr.code.as_deref() == Some(current.code.as_str()))
        })
        .ok_or_else(|| {
            TmfError::from(AppError::Internal(format!(
                "price `{id}` is missing from the export"
            )))
        })?;
    let spec = b.apply(&current, spec)?;
    let price = s
        .app
        .add_price(&p, &product.id, spec)
        .await
        .map_err(|e| TmfError::from(e).rename_fields(input::PRICE_FIELDS))?;
    let stamps = Stamps::load(&s.app, &p).await?;
    Ok(json_response(
        StatusCode::OK,
        &map::price(&price, &owner(&product), true, &stamps),
    ))
}

/// Quoin keeps every price version (subscriptions are billed on them): no delete.
pub async fn delete_price(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Reply {
    s.app
        .get_price(&p, &id)
        .await
        .map_err(missing(map::PRICE, &id))?;
    Err(TmfError::not_allowed(
        "GET, PATCH",
        "Quoin does not delete prices: delete or retire the productOffering, or PATCH the price to make a new version",
    ))
}

// ---- category -------------------------------------------------------------------------

async fn category_view(s: &AppState, p: &Principal, code: &str) -> TmfResult<Value> {
    let categories = s.app.list_categories(p).await?;
    let c = categories
        .iter()
        .find(|c| c.code == code)
        .ok_or_else(|| TmfError::not_found(map::CATEGORY, code))?;
    let products = map::all_products(&s.app, p).await?;
    let stamps = Stamps::load(&s.app, p).await?;
    Ok(map::category(c, &categories, &products, &stamps))
}

async fn import_category(
    app: &App,
    p: &Principal,
    code: &str,
    name: &str,
    parent: Option<String>,
) -> TmfResult<()> {
    let spec: CategorySpec =
        input::quoin_input(json!({"code": code, "name": name, "parent": parent}))?;
    let doc = CatalogDocument {
        categories: vec![spec],
        ..Default::default()
    };
    app.import_catalog(p, doc, false)
        .await
        .map_err(|e| TmfError::from(e).rename_fields(input::CATEGORY_FIELDS))?;
    Ok(())
}

pub async fn list_categories(State(s): State<AppState>, Caller(p): Caller, uri: Uri) -> Reply {
    let q = ListQuery::parse(uri.query(), map::CATEGORY_ATTRS)?;
    let categories = s.app.list_categories(&p).await?;
    let products = map::all_products(&s.app, &p).await?;
    let stamps = Stamps::load(&s.app, &p).await?;
    Ok(q.respond(
        categories
            .iter()
            .map(|c| map::category(c, &categories, &products, &stamps))
            .collect(),
    ))
}

pub async fn get_category(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Reply {
    Ok(one(category_view(&s, &p, &id).await?, &uri))
}

pub async fn create_category(
    State(s): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Reply {
    let b: input::CategoryCreate = input::body(&headers, &bytes, false)?;
    input::category_lifecycle(b.lifecycle_status.as_deref())?;
    match (b.is_root, &b.parent_id) {
        (Some(true), Some(_)) => {
            return Err(TmfError::invalid(
                "isRoot",
                "a root category has no parentId",
            ))
        }
        (Some(false), None) => {
            return Err(TmfError::missing(
                "parentId",
                "a category that is not a root needs parentId",
            ))
        }
        _ => {}
    }
    let taken: HashSet<String> = s
        .app
        .list_categories(&p)
        .await?
        .into_iter()
        .map(|c| c.code)
        .collect();
    let code = input::unique(input::slug(&b.name), &taken);
    import_category(&s.app, &p, &code, &b.name, b.parent_id).await?;
    Ok(created(&category_view(&s, &p, &code).await?))
}

pub async fn patch_category(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Reply {
    let b: input::CategoryPatch = input::body(&headers, &bytes, true)?;
    let categories = s.app.list_categories(&p).await?;
    let current = categories
        .iter()
        .find(|c| c.code == id)
        .ok_or_else(|| TmfError::not_found(map::CATEGORY, &id))?;
    input::category_lifecycle(b.lifecycle_status.as_deref())?;
    let parent = match (&b.parent_id, b.is_root) {
        (Some(Some(_)), Some(true)) => {
            return Err(TmfError::invalid(
                "isRoot",
                "a root category has no parentId",
            ))
        }
        (Some(parent), _) => parent.clone(),
        (None, Some(true)) => None,
        (None, _) => current.parent.clone(),
    };
    if b.is_root == Some(false) && parent.is_none() {
        return Err(TmfError::missing(
            "parentId",
            "a category that is not a root needs parentId",
        ));
    }
    // The new parent must not be the category itself or one of its descendants.
    let mut ancestor = parent.clone();
    let mut steps = 0;
    while let Some(a) = ancestor {
        if a == id || steps > categories.len() {
            return Err(TmfError::invalid(
                "parentId",
                format!("category `{id}` cannot be under its own subcategory"),
            ));
        }
        ancestor = categories
            .iter()
            .find(|c| c.code == a)
            .and_then(|c| c.parent.clone());
        steps += 1;
    }
    let name = b.name.unwrap_or_else(|| current.name.clone());
    import_category(&s.app, &p, &current.code, &name, parent).await?;
    Ok(json_response(
        StatusCode::OK,
        &category_view(&s, &p, &id).await?,
    ))
}

/// Deletes a category that no product and no subcategory uses (409 `in_use` otherwise).
pub async fn delete_category(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Reply {
    s.app
        .delete_catalog_entry(&p, CatalogEntryKind::Category, &id)
        .await
        .map_err(missing(map::CATEGORY, &id))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
