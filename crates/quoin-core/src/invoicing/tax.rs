//! Tax rates by jurisdiction and category, and the tax of one invoice line.
//!
//! Each line's tax is rounded once, half-up, on the line's net amount at the sum of its
//! components' rates; the rounded tax is then split across the components by largest
//! remainder so they add up to it exactly. The invoice's tax is the sum of its lines'.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::money::Money;

use super::arith::{exclude_tax, percent_of};
use super::charge::TaxMode;
use super::error::{InvoicingError, Subject};

/// One tax levied on a line, e.g. a state sales tax next to a county tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxComponent {
    pub name: String,
    /// 0–100.
    pub percent: Decimal,
}

impl TaxComponent {
    pub fn new(name: impl Into<String>, percent: Decimal) -> Self {
        Self {
            name: name.into(),
            percent,
        }
    }
}

/// Tax rates keyed by (jurisdiction, tax category), each with one or more components.
/// A line without a category is taxed under `default_category`. A category with a 0%
/// component is explicitly untaxed; a missing entry is an error, never a silent 0%.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxTable {
    default_category: String,
    rates: BTreeMap<(String, String), Vec<TaxComponent>>,
}

impl TaxTable {
    pub fn new(default_category: impl Into<String>) -> Self {
        Self {
            default_category: default_category.into(),
            rates: BTreeMap::new(),
        }
    }

    /// Adds or replaces the components of one (jurisdiction, category).
    pub fn with_rate(
        mut self,
        jurisdiction: impl Into<String>,
        category: impl Into<String>,
        components: Vec<TaxComponent>,
    ) -> Result<Self, InvoicingError> {
        let key = (jurisdiction.into(), category.into());
        for c in &components {
            if c.percent < Decimal::ZERO || c.percent > Decimal::ONE_HUNDRED {
                return Err(InvoicingError::InvalidPercent {
                    subject: Subject::TaxRate {
                        jurisdiction: key.0,
                        category: key.1,
                    },
                    value: c.percent,
                });
            }
        }
        self.rates.insert(key, components);
        Ok(self)
    }

    pub fn default_category(&self) -> &str {
        &self.default_category
    }

    /// `category`, or the default category when `None`.
    pub fn resolve_category(&self, category: Option<&str>) -> String {
        category.unwrap_or(&self.default_category).to_string()
    }

    pub fn components(&self, jurisdiction: &str, category: &str) -> Option<&[TaxComponent]> {
        self.rates
            .get(&(jurisdiction.to_string(), category.to_string()))
            .map(Vec::as_slice)
    }
}

/// Where and whether the bill-to account is taxed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxProfile {
    pub jurisdiction: String,
    /// Exempt accounts pay no tax on any line (fees included); tax-inclusive prices
    /// then count wholly as net, so the customer pays the sticker price.
    pub exempt: bool,
}

/// One component's share of a line's tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxAmount {
    pub name: String,
    pub percent: Decimal,
    pub amount: Money,
}

/// The tax of one line and how it was computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTax {
    /// The resolved category (the table default when the line named none).
    pub category: String,
    pub exempt: bool,
    /// Sum of the components' percentages; 0 when exempt.
    pub percent: Decimal,
    /// Empty when exempt.
    pub components: Vec<TaxAmount>,
    /// Σ component amounts; negative on a negative line (a reversal at the same rate).
    pub amount: Money,
}

/// The rates that apply to a line: `None` when the account is exempt.
pub(crate) fn rates_for<'a>(
    table: &'a TaxTable,
    profile: &TaxProfile,
    category: &str,
) -> Result<Option<&'a [TaxComponent]>, InvoicingError> {
    if profile.exempt {
        return Ok(None);
    }
    table
        .components(&profile.jurisdiction, category)
        .map(Some)
        .ok_or_else(|| InvoicingError::NoTaxRate {
            jurisdiction: profile.jurisdiction.clone(),
            category: category.to_string(),
        })
}

pub(crate) fn total_percent(components: Option<&[TaxComponent]>) -> Decimal {
    components
        .unwrap_or_default()
        .iter()
        .map(|c| c.percent)
        .sum()
}

/// `amount` as priced in `mode`, without tax.
pub(crate) fn without_tax(
    amount: Money,
    mode: TaxMode,
    percent: Decimal,
) -> Result<Money, InvoicingError> {
    match mode {
        TaxMode::Exclusive => Ok(amount),
        TaxMode::Inclusive => exclude_tax(amount, percent),
    }
}

/// Net (without tax) and tax of a line whose amount after discounts is `charged`;
/// `components` is `None` for an exempt account.
pub(crate) fn tax_line(
    charged: Money,
    mode: TaxMode,
    category: String,
    components: Option<&[TaxComponent]>,
) -> Result<(Money, LineTax), InvoicingError> {
    let percent = total_percent(components);
    let (net, tax) = match mode {
        TaxMode::Exclusive => (charged, percent_of(charged, percent)?),
        TaxMode::Inclusive => {
            // Rounding the net (not the tax) keeps net + tax equal to the sticker price.
            let net = exclude_tax(charged, percent)?;
            (net, charged.checked_sub(net)?)
        }
    };
    let tax = LineTax {
        category,
        exempt: components.is_none(),
        percent,
        components: match components {
            None => Vec::new(),
            Some(components) => split(tax, components)?,
        },
        amount: tax,
    };
    Ok((net, tax))
}

/// Splits a line's rounded tax across components in proportion to their rates.
fn split(tax: Money, components: &[TaxComponent]) -> Result<Vec<TaxAmount>, InvoicingError> {
    let weights: Vec<Decimal> = components.iter().map(|c| c.percent).collect();
    let amounts = if tax.is_zero() || weights.iter().all(Decimal::is_zero) {
        vec![Money::zero(tax.currency()); components.len()]
    } else {
        tax.allocate(&weights)?
    };
    Ok(components
        .iter()
        .zip(amounts)
        .map(|(c, amount)| TaxAmount {
            name: c.name.clone(),
            percent: c.percent,
            amount,
        })
        .collect())
}
