//! Building blocks shared by the ledger operations.

use jiff::civil::Date;

use crate::money::Money;

use super::document::{Allocation, AllocationSource, Payment};
use super::error::{DocumentKind, LedgerError};
use super::Ledger;

impl Ledger {
    /// Runs `op` on a copy and keeps the copy only if it succeeds: the all-or-nothing
    /// guarantee in one place instead of careful ordering in every operation.
    pub(super) fn commit<T>(
        &mut self,
        op: impl FnOnce(&mut Ledger) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let mut next = self.clone();
        let out = op(&mut next)?;
        *self = next;
        Ok(out)
    }

    pub(super) fn check_currency(&self, amount: Money) -> Result<(), LedgerError> {
        if amount.currency() != self.currency {
            return Err(LedgerError::CurrencyMismatch {
                expected: self.currency,
                found: amount.currency(),
            });
        }
        Ok(())
    }

    pub(super) fn check_amount(&self, amount: Money) -> Result<(), LedgerError> {
        self.check_currency(amount)?;
        if !amount.is_positive() {
            return Err(LedgerError::NonPositiveAmount(amount));
        }
        Ok(())
    }

    pub(super) fn invoice_index(&self, id: &str) -> Result<usize, LedgerError> {
        self.invoices
            .iter()
            .position(|i| i.id == id)
            .ok_or_else(|| LedgerError::UnknownInvoice(id.to_string()))
    }

    /// Validates and records a payment; the caller allocates it.
    pub(super) fn start_payment(
        &mut self,
        id: &str,
        date: Date,
        amount: Money,
    ) -> Result<(), LedgerError> {
        self.check_amount(amount)?;
        if self.payments.iter().any(|p| p.id == id) {
            return Err(duplicate(DocumentKind::Payment, id));
        }
        self.balance = self.balance.checked_sub(amount)?;
        self.payments.push(Payment {
            id: id.to_string(),
            date,
            amount,
            refunded: Money::zero(self.currency),
        });
        Ok(())
    }

    /// Applies `amount` from `source` to invoice `idx`, merging with an earlier allocation
    /// from the same source. The caller has checked it fits the open amount.
    pub(super) fn allocate(
        &mut self,
        idx: usize,
        source: AllocationSource,
        amount: Money,
    ) -> Result<(), LedgerError> {
        let inv = &mut self.invoices[idx];
        inv.paid = inv.paid.checked_add(amount)?;
        self.open_total = self.open_total.checked_sub(amount)?;
        let existing = self
            .allocations
            .iter_mut()
            .find(|a| a.invoice == inv.id && a.source == source);
        match existing {
            Some(a) => a.amount = a.amount.checked_add(amount)?,
            None => self.allocations.push(Allocation {
                invoice: inv.id.clone(),
                source,
                amount,
            }),
        }
        Ok(())
    }

    /// Takes back up to `amount` of what is allocated to invoice `idx` — `prefer`'s
    /// allocation first, then the others newest first — and returns how much it took.
    /// The invoice's `paid` drops; the caller decides where the money goes and adjusts
    /// the open total.
    pub(super) fn release(
        &mut self,
        idx: usize,
        amount: Money,
        prefer: Option<&str>,
    ) -> Result<Money, LedgerError> {
        let inv_id = self.invoices[idx].id.clone();
        let is_preferred = |a: &Allocation| match (&a.source, prefer) {
            (AllocationSource::Payment(p), Some(q)) => p == q,
            _ => false,
        };
        let mut order: Vec<usize> = (0..self.allocations.len())
            .rev()
            .filter(|&k| self.allocations[k].invoice == inv_id)
            .collect();
        order.sort_by_key(|&k| !is_preferred(&self.allocations[k]));
        let mut taken = Money::zero(self.currency);
        for k in order {
            let want = amount.checked_sub(taken)?;
            if !want.is_positive() {
                break;
            }
            let a = &mut self.allocations[k];
            let take = min(a.amount, want);
            a.amount = a.amount.checked_sub(take)?;
            taken = taken.checked_add(take)?;
        }
        self.allocations.retain(|a| !a.amount.is_zero());
        let inv = &mut self.invoices[idx];
        inv.paid = inv.paid.checked_sub(taken)?;
        Ok(taken)
    }
}

pub(super) fn duplicate(kind: DocumentKind, id: &str) -> LedgerError {
    LedgerError::DuplicateId {
        kind,
        id: id.to_string(),
    }
}

/// The smaller of two amounts in the same currency.
pub(super) fn min(a: Money, b: Money) -> Money {
    if a.minor() <= b.minor() {
        a
    } else {
        b
    }
}
