//! Daily rollups: what ingestion adds per (item, metric, group, local day), and how a
//! period's quantity is read back from days instead of events.
//!
//! - count, sum, max, latest: per-day count / sum / max / (latest ts, value), combined
//!   over the period's days (latest ties go to the later-ingested event).
//! - weighted sum: per day Σ v × (day end − ts) in µs ("wsum") and Σ v. An increment's
//!   contribution to the period integral is v × (period end − ts) = wsum part + v × (period
//!   end − day end), so the integral is Σ_days wsum + sum × (period end − day end), exact,
//!   divided once by the period length — the same figure `quoin_core::rating::aggregate`
//!   computes from the events (the level starts at zero at the period start).
//! - unique count: `usage_unique` keeps each distinct value once per day; the period's
//!   count is `COUNT(DISTINCT value)` over its days (grows with distinct values × days,
//!   not with events).

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use quoin_store::rows::RollupRow;
use quoin_store::Tx;
use rust_decimal::Decimal;

use super::MetricDef;
use crate::catalog::spec::AggregationCode;
use crate::error::{AppError, AppResult};
use crate::model::GroupUsage;

fn overflow() -> AppError {
    AppError::Internal("usage aggregate out of the decimal range".into())
}

fn dec(text: &str) -> AppResult<Decimal> {
    text.parse()
        .map_err(|_| AppError::Internal(format!("stored decimal `{text}` unreadable")))
}

/// One day's aggregates of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DayAcc {
    pub events: i64,
    pub sum: Decimal,
    pub max: Decimal,
    pub min: Decimal,
    pub latest_us: i64,
    pub latest: Decimal,
    pub wsum: Decimal,
}

impl DayAcc {
    pub fn first(value: Decimal, ts_us: i64, day_end_us: i64) -> AppResult<Self> {
        Ok(Self {
            events: 1,
            sum: value,
            max: value,
            min: value,
            latest_us: ts_us,
            latest: value,
            wsum: value
                .checked_mul(Decimal::from(day_end_us - ts_us))
                .ok_or_else(overflow)?,
        })
    }

    /// Adds `later` (ingested after `self`) into `self`.
    pub fn merge(&mut self, later: &DayAcc) -> AppResult<()> {
        self.events += later.events;
        self.sum = self.sum.checked_add(later.sum).ok_or_else(overflow)?;
        self.max = self.max.max(later.max);
        self.min = self.min.min(later.min);
        if later.latest_us >= self.latest_us {
            self.latest_us = later.latest_us;
            self.latest = later.latest;
        }
        self.wsum = self.wsum.checked_add(later.wsum).ok_or_else(overflow)?;
        Ok(())
    }

    pub fn from_row(r: &RollupRow) -> AppResult<Self> {
        Ok(Self {
            events: r.events,
            sum: dec(&r.sum_value)?,
            max: dec(&r.max_value)?,
            min: dec(&r.min_value)?,
            latest_us: r.latest_us,
            latest: dec(&r.latest_value)?,
            wsum: dec(&r.wsum_value)?,
        })
    }

    pub fn to_row(
        &self,
        tenant: &str,
        item: &str,
        metric: &str,
        group: &str,
        day: &str,
    ) -> RollupRow {
        RollupRow {
            tenant_id: tenant.to_string(),
            item_id: item.to_string(),
            metric_code: metric.to_string(),
            group_key: group.to_string(),
            day: day.to_string(),
            events: self.events,
            sum_value: self.sum.normalize().to_string(),
            max_value: self.max.normalize().to_string(),
            min_value: self.min.normalize().to_string(),
            latest_us: self.latest_us,
            latest_value: self.latest.normalize().to_string(),
            wsum_value: self.wsum.normalize().to_string(),
        }
    }
}

/// What one batch adds for one (item, metric): per group, per day.
#[derive(Debug, Default)]
pub(crate) struct ItemMetricDelta {
    pub days: BTreeMap<String, BTreeMap<Date, DayAcc>>,
    /// (group, day, value) for unique count.
    pub uniques: Vec<(String, Date, String)>,
}

impl ItemMetricDelta {
    /// Adds `later` (ingested after `self`) into `self`.
    fn absorb(&mut self, later: ItemMetricDelta) -> AppResult<()> {
        for (group, days) in later.days {
            let mine = self.days.entry(group).or_default();
            for (day, acc) in days {
                match mine.get_mut(&day) {
                    Some(existing) => existing.merge(&acc)?,
                    None => {
                        mine.insert(day, acc);
                    }
                }
            }
        }
        self.uniques.extend(later.uniques);
        Ok(())
    }
}

/// A batch's rollup additions: item → metric → delta. Nested maps so the hot path looks
/// entries up by `&str` without allocating a key per event.
pub(crate) type Deltas = BTreeMap<String, BTreeMap<String, ItemMetricDelta>>;

/// Adds `later` into `into` (later batches after earlier ones: "latest" stays right).
pub(crate) fn merge(into: &mut Deltas, later: Deltas) -> AppResult<()> {
    for (item, metrics) in later {
        let mine = into.entry(item).or_default();
        for (metric, delta) in metrics {
            match mine.get_mut(&metric) {
                Some(existing) => existing.absorb(delta)?,
                None => {
                    mine.insert(metric, delta);
                }
            }
        }
    }
    Ok(())
}

/// Merges a batch's deltas into the stored rollups, one (item, metric) at a time in key
/// order (the PostgreSQL lock order).
pub(crate) async fn apply(tx: &mut Tx, tenant: &str, deltas: Deltas) -> AppResult<()> {
    for (item, metrics) in deltas {
        for (metric, delta) in metrics {
            apply_one(tx, tenant, &item, &metric, delta, true).await?;
        }
    }
    Ok(())
}

/// Rebuilds an item's rollups of `metric` for `days` from the events stored on the item
/// (after events left it). Does not mark the item for re-rating: the caller is rating.
pub(crate) async fn rebuild_days(
    tx: &mut Tx,
    tenant: &str,
    item: &str,
    metric: &MetricDef,
    tz: &TimeZone,
    days: &std::collections::BTreeSet<Date>,
) -> AppResult<()> {
    let code = metric.spec.code.as_str();
    let mut deltas = Deltas::new();
    for &day in days {
        let next = day
            .tomorrow()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        tx.delete_usage_rollup_days(tenant, item, code, &day.to_string(), &next.to_string())
            .await?;
        let (from_us, to_us) = (day_start_us(day, tz)?, day_start_us(next, tz)?);
        let filter = quoin_store::repo::UsageEventFilter {
            item_id: Some(item),
            metric_code: Some(code),
            from_us: Some(from_us),
            to_us: Some(to_us),
            ..Default::default()
        };
        for e in tx.search_usage_events(tenant, &filter, i64::MAX).await? {
            let props = super::query::props_of(&e);
            let quantity = e.quantity.as_deref().and_then(|q| q.parse().ok());
            super::ingest::add_to_delta(
                &mut deltas,
                item,
                metric,
                e.ts_us,
                quantity,
                &props,
                (day, to_us),
            )?;
        }
    }
    for (item, metrics) in deltas {
        for (metric, delta) in metrics {
            apply_one(tx, tenant, &item, &metric, delta, false).await?;
        }
    }
    Ok(())
}

async fn apply_one(
    tx: &mut Tx,
    tenant: &str,
    item: &str,
    metric: &str,
    delta: ItemMetricDelta,
    mark: bool,
) -> AppResult<()> {
    tx.lock_usage_rollup(tenant, item, metric).await?;
    let lo = delta.days.values().filter_map(|d| d.keys().next()).min();
    let hi = delta
        .days
        .values()
        .filter_map(|d| d.keys().next_back())
        .max();
    if let (Some(lo), Some(hi)) = (lo, hi) {
        let to = hi
            .tomorrow()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let stored = tx
            .usage_rollups(tenant, item, metric, &lo.to_string(), &to.to_string())
            .await?;
        let mut existing: BTreeMap<(String, String), DayAcc> = BTreeMap::new();
        for r in &stored {
            existing.insert((r.group_key.clone(), r.day.clone()), DayAcc::from_row(r)?);
        }
        for (group, days) in &delta.days {
            for (day, add) in days {
                let day = day.to_string();
                let merged = match existing.remove(&(group.clone(), day.clone())) {
                    Some(mut acc) => {
                        acc.merge(add)?;
                        acc
                    }
                    None => add.clone(),
                };
                tx.upsert_usage_rollup(&merged.to_row(tenant, item, metric, group, &day))
                    .await?;
            }
            // Events for days already invoiced: the next billing re-rates from there.
            if mark {
                tx.mark_usage_reconcile(tenant, item, &lo.to_string(), false)
                    .await?;
            }
        }
    }
    if !delta.uniques.is_empty() {
        let days: Vec<String> = delta
            .uniques
            .iter()
            .map(|(_, d, _)| d.to_string())
            .collect();
        let rows: Vec<(&str, &str, &str)> = delta
            .uniques
            .iter()
            .zip(&days)
            .map(|((g, _, v), d)| (g.as_str(), d.as_str(), v.as_str()))
            .collect();
        tx.insert_usage_uniques(tenant, item, metric, &rows).await?;
    }
    Ok(())
}

/// The µs instant a local date starts at.
pub(crate) fn day_start_us(day: Date, tz: &TimeZone) -> AppResult<i64> {
    day.to_zoned(tz.clone())
        .map(|z| z.timestamp().as_microsecond())
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// The group key of a group-by tuple: '' without group-by, else its JSON array.
pub(crate) fn group_key(values: &[Option<&str>]) -> String {
    if values.is_empty() {
        String::new()
    } else {
        serde_json::to_string(values).unwrap_or_default()
    }
}

fn group_values(key: &str) -> Vec<Option<String>> {
    if key.is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(key).unwrap_or_default()
    }
}

/// The aggregated quantity per group of an item's metric over local dates `[start, end)`,
/// read from the rollups. Without group-by there is exactly one group (key `[]`).
pub(crate) async fn period_quantity(
    tx: &mut Tx,
    tenant: &str,
    item: &str,
    metric: &MetricDef,
    tz: &TimeZone,
    start: Date,
    end: Date,
) -> AppResult<Vec<GroupUsage>> {
    check_period(start, end)?;
    let code = metric.spec.code.as_str();
    let (from, to) = (start.to_string(), end.to_string());
    if metric.spec.aggregation == AggregationCode::UniqueCount {
        let counts = tx
            .usage_unique_counts(tenant, item, code, &from, &to)
            .await?;
        Ok(quantity_from_unique_counts(metric, counts))
    } else {
        let rows = tx.usage_rollups(tenant, item, code, &from, &to).await?;
        quantity_from_rollups(metric, tz, start, end, &rows)
    }
}

/// A period to read must be non-empty.
pub(crate) fn check_period(start: Date, end: Date) -> AppResult<()> {
    if start >= end {
        return Err(AppError::invalid(
            "period",
            "the period is empty or reversed",
        ));
    }
    Ok(())
}

/// Whether the metric's period quantity comes from `usage_unique` rather than the rollups.
pub(crate) fn counts_unique(metric: &MetricDef) -> bool {
    metric.spec.aggregation == AggregationCode::UniqueCount
}

/// A unique-count metric's quantity per group from its distinct-value counts
/// `(group key, count)`.
pub(crate) fn quantity_from_unique_counts(
    metric: &MetricDef,
    counts: impl IntoIterator<Item = (String, i64)>,
) -> Vec<GroupUsage> {
    let out: BTreeMap<String, Decimal> = counts
        .into_iter()
        .map(|(g, n)| (g, Decimal::from(n)))
        .collect();
    by_group(metric, out)
}

/// The quantity per group over local dates `[start, end)` from the period's rollup rows of
/// one item's metric, ordered by group then day as the store returns them.
pub(crate) fn quantity_from_rollups(
    metric: &MetricDef,
    tz: &TimeZone,
    start: Date,
    end: Date,
    rows: &[RollupRow],
) -> AppResult<Vec<GroupUsage>> {
    let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
    let start_us = day_start_us(start, tz)?;
    let end_us = day_start_us(end, tz)?;
    let mut groups: BTreeMap<String, Vec<(&String, DayAcc)>> = BTreeMap::new();
    let mut ends: BTreeMap<String, i64> = BTreeMap::new();
    for r in rows {
        groups
            .entry(r.group_key.clone())
            .or_default()
            .push((&r.day, DayAcc::from_row(r)?));
        if metric.spec.aggregation == AggregationCode::WeightedSum && !ends.contains_key(&r.day) {
            let d: Date = r
                .day
                .parse()
                .map_err(|_| AppError::Internal(format!("bad rollup day {}", r.day)))?;
            let next = d
                .tomorrow()
                .map_err(|e| AppError::Internal(e.to_string()))?;
            ends.insert(r.day.clone(), day_start_us(next, tz)?);
        }
    }
    for (g, days) in &groups {
        let v = match metric.spec.aggregation {
            AggregationCode::Count => {
                Decimal::from(days.iter().map(|(_, d)| d.events).sum::<i64>())
            }
            AggregationCode::Sum => days
                .iter()
                .try_fold(Decimal::ZERO, |a, (_, d)| a.checked_add(d.sum))
                .ok_or_else(overflow)?,
            AggregationCode::Max => days.iter().map(|(_, d)| d.max).max().unwrap_or_default(),
            AggregationCode::Latest => days
                .iter()
                .rev()
                .max_by_key(|(_, d)| d.latest_us)
                .map(|(_, d)| d.latest)
                .unwrap_or_default(),
            AggregationCode::WeightedSum => {
                let mut integral = Decimal::ZERO;
                for (day, d) in days {
                    let day_end = ends.get(*day).copied().unwrap_or(end_us);
                    let tail = d
                        .sum
                        .checked_mul(Decimal::from(end_us - day_end))
                        .ok_or_else(overflow)?;
                    integral = integral
                        .checked_add(d.wsum)
                        .and_then(|i| i.checked_add(tail))
                        .ok_or_else(overflow)?;
                }
                integral
                    .checked_div(Decimal::from(end_us - start_us))
                    .ok_or_else(overflow)?
            }
            AggregationCode::UniqueCount => Decimal::ZERO,
        };
        out.insert(g.clone(), v);
    }
    Ok(by_group(metric, out))
}

/// The answer per group; without group-by exactly one group (key `[]`), zero if unused.
fn by_group(metric: &MetricDef, mut out: BTreeMap<String, Decimal>) -> Vec<GroupUsage> {
    if metric.spec.group_by.is_empty() {
        out.entry(String::new()).or_insert(Decimal::ZERO);
    }
    out.into_iter()
        .map(|(k, v)| GroupUsage {
            key: group_values(&k),
            quantity: v.normalize().to_string(),
        })
        .collect()
}
