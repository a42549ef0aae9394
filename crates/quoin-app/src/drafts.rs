//! Continuous draft invoices: each bill-to account's next invoice, stored and kept up to
//! date as usage arrives, at the tenant's cadence (`draft_refresh_seconds`, default 300).
//!
//! - Marking: every ingest transaction (the group-commit writer, the embedded batch path,
//!   recycling) bumps `usage_version` of the bill-to accounts its matched events reached —
//!   one statement per tenant and transaction, never per event. Billing that creates
//!   invoices marks its account too (the draft showed what is now invoiced).
//! - Refreshing: the scheduler tick (`quoin serve`, every 5 s) recomputes the drafts whose
//!   `usage_version` moved past the stored `draft_version` and whose last refresh is at
//!   least the cadence old on the tenant's clock. The invoice is drawn as the upcoming
//!   invoice is (billing under a rolled-back savepoint) and stored as a JSON snapshot with
//!   `refreshed_at`, the version it includes and the instant of the latest usage it
//!   includes (the watermark).
//! - Reading: `GET /v1/accounts/{id}/draft-invoice` returns the stored snapshot with its
//!   age and whether newer usage is waiting for the next refresh; it never computes.

use jiff::Timestamp;
use quoin_store::repo::drafts::{DraftInvoiceRow, NewDraft};
use quoin_store::rows::TenantRow;

use crate::accounts::lock_account;
use crate::auth::{Action, Principal};
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::model::{DraftInvoice, DraftProblem, DraftSettings};
use crate::App;

/// Cadence when the tenant set none.
pub const DEFAULT_REFRESH_SECONDS: i64 = 300;
/// Longest cadence accepted: a day.
const MAX_REFRESH_SECONDS: i64 = 86_400;
/// Drafts one tick refreshes per tenant at most (the next tick continues).
const REFRESH_BATCH: i64 = 200;

const SETTING_KIND: &str = "drafts";
const SETTING_KEY: &str = "refresh";

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

impl App {
    pub async fn draft_settings(&self, p: &Principal) -> AppResult<DraftSettings> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let s = settings(&mut tx, &p.tenant_id).await?;
        tx.commit().await?;
        Ok(s)
    }

    pub async fn put_draft_settings(
        &self,
        p: &Principal,
        input: DraftSettings,
    ) -> AppResult<DraftSettings> {
        p.require(Action::Bill)?;
        if !(1..=MAX_REFRESH_SECONDS).contains(&input.draft_refresh_seconds) {
            return Err(AppError::invalid(
                "draft_refresh_seconds",
                format!(
                    "must be 1 to {MAX_REFRESH_SECONDS} seconds, got {}",
                    input.draft_refresh_seconds
                ),
            ));
        }
        let mut tx = self.store.begin().await?;
        let now = self.tenant_now(&mut tx, &p.tenant_id).await?;
        tx.put_setting(
            &p.tenant_id,
            SETTING_KIND,
            SETTING_KEY,
            &serde_json::to_string(&input).map_err(internal)?,
            to_us(now),
        )
        .await?;
        tx.commit().await?;
        Ok(input)
    }

    /// The stored draft of the account's bill-to account, with its age. 409
    /// `no_draft_invoice` until a refresh stored one (usage arrived or an invoice was made).
    pub async fn draft_invoice(&self, p: &Principal, account_id: &str) -> AppResult<DraftInvoice> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        let account = tx
            .get_account(tenant, account_id)
            .await?
            .ok_or_else(|| AppError::not_found("account", account_id))?;
        let row = tx.get_draft(tenant, &account.bill_to_id).await?;
        let cadence = settings(&mut tx, tenant).await?.draft_refresh_seconds;
        let now = self.tenant_now(&mut tx, tenant).await?;
        tx.commit().await?;
        let no_draft = || AppError::Conflict {
            code: "no_draft_invoice",
            message: format!(
                "account `{}` has no draft invoice yet: one is stored at the first refresh \
                 after usage arrives",
                account.bill_to_id
            ),
        };
        let row = row.ok_or_else(no_draft)?;
        let refreshed_us = row.refreshed_at_us.ok_or_else(no_draft)?;
        view(row, refreshed_us, cadence, now)
    }

    /// Refreshes the tenant's due drafts (the scheduler tick calls it); returns how many
    /// were stored. An account whose billing fails stores the problem instead of a draft.
    pub async fn refresh_drafts(&self, tenant: &TenantRow) -> AppResult<usize> {
        let now = self.now_of(tenant);
        let due = {
            let mut tx = self.store.read().await?;
            let cadence = settings(&mut tx, &tenant.id).await?.draft_refresh_seconds;
            let before = to_us(now).saturating_sub(cadence.saturating_mul(1_000_000));
            let due = tx.due_drafts(&tenant.id, before, REFRESH_BATCH).await?;
            tx.commit().await?;
            due
        };
        for account in &due {
            self.refresh_draft(&tenant.id, account, now).await?;
        }
        Ok(due.len())
    }

    async fn refresh_draft(&self, tenant: &str, account: &str, now: Timestamp) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let Some(row) = tx.get_account(tenant, account).await? else {
            return Ok(());
        };
        // Under the account lock, so the version read is the one the draft includes.
        let payer = lock_account(&mut tx, tenant, &row.bill_to_id).await?;
        let marks = tx.get_draft(tenant, account).await?;
        let (version, usage_at) = marks
            .map(|m| (m.usage_version, m.usage_at_us))
            .unwrap_or((0, None));
        let drawn = self.draw_next_invoice(&mut tx, &payer, now).await;
        let (invoice, problem) = match drawn {
            Ok(Some(mut inv)) => {
                inv.id = "draft".into();
                inv.status = "draft".into();
                (Some(serde_json::to_string(&inv).map_err(internal)?), None)
            }
            Ok(None) => (None, None),
            Err(e) => {
                let problem = DraftProblem {
                    code: e.code().to_string(),
                    message: e.to_string(),
                };
                (
                    None,
                    Some(serde_json::to_string(&problem).map_err(internal)?),
                )
            }
        };
        tx.store_draft(
            tenant,
            &NewDraft {
                account_id: account,
                version,
                usage_at_us: usage_at,
                refreshed_at_us: to_us(now),
                invoice: invoice.as_deref(),
                problem: problem.as_deref(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn settings(tx: &mut quoin_store::Tx, tenant: &str) -> AppResult<DraftSettings> {
    match tx.get_setting(tenant, SETTING_KIND, SETTING_KEY).await? {
        Some(body) => serde_json::from_str(&body).map_err(internal),
        None => Ok(DraftSettings {
            draft_refresh_seconds: DEFAULT_REFRESH_SECONDS,
        }),
    }
}

fn view(
    row: DraftInvoiceRow,
    refreshed_us: i64,
    cadence: i64,
    now: Timestamp,
) -> AppResult<DraftInvoice> {
    let invoice: Option<serde_json::Value> = row
        .invoice
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(internal)?;
    let problem: Option<DraftProblem> = row
        .problem
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(internal)?;
    Ok(DraftInvoice {
        account_id: row.account_id,
        invoice,
        problem,
        refreshed_at: from_us(refreshed_us),
        age_seconds: (to_us(now) - refreshed_us).max(0) / 1_000_000,
        usage_through: row.draft_usage_at_us.map(from_us),
        usage_pending: row.usage_version > row.draft_version,
        refresh_seconds: cadence,
    })
}
