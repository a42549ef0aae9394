//! Receivables: payments and their allocations, credit notes, refunds, the per-account
//! ledger journal and the invoice settlement read model.

use super::{insert_row, Page};
use crate::rows::{AccountRow, InvoiceRow};
use crate::{on_tx, Result, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct PaymentRow {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub currency: String,
    pub amount_minor: i64,
    /// manual, bank_transfer, card, check, cash or gateway.
    pub method: String,
    pub reference: Option<String>,
    pub received_on: String,
    /// succeeded, failed, partially_refunded or refunded.
    pub status: String,
    pub refunded_minor: i64,
    pub gateway: Option<String>,
    pub gateway_reference: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct PaymentAllocationRow {
    pub tenant_id: String,
    pub payment_id: String,
    pub position: i64,
    pub invoice_id: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct CreditNoteRow {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub number: String,
    pub invoice_id: Option<String>,
    pub currency: String,
    pub amount_minor: i64,
    /// adjustment, void or account_credit.
    pub kind: String,
    pub reason: String,
    pub issued_on: String,
    pub created_at_us: i64,
}

/// What a credit note credits on one invoice line (see migration 0014).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CreditNoteLineRow {
    pub tenant_id: String,
    pub credit_note_id: String,
    pub position: i64,
    pub invoice_id: String,
    pub invoice_line_id: String,
    /// Decimal text, when the credit was asked by quantity.
    pub quantity: Option<String>,
    /// Tax included.
    pub amount_minor: i64,
    pub tax_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct RefundRow {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub payment_id: String,
    pub currency: String,
    pub amount_minor: i64,
    pub reason: Option<String>,
    pub refunded_on: String,
    pub created_at_us: i64,
    /// The gateway's id of the refund, for payments taken through a gateway.
    pub gateway_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct LedgerEntryRow {
    pub tenant_id: String,
    pub account_id: String,
    pub seq: i64,
    /// invoice, credit_note, payment or refund.
    pub kind: String,
    pub document_id: String,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvoiceSettlementRow {
    pub tenant_id: String,
    pub invoice_id: String,
    pub account_id: String,
    pub paid_minor: i64,
    pub credited_minor: i64,
    pub open_minor: i64,
    pub void_reason: Option<String>,
    pub voided_at_us: Option<i64>,
}

/// Every document of one account's ledger, loaded at once for a replay.
#[derive(Debug, Clone, Default)]
pub struct AccountDocuments {
    pub entries: Vec<LedgerEntryRow>,
    pub invoices: Vec<InvoiceRow>,
    pub credit_notes: Vec<CreditNoteRow>,
    pub payments: Vec<PaymentRow>,
    pub allocations: Vec<PaymentAllocationRow>,
    pub refunds: Vec<RefundRow>,
}

#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CreditNoteFilter {
    pub account_id: Option<String>,
    pub invoice_id: Option<String>,
}

impl Tx {
    pub async fn insert_payment(&mut self, row: &PaymentRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "payments",
            PaymentRow,
            row,
            [
                id,
                tenant_id,
                account_id,
                currency,
                amount_minor,
                method,
                reference,
                received_on,
                status,
                refunded_minor,
                gateway,
                gateway_reference,
                failure_code,
                failure_message,
                created_at_us
            ]
        ));
        Ok(())
    }

    pub async fn insert_payment_allocation(&mut self, row: &PaymentAllocationRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "payment_allocations",
            PaymentAllocationRow,
            row,
            [tenant_id, payment_id, position, invoice_id, amount_minor]
        ));
        Ok(())
    }

    pub async fn insert_credit_note(&mut self, row: &CreditNoteRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "credit_notes",
            CreditNoteRow,
            row,
            [
                id,
                tenant_id,
                account_id,
                number,
                invoice_id,
                currency,
                amount_minor,
                kind,
                reason,
                issued_on,
                created_at_us
            ]
        ));
        Ok(())
    }

    pub async fn insert_credit_note_line(&mut self, row: &CreditNoteLineRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "credit_note_lines",
            CreditNoteLineRow,
            row,
            [
                tenant_id,
                credit_note_id,
                position,
                invoice_id,
                invoice_line_id,
                quantity,
                amount_minor,
                tax_minor
            ]
        ));
        Ok(())
    }

    /// The lines of one credit note, in order (none for a note on the invoice as a whole).
    pub async fn credit_note_lines(
        &mut self,
        tenant: &str,
        credit_note: &str,
    ) -> Result<Vec<CreditNoteLineRow>> {
        let sql = "SELECT * FROM credit_note_lines WHERE tenant_id = $1 AND credit_note_id = $2 \
                   ORDER BY position";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(credit_note)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Every line credit of every credit note against an invoice.
    pub async fn invoice_line_credits(
        &mut self,
        tenant: &str,
        invoice: &str,
    ) -> Result<Vec<CreditNoteLineRow>> {
        let sql = "SELECT * FROM credit_note_lines WHERE tenant_id = $1 AND invoice_id = $2 \
                   ORDER BY credit_note_id, position";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(invoice)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn insert_refund(&mut self, row: &RefundRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "refunds",
            RefundRow,
            row,
            [
                id,
                tenant_id,
                account_id,
                payment_id,
                currency,
                amount_minor,
                reason,
                refunded_on,
                created_at_us,
                gateway_reference
            ]
        ));
        Ok(())
    }

    /// Appends a document to an account's ledger journal. Call under the account lock.
    pub async fn append_ledger_entry(
        &mut self,
        tenant: &str,
        account: &str,
        kind: &str,
        document: &str,
        at_us: i64,
    ) -> Result<i64> {
        let sql = "SELECT COALESCE(MAX(seq), 0) + 1 FROM ledger_entries \
                   WHERE tenant_id = $1 AND account_id = $2";
        let seq: i64 = on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(account)
            .fetch_one(&mut *c)
            .await?);
        let row = LedgerEntryRow {
            tenant_id: tenant.to_string(),
            account_id: account.to_string(),
            seq,
            kind: kind.to_string(),
            document_id: document.to_string(),
            created_at_us: at_us,
        };
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "ledger_entries",
            LedgerEntryRow,
            &row,
            [tenant_id, account_id, seq, kind, document_id, created_at_us]
        ));
        Ok(seq)
    }

    /// The journal and every document it names, for replaying one account's ledger.
    pub async fn account_documents(
        &mut self,
        tenant: &str,
        account: &str,
    ) -> Result<AccountDocuments> {
        let q_entries =
            "SELECT * FROM ledger_entries WHERE tenant_id = $1 AND account_id = $2 ORDER BY seq";
        let q_invoices = "SELECT * FROM invoices WHERE tenant_id = $1 AND account_id = $2 \
                          AND finalized_at_us IS NOT NULL";
        let q_notes = "SELECT * FROM credit_notes WHERE tenant_id = $1 AND account_id = $2";
        let q_payments = "SELECT * FROM payments WHERE tenant_id = $1 AND account_id = $2";
        let q_allocs = "SELECT a.* FROM payment_allocations a JOIN payments p ON p.id = a.payment_id \
                        WHERE a.tenant_id = $1 AND p.account_id = $2 ORDER BY a.payment_id, a.position";
        let q_refunds = "SELECT * FROM refunds WHERE tenant_id = $1 AND account_id = $2";
        macro_rules! all {
            ($sql:expr) => {
                on_tx!(self, |c| sqlx::query_as($sql)
                    .bind(tenant)
                    .bind(account)
                    .fetch_all(&mut *c)
                    .await?)
            };
        }
        Ok(AccountDocuments {
            entries: all!(q_entries),
            invoices: all!(q_invoices),
            credit_notes: all!(q_notes),
            payments: all!(q_payments),
            allocations: all!(q_allocs),
            refunds: all!(q_refunds),
        })
    }

    pub async fn get_payment(&mut self, tenant: &str, id: &str) -> Result<Option<PaymentRow>> {
        let sql = "SELECT * FROM payments WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn list_payments(
        &mut self,
        tenant: &str,
        filter: &PaymentFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<PaymentRow>> {
        let sql = "SELECT * FROM payments WHERE tenant_id = $1 \
                   AND ($2 IS NULL OR account_id = $2) AND ($3 IS NULL OR id > $3) \
                   ORDER BY id LIMIT $4";
        let rows: Vec<PaymentRow> = on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(&filter.account_id)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&mut *c)
            .await?);
        Ok(Page::from_overfetch(rows, limit, |r| r.id.clone()))
    }

    pub async fn payment_allocations(
        &mut self,
        tenant: &str,
        payment: &str,
    ) -> Result<Vec<PaymentAllocationRow>> {
        let sql = "SELECT * FROM payment_allocations WHERE tenant_id = $1 AND payment_id = $2 \
                   ORDER BY position";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(payment)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn payment_refunds(&mut self, tenant: &str, payment: &str) -> Result<Vec<RefundRow>> {
        let sql = "SELECT * FROM refunds WHERE tenant_id = $1 AND payment_id = $2 ORDER BY id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(payment)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Records how much of a payment is refunded and its resulting status.
    pub async fn set_payment_refunded(
        &mut self,
        tenant: &str,
        id: &str,
        refunded_minor: i64,
        status: &str,
    ) -> Result<()> {
        let sql =
            "UPDATE payments SET refunded_minor = $3, status = $4 WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(refunded_minor)
            .bind(status)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Whether the account already has a payment with this reference (re-imported files).
    pub async fn payment_reference_exists(
        &mut self,
        tenant: &str,
        account: &str,
        reference: &str,
    ) -> Result<bool> {
        let sql = "SELECT COUNT(*) FROM payments WHERE tenant_id = $1 AND account_id = $2 \
                   AND reference = $3 AND status <> 'failed'";
        let n: i64 = on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(account)
            .bind(reference)
            .fetch_one(&mut *c)
            .await?);
        Ok(n > 0)
    }

    pub async fn get_credit_note(
        &mut self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<CreditNoteRow>> {
        let sql = "SELECT * FROM credit_notes WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn list_credit_notes(
        &mut self,
        tenant: &str,
        filter: &CreditNoteFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<CreditNoteRow>> {
        let sql = "SELECT * FROM credit_notes WHERE tenant_id = $1 \
                   AND ($2 IS NULL OR account_id = $2) AND ($3 IS NULL OR invoice_id = $3) \
                   AND ($4 IS NULL OR id > $4) ORDER BY id LIMIT $5";
        let rows: Vec<CreditNoteRow> = on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(&filter.account_id)
            .bind(&filter.invoice_id)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&mut *c)
            .await?);
        Ok(Page::from_overfetch(rows, limit, |r| r.id.clone()))
    }

    /// Writes (or rewrites) an invoice's settlement read model.
    pub async fn upsert_invoice_settlement(&mut self, row: &InvoiceSettlementRow) -> Result<()> {
        let sql = "INSERT INTO invoice_settlements (tenant_id, invoice_id, account_id, paid_minor, \
                   credited_minor, open_minor, void_reason, voided_at_us) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                   ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET paid_minor = excluded.paid_minor, \
                   credited_minor = excluded.credited_minor, open_minor = excluded.open_minor, \
                   void_reason = COALESCE(excluded.void_reason, invoice_settlements.void_reason), \
                   voided_at_us = COALESCE(excluded.voided_at_us, invoice_settlements.voided_at_us)";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.invoice_id)
            .bind(&row.account_id)
            .bind(row.paid_minor)
            .bind(row.credited_minor)
            .bind(row.open_minor)
            .bind(&row.void_reason)
            .bind(row.voided_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn get_invoice_settlement(
        &mut self,
        tenant: &str,
        invoice: &str,
    ) -> Result<Option<InvoiceSettlementRow>> {
        let sql = "SELECT * FROM invoice_settlements WHERE tenant_id = $1 AND invoice_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(invoice)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Moves an invoice from `from` (draft or finalized) to void; false when it was not `from`.
    pub async fn void_invoice(&mut self, tenant: &str, id: &str, from: &str) -> Result<bool> {
        let sql =
            "UPDATE invoices SET status = 'void' WHERE tenant_id = $1 AND id = $2 AND status = $3";
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(from)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    pub async fn get_invoice_by_number(
        &mut self,
        tenant: &str,
        number: &str,
    ) -> Result<Option<InvoiceRow>> {
        let sql = "SELECT * FROM invoices WHERE tenant_id = $1 AND number = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(number)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn get_account_by_ban(
        &mut self,
        tenant: &str,
        ban: &str,
    ) -> Result<Option<AccountRow>> {
        let sql = "SELECT * FROM accounts WHERE tenant_id = $1 AND ban = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(ban)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Bill-to accounts of the tenant that have anything in their ledger.
    pub async fn accounts_with_ledger(&mut self, tenant: &str) -> Result<Vec<String>> {
        let sql = "SELECT DISTINCT account_id FROM ledger_entries WHERE tenant_id = $1 ORDER BY account_id";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }
}
