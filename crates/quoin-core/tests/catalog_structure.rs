//! The catalog graph check names every broken reference by path, and product lifecycle
//! and MACD codes behave as the API expects.

use quoin_core::catalog::{
    validate_structure, AddOnRule, Component, Lifecycle, MacdAction, ProductKind, ProductNode,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn product(code: &str, kind: ProductKind) -> ProductNode {
    ProductNode {
        code: code.into(),
        kind,
        add_ons: Vec::new(),
        components: Vec::new(),
    }
}

fn with_add_on(mut node: ProductNode, code: &str, min: u32, max: Option<u32>) -> ProductNode {
    node.add_ons.push(AddOnRule {
        code: code.into(),
        min,
        max,
    });
    node
}

fn with_component(mut node: ProductNode, code: &str, quantity: Decimal) -> ProductNode {
    node.components.push(Component {
        code: code.into(),
        quantity,
    });
    node
}

fn bundle(code: &str, components: &[&str]) -> ProductNode {
    components
        .iter()
        .fold(product(code, ProductKind::Bundle), |node, c| {
            with_component(node, c, Decimal::ONE)
        })
}

fn problems(products: &[ProductNode]) -> Vec<String> {
    match validate_structure(products) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn a_sound_catalog_passes() {
    let internet = with_add_on(
        product("internet", ProductKind::Service),
        "static_ip",
        0,
        Some(4),
    );
    let office = with_add_on(
        with_component(
            with_component(product("office", ProductKind::Bundle), "internet", dec!(1)),
            "router",
            dec!(2),
        ),
        "static_ip",
        1,
        None,
    );
    let catalog = [
        internet,
        product("static_ip", ProductKind::AddOn),
        product("router", ProductKind::Good),
        product("install", ProductKind::ServiceRequest),
        office,
    ];
    assert_eq!(validate_structure(&catalog), Ok(()));
    assert_eq!(validate_structure(&[]), Ok(()));
}

#[test]
fn codes_must_be_present_and_unique() {
    let catalog = [
        product("a", ProductKind::Service),
        product(" ", ProductKind::Service),
        product("a", ProductKind::Good),
    ];
    assert_eq!(
        problems(&catalog),
        [
            "products[1].code: must not be blank",
            "products[2].code: duplicates \"a\" at index 0",
        ]
    );
}

#[test]
fn add_on_rules_must_name_an_existing_add_on_other_than_itself() {
    let svc = with_add_on(
        with_add_on(
            with_add_on(product("svc", ProductKind::Service), "missing", 0, None),
            "box",
            0,
            None,
        ),
        "svc",
        0,
        None,
    );
    let catalog = [svc, product("box", ProductKind::Bundle)];
    assert_eq!(
        problems(&catalog[..1]),
        [
            "products[0].add_ons[0].code: unknown product \"missing\"",
            "products[0].add_ons[1].code: unknown product \"box\"",
            "products[0].add_ons[2].code: a product cannot be its own add-on",
        ]
    );
    let mut catalog = catalog.to_vec();
    catalog[1].components.push(Component {
        code: "svc".into(),
        quantity: dec!(1),
    });
    assert_eq!(
        problems(&catalog),
        [
            "products[0].add_ons[0].code: unknown product \"missing\"",
            "products[0].add_ons[1].code: product \"box\" is not an add-on (kind: bundle)",
            "products[0].add_ons[2].code: a product cannot be its own add-on",
        ]
    );
}

#[test]
fn add_on_counts_must_not_cross_and_rules_must_not_repeat() {
    let svc = with_add_on(
        with_add_on(
            with_add_on(product("svc", ProductKind::Service), "ip", 3, Some(2)),
            "ip",
            2,
            Some(2),
        ),
        "tv",
        0,
        Some(0),
    );
    let catalog = [
        svc,
        product("ip", ProductKind::AddOn),
        product("tv", ProductKind::AddOn),
    ];
    assert_eq!(
        problems(&catalog),
        [
            "products[0].add_ons[0].min: must not exceed max 2",
            "products[0].add_ons[1].code: duplicates \"ip\" at index 0",
        ]
    );
}

#[test]
fn only_services_and_bundles_take_add_ons() {
    let catalog = [
        product("ip", ProductKind::AddOn),
        with_add_on(product("router", ProductKind::Good), "ip", 0, None),
        with_add_on(product("extra", ProductKind::AddOn), "ip", 0, None),
        with_add_on(
            product("survey", ProductKind::ServiceRequest),
            "ip",
            0,
            None,
        ),
        with_add_on(bundle("pack", &["router"]), "ip", 0, None),
    ];
    assert_eq!(
        problems(&catalog),
        [
            "products[1].add_ons: only services and bundles may have add-on rules (kind: good)",
            "products[2].add_ons: only services and bundles may have add-on rules (kind: add_on)",
            "products[3].add_ons: only services and bundles may have add-on rules (kind: service_request)",
        ]
    );
}

#[test]
fn components_belong_to_bundles_and_need_a_positive_quantity() {
    let catalog = [
        with_component(product("svc", ProductKind::Service), "router", dec!(1)),
        product("empty", ProductKind::Bundle),
        with_component(
            with_component(
                with_component(
                    with_component(product("pack", ProductKind::Bundle), "nope", dec!(1)),
                    "router",
                    dec!(0),
                ),
                "svc",
                dec!(-1.5),
            ),
            "router",
            dec!(1),
        ),
        product("router", ProductKind::Good),
    ];
    assert_eq!(
        problems(&catalog),
        [
            "products[0].components: only bundles may have components (kind: service)",
            "products[1].components: must have at least one element",
            "products[2].components[0].code: unknown product \"nope\"",
            "products[2].components[1].quantity: must be greater than zero, got 0",
            "products[2].components[2].quantity: must be greater than zero, got -1.5",
            "products[2].components[3].code: duplicates \"router\" at index 1",
        ]
    );
}

#[test]
fn a_bundle_may_not_contain_itself_through_another() {
    let catalog = [bundle("a", &["b"]), bundle("b", &["a"])];
    assert_eq!(
        problems(&catalog),
        ["products[1].components[0].code: bundle cycle a → b → a"]
    );
}

#[test]
fn cycles_of_any_length_are_reported_where_they_close() {
    let catalog = [
        bundle("outer", &["a"]),
        bundle("a", &["leaf", "b"]),
        bundle("b", &["c"]),
        bundle("c", &["leaf", "a"]),
        bundle("selfish", &["selfish"]),
        product("leaf", ProductKind::Service),
    ];
    assert_eq!(
        problems(&catalog),
        [
            "products[3].components[1].code: bundle cycle a → b → c → a",
            "products[4].components[0].code: bundle cycle selfish → selfish",
        ]
    );
}

#[test]
fn shared_components_are_not_cycles() {
    // Diamond: top contains left and right, both contain base.
    let catalog = [
        bundle("top", &["left", "right"]),
        bundle("left", &["base"]),
        bundle("right", &["base"]),
        bundle("base", &["svc"]),
        product("svc", ProductKind::Service),
    ];
    assert_eq!(validate_structure(&catalog), Ok(()));
}

#[test]
fn every_problem_is_reported_at_once_in_product_order() {
    let catalog = [
        with_add_on(bundle("a", &["b"]), "a", 0, None),
        with_component(bundle("b", &["a"]), "ghost", dec!(0)),
        product("a", ProductKind::Good),
    ];
    let errors = validate_structure(&catalog).unwrap_err();
    assert_eq!(errors.0.len(), 5);
    assert_eq!(
        errors.to_string(),
        "products[0].add_ons[0].code: a product cannot be its own add-on; \
         products[1].components[0].code: bundle cycle a → b → a; \
         products[1].components[1].code: unknown product \"ghost\"; \
         products[1].components[1].quantity: must be greater than zero, got 0; \
         products[2].code: duplicates \"a\" at index 0"
    );
}

#[test]
fn lifecycle_moves_forward_only() {
    use Lifecycle::*;
    let all = [Draft, Active, Retired];
    let allowed = [(Draft, Active), (Draft, Retired), (Active, Retired)];
    for from in all {
        for to in all {
            let ok = allowed.contains(&(from, to));
            assert_eq!(from.can_become(to), ok, "{from} → {to}");
            assert_eq!(from.transition(to).is_ok(), ok, "{from} → {to}");
        }
    }
    assert_eq!(Draft.transition(Active), Ok(Active));
    assert_eq!(
        Retired.transition(Active).unwrap_err().to_string(),
        "a product cannot move from retired to active"
    );
}

#[test]
fn codes_round_trip() {
    for action in MacdAction::ALL {
        assert_eq!(MacdAction::parse(action.code()), Some(action));
    }
    let codes: Vec<&str> = MacdAction::ALL.iter().map(|a| a.code()).collect();
    assert_eq!(
        codes,
        ["new", "change", "rerate", "reterm", "replace", "move", "renew", "cancel"]
    );
    assert_eq!(MacdAction::parse("re-rate"), None);
    assert_eq!(MacdAction::parse("Cancel"), None);

    for kind in [
        ProductKind::Service,
        ProductKind::AddOn,
        ProductKind::Bundle,
        ProductKind::Good,
        ProductKind::ServiceRequest,
    ] {
        assert_eq!(ProductKind::parse(kind.code()), Some(kind));
    }
    assert_eq!(ProductKind::parse("addon"), None);
    for state in [Lifecycle::Draft, Lifecycle::Active, Lifecycle::Retired] {
        assert_eq!(Lifecycle::parse(state.code()), Some(state));
    }
    assert_eq!(Lifecycle::parse("archived"), None);
}
