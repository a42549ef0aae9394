//! The product catalog: one master for quoting, ordering, billing and the portal.

pub mod check;
mod document;
mod entries;
pub mod format;
mod products;
pub mod spec;
pub(crate) mod stored;

pub use document::{ImportCounts, ImportReport};
pub use entries::{CatalogEntry, CatalogEntryKind};
pub use products::CatalogStamps;
