//! Billing calendar: periods, bill cycle days, alignment and proration.
//!
//! All dates here are civil dates in the account's time zone; turning an instant into
//! such a date happens once, in [`local_date`]. Periods are half-open `[start, end)`.
//! Boundaries of month-based cycles are computed from the anchor every time (never from
//! the previous boundary), so an anchor of 31 goes Jan 31 → Feb 28/29 → Mar 31 without drift.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("bill cycle day must be between 1 and 31, got {0}")]
    BillCycleDay(i64),
    #[error("unknown billing period `{0}` (expected day, week, month, quarter, half_year, year or N_days/N_weeks/N_months)")]
    UnknownPeriod(String),
    #[error("billing period count must be between 1 and 120, got {0}")]
    PeriodCount(i64),
    #[error("period {start} → {end} is empty or reversed")]
    EmptyPeriod { start: Date, end: Date },
    #[error("partial period {part_start} → {part_end} is not inside {full_start} → {full_end}")]
    NotInside {
        part_start: Date,
        part_end: Date,
        full_start: Date,
        full_end: Date,
    },
    #[error("date out of the supported range")]
    OutOfRange,
}

/// Day of the month on which month-based cycles renew; clamped to the month's last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BillCycleDay(u8);

impl BillCycleDay {
    pub fn new(day: i64) -> Result<Self, CalendarError> {
        match u8::try_from(day) {
            Ok(d @ 1..=31) => Ok(Self(d)),
            _ => Err(CalendarError::BillCycleDay(day)),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// The day this cycle day falls on in the given month (31 → 30, 29 or 28 where needed).
    pub fn in_month(self, year: i16, month: i8) -> Result<Date, CalendarError> {
        let first = Date::new(year, month, 1).map_err(|_| CalendarError::OutOfRange)?;
        let day = i8::try_from(self.0)
            .unwrap_or(31)
            .min(first.days_in_month());
        Date::new(year, month, day).map_err(|_| CalendarError::OutOfRange)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodUnit {
    Day,
    Week,
    Month,
}

/// A recurring period: N days, N weeks or N months (quarter = 3, half-year = 6, year = 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BillingPeriod {
    unit: PeriodUnit,
    count: u32,
}

impl BillingPeriod {
    pub const DAY: Self = Self::of(PeriodUnit::Day, 1);
    pub const WEEK: Self = Self::of(PeriodUnit::Week, 1);
    pub const MONTH: Self = Self::of(PeriodUnit::Month, 1);
    pub const QUARTER: Self = Self::of(PeriodUnit::Month, 3);
    pub const HALF_YEAR: Self = Self::of(PeriodUnit::Month, 6);
    pub const YEAR: Self = Self::of(PeriodUnit::Month, 12);

    const fn of(unit: PeriodUnit, count: u32) -> Self {
        Self { unit, count }
    }

    pub fn new(unit: PeriodUnit, count: i64) -> Result<Self, CalendarError> {
        match u32::try_from(count) {
            Ok(c @ 1..=120) => Ok(Self::of(unit, c)),
            _ => Err(CalendarError::PeriodCount(count)),
        }
    }

    /// Parses the canonical codes produced by [`BillingPeriod::code`].
    pub fn parse(code: &str) -> Result<Self, CalendarError> {
        let named = match code {
            "day" => Some(Self::DAY),
            "week" => Some(Self::WEEK),
            "month" => Some(Self::MONTH),
            "quarter" => Some(Self::QUARTER),
            "half_year" => Some(Self::HALF_YEAR),
            "year" => Some(Self::YEAR),
            _ => None,
        };
        if let Some(p) = named {
            return Ok(p);
        }
        let unknown = || CalendarError::UnknownPeriod(code.to_string());
        let (n, unit) = code.split_once('_').ok_or_else(unknown)?;
        let unit = match unit {
            "days" => PeriodUnit::Day,
            "weeks" => PeriodUnit::Week,
            "months" => PeriodUnit::Month,
            _ => return Err(unknown()),
        };
        let n: i64 = n.parse().map_err(|_| unknown())?;
        Self::new(unit, n)
    }

    pub fn code(&self) -> String {
        match (self.unit, self.count) {
            (PeriodUnit::Day, 1) => "day".into(),
            (PeriodUnit::Week, 1) => "week".into(),
            (PeriodUnit::Month, 1) => "month".into(),
            (PeriodUnit::Month, 3) => "quarter".into(),
            (PeriodUnit::Month, 6) => "half_year".into(),
            (PeriodUnit::Month, 12) => "year".into(),
            (PeriodUnit::Day, n) => format!("{n}_days"),
            (PeriodUnit::Week, n) => format!("{n}_weeks"),
            (PeriodUnit::Month, n) => format!("{n}_months"),
        }
    }

    pub fn unit(&self) -> PeriodUnit {
        self.unit
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    fn fixed_days(&self) -> Option<i64> {
        match self.unit {
            PeriodUnit::Day => Some(i64::from(self.count)),
            PeriodUnit::Week => Some(7 * i64::from(self.count)),
            PeriodUnit::Month => None,
        }
    }
}

/// How a subscription's periods line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alignment {
    /// Each subscription renews on the date it started.
    Anniversary,
    /// All subscriptions of an account renew on its bill cycle day; quarters, half-years and
    /// years start in January (shifted to the cycle day), weeks on Monday.
    Calendar,
}

impl Alignment {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "anniversary" => Some(Self::Anniversary),
            "calendar" => Some(Self::Calendar),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Anniversary => "anniversary",
            Self::Calendar => "calendar",
        }
    }
}

/// A half-open date range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub start: Date,
    pub end: Date,
}

impl Period {
    pub fn new(start: Date, end: Date) -> Result<Self, CalendarError> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(CalendarError::EmptyPeriod { start, end })
        }
    }

    pub fn days(&self) -> i64 {
        days_between(self.start, self.end)
    }

    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date < self.end
    }
}

/// Days from `a` to `b` (negative when `b` is earlier).
pub fn days_between(a: Date, b: Date) -> i64 {
    a.duration_until(b).as_secs() / 86_400
}

/// The calendar date of an instant in a time zone. The one place where instants
/// (events, activations, the clock) become billing dates; DST-correct via jiff.
pub fn local_date(at: Timestamp, tz: &TimeZone) -> Date {
    at.to_zoned(tz.clone()).date()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Anchor {
    /// Boundaries on `day` in every month whose index (year*12 + month-1) is congruent to
    /// `month_index` modulo the period's month count.
    Month { month_index: i64, day: BillCycleDay },
    /// Boundaries every N days counted from `reference`.
    Days { reference: Date },
}

/// A recurring period pinned to an anchor: it knows every boundary on the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cycle {
    period: BillingPeriod,
    anchor: Anchor,
}

fn month_index(d: Date) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month()) - 1
}

impl Cycle {
    /// Renews on the subscription's own start date.
    pub fn anniversary(period: BillingPeriod, start: Date) -> Self {
        let anchor = match period.unit {
            PeriodUnit::Month => Anchor::Month {
                month_index: month_index(start),
                day: BillCycleDay(u8::try_from(start.day()).unwrap_or(1)),
            },
            _ => Anchor::Days { reference: start },
        };
        Self { period, anchor }
    }

    /// Renews on the account's bill cycle day. Month counts that divide a year start in
    /// January; others are counted from `start`'s month. Weeks start on Monday.
    pub fn calendar(period: BillingPeriod, bcd: BillCycleDay, start: Date) -> Self {
        let anchor = match period.unit {
            PeriodUnit::Month if 12 % period.count == 0 => Anchor::Month {
                month_index: 0,
                day: bcd,
            },
            PeriodUnit::Month => Anchor::Month {
                month_index: month_index(start),
                day: bcd,
            },
            PeriodUnit::Week => {
                let back = i64::from(start.weekday().to_monday_zero_offset());
                Anchor::Days {
                    reference: Self::add_days(start, -back).unwrap_or(start),
                }
            }
            PeriodUnit::Day => Anchor::Days { reference: start },
        };
        Self { period, anchor }
    }

    pub fn for_alignment(
        alignment: Alignment,
        period: BillingPeriod,
        bcd: BillCycleDay,
        start: Date,
    ) -> Self {
        match alignment {
            Alignment::Anniversary => Self::anniversary(period, start),
            Alignment::Calendar => Self::calendar(period, bcd, start),
        }
    }

    pub fn period(&self) -> BillingPeriod {
        self.period
    }

    fn month_boundary(index: i64, day: BillCycleDay) -> Result<Date, CalendarError> {
        let year = i16::try_from(index.div_euclid(12)).map_err(|_| CalendarError::OutOfRange)?;
        let month =
            i8::try_from(index.rem_euclid(12) + 1).map_err(|_| CalendarError::OutOfRange)?;
        day.in_month(year, month)
    }

    fn add_days(date: Date, days: i64) -> Result<Date, CalendarError> {
        date.checked_add(jiff::Span::new().days(days))
            .map_err(|_| CalendarError::OutOfRange)
    }

    /// The latest boundary on or before `date`.
    pub fn boundary_on_or_before(&self, date: Date) -> Result<Date, CalendarError> {
        match self.anchor {
            Anchor::Month {
                month_index: r,
                day,
            } => {
                let n = i64::from(self.period.count);
                let k = month_index(date);
                let mut idx = k - (k - r).rem_euclid(n);
                let mut b = Self::month_boundary(idx, day)?;
                if b > date {
                    idx -= n;
                    b = Self::month_boundary(idx, day)?;
                }
                Ok(b)
            }
            Anchor::Days { reference } => {
                let len = self.period.fixed_days().unwrap_or(1);
                let offset = days_between(reference, date).rem_euclid(len);
                Self::add_days(date, -offset)
            }
        }
    }

    /// The earliest boundary strictly after `date`.
    pub fn next_boundary(&self, date: Date) -> Result<Date, CalendarError> {
        let start = self.boundary_on_or_before(date)?;
        match self.anchor {
            Anchor::Month { day, .. } => {
                Self::month_boundary(month_index(start) + i64::from(self.period.count), day)
            }
            Anchor::Days { .. } => Self::add_days(start, self.period.fixed_days().unwrap_or(1)),
        }
    }

    /// The full cycle period that contains `date`.
    pub fn period_containing(&self, date: Date) -> Result<Period, CalendarError> {
        let start = self.boundary_on_or_before(date)?;
        Period::new(start, self.next_boundary(date)?)
    }

    pub fn is_boundary(&self, date: Date) -> Result<bool, CalendarError> {
        Ok(self.boundary_on_or_before(date)? == date)
    }

    /// Service periods from `start` on: a leading partial period up to the first boundary
    /// (when `start` is not one), then full periods. Never ends; take what you need.
    pub fn charge_periods(&self, start: Date) -> ChargePeriods {
        ChargePeriods {
            cycle: *self,
            next: Some(start),
        }
    }

    /// Proration factor of `part` within the full period `full` under `convention`.
    /// Day- and week-based cycles always count actual days (30/360 only makes sense for months).
    pub fn proration(
        &self,
        part: Period,
        full: Period,
        convention: ProrationConvention,
    ) -> Result<ProrationFactor, CalendarError> {
        let convention = match self.period.unit {
            PeriodUnit::Month => convention,
            _ => ProrationConvention::ActualDays,
        };
        proration_factor(part, full, convention)
    }
}

/// One service period to charge: `service` is the part served, `full` the cycle period it
/// belongs to (equal when the period is whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargePeriod {
    pub service: Period,
    pub full: Period,
}

impl ChargePeriod {
    pub fn is_partial(&self) -> bool {
        self.service != self.full
    }
}

/// Iterator over [`ChargePeriod`]s; stops only when dates run out of range.
#[derive(Debug, Clone)]
pub struct ChargePeriods {
    cycle: Cycle,
    next: Option<Date>,
}

impl Iterator for ChargePeriods {
    type Item = ChargePeriod;

    fn next(&mut self) -> Option<ChargePeriod> {
        let start = self.next?;
        let full = self.cycle.period_containing(start).ok()?;
        let service = Period::new(start, full.end).ok()?;
        self.next = Some(full.end);
        Some(ChargePeriod { service, full })
    }
}

/// How partial periods are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProrationConvention {
    /// Days served over the days of the surrounding billing period (Kill Bill's default).
    #[default]
    ActualDays,
    /// 30E/360 day count: each month counts as 30 days and the 31st as the 30th; the factor is
    /// the 30/360 days served over the 30/360 days of the surrounding period.
    Thirty360,
}

impl ProrationConvention {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "actual_days" => Some(Self::ActualDays),
            "thirty_360" => Some(Self::Thirty360),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::ActualDays => "actual_days",
            Self::Thirty360 => "thirty_360",
        }
    }
}

fn days_30e360(a: Date, b: Date) -> i64 {
    let f = |d: Date| {
        i64::from(d.year()) * 360 + i64::from(d.month()) * 30 + i64::from(d.day()).min(30)
    };
    f(b) - f(a)
}

/// An exact fraction of a period, kept as a ratio so that the factors of a split period
/// sum to exactly one; money is multiplied by it and rounded once, at the invoice line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProrationFactor {
    numerator: i64,
    denominator: i64,
}

impl ProrationFactor {
    pub const FULL: Self = Self {
        numerator: 1,
        denominator: 1,
    };

    pub fn numerator(&self) -> i64 {
        self.numerator
    }

    pub fn denominator(&self) -> i64 {
        self.denominator
    }

    pub fn is_full(&self) -> bool {
        self.numerator == self.denominator
    }

    /// `amount × numerator / denominator`, multiplying first so the only rounding is
    /// Decimal's 28th significant digit; the caller rounds the result once to the currency.
    /// `None` when the product overflows Decimal's range.
    pub fn apply(&self, amount: Decimal) -> Option<Decimal> {
        if self.is_full() {
            return Some(amount);
        }
        amount
            .checked_mul(Decimal::from(self.numerator))?
            .checked_div(Decimal::from(self.denominator))
    }

    /// The factor as a decimal, for display (e.g. 0.2903225806451612903225806452).
    pub fn to_decimal(&self) -> Decimal {
        Decimal::from(self.numerator) / Decimal::from(self.denominator)
    }
}

/// The share of `full` that `part` covers. `part` must lie inside `full`.
pub fn proration_factor(
    part: Period,
    full: Period,
    convention: ProrationConvention,
) -> Result<ProrationFactor, CalendarError> {
    if part.start < full.start || part.end > full.end {
        return Err(CalendarError::NotInside {
            part_start: part.start,
            part_end: part.end,
            full_start: full.start,
            full_end: full.end,
        });
    }
    if part == full {
        return Ok(ProrationFactor::FULL);
    }
    let (numerator, denominator) = match convention {
        ProrationConvention::ActualDays => (part.days(), full.days()),
        ProrationConvention::Thirty360 => (
            days_30e360(part.start, part.end),
            days_30e360(full.start, full.end),
        ),
    };
    if denominator <= 0 {
        return Err(CalendarError::EmptyPeriod {
            start: full.start,
            end: full.end,
        });
    }
    Ok(ProrationFactor {
        numerator,
        denominator,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn bcd(d: i64) -> BillCycleDay {
        BillCycleDay::new(d).unwrap()
    }

    #[test]
    fn bill_cycle_day_range() {
        assert_eq!(BillCycleDay::new(0), Err(CalendarError::BillCycleDay(0)));
        assert_eq!(BillCycleDay::new(32), Err(CalendarError::BillCycleDay(32)));
        assert_eq!(bcd(31).in_month(2024, 2).unwrap(), date(2024, 2, 29));
        assert_eq!(bcd(31).in_month(2023, 2).unwrap(), date(2023, 2, 28));
        assert_eq!(bcd(31).in_month(2023, 4).unwrap(), date(2023, 4, 30));
    }

    #[test]
    fn anchor_31_clamps_and_recovers() {
        let c = Cycle::calendar(BillingPeriod::MONTH, bcd(31), date(2024, 1, 31));
        let starts: Vec<Date> = c
            .charge_periods(date(2024, 1, 31))
            .take(4)
            .map(|p| p.service.start)
            .collect();
        assert_eq!(
            starts,
            vec![
                date(2024, 1, 31),
                date(2024, 2, 29),
                date(2024, 3, 31),
                date(2024, 4, 30)
            ]
        );
    }

    #[test]
    fn kill_bill_b1_leading_proration() {
        // BCD 25, start 2021-09-16: partial 09-16 → 09-25 inside 08-25 → 09-25 (31 days).
        let c = Cycle::calendar(BillingPeriod::MONTH, bcd(25), date(2021, 9, 16));
        let first = c.charge_periods(date(2021, 9, 16)).next().unwrap();
        assert_eq!(
            first.service,
            Period::new(date(2021, 9, 16), date(2021, 9, 25)).unwrap()
        );
        assert_eq!(
            first.full,
            Period::new(date(2021, 8, 25), date(2021, 9, 25)).unwrap()
        );
        let f = c
            .proration(first.service, first.full, ProrationConvention::ActualDays)
            .unwrap();
        assert_eq!((f.numerator(), f.denominator()), (9, 31));
        // 09-30 with BCD 25: 25/30.
        let p = c.charge_periods(date(2021, 9, 30)).next().unwrap();
        let f = c
            .proration(p.service, p.full, ProrationConvention::ActualDays)
            .unwrap();
        assert_eq!((f.numerator(), f.denominator()), (25, 30));
    }

    #[test]
    fn kill_bill_b6_fixed_days() {
        let c = Cycle::calendar(BillingPeriod::MONTH, bcd(23), date(2023, 5, 15));
        let p = c.charge_periods(date(2023, 5, 15)).next().unwrap();
        let f = c
            .proration(p.service, p.full, ProrationConvention::Thirty360)
            .unwrap();
        assert_eq!((f.numerator(), f.denominator()), (8, 30));
        let c = Cycle::calendar(BillingPeriod::MONTH, bcd(15), date(2023, 5, 23));
        let p = c.charge_periods(date(2023, 5, 23)).next().unwrap();
        assert_eq!(p.service.days(), 23);
        let f = c
            .proration(p.service, p.full, ProrationConvention::Thirty360)
            .unwrap();
        assert_eq!((f.numerator(), f.denominator()), (22, 30));
    }

    #[test]
    fn calendar_quarters_and_years_start_in_january() {
        let q = Cycle::calendar(BillingPeriod::QUARTER, bcd(1), date(2024, 5, 20));
        assert_eq!(
            q.period_containing(date(2024, 5, 20)).unwrap(),
            Period::new(date(2024, 4, 1), date(2024, 7, 1)).unwrap()
        );
        let y = Cycle::calendar(BillingPeriod::YEAR, bcd(1), date(2024, 5, 20));
        assert_eq!(
            y.period_containing(date(2024, 5, 20)).unwrap(),
            Period::new(date(2024, 1, 1), date(2025, 1, 1)).unwrap()
        );
        // Lago B9: the 2024 Q2 quarter has 91 days.
        assert_eq!(q.period_containing(date(2024, 6, 20)).unwrap().days(), 91);
    }

    #[test]
    fn anniversary_year_spans_leap_day() {
        let y = Cycle::anniversary(BillingPeriod::YEAR, date(2023, 9, 28));
        let p = y.period_containing(date(2023, 9, 28)).unwrap();
        assert_eq!(
            p,
            Period::new(date(2023, 9, 28), date(2024, 9, 28)).unwrap()
        );
        assert_eq!(p.days(), 366);
    }

    #[test]
    fn weeks_start_on_monday_in_calendar_alignment() {
        let w = Cycle::calendar(BillingPeriod::WEEK, bcd(1), date(2024, 5, 22));
        let p = w.period_containing(date(2024, 5, 22)).unwrap();
        assert_eq!(
            p,
            Period::new(date(2024, 5, 20), date(2024, 5, 27)).unwrap()
        );
    }

    #[test]
    fn period_codes_round_trip() {
        for code in [
            "day",
            "week",
            "month",
            "quarter",
            "half_year",
            "year",
            "2_months",
            "10_days",
            "2_weeks",
        ] {
            assert_eq!(BillingPeriod::parse(code).unwrap().code(), code);
        }
        assert!(BillingPeriod::parse("fortnight").is_err());
        assert_eq!(
            BillingPeriod::parse("0_months"),
            Err(CalendarError::PeriodCount(0))
        );
        assert_eq!(
            BillingPeriod::parse("3_months").unwrap(),
            BillingPeriod::QUARTER
        );
    }

    #[test]
    fn local_date_crosses_midnight_by_zone() {
        let at: Timestamp = "2021-09-16T02:30:00Z".parse().unwrap();
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(local_date(at, &ny), date(2021, 9, 15));
        assert_eq!(local_date(at, &TimeZone::UTC), date(2021, 9, 16));
    }

    #[test]
    fn factor_outside_full_period_is_rejected() {
        let full = Period::new(date(2021, 9, 1), date(2021, 10, 1)).unwrap();
        let part = Period::new(date(2021, 8, 31), date(2021, 9, 2)).unwrap();
        assert!(matches!(
            proration_factor(part, full, ProrationConvention::ActualDays),
            Err(CalendarError::NotInside { .. })
        ));
    }
}
