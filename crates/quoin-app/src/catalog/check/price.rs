//! Price checks: currencies, periods, timing, metric and term references, pricing models
//! (tier bounds contiguous from 0), minimums and phases; each normalized as it is checked.

use quoin_core::billing::ChargeTiming;
use quoin_core::calendar::BillingPeriod;
use quoin_core::catalog::{validate_phases, Adjustment, Phase, PhaseDuration, PhaseKind};
use quoin_core::money::Currency;
use quoin_core::rating::{PathSegment, PercentTier, Price, PriceModel, Step, Tier};
use rust_decimal::Decimal;

use super::{money_text, non_negative, percent, positive, spec_name, text, Problems, Refs};
use crate::catalog::spec::*;

/// Checks a phase plan (with the core's ordering rules) and returns it normalized.
pub(super) fn check_phases(p: &mut Problems, at: &str, phases: &[PhaseSpec]) -> Vec<PhaseSpec> {
    if phases.is_empty() {
        return Vec::new();
    }
    let mut plan = Vec::new();
    let mut out = Vec::new();
    for (i, ph) in phases.iter().enumerate() {
        let f = format!("{at}.phases[{i}]");
        let duration = match (ph.days, ph.periods, ph.months) {
            (None, None, None) => None,
            (Some(d), None, None) => Some(PhaseDuration::Days(d)),
            (None, Some(n), None) => Some(PhaseDuration::Periods(n)),
            (None, None, Some(m)) => Some(PhaseDuration::Months(m)),
            _ => {
                p.push(format!("{f}.days"), "give one of days, periods or months");
                None
            }
        };
        let amount = |p: &mut Problems, name: &str, v: &String| {
            p.decimal(format!("{f}.adjustment.{name}"), v, |_| None)
        };
        let (adjustment, spec) = match &ph.adjustment {
            None => (Adjustment::None, None),
            Some(AdjustmentSpec::Free) => (Adjustment::Free, Some(AdjustmentSpec::Free)),
            Some(AdjustmentSpec::PercentOff { percent }) => {
                let v = amount(p, "percent", percent).unwrap_or_default();
                (
                    Adjustment::PercentOff(v),
                    Some(AdjustmentSpec::PercentOff { percent: text(v) }),
                )
            }
            Some(AdjustmentSpec::AmountOff { amount: a }) => {
                let v = amount(p, "amount", a).unwrap_or_default();
                (
                    Adjustment::AmountOff(v),
                    Some(AdjustmentSpec::AmountOff { amount: text(v) }),
                )
            }
            Some(AdjustmentSpec::Price { amount: a }) => {
                let v = amount(p, "amount", a).unwrap_or_default();
                (
                    Adjustment::Price(v),
                    Some(AdjustmentSpec::Price { amount: text(v) }),
                )
            }
        };
        plan.push(Phase {
            kind: match ph.kind {
                PhaseKindCode::Trial => PhaseKind::Trial,
                PhaseKindCode::Introductory => PhaseKind::Introductory,
                PhaseKindCode::Ramp => PhaseKind::Ramp,
                PhaseKindCode::Evergreen => PhaseKind::Evergreen,
            },
            duration,
            adjustment,
        });
        out.push(PhaseSpec {
            adjustment: spec,
            ..ph.clone()
        });
    }
    if let Err(errors) = validate_phases(&plan) {
        p.merge(at, &errors);
    }
    out
}

/// The core plan of a stored (already checked) price's phases.
pub(crate) fn core_phases(phases: &[PhaseSpec]) -> Result<Vec<Phase>, String> {
    let mut p = Problems::default();
    let mut plan = Vec::with_capacity(phases.len());
    for ph in check_phases(&mut p, "phases", phases) {
        let dec = |v: &str| v.parse::<Decimal>().map_err(|e| e.to_string());
        plan.push(Phase {
            kind: match ph.kind {
                PhaseKindCode::Trial => PhaseKind::Trial,
                PhaseKindCode::Introductory => PhaseKind::Introductory,
                PhaseKindCode::Ramp => PhaseKind::Ramp,
                PhaseKindCode::Evergreen => PhaseKind::Evergreen,
            },
            duration: match (ph.days, ph.periods, ph.months) {
                (Some(d), _, _) => Some(PhaseDuration::Days(d)),
                (_, Some(n), _) => Some(PhaseDuration::Periods(n)),
                (_, _, Some(m)) => Some(PhaseDuration::Months(m)),
                _ => None,
            },
            adjustment: match &ph.adjustment {
                None => Adjustment::None,
                Some(AdjustmentSpec::Free) => Adjustment::Free,
                Some(AdjustmentSpec::PercentOff { percent }) => {
                    Adjustment::PercentOff(dec(percent)?)
                }
                Some(AdjustmentSpec::AmountOff { amount }) => Adjustment::AmountOff(dec(amount)?),
                Some(AdjustmentSpec::Price { amount }) => Adjustment::Price(dec(amount)?),
            },
        });
    }
    if !p.0.is_empty() {
        return Err(format!("stored phases do not check: {:?}", p.0));
    }
    Ok(plan)
}

pub(super) fn check_price(
    p: &mut Problems,
    refs: &Refs,
    at: &str,
    product: &str,
    pr: &PriceSpec,
) -> Option<(PriceSpec, Price)> {
    let before = p.0.len();
    let currency = p.currency(format!("{at}.currency"), &pr.currency);
    let price_type = pr.price_type.unwrap_or(PriceTypeCode::Recurring);
    if let Some(book) = &pr.price_book {
        match refs.books.get(book.trim()) {
            None => p.push(
                format!("{at}.price_book"),
                format!("unknown price book `{book}`"),
            ),
            Some(book_currency) if book_currency != &pr.currency => p.push(
                format!("{at}.currency"),
                format!(
                    "currency mismatch: price book `{book}` is in {book_currency}, the price in {}",
                    pr.currency
                ),
            ),
            Some(_) => {}
        }
    }
    let period = match (price_type, &pr.period) {
        (PriceTypeCode::Recurring, None) => {
            p.push(format!("{at}.period"), "required for a recurring price");
            None
        }
        (PriceTypeCode::OneTime, Some(_)) => {
            p.push(format!("{at}.period"), "a one-time price has no period");
            None
        }
        (_, Some(code)) => match BillingPeriod::parse(code.trim()) {
            Ok(bp) => Some(bp),
            Err(e) => {
                p.push(format!("{at}.period"), e.to_string());
                None
            }
        },
        (_, None) => None,
    };
    let timing = match &pr.timing {
        None if price_type == PriceTypeCode::Usage => ChargeTiming::InArrears,
        None => ChargeTiming::InAdvance,
        Some(t) => match ChargeTiming::parse(t.trim()) {
            Some(timing) => timing,
            None => {
                p.push(
                    format!("{at}.timing"),
                    format!("`{t}` is not in_advance or in_arrears"),
                );
                ChargeTiming::InAdvance
            }
        },
    };
    if price_type == PriceTypeCode::Usage && timing == ChargeTiming::InAdvance {
        p.push(format!("{at}.timing"), "usage is billed in arrears");
    }
    match (price_type, &pr.metric) {
        (PriceTypeCode::Usage, None) => {
            p.push(format!("{at}.metric"), "required for a usage price")
        }
        (PriceTypeCode::Usage, Some(m)) if !refs.metrics.contains(m.trim()) => {
            p.push(format!("{at}.metric"), format!("unknown metric `{m}`"))
        }
        (PriceTypeCode::Usage, Some(_)) => {}
        (_, Some(_)) => p.push(format!("{at}.metric"), "only usage prices have a metric"),
        (_, None) => {}
    }
    if let Some(t) = &pr.term {
        if !refs.terms.contains(t.trim()) {
            p.push(format!("{at}.term"), format!("unknown term `{t}`"));
        }
    }
    let model_spec = match (&pr.amount, &pr.model) {
        (Some(a), None) => Some(ModelSpec::PerUnit {
            unit_amount: a.clone(),
        }),
        (None, Some(m)) => Some(m.clone()),
        (Some(_), Some(_)) => {
            p.push(
                format!("{at}.amount"),
                "give either amount or model, not both",
            );
            None
        }
        (None, None) => {
            p.push(
                format!("{at}.model"),
                "required (or the `amount` shorthand)",
            );
            None
        }
    };
    let shorthand = pr.amount.is_some() && pr.model.is_none();
    let mark = p.0.len();
    let model = model_spec.and_then(|m| check_model(p, &format!("{at}.model"), &m, currency));
    if shorthand {
        // Report problems of the `amount` shorthand under the name the caller used.
        for e in &mut p.0[mark..] {
            if e.field == format!("{at}.model.unit_amount") {
                e.field = format!("{at}.amount");
            }
        }
    }
    if let Some((_, core)) = &model {
        if core.is_event_based() && price_type != PriceTypeCode::Usage {
            p.push(
                format!("{at}.model.type"),
                "percentage models rate usage events; use a usage price",
            );
        }
    }
    if let Some((ModelSpec::Voice { rating_plan }, _)) = &model {
        check_voice(p, refs, at, pr, price_type, rating_plan);
    }
    let phases = check_phases(p, at, &pr.phases);
    let minimum = pr
        .minimum
        .as_ref()
        .and_then(|m| p.decimal(format!("{at}.minimum"), m, non_negative));
    let minimum_commitment = pr.minimum_commitment.as_ref().and_then(|m| {
        let field = format!("{at}.minimum_commitment");
        if price_type != PriceTypeCode::Recurring {
            p.push(
                field,
                "only recurring (plan) prices carry a minimum commitment",
            );
            return None;
        }
        p.decimal(field, m, non_negative)
    });
    if p.0.len() > before {
        return None;
    }
    let (model_spec, core_model) = model?;
    let mut core = Price::new(core_model);
    if let Some(m) = minimum {
        core = core.with_minimum(m);
    }
    if let Err(errors) = core.validate() {
        for e in errors.iter() {
            let mut path = format!("{at}.model");
            for seg in e.path.segments() {
                match seg {
                    PathSegment::Field(name) if *name == "minimum" => {
                        path = format!("{at}.minimum")
                    }
                    PathSegment::Field(name) => path.push_str(&format!(".{}", spec_name(name))),
                    PathSegment::Index(i) => path.push_str(&format!("[{i}]")),
                }
            }
            p.push(path, e.problem.to_string());
        }
        return None;
    }
    let default_code = format!(
        "{product}-{}-{}",
        pr.currency.to_lowercase(),
        period
            .map(|b| b.code())
            .unwrap_or_else(|| match price_type {
                PriceTypeCode::OneTime => "one-time".into(),
                PriceTypeCode::Usage => pr.metric.clone().unwrap_or_else(|| "usage".into()),
                PriceTypeCode::Recurring => "recurring".into(),
            })
    );
    let code = match &pr.code {
        Some(c) => p.code(format!("{at}.code"), c),
        None => default_code,
    };
    if p.0.len() > before {
        return None;
    }
    Some((
        PriceSpec {
            code: Some(code),
            price_type: Some(price_type),
            currency: pr.currency.clone(),
            price_book: pr.price_book.as_ref().map(|b| b.trim().to_string()),
            period: period.map(|b| b.code()),
            timing: Some(timing.code().to_string()),
            amount: None,
            model: Some(model_spec),
            metric: pr.metric.as_ref().map(|m| m.trim().to_string()),
            minimum: minimum.map(|m| money_text(m, currency)),
            minimum_commitment: minimum_commitment.map(|m| money_text(m, currency)),
            term: pr.term.as_ref().map(|t| t.trim().to_string()),
            phases,
            effective_from: pr.effective_from,
        },
        core,
    ))
}

/// Contiguous tier bounds: the first starts at 0, each next one where the previous ended.
fn check_bounds(
    p: &mut Problems,
    at: &str,
    list: &str,
    bounds: &[(&String, Option<&String>)],
) -> Option<Vec<Option<Decimal>>> {
    if bounds.is_empty() {
        p.push(format!("{at}.{list}"), "must have at least one tier");
        return None;
    }
    let before = p.0.len();
    let mut ups = Vec::with_capacity(bounds.len());
    let mut prev_to: Option<Decimal> = Some(Decimal::ZERO);
    for (k, (from, to)) in bounds.iter().enumerate() {
        let f = format!("{at}.{list}[{k}]");
        let from = p.decimal(format!("{f}.from"), from, non_negative);
        let to = to.map(|t| p.decimal(format!("{f}.to"), t, non_negative));
        if let Some(from) = from {
            match prev_to {
                Some(pt) if k == 0 && from != pt => {
                    p.push(format!("{f}.from"), "the first tier must start at 0")
                }
                Some(pt) if from < pt => p.push(
                    format!("{f}.from"),
                    format!("overlaps the previous tier, which ends at {pt}"),
                ),
                Some(pt) if from > pt => p.push(
                    format!("{f}.from"),
                    format!("leaves a gap after the previous tier, which ends at {pt}"),
                ),
                None => p.push(format!("{f}.from"), "follows an unbounded tier"),
                _ => {}
            }
            if let Some(Some(to)) = to {
                if to <= from {
                    p.push(format!("{f}.to"), "must be greater than from");
                }
            }
        }
        prev_to = match to {
            Some(Some(t)) => Some(t),
            Some(None) => Some(Decimal::MAX),
            None => None,
        };
        ups.push(to.flatten());
    }
    (p.0.len() == before).then_some(ups)
}

fn check_model(
    p: &mut Problems,
    at: &str,
    m: &ModelSpec,
    currency: Option<Currency>,
) -> Option<(ModelSpec, PriceModel)> {
    let before = p.0.len();
    let amt = |p: &mut Problems, f: String, t: &String| p.decimal(f, t, non_negative);
    let opt = |p: &mut Problems, f: String, t: &Option<String>| {
        t.as_ref().and_then(|t| p.decimal(f, t, non_negative))
    };
    let out = match m {
        ModelSpec::Flat { amount } => {
            let a = amt(p, format!("{at}.amount"), amount);
            a.map(|a| {
                (
                    ModelSpec::Flat {
                        amount: money_text(a, currency),
                    },
                    PriceModel::Flat { amount: a },
                )
            })
        }
        ModelSpec::PerUnit { unit_amount } => {
            amt(p, format!("{at}.unit_amount"), unit_amount).map(|a| {
                (
                    ModelSpec::PerUnit {
                        unit_amount: money_text(a, currency),
                    },
                    PriceModel::PerUnit { unit_amount: a },
                )
            })
        }
        ModelSpec::Graduated { tiers } | ModelSpec::Volume { tiers } => {
            let bounds: Vec<_> = tiers.iter().map(|t| (&t.from, t.to.as_ref())).collect();
            let ups = check_bounds(p, at, "tiers", &bounds);
            let mut core = Vec::new();
            let mut specs = Vec::new();
            for (k, t) in tiers.iter().enumerate() {
                let f = format!("{at}.tiers[{k}]");
                let unit = amt(p, format!("{f}.unit_amount"), &t.unit_amount);
                let flat = opt(p, format!("{f}.flat_fee"), &t.flat_fee);
                let block = t
                    .block_size
                    .as_ref()
                    .and_then(|b| p.decimal(format!("{f}.block_size"), b, positive));
                if let (Some(ups), Some(unit)) = (&ups, unit) {
                    core.push(Tier {
                        up_to: ups[k],
                        unit_amount: unit,
                        flat_fee: flat.unwrap_or(Decimal::ZERO),
                        block_size: block,
                    });
                    specs.push(TierSpec {
                        from: t
                            .from
                            .trim()
                            .parse::<Decimal>()
                            .map(text)
                            .unwrap_or_default(),
                        to: ups[k].map(text),
                        unit_amount: text(unit),
                        flat_fee: flat.filter(|f| !f.is_zero()).map(text),
                        block_size: block.map(text),
                    });
                }
            }
            (p.0.len() == before).then_some(match m {
                ModelSpec::Graduated { .. } => (
                    ModelSpec::Graduated { tiers: specs },
                    PriceModel::Graduated { tiers: core },
                ),
                _ => (
                    ModelSpec::Volume { tiers: specs },
                    PriceModel::Volume { tiers: core },
                ),
            })
        }
        ModelSpec::Package {
            block_size,
            block_amount,
            free_units,
        } => {
            let size = p.decimal(format!("{at}.block_size"), block_size, positive);
            let amount = amt(p, format!("{at}.block_amount"), block_amount);
            let free = opt(p, format!("{at}.free_units"), free_units);
            match (size, amount) {
                (Some(size), Some(amount)) => Some((
                    ModelSpec::Package {
                        block_size: text(size),
                        block_amount: text(amount),
                        free_units: free.filter(|f| !f.is_zero()).map(text),
                    },
                    PriceModel::Package {
                        block_size: size,
                        block_amount: amount,
                        free_units: free.unwrap_or(Decimal::ZERO),
                    },
                )),
                _ => None,
            }
        }
        ModelSpec::Percentage {
            rate,
            fixed_fee,
            free_events,
            free_amount,
            min_per_event,
            max_per_event,
        } => {
            let r = p.decimal(format!("{at}.rate"), rate, percent);
            let fee = opt(p, format!("{at}.fixed_fee"), fixed_fee);
            let free = opt(p, format!("{at}.free_amount"), free_amount);
            let min = opt(p, format!("{at}.min_per_event"), min_per_event);
            let max = opt(p, format!("{at}.max_per_event"), max_per_event);
            r.map(|r| {
                (
                    ModelSpec::Percentage {
                        rate: text(r),
                        fixed_fee: fee.filter(|f| !f.is_zero()).map(text),
                        free_events: *free_events,
                        free_amount: free.map(text),
                        min_per_event: min.map(text),
                        max_per_event: max.map(text),
                    },
                    PriceModel::Percentage {
                        rate_percent: r,
                        fixed_fee_per_event: fee.unwrap_or(Decimal::ZERO),
                        free_events: *free_events,
                        free_amount: free,
                        per_event_min: min,
                        per_event_max: max,
                    },
                )
            })
        }
        ModelSpec::GraduatedPercentage { tiers } => {
            let bounds: Vec<_> = tiers.iter().map(|t| (&t.from, t.to.as_ref())).collect();
            let ups = check_bounds(p, at, "tiers", &bounds);
            let mut core = Vec::new();
            let mut specs = Vec::new();
            for (k, t) in tiers.iter().enumerate() {
                let f = format!("{at}.tiers[{k}]");
                let rate = p.decimal(format!("{f}.rate"), &t.rate, percent);
                let flat = opt(p, format!("{f}.flat_fee"), &t.flat_fee);
                if let (Some(ups), Some(rate)) = (&ups, rate) {
                    core.push(PercentTier {
                        up_to: ups[k],
                        rate_percent: rate,
                        flat_fee: flat.unwrap_or(Decimal::ZERO),
                    });
                    specs.push(PercentTierSpec {
                        from: t
                            .from
                            .trim()
                            .parse::<Decimal>()
                            .map(text)
                            .unwrap_or_default(),
                        to: ups[k].map(text),
                        rate: text(rate),
                        flat_fee: flat.filter(|f| !f.is_zero()).map(text),
                    });
                }
            }
            (p.0.len() == before).then_some((
                ModelSpec::GraduatedPercentage { tiers: specs },
                PriceModel::GraduatedPercentage { tiers: core },
            ))
        }
        ModelSpec::Overage {
            included,
            unit_amount,
        } => {
            let inc = amt(p, format!("{at}.included"), included);
            let unit = amt(p, format!("{at}.unit_amount"), unit_amount);
            match (inc, unit) {
                (Some(inc), Some(unit)) => Some((
                    ModelSpec::Overage {
                        included: text(inc),
                        unit_amount: text(unit),
                    },
                    PriceModel::Overage {
                        included: inc,
                        unit_amount: unit,
                    },
                )),
                _ => None,
            }
        }
        ModelSpec::StairStep { steps } => {
            if steps.is_empty() {
                p.push(format!("{at}.steps"), "must have at least one step");
            }
            let mut core = Vec::new();
            let mut specs = Vec::new();
            for (k, s) in steps.iter().enumerate() {
                let f = format!("{at}.steps[{k}]");
                let to =
                    s.to.as_ref()
                        .and_then(|t| p.decimal(format!("{f}.to"), t, non_negative));
                let amount = amt(p, format!("{f}.amount"), &s.amount);
                if let Some(amount) = amount {
                    core.push(Step { up_to: to, amount });
                    specs.push(StepSpec {
                        to: to.map(text),
                        amount: money_text(amount, currency),
                    });
                }
            }
            (p.0.len() == before).then_some((
                ModelSpec::StairStep { steps: specs },
                PriceModel::StairStep { steps: core },
            ))
        }
        // Voice prices are rated call by call at billing (`usage::voice`), never from an
        // aggregated quantity: the zero per-unit model only stands in where a core price
        // is asked for (the current-usage projection shows no amount for them).
        ModelSpec::Voice { rating_plan } => {
            let code = p.code(format!("{at}.rating_plan"), rating_plan);
            Some((
                ModelSpec::Voice { rating_plan: code },
                PriceModel::PerUnit {
                    unit_amount: Decimal::ZERO,
                },
            ))
        }
    };
    if p.0.len() > before {
        None
    } else {
        out
    }
}

/// A voice price is a usage price on an existing rating plan in the price's currency.
fn check_voice(
    p: &mut Problems,
    refs: &Refs,
    at: &str,
    pr: &PriceSpec,
    price_type: PriceTypeCode,
    rating_plan: &str,
) {
    if price_type != PriceTypeCode::Usage {
        p.push(
            format!("{at}.model.type"),
            "the voice model rates calls; use a usage price",
        );
    }
    if !pr.phases.is_empty() {
        p.push(format!("{at}.phases"), "voice prices have no phases");
    }
    match refs.rating_plans.map(|plans| plans.get(rating_plan)) {
        Some(None) => p.push(
            format!("{at}.model.rating_plan"),
            format!("unknown rating plan `{rating_plan}`"),
        ),
        Some(Some(currency)) if currency != pr.currency.trim() => p.push(
            format!("{at}.model.rating_plan"),
            format!(
                "currency mismatch: rating plan `{rating_plan}` is in {currency}, the price in {}",
                pr.currency
            ),
        ),
        _ => {}
    }
}
