//! The scenario file format (docs/scenarios.md): what a YAML scenario may say. Every struct
//! rejects unknown keys, so a typo fails the file instead of silently testing less.
//! Amounts are strings ("24.95"): an unquoted YAML number is refused, so no float ever
//! stands for money.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// Where the figures come from (PUBLIC-EXAMPLES case, upstream test).
    pub source: String,
    /// The billing convention the source uses (proration, alignment, timing).
    pub convention: String,
    /// Why the file is kept out of the run; the runner reports it.
    #[serde(default)]
    pub skip: Option<String>,
    /// The tenant's test clock when the scenario starts.
    pub clock: Timestamp,
    #[serde(default)]
    pub catalog: Catalog,
    /// Accounts by alias, created in order after the catalog.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// `PUT /v1/metrics/{code}` bodies (billable metrics), stored first.
    #[serde(default)]
    pub metrics: Vec<Value>,
    /// `PUT /v1/terms/{code}` bodies (contract term templates), stored before the products.
    #[serde(default)]
    pub terms: Vec<Value>,
    /// `POST /v1/products` bodies, as the API takes them (the API rejects unknown fields).
    /// Prices are referred to by their `code`.
    #[serde(default)]
    pub products: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// Alias used by steps (`account: a`) and in `${a}` substitutions.
    #[serde(rename = "as")]
    pub alias: String,
    pub currency: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub bill_cycle_day: Option<i64>,
    /// calendar or anniversary
    #[serde(default)]
    pub alignment: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    /// actual_days or thirty360
    #[serde(default)]
    pub proration: Option<String>,
    /// excluded (default) or included: whether a disconnect's day is billed
    #[serde(default)]
    pub termination_day: Option<String>,
    #[serde(default)]
    pub payment_terms_days: Option<i64>,
    /// Alias of the parent account.
    #[serde(default)]
    pub parent: Option<String>,
    /// Alias of the account receiving the invoices.
    #[serde(default)]
    pub bill_to: Option<String>,
    /// `PUT /v1/accounts/{id}/tax-profile` body.
    #[serde(default)]
    pub tax_profile: Option<Value>,
}

/// One step: at most one action, then the expectations checked after it. A step with no
/// action only checks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Shown with a failure, next to the step number.
    #[serde(default)]
    pub note: Option<String>,

    // Actions.
    /// Set the test clock (no billing runs).
    #[serde(default)]
    pub clock: Option<Timestamp>,
    /// Advance the test clock to this instant, billing every day passed.
    #[serde(default)]
    pub advance: Option<Timestamp>,
    #[serde(default)]
    pub subscribe: Option<Subscribe>,
    #[serde(default)]
    pub operate: Option<Operate>,
    /// Bill one account as of a date (`POST /v1/accounts/{id}/bill`).
    #[serde(default)]
    pub bill: Option<Bill>,
    /// `POST /v1/events` events, with `${alias}` substitution.
    #[serde(default)]
    pub usage: Option<Vec<Value>>,
    #[serde(default)]
    pub pay: Option<Pay>,
    /// Any other endpoint (tax rates, coupons, credit notes, refunds, reads).
    #[serde(default)]
    pub call: Option<Call>,

    // Expectations.
    /// The invoices the action produced (advance, bill), as a set.
    #[serde(default)]
    pub invoices: Option<Vec<ExpectedInvoice>>,
    /// The action must fail with this error, changing nothing.
    #[serde(default)]
    pub error: Option<ExpectedError>,
    /// Account alias → `balance` of `GET /v1/accounts/{id}/balance`.
    #[serde(default)]
    pub balances: Option<BTreeMap<String, String>>,
    /// Subscription alias → status.
    #[serde(default)]
    pub status: Option<BTreeMap<String, String>>,
    /// Account alias → every invoice of the account, oldest first (`GET /v1/invoices`).
    #[serde(default)]
    pub account_invoices: Option<BTreeMap<String, Vec<ExpectedInvoice>>>,
    /// `GET /v1/analytics/mrr` on a date.
    #[serde(default)]
    pub mrr: Option<ExpectedMrr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedMrr {
    pub date: Date,
    /// Reporting currency to ask for (default: the API's choice); always compared.
    #[serde(default)]
    pub currency: Option<String>,
    pub mrr: String,
    pub arr: String,
    /// Subscription alias → its figures; when given, exactly these subscriptions count.
    #[serde(default)]
    pub subscriptions: Option<BTreeMap<String, ExpectedSubscriptionMrr>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedSubscriptionMrr {
    pub mrr: String,
    #[serde(default)]
    pub arr: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// Alias of the new subscription.
    #[serde(rename = "as")]
    pub alias: String,
    pub account: String,
    /// Price code.
    pub price: String,
    pub start: Date,
    #[serde(default)]
    pub quantity: Option<String>,
    /// Alias of the base subscription (for an add-on).
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub coterminate: Option<bool>,
    /// Contract term code.
    #[serde(default)]
    pub term: Option<String>,
    #[serde(default)]
    pub unit_amount: Option<String>,
    #[serde(default)]
    pub usage_key: Option<String>,
    /// Further items of the product (one-time fees, usage prices).
    #[serde(default)]
    pub items: Vec<ItemSpec>,
    /// Progressive billing thresholds (usage amounts, ascending).
    #[serde(default)]
    pub progressive_thresholds: Vec<String>,
    /// The subscription's own minimum commitment per billing period.
    #[serde(default)]
    pub minimum_commitment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    /// Price code.
    pub price: String,
    #[serde(default)]
    pub quantity: Option<String>,
    #[serde(default)]
    pub usage_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operate {
    pub subscription: String,
    /// change, suspend, resume, disconnect or renew
    pub operation: String,
    #[serde(default)]
    pub effective: Option<Date>,
    /// immediate or end_of_period
    #[serde(default)]
    pub timing: Option<String>,
    /// Price code to change to.
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub quantity: Option<String>,
    #[serde(default)]
    pub unit_amount: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bill {
    pub account: String,
    pub as_of: Date,
    #[serde(default)]
    pub finalize: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pay {
    pub account: String,
    pub amount: String,
    #[serde(default)]
    pub received_on: Option<Date>,
    /// Alias for `${…}` substitution of the payment id.
    #[serde(default, rename = "as")]
    pub alias: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    #[serde(default = "get")]
    pub method: String,
    /// Path with `${alias}` substitution.
    pub path: String,
    #[serde(default)]
    pub body: Option<Value>,
    /// Expected HTTP status (default: any 2xx).
    #[serde(default)]
    pub status: Option<u16>,
    /// Every key given must be in the response with this value (recursively).
    #[serde(default)]
    pub response: Option<Value>,
    /// Alias for the response's `id`.
    #[serde(default, rename = "as")]
    pub alias: Option<String>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    pub status: u16,
    pub code: String,
    #[serde(default)]
    pub field: Option<String>,
}

/// An invoice as expected; optional fields are compared only when given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedInvoice {
    /// Alias for the invoice id, for later `${…}` substitution.
    #[serde(default, rename = "as")]
    pub alias: Option<String>,
    pub account: String,
    pub date: Date,
    pub total: String,
    #[serde(default)]
    pub subtotal: Option<String>,
    #[serde(default)]
    pub discount: Option<String>,
    #[serde(default)]
    pub tax: Option<String>,
    #[serde(default)]
    pub amount_due: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub due_date: Option<Date>,
    /// Payment status of a finalized invoice (open, paid, partially_paid, overdue, void).
    #[serde(default)]
    pub payment_status: Option<String>,
    pub lines: Vec<ExpectedLine>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedLine {
    pub kind: String,
    /// `start..end` (end exclusive); omitted for lines without a service period.
    #[serde(default)]
    pub period: Option<String>,
    pub amount: String,
    /// `numerator/denominator`
    #[serde(default)]
    pub proration: Option<String>,
    #[serde(default)]
    pub quantity: Option<String>,
    #[serde(default)]
    pub tax: Option<String>,
    #[serde(default)]
    pub discount: Option<String>,
    /// Alias of the subscription the line bills.
    #[serde(default)]
    pub subscription: Option<String>,
}
