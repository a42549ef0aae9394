//! Invoice-finishing invariants over random charges, coupons, fees, minimums and wallets.

use proptest::prelude::*;
use quoin_core::invoicing::{
    finish_invoice, AppliedCoupon, ChargeKind, ChargeLine, ChargeMinimum, Coupon, CouponDuration,
    CouponValue, Fee, FeeRate, FinalInvoice, InvoiceContext, LineFilter, LineOrigin,
    MinimumCommitment, TaxComponent, TaxMode, TaxProfile, TaxTable, Wallet,
};
use quoin_core::money::{Currency, Money};
use rust_decimal::Decimal;

const PRODUCTS: [&str; 3] = ["fiber", "voice", "tv"];
const METRICS: [&str; 2] = ["calls", "gb"];
const CATEGORIES: [&str; 3] = ["standard", "reduced", "zero"];

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

fn table() -> TaxTable {
    let rate = |name: &str, percent| TaxComponent::new(name, Decimal::new(percent, 3));
    TaxTable::new("standard")
        .with_rate(
            "X",
            "standard",
            vec![rate("state", 6_250), rate("county", 2_625)],
        )
        .unwrap()
        .with_rate("X", "reduced", vec![rate("vat", 5_500)])
        .unwrap()
        .with_rate("X", "zero", vec![rate("vat", 0)])
        .unwrap()
}

fn kind() -> impl Strategy<Value = ChargeKind> {
    prop_oneof![
        Just(ChargeKind::Recurring),
        Just(ChargeKind::OneTime),
        Just(ChargeKind::Usage),
        Just(ChargeKind::Repair),
        Just(ChargeKind::EarlyTermination),
        Just(ChargeKind::Adjustment),
    ]
}

fn mode() -> impl Strategy<Value = Option<TaxMode>> {
    prop_oneof![
        Just(None),
        Just(Some(TaxMode::Exclusive)),
        Just(Some(TaxMode::Inclusive))
    ]
}

fn charges() -> impl Strategy<Value = Vec<ChargeLine>> {
    let line = (
        kind(),
        prop_oneof![4 => 0i64..500_000, 1 => -300_000i64..0],
        0..PRODUCTS.len() + 1,
        0..METRICS.len() + 1,
        0..CATEGORIES.len() + 1,
        mode(),
    );
    prop::collection::vec(line, 0..8).prop_map(|lines| {
        lines
            .into_iter()
            .enumerate()
            .map(|(key, (kind, minor, product, metric, category, mode))| {
                let mut c = ChargeLine::new(key, kind, eur(minor));
                c.product_code = PRODUCTS.get(product).map(|s| s.to_string());
                c.price_code = c.product_code.clone();
                c.metric_code = METRICS.get(metric).map(|s| s.to_string());
                c.tax_category = CATEGORIES.get(category).map(|s| s.to_string());
                c.tax_mode = mode;
                c
            })
            .collect()
    })
}

fn filter() -> impl Strategy<Value = LineFilter> {
    prop_oneof![
        3 => Just(LineFilter::any()),
        1 => (0..PRODUCTS.len()).prop_map(|i| LineFilter::products([PRODUCTS[i]])),
        1 => (0..METRICS.len()).prop_map(|i| LineFilter::metrics([METRICS[i]])),
        1 => Just(LineFilter::kinds([ChargeKind::Recurring, ChargeKind::Usage])),
    ]
}

fn coupons() -> impl Strategy<Value = Vec<AppliedCoupon>> {
    let value = prop_oneof![
        (0i64..=10_000).prop_map(|bp| CouponValue::Percent(Decimal::new(bp, 2))),
        (0i64..300_000).prop_map(|m| CouponValue::Amount(eur(m))),
    ];
    let duration = prop_oneof![
        Just(CouponDuration::Once),
        (1u32..4).prop_map(CouponDuration::Periods),
        Just(CouponDuration::Forever),
    ];
    let coupon = (
        value,
        duration,
        filter(),
        1u32..5,
        prop::option::of(0i64..200_000),
    );
    prop::collection::vec(coupon, 0..3).prop_map(|cs| {
        cs.into_iter()
            .enumerate()
            .map(
                |(i, (value, duration, applies_to, period_number, remaining))| AppliedCoupon {
                    coupon: Coupon {
                        code: format!("c{i}"),
                        value,
                        duration,
                        applies_to,
                    },
                    period_number,
                    remaining: remaining.map(eur),
                },
            )
            .collect()
    })
}

fn fees() -> impl Strategy<Value = Vec<Fee>> {
    let rate = prop_oneof![
        (0i64..=2_000).prop_map(|bp| FeeRate::Percent(Decimal::new(bp, 2))),
        (0i64..500).prop_map(|m| FeeRate::PerLine(eur(m))),
    ];
    let fee = (rate, filter(), 0..CATEGORIES.len() + 1);
    prop::collection::vec(fee, 0..3).prop_map(|fs| {
        fs.into_iter()
            .enumerate()
            .map(|(i, (rate, applies_to, category))| Fee {
                code: format!("f{i}"),
                rate,
                applies_to,
                tax_category: CATEGORIES.get(category).map(|s| s.to_string()),
            })
            .collect()
    })
}

fn wallets() -> impl Strategy<Value = Vec<Wallet>> {
    prop::collection::vec((0i64..800_000, filter()), 0..3).prop_map(|ws| {
        ws.into_iter()
            .enumerate()
            .map(|(i, (balance, applies_to))| Wallet {
                code: format!("w{i}"),
                balance: eur(balance),
                applies_to,
            })
            .collect()
    })
}

fn context() -> impl Strategy<Value = InvoiceContext> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec((0..PRODUCTS.len(), 0i64..300_000), 0..3),
        prop::option::of(0i64..1_000_000),
        coupons(),
        fees(),
        wallets(),
    )
        .prop_map(
            |(inclusive, exempt, minimums, commitment, coupons, fees, wallets)| {
                let mut ctx = InvoiceContext::new(
                    Currency::EUR,
                    table(),
                    TaxProfile {
                        jurisdiction: "X".into(),
                        exempt,
                    },
                );
                if inclusive {
                    ctx.tax_mode = TaxMode::Inclusive;
                }
                ctx.minimums = minimums
                    .into_iter()
                    .map(|(p, m)| ChargeMinimum::new(PRODUCTS[p], eur(m)))
                    .collect();
                ctx.commitment = commitment.map(|m| MinimumCommitment::new(eur(m)));
                ctx.coupons = coupons;
                ctx.fees = fees;
                ctx.wallets = wallets;
                ctx
            },
        )
}

fn sum(items: impl IntoIterator<Item = Money>) -> Money {
    Money::sum(Currency::EUR, items).unwrap()
}

fn check_totals(inv: &FinalInvoice) {
    let t = inv.totals;
    assert_eq!(t.subtotal, sum(inv.lines.iter().map(|l| l.net)));
    assert_eq!(t.tax, sum(inv.lines.iter().map(|l| l.tax.amount)));
    assert_eq!(t.gross, sum(inv.lines.iter().map(|l| l.gross)));
    assert_eq!(t.discounts, sum(inv.lines.iter().map(|l| l.discount)));
    assert_eq!(t.subtotal, t.gross.checked_sub(t.discounts).unwrap());
    assert_eq!(t.total, t.subtotal.checked_add(t.tax).unwrap());
    assert_eq!(t.prepaid, sum(inv.lines.iter().map(|l| l.prepaid)));
    assert_eq!(t.prepaid, sum(inv.wallets.iter().map(|w| w.used)));
    assert_eq!(t.amount_due, t.total.checked_sub(t.prepaid).unwrap());
    if !t.total.is_negative() {
        assert!(!t.amount_due.is_negative(), "prepaid credit overpaid");
    } else {
        assert!(t.prepaid.is_zero(), "prepaid credit paid a credit invoice");
    }
    let summary_tax = sum(inv.tax_summary.iter().map(|r| r.amount));
    assert_eq!(summary_tax, t.tax);
}

fn check_lines(inv: &FinalInvoice, exempt: bool) {
    for line in &inv.lines {
        assert_eq!(line.net, line.gross.checked_sub(line.discount).unwrap());
        assert_eq!(line.total, line.net.checked_add(line.tax.amount).unwrap());
        let charged = line.priced.checked_sub(line.coupon_discount).unwrap();
        match line.tax_mode {
            TaxMode::Exclusive => {
                assert_eq!(line.gross, line.priced);
                assert_eq!(line.net, charged);
            }
            TaxMode::Inclusive => assert_eq!(line.total, charged),
        }
        let components = sum(line.tax.components.iter().map(|c| c.amount));
        if exempt {
            assert!(line.tax.amount.is_zero() && line.tax.exempt);
        } else {
            assert_eq!(components, line.tax.amount);
        }
        // Tax follows the sign of the net; discounts never turn a line around.
        assert!(line.tax.amount.minor().signum() * line.net.minor().signum() >= 0);
        assert!(!line.coupon_discount.is_negative() && !line.discount.is_negative());
        if line.priced.is_positive() {
            assert!(!charged.is_negative() && !line.net.is_negative());
        } else {
            assert!(line.coupon_discount.is_zero());
        }
        if matches!(line.origin, LineOrigin::Fee { .. }) {
            assert!(line.coupon_discount.is_zero());
        }
        assert!(!line.prepaid.is_negative());
        assert!(line.prepaid.minor() <= line.total.minor().max(0));
    }
}

fn check_coupons(inv: &FinalInvoice, ctx: &InvoiceContext) {
    for (i, line) in inv.lines.iter().enumerate() {
        let shares = inv
            .coupons
            .iter()
            .flat_map(|c| &c.shares)
            .filter(|s| s.line == i)
            .map(|s| s.amount);
        assert_eq!(sum(shares), line.coupon_discount);
    }
    for (used, applied) in inv.coupons.iter().zip(&ctx.coupons) {
        assert_eq!(used.applied, sum(used.shares.iter().map(|s| s.amount)));
        assert!(used.shares.iter().all(|s| s.amount.is_positive()));
        if let CouponValue::Amount(amount) = applied.coupon.value {
            let available = match applied.coupon.duration {
                CouponDuration::Once => applied.remaining.unwrap_or(amount),
                _ => amount,
            };
            assert!(used.applied.minor() <= available.minor());
            if let Some(remaining) = used.remaining {
                assert_eq!(remaining, available.checked_sub(used.applied).unwrap());
                assert!(!remaining.is_negative());
            }
        }
    }
}

fn check_wallets(inv: &FinalInvoice, ctx: &InvoiceContext) {
    for (used, wallet) in inv.wallets.iter().zip(&ctx.wallets) {
        assert_eq!(used.used, sum(used.shares.iter().map(|s| s.amount)));
        assert!(used.used.minor() <= wallet.balance.minor());
        assert_eq!(
            used.balance_after,
            wallet.balance.checked_sub(used.used).unwrap()
        );
        let eligible = inv
            .lines
            .iter()
            .filter(|l| wallet.applies_to.matches(l))
            .map(|l| l.total.minor().max(0))
            .sum::<i64>();
        assert!(used.used.minor() <= eligible);
        for share in &used.shares {
            assert!(wallet.applies_to.matches(&inv.lines[share.line]));
        }
    }
}

fn check_minimums(inv: &FinalInvoice, ctx: &InvoiceContext) {
    for minimum in &ctx.minimums {
        let billed = inv
            .lines
            .iter()
            .filter(|l| l.price_code.as_deref() == Some(minimum.price_code.as_str()))
            .filter(|l| {
                matches!(
                    l.origin,
                    LineOrigin::MinimumTrueUp { .. }
                        | LineOrigin::Charge {
                            kind: ChargeKind::Recurring | ChargeKind::OneTime | ChargeKind::Usage,
                            ..
                        }
                )
            })
            .map(|l| l.priced.minor())
            .sum::<i64>();
        assert!(billed >= minimum.amount.minor());
    }
    if let Some(commitment) = &ctx.commitment {
        let billed = inv
            .lines
            .iter()
            .filter(|l| commitment.counts.matches(l) || l.origin == LineOrigin::CommitmentTrueUp)
            .map(|l| l.priced.minor())
            .sum::<i64>();
        assert!(billed >= commitment.amount.minor());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn finished_invoices_hold_their_invariants(charges in charges(), ctx in context()) {
        let inv = finish_invoice(&charges, &ctx).unwrap();
        check_totals(&inv);
        check_lines(&inv, ctx.tax_profile.exempt);
        check_coupons(&inv, &ctx);
        check_wallets(&inv, &ctx);
        check_minimums(&inv, &ctx);
        let charge_lines = inv
            .lines
            .iter()
            .filter(|l| matches!(l.origin, LineOrigin::Charge { .. }))
            .count();
        prop_assert_eq!(charge_lines, charges.len());
    }

    /// Credits mirror charges: without coupons, per-line fees, minimums or wallets, the
    /// invoice of negated lines is exactly the negated invoice.
    #[test]
    fn negated_charges_negate_the_invoice(charges in charges(), ctx in context()) {
        let mut ctx = ctx;
        ctx.coupons.clear();
        ctx.minimums.clear();
        ctx.commitment = None;
        ctx.wallets.clear();
        ctx.fees.retain(|f| matches!(f.rate, FeeRate::Percent(_)));
        let negated: Vec<ChargeLine> = charges
            .iter()
            .map(|c| {
                let mut n = c.clone();
                n.amount = c.amount.checked_neg().unwrap();
                n
            })
            .collect();
        let a = finish_invoice(&charges, &ctx).unwrap();
        let b = finish_invoice(&negated, &ctx).unwrap();
        prop_assert_eq!(a.lines.len(), b.lines.len());
        for (x, y) in a.lines.iter().zip(&b.lines) {
            prop_assert_eq!(x.net.checked_neg().unwrap(), y.net);
            prop_assert_eq!(x.tax.amount.checked_neg().unwrap(), y.tax.amount);
        }
        prop_assert_eq!(a.totals.total.checked_neg().unwrap(), b.totals.total);
    }
}
