//! Exchange rates into a tenant's reporting currency.

use crate::rows::FxRateRow;
use crate::{on_tx, Result, Tx};

impl Tx {
    pub async fn put_fx_rate(&mut self, row: &FxRateRow) -> Result<()> {
        let sql =
            "INSERT INTO fx_rates (tenant_id, currency, reporting_currency, rate, updated_at_us) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, currency) DO UPDATE \
                   SET reporting_currency = excluded.reporting_currency, rate = excluded.rate, \
                   updated_at_us = excluded.updated_at_us";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.currency)
            .bind(&row.reporting_currency)
            .bind(&row.rate)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Every rate of the tenant, by currency.
    pub async fn fx_rates(&mut self, tenant: &str) -> Result<Vec<FxRateRow>> {
        let sql = "SELECT * FROM fx_rates WHERE tenant_id = $1 ORDER BY currency";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }
}
