//! Turning stored inventory (subscription, item segments, operation log) into the core's
//! item timelines, and the lifecycle status a subscription has on a date.

use jiff::civil::Date;
use quoin_core::billing::{ChargeTiming, Segment, Spans};
use quoin_core::calendar::{Alignment, BillingPeriod, Period};
use quoin_core::catalog::{effective_unit_amount, phase_spans, Phase, PhaseKind, PhaseSpan};
use quoin_store::rows::{ItemSegmentRow, PriceRow, SubscriptionRow, SubscriptionVersionRow};

use crate::error::{AppError, AppResult};
use crate::subscriptions::parse_date;

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

pub(crate) fn opt_date(text: Option<&str>, what: &str) -> AppResult<Option<Date>> {
    text.map(|t| parse_date(t, what)).transpose()
}

/// Lifecycle states of a service.
pub(crate) mod status {
    pub const PENDING_ACTIVATION: &str = "pending_activation";
    pub const ACTIVE: &str = "active";
    pub const SUSPENDED: &str = "suspended";
    pub const PENDING_DISCONNECT: &str = "pending_disconnect";
    pub const DISCONNECTED: &str = "disconnected";
}

/// The status the operation log gives a subscription on `day`.
pub(crate) fn status_on(
    sub: &SubscriptionRow,
    versions: &[SubscriptionVersionRow],
    day: Date,
) -> AppResult<&'static str> {
    let start = parse_date(&sub.start_date, "start_date")?;
    let end = opt_date(sub.end_date.as_deref(), "end_date")?;
    if end.is_some_and(|e| e <= day) {
        return Ok(status::DISCONNECTED);
    }
    if start > day {
        return Ok(status::PENDING_ACTIVATION);
    }
    if end.is_some() {
        return Ok(status::PENDING_DISCONNECT);
    }
    let suspended = suspended_spans(versions)?;
    let today = Spans::of(Period::new(day, day.tomorrow().map_err(internal)?).map_err(internal)?);
    Ok(if suspended.intersect(&today).is_empty() {
        status::ACTIVE
    } else {
        status::SUSPENDED
    })
}

/// The date ranges a subscription is suspended, from its suspend/resume operations.
pub(crate) fn suspended_spans(versions: &[SubscriptionVersionRow]) -> AppResult<Spans> {
    let mut ranges = Vec::new();
    let mut since: Option<Date> = None;
    for v in versions {
        let on = parse_date(&v.effective_date, "effective_date")?;
        match v.operation.as_str() {
            "suspend" if since.is_none() => since = Some(on),
            "resume" => {
                if let Some(s) = since.take() {
                    ranges.push((s, on));
                }
            }
            _ => {}
        }
    }
    if let Some(s) = since {
        ranges.push((s, Date::MAX));
    }
    Ok(Spans::from_ranges(ranges))
}

/// How a stored price bills as a recurring charge.
#[derive(Debug, Clone)]
pub(crate) struct RecurringPrice {
    pub period: BillingPeriod,
    pub timing: ChargeTiming,
    pub unit_amount: rust_decimal::Decimal,
    /// Trial, introductory, ramp and evergreen phases; empty when the price applies as is.
    pub phases: Vec<Phase>,
}

impl RecurringPrice {
    /// `None` for prices that are not recurring (one-time and usage prices bill otherwise).
    pub(crate) fn of(price: &PriceRow) -> AppResult<Option<Self>> {
        if price.price_type != "recurring" {
            return Ok(None);
        }
        let spec: crate::catalog::spec::PriceSpec =
            serde_json::from_str(&price.definition).map_err(internal)?;
        Ok(Some(Self {
            period: BillingPeriod::parse(&price.period).map_err(internal)?,
            timing: ChargeTiming::parse(&price.timing).ok_or_else(|| internal("stored timing"))?,
            unit_amount: price.amount.parse().map_err(internal)?,
            phases: crate::catalog::check::core_phases(&spec.phases).map_err(internal)?,
        }))
    }

    /// Where the phases fall for a subscription that started on `start`.
    pub(crate) fn phase_spans(&self, start: Date) -> AppResult<Vec<PhaseSpan>> {
        phase_spans(&self.phases, start, self.period).map_err(internal)
    }

    /// The phase (`trial`, `introductory`, `ramp`) billing `day` for a subscription that
    /// started on `start`; `None` without phases and in the evergreen phase.
    pub(crate) fn phase_on(&self, start: Date, day: Date) -> AppResult<Option<PhaseKind>> {
        Ok(self
            .phase_spans(start)?
            .iter()
            .find(|s| s.contains(day))
            .map(|s| self.phases[s.index].kind)
            .filter(|k| *k != PhaseKind::Evergreen))
    }
}

/// `amount` without trailing zeros beyond `like`'s decimals (50% of 30.00 is 15.00,
/// not 15.0000), so phase prices read like the list price.
fn in_scale_of(
    amount: rust_decimal::Decimal,
    like: rust_decimal::Decimal,
) -> rust_decimal::Decimal {
    let mut a = amount.normalize();
    if a.scale() < like.scale() {
        a.rescale(like.scale());
    }
    a
}

/// The core segments of one item: its stored segments clipped to the service end, with
/// suspended time cut out and split where a price phase ends (phases run from the
/// subscription's start, `phase_start`). `price` maps a segment's price id to the
/// caller's handle and its recurring terms.
pub(crate) fn item_segments(
    rows: &[&ItemSegmentRow],
    service_end: Option<Date>,
    suspended: &Spans,
    alignment: Alignment,
    phase_start: Date,
    mut price: impl FnMut(&str) -> AppResult<Option<(usize, RecurringPrice)>>,
) -> AppResult<Vec<Segment>> {
    let mut out = Vec::new();
    for row in rows {
        let Some((handle, terms)) = price(&row.price_id)? else {
            continue;
        };
        let start = parse_date(&row.start_date, "segment start")?;
        let end = opt_date(row.end_date.as_deref(), "segment end")?;
        let end = match (end, service_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if end.is_some_and(|e| e <= start) {
            continue;
        }
        let unit_amount = match &row.unit_amount {
            Some(a) => a.parse().map_err(internal)?,
            None => terms.unit_amount,
        };
        let quantity = row.quantity.parse().map_err(internal)?;
        let whole = Spans::from_ranges([(start, end.unwrap_or(Date::MAX))]);
        let phases: Vec<(Spans, rust_decimal::Decimal)> = if terms.phases.is_empty() {
            vec![(Spans::from_ranges([(Date::MIN, Date::MAX)]), unit_amount)]
        } else {
            terms
                .phase_spans(phase_start)?
                .iter()
                .map(|s| {
                    (
                        Spans::from_ranges([(s.start, s.end.unwrap_or(Date::MAX))]),
                        in_scale_of(
                            effective_unit_amount(unit_amount, terms.phases[s.index].adjustment),
                            unit_amount,
                        ),
                    )
                })
                .collect()
        };
        let served = whole.minus(suspended);
        for (phase, amount) in phases {
            for piece in served.intersect(&phase).periods() {
                out.push(Segment {
                    start: piece.start,
                    end: (piece.end != Date::MAX).then_some(piece.end),
                    price: handle,
                    unit_amount: amount,
                    quantity,
                    period: terms.period,
                    timing: terms.timing,
                    alignment,
                });
            }
        }
    }
    out.sort_by_key(|s| s.start);
    Ok(out)
}
