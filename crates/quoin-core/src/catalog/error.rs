//! Validation errors of catalog definitions: every problem at once, each at a path.
//!
//! Paths and error lists are rating's (`FieldPath`, `ErrorList`); the catalog has its own
//! problem kinds, and wraps rating's value problems so shared rules read the same.

use crate::rating::{ErrorList, FieldPath, Problem};

use super::phases::PhaseKind;
use super::structure::ProductKind;

/// Where a problem sits in a catalog definition, e.g. `tasks[2].depends_on[0]`: the same
/// path type as rating's, so a price model's problems nest inside a catalog entry.
pub type CatalogPath = FieldPath;

/// What is wrong at one path; the message reads after `path: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogProblem {
    /// A value rule shared with rating (negative, not positive, not a percentage, empty).
    #[error(transparent)]
    Value(#[from] Problem),
    #[error("must not be blank")]
    Blank,
    #[error("duplicates \"{value}\" at index {first}")]
    Duplicate { value: String, first: usize },
    #[error("must be between {min} and {max}, got {got}")]
    OutOfRange { min: u32, max: u32, got: u32 },
    #[error("unknown product \"{0}\"")]
    UnknownProduct(String),
    #[error("product \"{code}\" is not an add-on (kind: {kind})")]
    NotAnAddOn { code: String, kind: ProductKind },
    #[error("a product cannot be its own add-on")]
    SelfAddOn,
    #[error("only services and bundles may have add-on rules (kind: {0})")]
    AddOnsNotAllowed(ProductKind),
    #[error("only bundles may have components (kind: {0})")]
    ComponentsNotAllowed(ProductKind),
    #[error("bundle cycle {}", .0.join(" → "))]
    BundleCycle(Vec<String>),
    #[error("unknown task \"{0}\"")]
    UnknownTask(String),
    #[error("must be greater than zero for a manual task (only automated tasks may take no time)")]
    ZeroDuration,
    #[error("dependency cycle {}", .0.join(" → "))]
    DependencyCycle(Vec<String>),
    #[error("must be 1 so the schedule covers the term from its first month, got {0}")]
    FirstMonth(u32),
    #[error("must be greater than the previous row's {0}")]
    NotAfterPrevious(u32),
    #[error("only the last phase may be evergreen")]
    EvergreenNotLast,
    #[error("must be evergreen on the last phase, got {0}")]
    LastNotEvergreen(PhaseKind),
    #[error("must not follow {previous} (phases run trial → introductory → ramp → evergreen)")]
    PhaseOrder { previous: PhaseKind },
    #[error("must be set: only the evergreen phase is open-ended")]
    MissingDuration,
    #[error("must be unset: the evergreen phase never ends")]
    EvergreenDuration,
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct CatalogError {
    pub path: CatalogPath,
    pub problem: CatalogProblem,
}

/// Every problem found in a catalog definition.
pub type CatalogErrors = ErrorList<CatalogError>;

/// Collects problems while a validator walks a definition.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<CatalogError>);

impl Problems {
    pub(crate) fn push(&mut self, path: CatalogPath, problem: impl Into<CatalogProblem>) {
        self.0.push(CatalogError {
            path,
            problem: problem.into(),
        });
    }

    pub(crate) fn blank(&mut self, path: impl FnOnce() -> CatalogPath, value: &str) {
        if value.trim().is_empty() {
            self.push(path(), CatalogProblem::Blank);
        }
    }

    pub(crate) fn finish(self) -> Result<(), CatalogErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ErrorList(self.0))
        }
    }
}
