//! Percentages applied to money, each rounded once, half-up (away from zero), so a
//! negative amount gets exactly the negated result of its positive counterpart.

use rust_decimal::Decimal;

use crate::money::Money;

use super::error::InvoicingError;

/// `percent / 100`, exactly (a scale shift, no division).
pub(crate) fn fraction(percent: Decimal) -> Result<Decimal, InvoicingError> {
    let mut f = percent.normalize();
    f.set_scale(f.scale() + 2)
        .map_err(|_| InvoicingError::overflow())?;
    Ok(f)
}

/// `amount × percent / 100`, rounded once.
pub(crate) fn percent_of(amount: Money, percent: Decimal) -> Result<Money, InvoicingError> {
    Ok(amount.checked_mul(fraction(percent)?)?)
}

/// The part of a tax-inclusive `amount` that is not tax at `percent`:
/// `amount × 100 / (100 + percent)`, rounded once.
///
/// Computed in exact integers rather than `Decimal` division, whose 28-digit quotient
/// could be rounded before our own rounding and land on a false midpoint.
pub(crate) fn exclude_tax(amount: Money, percent: Decimal) -> Result<Money, InvoicingError> {
    let p = percent.normalize();
    let scale = 10i128
        .checked_pow(p.scale())
        .ok_or_else(InvoicingError::overflow)?;
    let hundred = scale
        .checked_mul(100)
        .ok_or_else(InvoicingError::overflow)?;
    let divisor = hundred
        .checked_add(p.mantissa())
        .filter(|d| *d > 0)
        .ok_or_else(InvoicingError::overflow)?;
    let dividend = i128::from(amount.minor())
        .unsigned_abs()
        .checked_mul(hundred.unsigned_abs())
        .ok_or_else(InvoicingError::overflow)?;
    let divisor = divisor.unsigned_abs();
    let (quotient, remainder) = (dividend / divisor, dividend % divisor);
    // Half-up on the magnitude: round up when the dropped fraction is at least 1/2.
    let magnitude = quotient + u128::from(remainder >= divisor - remainder);
    let magnitude = i64::try_from(magnitude).map_err(|_| InvoicingError::overflow())?;
    let minor = if amount.is_negative() {
        -magnitude
    } else {
        magnitude
    };
    Ok(Money::from_minor(minor, amount.currency()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use rust_decimal_macros::dec;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::EUR)
    }

    #[test]
    fn fraction_is_exact() {
        assert_eq!(fraction(dec!(20)), Ok(dec!(0.2)));
        assert_eq!(fraction(dec!(8.875)), Ok(dec!(0.08875)));
        assert_eq!(fraction(dec!(0)), Ok(dec!(0)));
    }

    #[test]
    fn percent_of_rounds_half_up_symmetrically() {
        assert_eq!(percent_of(eur(1429), dec!(24)), Ok(eur(343))); // 3.4296
        assert_eq!(percent_of(eur(5), dec!(10)), Ok(eur(1))); // 0.005
        assert_eq!(percent_of(eur(-5), dec!(10)), Ok(eur(-1)));
    }

    #[test]
    fn exclude_tax_is_exact_and_symmetric() {
        assert_eq!(exclude_tax(eur(1200), dec!(20)), Ok(eur(1000)));
        assert_eq!(exclude_tax(eur(100), dec!(20)), Ok(eur(83))); // 0.8333
        assert_eq!(exclude_tax(eur(-100), dec!(20)), Ok(eur(-83)));
        // 1.05 / 1.05 and 0.21 / 1.2 = 0.175: an exact midpoint rounds up.
        assert_eq!(exclude_tax(eur(105), dec!(5)), Ok(eur(100)));
        assert_eq!(exclude_tax(eur(21), dec!(20)), Ok(eur(18)));
        assert_eq!(exclude_tax(eur(-21), dec!(20)), Ok(eur(-18)));
        assert_eq!(exclude_tax(eur(777), dec!(0)), Ok(eur(777)));
        assert_eq!(
            exclude_tax(eur(i64::MIN), dec!(0)),
            Err(InvoicingError::overflow())
        );
    }
}
