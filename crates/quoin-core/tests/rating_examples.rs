//! Every rating and aggregation figure of PUBLIC-EXAMPLES.md section A (A1–A12),
//! checked with exact decimals. Each rating also checks its breakdown: the lines sum
//! to the amount, every line is `billed × unit + flat`, and the allocation-free path
//! agrees.

use jiff::Timestamp;
use quoin_core::rating::{
    aggregate, Aggregation, Capacity, CapacityTier, Event, LineKind, Metric, PercentTier, Price,
    PriceModel, Rating, Step, Tier, Window,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn checked(rating: Rating) -> Rating {
    let sum: Decimal = rating.lines.iter().map(|l| l.amount).sum();
    assert_eq!(
        sum, rating.amount,
        "lines must sum to the amount: {rating:?}"
    );
    for line in &rating.lines {
        assert_eq!(
            line.amount,
            line.billed_quantity * line.unit_amount + line.flat_fee,
            "line arithmetic: {line:?}"
        );
    }
    rating
}

/// Rates through both paths and returns the amount.
fn amount(model: &PriceModel, quantity: Decimal) -> Decimal {
    model.validate().expect("example models are valid");
    let rating = checked(model.rate(quantity).unwrap());
    assert_eq!(model.amount_for(quantity).unwrap(), rating.amount);
    rating.amount
}

fn events_amount(model: &PriceModel, events: &[Decimal]) -> Decimal {
    model.validate().expect("example models are valid");
    checked(model.rate_events(events).unwrap()).amount
}

/// A1: Lago graduated, with a flat fee per tier.
fn lago_graduated() -> PriceModel {
    PriceModel::Graduated {
        tiers: vec![
            Tier::to(dec!(10), dec!(10)).with_flat_fee(dec!(2)),
            Tier::to(dec!(20), dec!(5)).with_flat_fee(dec!(3)),
            Tier::above(dec!(5)).with_flat_fee(dec!(3)),
        ],
    }
}

#[test]
fn a1_graduated_with_flat_fees() {
    let model = lago_graduated();
    for (units, expected) in [
        (dec!(0), dec!(2)),
        (dec!(1), dec!(12)),
        (dec!(10), dec!(102)),
        (dec!(11), dec!(110)),
        (dec!(12), dec!(115)),
        (dec!(21), dec!(163)),
    ] {
        assert_eq!(amount(&model, units), expected, "{units} units");
    }
}

#[test]
fn a1_first_tier_flat_fee_is_charged_at_zero_units() {
    let rating = lago_graduated().rate(dec!(0)).unwrap();
    assert_eq!(rating.lines.len(), 1);
    assert_eq!(rating.lines[0].kind, LineKind::Tier(0));
    assert_eq!(rating.lines[0].flat_fee, dec!(2));
}

#[test]
fn a1_breakdown_of_21_units() {
    let rating = lago_graduated().rate(dec!(21)).unwrap();
    let parts: Vec<_> = rating
        .lines
        .iter()
        .map(|l| (l.kind, l.units, l.amount))
        .collect();
    assert_eq!(
        parts,
        vec![
            (LineKind::Tier(0), dec!(10), dec!(102)),
            (LineKind::Tier(1), dec!(10), dec!(53)),
            (LineKind::Tier(2), dec!(1), dec!(8)),
        ]
    );
}

#[test]
fn a1_variant_tiny_first_tier_without_fee_costs_nothing_at_zero() {
    let model = PriceModel::Graduated {
        tiers: vec![
            Tier::to(dec!(0.01), dec!(10)),
            Tier::to(dec!(20), dec!(5)).with_flat_fee(dec!(3)),
            Tier::above(dec!(5)).with_flat_fee(dec!(3)),
        ],
    };
    assert_eq!(amount(&model, dec!(0)), dec!(0));
}

#[test]
fn a2_volume() {
    let model = PriceModel::Volume {
        tiers: vec![
            Tier::to(dec!(100), dec!(2)).with_flat_fee(dec!(10)),
            Tier::to(dec!(200), dec!(1)),
            Tier::above(dec!(0.5)).with_flat_fee(dec!(50)),
        ],
    };
    for (units, expected) in [
        (dec!(0), dec!(10)),
        (dec!(1), dec!(12)),
        (dec!(100), dec!(210)),
        (dec!(100.5), dec!(100.5)),
        (dec!(101), dec!(101)),
        (dec!(200), dec!(200)),
        (dec!(210), dec!(155)),
        (dec!(300), dec!(200)),
    ] {
        assert_eq!(amount(&model, units), expected, "{units} units");
    }
    assert_eq!(
        model.rate(dec!(100.5)).unwrap().lines[0].kind,
        LineKind::Tier(1),
        "100.5 units fall in tier 2"
    );
}

#[test]
fn a3_volume_docs() {
    let model = PriceModel::Volume {
        tiers: vec![
            Tier::to(dec!(10000), dec!(0.0010)).with_flat_fee(dec!(10)),
            Tier::to(dec!(50000), dec!(0.0008)).with_flat_fee(dec!(10)),
            Tier::to(dec!(100000), dec!(0.0006)).with_flat_fee(dec!(10)),
            Tier::above(dec!(0.0004)).with_flat_fee(dec!(10)),
        ],
    };
    assert_eq!(amount(&model, dec!(65000)), dec!(49));
}

fn package(size: Decimal, price: Decimal, free: Decimal) -> PriceModel {
    PriceModel::Package {
        block_size: size,
        block_amount: price,
        free_units: free,
    }
}

#[test]
fn a4_package() {
    assert_eq!(
        amount(&package(dec!(10), dec!(100), dec!(0)), dec!(121)),
        dec!(1300)
    );
    assert_eq!(
        amount(&package(dec!(10), dec!(100), dec!(10)), dec!(121)),
        dec!(1200)
    );
    assert_eq!(
        amount(&package(dec!(10), dec!(100), dec!(200)), dec!(121)),
        dec!(0)
    );
    assert_eq!(
        amount(&package(dec!(100), dec!(5), dec!(100)), dec!(201)),
        dec!(10)
    );
}

fn percentage(
    rate: Decimal,
    fee: Decimal,
    free_events: Option<u64>,
    free_amount: Option<Decimal>,
) -> PriceModel {
    PriceModel::Percentage {
        rate_percent: rate,
        fixed_fee_per_event: fee,
        free_events,
        free_amount,
        per_event_min: None,
        per_event_max: None,
    }
}

/// A5: four events with running totals 50, 150, 400, 800.
const A5_EVENTS: [Decimal; 4] = [dec!(50), dec!(100), dec!(250), dec!(400)];

#[test]
fn a5_percentage_free_events_and_free_amount() {
    let model = percentage(dec!(1.3), dec!(2.0), Some(3), Some(dec!(250)));
    assert_eq!(events_amount(&model, &A5_EVENTS), dec!(11.15));
    let rating = model.rate_events(&A5_EVENTS).unwrap();
    let pct = &rating.lines[0];
    assert_eq!(
        (pct.kind, pct.units, pct.billed_quantity, pct.amount),
        (LineKind::Percentage, dec!(800), dec!(550), dec!(7.15))
    );
    let fees = &rating.lines[1];
    assert_eq!(
        (fees.kind, fees.units, fees.billed_quantity, fees.amount),
        (LineKind::EventFees, dec!(4), dec!(2), dec!(4))
    );
}

#[test]
fn a5_percentage_free_events_only() {
    let model = percentage(dec!(1.3), dec!(2.0), Some(3), None);
    assert_eq!(events_amount(&model, &A5_EVENTS), dec!(7.2));
}

#[test]
fn a5_percentage_without_free_units() {
    let model = percentage(dec!(1.3), dec!(2.0), None, None);
    assert_eq!(events_amount(&model, &A5_EVENTS), dec!(18.4));
}

#[test]
fn a5_percentage_per_event_min_and_max() {
    let events = [dec!(10), dec!(80), dec!(10000)];
    let mut model = percentage(dec!(2.99), dec!(0), None, None);
    assert_eq!(events_amount(&model, &events), dec!(301.691));
    if let PriceModel::Percentage {
        per_event_min,
        per_event_max,
        ..
    } = &mut model
    {
        *per_event_min = Some(dec!(1.75));
        *per_event_max = Some(dec!(12));
    }
    assert_eq!(events_amount(&model, &events), dec!(16.142));
    let kinds: Vec<_> = model
        .rate_events(&events)
        .unwrap()
        .lines
        .iter()
        .map(|l| (l.kind, l.amount))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (LineKind::Percentage, dec!(2.392)),
            (LineKind::PerEventMinimum, dec!(1.75)),
            (LineKind::PerEventMaximum, dec!(12)),
        ]
    );
}

#[test]
fn a5_percentage_docs_three_free_events_or_500() {
    let model = percentage(dec!(1.2), dec!(0.10), Some(3), Some(dec!(500)));
    assert_eq!(
        events_amount(&model, &[dec!(200), dec!(100), dec!(100)]),
        dec!(0)
    );
    assert_eq!(
        events_amount(&model, &[dec!(200), dec!(100), dec!(100), dec!(50)]),
        dec!(0.70)
    );
}

#[test]
fn a6_graduated_percentage() {
    let model = PriceModel::GraduatedPercentage {
        tiers: vec![
            PercentTier::to(dec!(10), dec!(1)).with_flat_fee(dec!(200)),
            PercentTier::to(dec!(20), dec!(2)).with_flat_fee(dec!(300)),
            PercentTier::above(dec!(3)).with_flat_fee(dec!(400)),
        ],
    };
    assert_eq!(amount(&model, dec!(0)), dec!(200));
    assert_eq!(amount(&model, dec!(1)), dec!(200.01));
}

/// A7 tiers: minutes in blocks of 10 (100 blocks = 1000 minutes in tier 1), Mbytes per unit.
fn a7_minutes(tiers: fn(Vec<Tier>) -> PriceModel) -> PriceModel {
    tiers(vec![
        Tier::to(dec!(1000), dec!(1.00)).with_block_size(dec!(10)),
        Tier::above(dec!(0.50)).with_block_size(dec!(10)),
    ])
}

fn a7_megabytes(tiers: fn(Vec<Tier>) -> PriceModel) -> PriceModel {
    tiers(vec![
        Tier::to(dec!(1024), dec!(0.50)),
        Tier::above(dec!(0.10)),
    ])
}

fn graduated(tiers: Vec<Tier>) -> PriceModel {
    PriceModel::Graduated { tiers }
}

fn volume(tiers: Vec<Tier>) -> PriceModel {
    PriceModel::Volume { tiers }
}

#[test]
fn a7_kill_bill_all_tiers_is_graduated() {
    let minutes = amount(&a7_minutes(graduated), dec!(1500));
    let megabytes = amount(&a7_megabytes(graduated), dec!(2048));
    assert_eq!(minutes, dec!(125));
    assert_eq!(megabytes, dec!(614.4));
    assert_eq!(minutes + megabytes, dec!(739.4));
    let lines = a7_minutes(graduated).rate(dec!(1500)).unwrap().lines;
    assert_eq!(
        lines.iter().map(|l| l.billed_quantity).collect::<Vec<_>>(),
        vec![dec!(100), dec!(50)],
        "billed in blocks of 10 minutes"
    );
}

#[test]
fn a7_kill_bill_top_tier_is_volume() {
    let minutes = amount(&a7_minutes(volume), dec!(1500));
    let megabytes = amount(&a7_megabytes(volume), dec!(2048));
    assert_eq!(minutes, dec!(75));
    assert_eq!(megabytes, dec!(204.8));
    assert_eq!(minutes + megabytes, dec!(279.8));
}

/// A8: $30 a month recurring plus water at $1.50/L up to 1000 L, then $2.00/L.
fn water(tiers: fn(Vec<Tier>) -> PriceModel) -> PriceModel {
    tiers(vec![
        Tier::to(dec!(1000), dec!(1.50)),
        Tier::above(dec!(2.00)),
    ])
}

const RECURRING: PriceModel = PriceModel::Flat { amount: dec!(30) };

#[test]
fn a8_water_all_tiers() {
    let month = |litres| amount(&RECURRING, litres) + amount(&water(graduated), litres);
    assert_eq!(month(dec!(400)), dec!(630));
    assert_eq!(month(dec!(1200)), dec!(1930));
}

#[test]
fn a8_water_top_tier() {
    assert_eq!(
        amount(&RECURRING, dec!(1200)) + amount(&water(volume), dec!(1200)),
        dec!(2430)
    );
}

#[test]
fn a8_water_capacity_variant() {
    let capacity = PriceModel::StairStep {
        steps: vec![
            Step::to(dec!(1000), dec!(750)),
            Step::to(dec!(10000), dec!(500)),
        ],
    };
    let month = |litres| amount(&RECURRING, litres) + amount(&capacity, litres);
    assert_eq!(month(dec!(400)), dec!(780));
    assert_eq!(month(dec!(1200)), dec!(530));
}

#[test]
fn a9_capacity_two_units_the_max_defines_the_tier() {
    let capacity = Capacity {
        tiers: vec![
            CapacityTier {
                limits: vec![Some(dec!(100)), Some(dec!(10))],
                amount: dec!(1),
            },
            CapacityTier {
                limits: vec![Some(dec!(500)), Some(dec!(50))],
                amount: dec!(5),
            },
            CapacityTier {
                limits: vec![None, None],
                amount: dec!(10),
            },
        ],
    };
    capacity.validate().unwrap();
    // [bandwidth, max members]; bandwidth stays in tier 1, members decide.
    for (month, members, expected) in [
        ("Jan 2015", dec!(10), dec!(1.00)),
        ("Feb 2015", dec!(50), dec!(5.00)),
        ("Mar 2015", dec!(51), dec!(10.00)),
    ] {
        let rating = checked(capacity.rate(&[dec!(20), members]).unwrap());
        assert_eq!(rating.amount, expected, "{month}");
    }
    // Either dimension can push the usage up a tier.
    assert_eq!(
        capacity.amount_for(&[dec!(101), dec!(1)]).unwrap(),
        (1, dec!(5))
    );
}

#[test]
fn a10_recurring_plus_usage() {
    let videos = graduated(vec![Tier::to(dec!(5), dec!(2)), Tier::above(dec!(1))]);
    assert_eq!(amount(&RECURRING, dec!(13)), dec!(30));
    assert_eq!(amount(&videos, dec!(13)), dec!(18));
}

#[test]
fn price_minimum_adds_a_true_up_line() {
    let price = Price::new(PriceModel::PerUnit {
        unit_amount: dec!(0.5),
    })
    .with_minimum(dec!(10));
    price.validate().unwrap();
    let low = checked(price.rate(dec!(4)).unwrap());
    assert_eq!(low.amount, dec!(10));
    assert_eq!(low.lines[1].kind, LineKind::MinimumTrueUp);
    assert_eq!(low.lines[1].amount, dec!(8));
    assert_eq!(price.amount_for(dec!(4)).unwrap(), dec!(10));
    let high = checked(price.rate(dec!(40)).unwrap());
    assert_eq!((high.amount, high.lines.len()), (dec!(20), 1));
    assert_eq!(price.amount_for(dec!(40)).unwrap(), dec!(20));
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn august() -> Window {
    Window::new(at("2023-08-01T00:00:00Z"), at("2023-09-01T00:00:00Z")).unwrap()
}

fn single(metric: &Metric, events: &[Event<'_>]) -> Decimal {
    let groups = aggregate(metric, august(), events).unwrap();
    assert_eq!(groups.len(), 1);
    groups[0].value
}

#[test]
fn a11_aggregation_types_on_the_same_events() {
    let user = [("tracked_user_id", "user-1")];
    let events = [
        Event {
            timestamp: at("2023-08-02T10:00:00Z"),
            value: dec!(10),
            properties: &user,
        },
        Event {
            timestamp: at("2023-08-03T10:00:00Z"),
            value: dec!(20),
            properties: &user,
        },
    ];
    assert_eq!(single(&Metric::new(Aggregation::Count), &events), dec!(2));
    assert_eq!(single(&Metric::new(Aggregation::Sum), &events), dec!(30));
    assert_eq!(single(&Metric::new(Aggregation::Max), &events), dec!(20));
    let unique = Aggregation::UniqueCount {
        property: "tracked_user_id".into(),
    };
    assert_eq!(single(&Metric::new(unique), &events), dec!(1));
    assert_eq!(single(&Metric::new(Aggregation::Latest), &events), dec!(20));
}

fn increment<'a>(time: &str, value: Decimal, properties: &'a [(&'a str, &'a str)]) -> Event<'a> {
    Event {
        timestamp: at(&format!("2023-08-01T{time}:00Z")),
        value,
        properties,
    }
}

#[test]
fn a12_weighted_sum() {
    let events = [
        increment("00:00", dec!(2), &[]),
        increment("01:00", dec!(3), &[]),
        increment("01:30", dec!(1), &[]),
        increment("02:00", dec!(-4), &[]),
        increment("04:00", dec!(-2), &[]),
        increment("05:00", dec!(10), &[]),
        increment("05:30", dec!(-10), &[]),
    ];
    let value = single(&Metric::new(Aggregation::WeightedSum), &events);
    // 16.5 unit-hours over 744 hours.
    assert_eq!(value.round_dp(5), dec!(0.02218));
    assert_eq!(
        (value * dec!(744)).round_dp(20),
        dec!(16.5),
        "the integral is exact"
    );
}

#[test]
fn a12_weighted_sum_of_one_event_at_the_start() {
    let events = [increment("00:00", dec!(1000), &[])];
    assert_eq!(
        single(&Metric::new(Aggregation::WeightedSum), &events),
        dec!(1000)
    );
}

#[test]
fn a12_weighted_sum_per_group() {
    let eu: &[(&str, &str)] = &[("region", "eu")];
    let us: &[(&str, &str)] = &[("region", "us")];
    let events = [
        increment("00:00", dec!(2), eu),
        increment("01:00", dec!(3), us),
        increment("02:00", dec!(-1), eu),
    ];
    let metric = Metric::new(Aggregation::WeightedSum).group_by("region");
    let groups = aggregate(&metric, august(), &events).unwrap();
    let values: Vec<_> = groups
        .iter()
        .map(|g| (g.key.clone(), g.value.round_dp(5), g.events))
        .collect();
    assert_eq!(
        values,
        vec![
            (vec![Some("eu")], dec!(1.00269), 2),
            (vec![Some("us")], dec!(2.99597), 1),
        ]
    );
}

#[test]
fn filters_keep_events_with_an_allowed_value() {
    let eu: &[(&str, &str)] = &[("region", "eu"), ("tier", "gold")];
    let us: &[(&str, &str)] = &[("region", "us"), ("tier", "gold")];
    let bare: &[(&str, &str)] = &[];
    let events = [
        increment("00:00", dec!(1), eu),
        increment("01:00", dec!(2), us),
        increment("02:00", dec!(4), bare),
        // Outside the window: ignored.
        Event {
            timestamp: at("2023-09-01T00:00:00Z"),
            value: dec!(8),
            properties: eu,
        },
    ];
    let sum = |metric: Metric| single(&metric, &events);
    assert_eq!(sum(Metric::new(Aggregation::Sum)), dec!(7));
    assert_eq!(
        sum(Metric::new(Aggregation::Sum).filter("region", &["eu", "us"])),
        dec!(3)
    );
    assert_eq!(
        sum(Metric::new(Aggregation::Sum)
            .filter("region", &["us"])
            .filter("tier", &["gold"])),
        dec!(2)
    );
    assert_eq!(
        sum(Metric::new(Aggregation::Sum).filter("region", &["apac"])),
        dec!(0)
    );
    let by_two = Metric::new(Aggregation::Count)
        .group_by("tier")
        .group_by("region");
    let groups = aggregate(&by_two, august(), &events).unwrap();
    let keys: Vec<_> = groups.iter().map(|g| (g.key.clone(), g.value)).collect();
    assert_eq!(
        keys,
        vec![
            (vec![None, None], dec!(1)),
            (vec![Some("gold"), Some("eu")], dec!(1)),
            (vec![Some("gold"), Some("us")], dec!(1)),
        ]
    );
}
