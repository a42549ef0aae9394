//! Payment retries: a declined gateway charge of an invoice is tried again on the tenant's
//! retry days (counted from the failure) by the daily billing job, until a charge succeeds,
//! the invoice is settled some other way, or the days run out. Every charge aimed at an
//! invoice is kept as an attempt with its outcome, and every retry is an outbox event.

use jiff::civil::Date;
use jiff::ToSpan;
use quoin_core::money::Money;
use quoin_store::new_id;
use quoin_store::repo::retries::{PaymentAttemptRow, PaymentRetryRow};
use quoin_store::rows::AccountRow;
use quoin_store::Tx;
use serde_json::json;

use crate::auth::{Action, Principal};
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::ledger::{internal, load_books, minor_text};
use crate::model::{
    InvoicePaymentAttempts, PaymentAttempt, PaymentMethodCode, PaymentRetryPlan,
    PaymentRetryPolicy, SetRetryPaymentMethod,
};
use crate::payments::{Allocate, NewPayment};
use crate::subscriptions::parse_date;
use crate::App;

/// `billing_settings` kind of the retry schedule (one per tenant, key '').
const KIND: &str = "payment_retry";
const MAX_RETRIES: usize = 20;

fn check(policy: &PaymentRetryPolicy) -> AppResult<()> {
    let bad = |i: usize, message: String| AppError::Invalid {
        code: "invalid_retry_days",
        field: Some(format!("retry_days[{i}]")),
        message,
    };
    if policy.retry_days.len() > MAX_RETRIES {
        return Err(bad(
            MAX_RETRIES,
            format!("at most {MAX_RETRIES} retry days"),
        ));
    }
    let mut last = 0;
    for (i, &d) in policy.retry_days.iter().enumerate() {
        if !(1..=365).contains(&d) {
            return Err(bad(i, format!("must be 1–365 days, got {d}")));
        }
        if d <= last {
            return Err(bad(
                i,
                format!("must be after the previous day ({last}), got {d}"),
            ));
        }
        last = d;
    }
    Ok(())
}

async fn load_policy(tx: &mut Tx, tenant: &str) -> AppResult<PaymentRetryPolicy> {
    match tx.get_setting(tenant, KIND, "").await? {
        Some(body) => serde_json::from_str(&body).map_err(internal),
        None => Ok(PaymentRetryPolicy {
            retry_days: Vec::new(),
        }),
    }
}

fn day_after(from: Date, days: i64) -> AppResult<Date> {
    from.checked_add(days.days()).map_err(internal)
}

/// A gateway charge just made for some invoices (by request, not a retry).
pub(crate) struct Charged<'a> {
    pub account: &'a AccountRow,
    pub payment_id: &'a str,
    pub gateway: &'a str,
    pub token: &'a str,
    pub on: Date,
    pub declined: Option<&'a str>,
    pub now_us: i64,
}

/// Records the charge as an attempt on each invoice it was meant to pay and, when it was
/// declined, schedules the tenant's retries of that invoice (unless some are already
/// scheduled: a second failure does not restart the count).
pub(crate) async fn record_charge(
    tx: &mut Tx,
    c: &Charged<'_>,
    invoices: &[(String, Money)],
) -> AppResult<()> {
    let tenant = c.account.tenant_id.as_str();
    let policy = load_policy(tx, tenant).await?;
    for (invoice, amount) in invoices {
        let attempt = tx.next_payment_attempt(tenant, invoice).await?;
        tx.insert_payment_attempt(&PaymentAttemptRow {
            tenant_id: tenant.to_string(),
            invoice_id: invoice.clone(),
            attempt,
            account_id: c.account.id.clone(),
            retry: 0,
            attempted_on: c.on.to_string(),
            payment_id: Some(c.payment_id.to_string()),
            currency: c.account.currency.clone(),
            amount_minor: amount.minor(),
            outcome: if c.declined.is_some() {
                "declined"
            } else {
                "succeeded"
            }
            .into(),
            failure_code: c.declined.map(Into::into),
            created_at_us: c.now_us,
        })
        .await?;
        let Some(&first) = policy.retry_days.first() else {
            continue;
        };
        let running = tx
            .get_payment_retry(tenant, invoice)
            .await?
            .is_some_and(|r| r.status == "scheduled");
        if c.declined.is_none() || running {
            continue;
        }
        tx.put_payment_retry(&PaymentRetryRow {
            tenant_id: tenant.to_string(),
            invoice_id: invoice.clone(),
            account_id: c.account.id.clone(),
            gateway: c.gateway.to_string(),
            payment_method: c.token.to_string(),
            failed_on: c.on.to_string(),
            retry_days: serde_json::to_string(&policy.retry_days).map_err(internal)?,
            retries_done: 0,
            next_retry_on: Some(day_after(c.on, first)?.to_string()),
            status: "scheduled".into(),
            updated_at_us: c.now_us,
        })
        .await?;
    }
    Ok(())
}

fn plan_view(r: &PaymentRetryRow) -> AppResult<PaymentRetryPlan> {
    Ok(PaymentRetryPlan {
        status: r.status.clone(),
        gateway: r.gateway.clone(),
        failed_on: parse_date(&r.failed_on, "failed_on")?,
        retry_days: serde_json::from_str(&r.retry_days).map_err(internal)?,
        retries_done: r.retries_done,
        next_retry_on: r
            .next_retry_on
            .as_deref()
            .map(|d| parse_date(d, "next_retry_on"))
            .transpose()?,
    })
}

fn attempt_view(r: &PaymentAttemptRow) -> AppResult<PaymentAttempt> {
    Ok(PaymentAttempt {
        attempt: r.attempt,
        retry: r.retry,
        attempted_on: parse_date(&r.attempted_on, "attempted_on")?,
        payment_id: r.payment_id.clone(),
        amount: minor_text(r.amount_minor, &r.currency)?,
        currency: r.currency.clone(),
        outcome: r.outcome.clone(),
        failure_code: r.failure_code.clone(),
        created_at: from_us(r.created_at_us),
    })
}

impl App {
    pub async fn put_payment_retry_policy(
        &self,
        p: &Principal,
        policy: PaymentRetryPolicy,
    ) -> AppResult<PaymentRetryPolicy> {
        p.require(Action::Bill)?;
        check(&policy)?;
        let mut tx = self.store.begin().await?;
        let now = to_us(self.tenant_now(&mut tx, &p.tenant_id).await?);
        let body = serde_json::to_string(&policy).map_err(internal)?;
        tx.put_setting(&p.tenant_id, KIND, "", &body, now).await?;
        emit(
            &mut tx,
            &p.tenant_id,
            "payment_retry_policy.updated",
            "tenant",
            &p.tenant_id,
            &policy,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(policy)
    }

    pub async fn get_payment_retry_policy(&self, p: &Principal) -> AppResult<PaymentRetryPolicy> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let policy = load_policy(&mut tx, &p.tenant_id).await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// An invoice's gateway charge attempts and where its retries stand.
    pub async fn invoice_payment_attempts(
        &self,
        p: &Principal,
        invoice_id: &str,
    ) -> AppResult<InvoicePaymentAttempts> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        if tx.get_invoice(tenant, invoice_id).await?.is_none() {
            return Err(AppError::not_found("invoice", invoice_id));
        }
        let plan = tx.get_payment_retry(tenant, invoice_id).await?;
        let attempts = tx.payment_attempts(tenant, invoice_id).await?;
        tx.commit().await?;
        Ok(InvoicePaymentAttempts {
            invoice_id: invoice_id.to_string(),
            retry: plan.as_ref().map(plan_view).transpose()?,
            attempts: attempts
                .iter()
                .map(attempt_view)
                .collect::<AppResult<_>>()?,
        })
    }

    /// Points an invoice's scheduled retries at another payment method; the schedule (and
    /// its count) is unchanged.
    pub async fn set_retry_payment_method(
        &self,
        p: &Principal,
        invoice_id: &str,
        input: SetRetryPaymentMethod,
    ) -> AppResult<InvoicePaymentAttempts> {
        p.require(Action::Bill)?;
        let tenant = p.tenant_id.as_str();
        let token = crate::validate::text("payment_method", &input.payment_method, 200)?;
        let mut tx = self.store.begin().await?;
        let invoice = tx
            .get_invoice(tenant, invoice_id)
            .await?
            .ok_or_else(|| AppError::not_found("invoice", invoice_id))?;
        // The billing job retries under the account's lock.
        crate::accounts::lock_account(&mut tx, tenant, &invoice.account_id).await?;
        let mut plan = tx
            .get_payment_retry(tenant, invoice_id)
            .await?
            .filter(|r| r.status == "scheduled")
            .ok_or_else(|| AppError::Conflict {
                code: "no_scheduled_retry",
                message: format!("invoice `{invoice_id}` has no payment retry scheduled"),
            })?;
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        plan.payment_method = token;
        plan.updated_at_us = now;
        tx.put_payment_retry(&plan).await?;
        tx.commit().await?;
        self.invoice_payment_attempts(p, invoice_id).await
    }

    /// Makes the account's retries due by `today`, one per invoice per call (the caller
    /// holds the account's lock; the daily job calls this before dunning, so a retry that
    /// pays resolves dunning the same day); `true` when any was due. A retry charges what
    /// is open on the invoice then; an invoice settled otherwise stops its retries without
    /// a charge.
    pub(crate) async fn retry_payments_in_tx(
        &self,
        tx: &mut Tx,
        account: &AccountRow,
        today: Date,
        now_us: i64,
    ) -> AppResult<bool> {
        let tenant = account.tenant_id.as_str();
        let due = tx
            .due_payment_retries(tenant, &account.id, &today.to_string())
            .await?;
        let any = !due.is_empty();
        for mut plan in due {
            let days: Vec<i64> = serde_json::from_str(&plan.retry_days).map_err(internal)?;
            let retry = plan.retries_done + 1;
            let books = load_books(tx, account).await?;
            // A voided invoice is gone from the ledger: nothing is open on it.
            let open = books.ledger.open_amount(&plan.invoice_id).ok();
            let Some(open) = open.filter(|o| o.is_positive()) else {
                plan.status = "stopped".into();
                plan.next_retry_on = None;
                plan.updated_at_us = now_us;
                tx.put_payment_retry(&plan).await?;
                let payload = json!({"invoice_id": plan.invoice_id, "account_id": account.id,
                    "retries_done": plan.retries_done, "status": plan.status});
                emit(
                    tx,
                    tenant,
                    "payment_retry.stopped",
                    "invoice",
                    &plan.invoice_id,
                    &payload,
                    now_us,
                )
                .await?;
                continue;
            };
            let (outcome, payment_id, failure_code) = self
                .charge_again(tx, account, &plan, open, retry, today)
                .await?;
            plan.retries_done = retry;
            let left = usize::try_from(retry)
                .ok()
                .and_then(|n| days.get(n))
                .copied();
            (plan.status, plan.next_retry_on) = match (outcome, left) {
                ("succeeded", _) => ("succeeded".into(), None),
                (_, Some(d)) => (
                    "scheduled".into(),
                    Some(day_after(parse_date(&plan.failed_on, "failed_on")?, d)?.to_string()),
                ),
                (_, None) => ("exhausted".into(), None),
            };
            plan.updated_at_us = now_us;
            tx.put_payment_retry(&plan).await?;
            let attempt = tx.next_payment_attempt(tenant, &plan.invoice_id).await?;
            let row = PaymentAttemptRow {
                tenant_id: tenant.to_string(),
                invoice_id: plan.invoice_id.clone(),
                attempt,
                account_id: account.id.clone(),
                retry,
                attempted_on: today.to_string(),
                payment_id,
                currency: account.currency.clone(),
                amount_minor: open.minor(),
                outcome: outcome.into(),
                failure_code,
                created_at_us: now_us,
            };
            tx.insert_payment_attempt(&row).await?;
            let mut payload = serde_json::to_value(attempt_view(&row)?).map_err(internal)?;
            payload["invoice_id"] = json!(plan.invoice_id);
            payload["account_id"] = json!(account.id);
            payload["retry_status"] = json!(plan.status);
            payload["next_retry_on"] = json!(plan.next_retry_on);
            emit(
                tx,
                tenant,
                "payment.retried",
                "invoice",
                &plan.invoice_id,
                &payload,
                now_us,
            )
            .await?;
        }
        Ok(any)
    }

    /// One retry charge: (outcome, payment recorded, failure code).
    async fn charge_again(
        &self,
        tx: &mut Tx,
        account: &AccountRow,
        plan: &PaymentRetryRow,
        open: Money,
        retry: i64,
        today: Date,
    ) -> AppResult<(&'static str, Option<String>, Option<String>)> {
        let Some(gateway) = self.gateway_named(&plan.gateway) else {
            return Ok(("unavailable", None, Some("unknown_gateway".into())));
        };
        let id = new_id("pay");
        let new = NewPayment {
            account: account.clone(),
            amount: open,
            method: PaymentMethodCode::Gateway,
            reference: Some(format!("retry {retry} of invoice {}", plan.invoice_id)),
            received_on: today,
            allocate: Allocate::Explicit(vec![(plan.invoice_id.clone(), open)]),
            gateway: Some((gateway, plan.payment_method.clone())),
            retry_id: Some(id.clone()),
        };
        match self.post_payment(tx, new).await {
            Ok(Ok(_)) => Ok(("succeeded", Some(id), None)),
            Ok(Err(AppError::PaymentDeclined { .. })) => {
                let code = tx
                    .get_payment(&account.tenant_id, &id)
                    .await?
                    .and_then(|p| p.failure_code);
                Ok(("declined", Some(id), code))
            }
            Err(AppError::Unavailable { code, .. }) => {
                Ok(("unavailable", None, Some(code.to_string())))
            }
            Ok(Err(e)) | Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(d: &[i64]) -> PaymentRetryPolicy {
        PaymentRetryPolicy {
            retry_days: d.to_vec(),
        }
    }

    fn field(r: AppResult<()>) -> Option<String> {
        match r {
            Err(AppError::Invalid { field, .. }) => field,
            _ => None,
        }
    }

    #[test]
    fn retry_days_are_increasing_and_bounded() {
        assert!(check(&days(&[1, 9, 13, 20])).is_ok());
        assert!(check(&days(&[])).is_ok());
        assert_eq!(field(check(&days(&[0]))), Some("retry_days[0]".into()));
        assert_eq!(
            field(check(&days(&[1, 9, 9]))),
            Some("retry_days[2]".into())
        );
        assert_eq!(field(check(&days(&[1, 366]))), Some("retry_days[1]".into()));
        let many: Vec<i64> = (1..=21).collect();
        assert_eq!(field(check(&days(&many))), Some("retry_days[20]".into()));
    }
}
