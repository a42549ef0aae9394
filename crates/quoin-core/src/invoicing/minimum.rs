//! Minimum spend: a per-price minimum per period and an invoice-level minimum
//! commitment, each met by a true-up line for the shortfall.
//!
//! Both compare amounts as priced, before coupons (Lago's rule too: the customer
//! committed to spend the amount, and a coupon then discounts the true-up like any
//! charge). The true-up is taxed under its own category, typically the one of the price
//! it tops up, and in the tax mode the minimum is expressed in.

use crate::calendar::Period;
use crate::money::{Money, MoneyError};

use super::charge::{ChargeKind, TaxMode};
use super::filter::LineFilter;
use super::invoice::{InvoiceLine, LineOrigin};
use super::tax::TaxTable;

/// Charge kinds that consume a minimum: corrections of other periods (repairs,
/// adjustments) and termination fees do not.
const CONSUMING: [ChargeKind; 3] = [
    ChargeKind::Recurring,
    ChargeKind::OneTime,
    ChargeKind::Usage,
];

/// A price's minimum per period, e.g. "usage of the cards metric bills at least €50".
///
/// Counts the recurring, one-time and usage lines of `price_code` (only those for
/// `period` when set). The true-up line carries the attributes given here, which the
/// caller copies from the price so the true-up is taxed and selected like its charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeMinimum {
    pub price_code: String,
    pub amount: Money,
    pub period: Option<Period>,
    /// The kind of the charges topped up (rules select the true-up by it).
    pub kind: ChargeKind,
    pub product_code: Option<String>,
    pub metric_code: Option<String>,
    pub tax_category: Option<String>,
    pub tax_mode: Option<TaxMode>,
    /// The group (subscription) of the charges topped up; the true-up counts toward
    /// that group's commitment.
    pub group: Option<String>,
}

impl ChargeMinimum {
    /// A minimum on a usage price with no other attributes; set fields for the rest.
    pub fn new(price_code: impl Into<String>, amount: Money) -> Self {
        Self {
            price_code: price_code.into(),
            amount,
            period: None,
            kind: ChargeKind::Usage,
            product_code: None,
            metric_code: None,
            tax_category: None,
            tax_mode: None,
            group: None,
        }
    }
}

/// The account's minimum spend per invoice period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinimumCommitment {
    pub amount: Money,
    /// The lines whose priced amounts count toward it.
    pub counts: LineFilter,
    pub period: Option<Period>,
    pub product_code: Option<String>,
    pub tax_category: Option<String>,
    pub tax_mode: Option<TaxMode>,
}

impl MinimumCommitment {
    /// Counts recurring, one-time and usage charges and their minimum true-ups.
    pub fn new(amount: Money) -> Self {
        Self {
            amount,
            counts: LineFilter::kinds(CONSUMING),
            period: None,
            product_code: None,
            tax_category: None,
            tax_mode: None,
        }
    }
}

/// Appends one true-up line per minimum that the invoice's lines fall short of.
pub(crate) fn add_charge_true_ups(
    lines: &mut Vec<InvoiceLine>,
    minimums: &[ChargeMinimum],
    default_mode: TaxMode,
    taxes: &TaxTable,
) -> Result<(), MoneyError> {
    for minimum in minimums {
        let counted = lines.iter().filter(|l| {
            matches!(l.origin, LineOrigin::Charge { kind, .. } if CONSUMING.contains(&kind))
                && l.price_code.as_deref() == Some(minimum.price_code.as_str())
                && (minimum.period.is_none() || l.period == minimum.period)
        });
        let spent = Money::sum(minimum.amount.currency(), counted.map(|l| l.priced))?;
        let shortfall = minimum.amount.checked_sub(spent)?;
        if !shortfall.is_positive() {
            continue;
        }
        let origin = LineOrigin::MinimumTrueUp {
            price_code: minimum.price_code.clone(),
            kind: minimum.kind,
        };
        let category = taxes.resolve_category(minimum.tax_category.as_deref());
        let mut line = InvoiceLine::pending(
            origin,
            shortfall,
            minimum.tax_mode.unwrap_or(default_mode),
            category,
        );
        line.product_code.clone_from(&minimum.product_code);
        line.price_code = Some(minimum.price_code.clone());
        line.metric_code.clone_from(&minimum.metric_code);
        line.period = minimum.period;
        line.group.clone_from(&minimum.group);
        lines.push(line);
    }
    Ok(())
}

/// Appends the commitment true-up when the counted lines fall short of it.
pub(crate) fn add_commitment_true_up(
    lines: &mut Vec<InvoiceLine>,
    commitment: &MinimumCommitment,
    default_mode: TaxMode,
    taxes: &TaxTable,
) -> Result<(), MoneyError> {
    let counted = lines.iter().filter(|l| commitment.counts.matches(l));
    let spent = Money::sum(commitment.amount.currency(), counted.map(|l| l.priced))?;
    let shortfall = commitment.amount.checked_sub(spent)?;
    if shortfall.is_positive() {
        let category = taxes.resolve_category(commitment.tax_category.as_deref());
        let mut line = InvoiceLine::pending(
            LineOrigin::CommitmentTrueUp,
            shortfall,
            commitment.tax_mode.unwrap_or(default_mode),
            category,
        );
        line.product_code.clone_from(&commitment.product_code);
        line.period = commitment.period;
        lines.push(line);
    }
    Ok(())
}

/// A subscription's minimum spend on one invoice (Lago's plan "minimum commitment"): the
/// recurring, one-time and usage charges of `group` and their per-price minimum true-ups,
/// after coupon discounts and before tax, are topped up to `amount`. The caller prorates
/// `amount` for partial periods; the true-up is taxed under `tax_category`, like the
/// subscription's plan, and coupons do not discount it (they were already counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionCommitment {
    pub group: String,
    pub amount: Money,
    pub period: Option<Period>,
    pub product_code: Option<String>,
    pub price_code: Option<String>,
    pub tax_category: Option<String>,
    pub tax_mode: Option<TaxMode>,
}

impl SubscriptionCommitment {
    pub fn new(group: impl Into<String>, amount: Money) -> Self {
        Self {
            group: group.into(),
            amount,
            period: None,
            product_code: None,
            price_code: None,
            tax_category: None,
            tax_mode: None,
        }
    }
}

/// Appends a true-up for each subscription commitment its group's lines fall short of.
/// Runs after coupons: a line counts as priced less its coupon discount.
pub(crate) fn add_subscription_true_ups(
    lines: &mut Vec<InvoiceLine>,
    commitments: &[SubscriptionCommitment],
    default_mode: TaxMode,
    taxes: &TaxTable,
) -> Result<(), MoneyError> {
    for commitment in commitments {
        let currency = commitment.amount.currency();
        let mut spent = Money::zero(currency);
        for l in lines.iter().filter(|l| {
            l.group.as_deref() == Some(commitment.group.as_str())
                && l.origin
                    .charge_kind()
                    .is_some_and(|k| CONSUMING.contains(&k))
        }) {
            spent = spent.checked_add(l.priced.checked_sub(l.coupon_discount)?)?;
        }
        let shortfall = commitment.amount.checked_sub(spent)?;
        if !shortfall.is_positive() {
            continue;
        }
        let category = taxes.resolve_category(commitment.tax_category.as_deref());
        let mut line = InvoiceLine::pending(
            LineOrigin::SubscriptionCommitmentTrueUp {
                group: commitment.group.clone(),
            },
            shortfall,
            commitment.tax_mode.unwrap_or(default_mode),
            category,
        );
        line.product_code.clone_from(&commitment.product_code);
        line.price_code.clone_from(&commitment.price_code);
        line.period = commitment.period;
        line.group = Some(commitment.group.clone());
        lines.push(line);
    }
    Ok(())
}
