//! Coupons: a percentage or a fixed amount off eligible lines, before tax.
//!
//! Coupons apply in the order given, each to what earlier coupons left of a line, and
//! only to positive charge and true-up lines (never fees, never credits), so a line
//! never goes below zero. A percentage is taken off each line and rounded there; a fixed
//! amount is capped at what the eligible lines still carry and spread over them in
//! proportion to those amounts by largest remainder, so the shares add up exactly
//! (B13: €10 over 100/50/30/20 is 5.00/2.50/1.50/1.00) and none exceeds its line.

use rust_decimal::Decimal;

use crate::money::{Currency, Money};

use super::arith::percent_of;
use super::error::InvoicingError;
use super::filter::LineFilter;
use super::invoice::{CouponUse, InvoiceLine, Share};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponValue {
    /// 0–100, off each eligible line.
    Percent(Decimal),
    /// Off the eligible lines together.
    Amount(Money),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponDuration {
    /// A percentage applies to the first period only. A fixed amount applies until it is
    /// used up, carrying what one invoice could not absorb to the next.
    Once,
    /// The first N periods; a fixed amount is available afresh each period and what a
    /// period does not use is lost.
    Periods(u32),
    Forever,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    pub code: String,
    pub value: CouponValue,
    pub duration: CouponDuration,
    pub applies_to: LineFilter,
}

/// A coupon as applied to an account, with the state the caller keeps between invoices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedCoupon {
    pub coupon: Coupon,
    /// Which of the coupon's periods this invoice is: 1 for the first invoice it
    /// applies to.
    pub period_number: u32,
    /// For a fixed "once" coupon, what earlier invoices left (`None`: all of it). The
    /// invoice returns the new value in [`CouponUse::remaining`].
    pub remaining: Option<Money>,
}

impl AppliedCoupon {
    /// A coupon on the first invoice it applies to.
    pub fn first(coupon: Coupon) -> Self {
        Self {
            coupon,
            period_number: 1,
            remaining: None,
        }
    }

    /// The fixed amount this invoice may use, for `Amount` coupons.
    fn available(&self, amount: Money) -> Money {
        match self.coupon.duration {
            CouponDuration::Once => self.remaining.unwrap_or(amount),
            _ => amount,
        }
    }

    fn is_active(&self) -> bool {
        match (self.coupon.duration, self.coupon.value) {
            (CouponDuration::Once, CouponValue::Amount(_)) => true,
            (CouponDuration::Once, CouponValue::Percent(_)) => self.period_number == 1,
            (CouponDuration::Periods(n), _) => self.period_number <= n,
            (CouponDuration::Forever, _) => true,
        }
    }
}

/// Applies each coupon in turn, adding to the lines' `coupon_discount`.
pub(crate) fn apply_coupons(
    lines: &mut [InvoiceLine],
    coupons: &[AppliedCoupon],
    currency: Currency,
) -> Result<Vec<CouponUse>, InvoicingError> {
    coupons
        .iter()
        .map(|c| apply_one(lines, c, currency))
        .collect()
}

fn apply_one(
    lines: &mut [InvoiceLine],
    applied: &AppliedCoupon,
    currency: Currency,
) -> Result<CouponUse, InvoicingError> {
    let coupon = &applied.coupon;
    let mut shares = Vec::new();
    if applied.is_active() {
        let eligible = eligible_lines(lines, &coupon.applies_to)?;
        shares = match coupon.value {
            CouponValue::Percent(p) => eligible
                .iter()
                .map(|&(line, left)| {
                    Ok(Share {
                        line,
                        amount: percent_of(left, p)?,
                    })
                })
                .collect::<Result<_, InvoicingError>>()?,
            CouponValue::Amount(a) => spread(applied.available(a), &eligible)?,
        };
        shares.retain(|s| !s.amount.is_zero());
        for share in &shares {
            let line = &mut lines[share.line];
            line.coupon_discount = line.coupon_discount.checked_add(share.amount)?;
        }
    }
    let total = Money::sum(currency, shares.iter().map(|s| s.amount))?;
    let remaining = match (coupon.duration, coupon.value) {
        (CouponDuration::Once, CouponValue::Amount(a)) => {
            Some(applied.available(a).checked_sub(total)?)
        }
        _ => None,
    };
    Ok(CouponUse {
        code: coupon.code.clone(),
        applied: total,
        shares,
        remaining,
    })
}

/// Positive charge and true-up lines the filter selects, with what earlier coupons left
/// of each (lines left with nothing are skipped).
fn eligible_lines(
    lines: &[InvoiceLine],
    filter: &LineFilter,
) -> Result<Vec<(usize, Money)>, InvoicingError> {
    let mut eligible = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.is_fee() || !line.priced.is_positive() || !filter.matches(line) {
            continue;
        }
        let left = line.priced.checked_sub(line.coupon_discount)?;
        if left.is_positive() {
            eligible.push((i, left));
        }
    }
    Ok(eligible)
}

/// Spreads up to `available` over the lines in proportion to what they carry.
fn spread(available: Money, eligible: &[(usize, Money)]) -> Result<Vec<Share>, InvoicingError> {
    if eligible.is_empty() || !available.is_positive() {
        return Ok(Vec::new());
    }
    let carried = Money::sum(available.currency(), eligible.iter().map(|(_, m)| *m))?;
    let used = if available.minor() < carried.minor() {
        available
    } else {
        carried
    };
    let weights: Vec<Decimal> = eligible.iter().map(|(_, m)| m.to_decimal()).collect();
    let parts = used.allocate(&weights)?;
    Ok(eligible
        .iter()
        .zip(parts)
        .map(|(&(line, _), amount)| Share { line, amount })
        .collect())
}
