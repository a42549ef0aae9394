//! Price phases: where each phase falls for a subscription, what it charges, and how a
//! plan is checked.

use jiff::civil::{date, Date};
use quoin_core::calendar::{BillingPeriod, Period};
use quoin_core::catalog::{
    effective_unit_amount, phase_at, phase_spans, validate_phases, Adjustment, Phase,
    PhaseDuration, PhaseKind, PhaseSpan,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn d(y: i16, m: i8, day: i8) -> Date {
    date(y, m, day)
}

fn phase(kind: PhaseKind, duration: Option<PhaseDuration>, adjustment: Adjustment) -> Phase {
    Phase {
        kind,
        duration,
        adjustment,
    }
}

fn evergreen(adjustment: Adjustment) -> Phase {
    phase(PhaseKind::Evergreen, None, adjustment)
}

fn span(index: usize, start: Date, end: Option<Date>) -> PhaseSpan {
    PhaseSpan { index, start, end }
}

fn problems(plan: &[Phase]) -> Vec<String> {
    match validate_phases(plan) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

/// 14 days free, then 3 monthly periods at 50% off, then the list price.
fn trial_then_intro() -> Vec<Phase> {
    vec![
        phase(
            PhaseKind::Trial,
            Some(PhaseDuration::Days(14)),
            Adjustment::Free,
        ),
        phase(
            PhaseKind::Introductory,
            Some(PhaseDuration::Periods(3)),
            Adjustment::PercentOff(dec!(50)),
        ),
        evergreen(Adjustment::None),
    ]
}

#[test]
fn trial_then_introductory_then_evergreen() {
    let plan = trial_then_intro();
    assert_eq!(validate_phases(&plan), Ok(()));
    let start = d(2024, 1, 10);
    assert_eq!(
        phase_spans(&plan, start, BillingPeriod::MONTH).unwrap(),
        [
            span(0, d(2024, 1, 10), Some(d(2024, 1, 24))),
            span(1, d(2024, 1, 24), Some(d(2024, 4, 24))),
            span(2, d(2024, 4, 24), None),
        ]
    );

    let base = dec!(40);
    let charged = |on: Date| {
        let active = phase_at(&plan, start, on, BillingPeriod::MONTH)
            .unwrap()
            .unwrap();
        (
            active.index,
            effective_unit_amount(base, plan[active.index].adjustment),
        )
    };
    assert_eq!(charged(d(2024, 1, 10)), (0, dec!(0)));
    assert_eq!(charged(d(2024, 1, 23)), (0, dec!(0)));
    assert_eq!(charged(d(2024, 1, 24)), (1, dec!(20)));
    assert_eq!(charged(d(2024, 4, 23)), (1, dec!(20)));
    assert_eq!(charged(d(2024, 4, 24)), (2, dec!(40)));
    assert_eq!(charged(d(2031, 1, 1)), (2, dec!(40)));
    assert_eq!(
        phase_at(&plan, start, d(2024, 1, 9), BillingPeriod::MONTH),
        Ok(None)
    );

    let trial = phase_at(&plan, start, d(2024, 1, 12), BillingPeriod::MONTH)
        .unwrap()
        .unwrap();
    assert_eq!(
        trial.period(),
        Some(Period::new(d(2024, 1, 10), d(2024, 1, 24)).unwrap())
    );
    let forever = phase_at(&plan, start, d(2025, 1, 1), BillingPeriod::MONTH)
        .unwrap()
        .unwrap();
    assert_eq!(forever.period(), None);
}

#[test]
fn periods_follow_the_price_period() {
    let plan = trial_then_intro();
    let start = d(2024, 1, 10);
    let intro_end = |period| phase_spans(&plan, start, period).unwrap()[1].end;
    assert_eq!(intro_end(BillingPeriod::QUARTER), Some(d(2024, 10, 24)));
    assert_eq!(intro_end(BillingPeriod::WEEK), Some(d(2024, 2, 14)));
    assert_eq!(intro_end(BillingPeriod::DAY), Some(d(2024, 1, 27)));
}

#[test]
fn three_year_ramp_then_evergreen() {
    let year = |price| {
        phase(
            PhaseKind::Ramp,
            Some(PhaseDuration::Months(12)),
            Adjustment::Price(price),
        )
    };
    let plan = vec![
        year(dec!(100)),
        year(dec!(120)),
        year(dec!(140)),
        evergreen(Adjustment::Price(dec!(150))),
    ];
    assert_eq!(validate_phases(&plan), Ok(()));
    let start = d(2024, 3, 1);
    assert_eq!(
        phase_spans(&plan, start, BillingPeriod::MONTH).unwrap(),
        [
            span(0, d(2024, 3, 1), Some(d(2025, 3, 1))),
            span(1, d(2025, 3, 1), Some(d(2026, 3, 1))),
            span(2, d(2026, 3, 1), Some(d(2027, 3, 1))),
            span(3, d(2027, 3, 1), None),
        ]
    );
    let list_price = dec!(150);
    let price_on = |on: Date| {
        let active = phase_at(&plan, start, on, BillingPeriod::MONTH)
            .unwrap()
            .unwrap();
        effective_unit_amount(list_price, plan[active.index].adjustment)
    };
    assert_eq!(price_on(d(2024, 3, 1)), dec!(100));
    assert_eq!(price_on(d(2025, 2, 28)), dec!(100));
    assert_eq!(price_on(d(2025, 3, 1)), dec!(120));
    assert_eq!(price_on(d(2026, 2, 28)), dec!(120));
    assert_eq!(price_on(d(2026, 3, 1)), dec!(140));
    assert_eq!(price_on(d(2027, 2, 28)), dec!(140));
    assert_eq!(price_on(d(2027, 3, 1)), dec!(150));
    assert_eq!(price_on(d(2040, 1, 1)), dec!(150));

    // From a leap day the years end on Feb 28, and the fourth, counted from the start
    // rather than from the previous end, lands back on Feb 29.
    let four_years = [
        year(dec!(100)),
        year(dec!(120)),
        year(dec!(140)),
        year(dec!(145)),
        evergreen(Adjustment::Price(dec!(150))),
    ];
    let leap = phase_spans(&four_years, d(2024, 2, 29), BillingPeriod::MONTH).unwrap();
    let ends: Vec<Option<Date>> = leap.iter().map(|s| s.end).collect();
    assert_eq!(
        ends,
        [
            Some(d(2025, 2, 28)),
            Some(d(2026, 2, 28)),
            Some(d(2027, 2, 28)),
            Some(d(2028, 2, 29)),
            None
        ]
    );
}

#[test]
fn month_phases_do_not_drift_at_month_end() {
    let month = |pct| {
        phase(
            PhaseKind::Introductory,
            Some(PhaseDuration::Months(1)),
            Adjustment::PercentOff(pct),
        )
    };
    let plan = vec![
        month(dec!(50)),
        month(dec!(25)),
        evergreen(Adjustment::None),
    ];
    assert_eq!(
        phase_spans(&plan, d(2024, 1, 31), BillingPeriod::MONTH).unwrap(),
        [
            span(0, d(2024, 1, 31), Some(d(2024, 2, 29))),
            span(1, d(2024, 2, 29), Some(d(2024, 3, 31))),
            span(2, d(2024, 3, 31), None),
        ]
    );
}

#[test]
fn a_day_phase_moves_the_month_anchor() {
    let plan = vec![
        phase(
            PhaseKind::Trial,
            Some(PhaseDuration::Days(30)),
            Adjustment::Free,
        ),
        phase(
            PhaseKind::Ramp,
            Some(PhaseDuration::Months(1)),
            Adjustment::None,
        ),
        phase(
            PhaseKind::Ramp,
            Some(PhaseDuration::Months(1)),
            Adjustment::None,
        ),
        evergreen(Adjustment::None),
    ];
    // Trial Jan 1 → Jan 31; months then run on the 31st: Feb 29, Mar 31.
    let spans = phase_spans(&plan, d(2024, 1, 1), BillingPeriod::MONTH).unwrap();
    let ends: Vec<Option<Date>> = spans.iter().map(|s| s.end).collect();
    assert_eq!(
        ends,
        [
            Some(d(2024, 1, 31)),
            Some(d(2024, 2, 29)),
            Some(d(2024, 3, 31)),
            None
        ]
    );
}

#[test]
fn adjustments_never_go_below_zero() {
    let base = dec!(80);
    assert_eq!(effective_unit_amount(base, Adjustment::None), dec!(80));
    assert_eq!(effective_unit_amount(base, Adjustment::Free), dec!(0));
    assert_eq!(
        effective_unit_amount(base, Adjustment::PercentOff(dec!(12.5))),
        dec!(70)
    );
    assert_eq!(
        effective_unit_amount(base, Adjustment::PercentOff(dec!(100))),
        dec!(0)
    );
    assert_eq!(
        effective_unit_amount(base, Adjustment::AmountOff(dec!(30))),
        dec!(50)
    );
    assert_eq!(
        effective_unit_amount(base, Adjustment::AmountOff(dec!(95))),
        dec!(0)
    );
    assert_eq!(
        effective_unit_amount(base, Adjustment::Price(dec!(99.99))),
        dec!(99.99)
    );
    // Out-of-range values (rejected by validation) are clamped, never a panic.
    assert_eq!(
        effective_unit_amount(base, Adjustment::Price(dec!(-5))),
        dec!(0)
    );
    assert_eq!(
        effective_unit_amount(base, Adjustment::PercentOff(dec!(150))),
        dec!(0)
    );
    assert_eq!(
        effective_unit_amount(base, Adjustment::PercentOff(dec!(-10))),
        dec!(80)
    );
    assert_eq!(
        effective_unit_amount(base, Adjustment::AmountOff(dec!(-10))),
        dec!(80)
    );
    assert_eq!(
        effective_unit_amount(Decimal::MIN, Adjustment::AmountOff(Decimal::MAX)),
        dec!(0)
    );
    assert_eq!(
        effective_unit_amount(Decimal::MAX, Adjustment::PercentOff(dec!(0))),
        Decimal::MAX
    );
}

#[test]
fn a_plan_needs_phases() {
    assert_eq!(problems(&[]), ["phases: must have at least one element"]);
    assert_eq!(
        problems(&[evergreen(Adjustment::None)]),
        Vec::<String>::new()
    );
}

#[test]
fn evergreen_is_last_and_only_last() {
    let plan = [
        evergreen(Adjustment::None),
        phase(
            PhaseKind::Trial,
            Some(PhaseDuration::Days(14)),
            Adjustment::Free,
        ),
    ];
    assert_eq!(
        problems(&plan),
        [
            "phases[0].kind: only the last phase may be evergreen",
            "phases[1].kind: must not follow evergreen (phases run trial → introductory → ramp → evergreen)",
            "phases[1].kind: must be evergreen on the last phase, got trial",
        ]
    );
}

#[test]
fn only_evergreen_is_open_ended() {
    let plan = [
        phase(PhaseKind::Trial, None, Adjustment::Free),
        phase(
            PhaseKind::Introductory,
            Some(PhaseDuration::Periods(0)),
            Adjustment::PercentOff(dec!(10)),
        ),
        phase(
            PhaseKind::Evergreen,
            Some(PhaseDuration::Months(12)),
            Adjustment::None,
        ),
    ];
    assert_eq!(
        problems(&plan),
        [
            "phases[0].duration: must be set: only the evergreen phase is open-ended",
            "phases[1].duration: must be greater than zero, got 0",
            "phases[2].duration: must be unset: the evergreen phase never ends",
        ]
    );
}

#[test]
fn phases_run_in_order() {
    let plan = [
        phase(
            PhaseKind::Ramp,
            Some(PhaseDuration::Months(12)),
            Adjustment::Price(dec!(100)),
        ),
        phase(
            PhaseKind::Introductory,
            Some(PhaseDuration::Periods(3)),
            Adjustment::PercentOff(dec!(10)),
        ),
        evergreen(Adjustment::None),
    ];
    assert_eq!(
        problems(&plan),
        ["phases[1].kind: must not follow ramp (phases run trial → introductory → ramp → evergreen)"]
    );
}

#[test]
fn adjustments_are_checked() {
    let trial = |adjustment| phase(PhaseKind::Trial, Some(PhaseDuration::Days(7)), adjustment);
    let plan = [
        trial(Adjustment::PercentOff(dec!(120))),
        trial(Adjustment::AmountOff(dec!(-1))),
        trial(Adjustment::Price(dec!(-0.5))),
        trial(Adjustment::PercentOff(dec!(100))),
        evergreen(Adjustment::Price(dec!(0))),
    ];
    assert_eq!(
        problems(&plan),
        [
            "phases[0].adjustment: must be between 0 and 100, got 120",
            "phases[1].adjustment: must not be negative, got -1",
            "phases[2].adjustment: must not be negative, got -0.5",
        ]
    );
}

#[test]
fn unvalidated_plans_still_answer() {
    // No evergreen: nothing applies after the last phase.
    let plan = [phase(
        PhaseKind::Trial,
        Some(PhaseDuration::Days(7)),
        Adjustment::Free,
    )];
    assert_eq!(
        phase_at(&plan, d(2024, 1, 1), d(2024, 1, 8), BillingPeriod::MONTH),
        Ok(None)
    );
    // A zero-length phase is skipped; an open-ended one hides what follows.
    let plan = [
        phase(
            PhaseKind::Trial,
            Some(PhaseDuration::Days(0)),
            Adjustment::Free,
        ),
        phase(PhaseKind::Introductory, None, Adjustment::None),
        evergreen(Adjustment::None),
    ];
    let spans = phase_spans(&plan, d(2024, 1, 1), BillingPeriod::MONTH).unwrap();
    assert_eq!(
        spans,
        [
            span(0, d(2024, 1, 1), Some(d(2024, 1, 1))),
            span(1, d(2024, 1, 1), None),
        ]
    );
    assert_eq!(spans[0].period(), None);
    assert_eq!(
        phase_at(&plan, d(2024, 1, 1), d(2024, 1, 1), BillingPeriod::MONTH)
            .unwrap()
            .map(|s| s.index),
        Some(1)
    );
    assert_eq!(
        phase_at(&[], d(2024, 1, 1), d(2024, 1, 1), BillingPeriod::MONTH),
        Ok(None)
    );
}

#[test]
fn phase_kind_codes_round_trip() {
    for kind in [
        PhaseKind::Trial,
        PhaseKind::Introductory,
        PhaseKind::Ramp,
        PhaseKind::Evergreen,
    ] {
        assert_eq!(PhaseKind::parse(kind.code()), Some(kind));
    }
    assert_eq!(PhaseKind::parse("intro"), None);
}
