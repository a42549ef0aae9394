//! MRR normalisation, OCA subscription_oca's figures (PUBLIC-EXAMPLES B17).

use quoin_core::analytics::mrr::{annual, monthly, FxRate, MrrError, RecurringAmount};
use quoin_core::calendar::{BillingPeriod, PeriodUnit};
use quoin_core::money::{Currency, Money};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn eur(amount: Decimal) -> Money {
    Money::from_decimal_exact(amount, Currency::EUR).unwrap()
}

fn mrr(amount: Decimal, period: BillingPeriod) -> Money {
    monthly(&RecurringAmount::new(eur(amount), period), None).unwrap()
}

#[test]
fn b17_periods_normalise_to_a_month() {
    assert_eq!(mrr(dec!(1200), BillingPeriod::YEAR), eur(dec!(100)));
    assert_eq!(mrr(dec!(300), BillingPeriod::QUARTER), eur(dec!(100)));
    // 50 × 30.4375 / 7 = 217.4107…
    assert_eq!(mrr(dec!(50), BillingPeriod::WEEK), eur(dec!(217.41)));
    assert_eq!(mrr(dec!(1), BillingPeriod::DAY), eur(dec!(30.44)));
    assert_eq!(mrr(dec!(150), BillingPeriod::MONTH), eur(dec!(150)));
}

#[test]
fn b17_discount_and_exchange_rate() {
    let mut item = RecurringAmount::new(eur(dec!(200)), BillingPeriod::MONTH);
    item.discount_percent = dec!(50);
    assert_eq!(monthly(&item, None), Ok(eur(dec!(100))));

    let usd = RecurringAmount::new(
        Money::from_minor(20_000, Currency::USD),
        BillingPeriod::MONTH,
    );
    let fx = FxRate {
        reporting: Currency::EUR,
        units_per_reporting: dec!(2),
    };
    assert_eq!(monthly(&usd, Some(&fx)), Ok(eur(dec!(100))));
}

#[test]
fn b17_arr_is_twelve_exact_months() {
    let item = RecurringAmount::new(eur(dec!(150)), BillingPeriod::MONTH);
    assert_eq!(annual(&item, None), Ok(eur(dec!(1800))));
    // Rounded once: 12 × 217.4107… = 2608.93, not 12 × 217.41 = 2608.92.
    let weekly = RecurringAmount::new(eur(dec!(50)), BillingPeriod::WEEK);
    assert_eq!(annual(&weekly, None), Ok(eur(dec!(2608.93))));
}

#[test]
fn multi_unit_periods() {
    let two_weeks = BillingPeriod::new(PeriodUnit::Week, 2).unwrap();
    // 100 × 30.4375 / 14 = 217.4107…
    assert_eq!(mrr(dec!(100), two_weeks), eur(dec!(217.41)));
    let ten_days = BillingPeriod::new(PeriodUnit::Day, 10).unwrap();
    assert_eq!(mrr(dec!(10), ten_days), eur(dec!(30.44)));
    let eighteen_months = BillingPeriod::new(PeriodUnit::Month, 18).unwrap();
    assert_eq!(mrr(dec!(1000), eighteen_months), eur(dec!(55.56)));
    assert_eq!(mrr(dec!(1200), BillingPeriod::HALF_YEAR), eur(dec!(200)));
}

#[test]
fn bad_inputs_are_errors() {
    let mut item = RecurringAmount::new(eur(dec!(10)), BillingPeriod::MONTH);
    item.discount_percent = dec!(101);
    assert_eq!(
        monthly(&item, None),
        Err(MrrError::InvalidDiscount(dec!(101)))
    );
    item.discount_percent = dec!(-1);
    assert_eq!(
        monthly(&item, None),
        Err(MrrError::InvalidDiscount(dec!(-1)))
    );

    let item = RecurringAmount::new(eur(dec!(10)), BillingPeriod::MONTH);
    let fx = FxRate {
        reporting: Currency::USD,
        units_per_reporting: dec!(0),
    };
    let err = monthly(&item, Some(&fx)).unwrap_err();
    assert_eq!(err, MrrError::NonPositiveRate(dec!(0)));
    assert_eq!(
        err.to_string(),
        "exchange rate must be greater than zero, got 0"
    );

    let huge = RecurringAmount::new(
        Money::from_minor(i64::MAX, Currency::EUR),
        BillingPeriod::MONTH,
    );
    assert_eq!(annual(&huge, None), Err(MrrError::Overflow));
}
