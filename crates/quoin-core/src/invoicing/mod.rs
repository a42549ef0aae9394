//! Invoice finishing: from the raw charge lines billing produced for one bill-to account
//! and invoice date to a final, self-explaining invoice with minimums, coupons, taxes,
//! fees and prepaid credit.
//!
//! Conventions:
//! - Money is exact; every percentage is applied per line and rounded once, half-up
//!   (away from zero). The invoice's tax is the sum of its lines' rounded taxes, and a
//!   multi-component tax is split by largest remainder so components sum to the line.
//! - Discounts apply before tax, prepaid credit after it.
//! - Prices are tax-exclusive or tax-inclusive per context, overridable per line. An
//!   inclusive line's net is `amount × 100 / (100 + rate)` rounded once and its tax is the
//!   rest, so net + tax is always the sticker price.
//! - Negative lines (repairs, credits) are taxed like positive ones: the tax is a reversal
//!   at the same rate, exactly the negation of the tax on the positive amount. Coupons and
//!   wallets never touch them; percentage fees reverse on them.
//! - Nothing is persisted here: the invoice returns what coupons and wallets consumed.

mod arith;
mod charge;
mod coupon;
mod error;
mod fee;
mod filter;
mod finish;
mod invoice;
mod minimum;
mod tax;
mod validate;
mod wallet;

pub use charge::{ChargeKind, ChargeLine, TaxMode};
pub use coupon::{AppliedCoupon, Coupon, CouponDuration, CouponValue};
pub use error::{InvoicingError, Subject};
pub use fee::{Fee, FeeRate};
pub use filter::LineFilter;
pub use finish::{finish_invoice, InvoiceContext};
pub use invoice::{
    CouponUse, FinalInvoice, InvoiceLine, InvoiceTotals, LineOrigin, Share, TaxSummary, WalletUse,
};
pub use minimum::{ChargeMinimum, MinimumCommitment, SubscriptionCommitment};
pub use tax::{LineTax, TaxAmount, TaxComponent, TaxProfile, TaxTable};
pub use wallet::Wallet;
