//! Scenario files: catalog, accounts and a timeline of API actions on a test clock with the
//! invoices, balances and statuses expected after each (format in docs/scenarios.md).

pub mod compare;
pub mod format;
pub mod runner;
