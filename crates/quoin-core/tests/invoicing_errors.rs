//! Bad input to invoice finishing is a named error, never a panic or a partial invoice.

use quoin_core::invoicing::{
    finish_invoice, AppliedCoupon, ChargeKind, ChargeLine, ChargeMinimum, Coupon, CouponDuration,
    CouponValue, Fee, FeeRate, InvoiceContext, InvoicingError, LineFilter, Subject, TaxComponent,
    TaxProfile, TaxTable, Wallet,
};
use quoin_core::money::{Currency, Money, MoneyError};
use rust_decimal_macros::dec;

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

fn context() -> InvoiceContext {
    let taxes = TaxTable::new("standard")
        .with_rate("FR", "standard", vec![TaxComponent::new("VAT", dec!(20))])
        .unwrap();
    InvoiceContext::new(
        Currency::EUR,
        taxes,
        TaxProfile {
            jurisdiction: "FR".into(),
            exempt: false,
        },
    )
}

fn line(key: usize, minor: i64) -> ChargeLine {
    ChargeLine::new(key, ChargeKind::Usage, eur(minor))
}

fn coupon(value: CouponValue) -> AppliedCoupon {
    AppliedCoupon::first(Coupon {
        code: "C".into(),
        value,
        duration: CouponDuration::Forever,
        applies_to: LineFilter::any(),
    })
}

#[test]
fn currency_mismatch_names_the_input() {
    let usd = Money::from_minor(100, Currency::USD);
    let err =
        finish_invoice(&[ChargeLine::new(4, ChargeKind::OneTime, usd)], &context()).unwrap_err();
    assert_eq!(
        err,
        InvoicingError::CurrencyMismatch {
            subject: Subject::Charge(4),
            found: Currency::USD,
            expected: Currency::EUR,
        }
    );
    assert_eq!(
        err.to_string(),
        "charge 4: amount is in USD but the invoice is in EUR"
    );

    let mut ctx = context();
    ctx.coupons.push(coupon(CouponValue::Amount(usd)));
    let err = finish_invoice(&[line(0, 100)], &ctx).unwrap_err();
    assert_eq!(
        err.to_string(),
        "coupon `C`: amount is in USD but the invoice is in EUR"
    );

    let mut ctx = context();
    ctx.wallets.push(Wallet {
        code: "w".into(),
        balance: usd,
        applies_to: LineFilter::any(),
    });
    let err = finish_invoice(&[line(0, 100)], &ctx).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wallet `w`: amount is in USD but the invoice is in EUR"
    );

    let mut ctx = context();
    ctx.minimums.push(ChargeMinimum::new("api", usd));
    let err = finish_invoice(&[], &ctx).unwrap_err();
    assert_eq!(
        err.to_string(),
        "minimum of price `api`: amount is in USD but the invoice is in EUR"
    );

    let mut ctx = context();
    ctx.fees.push(Fee {
        code: "e911".into(),
        rate: FeeRate::PerLine(usd),
        applies_to: LineFilter::any(),
        tax_category: None,
    });
    let err = finish_invoice(&[], &ctx).unwrap_err();
    assert!(matches!(
        err,
        InvoicingError::CurrencyMismatch {
            subject: Subject::Fee(_),
            ..
        }
    ));
}

#[test]
fn duplicate_keys_are_refused() {
    let err = finish_invoice(&[line(1, 100), line(1, 200)], &context()).unwrap_err();
    assert_eq!(err, InvoicingError::DuplicateKey(1));
    assert_eq!(err.to_string(), "charge key 1 appears more than once");
}

#[test]
fn percentages_must_be_between_0_and_100() {
    let mut ctx = context();
    ctx.coupons.push(coupon(CouponValue::Percent(dec!(120))));
    let err = finish_invoice(&[line(0, 100)], &ctx).unwrap_err();
    assert_eq!(
        err.to_string(),
        "coupon `C`: percentage must be between 0 and 100, got 120"
    );

    let mut ctx = context();
    ctx.fees.push(Fee {
        code: "usf".into(),
        rate: FeeRate::Percent(dec!(-1)),
        applies_to: LineFilter::any(),
        tax_category: None,
    });
    assert!(matches!(
        finish_invoice(&[line(0, 100)], &ctx),
        Err(InvoicingError::InvalidPercent { .. })
    ));

    let err = TaxTable::new("standard")
        .with_rate("FR", "standard", vec![TaxComponent::new("VAT", dec!(-5))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tax rate `standard` in `FR`: percentage must be between 0 and 100, got -5"
    );
}

#[test]
fn negative_balances_and_zero_period_numbers_are_refused() {
    let mut ctx = context();
    ctx.wallets.push(Wallet {
        code: "w".into(),
        balance: eur(-1),
        applies_to: LineFilter::any(),
    });
    let err = finish_invoice(&[line(0, 100)], &ctx).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wallet `w`: amount must not be negative, got -0.01 EUR"
    );

    let mut ctx = context();
    let mut c = coupon(CouponValue::Percent(dec!(10)));
    c.period_number = 0;
    ctx.coupons.push(c);
    let err = finish_invoice(&[line(0, 100)], &ctx).unwrap_err();
    assert_eq!(
        err.to_string(),
        "coupon `C`: period numbers start at 1, got 0"
    );
}

#[test]
fn overflow_is_an_error() {
    let big = i64::MAX / 2 + 1;
    let err = finish_invoice(&[line(0, big), line(1, big)], &context()).unwrap_err();
    assert_eq!(err, InvoicingError::Money(MoneyError::Overflow));

    // The tax on the largest amount does not fit either.
    let err = finish_invoice(&[line(0, i64::MAX)], &context()).unwrap_err();
    assert_eq!(err, InvoicingError::Money(MoneyError::Overflow));
    assert_eq!(err.to_string(), "amount overflow");
}
