//! Which invoice lines a rule (coupon, fee, wallet, commitment) applies to.

use super::charge::ChargeKind;
use super::invoice::InvoiceLine;

/// A conjunction of allow-lists. An empty list does not restrict; a non-empty list must
/// contain the line's value, so a line without (say) a product code never matches a
/// product restriction. `LineFilter::default()` matches every line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineFilter {
    /// Matched against a charge's kind, or the kind a minimum true-up tops up; fee and
    /// commitment true-up lines have no kind.
    pub kinds: Vec<ChargeKind>,
    pub product_codes: Vec<String>,
    pub price_codes: Vec<String>,
    pub metric_codes: Vec<String>,
    /// Matched against the resolved category (the table default when a line has none).
    pub tax_categories: Vec<String>,
}

impl LineFilter {
    /// Matches every line.
    pub fn any() -> Self {
        Self::default()
    }

    pub fn kinds(kinds: impl IntoIterator<Item = ChargeKind>) -> Self {
        Self {
            kinds: kinds.into_iter().collect(),
            ..Self::default()
        }
    }

    pub fn products<S: Into<String>>(codes: impl IntoIterator<Item = S>) -> Self {
        Self {
            product_codes: codes.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    pub fn prices<S: Into<String>>(codes: impl IntoIterator<Item = S>) -> Self {
        Self {
            price_codes: codes.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    pub fn metrics<S: Into<String>>(codes: impl IntoIterator<Item = S>) -> Self {
        Self {
            metric_codes: codes.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    pub fn tax_categories<S: Into<String>>(categories: impl IntoIterator<Item = S>) -> Self {
        Self {
            tax_categories: categories.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    pub fn matches(&self, line: &InvoiceLine) -> bool {
        allows(&self.kinds, line.origin.charge_kind().as_ref())
            && allows_str(&self.product_codes, line.product_code.as_deref())
            && allows_str(&self.price_codes, line.price_code.as_deref())
            && allows_str(&self.metric_codes, line.metric_code.as_deref())
            && allows_str(&self.tax_categories, Some(line.tax.category.as_str()))
    }
}

fn allows<T: PartialEq>(list: &[T], value: Option<&T>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.contains(v))
}

fn allows_str(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|s| s == v))
}
