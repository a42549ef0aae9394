//! The input of invoice finishing: raw charge lines as billing and rating priced them.

use crate::calendar::Period;
use crate::money::Money;

/// What produced a charge line; rules (minimums, commitments, coupons, fees, wallets)
/// select lines by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChargeKind {
    /// A subscription's recurring fee for a service period (possibly prorated).
    Recurring,
    OneTime,
    Usage,
    /// A correction of an earlier invoice, usually negative (unused in-advance time).
    Repair,
    /// Early-termination liability on a cancelled contract.
    EarlyTermination,
    /// A manual adjustment, positive or negative.
    Adjustment,
}

/// Whether an amount as priced already contains tax.
///
/// Set per invoice in the context and overridable per line, because one account can
/// buy consumer-style products with tax-inclusive sticker prices next to business
/// services priced without tax (Stripe's `tax_behavior` per price is the same idea).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TaxMode {
    /// Tax is added on top of the price (the usual business pricing).
    #[default]
    Exclusive,
    /// The price contains the tax (consumer pricing); tax is extracted from it.
    Inclusive,
}

/// One raw charge for the invoice. `key` is the caller's handle to match results back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeLine {
    pub key: usize,
    pub kind: ChargeKind,
    /// As priced, in the line's tax mode; negative for credits and repairs.
    pub amount: Money,
    pub product_code: Option<String>,
    pub price_code: Option<String>,
    pub metric_code: Option<String>,
    /// `None` means the tax table's default category.
    pub tax_category: Option<String>,
    /// `None` means the invoice context's mode.
    pub tax_mode: Option<TaxMode>,
    /// The service period the charge pays for, when it has one.
    pub period: Option<Period>,
    /// The subscription (or other unit of commitment) the charge belongs to; a
    /// [`SubscriptionCommitment`](super::SubscriptionCommitment) counts the lines of its group.
    pub group: Option<String>,
}

impl ChargeLine {
    /// A line with no codes, the default tax category and mode, and no period.
    pub fn new(key: usize, kind: ChargeKind, amount: Money) -> Self {
        Self {
            key,
            kind,
            amount,
            product_code: None,
            price_code: None,
            metric_code: None,
            tax_category: None,
            tax_mode: None,
            period: None,
            group: None,
        }
    }

    pub fn product(mut self, code: impl Into<String>) -> Self {
        self.product_code = Some(code.into());
        self
    }

    pub fn price(mut self, code: impl Into<String>) -> Self {
        self.price_code = Some(code.into());
        self
    }

    pub fn metric(mut self, code: impl Into<String>) -> Self {
        self.metric_code = Some(code.into());
        self
    }

    pub fn tax_category(mut self, category: impl Into<String>) -> Self {
        self.tax_category = Some(category.into());
        self
    }

    pub fn tax_mode(mut self, mode: TaxMode) -> Self {
        self.tax_mode = Some(mode);
        self
    }

    pub fn period(mut self, period: Period) -> Self {
        self.period = Some(period);
        self
    }

    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
}
