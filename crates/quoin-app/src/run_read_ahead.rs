//! Reading an invoice run's next page while the current one bills (SQLite).
//!
//! A run page is read (about 20 queries), billed (compute on this thread) and written
//! (SQLite's work on the writer connection's thread), one after another: one of the two
//! cores waits most of the time. The next page's accounts and rows are disjoint from the
//! current page's, so they can be read on a reader connection meanwhile, from a WAL
//! snapshot taken after the current page's transaction began.
//!
//! Such rows are used only when nothing but the run itself wrote between that snapshot
//! and the next page's transaction: the writer connection's [`WriteMarks`] at the start of
//! the next page must equal `data_version` at the start of this page (no other process
//! committed) and `total_changes` at the end of this page (no other writer of this process
//! used the connection in between). A page whose billing changed rows beyond its own
//! accounts' billing (it went stale: a dunning step, a term end) drops them, and so does
//! a page billed again with savepoints. PostgreSQL has no marks: its pages are read under
//! `FOR UPDATE` in their own transaction, as before.
//!
//! The next page can also be *billed* ahead ([`BilledAhead`]) while the current page's
//! writes go to the writer connection on another task: on a read-only snapshot, its writes
//! held in the page's buffer, as a page without savepoints bills anyway. Any write billing
//! would make outside that buffer (a term end, a dunning step, a status change) fails on
//! the read-only connection and the page is billed again in its own transaction; so do
//! pages with payment retries (a gateway charge cannot be taken back). The billed page is
//! used under the same marks as read-ahead rows.

use quoin_store::repo::billing_page::BillingPageRows;
use quoin_store::{Store, WriteMarks};
use tokio::task::JoinHandle;

use crate::billing_reads::PageReads;
use crate::error::{AppError, AppResult};
use crate::model::Invoice;

/// The accounts of the page after `after` and their billing rows.
pub(crate) type PageAhead = (Vec<String>, BillingPageRows);

/// A page being read ahead on a reader connection. Dropping it abandons the read.
pub(crate) struct ReadAhead {
    /// The cursor the page follows (the last account of the page that started it).
    after: String,
    /// The marks the next page's transaction must find for these rows to be current.
    since: WriteMarks,
    /// `None` once taken to be awaited.
    read: Option<JoinHandle<AppResult<PageAhead>>>,
}

impl ReadAhead {
    /// Starts reading the page of at most `limit` accounts after `after`. `started`: the
    /// writer's marks read in the current page's transaction before this call, so the
    /// read's snapshot is younger than them.
    pub(crate) fn start(
        store: &Store,
        tenant: &str,
        after: &str,
        limit: i64,
        started: WriteMarks,
    ) -> Self {
        let (store, tenant, cursor) = (store.clone(), tenant.to_string(), after.to_string());
        let read = tokio::spawn(async move {
            let mut tx = store.read().await?;
            let accounts = tx.run_accounts_page(&tenant, Some(&cursor), limit).await?;
            let rows = tx.billing_page_rows(&tenant, &accounts).await?;
            tx.commit().await?;
            Ok((accounts, rows))
        });
        Self {
            after: after.to_string(),
            since: started,
            read: Some(read),
        }
    }

    /// Records the writer's `total_changes` at the end of the page that started the read
    /// (after its last write, before its commit).
    pub(crate) fn page_ended(&mut self, ended: WriteMarks) {
        self.since.total_changes = ended.total_changes;
    }

    /// The page's rows, whatever was written meanwhile: for billing ahead, whose result is
    /// checked against the marks when it is used ([`BilledAhead::take`]).
    pub(crate) async fn rows(mut self) -> AppResult<PageAhead> {
        let read = self
            .read
            .take()
            .ok_or_else(|| AppError::Internal("page read-ahead taken twice".into()))?;
        read.await
            .map_err(|e| AppError::Internal(format!("page read-ahead failed: {e}")))?
    }

    /// The cursor and marks the rows are valid for (see [`Self::take`]).
    pub(crate) fn validity(&self) -> (String, WriteMarks) {
        (self.after.clone(), self.since)
    }

    /// The page's rows if they are the ones a page after `cursor` reads now, given the
    /// writer's marks at the start of its transaction; `None` means "read them in it".
    pub(crate) async fn take(
        mut self,
        cursor: Option<&str>,
        now: Option<WriteMarks>,
    ) -> AppResult<Option<PageAhead>> {
        if cursor != Some(self.after.as_str()) || now != Some(self.since) {
            tracing::debug!(after = %self.after, "a write came between pages: the page is read again");
            return Ok(None);
        }
        let Some(read) = self.read.take() else {
            return Ok(None);
        };
        match read.await {
            Ok(rows) => rows.map(Some),
            Err(e) => Err(AppError::Internal(format!("page read-ahead failed: {e}"))),
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        if let Some(read) = &self.read {
            read.abort();
        }
    }
}

/// What billing one page produced, before it is written.
#[derive(Default)]
pub(crate) struct PageOutcome {
    pub(crate) accounts_billed: i64,
    pub(crate) invoices_created: i64,
    pub(crate) invoices_finalized: i64,
    pub(crate) errors: i64,
    pub(crate) created_ids: Vec<String>,
    /// Accounts that got an invoice (their stored drafts are due again).
    pub(crate) invoiced_accounts: Vec<String>,
}

impl PageOutcome {
    /// Counts one account billed into `invoices`.
    pub(crate) fn add(&mut self, account: &str, invoices: Vec<Invoice>) {
        self.accounts_billed += 1;
        if !invoices.is_empty() {
            self.invoiced_accounts.push(account.to_string());
        }
        for inv in invoices {
            self.invoices_created += 1;
            if inv.number.is_some() {
                self.invoices_finalized += 1;
            }
            self.created_ids.push(inv.id);
        }
    }
}

/// A page billed on a read-only snapshot while the page before it was written, with the
/// read of the page after it already started.
pub(crate) struct BilledAhead {
    after: String,
    since: WriteMarks,
    pub(crate) payers: Vec<String>,
    pub(crate) page: PageReads,
    pub(crate) outcome: PageOutcome,
    /// The page after this one, being read.
    pub(crate) next: Option<ReadAhead>,
}

impl BilledAhead {
    /// `after`/`since`: the validity of the rows it was billed from ([`ReadAhead::validity`]).
    pub(crate) fn new(
        (after, since): (String, WriteMarks),
        payers: Vec<String>,
        page: PageReads,
        outcome: PageOutcome,
        next: Option<ReadAhead>,
    ) -> Self {
        Self {
            after,
            since,
            payers,
            page,
            outcome,
            next,
        }
    }

    /// As [`ReadAhead::page_ended`].
    pub(crate) fn page_ended(&mut self, ended: WriteMarks) {
        self.since.total_changes = ended.total_changes;
    }

    /// The billed page if it is what billing the page after `cursor` gives now, given the
    /// writer's marks at the start of its transaction; `None`: bill it in it.
    pub(crate) fn take(
        self: Box<Self>,
        cursor: Option<&str>,
        now: Option<WriteMarks>,
    ) -> Option<Box<Self>> {
        if cursor != Some(self.after.as_str()) || now != Some(self.since) {
            tracing::debug!(after = %self.after, "a write came between pages: the page billed ahead is billed again");
            return None;
        }
        Some(self)
    }
}

/// What a run carries from one bill page to the next.
#[derive(Default)]
pub(crate) enum Ahead {
    #[default]
    Nothing,
    /// The next page's rows, being read.
    Read(ReadAhead),
    /// The next page, billed.
    Billed(Box<BilledAhead>),
}
