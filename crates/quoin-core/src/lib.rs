//! Quoin's pure domain. No IO, no clock, no async, no floats: callers pass in the
//! current date and the state needed, and persist what comes back.
#![deny(clippy::float_arithmetic)]

pub mod analytics;
pub mod billing;
pub mod calendar;
pub mod catalog;
pub mod dunning;
pub mod invoicing;
pub mod ledger;
pub mod money;
pub mod rating;
