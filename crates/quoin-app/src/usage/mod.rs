//! Usage: exactly-once ingestion of metered events, matching them to subscription items
//! (or parking them in suspense), incremental daily rollups, and the quantity of an item's
//! metric over a billing period that billing and `GET /v1/subscriptions/{id}/usage` read.
//!
//! Hot path (`ingest`): validate each event on its own (a bad one is rejected with a reason,
//! the rest kept), resolve targets through per-batch caches, write all rows with a few
//! multi-row statements whose `(tenant, event id)` key is the dedup record, then fold only
//! the newly stored events into the rollups — all in one transaction. Requests go through
//! a group-commit writer (`writer`): concurrent batches share one commit.

mod detail_csv;
mod ingest;
pub mod model;
mod query;
mod rating;
mod records;
mod rollup;
pub(crate) mod unratable;
pub(crate) mod voice;
pub mod voice_model;
mod writer;

use std::collections::HashMap;
use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use quoin_core::rating::voice::VoicePlan;
use quoin_store::repo::DefinitionTable;
use quoin_store::rows::SubscriptionRow;
use quoin_store::Tx;
use rust_decimal::Decimal;

use crate::catalog::spec::{AggregationCode, MetricSpec, ModelSpec, PriceSpec, PriceTypeCode};
use crate::error::{AppError, AppResult};

pub use ingest::{UsageEvent, MAX_BATCH};
pub use query::{usage_by_scan, usage_for_period, EventSearch};
pub(crate) use rating::rate_usage;
pub use records::{UsageRecord, UsageRecordFilter, UsageRecordPage, UsageState, MAX_WINDOW};
pub(crate) use unratable::Unratable;
pub(crate) use writer::Writer;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

/// A tenant's billable metric as ingestion and rollups use it.
#[derive(Debug, Clone)]
pub struct MetricDef {
    pub spec: MetricSpec,
}

impl MetricDef {
    /// Whether the metric reads a number from each event.
    fn numeric(&self) -> bool {
        !matches!(
            self.spec.aggregation,
            AggregationCode::Count | AggregationCode::UniqueCount
        )
    }

    fn keeps(&self, props: &[(String, String)]) -> bool {
        self.spec.filters.iter().all(|f| {
            props
                .iter()
                .find(|(k, _)| *k == f.property)
                .is_some_and(|(_, v)| f.values.iter().any(|a| a == v))
        })
    }

    /// The core metric, for full scans with `quoin_core::rating::aggregate`.
    pub fn core(&self) -> quoin_core::rating::Metric {
        use quoin_core::rating::{Aggregation, Metric, PropertyFilter};
        let aggregation = match self.spec.aggregation {
            AggregationCode::Count => Aggregation::Count,
            AggregationCode::Sum => Aggregation::Sum,
            AggregationCode::Max => Aggregation::Max,
            AggregationCode::Latest => Aggregation::Latest,
            AggregationCode::WeightedSum => Aggregation::WeightedSum,
            AggregationCode::UniqueCount => Aggregation::UniqueCount {
                property: self.spec.field.clone().unwrap_or_default(),
            },
        };
        Metric {
            aggregation,
            filters: self
                .spec
                .filters
                .iter()
                .map(|f| PropertyFilter {
                    key: f.property.clone(),
                    values: f.values.clone(),
                })
                .collect(),
            group_by: self.spec.group_by.clone(),
        }
    }

    /// The numeric value of an event for this metric: `properties[field]` when present,
    /// else the quantity. `Ok(None)`: the event carries none.
    pub(crate) fn value_of(
        &self,
        quantity: Option<Decimal>,
        props: &[(String, String)],
    ) -> Result<Option<Decimal>, ()> {
        if let Some(field) = &self.spec.field {
            if let Some((_, v)) = props.iter().find(|(k, _)| k == field) {
                return v.trim().parse::<Decimal>().map(Some).map_err(|_| ());
            }
        }
        Ok(quantity)
    }
}

pub(crate) async fn load_metrics(
    tx: &mut Tx,
    tenant: &str,
) -> AppResult<HashMap<String, Arc<MetricDef>>> {
    let mut out = HashMap::new();
    for row in tx
        .list_definitions(DefinitionTable::Metrics, tenant)
        .await?
    {
        let spec: MetricSpec = serde_json::from_str(&row.definition).map_err(internal)?;
        out.insert(row.code.clone(), Arc::new(MetricDef { spec }));
    }
    Ok(out)
}

/// A price's usage metric, if it is a usage price.
fn usage_metric_of(definition: &str) -> Option<String> {
    usage_price_of(definition).map(|(metric, _)| metric)
}

/// A usage price's metric and, for the voice model, its rating plan code.
fn usage_price_of(definition: &str) -> Option<(String, Option<String>)> {
    let spec: PriceSpec = serde_json::from_str(definition).ok()?;
    match spec.price_type {
        Some(PriceTypeCode::Usage) => {
            let plan = match spec.model {
                Some(ModelSpec::Voice { rating_plan }) => Some(rating_plan),
                _ => None,
            };
            spec.metric.map(|m| (m, plan))
        }
        _ => None,
    }
}

/// One segment of an item as matching sees it.
#[derive(Debug, Clone)]
struct SegmentCtx {
    start: Date,
    end: Option<Date>,
    /// The usage metric of the segment's price, if it is a usage price.
    metric: Option<String>,
    /// The rating plan of a voice usage price: its calls are rated at ingestion.
    voice: Option<Arc<VoicePlan>>,
}

impl SegmentCtx {
    fn covers(&self, d: Date) -> bool {
        self.start <= d && self.end.is_none_or(|e| d < e)
    }
}

#[derive(Debug, Clone)]
struct ItemCtx {
    id: String,
    segments: Vec<SegmentCtx>,
}

/// A subscription with its items, segments and its account's time zone.
#[derive(Debug)]
struct SubCtx {
    sub: SubscriptionRow,
    /// The account whose invoices bill the subscription (its draft is refreshed).
    bill_to: String,
    tz: TimeZone,
    items: Vec<ItemCtx>,
    /// The last local day seen: (start µs, end µs, date); events arrive clustered in time.
    last_day: Option<(i64, i64, Date)>,
}

/// Why an event matched nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuspenseReason {
    UnknownItemKey,
    UnknownSubscription,
    MetricNotOnPlan,
    OutsideServiceDates,
    /// A voice CDR the item's rating plan cannot rate (see `unratable.rs`).
    Unratable,
}

impl SuspenseReason {
    pub fn code(self) -> &'static str {
        match self {
            SuspenseReason::UnknownItemKey => "unknown_item_key",
            SuspenseReason::UnknownSubscription => "unknown_subscription",
            SuspenseReason::MetricNotOnPlan => "metric_not_on_plan",
            SuspenseReason::OutsideServiceDates => "outside_service_dates",
            SuspenseReason::Unratable => unratable::REASON,
        }
    }
}

/// Resolves event targets with caches that live for one transaction.
#[derive(Default)]
pub(crate) struct Resolver {
    /// subscription reference (external id or id) → context index
    subs: HashMap<String, Option<usize>>,
    /// item usage key → (context index, item index)
    keys: HashMap<String, Option<(usize, usize)>>,
    ctxs: Vec<SubCtx>,
    /// price id → (usage metric, voice plan)
    prices: HashMap<String, Option<(String, Option<String>)>>,
    /// rating plan code → plan, loaded once per transaction
    plans: HashMap<String, Arc<VoicePlan>>,
}

/// Why an event goes to suspense, with the details when there are any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Suspend {
    pub reason: SuspenseReason,
    pub detail: Option<String>,
}

impl From<SuspenseReason> for Suspend {
    fn from(reason: SuspenseReason) -> Self {
        Self {
            reason,
            detail: None,
        }
    }
}

/// Where an event goes: an item (with its account-local day and the day's µs bounds).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub ctx: usize,
    pub item: usize,
    /// The item's segment serving the event's day.
    pub seg: usize,
    pub day: Date,
    pub day_end_us: i64,
}

impl Resolver {
    async fn context(
        &mut self,
        tx: &mut Tx,
        tenant: &str,
        sub: SubscriptionRow,
    ) -> AppResult<usize> {
        if let Some(i) = self.ctxs.iter().position(|c| c.sub.id == sub.id) {
            return Ok(i);
        }
        let account = tx
            .get_account(tenant, &sub.account_id)
            .await?
            .ok_or_else(|| internal("subscription without account"))?;
        let tz = TimeZone::get(&account.time_zone).map_err(internal)?;
        let segments = tx.subscription_segments(tenant, &sub.id).await?;
        let mut items = Vec::new();
        for item in tx.subscription_items(tenant, &sub.id).await? {
            let mut segs = Vec::new();
            for s in segments.iter().filter(|s| s.item_id == item.id) {
                let usage = match self.prices.get(&s.price_id) {
                    Some(m) => m.clone(),
                    None => {
                        let m = tx
                            .get_price(tenant, &s.price_id)
                            .await?
                            .and_then(|p| usage_price_of(&p.definition));
                        self.prices.insert(s.price_id.clone(), m.clone());
                        m
                    }
                };
                let (metric, plan_code) = usage.unzip();
                let voice = match plan_code.flatten() {
                    Some(code) => Some(self.plan(tx, tenant, &code).await?),
                    None => None,
                };
                segs.push(SegmentCtx {
                    start: s.start_date.parse().map_err(internal)?,
                    end: s
                        .end_date
                        .as_deref()
                        .map(str::parse)
                        .transpose()
                        .map_err(internal)?,
                    metric,
                    voice,
                });
            }
            items.push(ItemCtx {
                id: item.id.clone(),
                segments: segs,
            });
            if let Some(k) = &item.usage_key {
                self.keys
                    .insert(k.clone(), Some((self.ctxs.len(), items.len() - 1)));
            }
        }
        self.ctxs.push(SubCtx {
            sub,
            bill_to: account.bill_to_id.clone(),
            tz,
            items,
            last_day: None,
        });
        Ok(self.ctxs.len() - 1)
    }

    async fn plan(&mut self, tx: &mut Tx, tenant: &str, code: &str) -> AppResult<Arc<VoicePlan>> {
        if let Some(p) = self.plans.get(code) {
            return Ok(p.clone());
        }
        let plan = Arc::new(voice::load_plan(tx, tenant, code).await?);
        self.plans.insert(code.to_string(), plan.clone());
        Ok(plan)
    }

    async fn by_ref(&mut self, tx: &mut Tx, tenant: &str, r: &str) -> AppResult<Option<usize>> {
        if let Some(hit) = self.subs.get(r) {
            return Ok(*hit);
        }
        let row = match tx.subscription_by_external_id(tenant, r).await? {
            Some(s) => Some(s),
            None => tx.get_subscription(tenant, r).await?,
        };
        let hit = match row {
            Some(s) => Some(self.context(tx, tenant, s).await?),
            None => None,
        };
        self.subs.insert(r.to_string(), hit);
        Ok(hit)
    }

    async fn by_key(
        &mut self,
        tx: &mut Tx,
        tenant: &str,
        key: &str,
    ) -> AppResult<Option<(usize, usize)>> {
        if let Some(hit) = self.keys.get(key) {
            return Ok(*hit);
        }
        let hit = match tx.item_by_usage_key(tenant, key).await? {
            Some(item) => {
                let sub = tx
                    .get_subscription(tenant, &item.subscription_id)
                    .await?
                    .ok_or_else(|| internal("item without subscription"))?;
                let c = self.context(tx, tenant, sub).await?;
                self.ctxs[c]
                    .items
                    .iter()
                    .position(|i| i.id == item.id)
                    .map(|i| (c, i))
            }
            None => None,
        };
        self.keys.insert(key.to_string(), hit);
        Ok(hit)
    }

    /// The item an event reaches, or why it reaches none.
    pub(crate) async fn resolve(
        &mut self,
        tx: &mut Tx,
        tenant: &str,
        subscription: Option<&str>,
        item_key: Option<&str>,
        metric: &str,
        at: Timestamp,
    ) -> AppResult<Result<Target, SuspenseReason>> {
        let (c, only_item) = if let Some(key) = item_key {
            match self.by_key(tx, tenant, key).await? {
                Some((c, i)) => (c, Some(i)),
                None => return Ok(Err(SuspenseReason::UnknownItemKey)),
            }
        } else if let Some(r) = subscription {
            match self.by_ref(tx, tenant, r).await? {
                Some(c) => (c, None),
                None => return Ok(Err(SuspenseReason::UnknownSubscription)),
            }
        } else {
            return Ok(Err(SuspenseReason::UnknownSubscription));
        };
        let us = at.as_microsecond();
        let (day, day_end_us) = match self.ctxs[c].last_day {
            Some((lo, hi, d)) if lo <= us && us < hi => (d, hi),
            _ => {
                let tz = &self.ctxs[c].tz;
                let day = quoin_core::calendar::local_date(at, tz);
                let lo = rollup::day_start_us(day, tz)?;
                let hi = rollup::day_start_us(day.tomorrow().map_err(internal)?, tz)?;
                self.ctxs[c].last_day = Some((lo, hi, day));
                (day, hi)
            }
        };
        let ctx = &self.ctxs[c];
        let mut served = false;
        for (i, item) in ctx.items.iter().enumerate() {
            if only_item.is_some_and(|o| o != i) {
                continue;
            }
            for (seg, s) in item.segments.iter().enumerate() {
                if !s.covers(day) {
                    continue;
                }
                served = true;
                if s.metric.as_deref() == Some(metric) {
                    return Ok(Ok(Target {
                        ctx: c,
                        item: i,
                        seg,
                        day,
                        day_end_us,
                    }));
                }
            }
        }
        Ok(Err(if served {
            SuspenseReason::MetricNotOnPlan
        } else {
            SuspenseReason::OutsideServiceDates
        }))
    }

    /// `target` unless the segment's voice plan cannot rate the event as a call (then the
    /// event goes to suspense as unratable). No database access: one trie lookup.
    pub(crate) fn ratable(
        &self,
        target: Result<Target, SuspenseReason>,
        props: &[(String, String)],
        at: Timestamp,
    ) -> Result<Target, Suspend> {
        let t = target?;
        let ctx = &self.ctxs[t.ctx];
        let Some(plan) = ctx.items[t.item].segments[t.seg].voice.as_deref() else {
            return Ok(t);
        };
        let prop = |k: &str| props.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        match voice::rate_cdr(plan, prop("destination"), prop("duration"), at, &ctx.tz) {
            Ok(_) => Ok(t),
            Err(why) => Err(Suspend {
                reason: SuspenseReason::Unratable,
                detail: Some(why),
            }),
        }
    }

    /// The bill-to accounts of the items in `deltas` (those that received usage), each once.
    pub(crate) fn bill_to_of(&self, deltas: &rollup::Deltas) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .ctxs
            .iter()
            .filter(|c| c.items.iter().any(|i| deltas.contains_key(&i.id)))
            .map(|c| c.bill_to.as_str())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub(crate) fn item_id(&self, t: &Target) -> &str {
        &self.ctxs[t.ctx].items[t.item].id
    }
}
