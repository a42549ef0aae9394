//! Model validation names the offending element, and rating refuses what it cannot
//! price instead of guessing.

use jiff::Timestamp;
use quoin_core::rating::{
    AggregationError, Capacity, CapacityTier, FieldPath, PathSegment, PercentTier, Price,
    PriceModel, Problem, RatingError, Step, Tier, Window,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// The validation messages, in order.
fn problems(model: &PriceModel) -> Vec<String> {
    match model.validate() {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

fn graduated(tiers: Vec<Tier>) -> PriceModel {
    PriceModel::Graduated { tiers }
}

#[test]
fn tiers_must_ascend_strictly() {
    let model = graduated(vec![
        Tier::to(dec!(5), dec!(1)),
        Tier::to(dec!(10), dec!(1)),
        Tier::to(dec!(10), dec!(1)),
        Tier::above(dec!(1)),
    ]);
    assert_eq!(
        problems(&model),
        ["tiers[2].up_to: must be greater than the previous tier's 10"]
    );
}

#[test]
fn the_last_tier_must_be_unbounded_and_only_the_last() {
    let model = PriceModel::Volume {
        tiers: vec![Tier::above(dec!(1)), Tier::to(dec!(20), dec!(1))],
    };
    assert_eq!(
        problems(&model),
        [
            "tiers[0].up_to: must be set: only the last tier may be unbounded",
            "tiers[1].up_to: must be unbounded (no up_to) on the last tier, got 20",
        ]
    );
}

#[test]
fn tiers_must_exist() {
    assert_eq!(
        problems(&graduated(vec![])),
        ["tiers: must have at least one element"]
    );
}

#[test]
fn tier_amounts_and_block_sizes() {
    let model = graduated(vec![
        Tier::to(dec!(-1), dec!(-2)).with_flat_fee(dec!(-3)),
        Tier::above(dec!(1)).with_block_size(dec!(0)),
    ]);
    assert_eq!(
        problems(&model),
        [
            "tiers[0].up_to: must not be negative, got -1",
            "tiers[0].unit_amount: must not be negative, got -2",
            "tiers[0].flat_fee: must not be negative, got -3",
            "tiers[1].block_size: must be greater than zero, got 0",
        ]
    );
}

#[test]
fn errors_are_structured_for_the_catalog_to_prefix() {
    let model = graduated(vec![
        Tier::to(dec!(10), dec!(1)),
        Tier::to(dec!(10), dec!(1)),
        Tier::above(dec!(1)),
    ]);
    let errors = model.validate().unwrap_err();
    let first = &errors.0[0];
    assert_eq!(first.path, FieldPath::element("tiers", 1, "up_to"));
    assert_eq!(
        first.path.segments(),
        [
            PathSegment::Field("tiers"),
            PathSegment::Index(1),
            PathSegment::Field("up_to")
        ]
    );
    assert_eq!(first.problem, Problem::NotAscending(dec!(10)));
    assert_eq!(
        format!("charges[0].price.{first}"),
        "charges[0].price.tiers[1].up_to: must be greater than the previous tier's 10"
    );
}

#[test]
fn package_and_overage() {
    let package = PriceModel::Package {
        block_size: dec!(0),
        block_amount: dec!(-5),
        free_units: dec!(-1),
    };
    assert_eq!(
        problems(&package),
        [
            "block_size: must be greater than zero, got 0",
            "block_amount: must not be negative, got -5",
            "free_units: must not be negative, got -1",
        ]
    );
    let overage = PriceModel::Overage {
        included: dec!(-1),
        unit_amount: dec!(1),
    };
    assert_eq!(
        problems(&overage),
        ["included: must not be negative, got -1"]
    );
    assert_eq!(
        problems(&PriceModel::Flat { amount: dec!(-1) }),
        ["amount: must not be negative, got -1"]
    );
}

fn percentage(rate: Decimal, min: Option<Decimal>, max: Option<Decimal>) -> PriceModel {
    PriceModel::Percentage {
        rate_percent: rate,
        fixed_fee_per_event: dec!(0),
        free_events: None,
        free_amount: None,
        per_event_min: min,
        per_event_max: max,
    }
}

#[test]
fn percentage_rate_and_clamps() {
    assert_eq!(
        problems(&percentage(dec!(100.01), None, None)),
        ["rate_percent: must be between 0 and 100, got 100.01"]
    );
    assert_eq!(
        problems(&percentage(dec!(-1), None, None)),
        ["rate_percent: must be between 0 and 100, got -1"]
    );
    assert_eq!(
        problems(&percentage(dec!(100), Some(dec!(12.5)), Some(dec!(12)))),
        ["per_event_min: must not exceed per_event_max 12"]
    );
    assert!(problems(&percentage(dec!(0), Some(dec!(12)), Some(dec!(12)))).is_empty());
    let tiers = PriceModel::GraduatedPercentage {
        tiers: vec![
            PercentTier::to(dec!(10), dec!(1)),
            PercentTier::above(dec!(101)),
        ],
    };
    assert_eq!(
        problems(&tiers),
        ["tiers[1].rate_percent: must be between 0 and 100, got 101"]
    );
}

#[test]
fn steps_may_end_bounded_but_must_ascend() {
    let bounded = PriceModel::StairStep {
        steps: vec![
            Step::to(dec!(1000), dec!(750)),
            Step::to(dec!(10000), dec!(500)),
        ],
    };
    assert!(problems(&bounded).is_empty());
    assert_eq!(
        bounded.amount_for(dec!(10001)),
        Err(RatingError::Uncovered(dec!(10001)))
    );
    let unordered = PriceModel::StairStep {
        steps: vec![Step::to(dec!(10), dec!(1)), Step::to(dec!(5), dec!(-1))],
    };
    assert_eq!(
        problems(&unordered),
        [
            "steps[1].up_to: must be greater than the previous tier's 10",
            "steps[1].amount: must not be negative, got -1",
        ]
    );
}

#[test]
fn price_minimum() {
    let price = Price::new(PriceModel::Flat { amount: dec!(1) }).with_minimum(dec!(-1));
    let errors = price.validate().unwrap_err();
    assert_eq!(errors.to_string(), "minimum: must not be negative, got -1");
}

#[test]
fn all_problems_are_reported_together() {
    let model = graduated(vec![
        Tier::to(dec!(10), dec!(-1)),
        Tier::to(dec!(5), dec!(1)),
    ]);
    let errors = model.validate().unwrap_err();
    assert_eq!(
        errors.to_string(),
        "tiers[1].up_to: must be greater than the previous tier's 10; \
         tiers[1].up_to: must be unbounded (no up_to) on the last tier, got 5; \
         tiers[0].unit_amount: must not be negative, got -1"
    );
}

fn capacity(tiers: Vec<(Vec<Option<Decimal>>, Decimal)>) -> Capacity {
    Capacity {
        tiers: tiers
            .into_iter()
            .map(|(limits, amount)| CapacityTier { limits, amount })
            .collect(),
    }
}

#[test]
fn capacity_tiers() {
    let bad = capacity(vec![
        (vec![Some(dec!(100)), Some(dec!(10))], dec!(1)),
        (vec![Some(dec!(90)), Some(dec!(50))], dec!(5)),
        (vec![Some(dec!(90)), Some(dec!(50))], dec!(6)),
        (vec![None], dec!(10)),
    ]);
    let messages: Vec<String> = bad
        .validate()
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        messages,
        [
            "tiers[1].limits[0]: must not be below the previous tier's 100",
            "tiers[2].limits: must raise at least one limit above the previous tier's, or the tier is never used",
            "tiers[3].limits: must have 2 limits like the first tier, got 1",
        ]
    );
    let after_unbounded = capacity(vec![
        (vec![None, Some(dec!(10))], dec!(1)),
        (vec![Some(dec!(5)), Some(dec!(20))], dec!(2)),
    ]);
    assert_eq!(
        after_unbounded.validate().unwrap_err().to_string(),
        "tiers[1].limits[0]: must be unbounded like the previous tier's"
    );
    let bounded = capacity(vec![(vec![Some(dec!(10))], dec!(1))]);
    bounded.validate().unwrap();
    assert_eq!(
        bounded.amount_for(&[dec!(11)]),
        Err(RatingError::AboveCapacity)
    );
    assert_eq!(
        bounded.amount_for(&[dec!(1), dec!(1)]),
        Err(RatingError::Dimensions {
            expected: 1,
            got: 2
        })
    );
}

#[test]
fn rating_refuses_what_it_cannot_price() {
    let per_unit = PriceModel::PerUnit {
        unit_amount: dec!(1),
    };
    assert_eq!(
        per_unit.amount_for(dec!(-1)),
        Err(RatingError::NegativeQuantity(dec!(-1)))
    );
    assert_eq!(
        per_unit.rate(dec!(-0.5)),
        Err(RatingError::NegativeQuantity(dec!(-0.5)))
    );
    assert_eq!(
        per_unit.rate_events(&[dec!(1)]),
        Err(RatingError::AggregateBased)
    );
    let pct = percentage(dec!(1), None, None);
    assert!(pct.is_event_based() && !per_unit.is_event_based());
    assert_eq!(pct.amount_for(dec!(1)), Err(RatingError::EventBased));
    assert_eq!(pct.rate(dec!(1)), Err(RatingError::EventBased));
    assert_eq!(
        pct.rate_events(&[dec!(1), dec!(-2)]),
        Err(RatingError::NegativeEvent {
            index: 1,
            amount: dec!(-2)
        })
    );
    // An unvalidated zero block size is an error, not a panic.
    let broken = PriceModel::Package {
        block_size: dec!(0),
        block_amount: dec!(1),
        free_units: dec!(0),
    };
    assert_eq!(broken.amount_for(dec!(1.5)), Err(RatingError::Arithmetic));
    let huge = PriceModel::PerUnit {
        unit_amount: Decimal::MAX,
    };
    assert_eq!(huge.amount_for(dec!(2)), Err(RatingError::Arithmetic));
}

#[test]
fn windows_must_not_be_empty() {
    let t: Timestamp = "2023-08-01T00:00:00Z".parse().unwrap();
    assert_eq!(
        Window::new(t, t),
        Err(AggregationError::EmptyWindow { start: t, end: t })
    );
}
