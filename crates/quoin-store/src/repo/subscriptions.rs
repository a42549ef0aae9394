//! Service inventory: subscriptions, their items and price segments, and the operation log.

use super::{insert_row, Page};
use crate::rows::{ItemSegmentRow, SubscriptionItemRow, SubscriptionRow, SubscriptionVersionRow};
use crate::{on_tx, Result, Tx};

/// Subscriptions billing still has work for: not disconnected, or disconnected with a
/// change to reconcile.
pub(crate) const BILLABLE: &str = "(status <> 'disconnected' OR reconcile_from IS NOT NULL)";

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
                created_at_us,
                external_id,
                parent_id,
                location_id,
                end_date,
                term_code,
                term_start,
                term_end,
                end_of_term,
                coterminate,
                operational_status,
                version,
                reconcile_from,
                updated_at_us,
                progressive_threshold,
                minimum_commitment
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

    /// Subscriptions billed to `bill_to` that billing still has work for, oldest first.
    pub async fn subscriptions_billed_to(
        &mut self,
        tenant: &str,
        bill_to: &str,
    ) -> Result<Vec<SubscriptionRow>> {
        let sql = format!(
            "SELECT * FROM subscriptions WHERE tenant_id = $1 AND bill_to_id = $2 \
             AND {BILLABLE} ORDER BY id"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(&sql)
            .bind(tenant)
            .bind(bill_to)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Bill-to accounts after `after` with subscriptions billing has work for, in id order:
    /// the population of a billing run, read a page at a time.
    pub async fn bill_to_accounts_page(
        &mut self,
        tenant: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT DISTINCT bill_to_id FROM subscriptions WHERE tenant_id = $1 \
             AND ($2 IS NULL OR bill_to_id > $2) AND {BILLABLE} ORDER BY bill_to_id LIMIT $3"
        );
        Ok(on_tx!(self, |c| sqlx::query_scalar(&sql)
            .bind(tenant)
            .bind(after)
            .bind(limit)
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

    /// Moves a subscription to another product (a plan change across products).
    pub async fn set_subscription_product(
        &mut self,
        tenant: &str,
        id: &str,
        product: &str,
    ) -> Result<()> {
        let sql = "UPDATE subscriptions SET product_id = $3 WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(product)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Sets the subscription's own minimum commitment (decimal text; None: the price's).
    pub async fn set_subscription_commitment(
        &mut self,
        tenant: &str,
        id: &str,
        commitment: Option<&str>,
    ) -> Result<()> {
        let sql =
            "UPDATE subscriptions SET minimum_commitment = $3 WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(commitment)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Subscriptions whose parent is `parent` (add-ons of a base service).
    pub async fn child_subscriptions(
        &mut self,
        tenant: &str,
        parent: &str,
    ) -> Result<Vec<SubscriptionRow>> {
        let sql = "SELECT * FROM subscriptions WHERE tenant_id = $1 AND parent_id = $2 ORDER BY id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(parent)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn subscription_by_external_id(
        &mut self,
        tenant: &str,
        external_id: &str,
    ) -> Result<Option<SubscriptionRow>> {
        let sql = "SELECT * FROM subscriptions WHERE tenant_id = $1 AND external_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(external_id)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Writes the mutable state of a subscription (everything but its identity and owner).
    pub async fn update_subscription(&mut self, row: &SubscriptionRow) -> Result<()> {
        let sql = "UPDATE subscriptions SET price_id = $3, quantity = $4, status = $5, \
                   billed_through = $6, location_id = $7, end_date = $8, term_code = $9, \
                   term_start = $10, term_end = $11, end_of_term = $12, coterminate = $13, \
                   operational_status = $14, version = $15, reconcile_from = $16, \
                   updated_at_us = $17, progressive_threshold = $18 \
                   WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.id)
            .bind(&row.price_id)
            .bind(&row.quantity)
            .bind(&row.status)
            .bind(&row.billed_through)
            .bind(&row.location_id)
            .bind(&row.end_date)
            .bind(&row.term_code)
            .bind(&row.term_start)
            .bind(&row.term_end)
            .bind(&row.end_of_term)
            .bind(row.coterminate)
            .bind(&row.operational_status)
            .bind(row.version)
            .bind(&row.reconcile_from)
            .bind(row.updated_at_us)
            .bind(&row.progressive_threshold)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn insert_subscription_item(&mut self, row: &SubscriptionItemRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "subscription_items",
            SubscriptionItemRow,
            row,
            [
                id,
                tenant_id,
                subscription_id,
                usage_key,
                position,
                billed_through,
                created_at_us,
                usage_reconcile_from
            ]
        ));
        Ok(())
    }

    pub async fn subscription_items(
        &mut self,
        tenant: &str,
        subscription: &str,
    ) -> Result<Vec<SubscriptionItemRow>> {
        let sql = "SELECT * FROM subscription_items WHERE tenant_id = $1 \
                   AND subscription_id = $2 ORDER BY position";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(subscription)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn item_by_usage_key(
        &mut self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<SubscriptionItemRow>> {
        let sql = "SELECT * FROM subscription_items WHERE tenant_id = $1 AND usage_key = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(key)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Asks the next billing to re-rate the item's usage from `day` when that day is
    /// already billed (late events) or `always` (a voided invoice billed it).
    pub async fn mark_usage_reconcile(
        &mut self,
        tenant: &str,
        item: &str,
        day: &str,
        always: bool,
    ) -> Result<()> {
        let sql = "UPDATE subscription_items SET usage_reconcile_from = $3 \
                   WHERE tenant_id = $1 AND id = $2 \
                   AND ($4 OR (billed_through IS NOT NULL AND billed_through > $3)) \
                   AND (usage_reconcile_from IS NULL OR usage_reconcile_from > $3)";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(item)
            .bind(day)
            .bind(always)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Makes the subscription's next billing reconcile from `day` (what is billed from
    /// then on is compared with what the timeline wants).
    pub async fn mark_reconcile(&mut self, tenant: &str, sub: &str, day: &str) -> Result<()> {
        let sql = "UPDATE subscriptions SET reconcile_from = $3 \
                   WHERE tenant_id = $1 AND id = $2 \
                   AND (reconcile_from IS NULL OR reconcile_from > $3)";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(sub)
            .bind(day)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn clear_usage_reconcile(&mut self, tenant: &str, item: &str) -> Result<()> {
        let sql = "UPDATE subscription_items SET usage_reconcile_from = NULL \
                   WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(item)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn set_item_billed_through(
        &mut self,
        tenant: &str,
        item: &str,
        date: Option<&str>,
    ) -> Result<()> {
        let sql =
            "UPDATE subscription_items SET billed_through = $3 WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(item)
            .bind(date)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn insert_item_segment(&mut self, row: &ItemSegmentRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "subscription_item_segments",
            ItemSegmentRow,
            row,
            [
                tenant_id,
                item_id,
                subscription_id,
                start_date,
                end_date,
                price_id,
                quantity,
                unit_amount,
                version
            ]
        ));
        Ok(())
    }

    /// Ends the open segment of an item at `end` (exclusive).
    pub async fn close_item_segment(
        &mut self,
        tenant: &str,
        item: &str,
        start_date: &str,
        end: &str,
    ) -> Result<()> {
        let sql = "UPDATE subscription_item_segments SET end_date = $4 \
                   WHERE tenant_id = $1 AND item_id = $2 AND start_date = $3";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(item)
            .bind(start_date)
            .bind(end)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Removes a segment that a same-day operation replaced before it took any effect.
    pub async fn delete_item_segment(
        &mut self,
        tenant: &str,
        item: &str,
        start_date: &str,
    ) -> Result<()> {
        let sql = "DELETE FROM subscription_item_segments \
                   WHERE tenant_id = $1 AND item_id = $2 AND start_date = $3";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(item)
            .bind(start_date)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// All segments of a subscription's items, by item then start date.
    pub async fn subscription_segments(
        &mut self,
        tenant: &str,
        subscription: &str,
    ) -> Result<Vec<ItemSegmentRow>> {
        let sql = "SELECT * FROM subscription_item_segments WHERE tenant_id = $1 \
                   AND subscription_id = $2 ORDER BY item_id, start_date";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(subscription)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn insert_subscription_version(
        &mut self,
        row: &SubscriptionVersionRow,
    ) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "subscription_versions",
            SubscriptionVersionRow,
            row,
            [
                tenant_id,
                subscription_id,
                version,
                operation,
                effective_date,
                status,
                details,
                created_at_us
            ]
        ));
        Ok(())
    }

    pub async fn subscription_versions(
        &mut self,
        tenant: &str,
        subscription: &str,
    ) -> Result<Vec<SubscriptionVersionRow>> {
        let sql = "SELECT * FROM subscription_versions WHERE tenant_id = $1 \
                   AND subscription_id = $2 ORDER BY version";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(subscription)
            .fetch_all(&mut *c)
            .await?))
    }
}
