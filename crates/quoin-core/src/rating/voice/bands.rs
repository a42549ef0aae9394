//! Time bands: which band a call belongs to from the weekday and local time it starts.
//!
//! The week is a table of 7 × 1,440 minutes, each naming one band, so a lookup is an index
//! and validation can prove every minute is covered exactly once. A window is half-open,
//! `[from, to)`: a call starting exactly at a boundary belongs to the band that *starts*
//! there (08:00:00 is peak when peak is 08:00–19:00; 07:59:59 is still off-peak).

use jiff::civil::{DateTime, Weekday};

pub(crate) const MINUTES_PER_DAY: u16 = 1_440;
const WEEK: usize = 7 * MINUTES_PER_DAY as usize;
const UNSET: u8 = u8::MAX;

/// A set of weekdays, Monday = bit 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Weekdays(u8);

impl Weekdays {
    pub const WEEKDAYS: Weekdays = Weekdays(0b0001_1111);
    pub const WEEKEND: Weekdays = Weekdays(0b0110_0000);
    pub const ALL: Weekdays = Weekdays(0b0111_1111);

    pub fn with(self, day: Weekday) -> Weekdays {
        Weekdays(self.0 | 1 << day.to_monday_zero_offset())
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & 1 << day.to_monday_zero_offset() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<Weekday> for Weekdays {
    fn from_iter<I: IntoIterator<Item = Weekday>>(days: I) -> Self {
        days.into_iter().fold(Weekdays::default(), Weekdays::with)
    }
}

/// Part of a band: on `days`, from minute `from` (inclusive) to minute `to` (exclusive) of
/// the local day; `to` may be 1,440 (24:00). A band that runs past midnight is two windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandWindow {
    pub days: Weekdays,
    pub from: u16,
    pub to: u16,
}

impl BandWindow {
    /// Hours and minutes, e.g. `BandWindow::hm(Weekdays::WEEKDAYS, (8, 0), (19, 0))`.
    pub fn hm(days: Weekdays, from: (u16, u16), to: (u16, u16)) -> BandWindow {
        BandWindow {
            days,
            from: from.0 * 60 + from.1,
            to: to.0 * 60 + to.1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeBand {
    pub code: String,
    pub windows: Vec<BandWindow>,
}

/// Why the bands do not tile the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WeekProblem {
    /// `(band, window)` has no days, or `from`/`to` out of order or past 24:00.
    BadWindow(usize, usize),
    /// `(band, window)` overlaps an earlier band's window at this weekday and minute.
    Overlap(usize, usize, Weekday, u16),
    /// Nothing covers this weekday and minute.
    Gap(Weekday, u16),
}

#[derive(Debug, Clone)]
pub(crate) struct Week {
    band_at: Box<[u8; WEEK]>,
}

impl Week {
    /// At most 255 bands (checked by the caller); every minute must be covered once.
    pub(crate) fn new(bands: &[TimeBand]) -> Result<Week, Vec<WeekProblem>> {
        let mut band_at = Box::new([UNSET; WEEK]);
        let mut problems = Vec::new();
        for (b, band) in bands.iter().enumerate() {
            for (w, window) in band.windows.iter().enumerate() {
                if window.days.is_empty() || window.from >= window.to || window.to > MINUTES_PER_DAY
                {
                    problems.push(WeekProblem::BadWindow(b, w));
                    continue;
                }
                // One report per window: the first overlapping minute is enough to find it.
                'days: for day in 0..7i8 {
                    let weekday = Weekday::from_monday_zero_offset(day).expect("0..7");
                    if !window.days.contains(weekday) {
                        continue;
                    }
                    for minute in window.from..window.to {
                        let slot = &mut band_at[index(day, minute)];
                        if *slot == UNSET {
                            *slot = b as u8;
                        } else {
                            problems.push(WeekProblem::Overlap(b, w, weekday, minute));
                            break 'days;
                        }
                    }
                }
            }
        }
        if problems.is_empty() {
            if let Some(i) = band_at.iter().position(|&b| b == UNSET) {
                let day = (i / usize::from(MINUTES_PER_DAY)) as i8;
                let weekday = Weekday::from_monday_zero_offset(day).expect("0..7");
                problems.push(WeekProblem::Gap(weekday, (i % 1440) as u16));
            }
        }
        if problems.is_empty() {
            Ok(Week { band_at })
        } else {
            Err(problems)
        }
    }

    /// The band of a call starting at this local date-time.
    pub(crate) fn band_at(&self, local: DateTime) -> usize {
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        usize::from(self.band_at[index(local.weekday().to_monday_zero_offset(), minute)])
    }
}

fn index(day: i8, minute: u16) -> usize {
    day as usize * usize::from(MINUTES_PER_DAY) + usize::from(minute)
}
