//! Where billing reads an account's rows from: its own queries (one bill, the test clock,
//! the upcoming invoice), or a page of accounts read ahead by an invoice run with one
//! query per table (`Tx::billing_page_rows`). Both give the same rows in the same order,
//! so `bill_in_tx` is one code path whichever serves it.

use std::sync::atomic::{AtomicBool, Ordering};

use quoin_store::repo::billing_page::BillingPageRows;
use quoin_store::repo::ledger::AccountDocuments;
use quoin_store::rows::{
    AccountRow, ChargeRow, ItemSegmentRow, PriceRow, ProductRow, SubscriptionItemRow,
    SubscriptionRow, SubscriptionVersionRow,
};
use quoin_store::Tx;

use crate::error::AppResult;
use crate::finishing::{AccountFinishingRows, Finishing, TenantFinishing};
use crate::ledger::{books_of, load_books, Books};
use crate::model::DunningPolicy;

/// A page of accounts' billing reads, plus the tenant settings every account shares.
pub(crate) struct PageReads {
    pub(crate) tenant: String,
    rows: BillingPageRows,
    finishing: TenantFinishing,
    dunning: Option<DunningPolicy>,
    /// Set when billing an account changed rows beyond its own billing (a term ended, a
    /// dunning step applied): the rest of the page then reads directly.
    stale: AtomicBool,
}

impl PageReads {
    /// Reads (on PostgreSQL: locks) the sorted `accounts` and everything billing them reads.
    pub(crate) async fn load(tx: &mut Tx, tenant: &str, accounts: &[String]) -> AppResult<Self> {
        Ok(Self {
            tenant: tenant.to_string(),
            rows: tx.billing_page_rows(tenant, accounts).await?,
            finishing: TenantFinishing::load(tx, tenant).await?,
            dunning: crate::dunning::load_policy(tx, tenant).await?,
            stale: AtomicBool::new(false),
        })
    }

    /// The reads for the next account: this page unless something made it stale.
    pub(crate) fn reads(&self) -> Reads<'_> {
        if self.stale.load(Ordering::Relaxed) {
            Reads::DIRECT
        } else {
            Reads(Some(self))
        }
    }

    pub(crate) fn account(&self, id: &str) -> Option<&AccountRow> {
        self.rows.accounts.iter().find(|a| a.id == id)
    }
}

/// The source of one account's billing reads.
#[derive(Clone, Copy, Default)]
pub(crate) struct Reads<'p>(Option<&'p PageReads>);

impl Reads<'_> {
    /// Every read is a query of its own.
    pub(crate) const DIRECT: Reads<'static> = Reads(None);

    /// Whether a page read ahead serves these reads (and its run does page-level writes).
    pub(crate) fn is_page(self) -> bool {
        self.0.is_some()
    }

    /// Rows were changed beyond this account's billing: what the page read ahead is no
    /// longer trusted, for this account or the rest of the page.
    pub(crate) fn stale(self) -> Reads<'static> {
        if let Some(p) = self.0 {
            p.stale.store(true, Ordering::Relaxed);
        }
        Reads::DIRECT
    }

    pub(crate) async fn subscriptions(
        self,
        tx: &mut Tx,
        account: &AccountRow,
    ) -> AppResult<Vec<SubscriptionRow>> {
        Ok(match self.0 {
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
        match self.0.and_then(|p| p.rows.products.get(id)) {
            Some(row) => Ok(Some(row.clone())),
            None => Ok(tx.get_product(tenant, id).await?),
        }
    }

    /// A price the page holds; `None` means "ask the transaction".
    pub(crate) fn known_price(self, id: &str) -> Option<PriceRow> {
        self.0.and_then(|p| p.rows.prices.get(id)).cloned()
    }

    pub(crate) async fn versions(
        self,
        tx: &mut Tx,
        tenant: &str,
        sub: &str,
    ) -> AppResult<Vec<SubscriptionVersionRow>> {
        Ok(match self.0 {
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
        Ok(match self.0 {
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
        Ok(match self.0 {
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
        Ok(match self.0 {
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
        if let Some(p) = self.0 {
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
            f.preload(tx, &p.finishing, rows).await?;
        }
        Ok(f)
    }

    /// The account's ledger as its documents give it.
    pub(crate) async fn books(self, tx: &mut Tx, account: &AccountRow) -> AppResult<Books> {
        match self.0 {
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

    /// The tenant's dunning policy.
    pub(crate) async fn dunning_policy(
        self,
        tx: &mut Tx,
        tenant: &str,
    ) -> AppResult<Option<DunningPolicy>> {
        match self.0 {
            Some(p) => Ok(p.dunning.clone()),
            None => crate::dunning::load_policy(tx, tenant).await,
        }
    }
}
