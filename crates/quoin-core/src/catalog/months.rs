//! Month arithmetic anchored on a day of the month, shared by contract terms and phases.
//!
//! Every boundary is computed from the anchor (never from the previous boundary), so a
//! term started on the 31st goes Jan 31 → Feb 29 → Mar 31 without drifting to the 29th.

use jiff::civil::Date;

use crate::calendar::CalendarError;

fn month_index(d: Date) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month()) - 1
}

/// `day` (clamped to the month's length) in the month `months` after `from`'s month.
pub(crate) fn months_after(from: Date, months: i64, day: i8) -> Result<Date, CalendarError> {
    let index = month_index(from)
        .checked_add(months)
        .ok_or(CalendarError::OutOfRange)?;
    let year = i16::try_from(index.div_euclid(12)).map_err(|_| CalendarError::OutOfRange)?;
    let month = i8::try_from(index.rem_euclid(12) + 1).map_err(|_| CalendarError::OutOfRange)?;
    let first = Date::new(year, month, 1).map_err(|_| CalendarError::OutOfRange)?;
    Date::new(year, month, day.clamp(1, first.days_in_month()))
        .map_err(|_| CalendarError::OutOfRange)
}

/// How many whole months anchored on `day` lie between `start` and `date`: the greatest
/// `k >= 0` with `months_after(start, k, day) <= date` (0 when `date` is before `start`).
pub(crate) fn whole_months(start: Date, day: i8, date: Date) -> i64 {
    let k = month_index(date) - month_index(start);
    // The k-th boundary falls in `date`'s month, so it always exists.
    match months_after(start, k, day) {
        Ok(boundary) if boundary > date => (k - 1).max(0),
        _ => k.max(0),
    }
}
