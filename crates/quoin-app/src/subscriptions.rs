//! Subscriptions: an account's service on a price from a start date.

use jiff::civil::Date;
use quoin_store::new_id;
use quoin_store::rows::{
    ItemSegmentRow, SubscriptionItemRow, SubscriptionRow, SubscriptionVersionRow,
};

use crate::auth::{Action, Principal};
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::*;
use crate::timeline::opt_date;
use crate::{validate, App};

pub(crate) fn parse_date(text: &str, what: &str) -> AppResult<Date> {
    text.parse()
        .map_err(|_| AppError::Internal(format!("stored {what} `{text}` is not a date")))
}

pub(crate) fn subscription_view(r: &SubscriptionRow) -> AppResult<Subscription> {
    subscription_view_with(r, Vec::new())
}

/// The view of a subscription with its items as they stand now.
pub(crate) fn subscription_view_with(
    r: &SubscriptionRow,
    items: Vec<SubscriptionItem>,
) -> AppResult<Subscription> {
    let term = match (&r.term_code, &r.term_start, &r.term_end, &r.end_of_term) {
        (Some(code), Some(start), Some(end), Some(eot)) => Some(ContractTerm {
            code: code.clone(),
            start: parse_date(start, "term_start")?,
            end: parse_date(end, "term_end")?,
            end_of_term: eot.clone(),
        }),
        _ => None,
    };
    Ok(Subscription {
        id: r.id.clone(),
        account_id: r.account_id.clone(),
        bill_to_id: r.bill_to_id.clone(),
        product_id: r.product_id.clone(),
        price_id: r.price_id.clone(),
        quantity: r.quantity.clone(),
        start_date: parse_date(&r.start_date, "start_date")?,
        status: r.status.clone(),
        billed_through: opt_date(r.billed_through.as_deref(), "billed_through")?,
        external_id: r.external_id.clone(),
        parent_id: r.parent_id.clone(),
        location_id: r.location_id.clone(),
        end_date: opt_date(r.end_date.as_deref(), "end_date")?,
        term,
        coterminate: r.coterminate != 0,
        operational_status: r.operational_status.clone(),
        version: r.version,
        items,
        progressive_billing: r
            .progressive_threshold
            .as_deref()
            .map(crate::progressive::Thresholds::parse)
            .transpose()?
            .map(|t| t.view()),
        minimum_commitment: r.minimum_commitment.clone(),
    })
}

/// Items as of their latest segments (`latest`) or their first ones (the original sale).
pub(crate) fn item_views(
    items: &[SubscriptionItemRow],
    segments: &[ItemSegmentRow],
    latest: bool,
) -> AppResult<Vec<SubscriptionItem>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut mine = segments.iter().filter(|s| s.item_id == item.id);
        let seg = if latest {
            mine.next_back()
        } else {
            mine.next()
        };
        let Some(seg) = seg else { continue };
        out.push(SubscriptionItem {
            id: item.id.clone(),
            usage_key: item.usage_key.clone(),
            price_id: seg.price_id.clone(),
            quantity: seg.quantity.clone(),
            unit_amount: seg.unit_amount.clone(),
            since: parse_date(&seg.start_date, "segment start")?,
            billed_through: opt_date(item.billed_through.as_deref(), "billed_through")?,
        });
    }
    Ok(out)
}

/// Loads a subscription's items and builds its full view.
pub(crate) async fn load_subscription_view(
    tx: &mut quoin_store::Tx,
    row: &SubscriptionRow,
) -> AppResult<Subscription> {
    let items = tx.subscription_items(&row.tenant_id, &row.id).await?;
    let segments = tx.subscription_segments(&row.tenant_id, &row.id).await?;
    subscription_view_with(row, item_views(&items, &segments, true)?)
}

impl App {
    pub async fn create_subscription(
        &self,
        p: &Principal,
        input: CreateSubscription,
    ) -> AppResult<Subscription> {
        p.require(Action::WriteSubscriptions)?;
        let tenant = p.tenant_id.as_str();
        let quantity = match &input.quantity {
            Some(q) => validate::positive_decimal("quantity", q)?,
            None => rust_decimal::Decimal::ONE,
        };
        let mut tx = self.store.begin().await?;
        let account = tx
            .get_account(tenant, &input.account_id)
            .await?
            .ok_or_else(|| {
                AppError::invalid("account_id", format!("no account `{}`", input.account_id))
            })?;
        let price = tx
            .get_price(tenant, &input.price_id)
            .await?
            .ok_or_else(|| {
                AppError::invalid("price_id", format!("no price `{}`", input.price_id))
            })?;
        let payer = tx
            .lock_account(tenant, &account.bill_to_id)
            .await?
            .ok_or_else(|| {
                AppError::Internal(format!("bill-to account of {} is missing", account.id))
            })?;
        let (spec, product) = check_sellable(
            &mut tx,
            tenant,
            &price,
            &payer,
            input.start_date,
            quantity,
            "price_id",
        )
        .await?;
        let thresholds = input
            .progressive_billing
            .as_ref()
            .map(|t| {
                let currency = quoin_core::money::Currency::parse(&payer.currency)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                crate::progressive::Thresholds::from_input(t, currency)
            })
            .transpose()?;
        let minimum_commitment = input
            .minimum_commitment
            .as_deref()
            .map(|m| {
                use crate::catalog::spec::PriceTypeCode;
                let field = "minimum_commitment";
                if spec.price_type.unwrap_or(PriceTypeCode::Recurring) != PriceTypeCode::Recurring {
                    return Err(AppError::invalid(
                        field,
                        "needs a recurring plan price (`price_id`)",
                    ));
                }
                crate::commitments::parse_amount(field, m, &payer.currency)
            })
            .transpose()?;
        // Further items: prices of the same product, each sellable on its own.
        let mut extra = Vec::with_capacity(input.items.len());
        for (i, it) in input.items.iter().enumerate() {
            let field = format!("items[{i}].price_id");
            let q = match &it.quantity {
                Some(q) => validate::positive_decimal(&format!("items[{i}].quantity"), q)?,
                None => rust_decimal::Decimal::ONE,
            };
            let pr = tx
                .get_price(tenant, &it.price_id)
                .await?
                .ok_or_else(|| AppError::invalid(&field, format!("no price `{}`", it.price_id)))?;
            if pr.product_id != price.product_id {
                return Err(AppError::Invalid {
                    code: "price_other_product",
                    field: Some(field),
                    message: format!(
                        "price `{}` belongs to another product than price `{}`",
                        pr.id, price.id
                    ),
                });
            }
            check_sellable(&mut tx, tenant, &pr, &payer, input.start_date, q, &field).await?;
            let amount = it
                .unit_amount
                .as_deref()
                .map(|a| validate::non_negative_decimal(&format!("items[{i}].unit_amount"), a))
                .transpose()?;
            if it
                .usage_key
                .as_deref()
                .is_some_and(|v| v.trim().is_empty() || v.len() > 200)
            {
                return Err(AppError::invalid(
                    format!("items[{i}].usage_key"),
                    "must be 1 to 200 characters",
                ));
            }
            extra.push((pr, q, amount, it.usage_key.clone()));
        }
        let parent = match &input.parent_id {
            Some(id) => {
                let base = tx.get_subscription(tenant, id).await?.ok_or_else(|| {
                    AppError::invalid("parent_id", format!("no subscription `{id}`"))
                })?;
                check_add_on(
                    &mut tx,
                    tenant,
                    &base,
                    &account.id,
                    &product,
                    input.start_date,
                )
                .await?;
                Some(base)
            }
            None if product.kind == "add_on" => {
                return Err(AppError::Invalid {
                    code: "base_required",
                    field: Some("parent_id".into()),
                    message: format!(
                        "product `{}` is an add-on; name the base subscription in parent_id",
                        product.code
                    ),
                })
            }
            None => None,
        };
        if let Some(loc) = &input.location_id {
            let known = tx
                .list_locations(tenant, &account.id)
                .await?
                .iter()
                .any(|l| &l.id == loc);
            if !known {
                return Err(AppError::invalid(
                    "location_id",
                    format!("`{loc}` is not a location of account `{}`", account.id),
                ));
            }
        }
        let unit_amount = input
            .unit_amount
            .as_deref()
            .map(|a| validate::non_negative_decimal("unit_amount", a))
            .transpose()?;
        for (field, value) in [
            ("external_id", &input.external_id),
            ("usage_key", &input.usage_key),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| v.trim().is_empty() || v.len() > 200)
            {
                return Err(AppError::invalid(field, "must be 1 to 200 characters"));
            }
        }
        let coterminate = parent.is_some() && input.coterminate.unwrap_or(true);
        let term = match (coterminate, &parent) {
            (true, Some(base)) => (
                base.term_code.clone(),
                base.term_start.clone(),
                base.term_end.clone(),
                base.end_of_term.clone(),
            ),
            _ => {
                let code = input.term.clone().or_else(|| spec.term.clone());
                match code {
                    Some(code) => {
                        let t = term_spec(&mut tx, tenant, &code).await?;
                        let end = quoin_core::catalog::term_end(input.start_date, t.length_months)
                            .map_err(|e| AppError::invalid("start_date", e.to_string()))?;
                        let eot = serde_json::to_value(t.end_of_term)
                            .map_err(|e| AppError::Internal(e.to_string()))?;
                        (
                            Some(code),
                            Some(input.start_date.to_string()),
                            Some(end.to_string()),
                            eot.as_str().map(str::to_string),
                        )
                    }
                    None => (None, None, None, None),
                }
            }
        };
        let now_ts = self.tenant_now(&mut tx, tenant).await?;
        let today = crate::billing::account_today(&payer, now_ts)?;
        let earliest = today
            .checked_sub(jiff::Span::new().years(10))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if input.start_date < earliest {
            return Err(AppError::invalid(
                "start_date",
                format!(
                    "must be within 10 years before today ({today}), got {}",
                    input.start_date
                ),
            ));
        }
        let now = to_us(now_ts);
        // Like Kill Bill: an account without a bill cycle day takes it from its first subscription.
        if payer.bill_cycle_day.is_none() {
            let day = i64::from(input.start_date.day());
            tx.set_account_bill_cycle_day(tenant, &payer.id, day, now)
                .await?;
            let mut updated = payer.clone();
            updated.bill_cycle_day = Some(day);
            updated.updated_at_us = now;
            let view = crate::accounts::account_view(&updated)?;
            emit(
                &mut tx,
                tenant,
                "account.updated",
                "account",
                &payer.id,
                &view,
                now,
            )
            .await?;
        }
        let row = SubscriptionRow {
            id: new_id("sub"),
            tenant_id: tenant.to_string(),
            account_id: account.id.clone(),
            bill_to_id: payer.id.clone(),
            product_id: price.product_id.clone(),
            price_id: price.id.clone(),
            quantity: quantity.to_string(),
            start_date: input.start_date.to_string(),
            status: if input.start_date > today {
                crate::timeline::status::PENDING_ACTIVATION
            } else {
                crate::timeline::status::ACTIVE
            }
            .into(),
            billed_through: None,
            created_at_us: now,
            external_id: input.external_id.clone(),
            parent_id: parent.as_ref().map(|b| b.id.clone()),
            location_id: input.location_id.clone(),
            end_date: None,
            term_code: term.0,
            term_start: term.1,
            term_end: term.2,
            end_of_term: term.3,
            coterminate: i64::from(coterminate),
            operational_status: None,
            version: 1,
            reconcile_from: None,
            updated_at_us: now,
            progressive_threshold: thresholds.map(|t| t.to_text()),
            minimum_commitment,
        };
        tx.insert_subscription(&row).await?;
        let item = SubscriptionItemRow {
            id: new_id("itm"),
            tenant_id: tenant.to_string(),
            subscription_id: row.id.clone(),
            usage_key: input.usage_key.clone(),
            position: 0,
            billed_through: None,
            created_at_us: now,
            usage_reconcile_from: None,
        };
        tx.insert_subscription_item(&item).await?;
        tx.insert_item_segment(&ItemSegmentRow {
            tenant_id: tenant.to_string(),
            item_id: item.id.clone(),
            subscription_id: row.id.clone(),
            start_date: row.start_date.clone(),
            end_date: None,
            price_id: price.id.clone(),
            quantity: row.quantity.clone(),
            unit_amount: unit_amount.map(|a| a.to_string()),
            version: 1,
        })
        .await?;
        for (position, (pr, q, amount, usage_key)) in extra.iter().enumerate() {
            let more = SubscriptionItemRow {
                id: new_id("itm"),
                tenant_id: tenant.to_string(),
                subscription_id: row.id.clone(),
                usage_key: usage_key.clone(),
                position: i64::try_from(position + 1)
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                billed_through: None,
                created_at_us: now,
                usage_reconcile_from: None,
            };
            tx.insert_subscription_item(&more).await?;
            tx.insert_item_segment(&ItemSegmentRow {
                tenant_id: tenant.to_string(),
                item_id: more.id.clone(),
                subscription_id: row.id.clone(),
                start_date: row.start_date.clone(),
                end_date: None,
                price_id: pr.id.clone(),
                quantity: q.to_string(),
                unit_amount: amount.map(|a| a.to_string()),
                version: 1,
            })
            .await?;
        }
        tx.insert_subscription_version(&SubscriptionVersionRow {
            tenant_id: tenant.to_string(),
            subscription_id: row.id.clone(),
            version: 1,
            operation: "activate".into(),
            effective_date: row.start_date.clone(),
            status: "active".into(),
            details: serde_json::json!({"price_id": price.id, "quantity": row.quantity})
                .to_string(),
            created_at_us: now,
        })
        .await?;
        let view = load_subscription_view(&mut tx, &row).await?;
        emit(
            &mut tx,
            tenant,
            "subscription.created",
            "subscription",
            &row.id,
            &view,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn get_subscription(&self, p: &Principal, id: &str) -> AppResult<Subscription> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let row = tx
            .get_subscription(&p.tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("subscription", id))?;
        let view = load_subscription_view(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn list_subscriptions(
        &self,
        p: &Principal,
        account: Option<&str>,
        page: &ListParams,
    ) -> AppResult<SubscriptionPage> {
        p.require(Action::Read)?;
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .list_subscriptions(&p.tenant_id, account, page.cursor.as_deref(), limit)
            .await?;
        let mut data = Vec::with_capacity(rows.items.len());
        for row in &rows.items {
            data.push(load_subscription_view(&mut tx, row).await?);
        }
        tx.commit().await?;
        Ok(SubscriptionPage {
            data,
            next_cursor: rows.next_cursor,
        })
    }
}

/// An add-on must hang off a live base service of the same account whose product offers it.
async fn check_add_on(
    tx: &mut quoin_store::Tx,
    tenant: &str,
    base: &SubscriptionRow,
    account: &str,
    add_on: &quoin_store::rows::ProductRow,
    start: Date,
) -> AppResult<()> {
    let bad = |code: &'static str, message: String| AppError::Invalid {
        code,
        field: Some("parent_id".into()),
        message,
    };
    if base.account_id != account {
        return Err(bad(
            "base_other_account",
            format!("base `{}` belongs to another account", base.id),
        ));
    }
    if base.parent_id.is_some() {
        return Err(bad(
            "base_is_add_on",
            format!("`{}` is itself an add-on", base.id),
        ));
    }
    let base_start = parse_date(&base.start_date, "start_date")?;
    let base_end = opt_date(base.end_date.as_deref(), "end_date")?;
    if start < base_start || base_end.is_some_and(|e| start >= e) {
        return Err(bad(
            "base_not_active",
            format!(
                "base `{}` is not in service on {start} (from {base_start}{})",
                base.id,
                base_end.map(|e| format!(" to {e}")).unwrap_or_default()
            ),
        ));
    }
    let base_product = tx
        .get_product(tenant, &base.product_id)
        .await?
        .ok_or_else(|| AppError::Internal("base product missing".into()))?;
    let spec = crate::catalog::stored::product_spec_of(&base_product)?;
    if !spec.add_ons.is_empty() && !spec.add_ons.iter().any(|a| a.product == add_on.code) {
        return Err(bad(
            "add_on_not_allowed",
            format!(
                "product `{}` does not offer add-on `{}`",
                base_product.code, add_on.code
            ),
        ));
    }
    Ok(())
}

/// A contract term of the tenant's catalog.
pub(crate) async fn term_spec(
    tx: &mut quoin_store::Tx,
    tenant: &str,
    code: &str,
) -> AppResult<crate::catalog::spec::TermSpec> {
    let rows = tx
        .list_definitions(quoin_store::repo::DefinitionTable::Terms, tenant)
        .await?;
    let row = rows
        .iter()
        .find(|r| r.code == code)
        .ok_or_else(|| AppError::invalid("term", format!("no contract term `{code}`")))?;
    serde_json::from_str(&row.definition).map_err(|e| AppError::Internal(e.to_string()))
}

/// A price a service can be sold or changed to: the account's currency, a billable type,
/// in effect on `start`, a quantity the model allows, and an active product.
pub(crate) async fn check_sellable(
    tx: &mut quoin_store::Tx,
    tenant: &str,
    price: &quoin_store::rows::PriceRow,
    payer: &quoin_store::rows::AccountRow,
    start: Date,
    quantity: rust_decimal::Decimal,
    field: &str,
) -> AppResult<(
    crate::catalog::spec::PriceSpec,
    quoin_store::rows::ProductRow,
)> {
    if price.currency != payer.currency {
        return Err(AppError::Invalid {
            code: "currency_mismatch",
            field: Some(field.into()),
            message: format!(
                "price `{}` is in {} but account `{}` is billed in {}",
                price.id, price.currency, payer.id, payer.currency
            ),
        });
    }
    let spec: crate::catalog::spec::PriceSpec =
        serde_json::from_str(&price.definition).map_err(|e| AppError::Internal(e.to_string()))?;
    use crate::catalog::spec::{ModelSpec, PriceTypeCode};
    // Billed: recurring flat and per-unit prices with their phases (minimums are trued up
    // by invoice finishing), one-time flat and per-unit prices at activation, and usage
    // prices rated from the item's usage. Tiered recurring and one-time prices are refused
    // rather than billed wrongly.
    let kind = spec.price_type.unwrap_or(PriceTypeCode::Recurring);
    let simple = matches!(
        spec.model,
        Some(ModelSpec::PerUnit { .. }) | Some(ModelSpec::Flat { .. })
    );
    let usage = kind == PriceTypeCode::Usage
        && spec.metric.is_some()
        && crate::catalog::check::core_price(&spec).is_some();
    if !(simple && kind != PriceTypeCode::Usage || usage) {
        return Err(AppError::Invalid {
            code: "price_not_billable",
            field: Some(field.into()),
            message: format!(
                "price `{}` is not a flat or per-unit recurring or one-time price or a usage price (tiered recurring charges are not billed yet)",
                price.id
            ),
        });
    }
    if usage && quantity != rust_decimal::Decimal::ONE {
        return Err(AppError::invalid(
            "quantity",
            "a usage price is charged for what is used; quantity must be 1",
        ));
    }
    if let Some(from) = spec.effective_from {
        if start < from {
            return Err(AppError::invalid(
                "start_date",
                format!(
                    "price `{}` takes effect on {from}; start on or after it",
                    price.id
                ),
            ));
        }
    }
    if matches!(spec.model, Some(ModelSpec::Flat { .. })) && quantity != rust_decimal::Decimal::ONE
    {
        return Err(AppError::invalid(
            "quantity",
            "a flat price is charged once per period; quantity must be 1",
        ));
    }
    let product = tx
        .get_product(tenant, &price.product_id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("product of price {} is missing", price.id)))?;
    if product.status != "active" {
        return Err(AppError::Invalid {
            code: "product_not_sellable",
            field: Some(field.into()),
            message: format!(
                "product `{}` is {}; only active products can be subscribed",
                product.code, product.status
            ),
        });
    }
    Ok((spec, product))
}
