//! Shared pieces of the catalog use cases: stored rows to views, what a tenant already
//! defines, and error shaping.

use std::collections::HashMap;

use quoin_core::catalog::Lifecycle;
use quoin_store::repo::DefinitionTable;
use quoin_store::rows::{DefinitionRow, PriceRow, ProductRow};
use quoin_store::Tx;
use serde::Serialize;

use super::check::{FieldError, Known};
use super::spec::*;
use crate::error::{AppError, AppResult};
use crate::model::{Price, Product};

pub(super) fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

pub(super) fn to_json<T: Serialize>(v: &T) -> AppResult<String> {
    serde_json::to_string(v).map_err(internal)
}

pub(super) fn code_of<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The rejected document's problems as one 422 (every problem listed in `details`).
pub(crate) fn invalid_catalog(errors: Vec<FieldError>) -> AppError {
    AppError::InvalidMany {
        code: "invalid_catalog",
        errors: errors.into_iter().map(|e| (e.field, e.message)).collect(),
    }
}

/// Validation errors of a document made for one entry, with paths relative to `prefix`
/// (the entry's place in the document) and the per-resource code `invalid_field`.
pub(super) fn relative_to(e: AppError, prefix: &str) -> AppError {
    match e {
        AppError::InvalidMany { errors, .. } => AppError::InvalidMany {
            code: "invalid_field",
            errors: errors
                .into_iter()
                .map(|(f, m)| (f.strip_prefix(prefix).unwrap_or(&f).to_string(), m))
                .collect(),
        },
        other => other,
    }
}

/// Errors about the one product of a document, with paths relative to the product.
pub(super) fn single_product(e: AppError) -> AppError {
    relative_to(e, "products[0].")
}

pub(super) fn lifecycle(code: LifecycleCode) -> Lifecycle {
    match code {
        LifecycleCode::Draft => Lifecycle::Draft,
        LifecycleCode::Active => Lifecycle::Active,
        LifecycleCode::Retired => Lifecycle::Retired,
    }
}

pub(crate) fn price_view(r: &PriceRow) -> AppResult<Price> {
    let spec: PriceSpec = serde_json::from_str(&r.definition).map_err(internal)?;
    Ok(Price {
        id: r.id.clone(),
        product_id: r.product_id.clone(),
        code: r.code.clone(),
        version: r.version,
        price_type: spec.price_type.unwrap_or(PriceTypeCode::Recurring),
        currency: r.currency.clone(),
        price_book: r.price_book.clone(),
        amount: match &spec.model {
            Some(ModelSpec::PerUnit { unit_amount }) => Some(unit_amount.clone()),
            Some(ModelSpec::Flat { amount }) => Some(amount.clone()),
            _ => None,
        },
        period: spec.period.clone(),
        timing: r.timing.clone(),
        model: spec.model,
        metric: spec.metric,
        minimum: spec.minimum,
        minimum_commitment: spec.minimum_commitment,
        term: spec.term,
        effective_from: spec.effective_from,
    })
}

/// The latest version of each price code, in code order.
pub(super) fn latest_versions(rows: Vec<PriceRow>) -> Vec<PriceRow> {
    let mut latest: Vec<PriceRow> = Vec::new();
    for r in rows {
        match latest.last_mut() {
            Some(last) if last.product_id == r.product_id && last.code == r.code => {
                if r.version > last.version {
                    *last = r;
                }
            }
            _ => latest.push(r),
        }
    }
    latest
}

pub(crate) fn product_spec_of(row: &ProductRow) -> AppResult<ProductSpec> {
    let mut spec: ProductSpec = serde_json::from_str(&row.definition).map_err(internal)?;
    spec.code = row.code.clone();
    spec.name = row.name.clone();
    spec.category = row.category_code.clone();
    Ok(spec)
}

pub(super) async fn product_view(tx: &mut Tx, row: &ProductRow) -> AppResult<Product> {
    let spec = product_spec_of(row)?;
    let prices = latest_versions(tx.list_prices(&row.tenant_id, &row.id).await?);
    Ok(Product {
        id: row.id.clone(),
        code: row.code.clone(),
        name: row.name.clone(),
        status: row.status.clone(),
        kind: spec.kind.unwrap_or(ProductKindCode::Service),
        category: row.category_code.clone(),
        description: spec.description,
        actions: spec.actions,
        add_ons: spec.add_ons,
        components: spec.components,
        work_orders: spec.work_orders,
        prices: prices.iter().map(price_view).collect::<AppResult<_>>()?,
    })
}

/// What the tenant's catalog already defines (for references a document does not carry).
pub(super) async fn known(tx: &mut Tx, tenant: &str) -> AppResult<Known> {
    let codes = |rows: Vec<DefinitionRow>| rows.into_iter().map(|r| r.code).collect();
    let mut products = HashMap::new();
    for p in tx.all_products(tenant).await? {
        let kind = product_spec_of(&p)?
            .kind
            .unwrap_or(ProductKindCode::Service);
        products.insert(p.code, kind);
    }
    Ok(Known {
        categories: tx
            .list_categories(tenant)
            .await?
            .into_iter()
            .map(|c| (c.code, c.parent_code))
            .collect(),
        metrics: codes(
            tx.list_definitions(DefinitionTable::Metrics, tenant)
                .await?,
        ),
        terms: codes(tx.list_definitions(DefinitionTable::Terms, tenant).await?),
        price_books: tx
            .list_price_books(tenant)
            .await?
            .into_iter()
            .map(|b| (b.code, b.currency))
            .collect(),
        products,
        rating_plans: tx
            .list_rating_plans(tenant)
            .await?
            .into_iter()
            .map(|r| (r.code, r.currency))
            .collect(),
    })
}
