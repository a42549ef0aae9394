use jiff::civil::Date;

use crate::calendar::days_between;
use crate::money::{Currency, Money};

use super::document::Invoice;

/// Open receivables by days past due. Buckets partition the open invoices, so they
/// always add up to the ledger's open total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aging {
    /// Not yet past due (due today or later).
    pub current: Money,
    pub days_1_30: Money,
    pub days_31_60: Money,
    pub days_61_90: Money,
    pub over_90: Money,
}

impl Aging {
    /// Sum of all buckets.
    pub fn total(&self) -> Money {
        let minor = [
            self.current,
            self.days_1_30,
            self.days_31_60,
            self.days_61_90,
            self.over_90,
        ]
        .iter()
        .map(Money::minor)
        // Non-negative parts of the ledger's open total, which fits in i64.
        .fold(0i64, i64::saturating_add);
        Money::from_minor(minor, self.current.currency())
    }
}

pub(super) fn aging<'a>(
    currency: Currency,
    invoices: impl IntoIterator<Item = &'a Invoice>,
    as_of: Date,
) -> Aging {
    // Buckets: current, 1-30, 31-60, 61-90, over 90.
    let mut buckets = [0i64; 5];
    for inv in invoices {
        let open = inv.open().minor();
        if open == 0 {
            continue;
        }
        let late = days_between(inv.due(), as_of);
        let bucket = match late {
            ..=0 => 0,
            1..=30 => 1,
            31..=60 => 2,
            61..=90 => 3,
            _ => 4,
        };
        // Each bucket is part of the open total, which the ledger keeps within i64.
        buckets[bucket] = buckets[bucket].saturating_add(open);
    }
    let m = |minor| Money::from_minor(minor, currency);
    Aging {
        current: m(buckets[0]),
        days_1_30: m(buckets[1]),
        days_31_60: m(buckets[2]),
        days_61_90: m(buckets[3]),
        over_90: m(buckets[4]),
    }
}
