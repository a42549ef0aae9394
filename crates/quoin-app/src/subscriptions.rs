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
use crate::{validate, App};

pub(crate) fn parse_date(text: &str, what: &str) -> AppResult<Date> {
    text.parse()
        .map_err(|_| AppError::Internal(format!("stored {what} `{text}` is not a date")))
}

pub(crate) fn subscription_view(r: &SubscriptionRow) -> AppResult<Subscription> {
    Ok(Subscription {
        id: r.id.clone(),
        account_id: r.account_id.clone(),
        bill_to_id: r.bill_to_id.clone(),
        product_id: r.product_id.clone(),
        price_id: r.price_id.clone(),
        quantity: r.quantity.clone(),
        start_date: parse_date(&r.start_date, "start_date")?,
        status: r.status.clone(),
        billed_through: r
            .billed_through
            .as_deref()
            .map(|d| parse_date(d, "billed_through"))
            .transpose()?,
    })
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
        if price.currency != payer.currency {
            return Err(AppError::Invalid {
                code: "currency_mismatch",
                field: Some("price_id".into()),
                message: format!(
                    "price `{}` is in {} but account `{}` is billed in {}",
                    price.id, price.currency, payer.id, payer.currency
                ),
            });
        }
        // Billing covers recurring flat and per-unit prices so far; refuse the others
        // rather than bill them wrongly.
        let spec: crate::catalog::spec::PriceSpec = serde_json::from_str(&price.definition)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        use crate::catalog::spec::{ModelSpec, PriceTypeCode};
        // Phases and minimums are part of the price but not yet applied by billing, so
        // such prices are refused rather than billed at the plain amount.
        let billable = spec.price_type.unwrap_or(PriceTypeCode::Recurring)
            == PriceTypeCode::Recurring
            && matches!(
                spec.model,
                Some(ModelSpec::PerUnit { .. }) | Some(ModelSpec::Flat { .. })
            )
            && spec.phases.is_empty()
            && spec.minimum.is_none();
        if !billable {
            return Err(AppError::Invalid {
                code: "price_not_billable",
                field: Some("price_id".into()),
                message: format!(
                    "price `{}` is not a plain recurring flat or per-unit price (usage, one-time, phases and minimums are not billed yet)",
                    price.id
                ),
            });
        }
        if let Some(from) = spec.effective_from {
            if input.start_date < from {
                return Err(AppError::invalid(
                    "start_date",
                    format!(
                        "price `{}` takes effect on {from}; start on or after it",
                        price.id
                    ),
                ));
            }
        }
        if matches!(spec.model, Some(ModelSpec::Flat { .. }))
            && quantity != rust_decimal::Decimal::ONE
        {
            return Err(AppError::invalid(
                "quantity",
                "a flat price is charged once per period; quantity must be 1",
            ));
        }
        let product = tx
            .get_product(tenant, &price.product_id)
            .await?
            .ok_or_else(|| {
                AppError::Internal(format!("product of price {} is missing", price.id))
            })?;
        if product.status != "active" {
            return Err(AppError::Invalid {
                code: "product_not_sellable",
                field: Some("price_id".into()),
                message: format!(
                    "product `{}` is {}; only active products can be subscribed",
                    product.code, product.status
                ),
            });
        }
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
            status: "active".into(),
            billed_through: None,
            created_at_us: now,
            external_id: None,
            parent_id: None,
            location_id: None,
            end_date: None,
            term_code: None,
            term_start: None,
            term_end: None,
            end_of_term: None,
            coterminate: 0,
            operational_status: None,
            version: 1,
            reconcile_from: None,
            updated_at_us: now,
        };
        tx.insert_subscription(&row).await?;
        let item = SubscriptionItemRow {
            id: new_id("itm"),
            tenant_id: tenant.to_string(),
            subscription_id: row.id.clone(),
            usage_key: None,
            position: 0,
            billed_through: None,
            created_at_us: now,
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
            unit_amount: None,
            version: 1,
        })
        .await?;
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
        let view = subscription_view(&row)?;
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
        tx.commit().await?;
        subscription_view(&row)
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
        tx.commit().await?;
        Ok(SubscriptionPage {
            data: rows
                .items
                .iter()
                .map(subscription_view)
                .collect::<AppResult<_>>()?,
            next_cursor: rows.next_cursor,
        })
    }
}
