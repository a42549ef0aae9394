//! Bulk rating throughput: 1,000,000 pre-generated aggregated quantities through the
//! allocation-free `PriceModel::amount_for`, per model and as a mix, next to a baseline
//! of one Decimal multiplication per quantity. Results go in docs/benchmarks.md.
//!
//! cargo bench -p quoin-core --bench rating -- --warm-up-time 1 --measurement-time 5

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use quoin_core::rating::{PriceModel, Step, Tier};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const N: usize = 1_000_000;

/// Deterministic quantities from a 64-bit LCG (no random-number crate needed): sizes
/// spread over six orders of magnitude so every tier is visited; three in four are
/// whole numbers (calls, minutes), one in four has two decimals (GB, hours).
fn quantities() -> Vec<Decimal> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..N)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let r = state >> 11;
            let magnitude = 10u64.pow(1 + (r % 6) as u32);
            let units = i64::try_from((r >> 3) % magnitude).unwrap();
            if (r >> 40) & 3 == 0 {
                Decimal::new(units, 2)
            } else {
                Decimal::from(units)
            }
        })
        .collect()
}

fn models() -> Vec<(&'static str, PriceModel)> {
    vec![
        (
            "per_unit",
            PriceModel::PerUnit {
                unit_amount: dec!(0.0123),
            },
        ),
        (
            "graduated_3",
            PriceModel::Graduated {
                tiers: vec![
                    Tier::to(dec!(1000), dec!(0.05)),
                    Tier::to(dec!(100000), dec!(0.03)),
                    Tier::above(dec!(0.01)),
                ],
            },
        ),
        (
            "graduated_5",
            PriceModel::Graduated {
                tiers: vec![
                    Tier::to(dec!(100), dec!(0)).with_flat_fee(dec!(5)),
                    Tier::to(dec!(1000), dec!(0.10)),
                    Tier::to(dec!(10000), dec!(0.80)).with_block_size(dec!(10)),
                    Tier::to(dec!(100000), dec!(0.05)).with_flat_fee(dec!(20)),
                    Tier::above(dec!(0.02)),
                ],
            },
        ),
        (
            "volume_4",
            PriceModel::Volume {
                tiers: vec![
                    Tier::to(dec!(10000), dec!(0.0010)).with_flat_fee(dec!(10)),
                    Tier::to(dec!(50000), dec!(0.0008)).with_flat_fee(dec!(10)),
                    Tier::to(dec!(100000), dec!(0.0006)).with_flat_fee(dec!(10)),
                    Tier::above(dec!(0.0004)).with_flat_fee(dec!(10)),
                ],
            },
        ),
        (
            "package",
            PriceModel::Package {
                block_size: dec!(100),
                block_amount: dec!(5),
                free_units: dec!(100),
            },
        ),
        (
            "stair_step_4",
            PriceModel::StairStep {
                steps: vec![
                    Step::to(dec!(1000), dec!(10)),
                    Step::to(dec!(10000), dec!(50)),
                    Step::to(dec!(100000), dec!(200)),
                    Step::above(dec!(500)),
                ],
            },
        ),
        (
            "overage",
            PriceModel::Overage {
                included: dec!(1000),
                unit_amount: dec!(0.02),
            },
        ),
    ]
}

fn rating(c: &mut Criterion) {
    let quantities = quantities();
    let models = models();
    for (name, model) in &models {
        model.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let mut group = c.benchmark_group("rate_1m");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);

    let price = dec!(0.0123);
    group.bench_function("baseline_decimal_mul", |b| {
        b.iter(|| {
            for q in &quantities {
                black_box(black_box(*q) * price);
            }
        })
    });

    // Round-robin over the seven models, as a rating run over mixed subscriptions.
    group.bench_function("mix_amount_for", |b| {
        b.iter(|| {
            for (q, (_, model)) in quantities.iter().zip(models.iter().cycle()) {
                black_box(model.amount_for(black_box(*q)).unwrap());
            }
        })
    });

    for (name, model) in &models {
        group.bench_function(*name, |b| {
            b.iter(|| {
                for q in &quantities {
                    black_box(model.amount_for(black_box(*q)).unwrap());
                }
            })
        });
    }

    // For comparison only: the breakdown path allocates a Vec of lines per rating.
    group.bench_function("mix_rate_with_lines", |b| {
        b.iter(|| {
            for (q, (_, model)) in quantities.iter().zip(models.iter().cycle()) {
                black_box(model.rate(black_box(*q)).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, rating);
criterion_main!(benches);
