//! Exact invoice-finishing scenarios: Lago's taxes + coupon + minimum true-up (B13) and
//! metric-restricted prepaid credit (B14) from PUBLIC-EXAMPLES, then tax-inclusive
//! prices, multi-component taxes, exemptions, fees, coupon durations and restrictions,
//! commitments and negative lines, with the conventions documented in
//! `quoin_core::invoicing`.

// Minor-unit amounts are written major_minor: 100_00 is €100.00.
#![allow(clippy::inconsistent_digit_grouping)]

use quoin_core::invoicing::{
    finish_invoice, AppliedCoupon, ChargeKind, ChargeLine, ChargeMinimum, Coupon, CouponDuration,
    CouponValue, Fee, FeeRate, FinalInvoice, InvoiceContext, LineFilter, LineOrigin,
    MinimumCommitment, Share, SubscriptionCommitment, TaxComponent, TaxMode, TaxProfile,
    TaxSummary, TaxTable, Wallet,
};
use quoin_core::money::{Currency, Money};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

fn vat(percent: Decimal) -> Vec<TaxComponent> {
    vec![TaxComponent::new("VAT", percent)]
}

/// Categories in jurisdiction "FR": standard 20%, reduced 10%, zero 0%.
fn table() -> TaxTable {
    TaxTable::new("standard")
        .with_rate("FR", "standard", vat(dec!(20)))
        .unwrap()
        .with_rate("FR", "reduced", vat(dec!(10)))
        .unwrap()
        .with_rate("FR", "zero", vat(dec!(0)))
        .unwrap()
}

fn context() -> InvoiceContext {
    InvoiceContext::new(
        Currency::EUR,
        table(),
        TaxProfile {
            jurisdiction: "FR".into(),
            exempt: false,
        },
    )
}

fn usage(key: usize, minor: i64) -> ChargeLine {
    ChargeLine::new(key, ChargeKind::Usage, eur(minor))
}

fn recurring(key: usize, minor: i64) -> ChargeLine {
    ChargeLine::new(key, ChargeKind::Recurring, eur(minor))
}

fn coupon(code: &str, value: CouponValue, duration: CouponDuration) -> Coupon {
    Coupon {
        code: code.into(),
        value,
        duration,
        applies_to: LineFilter::any(),
    }
}

fn shares(pairs: &[(usize, i64)]) -> Vec<Share> {
    pairs
        .iter()
        .map(|&(line, minor)| Share {
            line,
            amount: eur(minor),
        })
        .collect()
}

fn minors(invoice: &FinalInvoice, f: fn(&quoin_core::invoicing::InvoiceLine) -> Money) -> Vec<i64> {
    invoice.lines.iter().map(|l| f(l).minor()).collect()
}

#[test]
fn b13_taxes_coupon_and_minimum_true_up() {
    let charges = [
        recurring(0, 100_00).tax_category("reduced"),
        usage(1, 50_00).price("fx").tax_category("zero"),
        usage(2, 30_00).price("cards").tax_category("standard"),
    ];
    let mut ctx = context();
    let mut minimum = ChargeMinimum::new("cards", eur(50_00));
    minimum.tax_category = Some("standard".into());
    ctx.minimums.push(minimum);
    ctx.coupons.push(AppliedCoupon::first(coupon(
        "TEN",
        CouponValue::Amount(eur(10_00)),
        CouponDuration::Once,
    )));

    let inv = finish_invoice(&charges, &ctx).unwrap();

    assert_eq!(
        inv.lines[3].origin,
        LineOrigin::MinimumTrueUp {
            price_code: "cards".into(),
            kind: ChargeKind::Usage
        }
    );
    assert_eq!(minors(&inv, |l| l.priced), [100_00, 50_00, 30_00, 20_00]);
    assert_eq!(minors(&inv, |l| l.discount), [5_00, 2_50, 1_50, 1_00]);
    assert_eq!(minors(&inv, |l| l.net), [95_00, 47_50, 28_50, 19_00]);
    assert_eq!(minors(&inv, |l| l.tax.amount), [9_50, 0, 5_70, 3_80]);
    assert_eq!(
        inv.coupons[0].shares,
        shares(&[(0, 5_00), (1, 2_50), (2, 1_50), (3, 1_00)])
    );
    assert_eq!(inv.coupons[0].applied, eur(10_00));
    assert_eq!(inv.coupons[0].remaining, Some(eur(0)));

    let t = inv.totals;
    assert_eq!(t.gross, eur(200_00));
    assert_eq!(t.discounts, eur(10_00));
    assert_eq!(t.subtotal, eur(190_00));
    assert_eq!(t.tax, eur(19_00));
    assert_eq!(t.total, eur(209_00));
    assert_eq!(t.prepaid, eur(0));
    assert_eq!(t.amount_due, eur(209_00));
    assert_eq!(
        inv.tax_summary,
        [
            TaxSummary {
                name: "VAT".into(),
                percent: dec!(10),
                base: eur(95_00),
                amount: eur(9_50)
            },
            TaxSummary {
                name: "VAT".into(),
                percent: dec!(0),
                base: eur(47_50),
                amount: eur(0)
            },
            TaxSummary {
                name: "VAT".into(),
                percent: dec!(20),
                base: eur(47_50),
                amount: eur(9_50)
            },
        ]
    );
}

fn b14_context(balance: i64) -> InvoiceContext {
    let mut ctx = context();
    ctx.taxes = TaxTable::new("standard")
        .with_rate("FR", "standard", vat(dec!(24)))
        .unwrap();
    ctx.wallets.push(Wallet {
        code: "prepaid".into(),
        balance: eur(balance),
        applies_to: LineFilter::metrics(["count_1", "count_2"]),
    });
    ctx
}

#[test]
fn b14_wallet_restricted_to_metrics() {
    let first = finish_invoice(&[usage(0, 14_29).metric("count_1")], &b14_context(39_00)).unwrap();
    assert_eq!(first.totals.tax, eur(3_43)); // 3.4296
    assert_eq!(first.totals.total, eur(17_72));
    assert_eq!(first.totals.prepaid, eur(17_72));
    assert_eq!(first.totals.amount_due, eur(0));
    assert_eq!(first.wallets[0].used, eur(17_72));
    assert_eq!(first.wallets[0].balance_after, eur(21_28));

    let second = finish_invoice(&[usage(0, 14_27).metric("count_2")], &b14_context(21_28)).unwrap();
    assert_eq!(second.totals.total, eur(17_69)); // 14.27 + 3.4248
    assert_eq!(second.wallets[0].used, eur(17_69));
    assert_eq!(second.wallets[0].balance_after, eur(3_59));
    assert_eq!(second.totals.amount_due, eur(0));

    let other = finish_invoice(&[usage(0, 14_29).metric("count_3")], &b14_context(3_59)).unwrap();
    assert_eq!(other.wallets[0].used, eur(0));
    assert_eq!(other.wallets[0].balance_after, eur(3_59));
    assert_eq!(other.totals.amount_due, eur(17_72));
}

#[test]
fn wallet_pays_at_most_its_balance_and_what_the_invoice_owes() {
    // Balance short of the line: it pays what it has.
    let inv = finish_invoice(&[usage(0, 14_29).metric("count_1")], &b14_context(5_00)).unwrap();
    assert_eq!(inv.wallets[0].used, eur(5_00));
    assert_eq!(inv.wallets[0].balance_after, eur(0));
    assert_eq!(inv.totals.amount_due, eur(12_72));

    // A credit line on the same invoice lowers what the wallet may pay.
    let charges = [
        usage(0, 100_00).metric("count_1"),
        ChargeLine::new(1, ChargeKind::Repair, eur(-80_00)),
    ];
    let inv = finish_invoice(&charges, &b14_context(500_00)).unwrap();
    assert_eq!(inv.totals.total, eur(24_80)); // (100 − 80) × 1.24
    assert_eq!(inv.wallets[0].used, eur(24_80));
    assert_eq!(inv.totals.amount_due, eur(0));
}

#[test]
fn tax_inclusive_price_extracts_the_tax() {
    let mut ctx = context();
    ctx.tax_mode = TaxMode::Inclusive;
    let inv = finish_invoice(&[recurring(0, 12_00)], &ctx).unwrap();
    let line = &inv.lines[0];
    assert_eq!(
        (line.gross, line.net, line.tax.amount, line.total),
        (eur(10_00), eur(10_00), eur(2_00), eur(12_00))
    );
    assert_eq!(inv.totals.subtotal, eur(10_00));
    assert_eq!(inv.totals.total, eur(12_00));
}

/// Per-line rounding: three 1.00 lines incl. 20% are 0.83 + 0.17 each (0.8333…), so the
/// invoice's tax is 0.51 where 3.00 on one line would carry 0.50. The sticker total holds.
#[test]
fn tax_is_rounded_per_line() {
    let mut ctx = context();
    ctx.tax_mode = TaxMode::Inclusive;
    let charges = [recurring(0, 1_00), recurring(1, 1_00), recurring(2, 1_00)];
    let inv = finish_invoice(&charges, &ctx).unwrap();
    assert_eq!(minors(&inv, |l| l.net), [83, 83, 83]);
    assert_eq!(minors(&inv, |l| l.tax.amount), [17, 17, 17]);
    assert_eq!(inv.totals.tax, eur(51));
    assert_eq!(inv.totals.total, eur(3_00));

    // Exclusive: 0.05 at 10% is 0.005 → 0.01 per line, 0.03 for three (0.015 once).
    let charges = [usage(0, 5), usage(1, 5), usage(2, 5)];
    let inv = finish_invoice(&charges.map(|c| c.tax_category("reduced")), &context()).unwrap();
    assert_eq!(inv.totals.tax, eur(3));
    assert_eq!(inv.totals.total, eur(18));
}

#[test]
fn inclusive_line_with_a_coupon_discounts_the_sticker_price() {
    let mut ctx = context();
    ctx.coupons.push(AppliedCoupon::first(coupon(
        "HALF",
        CouponValue::Percent(dec!(50)),
        CouponDuration::Forever,
    )));
    // One inclusive line on an otherwise exclusive invoice.
    let charges = [
        recurring(0, 12_00).tax_mode(TaxMode::Inclusive),
        recurring(1, 10_00),
    ];
    let inv = finish_invoice(&charges, &ctx).unwrap();
    let incl = &inv.lines[0];
    assert_eq!(incl.coupon_discount, eur(6_00));
    assert_eq!(
        (incl.gross, incl.discount, incl.net),
        (eur(10_00), eur(5_00), eur(5_00))
    );
    assert_eq!((incl.tax.amount, incl.total), (eur(1_00), eur(6_00)));
    let excl = &inv.lines[1];
    assert_eq!(
        (excl.gross, excl.discount, excl.net, excl.tax.amount),
        (eur(10_00), eur(5_00), eur(5_00), eur(1_00))
    );
    assert_eq!(inv.coupons[0].applied, eur(11_00));
    assert_eq!(inv.totals.discounts, eur(10_00));
    assert_eq!(inv.totals.total, eur(12_00));
}

#[test]
fn multi_component_tax_sums_to_the_rounded_line_tax() {
    let usd = |minor| Money::from_minor(minor, Currency::USD);
    let taxes = TaxTable::new("telecom")
        .with_rate(
            "US-NY-KINGS",
            "telecom",
            vec![
                TaxComponent::new("state", dec!(4)),
                TaxComponent::new("city", dec!(4.5)),
                TaxComponent::new("mctd", dec!(0.375)),
            ],
        )
        .unwrap();
    let ctx = InvoiceContext::new(
        Currency::USD,
        taxes,
        TaxProfile {
            jurisdiction: "US-NY-KINGS".into(),
            exempt: false,
        },
    );
    let charges = [ChargeLine::new(7, ChargeKind::Recurring, usd(99_99))];
    let inv = finish_invoice(&charges, &ctx).unwrap();
    let tax = &inv.lines[0].tax;
    // 99.99 × 8.875% = 8.874 → 8.87, split 4 : 4.5 : 0.375 by largest remainder.
    assert_eq!(tax.percent, dec!(8.875));
    assert_eq!(tax.amount, usd(8_87));
    let parts: Vec<(&str, i64)> = tax
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.amount.minor()))
        .collect();
    assert_eq!(parts, [("state", 4_00), ("city", 4_50), ("mctd", 37)]);
    assert_eq!(inv.totals.total, usd(108_86));
    assert_eq!(inv.tax_summary.len(), 3);
}

#[test]
fn exempt_account_pays_no_tax_and_inclusive_prices_stay_whole() {
    let mut ctx = context();
    ctx.tax_profile.exempt = true;
    let charges = [
        recurring(0, 100_00),
        recurring(1, 12_00).tax_mode(TaxMode::Inclusive),
        usage(2, 5_00).tax_category("no-such-category"),
    ];
    let inv = finish_invoice(&charges, &ctx).unwrap();
    assert!(inv
        .lines
        .iter()
        .all(|l| l.tax.exempt && l.tax.components.is_empty()));
    assert_eq!(minors(&inv, |l| l.net), [100_00, 12_00, 5_00]);
    assert_eq!(inv.totals.tax, eur(0));
    assert_eq!(inv.totals.total, eur(117_00));
    assert!(inv.tax_summary.is_empty());
}

#[test]
fn missing_tax_rate_is_an_error_not_zero() {
    let err = finish_invoice(&[usage(0, 1_00).tax_category("luxury")], &context()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no tax rate for category `luxury` in jurisdiction `FR`"
    );
}

#[test]
fn negative_lines_reverse_tax_and_are_not_discounted() {
    let mut ctx = context();
    ctx.coupons.push(AppliedCoupon::first(coupon(
        "FIVE",
        CouponValue::Amount(eur(5_00)),
        CouponDuration::Once,
    )));
    let charges = [
        recurring(0, 16_932), // 169.32: `169_32` reads as a typed literal to clippy
        ChargeLine::new(1, ChargeKind::Repair, eur(-2334_20)),
    ];
    let inv = finish_invoice(&charges, &ctx).unwrap();
    // The whole coupon goes to the positive line.
    assert_eq!(inv.coupons[0].shares, shares(&[(0, 5_00)]));
    assert_eq!(minors(&inv, |l| l.discount), [5_00, 0]);
    // 164.32 × 20% = 32.864 → 32.86; −2334.20 × 20% = −466.84.
    assert_eq!(minors(&inv, |l| l.tax.amount), [32_86, -466_84]);
    assert_eq!(inv.totals.subtotal, eur(-2169_88));
    assert_eq!(inv.totals.tax, eur(-433_98));
    assert_eq!(inv.totals.total, eur(-2603_86));
    assert_eq!(inv.totals.amount_due, eur(-2603_86));

    // Half a cent of tax reverses to exactly minus what it charges.
    let inv = finish_invoice(
        &[ChargeLine::new(0, ChargeKind::Adjustment, eur(-5)).tax_category("reduced")],
        &context(),
    )
    .unwrap();
    assert_eq!(inv.totals.tax, eur(-1));
}

#[test]
fn percentage_and_per_line_fees_are_taxed_under_their_own_category() {
    let mut ctx = context();
    ctx.fees.push(Fee {
        code: "usf".into(),
        rate: FeeRate::Percent(dec!(3.5)),
        applies_to: LineFilter::kinds([ChargeKind::Recurring, ChargeKind::Repair]),
        tax_category: Some("reduced".into()),
    });
    ctx.fees.push(Fee {
        code: "e911".into(),
        rate: FeeRate::PerLine(eur(75)),
        applies_to: LineFilter::products(["voice"]),
        tax_category: Some("zero".into()),
    });
    ctx.coupons.push(AppliedCoupon::first(coupon(
        "TENPC",
        CouponValue::Percent(dec!(10)),
        CouponDuration::Once,
    )));
    let charges = [
        recurring(0, 40_00).product("voice"),
        recurring(1, 25_00).product("broadband"),
        ChargeLine::new(2, ChargeKind::Repair, eur(-10_00)).product("voice"),
        usage(3, 3_00).product("voice"),
    ];
    let inv = finish_invoice(&charges, &ctx).unwrap();
    let fees: Vec<(LineOrigin, i64, i64)> = inv.lines[4..]
        .iter()
        .map(|l| (l.origin.clone(), l.priced.minor(), l.tax.amount.minor()))
        .collect();
    let fee = |code: &str, on_line| LineOrigin::Fee {
        code: code.into(),
        on_line,
    };
    assert_eq!(
        fees,
        [
            // 3.5% of the nets 36.00, 22.50 and −10.00, taxed at 10%.
            (fee("usf", 0), 1_26, 13),
            (fee("usf", 1), 79, 8),
            (fee("usf", 2), -35, -4),
            // 0.75 on each positive voice line (a repair gets none), taxed at 0%.
            (fee("e911", 0), 75, 0),
            (fee("e911", 3), 75, 0),
        ]
    );
    // Fees are not discounted.
    assert!(inv.lines[4..].iter().all(|l| l.discount.is_zero()));
    // 36.00 + 22.50 − 10.00 + 2.70 = 51.20 of charges, 3.20 of fees.
    assert_eq!(inv.totals.subtotal, eur(54_40));
    // 7.20 + 4.50 − 2.00 + 0.54 + 0.13 + 0.08 − 0.04.
    assert_eq!(inv.totals.tax, eur(10_41));
    assert_eq!(inv.totals.total, eur(64_81));
}

fn percent_coupon(duration: CouponDuration, period_number: u32) -> AppliedCoupon {
    AppliedCoupon {
        coupon: coupon("P20", CouponValue::Percent(dec!(20)), duration),
        period_number,
        remaining: None,
    }
}

#[test]
fn coupon_for_n_periods_stops_after_the_nth() {
    let charges = [recurring(0, 50_00)];
    let discount_in = |period_number| {
        let mut ctx = context();
        ctx.coupons
            .push(percent_coupon(CouponDuration::Periods(3), period_number));
        finish_invoice(&charges, &ctx).unwrap().totals.discounts
    };
    assert_eq!(discount_in(1), eur(10_00));
    assert_eq!(discount_in(3), eur(10_00));
    assert_eq!(discount_in(4), eur(0));

    let mut ctx = context();
    ctx.coupons
        .push(percent_coupon(CouponDuration::Forever, 240));
    assert_eq!(
        finish_invoice(&charges, &ctx).unwrap().totals.discounts,
        eur(10_00)
    );

    let mut ctx = context();
    ctx.coupons.push(percent_coupon(CouponDuration::Once, 2));
    let inv = finish_invoice(&charges, &ctx).unwrap();
    assert_eq!(inv.coupons[0].applied, eur(0));
    assert!(inv.coupons[0].shares.is_empty());
}

#[test]
fn fixed_coupon_per_period_does_not_carry_over() {
    let mut ctx = context();
    ctx.coupons.push(AppliedCoupon {
        coupon: coupon(
            "M30",
            CouponValue::Amount(eur(30_00)),
            CouponDuration::Periods(6),
        ),
        period_number: 2,
        remaining: None,
    });
    let inv = finish_invoice(&[recurring(0, 20_00)], &ctx).unwrap();
    assert_eq!(inv.coupons[0].applied, eur(20_00));
    assert_eq!(inv.coupons[0].remaining, None);
    assert_eq!(inv.totals.total, eur(0));
}

#[test]
fn fixed_once_coupon_carries_its_remainder_forward() {
    let once = |remaining| {
        let mut ctx = context();
        ctx.coupons.push(AppliedCoupon {
            coupon: coupon(
                "WELCOME",
                CouponValue::Amount(eur(100_00)),
                CouponDuration::Once,
            ),
            period_number: 1,
            remaining,
        });
        ctx
    };
    let first = finish_invoice(&[recurring(0, 30_00), usage(1, 10_00)], &once(None)).unwrap();
    assert_eq!(first.coupons[0].applied, eur(40_00));
    assert_eq!(first.coupons[0].remaining, Some(eur(60_00)));
    assert_eq!(minors(&first, |l| l.net), [0, 0]);
    assert_eq!(first.totals.total, eur(0));

    let second = finish_invoice(&[recurring(0, 80_00)], &once(Some(eur(60_00)))).unwrap();
    assert_eq!(second.coupons[0].applied, eur(60_00));
    assert_eq!(second.coupons[0].remaining, Some(eur(0)));
    assert_eq!(second.totals.subtotal, eur(20_00));

    let third = finish_invoice(&[recurring(0, 80_00)], &once(Some(eur(0)))).unwrap();
    assert_eq!(third.coupons[0].applied, eur(0));
}

#[test]
fn percent_coupon_restricted_to_a_product() {
    let mut ctx = context();
    let mut c = percent_coupon(CouponDuration::Forever, 1);
    c.coupon.applies_to = LineFilter::products(["fiber-1g"]);
    ctx.coupons.push(c);
    let charges = [
        recurring(0, 59_99).product("fiber-1g"),
        recurring(1, 9_99).product("tv"),
        usage(2, 12_34),
    ];
    let inv = finish_invoice(&charges, &ctx).unwrap();
    // 59.99 × 20% = 11.998 → 12.00.
    assert_eq!(minors(&inv, |l| l.discount), [12_00, 0, 0]);
    assert_eq!(inv.coupons[0].shares, shares(&[(0, 12_00)]));
}

#[test]
fn coupons_stack_in_order_and_never_go_below_zero() {
    let mut ctx = context();
    ctx.coupons.push(percent_coupon(CouponDuration::Forever, 1));
    ctx.coupons.push(AppliedCoupon::first(coupon(
        "BIG",
        CouponValue::Amount(eur(1_000_00)),
        CouponDuration::Forever,
    )));
    let inv = finish_invoice(&[recurring(0, 10_00), usage(1, 5_00)], &ctx).unwrap();
    assert_eq!(inv.coupons[0].applied, eur(3_00));
    // What the percentage left: 8.00 and 4.00.
    assert_eq!(inv.coupons[1].shares, shares(&[(0, 8_00), (1, 4_00)]));
    assert_eq!(minors(&inv, |l| l.net), [0, 0]);
    assert_eq!(inv.totals.total, eur(0));
}

#[test]
fn minimum_commitment_tops_up_the_period() {
    let mut ctx = context();
    let mut commitment = MinimumCommitment::new(eur(500_00));
    commitment.tax_category = Some("reduced".into());
    ctx.commitment = Some(commitment);
    let mut minimum = ChargeMinimum::new("api", eur(100_00));
    minimum.metric_code = Some("calls".into());
    ctx.minimums.push(minimum);
    let charges = [
        recurring(0, 200_00),
        usage(1, 40_00).price("api"),
        // Repairs and termination fees do not count toward the commitment.
        ChargeLine::new(2, ChargeKind::Repair, eur(-50_00)),
        ChargeLine::new(3, ChargeKind::EarlyTermination, eur(90_00)),
    ];
    let inv = finish_invoice(&charges, &ctx).unwrap();
    assert_eq!(inv.lines.len(), 6);
    assert_eq!(inv.lines[4].priced, eur(60_00)); // api true-up, counts toward the commitment
    assert_eq!(inv.lines[4].metric_code.as_deref(), Some("calls"));
    assert_eq!(inv.lines[5].origin, LineOrigin::CommitmentTrueUp);
    assert_eq!(inv.lines[5].priced, eur(200_00)); // 500 − (200 + 40 + 60)
    assert_eq!(inv.lines[5].tax.amount, eur(20_00));
    assert_eq!(inv.totals.subtotal, eur(540_00));

    // Met: no true-up line.
    let inv = finish_invoice(&[recurring(0, 600_00)], &ctx).unwrap();
    assert_eq!(inv.lines.len(), 2); // the api minimum still applies
    assert_eq!(inv.lines[1].priced, eur(100_00));
}

#[test]
fn subscription_commitment_counts_its_group_after_coupons() {
    let mut ctx = context();
    // Subscription A commits to 150.00 (taxed reduced, 10%), B to 50.00.
    let mut a = SubscriptionCommitment::new("sub_a", eur(150_00));
    a.tax_category = Some("reduced".into());
    a.product_code = Some("plan".into());
    ctx.subscription_commitments = vec![a, SubscriptionCommitment::new("sub_b", eur(50_00))];
    let mut minimum = ChargeMinimum::new("api", eur(30_00));
    minimum.group = Some("sub_a".into());
    ctx.minimums.push(minimum);
    ctx.coupons.push(AppliedCoupon::first(coupon(
        "TEN",
        CouponValue::Percent(dec!(10)),
        CouponDuration::Forever,
    )));
    let charges = [
        recurring(0, 100_00).group("sub_a"),
        usage(1, 20_00).price("api").group("sub_a"),
        // A repair is a correction of another period: it does not count.
        ChargeLine::new(2, ChargeKind::Repair, eur(-40_00)).group("sub_a"),
        recurring(3, 60_00).group("sub_b"),
    ];
    let inv = finish_invoice(&charges, &ctx).unwrap();
    // Lines: 4 charges, the api true-up (10.00), then A's commitment true-up. After the
    // 10% coupon A has 90 + 18 + 9 = 117.00 toward 150.00 → 33.00, undiscounted, taxed
    // at 10% → 3.30. B has 54.00 ≥ 50.00: no true-up.
    assert_eq!(inv.lines.len(), 6);
    assert_eq!(inv.lines[4].priced, eur(10_00));
    let t = &inv.lines[5];
    assert_eq!(
        t.origin,
        LineOrigin::SubscriptionCommitmentTrueUp {
            group: "sub_a".into()
        }
    );
    assert_eq!(
        (t.priced, t.coupon_discount, t.net, t.tax.amount),
        (eur(33_00), eur(0), eur(33_00), eur(3_30))
    );
    assert_eq!(t.product_code.as_deref(), Some("plan"));
}

#[test]
fn charge_minimum_counts_only_its_period() {
    use jiff::civil::date;
    use quoin_core::calendar::Period;
    let march = Period::new(date(2026, 3, 1), date(2026, 4, 1)).unwrap();
    let april = Period::new(date(2026, 4, 1), date(2026, 5, 1)).unwrap();
    let mut ctx = context();
    let mut minimum = ChargeMinimum::new("api", eur(50_00));
    minimum.period = Some(april);
    ctx.minimums.push(minimum);
    let charges = [
        usage(0, 45_00).price("api").period(march),
        usage(1, 20_00).price("api").period(april),
    ];
    let inv = finish_invoice(&charges, &ctx).unwrap();
    assert_eq!(inv.lines[2].priced, eur(30_00));
    assert_eq!(inv.lines[2].period, Some(april));
}

#[test]
fn fee_on_a_tax_inclusive_line_is_added_on_top() {
    let mut ctx = context();
    ctx.tax_mode = TaxMode::Inclusive;
    ctx.fees.push(Fee {
        code: "surcharge".into(),
        rate: FeeRate::Percent(dec!(5)),
        applies_to: LineFilter::any(),
        tax_category: None,
    });
    let inv = finish_invoice(&[recurring(0, 12_00)], &ctx).unwrap();
    let fee = &inv.lines[1];
    // 5% of the 10.00 net, tax-exclusive whatever the context's mode.
    assert_eq!(fee.tax_mode, TaxMode::Exclusive);
    assert_eq!((fee.net, fee.tax.amount), (eur(50), eur(10)));
    assert_eq!(inv.totals.total, eur(12_60));
}

#[test]
fn only_an_unrestricted_wallet_pays_fees() {
    let mut ctx = b14_context(100_00);
    ctx.fees.push(Fee {
        code: "reg".into(),
        rate: FeeRate::PerLine(eur(1_00)),
        applies_to: LineFilter::any(),
        tax_category: None,
    });
    ctx.wallets.push(Wallet {
        code: "general".into(),
        balance: eur(100_00),
        applies_to: LineFilter::any(),
    });
    let inv = finish_invoice(&[usage(0, 10_00).metric("count_1")], &ctx).unwrap();
    // 12.40 for the usage from the metric wallet, 1.24 for the fee from the general one.
    assert_eq!(inv.wallets[0].shares, shares(&[(0, 12_40)]));
    assert_eq!(inv.wallets[1].shares, shares(&[(1, 1_24)]));
    assert_eq!(inv.totals.amount_due, eur(0));
}
