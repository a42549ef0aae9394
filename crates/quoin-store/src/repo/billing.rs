//! Subscriptions, invoices and invoice lines.

use super::{insert_row, Page};
use crate::rows::{InvoiceLineRow, InvoiceRow, SubscriptionRow};
use crate::{on_tx, Result, Tx};

#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub account_id: Option<String>,
    pub status: Option<String>,
}

impl Tx {
    pub async fn insert_subscription(&mut self, row: &SubscriptionRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "subscriptions",
            SubscriptionRow,
            row,
            [
                id,
                tenant_id,
                account_id,
                bill_to_id,
                product_id,
                price_id,
                quantity,
                start_date,
                status,
                billed_through,
                created_at_us
            ]
        ));
        Ok(())
    }

    pub async fn get_subscription(
        &mut self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<SubscriptionRow>> {
        let sql = "SELECT * FROM subscriptions WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn list_subscriptions(
        &mut self,
        tenant: &str,
        account: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<SubscriptionRow>> {
        let sql = "SELECT * FROM subscriptions WHERE tenant_id = $1 \
                   AND ($2 IS NULL OR account_id = $2) AND ($3 IS NULL OR id > $3) \
                   ORDER BY id LIMIT $4";
        let rows: Vec<SubscriptionRow> = on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&mut *c)
            .await?);
        Ok(Page::from_overfetch(rows, limit, |r| r.id.clone()))
    }

    /// Active subscriptions whose charges go to `bill_to`, oldest first.
    pub async fn subscriptions_billed_to(
        &mut self,
        tenant: &str,
        bill_to: &str,
    ) -> Result<Vec<SubscriptionRow>> {
        let sql = "SELECT * FROM subscriptions WHERE tenant_id = $1 AND bill_to_id = $2 \
                   AND status = 'active' ORDER BY id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(bill_to)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Bill-to accounts with active subscriptions (the population of a billing run).
    pub async fn bill_to_accounts_with_subscriptions(
        &mut self,
        tenant: &str,
    ) -> Result<Vec<String>> {
        let sql = "SELECT DISTINCT bill_to_id FROM subscriptions WHERE tenant_id = $1 \
                   AND status = 'active' ORDER BY bill_to_id";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn set_billed_through(&mut self, tenant: &str, id: &str, date: &str) -> Result<()> {
        let sql = "UPDATE subscriptions SET billed_through = $3 WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(date)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn insert_invoice(&mut self, row: &InvoiceRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "invoices",
            InvoiceRow,
            row,
            [
                id,
                tenant_id,
                account_id,
                currency,
                status,
                number,
                invoice_date,
                due_date,
                period_start,
                period_end,
                total_minor,
                created_at_us,
                finalized_at_us
            ]
        ));
        Ok(())
    }

    pub async fn insert_invoice_line(&mut self, row: &InvoiceLineRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "invoice_lines",
            InvoiceLineRow,
            row,
            [
                id,
                tenant_id,
                invoice_id,
                position,
                subscription_id,
                price_id,
                description,
                period_start,
                period_end,
                quantity,
                unit_amount,
                proration_num,
                proration_den,
                amount_minor
            ]
        ));
        Ok(())
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
}
