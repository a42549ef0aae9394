//! Tiered prices: graduated (each unit at its tier's price) and volume (all units at
//! the price of the tier the quantity falls in), with the bound rules they share.

use rust_decimal::Decimal;

use super::error::{FieldPath, Problem, Problems};
use super::num::{Fail, Num, OrOverflow};
use super::{LineKind, RatingLine};

/// One band of a tiered price. Tier `i` covers quantities in `(up_to[i-1], up_to[i]]`,
/// the first one from zero: bounds are inclusive, as in Lago and Kill Bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// Inclusive upper bound; `None` (no limit) only on the last tier.
    pub up_to: Option<Decimal>,
    pub unit_amount: Decimal,
    /// Charged once when the quantity reaches the tier (graduated) or falls in it (volume).
    pub flat_fee: Decimal,
    /// Bill per started block of this many units. `None` bills the exact units,
    /// fractions included; `Some(1)` would round 100.5 units up to 101.
    pub block_size: Option<Decimal>,
}

impl Tier {
    /// A tier up to `up_to` units inclusive.
    pub fn to(up_to: Decimal, unit_amount: Decimal) -> Self {
        Self {
            up_to: Some(up_to),
            unit_amount,
            flat_fee: Decimal::ZERO,
            block_size: None,
        }
    }

    /// The unbounded last tier.
    pub fn above(unit_amount: Decimal) -> Self {
        Self {
            up_to: None,
            unit_amount,
            flat_fee: Decimal::ZERO,
            block_size: None,
        }
    }

    pub fn with_flat_fee(mut self, flat_fee: Decimal) -> Self {
        self.flat_fee = flat_fee;
        self
    }

    pub fn with_block_size(mut self, block_size: Decimal) -> Self {
        self.block_size = Some(block_size);
        self
    }
}

/// A tier of a graduated percentage: a rate on the part of the amount in the tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PercentTier {
    pub up_to: Option<Decimal>,
    /// Percent, 0 to 100: `1.3` means 1.3 %.
    pub rate_percent: Decimal,
    pub flat_fee: Decimal,
}

impl PercentTier {
    pub fn to(up_to: Decimal, rate_percent: Decimal) -> Self {
        Self {
            up_to: Some(up_to),
            rate_percent,
            flat_fee: Decimal::ZERO,
        }
    }

    pub fn above(rate_percent: Decimal) -> Self {
        Self {
            up_to: None,
            rate_percent,
            flat_fee: Decimal::ZERO,
        }
    }

    pub fn with_flat_fee(mut self, flat_fee: Decimal) -> Self {
        self.flat_fee = flat_fee;
        self
    }
}

/// What the tier walkers need from a tier, so both tier types share one implementation.
pub(crate) trait Band {
    fn up_to(&self) -> Option<Decimal>;
    fn unit_amount<N: Num>(&self) -> Option<N>;
    fn flat_fee(&self) -> Decimal;
    fn block_size(&self) -> Option<Decimal>;
}

impl Band for Tier {
    #[inline]
    fn up_to(&self) -> Option<Decimal> {
        self.up_to
    }
    #[inline]
    fn unit_amount<N: Num>(&self) -> Option<N> {
        N::of(self.unit_amount)
    }
    #[inline]
    fn flat_fee(&self) -> Decimal {
        self.flat_fee
    }
    #[inline]
    fn block_size(&self) -> Option<Decimal> {
        self.block_size
    }
}

impl Band for PercentTier {
    #[inline]
    fn up_to(&self) -> Option<Decimal> {
        self.up_to
    }
    #[inline]
    fn unit_amount<N: Num>(&self) -> Option<N> {
        N::of(self.rate_percent)?.hundredth()
    }
    #[inline]
    fn flat_fee(&self) -> Decimal {
        self.flat_fee
    }
    #[inline]
    fn block_size(&self) -> Option<Decimal> {
        None
    }
}

/// The price of `units` in one tier; becomes a line when a breakdown is wanted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Charge<N> {
    pub units: N,
    pub billed: N,
    pub unit_amount: N,
    pub flat_fee: N,
    pub amount: N,
}

impl<N: Num> Charge<N> {
    /// Always inlined: returned by value, the five fields would go through memory on
    /// every tier, and the bulk path only reads `amount`.
    #[inline(always)]
    fn of(units: N, band: &impl Band) -> Result<Self, Fail> {
        let billed = match band.block_size() {
            Some(size) => units
                .started_blocks(N::of(size).or_overflow()?)
                .or_overflow()?,
            None => units,
        };
        let unit_amount = band.unit_amount::<N>().or_overflow()?;
        let flat = band.flat_fee();
        let variable = billed.mul(unit_amount).or_overflow()?;
        let (flat_fee, amount) = if flat.is_zero() {
            (N::ZERO, variable)
        } else {
            let flat_fee = N::of(flat).or_overflow()?;
            (flat_fee, variable.add(flat_fee).or_overflow()?)
        };
        Ok(Self {
            units,
            billed,
            unit_amount,
            flat_fee,
            amount,
        })
    }
}

impl Charge<Decimal> {
    pub(crate) fn line(self, kind: LineKind) -> RatingLine {
        RatingLine {
            kind,
            units: self.units,
            billed_quantity: self.billed,
            unit_amount: self.unit_amount,
            flat_fee: self.flat_fee,
            amount: self.amount,
        }
    }
}

/// Graduated pricing: walks the tiers the quantity reaches, handing each tier's charge
/// to `each` (a no-op on the bulk path, so nothing is allocated) and returning the
/// total. One comparison per tier: a tier is either filled up to its bound, or holds
/// the rest of the quantity and ends the walk.
///
/// The first tier is always reached, so its flat fee is due even at zero units (Lago).
#[inline]
pub(crate) fn graduated<N: Num, B: Band>(
    tiers: &[B],
    quantity: N,
    mut each: impl FnMut(usize, Charge<N>),
) -> Result<N, Fail> {
    let mut total = N::ZERO;
    let mut lower: Option<N> = None;
    for (i, tier) in tiers.iter().enumerate() {
        let (top, last) = match tier.up_to() {
            Some(up_to) => {
                let up_to = N::of(up_to).or_overflow()?;
                if up_to.lt(quantity).or_overflow()? {
                    (up_to, false)
                } else {
                    (quantity, true)
                }
            }
            None => (quantity, true),
        };
        let units = match lower {
            None => top,
            Some(lower) => top.sub(lower).or_overflow()?,
        };
        let charge = Charge::of(units, tier)?;
        total = if i == 0 {
            charge.amount
        } else {
            total.add(charge.amount).or_overflow()?
        };
        each(i, charge);
        if last {
            return Ok(total);
        }
        lower = Some(top);
    }
    Err(Fail::Uncovered)
}

/// Volume pricing: the first tier whose bound holds the quantity prices every unit.
#[inline]
pub(crate) fn volume<N: Num, B: Band>(
    tiers: &[B],
    quantity: N,
) -> Result<(usize, Charge<N>), Fail> {
    for (i, tier) in tiers.iter().enumerate() {
        if let Some(up_to) = tier.up_to() {
            if N::of(up_to).or_overflow()?.lt(quantity).or_overflow()? {
                continue;
            }
        }
        return Ok((i, Charge::of(quantity, tier)?));
    }
    Err(Fail::Uncovered)
}

/// Checks a list of inclusive upper bounds: non-negative, strictly ascending, `None`
/// only last and, where `unbounded_last`, `None` last. Problems name `list[i].up_to`.
pub(crate) fn check_bounds(
    problems: &mut Problems,
    list: &'static str,
    bounds: impl ExactSizeIterator<Item = Option<Decimal>>,
    unbounded_last: bool,
) {
    let n = bounds.len();
    if n == 0 {
        problems.push(FieldPath::field(list), Problem::Empty);
        return;
    }
    let path = |i| FieldPath::element(list, i, "up_to");
    let mut previous: Option<Decimal> = None;
    for (i, bound) in bounds.enumerate() {
        match bound {
            Some(up_to) => {
                problems.non_negative(|| path(i), up_to);
                if let Some(prev) = previous {
                    if up_to <= prev {
                        problems.push(path(i), Problem::NotAscending(prev));
                    }
                }
                if i + 1 == n && unbounded_last {
                    problems.push(path(i), Problem::BoundedLast(up_to));
                }
                previous = Some(up_to);
            }
            None if i + 1 < n => problems.push(path(i), Problem::UnboundedNotLast),
            None => {}
        }
    }
}

pub(crate) fn check_tiers(problems: &mut Problems, tiers: &[Tier]) {
    check_bounds(problems, "tiers", tiers.iter().map(|t| t.up_to), true);
    for (i, tier) in tiers.iter().enumerate() {
        problems.non_negative(
            || FieldPath::element("tiers", i, "unit_amount"),
            tier.unit_amount,
        );
        problems.non_negative(|| FieldPath::element("tiers", i, "flat_fee"), tier.flat_fee);
        if let Some(size) = tier.block_size {
            problems.positive(|| FieldPath::element("tiers", i, "block_size"), size);
        }
    }
}

pub(crate) fn check_percent_tiers(problems: &mut Problems, tiers: &[PercentTier]) {
    check_bounds(problems, "tiers", tiers.iter().map(|t| t.up_to), true);
    for (i, tier) in tiers.iter().enumerate() {
        problems.percentage(
            || FieldPath::element("tiers", i, "rate_percent"),
            tier.rate_percent,
        );
        problems.non_negative(|| FieldPath::element("tiers", i, "flat_fee"), tier.flat_fee);
    }
}
