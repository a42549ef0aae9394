//! Account ledger: the documents of one bill-to account in one currency and how payments,
//! credits and refunds settle its invoices.
//!
//! Operations are applied one at a time and either succeed completely or change nothing.
//! The ledger keeps these invariants, which its property tests check:
//!
//! - balance = Σ invoices − Σ credit notes − Σ payments + Σ refunds (positive: the customer owes);
//! - Σ open amounts − unapplied credit = balance;
//! - every invoice's open amount is within `0..=total` (zero when the total is not positive).
//!
//! Settlement rules, modelled on Kill Bill's credit balance (CBA) arithmetic:
//!
//! - **Payments** go to open invoices oldest due date first (then invoice date, then
//!   insertion order), or to the invoices and amounts the caller names; what is left becomes
//!   unapplied account credit.
//! - **Negative invoices** (repairs exceeding charges) add their absolute amount to account
//!   credit; zero invoices are settled on arrival.
//! - **Account credit** (overpayments, credit notes not against an invoice) is consumed
//!   automatically by each new invoice, up to its total, and can also be applied explicitly.
//! - **Credit notes against an invoice** may credit up to what has not been credited yet
//!   (`total − credited`). They first reduce the open amount; any excess — an adjustment of
//!   an already paid invoice — releases that invoice's allocations (newest first) into
//!   account credit, as Kill Bill's item adjustment does (charged 90, CBA +10).
//! - **Refunds** of a payment are limited to its amount less earlier refunds. The money is
//!   taken back from unapplied credit first, so the customer is never made to owe more
//!   than necessary; the rest is un-allocated from invoices newest first (by invoice date,
//!   then due date, then insertion order), starting with the refunded payment's own
//!   allocation on each invoice. Those invoices reopen.

mod aging;
mod document;
mod error;
mod internal;
mod line_credit;
mod ops;

use jiff::civil::Date;

use crate::money::{Currency, Money};

pub use aging::Aging;
pub use document::{
    Allocation, AllocationSource, CreditNote, Invoice, InvoiceStatus, Payment, Refund,
};
pub use error::{DocumentKind, LedgerError};
pub use line_credit::{credit_line, CreditableLine, LineCredit, LineCreditAsk, LineCreditError};

/// The ledger of one account in one currency.
///
/// Running totals are kept with checked arithmetic when operations are applied, so every
/// query is infallible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    currency: Currency,
    invoices: Vec<Invoice>,
    credit_notes: Vec<CreditNote>,
    payments: Vec<Payment>,
    refunds: Vec<Refund>,
    allocations: Vec<Allocation>,
    balance: Money,
    credit: Money,
    open_total: Money,
}

impl Ledger {
    pub fn new(currency: Currency) -> Self {
        let zero = Money::zero(currency);
        Self {
            currency,
            invoices: Vec::new(),
            credit_notes: Vec::new(),
            payments: Vec::new(),
            refunds: Vec::new(),
            allocations: Vec::new(),
            balance: zero,
            credit: zero,
            open_total: zero,
        }
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// What the customer owes overall; negative when the account is in credit.
    pub fn balance(&self) -> Money {
        self.balance
    }

    /// Money received or credited that no invoice has consumed yet.
    pub fn unapplied_credit(&self) -> Money {
        self.credit
    }

    /// Sum of all invoices' open amounts.
    pub fn open_total(&self) -> Money {
        self.open_total
    }

    pub fn invoice(&self, id: &str) -> Option<&Invoice> {
        self.invoices.iter().find(|i| i.id == id)
    }

    /// Invoices in the order they were added.
    pub fn invoices(&self) -> &[Invoice] {
        &self.invoices
    }

    pub fn open_amount(&self, invoice: &str) -> Result<Money, LedgerError> {
        self.known_invoice(invoice).map(Invoice::open)
    }

    pub fn status(&self, invoice: &str, as_of: Date) -> Result<InvoiceStatus, LedgerError> {
        self.known_invoice(invoice).map(|i| i.status(as_of))
    }

    pub fn credit_notes(&self) -> &[CreditNote] {
        &self.credit_notes
    }

    pub fn payments(&self) -> &[Payment] {
        &self.payments
    }

    pub fn payment(&self, id: &str) -> Option<&Payment> {
        self.payments.iter().find(|p| p.id == id)
    }

    pub fn refunds(&self) -> &[Refund] {
        &self.refunds
    }

    /// Current allocations of payments and account credit to invoices.
    pub fn allocations(&self) -> &[Allocation] {
        &self.allocations
    }

    /// What payments (not account credit) currently contribute to an invoice: an invoice
    /// with payments on it is refunded or credited, never simply voided.
    pub fn paid_by_payments(&self, invoice: &str) -> Money {
        let minor = self
            .allocations
            .iter()
            .filter(|a| a.invoice == invoice && matches!(a.source, AllocationSource::Payment(_)))
            .map(|a| a.amount.minor())
            // Parts of the invoice's paid amount, which fits in i64.
            .fold(0i64, i64::saturating_add);
        Money::from_minor(minor, self.currency)
    }

    /// Open receivables by days past due as of the caller's date.
    pub fn aging(&self, as_of: Date) -> Aging {
        aging::aging(self.currency, &self.invoices, as_of)
    }

    fn known_invoice(&self, id: &str) -> Result<&Invoice, LedgerError> {
        self.invoice(id)
            .ok_or_else(|| LedgerError::UnknownInvoice(id.to_string()))
    }
}
