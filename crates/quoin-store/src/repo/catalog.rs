//! Products and their prices.

use super::{insert_row, Page};
use crate::rows::{PriceRow, ProductRow};
use crate::{on_tx, Result, Tx};

impl Tx {
    pub async fn insert_product(&mut self, row: &ProductRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "products",
            row,
            [id, tenant_id, code, name, status, created_at_us]
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
            row,
            [
                id,
                tenant_id,
                product_id,
                currency,
                amount,
                period,
                timing,
                created_at_us
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

    pub async fn list_prices(&mut self, tenant: &str, product: &str) -> Result<Vec<PriceRow>> {
        let sql = "SELECT * FROM prices WHERE tenant_id = $1 AND product_id = $2 ORDER BY id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(product)
            .fetch_all(&mut *c)
            .await?))
    }
}
