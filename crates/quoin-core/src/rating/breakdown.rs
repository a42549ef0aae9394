//! The result of rating: a total and the lines that explain it on an invoice.

use rust_decimal::Decimal;

use super::arith::add;
use super::RatingError;

/// What a [`RatingLine`] stands for; indexes point into the model's tiers or steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// A fixed amount for the period whatever the quantity.
    Flat,
    /// Every unit at one price.
    PerUnit,
    /// A graduated, volume or graduated-percentage tier.
    Tier(usize),
    /// Started packages after the free units.
    Package,
    /// Units above the included allowance.
    Overage,
    /// The stair step or capacity tier the usage fell in.
    Step(usize),
    /// The percentage of event amounts after the free allowance, for events not clamped.
    Percentage,
    /// Events whose percentage charge was raised to the per-event minimum.
    PerEventMinimum,
    /// Events whose percentage charge was lowered to the per-event maximum.
    PerEventMaximum,
    /// The fixed fee of every event outside the free allowance.
    EventFees,
    /// What brings the period up to the price's minimum.
    MinimumTrueUp,
}

/// One line of a rating. Always `amount = billed_quantity × unit_amount + flat_fee`,
/// exactly, so an invoice can show the arithmetic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingLine {
    pub kind: LineKind,
    /// What was measured for this line: units in the tier, the whole quantity,
    /// the number of events, or the total event amount for a percentage.
    pub units: Decimal,
    /// What the unit amount applies to: units, started blocks or packages, paid events,
    /// or the event amount left after the free allowance.
    pub billed_quantity: Decimal,
    pub unit_amount: Decimal,
    pub flat_fee: Decimal,
    pub amount: Decimal,
}

impl RatingLine {
    pub(crate) fn flat(kind: LineKind, units: Decimal, amount: Decimal) -> Self {
        Self {
            kind,
            units,
            billed_quantity: Decimal::ZERO,
            unit_amount: Decimal::ZERO,
            flat_fee: amount,
            amount,
        }
    }
}

/// An unrounded amount and its breakdown: rounding to the currency happens once, on
/// the invoice line, so that tiers never accumulate rounding differences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    /// Equal to the sum of `lines`' amounts, exactly.
    pub amount: Decimal,
    pub lines: Vec<RatingLine>,
}

impl Rating {
    /// Totals the lines, so `amount` and `lines` cannot disagree.
    pub(crate) fn from_lines(lines: Vec<RatingLine>) -> Result<Self, RatingError> {
        let mut amount = Decimal::ZERO;
        for line in &lines {
            amount = add(amount, line.amount)?;
        }
        Ok(Self { amount, lines })
    }
}
