//! Capacity prices (Kill Bill CAPACITY): one amount for the step or tier the usage
//! fits in, not a price per unit.

use rust_decimal::Decimal;

use super::error::{FieldPath, Problem, Problems, ValidationErrors};
use super::num::{Fail, Num, OrOverflow};
use super::{LineKind, Rating, RatingError, RatingLine};

/// One step of a stair-step price: `amount` for any quantity up to `up_to` inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `None` means no limit. A bounded last step is allowed: usage above it is an
    /// error at rating time, as in Kill Bill, since no price was agreed for it.
    pub up_to: Option<Decimal>,
    pub amount: Decimal,
}

impl Step {
    pub fn to(up_to: Decimal, amount: Decimal) -> Self {
        Self {
            up_to: Some(up_to),
            amount,
        }
    }

    pub fn above(amount: Decimal) -> Self {
        Self {
            up_to: None,
            amount,
        }
    }
}

/// The first step whose bound holds the quantity.
#[inline]
pub(crate) fn stair_step<N: Num>(steps: &[Step], quantity: N) -> Result<(usize, Decimal), Fail> {
    for (i, step) in steps.iter().enumerate() {
        if let Some(up_to) = step.up_to {
            if N::of(up_to).or_overflow()?.lt(quantity).or_overflow()? {
                continue;
            }
        }
        return Ok((i, step.amount));
    }
    Err(Fail::Uncovered)
}

pub(crate) fn check_steps(problems: &mut Problems, steps: &[Step]) {
    super::tiers::check_bounds(problems, "steps", steps.iter().map(|s| s.up_to), false);
    for (i, step) in steps.iter().enumerate() {
        problems.non_negative(|| FieldPath::element("steps", i, "amount"), step.amount);
    }
}

/// A tier of a multi-dimension capacity price: usage fits when every dimension is
/// within its limit (`None` = no limit on that dimension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityTier {
    /// One limit per dimension, in the same order as the quantities rated.
    pub limits: Vec<Option<Decimal>>,
    pub amount: Decimal,
}

/// Kill Bill's CAPACITY with several unit types: the tier is the first one whose limits
/// all hold, so the dimension furthest up ("the max") decides the price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    pub tiers: Vec<CapacityTier>,
}

impl Capacity {
    /// The index and amount of the first tier that fits every quantity.
    pub fn amount_for(&self, quantities: &[Decimal]) -> Result<(usize, Decimal), RatingError> {
        for &q in quantities {
            if q < Decimal::ZERO {
                return Err(RatingError::NegativeQuantity(q));
            }
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            if tier.limits.len() != quantities.len() {
                return Err(RatingError::Dimensions {
                    expected: tier.limits.len(),
                    got: quantities.len(),
                });
            }
            let fits = tier
                .limits
                .iter()
                .zip(quantities)
                .all(|(limit, q)| limit.is_none_or(|l| *q <= l));
            if fits {
                return Ok((i, tier.amount));
            }
        }
        Err(RatingError::AboveCapacity)
    }

    /// One [`LineKind::Step`] line for the tier used; its `units` are zero because no
    /// single quantity stands for several dimensions.
    pub fn rate(&self, quantities: &[Decimal]) -> Result<Rating, RatingError> {
        let (i, amount) = self.amount_for(quantities)?;
        Rating::from_lines(vec![RatingLine::flat(
            LineKind::Step(i),
            Decimal::ZERO,
            amount,
        )])
    }

    /// Tiers present, the same number of limits in each, limits non-negative and never
    /// lowered from one tier to the next, and each tier raising at least one limit
    /// (otherwise it could never be chosen).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut problems = Problems::default();
        let Some(first) = self.tiers.first() else {
            problems.push(FieldPath::field("tiers"), Problem::Empty);
            return problems.finish();
        };
        let dims = first.limits.len();
        if dims == 0 {
            problems.push(FieldPath::element("tiers", 0, "limits"), Problem::Empty);
        }
        let mut previous: Option<&CapacityTier> = None;
        for (i, tier) in self.tiers.iter().enumerate() {
            problems.non_negative(|| FieldPath::element("tiers", i, "amount"), tier.amount);
            if tier.limits.len() != dims {
                problems.push(
                    FieldPath::element("tiers", i, "limits"),
                    Problem::DimensionCount {
                        expected: dims,
                        got: tier.limits.len(),
                    },
                );
                continue;
            }
            let limit_path = |d| FieldPath::element("tiers", i, "limits").index(d);
            let mut raised = false;
            for (d, limit) in tier.limits.iter().enumerate() {
                if let Some(l) = limit {
                    problems.non_negative(|| limit_path(d), *l);
                }
                let Some(prev) = previous else { continue };
                match (prev.limits[d], *limit) {
                    (Some(p), Some(l)) if l < p => {
                        problems.push(limit_path(d), Problem::Decreasing(p));
                    }
                    (Some(p), Some(l)) => raised |= l > p,
                    (Some(_), None) => raised = true,
                    (None, Some(_)) => {
                        problems.push(limit_path(d), Problem::AfterUnbounded);
                    }
                    (None, None) => {}
                }
            }
            if previous.is_some() && !raised {
                problems.push(
                    FieldPath::element("tiers", i, "limits"),
                    Problem::Unreachable,
                );
            }
            previous = Some(tier);
        }
        problems.finish()
    }
}
