use std::fmt;

use jiff::civil::Date;

use crate::money::{Currency, Money, MoneyError};

/// The kinds of document a ledger records; ids are unique within a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Invoice,
    CreditNote,
    Payment,
    Refund,
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            DocumentKind::Invoice => "invoice",
            DocumentKind::CreditNote => "credit note",
            DocumentKind::Payment => "payment",
            DocumentKind::Refund => "refund",
        })
    }
}

/// Why a ledger operation was refused. A refused operation leaves the ledger untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("currency mismatch: ledger is {expected}, amount is {found}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("amount must be positive, got {0}")]
    NonPositiveAmount(Money),
    #[error("duplicate {kind} id `{id}`")]
    DuplicateId { kind: DocumentKind, id: String },
    #[error("unknown invoice `{0}`")]
    UnknownInvoice(String),
    #[error("unknown payment `{0}`")]
    UnknownPayment(String),
    #[error("due date {due} is before invoice date {date}")]
    DueBeforeDate { date: Date, due: Date },
    #[error("cannot apply {requested} to invoice `{invoice}`: only {open} is open")]
    OverAllocation {
        invoice: String,
        requested: Money,
        open: Money,
    },
    #[error("invoice `{0}` appears more than once in one payment's allocations")]
    RepeatedAllocation(String),
    #[error("allocations total {allocated}, more than the payment amount {amount}")]
    AllocationExceedsPayment { allocated: Money, amount: Money },
    #[error("credit note of {requested} exceeds the {creditable} still creditable on invoice `{invoice}`")]
    OverCredit {
        invoice: String,
        requested: Money,
        creditable: Money,
    },
    #[error(
        "refund of {requested} exceeds the {refundable} still refundable on payment `{payment}`"
    )]
    OverRefund {
        payment: String,
        requested: Money,
        refundable: Money,
    },
    #[error("cannot apply {requested} of account credit: only {available} is unapplied")]
    InsufficientCredit { requested: Money, available: Money },
    #[error("amount overflow")]
    Overflow,
}

impl From<MoneyError> for LedgerError {
    fn from(e: MoneyError) -> Self {
        match e {
            MoneyError::CurrencyMismatch(expected, found) => {
                LedgerError::CurrencyMismatch { expected, found }
            }
            _ => LedgerError::Overflow,
        }
    }
}
