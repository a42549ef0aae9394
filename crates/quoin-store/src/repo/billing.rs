//! Invoices and invoice lines.

use super::Page;
use crate::rows::{InvoiceLineRow, InvoiceRow};
use crate::{on_tx, Result, Tx};

#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub account_id: Option<String>,
    pub status: Option<String>,
}

impl Tx {
    pub async fn insert_invoice(&mut self, row: &InvoiceRow) -> Result<()> {
        self.bulk_insert_invoices(std::slice::from_ref(row)).await
    }

    pub async fn insert_invoice_line(&mut self, row: &InvoiceLineRow) -> Result<()> {
        self.bulk_insert_invoice_lines(std::slice::from_ref(row))
            .await
    }

    pub async fn get_invoice(&mut self, tenant: &str, id: &str) -> Result<Option<InvoiceRow>> {
        let sql = "SELECT * FROM invoices WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn list_invoices(
        &mut self,
        tenant: &str,
        filter: &InvoiceFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<InvoiceRow>> {
        let sql = "SELECT * FROM invoices WHERE tenant_id = $1 \
                   AND ($2 IS NULL OR account_id = $2) AND ($3 IS NULL OR status = $3) \
                   AND ($4 IS NULL OR id > $4) ORDER BY id LIMIT $5";
        let rows: Vec<InvoiceRow> = on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(&filter.account_id)
            .bind(&filter.status)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&mut *c)
            .await?);
        Ok(Page::from_overfetch(rows, limit, |r| r.id.clone()))
    }

    pub async fn get_invoice_line(
        &mut self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<InvoiceLineRow>> {
        let sql = "SELECT * FROM invoice_lines WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn invoice_lines(
        &mut self,
        tenant: &str,
        invoice: &str,
    ) -> Result<Vec<InvoiceLineRow>> {
        let sql = "SELECT * FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY position";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(invoice)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Moves a draft to finalized with its number; false when it was not a draft.
    pub async fn finalize_invoice(
        &mut self,
        tenant: &str,
        id: &str,
        number: &str,
        at_us: i64,
    ) -> Result<bool> {
        let sql = "UPDATE invoices SET status = 'finalized', number = $3, finalized_at_us = $4 \
                   WHERE tenant_id = $1 AND id = $2 AND status = 'draft'";
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(number)
            .bind(at_us)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Recurring and repair lines of a subscription's items whose service ends after
    /// `after`: what reconciliation compares a changed timeline against.
    pub async fn subscription_lines_after(
        &mut self,
        tenant: &str,
        subscription: &str,
        after: &str,
    ) -> Result<Vec<InvoiceLineRow>> {
        let sql = "SELECT l.* FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
                   WHERE l.tenant_id = $1 AND l.subscription_id = $2 AND l.period_end > $3 \
                   AND l.kind IN ('recurring', 'repair') AND i.status <> 'void' \
                   ORDER BY l.period_start, l.id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(subscription)
            .bind(after)
            .fetch_all(&mut *c)
            .await?))
    }

    /// The usage lines (final, adjustments, progressive and their credits) of an item for
    /// the period starting `start`, on invoices that are not void.
    pub async fn usage_lines_of_period(
        &mut self,
        tenant: &str,
        item: &str,
        start: &str,
    ) -> Result<Vec<InvoiceLineRow>> {
        let sql = "SELECT l.* FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
                   WHERE l.tenant_id = $1 AND l.item_id = $2 AND l.period_start = $3 \
                   AND l.kind IN ('usage', 'usage_adjustment', 'progressive_usage', \
                   'progressive_credit') AND i.status <> 'void' \
                   ORDER BY l.id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(item)
            .bind(start)
            .fetch_all(&mut *c)
            .await?))
    }

    /// The latest invoice date of a finalized (or settled) invoice billing the subscription:
    /// operations may not be dated before it.
    pub async fn last_finalized_invoice_date(
        &mut self,
        tenant: &str,
        subscription: &str,
    ) -> Result<Option<String>> {
        let sql = "SELECT MAX(i.invoice_date) FROM invoices i JOIN invoice_lines l \
                   ON l.invoice_id = i.id WHERE l.tenant_id = $1 AND l.subscription_id = $2 \
                   AND i.status NOT IN ('draft', 'void')";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(subscription)
            .fetch_one(&mut *c)
            .await?))
    }
}
