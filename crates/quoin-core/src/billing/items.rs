//! Billing one subscription item from its priced timeline, reconciled against what has
//! already been invoiced for it (Kill Bill's "proposed vs existing" approach).
//!
//! Normally an item bills the periods after `billed_through` that have come due. When an
//! operation changes the timeline before what is billed (a change, suspension or disconnect
//! dated inside a billed period), the item reconciles from that date: every part of an
//! existing charge the timeline no longer wants is credited with a repair line, and every
//! wanted part no line covers is charged. Re-running with the result persisted proposes
//! nothing, which is what makes billing safe to repeat after a crash.

use jiff::civil::Date;
use rust_decimal::Decimal;

use super::spans::Spans;
use super::{BillingError, BillingTerms, ChargeTiming, MAX_PERIODS_PER_RUN};
use crate::calendar::{
    proration_factor, Alignment, BillingPeriod, Cycle, Period, PeriodUnit, ProrationConvention,
    ProrationFactor,
};
use crate::money::{Currency, Money, MoneyError};

/// What an item is priced at from `start` to `end` (exclusive; open when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub start: Date,
    pub end: Option<Date>,
    /// The caller's handle for the price version.
    pub price: usize,
    /// Price of one unit for one full period.
    pub unit_amount: Decimal,
    pub quantity: Decimal,
    pub period: BillingPeriod,
    pub timing: ChargeTiming,
    pub alignment: Alignment,
}

impl Segment {
    fn same_terms(&self, other: &Segment) -> bool {
        self.price == other.price
            && self.unit_amount == other.unit_amount
            && self.quantity == other.quantity
            && self.period == other.period
            && self.timing == other.timing
            && self.alignment == other.alignment
    }
}

/// A recurring item: its segments in date order (gaps are not billed: suspended time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTimeline {
    pub key: usize,
    pub currency: Currency,
    /// Where anniversary cycles are anchored: the subscription's start.
    pub anchor: Date,
    pub segments: Vec<Segment>,
    /// End (exclusive) of the last service period invoiced.
    pub billed_through: Option<Date>,
    /// Set when an operation changed the timeline before `billed_through`.
    pub reconcile_from: Option<Date>,
}

/// Whether an invoiced line charges a service period or credits part of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Charge,
    /// Credits part of the charge line with this handle.
    Repair {
        line: usize,
    },
}

/// A line already invoiced for the item (charges and their repairs) whose service ends
/// after the reconciliation date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledLine {
    /// The caller's handle; repairs name it.
    pub id: usize,
    pub kind: LineKind,
    pub service: Period,
    pub full: Period,
    pub price: usize,
    pub unit_amount: Decimal,
    pub quantity: Decimal,
    pub period: BillingPeriod,
    pub amount: Money,
}

/// A line billing proposes for an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub key: usize,
    pub kind: LineKind,
    pub invoice_date: Date,
    pub service: Period,
    pub full: Period,
    pub factor: ProrationFactor,
    pub price: usize,
    pub unit_amount: Decimal,
    pub quantity: Decimal,
    /// Positive for charges, negative for repairs; rounded half-up once to the currency.
    pub amount: Money,
}

/// What billing an item produced and where it now stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemBilling {
    pub proposals: Vec<Proposal>,
    pub billed_through: Option<Date>,
    /// The timeline was reconciled, so `reconcile_from` can be cleared.
    pub reconciled: bool,
}

/// One service period the timeline wants billed.
#[derive(Debug, Clone, Copy)]
struct Wanted<'a> {
    segment: &'a Segment,
    service: Period,
    full: Period,
    due: Date,
}

fn convention_for(period: BillingPeriod, convention: ProrationConvention) -> ProrationConvention {
    // 30/360 only makes sense for month-based periods.
    match period.unit() {
        PeriodUnit::Month => convention,
        _ => ProrationConvention::ActualDays,
    }
}

fn merged(segments: &[Segment]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(segments.len());
    for s in segments {
        if s.end.is_some_and(|e| e <= s.start) {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.end == Some(s.start) && last.same_terms(s) => last.end = s.end,
            _ => out.push(s.clone()),
        }
    }
    out
}

/// Service periods of the timeline from `from` on that are due by `today`.
fn wanted<'a>(
    terms: &BillingTerms,
    item: &ItemTimeline,
    segments: &'a [Segment],
    from: Date,
    today: Date,
) -> Result<Vec<Wanted<'a>>, BillingError> {
    let mut out = Vec::new();
    for seg in segments {
        let start = seg.start.max(from);
        if seg.end.is_some_and(|e| e <= start) {
            continue;
        }
        let cycle =
            Cycle::for_alignment(seg.alignment, seg.period, terms.bill_cycle_day, item.anchor);
        for (n, p) in cycle.charge_periods(start).enumerate() {
            if seg.end.is_some_and(|e| p.service.start >= e) {
                break;
            }
            let end = seg.end.map_or(p.service.end, |e| p.service.end.min(e));
            let service = Period::new(p.service.start, end)?;
            let due = seg.timing.invoice_date(service);
            if due > today {
                break;
            }
            if n >= MAX_PERIODS_PER_RUN {
                return Err(BillingError::TooManyPeriods { key: item.key });
            }
            out.push(Wanted {
                segment: seg,
                service,
                full: p.full,
                due,
            });
        }
    }
    Ok(out)
}

fn price_part(
    terms: &BillingTerms,
    period: BillingPeriod,
    unit_amount: Decimal,
    quantity: Decimal,
    part: Period,
    full: Period,
) -> Result<(ProrationFactor, Money), BillingError> {
    let factor = proration_factor(part, full, convention_for(period, terms.convention))?;
    let whole = unit_amount
        .checked_mul(quantity)
        .ok_or(MoneyError::Overflow)?;
    let prorated = factor.apply(whole).ok_or(MoneyError::Overflow)?;
    Ok((factor, Money::from_decimal(prorated, terms.currency)?))
}

fn charge(
    terms: &BillingTerms,
    item: &ItemTimeline,
    w: &Wanted<'_>,
    service: Period,
    invoice_date: Date,
) -> Result<Proposal, BillingError> {
    let s = w.segment;
    let (factor, amount) = price_part(terms, s.period, s.unit_amount, s.quantity, service, w.full)?;
    Ok(Proposal {
        key: item.key,
        kind: LineKind::Charge,
        invoice_date,
        service,
        full: w.full,
        factor,
        price: s.price,
        unit_amount: s.unit_amount,
        quantity: s.quantity,
        amount,
    })
}

fn matches(line: &BilledLine, w: &Wanted<'_>) -> bool {
    line.price == w.segment.price
        && line.unit_amount == w.segment.unit_amount
        && line.quantity == w.segment.quantity
        && line.full == w.full
}

/// Bills one item as of `today` (a date in the account's time zone).
pub fn bill_item(
    terms: &BillingTerms,
    item: &ItemTimeline,
    billed: &[BilledLine],
    today: Date,
) -> Result<ItemBilling, BillingError> {
    if item.currency != terms.currency {
        return Err(BillingError::CurrencyMismatch {
            key: item.key,
            item: item.currency,
            account: terms.currency,
        });
    }
    let segments = merged(&item.segments);
    match item.reconcile_from {
        Some(from) if from <= today => reconcile(terms, item, &segments, billed, from, today),
        _ => {
            let from = item.billed_through.unwrap_or(item.anchor);
            let mut proposals = Vec::new();
            let mut through = item.billed_through;
            for w in wanted(terms, item, &segments, from, today)? {
                proposals.push(charge(terms, item, &w, w.service, w.due)?);
                through = Some(through.map_or(w.service.end, |t| t.max(w.service.end)));
            }
            Ok(ItemBilling {
                proposals,
                billed_through: through,
                reconciled: false,
            })
        }
    }
}

fn reconcile(
    terms: &BillingTerms,
    item: &ItemTimeline,
    segments: &[Segment],
    billed: &[BilledLine],
    from: Date,
    today: Date,
) -> Result<ItemBilling, BillingError> {
    // Periods between what is billed and the change (a final in-arrears period) are due too.
    let from = from.min(item.billed_through.unwrap_or(item.anchor));
    let wanted = wanted(terms, item, segments, from, today)?;
    // What each charge line still covers after its repairs, from the reconciliation date on.
    let live: Vec<(&BilledLine, Spans)> = billed
        .iter()
        .filter(|l| l.kind == LineKind::Charge)
        .map(|l| {
            let repaired = Spans::from_ranges(billed.iter().filter_map(|r| match r.kind {
                LineKind::Repair { line } if line == l.id => Some((r.service.start, r.service.end)),
                _ => None,
            }));
            (l, Spans::of(l.service).minus(&repaired).from_date(from))
        })
        .collect();

    let mut proposals = Vec::new();
    for (line, covered) in &live {
        let still_wanted = Spans::from_ranges(
            wanted
                .iter()
                .filter(|w| matches(line, w))
                .map(|w| (w.service.start, w.service.end)),
        );
        for part in covered.minus(&still_wanted).periods() {
            let (factor, amount) = if part == line.service {
                // A whole line is credited exactly, whatever rounding made it.
                (
                    proration_factor(part, part, ProrationConvention::ActualDays)?,
                    line.amount,
                )
            } else {
                price_part(
                    terms,
                    line.period,
                    line.unit_amount,
                    line.quantity,
                    part,
                    line.full,
                )?
            };
            if amount.is_zero() {
                // Nothing to credit (a free period); a zero line would only be noise.
                continue;
            }
            proposals.push(Proposal {
                key: item.key,
                kind: LineKind::Repair { line: line.id },
                invoice_date: today,
                service: part,
                full: line.full,
                factor,
                price: line.price,
                unit_amount: line.unit_amount,
                quantity: line.quantity,
                amount: amount.checked_neg()?,
            });
        }
    }
    let mut through = None;
    for w in &wanted {
        let covered = live
            .iter()
            .filter(|(l, _)| matches(l, w))
            .fold(Spans::default(), |acc, (_, s)| acc.union(s));
        for part in Spans::of(w.service).minus(&covered).periods() {
            proposals.push(charge(terms, item, w, part, today)?);
        }
        through = Some(through.map_or(w.service.end, |t: Date| t.max(w.service.end)));
    }
    Ok(ItemBilling {
        proposals,
        // Nothing wanted after the reconciliation date (a disconnect): billed up to it.
        billed_through: through.or(Some(from)),
        reconciled: true,
    })
}
