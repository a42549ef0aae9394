//! Reading usage: an item's quantity over a period (for billing), a subscription's
//! current-period usage with projected amounts, event search, suspense and recycling.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use quoin_core::calendar::{Alignment, BillCycleDay, BillingPeriod, Cycle};
use quoin_store::repo::{RollupWindow, SuspenseFilter, UniqueCountRow, UsageEventFilter};
use quoin_store::rows::{
    ItemSegmentRow, PriceRow, RollupRow, SubscriptionItemRow, SuspenseRow, UsageEventRow,
};
use quoin_store::Tx;
use rust_decimal::Decimal;

use super::ingest::add_to_delta;
use super::rollup;
use super::{internal, load_metrics, MetricDef, Resolver};
use crate::auth::{Action, Principal};
use crate::catalog::spec::PriceSpec;
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::model::{
    GroupUsage, ItemUsage, ListParams, RecycleRequest, RecycleResult, SubscriptionUsage,
    SuspendedEvent, SuspensePage, SuspenseQuery, UsageEventPage, UsageEventView,
};
use crate::App;

/// The quantity of `metric_code` used by item `item_id` over the local dates `[start, end)`
/// of the item's account, aggregated as the metric says, per group (one group, key `[]`,
/// without group-by). Reads the daily rollups, never the events; runs in the caller's
/// transaction so billing sees the usage committed before it. Errors: unknown metric or
/// item (404), empty period (422).
pub async fn usage_for_period(
    tx: &mut Tx,
    tenant: &str,
    item_id: &str,
    metric_code: &str,
    start: Date,
    end: Date,
) -> AppResult<Vec<GroupUsage>> {
    let metrics = load_metrics(tx, tenant).await?;
    let metric = metrics
        .get(metric_code)
        .ok_or_else(|| AppError::not_found("metric", metric_code))?;
    let tz = item_zone(tx, tenant, item_id).await?;
    rollup::period_quantity(tx, tenant, item_id, metric, &tz, start, end).await
}

pub(super) async fn item_zone(tx: &mut Tx, tenant: &str, item_id: &str) -> AppResult<TimeZone> {
    let sub_id: Option<String> = {
        // Items are few per subscription; find the item's subscription through its rows.
        let sql_item = tx.usage_item_subscription(tenant, item_id).await?;
        sql_item
    };
    let sub_id = sub_id.ok_or_else(|| AppError::not_found("subscription item", item_id))?;
    let sub = tx
        .get_subscription(tenant, &sub_id)
        .await?
        .ok_or_else(|| AppError::not_found("subscription", &sub_id))?;
    let account = tx
        .get_account(tenant, &sub.account_id)
        .await?
        .ok_or_else(|| internal("subscription without account"))?;
    TimeZone::get(&account.time_zone).map_err(internal)
}

/// The usage as the core's full scan computes it (tests compare it with the rollups).
pub async fn usage_by_scan(
    tx: &mut Tx,
    tenant: &str,
    item_id: &str,
    metric_code: &str,
    start: Date,
    end: Date,
) -> AppResult<Vec<GroupUsage>> {
    use quoin_core::rating::{aggregate, Event, Window};
    let metrics = load_metrics(tx, tenant).await?;
    let metric = metrics
        .get(metric_code)
        .ok_or_else(|| AppError::not_found("metric", metric_code))?;
    let tz = item_zone(tx, tenant, item_id).await?;
    let start_us = rollup::day_start_us(start, &tz)?;
    let end_us = rollup::day_start_us(end, &tz)?;
    let rows = tx
        .search_usage_events(
            tenant,
            &UsageEventFilter {
                item_id: Some(item_id),
                metric_code: Some(metric_code),
                from_us: Some(start_us),
                to_us: Some(end_us),
                ..Default::default()
            },
            i64::MAX,
        )
        .await?;
    let props: Vec<Vec<(String, String)>> = rows.iter().map(props_of).collect();
    let borrowed: Vec<Vec<(&str, &str)>> = props
        .iter()
        .map(|p| p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .collect();
    let events: Vec<Event<'_>> = rows
        .iter()
        .zip(&props)
        .zip(&borrowed)
        .map(|((r, p), b)| Event {
            timestamp: from_us(r.ts_us),
            value: metric
                .value_of(r.quantity.as_deref().and_then(|q| q.parse().ok()), p)
                .ok()
                .flatten()
                .unwrap_or_default(),
            properties: b,
        })
        .collect();
    let window = Window::new(from_us(start_us), from_us(end_us)).map_err(internal)?;
    let groups = aggregate(&metric.core(), window, &events).map_err(internal)?;
    Ok(groups
        .into_iter()
        .map(|g| GroupUsage {
            key: g.key.iter().map(|k| k.map(str::to_string)).collect(),
            quantity: g.value.normalize().to_string(),
        })
        .collect())
}

pub(super) fn props_of(r: &UsageEventRow) -> Vec<(String, String)> {
    r.properties
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(p).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}

pub(super) fn view(r: UsageEventRow) -> UsageEventView {
    let properties = r
        .properties
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    UsageEventView {
        id: r.event_id,
        item_id: r.item_id,
        metric: r.metric_code,
        timestamp: from_us(r.ts_us),
        quantity: r.quantity,
        properties,
    }
}

fn suspended_view(r: SuspenseRow) -> SuspendedEvent {
    SuspendedEvent {
        id: r.event_id,
        reason: r.reason,
        subscription: r.subscription_ref,
        item_key: r.item_key,
        metric: r.metric_code,
        timestamp: from_us(r.ts_us),
        received_at: from_us(r.received_at_us),
        detail: r.detail,
    }
}

fn cursor_of(cursor: &Option<String>) -> AppResult<Option<(i64, String)>> {
    match cursor {
        None => Ok(None),
        Some(c) => {
            let (a, b) = c
                .split_once(':')
                .ok_or_else(|| AppError::invalid("cursor", "not a cursor from a previous page"))?;
            let a: i64 = a
                .parse()
                .map_err(|_| AppError::invalid("cursor", "not a cursor from a previous page"))?;
            Ok(Some((a, b.to_string())))
        }
    }
}

/// Event search parameters (`GET /v1/usage/events`).
#[derive(Debug, Clone, Default)]
pub struct EventSearch {
    pub subscription: Option<String>,
    pub item: Option<String>,
    pub metric: Option<String>,
    pub from: Option<jiff::Timestamp>,
    pub to: Option<jiff::Timestamp>,
}

/// A usage item of the current-usage answer, before its rollups are read.
struct PlannedItem<'a> {
    item: &'a SubscriptionItemRow,
    price: &'a PriceRow,
    spec: PriceSpec,
    metric_code: String,
    metric: Arc<MetricDef>,
    /// The period's local dates as stored in rollup rows.
    start: String,
    end: String,
    period: (Date, Date),
}

type ByItemMetric<'a, T> = HashMap<(&'a str, &'a str), Vec<T>>;

/// The rollup rows and distinct-value counts of the planned items, one statement each,
/// by (item, metric) in the store's order (group, then day).
async fn read_rollups<'a>(
    tx: &mut Tx,
    tenant: &str,
    planned: &'a [PlannedItem<'a>],
) -> AppResult<(
    ByItemMetric<'a, RollupRow>,
    ByItemMetric<'a, UniqueCountRow>,
)> {
    let window = |p: &'a PlannedItem<'a>| RollupWindow {
        item_id: &p.item.id,
        metric_code: &p.metric_code,
        from_day: &p.start,
        to_day: &p.end,
    };
    let (unique, summed): (Vec<&PlannedItem<'a>>, Vec<&PlannedItem<'a>>) = planned
        .iter()
        .partition(|p| rollup::counts_unique(&p.metric));
    let key_of = |item: &str, metric: &str| {
        planned
            .iter()
            .find(|p| p.item.id == item && p.metric_code == metric)
            .map(|p| (p.item.id.as_str(), p.metric_code.as_str()))
    };
    let mut rollups: ByItemMetric<'a, RollupRow> = HashMap::new();
    let windows: Vec<RollupWindow<'_>> = summed.into_iter().map(window).collect();
    for row in tx.usage_rollups_in(tenant, &windows).await? {
        if let Some(key) = key_of(&row.item_id, &row.metric_code) {
            rollups.entry(key).or_default().push(row);
        }
    }
    let mut uniques: ByItemMetric<'a, UniqueCountRow> = HashMap::new();
    let windows: Vec<RollupWindow<'_>> = unique.into_iter().map(window).collect();
    for row in tx.usage_unique_counts_in(tenant, &windows).await? {
        if let Some(key) = key_of(&row.item_id, &row.metric_code) {
            uniques.entry(key).or_default().push(row);
        }
    }
    Ok((rollups, uniques))
}

impl App {
    /// Usage of `metric` by one item over `[start, end)` (local dates), per group.
    pub async fn item_usage(
        &self,
        p: &Principal,
        item_id: &str,
        metric: &str,
        start: Date,
        end: Date,
    ) -> AppResult<Vec<GroupUsage>> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let out = usage_for_period(&mut tx, &p.tenant_id, item_id, metric, start, end).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Per item with a usage price: the quantity of its metric in the period containing
    /// `at` (default: the tenant's today) or in `[from, to)`, and the projected amount.
    ///
    /// A fixed number of statements whatever the number of items: the subscription, its
    /// account, items, segments and their prices, then one read of all the items' rollups
    /// (and one of their distinct-value counts), each read once and rated from memory as
    /// billing rates it. Voice items alone read their period's calls.
    pub async fn subscription_usage(
        &self,
        p: &Principal,
        id: &str,
        range: Option<(Date, Date)>,
    ) -> AppResult<SubscriptionUsage> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        let now = self.tenant_now(&mut tx, tenant).await?;
        let sub = match tx.get_subscription(tenant, id).await? {
            Some(s) => s,
            None => tx
                .subscription_by_external_id(tenant, id)
                .await?
                .ok_or_else(|| AppError::not_found("subscription", id))?,
        };
        let account = tx
            .get_account(tenant, &sub.account_id)
            .await?
            .ok_or_else(|| internal("subscription without account"))?;
        let tz = TimeZone::get(&account.time_zone).map_err(internal)?;
        let today = quoin_core::calendar::local_date(now, &tz);
        let metrics = load_metrics(&mut tx, tenant).await?;
        let items = tx.subscription_items(tenant, &sub.id).await?;
        let segments = tx.subscription_segments(tenant, &sub.id).await?;
        let sub_start: Date = sub.start_date.parse().map_err(internal)?;
        let on = range.map(|r| r.0).unwrap_or(today);
        // Each item's segment serving `on`, then all their prices at once.
        let serving: Vec<(&SubscriptionItemRow, &ItemSegmentRow)> = items
            .iter()
            .filter_map(|item| {
                let seg = segments.iter().filter(|s| s.item_id == item.id).find(|s| {
                    let start: Option<Date> = s.start_date.parse().ok();
                    let end: Option<Date> = s.end_date.as_deref().and_then(|e| e.parse().ok());
                    start.is_some_and(|st| st <= on) && end.is_none_or(|e| on < e)
                })?;
                Some((item, seg))
            })
            .collect();
        let mut price_ids: Vec<&str> = serving.iter().map(|(_, s)| s.price_id.as_str()).collect();
        price_ids.sort_unstable();
        price_ids.dedup();
        let prices: HashMap<String, PriceRow> = tx
            .prices_by_ids(tenant, &price_ids)
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let mut planned = Vec::new();
        for (item, seg) in serving {
            let Some(price) = prices.get(&seg.price_id) else {
                continue;
            };
            let spec: PriceSpec = serde_json::from_str(&price.definition).map_err(internal)?;
            let Some(metric_code) = super::usage_metric_of(&price.definition) else {
                continue;
            };
            let Some(metric) = metrics.get(&metric_code) else {
                continue;
            };
            let (start, end) = match range {
                Some(r) => r,
                None => current_period(&spec, &account, sub_start, today)?,
            };
            rollup::check_period(start, end)?;
            planned.push(PlannedItem {
                item,
                price,
                spec,
                metric_code,
                metric: metric.clone(),
                start: start.to_string(),
                end: end.to_string(),
                period: (start, end),
            });
        }
        let (rollups, uniques) = read_rollups(&mut tx, tenant, &planned).await?;
        let mut out = Vec::with_capacity(planned.len());
        for plan in &planned {
            let (start, end) = plan.period;
            let key = (plan.item.id.as_str(), plan.metric_code.as_str());
            let groups = if rollup::counts_unique(&plan.metric) {
                let counts = uniques.get(&key).into_iter().flatten();
                rollup::quantity_from_unique_counts(
                    &plan.metric,
                    counts.map(|u| (u.group_key.clone(), u.distinct_values)),
                )
            } else {
                let rows = rollups.get(&key).map(Vec::as_slice).unwrap_or_default();
                rollup::quantity_from_rollups(&plan.metric, &tz, start, end, rows)?
            };
            // Rated as billing rates it (voice prices call by call).
            let price = plan.price;
            let currency = quoin_core::money::Currency::parse(&price.currency).map_err(internal)?;
            quoin_core::calendar::Period::new(start, end).map_err(internal)?;
            let voice = super::voice::bill_period(
                &mut tx,
                tenant,
                &plan.spec,
                &plan.item.id,
                &plan.metric_code,
                (start, end),
                currency,
                super::Unratable::Skip,
                Some(&tz),
            )
            .await?;
            let (quantity, amount) = match voice {
                Some(v) => (v.quantity, v.amount.to_decimal()),
                None => super::rating::rate_groups(&plan.spec, &plan.item.id, &price.id, &groups)?,
            };
            out.push(ItemUsage {
                item_id: plan.item.id.clone(),
                usage_key: plan.item.usage_key.clone(),
                price_id: price.id.clone(),
                metric: plan.metric_code.clone(),
                period_start: start,
                period_end: end,
                quantity: quantity.normalize().to_string(),
                groups,
                amount: amount.normalize().to_string(),
                currency: price.currency.clone(),
            });
        }
        tx.commit().await?;
        Ok(SubscriptionUsage {
            subscription_id: sub.id,
            items: out,
        })
    }

    /// Stored events by subscription, item, metric and time, oldest first.
    pub async fn search_usage_events(
        &self,
        p: &Principal,
        q: &EventSearch,
        page: &ListParams,
    ) -> AppResult<UsageEventPage> {
        p.require(Action::Read)?;
        let limit = page.limit()?;
        let after = cursor_of(&page.cursor)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        let sub_id = match &q.subscription {
            None => None,
            Some(r) => Some(match tx.subscription_by_external_id(tenant, r).await? {
                Some(s) => s.id,
                None => r.clone(),
            }),
        };
        let rows = tx
            .search_usage_events(
                tenant,
                &UsageEventFilter {
                    subscription_id: sub_id.as_deref(),
                    item_id: q.item.as_deref(),
                    metric_code: q.metric.as_deref(),
                    from_us: q.from.map(to_us),
                    to_us: q.to.map(to_us),
                    after: after.as_ref().map(|(t, id)| (*t, id.as_str())),
                },
                limit + 1,
            )
            .await?;
        tx.commit().await?;
        let more = rows.len() as i64 > limit;
        let mut data: Vec<UsageEventView> = rows.into_iter().map(view).collect();
        data.truncate(usize::try_from(limit).unwrap_or(0));
        let next_cursor = if more {
            data.last()
                .map(|e| format!("{}:{}", to_us(e.timestamp), e.id))
        } else {
            None
        };
        Ok(UsageEventPage { data, next_cursor })
    }

    /// Suspended events, oldest received first.
    pub async fn list_suspense(
        &self,
        p: &Principal,
        q: &SuspenseQuery,
        page: &ListParams,
    ) -> AppResult<SuspensePage> {
        p.require(Action::Read)?;
        let limit = page.limit()?;
        let after = cursor_of(&page.cursor)?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .list_suspense(
                &p.tenant_id,
                &filter_of(q),
                after.as_ref().map(|(t, id)| (*t, id.as_str())),
                limit + 1,
            )
            .await?;
        tx.commit().await?;
        let more = rows.len() as i64 > limit;
        let mut data: Vec<SuspendedEvent> = rows.into_iter().map(suspended_view).collect();
        data.truncate(usize::try_from(limit).unwrap_or(0));
        let next_cursor = if more {
            data.last()
                .map(|e| format!("{}:{}", to_us(e.received_at), e.id))
        } else {
            None
        };
        Ok(SuspensePage { data, next_cursor })
    }

    /// Re-matches suspended events (the listed ids, or all matching the filter) against the
    /// current catalog and inventory; matched ones leave suspense and enter the rollups.
    pub async fn recycle_suspense(
        &self,
        p: &Principal,
        req: &RecycleRequest,
    ) -> AppResult<RecycleResult> {
        p.require(Action::WriteSubscriptions)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let suspended: Vec<SuspenseRow> = match (&req.ids, &req.filter) {
            (Some(ids), None) => tx.suspense_by_ids(tenant, ids).await?,
            (None, filter) => {
                let q = filter.clone().unwrap_or_default();
                let f = filter_of(&q);
                let mut all = Vec::new();
                let mut after: Option<(i64, String)> = None;
                loop {
                    let page = tx
                        .list_suspense(
                            tenant,
                            &f,
                            after.as_ref().map(|(t, i)| (*t, i.as_str())),
                            1000,
                        )
                        .await?;
                    let done = page.len() < 1000;
                    after = page.last().map(|r| (r.received_at_us, r.event_id.clone()));
                    all.extend(page);
                    if done {
                        break;
                    }
                }
                all
            }
            (Some(_), Some(_)) => {
                return Err(AppError::invalid("ids", "give ids or filter, not both"))
            }
        };
        let metrics = load_metrics(&mut tx, tenant).await?;
        let ids: Vec<String> = suspended.iter().map(|s| s.event_id.clone()).collect();
        let events: BTreeMap<String, UsageEventRow> = tx
            .usage_events_by_ids(tenant, &ids)
            .await?
            .into_iter()
            .map(|e| (e.event_id.clone(), e))
            .collect();
        let mut resolver = Resolver::default();
        let mut deltas = BTreeMap::new();
        let mut result = RecycleResult {
            examined: suspended.len(),
            ..Default::default()
        };
        for s in &suspended {
            let Some(e) = events.get(&s.event_id) else {
                continue;
            };
            let Some(metric) = metrics.get(&e.metric_code) else {
                result.still_suspended += 1;
                continue;
            };
            let target = resolver
                .resolve(
                    &mut tx,
                    tenant,
                    s.subscription_ref.as_deref(),
                    s.item_key.as_deref(),
                    &e.metric_code,
                    from_us(e.ts_us),
                )
                .await?;
            let props = props_of(e);
            match resolver.ratable(target, &props, from_us(e.ts_us)) {
                Ok(t) => {
                    let item = resolver.item_id(&t).to_string();
                    tx.set_usage_event_item(tenant, &e.event_id, &item).await?;
                    tx.delete_suspense(tenant, &e.event_id).await?;
                    let quantity: Option<Decimal> =
                        e.quantity.as_deref().and_then(|q| q.parse().ok());
                    add_to_delta(
                        &mut deltas,
                        &item,
                        metric,
                        e.ts_us,
                        quantity,
                        &props,
                        (t.day, t.day_end_us),
                    )?;
                    result.matched += 1;
                }
                Err(why) => {
                    if why.reason.code() != s.reason || why.detail != s.detail {
                        let mut row = s.clone();
                        row.reason = why.reason.code().to_string();
                        row.detail = why.detail;
                        tx.insert_suspense(&row).await?;
                    }
                    result.still_suspended += 1;
                }
            }
        }
        let now = self.tenant_now(&mut tx, tenant).await?;
        let accounts = resolver.bill_to_of(&deltas);
        rollup::apply(&mut tx, tenant, deltas).await?;
        tx.mark_draft_usage(tenant, &accounts, to_us(now)).await?;
        tx.commit().await?;
        Ok(result)
    }
}

fn filter_of(q: &SuspenseQuery) -> SuspenseFilter<'_> {
    SuspenseFilter {
        reason: q.reason.as_deref(),
        metric_code: q.metric.as_deref(),
        subscription_ref: q.subscription.as_deref(),
        item_key: q.item_key.as_deref(),
    }
}

/// The billing period of a usage price containing `today`: the price's period (monthly by
/// default) aligned as the account bills.
fn current_period(
    spec: &PriceSpec,
    account: &quoin_store::rows::AccountRow,
    start: Date,
    today: Date,
) -> AppResult<(Date, Date)> {
    let period =
        BillingPeriod::parse(spec.period.as_deref().unwrap_or("month")).map_err(internal)?;
    let alignment = Alignment::parse(&account.alignment).unwrap_or(Alignment::Anniversary);
    let bcd = BillCycleDay::new(account.bill_cycle_day.unwrap_or(i64::from(start.day())))
        .map_err(internal)?;
    let cycle = Cycle::for_alignment(alignment, period, bcd, start);
    let p = cycle
        .period_containing(today.max(start))
        .map_err(internal)?;
    Ok((p.start, p.end))
}
