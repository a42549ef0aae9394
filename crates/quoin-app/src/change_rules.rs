//! Plan-change rules (Kill Bill's catalog change policy, in Quoin's words): the tenant
//! lists rules matching the plan left and the plan taken (product, billing period, price
//! book); the first match says whether the change is allowed and, when the request does
//! not say, whether it is immediate or waits for the end of the billing period.

use std::collections::HashSet;

use quoin_core::calendar::BillingPeriod;
use quoin_store::rows::PriceRow;
use quoin_store::Tx;

use crate::auth::{Action, Principal};
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::{ChangePolicy, ChangeRule, ChangeRules};
use crate::App;

/// `billing_settings` kind of the rules document (one per tenant, key '').
const KIND: &str = "change_rules";

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

fn invalid(code: &'static str, field: String, message: String) -> AppError {
    AppError::Invalid {
        code,
        field: Some(field),
        message,
    }
}

/// One side of a plan change, as rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlanSide {
    pub product: String,
    pub period: Option<BillingPeriod>,
    pub price_book: Option<String>,
}

impl PlanSide {
    pub(crate) async fn of(tx: &mut Tx, price: &PriceRow) -> AppResult<PlanSide> {
        let product = tx
            .get_product(&price.tenant_id, &price.product_id)
            .await?
            .ok_or_else(|| internal("product missing"))?;
        Ok(PlanSide {
            product: product.code,
            // One-time and usage prices have no period a rule could name.
            period: BillingPeriod::parse(&price.period).ok(),
            price_book: price.price_book.clone(),
        })
    }
}

fn side_matches(
    side: &PlanSide,
    product: &Option<String>,
    period: &Option<String>,
    book: &Option<String>,
) -> bool {
    product.as_ref().is_none_or(|p| *p == side.product)
        && period
            .as_ref()
            .is_none_or(|p| BillingPeriod::parse(p).ok() == side.period && side.period.is_some())
        && book
            .as_ref()
            .is_none_or(|b| side.price_book.as_ref() == Some(b))
}

/// The first rule matching a change from `from` to `to`, with its index.
pub(crate) fn matching_rule<'a>(
    rules: &'a ChangeRules,
    from: &PlanSide,
    to: &PlanSide,
) -> Option<(usize, &'a ChangeRule)> {
    rules.rules.iter().enumerate().find(|(_, r)| {
        side_matches(from, &r.from_product, &r.from_period, &r.from_price_book)
            && side_matches(to, &r.to_product, &r.to_period, &r.to_price_book)
    })
}

pub(crate) async fn load_rules(tx: &mut Tx, tenant: &str) -> AppResult<ChangeRules> {
    Ok(stored_rules(tx, tenant)
        .await?
        .unwrap_or(ChangeRules { rules: Vec::new() }))
}

/// Every product, period and price book a rule names must exist, so a typo cannot make
/// a rule silently match nothing. `list` is the rules' place in the submitted document
/// (`rules` in `PUT /v1/catalog/change-rules`, `change_rules` in a catalog document), so
/// both report the same code on the same element.
pub(crate) fn check_rules(
    rules: &[ChangeRule],
    list: &str,
    product_exists: impl Fn(&str) -> bool,
    book_exists: impl Fn(&str) -> bool,
) -> AppResult<()> {
    if rules.len() > 1000 {
        return Err(invalid(
            "too_many_rules",
            list.into(),
            "at most 1000 change rules".into(),
        ));
    }
    for (i, r) in rules.iter().enumerate() {
        for (name, code) in [
            ("from_product", &r.from_product),
            ("to_product", &r.to_product),
        ] {
            let Some(code) = code else { continue };
            if !product_exists(code) {
                return Err(invalid(
                    "unknown_product",
                    format!("{list}[{i}].{name}"),
                    format!("no product `{code}`"),
                ));
            }
        }
        for (name, period) in [("from_period", &r.from_period), ("to_period", &r.to_period)] {
            let Some(period) = period else { continue };
            BillingPeriod::parse(period).map_err(|e| {
                invalid(
                    "invalid_period",
                    format!("{list}[{i}].{name}"),
                    e.to_string(),
                )
            })?;
        }
        for (name, book) in [
            ("from_price_book", &r.from_price_book),
            ("to_price_book", &r.to_price_book),
        ] {
            let Some(book) = book else { continue };
            if !book_exists(book) {
                return Err(invalid(
                    "unknown_price_book",
                    format!("{list}[{i}].{name}"),
                    format!("no price book `{book}`"),
                ));
            }
        }
    }
    Ok(())
}

/// [`check_rules`] against what the tenant's catalog holds now.
async fn check(tx: &mut Tx, tenant: &str, doc: &ChangeRules) -> AppResult<()> {
    let books: HashSet<String> = tx
        .list_price_books(tenant)
        .await?
        .into_iter()
        .map(|b| b.code)
        .collect();
    let mut named: Vec<String> = Vec::new();
    for r in &doc.rules {
        named.extend(r.from_product.iter().chain(r.to_product.iter()).cloned());
    }
    named.sort();
    named.dedup();
    let mut products = HashSet::new();
    for code in named {
        if tx.get_product_by_code(tenant, &code).await?.is_some() {
            products.insert(code);
        }
    }
    check_rules(
        &doc.rules,
        "rules",
        |p| products.contains(p),
        |b| books.contains(b),
    )
}

/// Stores the rules document and its `change_rules.updated` event (the caller commits).
pub(crate) async fn store_rules(
    tx: &mut Tx,
    tenant: &str,
    doc: &ChangeRules,
    now: i64,
) -> AppResult<()> {
    let body = serde_json::to_string(doc).map_err(internal)?;
    tx.put_setting(tenant, KIND, "", &body, now).await?;
    emit(
        tx,
        tenant,
        "change_rules.updated",
        "tenant",
        tenant,
        doc,
        now,
    )
    .await
}

/// The stored rules document, None when the tenant never set one.
pub(crate) async fn stored_rules(tx: &mut Tx, tenant: &str) -> AppResult<Option<ChangeRules>> {
    match tx.get_setting(tenant, KIND, "").await? {
        Some(body) => serde_json::from_str(&body).map(Some).map_err(internal),
        None => Ok(None),
    }
}

impl App {
    /// Replaces the tenant's change rules (the order is the order of matching).
    pub async fn put_change_rules(
        &self,
        p: &Principal,
        doc: ChangeRules,
    ) -> AppResult<ChangeRules> {
        p.require(Action::WriteCatalog)?;
        let mut tx = self.store.begin().await?;
        check(&mut tx, &p.tenant_id, &doc).await?;
        let now = to_us(self.tenant_now(&mut tx, &p.tenant_id).await?);
        store_rules(&mut tx, &p.tenant_id, &doc, now).await?;
        tx.commit().await?;
        Ok(doc)
    }

    pub async fn get_change_rules(&self, p: &Principal) -> AppResult<ChangeRules> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let doc = load_rules(&mut tx, &p.tenant_id).await?;
        tx.commit().await?;
        Ok(doc)
    }
}

/// What the rules say about changing from `from` to `to`: an error when the change is
/// illegal, else the timing a matching rule gives (None: no rule, or no timing).
pub(crate) async fn policy_for_change(
    tx: &mut Tx,
    tenant: &str,
    from: &PriceRow,
    to: &PriceRow,
) -> AppResult<Option<ChangePolicy>> {
    let rules = load_rules(tx, tenant).await?;
    if rules.rules.is_empty() {
        return Ok(None);
    }
    let from_side = PlanSide::of(tx, from).await?;
    let to_side = PlanSide::of(tx, to).await?;
    match matching_rule(&rules, &from_side, &to_side) {
        Some((i, r)) if r.policy == ChangePolicy::Illegal => Err(invalid(
            "plan_change_not_allowed",
            "price_id".into(),
            format!(
                "changing from `{}` ({}) to `{}` ({}) is not allowed by the tenant's change rules (rules[{i}])",
                from_side.product, from.code, to_side.product, to.code
            ),
        )),
        Some((_, r)) => Ok(Some(r.policy)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(product: &str, period: &str, book: Option<&str>) -> PlanSide {
        PlanSide {
            product: product.into(),
            period: BillingPeriod::parse(period).ok(),
            price_book: book.map(Into::into),
        }
    }

    fn rule(from: Option<&str>, to: Option<&str>, policy: ChangePolicy) -> ChangeRule {
        ChangeRule {
            from_product: from.map(Into::into),
            to_product: to.map(Into::into),
            from_period: None,
            to_period: None,
            from_price_book: None,
            to_price_book: None,
            policy,
        }
    }

    #[test]
    fn first_matching_rule_wins_and_blanks_match_anything() {
        let rules = ChangeRules {
            rules: vec![
                rule(Some("premium"), Some("standard"), ChangePolicy::Illegal),
                rule(Some("sports"), None, ChangePolicy::Immediate),
                rule(None, None, ChangePolicy::EndOfPeriod),
            ],
        };
        let m = |f: &str, t: &str| {
            matching_rule(&rules, &side(f, "month", None), &side(t, "month", None))
                .map(|(i, r)| (i, r.policy))
        };
        assert_eq!(m("premium", "standard"), Some((0, ChangePolicy::Illegal)));
        assert_eq!(m("sports", "standard"), Some((1, ChangePolicy::Immediate)));
        assert_eq!(
            m("standard", "premium"),
            Some((2, ChangePolicy::EndOfPeriod))
        );
    }

    #[test]
    fn periods_compare_as_periods_and_books_exactly() {
        let mut r = rule(None, None, ChangePolicy::Illegal);
        r.from_period = Some("year".into());
        r.to_period = Some("1_months".into());
        r.to_price_book = Some("promo".into());
        let rules = ChangeRules { rules: vec![r] };
        let yearly = side("plan", "12_months", None);
        assert!(matching_rule(&rules, &yearly, &side("plan", "month", Some("promo"))).is_some());
        assert!(matching_rule(&rules, &yearly, &side("plan", "month", None)).is_none());
        assert!(matching_rule(&rules, &yearly, &side("plan", "quarter", Some("promo"))).is_none());
        // A one-time price has no period: a rule naming one does not match it.
        assert!(matching_rule(
            &rules,
            &side("plan", "once", None),
            &side("plan", "month", Some("promo"))
        )
        .is_none());
    }
}
