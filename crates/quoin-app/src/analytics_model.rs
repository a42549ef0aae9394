//! API models of analytics: exchange rates into the reporting currency and MRR/ARR.

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `PUT /v1/fx-rates/{currency}`: how many units of `{currency}` buy one unit of the
/// reporting currency (so 200 at rate 2 reports as 100).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutFxRate {
    /// ISO 4217 code; the same for every rate of a tenant.
    pub reporting_currency: String,
    /// Decimal string, greater than zero.
    pub rate: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FxRate {
    pub currency: String,
    pub reporting_currency: String,
    pub rate: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FxRateList {
    pub data: Vec<FxRate>,
}

/// Recurring revenue on a date, normalised to a month (MRR) and a year (ARR).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MrrReport {
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    /// The reporting currency of every amount.
    pub currency: String,
    pub mrr: String,
    pub arr: String,
    /// Subscriptions in service on the date (suspended ones count zero and are left out).
    pub subscriptions: Vec<SubscriptionMrr>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionMrr {
    pub subscription_id: String,
    pub account_id: String,
    /// The subscription's own currency.
    pub currency: String,
    /// Recurring amount per billing period as sold (Σ unit amount × quantity of its items).
    pub amount: String,
    pub period: String,
    /// Percent coupon discount applied (0–100).
    pub discount_percent: String,
    /// In the reporting currency.
    pub mrr: String,
    pub arr: String,
}
