//! Voice usage: the tenant's rating plans (`POST/GET /v1/rating-plans`) and rating an
//! item's calls of a billing period against one, call by call.
//!
//! A CDR is an ordinary usage event of the item's metric: its timestamp is the call start,
//! `properties.destination` the dialled E.164 number and `properties.duration` the seconds.
//! Rollups cannot rate calls (each needs its own start and destination), so a voice period
//! reads the period's events. Plans cannot be changed once created, so rating the same
//! events again (the usage CSV) gives the same charges that were billed.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use quoin_core::money::{round_half_up, Currency, Money};
use quoin_core::rating::voice::{Call, RatedCall, VoicePlan};
use quoin_store::repo::rating_plans::RatingPlanRow;
use quoin_store::repo::UsageEventFilter;
use quoin_store::rows::UsageEventRow;
use quoin_store::Tx;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::internal;
use super::unratable::Unratable;
use super::voice_model::{
    voice_plan_of, NewDestinations, RatingPlan, RatingPlanInput, RatingPlanList,
};
use crate::auth::{Action, Principal};
use crate::catalog::spec::{ModelSpec, PriceSpec};
use crate::error::{AppError, AppResult};
use crate::App;

/// Events read per query while rating a period.
const PAGE: i64 = 10_000;

impl App {
    pub async fn create_rating_plan(
        &self,
        p: &Principal,
        mut input: RatingPlanInput,
    ) -> AppResult<RatingPlan> {
        p.require(Action::WriteCatalog)?;
        let plan = voice_plan_of(&input)?;
        input.code = input.code.trim().to_string();
        input.currency = plan.currency().code().to_string();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if tx
            .get_rating_plan(&p.tenant_id, &input.code)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict {
                code: "rating_plan_exists",
                message: format!("rating plan `{}` already exists", input.code),
            });
        }
        tx.insert_rating_plan(&RatingPlanRow {
            tenant_id: p.tenant_id.clone(),
            code: input.code.clone(),
            currency: input.currency.clone(),
            definition: serde_json::to_string(&input).map_err(internal)?,
            created_at_us: now.as_microsecond(),
        })
        .await?;
        tx.commit().await?;
        Ok(RatingPlan {
            plan: input,
            created_at: now,
        })
    }

    /// Adds destinations to a plan. Only numbers no prefix of the plan matched may change
    /// destination, so calls already rated (and billed) rate the same; unratable calls
    /// parked in suspense can then be recycled.
    pub async fn add_rating_plan_destinations(
        &self,
        p: &Principal,
        code: &str,
        input: NewDestinations,
    ) -> AppResult<RatingPlan> {
        p.require(Action::WriteCatalog)?;
        if input.destinations.is_empty() {
            return Err(AppError::invalid(
                "destinations",
                "give at least one destination",
            ));
        }
        let mut tx = self.store.begin().await?;
        let row = tx
            .get_rating_plan(&p.tenant_id, code)
            .await?
            .ok_or_else(|| AppError::not_found("rating plan", code))?;
        let mut plan: RatingPlanInput = serde_json::from_str(&row.definition).map_err(internal)?;
        for (d, dest) in input.destinations.iter().enumerate() {
            for (k, prefix) in dest.prefixes.iter().enumerate() {
                let prefix = prefix.trim();
                let covered = plan.destinations.iter().find_map(|old| {
                    old.prefixes
                        .iter()
                        .find(|o| prefix.starts_with(o.trim()))
                        .map(|o| (old.code.as_str(), o.as_str()))
                });
                if let Some((other, o)) = covered {
                    return Err(AppError::Invalid {
                        code: "prefix_would_rerate",
                        field: Some(format!("destinations[{d}].prefixes[{k}]")),
                        message: format!(
                            "prefix {prefix} falls under prefix {o} of destination `{other}`: \
                             calls already rated there would change"
                        ),
                    });
                }
            }
        }
        let before = plan.destinations.len();
        plan.destinations.extend(input.destinations);
        // The whole plan is checked again; a problem in a new destination is reported at
        // its index in the request.
        voice_plan_of(&plan).map_err(|e| relative_destination(e, before))?;
        tx.update_rating_plan_definition(
            &p.tenant_id,
            code,
            &serde_json::to_string(&plan).map_err(internal)?,
        )
        .await?;
        tx.commit().await?;
        Ok(RatingPlan {
            plan,
            created_at: jiff::Timestamp::from_microsecond(row.created_at_us).map_err(internal)?,
        })
    }

    pub async fn list_rating_plans(&self, p: &Principal) -> AppResult<RatingPlanList> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let rows = tx.list_rating_plans(&p.tenant_id).await?;
        tx.commit().await?;
        Ok(RatingPlanList {
            rating_plans: rows.iter().map(view).collect::<AppResult<_>>()?,
        })
    }

    pub async fn get_rating_plan(&self, p: &Principal, code: &str) -> AppResult<RatingPlan> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let row = tx.get_rating_plan(&p.tenant_id, code).await?;
        tx.commit().await?;
        view(&row.ok_or_else(|| AppError::not_found("rating plan", code))?)
    }
}

/// Renames `destinations[N]…` of a merged plan to the request's `destinations[N - before]`.
fn relative_destination(e: AppError, before: usize) -> AppError {
    let AppError::Invalid {
        code,
        field: Some(field),
        message,
    } = e
    else {
        return e;
    };
    let shifted = field
        .strip_prefix("destinations[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(n, tail)| Some((n.parse::<usize>().ok()?.checked_sub(before)?, tail)))
        .map(|(n, tail)| format!("destinations[{n}]{tail}"));
    AppError::Invalid {
        code,
        field: Some(shifted.unwrap_or(field)),
        message,
    }
}

fn view(row: &RatingPlanRow) -> AppResult<RatingPlan> {
    Ok(RatingPlan {
        plan: serde_json::from_str(&row.definition).map_err(internal)?,
        created_at: jiff::Timestamp::from_microsecond(row.created_at_us).map_err(internal)?,
    })
}

/// A stored plan, indexed for rating.
pub(crate) async fn load_plan(tx: &mut Tx, tenant: &str, code: &str) -> AppResult<VoicePlan> {
    let row = tx
        .get_rating_plan(tenant, code)
        .await?
        .ok_or_else(|| AppError::Invalid {
            code: "unknown_rating_plan",
            field: None,
            message: format!("rating plan `{code}` does not exist"),
        })?;
    let input: RatingPlanInput = serde_json::from_str(&row.definition).map_err(internal)?;
    voice_plan_of(&input)
}

/// One item's metric over the local dates `[start, end)` of `tz`.
pub(crate) struct PeriodCalls<'a> {
    pub item_id: &'a str,
    pub metric: &'a str,
    pub tz: &'a TimeZone,
    pub start: Date,
    pub end: Date,
}

/// A period's events split by whether they can be rated, each in (timestamp, id) order.
pub(crate) struct RatedCalls {
    pub rated: Vec<(UsageEventRow, RatedCall)>,
    /// Events that are not ratable CDRs of the plan, with why.
    pub unratable: Vec<(UsageEventRow, String)>,
}

/// Every event of the period with its rating, or why it cannot be rated (ingestion parks
/// unratable CDRs in suspense, so these are events stored before or re-targeted since).
pub(crate) async fn rated_calls(
    tx: &mut Tx,
    tenant: &str,
    plan: &VoicePlan,
    period: &PeriodCalls<'_>,
) -> AppResult<RatedCalls> {
    let mut out = RatedCalls {
        rated: Vec::new(),
        unratable: Vec::new(),
    };
    for event in period_events(tx, tenant, period).await? {
        match rate_event(plan, &event, period.tz)? {
            Ok(rated) => out.rated.push((event, rated)),
            Err(why) => out.unratable.push((event, why)),
        }
    }
    Ok(out)
}

/// The item's events of the metric whose start falls on the period's local dates, in
/// (timestamp, id) order: the same events the day rollups of the period count.
pub(crate) async fn period_events(
    tx: &mut Tx,
    tenant: &str,
    period: &PeriodCalls<'_>,
) -> AppResult<Vec<UsageEventRow>> {
    let micros = |d: Date| -> AppResult<i64> {
        Ok(d.to_zoned(period.tz.clone())
            .map_err(internal)?
            .timestamp()
            .as_microsecond())
    };
    let (from_us, to_us) = (micros(period.start)?, micros(period.end)?);
    let mut out: Vec<UsageEventRow> = Vec::new();
    loop {
        let after = out.last().map(|e| (e.ts_us, e.event_id.clone()));
        let filter = UsageEventFilter {
            subscription_id: None,
            item_id: Some(period.item_id),
            metric_code: Some(period.metric),
            from_us: Some(from_us),
            to_us: Some(to_us),
            after: after.as_ref().map(|(t, id)| (*t, id.as_str())),
        };
        let page = tx.search_usage_events(tenant, &filter, PAGE).await?;
        let full = page.len() as i64 == PAGE;
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

/// Rates one stored event as a CDR; the inner error says why it is not ratable.
fn rate_event(
    plan: &VoicePlan,
    event: &UsageEventRow,
    tz: &TimeZone,
) -> AppResult<Result<RatedCall, String>> {
    let props: serde_json::Map<String, Value> = match &event.properties {
        Some(text) => serde_json::from_str(text).map_err(internal)?,
        None => serde_json::Map::new(),
    };
    let text = |key: &str| match props.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let start = jiff::Timestamp::from_microsecond(event.ts_us).map_err(internal)?;
    Ok(rate_cdr(
        plan,
        text("destination").as_deref(),
        text("duration").as_deref(),
        start,
        tz,
    ))
}

/// Rates one CDR (`properties.destination`, `properties.duration` in seconds, started at
/// `start`), or says why it cannot be rated. Ingestion and billing share it, so a call
/// accepted at ingestion rates the same at billing.
pub(crate) fn rate_cdr(
    plan: &VoicePlan,
    destination: Option<&str>,
    duration: Option<&str>,
    start: jiff::Timestamp,
    tz: &TimeZone,
) -> Result<RatedCall, String> {
    let number = destination.ok_or("no `destination` property")?;
    let duration: i64 = duration
        .and_then(|d| d.trim().parse().ok())
        .ok_or("`duration` is not a whole number of seconds")?;
    plan.rate(
        &Call {
            number,
            start,
            duration_seconds: duration,
        },
        tz,
    )
    .map_err(|e| e.to_string())
}

/// What a voice period bills: the number of calls, the sum of the rounded call charges,
/// and the summary for the line's `detail`. Seconds are exact; minutes (seconds / 60) are
/// shown rounded half-up to 2 places, for reading only.
pub(crate) struct VoicePeriod {
    pub calls: usize,
    pub amount: Money,
    pub detail: Value,
}

#[derive(Default)]
struct Subtotal {
    calls: u64,
    seconds: u64,
    minor: i64,
}

pub(crate) async fn rate_period(
    tx: &mut Tx,
    tenant: &str,
    plan_code: &str,
    period: &PeriodCalls<'_>,
    unratable: Unratable,
) -> AppResult<VoicePeriod> {
    let plan = load_plan(tx, tenant, plan_code).await?;
    let RatedCalls {
        rated: calls,
        unratable: problems,
    } = rated_calls(tx, tenant, &plan, period).await?;
    if unratable == Unratable::Park {
        super::unratable::park(tx, tenant, period, &problems).await?;
    }
    let mut total = Money::zero(plan.currency());
    let mut seconds = 0u64;
    let mut by_key: BTreeMap<(usize, usize), Subtotal> = BTreeMap::new();
    for (_, rated) in &calls {
        total = total.checked_add(rated.charge).map_err(internal)?;
        seconds += rated.billed_seconds;
        let s = by_key.entry((rated.destination, rated.band)).or_default();
        s.calls += 1;
        s.seconds += rated.billed_seconds;
        s.minor += rated.charge.minor();
    }
    let minutes = |seconds: u64| {
        round_half_up(Decimal::from(seconds) / Decimal::from(60), 2)
            .normalize()
            .to_string()
    };
    let money = |minor: i64| {
        Money::from_minor(minor, plan.currency())
            .to_decimal()
            .to_string()
    };
    let subtotals: Vec<Value> = by_key
        .iter()
        .map(|(&(d, b), s)| {
            json!({
                "destination": plan.destinations()[d].code,
                "band": plan.bands()[b].code,
                "calls": s.calls,
                "billed_seconds": s.seconds,
                "minutes_billed": minutes(s.seconds),
                "amount": money(s.minor),
            })
        })
        .collect();
    Ok(VoicePeriod {
        calls: calls.len(),
        amount: total,
        detail: json!({
            "usage": {
                "model": "voice",
                "rating_plan": plan_code,
                "calls": calls.len(),
                "billed_seconds": seconds,
                "minutes_billed": minutes(seconds),
                "amount": money(total.minor()),
                "subtotals": subtotals,
            }
        }),
    })
}

/// What [`bill_period`] found: `calls` is 0 when the period had none.
pub(crate) struct BilledVoice {
    pub calls: usize,
    /// The line quantity: the number of calls.
    pub quantity: Decimal,
    pub amount: Money,
    pub detail: Value,
}

/// Rates a usage item's period if its price is a voice price; None for other models.
/// `zone`: the item's account time zone when the caller has it (else it is read).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn bill_period(
    tx: &mut Tx,
    tenant: &str,
    spec: &PriceSpec,
    item_id: &str,
    metric: &str,
    (start, end): (Date, Date),
    currency: Currency,
    unratable: Unratable,
    zone: Option<&TimeZone>,
) -> AppResult<Option<BilledVoice>> {
    let Some(ModelSpec::Voice { rating_plan }) = &spec.model else {
        return Ok(None);
    };
    let tz = match zone {
        Some(tz) => tz.clone(),
        None => super::query::item_zone(tx, tenant, item_id).await?,
    };
    let period = PeriodCalls {
        item_id,
        metric,
        tz: &tz,
        start,
        end,
    };
    let v = rate_period(tx, tenant, rating_plan, &period, unratable).await?;
    if v.amount.currency() != currency {
        return Err(AppError::Invalid {
            code: "currency_mismatch",
            field: None,
            message: format!(
                "rating plan `{rating_plan}` is in {}, the account bills in {currency}",
                v.amount.currency()
            ),
        });
    }
    Ok(Some(BilledVoice {
        calls: v.calls,
        quantity: Decimal::from(v.calls),
        amount: v.amount,
        detail: v.detail,
    }))
}
