//! Ingestion: per-event validation, then one transaction that stores the new events with
//! their dedup key, parks the unmatched ones in suspense and folds the rest into rollups.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use quoin_store::repo::NewUsageEvent;
use quoin_store::rows::SuspenseRow;
use quoin_store::Tx;
use rust_decimal::Decimal;

use super::rollup::{self, DayAcc, Deltas, ItemMetricDelta};
use super::{load_metrics, MetricDef, Resolver};
use crate::auth::{Action, Principal};
use crate::catalog::spec::AggregationCode;
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::model::{IngestResult, RejectedEvent, UsageEventInput};
use crate::App;

/// Most events one request may carry.
pub const MAX_BATCH: usize = 10_000;

/// How far ahead of the tenant's clock an event may be stamped.
const FUTURE_SLACK: SignedDuration = SignedDuration::from_hours(24);

/// A usage event that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvent {
    pub id: String,
    pub subscription: Option<String>,
    pub item_key: Option<String>,
    pub metric: String,
    pub timestamp: Timestamp,
    pub quantity: Option<Decimal>,
    pub properties: Vec<(String, String)>,
}

fn reject(
    index: usize,
    id: Option<&str>,
    reason: &str,
    message: impl Into<String>,
) -> RejectedEvent {
    RejectedEvent {
        index,
        id: id.map(str::to_string),
        reason: reason.to_string(),
        message: message.into(),
    }
}

fn decimal_of(v: &serde_json::Value) -> Option<Decimal> {
    match v {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// Turns one submitted JSON value into an event, or says why it is refused.
pub(crate) fn validate_value(
    index: usize,
    value: serde_json::Value,
    metrics: &HashMap<String, Arc<MetricDef>>,
    now: Timestamp,
) -> Result<UsageEvent, RejectedEvent> {
    let id_hint = value.get("id").and_then(|v| v.as_str()).map(str::to_string);
    let input: UsageEventInput = serde_json::from_value(value)
        .map_err(|e| reject(index, id_hint.as_deref(), "malformed", e.to_string()))?;
    validate(index, input, metrics, now)
}

pub(crate) fn validate(
    index: usize,
    input: UsageEventInput,
    metrics: &HashMap<String, Arc<MetricDef>>,
    now: Timestamp,
) -> Result<UsageEvent, RejectedEvent> {
    let id = match input.id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() && id.len() <= 255 => id.to_string(),
        Some(id) if !id.is_empty() => {
            return Err(reject(
                index,
                Some(id),
                "invalid_id",
                "id must be 1–255 characters",
            ))
        }
        _ => return Err(reject(index, None, "missing_id", "id is required")),
    };
    let rid = Some(id.as_str());
    let metric_code = match input.metric.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => return Err(reject(index, rid, "unknown_metric", "metric is required")),
    };
    let Some(metric) = metrics.get(&metric_code) else {
        return Err(reject(
            index,
            rid,
            "unknown_metric",
            format!("no billable metric `{metric_code}`"),
        ));
    };
    let nonblank = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let subscription = nonblank(input.subscription);
    let item_key = nonblank(input.item_key);
    if subscription.is_none() && item_key.is_none() {
        return Err(reject(
            index,
            rid,
            "missing_target",
            "give subscription or item_key",
        ));
    }
    let timestamp: Timestamp = match input.timestamp.as_deref() {
        None => {
            return Err(reject(
                index,
                rid,
                "missing_timestamp",
                "timestamp is required",
            ))
        }
        Some(t) => t.trim().parse().map_err(|e| {
            reject(
                index,
                rid,
                "invalid_timestamp",
                format!("timestamp `{t}`: {e}"),
            )
        })?,
    };
    if timestamp > now.saturating_add(FUTURE_SLACK).unwrap_or(now) {
        return Err(reject(
            index,
            rid,
            "timestamp_in_future",
            format!("timestamp {timestamp} is more than a day after the tenant's clock ({now})"),
        ));
    }
    let quantity = match &input.quantity {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(decimal_of(v).ok_or_else(|| {
            reject(
                index,
                rid,
                "non_numeric_quantity",
                format!("quantity {v} is not a decimal number"),
            )
        })?),
    };
    let properties: Vec<(String, String)> = input
        .properties
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect();
    if metric.numeric() {
        match metric.value_of(quantity, &properties) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(reject(
                    index,
                    rid,
                    "missing_quantity",
                    format!(
                        "metric `{metric_code}` needs quantity or properties.{}",
                        metric.spec.field.as_deref().unwrap_or("quantity")
                    ),
                ))
            }
            Err(()) => {
                return Err(reject(
                    index,
                    rid,
                    "non_numeric_quantity",
                    format!(
                        "properties.{} is not a decimal number",
                        metric.spec.field.as_deref().unwrap_or_default()
                    ),
                ))
            }
        }
    }
    Ok(UsageEvent {
        id,
        subscription,
        item_key,
        metric: metric_code,
        timestamp,
        quantity,
        properties,
    })
}

/// A batch number: the receive instant in µs shifted left 10 bits, plus random low bits,
/// so batches of different processes never share one; within a process numbers strictly
/// increase (batches of one group transaction may share the instant).
fn batch_no(now_us: i64) -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let candidate = (now_us << 10) | i64::from(rand::random::<u16>() & 0x3ff);
    let prev = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(candidate.max(last + 1))
        })
        .unwrap_or(candidate);
    candidate.max(prev + 1)
}

fn props_json(props: &[(String, String)]) -> Option<String> {
    if props.is_empty() {
        return None;
    }
    let map: serde_json::Map<String, serde_json::Value> = props
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::to_string(&map).ok()
}

/// Folds one newly stored, matched event into the batch's rollup deltas.
pub(crate) fn add_to_delta(
    deltas: &mut Deltas,
    item: &str,
    metric: &MetricDef,
    e_ts_us: i64,
    quantity: Option<Decimal>,
    props: &[(String, String)],
    (day, day_end_us): (jiff::civil::Date, i64),
) -> AppResult<()> {
    if !metric.keeps(props) {
        return Ok(());
    }
    let group = if metric.spec.group_by.is_empty() {
        String::new()
    } else {
        let values: Vec<Option<&str>> = metric
            .spec
            .group_by
            .iter()
            .map(|g| props.iter().find(|(k, _)| k == g).map(|(_, v)| v.as_str()))
            .collect();
        rollup::group_key(&values)
    };
    let value = metric
        .value_of(quantity, props)
        .ok()
        .flatten()
        .unwrap_or_default();
    // Look up by &str first: an owned key is built once per (item, metric), not per event.
    if !deltas.contains_key(item) {
        deltas.insert(item.to_string(), BTreeMap::new());
    }
    let by_metric = deltas
        .get_mut(item)
        .ok_or_else(|| AppError::Internal("delta".into()))?;
    let code = metric.spec.code.as_str();
    if !by_metric.contains_key(code) {
        by_metric.insert(code.to_string(), ItemMetricDelta::default());
    }
    let delta = by_metric
        .get_mut(code)
        .ok_or_else(|| AppError::Internal("delta".into()))?;
    if metric.spec.aggregation == AggregationCode::UniqueCount {
        let field = metric.spec.field.as_deref().unwrap_or_default();
        if let Some((_, v)) = props.iter().find(|(k, _)| k == field) {
            delta.uniques.push((group.clone(), day, v.clone()));
        }
    }
    let acc = DayAcc::first(value, e_ts_us, day_end_us)?;
    let days = match delta.days.get_mut(&group) {
        Some(d) => d,
        None => delta.days.entry(group).or_default(),
    };
    match days.get_mut(&day) {
        Some(existing) => existing.merge(&acc)?,
        None => {
            days.insert(day, acc);
        }
    }
    Ok(())
}

/// Stores one validated batch in `tx`: dedup, matching and suspense; the rollup additions
/// of its newly stored events go to `deltas`, which the caller applies (once for all the
/// batches of the transaction) with [`rollup::apply`] before committing.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn ingest_batch(
    tx: &mut Tx,
    tenant: &str,
    now_us: i64,
    metrics: &HashMap<String, Arc<MetricDef>>,
    resolver: &mut Resolver,
    events: &[UsageEvent],
    result: &mut IngestResult,
    deltas: &mut Deltas,
) -> AppResult<()> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(events.len());
    let mut fresh: Vec<usize> = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        if seen.insert(e.id.as_str()) {
            fresh.push(i);
        } else {
            result.duplicates += 1;
        }
    }
    // Resolve targets and lay quantity texts out in one buffer (no per-event allocation).
    let mut targets = Vec::with_capacity(fresh.len());
    let mut arena = String::with_capacity(fresh.len() * 4);
    let mut spans = Vec::with_capacity(fresh.len());
    let mut props: Vec<Option<String>> = Vec::with_capacity(fresh.len());
    for &i in &fresh {
        let e = &events[i];
        let target = resolver
            .resolve(
                tx,
                tenant,
                e.subscription.as_deref(),
                e.item_key.as_deref(),
                &e.metric,
                e.timestamp,
            )
            .await?;
        targets.push(resolver.ratable(target, &e.properties, e.timestamp));
        let start = arena.len();
        if let Some(q) = e.quantity {
            let _ = write!(arena, "{q}");
        }
        spans.push((start, arena.len(), e.quantity.is_some()));
        props.push(props_json(&e.properties));
    }
    let mut rows: Vec<NewUsageEvent<'_>> = fresh
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let e = &events[i];
            let (a, b, some) = spans[k];
            NewUsageEvent {
                event_id: &e.id,
                item_id: targets[k].as_ref().ok().map(|t| resolver.item_id(t)),
                metric_code: &e.metric,
                ts_us: e.timestamp.as_microsecond(),
                quantity: some.then(|| &arena[a..b]),
                properties: props[k].as_deref(),
            }
        })
        .collect();
    // PostgreSQL takes each new key's lock in row order: inserting every batch by id
    // order keeps two batches that share ids from waiting on each other crosswise.
    rows.sort_unstable_by(|a, b| a.event_id.cmp(b.event_id));
    let batch = batch_no(now_us);
    let inserted = tx.insert_usage_events(tenant, batch, &rows).await?;
    let earlier: HashSet<String> = if inserted < rows.len() as u64 {
        let ids: Vec<&str> = rows.iter().map(|r| r.event_id).collect();
        tx.usage_ids_from_other_batches(tenant, batch, &ids)
            .await?
            .into_iter()
            .collect()
    } else {
        HashSet::new()
    };
    drop(rows);
    for (k, &i) in fresh.iter().enumerate() {
        let e = &events[i];
        if !earlier.is_empty() && earlier.contains(&e.id) {
            result.duplicates += 1;
            continue;
        }
        result.accepted += 1;
        match &targets[k] {
            Ok(t) => {
                let metric = &metrics[&e.metric];
                add_to_delta(
                    deltas,
                    resolver.item_id(t),
                    metric,
                    e.timestamp.as_microsecond(),
                    e.quantity,
                    &e.properties,
                    (t.day, t.day_end_us),
                )?;
            }
            Err(why) => {
                result.suspended += 1;
                tx.insert_suspense(&SuspenseRow {
                    tenant_id: tenant.to_string(),
                    event_id: e.id.clone(),
                    reason: why.reason.code().to_string(),
                    detail: why.detail.clone(),
                    subscription_ref: e.subscription.clone(),
                    item_key: e.item_key.clone(),
                    metric_code: e.metric.clone(),
                    ts_us: e.timestamp.as_microsecond(),
                    received_at_us: now_us,
                })
                .await?;
            }
        }
    }
    Ok(())
}

impl App {
    /// Ingests a JSON batch (`POST /v1/events`): each element is validated on its own; valid
    /// events are stored exactly once even when others are rejected.
    pub async fn ingest_usage(
        &self,
        p: &Principal,
        events: Vec<serde_json::Value>,
    ) -> AppResult<IngestResult> {
        p.require(Action::WriteSubscriptions)?;
        if events.len() > MAX_BATCH {
            return Err(too_large(events.len()));
        }
        let (now, metrics) = self.ingest_context(&p.tenant_id).await?;
        let mut v = Validated::with_capacity(events.len());
        for (i, value) in events.into_iter().enumerate() {
            v.push(i, validate_value(i, value, &metrics, now));
        }
        self.write_validated(&p.tenant_id, now, v).await
    }

    /// Ingests newline-delimited JSON: a line that is not JSON is rejected on its own
    /// (`malformed`, index = line number − 1); blank lines are skipped.
    pub async fn ingest_usage_ndjson(&self, p: &Principal, body: &str) -> AppResult<IngestResult> {
        p.require(Action::WriteSubscriptions)?;
        let lines: Vec<(usize, &str)> = body
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .collect();
        if lines.len() > MAX_BATCH {
            return Err(too_large(lines.len()));
        }
        let (now, metrics) = self.ingest_context(&p.tenant_id).await?;
        let mut v = Validated::with_capacity(lines.len());
        for (i, line) in lines {
            let parsed = serde_json::from_str::<UsageEventInput>(line);
            let checked = match parsed {
                Ok(input) => validate(i, input, &metrics, now),
                // Not an event object: say why, naming the id when the line has one.
                Err(e) => match serde_json::from_str::<serde_json::Value>(line) {
                    Ok(value) => validate_value(i, value, &metrics, now),
                    Err(_) => Err(reject(i, None, "malformed", e.to_string())),
                },
            };
            v.push(i, checked);
        }
        self.write_validated(&p.tenant_id, now, v).await
    }

    /// Ingests already-typed inputs (the CLI import): validated like the API's.
    pub async fn ingest_usage_inputs(
        &self,
        p: &Principal,
        inputs: Vec<UsageEventInput>,
    ) -> AppResult<IngestResult> {
        p.require(Action::WriteSubscriptions)?;
        if inputs.len() > MAX_BATCH {
            return Err(too_large(inputs.len()));
        }
        let (now, metrics) = self.ingest_context(&p.tenant_id).await?;
        let mut v = Validated::with_capacity(inputs.len());
        for (i, input) in inputs.into_iter().enumerate() {
            v.push(i, validate(i, input, &metrics, now));
        }
        self.write_validated(&p.tenant_id, now, v).await
    }

    /// The embedded path: many already-validated batches in one transaction (one commit,
    /// one fsync — group commit), a result per batch. Events must have passed
    /// [`App::validate_usage`] (or be built by trusted code).
    pub async fn ingest_usage_batches(
        &self,
        p: &Principal,
        batches: &[&[UsageEvent]],
    ) -> AppResult<Vec<IngestResult>> {
        p.require(Action::WriteSubscriptions)?;
        let mut attempt = 1;
        loop {
            match self.ingest_usage_batches_once(p, batches).await {
                // Batches of another transaction shared ids in another order and PostgreSQL
                // failed this one to break the deadlock: nothing was kept, run it again.
                Err(e) if e.is_retryable_conflict() && attempt < super::writer::TRIES => {
                    super::writer::backoff(attempt).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn ingest_usage_batches_once(
        &self,
        p: &Principal,
        batches: &[&[UsageEvent]],
    ) -> AppResult<Vec<IngestResult>> {
        let mut tx = self.store.begin().await?;
        let now = self.tenant_now(&mut tx, &p.tenant_id).await?;
        let metrics = load_metrics(&mut tx, &p.tenant_id).await?;
        let mut resolver = Resolver::default();
        let mut deltas = Deltas::new();
        let mut out = Vec::with_capacity(batches.len());
        for batch in batches {
            let mut result = IngestResult::default();
            for e in batch.iter() {
                if !metrics.contains_key(&e.metric) {
                    return Err(AppError::invalid(
                        "metric",
                        format!("no billable metric `{}`", e.metric),
                    ));
                }
            }
            ingest_batch(
                &mut tx,
                &p.tenant_id,
                to_us(now),
                &metrics,
                &mut resolver,
                batch,
                &mut result,
                &mut deltas,
            )
            .await?;
            out.push(result);
        }
        let accounts = resolver.bill_to_of(&deltas);
        rollup::apply(&mut tx, &p.tenant_id, deltas).await?;
        tx.mark_draft_usage(&p.tenant_id, &accounts, to_us(now))
            .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Validates inputs into events for [`App::ingest_usage_batches`], with the rejections.
    pub async fn validate_usage(
        &self,
        p: &Principal,
        inputs: Vec<UsageEventInput>,
    ) -> AppResult<(Vec<UsageEvent>, Vec<RejectedEvent>)> {
        p.require(Action::Read)?;
        let (now, metrics) = self.ingest_context(&p.tenant_id).await?;
        let mut ok = Vec::with_capacity(inputs.len());
        let mut bad = Vec::new();
        for (i, input) in inputs.into_iter().enumerate() {
            match validate(i, input, &metrics, now) {
                Ok(e) => ok.push(e),
                Err(r) => bad.push(r),
            }
        }
        Ok((ok, bad))
    }

    /// The tenant's clock and metrics, read outside the write transaction so validation
    /// runs in parallel with the writer (the writer rechecks that each metric still exists).
    async fn ingest_context(
        &self,
        tenant: &str,
    ) -> AppResult<(Timestamp, HashMap<String, Arc<MetricDef>>)> {
        let mut tx = self.store.read().await?;
        let now = self.tenant_now(&mut tx, tenant).await?;
        let metrics = load_metrics(&mut tx, tenant).await?;
        tx.commit().await?;
        Ok((now, metrics))
    }

    async fn write_validated(
        &self,
        tenant: &str,
        now: Timestamp,
        v: Validated,
    ) -> AppResult<IngestResult> {
        let result = IngestResult {
            errors: v.errors,
            ..IngestResult::default()
        };
        self.usage_writer
            .submit(&self.store, tenant, to_us(now), v.events, v.indices, result)
            .await
    }
}

/// A batch after validation: the valid events with their submitted indices, and the
/// rejections.
struct Validated {
    events: Vec<UsageEvent>,
    indices: Vec<usize>,
    errors: Vec<RejectedEvent>,
}

impl Validated {
    fn with_capacity(n: usize) -> Self {
        Self {
            events: Vec::with_capacity(n),
            indices: Vec::with_capacity(n),
            errors: Vec::new(),
        }
    }

    fn push(&mut self, index: usize, checked: Result<UsageEvent, RejectedEvent>) {
        match checked {
            Ok(e) => {
                self.events.push(e);
                self.indices.push(index);
            }
            Err(r) => self.errors.push(r),
        }
    }
}

fn too_large(n: usize) -> AppError {
    AppError::Invalid {
        code: "batch_too_large",
        field: Some("events".into()),
        message: format!("a batch holds at most {MAX_BATCH} events, got {n}"),
    }
}
