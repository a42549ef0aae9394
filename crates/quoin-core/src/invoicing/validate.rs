//! Input checks, all done before any arithmetic so a bad input changes nothing and the
//! computation can assume one currency throughout.

use std::collections::HashSet;

use rust_decimal::Decimal;

use crate::money::{Currency, Money};

use super::charge::ChargeLine;
use super::coupon::CouponValue;
use super::error::{InvoicingError, Subject};
use super::fee::FeeRate;
use super::finish::InvoiceContext;

pub(crate) fn validate(charges: &[ChargeLine], ctx: &InvoiceContext) -> Result<(), InvoicingError> {
    let check = Checker {
        currency: ctx.currency,
    };
    let mut keys = HashSet::new();
    for charge in charges {
        check.currency(Subject::Charge(charge.key), charge.amount)?;
        if !keys.insert(charge.key) {
            return Err(InvoicingError::DuplicateKey(charge.key));
        }
    }
    for minimum in &ctx.minimums {
        check.non_negative(Subject::Minimum(minimum.price_code.clone()), minimum.amount)?;
    }
    if let Some(commitment) = &ctx.commitment {
        check.non_negative(Subject::Commitment, commitment.amount)?;
    }
    for commitment in &ctx.subscription_commitments {
        check.non_negative(Subject::Commitment, commitment.amount)?;
    }
    for applied in &ctx.coupons {
        let subject = || Subject::Coupon(applied.coupon.code.clone());
        match applied.coupon.value {
            CouponValue::Percent(p) => check.percent(subject(), p)?,
            CouponValue::Amount(a) => check.non_negative(subject(), a)?,
        }
        if let Some(remaining) = applied.remaining {
            check.non_negative(subject(), remaining)?;
        }
        if applied.period_number == 0 {
            return Err(InvoicingError::ZeroPeriodNumber { subject: subject() });
        }
    }
    for fee in &ctx.fees {
        let subject = Subject::Fee(fee.code.clone());
        match fee.rate {
            FeeRate::Percent(p) => check.percent(subject, p)?,
            FeeRate::PerLine(a) => check.non_negative(subject, a)?,
        }
    }
    for wallet in &ctx.wallets {
        check.non_negative(Subject::Wallet(wallet.code.clone()), wallet.balance)?;
    }
    Ok(())
}

struct Checker {
    currency: Currency,
}

impl Checker {
    fn currency(&self, subject: Subject, amount: Money) -> Result<(), InvoicingError> {
        if amount.currency() == self.currency {
            Ok(())
        } else {
            Err(InvoicingError::CurrencyMismatch {
                subject,
                found: amount.currency(),
                expected: self.currency,
            })
        }
    }

    fn non_negative(&self, subject: Subject, amount: Money) -> Result<(), InvoicingError> {
        self.currency(subject.clone(), amount)?;
        if amount.is_negative() {
            return Err(InvoicingError::NegativeAmount { subject, amount });
        }
        Ok(())
    }

    fn percent(&self, subject: Subject, value: Decimal) -> Result<(), InvoicingError> {
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            return Err(InvoicingError::InvalidPercent { subject, value });
        }
        Ok(())
    }
}
