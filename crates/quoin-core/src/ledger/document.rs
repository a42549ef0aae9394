use jiff::civil::Date;

use crate::money::Money;

/// A finalized invoice as the ledger sees it: its total and how much of it has been settled.
///
/// `open = total − credited − paid` and stays within `0..=total`; the ledger refuses any
/// operation that would break that. Invoices with a total of zero or less are never open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub(super) id: String,
    pub(super) date: Date,
    pub(super) due: Date,
    pub(super) total: Money,
    pub(super) credited: Money,
    pub(super) paid: Money,
}

impl Invoice {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn date(&self) -> Date {
        self.date
    }

    pub fn due(&self) -> Date {
        self.due
    }

    pub fn total(&self) -> Money {
        self.total
    }

    /// Sum of credit notes issued against this invoice.
    pub fn credited(&self) -> Money {
        self.credited
    }

    /// Sum of payments and account credit currently allocated to this invoice.
    pub fn paid(&self) -> Money {
        self.paid
    }

    /// What the customer still owes on this invoice; zero for an invoice whose total is
    /// zero or negative (a negative total became account credit when it was added).
    pub fn open(&self) -> Money {
        if !self.total.is_positive() {
            return Money::zero(self.total.currency());
        }
        // credited + paid <= total is a ledger invariant, so this cannot overflow.
        Money::from_minor(
            self.total.minor() - self.credited.minor() - self.paid.minor(),
            self.total.currency(),
        )
    }

    /// Status as of `as_of`. Credit notes count as settlement, so a fully credited
    /// invoice is `Paid`; overdue wins over partially paid because it drives dunning.
    pub fn status(&self, as_of: Date) -> InvoiceStatus {
        let open = self.open();
        if open.is_zero() {
            InvoiceStatus::Paid
        } else if as_of > self.due {
            InvoiceStatus::Overdue
        } else if open != self.total {
            InvoiceStatus::PartiallyPaid
        } else {
            InvoiceStatus::Open
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvoiceStatus {
    /// Nothing settled yet and not past due.
    Open,
    /// Partly settled and not past due.
    PartiallyPaid,
    /// Nothing left to pay.
    Paid,
    /// Something left to pay after the due date.
    Overdue,
}

/// A credit note, either against one invoice or on the account as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNote {
    pub id: String,
    pub date: Date,
    pub amount: Money,
    pub invoice: Option<String>,
}

/// A payment received and how much of it has been refunded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    pub date: Date,
    pub amount: Money,
    pub refunded: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub payment: String,
    pub date: Date,
    pub amount: Money,
}

/// Where money allocated to an invoice came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AllocationSource {
    Payment(String),
    /// Unapplied account credit (overpayments, account-level credit notes), Kill Bill's CBA.
    AccountCredit,
}

/// Money currently applied to an invoice from one source. Amounts from the same source to
/// the same invoice are merged; allocations reduced to zero by refunds disappear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub invoice: String,
    pub source: AllocationSource,
    pub amount: Money,
}
