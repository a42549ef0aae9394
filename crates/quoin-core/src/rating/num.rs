//! The two number types the aggregate models compute with, behind one trait so each
//! model is written once: `Decimal` (breakdowns, and the fallback) and [`Fixed`], an
//! exact `i128` mantissa with its scale, for the bulk path.
//!
//! `Decimal` spends most of a rating re-aligning scales inside every operation; on
//! `i128` that is one multiplication by a power of ten. `Fixed` never rounds: when a
//! value outgrows it (or cannot become a `Decimal` again) the operation returns `None`
//! and the caller re-rates in `Decimal`, so both paths give the same amount.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::arith;
use super::RatingError;

pub(crate) trait Num: Copy {
    const ZERO: Self;
    fn of(value: Decimal) -> Option<Self>;
    fn add(self, other: Self) -> Option<Self>;
    fn sub(self, other: Self) -> Option<Self>;
    fn mul(self, other: Self) -> Option<Self>;
    fn compare(self, other: Self) -> Option<Ordering>;
    fn is_zero(self) -> bool;
    /// `ceil(self / size)`, exactly, for `self >= 0` and `size > 0`.
    fn started_blocks(self, size: Self) -> Option<Self>;
    /// `self / 100`, exactly.
    fn hundredth(self) -> Option<Self>;

    /// `max(self − other, 0)`.
    #[inline]
    fn excess(self, other: Self) -> Option<Self> {
        Some(match self.compare(other)? {
            Ordering::Greater => self.sub(other)?,
            _ => Self::ZERO,
        })
    }

    #[inline]
    fn lt(self, other: Self) -> Option<bool> {
        Some(self.compare(other)? == Ordering::Less)
    }
}

impl Num for Decimal {
    const ZERO: Self = Decimal::ZERO;

    #[inline]
    fn of(value: Decimal) -> Option<Self> {
        Some(value)
    }
    #[inline]
    fn add(self, other: Self) -> Option<Self> {
        self.checked_add(other)
    }
    #[inline]
    fn sub(self, other: Self) -> Option<Self> {
        self.checked_sub(other)
    }
    #[inline]
    fn mul(self, other: Self) -> Option<Self> {
        self.checked_mul(other)
    }
    #[inline]
    fn compare(self, other: Self) -> Option<Ordering> {
        Some(self.cmp(&other))
    }
    #[inline]
    fn is_zero(self) -> bool {
        Decimal::is_zero(&self)
    }
    #[inline]
    fn started_blocks(self, size: Self) -> Option<Self> {
        arith::started_blocks(self, size).ok()
    }
    #[inline]
    fn hundredth(self) -> Option<Self> {
        arith::hundredth(self).ok()
    }
}

/// Why a walk stopped without an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fail {
    /// The number type could not hold a value: re-rate in `Decimal`, or report it.
    Overflow,
    /// No tier or step holds the quantity (a bounded last one).
    Uncovered,
}

impl Fail {
    pub(crate) fn at(self, quantity: Decimal) -> RatingError {
        match self {
            Fail::Overflow => RatingError::Arithmetic,
            Fail::Uncovered => RatingError::Uncovered(quantity),
        }
    }
}

/// `?` on an `Option` inside a walk.
pub(crate) trait OrOverflow<T> {
    fn or_overflow(self) -> Result<T, Fail>;
}

impl<T> OrOverflow<T> for Option<T> {
    #[inline]
    fn or_overflow(self) -> Result<T, Fail> {
        self.ok_or(Fail::Overflow)
    }
}

/// `m × 10^-s`, exact. Scales stay at most [`Fixed::MAX_SCALE`] so powers of ten fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fixed {
    m: i128,
    s: u32,
}

const POW10: [i128; 37] = {
    let mut table = [1i128; 37];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// `a × b`, skipping the overflow check when both are below 2^63 (the product fits).
#[inline]
fn mul_i128(a: i128, b: i128) -> Option<i128> {
    if (a.unsigned_abs() | b.unsigned_abs()) >> 63 == 0 {
        Some(a * b)
    } else {
        a.checked_mul(b)
    }
}

impl Fixed {
    const MAX_SCALE: u32 = 36;

    /// Back to `Decimal`; `None` when the value needs more than 96 bits or 28 places.
    #[inline]
    pub(crate) fn to_decimal(self) -> Option<Decimal> {
        Decimal::try_from_i128_with_scale(self.m, self.s).ok()
    }

    /// Both mantissas at the larger of the two scales.
    #[inline]
    fn align(self, other: Self) -> Option<(i128, i128, u32)> {
        match self.s.cmp(&other.s) {
            Ordering::Equal => Some((self.m, other.m, self.s)),
            Ordering::Less => {
                let up = mul_i128(self.m, POW10[(other.s - self.s) as usize])?;
                Some((up, other.m, other.s))
            }
            Ordering::Greater => {
                let up = mul_i128(other.m, POW10[(self.s - other.s) as usize])?;
                Some((self.m, up, self.s))
            }
        }
    }
}

impl Num for Fixed {
    const ZERO: Self = Fixed { m: 0, s: 0 };

    #[inline]
    fn of(value: Decimal) -> Option<Self> {
        Some(Fixed {
            m: value.mantissa(),
            s: value.scale(),
        })
    }
    #[inline]
    fn add(self, other: Self) -> Option<Self> {
        let (a, b, s) = self.align(other)?;
        Some(Fixed {
            m: a.checked_add(b)?,
            s,
        })
    }
    #[inline]
    fn sub(self, other: Self) -> Option<Self> {
        let (a, b, s) = self.align(other)?;
        Some(Fixed {
            m: a.checked_sub(b)?,
            s,
        })
    }
    #[inline]
    fn mul(self, other: Self) -> Option<Self> {
        let s = self.s + other.s;
        if s > Self::MAX_SCALE {
            return None;
        }
        Some(Fixed {
            m: mul_i128(self.m, other.m)?,
            s,
        })
    }
    #[inline]
    fn compare(self, other: Self) -> Option<Ordering> {
        let (a, b, _) = self.align(other)?;
        Some(a.cmp(&b))
    }
    #[inline]
    fn is_zero(self) -> bool {
        self.m == 0
    }
    #[inline]
    fn started_blocks(self, size: Self) -> Option<Self> {
        let (units, size, _) = self.align(size)?;
        // u64 division is several times cheaper than i128's.
        let units = u64::try_from(units).ok()?;
        let size = u64::try_from(size).ok().filter(|s| *s > 0)?;
        let blocks = units / size + u64::from(units % size != 0);
        Some(Fixed {
            m: i128::from(blocks),
            s: 0,
        })
    }
    #[inline]
    fn hundredth(self) -> Option<Self> {
        let s = self.s + 2;
        (s <= Self::MAX_SCALE).then_some(Fixed { m: self.m, s })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn f(s: &str) -> Fixed {
        Fixed::of(d(s)).unwrap()
    }

    #[test]
    fn fixed_matches_decimal() {
        let pairs = [
            ("0", "0"),
            ("1.5", "0.25"),
            ("1000", "0.0123"),
            ("-3.75", "12"),
            ("123456789.123456", "0.000001"),
        ];
        for (a, b) in pairs {
            let (fa, fb, da, db) = (f(a), f(b), d(a), d(b));
            let same = |x: Option<Fixed>, y: Option<Decimal>| {
                assert_eq!(x.and_then(Fixed::to_decimal), y, "{a} {b}");
            };
            same(fa.add(fb), da.add(db));
            same(fa.sub(fb), da.sub(db));
            same(fa.mul(fb), da.mul(db));
            same(fa.hundredth(), Num::hundredth(da));
            assert_eq!(fa.compare(fb), da.compare(db), "{a} {b}");
        }
        assert_eq!(
            f("10.01").started_blocks(f("2.5")).unwrap().to_decimal(),
            Some(d("5"))
        );
        assert_eq!(
            f("10").started_blocks(f("2.5")).unwrap().to_decimal(),
            Some(d("4"))
        );
        assert_eq!(
            f("0").started_blocks(f("3")).unwrap().to_decimal(),
            Some(d("0"))
        );
        assert_eq!(f("1").started_blocks(f("0")), None);
    }

    #[test]
    fn fixed_gives_up_instead_of_rounding() {
        let big = f("79228162514264337593543950335");
        assert_eq!(big.add(f("1")).and_then(Fixed::to_decimal), None);
        let fine = f("0.00000000000000000001");
        assert_eq!(fine.mul(fine).and_then(Fixed::to_decimal), None);
        assert_eq!(big.mul(big).and_then(Fixed::to_decimal), None);
    }
}
