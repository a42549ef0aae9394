//! Storage rows: plain data as it sits in the tables. The app turns them into domain values.

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub clock_mode: String,
    pub test_now_us: Option<i64>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub role: String,
    pub secret_hash: String,
    pub created_at_us: i64,
    pub revoked_at_us: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct AccountRow {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub name: String,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub parent_id: Option<String>,
    pub bill_to_id: String,
    pub ban: String,
    pub currency: String,
    pub bill_cycle_day: Option<i64>,
    pub alignment: String,
    pub proration: String,
    pub payment_terms_days: i64,
    pub time_zone: String,
    pub status: String,
    pub created_at_us: i64,
    pub updated_at_us: i64,
    /// `excluded` (the disconnect day is not billed) or `included` (it is the last day).
    pub termination_day: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContactRow {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub role: String,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LocationRow {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub label: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct ProductRow {
    pub id: String,
    pub tenant_id: String,
    pub code: String,
    pub name: String,
    pub status: String,
    pub created_at_us: i64,
    pub kind: String,
    pub category_code: Option<String>,
    /// Canonical JSON of the rest of the product definition (actions, add-ons, …).
    pub definition: String,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct PriceRow {
    pub id: String,
    pub tenant_id: String,
    pub product_id: String,
    pub currency: String,
    /// Decimal amount per period, as text (e.g. "24.95").
    pub amount: String,
    pub period: String,
    pub timing: String,
    pub created_at_us: i64,
    /// Names the price across versions; unique per product and version.
    pub code: String,
    pub version: i64,
    pub effective_from: Option<String>,
    pub price_type: String,
    pub price_book: Option<String>,
    /// Canonical JSON of the pricing model, minimum, term and phases.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct SubscriptionRow {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub bill_to_id: String,
    pub product_id: String,
    pub price_id: String,
    pub quantity: String,
    pub start_date: String,
    pub status: String,
    /// End of the last billed service period (exclusive), if any.
    pub billed_through: Option<String>,
    pub created_at_us: i64,
    pub external_id: Option<String>,
    /// The base service of an add-on.
    pub parent_id: Option<String>,
    pub location_id: Option<String>,
    /// Exclusive end of service once a disconnect is recorded.
    pub end_date: Option<String>,
    pub term_code: Option<String>,
    pub term_start: Option<String>,
    pub term_end: Option<String>,
    pub end_of_term: Option<String>,
    /// 1 when an add-on ends with its base service's term.
    pub coterminate: i64,
    pub operational_status: Option<String>,
    pub version: i64,
    /// Earliest date whose billing must be reconciled after a backdated operation.
    pub reconcile_from: Option<String>,
    pub updated_at_us: i64,
    /// Usage amount in a period that triggers a progressive invoice before it ends.
    pub progressive_threshold: Option<String>,
    /// Minimum spend per billing period replacing the plan price's (decimal text).
    pub minimum_commitment: Option<String>,
}

/// A logical item of a subscription; its prices over time are [`ItemSegmentRow`]s.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct SubscriptionItemRow {
    pub id: String,
    pub tenant_id: String,
    pub subscription_id: String,
    /// The key usage events name to reach this item (an "order number").
    pub usage_key: Option<String>,
    pub position: i64,
    pub billed_through: Option<String>,
    pub created_at_us: i64,
    /// Earliest billed usage period to re-rate (late events, a voided invoice).
    pub usage_reconcile_from: Option<String>,
}

/// What an item is priced at from `start_date` to `end_date` (exclusive; open when None).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct ItemSegmentRow {
    pub tenant_id: String,
    pub item_id: String,
    pub subscription_id: String,
    pub start_date: String,
    pub end_date: Option<String>,
    pub price_id: String,
    pub quantity: String,
    /// Negotiated unit amount replacing the price's.
    pub unit_amount: Option<String>,
    pub version: i64,
}

/// One operation in a subscription's history and the status it left.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct SubscriptionVersionRow {
    pub tenant_id: String,
    pub subscription_id: String,
    pub version: i64,
    pub operation: String,
    pub effective_date: String,
    pub status: String,
    /// JSON: what the operation changed.
    pub details: String,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct InvoiceRow {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub currency: String,
    pub status: String,
    pub number: Option<String>,
    pub invoice_date: String,
    pub due_date: String,
    pub period_start: String,
    pub period_end: String,
    pub total_minor: i64,
    pub created_at_us: i64,
    pub finalized_at_us: Option<i64>,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvoiceLineRow {
    pub id: String,
    pub tenant_id: String,
    pub invoice_id: String,
    pub position: i64,
    /// recurring, one_time, usage, repair, early_termination, fee or adjustment.
    pub kind: String,
    pub subscription_id: Option<String>,
    pub item_id: Option<String>,
    pub price_id: Option<String>,
    pub description: String,
    pub period_start: String,
    pub period_end: String,
    /// The whole period a partial line is prorated over.
    pub full_start: Option<String>,
    pub full_end: Option<String>,
    pub quantity: String,
    pub unit_amount: String,
    pub proration_num: i64,
    pub proration_den: i64,
    pub amount_minor: i64,
    /// The charge line a repair line credits.
    pub repairs_line_id: Option<String>,
    pub discount_minor: i64,
    pub tax_minor: i64,
    /// JSON explanation (tier breakdown, tax components, coupon).
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub tenant_id: String,
    pub topic: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub payload: String,
    pub created_at_us: i64,
    pub published_at_us: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IdempotencyRow {
    pub tenant_id: String,
    pub key: String,
    pub request_hash: String,
    pub status_code: Option<i64>,
    pub response_body: Option<String>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CategoryRow {
    pub id: String,
    pub tenant_id: String,
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub updated_at_us: i64,
}

/// A catalog entry stored as code, name and canonical JSON: metrics and contract terms.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DefinitionRow {
    pub id: String,
    pub tenant_id: String,
    pub code: String,
    pub name: String,
    pub definition: String,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PriceBookRow {
    pub id: String,
    pub tenant_id: String,
    pub code: String,
    pub name: String,
    pub currency: String,
    pub segment: Option<String>,
    pub updated_at_us: i64,
}

/// A stored usage event; `item_id` is None while it waits in suspense.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageEventRow {
    pub tenant_id: String,
    pub event_id: String,
    pub item_id: Option<String>,
    pub metric_code: String,
    pub ts_us: i64,
    pub quantity: Option<String>,
    pub properties: Option<String>,
    pub batch_no: i64,
}

/// A usage event that matched no subscription item, and why.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SuspenseRow {
    pub tenant_id: String,
    pub event_id: String,
    pub reason: String,
    pub subscription_ref: Option<String>,
    pub item_key: Option<String>,
    pub metric_code: String,
    pub ts_us: i64,
    pub received_at_us: i64,
    /// What exactly is wrong (e.g. the rating problem of an `unratable` CDR).
    pub detail: Option<String>,
}

/// One day of an item's metric (per group): decimals as text.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct RollupRow {
    pub tenant_id: String,
    pub item_id: String,
    pub metric_code: String,
    pub group_key: String,
    pub day: String,
    pub events: i64,
    pub sum_value: String,
    pub max_value: String,
    pub min_value: String,
    pub latest_us: i64,
    pub latest_value: String,
    pub wsum_value: String,
}

/// A tenant's exchange rate from `currency` into its reporting currency.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FxRateRow {
    pub tenant_id: String,
    pub currency: String,
    pub reporting_currency: String,
    /// Units of `currency` per one unit of `reporting_currency`, decimal text.
    pub rate: String,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DunningPolicyRow {
    pub tenant_id: String,
    /// JSON list of `{after_days, action}`.
    pub steps: String,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DunningStateRow {
    pub tenant_id: String,
    pub account_id: String,
    pub steps_done: i64,
    pub overdue_since: Option<String>,
    pub updated_at_us: i64,
}

/// A one-off charge an operation raised on a subscription (an early-termination fee),
/// billed on the payer's next invoice.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct ChargeRow {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub subscription_id: String,
    pub kind: String,
    pub description: String,
    /// Exact decimal; the invoice line rounds it once.
    pub amount: String,
    pub charge_date: String,
    pub details: String,
    pub invoice_line_id: Option<String>,
    pub created_at_us: i64,
}
