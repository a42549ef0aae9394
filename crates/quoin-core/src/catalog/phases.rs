//! Price phases: a trial, an introductory discount, ramp years, then the evergreen price.
//!
//! Phases run back to back from the subscription's start. Month-long phases are anchored
//! like terms (consecutive 12-month ramps from Jan 31 end on Jan 31 each year, never
//! drifting to the 28th); a day-long phase moves the anchor to where it ends. A phase of
//! N billing periods is N times the price's period from the phase's start, whatever the
//! account's cycle alignment: it is a length of time, not a count of invoices.

use std::fmt;

use jiff::civil::Date;
use jiff::Span;
use rust_decimal::Decimal;

use crate::calendar::{BillingPeriod, CalendarError, Period, PeriodUnit};
use crate::rating::Problem;

use super::error::{CatalogErrors, CatalogPath, CatalogProblem, Problems};
use super::months::months_after;

/// Phases come in this order; each kind may repeat (one ramp phase per contract year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhaseKind {
    Trial,
    Introductory,
    Ramp,
    /// The price from then on; the only open-ended phase, always last.
    Evergreen,
}

impl PhaseKind {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "trial" => Some(Self::Trial),
            "introductory" => Some(Self::Introductory),
            "ramp" => Some(Self::Ramp),
            "evergreen" => Some(Self::Evergreen),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Trial => "trial",
            Self::Introductory => "introductory",
            Self::Ramp => "ramp",
            Self::Evergreen => "evergreen",
        }
    }
}

impl fmt::Display for PhaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhaseDuration {
    Days(u32),
    /// Billing periods of the price (3 monthly periods, 2 quarters).
    Periods(u32),
    Months(u32),
}

/// How a phase changes the price's unit amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Adjustment {
    /// The price as defined (typically the evergreen phase).
    None,
    Free,
    /// 0–100.
    PercentOff(Decimal),
    AmountOff(Decimal),
    /// Replaces the unit amount (a ramp year's price).
    Price(Decimal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Phase {
    pub kind: PhaseKind,
    /// `None` only for the evergreen phase.
    pub duration: Option<PhaseDuration>,
    pub adjustment: Adjustment,
}

/// Where one phase of a plan falls for a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhaseSpan {
    /// Position of the phase in the plan.
    pub index: usize,
    pub start: Date,
    /// Exclusive; `None` for the evergreen phase.
    pub end: Option<Date>,
}

impl PhaseSpan {
    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && self.end.is_none_or(|end| date < end)
    }

    /// The phase as a period; `None` when it is open-ended (or empty).
    pub fn period(&self) -> Option<Period> {
        self.end.and_then(|end| Period::new(self.start, end).ok())
    }
}

/// Checks a plan: at least one phase, kinds in order, evergreen last and only last, a
/// positive duration on every other phase and sane adjustments. Reports every problem.
pub fn validate_phases(plan: &[Phase]) -> Result<(), CatalogErrors> {
    let mut p = Problems::default();
    if plan.is_empty() {
        p.push(CatalogPath::field("phases"), Problem::Empty);
    }
    let last = plan.len().saturating_sub(1);
    for (i, phase) in plan.iter().enumerate() {
        let at = |name| CatalogPath::element("phases", i, name);
        let evergreen = phase.kind == PhaseKind::Evergreen;
        if let Some(previous) = i.checked_sub(1).map(|j| plan[j].kind) {
            if phase.kind < previous {
                p.push(at("kind"), CatalogProblem::PhaseOrder { previous });
            }
        }
        if evergreen && i != last {
            p.push(at("kind"), CatalogProblem::EvergreenNotLast);
        } else if !evergreen && i == last {
            p.push(at("kind"), CatalogProblem::LastNotEvergreen(phase.kind));
        }
        match (evergreen, phase.duration) {
            (true, Some(_)) => p.push(at("duration"), CatalogProblem::EvergreenDuration),
            (false, None) => p.push(at("duration"), CatalogProblem::MissingDuration),
            (
                _,
                Some(PhaseDuration::Days(0) | PhaseDuration::Periods(0) | PhaseDuration::Months(0)),
            ) => p.push(at("duration"), Problem::NotPositive(Decimal::ZERO)),
            _ => {}
        }
        match phase.adjustment {
            Adjustment::PercentOff(v) if v < Decimal::ZERO || v > Decimal::ONE_HUNDRED => {
                p.push(at("adjustment"), Problem::NotAPercentage(v))
            }
            Adjustment::AmountOff(v) | Adjustment::Price(v) if v < Decimal::ZERO => {
                p.push(at("adjustment"), Problem::Negative(v))
            }
            _ => {}
        }
    }
    p.finish()
}

/// Where every phase of `plan` falls for a subscription starting on `subscription_start`
/// and billed every `period`. Stops after the first open-ended phase (what follows it is
/// unreachable); a zero-length phase gets an empty span.
pub fn phase_spans(
    plan: &[Phase],
    subscription_start: Date,
    period: BillingPeriod,
) -> Result<Vec<PhaseSpan>, CalendarError> {
    let mut spans = Vec::with_capacity(plan.len());
    let mut start = subscription_start;
    // Month phases count from `anchor` so that they do not drift at month ends.
    let mut anchor = subscription_start;
    let mut months_from_anchor = 0i64;
    for (index, phase) in plan.iter().enumerate() {
        let Some(duration) = phase.duration else {
            spans.push(PhaseSpan {
                index,
                start,
                end: None,
            });
            break;
        };
        let end = match in_days_or_months(duration, period) {
            Length::Days(days) => {
                let end = start
                    .checked_add(
                        Span::new()
                            .try_days(days)
                            .map_err(|_| CalendarError::OutOfRange)?,
                    )
                    .map_err(|_| CalendarError::OutOfRange)?;
                anchor = end;
                months_from_anchor = 0;
                end
            }
            Length::Months(months) => {
                months_from_anchor += months;
                months_after(anchor, months_from_anchor, anchor.day())?
            }
        };
        spans.push(PhaseSpan {
            index,
            start,
            end: Some(end),
        });
        start = end;
    }
    Ok(spans)
}

/// The phase in effect on `date`: `None` before the subscription starts, or after the last
/// phase of a plan that has no evergreen phase (which validation rejects).
pub fn phase_at(
    plan: &[Phase],
    subscription_start: Date,
    date: Date,
    period: BillingPeriod,
) -> Result<Option<PhaseSpan>, CalendarError> {
    if date < subscription_start {
        return Ok(None);
    }
    Ok(phase_spans(plan, subscription_start, period)?
        .into_iter()
        .find(|span| span.contains(date)))
}

/// The unit amount `base` becomes under `adjustment`; never negative (a discount larger
/// than the price makes it free, not a credit). Out-of-range adjustments, which
/// validation rejects, are clamped rather than allowed to panic.
pub fn effective_unit_amount(base: Decimal, adjustment: Adjustment) -> Decimal {
    let amount = match adjustment {
        Adjustment::None => base,
        Adjustment::Free => Decimal::ZERO,
        Adjustment::PercentOff(percent) => {
            let kept = (Decimal::ONE_HUNDRED - percent.clamp(Decimal::ZERO, Decimal::ONE_HUNDRED))
                / Decimal::ONE_HUNDRED;
            // |base × kept| <= |base|: cannot overflow.
            base.checked_mul(kept).unwrap_or(Decimal::ZERO)
        }
        // Only a negative base can overflow here, and that result is clamped to zero anyway.
        Adjustment::AmountOff(off) => base
            .checked_sub(off.max(Decimal::ZERO))
            .unwrap_or(Decimal::ZERO),
        Adjustment::Price(price) => price,
    };
    amount.max(Decimal::ZERO)
}

enum Length {
    Days(i64),
    Months(i64),
}

fn in_days_or_months(duration: PhaseDuration, period: BillingPeriod) -> Length {
    match duration {
        PhaseDuration::Days(n) => Length::Days(i64::from(n)),
        PhaseDuration::Months(n) => Length::Months(i64::from(n)),
        PhaseDuration::Periods(n) => {
            let units = i64::from(n) * i64::from(period.count());
            match period.unit() {
                PeriodUnit::Day => Length::Days(units),
                PeriodUnit::Week => Length::Days(units * 7),
                PeriodUnit::Month => Length::Months(units),
            }
        }
    }
}
