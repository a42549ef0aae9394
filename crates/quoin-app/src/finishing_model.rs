//! API models of invoice finishing: tax rates, categories and profiles, fees, coupons and
//! their redemptions, prepaid wallets. Re-exported from `model`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One tax component, e.g. `{"name": "VAT", "percent": "19"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxComponentInput {
    pub name: String,
    /// 0–100, decimal text.
    pub percent: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateInput {
    pub jurisdiction: String,
    pub category: String,
    /// Empty or all 0%: explicitly untaxed.
    pub components: Vec<TaxComponentInput>,
}

/// The tenant's tax rates (replaced as a whole by PUT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRates {
    /// The category of products without one (default `standard`).
    #[serde(default = "default_category")]
    pub default_category: String,
    /// Whether prices contain tax, unless an account's tax profile says otherwise.
    #[serde(default)]
    pub tax_inclusive: bool,
    pub rates: Vec<TaxRateInput>,
}

pub(crate) fn default_category() -> String {
    "standard".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTaxCategory {
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TaxCategory {
    pub product_code: String,
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTaxProfile {
    pub jurisdiction: String,
    #[serde(default)]
    pub exempt: bool,
    /// Overrides the tenant's `tax_inclusive`; absent: the tenant default.
    #[serde(default)]
    pub tax_inclusive: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TaxProfile {
    pub account_id: String,
    pub jurisdiction: String,
    pub exempt: bool,
    pub tax_inclusive: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CouponDurationCode {
    /// Percent: the first invoice. Fixed amount: until used up.
    Once,
    /// The first `periods` invoices it applies to.
    Periods,
    Forever,
}

/// A coupon: exactly one of `percent` or `amount` (with `currency`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponInput {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub duration: CouponDurationCode,
    /// With `duration: periods`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods: Option<u32>,
    /// Only lines of these product codes (empty: every line).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CouponList {
    pub coupons: Vec<CouponInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemCoupon {
    pub coupon_code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CouponRedemption {
    pub id: String,
    pub account_id: String,
    pub coupon_code: String,
    /// Invoices the coupon has applied to.
    pub periods_used: i64,
    /// What a fixed "once" coupon has left; absent for others or before first use.
    pub remaining: Option<String>,
    /// active, exhausted
    pub status: String,
}

/// A regulatory fee: exactly one of `percent` (of each line's net) or `per_line` (with
/// `currency`, per positive line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeInput {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Only lines of these product codes (empty: every line).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    /// The fee line's tax category (absent: the default category).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_category: Option<String>,
}

/// The tenant's fees (replaced as a whole by PUT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    pub fees: Vec<FeeInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWallet {
    /// Unique per account.
    pub code: String,
    /// Prepaid credit in the account's currency, decimal text.
    pub balance: String,
    /// Only lines of these metrics (empty: any).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Only lines of these product codes (empty: any).
    #[serde(default)]
    pub products: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Wallet {
    pub id: String,
    pub account_id: String,
    pub code: String,
    pub currency: String,
    pub balance: String,
    pub metrics: Vec<String>,
    pub products: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WalletList {
    pub wallets: Vec<Wallet>,
}
