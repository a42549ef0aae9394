//! Progressive (threshold) billing, Lago's "progressive billing": when a usage item's
//! amount in the open period reaches a threshold, its usage so far is invoiced at once;
//! the period's final invoice then bills all of the period's usage and credits what was
//! invoiced early. Thresholds apply to each usage item of the subscription.

use jiff::civil::Date;
use quoin_core::billing::{BillingTerms, LineKind, Proposal};
use quoin_core::calendar::{proration_factor, BillingPeriod, Cycle, Period, ProrationConvention};
use quoin_core::money::{Currency, Money};
use quoin_store::rows::{InvoiceLineRow, ItemSegmentRow, PriceRow, SubscriptionItemRow};
use quoin_store::Tx;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::model::ProgressiveBilling;
use crate::subscriptions::parse_date;
use crate::timeline::opt_date;
use crate::usage::{rate_usage, Unratable};
use crate::validate;

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

/// A subscription's thresholds as stored: amounts in ascending order, then every
/// `recurring` amount beyond the last one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Thresholds {
    amounts: Vec<Decimal>,
    recurring: Option<Decimal>,
}

impl Thresholds {
    /// Checks the API input: at least one amount, each positive and above the previous,
    /// written with the currency's decimals.
    pub(crate) fn from_input(input: &ProgressiveBilling, currency: Currency) -> AppResult<Self> {
        let money = |field: &str, v: Decimal| {
            Money::from_decimal_exact(v, currency)
                .map(|m| m.to_decimal())
                .map_err(|e| AppError::invalid(field, e.to_string()))
        };
        if input.thresholds.is_empty() {
            return Err(AppError::invalid(
                "progressive_billing.thresholds",
                "give at least one usage amount",
            ));
        }
        let mut amounts: Vec<Decimal> = Vec::with_capacity(input.thresholds.len());
        for (i, t) in input.thresholds.iter().enumerate() {
            let field = format!("progressive_billing.thresholds[{i}]");
            let v = money(&field, validate::positive_decimal(&field, t)?)?;
            if amounts.last().is_some_and(|prev| v <= *prev) {
                return Err(AppError::invalid(field, "thresholds must increase"));
            }
            amounts.push(v);
        }
        let recurring = input
            .recurring
            .as_deref()
            .map(|r| {
                let field = "progressive_billing.recurring";
                money(field, validate::positive_decimal(field, r)?)
            })
            .transpose()?;
        Ok(Self { amounts, recurring })
    }

    pub(crate) fn parse(stored: &str) -> AppResult<Self> {
        serde_json::from_str(stored).map_err(internal)
    }

    pub(crate) fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub(crate) fn view(&self) -> ProgressiveBilling {
        ProgressiveBilling {
            thresholds: self.amounts.iter().map(|a| a.to_string()).collect(),
            recurring: self.recurring.map(|r| r.to_string()),
        }
    }

    /// How many thresholds `amount` has reached.
    fn level(&self, amount: Decimal) -> usize {
        let listed = self.amounts.iter().filter(|t| **t <= amount).count();
        match (self.recurring, self.amounts.last()) {
            (Some(step), Some(last)) if listed == self.amounts.len() => {
                let beyond = ((amount - *last) / step).floor();
                listed + beyond.to_usize().unwrap_or(usize::MAX - listed)
            }
            _ => listed,
        }
    }
}

/// A usage item's price and where its service ends, as billing loaded them.
pub(crate) struct UsageItemPrice<'a> {
    pub item: &'a SubscriptionItemRow,
    pub segment: &'a ItemSegmentRow,
    pub price: &'a PriceRow,
    /// The caller's handle of `price`.
    pub handle: usize,
    pub service_end: Option<Date>,
    pub anchor: Date,
}

/// The item's progressive-billing lines for the period starting `start`.
async fn progressive_lines(
    tx: &mut Tx,
    item: &SubscriptionItemRow,
    start: Date,
) -> AppResult<Vec<InvoiceLineRow>> {
    let mut lines = tx
        .usage_lines_of_period(&item.tenant_id, &item.id, &start.to_string())
        .await?;
    lines.retain(|l| l.kind == "progressive_usage");
    Ok(lines)
}

/// The open usage period of the item on `today`, if the item is in service.
fn open_period(
    terms: &BillingTerms,
    u: &UsageItemPrice<'_>,
    today: Date,
) -> AppResult<Option<(Period, Period)>> {
    let period = BillingPeriod::parse(&u.price.period).map_err(internal)?;
    let seg_start = parse_date(&u.segment.start_date, "segment start")?;
    let seg_end = opt_date(u.segment.end_date.as_deref(), "segment end")?;
    let stop = match (seg_end, u.service_end) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if seg_start > today || stop.is_some_and(|s| s <= today) {
        return Ok(None);
    }
    let cycle = Cycle::for_alignment(terms.alignment, period, terms.bill_cycle_day, u.anchor);
    let full = cycle.period_containing(today).map_err(internal)?;
    let start = full.start.max(seg_start);
    let end = stop.map_or(full.end, |s| s.min(full.end));
    Ok(Some((Period::new(start, end).map_err(internal)?, full)))
}

/// The progressive invoice line due today for a usage item, if its usage so far in the
/// open period has reached a threshold not yet invoiced. `key` is the caller's handle.
pub(crate) async fn progressive_line(
    tx: &mut Tx,
    terms: &BillingTerms,
    u: &UsageItemPrice<'_>,
    thresholds: &Thresholds,
    today: Date,
    key: usize,
) -> AppResult<Option<Proposal>> {
    let Some((open, full)) = open_period(terms, u, today)? else {
        return Ok(None);
    };
    let so_far = Period::new(
        open.start,
        today.tomorrow().map_err(internal)?.min(open.end),
    )
    .map_err(internal)?;
    let (quantity, exact) =
        rate_usage(tx, u.item, u.price, so_far, terms.currency, Unratable::Park).await?;
    let amount = Money::from_decimal(exact, terms.currency).map_err(internal)?;
    let earlier = progressive_lines(tx, u.item, open.start).await?;
    let invoiced: i64 = earlier.iter().map(|l| l.amount_minor).sum();
    if thresholds.level(amount.to_decimal()) <= earlier.len() {
        return Ok(None);
    }
    let due = amount.minor() - invoiced;
    if due <= 0 {
        return Ok(None);
    }
    Ok(Some(Proposal {
        key,
        kind: LineKind::Charge,
        invoice_date: today,
        service: so_far,
        full,
        factor: proration_factor(so_far, so_far, ProrationConvention::ActualDays)
            .map_err(internal)?,
        price: u.handle,
        unit_amount: u.price.amount.parse().unwrap_or_default(),
        quantity,
        amount: Money::from_minor(due, terms.currency),
    }))
}

/// The credit for what was invoiced progressively in the period a final usage line
/// bills. `key` is the caller's handle.
pub(crate) async fn progressive_credit(
    tx: &mut Tx,
    item: &SubscriptionItemRow,
    usage_line: &Proposal,
    key: usize,
) -> AppResult<Option<Proposal>> {
    let earlier = progressive_lines(tx, item, usage_line.service.start).await?;
    let invoiced: i64 = earlier.iter().map(|l| l.amount_minor).sum();
    if invoiced == 0 {
        return Ok(None);
    }
    Ok(Some(Proposal {
        key,
        kind: LineKind::Charge,
        quantity: Decimal::ONE,
        unit_amount: Decimal::ZERO,
        amount: Money::from_minor(-invoiced, usage_line.amount.currency()),
        ..usage_line.clone()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn levels_count_listed_then_recurring_thresholds() {
        let t = Thresholds {
            amounts: vec![dec("200"), dec("500")],
            recurring: Some(dec("250")),
        };
        let got: Vec<usize> = [
            dec("0"),
            dec("199.99"),
            dec("200"),
            dec("499"),
            dec("500"),
            dec("749.99"),
            dec("750"),
            dec("1250"),
        ]
        .iter()
        .map(|a| t.level(*a))
        .collect();
        assert_eq!(got, [0, 0, 1, 1, 2, 2, 3, 5]);
        let once = Thresholds {
            amounts: vec![dec("200")],
            recurring: None,
        };
        assert_eq!((once.level(dec("400")), once.level(dec("10000"))), (1, 1));
    }
}
