//! The catalog as a document: what `quoin catalog import|export` reads and writes (YAML or
//! JSON) and what the catalog API accepts. Amounts and quantities are decimal strings.
//! Export writes the normalized form (defaults filled in, decimals trimmed), so an exported
//! catalog imported elsewhere exports identically.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::ChangeRule;

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogDocument {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<CategorySpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<TermSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub price_books: Vec<PriceBookSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<ProductSpec>,
    /// The tenant's plan-change rules (as `PUT /v1/catalog/change-rules` takes them, in
    /// matching order). Left out, an import keeps the tenant's rules; given (even empty),
    /// it replaces them. Export lists them when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_rules: Option<Vec<ChangeRule>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategorySpec {
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AggregationCode {
    Count,
    Sum,
    Max,
    UniqueCount,
    Latest,
    /// Level × time over the period (e.g. GB-hours).
    WeightedSum,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyFilterSpec {
    pub property: String,
    pub values: Vec<String>,
}

/// A billable metric: how usage events aggregate into a quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    pub code: String,
    pub name: String,
    pub aggregation: AggregationCode,
    /// The event property aggregated (all but `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<PropertyFilterSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndOfTermCode {
    RenewSameTerm,
    RollMonthToMonth,
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EtlStepSpec {
    /// First month of the term (1-based) this fee applies from.
    pub from_month: u32,
    pub fee: String,
}

/// Early-termination liability when a contract ends before its term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum EtlSpec {
    None,
    /// Remaining months × the monthly rate.
    RemainingMonths,
    PercentOfRemaining {
        percent: String,
    },
    Fixed {
        amount: String,
    },
    Reducing {
        schedule: Vec<EtlStepSpec>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermSpec {
    pub code: String,
    pub name: String,
    pub length_months: u32,
    pub end_of_term: EndOfTermCode,
    pub etl: EtlSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceBookSpec {
    pub code: String,
    pub name: String,
    pub currency: String,
    /// e.g. residential or business.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKindCode {
    Service,
    AddOn,
    Bundle,
    Good,
    ServiceRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleCode {
    Draft,
    Active,
    Retired,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ActionCode {
    New,
    Change,
    Rerate,
    Reterm,
    Replace,
    Move,
    Renew,
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddOnSpec {
    /// Code of an add-on product.
    pub product: String,
    #[serde(default)]
    pub min: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    pub product: String,
    pub quantity: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub key: String,
    pub name: String,
    pub duration_hours: u32,
    pub role: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub automated: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// The tasks a line with this action spawns (executed by fulfilment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkOrderSpec {
    pub action: ActionCode,
    pub tasks: Vec<TaskSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceTypeCode {
    OneTime,
    Recurring,
    Usage,
}

/// A tier covering quantities above `from` up to and including `to` (no `to`: unbounded).
/// Tiers are contiguous: each `from` equals the previous tier's `to`; the first is 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierSpec {
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub unit_amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flat_fee: Option<String>,
    /// Bill per started block of this many units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PercentTierSpec {
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Percent: "1.3" is 1.3 %.
    pub rate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flat_fee: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Upper bound of the step (inclusive); none on an unbounded last step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub amount: String,
}

/// How a quantity becomes an amount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelSpec {
    Flat {
        amount: String,
    },
    PerUnit {
        unit_amount: String,
    },
    Graduated {
        tiers: Vec<TierSpec>,
    },
    Volume {
        tiers: Vec<TierSpec>,
    },
    Package {
        block_size: String,
        block_amount: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        free_units: Option<String>,
    },
    Percentage {
        rate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fixed_fee: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        free_events: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        free_amount: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_per_event: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_per_event: Option<String>,
    },
    GraduatedPercentage {
        tiers: Vec<PercentTierSpec>,
    },
    Overage {
        included: String,
        unit_amount: String,
    },
    StairStep {
        steps: Vec<StepSpec>,
    },
    /// Usage prices only: each call (usage event) rated by a voice rating plan
    /// (`POST /v1/rating-plans`) from its destination, start and duration.
    Voice {
        rating_plan: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKindCode {
    Trial,
    Introductory,
    Ramp,
    Evergreen,
}

/// How a phase changes the price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AdjustmentSpec {
    Free,
    PercentOff {
        percent: String,
    },
    AmountOff {
        amount: String,
    },
    /// Replaces the unit amount (e.g. a ramp year's price).
    Price {
        amount: String,
    },
}

/// One phase of a price: trial, introductory discount, ramp year, then evergreen. Give the
/// length as exactly one of `days`, `periods` (billing periods) or `months`; the evergreen
/// phase has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    pub kind: PhaseKindCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
    /// None: the list price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment: Option<AdjustmentSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceSpec {
    /// Names the price across its versions; default `<product>-<currency>-<period or type>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// recurring (default), one_time or usage.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub price_type: Option<PriceTypeCode>,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_book: Option<String>,
    /// Recurring prices: day, week, month, quarter, half_year, year or N_days/N_weeks/N_months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// in_advance or in_arrears (default: in_advance for recurring, in_arrears for usage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<String>,
    /// Shorthand for `model: {type: per_unit, unit_amount: …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelSpec>,
    /// Usage prices: the billable metric's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Minimum charge per period (a true-up line makes up the difference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<String>,
    /// Recurring prices: the subscription's minimum spend per billing period — its
    /// recurring, one-time and usage charges after coupon discounts, before tax. A
    /// `minimum_commitment` line makes up the difference, prorated like the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_commitment: Option<String>,
    /// Contract term template code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    /// Trial, introductory, ramp and evergreen phases; none means the price applies as is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_from: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductSpec {
    /// Unique per tenant, e.g. "fiber-100".
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProductKindCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LifecycleCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MACD actions that may be quoted on this product.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionCode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_ons: Vec<AddOnSpec>,
    /// Bundles: the products they contain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub work_orders: Vec<WorkOrderSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prices: Vec<PriceSpec>,
}

/// A partial update of a product's descriptive fields and lifecycle. Structure (add-ons,
/// components, work orders) and prices change through the catalog document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// draft → active → retired; nothing leaves retired.
    #[serde(default)]
    pub status: Option<LifecycleCode>,
    #[serde(default)]
    pub category: Option<String>,
}
