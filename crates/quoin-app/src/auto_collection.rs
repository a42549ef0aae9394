//! Automatic collection: an invoice finalized with an amount due, for an account whose
//! default payment method collects automatically, is charged once through the gateway.
//!
//! Billing never charges. A billing transaction may be rolled back and redone (an invoice
//! run's page is billed without savepoints, then again with them when an account fails),
//! and a rollback cannot undo a charge. So the charge is a separate step run *after* the
//! finalizing transaction committed — by the daily billing pass, after each committed chunk
//! of an invoice run, and after `finalize` / `bill` requests. It finds its work by query
//! (finalized, open, not voided, account collecting automatically, no `auto_collections`
//! row: invoices already open when auto-collection became active got a `skipped` one),
//! so a step that was missed (a crash after the commit) is caught up by the next one. Each invoice is charged in its own transaction under the account's lock,
//! which also writes its `auto_collections` row: a concurrent or repeated step finds the
//! row and charges nothing. The payment id `pay_auto_<invoice>` is the gateway's
//! idempotency key, so a charge whose recording transaction was lost is de-duplicated by
//! the gateway when the next step charges again.

use quoin_core::money::Money;
use quoin_store::repo::payment_methods::{AutoCollectionRow, DueCollection};

use crate::accounts::lock_account;
use crate::billing::account_today;
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::ledger::load_books;
use crate::model::{AccountError, PaymentMethodCode};
use crate::payment_retries::{record_charge, Charged};
use crate::payments::{Allocate, NewPayment};
use crate::App;

/// The payment (and gateway idempotency key) of an invoice's automatic charge.
fn payment_id(invoice: &str) -> String {
    format!("pay_auto_{invoice}")
}

impl App {
    /// Charges every invoice of the tenant (or of one account) due for automatic
    /// collection. A failure of one invoice does not stop the others; failures are
    /// logged and returned per account. Declines are not failures: the attempt is
    /// recorded and the retry policy and dunning take over.
    pub(crate) async fn collect_due(
        &self,
        tenant: &str,
        account: Option<&str>,
    ) -> Vec<AccountError> {
        let due = async {
            let mut tx = self.store.read().await?;
            let due = tx.due_collections(tenant, account).await?;
            tx.commit().await?;
            AppResult::Ok(due)
        }
        .await;
        let due = match due {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(tenant, error = %e, "automatic collection could not list its work");
                return vec![AccountError {
                    account_id: account.unwrap_or_default().to_string(),
                    code: e.code().to_string(),
                    message: e.to_string(),
                }];
            }
        };
        let mut errors = Vec::new();
        for d in &due {
            if let Err(e) = self.collect_one(tenant, d).await {
                tracing::warn!(tenant, invoice = %d.invoice_id, error = %e, "automatic charge failed");
                errors.push(AccountError {
                    account_id: d.account_id.clone(),
                    code: e.code().to_string(),
                    message: format!("invoice `{}`: {e}", d.invoice_id),
                });
            }
        }
        errors
    }

    /// Charges one invoice's open amount, unless something changed since it was listed
    /// (charged already, paid, method removed or auto-collection off).
    async fn collect_one(&self, tenant: &str, due: &DueCollection) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let account = lock_account(&mut tx, tenant, &due.account_id).await?;
        let invoice = due.invoice_id.as_str();
        if tx.get_auto_collection(tenant, invoice).await?.is_some() {
            return Ok(());
        }
        let Some(method) = tx
            .get_payment_method(tenant, &account.id)
            .await?
            .filter(|m| m.auto_collection != 0)
        else {
            return Ok(());
        };
        let Some(gateway) = self.gateway_named(&method.gateway) else {
            return Ok(());
        };
        let books = load_books(&mut tx, &account).await?;
        let Some(open) = books
            .ledger
            .open_amount(invoice)
            .ok()
            .filter(Money::is_positive)
        else {
            return Ok(());
        };
        let number = tx
            .get_invoice(tenant, invoice)
            .await?
            .and_then(|i| i.number)
            .unwrap_or_else(|| invoice.to_string());
        let now = self.tenant_now(&mut tx, tenant).await?;
        let today = account_today(&account, now)?;
        let id = payment_id(invoice);
        let new = NewPayment {
            account: account.clone(),
            amount: open,
            method: PaymentMethodCode::Gateway,
            reference: Some(format!("automatic charge of invoice {number}")),
            received_on: today,
            allocate: Allocate::Explicit(vec![(invoice.to_string(), open)]),
            gateway: Some((gateway, method.payment_method.clone())),
            // Our id: it is the gateway's idempotency key, and we record the attempt.
            retry_id: Some(id.clone()),
        };
        let declined = match self.post_payment(&mut tx, new).await {
            Ok(Ok(_)) => None,
            Ok(Err(AppError::PaymentDeclined { .. })) => Some(
                tx.get_payment(tenant, &id)
                    .await?
                    .and_then(|p| p.failure_code)
                    .unwrap_or_else(|| "declined".into()),
            ),
            // Nothing was charged: the next collection step tries again.
            Err(AppError::Unavailable { .. }) => return Ok(()),
            Ok(Err(e)) | Err(e) => return Err(e),
        };
        let now_us = to_us(now);
        let charged = Charged {
            account: &account,
            payment_id: &id,
            gateway: gateway.name(),
            token: &method.payment_method,
            on: today,
            declined: declined.as_deref(),
            now_us,
        };
        // The attempt, and on a decline the tenant's retry plan, as for any charge.
        record_charge(&mut tx, &charged, &[(invoice.to_string(), open)]).await?;
        tx.insert_auto_collection(&AutoCollectionRow {
            tenant_id: tenant.to_string(),
            invoice_id: invoice.to_string(),
            account_id: account.id.clone(),
            payment_id: Some(id),
            amount_minor: open.minor(),
            outcome: if declined.is_some() {
                "declined"
            } else {
                "succeeded"
            }
            .into(),
            attempted_on: today.to_string(),
            created_at_us: now_us,
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
