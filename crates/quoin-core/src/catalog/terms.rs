//! Contract terms: how long a commitment lasts, what happens at its end, and what
//! cancelling early costs (early-termination liability, ETL).
//!
//! Conventions, chosen to agree with the anniversary billing cycle of `calendar`:
//! - a term is the half-open range `[start, end)`; `end` is the same day of the month
//!   `length` months later, clamped to the month's end (2024-01-31 + 1 month ends
//!   2024-02-29, so the last day served is 2024-02-28), and is the first day of a renewal;
//! - term months are anchored on the contract's original day, so renewals do not drift
//!   (Jan 31 → Feb 29 → Mar 31);
//! - a month that has started counts as remaining: cancelling on any day of month 3 of
//!   12 leaves 10 months, cancelling on the first day of the term leaves all 12.

use std::fmt;

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::calendar::{CalendarError, Period};
use crate::rating::Problem;

use super::error::{CatalogErrors, CatalogPath, CatalogProblem, Problems};
use super::months::{months_after, whole_months};

/// What a term turns into when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndOfTerm {
    RenewSameTerm,
    RollMonthToMonth,
    Cancel,
}

impl EndOfTerm {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "renew_same_term" => Some(Self::RenewSameTerm),
            "roll_month_to_month" => Some(Self::RollMonthToMonth),
            "cancel" => Some(Self::Cancel),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::RenewSameTerm => "renew_same_term",
            Self::RollMonthToMonth => "roll_month_to_month",
            Self::Cancel => "cancel",
        }
    }
}

impl fmt::Display for EndOfTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What cancelling before the end of the term costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtlPolicy {
    None,
    /// Remaining months × the monthly rate.
    RemainingMonths,
    /// A percentage (0–100) of remaining months × the monthly rate.
    PercentOfRemaining {
        percent: Decimal,
    },
    Fixed {
        amount: Decimal,
    },
    /// `(from month of the term, 1-based; fee)`, ascending from month 1: the fee of the
    /// last row that has started applies.
    Reducing {
        schedule: Vec<(u32, Decimal)>,
    },
}

/// A contract term as the catalog offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermTemplate {
    pub length_months: u32,
    pub end_of_term: EndOfTerm,
    pub etl: EtlPolicy,
}

impl TermTemplate {
    /// Ten years: longer commitments are negotiated contracts, not catalog terms.
    pub const MAX_LENGTH_MONTHS: u32 = 120;

    /// Checks the length and the ETL policy; reports every problem.
    pub fn validate(&self) -> Result<(), CatalogErrors> {
        let mut p = Problems::default();
        if !(1..=Self::MAX_LENGTH_MONTHS).contains(&self.length_months) {
            p.push(
                CatalogPath::field("length_months"),
                CatalogProblem::OutOfRange {
                    min: 1,
                    max: Self::MAX_LENGTH_MONTHS,
                    got: self.length_months,
                },
            );
        }
        let etl = |name| CatalogPath::field("etl").child(name);
        match &self.etl {
            EtlPolicy::None | EtlPolicy::RemainingMonths => {}
            EtlPolicy::PercentOfRemaining { percent } => {
                if *percent < Decimal::ZERO || *percent > Decimal::ONE_HUNDRED {
                    p.push(etl("percent"), Problem::NotAPercentage(*percent));
                }
            }
            EtlPolicy::Fixed { amount } => {
                if *amount < Decimal::ZERO {
                    p.push(etl("amount"), Problem::Negative(*amount));
                }
            }
            EtlPolicy::Reducing { schedule } => {
                if schedule.is_empty() {
                    p.push(etl("schedule"), Problem::Empty);
                }
                let mut previous = None;
                for (i, &(from_month, fee)) in schedule.iter().enumerate() {
                    let at = |name| etl("schedule").index(i).child(name);
                    match previous {
                        None if from_month != 1 => {
                            p.push(at("from_month"), CatalogProblem::FirstMonth(from_month))
                        }
                        Some(prev) if from_month <= prev => {
                            p.push(at("from_month"), CatalogProblem::NotAfterPrevious(prev))
                        }
                        _ => {}
                    }
                    if from_month > self.length_months {
                        p.push(
                            at("from_month"),
                            Problem::AboveMaximum {
                                field: "length_months",
                                value: Decimal::from(self.length_months),
                            },
                        );
                    }
                    if fee < Decimal::ZERO {
                        p.push(at("fee"), Problem::Negative(fee));
                    }
                    previous = Some(from_month);
                }
            }
        }
        p.finish()
    }

    /// The term this template gives a contract starting on `start`.
    pub fn term(&self, start: Date) -> Result<Term, CalendarError> {
        Term::new(start, self.length_months)
    }
}

/// One commitment: `[start, end)`, `length_months` long, its months anchored on `day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Term {
    start: Date,
    end: Date,
    length_months: u32,
    /// The original contract's day of the month, kept across renewals.
    day: i8,
}

impl Term {
    /// A term of `length_months` (at least 1) from `start`, anchored on `start`'s day.
    pub fn new(start: Date, length_months: u32) -> Result<Self, CalendarError> {
        Self::anchored(start, length_months, start.day())
    }

    fn anchored(start: Date, length_months: u32, day: i8) -> Result<Self, CalendarError> {
        let end = months_after(start, i64::from(length_months), day)?;
        Period::new(start, end)?;
        Ok(Self {
            start,
            end,
            length_months,
            day,
        })
    }

    pub fn start(&self) -> Date {
        self.start
    }

    /// Exclusive: the first day after the term.
    pub fn end(&self) -> Date {
        self.end
    }

    pub fn length_months(&self) -> u32 {
        self.length_months
    }

    pub fn period(&self) -> Period {
        Period {
            start: self.start,
            end: self.end,
        }
    }

    /// Months left on `cancel_date`, the started month included; 0 from `end` on.
    pub fn remaining_months(&self, cancel_date: Date) -> Decimal {
        remaining(self.start, self.end, self.day, cancel_date)
    }

    /// The 1-based month of the term `date` falls in; month 1 before the term starts.
    pub fn month_of(&self, date: Date) -> u32 {
        let elapsed = whole_months(self.start, self.day, date);
        u32::try_from(elapsed.saturating_add(1)).unwrap_or(u32::MAX)
    }
}

/// The exclusive end of a term of `length_months` from `start`: the same day of the month,
/// clamped to the month's end (2024-01-31 + 1 → 2024-02-29; + 2 → 2024-03-31).
pub fn term_end(start: Date, length_months: u32) -> Result<Date, CalendarError> {
    months_after(start, i64::from(length_months), start.day())
}

/// Whole months of `[term_start, term_end)` left on `cancel_date`, counting the month in
/// progress; months are anchored on `term_start`'s day. All of them before the start, 0 on
/// or after the end. A trailing partial month (an end off the anchor day) counts as one.
pub fn remaining_months(term_start: Date, term_end: Date, cancel_date: Date) -> Decimal {
    remaining(term_start, term_end, term_start.day(), cancel_date)
}

fn remaining(start: Date, end: Date, day: i8, cancel: Date) -> Decimal {
    if cancel >= end || start >= end {
        return Decimal::ZERO;
    }
    let whole = whole_months(start, day, end);
    let partial = months_after(start, whole, day).is_ok_and(|b| b < end);
    let total = whole + i64::from(partial);
    let elapsed = if cancel < start {
        0
    } else {
        whole_months(start, day, cancel)
    };
    Decimal::from((total - elapsed).max(0))
}

/// An ETL amount too large for a `Decimal`; never reached with real prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("early-termination amount out of the decimal range")]
pub struct EtlOverflow;

/// What cancelling `term` on `cancel_date` costs under `policy`, for a service billed
/// `monthly_rate` a month. Zero on or after the term's end; never negative (a credit line
/// does not pay the customer for leaving). Not rounded: the invoice line rounds once.
pub fn etl_amount(
    policy: &EtlPolicy,
    monthly_rate: Decimal,
    term: &Term,
    cancel_date: Date,
) -> Result<Decimal, EtlOverflow> {
    if cancel_date >= term.end {
        return Ok(Decimal::ZERO);
    }
    let of_remaining = || {
        term.remaining_months(cancel_date)
            .checked_mul(monthly_rate)
            .ok_or(EtlOverflow)
    };
    let amount = match policy {
        EtlPolicy::None => Decimal::ZERO,
        EtlPolicy::RemainingMonths => of_remaining()?,
        EtlPolicy::PercentOfRemaining { percent } => of_remaining()?
            .checked_mul(*percent)
            .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED))
            .ok_or(EtlOverflow)?,
        EtlPolicy::Fixed { amount } => *amount,
        EtlPolicy::Reducing { schedule } => {
            let month = term.month_of(cancel_date);
            schedule
                .iter()
                .filter(|(from, _)| *from <= month)
                .max_by_key(|(from, _)| *from)
                .map_or(Decimal::ZERO, |(_, fee)| *fee)
        }
    };
    Ok(amount.max(Decimal::ZERO))
}

/// The term that follows `term` when it ends: the same length, one month (rolling), or
/// none. It starts on `term`'s end and keeps the original day of the month.
pub fn renewal(term: &Term, end_of_term: EndOfTerm) -> Result<Option<Term>, CalendarError> {
    let length = match end_of_term {
        EndOfTerm::RenewSameTerm => term.length_months,
        EndOfTerm::RollMonthToMonth => 1,
        EndOfTerm::Cancel => return Ok(None),
    };
    Term::anchored(term.end, length, term.day).map(Some)
}
