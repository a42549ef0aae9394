//! One-off subscription charges raised by operations (early-termination fees).

use super::insert_row;
use crate::rows::ChargeRow;
use crate::{on_tx, Result, Tx};

impl Tx {
    pub async fn insert_charge(&mut self, row: &ChargeRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "subscription_charges",
            ChargeRow,
            row,
            [
                id,
                tenant_id,
                account_id,
                subscription_id,
                kind,
                description,
                amount,
                charge_date,
                details,
                invoice_line_id,
                created_at_us
            ]
        ));
        Ok(())
    }

    /// The payer's charges dated on or before `through` that no invoice carries yet.
    pub async fn unbilled_charges(
        &mut self,
        tenant: &str,
        account: &str,
        through: &str,
    ) -> Result<Vec<ChargeRow>> {
        let sql = "SELECT * FROM subscription_charges WHERE tenant_id = $1 AND account_id = $2 \
                   AND invoice_line_id IS NULL AND charge_date <= $3 \
                   ORDER BY charge_date, created_at_us, id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .bind(through)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn subscription_charges(
        &mut self,
        tenant: &str,
        subscription: &str,
    ) -> Result<Vec<ChargeRow>> {
        let sql = "SELECT * FROM subscription_charges WHERE tenant_id = $1 \
                   AND subscription_id = $2 ORDER BY charge_date, created_at_us, id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(subscription)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Records the invoice line that bills a charge.
    pub async fn mark_charge_billed(&mut self, tenant: &str, id: &str, line: &str) -> Result<()> {
        let sql = "UPDATE subscription_charges SET invoice_line_id = $3 \
                   WHERE tenant_id = $1 AND id = $2 AND invoice_line_id IS NULL";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(line)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }
}
