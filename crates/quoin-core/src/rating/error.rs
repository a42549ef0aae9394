//! Errors of rating (at run time) and of validation (when a price is defined).

use std::fmt;

use rust_decimal::Decimal;

/// Why a quantity or an event list could not be rated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    #[error("quantity must not be negative, got {0}")]
    NegativeQuantity(Decimal),
    #[error("event {index} has a negative amount {amount}")]
    NegativeEvent { index: usize, amount: Decimal },
    /// Kill Bill's behaviour too: no price was agreed above a bounded last step.
    #[error("no tier or step covers quantity {0} (the last one is bounded)")]
    Uncovered(Decimal),
    #[error("usage fits no capacity tier (the last tier's limits are exceeded)")]
    AboveCapacity,
    #[error("expected {expected} quantities (one per capacity dimension), got {got}")]
    Dimensions { expected: usize, got: usize },
    #[error("this model rates a list of events, not an aggregated quantity")]
    EventBased,
    #[error("this model rates an aggregated quantity, not a list of events")]
    AggregateBased,
    /// Also what an unvalidated model with a zero block size ends in: never a panic.
    #[error("amount out of the decimal range, or division by zero in an invalid model")]
    Arithmetic,
}

/// Where a validation problem sits inside a model, e.g. `tiers[2].up_to`.
///
/// Structured rather than a string so the catalog layer can prefix its own path
/// (`charges[0].price.`) and clients can point at the field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<PathSegment>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathSegment {
    Field(&'static str),
    Index(usize),
}

impl FieldPath {
    pub fn field(name: &'static str) -> Self {
        Self(vec![PathSegment::Field(name)])
    }

    /// `list[index].name`, the shape of every per-element problem.
    pub fn element(list: &'static str, index: usize, name: &'static str) -> Self {
        Self(vec![
            PathSegment::Field(list),
            PathSegment::Index(index),
            PathSegment::Field(name),
        ])
    }

    pub fn index(mut self, index: usize) -> Self {
        self.0.push(PathSegment::Index(index));
        self
    }

    pub fn child(mut self, name: &'static str) -> Self {
        self.0.push(PathSegment::Field(name));
        self
    }

    /// Appends another path, so a nested definition's problems can be reported inside the
    /// entry that holds it (`prices[0].model.tiers[1].up_to`).
    pub fn join(mut self, rest: &FieldPath) -> Self {
        self.0.extend_from_slice(rest.segments());
        self
    }

    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Field(name) if i == 0 => f.write_str(name)?,
                PathSegment::Field(name) => write!(f, ".{name}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// What is wrong with one field; the message reads after `path: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("must not be negative, got {0}")]
    Negative(Decimal),
    #[error("must be greater than zero, got {0}")]
    NotPositive(Decimal),
    #[error("must be between 0 and 100, got {0}")]
    NotAPercentage(Decimal),
    #[error("must have at least one element")]
    Empty,
    #[error("must be greater than the previous tier's {0}")]
    NotAscending(Decimal),
    #[error("must be set: only the last tier may be unbounded")]
    UnboundedNotLast,
    #[error("must be unbounded (no up_to) on the last tier, got {0}")]
    BoundedLast(Decimal),
    #[error("must be unbounded like the previous tier's")]
    AfterUnbounded,
    #[error("must not be below the previous tier's {0}")]
    Decreasing(Decimal),
    #[error("must raise at least one limit above the previous tier's, or the tier is never used")]
    Unreachable,
    #[error("must have {expected} limits like the first tier, got {got}")]
    DimensionCount { expected: usize, got: usize },
    #[error("must not exceed {field} {value}")]
    AboveMaximum { field: &'static str, value: Decimal },
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ValidationError {
    pub path: FieldPath,
    pub problem: Problem,
}

/// Every problem found, in field order, so an editor can show them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorList<E>(pub Vec<E>);

impl<E> ErrorList<E> {
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.0.iter()
    }
}

impl<E: fmt::Display> fmt::Display for ErrorList<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl<E: fmt::Display + fmt::Debug> std::error::Error for ErrorList<E> {}

/// Every problem found in a price model.
pub type ValidationErrors = ErrorList<ValidationError>;

/// Collects problems while a validator walks a model.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<ValidationError>);

impl Problems {
    pub(crate) fn push(&mut self, path: FieldPath, problem: Problem) {
        self.0.push(ValidationError { path, problem });
    }

    pub(crate) fn non_negative(&mut self, path: impl FnOnce() -> FieldPath, value: Decimal) {
        if value < Decimal::ZERO {
            self.push(path(), Problem::Negative(value));
        }
    }

    pub(crate) fn positive(&mut self, path: impl FnOnce() -> FieldPath, value: Decimal) {
        if value <= Decimal::ZERO {
            self.push(path(), Problem::NotPositive(value));
        }
    }

    pub(crate) fn percentage(&mut self, path: impl FnOnce() -> FieldPath, value: Decimal) {
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            self.push(path(), Problem::NotAPercentage(value));
        }
    }

    pub(crate) fn finish(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ErrorList(self.0))
        }
    }
}
