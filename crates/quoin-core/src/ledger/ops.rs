//! The operations that change a ledger. Each runs on a copy and replaces the ledger only
//! when it succeeds, so an error found midway (an overflow, say) cannot leave it half done.

use jiff::civil::Date;

use crate::money::Money;

use super::document::{AllocationSource, CreditNote, Invoice, Refund};
use super::error::{DocumentKind, LedgerError};
use super::internal::{duplicate, min};
use super::Ledger;

impl Ledger {
    /// Records a finalized invoice and lets unapplied account credit pay it (CBA).
    /// Returns the credit consumed.
    ///
    /// A zero total is settled at once. A negative total (repairs of earlier periods
    /// exceeding the new charges) leaves nothing open and turns its absolute amount into
    /// account credit, which later invoices consume (Kill Bill's CBA on a negative invoice).
    pub fn add_invoice(
        &mut self,
        id: &str,
        date: Date,
        due: Date,
        total: Money,
    ) -> Result<Money, LedgerError> {
        self.commit(|l| {
            l.check_currency(total)?;
            if l.invoices.iter().any(|i| i.id == id) {
                return Err(duplicate(DocumentKind::Invoice, id));
            }
            if due < date {
                return Err(LedgerError::DueBeforeDate { date, due });
            }
            let zero = Money::zero(l.currency);
            l.invoices.push(Invoice {
                id: id.to_string(),
                date,
                due,
                total,
                credited: zero,
                paid: zero,
            });
            l.balance = l.balance.checked_add(total)?;
            if !total.is_positive() {
                l.credit = l.credit.checked_sub(total)?;
                return Ok(zero);
            }
            l.open_total = l.open_total.checked_add(total)?;
            let consumed = min(l.credit, total);
            if consumed.is_positive() {
                l.credit = l.credit.checked_sub(consumed)?;
                l.allocate(
                    l.invoices.len() - 1,
                    AllocationSource::AccountCredit,
                    consumed,
                )?;
            }
            Ok(consumed)
        })
    }

    /// Records a credit note, against `invoice` or (with `None`) as account credit.
    pub fn add_credit_note(
        &mut self,
        id: &str,
        date: Date,
        amount: Money,
        invoice: Option<&str>,
    ) -> Result<(), LedgerError> {
        self.commit(|l| {
            l.check_amount(amount)?;
            if l.credit_notes.iter().any(|c| c.id == id) {
                return Err(duplicate(DocumentKind::CreditNote, id));
            }
            l.balance = l.balance.checked_sub(amount)?;
            match invoice {
                None => l.credit = l.credit.checked_add(amount)?,
                Some(inv_id) => {
                    let idx = l.invoice_index(inv_id)?;
                    let inv = &l.invoices[idx];
                    let creditable = inv.total.checked_sub(inv.credited)?;
                    if amount.minor() > creditable.minor() {
                        return Err(LedgerError::OverCredit {
                            invoice: inv_id.to_string(),
                            requested: amount,
                            creditable,
                        });
                    }
                    let from_open = min(inv.open(), amount);
                    let excess = amount.checked_sub(from_open)?;
                    let inv = &mut l.invoices[idx];
                    inv.credited = inv.credited.checked_add(amount)?;
                    l.open_total = l.open_total.checked_sub(amount)?;
                    // Crediting past the open amount hands paid money back as account credit.
                    let released = l.release(idx, excess, None)?;
                    debug_assert_eq!(released, excess);
                    l.open_total = l.open_total.checked_add(released)?;
                    l.credit = l.credit.checked_add(released)?;
                }
            }
            l.credit_notes.push(CreditNote {
                id: id.to_string(),
                date,
                amount,
                invoice: invoice.map(str::to_string),
            });
            Ok(())
        })
    }

    /// Records a payment allocated to open invoices oldest due date first. Returns what was
    /// left over as unapplied credit.
    pub fn add_payment(
        &mut self,
        id: &str,
        date: Date,
        amount: Money,
    ) -> Result<Money, LedgerError> {
        self.commit(|l| {
            l.start_payment(id, date, amount)?;
            let mut order: Vec<usize> = (0..l.invoices.len())
                .filter(|&i| l.invoices[i].open().is_positive())
                .collect();
            order.sort_by_key(|&i| (l.invoices[i].due, l.invoices[i].date, i));
            let mut left = amount;
            for idx in order {
                if !left.is_positive() {
                    break;
                }
                let take = min(left, l.invoices[idx].open());
                l.allocate(idx, AllocationSource::Payment(id.to_string()), take)?;
                left = left.checked_sub(take)?;
            }
            l.credit = l.credit.checked_add(left)?;
            Ok(left)
        })
    }

    /// Records a payment allocated exactly as given; each amount must be positive and at
    /// most the invoice's open amount. Returns what was left over as unapplied credit.
    pub fn add_payment_to(
        &mut self,
        id: &str,
        date: Date,
        amount: Money,
        allocations: &[(&str, Money)],
    ) -> Result<Money, LedgerError> {
        self.commit(|l| {
            l.start_payment(id, date, amount)?;
            let mut allocated = Money::zero(l.currency);
            for (n, &(inv_id, part)) in allocations.iter().enumerate() {
                l.check_amount(part)?;
                if allocations[..n].iter().any(|(other, _)| *other == inv_id) {
                    return Err(LedgerError::RepeatedAllocation(inv_id.to_string()));
                }
                let idx = l.invoice_index(inv_id)?;
                let open = l.invoices[idx].open();
                if part.minor() > open.minor() {
                    return Err(LedgerError::OverAllocation {
                        invoice: inv_id.to_string(),
                        requested: part,
                        open,
                    });
                }
                allocated = allocated.checked_add(part)?;
                if allocated.minor() > amount.minor() {
                    return Err(LedgerError::AllocationExceedsPayment { allocated, amount });
                }
                l.allocate(idx, AllocationSource::Payment(id.to_string()), part)?;
            }
            let left = amount.checked_sub(allocated)?;
            l.credit = l.credit.checked_add(left)?;
            Ok(left)
        })
    }

    /// Refunds part or all of a payment; see the module docs for where the money comes from.
    pub fn refund(
        &mut self,
        id: &str,
        payment: &str,
        date: Date,
        amount: Money,
    ) -> Result<(), LedgerError> {
        self.commit(|l| {
            l.check_amount(amount)?;
            if l.refunds.iter().any(|r| r.id == id) {
                return Err(duplicate(DocumentKind::Refund, id));
            }
            let p = l
                .payments
                .iter_mut()
                .find(|p| p.id == payment)
                .ok_or_else(|| LedgerError::UnknownPayment(payment.to_string()))?;
            let refundable = p.amount.checked_sub(p.refunded)?;
            let over = || LedgerError::OverRefund {
                payment: payment.to_string(),
                requested: amount,
                refundable,
            };
            if amount.minor() > refundable.minor() {
                return Err(over());
            }
            p.refunded = p.refunded.checked_add(amount)?;
            l.balance = l.balance.checked_add(amount)?;
            let from_credit = min(l.credit, amount);
            l.credit = l.credit.checked_sub(from_credit)?;
            let mut left = amount.checked_sub(from_credit)?;
            let mut order: Vec<usize> = (0..l.invoices.len()).collect();
            order.sort_by_key(|&i| (l.invoices[i].date, l.invoices[i].due, i));
            for idx in order.into_iter().rev() {
                if !left.is_positive() {
                    break;
                }
                let released = l.release(idx, left, Some(payment))?;
                l.open_total = l.open_total.checked_add(released)?;
                left = left.checked_sub(released)?;
            }
            // Unreachable: credit plus allocations always cover what was paid and not refunded.
            if left.is_positive() {
                return Err(over());
            }
            l.refunds.push(Refund {
                id: id.to_string(),
                payment: payment.to_string(),
                date,
                amount,
            });
            Ok(())
        })
    }

    /// Applies unapplied account credit to an open invoice.
    pub fn apply_credit(&mut self, invoice: &str, amount: Money) -> Result<(), LedgerError> {
        self.commit(|l| {
            l.check_amount(amount)?;
            let idx = l.invoice_index(invoice)?;
            if amount.minor() > l.credit.minor() {
                return Err(LedgerError::InsufficientCredit {
                    requested: amount,
                    available: l.credit,
                });
            }
            let open = l.invoices[idx].open();
            if amount.minor() > open.minor() {
                return Err(LedgerError::OverAllocation {
                    invoice: invoice.to_string(),
                    requested: amount,
                    open,
                });
            }
            l.credit = l.credit.checked_sub(amount)?;
            l.allocate(idx, AllocationSource::AccountCredit, amount)
        })
    }
}
