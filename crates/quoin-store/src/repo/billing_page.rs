//! Batched reads for a page of bill-to accounts: one query per table for the whole page
//! instead of one per account or subscription. Invoice runs bill pages of hundreds of
//! accounts; on SQLite every statement is a round trip to the connection's worker thread,
//! so the number of statements, not the SQL, is what a run's time is made of.

use std::collections::HashMap;

use super::finishing::{RedemptionRow, TaxProfileRow, WalletRow};
use super::ledger::AccountDocuments;
use super::retries::PaymentRetryRow;
use crate::rows::{
    AccountRow, ChargeRow, ItemSegmentRow, PriceRow, ProductRow, SubscriptionItemRow,
    SubscriptionRow, SubscriptionVersionRow,
};
use crate::{Result, Tx};

/// The rows of `table` `WHERE <head> <ids> <tail>`, in `order` (empty: any), the ids bound
/// as one value: a JSON array read by `json_each` on SQLite, a `text[]` on PostgreSQL.
/// (sqlx binds SQLite parameters at a cost that grows with their number, so a list of
/// hundreds of `$n` costs more than the query; one packed value keeps it flat.) On SQLite
/// the rows also come back packed (`packed_rows`). `$lock`: `FOR UPDATE` on
/// PostgreSQL.
macro_rules! fetch_in {
    ($tx:expr, $ty:ty, $table:expr, $head:expr, $tail:expr, $order:expr, $tenant:expr, $ids:expr) => {
        fetch_in!($tx, $ty, $table, $head, $tail, $order, $tenant, $ids, "")
    };
    ($tx:expr, $ty:ty, $table:expr, $head:expr, $tail:expr, $order:expr, $tenant:expr, $ids:expr, $lock:expr) => {{
        let ids: &[String] = &$ids;
        let order: &str = $order;
        let rows: Vec<$ty> = match $tx {
            Tx::Sqlite(t) => {
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                let filter = format!("{} (SELECT value FROM json_each($2)) {}", $head, $tail);
                let packed = super::usage::pack_strs(&refs);
                let from = format!("FROM {} WHERE {}", $table, filter);
                super::packed_rows::fetch_packed(
                    &mut **t, $table, None, &from, order, $tenant, &packed,
                )
                .await?
            }
            Tx::Postgres(t) => {
                let order = if order.is_empty() {
                    String::new()
                } else {
                    format!("ORDER BY {order}")
                };
                let sql = format!(
                    "SELECT * FROM {} WHERE {} (SELECT unnest($2::text[])) {} {} {}",
                    $table, $head, $tail, order, $lock
                );
                sqlx::query_as(&sql)
                    .bind($tenant)
                    .bind(ids)
                    .fetch_all(&mut **t)
                    .await?
            }
        };
        rows
    }};
}

/// Everything `bill_in_tx` reads for the accounts of one page, grouped by owner and in the
/// order the one-at-a-time queries return it.
#[derive(Debug, Default)]
pub struct BillingPageRows {
    /// The page's accounts, locked for update on PostgreSQL.
    pub accounts: Vec<AccountRow>,
    /// Billable subscriptions by bill-to account, by id.
    pub subscriptions: HashMap<String, Vec<SubscriptionRow>>,
    /// Items by subscription, by position.
    pub items: HashMap<String, Vec<SubscriptionItemRow>>,
    /// Segments by subscription, by item and start date.
    pub segments: HashMap<String, Vec<ItemSegmentRow>>,
    /// Versions by subscription, by version.
    pub versions: HashMap<String, Vec<SubscriptionVersionRow>>,
    /// Unbilled one-off charges by account, by date (all dates: callers cut at their day).
    pub charges: HashMap<String, Vec<ChargeRow>>,
    pub products: HashMap<String, ProductRow>,
    /// Prices the segments and subscriptions name.
    pub prices: HashMap<String, PriceRow>,
    pub tax_profiles: HashMap<String, TaxProfileRow>,
    pub redemptions: HashMap<String, Vec<RedemptionRow>>,
    pub wallets: HashMap<String, Vec<WalletRow>>,
    /// Ledger documents by account, as `account_documents` returns them.
    pub documents: HashMap<String, AccountDocuments>,
    /// Scheduled payment retries by account, by date (all dates: callers cut at their day).
    pub retries: HashMap<String, Vec<PaymentRetryRow>>,
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> &str) -> HashMap<String, Vec<T>> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for row in rows {
        out.entry(key(&row).to_string()).or_default().push(row);
    }
    out
}

impl Tx {
    /// Reads (and on PostgreSQL locks) a page of bill-to accounts and what billing them
    /// reads, in a fixed number of statements. `accounts` must be sorted.
    pub async fn billing_page_rows(
        &mut self,
        tenant: &str,
        accounts: &[String],
    ) -> Result<BillingPageRows> {
        let lock = match self {
            Tx::Postgres(_) => "FOR UPDATE",
            Tx::Sqlite(_) => "",
        };
        let account_rows = fetch_in!(
            self,
            AccountRow,
            "accounts",
            "tenant_id = $1 AND id IN",
            "",
            "id",
            tenant,
            accounts,
            lock
        );
        let subs = fetch_in!(
            self,
            SubscriptionRow,
            "subscriptions",
            "tenant_id = $1 AND bill_to_id IN",
            format!("AND {}", super::subscriptions::BILLABLE),
            "bill_to_id, id",
            tenant,
            accounts
        );
        let mut sub_ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();
        sub_ids.sort();
        let items = fetch_in!(
            self,
            SubscriptionItemRow,
            "subscription_items",
            "tenant_id = $1 AND subscription_id IN",
            "",
            "subscription_id, position",
            tenant,
            sub_ids
        );
        let segments = fetch_in!(
            self,
            ItemSegmentRow,
            "subscription_item_segments",
            "tenant_id = $1 AND subscription_id IN",
            "",
            "subscription_id, item_id, start_date",
            tenant,
            sub_ids
        );
        let versions = fetch_in!(
            self,
            SubscriptionVersionRow,
            "subscription_versions",
            "tenant_id = $1 AND subscription_id IN",
            "",
            "subscription_id, version",
            tenant,
            sub_ids
        );
        let charges = fetch_in!(
            self,
            ChargeRow,
            "subscription_charges",
            "tenant_id = $1 AND invoice_line_id IS NULL AND account_id IN",
            "",
            "account_id, charge_date, created_at_us, id",
            tenant,
            accounts
        );
        let mut price_ids: Vec<String> = segments
            .iter()
            .map(|s| s.price_id.clone())
            .chain(subs.iter().map(|s| s.price_id.clone()))
            .collect();
        price_ids.sort();
        price_ids.dedup();
        let prices = fetch_in!(
            self,
            PriceRow,
            "prices",
            "tenant_id = $1 AND id IN",
            "",
            "",
            tenant,
            price_ids
        );
        let mut product_ids: Vec<String> = subs.iter().map(|s| s.product_id.clone()).collect();
        product_ids.sort();
        product_ids.dedup();
        let products = fetch_in!(
            self,
            ProductRow,
            "products",
            "tenant_id = $1 AND id IN",
            "",
            "",
            tenant,
            product_ids
        );
        let tax_profiles = fetch_in!(
            self,
            TaxProfileRow,
            "account_tax_profiles",
            "tenant_id = $1 AND account_id IN",
            "",
            "",
            tenant,
            accounts
        );
        let redemptions = fetch_in!(
            self,
            RedemptionRow,
            "coupon_redemptions",
            "tenant_id = $1 AND account_id IN",
            "",
            "account_id, created_at_us, id",
            tenant,
            accounts
        );
        let wallets = fetch_in!(
            self,
            WalletRow,
            "wallets",
            "tenant_id = $1 AND account_id IN",
            "",
            "account_id, created_at_us, id",
            tenant,
            accounts
        );
        let retries = fetch_in!(
            self,
            PaymentRetryRow,
            "payment_retries",
            "tenant_id = $1 AND status = 'scheduled' AND account_id IN",
            "",
            "account_id, next_retry_on, invoice_id",
            tenant,
            accounts
        );
        let documents = self.page_documents(tenant, accounts).await?;
        Ok(BillingPageRows {
            accounts: account_rows,
            subscriptions: group(subs, |s| &s.bill_to_id),
            items: group(items, |i| &i.subscription_id),
            segments: group(segments, |s| &s.subscription_id),
            versions: group(versions, |v| &v.subscription_id),
            charges: group(charges, |c| &c.account_id),
            products: products.into_iter().map(|p| (p.id.clone(), p)).collect(),
            prices: prices.into_iter().map(|p| (p.id.clone(), p)).collect(),
            tax_profiles: tax_profiles
                .into_iter()
                .map(|p| (p.account_id.clone(), p))
                .collect(),
            redemptions: group(redemptions, |r| &r.account_id),
            wallets: group(wallets, |w| &w.account_id),
            documents,
            retries: group(retries, |r| &r.account_id),
        })
    }

    /// `account_documents` for many accounts; every account of `accounts` has an entry.
    async fn page_documents(
        &mut self,
        tenant: &str,
        accounts: &[String],
    ) -> Result<HashMap<String, AccountDocuments>> {
        let mut out: HashMap<String, AccountDocuments> = accounts
            .iter()
            .map(|a| (a.clone(), AccountDocuments::default()))
            .collect();
        let entries = fetch_in!(
            self,
            super::ledger::LedgerEntryRow,
            "ledger_entries",
            "tenant_id = $1 AND account_id IN",
            "",
            "account_id, seq",
            tenant,
            accounts
        );
        let invoices = fetch_in!(
            self,
            crate::rows::InvoiceRow,
            "invoices",
            "tenant_id = $1 AND finalized_at_us IS NOT NULL AND account_id IN",
            "",
            "",
            tenant,
            accounts
        );
        let notes = fetch_in!(
            self,
            super::ledger::CreditNoteRow,
            "credit_notes",
            "tenant_id = $1 AND account_id IN",
            "",
            "",
            tenant,
            accounts
        );
        let payments = fetch_in!(
            self,
            super::ledger::PaymentRow,
            "payments",
            "tenant_id = $1 AND account_id IN",
            "",
            "",
            tenant,
            accounts
        );
        // Allocations and refunds through the payments' ids: both planners walk indexes
        // from the accounts instead of the tenant's rows (refunds have no account index).
        let allocations = fetch_in!(
            self,
            super::ledger::PaymentAllocationRow,
            "payment_allocations",
            "tenant_id = $1 AND payment_id IN (SELECT id FROM payments WHERE tenant_id = $1 \
             AND account_id IN",
            ")",
            "payment_id, position",
            tenant,
            accounts
        );
        let refunds = fetch_in!(
            self,
            super::ledger::RefundRow,
            "refunds",
            "tenant_id = $1 AND payment_id IN (SELECT id FROM payments WHERE tenant_id = $1 \
             AND account_id IN",
            ")",
            "",
            tenant,
            accounts
        );
        let payer: HashMap<String, String> = payments
            .iter()
            .map(|p| (p.id.clone(), p.account_id.clone()))
            .collect();
        for e in entries {
            out.entry(e.account_id.clone()).or_default().entries.push(e);
        }
        for i in invoices {
            out.entry(i.account_id.clone())
                .or_default()
                .invoices
                .push(i);
        }
        for n in notes {
            out.entry(n.account_id.clone())
                .or_default()
                .credit_notes
                .push(n);
        }
        for a in allocations {
            if let Some(account) = payer.get(&a.payment_id) {
                out.entry(account.clone()).or_default().allocations.push(a);
            }
        }
        for p in payments {
            out.entry(p.account_id.clone())
                .or_default()
                .payments
                .push(p);
        }
        for r in refunds {
            out.entry(r.account_id.clone()).or_default().refunds.push(r);
        }
        Ok(out)
    }
}
