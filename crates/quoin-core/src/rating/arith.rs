//! Checked decimal steps shared by the models: an overflow becomes
//! [`RatingError::Arithmetic`] instead of the panic of `Decimal`'s operators.

use rust_decimal::Decimal;

use super::RatingError;

#[inline]
pub(crate) fn add(a: Decimal, b: Decimal) -> Result<Decimal, RatingError> {
    a.checked_add(b).ok_or(RatingError::Arithmetic)
}

#[inline]
pub(crate) fn sub(a: Decimal, b: Decimal) -> Result<Decimal, RatingError> {
    a.checked_sub(b).ok_or(RatingError::Arithmetic)
}

#[inline]
pub(crate) fn mul(a: Decimal, b: Decimal) -> Result<Decimal, RatingError> {
    a.checked_mul(b).ok_or(RatingError::Arithmetic)
}

/// `max(a − b, 0)`: units left after an allowance.
#[inline]
pub(crate) fn excess(a: Decimal, b: Decimal) -> Result<Decimal, RatingError> {
    if a <= b {
        Ok(Decimal::ZERO)
    } else {
        sub(a, b)
    }
}

/// `ceil(units / size)` for `units >= 0`, `size > 0`, computed exactly.
///
/// A rounded quotient could land on the wrong side of an integer, so the slow path
/// works from the exact remainder; whole-number inputs (minutes, calls) skip
/// decimal division entirely because division dominates the rating cost.
#[inline]
pub(crate) fn started_blocks(units: Decimal, size: Decimal) -> Result<Decimal, RatingError> {
    if units.scale() == 0 && size.scale() == 0 {
        let (u, s) = (units.mantissa(), size.mantissa());
        if u >= 0 && s > 0 {
            return Decimal::try_from_i128_with_scale((u + s - 1) / s, 0)
                .map_err(|_| RatingError::Arithmetic);
        }
    }
    let rem = units.checked_rem(size).ok_or(RatingError::Arithmetic)?;
    let whole = sub(units, rem)?
        .checked_div(size)
        .ok_or(RatingError::Arithmetic)?
        .trunc();
    if rem > Decimal::ZERO {
        add(whole, Decimal::ONE)
    } else {
        Ok(whole)
    }
}

/// `value / 100`, exactly: moving the decimal point is cheaper than dividing.
#[inline]
pub(crate) fn hundredth(value: Decimal) -> Result<Decimal, RatingError> {
    let scale = value.scale();
    if scale <= 26 {
        let mut v = value;
        v.set_scale(scale + 2)
            .map_err(|_| RatingError::Arithmetic)?;
        Ok(v)
    } else {
        value
            .checked_div(Decimal::ONE_HUNDRED)
            .ok_or(RatingError::Arithmetic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn started_blocks_is_exact() {
        assert_eq!(started_blocks(d("0"), d("10")).unwrap(), d("0"));
        assert_eq!(started_blocks(d("1"), d("10")).unwrap(), d("1"));
        assert_eq!(started_blocks(d("10"), d("10")).unwrap(), d("1"));
        assert_eq!(started_blocks(d("11"), d("10")).unwrap(), d("2"));
        assert_eq!(started_blocks(d("10.0"), d("2.5")).unwrap(), d("4"));
        assert_eq!(started_blocks(d("10.01"), d("2.5")).unwrap(), d("5"));
        assert_eq!(started_blocks(d("1"), d("3")).unwrap(), d("1"));
        assert_eq!(started_blocks(d("0.000001"), d("1")).unwrap(), d("1"));
        assert_eq!(started_blocks(d("1"), d("0")), Err(RatingError::Arithmetic));
    }

    #[test]
    fn hundredth_moves_the_point() {
        assert_eq!(hundredth(d("1.3")).unwrap(), d("0.013"));
        assert_eq!(hundredth(d("250")).unwrap(), d("2.5"));
        assert_eq!(
            hundredth(mul(d("10000"), d("2.99")).unwrap()).unwrap(),
            d("299")
        );
        let tiny = Decimal::new(1, 28);
        assert_eq!(hundredth(tiny).unwrap(), Decimal::ZERO);
    }
}
