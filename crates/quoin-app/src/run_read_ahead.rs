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

use quoin_store::repo::billing_page::BillingPageRows;
use quoin_store::{Store, WriteMarks};
use tokio::task::JoinHandle;

use crate::error::{AppError, AppResult};

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
