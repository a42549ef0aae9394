//! Catalog use cases: products with their prices, the reference lists (categories,
//! metrics, terms, price books), and catalog import/export as one document.

use std::collections::HashMap;

use quoin_core::catalog::Lifecycle;
use quoin_store::new_id;
use quoin_store::repo::{CatalogTable, DefinitionTable};
use quoin_store::rows::{CategoryRow, DefinitionRow, PriceBookRow, PriceRow, ProductRow};
use quoin_store::Tx;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::check::{check, Checked, FieldError, Known};
use super::spec::*;
use crate::auth::{Action, Principal};
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::{ListParams, Price, Product, ProductPage};
use crate::App;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

fn to_json<T: Serialize>(v: &T) -> AppResult<String> {
    serde_json::to_string(v).map_err(internal)
}

fn code_of<T: Serialize>(v: &T) -> String {
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

/// Errors about the one product of a document, with paths relative to the product.
fn single_product(e: AppError) -> AppError {
    match e {
        AppError::InvalidMany { errors, .. } => AppError::InvalidMany {
            code: "invalid_field",
            errors: errors
                .into_iter()
                .map(|(f, m)| (f.strip_prefix("products[0].").unwrap_or(&f).to_string(), m))
                .collect(),
        },
        other => other,
    }
}

fn lifecycle(code: LifecycleCode) -> Lifecycle {
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
        term: spec.term,
        effective_from: spec.effective_from,
    })
}

/// The latest version of each price code, in code order.
fn latest_versions(rows: Vec<PriceRow>) -> Vec<PriceRow> {
    let mut latest: Vec<PriceRow> = Vec::new();
    for r in rows {
        match latest.last_mut() {
            Some(last) if last.code == r.code => {
                if r.version > last.version {
                    *last = r;
                }
            }
            _ => latest.push(r),
        }
    }
    latest
}

fn product_spec_of(row: &ProductRow) -> AppResult<ProductSpec> {
    let mut spec: ProductSpec = serde_json::from_str(&row.definition).map_err(internal)?;
    spec.code = row.code.clone();
    spec.name = row.name.clone();
    spec.category = row.category_code.clone();
    Ok(spec)
}

async fn product_view(tx: &mut Tx, row: &ProductRow) -> AppResult<Product> {
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
async fn known(tx: &mut Tx, tenant: &str) -> AppResult<Known> {
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
    })
}

/// Counts of what an import created, changed or found identical, per kind of entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportCounts {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
}

impl ImportCounts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// True when nothing was written (`dry_run`).
    pub dry_run: bool,
    pub categories: ImportCounts,
    pub metrics: ImportCounts,
    pub terms: ImportCounts,
    pub price_books: ImportCounts,
    pub products: ImportCounts,
    /// A changed price becomes a new version; subscriptions keep theirs.
    pub prices: ImportCounts,
}

struct Writer<'a> {
    tx: &'a mut Tx,
    tenant: &'a str,
    now: i64,
}

impl Writer<'_> {
    async fn definition(
        &mut self,
        table: DefinitionTable,
        prefix: &str,
        code: &str,
        name: &str,
        json: String,
        existing: &HashMap<String, DefinitionRow>,
    ) -> AppResult<Outcome> {
        let outcome = match existing.get(code) {
            None => Outcome::Created,
            Some(row) if row.name == name && row.definition == json => {
                return Ok(Outcome::Unchanged)
            }
            Some(_) => Outcome::Updated,
        };
        self.tx
            .upsert_definition(
                table,
                &DefinitionRow {
                    id: new_id(prefix),
                    tenant_id: self.tenant.to_string(),
                    code: code.to_string(),
                    name: name.to_string(),
                    definition: json,
                    updated_at_us: self.now,
                },
            )
            .await?;
        Ok(outcome)
    }

    /// Inserts or updates a product and versions its changed prices.
    async fn product(
        &mut self,
        spec: &ProductSpec,
        report: &mut ImportReport,
    ) -> AppResult<ProductRow> {
        let mut bare = spec.clone();
        bare.prices.clear();
        let definition = to_json(&bare)?;
        let status = code_of(&spec.status.unwrap_or(LifecycleCode::Active));
        let kind = code_of(&spec.kind.unwrap_or(ProductKindCode::Service));
        let row = match self.tx.get_product_by_code(self.tenant, &spec.code).await? {
            None => {
                let row = ProductRow {
                    id: new_id("prd"),
                    tenant_id: self.tenant.to_string(),
                    code: spec.code.clone(),
                    name: spec.name.clone(),
                    status,
                    created_at_us: self.now,
                    kind,
                    category_code: spec.category.clone(),
                    definition,
                    updated_at_us: self.now,
                };
                self.tx.insert_product(&row).await?;
                report.products.add(Outcome::Created);
                row
            }
            Some(mut row) => {
                let from =
                    LifecycleCode::deserialize(serde_json::Value::String(row.status.clone()))
                        .map_err(internal)?;
                let to = spec.status.unwrap_or(LifecycleCode::Active);
                if from != to && !lifecycle(from).can_become(lifecycle(to)) {
                    return Err(AppError::Conflict {
                        code: "invalid_transition",
                        message: format!(
                            "product `{}` is {} and cannot become {}",
                            spec.code,
                            row.status,
                            code_of(&to)
                        ),
                    });
                }
                if row.name == spec.name
                    && row.status == status
                    && row.kind == kind
                    && row.category_code == spec.category
                    && row.definition == definition
                {
                    report.products.add(Outcome::Unchanged);
                } else {
                    row.name = spec.name.clone();
                    row.status = status;
                    row.kind = kind;
                    row.category_code = spec.category.clone();
                    row.definition = definition;
                    row.updated_at_us = self.now;
                    self.tx.update_product(&row).await?;
                    report.products.add(Outcome::Updated);
                }
                row
            }
        };
        let existing = latest_versions(self.tx.list_prices(self.tenant, &row.id).await?);
        for price in &spec.prices {
            let code = price.code.clone().unwrap_or_default();
            let json = to_json(price)?;
            let version = match existing.iter().find(|r| r.code == code) {
                Some(r) if r.definition == json => {
                    report.prices.add(Outcome::Unchanged);
                    continue;
                }
                Some(r) => {
                    report.prices.add(Outcome::Updated);
                    r.version + 1
                }
                None => {
                    report.prices.add(Outcome::Created);
                    1
                }
            };
            let amount = match &price.model {
                Some(ModelSpec::PerUnit { unit_amount }) => unit_amount.clone(),
                Some(ModelSpec::Flat { amount }) => amount.clone(),
                _ => "0".into(),
            };
            self.tx
                .insert_price(&PriceRow {
                    id: new_id("pri"),
                    tenant_id: self.tenant.to_string(),
                    product_id: row.id.clone(),
                    currency: price.currency.clone(),
                    amount,
                    period: price.period.clone().unwrap_or_default(),
                    timing: price.timing.clone().unwrap_or_else(|| "in_advance".into()),
                    created_at_us: self.now,
                    code,
                    version,
                    effective_from: price.effective_from.map(|d| d.to_string()),
                    price_type: code_of(&price.price_type.unwrap_or(PriceTypeCode::Recurring)),
                    price_book: price.price_book.clone(),
                    definition: json,
                })
                .await?;
        }
        Ok(row)
    }
}

impl App {
    async fn checked(
        &self,
        tx: &mut Tx,
        tenant: &str,
        doc: &CatalogDocument,
    ) -> AppResult<Checked> {
        let known = known(tx, tenant).await?;
        check(doc, &known).map_err(invalid_catalog)
    }

    /// Applies a catalog document atomically: all of it, or (on any problem) none of it.
    /// Entries are matched by code; changed prices get a new version.
    pub async fn import_catalog(
        &self,
        p: &Principal,
        doc: CatalogDocument,
        dry_run: bool,
    ) -> AppResult<ImportReport> {
        p.require(Action::WriteCatalog)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let checked = self.checked(&mut tx, tenant, &doc).await?;
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        let mut report = ImportReport {
            dry_run,
            ..Default::default()
        };
        let doc = checked.document;

        let categories: HashMap<String, CategoryRow> = tx
            .list_categories(tenant)
            .await?
            .into_iter()
            .map(|c| (c.code.clone(), c))
            .collect();
        for c in &doc.categories {
            let outcome = match categories.get(&c.code) {
                None => Outcome::Created,
                Some(row) if row.name == c.name && row.parent_code == c.parent => {
                    Outcome::Unchanged
                }
                Some(_) => Outcome::Updated,
            };
            report.categories.add(outcome);
            if outcome != Outcome::Unchanged {
                tx.upsert_category(&CategoryRow {
                    id: new_id("cat"),
                    tenant_id: tenant.to_string(),
                    code: c.code.clone(),
                    name: c.name.clone(),
                    parent_code: c.parent.clone(),
                    updated_at_us: now,
                })
                .await?;
            }
        }
        let books: HashMap<String, PriceBookRow> = tx
            .list_price_books(tenant)
            .await?
            .into_iter()
            .map(|b| (b.code.clone(), b))
            .collect();
        for b in &doc.price_books {
            let outcome = match books.get(&b.code) {
                None => Outcome::Created,
                Some(row)
                    if row.name == b.name
                        && row.currency == b.currency
                        && row.segment == b.segment =>
                {
                    Outcome::Unchanged
                }
                Some(_) => Outcome::Updated,
            };
            report.price_books.add(outcome);
            if outcome != Outcome::Unchanged {
                tx.upsert_price_book(&PriceBookRow {
                    id: new_id("pbk"),
                    tenant_id: tenant.to_string(),
                    code: b.code.clone(),
                    name: b.name.clone(),
                    currency: b.currency.clone(),
                    segment: b.segment.clone(),
                    updated_at_us: now,
                })
                .await?;
            }
        }
        let metrics: HashMap<String, DefinitionRow> = tx
            .list_definitions(DefinitionTable::Metrics, tenant)
            .await?
            .into_iter()
            .map(|m| (m.code.clone(), m))
            .collect();
        let terms: HashMap<String, DefinitionRow> = tx
            .list_definitions(DefinitionTable::Terms, tenant)
            .await?
            .into_iter()
            .map(|t| (t.code.clone(), t))
            .collect();
        let mut w = Writer {
            tx: &mut tx,
            tenant,
            now,
        };
        for m in &doc.metrics {
            let o = w
                .definition(
                    DefinitionTable::Metrics,
                    "met",
                    &m.code,
                    &m.name,
                    to_json(m)?,
                    &metrics,
                )
                .await?;
            report.metrics.add(o);
        }
        for t in &doc.terms {
            let o = w
                .definition(
                    DefinitionTable::Terms,
                    "trm",
                    &t.code,
                    &t.name,
                    to_json(t)?,
                    &terms,
                )
                .await?;
            report.terms.add(o);
        }
        for prod in &doc.products {
            w.product(prod, &mut report).await?;
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            emit(
                &mut tx,
                tenant,
                "catalog.imported",
                "catalog",
                tenant,
                &report,
                now,
            )
            .await?;
            tx.commit().await?;
        }
        Ok(report)
    }

    /// The tenant's whole catalog as a document (latest price versions), in code order.
    pub async fn export_catalog(&self, p: &Principal) -> AppResult<CatalogDocument> {
        self.read_catalog(p, true).await
    }

    /// The catalog document, with or without its products (the reference lists alone are
    /// cheap; products bring every price).
    async fn read_catalog(&self, p: &Principal, with_products: bool) -> AppResult<CatalogDocument> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        let mut doc = CatalogDocument {
            categories: tx
                .list_categories(tenant)
                .await?
                .into_iter()
                .map(|c| CategorySpec {
                    code: c.code,
                    name: c.name,
                    parent: c.parent_code,
                })
                .collect(),
            ..Default::default()
        };
        for m in tx
            .list_definitions(DefinitionTable::Metrics, tenant)
            .await?
        {
            doc.metrics
                .push(serde_json::from_str(&m.definition).map_err(internal)?);
        }
        for t in tx.list_definitions(DefinitionTable::Terms, tenant).await? {
            doc.terms
                .push(serde_json::from_str(&t.definition).map_err(internal)?);
        }
        doc.price_books = tx
            .list_price_books(tenant)
            .await?
            .into_iter()
            .map(|b| PriceBookSpec {
                code: b.code,
                name: b.name,
                currency: b.currency,
                segment: b.segment,
            })
            .collect();
        let products = if with_products {
            tx.all_products(tenant).await?
        } else {
            Vec::new()
        };
        for row in products {
            let mut spec = product_spec_of(&row)?;
            for price in latest_versions(tx.list_prices(tenant, &row.id).await?) {
                spec.prices
                    .push(serde_json::from_str(&price.definition).map_err(internal)?);
            }
            doc.products.push(spec);
        }
        tx.commit().await?;
        Ok(doc)
    }

    /// Creates one product (with its prices); a product code that exists is a 409.
    pub async fn create_product(&self, p: &Principal, input: ProductSpec) -> AppResult<Product> {
        p.require(Action::WriteCatalog)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let doc = CatalogDocument {
            products: vec![input],
            ..Default::default()
        };
        let checked = self
            .checked(&mut tx, tenant, &doc)
            .await
            .map_err(single_product)?;
        let spec = &checked.document.products[0];
        if tx.get_product_by_code(tenant, &spec.code).await?.is_some() {
            return Err(AppError::Conflict {
                code: "code_taken",
                message: format!("a product with code `{}` exists", spec.code),
            });
        }
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        let mut report = ImportReport::default();
        let row = Writer {
            tx: &mut tx,
            tenant,
            now,
        }
        .product(spec, &mut report)
        .await?;
        let view = product_view(&mut tx, &row).await?;
        emit(
            &mut tx,
            tenant,
            "product.created",
            "product",
            &row.id,
            &view,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn get_product(&self, p: &Principal, id: &str) -> AppResult<Product> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let row = tx
            .get_product(&p.tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("product", id))?;
        let view = product_view(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn list_products(&self, p: &Principal, page: &ListParams) -> AppResult<ProductPage> {
        p.require(Action::Read)?;
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .list_products(&p.tenant_id, page.cursor.as_deref(), limit)
            .await?;
        let mut data = Vec::with_capacity(rows.items.len());
        for r in &rows.items {
            data.push(product_view(&mut tx, r).await?);
        }
        tx.commit().await?;
        Ok(ProductPage {
            data,
            next_cursor: rows.next_cursor,
        })
    }

    /// Renames, re-describes, re-categorises or moves a product along its lifecycle.
    pub async fn update_product(
        &self,
        p: &Principal,
        id: &str,
        patch: ProductPatch,
    ) -> AppResult<Product> {
        p.require(Action::WriteCatalog)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let row = tx
            .get_product(tenant, id)
            .await?
            .ok_or_else(|| AppError::not_found("product", id))?;
        let mut spec = product_spec_of(&row)?;
        spec.prices = latest_versions(tx.list_prices(tenant, id).await?)
            .iter()
            .map(|r| serde_json::from_str(&r.definition).map_err(internal))
            .collect::<AppResult<_>>()?;
        let current = spec.status.unwrap_or(LifecycleCode::Active);
        if let Some(to) = patch.status {
            let from = lifecycle(current);
            if to != current && !from.can_become(lifecycle(to)) {
                return Err(AppError::Conflict {
                    code: "invalid_transition",
                    message: format!(
                        "a {} product cannot become {}",
                        code_of(&current),
                        code_of(&to)
                    ),
                });
            }
            spec.status = Some(to);
        }
        if let Some(name) = patch.name {
            spec.name = name;
        }
        if let Some(d) = patch.description {
            spec.description = Some(d).filter(|d| !d.trim().is_empty());
        }
        if let Some(c) = patch.category {
            spec.category = Some(c).filter(|c| !c.trim().is_empty());
        }
        let doc = CatalogDocument {
            products: vec![spec],
            ..Default::default()
        };
        let checked = self
            .checked(&mut tx, tenant, &doc)
            .await
            .map_err(single_product)?;
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        let mut report = ImportReport::default();
        let row = Writer {
            tx: &mut tx,
            tenant,
            now,
        }
        .product(&checked.document.products[0], &mut report)
        .await?;
        let view = product_view(&mut tx, &row).await?;
        emit(
            &mut tx,
            tenant,
            "product.updated",
            "product",
            id,
            &view,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Deletes a product that no subscription uses (retire it otherwise).
    pub async fn delete_product(&self, p: &Principal, id: &str) -> AppResult<()> {
        p.require(Action::WriteCatalog)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let row = tx
            .get_product(tenant, id)
            .await?
            .ok_or_else(|| AppError::not_found("product", id))?;
        let used = tx.product_subscription_count(tenant, id).await?;
        if used > 0 {
            return Err(AppError::Conflict {
                code: "product_in_use",
                message: format!(
                    "product `{}` has {used} subscription(s); retire it instead",
                    row.code
                ),
            });
        }
        let dependents: Vec<String> = tx
            .all_products(tenant)
            .await?
            .iter()
            .filter(|other| other.id != row.id)
            .filter_map(|other| product_spec_of(other).ok())
            .filter(|s| {
                s.add_ons.iter().any(|a| a.product == row.code)
                    || s.components.iter().any(|c| c.product == row.code)
            })
            .map(|s| s.code)
            .collect();
        if !dependents.is_empty() {
            return Err(AppError::Conflict {
                code: "product_in_use",
                message: format!(
                    "product `{}` is an add-on or component of {}",
                    row.code,
                    dependents.join(", ")
                ),
            });
        }
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        tx.delete_product(tenant, id).await?;
        emit(
            &mut tx,
            tenant,
            "product.deleted",
            "product",
            id,
            &serde_json::json!({"id": id, "code": row.code}),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a price to a product: a new code is version 1, an existing code gets a new
    /// version (existing subscriptions keep theirs).
    pub async fn add_price(
        &self,
        p: &Principal,
        product_id: &str,
        price: PriceSpec,
    ) -> AppResult<Price> {
        p.require(Action::WriteCatalog)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let row = tx
            .get_product(tenant, product_id)
            .await?
            .ok_or_else(|| AppError::not_found("product", product_id))?;
        let mut spec = product_spec_of(&row)?;
        let mut prices: Vec<PriceSpec> = latest_versions(tx.list_prices(tenant, product_id).await?)
            .iter()
            .map(|r| serde_json::from_str(&r.definition).map_err(internal))
            .collect::<AppResult<_>>()?;
        let index = match prices
            .iter()
            .position(|x| x.code.is_some() && x.code == price.code)
        {
            Some(i) => {
                prices[i] = price;
                i
            }
            None => {
                prices.push(price);
                prices.len() - 1
            }
        };
        spec.prices = prices;
        let doc = CatalogDocument {
            products: vec![spec],
            ..Default::default()
        };
        let checked =
            self.checked(&mut tx, tenant, &doc)
                .await
                .map_err(|e| match single_product(e) {
                    AppError::InvalidMany { code, errors } => AppError::InvalidMany {
                        code,
                        errors: errors
                            .into_iter()
                            .map(|(f, m)| (f.replacen(&format!("prices[{index}]."), "", 1), m))
                            .collect(),
                    },
                    other => other,
                })?;
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        let mut report = ImportReport::default();
        Writer {
            tx: &mut tx,
            tenant,
            now,
        }
        .product(&checked.document.products[0], &mut report)
        .await?;
        let code = checked.document.products[0].prices[index]
            .code
            .clone()
            .unwrap_or_default();
        let created = latest_versions(tx.list_prices(tenant, product_id).await?)
            .into_iter()
            .find(|r| r.code == code)
            .ok_or_else(|| internal("price just written is missing"))?;
        let view = price_view(&created)?;
        emit(
            &mut tx,
            tenant,
            "price.created",
            "price",
            &created.id,
            &view,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// One price version by id.
    pub async fn get_price(&self, p: &Principal, id: &str) -> AppResult<Price> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let row = tx
            .get_price(&p.tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("price", id))?;
        tx.commit().await?;
        price_view(&row)
    }

    /// The latest version of every price of the tenant.
    pub async fn list_prices(&self, p: &Principal) -> AppResult<Vec<Price>> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let rows = tx.all_prices(&p.tenant_id).await?;
        tx.commit().await?;
        let mut latest: Vec<PriceRow> = Vec::new();
        for r in rows {
            match latest.last_mut() {
                Some(last) if last.product_id == r.product_id && last.code == r.code => *last = r,
                _ => latest.push(r),
            }
        }
        latest.iter().map(price_view).collect()
    }

    pub async fn list_metrics(&self, p: &Principal) -> AppResult<Vec<MetricSpec>> {
        Ok(self.read_catalog(p, false).await?.metrics)
    }

    pub async fn list_terms(&self, p: &Principal) -> AppResult<Vec<TermSpec>> {
        Ok(self.read_catalog(p, false).await?.terms)
    }

    pub async fn list_price_books(&self, p: &Principal) -> AppResult<Vec<PriceBookSpec>> {
        Ok(self.read_catalog(p, false).await?.price_books)
    }

    pub async fn list_categories(&self, p: &Principal) -> AppResult<Vec<CategorySpec>> {
        Ok(self.read_catalog(p, false).await?.categories)
    }

    /// Creates or replaces one entry (metric, term, price book or category) by its code,
    /// with the same validation as a catalog import.
    pub async fn put_catalog_entry(
        &self,
        p: &Principal,
        code: &str,
        entry: CatalogEntry,
    ) -> AppResult<CatalogEntry> {
        let mut doc = CatalogDocument::default();
        let kind = entry.kind();
        let (list, entry_code) = match &entry {
            CatalogEntry::Metric(m) => ("metrics[0].", m.code.clone()),
            CatalogEntry::Term(t) => ("terms[0].", t.code.clone()),
            CatalogEntry::PriceBook(b) => ("price_books[0].", b.code.clone()),
            CatalogEntry::Category(c) => ("categories[0].", c.code.clone()),
        };
        if entry_code != code {
            return Err(AppError::invalid(
                "code",
                format!("must match the code in the path, `{code}`"),
            ));
        }
        match entry {
            CatalogEntry::Metric(m) => doc.metrics.push(m),
            CatalogEntry::Term(t) => doc.terms.push(t),
            CatalogEntry::PriceBook(b) => doc.price_books.push(b),
            CatalogEntry::Category(c) => doc.categories.push(c),
        }
        match self.import_catalog(p, doc, false).await {
            Err(AppError::InvalidMany { errors, .. }) => Err(AppError::InvalidMany {
                code: "invalid_field",
                errors: errors
                    .into_iter()
                    .map(|(f, m)| (f.strip_prefix(list).unwrap_or(&f).to_string(), m))
                    .collect(),
            }),
            Err(e) => Err(e),
            Ok(_) => self.get_catalog_entry(p, kind, code).await,
        }
    }

    pub async fn get_catalog_entry(
        &self,
        p: &Principal,
        kind: CatalogEntryKind,
        code: &str,
    ) -> AppResult<CatalogEntry> {
        let doc = self.read_catalog(p, false).await?;
        let found = match kind {
            CatalogEntryKind::Metric => doc
                .metrics
                .into_iter()
                .find(|m| m.code == code)
                .map(CatalogEntry::Metric),
            CatalogEntryKind::Term => doc
                .terms
                .into_iter()
                .find(|t| t.code == code)
                .map(CatalogEntry::Term),
            CatalogEntryKind::PriceBook => doc
                .price_books
                .into_iter()
                .find(|b| b.code == code)
                .map(CatalogEntry::PriceBook),
            CatalogEntryKind::Category => doc
                .categories
                .into_iter()
                .find(|c| c.code == code)
                .map(CatalogEntry::Category),
        };
        found.ok_or_else(|| AppError::not_found(kind.resource(), code))
    }

    /// Deletes an entry that nothing refers to (409 naming the users otherwise).
    pub async fn delete_catalog_entry(
        &self,
        p: &Principal,
        kind: CatalogEntryKind,
        code: &str,
    ) -> AppResult<()> {
        p.require(Action::WriteCatalog)?;
        let doc = self.export_catalog(p).await?;
        let mut users: Vec<String> = Vec::new();
        for product in &doc.products {
            if kind == CatalogEntryKind::Category && product.category.as_deref() == Some(code) {
                users.push(product.code.clone());
            }
            for price in &product.prices {
                let uses = match kind {
                    CatalogEntryKind::Metric => price.metric.as_deref() == Some(code),
                    CatalogEntryKind::Term => price.term.as_deref() == Some(code),
                    CatalogEntryKind::PriceBook => price.price_book.as_deref() == Some(code),
                    CatalogEntryKind::Category => false,
                };
                if uses {
                    users.push(price.code.clone().unwrap_or_default());
                }
            }
        }
        if kind == CatalogEntryKind::Category {
            users.extend(
                doc.categories
                    .iter()
                    .filter(|c| c.parent.as_deref() == Some(code))
                    .map(|c| c.code.clone()),
            );
        }
        if !users.is_empty() {
            return Err(AppError::Conflict {
                code: "in_use",
                message: format!(
                    "{} `{code}` is used by {}",
                    kind.resource(),
                    users.join(", ")
                ),
            });
        }
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        if !tx.delete_catalog_entry(kind.table(), tenant, code).await? {
            return Err(AppError::not_found(kind.resource(), code));
        }
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        let topic = format!("{}.deleted", kind.resource().replace(' ', "_"));
        emit(
            &mut tx,
            tenant,
            &topic,
            kind.resource(),
            code,
            &serde_json::json!({"code": code}),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// When each catalog entity last changed (microseconds since the epoch), for facades such
/// as TMF620 that show `lastUpdate`: products and categories by their update time, price
/// versions by their creation (a version never changes).
#[derive(Debug, Clone, Default)]
pub struct CatalogStamps {
    /// product id → updated at
    pub products: HashMap<String, i64>,
    /// price (version) id → created at
    pub prices: HashMap<String, i64>,
    /// category code → updated at
    pub categories: HashMap<String, i64>,
}

impl App {
    pub async fn catalog_stamps(&self, p: &Principal) -> AppResult<CatalogStamps> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        let stamps = CatalogStamps {
            products: tx
                .all_products(tenant)
                .await?
                .into_iter()
                .map(|r| (r.id, r.updated_at_us))
                .collect(),
            prices: tx
                .all_prices(tenant)
                .await?
                .into_iter()
                .map(|r| (r.id, r.created_at_us))
                .collect(),
            categories: tx
                .list_categories(tenant)
                .await?
                .into_iter()
                .map(|r| (r.code, r.updated_at_us))
                .collect(),
        };
        tx.commit().await?;
        Ok(stamps)
    }
}

/// One entry of the catalog's reference lists.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogEntry {
    Metric(MetricSpec),
    Term(TermSpec),
    PriceBook(PriceBookSpec),
    Category(CategorySpec),
}

impl CatalogEntry {
    pub fn kind(&self) -> CatalogEntryKind {
        match self {
            CatalogEntry::Metric(_) => CatalogEntryKind::Metric,
            CatalogEntry::Term(_) => CatalogEntryKind::Term,
            CatalogEntry::PriceBook(_) => CatalogEntryKind::PriceBook,
            CatalogEntry::Category(_) => CatalogEntryKind::Category,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogEntryKind {
    Metric,
    Term,
    PriceBook,
    Category,
}

impl CatalogEntryKind {
    fn resource(self) -> &'static str {
        match self {
            CatalogEntryKind::Metric => "metric",
            CatalogEntryKind::Term => "term",
            CatalogEntryKind::PriceBook => "price book",
            CatalogEntryKind::Category => "category",
        }
    }

    fn table(self) -> CatalogTable {
        match self {
            CatalogEntryKind::Metric => CatalogTable::Metrics,
            CatalogEntryKind::Term => CatalogTable::Terms,
            CatalogEntryKind::PriceBook => CatalogTable::PriceBooks,
            CatalogEntryKind::Category => CatalogTable::Categories,
        }
    }
}
