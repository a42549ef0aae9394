//! Unratable CDRs: a voice event that its item's rating plan cannot rate (no destination
//! prefix matches the number, no destination, a duration that is not whole seconds) is not
//! billable, but it must not stop the account's billing either.
//!
//! Ingestion detects it (the resolver knows the item's plan; one trie lookup per call) and
//! parks it in suspense with reason `unratable` and the problem in `detail`, so it never
//! reaches the item. An event that becomes unratable later — stored before this check, or
//! re-targeted to another plan by a back-dated change — is moved to suspense when billing
//! rates its period, and the item's rollups of its days are rebuilt from the events left.
//! Once the plan covers the number (`POST /v1/rating-plans/{code}/destinations`), recycling
//! matches the event again; its period bills it, or re-rates if already billed.

use std::collections::BTreeSet;

use quoin_store::rows::{SuspenseRow, UsageEventRow};
use quoin_store::Tx;

use super::voice::PeriodCalls;
use super::{internal, load_metrics, rollup};
use crate::error::AppResult;

/// The suspense reason code of unratable CDRs.
pub(crate) const REASON: &str = "unratable";

/// What rating does with events it cannot rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unratable {
    /// Move them to suspense (billing: its transaction may write).
    Park,
    /// Leave them out of the amount (read-only views such as current usage).
    Skip,
}

/// Moves `events` (of `period`'s item and metric) to suspense with their problem, and
/// rebuilds the item's rollups of their days.
pub(crate) async fn park(
    tx: &mut Tx,
    tenant: &str,
    period: &PeriodCalls<'_>,
    events: &[(UsageEventRow, String)],
) -> AppResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    // Recycling finds the item again by its usage key, else by its subscription.
    let sub_id = tx
        .usage_item_subscription(tenant, period.item_id)
        .await?
        .ok_or_else(|| internal("item without subscription"))?;
    let usage_key = tx
        .subscription_items(tenant, &sub_id)
        .await?
        .into_iter()
        .find(|i| i.id == period.item_id)
        .and_then(|i| i.usage_key);
    let mut days = BTreeSet::new();
    for (event, why) in events {
        tx.clear_usage_event_item(tenant, &event.event_id).await?;
        tx.insert_suspense(&SuspenseRow {
            tenant_id: tenant.to_string(),
            event_id: event.event_id.clone(),
            reason: REASON.to_string(),
            subscription_ref: usage_key.is_none().then(|| sub_id.clone()),
            item_key: usage_key.clone(),
            metric_code: event.metric_code.clone(),
            ts_us: event.ts_us,
            // The batch number carries the receive instant (µs << 10).
            received_at_us: event.batch_no >> 10,
            detail: Some(why.clone()),
        })
        .await?;
        let start = jiff::Timestamp::from_microsecond(event.ts_us).map_err(internal)?;
        days.insert(quoin_core::calendar::local_date(start, period.tz));
    }
    let metrics = load_metrics(tx, tenant).await?;
    let metric = metrics
        .get(period.metric)
        .ok_or_else(|| internal(format!("metric `{}` missing", period.metric)))?;
    rollup::rebuild_days(tx, tenant, period.item_id, metric, period.tz, &days).await
}
