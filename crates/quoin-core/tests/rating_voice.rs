//! Voice CDR rating: a table of calls with their exact charges worked out by hand, plus
//! the typed errors and the plan validation.
//!
//! The plan (EUR, account time zone Europe/London):
//! - bands: `peak` Mon–Fri 08:00–19:00; `offpeak` Mon–Fri 00:00–08:00 and 19:00–24:00;
//!   `weekend` Sat–Sun all day. Windows are `[from, to)`: a call starting exactly at
//!   08:00:00 on a weekday is peak, one at 07:59:59 off-peak.
//! - `uk` prefix 44, 60/60, no fees; per minute peak 0.10, off-peak 0.05, weekend 0.02.
//! - `uk-mobile` prefix 447, 30/6, connection 0.05; peak 0.30, off-peak 0.20, weekend 0.15.
//! - `us` prefix 1, 1/1, minimum 0.10; 0.012 in every band.
//! - `uk-premium` prefix 44909, 60/60, connection 0.50, minimum 1.00; 0.40 in every band.

use jiff::{civil::Weekday, tz::TimeZone, Timestamp};
use quoin_core::money::{Currency, Money};
use quoin_core::rating::voice::{
    BandWindow, Call, Destination, Increment, TimeBand, VoiceError, VoicePlan, VoiceProblem,
    Weekdays,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

fn bands() -> Vec<TimeBand> {
    vec![
        TimeBand {
            code: "peak".into(),
            windows: vec![BandWindow::hm(Weekdays::WEEKDAYS, (8, 0), (19, 0))],
        },
        TimeBand {
            code: "offpeak".into(),
            windows: vec![
                BandWindow::hm(Weekdays::WEEKDAYS, (0, 0), (8, 0)),
                BandWindow::hm(Weekdays::WEEKDAYS, (19, 0), (24, 0)),
            ],
        },
        TimeBand {
            code: "weekend".into(),
            windows: vec![BandWindow::hm(Weekdays::WEEKEND, (0, 0), (24, 0))],
        },
    ]
}

fn destination(
    code: &str,
    prefix: &str,
    increment: Increment,
    connection_fee: Decimal,
    minimum_charge: Decimal,
    [peak, offpeak, weekend]: [Decimal; 3],
) -> Destination {
    Destination {
        code: code.into(),
        prefixes: vec![prefix.into()],
        increment,
        connection_fee,
        minimum_charge,
        rates: vec![
            ("peak".into(), peak),
            ("offpeak".into(), offpeak),
            ("weekend".into(), weekend),
        ],
    }
}

fn destinations() -> Vec<Destination> {
    let flat = |r| [r, r, r];
    vec![
        destination(
            "uk",
            "44",
            Increment::new(60, 60),
            dec!(0),
            dec!(0),
            [dec!(0.10), dec!(0.05), dec!(0.02)],
        ),
        destination(
            "uk-mobile",
            "447",
            Increment::new(30, 6),
            dec!(0.05),
            dec!(0),
            [dec!(0.30), dec!(0.20), dec!(0.15)],
        ),
        destination(
            "us",
            "1",
            Increment::new(1, 1),
            dec!(0),
            dec!(0.10),
            flat(dec!(0.012)),
        ),
        destination(
            "uk-premium",
            "44909",
            Increment::new(60, 60),
            dec!(0.50),
            dec!(1.00),
            flat(dec!(0.40)),
        ),
    ]
}

fn plan() -> VoicePlan {
    VoicePlan::new(eur(), bands(), destinations()).expect("the example plan is valid")
}

fn london() -> TimeZone {
    TimeZone::get("Europe/London").unwrap()
}

struct Case {
    what: &'static str,
    number: &'static str,
    start: &'static str,
    seconds: i64,
    destination: &'static str,
    band: &'static str,
    billed_seconds: u64,
    charge: Decimal,
}

#[allow(clippy::too_many_arguments)] // one table row, positional on purpose
const fn case(
    what: &'static str,
    number: &'static str,
    start: &'static str,
    seconds: i64,
    destination: &'static str,
    band: &'static str,
    billed_seconds: u64,
    charge: Decimal,
) -> Case {
    Case {
        what,
        number,
        start,
        seconds,
        destination,
        band,
        billed_seconds,
        charge,
    }
}

// London is on GMT (UTC+0) in November and BST (UTC+1) in July.
// 2026-11-23 is a Monday, 2026-11-28 a Saturday, 2026-11-29 a Sunday, 2026-07-06 a Monday.
#[rustfmt::skip]
const CASES: [Case; 14] = [
    // 60/60: 61 s → 2 blocks = 120 s; 0.10 × 120/60 = 0.20.
    case("uk peak, 60/60 rounds up a second minute", "442071234567", "2026-11-23T10:00:00Z", 61, "uk", "peak", 120, dec!(0.20)),
    // 60/60: exactly 60 s → 60 s; 0.10 × 1 = 0.10.
    case("uk peak, exactly one block", "442071234567", "2026-11-23T10:00:00Z", 60, "uk", "peak", 60, dec!(0.10)),
    // 447 overrides 44. 30/6: 31 s → 30 + ⌈1/6⌉×6 = 36 s; 0.05 + 0.30 × 36/60 = 0.05 + 0.18 = 0.23.
    case("longer prefix 447 beats 44; 30/6", "447700900123", "2026-11-23T10:00:00Z", 31, "uk-mobile", "peak", 36, dec!(0.23)),
    // 30/6: 29 s → the first block, 30 s; 0.05 + 0.30 × 0.5 = 0.20.
    case("30/6 inside the first block", "447700900123", "2026-11-23T10:00:00Z", 29, "uk-mobile", "peak", 30, dec!(0.20)),
    // Boundary: 08:00:00 local starts peak. 100 s → 30 + ⌈70/6⌉×6 = 30 + 72 = 102 s;
    // 0.05 + 0.30 × 102/60 = 0.05 + 0.51 = 0.56.
    case("exactly at 08:00:00 is peak", "447700900123", "2026-11-23T08:00:00Z", 100, "uk-mobile", "peak", 102, dec!(0.56)),
    // One second earlier is off-peak: 0.05 + 0.20 × 1.7 = 0.05 + 0.34 = 0.39.
    case("07:59:59 is still off-peak", "447700900123", "2026-11-23T07:59:59Z", 100, "uk-mobile", "offpeak", 102, dec!(0.39)),
    // Saturday: 0.05 + 0.15 × 1.7 = 0.05 + 0.255 = 0.305 → half-up → 0.31.
    case("weekend, rounded half-up once", "447700900123", "2026-11-28T12:00:00Z", 100, "uk-mobile", "weekend", 102, dec!(0.31)),
    // Sunday 23:59:59 is weekend: uk 60/60, 10 s → 60 s; 0.02 × 1 = 0.02.
    case("Sunday 23:59:59 is weekend", "442071234567", "2026-11-29T23:59:59Z", 10, "uk", "weekend", 60, dec!(0.02)),
    // Summer: 07:30Z is 08:30 BST, so peak in the account's zone (off-peak in UTC): 0.10.
    case("band by the account's local time", "442071234567", "2026-07-06T07:30:00Z", 60, "uk", "peak", 60, dec!(0.10)),
    // 1/1: 7 s; 0.012 × 7/60 = 0.0014, below the minimum → 0.10.
    case("1/1 raised to the minimum charge", "12125551234", "2026-11-23T10:00:00Z", 7, "us", "peak", 7, dec!(0.10)),
    // 1/1: 601 s; 0.012 × 601/60 = 0.1202 → 0.12. A leading "+" is accepted.
    case("1/1 per second, with +", "+12125551234", "2026-11-23T10:00:00Z", 601, "us", "peak", 601, dec!(0.12)),
    // 0 s: nothing billed, no connection fee, no minimum.
    case("0-second call is free", "447700900123", "2026-11-23T10:00:00Z", 0, "uk-mobile", "peak", 0, dec!(0.00)),
    // 44909 beats 447's sibling 44. 1 s → 60 s; 0.50 + 0.40 = 0.90 < minimum 1.00 → 1.00.
    case("connection fee then minimum", "449091234567", "2026-11-23T10:00:00Z", 1, "uk-premium", "peak", 60, dec!(1.00)),
    // 61 s → 120 s; 0.50 + 0.40 × 2 = 1.30, above the minimum.
    case("connection fee plus two minutes", "449091234567", "2026-11-23T20:00:00Z", 61, "uk-premium", "offpeak", 120, dec!(1.30)),
];

#[test]
fn every_call_of_the_table_is_charged_exactly() {
    let plan = plan();
    let tz = london();
    for c in &CASES {
        let rated = plan
            .rate(
                &Call {
                    number: c.number,
                    start: c.start.parse::<Timestamp>().unwrap(),
                    duration_seconds: c.seconds,
                },
                &tz,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", c.what));
        assert_eq!(
            plan.destinations()[rated.destination].code,
            c.destination,
            "{}",
            c.what
        );
        assert_eq!(plan.bands()[rated.band].code, c.band, "{}", c.what);
        assert_eq!(rated.billed_seconds, c.billed_seconds, "{}", c.what);
        assert_eq!(
            rated.charge,
            Money::from_decimal_exact(c.charge, eur()).unwrap(),
            "{}",
            c.what
        );
    }
}

fn call(number: &str, seconds: i64) -> Call<'_> {
    Call {
        number,
        start: "2026-11-23T10:00:00Z".parse().unwrap(),
        duration_seconds: seconds,
    }
}

#[test]
fn unratable_calls_get_typed_errors() {
    let plan = plan();
    let tz = london();
    assert_eq!(
        plan.rate(&call("33142685300", 60), &tz),
        Err(VoiceError::NoDestination("33142685300".into()))
    );
    assert_eq!(
        plan.rate(&call("442071234567", -1), &tz),
        Err(VoiceError::NegativeDuration(-1))
    );
    assert_eq!(
        plan.rate(&call("44 20 7123", 60), &tz),
        Err(VoiceError::InvalidNumber("44 20 7123".into()))
    );
}

fn problems(bands: Vec<TimeBand>, destinations: Vec<Destination>) -> Vec<(String, &'static str)> {
    VoicePlan::new(eur(), bands, destinations)
        .unwrap_err()
        .into_iter()
        .map(|e| (e.path, e.problem.code()))
        .collect()
}

#[test]
fn bands_must_tile_the_week() {
    let mut gap = bands();
    gap[2].windows[0].days = Weekdays::default().with(Weekday::Saturday);
    assert_eq!(
        VoicePlan::new(eur(), gap, destinations()).unwrap_err()[0].problem,
        VoiceProblem::Gap("Sunday".into(), "00:00".into())
    );

    let mut overlap = bands();
    overlap[0].windows[0].to = 20 * 60;
    assert_eq!(
        problems(overlap, destinations()),
        vec![("bands[1].windows[1]".to_string(), "bands_overlap")]
    );
}

#[test]
fn destinations_are_checked_by_path() {
    let mut dests = destinations();
    dests[1].prefixes.push("44".into());
    dests[2].prefixes[0] = "+1".into();
    dests[2].increment.next = 0;
    dests[3].rates.pop();
    dests[3].connection_fee = dec!(-1);
    assert_eq!(
        problems(bands(), dests),
        vec![
            (
                "destinations[1].prefixes[1]".to_string(),
                "duplicate_prefix"
            ),
            ("destinations[2].prefixes[0]".to_string(), "invalid_prefix"),
            ("destinations[2].increment.next".to_string(), "not_positive"),
            ("destinations[3].connection_fee".to_string(), "negative"),
            ("destinations[3].rates".to_string(), "missing_rate"),
        ]
    );
}
