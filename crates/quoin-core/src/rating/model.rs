//! The price models and their two rating paths: [`PriceModel::amount_for`] (no
//! allocation, for bulk rating) and [`PriceModel::rate`] (with the breakdown).

use rust_decimal::Decimal;

use super::arith::{excess, mul, started_blocks};
use super::capacity::{check_steps, stair_step, Step};
use super::error::{FieldPath, Problem, Problems, ValidationErrors};
use super::num::{Fail, Fixed, Num, OrOverflow};
use super::percentage::{self, Terms};
use super::tiers::{check_percent_tiers, check_tiers, graduated, volume, Band, PercentTier, Tier};
use super::{LineKind, Rating, RatingError, RatingLine};

/// How a quantity (or, for [`PriceModel::Percentage`], a list of event amounts) becomes
/// an amount for one period. Amounts are in the price's currency, unrounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceModel {
    /// The same amount every period, whatever the quantity.
    Flat {
        amount: Decimal,
    },
    PerUnit {
        unit_amount: Decimal,
    },
    /// Each unit at the price of the tier it falls in, plus the flat fee of every tier
    /// reached; the first tier's flat fee is due even at zero units.
    Graduated {
        tiers: Vec<Tier>,
    },
    /// Every unit at the price of the first tier with `quantity <= up_to`, plus that
    /// tier's flat fee.
    Volume {
        tiers: Vec<Tier>,
    },
    /// `ceil(max(quantity − free_units, 0) / block_size) × block_amount`.
    Package {
        block_size: Decimal,
        block_amount: Decimal,
        free_units: Decimal,
    },
    /// Event based: a rate on each event's amount plus a fixed fee per event, after a
    /// free allowance of events and/or amount; see [`PriceModel::rate_events`].
    Percentage {
        /// Percent, 0 to 100: `1.3` means 1.3 %.
        rate_percent: Decimal,
        fixed_fee_per_event: Decimal,
        free_events: Option<u64>,
        free_amount: Option<Decimal>,
        per_event_min: Option<Decimal>,
        per_event_max: Option<Decimal>,
    },
    /// Graduated with a rate per tier on an amount (the quantity is a sum of money).
    GraduatedPercentage {
        tiers: Vec<PercentTier>,
    },
    /// Units above an included allowance, each at `unit_amount`.
    Overage {
        included: Decimal,
        unit_amount: Decimal,
    },
    /// The amount of the first step whose bound holds the quantity (Kill Bill CAPACITY
    /// with one unit type).
    StairStep {
        steps: Vec<Step>,
    },
}

impl PriceModel {
    /// Whether the model rates a list of events ([`Self::rate_events`]) rather than an
    /// aggregated quantity.
    pub fn is_event_based(&self) -> bool {
        matches!(self, Self::Percentage { .. })
    }

    /// The amount for an aggregated quantity, without building a breakdown or
    /// allocating: the bulk path. Equal to `self.rate(quantity)?.amount`.
    ///
    /// Computes in exact `i128` fixed point and falls back to `Decimal` only when a
    /// value outgrows it. Assumes a validated model; an invalid one gives a
    /// meaningless amount or an error, never a panic.
    #[inline]
    pub fn amount_for(&self, quantity: Decimal) -> Result<Decimal, RatingError> {
        check_quantity(quantity)?;
        match self {
            // Nothing to align: Decimal is as fast as fixed point here.
            Self::Flat { amount } => return Ok(*amount),
            Self::PerUnit { unit_amount } => return mul(quantity, *unit_amount),
            Self::Percentage { .. } => return Err(RatingError::EventBased),
            _ => {}
        }
        let fast = Fixed::of(quantity)
            .or_overflow()
            .and_then(|q| self.amount_in(q));
        match fast {
            Ok(amount) => {
                if let Some(amount) = amount.to_decimal() {
                    return Ok(amount);
                }
            }
            Err(Fail::Uncovered) => return Err(RatingError::Uncovered(quantity)),
            Err(Fail::Overflow) => {}
        }
        self.amount_in(quantity).map_err(|fail| fail.at(quantity))
    }

    /// One implementation of every aggregate model for both number types.
    #[inline]
    fn amount_in<N: Num>(&self, quantity: N) -> Result<N, Fail> {
        let of = |value: Decimal| N::of(value).or_overflow();
        match self {
            Self::Flat { amount } => of(*amount),
            Self::PerUnit { unit_amount } => quantity.mul(of(*unit_amount)?).or_overflow(),
            Self::Graduated { tiers } => graduated(tiers, quantity, |_, _| {}),
            Self::GraduatedPercentage { tiers } => graduated(tiers, quantity, |_, _| {}),
            Self::Volume { tiers } => volume(tiers, quantity).map(|(_, charge)| charge.amount),
            Self::Package {
                block_size,
                block_amount,
                free_units,
            } => quantity
                .excess(of(*free_units)?)
                .and_then(|units| units.started_blocks(N::of(*block_size)?))
                .and_then(|packages| packages.mul(N::of(*block_amount)?))
                .or_overflow(),
            Self::Overage {
                included,
                unit_amount,
            } => quantity
                .excess(of(*included)?)
                .and_then(|units| units.mul(N::of(*unit_amount)?))
                .or_overflow(),
            Self::StairStep { steps } => of(stair_step(steps, quantity)?.1),
            // Refused by `amount_for` before it gets here.
            Self::Percentage { .. } => Err(Fail::Overflow),
        }
    }

    /// The amount for an aggregated quantity with one line per tier, step or charge.
    pub fn rate(&self, quantity: Decimal) -> Result<Rating, RatingError> {
        check_quantity(quantity)?;
        let fail = |fail: Fail| fail.at(quantity);
        let line = |kind, billed_quantity, unit_amount| -> Result<RatingLine, RatingError> {
            Ok(RatingLine {
                kind,
                units: quantity,
                billed_quantity,
                unit_amount,
                flat_fee: Decimal::ZERO,
                amount: mul(billed_quantity, unit_amount)?,
            })
        };
        let lines = match self {
            Self::Flat { amount } => vec![RatingLine::flat(LineKind::Flat, quantity, *amount)],
            Self::PerUnit { unit_amount } => vec![line(LineKind::PerUnit, quantity, *unit_amount)?],
            Self::Graduated { tiers } => graduated_lines(tiers, quantity).map_err(fail)?,
            Self::GraduatedPercentage { tiers } => {
                graduated_lines(tiers, quantity).map_err(fail)?
            }
            Self::Volume { tiers } => {
                let (i, charge) = volume(tiers, quantity).map_err(fail)?;
                vec![charge.line(LineKind::Tier(i))]
            }
            Self::Package {
                block_size,
                block_amount,
                free_units,
            } => {
                let packages = started_blocks(excess(quantity, *free_units)?, *block_size)?;
                vec![line(LineKind::Package, packages, *block_amount)?]
            }
            Self::Overage {
                included,
                unit_amount,
            } => vec![line(
                LineKind::Overage,
                excess(quantity, *included)?,
                *unit_amount,
            )?],
            Self::StairStep { steps } => {
                let (i, amount) = stair_step(steps, quantity).map_err(fail)?;
                vec![RatingLine::flat(LineKind::Step(i), quantity, amount)]
            }
            Self::Percentage { .. } => return Err(RatingError::EventBased),
        };
        Rating::from_lines(lines)
    }

    /// Rates the amounts of a period's events, in chronological order. Only for
    /// [`PriceModel::Percentage`]; the others rate an aggregated quantity.
    pub fn rate_events(&self, amounts: &[Decimal]) -> Result<Rating, RatingError> {
        match *self {
            Self::Percentage {
                rate_percent,
                fixed_fee_per_event,
                free_events,
                free_amount,
                per_event_min,
                per_event_max,
            } => percentage::rate(
                Terms {
                    rate_percent,
                    fixed_fee_per_event,
                    free_events,
                    free_amount,
                    per_event_min,
                    per_event_max,
                },
                amounts,
            ),
            _ => Err(RatingError::AggregateBased),
        }
    }

    /// Every problem in the model, each at a path such as `tiers[2].up_to`, so a
    /// catalog can reject a price when it is defined rather than when it is billed.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut problems = Problems::default();
        self.check(&mut problems);
        problems.finish()
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        let field = FieldPath::field;
        match self {
            Self::Flat { amount } => p.non_negative(|| field("amount"), *amount),
            Self::PerUnit { unit_amount } => p.non_negative(|| field("unit_amount"), *unit_amount),
            Self::Graduated { tiers } | Self::Volume { tiers } => check_tiers(p, tiers),
            Self::GraduatedPercentage { tiers } => check_percent_tiers(p, tiers),
            Self::Package {
                block_size,
                block_amount,
                free_units,
            } => {
                p.positive(|| field("block_size"), *block_size);
                p.non_negative(|| field("block_amount"), *block_amount);
                p.non_negative(|| field("free_units"), *free_units);
            }
            Self::Percentage {
                rate_percent,
                fixed_fee_per_event,
                free_events: _,
                free_amount,
                per_event_min,
                per_event_max,
            } => {
                p.percentage(|| field("rate_percent"), *rate_percent);
                p.non_negative(|| field("fixed_fee_per_event"), *fixed_fee_per_event);
                for (name, value) in [
                    ("free_amount", free_amount),
                    ("per_event_min", per_event_min),
                    ("per_event_max", per_event_max),
                ] {
                    if let Some(v) = value {
                        p.non_negative(|| field(name), *v);
                    }
                }
                if let (Some(min), Some(max)) = (per_event_min, per_event_max) {
                    if min > max {
                        p.push(
                            field("per_event_min"),
                            Problem::AboveMaximum {
                                field: "per_event_max",
                                value: *max,
                            },
                        );
                    }
                }
            }
            Self::Overage {
                included,
                unit_amount,
            } => {
                p.non_negative(|| field("included"), *included);
                p.non_negative(|| field("unit_amount"), *unit_amount);
            }
            Self::StairStep { steps } => check_steps(p, steps),
        }
    }
}

/// Negative usage has no price: a credit is a separate line, not a negative quantity.
#[inline]
fn check_quantity(quantity: Decimal) -> Result<(), RatingError> {
    // Sign and zero are bit tests; `quantity < ZERO` would be a full comparison.
    if quantity.is_sign_negative() && !quantity.is_zero() {
        Err(RatingError::NegativeQuantity(quantity))
    } else {
        Ok(())
    }
}

fn graduated_lines<B: Band>(tiers: &[B], quantity: Decimal) -> Result<Vec<RatingLine>, Fail> {
    let mut lines = Vec::with_capacity(tiers.len());
    graduated(tiers, quantity, |i, charge| {
        lines.push(charge.line(LineKind::Tier(i)));
    })?;
    Ok(lines)
}
