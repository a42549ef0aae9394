//! Voice CDR rating throughput: 1,000,000 pre-generated calls through `VoicePlan::rate`
//! against a plan of 20,000 destination prefixes (1 to 8 digits, nested, so the longest
//! match is exercised) and three time bands, in the Europe/London zone. Next to it, the
//! prefix lookup alone with the same plan size. Results go in docs/benchmarks.md.
//!
//! cargo bench -p quoin-core --bench voice -- --warm-up-time 1 --measurement-time 5

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jiff::{tz::TimeZone, Timestamp};
use quoin_core::money::Currency;
use quoin_core::rating::voice::{
    BandWindow, Call, Destination, Increment, TimeBand, VoicePlan, Weekdays,
};
use rust_decimal::Decimal;

const CALLS: usize = 1_000_000;
const PREFIXES: usize = 20_000;

/// A fixed-seed 64-bit LCG, so every run rates the same calls.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }
}

fn plan(rng: &mut Lcg) -> (VoicePlan, Vec<String>) {
    let bands = vec![
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
    ];
    let mut prefixes = std::collections::BTreeSet::new();
    while prefixes.len() < PREFIXES {
        let len = 1 + (rng.next() % 8) as u32;
        prefixes.insert(format!(
            "{:0width$}",
            rng.next() % 10u64.pow(len),
            width = len as usize
        ));
    }
    let increments = [
        Increment::new(60, 60),
        Increment::new(30, 6),
        Increment::new(1, 1),
    ];
    let prefixes: Vec<String> = prefixes.into_iter().collect();
    let destinations = prefixes
        .iter()
        .enumerate()
        .map(|(i, prefix)| Destination {
            code: format!("d{i}"),
            prefixes: vec![prefix.clone()],
            increment: increments[i % 3],
            connection_fee: Decimal::new((i % 5) as i64, 2),
            minimum_charge: Decimal::new((i % 4) as i64 * 5, 2),
            rates: vec![
                ("peak".into(), Decimal::new(100 + (i % 900) as i64, 4)),
                ("offpeak".into(), Decimal::new(50 + (i % 400) as i64, 4)),
                ("weekend".into(), Decimal::new(20 + (i % 200) as i64, 4)),
            ],
        })
        .collect();
    let currency = Currency::parse("EUR").unwrap();
    (
        VoicePlan::new(currency, bands, destinations).unwrap(),
        prefixes,
    )
}

/// Numbers extend a random prefix of the plan to 11–12 digits, so every call matches.
fn calls(rng: &mut Lcg, prefixes: &[String]) -> Vec<(String, Timestamp, i64)> {
    let start: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    (0..CALLS)
        .map(|_| {
            let mut number = prefixes[(rng.next() % PREFIXES as u64) as usize].clone();
            while number.len() < 11 + (rng.next() % 2) as usize {
                number.push(char::from(b'0' + (rng.next() % 10) as u8));
            }
            let at = start
                .checked_add(jiff::SignedDuration::from_secs(
                    (rng.next() % (30 * 86_400)) as i64,
                ))
                .unwrap();
            (number, at, (rng.next() % 1_800) as i64)
        })
        .collect()
}

fn voice(c: &mut Criterion) {
    let mut rng = Lcg(0x9E37_79B9_7F4A_7C15);
    let (plan, prefixes) = plan(&mut rng);
    let calls = calls(&mut rng, &prefixes);
    let tz = TimeZone::get("Europe/London").unwrap();

    let mut group = c.benchmark_group("voice_1m_calls");
    group.throughput(Throughput::Elements(CALLS as u64));
    group.sample_size(10);
    group.bench_function("rate_20k_prefixes", |b| {
        b.iter(|| {
            for (number, start, seconds) in &calls {
                let call = Call {
                    number,
                    start: *start,
                    duration_seconds: *seconds,
                };
                black_box(plan.rate(black_box(&call), &tz).unwrap());
            }
        })
    });
    // The part of a rating that is local-time conversion alone, for comparison.
    group.bench_function("baseline_to_local_time", |b| {
        b.iter(|| {
            for (_, start, _) in &calls {
                black_box(tz.to_datetime(black_box(*start)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, voice);
criterion_main!(benches);
