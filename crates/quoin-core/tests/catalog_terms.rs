//! Contract terms: month-end clamping, remaining months, every ETL policy, renewals and
//! template validation.

use jiff::civil::{date, Date};
use quoin_core::calendar::CalendarError;
use quoin_core::catalog::{
    etl_amount, remaining_months, renewal, term_end, EndOfTerm, EtlOverflow, EtlPolicy, Term,
    TermTemplate,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn d(y: i16, m: i8, day: i8) -> Date {
    date(y, m, day)
}

fn problems(t: &TermTemplate) -> Vec<String> {
    match t.validate() {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

fn template(length_months: u32, etl: EtlPolicy) -> TermTemplate {
    TermTemplate {
        length_months,
        end_of_term: EndOfTerm::RenewSameTerm,
        etl,
    }
}

#[test]
fn term_ends_on_the_same_day_clamped_to_month_end() {
    assert_eq!(term_end(d(2024, 1, 31), 1), Ok(d(2024, 2, 29)));
    assert_eq!(term_end(d(2023, 1, 31), 1), Ok(d(2023, 2, 28)));
    // Counted from the start, not month by month: back on the 31st.
    assert_eq!(term_end(d(2024, 1, 31), 2), Ok(d(2024, 3, 31)));
    assert_eq!(term_end(d(2024, 1, 31), 3), Ok(d(2024, 4, 30)));
    assert_eq!(term_end(d(2024, 2, 29), 12), Ok(d(2025, 2, 28)));
    assert_eq!(term_end(d(2024, 2, 29), 48), Ok(d(2028, 2, 29)));
    assert_eq!(term_end(d(2024, 3, 15), 12), Ok(d(2025, 3, 15)));
    assert_eq!(term_end(d(2024, 3, 15), 120), Ok(d(2034, 3, 15)));
    assert_eq!(term_end(d(9999, 12, 1), 1), Err(CalendarError::OutOfRange));
}

#[test]
fn a_term_is_half_open() {
    let term = Term::new(d(2024, 1, 31), 1).unwrap();
    assert_eq!((term.start(), term.end()), (d(2024, 1, 31), d(2024, 2, 29)));
    assert_eq!(term.period().days(), 29);
    assert!(term.period().contains(d(2024, 2, 28)));
    assert!(!term.period().contains(d(2024, 2, 29)));
    assert_eq!(
        Term::new(d(2024, 1, 31), 0),
        Err(CalendarError::EmptyPeriod {
            start: d(2024, 1, 31),
            end: d(2024, 1, 31)
        })
    );
}

#[test]
fn a_started_month_counts_as_remaining() {
    let (start, end) = (d(2024, 1, 1), d(2025, 1, 1));
    let left = |c| remaining_months(start, end, c);
    assert_eq!(left(d(2023, 12, 1)), dec!(12));
    assert_eq!(left(d(2024, 1, 1)), dec!(12));
    assert_eq!(left(d(2024, 1, 15)), dec!(12));
    assert_eq!(left(d(2024, 1, 31)), dec!(12));
    assert_eq!(left(d(2024, 2, 1)), dec!(11));
    assert_eq!(left(d(2024, 3, 15)), dec!(10));
    assert_eq!(left(d(2024, 12, 31)), dec!(1));
    assert_eq!(left(d(2025, 1, 1)), dec!(0));
    assert_eq!(left(d(2026, 6, 1)), dec!(0));
}

#[test]
fn term_months_at_month_end_follow_the_clamped_boundaries() {
    // Months: Jan 31–Feb 28, Feb 29–Mar 30, Mar 31–Apr 29, Apr 30–May 30, …
    let (start, end) = (d(2024, 1, 31), d(2025, 1, 31));
    let left = |c| remaining_months(start, end, c);
    assert_eq!(left(d(2024, 2, 28)), dec!(12));
    assert_eq!(left(d(2024, 2, 29)), dec!(11));
    assert_eq!(left(d(2024, 3, 30)), dec!(11));
    assert_eq!(left(d(2024, 3, 31)), dec!(10));
    assert_eq!(left(d(2024, 4, 29)), dec!(10));
    assert_eq!(left(d(2024, 4, 30)), dec!(9));
    assert_eq!(left(d(2025, 1, 30)), dec!(1));
    assert_eq!(left(d(2025, 1, 31)), dec!(0));

    let term = Term::new(start, 12).unwrap();
    assert_eq!(term.end(), end);
    assert_eq!(term.remaining_months(d(2024, 3, 31)), dec!(10));
    assert_eq!(term.month_of(d(2024, 2, 29)), 2);
    assert_eq!(term.month_of(d(2023, 6, 1)), 1);
}

#[test]
fn a_trailing_partial_month_counts_as_one() {
    // 2024-01-10 → 2024-03-20: two whole months and ten days.
    let left = |c| remaining_months(d(2024, 1, 10), d(2024, 3, 20), c);
    assert_eq!(left(d(2024, 1, 10)), dec!(3));
    assert_eq!(left(d(2024, 3, 10)), dec!(1));
    assert_eq!(left(d(2024, 3, 19)), dec!(1));
    assert_eq!(
        remaining_months(d(2024, 3, 20), d(2024, 1, 10), d(2024, 1, 1)),
        dec!(0)
    );
}

/// $100 a month for 12 months from 2024-01-01.
fn year_term() -> Term {
    Term::new(d(2024, 1, 1), 12).unwrap()
}

fn etl(policy: &EtlPolicy, cancel: Date) -> Decimal {
    etl_amount(policy, dec!(100), &year_term(), cancel).unwrap()
}

#[test]
fn etl_of_each_policy() {
    let cancel = d(2024, 4, 15); // month 4: 9 months left
    assert_eq!(etl(&EtlPolicy::None, cancel), dec!(0));
    assert_eq!(etl(&EtlPolicy::RemainingMonths, cancel), dec!(900));
    let pct = EtlPolicy::PercentOfRemaining { percent: dec!(50) };
    assert_eq!(etl(&pct, cancel), dec!(450));
    let pct = EtlPolicy::PercentOfRemaining {
        percent: dec!(12.5),
    };
    assert_eq!(etl(&pct, cancel), dec!(112.5));
    let fixed = EtlPolicy::Fixed { amount: dec!(250) };
    assert_eq!(etl(&fixed, cancel), dec!(250));
}

#[test]
fn reducing_etl_takes_the_last_started_row() {
    let policy = EtlPolicy::Reducing {
        schedule: vec![(1, dec!(500)), (7, dec!(250)), (12, dec!(100))],
    };
    assert_eq!(etl(&policy, d(2023, 12, 1)), dec!(500));
    assert_eq!(etl(&policy, d(2024, 1, 1)), dec!(500));
    assert_eq!(etl(&policy, d(2024, 4, 15)), dec!(500));
    assert_eq!(etl(&policy, d(2024, 6, 30)), dec!(500));
    assert_eq!(etl(&policy, d(2024, 7, 1)), dec!(250));
    assert_eq!(etl(&policy, d(2024, 11, 30)), dec!(250));
    assert_eq!(etl(&policy, d(2024, 12, 1)), dec!(100));
    assert_eq!(etl(&policy, d(2024, 12, 31)), dec!(100));
    // A schedule that does not start at month 1 (rejected by validation) charges nothing
    // before its first row.
    let late = EtlPolicy::Reducing {
        schedule: vec![(3, dec!(50))],
    };
    assert_eq!(etl(&late, d(2024, 2, 1)), dec!(0));
    assert_eq!(etl(&late, d(2024, 3, 1)), dec!(50));
}

#[test]
fn no_etl_once_the_term_is_over() {
    let policies = [
        EtlPolicy::RemainingMonths,
        EtlPolicy::PercentOfRemaining { percent: dec!(100) },
        EtlPolicy::Fixed { amount: dec!(250) },
        EtlPolicy::Reducing {
            schedule: vec![(1, dec!(500))],
        },
    ];
    for policy in &policies {
        assert_eq!(etl(policy, d(2025, 1, 1)), dec!(0), "{policy:?}");
        assert_eq!(etl(policy, d(2027, 1, 1)), dec!(0), "{policy:?}");
        assert!(etl(policy, d(2024, 12, 31)) > dec!(0), "{policy:?}");
    }
    assert_eq!(etl(&EtlPolicy::RemainingMonths, d(2023, 1, 1)), dec!(1200));
}

#[test]
fn etl_is_never_negative() {
    let term = year_term();
    let cancel = d(2024, 6, 1);
    let credit = etl_amount(&EtlPolicy::RemainingMonths, dec!(-40), &term, cancel);
    assert_eq!(credit, Ok(dec!(0)));
    let negative_fee = EtlPolicy::Fixed { amount: dec!(-1) };
    assert_eq!(
        etl_amount(&negative_fee, dec!(10), &term, cancel),
        Ok(dec!(0))
    );
}

#[test]
fn etl_out_of_decimal_range_is_an_error_not_a_panic() {
    let term = year_term();
    assert_eq!(
        etl_amount(
            &EtlPolicy::RemainingMonths,
            Decimal::MAX,
            &term,
            d(2024, 1, 1)
        ),
        Err(EtlOverflow)
    );
}

#[test]
fn renewals_keep_the_original_day_of_the_month() {
    let first = Term::new(d(2024, 1, 31), 1).unwrap();
    let second = renewal(&first, EndOfTerm::RollMonthToMonth)
        .unwrap()
        .unwrap();
    assert_eq!(
        (second.start(), second.end()),
        (d(2024, 2, 29), d(2024, 3, 31))
    );
    let third = renewal(&second, EndOfTerm::RollMonthToMonth)
        .unwrap()
        .unwrap();
    assert_eq!(
        (third.start(), third.end()),
        (d(2024, 3, 31), d(2024, 4, 30))
    );
    assert_eq!(third.length_months(), 1);
    // Inside the renewal, its month runs to the 31st: one month left on the 30th.
    assert_eq!(second.remaining_months(d(2024, 3, 30)), dec!(1));
    // Without the anchor, a term from the 29th would see a month boundary on Mar 29.
    assert_eq!(
        remaining_months(d(2024, 2, 29), d(2024, 3, 31), d(2024, 3, 28)),
        dec!(2)
    );

    let year = Term::new(d(2024, 2, 29), 12).unwrap();
    let next = renewal(&year, EndOfTerm::RenewSameTerm).unwrap().unwrap();
    assert_eq!((next.start(), next.end()), (d(2025, 2, 28), d(2026, 2, 28)));
    let rolled = renewal(&year, EndOfTerm::RollMonthToMonth)
        .unwrap()
        .unwrap();
    assert_eq!(
        (rolled.start(), rolled.end()),
        (d(2025, 2, 28), d(2025, 3, 29))
    );
    assert_eq!(renewal(&year, EndOfTerm::Cancel), Ok(None));
}

#[test]
fn a_template_gives_the_term() {
    let t = template(24, EtlPolicy::RemainingMonths);
    let term = t.term(d(2024, 5, 31)).unwrap();
    assert_eq!((term.start(), term.end()), (d(2024, 5, 31), d(2026, 5, 31)));
    assert_eq!(t.validate(), Ok(()));
}

#[test]
fn length_must_be_one_to_ten_years() {
    assert_eq!(
        problems(&template(0, EtlPolicy::None)),
        ["length_months: must be between 1 and 120, got 0"]
    );
    assert_eq!(
        problems(&template(121, EtlPolicy::None)),
        ["length_months: must be between 1 and 120, got 121"]
    );
    assert!(problems(&template(1, EtlPolicy::None)).is_empty());
    assert!(problems(&template(120, EtlPolicy::None)).is_empty());
}

#[test]
fn etl_amounts_and_percentages_are_checked() {
    let pct = |p| template(12, EtlPolicy::PercentOfRemaining { percent: p });
    assert_eq!(
        problems(&pct(dec!(100.5))),
        ["etl.percent: must be between 0 and 100, got 100.5"]
    );
    assert_eq!(
        problems(&pct(dec!(-1))),
        ["etl.percent: must be between 0 and 100, got -1"]
    );
    assert!(problems(&pct(dec!(0))).is_empty());
    assert!(problems(&pct(dec!(100))).is_empty());
    assert_eq!(
        problems(&template(
            12,
            EtlPolicy::Fixed {
                amount: dec!(-0.01)
            }
        )),
        ["etl.amount: must not be negative, got -0.01"]
    );
    assert!(problems(&template(12, EtlPolicy::Fixed { amount: dec!(0) })).is_empty());
}

#[test]
fn a_reducing_schedule_ascends_from_month_one_within_the_term() {
    let reducing = |schedule: Vec<(u32, Decimal)>| template(12, EtlPolicy::Reducing { schedule });
    assert_eq!(
        problems(&reducing(vec![])),
        ["etl.schedule: must have at least one element"]
    );
    assert_eq!(
        problems(&reducing(vec![(2, dec!(10))])),
        ["etl.schedule[0].from_month: must be 1 so the schedule covers the term from its first month, got 2"]
    );
    assert_eq!(
        problems(&reducing(vec![
            (1, dec!(300)),
            (6, dec!(-5)),
            (6, dec!(100)),
            (4, dec!(50)),
            (13, dec!(0)),
        ])),
        [
            "etl.schedule[1].fee: must not be negative, got -5",
            "etl.schedule[2].from_month: must be greater than the previous row's 6",
            "etl.schedule[3].from_month: must be greater than the previous row's 6",
            "etl.schedule[4].from_month: must not exceed length_months 12",
        ]
    );
    assert!(problems(&reducing(vec![(1, dec!(300)), (12, dec!(25))])).is_empty());
}

#[test]
fn end_of_term_codes_round_trip() {
    for e in [
        EndOfTerm::RenewSameTerm,
        EndOfTerm::RollMonthToMonth,
        EndOfTerm::Cancel,
    ] {
        assert_eq!(EndOfTerm::parse(e.code()), Some(e));
    }
    assert_eq!(EndOfTerm::RollMonthToMonth.code(), "roll_month_to_month");
    assert_eq!(EndOfTerm::parse("renew"), None);
}
