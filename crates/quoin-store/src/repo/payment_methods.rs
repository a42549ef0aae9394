//! Accounts' default payment methods and the automatic charges made with them.

use super::insert_row;
use crate::{on_tx, Result, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentMethodRow {
    pub tenant_id: String,
    pub account_id: String,
    pub gateway: String,
    pub payment_method: String,
    /// 1: invoices are charged when finalized.
    pub auto_collection: i64,
    pub active_since_us: i64,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AutoCollectionRow {
    pub tenant_id: String,
    pub invoice_id: String,
    pub account_id: String,
    /// None when skipped.
    pub payment_id: Option<String>,
    pub amount_minor: i64,
    /// succeeded, declined, skipped
    pub outcome: String,
    pub attempted_on: String,
    pub created_at_us: i64,
}

/// A finalized invoice with an amount open whose account collects automatically and
/// which has not been charged automatically yet.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueCollection {
    pub invoice_id: String,
    pub account_id: String,
}

impl Tx {
    pub async fn put_payment_method(&mut self, row: &PaymentMethodRow) -> Result<()> {
        let sql = "INSERT INTO account_payment_methods (tenant_id, account_id, gateway, \
                   payment_method, auto_collection, active_since_us, created_at_us, \
                   updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                   ON CONFLICT (tenant_id, account_id) DO UPDATE SET \
                   gateway = excluded.gateway, payment_method = excluded.payment_method, \
                   auto_collection = excluded.auto_collection, \
                   active_since_us = excluded.active_since_us, \
                   updated_at_us = excluded.updated_at_us";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.account_id)
            .bind(&row.gateway)
            .bind(&row.payment_method)
            .bind(row.auto_collection)
            .bind(row.active_since_us)
            .bind(row.created_at_us)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn get_payment_method(
        &mut self,
        tenant: &str,
        account: &str,
    ) -> Result<Option<PaymentMethodRow>> {
        let sql = "SELECT * FROM account_payment_methods WHERE tenant_id = $1 AND account_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Removes the account's payment method; false when it had none.
    pub async fn delete_payment_method(&mut self, tenant: &str, account: &str) -> Result<bool> {
        let sql = "DELETE FROM account_payment_methods WHERE tenant_id = $1 AND account_id = $2";
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(account)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n > 0)
    }

    /// Invoices due for an automatic charge (of one account, or of all), oldest first:
    /// finalized, something open, not voided, of an account whose method collects
    /// automatically, and neither charged automatically before nor skipped (open when
    /// auto-collection became active).
    pub async fn due_collections(
        &mut self,
        tenant: &str,
        account: Option<&str>,
    ) -> Result<Vec<DueCollection>> {
        let sql = "SELECT i.id AS invoice_id, i.account_id FROM account_payment_methods m \
                   JOIN invoices i ON i.tenant_id = m.tenant_id AND i.account_id = m.account_id \
                   JOIN invoice_settlements s ON s.tenant_id = i.tenant_id AND s.invoice_id = i.id \
                   WHERE m.tenant_id = $1 AND m.account_id = COALESCE($2, m.account_id) \
                   AND m.auto_collection = 1 \
                   AND i.finalized_at_us IS NOT NULL \
                   AND s.open_minor > 0 AND s.voided_at_us IS NULL \
                   AND NOT EXISTS (SELECT 1 FROM auto_collections a \
                       WHERE a.tenant_id = i.tenant_id AND a.invoice_id = i.id) \
                   ORDER BY i.account_id, i.invoice_date, i.id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Marks the account's open finalized invoices not yet collected as `skipped`:
    /// auto-collection becoming active does not reach back to them.
    pub async fn skip_open_invoices(
        &mut self,
        tenant: &str,
        account: &str,
        on: &str,
        now_us: i64,
    ) -> Result<u64> {
        let sql = "INSERT INTO auto_collections (tenant_id, invoice_id, account_id, payment_id, \
                   amount_minor, outcome, attempted_on, created_at_us) \
                   SELECT i.tenant_id, i.id, i.account_id, NULL, s.open_minor, 'skipped', $3, $4 \
                   FROM invoices i JOIN invoice_settlements s \
                   ON s.tenant_id = i.tenant_id AND s.invoice_id = i.id \
                   WHERE i.tenant_id = $1 AND i.account_id = $2 \
                   AND i.finalized_at_us IS NOT NULL AND s.open_minor > 0 \
                   AND NOT EXISTS (SELECT 1 FROM auto_collections a \
                       WHERE a.tenant_id = i.tenant_id AND a.invoice_id = i.id)";
        Ok(on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(account)
            .bind(on)
            .bind(now_us)
            .execute(&mut *c)
            .await?
            .rows_affected()))
    }

    pub async fn get_auto_collection(
        &mut self,
        tenant: &str,
        invoice: &str,
    ) -> Result<Option<AutoCollectionRow>> {
        let sql = "SELECT * FROM auto_collections WHERE tenant_id = $1 AND invoice_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(invoice)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn insert_auto_collection(&mut self, row: &AutoCollectionRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "auto_collections",
            AutoCollectionRow,
            row,
            [
                tenant_id,
                invoice_id,
                account_id,
                payment_id,
                amount_minor,
                outcome,
                attempted_on,
                created_at_us,
            ]
        ));
        Ok(())
    }
}
