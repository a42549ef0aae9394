//! API models: what crosses the edge as JSON. Requests reject unknown fields; decimals
//! travel as strings ("24.95") so no float ever touches an amount; dates are `YYYY-MM-DD`,
//! instants RFC 3339 in UTC.

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;
use crate::catalog::spec::{
    ActionCode, AddOnSpec, ComponentSpec, ModelSpec, PriceTypeCode, ProductKindCode, WorkOrderSpec,
};
pub use crate::ledger_model::*;
pub use crate::runs_model::*;
pub use crate::usage::voice_model::{
    BandInput, DestinationInput, NewDestinations, RatingPlan, RatingPlanInput, RatingPlanList,
    WindowInput,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Business,
    Person,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlignmentCode {
    /// Every subscription renews on the account's bill cycle day (one invoice per cycle).
    Calendar,
    /// Each subscription renews on the day it started.
    Anniversary,
}

/// Whether the day a service is disconnected is billed as used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TerminationDayCode {
    /// Service ends as the disconnect day begins (default; Kill Bill's convention: the
    /// effective day is the first day of the new state).
    Excluded,
    /// The disconnect day is the last day billed (Lago's convention for terminations).
    Included,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProrationCode {
    /// Days served over the days of the surrounding billing period (default).
    ActualDays,
    /// 30E/360 day count.
    Thirty360,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    Primary,
    Billing,
    Technical,
    Other,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingProfileInput {
    /// ISO 4217 code, e.g. "USD".
    pub currency: String,
    /// 1–31, clamped to the month's end. When unset, the first subscription sets it.
    #[serde(default)]
    pub bill_cycle_day: Option<i64>,
    #[serde(default)]
    pub alignment: Option<AlignmentCode>,
    /// Net days until an invoice is due (default 30).
    #[serde(default)]
    pub payment_terms_days: Option<i64>,
    /// IANA time zone for billing dates (default: the tenant's).
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub proration: Option<ProrationCode>,
    /// Whether a disconnect's day is billed (default `excluded`).
    #[serde(default)]
    pub termination_day: Option<TerminationDayCode>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    pub kind: AccountKind,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Your own reference (e.g. the CRM id); unique per tenant.
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    /// The account that receives the invoices: this account (default) or an ancestor.
    #[serde(default)]
    pub bill_to_id: Option<String>,
    pub billing: BillingProfileInput,
    #[serde(default)]
    pub contacts: Vec<CreateContact>,
    #[serde(default)]
    pub locations: Vec<CreateLocation>,
}

/// A partial update: fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    #[serde(default)]
    pub name: Option<String>,
    /// An empty string clears the email.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub billing: Option<UpdateBillingProfile>,
}

/// Billing settings that may change. The currency never changes; the bill cycle day,
/// alignment and proration may change only while the account has no subscriptions, since
/// billed periods depend on them.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBillingProfile {
    #[serde(default)]
    pub bill_cycle_day: Option<i64>,
    #[serde(default)]
    pub alignment: Option<AlignmentCode>,
    #[serde(default)]
    pub payment_terms_days: Option<i64>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub proration: Option<ProrationCode>,
    /// Whether a disconnect's day is billed (default `excluded`).
    #[serde(default)]
    pub termination_day: Option<TerminationDayCode>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BillingProfile {
    pub currency: String,
    pub bill_cycle_day: Option<i64>,
    pub alignment: AlignmentCode,
    pub payment_terms_days: i64,
    pub time_zone: String,
    pub proration: ProrationCode,
    pub termination_day: TerminationDayCode,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Account {
    pub id: String,
    pub kind: AccountKind,
    pub name: String,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub parent_id: Option<String>,
    pub bill_to_id: String,
    /// Billing account number, generated and unique per tenant (with a Luhn check digit).
    pub ban: String,
    pub status: String,
    pub billing: BillingProfile,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContact {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub role: Option<ContactRole>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contact {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub role: ContactRole,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLocation {
    pub label: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. "US".
    pub country: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Location {
    pub id: String,
    pub account_id: String,
    pub label: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
}

/// One version of a price. New subscriptions take the latest version; existing ones keep
/// the version they were sold on until re-rated.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Price {
    pub id: String,
    pub product_id: String,
    pub code: String,
    pub version: i64,
    #[serde(rename = "type")]
    pub price_type: PriceTypeCode,
    pub currency: String,
    pub price_book: Option<String>,
    /// The unit (per_unit) or flat amount, when the model has one.
    pub amount: Option<String>,
    pub period: Option<String>,
    pub timing: String,
    pub model: Option<ModelSpec>,
    pub metric: Option<String>,
    pub minimum: Option<String>,
    /// The subscription's minimum spend per billing period (see `PriceSpec`).
    pub minimum_commitment: Option<String>,
    pub term: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_from: Option<Date>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    pub id: String,
    pub code: String,
    pub name: String,
    /// draft, active or retired
    pub status: String,
    pub kind: ProductKindCode,
    pub category: Option<String>,
    pub description: Option<String>,
    pub actions: Vec<ActionCode>,
    pub add_ons: Vec<AddOnSpec>,
    pub components: Vec<ComponentSpec>,
    pub work_orders: Vec<WorkOrderSpec>,
    /// The latest version of each price.
    pub prices: Vec<Price>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    pub account_id: String,
    pub price_id: String,
    /// Decimal string, default "1"; must be positive.
    #[serde(default)]
    pub quantity: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub start_date: Date,
    /// The caller's id for the service (CRM order or circuit id); unique per tenant.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The base service this add-on belongs to.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// End the add-on with its base service's contract term (default true for add-ons).
    #[serde(default)]
    pub coterminate: Option<bool>,
    /// A location of the account where the service is delivered.
    #[serde(default)]
    pub location_id: Option<String>,
    /// Contract term template code from the catalog (default: the price's term, if any).
    #[serde(default)]
    pub term: Option<String>,
    /// The key usage events name to reach the item (an "order number"); unique per tenant.
    #[serde(default)]
    pub usage_key: Option<String>,
    /// A negotiated unit amount replacing the price's (decimal string, ≥ 0).
    #[serde(default)]
    pub unit_amount: Option<String>,
    /// More charges of the same product: a one-time installation fee billed at
    /// activation, a usage price, another recurring charge.
    #[serde(default)]
    pub items: Vec<CreateSubscriptionItem>,
    /// Invoice usage before the period ends once it reaches these amounts.
    #[serde(default)]
    pub progressive_billing: Option<ProgressiveBilling>,
    /// Minimum spend per billing period (decimal string in the account's currency),
    /// replacing the plan price's `minimum_commitment`; needs a recurring price.
    #[serde(default)]
    pub minimum_commitment: Option<String>,
}

/// Progressive (threshold) billing: when a usage item's amount in the open period reaches
/// a threshold, its usage so far is invoiced at once; the period's final invoice credits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressiveBilling {
    /// Usage amounts in the subscription's currency, ascending (e.g. ["200.00"]).
    pub thresholds: Vec<String>,
    /// After the last threshold, invoice again each time usage grows by this amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring: Option<String>,
}

/// A further item of a new subscription, priced by another price of its product.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscriptionItem {
    pub price_id: String,
    /// Decimal string, default "1"; must be positive.
    #[serde(default)]
    pub quantity: Option<String>,
    /// A negotiated unit amount replacing the price's (decimal string, ≥ 0).
    #[serde(default)]
    pub unit_amount: Option<String>,
    /// The key usage events name to reach this item; unique per tenant.
    #[serde(default)]
    pub usage_key: Option<String>,
}

impl CreateSubscription {
    /// A subscription of one unit at the price's amount, with no options.
    pub fn new(
        account_id: impl Into<String>,
        price_id: impl Into<String>,
        start_date: Date,
    ) -> Self {
        Self {
            account_id: account_id.into(),
            price_id: price_id.into(),
            quantity: None,
            start_date,
            external_id: None,
            parent_id: None,
            coterminate: None,
            location_id: None,
            term: None,
            usage_key: None,
            unit_amount: None,
            items: Vec::new(),
            progressive_billing: None,
            minimum_commitment: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Subscription {
    pub id: String,
    pub account_id: String,
    pub bill_to_id: String,
    pub product_id: String,
    pub price_id: String,
    pub quantity: String,
    #[schema(value_type = String, format = Date)]
    pub start_date: Date,
    /// pending_activation, active, suspended, pending_disconnect or disconnected.
    pub status: String,
    /// End (exclusive) of the last invoiced service period.
    #[schema(value_type = Option<String>, format = Date)]
    pub billed_through: Option<Date>,
    pub external_id: Option<String>,
    pub parent_id: Option<String>,
    pub location_id: Option<String>,
    /// Exclusive end of service once a disconnect is recorded.
    #[schema(value_type = Option<String>, format = Date)]
    pub end_date: Option<Date>,
    pub term: Option<ContractTerm>,
    pub coterminate: bool,
    pub operational_status: Option<String>,
    /// Number of the latest operation in the history.
    pub version: i64,
    pub items: Vec<SubscriptionItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progressive_billing: Option<ProgressiveBilling>,
    /// The subscription's own minimum commitment per billing period, if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_commitment: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractTerm {
    pub code: String,
    #[schema(value_type = String, format = Date)]
    pub start: Date,
    #[schema(value_type = String, format = Date)]
    pub end: Date,
    /// renew, expire or evergreen.
    pub end_of_term: String,
}

/// An item of a subscription as it stands now (its latest price segment).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionItem {
    pub id: String,
    pub usage_key: Option<String>,
    pub price_id: String,
    pub quantity: String,
    /// Negotiated unit amount replacing the price's, if any.
    pub unit_amount: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub since: Date,
    #[schema(value_type = Option<String>, format = Date)]
    pub billed_through: Option<Date>,
}

/// An inventory operation, each with an effective date.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionOperation {
    pub operation: OperationKind,
    /// Default: today in the account's time zone; for `end_of_period` changes the end of
    /// the item's current billing period.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_date: Option<Date>,
    /// Changes: `immediate` (default; prorated with a credit for unused in-advance time) or
    /// `end_of_period` (no credit).
    #[serde(default)]
    pub timing: Option<ChangeTiming>,
    /// Changes: the item to change (default: the first item).
    #[serde(default)]
    pub item_id: Option<String>,
    #[serde(default)]
    pub price_id: Option<String>,
    #[serde(default)]
    pub quantity: Option<String>,
    /// A negotiated unit amount; `null` keeps the current one, the price's when changing price.
    #[serde(default)]
    pub unit_amount: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// Disconnects: waive the contract term's early-termination fee (default false).
    #[serde(default)]
    pub waive_etl: Option<bool>,
    /// `change_commitment`: the subscription's minimum commitment per billing period from
    /// the effective date on (a non-negative decimal in the account's currency; `0`
    /// commits to nothing, overriding the plan price's). A period the date splits is
    /// prorated, each part at its commitment.
    #[serde(default)]
    pub minimum_commitment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    Change,
    Suspend,
    Resume,
    Disconnect,
    Renew,
    /// Changes the subscription's minimum commitment (`minimum_commitment`) from the
    /// effective date, which may not fall inside a period already billed.
    ChangeCommitment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeTiming {
    Immediate,
    EndOfPeriod,
}

/// One operation in a subscription's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionVersion {
    pub version: i64,
    pub operation: String,
    #[schema(value_type = String, format = Date)]
    pub effective_date: Date,
    /// The service status the operation leaves.
    pub status: String,
    /// What changed (item, before and after, reason).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionHistory {
    pub subscription_id: String,
    pub versions: Vec<SubscriptionVersion>,
    /// Items as originally sold and as they stand now.
    pub original: Vec<SubscriptionItem>,
    pub current: Vec<SubscriptionItem>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillRequest {
    /// Bill what is due on this date (default: today in the account's time zone).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub as_of: Option<Date>,
    /// Finalize (number) the invoices right away (default false: drafts).
    #[serde(default)]
    pub finalize: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Proration {
    pub numerator: i64,
    pub denominator: i64,
    /// numerator / denominator as a decimal string.
    pub factor: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceLine {
    pub id: String,
    /// recurring, repair (credit for unused time after a change), one_time, usage, fee …
    pub kind: String,
    /// The charge line a repair credits.
    pub repairs_line_id: Option<String>,
    pub subscription_id: String,
    pub price_id: String,
    pub description: String,
    #[schema(value_type = String, format = Date)]
    pub period_start: Date,
    #[schema(value_type = String, format = Date)]
    pub period_end: Date,
    pub quantity: String,
    pub unit_amount: String,
    pub proration: Proration,
    /// As priced, in the line's tax mode (see `detail.tax_mode`).
    pub amount: String,
    /// Coupon discount on `amount`, in the same tax mode.
    pub discount: String,
    pub tax: String,
    /// How discount and tax were computed (tax components, coupon shares, prepaid
    /// share; wallet and fee references). Absent on invoices nothing was applied to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invoice {
    pub id: String,
    pub account_id: String,
    /// Gapless per tenant; set on finalize.
    pub number: Option<String>,
    /// draft, finalized
    pub status: String,
    pub currency: String,
    #[schema(value_type = String, format = Date)]
    pub invoice_date: Date,
    #[schema(value_type = String, format = Date)]
    pub due_date: Date,
    #[schema(value_type = String, format = Date)]
    pub period_start: Date,
    #[schema(value_type = String, format = Date)]
    pub period_end: Date,
    /// Total excluding tax, after discounts.
    pub subtotal: String,
    /// Discounts, excluding tax.
    pub discount: String,
    pub tax: String,
    /// `subtotal + tax`: the amount including tax.
    pub total: String,
    /// `total` less prepaid credit (`prepaid_credit` lines): what the customer owes.
    pub amount_due: String,
    pub lines: Vec<InvoiceLine>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finalized_at: Option<Timestamp>,
    /// Payment status and settled amounts of a finalized invoice (see `ledger_model`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settlement: Option<InvoiceSettlement>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BillResult {
    pub invoices: Vec<Invoice>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestClock {
    /// system or test
    pub mode: String,
    #[schema(value_type = String, format = DateTime)]
    pub now: Timestamp,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTestClock {
    /// Freeze the tenant's clock at this instant.
    #[schema(value_type = String, format = DateTime)]
    pub now: Timestamp,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceTestClock {
    /// Move the clock to this instant (later than now)…
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to: Option<Timestamp>,
    /// …or forward by this many days.
    #[serde(default)]
    pub days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdvanceResult {
    pub clock: TestClock,
    /// Invoices the billing that came due created (finalized).
    pub invoices: Vec<Invoice>,
    /// Bill-to accounts whose billing failed, with the reason; the others were billed.
    pub errors: Vec<AccountError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountError {
    pub account_id: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    /// Public prefix of the key; safe to log.
    pub id: String,
    pub name: String,
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedApiKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The full key. Shown once; only a hash is stored.
    pub key: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub id: i64,
    pub topic: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub payload: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A page of a list; pass `next_cursor` back as `cursor` for the next page.
macro_rules! page_type {
    ($name:ident, $item:ty) => {
        #[derive(Debug, Clone, Serialize, ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            pub next_cursor: Option<String>,
        }
    };
}
page_type!(AccountPage, Account);
page_type!(ProductPage, Product);
page_type!(SubscriptionPage, Subscription);
page_type!(InvoicePage, Invoice);

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventPage {
    pub data: Vec<Event>,
    /// Pass as `after` to continue; null when nothing newer exists yet.
    pub next_after: Option<i64>,
}

/// Common list parameters: `limit` 1–200 (default 50) and the opaque `cursor`.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListParams {
    pub const DEFAULT_LIMIT: i64 = 50;
    pub const MAX_LIMIT: i64 = 200;

    pub fn limit(&self) -> crate::AppResult<i64> {
        match self.limit {
            None => Ok(Self::DEFAULT_LIMIT),
            Some(n @ 1..=Self::MAX_LIMIT) => Ok(n),
            Some(n) => Err(crate::AppError::invalid(
                "limit",
                format!("limit must be between 1 and {}, got {n}", Self::MAX_LIMIT),
            )),
        }
    }
}

pub use crate::analytics_model::*;
pub use crate::finishing_model::*;
pub use crate::payment_methods::{AccountPaymentMethod, SetPaymentMethod};
pub use crate::usage::model::*;

/// A tenant's dunning schedule: steps in increasing days past the oldest overdue due date.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DunningPolicy {
    pub steps: Vec<DunningStepSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DunningStepSpec {
    /// Days past due of the oldest overdue invoice (1–3650, increasing).
    pub after_days: i64,
    pub action: DunningActionCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DunningActionCode {
    /// An outbox event for the notifier.
    Reminder,
    /// Suspend the account's services (resumed when paid).
    Suspend,
    /// Disconnect the account's services (final).
    Disconnect,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DunningStatus {
    pub account_id: String,
    /// Steps applied since the account was last clear.
    pub steps_done: i64,
    #[schema(value_type = Option<String>, format = Date)]
    pub oldest_overdue_due_date: Option<Date>,
    pub days_overdue: Option<i64>,
    pub next_step: Option<DunningStepSpec>,
}

/// The tenant's plan-change rules: which plan changes are allowed and when they take
/// effect. The first rule that matches a change decides; a change no rule matches is
/// allowed, immediate unless the request says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRules {
    pub rules: Vec<ChangeRule>,
}

/// One rule. Every criterion left out matches anything, so a rule with none is a
/// catch-all (put it last to set the default timing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRule {
    /// Product code of the plan being left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_product: Option<String>,
    /// Product code of the plan being taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_product: Option<String>,
    /// Billing period of the price being left (`month`, `year`, `3_months`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_period: Option<String>,
    /// Price book of the price being left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_price_book: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_price_book: Option<String>,
    pub policy: ChangePolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangePolicy {
    /// Takes effect on the requested date (default today), prorated with a credit.
    Immediate,
    /// Takes effect at the end of the current billing period, with no credit.
    EndOfPeriod,
    /// Refused with 422 `plan_change_not_allowed`.
    Illegal,
}

/// The tenant's cadence of continuous draft invoices (`PUT /v1/draft-invoice-settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftSettings {
    /// How often, at most, an account's stored draft is recomputed while usage arrives
    /// (seconds on the tenant's clock, 1–86400; default 300).
    pub draft_refresh_seconds: i64,
}

/// Why the last refresh stored no invoice (billing the account failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DraftProblem {
    pub code: String,
    pub message: String,
}

/// The stored draft of a bill-to account's next invoice (`GET /v1/accounts/{id}/draft-invoice`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DraftInvoice {
    /// The bill-to account the draft belongs to.
    pub account_id: String,
    /// The invoice as billing would draw it at `refreshed_at` (`id` and `status` are
    /// `draft`); absent when nothing was due within the horizon or billing failed.
    #[schema(value_type = Option<Invoice>)]
    pub invoice: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<DraftProblem>,
    #[schema(value_type = String, format = DateTime)]
    pub refreshed_at: Timestamp,
    /// Seconds from `refreshed_at` to now on the tenant's clock.
    pub age_seconds: i64,
    /// When the latest usage the draft includes arrived (the watermark).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub usage_through: Option<Timestamp>,
    /// Usage arrived after the draft was computed; the next refresh due includes it.
    pub usage_pending: bool,
    pub refresh_seconds: i64,
}
