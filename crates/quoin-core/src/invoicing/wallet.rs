//! Prepaid credit: wallets that pay eligible lines after tax.
//!
//! Wallets apply in the order given. Each pays the eligible lines in invoice order, up
//! to the lesser of its balance, what those lines still owe (tax included) and what the
//! whole invoice still owes, so a credit line elsewhere on the invoice never lets a
//! wallet pay more than the customer owes.

use crate::money::{Currency, Money};

use super::error::InvoicingError;
use super::filter::LineFilter;
use super::invoice::{InvoiceLine, Share, WalletUse};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    pub code: String,
    pub balance: Money,
    /// Lines it may pay for, e.g. only some metrics (B14).
    pub applies_to: LineFilter,
}

/// Pays lines from each wallet in turn, adding to the lines' `prepaid`.
pub(crate) fn apply_wallets(
    lines: &mut [InvoiceLine],
    wallets: &[Wallet],
    currency: Currency,
) -> Result<Vec<WalletUse>, InvoicingError> {
    let mut uses = Vec::with_capacity(wallets.len());
    for wallet in wallets {
        let total = Money::sum(currency, lines.iter().map(|l| l.total))?;
        let paid = Money::sum(currency, lines.iter().map(|l| l.prepaid))?;
        let mut budget = min(wallet.balance, total.checked_sub(paid)?);
        let mut shares = Vec::new();
        for (index, line) in lines.iter_mut().enumerate() {
            if !budget.is_positive() {
                break;
            }
            if !wallet.applies_to.matches(line) {
                continue;
            }
            let owed = line.total.checked_sub(line.prepaid)?;
            let amount = min(budget, owed);
            if amount.is_positive() {
                line.prepaid = line.prepaid.checked_add(amount)?;
                budget = budget.checked_sub(amount)?;
                shares.push(Share {
                    line: index,
                    amount,
                });
            }
        }
        let used = Money::sum(currency, shares.iter().map(|s| s.amount))?;
        uses.push(WalletUse {
            code: wallet.code.clone(),
            used,
            shares,
            balance_after: wallet.balance.checked_sub(used)?,
        });
    }
    Ok(uses)
}

/// The smaller of two amounts in one currency (`Money` is deliberately not `Ord`).
fn min(a: Money, b: Money) -> Money {
    if a.minor() <= b.minor() {
        a
    } else {
        b
    }
}
