//! Property tests for `quoin_core::money`, checked against plain `i128`
//! reference arithmetic so no floating point is ever involved.

use proptest::prelude::*;
use quoin_core::money::{Currency, Money, MoneyError};
use rust_decimal::Decimal;

fn any_currency() -> impl Strategy<Value = Currency> {
    let all: Vec<Currency> = Currency::all().collect();
    proptest::sample::select(all)
}

/// Reference half-up (away from zero) division of integers, `den > 0`.
fn div_half_up(num: i128, den: i128) -> i128 {
    let (q, r) = (num / den, num % den);
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

/// Weights in [0, 10^6) with up to 4 decimal places, as (mantissa, scale).
fn weights() -> impl Strategy<Value = Vec<(u32, u32)>> {
    prop::collection::vec((0u32..1_000_000, 0u32..=4), 1..20)
}

proptest! {
    #[test]
    fn allocate_is_exact_and_fair(total in -1_000_000_000_000i64..1_000_000_000_000, raw in weights()) {
        prop_assume!(raw.iter().any(|(m, _)| *m != 0));
        let decimals: Vec<Decimal> = raw.iter().map(|(m, s)| Decimal::new(i64::from(*m), *s)).collect();
        let money = Money::from_minor(total, Currency::USD);
        let parts = money.allocate(&decimals).unwrap();
        prop_assert_eq!(parts.len(), decimals.len());
        prop_assert!(parts.iter().all(|p| p.currency() == Currency::USD));
        prop_assert_eq!(Money::sum(Currency::USD, parts.iter().copied()).unwrap(), money);

        // Weights as integers over 10^4; the exact share of part i is
        // total * w_i / sum, so |part * sum - total * w_i| < sum.
        let ints: Vec<i128> = raw.iter().map(|(m, s)| i128::from(*m) * 10i128.pow(4 - s)).collect();
        let sum: i128 = ints.iter().sum();
        for (part, w) in parts.iter().zip(&ints) {
            let deviation = i128::from(part.minor()) * sum - i128::from(total) * w;
            prop_assert!(deviation.abs() < sum, "part {} weight {} sum {}", part.minor(), w, sum);
            // Rounding never flips the sign of a share.
            prop_assert!(i128::from(part.minor()) * i128::from(total.signum()) >= 0);
        }
    }

    #[test]
    fn allocate_negation_mirrors(total in -1_000_000_000_000i64..1_000_000_000_000, raw in weights()) {
        prop_assume!(raw.iter().any(|(m, _)| *m != 0));
        let decimals: Vec<Decimal> = raw.iter().map(|(m, s)| Decimal::new(i64::from(*m), *s)).collect();
        let pos = Money::from_minor(total, Currency::EUR).allocate(&decimals).unwrap();
        let neg = Money::from_minor(-total, Currency::EUR).allocate(&decimals).unwrap();
        for (p, n) in pos.iter().zip(&neg) {
            prop_assert_eq!(p.minor(), -n.minor());
        }
    }

    #[test]
    fn add_sub_round_trip(
        a in -(1i64 << 62)..(1i64 << 62),
        b in -(1i64 << 62)..(1i64 << 62),
        currency in any_currency(),
    ) {
        let (ma, mb) = (Money::from_minor(a, currency), Money::from_minor(b, currency));
        let sum = ma.checked_add(mb).unwrap();
        prop_assert_eq!(sum.minor(), a + b);
        prop_assert_eq!(sum.checked_sub(mb).unwrap(), ma);
        prop_assert_eq!(ma.checked_sub(mb).unwrap().checked_add(mb).unwrap(), ma);
    }

    #[test]
    fn add_is_checked_not_wrapping(a in any::<i64>(), b in any::<i64>()) {
        let result = Money::from_minor(a, Currency::USD).checked_add(Money::from_minor(b, Currency::USD));
        match a.checked_add(b) {
            Some(expected) => prop_assert_eq!(result.unwrap().minor(), expected),
            None => prop_assert!(result.is_err()),
        }
    }

    #[test]
    fn decimal_round_trip(minor in any::<i64>(), currency in any_currency()) {
        let money = Money::from_minor(minor, currency);
        let decimal = money.to_decimal();
        prop_assert_eq!(decimal.scale(), currency.exponent());
        prop_assert_eq!(Money::from_decimal(decimal, currency).unwrap(), money);
        prop_assert_eq!(Money::from_decimal_exact(decimal, currency).unwrap(), money);
        let shown = money.to_string();
        prop_assert!(shown.ends_with(currency.code()));
    }

    #[test]
    fn from_decimal_matches_reference(mantissa in -(1i64 << 50)..(1i64 << 50), scale in 0u32..=8, currency in any_currency()) {
        let amount = Decimal::new(mantissa, scale);
        let exp = currency.exponent();
        let expected = if scale <= exp {
            i128::from(mantissa) * 10i128.pow(exp - scale)
        } else {
            div_half_up(i128::from(mantissa), 10i128.pow(scale - exp))
        };
        // Large mantissas in 4-decimal currencies exceed i64: that must be an error.
        match i64::try_from(expected) {
            Ok(minor) => prop_assert_eq!(Money::from_decimal(amount, currency), Ok(Money::from_minor(minor, currency))),
            Err(_) => prop_assert_eq!(Money::from_decimal(amount, currency), Err(MoneyError::Overflow)),
        }
    }

    #[test]
    fn checked_mul_matches_reference(
        minor in -1_000_000_000_000i64..1_000_000_000_000,
        factor in -1_000_000i64..1_000_000,
        scale in 0u32..=8,
    ) {
        let money = Money::from_minor(minor, Currency::USD);
        let result = money.checked_mul(Decimal::new(factor, scale)).unwrap();
        let expected = div_half_up(i128::from(minor) * i128::from(factor), 10i128.pow(scale));
        prop_assert_eq!(i128::from(result.minor()), expected);
    }
}
