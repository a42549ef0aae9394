//! Regulatory fees and surcharges: their own lines, computed per charge line after
//! discounts and taxed under their own category.
//!
//! A percentage fee is taken on the line's net (after discounts, without tax), so a
//! negative line gets a negative fee, reversing the fee its charge once carried. A
//! per-line fee applies to each positive line (a service billed), whatever its discount.
//! Fee amounts are always tax-exclusive, added on top even of tax-inclusive prices. Fees
//! are never discounted and never computed on other fees.

use rust_decimal::Decimal;

use crate::money::Money;

use super::arith::percent_of;
use super::charge::TaxMode;
use super::error::InvoicingError;
use super::filter::LineFilter;
use super::invoice::{InvoiceLine, LineOrigin};
use super::tax::TaxTable;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeRate {
    /// 0–100 of the line's net.
    Percent(Decimal),
    /// A fixed amount per positive line.
    PerLine(Money),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    pub code: String,
    pub rate: FeeRate,
    pub applies_to: LineFilter,
    /// The fee line's own tax category (`None`: the table default).
    pub tax_category: Option<String>,
}

/// The fee lines for `lines` (which must already carry their net), fee by fee.
pub(crate) fn fee_lines(
    lines: &[InvoiceLine],
    fees: &[Fee],
    taxes: &TaxTable,
) -> Result<Vec<InvoiceLine>, InvoicingError> {
    let mut out = Vec::new();
    for fee in fees {
        for (index, line) in lines.iter().enumerate() {
            if line.is_fee() || !fee.applies_to.matches(line) {
                continue;
            }
            let amount = match fee.rate {
                FeeRate::Percent(p) => percent_of(line.net, p)?,
                FeeRate::PerLine(a) if line.priced.is_positive() => a,
                FeeRate::PerLine(a) => Money::zero(a.currency()),
            };
            if amount.is_zero() {
                continue;
            }
            let origin = LineOrigin::Fee {
                code: fee.code.clone(),
                on_line: index,
            };
            let category = taxes.resolve_category(fee.tax_category.as_deref());
            let mut fee_line = InvoiceLine::pending(origin, amount, TaxMode::Exclusive, category);
            fee_line.period = line.period;
            out.push(fee_line);
        }
    }
    Ok(out)
}
