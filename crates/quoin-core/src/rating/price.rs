//! A price model with an optional minimum per period.

use rust_decimal::Decimal;

use super::arith::sub;
use super::error::{FieldPath, Problems, ValidationErrors};
use super::{LineKind, PriceModel, Rating, RatingError, RatingLine};

/// A [`PriceModel`] plus a minimum charge per period ("commit"): when the rated amount
/// is below it, a [`LineKind::MinimumTrueUp`] line makes up the difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub model: PriceModel,
    pub minimum: Option<Decimal>,
}

impl Price {
    pub fn new(model: PriceModel) -> Self {
        Self {
            model,
            minimum: None,
        }
    }

    pub fn with_minimum(mut self, minimum: Decimal) -> Self {
        self.minimum = Some(minimum);
        self
    }

    /// `max(model amount, minimum)`, without allocating.
    #[inline]
    pub fn amount_for(&self, quantity: Decimal) -> Result<Decimal, RatingError> {
        let amount = self.model.amount_for(quantity)?;
        Ok(match self.minimum {
            Some(minimum) if amount < minimum => minimum,
            _ => amount,
        })
    }

    pub fn rate(&self, quantity: Decimal) -> Result<Rating, RatingError> {
        self.true_up(self.model.rate(quantity)?)
    }

    pub fn rate_events(&self, amounts: &[Decimal]) -> Result<Rating, RatingError> {
        self.true_up(self.model.rate_events(amounts)?)
    }

    fn true_up(&self, mut rating: Rating) -> Result<Rating, RatingError> {
        if let Some(minimum) = self.minimum {
            if rating.amount < minimum {
                let gap = sub(minimum, rating.amount)?;
                rating.lines.push(RatingLine::flat(
                    LineKind::MinimumTrueUp,
                    Decimal::ZERO,
                    gap,
                ));
                rating.amount = minimum;
            }
        }
        Ok(rating)
    }

    /// The model's problems, then `minimum`'s.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut problems = Problems::default();
        self.model.check(&mut problems);
        if let Some(minimum) = self.minimum {
            problems.non_negative(|| FieldPath::field("minimum"), minimum);
        }
        problems.finish()
    }
}
