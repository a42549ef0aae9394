//! Invoice computation for recurring charges: which service periods are due on a date,
//! prorated, reconciled against what is already invoiced after a change, and grouped into
//! one invoice per bill-to account and invoice date.
//!
//! Pure: the caller passes the items, the account's billing terms and "today" (a date in
//! the account's time zone) and persists the drafts; `billed_through` makes it resumable.

mod items;
mod spans;

pub use items::{bill_item, BilledLine, ItemBilling, ItemTimeline, LineKind, Proposal, Segment};
pub use spans::Spans;

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::calendar::{
    Alignment, BillCycleDay, BillingPeriod, CalendarError, Period, ProrationConvention,
    ProrationFactor,
};
use crate::money::{Currency, Money, MoneyError};

/// Most service periods one item may bring due in a single computation; a guard against
/// runaway loops (100 years of daily charges), reported rather than truncated.
pub const MAX_PERIODS_PER_RUN: usize = 40_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("item {key} would bill more than {MAX_PERIODS_PER_RUN} periods at once")]
    TooManyPeriods { key: usize },
    #[error("item {key} has currency {item} but the account bills in {account}")]
    CurrencyMismatch {
        key: usize,
        item: Currency,
        account: Currency,
    },
}

/// When a recurring charge is billed relative to the service period it pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChargeTiming {
    /// At the start of the period (subscriptions paid up front).
    InAdvance,
    /// At the end of the period.
    InArrears,
}

impl ChargeTiming {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "in_advance" => Some(Self::InAdvance),
            "in_arrears" => Some(Self::InArrears),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InAdvance => "in_advance",
            Self::InArrears => "in_arrears",
        }
    }

    /// The date a service period is invoiced on.
    pub fn invoice_date(&self, service: Period) -> Date {
        match self {
            Self::InAdvance => service.start,
            Self::InArrears => service.end,
        }
    }
}

/// How an account is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingTerms {
    pub currency: Currency,
    pub alignment: Alignment,
    pub bill_cycle_day: BillCycleDay,
    pub convention: ProrationConvention,
}

/// A recurring charge of a subscription. `key` is the caller's handle to match lines back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurringItem {
    pub key: usize,
    pub currency: Currency,
    /// Price of one unit for one full period.
    pub unit_amount: Decimal,
    pub quantity: Decimal,
    pub period: BillingPeriod,
    pub timing: ChargeTiming,
    pub start: Date,
    /// End (exclusive) of the last service period already invoiced.
    pub billed_through: Option<Date>,
}

/// One invoice line: a service period of an item, with everything needed to explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftLine {
    pub key: usize,
    pub kind: LineKind,
    /// The caller's handle of the price version.
    pub price: usize,
    pub service: Period,
    pub full: Period,
    pub factor: ProrationFactor,
    pub quantity: Decimal,
    pub unit_amount: Decimal,
    /// `unit_amount × quantity × factor`, rounded half-up once to the currency.
    pub amount: Money,
}

/// All lines of one bill-to account that fall due on `invoice_date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftInvoice {
    pub invoice_date: Date,
    pub lines: Vec<DraftLine>,
    pub total: Money,
}

impl DraftInvoice {
    /// The span from the earliest line start to the latest line end.
    pub fn service_span(&self) -> Option<Period> {
        let start = self.lines.iter().map(|l| l.service.start).min()?;
        let end = self.lines.iter().map(|l| l.service.end).max()?;
        Period::new(start, end).ok()
    }
}

/// Every invoice that is due by `today` and not yet billed, oldest first, for items that
/// never changed. Lines due on the same date share one invoice; within an invoice lines
/// keep the items' order.
pub fn due_invoices(
    terms: &BillingTerms,
    items: &[RecurringItem],
    today: Date,
) -> Result<Vec<DraftInvoice>, BillingError> {
    let mut proposals = Vec::new();
    for item in items {
        let timeline = ItemTimeline {
            key: item.key,
            currency: item.currency,
            anchor: item.start,
            segments: vec![Segment {
                start: item.start,
                end: None,
                price: item.key,
                unit_amount: item.unit_amount,
                quantity: item.quantity,
                period: item.period,
                timing: item.timing,
                alignment: terms.alignment,
            }],
            billed_through: item.billed_through.map(|b| b.max(item.start)),
            reconcile_from: None,
        };
        proposals.extend(bill_item(terms, &timeline, &[], today)?.proposals);
    }
    group_by_date(terms.currency, proposals)
}

/// Groups proposals into one draft invoice per invoice date, oldest first; within a date,
/// lines keep their order.
pub fn group_by_date(
    currency: Currency,
    mut proposals: Vec<Proposal>,
) -> Result<Vec<DraftInvoice>, BillingError> {
    // Stable sort keeps item order within a date.
    proposals.sort_by_key(|p| p.invoice_date);
    let mut invoices: Vec<DraftInvoice> = Vec::new();
    for p in proposals {
        if p.amount.currency() != currency {
            return Err(BillingError::CurrencyMismatch {
                key: p.key,
                item: p.amount.currency(),
                account: currency,
            });
        }
        let date = p.invoice_date;
        let line = DraftLine {
            key: p.key,
            kind: p.kind,
            price: p.price,
            service: p.service,
            full: p.full,
            factor: p.factor,
            quantity: p.quantity,
            unit_amount: p.unit_amount,
            amount: p.amount,
        };
        match invoices.last_mut() {
            Some(inv) if inv.invoice_date == date => {
                inv.total = inv.total.checked_add(line.amount)?;
                inv.lines.push(line);
            }
            _ => invoices.push(DraftInvoice {
                invoice_date: date,
                total: line.amount,
                lines: vec![line],
            }),
        }
    }
    Ok(invoices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use rust_decimal_macros::dec;

    fn terms(bcd: i64) -> BillingTerms {
        BillingTerms {
            currency: Currency::USD,
            alignment: Alignment::Calendar,
            bill_cycle_day: BillCycleDay::new(bcd).unwrap(),
            convention: ProrationConvention::ActualDays,
        }
    }

    fn monthly(key: usize, start: Date) -> RecurringItem {
        RecurringItem {
            key,
            currency: Currency::USD,
            unit_amount: dec!(24.95),
            quantity: dec!(1),
            period: BillingPeriod::MONTH,
            timing: ChargeTiming::InAdvance,
            start,
            billed_through: None,
        }
    }

    fn totals(invoices: &[DraftInvoice]) -> Vec<(Date, i64)> {
        invoices
            .iter()
            .map(|i| (i.invoice_date, i.total.minor()))
            .collect()
    }

    /// PUBLIC-EXAMPLES B1 (Kill Bill, actual days over the surrounding period).
    #[test]
    fn b1_leading_proration_then_full_cycles() {
        let item = monthly(0, date(2021, 9, 16));
        let inv = due_invoices(&terms(25), &[item], date(2021, 10, 25)).unwrap();
        assert_eq!(
            totals(&inv),
            vec![
                (date(2021, 9, 16), 724),
                (date(2021, 9, 25), 2495),
                (date(2021, 10, 25), 2495)
            ]
        );
        let first = &inv[0].lines[0];
        assert_eq!(
            first.service,
            Period::new(date(2021, 9, 16), date(2021, 9, 25)).unwrap()
        );
        assert_eq!(
            (first.factor.numerator(), first.factor.denominator()),
            (9, 31)
        );

        let item = monthly(0, date(2021, 9, 17));
        let inv = due_invoices(&terms(25), &[item], date(2021, 9, 17)).unwrap();
        assert_eq!(totals(&inv), vec![(date(2021, 9, 17), 644)]);

        let item = monthly(0, date(2021, 9, 30));
        let inv = due_invoices(&terms(25), &[item], date(2021, 9, 30)).unwrap();
        assert_eq!(totals(&inv), vec![(date(2021, 9, 30), 2079)]);

        let item = monthly(0, date(2021, 9, 25));
        let inv = due_invoices(&terms(17), &[item], date(2021, 9, 25)).unwrap();
        assert_eq!(totals(&inv), vec![(date(2021, 9, 25), 1830)]);
    }

    #[test]
    fn two_subscriptions_on_one_cycle_share_an_invoice() {
        let mut a = monthly(0, date(2021, 9, 16));
        a.billed_through = Some(date(2021, 10, 25));
        let mut b = monthly(1, date(2021, 9, 30));
        b.billed_through = Some(date(2021, 10, 25));
        let inv = due_invoices(&terms(25), &[a, b], date(2021, 10, 25)).unwrap();
        assert_eq!(totals(&inv), vec![(date(2021, 10, 25), 4990)]);
        assert_eq!(
            inv[0].lines.iter().map(|l| l.key).collect::<Vec<_>>(),
            [0, 1]
        );
    }

    #[test]
    fn billed_through_resumes_without_rebilling() {
        let mut item = monthly(0, date(2021, 9, 16));
        item.billed_through = Some(date(2021, 9, 25));
        let inv = due_invoices(&terms(25), &[item], date(2021, 10, 24)).unwrap();
        assert_eq!(totals(&inv), vec![(date(2021, 9, 25), 2495)]);
    }

    #[test]
    fn in_arrears_bills_at_period_end() {
        let mut item = monthly(0, date(2021, 9, 16));
        item.timing = ChargeTiming::InArrears;
        let inv = due_invoices(&terms(25), std::slice::from_ref(&item), date(2021, 9, 24)).unwrap();
        assert!(inv.is_empty());
        let inv = due_invoices(&terms(25), &[item], date(2021, 9, 25)).unwrap();
        assert_eq!(totals(&inv), vec![(date(2021, 9, 25), 724)]);
    }

    #[test]
    fn quantity_multiplies_before_single_rounding() {
        let mut item = monthly(0, date(2021, 9, 16));
        item.quantity = dec!(3);
        let inv = due_invoices(&terms(25), &[item], date(2021, 9, 16)).unwrap();
        // 3 × 24.95 × 9/31 = 21.7306… → 21.73 (not 3 × 7.24 = 21.72)
        assert_eq!(inv[0].total.minor(), 2173);
    }

    #[test]
    fn overflowing_quantity_is_an_error_not_a_panic() {
        let mut item = monthly(0, date(2021, 9, 16));
        item.quantity = Decimal::MAX;
        assert_eq!(
            due_invoices(&terms(25), &[item], date(2021, 9, 16)),
            Err(BillingError::Money(MoneyError::Overflow))
        );
    }

    #[test]
    fn future_start_bills_nothing_and_mismatch_is_refused() {
        let item = monthly(0, date(2021, 10, 1));
        assert!(
            due_invoices(&terms(1), std::slice::from_ref(&item), date(2021, 9, 30))
                .unwrap()
                .is_empty()
        );
        let mut eur = item;
        eur.currency = Currency::EUR;
        assert!(matches!(
            due_invoices(&terms(1), &[eur], date(2021, 10, 1)),
            Err(BillingError::CurrencyMismatch { .. })
        ));
    }
}
