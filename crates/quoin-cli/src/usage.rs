//! `quoin usage import` (CSV or NDJSON, batched through the app, with a progress bar and a
//! per-row error report).

use std::path::Path;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use quoin_app::model::{IngestResult, UsageEventInput};
use quoin_app::{App, Principal};
use serde_json::Value;

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
