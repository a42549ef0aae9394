//! Validation of a catalog document (prices in `price.rs`): every problem is collected with the path of the
//! element it concerns (`products[3].prices[0].model.tiers[2].to: must be greater than
//! from`), and a valid document comes back normalized (defaults filled in, decimals
//! trimmed, price codes derived) so that what is stored exports identically.

use std::collections::{BTreeSet, HashMap, HashSet};

use quoin_core::catalog::{
    validate_structure, AddOnRule, CatalogErrors, Component, EndOfTerm, EtlPolicy, MacdAction,
    ProductKind, ProductNode, TaskTemplate, TermTemplate, WorkOrderTemplate,
};
use quoin_core::money::Currency;
use quoin_core::rating::{ErrorList, PathSegment, Price};
use rust_decimal::Decimal;

use super::spec::*;

mod price;
use price::check_price;
pub(crate) use price::core_phases;

/// One problem in a submitted document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// What already exists in the tenant's catalog, for references the document does not define.
#[derive(Debug, Default)]
pub struct Known {
    /// code → parent code
    pub categories: HashMap<String, Option<String>>,
    pub metrics: HashSet<String>,
    pub terms: HashSet<String>,
    /// code → currency
    pub price_books: HashMap<String, String>,
    /// code → kind
    pub products: HashMap<String, ProductKindCode>,
    /// Voice rating plans: code → currency.
    pub rating_plans: HashMap<String, String>,
}

#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    fn code(&mut self, field: String, value: &str) -> String {
        let v = value.trim();
        if v.is_empty() || v.len() > 64 {
            self.push(field, "must be 1–64 characters");
        } else if !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            self.push(field, "may contain only letters, digits, '-', '_' and '.'");
        }
        v.to_string()
    }

    fn name(&mut self, field: String, value: &str) -> String {
        let v = value.trim();
        if v.is_empty() || v.chars().count() > 200 {
            self.push(field, "must be 1–200 characters");
        }
        v.to_string()
    }

    /// A decimal string; `rule` rejects values that break it (message returned).
    fn decimal(
        &mut self,
        field: String,
        text: &str,
        rule: fn(Decimal) -> Option<&'static str>,
    ) -> Option<Decimal> {
        let parsed = match crate::validate::decimal(&field, text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.push(field.clone(), e.to_string());
                None
            }
        };
        match parsed {
            None => None,
            Some(d) => match rule(d) {
                Some(msg) => {
                    self.push(field, format!("{msg}, got {text}"));
                    None
                }
                None => Some(d.normalize()),
            },
        }
    }

    fn currency(&mut self, field: String, code: &str) -> Option<Currency> {
        match Currency::parse(code) {
            Ok(c) => Some(c),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }
}

fn non_negative(d: Decimal) -> Option<&'static str> {
    d.is_sign_negative()
        .then_some("must not be negative")
        .filter(|_| !d.is_zero())
}

fn positive(d: Decimal) -> Option<&'static str> {
    (d <= Decimal::ZERO).then_some("must be greater than zero")
}

fn percent(d: Decimal) -> Option<&'static str> {
    (d < Decimal::ZERO || d > Decimal::ONE_HUNDRED).then_some("must be between 0 and 100")
}

impl Problems {
    /// Adds core catalog errors under `prefix`, spelling fields as the document does.
    fn merge(&mut self, prefix: &str, errors: &CatalogErrors) {
        for e in errors.iter() {
            let mut path = prefix.to_string();
            for seg in e.path.segments() {
                match seg {
                    PathSegment::Field(name) if path.is_empty() => path.push_str(name),
                    PathSegment::Field(name) => path.push_str(&format!(".{name}")),
                    PathSegment::Index(i) => path.push_str(&format!("[{i}]")),
                }
            }
            // Add-on rules and components name their product `product` in the document.
            if (path.contains(".add_ons[") || path.contains(".components["))
                && path.ends_with(".code")
            {
                path.truncate(path.len() - ".code".len());
                path.push_str(".product");
            }
            self.push(path, e.problem.to_string());
        }
    }
}

/// Field names of the core rating types, as the document spells them.
fn spec_name(core: &str) -> &str {
    match core {
        "up_to" => "to",
        "rate_percent" => "rate",
        "fixed_fee_per_event" => "fixed_fee",
        "per_event_min" => "min_per_event",
        "per_event_max" => "max_per_event",
        other => other,
    }
}

/// A decimal rendered canonically ("7.50" stays "7.5" only where no currency scale applies).
fn text(d: Decimal) -> String {
    d.normalize().to_string()
}

fn money_text(d: Decimal, currency: Option<Currency>) -> String {
    let mut d = d.normalize();
    if let Some(c) = currency {
        if d.scale() < c.exponent() {
            d.rescale(c.exponent());
        }
    }
    d.to_string()
}

/// A checked catalog: the normalized document plus the core price of every product price,
/// in the same order.
#[derive(Debug)]
pub struct Checked {
    pub document: CatalogDocument,
    pub prices: Vec<Vec<Price>>,
}

/// The core price of a stored (already validated) price spec; None if it no longer checks.
pub fn core_price(spec: &PriceSpec) -> Option<Price> {
    let mut p = Problems::default();
    let metrics: HashSet<String> = spec.metric.iter().cloned().collect();
    let terms: HashSet<String> = spec.term.iter().cloned().collect();
    let books: HashMap<String, String> = spec
        .price_book
        .iter()
        .map(|b| (b.clone(), spec.currency.clone()))
        .collect();
    let refs = Refs {
        categories: &HashSet::new(),
        metrics: &metrics,
        terms: &terms,
        books: &books,
        rating_plans: None,
    };
    price::check_price(&mut p, &refs, "price", "price", spec).map(|(_, core)| core)
}

/// Validates a whole document against itself and what `known` already holds.
pub fn check(doc: &CatalogDocument, known: &Known) -> Result<Checked, Vec<FieldError>> {
    let mut p = Problems::default();
    let mut out = CatalogDocument::default();

    let mut parents: HashMap<String, Option<String>> = known.categories.clone();
    let mut seen = HashSet::new();
    for (i, c) in doc.categories.iter().enumerate() {
        let code = p.code(format!("categories[{i}].code"), &c.code);
        if !seen.insert(code.clone()) {
            p.push(
                format!("categories[{i}].code"),
                format!("duplicate category code `{code}`"),
            );
        }
        parents.insert(
            code.clone(),
            c.parent.as_ref().map(|s| s.trim().to_string()),
        );
        out.categories.push(CategorySpec {
            name: p.name(format!("categories[{i}].name"), &c.name),
            parent: c.parent.as_ref().map(|s| s.trim().to_string()),
            code,
        });
    }
    for (i, c) in out.categories.iter().enumerate() {
        let Some(parent) = &c.parent else { continue };
        if !parents.contains_key(parent) {
            p.push(
                format!("categories[{i}].parent"),
                format!("unknown category `{parent}`"),
            );
            continue;
        }
        // Walk up; meeting this category again means the hierarchy loops.
        let mut chain = vec![c.code.as_str()];
        let mut at = Some(parent.as_str());
        while let Some(code) = at {
            chain.push(code);
            if code == c.code {
                p.push(
                    format!("categories[{i}].parent"),
                    format!("category cycle {}", chain.join(" → ")),
                );
                break;
            }
            if chain.len() > parents.len() + 1 {
                break;
            }
            at = parents.get(code).and_then(|p| p.as_deref());
        }
    }
    let categories: HashSet<String> = parents.keys().cloned().collect();

    let mut metrics: HashSet<String> = known.metrics.clone();
    let mut seen = HashSet::new();
    for (i, m) in doc.metrics.iter().enumerate() {
        let at = |f: &str| format!("metrics[{i}].{f}");
        let code = p.code(at("code"), &m.code);
        if !seen.insert(code.clone()) {
            p.push(at("code"), format!("duplicate metric code `{code}`"));
        }
        metrics.insert(code.clone());
        let field = m
            .field
            .as_ref()
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty());
        match (m.aggregation, &field) {
            (AggregationCode::Count, Some(_)) => {
                p.push(at("field"), "count aggregates no field; remove it")
            }
            (AggregationCode::Count, None) => {}
            (_, None) => p.push(at("field"), "required: the event property to aggregate"),
            _ => {}
        }
        for (j, f) in m.filters.iter().enumerate() {
            if f.property.trim().is_empty() {
                p.push(
                    format!("metrics[{i}].filters[{j}].property"),
                    "must not be empty",
                );
            }
            if f.values.is_empty() {
                p.push(
                    format!("metrics[{i}].filters[{j}].values"),
                    "must list at least one value",
                );
            }
        }
        out.metrics.push(MetricSpec {
            name: p.name(at("name"), &m.name),
            code,
            aggregation: m.aggregation,
            field,
            filters: m.filters.clone(),
            group_by: m.group_by.clone(),
        });
    }

    let mut terms: HashSet<String> = known.terms.clone();
    let mut seen = HashSet::new();
    for (i, t) in doc.terms.iter().enumerate() {
        let at = |f: &str| format!("terms[{i}].{f}");
        let code = p.code(at("code"), &t.code);
        if !seen.insert(code.clone()) {
            p.push(at("code"), format!("duplicate term code `{code}`"));
        }
        terms.insert(code.clone());
        let etl = match &t.etl {
            EtlSpec::PercentOfRemaining { percent: pc } => EtlSpec::PercentOfRemaining {
                percent: p
                    .decimal(at("etl.percent"), pc, |_| None)
                    .map(text)
                    .unwrap_or_default(),
            },
            EtlSpec::Fixed { amount } => EtlSpec::Fixed {
                amount: p
                    .decimal(at("etl.amount"), amount, |_| None)
                    .map(text)
                    .unwrap_or_default(),
            },
            EtlSpec::Reducing { schedule } => EtlSpec::Reducing {
                schedule: schedule
                    .iter()
                    .enumerate()
                    .map(|(j, s)| EtlStepSpec {
                        from_month: s.from_month,
                        fee: p
                            .decimal(format!("terms[{i}].etl.schedule[{j}].fee"), &s.fee, |_| {
                                None
                            })
                            .map(text)
                            .unwrap_or_default(),
                    })
                    .collect(),
            },
            other => other.clone(),
        };
        let template = TermTemplate {
            length_months: t.length_months,
            end_of_term: match t.end_of_term {
                EndOfTermCode::RenewSameTerm => EndOfTerm::RenewSameTerm,
                EndOfTermCode::RollMonthToMonth => EndOfTerm::RollMonthToMonth,
                EndOfTermCode::Cancel => EndOfTerm::Cancel,
            },
            etl: etl_policy(&etl),
        };
        if let Err(errors) = template.validate() {
            p.merge(&format!("terms[{i}]"), &errors);
        }
        out.terms.push(TermSpec {
            name: p.name(at("name"), &t.name),
            code,
            length_months: t.length_months,
            end_of_term: t.end_of_term,
            etl,
        });
    }

    let mut books: HashMap<String, String> = known.price_books.clone();
    let mut seen = HashSet::new();
    for (i, b) in doc.price_books.iter().enumerate() {
        let at = |f: &str| format!("price_books[{i}].{f}");
        let code = p.code(at("code"), &b.code);
        if !seen.insert(code.clone()) {
            p.push(at("code"), format!("duplicate price book code `{code}`"));
        }
        p.currency(at("currency"), &b.currency);
        books.insert(code.clone(), b.currency.clone());
        out.price_books.push(PriceBookSpec {
            name: p.name(at("name"), &b.name),
            code,
            currency: b.currency.clone(),
            segment: b
                .segment
                .as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        });
    }

    let refs = Refs {
        categories: &categories,
        metrics: &metrics,
        terms: &terms,
        books: &books,
        rating_plans: Some(&known.rating_plans),
    };
    let mut seen = HashSet::new();
    let mut prices = Vec::new();
    for (i, prod) in doc.products.iter().enumerate() {
        let code = prod.code.trim().to_string();
        if !seen.insert(code.clone()) {
            p.push(
                format!("products[{i}].code"),
                format!("duplicate product code `{code}`"),
            );
        }
        let (spec, core) = check_product(&mut p, &refs, &format!("products[{i}]"), prod);
        out.products.push(spec);
        prices.push(core);
    }
    check_structure(&mut p, &out.products, &known.products);
    // Change rules are checked by the app after this (their errors are the change-rules
    // endpoint's, one code per problem), against the products and books checked here.
    out.change_rules = doc.change_rules.clone();

    if p.0.is_empty() {
        Ok(Checked {
            document: out,
            prices,
        })
    } else {
        Err(p.0)
    }
}

struct Refs<'a> {
    categories: &'a HashSet<String>,
    metrics: &'a HashSet<String>,
    terms: &'a HashSet<String>,
    books: &'a HashMap<String, String>,
    /// Voice rating plans (code → currency); None where the price was checked when stored.
    rating_plans: Option<&'a HashMap<String, String>>,
}

fn check_product(
    p: &mut Problems,
    refs: &Refs,
    at: &str,
    prod: &ProductSpec,
) -> (ProductSpec, Vec<Price>) {
    let code = p.code(format!("{at}.code"), &prod.code);
    let kind = prod.kind.unwrap_or(ProductKindCode::Service);
    if let Some(c) = &prod.category {
        if !refs.categories.contains(c.trim()) {
            p.push(format!("{at}.category"), format!("unknown category `{c}`"));
        }
    }
    let actions: Vec<ActionCode> = prod
        .actions
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let mut components = Vec::new();
    for (j, c) in prod.components.iter().enumerate() {
        let q = p.decimal(
            format!("{at}.components[{j}].quantity"),
            &c.quantity,
            |_| None,
        );
        components.push(ComponentSpec {
            product: c.product.trim().to_string(),
            quantity: q.map(text).unwrap_or_default(),
        });
    }
    let mut seen_actions = HashSet::new();
    for (j, w) in prod.work_orders.iter().enumerate() {
        let f = format!("{at}.work_orders[{j}]");
        if !seen_actions.insert(w.action) {
            p.push(format!("{f}.action"), "one work-order template per action");
        }
        if let Err(errors) = work_order(w).validate() {
            p.merge(&f, &errors);
        }
    }
    let mut price_specs = Vec::new();
    let mut cores = Vec::new();
    let mut codes = HashSet::new();
    for (j, pr) in prod.prices.iter().enumerate() {
        let f = format!("{at}.prices[{j}]");
        if let Some((spec, core)) = check_price(p, refs, &f, &code, pr) {
            if !codes.insert(spec.code.clone().unwrap_or_default()) {
                p.push(format!("{f}.code"), "duplicate price code in this product");
            }
            price_specs.push(spec);
            cores.push(core);
        }
    }
    let spec = ProductSpec {
        name: p.name(format!("{at}.name"), &prod.name),
        code,
        kind: Some(kind),
        status: Some(prod.status.unwrap_or(LifecycleCode::Active)),
        category: prod.category.as_ref().map(|c| c.trim().to_string()),
        description: prod
            .description
            .as_ref()
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty()),
        actions,
        add_ons: prod
            .add_ons
            .iter()
            .map(|a| AddOnSpec {
                product: a.product.trim().to_string(),
                ..a.clone()
            })
            .collect(),
        components,
        work_orders: prod.work_orders.clone(),
        prices: price_specs,
    };
    (spec, cores)
}

/// The core form of a work-order template.
fn work_order(w: &WorkOrderSpec) -> WorkOrderTemplate {
    WorkOrderTemplate {
        action: action(w.action),
        tasks: w
            .tasks
            .iter()
            .map(|t| TaskTemplate {
                key: t.key.clone(),
                name: t.name.clone(),
                duration_hours: t.duration_hours,
                role: t.role.clone(),
                automated: t.automated,
                depends_on: t.depends_on.clone(),
            })
            .collect(),
    }
}

fn action(a: ActionCode) -> MacdAction {
    match a {
        ActionCode::New => MacdAction::New,
        ActionCode::Change => MacdAction::Change,
        ActionCode::Rerate => MacdAction::Rerate,
        ActionCode::Reterm => MacdAction::Reterm,
        ActionCode::Replace => MacdAction::Replace,
        ActionCode::Move => MacdAction::Move,
        ActionCode::Renew => MacdAction::Renew,
        ActionCode::Cancel => MacdAction::Cancel,
    }
}

fn kind(k: ProductKindCode) -> ProductKind {
    match k {
        ProductKindCode::Service => ProductKind::Service,
        ProductKindCode::AddOn => ProductKind::AddOn,
        ProductKindCode::Bundle => ProductKind::Bundle,
        ProductKindCode::Good => ProductKind::Good,
        ProductKindCode::ServiceRequest => ProductKind::ServiceRequest,
    }
}

/// The catalog graph (add-on rules, bundle components and cycles), checked by the core
/// over the document's products followed by the tenant's other products.
fn check_structure(
    p: &mut Problems,
    products: &[ProductSpec],
    known: &HashMap<String, ProductKindCode>,
) {
    let mut nodes: Vec<ProductNode> = products
        .iter()
        .map(|pr| ProductNode {
            code: pr.code.clone(),
            kind: kind(pr.kind.unwrap_or(ProductKindCode::Service)),
            add_ons: pr
                .add_ons
                .iter()
                .map(|a| AddOnRule {
                    code: a.product.clone(),
                    min: a.min,
                    max: a.max,
                })
                .collect(),
            components: pr
                .components
                .iter()
                .map(|c| Component {
                    code: c.product.clone(),
                    quantity: c.quantity.parse().unwrap_or(Decimal::ZERO),
                })
                .collect(),
        })
        .collect();
    let in_doc: HashSet<&str> = products.iter().map(|pr| pr.code.as_str()).collect();
    // Stored products the document does not redefine: referable, already valid.
    let mut others: Vec<(&String, &ProductKindCode)> = known
        .iter()
        .filter(|(c, _)| !in_doc.contains(c.as_str()))
        .collect();
    others.sort_by(|a, b| a.0.cmp(b.0));
    nodes.extend(others.into_iter().map(|(code, k)| ProductNode {
        code: code.clone(),
        kind: kind(*k),
        add_ons: vec![],
        components: vec![],
    }));
    if let Err(errors) = validate_structure(&nodes) {
        let own = ErrorList(
            errors
                .0
                .into_iter()
                .filter(|e| matches!(e.path.segments().get(1), Some(PathSegment::Index(i)) if *i < products.len()))
                .collect(),
        );
        p.merge("", &own);
    }
}

/// The core policy of an ETL spec (amounts the checks could not read count as zero; the
/// checks have reported them).
pub(crate) fn etl_policy(etl: &EtlSpec) -> EtlPolicy {
    match etl {
        EtlSpec::None => EtlPolicy::None,
        EtlSpec::RemainingMonths => EtlPolicy::RemainingMonths,
        EtlSpec::PercentOfRemaining { percent } => EtlPolicy::PercentOfRemaining {
            percent: percent.parse().unwrap_or_default(),
        },
        EtlSpec::Fixed { amount } => EtlPolicy::Fixed {
            amount: amount.parse().unwrap_or_default(),
        },
        EtlSpec::Reducing { schedule } => EtlPolicy::Reducing {
            schedule: schedule
                .iter()
                .map(|s| (s.from_month, s.fee.parse().unwrap_or_default()))
                .collect(),
        },
    }
}
