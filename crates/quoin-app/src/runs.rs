//! Invoice runs: billing a tenant's whole population as a first-class, resumable record.
//!
//! A run has a *chain* of steps executed in order (`bill` → `finalize` → `send`). Each step
//! walks its population in key order (bill-to account ids for `bill`, the run's invoice ids
//! for `finalize` and `send`) in chunks. A chunk is one transaction that commits the
//! invoices, lines and events it produced together with the run's step, cursor and counts,
//! so after a crash the run resumes exactly where the last commit left it. A bill page is
//! billed without savepoints, its writes buffered; if an account fails, the page is billed
//! again with every account under a SAVEPOINT: the failing account is rolled back alone and
//! recorded (on the run and on the account) without losing the rest of the chunk.
//!
//! At most one run per tenant is active (a unique partial index on queued/running runs).
//! The process executing a run holds a lease (`lease_owner`, `heartbeat_us` renewed with
//! each chunk); another process may take a run over when the heartbeat is older than
//! [`LEASE_STALE`] or when asked to (`resume` with `force`).

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use quoin_store::new_id;
use quoin_store::repo::runs::PageWrites;
use quoin_store::repo::runs::{InvoiceRunErrorRow, InvoiceRunRow, RunProgress, RunScheduleRow};
use quoin_store::{Tx, WriteMarks};

use crate::auth::{Action, Principal};
use crate::billing::account_today;
use crate::billing_reads::{PageReads, TenantSettings};
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::{AccountError, ListParams};
use crate::run_read_ahead::{Ahead, BilledAhead, PageAhead, PageOutcome, ReadAhead};
use crate::runs_model::*;
use crate::App;

/// Accounts (or invoices) per transaction.
pub const DEFAULT_CHUNK: i64 = 500;
/// A lease whose heartbeat is older than this belongs to a dead process.
pub const LEASE_STALE: std::time::Duration = std::time::Duration::from_secs(60);

const DEFAULT_CHAIN: [RunStep; 2] = [RunStep::Bill, RunStep::Finalize];

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

/// Wall-clock microseconds: leases are about processes, not the tenant's (test) clock.
fn wall_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn in_progress(run: &str) -> AppError {
    AppError::Conflict {
        code: "run_in_progress",
        message: format!("invoice run `{run}` is in progress for this tenant"),
    }
}

fn parse_chain(text: &str) -> AppResult<Vec<RunStep>> {
    serde_json::from_str(text).map_err(internal)
}

fn chain_text(chain: &[RunStep]) -> AppResult<String> {
    serde_json::to_string(chain).map_err(internal)
}

/// A chain is non-empty, has each step at most once, and keeps the order bill → finalize → send.
fn validate_chain(field: &str, chain: Option<Vec<RunStep>>) -> AppResult<Vec<RunStep>> {
    let chain = chain.unwrap_or_else(|| DEFAULT_CHAIN.to_vec());
    if chain.is_empty() {
        return Err(AppError::invalid(field, "give at least one step"));
    }
    let rank = |s: &RunStep| *s as u8;
    if chain.windows(2).any(|w| rank(&w[0]) >= rank(&w[1])) {
        return Err(AppError::invalid(
            field,
            "steps run in the order bill, finalize, send, each at most once",
        ));
    }
    Ok(chain)
}

fn status_of(code: &str) -> AppResult<RunStatus> {
    Ok(match code {
        "queued" => RunStatus::Queued,
        "running" => RunStatus::Running,
        "succeeded" => RunStatus::Succeeded,
        "failed" => RunStatus::Failed,
        "cancelled" => RunStatus::Cancelled,
        other => return Err(internal(format!("run status `{other}`"))),
    })
}

pub(crate) fn run_view(
    row: &InvoiceRunRow,
    errors: &[InvoiceRunErrorRow],
) -> AppResult<InvoiceRun> {
    let chain = parse_chain(&row.chain)?;
    let status = status_of(&row.status)?;
    let step = match status {
        RunStatus::Queued | RunStatus::Running | RunStatus::Failed => usize::try_from(row.step)
            .ok()
            .and_then(|i| chain.get(i).copied()),
        _ => None,
    };
    Ok(InvoiceRun {
        id: row.id.clone(),
        status,
        chain,
        step,
        as_of: row
            .as_of
            .as_deref()
            .map(|d| d.parse().map_err(internal))
            .transpose()?,
        at: from_us(row.at_us),
        trigger: row.triggered_by.clone(),
        schedule_id: row.schedule_id.clone(),
        cursor: row.cursor.clone(),
        counts: RunCounts {
            accounts_billed: row.accounts_billed,
            invoices_created: row.invoices_created,
            invoices_finalized: row.invoices_finalized,
            invoices_sent: row.invoices_sent,
            errors: row.errors,
        },
        errors: errors
            .iter()
            .map(|e| RunAccountError {
                account_id: e.account_id.clone(),
                code: e.code.clone(),
                message: e.message.clone(),
            })
            .collect(),
        failure: row.failure.clone(),
        created_at: from_us(row.created_at_us),
        started_at: row.started_at_us.map(from_us),
        finished_at: row.finished_at_us.map(from_us),
    })
}

fn schedule_view(row: &RunScheduleRow) -> AppResult<RunSchedule> {
    Ok(RunSchedule {
        id: row.id.clone(),
        cron: row.cron.clone(),
        time_zone: row.time_zone.clone(),
        chain: parse_chain(&row.chain)?,
        enabled: row.enabled != 0,
        next_run_at: row.next_run_at_us.map(from_us),
        last_run_id: row.last_run_id.clone(),
        created_at: from_us(row.created_at_us),
    })
}

/// The first fire time of `cron` in `tz` strictly after `after`.
pub fn next_fire(cron: &str, tz: &str, after: Timestamp) -> AppResult<Timestamp> {
    let cron: croner::Cron = cron
        .parse()
        .map_err(|e: croner::errors::CronError| AppError::invalid("cron", e.to_string()))?;
    let zone = TimeZone::get(tz).map_err(|e| AppError::invalid("time_zone", e.to_string()))?;
    let next = cron
        .find_next_occurrence(&after.to_zoned(zone), false)
        .map_err(|e| AppError::invalid("cron", e.to_string()))?;
    Ok(next.timestamp())
}

/// How a run is executed: chunk size and an optional progress callback (after each chunk).
#[derive(Default, Clone, Copy)]
pub struct RunOptions<'a> {
    pub chunk: Option<i64>,
    /// Take the run over even when another owner's lease is fresh.
    pub force: bool,
    pub progress: Option<&'a (dyn Fn(&InvoiceRun) + Send + Sync)>,
}

enum Chunk {
    /// Keep going.
    More,
    /// The step is done; move to the next.
    StepDone,
}

impl App {
    /// Creates a queued run for the tenant, or 409 `run_in_progress` when one is active.
    pub async fn create_invoice_run(
        &self,
        p: &Principal,
        input: StartInvoiceRun,
    ) -> AppResult<InvoiceRun> {
        p.require(Action::Bill)?;
        let chain = validate_chain("chain", input.chain)?;
        self.queue_run(&p.tenant_id, input.as_of, &chain, "manual", None)
            .await
    }

    async fn queue_run(
        &self,
        tenant: &str,
        as_of: Option<Date>,
        chain: &[RunStep],
        trigger: &str,
        schedule: Option<&str>,
    ) -> AppResult<InvoiceRun> {
        let mut tx = self.store.begin().await?;
        let tenant_row = tx
            .get_tenant(tenant)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", tenant))?;
        let now = self.now_of(&tenant_row);
        if let Some(d) = as_of {
            let tz = TimeZone::get(&tenant_row.time_zone).map_err(internal)?;
            let today = quoin_core::calendar::local_date(now, &tz);
            // One day of slack: accounts in zones ahead of the tenant's may be there already.
            if d > today.tomorrow().map_err(internal)? {
                return Err(AppError::invalid(
                    "as_of",
                    format!("must not be after the tenant's today ({today}), got {d}"),
                ));
            }
        }
        let row = InvoiceRunRow {
            id: new_id("run"),
            tenant_id: tenant.to_string(),
            chain: chain_text(chain)?,
            as_of: as_of.map(|d| d.to_string()),
            at_us: to_us(now),
            status: "queued".into(),
            triggered_by: trigger.into(),
            schedule_id: schedule.map(str::to_string),
            step: 0,
            cursor: None,
            accounts_billed: 0,
            invoices_created: 0,
            invoices_finalized: 0,
            invoices_sent: 0,
            errors: 0,
            lease_owner: None,
            heartbeat_us: None,
            failure: None,
            created_at_us: wall_us(),
            started_at_us: None,
            finished_at_us: None,
        };
        if !tx.insert_invoice_run(&row).await? {
            let active = tx.active_invoice_run(tenant).await?;
            return Err(in_progress(
                active.map(|r| r.id).as_deref().unwrap_or("unknown"),
            ));
        }
        let view = run_view(&row, &[])?;
        emit(
            &mut tx,
            tenant,
            "invoice_run.created",
            "invoice_run",
            &row.id,
            &view,
            row.at_us,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn get_invoice_run(&self, p: &Principal, id: &str) -> AppResult<InvoiceRun> {
        p.require(Action::Read)?;
        self.load_run(&p.tenant_id, id, 100).await
    }

    async fn load_run(&self, tenant: &str, id: &str, errors: i64) -> AppResult<InvoiceRun> {
        let mut tx = self.store.read().await?;
        let row = tx
            .get_invoice_run(tenant, id)
            .await?
            .ok_or_else(|| AppError::not_found("invoice_run", id))?;
        let errs = if errors > 0 {
            tx.invoice_run_errors(tenant, id, errors).await?
        } else {
            Vec::new()
        };
        tx.commit().await?;
        run_view(&row, &errs)
    }

    /// Runs newest first.
    pub async fn list_invoice_runs(
        &self,
        p: &Principal,
        page: &ListParams,
    ) -> AppResult<InvoiceRunPage> {
        p.require(Action::Read)?;
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .list_invoice_runs(&p.tenant_id, page.cursor.as_deref(), limit)
            .await?;
        tx.commit().await?;
        Ok(InvoiceRunPage {
            data: rows
                .items
                .iter()
                .map(|r| run_view(r, &[]))
                .collect::<AppResult<_>>()?,
            next_cursor: rows.next_cursor,
        })
    }

    /// Checks that a run exists and may be resumed by the caller (it is queued, failed, or
    /// running under a stale lease — or `force`); the caller then executes it.
    pub async fn check_resumable(
        &self,
        p: &Principal,
        id: &str,
        force: bool,
    ) -> AppResult<InvoiceRun> {
        p.require(Action::Bill)?;
        let run = self.load_run(&p.tenant_id, id, 0).await?;
        match run.status {
            RunStatus::Succeeded | RunStatus::Cancelled => Err(AppError::Conflict {
                code: "run_finished",
                message: format!("invoice run `{id}` is already {:?}", run.status).to_lowercase(),
            }),
            _ => {
                let mut tx = self.store.read().await?;
                let row = tx
                    .get_invoice_run(&p.tenant_id, id)
                    .await?
                    .ok_or_else(|| AppError::not_found("invoice_run", id))?;
                tx.commit().await?;
                let stale = wall_us() - i64::try_from(LEASE_STALE.as_micros()).unwrap_or(0);
                let fresh = row.status == "running"
                    && row.lease_owner.is_some()
                    && row.heartbeat_us.is_some_and(|h| h >= stale);
                if fresh && !force {
                    return Err(in_progress(id));
                }
                Ok(run)
            }
        }
    }

    /// The number of bill-to accounts a bill step will walk (for progress displays).
    pub async fn run_population(&self, p: &Principal) -> AppResult<i64> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let n = tx.count_bill_to_accounts(&p.tenant_id).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Claims and executes a run to its end (or until an error stops it). Safe to call on a
    /// run that crashed: it continues from the committed cursor.
    pub async fn execute_invoice_run(
        &self,
        tenant: &str,
        id: &str,
        opts: RunOptions<'_>,
    ) -> AppResult<InvoiceRun> {
        let owner = format!("pid{}-{}", std::process::id(), new_id("lease"));
        let chunk = opts.chunk.unwrap_or(DEFAULT_CHUNK).clamp(1, 10_000);
        {
            let mut tx = self.store.begin().await?;
            let row = tx
                .get_invoice_run(tenant, id)
                .await?
                .ok_or_else(|| AppError::not_found("invoice_run", id))?;
            if row.status == "failed" {
                // Back to running, unless another run started meanwhile (unique index).
                let sql_ok = tx.reopen_invoice_run(tenant, id).await;
                match sql_ok {
                    Ok(true) => {}
                    Ok(false) => return Err(in_progress(id)),
                    Err(e) if e.is_unique_violation() => {
                        return Err(in_progress(id));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let now = wall_us();
            let stale = if opts.force {
                i64::MAX
            } else {
                now - i64::try_from(LEASE_STALE.as_micros()).unwrap_or(0)
            };
            if !tx.claim_invoice_run(tenant, id, &owner, now, stale).await? {
                return match row.status.as_str() {
                    "succeeded" | "cancelled" => {
                        tx.commit().await?;
                        run_view(&row, &[])
                    }
                    _ => Err(in_progress(id)),
                };
            }
            tx.commit().await?;
        }
        // The next bill page, read while the current one bills (SQLite).
        let mut ahead = Ahead::Nothing;
        let mut collection_failed = std::collections::HashSet::new();
        loop {
            let mut tx = self.store.read().await?;
            let row = tx
                .get_invoice_run(tenant, id)
                .await?
                .ok_or_else(|| AppError::not_found("invoice_run", id))?;
            tx.commit().await?;
            if let Some(cb) = opts.progress {
                cb(&run_view(&row, &[])?);
            }
            if row.status != "running" || row.lease_owner.as_deref() != Some(owner.as_str()) {
                break;
            }
            let chain = parse_chain(&row.chain)?;
            let Some(step) = usize::try_from(row.step)
                .ok()
                .and_then(|i| chain.get(i).copied())
            else {
                let mut tx = self.store.begin().await?;
                tx.finish_invoice_run(tenant, id, "succeeded", None, wall_us())
                    .await?;
                let view = run_view(&row, &[])?;
                emit(
                    &mut tx,
                    tenant,
                    "invoice_run.succeeded",
                    "invoice_run",
                    id,
                    &view.counts,
                    row.at_us,
                )
                .await?;
                tx.commit().await?;
                continue;
            };
            let result = match step {
                RunStep::Bill => {
                    let inline = usize::try_from(row.step + 1)
                        .ok()
                        .and_then(|i| chain.get(i))
                        == Some(&RunStep::Finalize);
                    self.bill_chunk(&row, &owner, chunk, inline, &mut ahead)
                        .await
                }
                RunStep::Finalize => self.finalize_chunk(&row, &owner, chunk).await,
                RunStep::Send => self.send_chunk(&row, &owner, chunk).await,
            };
            match result {
                Ok(Chunk::More) => {}
                Ok(Chunk::StepDone) => {
                    // Invoices the step finalized are charged once its chunks have
                    // committed: once per step, since listing what is due reads every
                    // account with a card on file (per chunk, a run would be quadratic).
                    let failed = if step != RunStep::Send {
                        self.collect_due(tenant, None).await
                    } else {
                        Vec::new()
                    };
                    let mut tx = self.store.begin().await?;
                    // A charge that failed (not a decline: that follows the retry plan) is
                    // an error of the run and of the account, as a failed bill is.
                    let mut errors = 0;
                    for e in failed.iter().filter(|e| !e.account_id.is_empty()) {
                        // Each step collects what is due: count an account once per run.
                        if !collection_failed.insert(e.account_id.clone()) {
                            continue;
                        }
                        record_run_error(&mut tx, tenant, id, e).await?;
                        errors += 1;
                    }
                    let p = RunProgress {
                        step: row.step + 1,
                        cursor: None,
                        errors,
                        ..RunProgress::default()
                    };
                    if !tx
                        .advance_invoice_run(tenant, id, &owner, &p, wall_us())
                        .await?
                    {
                        break;
                    }
                    tx.commit().await?;
                }
                Err(e) => {
                    tracing::error!(tenant, run = id, error = %e, "invoice run failed");
                    let mut tx = self.store.begin().await?;
                    tx.finish_invoice_run(tenant, id, "failed", Some(&e.to_string()), wall_us())
                        .await?;
                    tx.commit().await?;
                    return Err(e);
                }
            }
        }
        self.load_run(tenant, id, 100).await
    }

    /// The date an account is billed for in this run.
    fn run_date(
        &self,
        row: &InvoiceRunRow,
        account: &quoin_store::rows::AccountRow,
    ) -> AppResult<Date> {
        let today = account_today(account, from_us(row.at_us))?;
        Ok(match row.as_of.as_deref() {
            Some(d) => d.parse::<Date>().map_err(internal)?.min(today),
            None => today,
        })
    }

    async fn bill_chunk(
        &self,
        row: &InvoiceRunRow,
        owner: &str,
        chunk: i64,
        finalize_inline: bool,
        ahead: &mut Ahead,
    ) -> AppResult<Chunk> {
        // Almost every page bills without an error, so it is first billed without a
        // savepoint per account (two statements each); a page where an account fails is
        // rolled back and billed again with them, recording the failures.
        match self
            .bill_page(row, owner, chunk, finalize_inline, false, ahead)
            .await?
        {
            Some(done) => Ok(done),
            None => {
                *ahead = Ahead::Nothing;
                self.bill_page(row, owner, chunk, finalize_inline, true, ahead)
                    .await?
                    .ok_or_else(|| internal("a careful page pass gave up"))
            }
        }
    }

    /// Bills the next page of accounts in one transaction. `careful`: each account under
    /// a savepoint, its failure recorded; otherwise the first failure rolls the page back
    /// and answers `None`. On SQLite the page may come billed ahead, and while it is
    /// written the next one is billed ahead (see `run_read_ahead`).
    async fn bill_page(
        &self,
        row: &InvoiceRunRow,
        owner: &str,
        chunk: i64,
        finalize_inline: bool,
        careful: bool,
        ahead: &mut Ahead,
    ) -> AppResult<Option<Chunk>> {
        let mut tx = self.store.begin().await?;
        let marks = tx.write_marks().await?;
        let cursor = row.cursor.as_deref();
        let (billed_ahead, read) = match std::mem::take(ahead) {
            _ if careful => (None, None),
            Ahead::Billed(b) => (b.take(cursor, marks), None),
            Ahead::Read(r) => (None, r.take(cursor, marks).await?),
            Ahead::Nothing => (None, None),
        };
        let billed = match billed_ahead {
            Some(b) => {
                tracing::debug!(tenant = %row.tenant_id, run = %row.id, after = ?cursor, "the page was billed ahead");
                let b = *b;
                Billed::Page(Box::new((b.payers, b.page, b.outcome, b.next)))
            }
            None => {
                self.bill_here(&mut tx, row, chunk, finalize_inline, careful, read, marks)
                    .await?
            }
        };
        let (payers, page, out, mut next) = match billed {
            Billed::Page(page) => *page,
            Billed::Empty => {
                tx.rollback().await?;
                return Ok(Some(Chunk::StepDone));
            }
            Billed::Failed => {
                tx.rollback().await?;
                return Ok(None);
            }
        };
        let last = payers
            .last()
            .cloned()
            .ok_or_else(|| internal("a billed page without accounts"))?;
        if page.is_stale() {
            // Billing changed rows beyond the page's own accounts' billing (a dunning
            // step, a term end): the next page may read them.
            next = None;
        }
        let writes = page.take_writes();
        let counter = writes.next_invoice_number;
        let end = PageEnd {
            tx,
            row: row.clone(),
            owner: owner.to_string(),
            progress: RunProgress {
                step: row.step,
                cursor: Some(last),
                accounts_billed: out.accounts_billed,
                invoices_created: out.invoices_created,
                invoices_finalized: out.invoices_finalized,
                errors: out.errors,
                ..RunProgress::default()
            },
            writes,
            created_ids: out.created_ids,
            invoiced: out.invoiced_accounts,
        };
        match (next, marks, counter) {
            (Some(read), Some(m), Some(first)) if !careful => {
                // The writes go to the writer connection on their own task while this one
                // bills the next page.
                let write = tokio::spawn(end.write());
                let settings = page.settings().clone();
                let billed = self
                    .bill_ahead(row, read, settings, first, finalize_inline, chunk, m)
                    .await;
                let (done, ended) = write
                    .await
                    .map_err(|e| internal(format!("a page's write task failed: {e}")))??;
                if let (Some(mut b), Some(ended)) = (billed, ended) {
                    // (Its `next` read gets its end mark when this billed page is written.)
                    b.page_ended(ended);
                    *ahead = Ahead::Billed(Box::new(b));
                }
                Ok(Some(done))
            }
            (next, ..) => {
                let (done, ended) = end.write().await?;
                if let (Some(mut r), Some(ended)) = (next, ended) {
                    r.page_ended(ended);
                    *ahead = Ahead::Read(r);
                }
                Ok(Some(done))
            }
        }
    }

    /// Bills one account of a run's page, on the run's date.
    async fn bill_run_payer(
        &self,
        tx: &mut Tx,
        page: &PageReads,
        payer: &str,
        row: &InvoiceRunRow,
        finalize_inline: bool,
    ) -> AppResult<Vec<crate::model::Invoice>> {
        let day = |a: &quoin_store::rows::AccountRow| self.run_date(row, a);
        self.bill_payer(tx, page, payer, day, finalize_inline, row.at_us)
            .await
    }

    /// Reads the page (unless its rows were read ahead) and bills it in `tx`.
    #[allow(clippy::too_many_arguments)]
    async fn bill_here(
        &self,
        tx: &mut Tx,
        row: &InvoiceRunRow,
        chunk: i64,
        finalize_inline: bool,
        careful: bool,
        read: Option<PageAhead>,
        marks: Option<WriteMarks>,
    ) -> AppResult<Billed> {
        let tenant = row.tenant_id.as_str();
        let (payers, rows) = match read {
            Some((payers, rows)) => (payers, Some(rows)),
            None => {
                let payers = tx
                    .run_accounts_page(tenant, row.cursor.as_deref(), chunk)
                    .await?;
                (payers, None)
            }
        };
        let Some(last) = payers.last() else {
            return Ok(Billed::Empty);
        };
        // The next page is read on a reader connection while this one bills; a careful
        // pass (rare) reads its pages itself.
        let next = match marks {
            Some(m) if !careful && payers.len() as i64 >= chunk => {
                Some(ReadAhead::start(&self.store, tenant, last, chunk, m))
            }
            _ => None,
        };
        // One query per table for the whole page instead of ~30 per account.
        let settings = TenantSettings::load(tx, tenant).await?;
        let page = match rows {
            Some(rows) => PageReads::from_rows(tenant, rows, settings),
            None => PageReads::load(tx, tenant, &payers, settings).await?,
        };
        // A retry charges a gateway, which a rollback does not undo: such pages are not
        // billed twice.
        let careful = careful || page.has_retries();
        if !careful {
            page.buffer_writes(tx).await?;
        }
        let mut out = PageOutcome::default();
        for payer in &payers {
            if careful {
                tx.savepoint("run_account").await?;
            }
            let result = self
                .bill_run_payer(tx, &page, payer, row, finalize_inline)
                .await;
            match result {
                Ok(invoices) => {
                    if careful {
                        tx.release_savepoint("run_account").await?;
                    }
                    out.add(payer, invoices);
                }
                Err(e) if !careful => {
                    tracing::info!(tenant, run = %row.id, account = %payer, error = %e,
                        "an account failed: the page is billed again with savepoints");
                    return Ok(Billed::Failed);
                }
                Err(e) => {
                    tx.rollback_to_savepoint("run_account").await?;
                    self.record_account_error(tx, row, payer, &e).await?;
                    out.errors += 1;
                }
            }
        }
        Ok(Billed::Page(Box::new((payers, page, out, next))))
    }

    /// Bills the page `read` brings on a read-only snapshot, its writes buffered and its
    /// invoices numbered from `first_number`, while the page before it is written; `None`
    /// when it is to be billed in its own transaction instead (a write outside the buffer
    /// failed on the read-only connection, an account failed, or it has payment retries).
    #[allow(clippy::too_many_arguments)]
    async fn bill_ahead(
        &self,
        row: &InvoiceRunRow,
        read: ReadAhead,
        settings: TenantSettings,
        first_number: i64,
        finalize_inline: bool,
        chunk: i64,
        marks: WriteMarks,
    ) -> Option<BilledAhead> {
        let tenant = row.tenant_id.as_str();
        let validity = read.validity();
        let (payers, rows) = match read.rows().await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(tenant, run = %row.id, error = %e, "page read-ahead failed");
                return None;
            }
        };
        let last = payers.last()?;
        let page = PageReads::from_rows(tenant, rows, settings);
        if page.has_retries() {
            return None;
        }
        let next = (payers.len() as i64 >= chunk)
            .then(|| ReadAhead::start(&self.store, tenant, last, chunk, marks));
        page.buffer_writes_from(first_number);
        let mut tx = self.store.read().await.ok()?;
        let mut out = PageOutcome::default();
        for payer in &payers {
            let result = self
                .bill_run_payer(&mut tx, &page, payer, row, finalize_inline)
                .await;
            match result {
                Ok(invoices) => out.add(payer, invoices),
                Err(e) => {
                    tracing::debug!(tenant, run = %row.id, account = %payer, error = %e,
                        "billing ahead stopped: the page is billed in its own transaction");
                    return None;
                }
            }
        }
        let _ = tx.rollback().await;
        if page.is_stale() {
            return None;
        }
        Some(BilledAhead::new(validity, payers, page, out, next))
    }

    async fn record_account_error(
        &self,
        tx: &mut Tx,
        row: &InvoiceRunRow,
        account: &str,
        e: &AppError,
    ) -> AppResult<()> {
        tracing::warn!(tenant = %row.tenant_id, run = %row.id, account, error = %e, "billing failed for account");
        let error = AccountError {
            account_id: account.to_string(),
            code: e.code().to_string(),
            message: e.to_string(),
        };
        record_run_error(tx, &row.tenant_id, &row.id, &error).await
    }

    async fn finalize_chunk(
        &self,
        row: &InvoiceRunRow,
        owner: &str,
        chunk: i64,
    ) -> AppResult<Chunk> {
        let tenant = row.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let ids = tx
            .run_invoice_ids(tenant, &row.id, "draft", row.cursor.as_deref(), chunk)
            .await?;
        let Some(last) = ids.last().cloned() else {
            tx.rollback().await?;
            return Ok(Chunk::StepDone);
        };
        let mut p = RunProgress {
            step: row.step,
            cursor: Some(last),
            ..RunProgress::default()
        };
        for id in &ids {
            tx.savepoint("run_invoice").await?;
            match self.finalize_in_tx(&mut tx, tenant, id, row.at_us).await {
                Ok(_) => {
                    tx.release_savepoint("run_invoice").await?;
                    p.invoices_finalized += 1;
                }
                Err(e) => {
                    tx.rollback_to_savepoint("run_invoice").await?;
                    let inv = tx.get_invoice(tenant, id).await?;
                    let account = inv.map(|i| i.account_id).unwrap_or_default();
                    self.record_account_error(&mut tx, row, &account, &e)
                        .await?;
                    p.errors += 1;
                }
            }
        }
        Ok(commit_chunk(tx, row, owner, &p).await?.0)
    }

    async fn send_chunk(&self, row: &InvoiceRunRow, owner: &str, chunk: i64) -> AppResult<Chunk> {
        let tenant = row.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let ids = tx
            .run_invoice_ids(tenant, &row.id, "finalized", row.cursor.as_deref(), chunk)
            .await?;
        let Some(last) = ids.last().cloned() else {
            tx.rollback().await?;
            return Ok(Chunk::StepDone);
        };
        let mut p = RunProgress {
            step: row.step,
            cursor: Some(last),
            ..RunProgress::default()
        };
        for id in &ids {
            let Some(inv) = tx.get_invoice(tenant, id).await? else {
                continue;
            };
            let body = serde_json::json!({
                "invoice_id": inv.id,
                "account_id": inv.account_id,
                "number": inv.number,
                "currency": inv.currency,
                "total_minor": inv.total_minor,
                "due_date": inv.due_date,
                "run_id": row.id,
            });
            emit(
                &mut tx,
                tenant,
                "invoice.sent",
                "invoice",
                id,
                &body,
                row.at_us,
            )
            .await?;
            p.invoices_sent += 1;
        }
        Ok(commit_chunk(tx, row, owner, &p).await?.0)
    }

    // ---- schedules ----

    pub async fn create_run_schedule(
        &self,
        p: &Principal,
        input: CreateRunSchedule,
    ) -> AppResult<RunSchedule> {
        p.require(Action::Bill)?;
        let chain = validate_chain("chain", input.chain)?;
        let cron = input.cron.trim().to_string();
        if cron.is_empty() || cron.len() > 200 {
            return Err(AppError::invalid(
                "cron",
                "give a cron expression (at most 200 characters)",
            ));
        }
        let mut tx = self.store.begin().await?;
        let tenant = tx
            .get_tenant(&p.tenant_id)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", &p.tenant_id))?;
        let tz = input.time_zone.unwrap_or_else(|| tenant.time_zone.clone());
        let now = self.now_of(&tenant);
        let next = next_fire(&cron, &tz, now)?;
        let enabled = input.enabled.unwrap_or(true);
        let row = RunScheduleRow {
            id: new_id("rsc"),
            tenant_id: p.tenant_id.clone(),
            cron,
            time_zone: tz,
            chain: chain_text(&chain)?,
            enabled: i64::from(enabled),
            next_run_at_us: enabled.then_some(to_us(next)),
            last_run_id: None,
            created_at_us: to_us(now),
        };
        tx.insert_run_schedule(&row).await?;
        let view = schedule_view(&row)?;
        emit(
            &mut tx,
            &p.tenant_id,
            "invoice_run_schedule.created",
            "invoice_run_schedule",
            &row.id,
            &view,
            to_us(now),
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn list_run_schedules(&self, p: &Principal) -> AppResult<RunSchedulePage> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let rows = tx.list_run_schedules(&p.tenant_id).await?;
        tx.commit().await?;
        Ok(RunSchedulePage {
            data: rows.iter().map(schedule_view).collect::<AppResult<_>>()?,
        })
    }

    pub async fn get_run_schedule(&self, p: &Principal, id: &str) -> AppResult<RunSchedule> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let row = tx
            .get_run_schedule(&p.tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("invoice_run_schedule", id))?;
        tx.commit().await?;
        schedule_view(&row)
    }

    pub async fn delete_run_schedule(&self, p: &Principal, id: &str) -> AppResult<()> {
        p.require(Action::Bill)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_run_schedule(&p.tenant_id, id).await? {
            return Err(AppError::not_found("invoice_run_schedule", id));
        }
        let now = self.tenant_now(&mut tx, &p.tenant_id).await?;
        emit(
            &mut tx,
            &p.tenant_id,
            "invoice_run_schedule.deleted",
            "invoice_run_schedule",
            id,
            &serde_json::json!({"id": id}),
            to_us(now),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One scheduler tick over every tenant: starts the runs whose schedule is due on the
    /// tenant's clock (test clock aware), picks up runs whose process died and refreshes
    /// the due draft invoices (`drafts.rs`). Returns the
    /// (tenant, run) pairs the caller should execute.
    pub async fn scheduler_tick(&self) -> AppResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        let tenants = {
            let mut tx = self.store.read().await?;
            let t = tx.list_tenants().await?;
            tx.commit().await?;
            t
        };
        let stale = wall_us() - i64::try_from(LEASE_STALE.as_micros()).unwrap_or(0);
        for tenant in tenants {
            let now = self.now_of(&tenant);
            let (due, orphans) = {
                let mut tx = self.store.read().await?;
                let due = tx.due_run_schedules(&tenant.id, to_us(now)).await?;
                let orphans = tx.stale_invoice_runs(&tenant.id, stale).await?;
                tx.commit().await?;
                (due, orphans)
            };
            for r in orphans {
                out.push((tenant.id.clone(), r.id));
            }
            for s in due {
                let chain = parse_chain(&s.chain)?;
                let next = next_fire(&s.cron, &s.time_zone, now).ok().map(to_us);
                let started = self
                    .queue_run(&tenant.id, None, &chain, "schedule", Some(&s.id))
                    .await;
                let run_id = match started {
                    Ok(run) => {
                        out.push((tenant.id.clone(), run.id.clone()));
                        Some(run.id)
                    }
                    // A run is active: this fire is skipped, the next one will come.
                    Err(AppError::Conflict { .. }) => None,
                    Err(e) => return Err(e),
                };
                let mut tx = self.store.begin().await?;
                tx.schedule_fired(&tenant.id, &s.id, next, run_id.as_deref())
                    .await?;
                tx.commit().await?;
            }
            // Continuous drafts: a failure here must not stop the runs of the tick.
            if let Err(e) = self.refresh_drafts(&tenant).await {
                tracing::warn!(tenant = %tenant.id, error = %e, "draft refresh failed");
            }
        }
        Ok(out)
    }
}

/// Records an account's failure on the run and on the account.
async fn record_run_error(tx: &mut Tx, tenant: &str, run: &str, e: &AccountError) -> AppResult<()> {
    tx.record_run_error(&InvoiceRunErrorRow {
        tenant_id: tenant.to_string(),
        run_id: run.to_string(),
        account_id: e.account_id.clone(),
        code: e.code.clone(),
        message: e.message.clone(),
        created_at_us: wall_us(),
    })
    .await?;
    Ok(())
}

/// A billed page's writes and the run's progress, committed together (on a task of its
/// own when the next page bills meanwhile).
struct PageEnd {
    tx: Tx,
    row: InvoiceRunRow,
    owner: String,
    progress: RunProgress,
    writes: PageWrites,
    created_ids: Vec<String>,
    invoiced: Vec<String>,
}

impl PageEnd {
    async fn write(self) -> AppResult<(Chunk, Option<WriteMarks>)> {
        let PageEnd {
            mut tx,
            row,
            owner,
            progress,
            writes,
            created_ids,
            invoiced,
        } = self;
        let tenant = row.tenant_id.as_str();
        tx.flush_page_writes(tenant, &writes).await?;
        tx.tag_invoices_with_run(tenant, &row.id, &created_ids)
            .await?;
        // Stored drafts of the accounts invoiced are due again; last, so item rows are
        // locked before draft rows, as ingestion does.
        let invoiced: Vec<&str> = invoiced.iter().map(String::as_str).collect();
        tx.touch_drafts(tenant, &invoiced).await?;
        let last = progress.cursor.as_deref().unwrap_or_default();
        tx.clear_account_billing_errors(tenant, row.cursor.as_deref(), last, &row.id)
            .await?;
        commit_chunk(tx, &row, &owner, &progress).await
    }
}

/// What a bill page came to before its writes.
enum Billed {
    Page(Box<(Vec<String>, PageReads, PageOutcome, Option<ReadAhead>)>),
    /// No accounts left.
    Empty,
    /// An account failed without savepoints: bill the page again with them.
    Failed,
}

/// Records a chunk's progress on the run and commits the chunk with it, unless this process
/// no longer holds the run's lease (then nothing of the chunk is kept). Answers the
/// writer's marks after the chunk's last write (SQLite), what the next page's
/// transaction must find for rows read ahead to be current.
async fn commit_chunk(
    mut tx: Tx,
    row: &InvoiceRunRow,
    owner: &str,
    p: &RunProgress,
) -> AppResult<(Chunk, Option<WriteMarks>)> {
    if !tx
        .advance_invoice_run(&row.tenant_id, &row.id, owner, p, wall_us())
        .await?
    {
        tx.rollback().await?;
        return Err(in_progress(&row.id));
    }
    let ended = tx.write_marks().await?;
    tx.commit().await?;
    Ok((Chunk::More, ended))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_fire_is_zone_aware() {
        let after: Timestamp = "2025-03-29T12:00:00Z".parse().unwrap();
        // 02:30 does not exist in Paris on 2025-03-30 (DST starts); next is 2025-03-31.
        let t = next_fire("30 2 * * *", "Europe/Paris", after).unwrap();
        assert!(t > after);
        let daily = next_fire("0 1 * * *", "UTC", after).unwrap();
        assert_eq!(daily.to_string(), "2025-03-30T01:00:00Z");
        assert!(next_fire("nope", "UTC", after).is_err());
        assert!(next_fire("0 1 * * *", "Mars/Base", after).is_err());
    }

    #[test]
    fn chain_order_is_checked() {
        assert!(validate_chain("chain", None).is_ok());
        assert!(validate_chain("chain", Some(vec![RunStep::Finalize, RunStep::Bill])).is_err());
        assert!(validate_chain("chain", Some(vec![RunStep::Bill, RunStep::Bill])).is_err());
        assert!(validate_chain("chain", Some(vec![])).is_err());
        assert!(validate_chain("chain", Some(vec![RunStep::Bill, RunStep::Send])).is_ok());
    }
}
