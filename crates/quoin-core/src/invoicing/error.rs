//! Why an invoice could not be finished. Nothing is half-applied: the caller gets either
//! a whole invoice with the consumptions to persist, or one of these.

use std::fmt;

use rust_decimal::Decimal;

use crate::money::{Currency, Money, MoneyError};

/// The input an error is about, so the app can point at the offending record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Charge(usize),
    /// A per-price minimum, by price code.
    Minimum(String),
    Commitment,
    Coupon(String),
    Fee(String),
    Wallet(String),
    TaxRate {
        jurisdiction: String,
        category: String,
    },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Charge(key) => write!(f, "charge {key}"),
            Subject::Minimum(price) => write!(f, "minimum of price `{price}`"),
            Subject::Commitment => f.write_str("minimum commitment"),
            Subject::Coupon(code) => write!(f, "coupon `{code}`"),
            Subject::Fee(code) => write!(f, "fee `{code}`"),
            Subject::Wallet(code) => write!(f, "wallet `{code}`"),
            Subject::TaxRate {
                jurisdiction,
                category,
            } => write!(f, "tax rate `{category}` in `{jurisdiction}`"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoicingError {
    #[error("{subject}: amount is in {found} but the invoice is in {expected}")]
    CurrencyMismatch {
        subject: Subject,
        found: Currency,
        expected: Currency,
    },
    #[error("charge key {0} appears more than once")]
    DuplicateKey(usize),
    #[error("{subject}: percentage must be between 0 and 100, got {value}")]
    InvalidPercent { subject: Subject, value: Decimal },
    #[error("{subject}: amount must not be negative, got {amount}")]
    NegativeAmount { subject: Subject, amount: Money },
    #[error("{subject}: period numbers start at 1, got 0")]
    ZeroPeriodNumber { subject: Subject },
    #[error("no tax rate for category `{category}` in jurisdiction `{jurisdiction}`")]
    NoTaxRate {
        jurisdiction: String,
        category: String,
    },
    /// Overflow, in practice: every currency is checked before any arithmetic.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl InvoicingError {
    pub(crate) fn overflow() -> Self {
        InvoicingError::Money(MoneyError::Overflow)
    }
}
