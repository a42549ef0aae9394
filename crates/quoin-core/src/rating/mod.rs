//! The rating engine: from a price model and a period's usage to an amount with its
//! breakdown. Pure and exact: `Decimal` throughout, nothing rounded (the invoice line
//! rounds once to the currency), no clock and no IO.
//!
//! Two paths per model: [`PriceModel::amount_for`] for bulk rating without allocation,
//! and [`PriceModel::rate`] / [`PriceModel::rate_events`] with a line per tier, step or
//! charge whose amounts sum exactly to the total. Usage events become a quantity with
//! [`aggregate`]. Models are checked once, when defined, with `validate()`.

mod aggregation;
mod arith;
mod breakdown;
mod capacity;
mod error;
mod model;
mod num;
mod percentage;
mod price;
mod tiers;
pub mod voice;

pub use aggregation::{
    aggregate, Aggregation, AggregationError, Event, GroupValue, Metric, PropertyFilter, Window,
};
pub use breakdown::{LineKind, Rating, RatingLine};
pub use capacity::{Capacity, CapacityTier, Step};
pub use error::{
    ErrorList, FieldPath, PathSegment, Problem, RatingError, ValidationError, ValidationErrors,
};
pub use model::PriceModel;
pub use price::Price;
pub use tiers::{PercentTier, Tier};
