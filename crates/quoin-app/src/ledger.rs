//! Receivables of each bill-to account. The documents (finalized invoices, credit notes,
//! payments with their allocations, refunds) are stored, and the order in which they
//! entered the account is kept in a journal (`ledger_entries`). Every read or change
//! replays that journal into [`quoin_core::ledger::Ledger`], the one place where settlement
//! rules live; changes run under the account lock and write what the core decided (the
//! allocations of a payment, the new document, a journal entry, the settlement read model
//! `invoice_settlements`) in the same transaction as their outbox events.

use std::collections::HashMap;

use jiff::civil::Date;
use quoin_core::ledger::{Aging, AllocationSource, InvoiceStatus, Ledger, LedgerError};
use quoin_core::money::{Currency, Money};
use quoin_store::repo::ledger::{AccountDocuments, InvoiceSettlementRow, LedgerEntryRow};
use quoin_store::repo::outbox::NewEvent;
use quoin_store::repo::runs::PendingEvent;
use quoin_store::rows::{AccountRow, InvoiceRow};
use quoin_store::Tx;
use serde_json::json;

use crate::accounts::{load_account, lock_account};
use crate::auth::{Action, Principal};
use crate::billing::account_today;
use crate::billing_reads::Reads;
use crate::error::{AppError, AppResult};
use crate::model::{
    AccountAging, AccountBalance, AgingBuckets, AgingReport, CurrencyAging, Invoice,
    InvoiceSettlement, OpenInvoice,
};
use crate::subscriptions::parse_date;
use crate::validate;
use crate::App;

pub(crate) fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

pub(crate) fn currency_of(code: &str) -> AppResult<Currency> {
    Currency::parse(code).map_err(internal)
}

/// An amount as the API writes it, e.g. "80.00".
pub(crate) fn text(m: Money) -> String {
    m.to_decimal().to_string()
}

pub(crate) fn minor_text(minor: i64, currency: &str) -> AppResult<String> {
    Ok(text(Money::from_minor(minor, currency_of(currency)?)))
}

/// A positive amount in `currency`'s precision, from a decimal string.
pub(crate) fn parse_amount(field: &str, value: &str, currency: Currency) -> AppResult<Money> {
    let bad = |message: String| AppError::Invalid {
        code: "invalid_amount",
        field: Some(field.to_string()),
        message,
    };
    let d = validate::decimal(field, value).map_err(|e| bad(e.to_string()))?;
    let m = Money::from_decimal_exact(d, currency).map_err(|_| {
        bad(format!(
            "`{value}` has more decimals than {} allows ({})",
            currency.code(),
            currency.exponent()
        ))
    })?;
    if !m.is_positive() {
        return Err(bad(format!("must be greater than zero, got {value}")));
    }
    Ok(m)
}

/// The payment status word of an invoice in the ledger.
pub(crate) fn status_word(s: InvoiceStatus) -> &'static str {
    match s {
        InvoiceStatus::Open => "open",
        InvoiceStatus::PartiallyPaid => "partially_paid",
        InvoiceStatus::Paid => "paid",
        InvoiceStatus::Overdue => "overdue",
    }
}

/// Turns a refused ledger operation into a 422 naming `field`.
pub(crate) fn ledger_error(e: LedgerError, field: &str) -> AppError {
    let code = match &e {
        LedgerError::CurrencyMismatch { .. } => "currency_mismatch",
        LedgerError::NonPositiveAmount(_) => "invalid_amount",
        LedgerError::UnknownInvoice(_) => "unknown_invoice",
        LedgerError::OverAllocation { .. } => "over_allocation",
        LedgerError::RepeatedAllocation(_) => "repeated_allocation",
        LedgerError::AllocationExceedsPayment { .. } => "allocations_exceed_payment",
        LedgerError::OverCredit { .. } => "credit_exceeds_invoice",
        LedgerError::OverRefund { .. } => "refund_exceeds_refundable",
        LedgerError::InsufficientCredit { .. } => "insufficient_credit",
        LedgerError::Overflow => "amount_overflow",
        LedgerError::DuplicateId { .. }
        | LedgerError::UnknownPayment(_)
        | LedgerError::DueBeforeDate { .. } => return internal(e),
    };
    AppError::Invalid {
        code,
        field: Some(field.to_string()),
        message: e.to_string(),
    }
}

/// One account's ledger and the documents it was replayed from.
pub(crate) struct Books {
    pub ledger: Ledger,
    pub docs: AccountDocuments,
}

impl Books {
    pub fn invoice_row(&self, id: &str) -> Option<&InvoiceRow> {
        self.docs.invoices.iter().find(|i| i.id == id)
    }
}

fn replay_failed(e: impl std::fmt::Display) -> AppError {
    internal(format!("ledger replay failed: {e}"))
}

/// Replays the account's journal into a core ledger.
pub(crate) async fn load_books(tx: &mut Tx, account: &AccountRow) -> AppResult<Books> {
    let docs = tx
        .account_documents(&account.tenant_id, &account.id)
        .await?;
    books_of(account, docs)
}

/// Replays documents already read into the account's ledger.
pub(crate) fn books_of(account: &AccountRow, docs: AccountDocuments) -> AppResult<Books> {
    let currency = currency_of(&account.currency)?;
    let mut l = Ledger::new(currency);
    let m = |minor| Money::from_minor(minor, currency);
    let date = |d: &str| parse_date(d, "date");
    for e in &docs.entries {
        let id = e.document_id.as_str();
        let missing = || replay_failed(format!("{} `{id}` missing", e.kind));
        match e.kind.as_str() {
            "invoice" => {
                let i = docs
                    .invoices
                    .iter()
                    .find(|i| i.id == id)
                    .ok_or_else(missing)?;
                l.add_invoice(
                    id,
                    date(&i.invoice_date)?,
                    date(&i.due_date)?,
                    m(i.total_minor),
                )
                .map_err(replay_failed)?;
            }
            "credit_note" => {
                let c = docs
                    .credit_notes
                    .iter()
                    .find(|c| c.id == id)
                    .ok_or_else(missing)?;
                l.add_credit_note(
                    id,
                    date(&c.issued_on)?,
                    m(c.amount_minor),
                    c.invoice_id.as_deref(),
                )
                .map_err(replay_failed)?;
            }
            "payment" => {
                let p = docs
                    .payments
                    .iter()
                    .find(|p| p.id == id)
                    .ok_or_else(missing)?;
                let parts: Vec<(&str, Money)> = docs
                    .allocations
                    .iter()
                    .filter(|a| a.payment_id == id)
                    .map(|a| (a.invoice_id.as_str(), m(a.amount_minor)))
                    .collect();
                l.add_payment_to(id, date(&p.received_on)?, m(p.amount_minor), &parts)
                    .map_err(replay_failed)?;
            }
            "refund" => {
                let r = docs
                    .refunds
                    .iter()
                    .find(|r| r.id == id)
                    .ok_or_else(missing)?;
                l.refund(id, &r.payment_id, date(&r.refunded_on)?, m(r.amount_minor))
                    .map_err(replay_failed)?;
            }
            other => return Err(replay_failed(format!("unknown entry kind `{other}`"))),
        }
    }
    Ok(Books { ledger: l, docs })
}

/// Records that a document entered the account's ledger (`before` → `after`): the journal
/// entry, the settlement read model of every invoice it changed, and `invoice.paid` for
/// invoices it settled (unless `quiet` names one, e.g. the invoice being voided).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_change(
    tx: &mut Tx,
    account: &AccountRow,
    before: &Ledger,
    after: &Ledger,
    kind: &str,
    document: &str,
    quiet: Option<&str>,
    now_us: i64,
) -> AppResult<()> {
    let tenant = account.tenant_id.as_str();
    tx.append_ledger_entry(tenant, &account.id, kind, document, now_us)
        .await?;
    let change = ledger_change(account, before, after, kind, document, quiet, now_us)?;
    for s in &change.settlements {
        tx.upsert_invoice_settlement(s).await?;
    }
    for e in &change.events {
        tx.record_event(&NewEvent {
            tenant_id: &e.tenant_id,
            topic: &e.topic,
            aggregate_type: &e.aggregate_type,
            aggregate_id: &e.aggregate_id,
            payload: e.payload.clone(),
            at_us: e.created_at_us,
        })
        .await?;
    }
    Ok(())
}

/// What a document entering the ledger writes besides its journal entry.
struct LedgerChange {
    settlements: Vec<InvoiceSettlementRow>,
    /// `invoice.paid` of the invoices it settled.
    events: Vec<PendingEvent>,
}

/// The settlement rows of every invoice `before` → `after` changed, and `invoice.paid`
/// for invoices it settled (unless `quiet` names one).
fn ledger_change(
    account: &AccountRow,
    before: &Ledger,
    after: &Ledger,
    kind: &str,
    document: &str,
    quiet: Option<&str>,
    now_us: i64,
) -> AppResult<LedgerChange> {
    let tenant = account.tenant_id.as_str();
    let mut change = LedgerChange {
        settlements: Vec::new(),
        events: Vec::new(),
    };
    for inv in after.invoices() {
        let old = before.invoice(inv.id());
        if old == Some(inv) {
            continue;
        }
        change.settlements.push(InvoiceSettlementRow {
            tenant_id: tenant.to_string(),
            invoice_id: inv.id().to_string(),
            account_id: account.id.clone(),
            paid_minor: inv.paid().minor(),
            credited_minor: inv.credited().minor(),
            open_minor: inv.open().minor(),
            void_reason: None,
            voided_at_us: None,
        });
        let was_open = old.is_none_or(|o| o.open().is_positive());
        if inv.total().is_positive() && was_open && inv.open().is_zero() && quiet != Some(inv.id())
        {
            let body = json!({
                "invoice_id": inv.id(),
                "account_id": account.id,
                "total": text(inv.total()),
                "paid": text(inv.paid()),
                "credited": text(inv.credited()),
                "settled_by": {"kind": kind, "id": document},
            });
            change.events.push(PendingEvent {
                tenant_id: tenant.to_string(),
                topic: "invoice.paid".into(),
                aggregate_type: "invoice".into(),
                aggregate_id: inv.id().to_string(),
                payload: body.to_string(),
                created_at_us: now_us,
            });
        }
    }
    Ok(change)
}

fn settlement(ledger: &Ledger, row: &InvoiceRow, today: Date) -> Option<InvoiceSettlement> {
    let inv = ledger.invoice(&row.id)?;
    let status = if row.status == "void" {
        "void"
    } else {
        status_word(inv.status(today))
    };
    Some(InvoiceSettlement {
        payment_status: status.to_string(),
        paid: text(inv.paid()),
        credited: text(inv.credited()),
        open: text(inv.open()),
    })
}

impl App {
    /// The ledger hook of finalization: the invoice enters its account's ledger, and
    /// unapplied account credit pays what it can (a negative total becomes credit).
    pub(crate) async fn post_finalized_invoice(
        &self,
        tx: &mut Tx,
        tenant: &str,
        invoice_id: &str,
        now_us: i64,
    ) -> AppResult<()> {
        let inv = tx
            .get_invoice(tenant, invoice_id)
            .await?
            .ok_or_else(|| AppError::not_found("invoice", invoice_id))?;
        let account = lock_account(tx, tenant, &inv.account_id).await?;
        let mut books = load_books(tx, &account).await?;
        self.post_finalized_onto(tx, &account, &inv, &mut books, now_us, Reads::DIRECT)
            .await
    }

    /// [`Self::post_finalized_invoice`] for an invoice row the caller holds, of an account
    /// it has locked, onto the account's `books` as the caller has them (billing finalizes
    /// what it has just written without reading it back, and carries the books across the
    /// account's invoices). `books` then includes the invoice.
    pub(crate) async fn post_finalized_onto(
        &self,
        tx: &mut Tx,
        account: &AccountRow,
        inv: &InvoiceRow,
        books: &mut Books,
        now_us: i64,
        sink: Reads<'_>,
    ) -> AppResult<()> {
        let invoice_id = inv.id.as_str();
        let mut after = books.ledger.clone();
        let total = Money::from_minor(inv.total_minor, currency_of(&inv.currency)?);
        after
            .add_invoice(
                &inv.id,
                parse_date(&inv.invoice_date, "invoice_date")?,
                parse_date(&inv.due_date, "due_date")?,
                total,
            )
            .map_err(|e| {
                internal(format!(
                    "invoice `{invoice_id}` cannot enter the ledger: {e}"
                ))
            })?;
        if sink.buffers() {
            // The page flushes the journal entry, settlements and events; the entry's
            // sequence number continues the journal as the books hold it.
            let change = ledger_change(
                account,
                &books.ledger,
                &after,
                "invoice",
                &inv.id,
                None,
                now_us,
            )?;
            let entry = LedgerEntryRow {
                tenant_id: account.tenant_id.clone(),
                account_id: account.id.clone(),
                seq: books.docs.entries.iter().map(|e| e.seq).max().unwrap_or(0) + 1,
                kind: "invoice".into(),
                document_id: inv.id.clone(),
                created_at_us: now_us,
            };
            books.docs.entries.push(entry.clone());
            sink.with_writes(|w| {
                w.ledger_entries.push(entry);
                w.settlements.extend(change.settlements);
                w.events.extend(change.events);
            });
        } else {
            record_change(
                tx,
                account,
                &books.ledger,
                &after,
                "invoice",
                &inv.id,
                None,
                now_us,
            )
            .await?;
        }
        books.ledger = after;
        books.docs.invoices.push(inv.clone());
        Ok(())
    }

    /// Adds the payment status and settled amounts to finalized invoices, replaying each
    /// account's ledger once.
    pub(crate) async fn attach_settlements(
        &self,
        tx: &mut Tx,
        tenant: &str,
        invoices: &mut [Invoice],
    ) -> AppResult<()> {
        let now = self.tenant_now(tx, tenant).await?;
        let mut cache: HashMap<String, (Books, Date)> = HashMap::new();
        for view in invoices.iter_mut() {
            if view.finalized_at.is_none() {
                continue;
            }
            if !cache.contains_key(&view.account_id) {
                let account = load_account(tx, tenant, &view.account_id).await?;
                let books = load_books(tx, &account).await?;
                let today = account_today(&account, now)?;
                cache.insert(view.account_id.clone(), (books, today));
            }
            let (books, today) = &cache[&view.account_id];
            if let Some(row) = books.invoice_row(&view.id) {
                view.settlement = settlement(&books.ledger, row, *today);
            }
        }
        Ok(())
    }

    /// Balance, unapplied credit and open invoices of a bill-to account.
    pub async fn account_balance(
        &self,
        p: &Principal,
        account_id: &str,
    ) -> AppResult<AccountBalance> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let account = load_account(&mut tx, &p.tenant_id, account_id).await?;
        require_bill_to(&account)?;
        let books = load_books(&mut tx, &account).await?;
        let now = self.tenant_now(&mut tx, &p.tenant_id).await?;
        tx.commit().await?;
        let today = account_today(&account, now)?;
        let l = &books.ledger;
        let mut open_invoices = Vec::new();
        for inv in l.invoices() {
            if !inv.open().is_positive() {
                continue;
            }
            let row = books
                .invoice_row(inv.id())
                .ok_or_else(|| internal("ledger invoice without row"))?;
            open_invoices.push(OpenInvoice {
                invoice_id: inv.id().to_string(),
                number: row.number.clone(),
                invoice_date: inv.date(),
                due_date: inv.due(),
                total: text(inv.total()),
                paid: text(inv.paid()),
                credited: text(inv.credited()),
                open: text(inv.open()),
                status: status_word(inv.status(today)).to_string(),
            });
        }
        open_invoices.sort_by_key(|a| (a.due_date, a.invoice_date));
        Ok(AccountBalance {
            account_id: account.id,
            currency: account.currency,
            balance: text(l.balance()),
            unapplied_credit: text(l.unapplied_credit()),
            open_total: text(l.open_total()),
            as_of: today,
            open_invoices,
        })
    }

    /// Open receivables by days past due for every bill-to account, as of each account's
    /// today, with totals per currency.
    pub async fn receivables_aging(&self, p: &Principal) -> AppResult<AgingReport> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let now = self.tenant_now(&mut tx, &p.tenant_id).await?;
        let ids = tx.accounts_with_ledger(&p.tenant_id).await?;
        let mut accounts = Vec::new();
        let mut totals: Vec<(Currency, [i64; 5])> = Vec::new();
        for id in ids {
            let account = load_account(&mut tx, &p.tenant_id, &id).await?;
            let books = load_books(&mut tx, &account).await?;
            let today = account_today(&account, now)?;
            let aging = books.ledger.aging(today);
            if aging.total().is_zero() {
                continue;
            }
            let currency = books.ledger.currency();
            let parts = parts_of(&aging);
            match totals.iter_mut().find(|(c, _)| *c == currency) {
                Some((_, t)) => {
                    for (sum, part) in t.iter_mut().zip(parts) {
                        *sum = sum.saturating_add(part);
                    }
                }
                None => totals.push((currency, parts)),
            }
            accounts.push(AccountAging {
                account_id: account.id,
                name: account.name,
                currency: currency.code().to_string(),
                as_of: today,
                buckets: buckets(parts, currency),
            });
        }
        tx.commit().await?;
        totals.sort_by_key(|(c, _)| c.code());
        Ok(AgingReport {
            accounts,
            totals: totals
                .into_iter()
                .map(|(c, parts)| CurrencyAging {
                    currency: c.code().to_string(),
                    buckets: buckets(parts, c),
                })
                .collect(),
        })
    }
}

fn parts_of(a: &Aging) -> [i64; 5] {
    [
        a.current.minor(),
        a.days_1_30.minor(),
        a.days_31_60.minor(),
        a.days_61_90.minor(),
        a.over_90.minor(),
    ]
}

fn buckets(parts: [i64; 5], currency: Currency) -> AgingBuckets {
    let m = |minor| text(Money::from_minor(minor, currency));
    AgingBuckets {
        current: m(parts[0]),
        days_1_30: m(parts[1]),
        days_31_60: m(parts[2]),
        days_61_90: m(parts[3]),
        over_90: m(parts[4]),
        total: m(parts.iter().fold(0i64, |a, b| a.saturating_add(*b))),
    }
}

/// Receivables belong to the account that pays: a child billed to its parent has none.
pub(crate) fn require_bill_to(account: &AccountRow) -> AppResult<()> {
    if account.bill_to_id != account.id {
        return Err(AppError::Invalid {
            code: "not_bill_to_account",
            field: Some("account_id".into()),
            message: format!(
                "account `{}` is billed to `{}`; its receivables are on that account",
                account.id, account.bill_to_id
            ),
        });
    }
    Ok(())
}

/// Payment sources the ledger allocated to each invoice from `payment`, in invoice order.
pub(crate) fn allocations_of(after: &Ledger, payment: &str) -> Vec<(String, Money)> {
    let mut out: Vec<(String, Money)> = Vec::new();
    for inv in after.invoices() {
        for a in after.allocations() {
            if a.invoice == inv.id()
                && matches!(&a.source, AllocationSource::Payment(p) if p == payment)
            {
                out.push((a.invoice.clone(), a.amount));
            }
        }
    }
    out
}
