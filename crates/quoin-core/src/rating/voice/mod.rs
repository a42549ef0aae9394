//! Voice CDR rating: a call's charge from its dialled number, start and duration.
//!
//! A plan lists destinations by number prefix (the longest matching prefix wins), time
//! bands that tile the week in the account's local time (see [`bands`]), and per
//! destination a billing increment, a connection fee, a minimum charge per call and a
//! per-minute rate per band.
//!
//! **Rounding rule** (one, per call): `connection_fee + rate × billed_seconds / 60`,
//! raised to the minimum charge, is computed at full decimal precision and rounded once,
//! half-up, to the currency's minor unit. A period's total is the sum of its rounded calls,
//! so the invoice detail (one charge per call) adds up to the line exactly.
//!
//! A 0-second call (unanswered) is billed 0 seconds and charged nothing: no connection fee
//! and no minimum, since no connection was made.

mod bands;
mod prefix;

use jiff::{tz::TimeZone, Timestamp};
use rust_decimal::Decimal;

use crate::money::{Currency, Money};

pub use bands::{BandWindow, TimeBand, Weekdays};
use bands::{Week, WeekProblem};
use prefix::PrefixTrie;

/// Billing increments "first/next" in seconds: the first `first` seconds are charged as
/// one block, every further started `next` seconds as another (60/60, 30/6, 1/1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Increment {
    pub first: u32,
    pub next: u32,
}

impl Increment {
    pub const fn new(first: u32, next: u32) -> Increment {
        Increment { first, next }
    }

    /// Seconds charged for a call of `duration` seconds; 0 for a 0-second call.
    pub fn billed_seconds(self, duration: u64) -> u64 {
        let (first, next) = (u64::from(self.first), u64::from(self.next));
        if duration == 0 {
            0
        } else if duration <= first {
            first
        } else {
            first + (duration - first).div_ceil(next) * next
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Names the destination in invoice detail, e.g. "uk-mobile".
    pub code: String,
    /// Dialled-number prefixes in E.164 digits without "+", e.g. "447".
    pub prefixes: Vec<String>,
    pub increment: Increment,
    pub connection_fee: Decimal,
    pub minimum_charge: Decimal,
    /// Per-minute rate by band code; every band of the plan needs one.
    pub rates: Vec<(String, Decimal)>,
}

/// One call detail record as rating needs it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// E.164 digits, with or without a leading "+".
    pub number: &'a str,
    pub start: Timestamp,
    pub duration_seconds: i64,
}

/// A rated call: which destination and band (indexes into the plan), what was billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatedCall {
    pub destination: usize,
    pub band: usize,
    pub billed_seconds: u64,
    pub charge: Money,
}

/// Why a call could not be rated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoiceError {
    #[error("no destination prefix matches number {0}")]
    NoDestination(String),
    #[error("number {0:?} is not E.164 digits")]
    InvalidNumber(String),
    #[error("duration must not be negative, got {0} seconds")]
    NegativeDuration(i64),
    #[error("charge out of range")]
    Arithmetic,
}

/// What is wrong with a plan, at `path` (e.g. `destinations[2].prefixes[0]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct VoicePlanError {
    pub path: String,
    pub problem: VoiceProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoiceProblem {
    #[error("must have at least one element")]
    Empty,
    #[error("at most 255 bands")]
    TooMany,
    #[error("must be 1 to 15 digits, got {0:?}")]
    NotDigits(String),
    #[error("duplicate code {0:?}")]
    DuplicateCode(String),
    #[error("prefix {prefix} is already used by destination {other}")]
    DuplicatePrefix { prefix: String, other: String },
    #[error("must be greater than zero")]
    NotPositive,
    #[error("must not be negative, got {0}")]
    Negative(Decimal),
    #[error("needs days, and from before to within 00:00–24:00")]
    BadWindow,
    #[error("overlaps another band on {0} at {1}")]
    Overlap(String, String),
    #[error("the week is not covered: nothing on {0} at {1}")]
    Gap(String, String),
    #[error("unknown band {0:?}")]
    UnknownBand(String),
    #[error("no rate for band {0:?}")]
    MissingRate(String),
}

impl VoiceProblem {
    /// A stable machine-readable code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            VoiceProblem::Empty => "empty",
            VoiceProblem::TooMany => "too_many",
            VoiceProblem::NotDigits(_) => "invalid_prefix",
            VoiceProblem::DuplicateCode(_) => "duplicate_code",
            VoiceProblem::DuplicatePrefix { .. } => "duplicate_prefix",
            VoiceProblem::NotPositive => "not_positive",
            VoiceProblem::Negative(_) => "negative",
            VoiceProblem::BadWindow => "invalid_window",
            VoiceProblem::Overlap(..) => "bands_overlap",
            VoiceProblem::Gap(..) => "bands_gap",
            VoiceProblem::UnknownBand(_) => "unknown_band",
            VoiceProblem::MissingRate(_) => "missing_rate",
        }
    }
}

/// A validated voice rating plan, indexed for rating: build it once, rate many calls.
#[derive(Debug, Clone)]
pub struct VoicePlan {
    currency: Currency,
    bands: Vec<TimeBand>,
    destinations: Vec<Destination>,
    trie: PrefixTrie,
    week: Week,
    /// Per-minute rate of destination `d` in band `b` at `d * bands.len() + b`.
    rates: Vec<Decimal>,
}

impl VoicePlan {
    /// Checks the whole plan and reports every problem found.
    pub fn new(
        currency: Currency,
        bands: Vec<TimeBand>,
        destinations: Vec<Destination>,
    ) -> Result<VoicePlan, Vec<VoicePlanError>> {
        let mut problems = Vec::new();
        let mut push = |path: String, problem| problems.push(VoicePlanError { path, problem });
        if bands.is_empty() {
            push("bands".into(), VoiceProblem::Empty);
        }
        if bands.len() > 255 {
            push("bands".into(), VoiceProblem::TooMany);
        }
        if destinations.is_empty() {
            push("destinations".into(), VoiceProblem::Empty);
        }
        for (i, band) in bands.iter().enumerate() {
            if bands[..i].iter().any(|b| b.code == band.code) {
                push(
                    format!("bands[{i}].code"),
                    VoiceProblem::DuplicateCode(band.code.clone()),
                );
            }
            if band.windows.is_empty() {
                push(format!("bands[{i}].windows"), VoiceProblem::Empty);
            }
        }
        let week = if bands.is_empty() || bands.len() > 255 {
            None
        } else {
            match Week::new(&bands) {
                Ok(week) => Some(week),
                Err(found) => {
                    for p in found {
                        let (path, problem) = week_problem(p);
                        push(path, problem);
                    }
                    None
                }
            }
        };

        let mut trie = PrefixTrie::new();
        let mut rates = vec![Decimal::ZERO; destinations.len() * bands.len()];
        for (d, dest) in destinations.iter().enumerate() {
            let at = |field: &str| format!("destinations[{d}].{field}");
            if destinations[..d].iter().any(|o| o.code == dest.code) {
                push(at("code"), VoiceProblem::DuplicateCode(dest.code.clone()));
            }
            if dest.prefixes.is_empty() {
                push(at("prefixes"), VoiceProblem::Empty);
            }
            for (p, prefix) in dest.prefixes.iter().enumerate() {
                let path = format!("destinations[{d}].prefixes[{p}]");
                if !is_digits(prefix) {
                    push(path, VoiceProblem::NotDigits(prefix.clone()));
                } else if let Err(other) = trie.insert(prefix, d as u32) {
                    let other = destinations[other as usize].code.clone();
                    let prefix = prefix.clone();
                    push(path, VoiceProblem::DuplicatePrefix { prefix, other });
                }
            }
            if dest.increment.first == 0 {
                push(at("increment.first"), VoiceProblem::NotPositive);
            }
            if dest.increment.next == 0 {
                push(at("increment.next"), VoiceProblem::NotPositive);
            }
            if dest.connection_fee < Decimal::ZERO {
                push(
                    at("connection_fee"),
                    VoiceProblem::Negative(dest.connection_fee),
                );
            }
            if dest.minimum_charge < Decimal::ZERO {
                push(
                    at("minimum_charge"),
                    VoiceProblem::Negative(dest.minimum_charge),
                );
            }
            for (r, (band, rate)) in dest.rates.iter().enumerate() {
                let path = format!("destinations[{d}].rates[{r}]");
                match bands.iter().position(|b| &b.code == band) {
                    None => push(path, VoiceProblem::UnknownBand(band.clone())),
                    Some(_) if dest.rates[..r].iter().any(|(b, _)| b == band) => {
                        push(path, VoiceProblem::DuplicateCode(band.clone()))
                    }
                    Some(_) if *rate < Decimal::ZERO => push(path, VoiceProblem::Negative(*rate)),
                    Some(b) => rates[d * bands.len() + b] = *rate,
                }
            }
            for band in &bands {
                if !dest.rates.iter().any(|(b, _)| b == &band.code) {
                    push(at("rates"), VoiceProblem::MissingRate(band.code.clone()));
                }
            }
        }
        match week {
            Some(week) if problems.is_empty() => Ok(VoicePlan {
                currency,
                bands,
                destinations,
                trie,
                week,
                rates,
            }),
            _ => Err(problems),
        }
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn bands(&self) -> &[TimeBand] {
        &self.bands
    }

    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// Rates one call; `tz` is the account's time zone, which decides the band.
    pub fn rate(&self, call: &Call<'_>, tz: &TimeZone) -> Result<RatedCall, VoiceError> {
        let duration = u64::try_from(call.duration_seconds)
            .map_err(|_| VoiceError::NegativeDuration(call.duration_seconds))?;
        let digits = call.number.strip_prefix('+').unwrap_or(call.number);
        if !is_digits(digits) {
            return Err(VoiceError::InvalidNumber(call.number.to_owned()));
        }
        let destination =
            self.trie
                .longest_match(digits.as_bytes())
                .ok_or_else(|| VoiceError::NoDestination(digits.to_owned()))? as usize;
        let band = self.week.band_at(tz.to_datetime(call.start));
        let dest = &self.destinations[destination];
        let billed_seconds = dest.increment.billed_seconds(duration);
        let charge = if billed_seconds == 0 {
            Money::zero(self.currency)
        } else {
            let rate = self.rates[destination * self.bands.len() + band];
            let usage = rate
                .checked_mul(Decimal::from(billed_seconds))
                .and_then(|v| v.checked_div(Decimal::from(60)))
                .ok_or(VoiceError::Arithmetic)?;
            let full = dest
                .connection_fee
                .checked_add(usage)
                .ok_or(VoiceError::Arithmetic)?
                .max(dest.minimum_charge);
            Money::from_decimal(full, self.currency).map_err(|_| VoiceError::Arithmetic)?
        };
        Ok(RatedCall {
            destination,
            band,
            billed_seconds,
            charge,
        })
    }
}

/// 1 to 15 ASCII digits: the E.164 maximum length.
fn is_digits(s: &str) -> bool {
    (1..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn week_problem(p: WeekProblem) -> (String, VoiceProblem) {
    let clock = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    match p {
        WeekProblem::BadWindow(b, w) => {
            (format!("bands[{b}].windows[{w}]"), VoiceProblem::BadWindow)
        }
        WeekProblem::Overlap(b, w, day, minute) => (
            format!("bands[{b}].windows[{w}]"),
            VoiceProblem::Overlap(format!("{day:?}"), clock(minute)),
        ),
        WeekProblem::Gap(day, minute) => (
            "bands".into(),
            VoiceProblem::Gap(format!("{day:?}"), clock(minute)),
        ),
    }
}
