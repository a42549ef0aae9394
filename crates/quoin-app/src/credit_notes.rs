//! Credit notes (against an invoice, or account credit) and voiding invoices. A finalized
//! invoice never changes: voiding it issues a full credit note and marks it void.

use quoin_core::money::Money;
use quoin_store::new_id;
use quoin_store::repo::ledger::{
    CreditNoteFilter, CreditNoteLineRow, CreditNoteRow, InvoiceSettlementRow,
};
use quoin_store::rows::{AccountRow, InvoiceRow};
use quoin_store::Tx;

use crate::accounts::lock_account;
use crate::auth::{Action, Principal};
use crate::billing::account_today;
use crate::clock::{from_us, to_us};
use crate::credit_lines::{credit_note_line_view, plan_line_credits};
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::ledger::{
    currency_of, internal, ledger_error, load_books, minor_text, parse_amount, record_change, Books,
};
use crate::model::{
    CreateAccountCredit, CreateCreditNote, CreditNote, CreditNotePage, ListParams, VoidInvoice,
    VoidResult,
};
use crate::payments::payer;
use crate::subscriptions::parse_date;
use crate::validate;
use crate::App;

pub(crate) fn credit_note_view(
    r: &CreditNoteRow,
    lines: &[CreditNoteLineRow],
) -> AppResult<CreditNote> {
    let currency = currency_of(&r.currency)?;
    let tax = if lines.is_empty() {
        None
    } else {
        let minor = lines
            .iter()
            .try_fold(0i64, |acc, l| acc.checked_add(l.tax_minor))
            .ok_or_else(|| internal("overflow"))?;
        Some(minor_text(minor, &r.currency)?)
    };
    Ok(CreditNote {
        id: r.id.clone(),
        number: r.number.clone(),
        account_id: r.account_id.clone(),
        invoice_id: r.invoice_id.clone(),
        kind: r.kind.clone(),
        amount: minor_text(r.amount_minor, &r.currency)?,
        tax,
        currency: r.currency.clone(),
        reason: r.reason.clone(),
        issued_on: parse_date(&r.issued_on, "issued_on")?,
        lines: lines
            .iter()
            .map(|l| credit_note_line_view(l, currency))
            .collect(),
        created_at: from_us(r.created_at_us),
    })
}

/// The invoice, re-read after locking its account so its status is current.
async fn locked_invoice(
    tx: &mut Tx,
    tenant: &str,
    id: &str,
) -> AppResult<(InvoiceRow, AccountRow)> {
    let inv = tx
        .get_invoice(tenant, id)
        .await?
        .ok_or_else(|| AppError::not_found("invoice", id))?;
    let account = lock_account(tx, tenant, &inv.account_id).await?;
    let inv = tx
        .get_invoice(tenant, id)
        .await?
        .ok_or_else(|| AppError::not_found("invoice", id))?;
    Ok((inv, account))
}

fn not_creditable(inv: &InvoiceRow) -> Option<AppError> {
    match inv.status.as_str() {
        "finalized" => None,
        "void" => Some(AppError::Conflict {
            code: "invoice_void",
            message: format!("invoice `{}` is void", inv.id),
        }),
        other => Some(AppError::Conflict {
            code: "invoice_not_finalized",
            message: format!(
                "invoice `{}` is {other}; only finalized invoices take credit notes",
                inv.id
            ),
        }),
    }
}

impl App {
    /// Issues a credit note (numbered from the tenant's `credit_note` sequence) that the
    /// ledger has already accepted into `after`.
    #[allow(clippy::too_many_arguments)]
    async fn issue_credit_note(
        &self,
        tx: &mut Tx,
        account: &AccountRow,
        books: &Books,
        after: &quoin_core::ledger::Ledger,
        id: String,
        invoice: Option<&str>,
        kind: &str,
        amount: Money,
        lines: &[CreditNoteLineRow],
        reason: String,
        today: jiff::civil::Date,
        now_us: i64,
        quiet: Option<&str>,
    ) -> AppResult<CreditNote> {
        let tenant = account.tenant_id.as_str();
        let n = tx.next_sequence_value(tenant, "credit_note", 1).await?;
        let row = CreditNoteRow {
            id: id.clone(),
            tenant_id: tenant.to_string(),
            account_id: account.id.clone(),
            number: format!("CN-{n:06}"),
            invoice_id: invoice.map(str::to_string),
            currency: account.currency.clone(),
            amount_minor: amount.minor(),
            kind: kind.to_string(),
            reason,
            issued_on: today.to_string(),
            created_at_us: now_us,
        };
        tx.insert_credit_note(&row).await?;
        for line in lines {
            tx.insert_credit_note_line(line).await?;
        }
        let view = credit_note_view(&row, lines)?;
        emit(
            tx,
            tenant,
            "credit_note.created",
            "credit_note",
            &id,
            &view,
            now_us,
        )
        .await?;
        record_change(
            tx,
            account,
            &books.ledger,
            after,
            "credit_note",
            &id,
            quiet,
            now_us,
        )
        .await?;
        Ok(view)
    }

    /// A credit note against a finalized invoice, for part or all of what is not yet
    /// credited: an amount on the invoice as a whole, or amounts or quantities of its lines
    /// (see `credit_lines`). Either way the ledger keeps the invoice's credits within its
    /// total.
    pub async fn create_credit_note(
        &self,
        p: &Principal,
        invoice_id: &str,
        input: CreateCreditNote,
    ) -> AppResult<CreditNote> {
        p.require(Action::Bill)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let (inv, account) = locked_invoice(&mut tx, tenant, invoice_id).await?;
        if let Some(e) = not_creditable(&inv) {
            return Err(e);
        }
        let currency = currency_of(&inv.currency)?;
        let id = new_id("cn");
        let (amount, lines, field) = match (&input.amount, input.lines.is_empty()) {
            (Some(a), true) => (parse_amount("amount", a, currency)?, Vec::new(), "amount"),
            (None, false) => {
                let lines = plan_line_credits(&mut tx, &inv, currency, &id, &input.lines).await?;
                let minor = lines
                    .iter()
                    .try_fold(0i64, |acc, l| acc.checked_add(l.amount_minor))
                    .ok_or_else(|| internal("overflow"))?;
                (Money::from_minor(minor, currency), lines, "lines")
            }
            (Some(_), false) => {
                return Err(AppError::Invalid {
                    code: "amount_with_lines",
                    field: Some("lines".into()),
                    message: "give either `amount` (the invoice as a whole) or `lines`, not both"
                        .into(),
                })
            }
            (None, true) => {
                return Err(AppError::Invalid {
                    code: "amount_or_lines_required",
                    field: Some("amount".into()),
                    message: "give `amount` or a non-empty `lines`".into(),
                })
            }
        };
        let reason = validate::text("reason", &input.reason, 500)?;
        let now = self.tenant_now(&mut tx, tenant).await?;
        let today = account_today(&account, now)?;
        let books = load_books(&mut tx, &account).await?;
        let mut after = books.ledger.clone();
        after
            .add_credit_note(&id, today, amount, Some(invoice_id))
            .map_err(|e| ledger_error(e, field))?;
        let view = self
            .issue_credit_note(
                &mut tx,
                &account,
                &books,
                &after,
                id,
                Some(invoice_id),
                "adjustment",
                amount,
                &lines,
                reason,
                today,
                to_us(now),
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Account credit: a credit note not against any invoice; the next invoices consume it.
    pub async fn create_account_credit(
        &self,
        p: &Principal,
        account_id: &str,
        input: CreateAccountCredit,
    ) -> AppResult<CreditNote> {
        p.require(Action::Bill)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        tx.get_account(tenant, account_id)
            .await?
            .ok_or_else(|| AppError::not_found("account", account_id))?;
        let (account, currency) = payer(&mut tx, tenant, account_id, &input.currency).await?;
        let amount = parse_amount("amount", &input.amount, currency)?;
        let reason = validate::text("reason", &input.reason, 500)?;
        let now = self.tenant_now(&mut tx, tenant).await?;
        let today = account_today(&account, now)?;
        let books = load_books(&mut tx, &account).await?;
        let mut after = books.ledger.clone();
        let id = new_id("cn");
        after
            .add_credit_note(&id, today, amount, None)
            .map_err(|e| ledger_error(e, "amount"))?;
        let view = self
            .issue_credit_note(
                &mut tx,
                &account,
                &books,
                &after,
                id,
                None,
                "account_credit",
                amount,
                &[],
                reason,
                today,
                to_us(now),
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Voids an invoice. A draft simply becomes void (no number, nothing in the ledger; its
    /// periods count as unbilled again for reconciliation). A finalized invoice with no
    /// payment on it gets a full credit note of what is not yet credited (account credit
    /// applied to it returns to the account) and becomes void. An invoice that payments
    /// went to is refused: refund or credit it instead.
    pub async fn void_invoice(
        &self,
        p: &Principal,
        invoice_id: &str,
        input: VoidInvoice,
    ) -> AppResult<VoidResult> {
        p.require(Action::Bill)?;
        let tenant = p.tenant_id.as_str();
        let reason = validate::text("reason", &input.reason, 500)?;
        let mut tx = self.store.begin().await?;
        let (inv, account) = locked_invoice(&mut tx, tenant, invoice_id).await?;
        let now = self.tenant_now(&mut tx, tenant).await?;
        let now_us = to_us(now);
        let today = account_today(&account, now)?;
        let mut credit_note = None;
        match inv.status.as_str() {
            "draft" => {}
            "finalized" => {
                let books = load_books(&mut tx, &account).await?;
                let l = &books.ledger;
                let paid = l.paid_by_payments(invoice_id);
                if paid.is_positive() {
                    return Err(AppError::Conflict {
                        code: "invoice_has_payments",
                        message: format!(
                            "invoice `{invoice_id}` has {} in payments applied; refund or credit it instead of voiding",
                            paid.to_decimal()
                        ),
                    });
                }
                let entry = l
                    .invoice(invoice_id)
                    .ok_or_else(|| internal("finalized invoice missing from the ledger"))?;
                if entry.total().is_negative() {
                    return Err(AppError::Conflict {
                        code: "invoice_not_voidable",
                        message: format!(
                            "invoice `{invoice_id}` has a negative total that became account credit; it cannot be voided"
                        ),
                    });
                }
                let creditable = entry
                    .total()
                    .checked_sub(entry.credited())
                    .map_err(internal)?;
                if creditable.is_positive() {
                    let mut after = l.clone();
                    let id = new_id("cn");
                    after
                        .add_credit_note(&id, today, creditable, Some(invoice_id))
                        .map_err(|e| ledger_error(e, "invoice_id"))?;
                    credit_note = Some(
                        self.issue_credit_note(
                            &mut tx,
                            &account,
                            &books,
                            &after,
                            id,
                            Some(invoice_id),
                            "void",
                            creditable,
                            &[],
                            reason.clone(),
                            today,
                            now_us,
                            Some(invoice_id),
                        )
                        .await?,
                    );
                }
                tx.upsert_invoice_settlement(&InvoiceSettlementRow {
                    tenant_id: tenant.to_string(),
                    invoice_id: invoice_id.to_string(),
                    account_id: account.id.clone(),
                    paid_minor: 0,
                    credited_minor: entry.total().minor(),
                    open_minor: 0,
                    void_reason: Some(reason.clone()),
                    voided_at_us: Some(now_us),
                })
                .await?;
            }
            "void" => {
                return Err(AppError::Conflict {
                    code: "invoice_already_void",
                    message: format!("invoice `{invoice_id}` is already void"),
                })
            }
            other => return Err(internal(format!("unknown invoice status `{other}`"))),
        }
        if !tx.void_invoice(tenant, invoice_id, &inv.status).await? {
            return Err(internal("invoice changed while locked"));
        }
        // What it billed counts as unbilled again: the next billing charges the service
        // periods (reconciliation) and re-rates the usage periods.
        for line in tx.invoice_lines(tenant, invoice_id).await? {
            match (line.kind.as_str(), &line.item_id, &line.subscription_id) {
                (
                    "usage" | "usage_adjustment" | "progressive_usage" | "progressive_credit",
                    Some(item),
                    _,
                ) => {
                    tx.mark_usage_reconcile(tenant, item, &line.period_start, true)
                        .await?;
                }
                ("recurring" | "repair", _, Some(sub)) => {
                    tx.mark_reconcile(tenant, sub, &line.period_start).await?;
                }
                _ => {}
            }
        }
        let mut view = crate::billing::invoice_view(
            &tx.get_invoice(tenant, invoice_id)
                .await?
                .ok_or_else(|| AppError::not_found("invoice", invoice_id))?,
            &tx.invoice_lines(tenant, invoice_id).await?,
        )?;
        self.attach_settlements(&mut tx, tenant, std::slice::from_mut(&mut view))
            .await?;
        let body =
            serde_json::json!({"invoice": &view, "reason": reason, "credit_note": &credit_note});
        emit(
            &mut tx,
            tenant,
            "invoice.voided",
            "invoice",
            invoice_id,
            &body,
            now_us,
        )
        .await?;
        tx.commit().await?;
        Ok(VoidResult {
            invoice: view,
            credit_note,
        })
    }

    pub async fn get_credit_note(&self, p: &Principal, id: &str) -> AppResult<CreditNote> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let row = tx
            .get_credit_note(&p.tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("credit note", id))?;
        let lines = tx.credit_note_lines(&p.tenant_id, id).await?;
        tx.commit().await?;
        credit_note_view(&row, &lines)
    }

    pub async fn list_credit_notes(
        &self,
        p: &Principal,
        account_id: Option<String>,
        invoice_id: Option<String>,
        page: &ListParams,
    ) -> AppResult<CreditNotePage> {
        p.require(Action::Read)?;
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .list_credit_notes(
                &p.tenant_id,
                &CreditNoteFilter {
                    account_id,
                    invoice_id,
                },
                page.cursor.as_deref(),
                limit,
            )
            .await?;
        let mut data = Vec::with_capacity(rows.items.len());
        for r in &rows.items {
            let lines = tx.credit_note_lines(&p.tenant_id, &r.id).await?;
            data.push(credit_note_view(r, &lines)?);
        }
        tx.commit().await?;
        Ok(CreditNotePage {
            data,
            next_cursor: rows.next_cursor,
        })
    }
}
