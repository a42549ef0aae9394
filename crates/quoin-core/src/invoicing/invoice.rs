//! The finished invoice: every line with its discount and tax, the totals, and what
//! was consumed from coupons and wallets (for the caller to persist).

use rust_decimal::Decimal;

use crate::calendar::Period;
use crate::money::{Currency, Money};

use super::charge::{ChargeKind, TaxMode};
use super::tax::LineTax;

/// Why a line is on the invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOrigin {
    /// A charge line the caller passed.
    Charge { key: usize, kind: ChargeKind },
    /// Tops a price's charges up to its per-period minimum; `kind` is the kind of the
    /// charges it tops up, so rules select it like them.
    MinimumTrueUp {
        price_code: String,
        kind: ChargeKind,
    },
    /// Tops the invoice up to the account's minimum commitment.
    CommitmentTrueUp,
    /// Tops one group's (a subscription's) charges up to its minimum commitment.
    SubscriptionCommitmentTrueUp { group: String },
    /// A regulatory fee or surcharge computed on the line at index `on_line`.
    Fee { code: String, on_line: usize },
}

impl LineOrigin {
    /// The charge kind rules select on; fees and commitment true-ups have none.
    pub fn charge_kind(&self) -> Option<ChargeKind> {
        match self {
            LineOrigin::Charge { kind, .. } | LineOrigin::MinimumTrueUp { kind, .. } => Some(*kind),
            LineOrigin::CommitmentTrueUp
            | LineOrigin::SubscriptionCommitmentTrueUp { .. }
            | LineOrigin::Fee { .. } => None,
        }
    }
}

/// One line of the finished invoice.
///
/// For a tax-exclusive line `gross = priced` and `net = priced − coupon_discount`; for a
/// tax-inclusive one `net + tax = priced − coupon_discount` and `gross` is `priced`
/// without its tax. Always `net = gross − discount` and `total = net + tax`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    pub origin: LineOrigin,
    pub product_code: Option<String>,
    pub price_code: Option<String>,
    pub metric_code: Option<String>,
    pub period: Option<Period>,
    /// The charge's group (see [`ChargeLine::group`](super::ChargeLine)).
    pub group: Option<String>,
    pub tax_mode: TaxMode,
    /// The amount as priced, in `tax_mode`.
    pub priced: Money,
    /// What coupons took off `priced` (in `tax_mode`): the sum of this line's shares.
    pub coupon_discount: Money,
    /// `priced` without tax.
    pub gross: Money,
    /// The discount without tax.
    pub discount: Money,
    /// The taxable amount: after discounts, without tax.
    pub net: Money,
    pub tax: LineTax,
    pub total: Money,
    /// Paid from prepaid credit.
    pub prepaid: Money,
}

impl InvoiceLine {
    /// A line before discounts and tax: every computed amount is zero.
    pub(crate) fn pending(
        origin: LineOrigin,
        priced: Money,
        tax_mode: TaxMode,
        tax_category: String,
    ) -> Self {
        let zero = Money::zero(priced.currency());
        Self {
            origin,
            product_code: None,
            price_code: None,
            metric_code: None,
            period: None,
            group: None,
            tax_mode,
            priced,
            coupon_discount: zero,
            gross: zero,
            discount: zero,
            net: zero,
            tax: LineTax {
                category: tax_category,
                exempt: false,
                percent: Decimal::ZERO,
                components: Vec::new(),
                amount: zero,
            },
            total: zero,
            prepaid: zero,
        }
    }

    pub(crate) fn is_fee(&self) -> bool {
        matches!(self.origin, LineOrigin::Fee { .. })
    }
}

/// Part of a coupon or wallet amount assigned to the line at index `line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub line: usize,
    pub amount: Money,
}

/// What one coupon did on this invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponUse {
    pub code: String,
    /// Σ shares; zero when the coupon was not active or found no eligible line.
    pub applied: Money,
    pub shares: Vec<Share>,
    /// For a fixed-amount "once" coupon, what is left for later invoices (persist it);
    /// `None` for other coupons.
    pub remaining: Option<Money>,
}

/// What one wallet paid on this invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletUse {
    pub code: String,
    pub used: Money,
    pub shares: Vec<Share>,
    /// `balance − used`: persist it.
    pub balance_after: Money,
}

/// One row of the tax summary: a component at a rate over the lines it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxSummary {
    pub name: String,
    pub percent: Decimal,
    /// Σ net of the lines taxed by this component at this rate.
    pub base: Money,
    pub amount: Money,
}

/// Invoice totals. `subtotal = gross − discounts`, `total = subtotal + tax`,
/// `amount_due = total − prepaid`. Negative when credits outweigh charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceTotals {
    /// Σ line gross, without tax.
    pub gross: Money,
    /// Σ line discounts, without tax.
    pub discounts: Money,
    /// Σ line net: the total excluding tax.
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    /// Paid from prepaid credit.
    pub prepaid: Money,
    pub amount_due: Money,
}

/// A finished invoice: self-explaining lines, totals, and the consumptions to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalInvoice {
    pub currency: Currency,
    /// Charges in input order, then minimum true-ups, the commitment true-up, subscription
    /// commitment true-ups, then fees.
    pub lines: Vec<InvoiceLine>,
    pub totals: InvoiceTotals,
    /// By component name and rate, in first-seen order.
    pub tax_summary: Vec<TaxSummary>,
    /// One per coupon given, in order.
    pub coupons: Vec<CouponUse>,
    /// One per wallet given, in order.
    pub wallets: Vec<WalletUse>,
}
