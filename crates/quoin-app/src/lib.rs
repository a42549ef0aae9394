//! Quoin's use cases. Each public method authorizes the caller, validates input into core
//! types, runs one transaction on the store and writes an outbox event with every change.
//! The server and the CLI both call these; neither touches the store directly.

mod accounts;
mod analytics;
mod analytics_model;
pub mod auth;
mod auto_collection;
mod billing;
mod billing_reads;
pub mod catalog;
mod change_rules;
pub mod clock;
mod commitments;
mod credit_lines;
mod credit_notes;
mod documents;
pub mod drafts;
mod dunning;
pub mod error;
mod events;
mod finishing;
mod finishing_model;
pub mod gateway;
mod ledger;
mod ledger_model;
pub mod model;
mod operations;
mod payment_import;
mod payment_methods;
mod payment_retries;
mod payments;
mod progressive;
mod run_read_ahead;
pub mod runs;
pub mod runs_model;
mod subscriptions;
mod tenancy;
mod test_clock;
mod timeline;
pub mod usage;
mod usage_adjustments;
mod validate;

use std::sync::Arc;

use jiff::Timestamp;
use quoin_store::rows::TenantRow;
use quoin_store::{Store, Tx};

pub use auth::{Action, Principal, Role};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, AppResult};
pub use tenancy::NewTenant;

/// Whether the deployment may put tenants on a test clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    mode: Mode,
    /// Group-commit writer of usage batches (shared by clones of this `App`).
    usage_writer: usage::Writer,
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, mode: Mode) -> Self {
        Self {
            store,
            clock,
            mode,
            usage_writer: usage::Writer::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The tenant's current instant: its test clock when it has one, else the system clock.
    pub(crate) async fn tenant_now(&self, tx: &mut Tx, tenant: &str) -> AppResult<Timestamp> {
        let row = tx
            .get_tenant(tenant)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", tenant))?;
        Ok(self.now_of(&row))
    }

    /// The current instant of an already loaded tenant.
    pub(crate) fn now_of(&self, tenant: &TenantRow) -> Timestamp {
        // Production always runs on real time, even for a tenant left on a test clock.
        match (self.mode, tenant.clock_mode.as_str(), tenant.test_now_us) {
            (Mode::Development, "test", Some(us)) => clock::from_us(us),
            _ => self.clock.now(),
        }
    }
}
