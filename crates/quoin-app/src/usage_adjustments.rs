//! Re-rating billed usage periods. Late events for days already invoiced, or a voided
//! invoice that billed an item's usage, mark the item; its next billing rates each billed
//! period from there again and puts the difference from what the period's non-void lines
//! billed on today's invoice as a `usage_adjustment` line.

use jiff::civil::Date;
use quoin_core::billing::{BillingTerms, LineKind, Proposal};
use quoin_core::calendar::{BillingPeriod, Cycle, Period};
use quoin_core::money::Money;
use quoin_store::rows::{ItemSegmentRow, SubscriptionItemRow};
use quoin_store::Tx;

use crate::error::{AppError, AppResult};
use crate::subscriptions::parse_date;
use crate::timeline::opt_date;
use crate::usage::{rate_usage, Unratable};

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

/// An item to re-rate: its usage segments, where its service ends and where billing is.
pub(crate) struct Rerate<'a> {
    pub item: &'a SubscriptionItemRow,
    pub rows: &'a [&'a ItemSegmentRow],
    pub service_end: Option<Date>,
    pub anchor: Date,
    /// Re-rate the billed periods that contain this day or come after it.
    pub from: Date,
    /// End (exclusive) of what is billed.
    pub billed_through: Date,
}

/// The adjustment lines (with the price's id) for the billed periods of `r` whose rated
/// amount now differs from what was billed. `key` is the caller's handle for the lines.
pub(crate) async fn usage_adjustments(
    tx: &mut Tx,
    terms: &BillingTerms,
    r: &Rerate<'_>,
    today: Date,
    key: usize,
) -> AppResult<Vec<(Proposal, String)>> {
    let mut out = Vec::new();
    for row in r.rows {
        let price = tx
            .get_price(&row.tenant_id, &row.price_id)
            .await?
            .ok_or_else(|| internal("price missing"))?;
        if price.price_type != "usage" {
            continue;
        }
        let period = BillingPeriod::parse(&price.period).map_err(internal)?;
        let seg_start = parse_date(&row.start_date, "segment start")?;
        let seg_end = opt_date(row.end_date.as_deref(), "segment end")?;
        let stop = match (seg_end, r.service_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let cycle = Cycle::for_alignment(terms.alignment, period, terms.bill_cycle_day, r.anchor);
        // Billed periods start at the segment's start or on cycle boundaries.
        let first = cycle
            .boundary_on_or_before(r.from)
            .map_err(internal)?
            .max(seg_start);
        for p in cycle.charge_periods(first) {
            let end = stop.map_or(p.service.end, |e| p.service.end.min(e));
            if end <= p.service.start || end > r.billed_through {
                break;
            }
            let service = Period::new(p.service.start, end).map_err(internal)?;
            let (quantity, exact) =
                rate_usage(tx, r.item, &price, service, terms.currency, Unratable::Park).await?;
            let rated = Money::from_decimal(exact, terms.currency).map_err(internal)?;
            let billed: i64 = tx
                .usage_lines_of_period(&r.item.tenant_id, &r.item.id, &service.start.to_string())
                .await?
                .iter()
                .map(|l| l.amount_minor)
                .sum();
            let difference = rated.minor() - billed;
            if difference == 0 {
                continue;
            }
            out.push((
                Proposal {
                    key,
                    kind: LineKind::Charge,
                    invoice_date: today,
                    service,
                    full: p.full,
                    factor: quoin_core::calendar::ProrationFactor::FULL,
                    price: 0,
                    unit_amount: price.amount.parse().unwrap_or_default(),
                    quantity,
                    amount: Money::from_minor(difference, terms.currency),
                },
                price.id.clone(),
            ));
        }
    }
    Ok(out)
}
