//! Product kinds, lifecycle, MACD actions and the shape of the catalog graph (add-on
//! rules and bundle components), validated as a whole because the rules are about
//! references between products.

use std::collections::HashMap;
use std::fmt;

use rust_decimal::Decimal;

use crate::rating::Problem;

use super::error::{CatalogErrors, CatalogPath, CatalogProblem, Problems};
use super::graph::{back_edges, first_occurrences};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductKind {
    Service,
    AddOn,
    Bundle,
    /// A one-off physical item (a router, a SIM card).
    Good,
    /// A one-off piece of work (an installation, a site survey).
    ServiceRequest,
}

impl ProductKind {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "service" => Some(Self::Service),
            "add_on" => Some(Self::AddOn),
            "bundle" => Some(Self::Bundle),
            "good" => Some(Self::Good),
            "service_request" => Some(Self::ServiceRequest),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::AddOn => "add_on",
            Self::Bundle => "bundle",
            Self::Good => "good",
            Self::ServiceRequest => "service_request",
        }
    }

    /// Add-ons attach to something that lives in the inventory and can be changed later.
    pub fn takes_add_ons(&self) -> bool {
        matches!(self, Self::Service | Self::Bundle)
    }
}

impl fmt::Display for ProductKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Where a product is in its life. Only active products can be quoted; retired ones stay
/// so existing subscriptions keep pointing at them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifecycle {
    Draft,
    Active,
    Retired,
}

impl Lifecycle {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "draft" => Some(Self::Draft),
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    /// Draft → Active, Draft → Retired, Active → Retired. Nothing leaves Retired: a sold
    /// product coming back would resurrect prices that subscriptions no longer expect, so
    /// a new version is drafted instead. Staying put is not a transition.
    pub fn can_become(self, to: Lifecycle) -> bool {
        matches!(
            (self, to),
            (Self::Draft, Self::Active)
                | (Self::Draft, Self::Retired)
                | (Self::Active, Self::Retired)
        )
    }

    /// The new state, or why the move is refused.
    pub fn transition(self, to: Lifecycle) -> Result<Lifecycle, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a product cannot move from {from} to {to}")]
pub struct TransitionError {
    pub from: Lifecycle,
    pub to: Lifecycle,
}

/// What a quote or order line does to the service inventory (moves, adds, changes,
/// disconnects). Codes match the API's action codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MacdAction {
    New,
    /// Quantity, options or add-ons; upgrades and downgrades are changes.
    Change,
    /// New price, same product.
    Rerate,
    /// New commitment.
    Reterm,
    /// Swap the product: the old one is disconnected, the new one added, linked.
    Replace,
    /// To another location: connect the new one, then disconnect the old, linked.
    Move,
    Renew,
    Cancel,
}

impl MacdAction {
    pub const ALL: [MacdAction; 8] = [
        Self::New,
        Self::Change,
        Self::Rerate,
        Self::Reterm,
        Self::Replace,
        Self::Move,
        Self::Renew,
        Self::Cancel,
    ];

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Change => "change",
            Self::Rerate => "rerate",
            Self::Reterm => "reterm",
            Self::Replace => "replace",
            Self::Move => "move",
            Self::Renew => "renew",
            Self::Cancel => "cancel",
        }
    }
}

impl fmt::Display for MacdAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An add-on a product accepts, and how many of it a subscription may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddOnRule {
    pub code: String,
    pub min: u32,
    /// `None`: no upper limit.
    pub max: Option<u32>,
}

/// A product a bundle contains, per bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub code: String,
    pub quantity: Decimal,
}

/// A product as the structure check sees it: its code, kind and references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductNode {
    pub code: String,
    pub kind: ProductKind,
    pub add_ons: Vec<AddOnRule>,
    pub components: Vec<Component>,
}

/// Checks the catalog graph: unique codes, add-on rules pointing at add-ons, components
/// only on bundles and pointing at existing products, and no bundle containing itself at
/// any depth. Reports every problem, in product order.
pub fn validate_structure(products: &[ProductNode]) -> Result<(), CatalogErrors> {
    let mut p = Problems::default();
    let (index, repeats) = first_occurrences(products.iter().map(|n| n.code.as_str()));
    let mut repeats = repeats.into_iter().peekable();
    let cycles = bundle_cycles(products, &index);

    for (i, product) in products.iter().enumerate() {
        let at = |name| CatalogPath::element("products", i, name);
        p.blank(|| at("code"), &product.code);
        if let Some((_, first)) = repeats.next_if(|&(r, _)| r == i) {
            p.push(
                at("code"),
                CatalogProblem::Duplicate {
                    value: product.code.clone(),
                    first,
                },
            );
        }
        check_add_ons(&mut p, i, product, products, &index);
        check_components(&mut p, i, product, &index, &cycles);
    }
    p.finish()
}

fn check_add_ons(
    p: &mut Problems,
    i: usize,
    product: &ProductNode,
    products: &[ProductNode],
    index: &HashMap<&str, usize>,
) {
    if !product.add_ons.is_empty() && !product.kind.takes_add_ons() {
        p.push(
            CatalogPath::element("products", i, "add_ons"),
            CatalogProblem::AddOnsNotAllowed(product.kind),
        );
    }
    let (_, repeats) = first_occurrences(product.add_ons.iter().map(|r| r.code.as_str()));
    for (j, rule) in product.add_ons.iter().enumerate() {
        let at = |name| {
            CatalogPath::element("products", i, "add_ons")
                .index(j)
                .child(name)
        };
        if rule.code == product.code {
            p.push(at("code"), CatalogProblem::SelfAddOn);
        } else {
            match index.get(rule.code.as_str()) {
                None => p.push(
                    at("code"),
                    CatalogProblem::UnknownProduct(rule.code.clone()),
                ),
                Some(&k) if products[k].kind != ProductKind::AddOn => p.push(
                    at("code"),
                    CatalogProblem::NotAnAddOn {
                        code: rule.code.clone(),
                        kind: products[k].kind,
                    },
                ),
                Some(_) => {}
            }
        }
        if let Some(&(_, first)) = repeats.iter().find(|&&(r, _)| r == j) {
            p.push(
                at("code"),
                CatalogProblem::Duplicate {
                    value: rule.code.clone(),
                    first,
                },
            );
        }
        if let Some(max) = rule.max.filter(|max| rule.min > *max) {
            p.push(
                at("min"),
                Problem::AboveMaximum {
                    field: "max",
                    value: Decimal::from(max),
                },
            );
        }
    }
}

fn check_components(
    p: &mut Problems,
    i: usize,
    product: &ProductNode,
    index: &HashMap<&str, usize>,
    cycles: &[(usize, usize, Vec<String>)],
) {
    let list = || CatalogPath::element("products", i, "components");
    match product.kind {
        ProductKind::Bundle if product.components.is_empty() => p.push(list(), Problem::Empty),
        ProductKind::Bundle => {}
        kind if !product.components.is_empty() => {
            p.push(list(), CatalogProblem::ComponentsNotAllowed(kind))
        }
        _ => {}
    }
    let (_, repeats) = first_occurrences(product.components.iter().map(|c| c.code.as_str()));
    for (j, component) in product.components.iter().enumerate() {
        let at = |name| list().index(j).child(name);
        if !index.contains_key(component.code.as_str()) {
            p.push(
                at("code"),
                CatalogProblem::UnknownProduct(component.code.clone()),
            );
        }
        if let Some(&(_, first)) = repeats.iter().find(|&&(r, _)| r == j) {
            p.push(
                at("code"),
                CatalogProblem::Duplicate {
                    value: component.code.clone(),
                    first,
                },
            );
        }
        for (_, _, cycle) in cycles.iter().filter(|(from, k, _)| (*from, *k) == (i, j)) {
            p.push(at("code"), CatalogProblem::BundleCycle(cycle.clone()));
        }
        if component.quantity <= Decimal::ZERO {
            p.push(at("quantity"), Problem::NotPositive(component.quantity));
        }
    }
}

/// `(product, component, codes of the cycle)` for each bundle reference closing a cycle.
/// Only bundles' components are followed (components elsewhere are already an error) and
/// duplicate codes resolve to their first product.
fn bundle_cycles(
    products: &[ProductNode],
    index: &HashMap<&str, usize>,
) -> Vec<(usize, usize, Vec<String>)> {
    let edges: Vec<Vec<(usize, usize)>> = products
        .iter()
        .map(|n| match n.kind {
            ProductKind::Bundle => n
                .components
                .iter()
                .enumerate()
                .filter_map(|(j, c)| index.get(c.code.as_str()).map(|&k| (j, k)))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    back_edges(&edges)
        .into_iter()
        .map(|b| {
            let codes = b.cycle.iter().map(|&k| products[k].code.clone()).collect();
            (b.from, b.edge, codes)
        })
        .collect()
}
