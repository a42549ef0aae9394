//! Percentage of event amounts (Lago's percentage charge): a rate on each event's
//! amount plus a fixed fee per event, after a free allowance, with optional per-event
//! minimum and maximum.

use rust_decimal::Decimal;

use super::arith::{add, hundredth, mul, sub};
use super::{LineKind, Rating, RatingError, RatingLine};

/// The terms of [`PriceModel::Percentage`](super::PriceModel::Percentage), copied out
/// so the event walk does not re-match the enum.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terms {
    pub rate_percent: Decimal,
    pub fixed_fee_per_event: Decimal,
    pub free_events: Option<u64>,
    pub free_amount: Option<Decimal>,
    pub per_event_min: Option<Decimal>,
    pub per_event_max: Option<Decimal>,
}

/// Rates events in the order given (their chronological order).
///
/// The free allowance covers a prefix of the events: event `i` (from 1) is free while
/// `i <= free_events` and the running total up to it is `<= free_amount` (an unset
/// limit does not limit; both unset means no allowance). The event that crosses the
/// free amount pays the rate on its excess only, and its fixed fee. This is Lago's
/// per-event algorithm and reproduces its aggregate formula: free events counted as
/// those within the free amount, capped at `free_events`; amount deducted
/// `min(running total after free_events events, free_amount)`. Lago counts an event
/// that lands exactly on the free amount as paid; here it is free.
///
/// Per-event minimum and maximum clamp the percentage charge of each paid event; the
/// fixed fee is added on top and free events are not raised to the minimum.
pub(crate) fn rate(terms: Terms, amounts: &[Decimal]) -> Result<Rating, RatingError> {
    let fraction = hundredth(terms.rate_percent)?;
    let mut total = Decimal::ZERO;
    let mut at_rate = Decimal::ZERO;
    let (mut paid, mut at_min, mut at_max) = (0u64, 0u64, 0u64);
    let mut running = Decimal::ZERO;
    let mut allowance_open = terms.free_events.is_some() || terms.free_amount.is_some();

    for (index, &amount) in amounts.iter().enumerate() {
        if amount < Decimal::ZERO {
            return Err(RatingError::NegativeEvent { index, amount });
        }
        total = add(total, amount)?;
        let mut chargeable = amount;
        if allowance_open {
            let within_count = terms.free_events.is_none_or(|k| (index as u64) < k);
            if within_count {
                let after = add(running, amount)?;
                match terms.free_amount {
                    Some(cap) if after > cap => {
                        chargeable = sub(after, cap)?;
                        allowance_open = false;
                    }
                    _ => {
                        running = after;
                        continue;
                    }
                }
            } else {
                allowance_open = false;
            }
        }
        paid += 1;
        let charge = mul(chargeable, fraction)?;
        match (terms.per_event_min, terms.per_event_max) {
            (Some(min), _) if charge < min => at_min += 1,
            (_, Some(max)) if charge > max => at_max += 1,
            _ => at_rate = add(at_rate, chargeable)?,
        }
    }

    let mut lines = vec![RatingLine {
        kind: LineKind::Percentage,
        units: total,
        billed_quantity: at_rate,
        unit_amount: fraction,
        flat_fee: Decimal::ZERO,
        amount: mul(at_rate, fraction)?,
    }];
    let counted = |kind, count: u64, unit_amount: Decimal| -> Result<RatingLine, RatingError> {
        let count = Decimal::from(count);
        Ok(RatingLine {
            kind,
            units: count,
            billed_quantity: count,
            unit_amount,
            flat_fee: Decimal::ZERO,
            amount: mul(count, unit_amount)?,
        })
    };
    if let (Some(min), 1..) = (terms.per_event_min, at_min) {
        lines.push(counted(LineKind::PerEventMinimum, at_min, min)?);
    }
    if let (Some(max), 1..) = (terms.per_event_max, at_max) {
        lines.push(counted(LineKind::PerEventMaximum, at_max, max)?);
    }
    if !terms.fixed_fee_per_event.is_zero() {
        let mut fees = counted(LineKind::EventFees, paid, terms.fixed_fee_per_event)?;
        fees.units = Decimal::from(amounts.len());
        lines.push(fees);
    }
    Rating::from_lines(lines)
}
