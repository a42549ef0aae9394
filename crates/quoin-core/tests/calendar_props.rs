//! Property tests of the billing calendar: periods tile, boundaries sit on the cycle day,
//! and the proration factors of a split period sum to exactly one.

use jiff::civil::{date, Date};
use jiff::Span;
use proptest::prelude::*;
use quoin_core::calendar::{
    Alignment, BillCycleDay, BillingPeriod, Cycle, Period, PeriodUnit, ProrationConvention,
};

fn periods() -> Vec<BillingPeriod> {
    let mut v = vec![
        BillingPeriod::DAY,
        BillingPeriod::WEEK,
        BillingPeriod::MONTH,
        BillingPeriod::QUARTER,
        BillingPeriod::HALF_YEAR,
        BillingPeriod::YEAR,
    ];
    for n in [2, 4, 5, 7, 18] {
        v.push(BillingPeriod::new(PeriodUnit::Month, n).unwrap());
    }
    v.push(BillingPeriod::new(PeriodUnit::Week, 2).unwrap());
    v.push(BillingPeriod::new(PeriodUnit::Day, 10).unwrap());
    v
}

fn start_date() -> impl Strategy<Value = Date> {
    (0i64..(365 * 30)).prop_map(|d| date(2000, 1, 1).checked_add(Span::new().days(d)).unwrap())
}

/// Every anchor day and every period kind, in both alignments: ten years of consecutive
/// periods leave no gap and no overlap, and month-based boundaries sit on the cycle day.
#[test]
fn periods_tile_for_every_anchor_and_kind() {
    let start = date(2023, 1, 17);
    for day in 1..=31 {
        let bcd = BillCycleDay::new(day).unwrap();
        for period in periods() {
            for alignment in [Alignment::Anniversary, Alignment::Calendar] {
                let anchor_start = date(2023, 1, i8::try_from(day.min(31)).unwrap());
                let cycle = Cycle::for_alignment(alignment, period, bcd, anchor_start);
                let ten_years = date(2033, 1, 17);
                let mut prev: Option<Period> = None;
                for cp in cycle.charge_periods(start) {
                    assert!(cp.service.start < cp.service.end);
                    assert!(cp.full.contains(cp.service.start));
                    assert_eq!(cp.service.end, cp.full.end);
                    if let Some(p) = prev {
                        assert_eq!(
                            p.end, cp.service.start,
                            "gap or overlap at {period:?} day {day}"
                        );
                        assert!(!cp.is_partial());
                    }
                    if period.unit() == PeriodUnit::Month && prev.is_some() {
                        let s = cp.service.start;
                        let want = bcd_day(alignment, day, anchor_start);
                        let expected = i8::try_from(want).unwrap().min(s.days_in_month());
                        assert_eq!(s.day(), expected, "{period:?} {alignment:?} day {day}: {s}");
                    }
                    prev = Some(cp.service);
                    if cp.service.end > ten_years {
                        break;
                    }
                }
            }
        }
    }
}

fn bcd_day(alignment: Alignment, day: i64, anchor_start: Date) -> i64 {
    match alignment {
        Alignment::Calendar => day,
        Alignment::Anniversary => i64::from(anchor_start.day()),
    }
}

proptest! {
    /// From any start date, consecutive periods tile and each full period contains its start.
    #[test]
    fn charge_periods_tile_from_any_start(
        start in start_date(),
        anchor in start_date(),
        day in 1i64..=31,
        kind in 0usize..13,
        calendar in any::<bool>(),
    ) {
        let period = periods()[kind];
        let alignment = if calendar { Alignment::Calendar } else { Alignment::Anniversary };
        let cycle = Cycle::for_alignment(alignment, period, BillCycleDay::new(day).unwrap(), anchor);
        let mut it = cycle.charge_periods(start);
        let first = it.next().unwrap();
        prop_assert_eq!(first.service.start, start);
        let mut end = first.service.end;
        for cp in it.take(40) {
            prop_assert_eq!(cp.service.start, end);
            prop_assert_eq!(cp.service, cp.full);
            end = cp.service.end;
        }
    }

    /// Splitting a full period at arbitrary dates gives factors that sum to exactly one,
    /// under both conventions.
    #[test]
    fn split_factors_sum_to_one(
        at in start_date(),
        day in 1i64..=31,
        kind in 0usize..13,
        cuts in proptest::collection::vec(0i64..400, 0..6),
        thirty in any::<bool>(),
    ) {
        let period = periods()[kind];
        let cycle = Cycle::calendar(period, BillCycleDay::new(day).unwrap(), at);
        let full = cycle.period_containing(at).unwrap();
        let mut points: Vec<Date> = cuts
            .iter()
            .map(|c| full.start.checked_add(Span::new().days(c % full.days())).unwrap())
            .filter(|d| *d > full.start)
            .collect();
        points.push(full.start);
        points.push(full.end);
        points.sort();
        points.dedup();
        let convention = if thirty { ProrationConvention::Thirty360 } else { ProrationConvention::ActualDays };
        let mut num = 0i64;
        let mut den = None;
        for w in points.windows(2) {
            let part = Period::new(w[0], w[1]).unwrap();
            let f = cycle.proration(part, full, convention).unwrap();
            prop_assert!(f.numerator() >= 0);
            if points.len() == 2 {
                prop_assert!(f.is_full());
                continue;
            }
            match den {
                None => den = Some(f.denominator()),
                Some(d) => prop_assert_eq!(d, f.denominator()),
            }
            num += f.numerator();
        }
        if let Some(d) = den {
            prop_assert_eq!(num, d);
        }
    }
}
