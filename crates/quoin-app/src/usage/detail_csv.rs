//! `GET /v1/invoices/{id}/usage.csv`: one row per usage event billed on an invoice.
//!
//! A usage line bills its item's events of one metric over its period's local dates, so
//! the rows are found again from the line (item, price, period), not stored twice. Voice
//! calls are rated again against their plan — plans never change, so each row shows the
//! charge that was summed into the line; other events show their metric and quantity.

use std::fmt::Write;

use quoin_core::money::Money;
use quoin_store::rows::UsageEventRow;

use super::internal;
use super::voice::{load_plan, period_events, rated_calls, PeriodCalls};
use crate::auth::{Action, Principal};
use crate::catalog::spec::{ModelSpec, PriceSpec};
use crate::error::{AppError, AppResult};
use crate::App;

const HEADER: &str = "line_id,event_id,metric,timestamp,quantity,destination,rated_as,band,duration_seconds,billed_seconds,charge\n";

impl App {
    pub async fn invoice_usage_csv(&self, p: &Principal, invoice_id: &str) -> AppResult<String> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        let invoice = tx
            .get_invoice(tenant, invoice_id)
            .await?
            .ok_or_else(|| AppError::not_found("invoice", invoice_id))?;
        let mut csv = String::from(HEADER);
        for line in tx.invoice_lines(tenant, &invoice.id).await? {
            let (Some(item_id), Some(price_id)) = (&line.item_id, &line.price_id) else {
                continue;
            };
            if line.kind != "usage" {
                continue;
            }
            let price = tx
                .get_price(tenant, price_id)
                .await?
                .ok_or_else(|| internal("usage line without its price"))?;
            let spec: PriceSpec = serde_json::from_str(&price.definition).map_err(internal)?;
            let metric = spec
                .metric
                .clone()
                .ok_or_else(|| internal("usage price without a metric"))?;
            let tz = super::query::item_zone(&mut tx, tenant, item_id).await?;
            let period = PeriodCalls {
                item_id,
                metric: &metric,
                tz: &tz,
                start: line.period_start.parse().map_err(internal)?,
                end: line.period_end.parse().map_err(internal)?,
            };
            if let Some(ModelSpec::Voice { rating_plan }) = &spec.model {
                let plan = load_plan(&mut tx, tenant, rating_plan).await?;
                // Billing parked unratable calls in suspense: the line never charged them.
                for (event, rated) in rated_calls(&mut tx, tenant, &plan, &period).await?.rated {
                    let prop = |k: &str| property(&event, k);
                    row(
                        &mut csv,
                        &[
                            &line.id,
                            &event.event_id,
                            &event.metric_code,
                            &timestamp(&event)?,
                            event.quantity.as_deref().unwrap_or(""),
                            &prop("destination")?,
                            &plan.destinations()[rated.destination].code,
                            &plan.bands()[rated.band].code,
                            &prop("duration")?,
                            &rated.billed_seconds.to_string(),
                            &amount(rated.charge),
                        ],
                    );
                }
            } else {
                for event in period_events(&mut tx, tenant, &period).await? {
                    row(
                        &mut csv,
                        &[
                            &line.id,
                            &event.event_id,
                            &event.metric_code,
                            &timestamp(&event)?,
                            event.quantity.as_deref().unwrap_or(""),
                            "",
                            "",
                            "",
                            "",
                            "",
                            "",
                        ],
                    );
                }
            }
        }
        tx.commit().await?;
        Ok(csv)
    }
}

fn timestamp(event: &UsageEventRow) -> AppResult<String> {
    Ok(jiff::Timestamp::from_microsecond(event.ts_us)
        .map_err(internal)?
        .to_string())
}

fn property(event: &UsageEventRow, key: &str) -> AppResult<String> {
    let Some(text) = &event.properties else {
        return Ok(String::new());
    };
    let props: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(internal)?;
    Ok(match props.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    })
}

/// Major units with the currency's decimals, e.g. "0.20".
fn amount(m: Money) -> String {
    let d = m.to_decimal();
    format!("{d:.prec$}", prec = m.currency().exponent() as usize)
}

/// One CSV record (RFC 4180): fields with a comma, quote or line break are quoted.
fn row(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            let _ = write!(out, "\"{}\"", f.replace('"', "\"\""));
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
}
