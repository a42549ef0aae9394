//! Crediting one invoice line: how much a credit note may take off a line, by amount or
//! by quantity, and the tax part of what it takes.
//!
//! Rounding rule (half-up to the currency's minor unit, on exact decimals), applied to
//! *cumulative* figures so that successive credits telescope:
//!
//! - crediting `q` more units after `c` units were credited by quantity yields
//!   `round(B × (c + q) / Q) − round(B × c / Q)`, where `B` is what the line brought to
//!   the amount due and `Q` the line's quantity; crediting every unit therefore yields
//!   exactly `B`, never a cent more (a per-call rounding of `B × q / Q` could: 0.05 over
//!   two units is 0.03 + 0.03). The result is further capped at what is left on the line;
//! - the tax part of an amount `A` credited after `a` was credited on the line is
//!   `round(X × (a + A) / T) − round(X × a / T)`, where `T` is the line total with tax and
//!   `X` its tax: the credits of a fully credited line carry exactly its tax.
//!
//! So Σ credits on a line ≤ `B`; the ledger separately keeps Σ credits on an invoice
//! within its total.

use rust_decimal::Decimal;

use crate::money::{round_half_up, Money, MoneyError};

/// A finalized invoice line as credit notes see it. All amounts are in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditableLine {
    /// The line total with its tax, after coupon discounts.
    pub total: Money,
    /// The tax in `total`.
    pub tax: Money,
    /// What prepaid credit (a wallet) paid of `total`; not owed, so not creditable.
    pub prepaid: Money,
    /// The line's quantity (positive for quantity credits to be possible).
    pub quantity: Decimal,
    /// Σ earlier credit-note amounts on this line.
    pub credited: Money,
    /// Σ quantities of earlier credits asked by quantity.
    pub credited_quantity: Decimal,
}

/// What to credit on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineCreditAsk {
    /// An amount, tax included.
    Amount(Money),
    /// A number of the line's units.
    Quantity(Decimal),
}

/// One line's credit: `amount` with tax, of which `tax`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCredit {
    pub amount: Money,
    pub tax: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineCreditError {
    #[error("the line has nothing creditable (its amount due is not positive)")]
    NotCreditable,
    #[error("the line has {remaining} left to credit")]
    ExceedsLine { remaining: Money },
    #[error("the line has {remaining} units left to credit")]
    ExceedsQuantity { remaining: Decimal },
    #[error("the quantity must be positive")]
    NonPositiveQuantity,
    #[error("the line has no positive quantity to credit by")]
    NoQuantity,
    #[error("the amount must be positive")]
    NonPositiveAmount,
    #[error("the credit rounds to zero")]
    RoundsToZero,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl CreditableLine {
    /// What the line brought to the amount due: its total less the prepaid part.
    pub fn creditable(&self) -> Result<Money, MoneyError> {
        self.total.checked_sub(self.prepaid)
    }

    /// What credit notes may still take off the line.
    pub fn remaining(&self) -> Result<Money, MoneyError> {
        self.creditable()?.checked_sub(self.credited)
    }
}

/// `round(amount × num / den)` at the currency's precision.
fn share(amount: Money, num: Decimal, den: Decimal) -> Result<Money, MoneyError> {
    let exact = amount
        .to_decimal()
        .checked_mul(num)
        .and_then(|v| v.checked_div(den))
        .ok_or(MoneyError::Overflow)?;
    Money::from_decimal(
        round_half_up(exact, amount.currency().exponent()),
        amount.currency(),
    )
}

/// The credit for `ask` on `line`, or why it is refused.
pub fn credit_line(
    line: &CreditableLine,
    ask: LineCreditAsk,
) -> Result<LineCredit, LineCreditError> {
    let base = line.creditable()?;
    if !base.is_positive() {
        return Err(LineCreditError::NotCreditable);
    }
    let remaining = line.remaining()?;
    let amount = match ask {
        LineCreditAsk::Amount(a) => {
            if !a.is_positive() {
                return Err(LineCreditError::NonPositiveAmount);
            }
            if a.minor() > remaining.minor() {
                return Err(LineCreditError::ExceedsLine { remaining });
            }
            a
        }
        LineCreditAsk::Quantity(q) => {
            if q <= Decimal::ZERO {
                return Err(LineCreditError::NonPositiveQuantity);
            }
            let total_q = line.quantity;
            if total_q <= Decimal::ZERO {
                return Err(LineCreditError::NoQuantity);
            }
            let left = total_q - line.credited_quantity;
            if q > left {
                return Err(LineCreditError::ExceedsQuantity {
                    remaining: left.max(Decimal::ZERO),
                });
            }
            let before = share(base, line.credited_quantity, total_q)?;
            let after = share(base, line.credited_quantity + q, total_q)?;
            let a = after.checked_sub(before)?;
            // Amount credits on the line may already have taken part of these units' value.
            let a = if a.minor() > remaining.minor() {
                remaining
            } else {
                a
            };
            if !a.is_positive() {
                return Err(if remaining.is_positive() {
                    LineCreditError::RoundsToZero
                } else {
                    LineCreditError::ExceedsLine { remaining }
                });
            }
            a
        }
    };
    // `base` is positive and at most `total`, so `total` is positive here.
    let t = line.total.to_decimal();
    let before = share(line.tax, line.credited.to_decimal(), t)?;
    let after = share(
        line.tax,
        line.credited.to_decimal() + amount.to_decimal(),
        t,
    )?;
    let tax = after.checked_sub(before)?;
    Ok(LineCredit { amount, tax })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse("EUR").unwrap())
    }

    fn line(total: i64, tax: i64, quantity: i64) -> CreditableLine {
        CreditableLine {
            total: eur(total),
            tax: eur(tax),
            prepaid: eur(0),
            quantity: Decimal::from(quantity),
            credited: eur(0),
            credited_quantity: Decimal::ZERO,
        }
    }

    /// Applies a credit to the line as a stored credit note would.
    fn take(l: &mut CreditableLine, ask: LineCreditAsk) -> LineCredit {
        let c = credit_line(l, ask).unwrap();
        l.credited = l.credited.checked_add(c.amount).unwrap();
        if let LineCreditAsk::Quantity(q) = ask {
            l.credited_quantity += q;
        }
        c
    }

    #[test]
    fn quantity_credits_telescope_to_the_line_total() {
        // 0.05 over two units: half-up per call would credit 0.03 + 0.03 = 0.06.
        let mut l = line(5, 0, 2);
        let one = LineCreditAsk::Quantity(Decimal::ONE);
        assert_eq!(take(&mut l, one).amount, eur(3));
        assert_eq!(take(&mut l, one).amount, eur(2));
        assert_eq!(
            credit_line(&l, one),
            Err(LineCreditError::ExceedsQuantity {
                remaining: Decimal::ZERO
            })
        );
    }

    #[test]
    fn tax_is_credited_in_proportion_and_sums_to_the_line_tax() {
        // 3 × 33.33 + 19% = 99.99 + 19.00 (tax rounded on the line) = 118.99.
        let mut l = line(11899, 1900, 3);
        let one = LineCreditAsk::Quantity(Decimal::ONE);
        let a = take(&mut l, one);
        let b = take(&mut l, one);
        let c = take(&mut l, one);
        // 118.99 / 3 = 39.663… → 39.66; 79.326… → 79.33 (− 39.66 = 39.67); the rest 39.66.
        assert_eq!(
            [a.amount, b.amount, c.amount],
            [eur(3966), eur(3967), eur(3966)]
        );
        // Tax: 19 × 39.66 / 118.99 = 6.3326… → 6.33; 19 × 79.33 / 118.99 = 12.667… → 12.67
        // (− 6.33 = 6.34); 19.00 − 12.67 = 6.33.
        assert_eq!([a.tax, b.tax, c.tax], [eur(633), eur(634), eur(633)]);
        assert_eq!(l.credited, eur(11899));
    }

    #[test]
    fn amount_credits_are_capped_by_what_is_left() {
        let mut l = line(12000, 2000, 1);
        let c = take(&mut l, LineCreditAsk::Amount(eur(6000)));
        assert_eq!((c.amount, c.tax), (eur(6000), eur(1000)));
        assert_eq!(
            credit_line(&l, LineCreditAsk::Amount(eur(6001))),
            Err(LineCreditError::ExceedsLine {
                remaining: eur(6000)
            })
        );
        // A quantity credit after an amount credit takes at most what is left.
        let c = take(&mut l, LineCreditAsk::Quantity(Decimal::ONE));
        assert_eq!((c.amount, c.tax), (eur(6000), eur(1000)));
        assert_eq!(
            credit_line(&l, LineCreditAsk::Amount(eur(1))),
            Err(LineCreditError::ExceedsLine { remaining: eur(0) })
        );
    }

    #[test]
    fn prepaid_part_and_negative_lines_are_not_creditable() {
        let mut l = line(10000, 0, 1);
        l.prepaid = eur(4000);
        assert_eq!(
            credit_line(&l, LineCreditAsk::Amount(eur(6001))),
            Err(LineCreditError::ExceedsLine {
                remaining: eur(6000)
            })
        );
        assert_eq!(
            credit_line(&line(-500, 0, 1), LineCreditAsk::Amount(eur(1))),
            Err(LineCreditError::NotCreditable)
        );
    }

    #[test]
    fn fractional_quantities_and_tiny_credits() {
        let l = line(1000, 0, 3);
        assert_eq!(
            credit_line(&l, LineCreditAsk::Quantity(Decimal::new(15, 1)))
                .unwrap()
                .amount,
            eur(500)
        );
        assert_eq!(
            credit_line(&l, LineCreditAsk::Quantity(Decimal::new(1, 4))),
            Err(LineCreditError::RoundsToZero)
        );
        assert_eq!(
            credit_line(&l, LineCreditAsk::Quantity(Decimal::ZERO)),
            Err(LineCreditError::NonPositiveQuantity)
        );
    }
}
