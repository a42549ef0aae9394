//! Where billing reads an account's rows from: its own queries (one bill, the test clock,
//! the upcoming invoice), or a page of accounts read ahead by an invoice run with one
//! query per table (`Tx::billing_page_rows`). Both give the same rows in the same order,
//! so `bill_in_tx` is one code path whichever serves it. A page billed without savepoints
//! also holds its writes for one flush (`Tx::flush_page_writes`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use quoin_store::repo::billing_page::BillingPageRows;
use quoin_store::repo::ledger::AccountDocuments;
use quoin_store::repo::retries::PaymentRetryRow;
use quoin_store::repo::runs::PageWrites;
use quoin_store::rows::{
    AccountRow, ChargeRow, ItemSegmentRow, PriceRow, ProductRow, SubscriptionItemRow,
    SubscriptionRow, SubscriptionVersionRow,
};
use quoin_store::Tx;

use crate::error::AppResult;
use crate::finishing::{AccountFinishingRows, Finishing, TenantFinishing};
use crate::ledger::{books_of, load_books, Books};
use crate::model::DunningPolicy;

/// The tenant settings every account's billing shares (finishing, dunning policy).
#[derive(Clone)]
pub(crate) struct TenantSettings {
    finishing: TenantFinishing,
    dunning: Option<DunningPolicy>,
}

impl TenantSettings {
    pub(crate) async fn load(tx: &mut Tx, tenant: &str) -> AppResult<Self> {
        Ok(Self {
            finishing: TenantFinishing::load(tx, tenant).await?,
            dunning: crate::dunning::load_policy(tx, tenant).await?,
        })
    }
}

/// A page of accounts' billing reads, plus the tenant settings every account shares.
pub(crate) struct PageReads {
    pub(crate) tenant: String,
    rows: BillingPageRows,
    settings: TenantSettings,
    /// Set when billing an account changed rows beyond its own billing (a term ended, a
    /// dunning step applied): the rest of the page then reads directly.
    stale: AtomicBool,
    /// Writes held for one flush at the end of the page (see [`Self::buffer_writes`]).
    writes: Mutex<PageWrites>,
    buffering: AtomicBool,
}

impl PageReads {
    /// Reads (on PostgreSQL: locks) the sorted `accounts` and everything billing them
    /// reads; the tenant's `settings` are read by the caller, once for many pages.
    pub(crate) async fn load(
        tx: &mut Tx,
        tenant: &str,
        accounts: &[String],
        settings: TenantSettings,
    ) -> AppResult<Self> {
        let rows = tx.billing_page_rows(tenant, accounts).await?;
        Ok(Self::from_rows(tenant, rows, settings))
    }

    /// A page read elsewhere (ahead, on a reader connection).
    pub(crate) fn from_rows(tenant: &str, rows: BillingPageRows, settings: TenantSettings) -> Self {
        Self {
            tenant: tenant.to_string(),
            rows,
            settings,
            stale: AtomicBool::new(false),
            writes: Mutex::new(PageWrites::default()),
            buffering: AtomicBool::new(false),
        }
    }

    /// Whether billing one of its accounts changed rows beyond its own billing.
    pub(crate) fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Relaxed)
    }

    /// Holds invoices, lines, ledger entries, events and billed-through marks for one
    /// flush ([`Self::take_writes`]) instead of a statement each, and draws the page's
    /// invoice numbers from a counter written at the flush. Only for a page billed
    /// without savepoints (a failure rolls the whole page back): the buffer cannot take
    /// back one account's rows.
    pub(crate) async fn buffer_writes(&self, tx: &mut Tx) -> AppResult<()> {
        let next = tx.peek_sequence_value(&self.tenant, "invoice", 1).await?;
        self.lock_writes().next_invoice_number = Some(next);
        self.buffering.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// As [`Self::buffer_writes`], numbering from `next`: a page billed ahead continues the
    /// previous page's counter (the sequence row is that page's to write).
    pub(crate) fn buffer_writes_from(&self, next: i64) {
        self.lock_writes().next_invoice_number = Some(next);
        self.buffering.store(true, Ordering::Relaxed);
    }

    /// The tenant settings the page was billed with.
    pub(crate) fn settings(&self) -> &TenantSettings {
        &self.settings
    }

    /// The buffered writes, to flush before the page commits.
    pub(crate) fn take_writes(&self) -> PageWrites {
        std::mem::take(&mut *self.lock_writes())
    }

    fn lock_writes(&self) -> std::sync::MutexGuard<'_, PageWrites> {
        // Nothing panics while holding it; a poisoned buffer is still the page's rows.
        self.writes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reads for the next account: this page, read ahead unless something made it
    /// stale.
    pub(crate) fn reads(&self) -> Reads<'_> {
        Reads {
            page: Some(self),
            ahead: !self.stale.load(Ordering::Relaxed),
        }
    }

    /// Whether any account of the page has payment retries scheduled.
    pub(crate) fn has_retries(&self) -> bool {
        !self.rows.retries.is_empty()
    }

    pub(crate) fn account(&self, id: &str) -> Option<&AccountRow> {
        self.rows.accounts.iter().find(|a| a.id == id)
    }
}

/// The source of one account's billing reads (and, on a buffering page, where its writes
/// go).
#[derive(Clone, Copy, Default)]
pub(crate) struct Reads<'p> {
    page: Option<&'p PageReads>,
    /// Reads come from the page (off once something made it stale).
    ahead: bool,
}

impl<'p> Reads<'p> {
    /// Every read is a query of its own.
    pub(crate) const DIRECT: Reads<'static> = Reads {
        page: None,
        ahead: false,
    };

    fn ahead(self) -> Option<&'p PageReads> {
        self.page.filter(|_| self.ahead)
    }

    /// Whether a page serves this account (its run does the page-level writes).
    pub(crate) fn is_page(self) -> bool {
        self.page.is_some()
    }

    /// Rows were changed beyond this account's billing: what the page read ahead is no
    /// longer trusted, for this account or the rest of the page. (Writes still go to the
    /// page: its invoice numbers and buffer stay the page's.)
    pub(crate) fn stale(self) -> Reads<'p> {
        if let Some(p) = self.page {
            p.stale.store(true, Ordering::Relaxed);
        }
        Reads {
            page: self.page,
            ahead: false,
        }
    }

    /// The page's buffered writes, when the page buffers.
    pub(crate) fn with_writes<T>(self, f: impl FnOnce(&mut PageWrites) -> T) -> Option<T> {
        let p = self.page?;
        if !p.buffering.load(Ordering::Relaxed) {
            return None;
        }
        Some(f(&mut p.lock_writes()))
    }

    /// Whether this page buffers its writes.
    pub(crate) fn buffers(self) -> bool {
        self.page
            .is_some_and(|p| p.buffering.load(Ordering::Relaxed))
    }

    /// The next invoice number: the page's counter while it buffers (the sequence is
    /// written at the flush), else the tenant's sequence.
    pub(crate) async fn next_invoice_number(self, tx: &mut Tx, tenant: &str) -> AppResult<i64> {
        let drawn = self.with_writes(|w| {
            let n = w.next_invoice_number?;
            w.next_invoice_number = Some(n + 1);
            Some(n)
        });
        match drawn.flatten() {
            Some(n) => Ok(n),
            None => Ok(tx.next_sequence_value(tenant, "invoice", 1).await?),
        }
    }

    pub(crate) async fn subscriptions(
        self,
        tx: &mut Tx,
        account: &AccountRow,
    ) -> AppResult<Vec<SubscriptionRow>> {
        Ok(match self.ahead() {
            Some(p) => p
                .rows
                .subscriptions
                .get(&account.id)
                .cloned()
                .unwrap_or_default(),
            None => {
                tx.subscriptions_billed_to(&account.tenant_id, &account.id)
                    .await?
            }
        })
    }

    pub(crate) async fn product(
        self,
        tx: &mut Tx,
        tenant: &str,
        id: &str,
    ) -> AppResult<Option<ProductRow>> {
        match self.ahead().and_then(|p| p.rows.products.get(id)) {
            Some(row) => Ok(Some(row.clone())),
            None => Ok(tx.get_product(tenant, id).await?),
        }
    }

    /// A price the page holds; `None` means "ask the transaction".
    pub(crate) fn known_price(self, id: &str) -> Option<PriceRow> {
        self.ahead().and_then(|p| p.rows.prices.get(id)).cloned()
    }

    pub(crate) async fn versions(
        self,
        tx: &mut Tx,
        tenant: &str,
        sub: &str,
    ) -> AppResult<Vec<SubscriptionVersionRow>> {
        Ok(match self.ahead() {
            Some(p) => p.rows.versions.get(sub).cloned().unwrap_or_default(),
            None => tx.subscription_versions(tenant, sub).await?,
        })
    }

    pub(crate) async fn segments(
        self,
        tx: &mut Tx,
        tenant: &str,
        sub: &str,
    ) -> AppResult<Vec<ItemSegmentRow>> {
        Ok(match self.ahead() {
            Some(p) => p.rows.segments.get(sub).cloned().unwrap_or_default(),
            None => tx.subscription_segments(tenant, sub).await?,
        })
    }

    pub(crate) async fn items(
        self,
        tx: &mut Tx,
        tenant: &str,
        sub: &str,
    ) -> AppResult<Vec<SubscriptionItemRow>> {
        Ok(match self.ahead() {
            Some(p) => p.rows.items.get(sub).cloned().unwrap_or_default(),
            None => tx.subscription_items(tenant, sub).await?,
        })
    }

    /// Unbilled one-off charges dated on or before `through`, oldest first.
    pub(crate) async fn unbilled_charges(
        self,
        tx: &mut Tx,
        account: &AccountRow,
        through: &str,
    ) -> AppResult<Vec<ChargeRow>> {
        Ok(match self.ahead() {
            // ISO dates compare as text, as in the query.
            Some(p) => p
                .rows
                .charges
                .get(&account.id)
                .map(|c| {
                    c.iter()
                        .filter(|c| c.charge_date.as_str() <= through)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            None => {
                tx.unbilled_charges(&account.tenant_id, &account.id, through)
                    .await?
            }
        })
    }

    /// The account's finishing context (taxes, coupons, fees, wallets).
    pub(crate) async fn finishing<'a>(
        self,
        tx: &mut Tx,
        account: &'a AccountRow,
    ) -> AppResult<Finishing<'a>> {
        let mut f = Finishing::new(account);
        if let Some(p) = self.ahead() {
            let rows = AccountFinishingRows {
                profile: p.rows.tax_profiles.get(&account.id).cloned(),
                redemptions: p
                    .rows
                    .redemptions
                    .get(&account.id)
                    .cloned()
                    .unwrap_or_default(),
                wallets: p.rows.wallets.get(&account.id).cloned().unwrap_or_default(),
            };
            f.preload(tx, &p.settings.finishing, rows).await?;
        }
        Ok(f)
    }

    /// The account's ledger as its documents give it.
    pub(crate) async fn books(self, tx: &mut Tx, account: &AccountRow) -> AppResult<Books> {
        match self.ahead() {
            Some(p) => {
                let docs: AccountDocuments = p
                    .rows
                    .documents
                    .get(&account.id)
                    .cloned()
                    .unwrap_or_default();
                books_of(account, docs)
            }
            None => load_books(tx, account).await,
        }
    }

    /// The account's payment retries due by `day`, oldest first.
    pub(crate) async fn due_retries(
        self,
        tx: &mut Tx,
        account: &AccountRow,
        day: &str,
    ) -> AppResult<Vec<PaymentRetryRow>> {
        Ok(match self.ahead() {
            Some(p) => p
                .rows
                .retries
                .get(&account.id)
                .map(|r| {
                    r.iter()
                        .filter(|r| r.next_retry_on.as_deref().is_some_and(|d| d <= day))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            None => {
                tx.due_payment_retries(&account.tenant_id, &account.id, day)
                    .await?
            }
        })
    }

    /// The tenant's dunning policy.
    pub(crate) async fn dunning_policy(
        self,
        tx: &mut Tx,
        tenant: &str,
    ) -> AppResult<Option<DunningPolicy>> {
        match self.ahead() {
            Some(p) => Ok(p.settings.dunning.clone()),
            None => crate::dunning::load_policy(tx, tenant).await,
        }
    }
}
