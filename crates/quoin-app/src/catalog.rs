//! A minimal catalog: products with flat recurring prices. The full catalog (pricing
//! models, phases, terms, versions) builds on this.

use quoin_core::billing::ChargeTiming;
use quoin_core::calendar::BillingPeriod;
use quoin_store::new_id;
use quoin_store::rows::{PriceRow, ProductRow};
use quoin_store::Tx;

use crate::auth::{Action, Principal};
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::*;
use crate::{validate, App};

pub(crate) fn price_view(r: &PriceRow) -> Price {
    Price {
        id: r.id.clone(),
        product_id: r.product_id.clone(),
        currency: r.currency.clone(),
        amount: r.amount.clone(),
        period: r.period.clone(),
        timing: r.timing.clone(),
    }
}

async fn product_view(tx: &mut Tx, r: &ProductRow) -> AppResult<Product> {
    let prices = tx.list_prices(&r.tenant_id, &r.id).await?;
    Ok(Product {
        id: r.id.clone(),
        code: r.code.clone(),
        name: r.name.clone(),
        status: r.status.clone(),
        prices: prices.iter().map(price_view).collect(),
    })
}

fn price_row(
    tenant: &str,
    product: &str,
    i: usize,
    p: &CreatePrice,
    now: i64,
) -> AppResult<PriceRow> {
    let field = |f: &str| format!("prices[{i}].{f}");
    let currency = validate::currency(&field("currency"), &p.currency)?;
    let mut amount = validate::non_negative_decimal(&field("amount"), &p.amount)?;
    // Show at least the currency's minor digits ("7.50", not "7.5").
    if amount.scale() < currency.exponent() {
        amount.rescale(currency.exponent());
    }
    if amount.scale() > 10 {
        return Err(AppError::invalid(
            field("amount"),
            "at most 10 decimal places",
        ));
    }
    let period = BillingPeriod::parse(p.period.trim())
        .map_err(|e| AppError::invalid(field("period"), e.to_string()))?;
    let timing = match p.timing.as_deref() {
        None => ChargeTiming::InAdvance,
        Some(t) => ChargeTiming::parse(t).ok_or_else(|| {
            AppError::invalid(
                field("timing"),
                format!("`{t}` is not in_advance or in_arrears"),
            )
        })?,
    };
    Ok(PriceRow {
        id: new_id("pri"),
        tenant_id: tenant.to_string(),
        product_id: product.to_string(),
        currency: currency.code().to_string(),
        amount: amount.to_string(),
        period: period.code(),
        timing: timing.code().to_string(),
        created_at_us: now,
    })
}

impl App {
    pub async fn create_product(&self, p: &Principal, input: CreateProduct) -> AppResult<Product> {
        p.require(Action::WriteCatalog)?;
        let tenant = p.tenant_id.as_str();
        let code = validate::code("code", &input.code)?;
        let name = validate::text("name", &input.name, 200)?;
        if input.prices.is_empty() {
            return Err(AppError::invalid(
                "prices",
                "a product needs at least one price",
            ));
        }
        let id = new_id("prd");
        let mut tx = self.store.begin().await?;
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        let prices = input
            .prices
            .iter()
            .enumerate()
            .map(|(i, pr)| price_row(tenant, &id, i, pr, now))
            .collect::<AppResult<Vec<_>>>()?;
        let row = ProductRow {
            id: id.clone(),
            tenant_id: tenant.to_string(),
            code: code.clone(),
            name,
            status: "active".into(),
            created_at_us: now,
        };
        if let Err(e) = tx.insert_product(&row).await {
            return Err(if e.is_unique_violation() {
                AppError::Conflict {
                    code: "code_taken",
                    message: format!("a product with code `{code}` exists"),
                }
            } else {
                e.into()
            });
        }
        for price in &prices {
            tx.insert_price(price).await?;
        }
        let view = product_view(&mut tx, &row).await?;
        emit(
            &mut tx,
            tenant,
            "product.created",
            "product",
            &id,
            &view,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn get_product(&self, p: &Principal, id: &str) -> AppResult<Product> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let row = tx
            .get_product(&p.tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("product", id))?;
        let view = product_view(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn list_products(&self, p: &Principal, page: &ListParams) -> AppResult<ProductPage> {
        p.require(Action::Read)?;
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .list_products(&p.tenant_id, page.cursor.as_deref(), limit)
            .await?;
        let mut data = Vec::with_capacity(rows.items.len());
        for r in &rows.items {
            data.push(product_view(&mut tx, r).await?);
        }
        tx.commit().await?;
        Ok(ProductPage {
            data,
            next_cursor: rows.next_cursor,
        })
    }
}
