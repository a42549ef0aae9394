//! Products and their prices.

use super::{insert_row, Page};
use crate::rows::{CategoryRow, DefinitionRow, PriceBookRow, PriceRow, ProductRow};
use crate::{on_tx, Result, Tx};

impl Tx {
    pub async fn insert_product(&mut self, row: &ProductRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "products",
            ProductRow,
            row,
            [
                id,
                tenant_id,
                code,
                name,
                status,
                created_at_us,
                kind,
                category_code,
                definition,
                updated_at_us
            ]
        ));
        Ok(())
    }

    pub async fn get_product(&mut self, tenant: &str, id: &str) -> Result<Option<ProductRow>> {
        let sql = "SELECT * FROM products WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn list_products(
        &mut self,
        tenant: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<ProductRow>> {
        let sql = "SELECT * FROM products WHERE tenant_id = $1 AND ($2 IS NULL OR id > $2) \
                   ORDER BY id LIMIT $3";
        let rows: Vec<ProductRow> = on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&mut *c)
            .await?);
        Ok(Page::from_overfetch(rows, limit, |r| r.id.clone()))
    }

    pub async fn insert_price(&mut self, row: &PriceRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "prices",
            PriceRow,
            row,
            [
                id,
                tenant_id,
                product_id,
                currency,
                amount,
                period,
                timing,
                created_at_us,
                code,
                version,
                effective_from,
                price_type,
                price_book,
                definition
            ]
        ));
        Ok(())
    }

    pub async fn get_price(&mut self, tenant: &str, id: &str) -> Result<Option<PriceRow>> {
        let sql = "SELECT * FROM prices WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// The prices among `ids` (sorted, without repeats), in id order, in one statement.
    pub async fn prices_by_ids(&mut self, tenant: &str, ids: &[&str]) -> Result<Vec<PriceRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(match self {
            Tx::Sqlite(t) => {
                // CROSS JOIN: one primary-key lookup per id (an `IN` list made SQLite scan
                // the tenant's prices by its product index).
                sqlx::query_as(
                    "SELECT p.* FROM json_each($2) AS w CROSS JOIN prices p \
                     WHERE p.tenant_id = $1 AND p.id = w.value ORDER BY p.id",
                )
                .bind(tenant)
                .bind(super::usage::pack_strs(ids))
                .fetch_all(&mut **t)
                .await?
            }
            Tx::Postgres(t) => {
                sqlx::query_as(
                    "SELECT * FROM prices WHERE tenant_id = $1 AND id = ANY($2::text[]) \
                     ORDER BY id",
                )
                .bind(tenant)
                .bind(ids)
                .fetch_all(&mut **t)
                .await?
            }
        })
    }

    pub async fn list_prices(&mut self, tenant: &str, product: &str) -> Result<Vec<PriceRow>> {
        let sql = "SELECT * FROM prices WHERE tenant_id = $1 AND product_id = $2 ORDER BY code, version, id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(product)
            .fetch_all(&mut *c)
            .await?))
    }
}

/// The two catalog tables stored as code + name + JSON definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionTable {
    Metrics,
    Terms,
}

impl DefinitionTable {
    fn name(self) -> &'static str {
        match self {
            DefinitionTable::Metrics => "metrics",
            DefinitionTable::Terms => "terms",
        }
    }
}

/// Catalog tables whose entries are keyed by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogTable {
    Categories,
    Metrics,
    Terms,
    PriceBooks,
}

impl CatalogTable {
    fn name(self) -> &'static str {
        match self {
            CatalogTable::Categories => "categories",
            CatalogTable::Metrics => "metrics",
            CatalogTable::Terms => "terms",
            CatalogTable::PriceBooks => "price_books",
        }
    }
}

impl Tx {
    pub async fn get_product_by_code(
        &mut self,
        tenant: &str,
        code: &str,
    ) -> Result<Option<ProductRow>> {
        let sql = "SELECT * FROM products WHERE tenant_id = $1 AND code = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(code)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Every product of a tenant, by code (catalog export).
    pub async fn all_products(&mut self, tenant: &str) -> Result<Vec<ProductRow>> {
        let sql = "SELECT * FROM products WHERE tenant_id = $1 ORDER BY code";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Replaces the mutable fields of a product (name, status, kind, category, definition).
    pub async fn update_product(&mut self, row: &ProductRow) -> Result<()> {
        let sql = "UPDATE products SET name = $3, status = $4, kind = $5, category_code = $6, \
                   definition = $7, updated_at_us = $8 WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.id)
            .bind(&row.name)
            .bind(&row.status)
            .bind(&row.kind)
            .bind(&row.category_code)
            .bind(&row.definition)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Every price version of a tenant, grouped by product and code (oldest version first).
    pub async fn all_prices(&mut self, tenant: &str) -> Result<Vec<PriceRow>> {
        let sql =
            "SELECT * FROM prices WHERE tenant_id = $1 ORDER BY product_id, code, version, id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }

    /// How many subscriptions use the product (any price version).
    pub async fn product_subscription_count(&mut self, tenant: &str, product: &str) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM subscriptions WHERE tenant_id = $1 AND product_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(product)
            .fetch_one(&mut *c)
            .await?))
    }

    /// Deletes a product and all its price versions; false when there was no such product.
    pub async fn delete_product(&mut self, tenant: &str, id: &str) -> Result<bool> {
        on_tx!(self, |c| sqlx::query("DELETE FROM prices WHERE tenant_id = $1 AND product_id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *c)
            .await?;);
        let n = on_tx!(self, |c| sqlx::query(
            "DELETE FROM products WHERE tenant_id = $1 AND id = $2"
        )
        .bind(tenant)
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Deletes one catalog entry by code from `categories`, `price_books` or a definition
    /// table; false when it did not exist.
    pub async fn delete_catalog_entry(
        &mut self,
        table: CatalogTable,
        tenant: &str,
        code: &str,
    ) -> Result<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE tenant_id = $1 AND code = $2",
            table.name()
        );
        let n = on_tx!(self, |c| sqlx::query(&sql)
            .bind(tenant)
            .bind(code)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    pub async fn upsert_category(&mut self, row: &CategoryRow) -> Result<()> {
        let sql = "INSERT INTO categories (id, tenant_id, code, name, parent_code, updated_at_us) \
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, code) DO UPDATE \
                   SET name = excluded.name, parent_code = excluded.parent_code, updated_at_us = excluded.updated_at_us";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.id)
            .bind(&row.tenant_id)
            .bind(&row.code)
            .bind(&row.name)
            .bind(&row.parent_code)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn list_categories(&mut self, tenant: &str) -> Result<Vec<CategoryRow>> {
        let sql = "SELECT * FROM categories WHERE tenant_id = $1 ORDER BY code";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn upsert_definition(
        &mut self,
        table: DefinitionTable,
        row: &DefinitionRow,
    ) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (id, tenant_id, code, name, definition, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, code) DO UPDATE \
             SET name = excluded.name, definition = excluded.definition, updated_at_us = excluded.updated_at_us",
            table.name()
        );
        on_tx!(self, |c| sqlx::query(&sql)
            .bind(&row.id)
            .bind(&row.tenant_id)
            .bind(&row.code)
            .bind(&row.name)
            .bind(&row.definition)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn list_definitions(
        &mut self,
        table: DefinitionTable,
        tenant: &str,
    ) -> Result<Vec<DefinitionRow>> {
        let sql = format!(
            "SELECT * FROM {} WHERE tenant_id = $1 ORDER BY code",
            table.name()
        );
        Ok(on_tx!(self, |c| sqlx::query_as(&sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn upsert_price_book(&mut self, row: &PriceBookRow) -> Result<()> {
        let sql = "INSERT INTO price_books (id, tenant_id, code, name, currency, segment, updated_at_us) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, code) DO UPDATE \
                   SET name = excluded.name, currency = excluded.currency, segment = excluded.segment, \
                   updated_at_us = excluded.updated_at_us";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.id)
            .bind(&row.tenant_id)
            .bind(&row.code)
            .bind(&row.name)
            .bind(&row.currency)
            .bind(&row.segment)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn list_price_books(&mut self, tenant: &str) -> Result<Vec<PriceBookRow>> {
        let sql = "SELECT * FROM price_books WHERE tenant_id = $1 ORDER BY code";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }
}
