//! `quoin usage import` (CSV or NDJSON, batched through the app, with a progress bar and a
//! per-row error report) and `quoin bench ingest` (embedded exactly-once ingestion against a
//! plain batched INSERT of the same rows in the same database).

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use quoin_app::model::{IngestResult, UsageEventInput};
use quoin_app::usage::UsageEvent;
use quoin_app::{App, Principal};
use quoin_store::repo::NewUsageEvent;
use quoin_store::rows::{ItemSegmentRow, SubscriptionItemRow};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// Events per import request (the API's batch limit).
const IMPORT_BATCH: usize = 5_000;

fn read_inputs(path: &Path) -> anyhow::Result<Vec<Result<UsageEventInput, String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let mut out = Vec::new();
    match ext {
        "csv" => {
            // Columns id, subscription, item_key, metric, timestamp, quantity; any other
            // column becomes a property.
            let mut rdr = csv::Reader::from_reader(text.as_bytes());
            let headers = rdr.headers()?.clone();
            for rec in rdr.records() {
                let rec = match rec {
                    Ok(r) => r,
                    Err(e) => {
                        out.push(Err(e.to_string()));
                        continue;
                    }
                };
                let mut input = UsageEventInput::default();
                let mut props = serde_json::Map::new();
                for (h, v) in headers.iter().zip(rec.iter()) {
                    let v = v.trim();
                    if v.is_empty() {
                        continue;
                    }
                    let s = Some(v.to_string());
                    match h.trim() {
                        "id" => input.id = s,
                        "subscription" => input.subscription = s,
                        "item_key" => input.item_key = s,
                        "metric" => input.metric = s,
                        "timestamp" => input.timestamp = s,
                        "quantity" => input.quantity = Some(Value::String(v.to_string())),
                        other => {
                            props.insert(other.to_string(), Value::String(v.to_string()));
                        }
                    }
                }
                if !props.is_empty() {
                    input.properties = Some(props);
                }
                out.push(Ok(input));
            }
        }
        "ndjson" | "jsonl" => {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                out.push(serde_json::from_str(line).map_err(|e| e.to_string()));
            }
        }
        other => bail!("unsupported file type `.{other}`: use .csv or .ndjson"),
    }
    Ok(out)
}

/// Imports a file; returns the totals. Rows are numbered from 1 (data rows).
pub async fn import(app: &App, p: &Principal, path: &Path) -> anyhow::Result<IngestResult> {
    let rows = read_inputs(path)?;
    let bar = ProgressBar::new(rows.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut total = IngestResult::default();
    for (chunk_no, chunk) in rows.chunks(IMPORT_BATCH).enumerate() {
        let base = chunk_no * IMPORT_BATCH;
        let mut inputs = Vec::with_capacity(chunk.len());
        let mut positions = Vec::with_capacity(chunk.len());
        for (i, r) in chunk.iter().enumerate() {
            match r {
                Ok(input) => {
                    inputs.push(input.clone());
                    positions.push(base + i);
                }
                Err(e) => {
                    bar.suspend(|| eprintln!("row {}: malformed: {e}", base + i + 1));
                    total.errors.push(quoin_app::model::RejectedEvent {
                        index: base + i,
                        id: None,
                        reason: "malformed".into(),
                        message: e.clone(),
                    });
                    total.rejected += 1;
                }
            }
        }
        let r = app.ingest_usage_inputs(p, inputs).await?;
        for e in &r.errors {
            let row = positions.get(e.index).map(|p| p + 1).unwrap_or(0);
            total.errors.push(quoin_app::model::RejectedEvent {
                index: row.saturating_sub(1),
                ..e.clone()
            });
            bar.suspend(|| {
                eprintln!(
                    "row {row}{}: {}: {}",
                    e.id.as_deref()
                        .map(|i| format!(" (id {i})"))
                        .unwrap_or_default(),
                    e.reason,
                    e.message
                )
            });
        }
        total.accepted += r.accepted;
        total.suspended += r.suspended;
        total.duplicates += r.duplicates;
        total.rejected += r.errors.len();
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(total)
}

/// Sets up a tenant with a sum metric priced on one subscription item (`bench-item`).
async fn bench_tenant(app: &App) -> anyhow::Result<Principal> {
    let t = app.create_tenant("bench", "UTC").await?;
    let p = app.operator(&t.tenant_id).await?;
    let doc = serde_json::from_value(json!({
        "metrics": [{"code": "calls", "name": "Calls", "aggregation": "sum", "field": "quantity"}],
        "products": [{"code": "plan", "name": "Plan", "status": "active", "prices": [
            {"currency": "USD", "amount": "10", "period": "month"},
            {"type": "usage", "code": "plan-calls", "currency": "USD", "metric": "calls", "period": "month", "amount": "0.01"}]}]
    }))?;
    app.import_catalog(&p, doc, false).await?;
    let product = app
        .list_products(&p, &Default::default())
        .await?
        .data
        .remove(0);
    let recurring = product
        .prices
        .iter()
        .find(|x| x.metric.is_none())
        .context("price")?;
    let usage = product
        .prices
        .iter()
        .find(|x| x.metric.is_some())
        .context("usage price")?;
    let account = app
        .create_account(
            &p,
            serde_json::from_value(
                json!({"kind": "business", "name": "Bench", "billing": {"currency": "USD"}}),
            )?,
        )
        .await?;
    let sub = app
        .create_subscription(&p, serde_json::from_value(json!({"account_id": account.id, "price_id": recurring.id, "start_date": "2024-01-01"}))?)
        .await?;
    let mut tx = app.store().begin().await?;
    tx.insert_subscription_item(&SubscriptionItemRow {
        id: "itm_bench".into(),
        tenant_id: p.tenant_id.clone(),
        subscription_id: sub.id.clone(),
        usage_key: Some("bench-item".into()),
        position: 1,
        billed_through: None,
        created_at_us: 0,
        usage_reconcile_from: None,
    })
    .await?;
    tx.insert_item_segment(&ItemSegmentRow {
        tenant_id: p.tenant_id.clone(),
        item_id: "itm_bench".into(),
        subscription_id: sub.id,
        start_date: "2024-01-01".into(),
        end_date: None,
        price_id: usage.id.clone(),
        quantity: "1".into(),
        unit_amount: None,
        version: 1,
    })
    .await?;
    tx.commit().await?;
    Ok(p)
}

/// Runs the ingest benchmark and prints the figures.
pub async fn bench(app: &App, events: usize, batch: usize, group: usize) -> anyhow::Result<()> {
    let p = bench_tenant(app).await?;
    let start_us: i64 = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z
    let run = uuid::Uuid::now_v7().simple().to_string();
    let all: Vec<UsageEvent> = (0..events)
        .map(|i| UsageEvent {
            id: format!("{run}-{i:010}"),
            subscription: None,
            item_key: Some("bench-item".into()),
            metric: "calls".into(),
            timestamp: jiff::Timestamp::from_microsecond(start_us + (i as i64) * 1_000)
                .unwrap_or_default(),
            quantity: Some(Decimal::from(1 + (i % 7) as i64)),
            properties: Vec::new(),
        })
        .collect();
    let batches: Vec<&[UsageEvent]> = all.chunks(batch).collect();

    // Embedded path: exactly-once (dedup key), matching, rollups; `group` batches per commit.
    let t0 = Instant::now();
    let mut accepted = 0;
    for g in batches.chunks(group) {
        for r in app.ingest_usage_batches(&p, g).await? {
            accepted += r.accepted;
        }
    }
    let embedded = t0.elapsed();
    if accepted != events {
        bail!("accepted {accepted} of {events}");
    }

    // Baseline: the same rows (under another tenant id, same table and indexes) by plain
    // multi-row INSERTs, the same number of rows per commit.
    let quantities: Vec<String> = all
        .iter()
        .map(|e| e.quantity.unwrap_or_default().to_string())
        .collect();
    let rows: Vec<NewUsageEvent<'_>> = all
        .iter()
        .zip(&quantities)
        .map(|(e, q)| NewUsageEvent {
            event_id: &e.id,
            item_id: Some("itm_bench"),
            metric_code: &e.metric,
            ts_us: e.timestamp.as_microsecond(),
            quantity: Some(q),
            properties: None,
        })
        .collect();
    let baseline_tenant = format!("{}-baseline", p.tenant_id);
    let t0 = Instant::now();
    for g in rows.chunks(batch * group) {
        let mut tx = app.store().begin().await?;
        for b in g.chunks(batch) {
            tx.insert_usage_events_plain(&baseline_tenant, 1, b).await?;
        }
        tx.commit().await?;
    }
    let raw = t0.elapsed();

    let rate = |d: std::time::Duration| events as f64 / d.as_secs_f64();
    println!(
        "backend {} | events {events} | batch {batch} | batches per commit {group}",
        app.store().backend().name()
    );
    println!(
        "embedded exactly-once ingest: {:>10.0} events/s ({:.3} s)",
        rate(embedded),
        embedded.as_secs_f64()
    );
    println!(
        "raw batched INSERT baseline:  {:>10.0} events/s ({:.3} s)",
        rate(raw),
        raw.as_secs_f64()
    );
    println!(
        "ratio embedded/raw: {:.2}",
        raw.as_secs_f64() / embedded.as_secs_f64()
    );
    Ok(())
}
