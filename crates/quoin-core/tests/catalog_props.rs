//! Property tests of the catalog: schedules respect dependencies exactly, ETL behaves as
//! the cancel date moves, terms and phases tile time without gaps or drift, and the
//! bundle check finds a cycle exactly when there is one.

use std::collections::HashMap;

use jiff::civil::{date, Date};
use jiff::Span;
use proptest::prelude::*;
use quoin_core::calendar::BillingPeriod;
use quoin_core::catalog::{
    effective_unit_amount, etl_amount, phase_at, phase_spans, renewal, validate_structure,
    Adjustment, CatalogProblem, Component, EndOfTerm, EtlPolicy, MacdAction, Phase, PhaseDuration,
    PhaseKind, ProductKind, ProductNode, TaskTemplate, Term, WorkOrderTemplate,
};
use rust_decimal::Decimal;

fn any_date() -> impl Strategy<Value = Date> {
    (2000i16..2040, 1i8..=12, 1i8..=31).prop_map(|(y, m, d)| {
        let first = date(y, m, 1);
        date(y, m, d.min(first.days_in_month()))
    })
}

fn plus_days(d: Date, days: i64) -> Date {
    d.checked_add(Span::new().days(days)).unwrap()
}

fn amount() -> impl Strategy<Value = Decimal> {
    (0i64..10_000_000, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s))
}

/// A DAG where task i may wait for any task before it, then shuffled so template order is
/// not a topological order.
fn dag_template() -> impl Strategy<Value = WorkOrderTemplate> {
    (1usize..12)
        .prop_flat_map(|n| {
            let tasks = prop::collection::vec(
                (
                    0u32..50,
                    any::<bool>(),
                    prop::collection::vec(any::<bool>(), n),
                ),
                n,
            );
            (tasks, Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        })
        .prop_map(|(tasks, order)| {
            let mut templates: Vec<TaskTemplate> = tasks
                .into_iter()
                .enumerate()
                .map(|(i, (hours, automated, edges))| TaskTemplate {
                    key: format!("t{i}"),
                    name: format!("task {i}"),
                    duration_hours: if automated { hours } else { hours + 1 },
                    role: "ops".into(),
                    automated,
                    depends_on: (0..i)
                        .filter(|&j| edges[j])
                        .map(|j| format!("t{j}"))
                        .collect(),
                })
                .collect();
            let mut shuffled = Vec::with_capacity(templates.len());
            for &i in &order {
                shuffled.push(std::mem::replace(
                    &mut templates[i],
                    TaskTemplate {
                        key: String::new(),
                        name: String::new(),
                        duration_hours: 0,
                        role: String::new(),
                        automated: true,
                        depends_on: Vec::new(),
                    },
                ));
            }
            WorkOrderTemplate {
                action: MacdAction::New,
                tasks: shuffled,
            }
        })
}

proptest! {
    #[test]
    fn schedule_is_the_longest_path(template in dag_template(), day in any_date()) {
        let start = day.at(8, 0, 0, 0);
        let plan = template.schedule(start).unwrap();
        prop_assert_eq!(plan.tasks.len(), template.tasks.len());
        let position: HashMap<&str, usize> = plan
            .tasks
            .iter()
            .enumerate()
            .map(|(pos, t)| (t.key.as_str(), pos))
            .collect();
        let mut latest_end = start;
        for (pos, planned) in plan.tasks.iter().enumerate() {
            let task = &template.tasks[planned.index];
            prop_assert_eq!(&planned.key, &task.key);
            let hours = i64::from(task.duration_hours);
            prop_assert_eq!(planned.end, planned.start.checked_add(Span::new().hours(hours)).unwrap());
            // Starts exactly when the last dependency ends (or at the start), never earlier.
            let mut ready = start;
            for dep in &task.depends_on {
                let d = &plan.tasks[position[dep.as_str()]];
                prop_assert!(position[dep.as_str()] < pos, "dependency listed after its task");
                prop_assert!(planned.start >= d.end);
                ready = ready.max(d.end);
            }
            prop_assert_eq!(planned.start, ready);
            latest_end = latest_end.max(planned.end);
        }
        prop_assert_eq!(plan.end, latest_end);
        let span = start.duration_until(plan.end).as_hours();
        prop_assert_eq!(u64::try_from(span).unwrap(), plan.span_hours);
    }

    #[test]
    fn etl_never_negative_and_never_grows_as_cancel_moves_later(
        start in any_date(),
        length in 1u32..=120,
        monthly in amount(),
        percent in (0i64..=10_000).prop_map(|m| Decimal::new(m, 2)),
        a in -60i64..3_800,
        b in -60i64..3_800,
    ) {
        let term = Term::new(start, length).unwrap();
        let (early, late) = (plus_days(start, a.min(b)), plus_days(start, a.max(b)));
        for policy in [
            EtlPolicy::RemainingMonths,
            EtlPolicy::PercentOfRemaining { percent },
        ] {
            let first = etl_amount(&policy, monthly, &term, early).unwrap();
            let second = etl_amount(&policy, monthly, &term, late).unwrap();
            prop_assert!(second >= Decimal::ZERO);
            prop_assert!(first >= second, "{:?}: {} then {}", policy, first, second);
            prop_assert!(first <= monthly * Decimal::from(length));
        }
    }

    #[test]
    fn remaining_months_counts_down_one_per_month(start in any_date(), length in 1u32..=120) {
        let term = Term::new(start, length).unwrap();
        let months = Decimal::from(length);
        prop_assert_eq!(term.remaining_months(start), months);
        prop_assert_eq!(term.remaining_months(plus_days(term.end(), -1)), Decimal::ONE);
        prop_assert_eq!(term.remaining_months(term.end()), Decimal::ZERO);
        // Day by day through the first two months, it drops by one at each boundary only.
        let mut previous = months;
        for offset in 0..62 {
            let left = term.remaining_months(plus_days(start, offset));
            prop_assert!(left == previous || left == previous - Decimal::ONE);
            previous = left;
        }
    }

    #[test]
    fn renewals_tile_time_without_drift(start in any_date(), rolls in 1u32..30) {
        let mut term = Term::new(start, 1).unwrap();
        for _ in 0..rolls {
            let next = renewal(&term, EndOfTerm::RollMonthToMonth).unwrap().unwrap();
            prop_assert_eq!(next.start(), term.end());
            term = next;
        }
        prop_assert_eq!(term.end(), Term::new(start, rolls + 1).unwrap().end());
    }

    #[test]
    fn phases_tile_time_and_never_charge_below_zero(
        start in any_date(),
        trial in 1u32..60,
        intro in 1u32..6,
        ramps in prop::collection::vec(amount(), 0..4),
        base in amount(),
        percent in (0i64..=100).prop_map(Decimal::from),
        probe in 0i64..3_000,
    ) {
        let mut plan = vec![
            Phase { kind: PhaseKind::Trial, duration: Some(PhaseDuration::Days(trial)), adjustment: Adjustment::Free },
            Phase { kind: PhaseKind::Introductory, duration: Some(PhaseDuration::Periods(intro)), adjustment: Adjustment::PercentOff(percent) },
        ];
        plan.extend(ramps.iter().map(|p| Phase {
            kind: PhaseKind::Ramp,
            duration: Some(PhaseDuration::Months(12)),
            adjustment: Adjustment::Price(*p),
        }));
        plan.push(Phase { kind: PhaseKind::Evergreen, duration: None, adjustment: Adjustment::AmountOff(base) });
        prop_assert!(quoin_core::catalog::validate_phases(&plan).is_ok());

        let spans = phase_spans(&plan, start, BillingPeriod::MONTH).unwrap();
        prop_assert_eq!(spans.len(), plan.len());
        prop_assert_eq!(spans[0].start, start);
        for pair in spans.windows(2) {
            prop_assert_eq!(pair[0].end, Some(pair[1].start));
            prop_assert!(pair[0].start < pair[1].start);
        }
        let on = plus_days(start, probe);
        let active = phase_at(&plan, start, on, BillingPeriod::MONTH).unwrap().unwrap();
        prop_assert!(active.contains(on));
        prop_assert!(effective_unit_amount(base, plan[active.index].adjustment) >= Decimal::ZERO);
    }

    #[test]
    fn any_adjustment_of_any_base_is_never_negative(
        base in (any::<i64>(), 0u32..=10).prop_map(|(m, s)| Decimal::new(m, s)),
        value in (any::<i64>(), 0u32..=10).prop_map(|(m, s)| Decimal::new(m, s)),
        which in 0u8..5,
    ) {
        let adjustment = match which {
            0 => Adjustment::None,
            1 => Adjustment::Free,
            2 => Adjustment::PercentOff(value),
            3 => Adjustment::AmountOff(value),
            _ => Adjustment::Price(value),
        };
        let amount = effective_unit_amount(base, adjustment);
        prop_assert!(amount >= Decimal::ZERO);
        if base >= Decimal::ZERO && !matches!(adjustment, Adjustment::Price(_)) {
            prop_assert!(amount <= base);
        }
    }

    #[test]
    fn a_bundle_cycle_is_reported_exactly_when_there_is_one(
        edges in prop::collection::vec(prop::collection::vec(0usize..8, 1..4), 1..8),
    ) {
        let n = edges.len();
        let products: Vec<ProductNode> = edges
            .iter()
            .enumerate()
            .map(|(i, targets)| {
                let mut seen = Vec::new();
                let components = targets
                    .iter()
                    .map(|t| t % n)
                    .filter(|t| if seen.contains(t) { false } else { seen.push(*t); true })
                    .map(|t| Component { code: format!("b{t}"), quantity: Decimal::ONE })
                    .collect();
                ProductNode { code: format!("b{i}"), kind: ProductKind::Bundle, add_ons: Vec::new(), components }
            })
            .collect();
        let reported = match validate_structure(&products) {
            Ok(()) => false,
            Err(errors) => {
                prop_assert!(errors.iter().all(|e| matches!(e.problem, CatalogProblem::BundleCycle(_))));
                true
            }
        };
        prop_assert_eq!(reported, has_cycle(&products));
    }
}

/// Reference check: repeatedly remove bundles that contain nothing left; a cycle remains.
fn has_cycle(products: &[ProductNode]) -> bool {
    let mut left: Vec<&ProductNode> = products.iter().collect();
    loop {
        let before = left.len();
        let codes: Vec<String> = left.iter().map(|p| p.code.clone()).collect();
        left.retain(|p| p.components.iter().any(|c| codes.contains(&c.code)));
        if left.len() == before {
            return !left.is_empty();
        }
    }
}
