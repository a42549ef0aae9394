//! API model of voice rating plans and its translation into the core's `VoicePlan`.
//!
//! ```json
//! {"code": "voice-eur", "currency": "EUR",
//!  "bands": [{"code": "peak", "windows": [{"days": ["mon","tue","wed","thu","fri"],
//!                                          "from": "08:00", "to": "19:00"}]}, …],
//!  "destinations": [{"code": "uk-mobile", "prefixes": ["447"], "increment": "30/6",
//!                    "connection_fee": "0.05", "minimum_charge": "0.10",
//!                    "rates": {"peak": "0.30", …}}]}
//! ```

use std::collections::BTreeMap;

use jiff::civil::Weekday;
use quoin_core::money::Currency;
use quoin_core::rating::voice::{
    BandWindow, Destination, Increment, TimeBand, VoicePlan, Weekdays,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingPlanInput {
    /// Unique per tenant; a voice usage price names it (`model: {type: voice, rating_plan}`).
    pub code: String,
    pub currency: String,
    /// Must tile the week: every minute of every weekday in exactly one band.
    pub bands: Vec<BandInput>,
    pub destinations: Vec<DestinationInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BandInput {
    pub code: String,
    pub windows: Vec<WindowInput>,
}

/// `[from, to)` in the account's local time: a call starting exactly at `from` is in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    /// mon, tue, wed, thu, fri, sat, sun.
    pub days: Vec<String>,
    /// HH:MM, 00:00–23:59.
    pub from: String,
    /// HH:MM, up to 24:00.
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationInput {
    pub code: String,
    /// E.164 digit prefixes without "+"; the longest matching prefix of the plan wins.
    pub prefixes: Vec<String>,
    /// "first/next" seconds, e.g. "60/60", "30/6", "1/1" (default 60/60).
    #[serde(default = "default_increment")]
    pub increment: String,
    /// Per call, decimal text (default 0).
    #[serde(default = "zero")]
    pub connection_fee: String,
    /// Per call, decimal text (default 0); a 0-second call is not charged at all.
    #[serde(default = "zero")]
    pub minimum_charge: String,
    /// Per-minute rate by band code, decimal text; every band needs one.
    pub rates: BTreeMap<String, String>,
}

fn default_increment() -> String {
    "60/60".into()
}

fn zero() -> String {
    "0".into()
}

/// A stored plan as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RatingPlan {
    #[serde(flatten)]
    pub plan: RatingPlanInput,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
}

/// Destinations to add to a plan (`POST /v1/rating-plans/{code}/destinations`), e.g. for
/// numbers whose calls went to suspense as unratable. A new prefix may not extend one the
/// plan has (that would re-rate calls already rated), so every call rated before rates the
/// same afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDestinations {
    pub destinations: Vec<DestinationInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RatingPlanList {
    pub rating_plans: Vec<RatingPlan>,
}

fn invalid(code: &'static str, field: String, message: String) -> AppError {
    AppError::Invalid {
        code,
        field: Some(field),
        message,
    }
}

fn day(name: &str) -> Option<Weekday> {
    Some(match name {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

/// Minutes since midnight of "HH:MM"; 24:00 only where `allow_end`.
fn minute_of(text: &str, allow_end: bool) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if allow_end => Some(1_440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn increment_of(text: &str) -> Option<Increment> {
    let (first, next) = text.split_once('/')?;
    Some(Increment::new(
        first.trim().parse().ok()?,
        next.trim().parse().ok()?,
    ))
}

fn decimal_of(text: &str, field: String) -> AppResult<Decimal> {
    text.trim().parse().map_err(|_| {
        invalid(
            "invalid_decimal",
            field,
            format!("`{text}` is not a decimal"),
        )
    })
}

/// Parses and checks a plan: the first problem becomes the error's code and field, the
/// message lists every problem the core found.
pub fn voice_plan_of(input: &RatingPlanInput) -> AppResult<VoicePlan> {
    // The catalog's rule for codes, since a price names the plan by it.
    let code = input.code.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if code.is_empty() || code.len() > 64 || !code.chars().all(allowed) {
        return Err(invalid(
            "invalid_code",
            "code".into(),
            "must be 1–64 letters, digits, '-', '_' or '.'".into(),
        ));
    }
    let currency = Currency::parse(input.currency.trim())
        .map_err(|e| invalid("unknown_currency", "currency".into(), e.to_string()))?;
    let mut bands = Vec::with_capacity(input.bands.len());
    for (b, band) in input.bands.iter().enumerate() {
        let mut windows = Vec::with_capacity(band.windows.len());
        for (w, window) in band.windows.iter().enumerate() {
            let at = |f: &str| format!("bands[{b}].windows[{w}].{f}");
            let mut days = Weekdays::default();
            for (k, name) in window.days.iter().enumerate() {
                let d = day(name.trim()).ok_or_else(|| {
                    invalid(
                        "invalid_day",
                        format!("{}[{k}]", at("days")),
                        format!("`{name}` is not mon, tue, wed, thu, fri, sat or sun"),
                    )
                })?;
                days = days.with(d);
            }
            let from = minute_of(window.from.trim(), false).ok_or_else(|| {
                invalid(
                    "invalid_time",
                    at("from"),
                    "expected HH:MM, 00:00–23:59".into(),
                )
            })?;
            let to = minute_of(window.to.trim(), true).ok_or_else(|| {
                invalid(
                    "invalid_time",
                    at("to"),
                    "expected HH:MM, up to 24:00".into(),
                )
            })?;
            windows.push(BandWindow { days, from, to });
        }
        bands.push(TimeBand {
            code: band.code.trim().to_string(),
            windows,
        });
    }
    let mut destinations = Vec::with_capacity(input.destinations.len());
    for (d, dest) in input.destinations.iter().enumerate() {
        let at = |f: &str| format!("destinations[{d}].{f}");
        let increment = increment_of(&dest.increment).ok_or_else(|| {
            invalid(
                "invalid_increment",
                at("increment"),
                format!(
                    "`{}` is not \"first/next\" seconds, e.g. 30/6",
                    dest.increment
                ),
            )
        })?;
        let mut rates = Vec::with_capacity(dest.rates.len());
        for (band, rate) in &dest.rates {
            rates.push((
                band.trim().to_string(),
                decimal_of(rate, format!("destinations[{d}].rates.{band}"))?,
            ));
        }
        destinations.push(Destination {
            code: dest.code.trim().to_string(),
            prefixes: dest.prefixes.iter().map(|p| p.trim().to_string()).collect(),
            increment,
            connection_fee: decimal_of(&dest.connection_fee, at("connection_fee"))?,
            minimum_charge: decimal_of(&dest.minimum_charge, at("minimum_charge"))?,
            rates,
        });
    }
    VoicePlan::new(currency, bands, destinations).map_err(|problems| {
        let first = &problems[0];
        let message = problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        // The core names a rate by its position; the API keys rates by band code.
        let field = rate_field(input, &first.path).unwrap_or_else(|| first.path.clone());
        invalid(first.problem.code(), field, message)
    })
}

/// `destinations[d].rates[r]` → `destinations[d].rates.<band>` (BTreeMap order).
fn rate_field(input: &RatingPlanInput, path: &str) -> Option<String> {
    let rest = path.strip_prefix("destinations[")?;
    let (d, rest) = rest.split_once("].rates[")?;
    let r: usize = rest.strip_suffix(']')?.parse().ok()?;
    let d: usize = d.parse().ok()?;
    let band = input.destinations.get(d)?.rates.keys().nth(r)?;
    Some(format!("destinations[{d}].rates.{band}"))
}
