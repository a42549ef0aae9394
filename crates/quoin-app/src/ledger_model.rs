//! API models of receivables: payments, refunds, credit notes, balances and aging.
//! Amounts are decimal strings in the document's currency ("80.00").

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::Invoice;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodCode {
    Manual,
    BankTransfer,
    Card,
    Check,
    Cash,
    /// Charged through a payment gateway (`gateway` + `payment_method`).
    Gateway,
}

impl PaymentMethodCode {
    pub fn code(&self) -> &'static str {
        match self {
            PaymentMethodCode::Manual => "manual",
            PaymentMethodCode::BankTransfer => "bank_transfer",
            PaymentMethodCode::Card => "card",
            PaymentMethodCode::Check => "check",
            PaymentMethodCode::Cash => "cash",
            PaymentMethodCode::Gateway => "gateway",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        use PaymentMethodCode::*;
        [Manual, BankTransfer, Card, Check, Cash, Gateway]
            .into_iter()
            .find(|m| m.code() == code)
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    pub invoice_id: String,
    /// Decimal string, positive, at most the invoice's open amount.
    pub amount: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// The bill-to account that pays.
    pub account_id: String,
    /// Decimal string, e.g. "80.00"; positive, in the currency's precision.
    pub amount: String,
    /// Must be the account's currency.
    pub currency: String,
    /// Default `manual`, or `gateway` when `gateway` is given.
    #[serde(default)]
    pub method: Option<PaymentMethodCode>,
    /// Bank reference, check number, … (at most 200 characters).
    #[serde(default)]
    pub reference: Option<String>,
    /// Default: the account's today. Not in the future.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub received_on: Option<Date>,
    /// Explicit allocation; the rest becomes account credit. Without it, open invoices are
    /// paid oldest due date first.
    #[serde(default)]
    pub allocations: Option<Vec<AllocationInput>>,
    /// Charge through this gateway (`test` outside production).
    #[serde(default)]
    pub gateway: Option<String>,
    /// The gateway's payment method token, e.g. `tok_visa`.
    #[serde(default)]
    pub payment_method: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentAllocation {
    pub invoice_id: String,
    pub amount: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Payment {
    pub id: String,
    pub account_id: String,
    pub amount: String,
    pub currency: String,
    pub method: PaymentMethodCode,
    pub reference: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub received_on: Date,
    /// succeeded, failed, partially_refunded, refunded
    pub status: String,
    pub refunded: String,
    /// What may still be refunded.
    pub refundable: String,
    /// How the payment was applied when received; the rest became account credit.
    pub allocations: Vec<PaymentAllocation>,
    pub unapplied: String,
    pub gateway: Option<String>,
    pub gateway_reference: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentPage {
    pub data: Vec<Payment>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// Decimal string; at most what is still refundable on the payment.
    pub amount: String,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub account_id: String,
    pub amount: String,
    pub currency: String,
    pub reason: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub refunded_on: Date,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The gateway's id of the refund, when the payment was taken through a gateway.
    pub gateway_reference: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInvoice {
    /// Why the invoice is voided; kept on the credit note.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VoidResult {
    pub invoice: Invoice,
    /// The full credit note of a finalized invoice (none for a draft or a zero total).
    pub credit_note: Option<CreditNote>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCreditNote {
    /// Decimal string; at most what is not yet credited on the invoice. Give either this
    /// (a credit on the invoice as a whole) or `lines`.
    #[serde(default)]
    pub amount: Option<String>,
    /// The invoice lines to credit, each by `amount` or by `quantity`.
    #[serde(default)]
    pub lines: Vec<CreditNoteLineInput>,
    pub reason: String,
}

/// One invoice line to credit: exactly one of `amount` (tax included, at most what is
/// still creditable on the line) or `quantity` (of the line's quantity, at most what
/// earlier quantity credits left). The tax part is credited in proportion.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteLineInput {
    pub line_id: String,
    /// Decimal string, tax included.
    #[serde(default)]
    pub amount: Option<String>,
    /// Decimal string, positive.
    #[serde(default)]
    pub quantity: Option<String>,
}

/// What a credit note credits on one invoice line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreditNoteLine {
    pub invoice_line_id: String,
    /// Set when the credit was asked by quantity.
    pub quantity: Option<String>,
    /// Tax included.
    pub amount: String,
    /// The tax part of `amount`.
    pub tax: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountCredit {
    /// Decimal string, positive.
    pub amount: String,
    /// Must be the account's currency.
    pub currency: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreditNote {
    pub id: String,
    /// Gapless per tenant: CN-000001, …
    pub number: String,
    pub account_id: String,
    /// The credited invoice; null for account credit.
    pub invoice_id: Option<String>,
    /// adjustment, void, account_credit
    pub kind: String,
    pub amount: String,
    /// The tax part of `amount` when the note credits lines; null for a note on the
    /// invoice as a whole.
    pub tax: Option<String>,
    pub currency: String,
    pub reason: String,
    #[schema(value_type = String, format = Date)]
    pub issued_on: Date,
    /// The invoice lines credited; empty for a note on the invoice as a whole.
    pub lines: Vec<CreditNoteLine>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreditNotePage {
    pub data: Vec<CreditNote>,
    pub next_cursor: Option<String>,
}

/// How much of a finalized invoice is settled, as of the account's today.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceSettlement {
    /// open, partially_paid, paid, overdue, void
    pub payment_status: String,
    /// Payments and account credit applied.
    pub paid: String,
    /// Credit notes against the invoice.
    pub credited: String,
    /// What is still owed.
    pub open: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenInvoice {
    pub invoice_id: String,
    pub number: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub invoice_date: Date,
    #[schema(value_type = String, format = Date)]
    pub due_date: Date,
    pub total: String,
    pub paid: String,
    pub credited: String,
    pub open: String,
    /// open, partially_paid, overdue
    pub status: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountBalance {
    pub account_id: String,
    pub currency: String,
    /// What the customer owes; negative when the account is in credit.
    pub balance: String,
    /// Money received or credited that no invoice has consumed yet.
    pub unapplied_credit: String,
    /// Sum of open amounts.
    pub open_total: String,
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    pub open_invoices: Vec<OpenInvoice>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgingBuckets {
    pub current: String,
    pub days_1_30: String,
    pub days_31_60: String,
    pub days_61_90: String,
    pub over_90: String,
    pub total: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountAging {
    pub account_id: String,
    pub name: String,
    pub currency: String,
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    pub buckets: AgingBuckets,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrencyAging {
    pub currency: String,
    pub buckets: AgingBuckets,
}

/// Open receivables by days past due, per bill-to account (as of each account's today)
/// and totalled per currency. Accounts with nothing open are left out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgingReport {
    pub accounts: Vec<AccountAging>,
    pub totals: Vec<CurrencyAging>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportRowError {
    /// 1-based data row (the header is row 0).
    pub row: usize,
    pub field: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentImportResult {
    pub accepted: usize,
    pub payment_ids: Vec<String>,
    pub rejected: Vec<ImportRowError>,
}

/// A tenant's payment retry schedule: when a gateway charge of an invoice is declined,
/// the charge is tried again this many days after the failure (e.g. `[1, 9, 13, 20]`),
/// by the daily billing job, until the invoice is paid or the days run out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRetryPolicy {
    /// Strictly increasing, 1–365, at most 20; empty: no retries.
    pub retry_days: Vec<i64>,
}

/// One gateway charge aimed at an invoice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentAttempt {
    /// 1, 2, … in the order made.
    pub attempt: i64,
    /// 0: charged by request; n: the n-th scheduled retry.
    pub retry: i64,
    #[schema(value_type = String, format = Date)]
    pub attempted_on: Date,
    /// The payment recorded (failed or succeeded); none when the gateway was unreachable.
    pub payment_id: Option<String>,
    pub amount: String,
    pub currency: String,
    /// succeeded, declined or unavailable.
    pub outcome: String,
    pub failure_code: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// Where an invoice's retries stand.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentRetryPlan {
    /// scheduled, succeeded, stopped (the invoice was settled otherwise) or exhausted.
    pub status: String,
    pub gateway: String,
    /// The failure the retry days count from.
    #[schema(value_type = String, format = Date)]
    pub failed_on: Date,
    pub retry_days: Vec<i64>,
    pub retries_done: i64,
    #[schema(value_type = Option<String>, format = Date)]
    pub next_retry_on: Option<Date>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoicePaymentAttempts {
    pub invoice_id: String,
    /// None when no charge of the invoice was declined.
    pub retry: Option<PaymentRetryPlan>,
    pub attempts: Vec<PaymentAttempt>,
}

/// A new payment method for an invoice's scheduled retries (the customer updated a card).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRetryPaymentMethod {
    /// Gateway token the next retries charge.
    pub payment_method: String,
}
