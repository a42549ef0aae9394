//! Usage API models (re-exported from `crate::model`).

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One usage event as sent. Name the target with `item_key` (an item's usage key), or with
/// `subscription` (its external id or id) plus the metric. The metric's numeric field is
/// read from `properties[field]` when present, else from `quantity` (send decimals with
/// more than 15 significant digits as strings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageEventInput {
    /// Client-chosen id, unique per tenant: a repeated id is counted once (exactly once).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub subscription: Option<String>,
    #[serde(default)]
    pub item_key: Option<String>,
    /// Billable metric code.
    #[serde(default)]
    pub metric: Option<String>,
    /// RFC 3339 instant; at most one day ahead of the tenant's clock.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<String>,
    /// Decimal string or JSON number.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub quantity: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `POST /v1/events` body: at most 10,000 events.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    #[schema(value_type = Vec<UsageEventInput>)]
    pub events: Vec<serde_json::Value>,
}

/// An event refused on its own; the rest of the batch is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RejectedEvent {
    /// Position in the batch (line number − 1 for NDJSON).
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// missing_id, malformed, unknown_metric, missing_target, missing_timestamp,
    /// invalid_timestamp, timestamp_in_future, missing_quantity or non_numeric_quantity.
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IngestResult {
    /// Newly stored events (matched or suspended).
    pub accepted: usize,
    /// Of the accepted, those put in suspense (matched no subscription item).
    pub suspended: usize,
    /// Ids already stored (earlier in the batch or before): not counted again.
    pub duplicates: usize,
    pub rejected: usize,
    pub errors: Vec<RejectedEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SuspendedEvent {
    pub id: String,
    /// unknown_item_key, unknown_subscription, metric_not_on_plan, outside_service_dates or
    /// unratable (a voice CDR its item's rating plan cannot rate; see `detail`).
    pub reason: String,
    /// What exactly is wrong, e.g. "no destination prefix matches number 33612345678".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_key: Option<String>,
    pub metric: String,
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SuspensePage {
    pub data: Vec<SuspendedEvent>,
    pub next_cursor: Option<String>,
}

/// Which suspended events to list or recycle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspenseQuery {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(default)]
    pub subscription: Option<String>,
    #[serde(default)]
    pub item_key: Option<String>,
}

/// Re-match suspended events: the listed `ids`, or every one matching `filter`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecycleRequest {
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    #[serde(default)]
    pub filter: Option<SuspenseQuery>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecycleResult {
    pub examined: usize,
    pub matched: usize,
    pub still_suspended: usize,
}

/// A stored usage event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageEventView {
    pub id: String,
    /// None while in suspense.
    pub item_id: Option<String>,
    pub metric: String,
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: Timestamp,
    pub quantity: Option<String>,
    #[schema(value_type = Object)]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageEventPage {
    pub data: Vec<UsageEventView>,
    pub next_cursor: Option<String>,
}

/// One group of a grouped metric (`key` in the metric's `group_by` order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GroupUsage {
    pub key: Vec<Option<String>>,
    pub quantity: String,
}

/// An item's usage of one metric over a period and what its usage price makes of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItemUsage {
    pub item_id: String,
    pub usage_key: Option<String>,
    pub price_id: String,
    pub metric: String,
    #[schema(value_type = String, format = Date)]
    pub period_start: Date,
    #[schema(value_type = String, format = Date)]
    pub period_end: Date,
    /// Sum of the groups' quantities (the one quantity without group-by).
    pub quantity: String,
    pub groups: Vec<GroupUsage>,
    /// Projected amount (each group rated by the usage price, summed), unrounded.
    pub amount: String,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionUsage {
    pub subscription_id: String,
    pub items: Vec<ItemUsage>,
}
