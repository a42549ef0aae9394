//! Monthly recurring revenue: a recurring amount of any billing period, normalised to
//! one month, after its discount and converted to the reporting currency.
//!
//! Month-based periods divide by their month count (a year by 12, a quarter by 3).
//! Day- and week-based periods scale by an average month of 365.25 / 12 = 30.4375 days,
//! the convention of OCA's `subscription_oca` and close to Lago's 30.44 (B17: weekly 50
//! is 217.41). The whole expression is formed exactly and rounded once, half-up.

use rust_decimal::Decimal;

use crate::calendar::{BillingPeriod, PeriodUnit};
use crate::money::{Currency, Money, MoneyError};

/// Days in the average month, 365.25 / 12, as 304375 / 10000.
const MONTH_DAYS_TEN_THOUSANDTHS: i64 = 304_375;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrrError {
    #[error("discount must be between 0 and 100 percent, got {0}")]
    InvalidDiscount(Decimal),
    #[error("exchange rate must be greater than zero, got {0}")]
    NonPositiveRate(Decimal),
    #[error("amount overflow")]
    Overflow,
}

impl From<MoneyError> for MrrError {
    fn from(_: MoneyError) -> Self {
        // `from_decimal` only fails on overflow.
        MrrError::Overflow
    }
}

/// A recurring charge as sold: `amount` every `period`, less `discount_percent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecurringAmount {
    pub amount: Money,
    pub period: BillingPeriod,
    /// 0–100.
    pub discount_percent: Decimal,
}

impl RecurringAmount {
    /// An undiscounted amount per period.
    pub fn new(amount: Money, period: BillingPeriod) -> Self {
        Self {
            amount,
            period,
            discount_percent: Decimal::ZERO,
        }
    }
}

/// Conversion into the reporting currency: `units_per_reporting` units of the amount's
/// currency buy one unit of `reporting` (so 200 at rate 2 reports as 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FxRate {
    pub reporting: Currency,
    pub units_per_reporting: Decimal,
}

/// The monthly recurring revenue of one charge (in the reporting currency when `fx` is
/// given, otherwise in the charge's own).
pub fn monthly(item: &RecurringAmount, fx: Option<&FxRate>) -> Result<Money, MrrError> {
    normalised(item, fx, 1)
}

/// The annual recurring revenue: twelve exact months, rounded once (so weekly 50 is
/// 2608.93, not 12 × 217.41).
pub fn annual(item: &RecurringAmount, fx: Option<&FxRate>) -> Result<Money, MrrError> {
    normalised(item, fx, 12)
}

/// `months` months' worth of `item`, rounded once.
fn normalised(item: &RecurringAmount, fx: Option<&FxRate>, months: i64) -> Result<Money, MrrError> {
    let discount = item.discount_percent;
    if discount < Decimal::ZERO || discount > Decimal::ONE_HUNDRED {
        return Err(MrrError::InvalidDiscount(discount));
    }
    let (currency, rate) = match fx {
        Some(fx) if fx.units_per_reporting <= Decimal::ZERO => {
            return Err(MrrError::NonPositiveRate(fx.units_per_reporting))
        }
        Some(fx) => (fx.reporting, fx.units_per_reporting),
        None => (item.amount.currency(), Decimal::ONE),
    };
    let count = Decimal::from(item.period.count());
    // amount × (100 − discount) × months × per-month factor / (100 × rate), as one
    // fraction so the only rounding is the final one.
    let mut numerator = mul(item.amount.to_decimal(), Decimal::ONE_HUNDRED - discount)?;
    numerator = mul(numerator, Decimal::from(months))?;
    let mut denominator = mul(Decimal::ONE_HUNDRED, rate)?;
    match item.period.unit() {
        PeriodUnit::Month => denominator = mul(denominator, count)?,
        unit => {
            let days_per_period = match unit {
                PeriodUnit::Week => mul(count, Decimal::from(7))?,
                _ => count,
            };
            numerator = mul(numerator, Decimal::from(MONTH_DAYS_TEN_THOUSANDTHS))?;
            denominator = mul(denominator, mul(days_per_period, Decimal::from(10_000))?)?;
        }
    }
    let exact = numerator
        .checked_div(denominator)
        .ok_or(MrrError::Overflow)?;
    Ok(Money::from_decimal(exact, currency)?)
}

fn mul(a: Decimal, b: Decimal) -> Result<Decimal, MrrError> {
    a.checked_mul(b).ok_or(MrrError::Overflow)
}
