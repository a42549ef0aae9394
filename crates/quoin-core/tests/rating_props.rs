//! Property tests of the rating engine over random valid models and quantities.

use proptest::prelude::*;
use quoin_core::rating::{PercentTier, PriceModel, Rating, Step, Tier};
use rust_decimal::Decimal;

/// A non-negative decimal with up to `max_scale` places.
fn amount(max: i64, max_scale: u32) -> impl Strategy<Value = Decimal> {
    (0..=max, 0..=max_scale).prop_map(|(m, s)| Decimal::new(m, s))
}

fn positive(max: i64, max_scale: u32) -> impl Strategy<Value = Decimal> {
    (1..=max, 0..=max_scale).prop_map(|(m, s)| Decimal::new(m, s))
}

/// A percentage in [0, 100] with up to 3 places.
fn rate() -> impl Strategy<Value = Decimal> {
    (0..=100_000i64).prop_map(|m| Decimal::new(m, 3))
}

fn quantity() -> impl Strategy<Value = Decimal> {
    amount(100_000_000, 4)
}

/// Bounds built from positive increments, so they ascend strictly; the last is `None`.
fn bounds(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Option<Decimal>>> {
    prop::collection::vec(positive(1_000_000, 3), n).prop_map(|increments| {
        let mut bound = Decimal::ZERO;
        let last = increments.len() - 1;
        increments
            .into_iter()
            .enumerate()
            .map(|(i, step)| {
                bound += step;
                (i < last).then_some(bound)
            })
            .collect()
    })
}

fn tiers(with_blocks: bool) -> impl Strategy<Value = Vec<Tier>> {
    bounds(1..6).prop_flat_map(move |bounds| {
        let n = bounds.len();
        let block = if with_blocks {
            prop::option::of(positive(100, 2)).boxed()
        } else {
            Just(None).boxed()
        };
        (
            Just(bounds),
            prop::collection::vec((amount(10_000, 4), amount(10_000, 2), block), n),
        )
            .prop_map(|(bounds, prices)| {
                bounds
                    .into_iter()
                    .zip(prices)
                    .map(|(up_to, (unit_amount, flat_fee, block_size))| Tier {
                        up_to,
                        unit_amount,
                        flat_fee,
                        block_size,
                    })
                    .collect()
            })
    })
}

fn percent_tiers() -> impl Strategy<Value = Vec<PercentTier>> {
    bounds(1..5).prop_flat_map(|bounds| {
        let n = bounds.len();
        (
            Just(bounds),
            prop::collection::vec((rate(), amount(1_000, 2)), n),
        )
            .prop_map(|(bounds, rates)| {
                bounds
                    .into_iter()
                    .zip(rates)
                    .map(|(up_to, (rate_percent, flat_fee))| PercentTier {
                        up_to,
                        rate_percent,
                        flat_fee,
                    })
                    .collect()
            })
    })
}

fn package() -> impl Strategy<Value = PriceModel> {
    (positive(1_000, 2), amount(10_000, 2), amount(1_000, 2)).prop_map(
        |(block_size, block_amount, free_units)| PriceModel::Package {
            block_size,
            block_amount,
            free_units,
        },
    )
}

/// Every aggregate-based model, valid by construction.
fn aggregate_model() -> impl Strategy<Value = PriceModel> {
    prop_oneof![
        amount(1_000_000, 2).prop_map(|amount| PriceModel::Flat { amount }),
        amount(1_000_000, 6).prop_map(|unit_amount| PriceModel::PerUnit { unit_amount }),
        tiers(true).prop_map(|tiers| PriceModel::Graduated { tiers }),
        tiers(true).prop_map(|tiers| PriceModel::Volume { tiers }),
        package(),
        percent_tiers().prop_map(|tiers| PriceModel::GraduatedPercentage { tiers }),
        (amount(10_000, 2), amount(10_000, 4)).prop_map(|(included, unit_amount)| {
            PriceModel::Overage {
                included,
                unit_amount,
            }
        }),
        (bounds(1..5), prop::collection::vec(amount(10_000, 2), 5)).prop_map(
            |(bounds, amounts)| {
                PriceModel::StairStep {
                    steps: bounds
                        .into_iter()
                        .zip(amounts)
                        .map(|(up_to, amount)| Step { up_to, amount })
                        .collect(),
                }
            }
        ),
    ]
}

fn percentage_model() -> impl Strategy<Value = PriceModel> {
    (
        rate(),
        amount(1_000, 2),
        prop::option::of(0u64..6),
        prop::option::of(amount(100_000, 2)),
        prop::option::of(amount(100, 2)),
        prop::option::of(amount(100, 2)),
    )
        .prop_map(|(rate, fee, free_events, free_amount, a, b)| {
            let (per_event_min, per_event_max) = match (a, b) {
                (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                other => other,
            };
            PriceModel::Percentage {
                rate_percent: rate,
                fixed_fee_per_event: fee,
                free_events,
                free_amount,
                per_event_min,
                per_event_max,
            }
        })
}

fn assert_breakdown(rating: &Rating) -> Result<(), TestCaseError> {
    let sum: Decimal = rating.lines.iter().map(|l| l.amount).sum();
    prop_assert_eq!(sum, rating.amount);
    for line in &rating.lines {
        prop_assert_eq!(
            line.amount,
            line.billed_quantity * line.unit_amount + line.flat_fee
        );
        prop_assert!(line.amount >= Decimal::ZERO);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_models_are_valid(model in aggregate_model()) {
        prop_assert!(model.validate().is_ok(), "{:?}", model.validate());
    }

    #[test]
    fn amounts_are_never_negative_and_lines_sum_to_the_amount(
        model in aggregate_model(),
        q in quantity(),
    ) {
        match model.rate(q) {
            Ok(rating) => {
                prop_assert!(rating.amount >= Decimal::ZERO);
                assert_breakdown(&rating)?;
                prop_assert_eq!(model.amount_for(q).unwrap(), rating.amount);
            }
            // Only a bounded last step may refuse a quantity.
            Err(e) => {
                prop_assert!(matches!(model, PriceModel::StairStep { .. }), "{e}");
                prop_assert!(model.amount_for(q).is_err());
            }
        }
    }

    /// Quantities with many places or digits push the exact i128 bulk path past what a
    /// Decimal can hold; its fallback must still agree with the breakdown path.
    #[test]
    fn bulk_path_agrees_with_breakdown_on_wide_decimals(
        model in aggregate_model(),
        mantissa in 0..i64::MAX,
        scale in 0u32..=24,
    ) {
        let q = Decimal::new(mantissa, scale);
        match (model.amount_for(q), model.rate(q)) {
            (Ok(amount), Ok(rating)) => prop_assert_eq!(amount, rating.amount),
            (fast, slow) => prop_assert_eq!(fast.err(), slow.err()),
        }
    }

    #[test]
    fn graduated_is_monotone(tiers in tiers(true), a in quantity(), b in quantity()) {
        let model = PriceModel::Graduated { tiers };
        let (low, high) = (a.min(b), a.max(b));
        prop_assert!(model.amount_for(low).unwrap() <= model.amount_for(high).unwrap());
    }

    #[test]
    fn graduated_percentage_is_monotone(tiers in percent_tiers(), a in quantity(), b in quantity()) {
        let model = PriceModel::GraduatedPercentage { tiers };
        let (low, high) = (a.min(b), a.max(b));
        prop_assert!(model.amount_for(low).unwrap() <= model.amount_for(high).unwrap());
    }

    #[test]
    fn package_is_monotone(model in package(), a in quantity(), b in quantity()) {
        let (low, high) = (a.min(b), a.max(b));
        prop_assert!(model.amount_for(low).unwrap() <= model.amount_for(high).unwrap());
    }

    /// At each bound, and just above it, volume prices all units at one tier.
    #[test]
    fn volume_equals_the_single_tier_price_at_boundaries(tiers in tiers(false)) {
        let model = PriceModel::Volume { tiers: tiers.clone() };
        for (i, tier) in tiers.iter().enumerate() {
            let Some(bound) = tier.up_to else { continue };
            prop_assert_eq!(
                model.amount_for(bound).unwrap(),
                bound * tier.unit_amount + tier.flat_fee
            );
            let above = bound + Decimal::new(1, 4);
            let next = &tiers[i + 1];
            prop_assert_eq!(
                model.amount_for(above).unwrap(),
                above * next.unit_amount + next.flat_fee
            );
        }
    }

    #[test]
    fn graduated_at_a_bound_is_the_sum_of_full_tiers(tiers in tiers(false), pick in 0usize..5) {
        let model = PriceModel::Graduated { tiers: tiers.clone() };
        let i = pick % tiers.len();
        let Some(bound) = tiers[i].up_to else { return Ok(()) };
        let mut lower = Decimal::ZERO;
        let mut expected = Decimal::ZERO;
        for tier in &tiers[..=i] {
            let up = tier.up_to.unwrap();
            expected += (up - lower) * tier.unit_amount + tier.flat_fee;
            lower = up;
        }
        prop_assert_eq!(model.amount_for(bound).unwrap(), expected);
    }

    #[test]
    fn percentage_is_non_negative_and_lines_sum(
        model in percentage_model(),
        events in prop::collection::vec(amount(1_000_000, 2), 0..20),
    ) {
        prop_assert!(model.validate().is_ok());
        let rating = model.rate_events(&events).unwrap();
        prop_assert!(rating.amount >= Decimal::ZERO);
        assert_breakdown(&rating)?;
    }

    /// More events never cost less.
    #[test]
    fn percentage_grows_with_events(
        model in percentage_model(),
        events in prop::collection::vec(amount(1_000_000, 2), 1..20),
    ) {
        let fewer = model.rate_events(&events[..events.len() - 1]).unwrap().amount;
        let all = model.rate_events(&events).unwrap().amount;
        prop_assert!(fewer <= all);
    }
}
