//! Gateway payment retries: each invoice's retry plan and every charge attempt made on it.

use super::insert_row;
use crate::{on_tx, Result, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct PaymentRetryRow {
    pub tenant_id: String,
    pub invoice_id: String,
    pub account_id: String,
    pub gateway: String,
    pub payment_method: String,
    pub failed_on: String,
    /// JSON array of days after `failed_on`.
    pub retry_days: String,
    pub retries_done: i64,
    pub next_retry_on: Option<String>,
    /// scheduled, succeeded, stopped, exhausted
    pub status: String,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentAttemptRow {
    pub tenant_id: String,
    pub invoice_id: String,
    pub attempt: i64,
    pub account_id: String,
    pub retry: i64,
    pub attempted_on: String,
    pub payment_id: Option<String>,
    pub currency: String,
    pub amount_minor: i64,
    /// succeeded, declined, unavailable
    pub outcome: String,
    pub failure_code: Option<String>,
    pub created_at_us: i64,
}

impl Tx {
    /// Inserts or replaces an invoice's retry plan.
    pub async fn put_payment_retry(&mut self, row: &PaymentRetryRow) -> Result<()> {
        let sql = "INSERT INTO payment_retries (tenant_id, invoice_id, account_id, gateway, \
                   payment_method, failed_on, retry_days, retries_done, next_retry_on, status, \
                   updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                   ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET \
                   account_id = excluded.account_id, gateway = excluded.gateway, \
                   payment_method = excluded.payment_method, failed_on = excluded.failed_on, \
                   retry_days = excluded.retry_days, retries_done = excluded.retries_done, \
                   next_retry_on = excluded.next_retry_on, status = excluded.status, \
                   updated_at_us = excluded.updated_at_us";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.invoice_id)
            .bind(&row.account_id)
            .bind(&row.gateway)
            .bind(&row.payment_method)
            .bind(&row.failed_on)
            .bind(&row.retry_days)
            .bind(row.retries_done)
            .bind(&row.next_retry_on)
            .bind(&row.status)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn get_payment_retry(
        &mut self,
        tenant: &str,
        invoice: &str,
    ) -> Result<Option<PaymentRetryRow>> {
        let sql = "SELECT * FROM payment_retries WHERE tenant_id = $1 AND invoice_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(invoice)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// The account's scheduled retries due on or before `day` (dates compare as text).
    pub async fn due_payment_retries(
        &mut self,
        tenant: &str,
        account: &str,
        day: &str,
    ) -> Result<Vec<PaymentRetryRow>> {
        let sql = "SELECT * FROM payment_retries WHERE tenant_id = $1 AND account_id = $2 \
                   AND status = 'scheduled' AND next_retry_on <= $3 \
                   ORDER BY next_retry_on, invoice_id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .bind(day)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn insert_payment_attempt(&mut self, row: &PaymentAttemptRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "payment_attempts",
            PaymentAttemptRow,
            row,
            [
                tenant_id,
                invoice_id,
                attempt,
                account_id,
                retry,
                attempted_on,
                payment_id,
                currency,
                amount_minor,
                outcome,
                failure_code,
                created_at_us,
            ]
        ));
        Ok(())
    }

    /// An invoice's attempts in the order made.
    pub async fn payment_attempts(
        &mut self,
        tenant: &str,
        invoice: &str,
    ) -> Result<Vec<PaymentAttemptRow>> {
        let sql = "SELECT * FROM payment_attempts WHERE tenant_id = $1 AND invoice_id = $2 \
                   ORDER BY attempt";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(invoice)
            .fetch_all(&mut *c)
            .await?))
    }

    /// The number the next attempt on an invoice gets.
    pub async fn next_payment_attempt(&mut self, tenant: &str, invoice: &str) -> Result<i64> {
        let sql = "SELECT COALESCE(MAX(attempt), 0) + 1 FROM payment_attempts \
                   WHERE tenant_id = $1 AND invoice_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(invoice)
            .fetch_one(&mut *c)
            .await?))
    }
}
