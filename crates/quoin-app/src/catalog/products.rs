//! Products and their price versions.

use std::collections::HashMap;

use super::spec::*;
use crate::auth::{Action, Principal};
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::{ListParams, Price, Product, ProductPage};
use crate::App;

use super::document::{ImportReport, Writer};
use super::stored::*;

impl App {
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
        // A rule naming a deleted product would fail the next import of the export.
        let rules = crate::change_rules::load_rules(&mut tx, tenant).await?;
        if let Some(i) = rules.rules.iter().position(|r| {
            [&r.from_product, &r.to_product]
                .into_iter()
                .any(|c| c.as_deref() == Some(row.code.as_str()))
        }) {
            return Err(AppError::Conflict {
                code: "product_in_use",
                message: format!(
                    "product `{}` is named by change rule {i}; change the rules first",
                    row.code
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
        let checked = self
            .checked(&mut tx, tenant, &doc)
            .await
            .map_err(|e| relative_to(single_product(e), &format!("prices[{index}].")))?;
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
        latest_versions(rows).iter().map(price_view).collect()
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
