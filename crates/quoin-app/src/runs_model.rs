//! API models of invoice runs and run schedules (re-exported from `model`).

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One step of a run's chain. Steps run in order; each walks its own population with its
/// own cursor, in chunks committed atomically with the run's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStep {
    /// Create the invoices due on the run's date for every bill-to account (drafts).
    Bill,
    /// Finalize (number) the run's draft invoices. Right after `bill` it is done inline,
    /// in the transaction that creates the invoice.
    Finalize,
    /// Emit an `invoice.sent` outbox event for each finalized invoice of the run.
    Send,
}

impl RunStep {
    pub fn code(self) -> &'static str {
        match self {
            RunStep::Bill => "bill",
            RunStep::Finalize => "finalize",
            RunStep::Send => "send",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInvoiceRun {
    /// Bill what is due on this date (default: each account's today at the tenant's now).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub as_of: Option<Date>,
    /// Steps in order (default `["bill", "finalize"]`).
    #[serde(default)]
    pub chain: Option<Vec<RunStep>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunCounts {
    pub accounts_billed: i64,
    pub invoices_created: i64,
    pub invoices_finalized: i64,
    pub invoices_sent: i64,
    pub errors: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunAccountError {
    pub account_id: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceRun {
    pub id: String,
    pub status: RunStatus,
    pub chain: Vec<RunStep>,
    /// The step in progress (absent once the run is over).
    pub step: Option<RunStep>,
    #[schema(value_type = Option<String>, format = Date)]
    pub as_of: Option<Date>,
    /// The tenant instant the run bills for.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// manual or schedule
    pub trigger: String,
    pub schedule_id: Option<String>,
    /// The last key the current step finished (bill-to account id or invoice id).
    pub cursor: Option<String>,
    pub counts: RunCounts,
    /// Per-account failures (the first 100 on the single-run view; empty in lists).
    pub errors: Vec<RunAccountError>,
    pub failure: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceRunPage {
    pub data: Vec<InvoiceRun>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeInvoiceRun {
    /// Take the run over even if another process holds a fresh lease on it.
    #[serde(default)]
    pub force: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRunSchedule {
    /// Cron expression (5 fields, or 6 with seconds first), e.g. `0 2 * * *`.
    pub cron: String,
    /// IANA zone the expression is read in (default: the tenant's).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Steps of the runs it starts (default `["bill", "finalize"]`).
    #[serde(default)]
    pub chain: Option<Vec<RunStep>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunSchedule {
    pub id: String,
    pub cron: String,
    pub time_zone: String,
    pub chain: Vec<RunStep>,
    pub enabled: bool,
    /// Next fire time on the tenant's clock (test clock aware).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_run_at: Option<Timestamp>,
    pub last_run_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunSchedulePage {
    pub data: Vec<RunSchedule>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_reads_snake_case() {
        let s: StartInvoiceRun =
            serde_json::from_str(r#"{"as_of":"2025-01-31","chain":["bill","finalize","send"]}"#)
                .unwrap();
        assert_eq!(
            s.chain.unwrap(),
            vec![RunStep::Bill, RunStep::Finalize, RunStep::Send]
        );
    }
}
