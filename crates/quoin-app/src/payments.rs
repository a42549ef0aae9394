//! Payments: recording money received (manually, imported from a bank file, or charged
//! through a gateway), allocating it through the account's ledger, and refunds.

use quoin_core::money::{Currency, Money};
use quoin_store::new_id;
use quoin_store::repo::ledger::{PaymentAllocationRow, PaymentFilter, PaymentRow, RefundRow};
use quoin_store::rows::AccountRow;
use quoin_store::Tx;

use crate::accounts::lock_account;
use crate::auth::{Action, Principal};
use crate::billing::account_today;
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::gateway::{GatewayError, PaymentGateway, TestGateway};
use crate::ledger::{
    allocations_of, currency_of, internal, ledger_error, load_books, minor_text, parse_amount,
    record_change, require_bill_to, text,
};
use crate::model::{
    CreatePayment, CreateRefund, ListParams, Payment, PaymentAllocation, PaymentMethodCode,
    PaymentPage, Refund,
};
use crate::payment_retries::{record_charge, Charged};
use crate::subscriptions::parse_date;
use crate::validate;
use crate::{App, Mode};

/// Where a payment goes.
#[derive(Debug, Clone)]
pub(crate) enum Allocate {
    /// Open invoices, oldest due date first; the rest is account credit.
    OldestFirst,
    /// Exactly these amounts (input index kept for error fields); the rest is credit.
    Explicit(Vec<(String, Money)>),
    /// As much as is open on this invoice; the rest is credit (bank file imports).
    UpTo(String),
}

/// A payment validated against its account, not yet allocated.
pub(crate) struct NewPayment {
    pub account: AccountRow,
    pub amount: Money,
    pub method: PaymentMethodCode,
    pub reference: Option<String>,
    pub received_on: jiff::civil::Date,
    pub allocate: Allocate,
    pub gateway: Option<(&'static dyn PaymentGateway, String)>,
    /// Set when the charge is a scheduled retry: the payment's id (the retry job records
    /// the attempt). Otherwise a gateway charge is recorded as an attempt on the invoices
    /// it pays, and a decline schedules retries.
    pub retry_id: Option<String>,
}

static TEST_GATEWAY: TestGateway = TestGateway;

pub(crate) fn payment_view(
    row: &PaymentRow,
    allocs: &[PaymentAllocationRow],
) -> AppResult<Payment> {
    let c = currency_of(&row.currency)?;
    let m = |minor| text(Money::from_minor(minor, c));
    let allocated: i64 = allocs.iter().map(|a| a.amount_minor).sum();
    let failed = row.status == "failed";
    Ok(Payment {
        id: row.id.clone(),
        account_id: row.account_id.clone(),
        amount: m(row.amount_minor),
        currency: row.currency.clone(),
        method: PaymentMethodCode::parse(&row.method).ok_or_else(|| internal("stored method"))?,
        reference: row.reference.clone(),
        received_on: parse_date(&row.received_on, "received_on")?,
        status: row.status.clone(),
        refunded: m(row.refunded_minor),
        refundable: m(if failed {
            0
        } else {
            row.amount_minor - row.refunded_minor
        }),
        allocations: allocs
            .iter()
            .map(|a| PaymentAllocation {
                invoice_id: a.invoice_id.clone(),
                amount: m(a.amount_minor),
            })
            .collect(),
        unapplied: m(if failed {
            0
        } else {
            row.amount_minor - allocated
        }),
        gateway: row.gateway.clone(),
        gateway_reference: row.gateway_reference.clone(),
        failure_code: row.failure_code.clone(),
        failure_message: row.failure_message.clone(),
        created_at: from_us(row.created_at_us),
    })
}

impl App {
    /// The configured gateway of that name (the test gateway outside production).
    pub(crate) fn gateway_named(&self, name: &str) -> Option<&'static dyn PaymentGateway> {
        match (name, self.mode) {
            ("test", Mode::Development) => Some(&TEST_GATEWAY),
            _ => None,
        }
    }
}

fn refund_view(r: &RefundRow) -> AppResult<Refund> {
    Ok(Refund {
        id: r.id.clone(),
        payment_id: r.payment_id.clone(),
        account_id: r.account_id.clone(),
        amount: minor_text(r.amount_minor, &r.currency)?,
        currency: r.currency.clone(),
        reason: r.reason.clone(),
        refunded_on: parse_date(&r.refunded_on, "refunded_on")?,
        created_at: from_us(r.created_at_us),
        gateway_reference: r.gateway_reference.clone(),
    })
}

fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code,
        field: Some(field.into()),
        message: message.into(),
    }
}

/// The account a payment names, locked, as a payer in `currency`.
pub(crate) async fn payer(
    tx: &mut Tx,
    tenant: &str,
    account_id: &str,
    currency: &str,
) -> AppResult<(AccountRow, Currency)> {
    let account = tx.lock_account(tenant, account_id).await?.ok_or_else(|| {
        invalid(
            "unknown_account",
            "account_id",
            format!("no account `{account_id}`"),
        )
    })?;
    require_bill_to(&account)?;
    let c = validate::currency("currency", currency)?;
    if c.code() != account.currency {
        return Err(invalid(
            "currency_mismatch",
            "currency",
            format!(
                "account `{}` is billed in {}, not {}",
                account.id,
                account.currency,
                c.code()
            ),
        ));
    }
    Ok((account, c))
}

/// A finalized invoice of `account` named by a payment.
async fn payable_invoice(
    tx: &mut Tx,
    account: &AccountRow,
    invoice_id: &str,
    field: &str,
) -> AppResult<()> {
    let inv = tx.get_invoice(&account.tenant_id, invoice_id).await?;
    match inv {
        Some(i) if i.account_id == account.id && i.finalized_at_us.is_some() => Ok(()),
        Some(i) if i.account_id == account.id => Err(invalid(
            "invoice_not_finalized",
            field,
            format!("invoice `{invoice_id}` is a draft; finalize it before paying it"),
        )),
        _ => Err(invalid(
            "unknown_invoice",
            field,
            format!("account `{}` has no invoice `{invoice_id}`", account.id),
        )),
    }
}

impl App {
    /// Validates a payment request into a [`NewPayment`] (locking its account).
    pub(crate) async fn new_payment(
        &self,
        tx: &mut Tx,
        tenant: &str,
        input: &CreatePayment,
    ) -> AppResult<NewPayment> {
        let (account, currency) = payer(tx, tenant, &input.account_id, &input.currency).await?;
        let amount = parse_amount("amount", &input.amount, currency)?;
        let gateway = match (&input.gateway, &input.payment_method) {
            (Some(name), Some(token)) => {
                let gw = self.gateway_named(name).ok_or_else(|| {
                    invalid(
                        "unknown_gateway",
                        "gateway",
                        format!("no payment gateway `{name}` is configured"),
                    )
                })?;
                let token = validate::text("payment_method", token, 200)?;
                Some((gw, token))
            }
            (Some(_), None) => {
                return Err(invalid(
                    "missing_field",
                    "payment_method",
                    "a gateway payment needs a payment_method token",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "missing_field",
                    "gateway",
                    "payment_method is only used with a gateway",
                ))
            }
            (None, None) => None,
        };
        let method = match (input.method, &gateway) {
            (None | Some(PaymentMethodCode::Gateway), Some(_)) => PaymentMethodCode::Gateway,
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "invalid_field",
                    "method",
                    "a gateway payment has method `gateway`",
                ))
            }
            (Some(PaymentMethodCode::Gateway), None) => {
                return Err(invalid(
                    "missing_field",
                    "gateway",
                    "method `gateway` needs a gateway and a payment_method",
                ))
            }
            (Some(m), None) => m,
            (None, None) => PaymentMethodCode::Manual,
        };
        let reference = validate::optional_text("reference", &input.reference, 200)?;
        let now = self.tenant_now(tx, tenant).await?;
        let today = account_today(&account, now)?;
        let received_on = match input.received_on {
            Some(d) if d > today => {
                return Err(invalid(
                    "invalid_field",
                    "received_on",
                    format!("must not be after the account's today ({today}), got {d}"),
                ))
            }
            Some(d) => d,
            None => today,
        };
        let allocate = match &input.allocations {
            None => Allocate::OldestFirst,
            Some(list) => {
                let mut parts = Vec::with_capacity(list.len());
                for (i, a) in list.iter().enumerate() {
                    let f = format!("allocations[{i}].invoice_id");
                    payable_invoice(tx, &account, &a.invoice_id, &f).await?;
                    let f = format!("allocations[{i}].amount");
                    parts.push((a.invoice_id.clone(), parse_amount(&f, &a.amount, currency)?));
                }
                Allocate::Explicit(parts)
            }
        };
        Ok(NewPayment {
            account,
            amount,
            method,
            reference,
            received_on,
            allocate,
            gateway,
            retry_id: None,
        })
    }

    /// Allocates and records a validated payment; charges its gateway first. A decline is
    /// recorded as a failed payment and returned as the inner error (the caller commits).
    pub(crate) async fn post_payment(
        &self,
        tx: &mut Tx,
        new: NewPayment,
    ) -> AppResult<Result<Payment, AppError>> {
        let account = &new.account;
        let tenant = account.tenant_id.as_str();
        let now_us = to_us(self.tenant_now(tx, tenant).await?);
        let id = new.retry_id.clone().unwrap_or_else(|| new_id("pay"));
        let books = load_books(tx, account).await?;
        let mut after = books.ledger.clone();
        let date = new.received_on;
        match &new.allocate {
            Allocate::OldestFirst => after
                .add_payment(&id, date, new.amount)
                .map(|_| ())
                .map_err(|e| ledger_error(e, "amount"))?,
            Allocate::Explicit(parts) => {
                let refs: Vec<(&str, Money)> =
                    parts.iter().map(|(i, m)| (i.as_str(), *m)).collect();
                after
                    .add_payment_to(&id, date, new.amount, &refs)
                    .map(|_| ())
                    .map_err(|e| {
                        let at = |inv: &str| parts.iter().position(|(i, _)| i == inv);
                        let field = match &e {
                            quoin_core::ledger::LedgerError::OverAllocation { invoice, .. } => {
                                at(invoice).map(|n| format!("allocations[{n}].amount"))
                            }
                            quoin_core::ledger::LedgerError::RepeatedAllocation(invoice) => parts
                                .iter()
                                .rposition(|(i, _)| i == invoice)
                                .map(|n| format!("allocations[{n}].invoice_id")),
                            _ => None,
                        };
                        ledger_error(e, field.as_deref().unwrap_or("allocations"))
                    })?
            }
            Allocate::UpTo(invoice) => {
                let open = after
                    .open_amount(invoice)
                    .map_err(|e| ledger_error(e, "invoice_number"))?;
                let part = if open.minor() < new.amount.minor() {
                    open
                } else {
                    new.amount
                };
                let parts: Vec<(&str, Money)> = if part.is_positive() {
                    vec![(invoice.as_str(), part)]
                } else {
                    Vec::new()
                };
                after
                    .add_payment_to(&id, date, new.amount, &parts)
                    .map(|_| ())
                    .map_err(|e| ledger_error(e, "amount"))?
            }
        }
        let mut row = PaymentRow {
            id: id.clone(),
            tenant_id: tenant.to_string(),
            account_id: account.id.clone(),
            currency: account.currency.clone(),
            amount_minor: new.amount.minor(),
            method: new.method.code().to_string(),
            reference: new.reference.clone(),
            received_on: date.to_string(),
            status: "succeeded".into(),
            refunded_minor: 0,
            gateway: None,
            gateway_reference: None,
            failure_code: None,
            failure_message: None,
            created_at_us: now_us,
        };
        if let Some((gw, token)) = &new.gateway {
            // The test gateway is in-process; a remote one would be charged between a
            // validating and a recording transaction instead of under the account lock.
            row.gateway = Some(gw.name().to_string());
            match gw.charge(token, new.amount, &id).await {
                Ok(charge) => row.gateway_reference = Some(charge.reference),
                Err(GatewayError::Transient(message)) => {
                    return Err(AppError::Unavailable {
                        code: "gateway_unavailable",
                        message: format!(
                            "the payment gateway failed; nothing was charged: {message}"
                        ),
                    })
                }
                Err(GatewayError::Declined { code, message }) => {
                    row.status = "failed".into();
                    row.failure_code = Some(code.clone());
                    row.failure_message = Some(message.clone());
                    tx.insert_payment(&row).await?;
                    let view = payment_view(&row, &[])?;
                    emit(tx, tenant, "payment.failed", "payment", &id, &view, now_us).await?;
                    if new.retry_id.is_none() {
                        let charged = Charged {
                            account,
                            payment_id: &id,
                            gateway: gw.name(),
                            token,
                            on: date,
                            declined: Some(&code),
                            now_us,
                        };
                        record_charge(tx, &charged, &allocations_of(&after, &id)).await?;
                    }
                    return Ok(Err(AppError::PaymentDeclined {
                        code: "payment_declined",
                        message: format!(
                            "the payment was declined ({code}): {message}; payment `{id}` is recorded as failed"
                        ),
                    }));
                }
            }
        }
        tx.insert_payment(&row).await?;
        let mut allocs = Vec::new();
        for (pos, (invoice, amount)) in allocations_of(&after, &id).into_iter().enumerate() {
            let a = PaymentAllocationRow {
                tenant_id: tenant.to_string(),
                payment_id: id.clone(),
                position: i64::try_from(pos).map_err(internal)?,
                invoice_id: invoice,
                amount_minor: amount.minor(),
            };
            tx.insert_payment_allocation(&a).await?;
            allocs.push(a);
        }
        if let (Some((gw, token)), None) = (&new.gateway, &new.retry_id) {
            let charged = Charged {
                account,
                payment_id: &id,
                gateway: gw.name(),
                token,
                on: date,
                declined: None,
                now_us,
            };
            record_charge(tx, &charged, &allocations_of(&after, &id)).await?;
        }
        let view = payment_view(&row, &allocs)?;
        emit(
            tx,
            tenant,
            "payment.received",
            "payment",
            &id,
            &view,
            now_us,
        )
        .await?;
        record_change(
            tx,
            account,
            &books.ledger,
            &after,
            "payment",
            &id,
            None,
            now_us,
        )
        .await?;
        // Paying what is overdue resolves dunning at once.
        let today = crate::billing::account_today(account, crate::clock::from_us(now_us))?;
        self.dunning_in_tx(tx, account, today, now_us).await?;
        Ok(Ok(view))
    }

    /// Records a payment (or charges a gateway) and allocates it.
    pub async fn record_payment(&self, p: &Principal, input: CreatePayment) -> AppResult<Payment> {
        p.require(Action::Bill)?;
        let mut tx = self.store.begin().await?;
        let new = self.new_payment(&mut tx, &p.tenant_id, &input).await?;
        let out = self.post_payment(&mut tx, new).await?;
        // A decline is committed too: the failed attempt and its event are kept.
        tx.commit().await?;
        out
    }

    pub async fn get_payment(&self, p: &Principal, id: &str) -> AppResult<Payment> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let row = tx
            .get_payment(&p.tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("payment", id))?;
        let allocs = tx.payment_allocations(&p.tenant_id, id).await?;
        tx.commit().await?;
        payment_view(&row, &allocs)
    }

    pub async fn list_payments(
        &self,
        p: &Principal,
        account_id: Option<String>,
        page: &ListParams,
    ) -> AppResult<PaymentPage> {
        p.require(Action::Read)?;
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .list_payments(
                &p.tenant_id,
                &PaymentFilter { account_id },
                page.cursor.as_deref(),
                limit,
            )
            .await?;
        let mut data = Vec::with_capacity(rows.items.len());
        for r in &rows.items {
            let allocs = tx.payment_allocations(&p.tenant_id, &r.id).await?;
            data.push(payment_view(r, &allocs)?);
        }
        tx.commit().await?;
        Ok(PaymentPage {
            data,
            next_cursor: rows.next_cursor,
        })
    }

    /// Refunds part or all of a succeeded payment; the ledger decides which invoices reopen.
    pub async fn refund_payment(
        &self,
        p: &Principal,
        payment_id: &str,
        input: CreateRefund,
    ) -> AppResult<Refund> {
        p.require(Action::Bill)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let payment = tx
            .get_payment(tenant, payment_id)
            .await?
            .ok_or_else(|| AppError::not_found("payment", payment_id))?;
        let account = lock_account(&mut tx, tenant, &payment.account_id).await?;
        // Re-read under the lock: a concurrent refund may have changed it.
        let payment = tx
            .get_payment(tenant, payment_id)
            .await?
            .ok_or_else(|| AppError::not_found("payment", payment_id))?;
        if payment.status == "failed" {
            return Err(AppError::Conflict {
                code: "payment_failed",
                message: format!("payment `{payment_id}` failed; there is nothing to refund"),
            });
        }
        let currency = currency_of(&payment.currency)?;
        let amount = parse_amount("amount", &input.amount, currency)?;
        let reason = validate::optional_text("reason", &input.reason, 500)?;
        let now = self.tenant_now(&mut tx, tenant).await?;
        let now_us = to_us(now);
        let today = account_today(&account, now)?;
        let books = load_books(&mut tx, &account).await?;
        let mut after = books.ledger.clone();
        let id = new_id("ref");
        after
            .refund(&id, payment_id, today, amount)
            .map_err(|e| ledger_error(e, "amount"))?;
        // A gateway payment is refunded through its gateway first; if the gateway refuses,
        // nothing is recorded. (The test gateway is in-process; a remote one would be
        // called between a validating and a recording transaction, as for charges.)
        let gateway_reference = match (&payment.gateway, &payment.gateway_reference) {
            (Some(name), Some(charge)) => {
                let gw = self.gateway_named(name).ok_or_else(|| AppError::Conflict {
                    code: "unknown_gateway",
                    message: format!(
                        "payment `{payment_id}` was taken through gateway `{name}`, which is not configured; refund it there and record the refund manually"
                    ),
                })?;
                match gw.refund(charge, amount, &id).await {
                    Ok(r) => Some(r.reference),
                    Err(GatewayError::Transient(message)) => {
                        return Err(AppError::Unavailable {
                            code: "gateway_unavailable",
                            message: format!(
                                "the payment gateway failed; nothing was refunded: {message}"
                            ),
                        })
                    }
                    Err(GatewayError::Declined { code, message }) => {
                        return Err(AppError::PaymentDeclined {
                            code: "refund_declined",
                            message: format!(
                                "the gateway refused the refund ({code}): {message}; nothing was recorded"
                            ),
                        })
                    }
                }
            }
            _ => None,
        };
        let row = RefundRow {
            id: id.clone(),
            tenant_id: tenant.to_string(),
            account_id: account.id.clone(),
            payment_id: payment_id.to_string(),
            currency: payment.currency.clone(),
            amount_minor: amount.minor(),
            reason,
            refunded_on: today.to_string(),
            created_at_us: now_us,
            gateway_reference,
        };
        tx.insert_refund(&row).await?;
        let refunded = payment.refunded_minor + amount.minor();
        let status = if refunded >= payment.amount_minor {
            "refunded"
        } else {
            "partially_refunded"
        };
        tx.set_payment_refunded(tenant, payment_id, refunded, status)
            .await?;
        let view = refund_view(&row)?;
        emit(
            &mut tx,
            tenant,
            "payment.refunded",
            "payment",
            payment_id,
            &view,
            now_us,
        )
        .await?;
        record_change(
            &mut tx,
            &account,
            &books.ledger,
            &after,
            "refund",
            &id,
            None,
            now_us,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }
}
