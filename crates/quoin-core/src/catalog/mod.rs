//! The product catalog's pure rules: product structure (kinds, lifecycle, add-on rules,
//! bundles), work-order templates and their schedule, contract terms with early-termination
//! liability, and price phases.
//!
//! Definitions are validated when they are saved, reporting every problem at a path
//! (`products[3].add_ons[0].code: unknown product "x"`) so an editor can show them all at
//! once; the computations (schedules, ETL, phase dates) take plain values and the date
//! they need, like the rest of the core.

mod error;
mod graph;
mod months;
mod phases;
mod schedule;
mod structure;
mod terms;
mod work_order;

pub use error::{CatalogError, CatalogErrors, CatalogPath, CatalogProblem};
pub use phases::{
    effective_unit_amount, phase_at, phase_spans, validate_phases, Adjustment, Phase,
    PhaseDuration, PhaseKind, PhaseSpan,
};
pub use schedule::{PlannedTask, Schedule, ScheduleError};
pub use structure::{
    validate_structure, AddOnRule, Component, Lifecycle, MacdAction, ProductKind, ProductNode,
    TransitionError,
};
pub use terms::{
    etl_amount, remaining_months, renewal, term_end, EndOfTerm, EtlOverflow, EtlPolicy, Term,
    TermTemplate,
};
pub use work_order::{TaskTemplate, WorkOrderTemplate};
