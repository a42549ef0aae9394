//! Usage events with what Quoin knows about them — the account and subscription they were
//! matched to and whether their period has been billed — for the TMF635 facade.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use quoin_store::repo::UsageEventFilter;
use quoin_store::rows::UsageEventRow;
use quoin_store::Tx;

use super::internal;
use super::model::UsageEventView;
use super::query::{item_zone, view};
use crate::auth::{Action, Principal};
use crate::error::{AppError, AppResult};
use crate::App;

/// How far an event has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageState {
    /// Stored but matched to no subscription item (in suspense).
    Received,
    /// Matched to a subscription item; its period is not billed yet.
    Guided,
    /// Its item is billed through a date after the event's local date.
    Billed,
}

#[derive(Debug, Clone)]
pub struct UsageRecord {
    pub event: UsageEventView,
    pub state: UsageState,
    pub subscription_id: Option<String>,
    pub account_id: Option<String>,
}

/// One page of a usage listing.
#[derive(Debug, Clone)]
pub struct UsageRecordPage {
    pub records: Vec<UsageRecord>,
    /// How many events match the filters in all; `None` above [`MAX_WINDOW`] (counting
    /// further would scan without bound, and no page reaches beyond it).
    pub total: Option<usize>,
}

/// Filters of a usage listing; instants are `[from, to)`.
#[derive(Debug, Clone, Default)]
pub struct UsageRecordFilter {
    pub metric: Option<String>,
    pub from: Option<jiff::Timestamp>,
    pub to: Option<jiff::Timestamp>,
}

/// The most a listing may skip plus return: offsets are read through, not seeked.
pub const MAX_WINDOW: usize = 100_000;

struct ItemFacts {
    subscription_id: String,
    account_id: String,
    billed_through: Option<jiff::civil::Date>,
    tz: TimeZone,
}

impl App {
    /// Events in (timestamp, id) order, `offset` skipped, at most `limit`, with how many
    /// match in all.
    pub async fn usage_records(
        &self,
        p: &Principal,
        filter: &UsageRecordFilter,
        offset: usize,
        limit: usize,
    ) -> AppResult<UsageRecordPage> {
        p.require(Action::Read)?;
        if offset.saturating_add(limit) > MAX_WINDOW {
            return Err(AppError::BadRequest {
                code: "invalid_query",
                field: Some("offset".into()),
                message: format!("offset + limit must not exceed {MAX_WINDOW}"),
            });
        }
        let tenant = p.tenant_id.as_str();
        let search = UsageEventFilter {
            subscription_id: None,
            item_id: None,
            metric_code: filter.metric.as_deref(),
            from_us: filter.from.map(|t| t.as_microsecond()),
            to_us: filter.to.map(|t| t.as_microsecond()),
            after: None,
        };
        let mut tx = self.store.read().await?;
        let rows = tx
            .search_usage_events(
                tenant,
                &search,
                i64::try_from(offset + limit).map_err(internal)?,
            )
            .await?;
        // Counting is a scan of the matching events: bounded by the paging window.
        let cap = i64::try_from(MAX_WINDOW).map_err(internal)?;
        let total = tx.count_usage_events(tenant, &search, cap).await?;
        let records = records(&mut tx, tenant, rows.into_iter().skip(offset)).await?;
        tx.commit().await?;
        Ok(UsageRecordPage {
            records,
            total: (total <= cap)
                .then(|| usize::try_from(total))
                .transpose()
                .map_err(internal)?,
        })
    }

    pub async fn usage_record(&self, p: &Principal, id: &str) -> AppResult<UsageRecord> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        let rows = tx.usage_events_by_ids(tenant, &[id.to_string()]).await?;
        let out = records(&mut tx, tenant, rows.into_iter()).await?;
        tx.commit().await?;
        out.into_iter()
            .next()
            .ok_or_else(|| AppError::not_found("usage", id))
    }
}

async fn records(
    tx: &mut Tx,
    tenant: &str,
    rows: impl Iterator<Item = UsageEventRow>,
) -> AppResult<Vec<UsageRecord>> {
    let mut items: HashMap<String, ItemFacts> = HashMap::new();
    let mut out = Vec::new();
    for row in rows {
        let Some(item_id) = row.item_id.clone() else {
            out.push(UsageRecord {
                event: view(row),
                state: UsageState::Received,
                subscription_id: None,
                account_id: None,
            });
            continue;
        };
        if !items.contains_key(&item_id) {
            let facts = item_facts(tx, tenant, &item_id).await?;
            items.insert(item_id.clone(), facts);
        }
        let facts = &items[&item_id];
        let at = jiff::Timestamp::from_microsecond(row.ts_us).map_err(internal)?;
        let day = quoin_core::calendar::local_date(at, &facts.tz);
        let state = match facts.billed_through {
            Some(through) if day < through => UsageState::Billed,
            _ => UsageState::Guided,
        };
        out.push(UsageRecord {
            event: view(row),
            state,
            subscription_id: Some(facts.subscription_id.clone()),
            account_id: Some(facts.account_id.clone()),
        });
    }
    Ok(out)
}

async fn item_facts(tx: &mut Tx, tenant: &str, item_id: &str) -> AppResult<ItemFacts> {
    let sub_id = tx
        .usage_item_subscription(tenant, item_id)
        .await?
        .ok_or_else(|| internal("usage event of an unknown item"))?;
    let sub = tx
        .get_subscription(tenant, &sub_id)
        .await?
        .ok_or_else(|| internal("item without subscription"))?;
    let item = tx
        .subscription_items(tenant, &sub_id)
        .await?
        .into_iter()
        .find(|i| i.id == item_id)
        .ok_or_else(|| internal("item not in its subscription"))?;
    Ok(ItemFacts {
        subscription_id: sub.id,
        account_id: sub.account_id,
        billed_through: item
            .billed_through
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(internal)?,
        tz: item_zone(tx, tenant, item_id).await?,
    })
}
