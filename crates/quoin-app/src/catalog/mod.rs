//! The product catalog: one master for quoting, ordering, billing and the portal.

pub mod check;
pub mod format;
mod products;
pub mod spec;

pub use products::{CatalogEntry, CatalogEntryKind, CatalogStamps, ImportCounts, ImportReport};
