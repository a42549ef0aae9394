//! Analytics use cases: the tenant's exchange rates into its reporting currency and MRR/ARR
//! on a date (B17), normalised by `quoin_core::analytics::mrr`.
//!
//! What counts: every recurring item segment in service on the date (subscription active
//! or pending disconnect; suspended and not yet started ones count zero), at its unit
//! amount × quantity per billing period. Percent coupons redeemed by the bill-to account
//! with a `forever` or `periods` duration (still active) discount it; several add up,
//! capped at 100. Usage, one-time charges, fixed-amount and once coupons are not recurring
//! revenue. Each item is normalised and rounded once; the totals are sums of those.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use quoin_core::analytics::mrr::{annual, monthly, FxRate as CoreFx, RecurringAmount};
use quoin_core::calendar::{local_date, BillingPeriod};
use quoin_core::money::{Currency, Money};
use quoin_store::rows::{FxRateRow, SubscriptionRow};
use quoin_store::Tx;
use rust_decimal::Decimal;

use crate::auth::{Action, Principal};
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::finishing_model::{CouponDurationCode, CouponInput};
use crate::model::{FxRate, FxRateList, MrrReport, PutFxRate, SubscriptionMrr};
use crate::subscriptions::parse_date;
use crate::timeline::{status, status_on, RecurringPrice};
use crate::App;

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

fn currency(field: &str, code: &str) -> AppResult<Currency> {
    Currency::parse(code).map_err(|e| AppError::invalid(field, e.to_string()))
}

fn rate_view(r: &FxRateRow) -> FxRate {
    FxRate {
        currency: r.currency.clone(),
        reporting_currency: r.reporting_currency.clone(),
        rate: r.rate.clone(),
        updated_at: from_us(r.updated_at_us),
    }
}

/// One recurring item in service, before normalisation.
struct Recurring {
    amount: Money,
    period: BillingPeriod,
}

impl App {
    pub async fn put_fx_rate(
        &self,
        p: &Principal,
        code: &str,
        input: PutFxRate,
    ) -> AppResult<FxRate> {
        p.require(Action::WriteCatalog)?;
        let from = currency("currency", code)?;
        let to = currency("reporting_currency", &input.reporting_currency)?;
        if from == to {
            return Err(AppError::invalid(
                "currency",
                format!("`{from}` is the reporting currency itself"),
            ));
        }
        let rate: Decimal = input
            .rate
            .parse()
            .ok()
            .filter(|r: &Decimal| *r > Decimal::ZERO)
            .ok_or_else(|| {
                AppError::invalid(
                    "rate",
                    format!("must be a decimal above 0, got `{}`", input.rate),
                )
            })?;
        let mut tx = self.store.begin().await?;
        let existing = tx.fx_rates(&p.tenant_id).await?;
        if let Some(other) = existing
            .iter()
            .find(|r| r.reporting_currency != to.to_string())
        {
            return Err(AppError::Invalid {
                code: "reporting_currency_mismatch",
                field: Some("reporting_currency".into()),
                message: format!(
                    "the tenant reports in `{}` (rate for `{}`); got `{to}`",
                    other.reporting_currency, other.currency
                ),
            });
        }
        let row = FxRateRow {
            tenant_id: p.tenant_id.clone(),
            currency: from.to_string(),
            reporting_currency: to.to_string(),
            rate: rate.normalize().to_string(),
            updated_at_us: to_us(self.tenant_now(&mut tx, &p.tenant_id).await?),
        };
        tx.put_fx_rate(&row).await?;
        let view = rate_view(&row);
        emit(
            &mut tx,
            &p.tenant_id,
            "fx_rate.updated",
            "tenant",
            &p.tenant_id,
            &view,
            row.updated_at_us,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn list_fx_rates(&self, p: &Principal) -> AppResult<FxRateList> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let rows = tx.fx_rates(&p.tenant_id).await?;
        tx.commit().await?;
        Ok(FxRateList {
            data: rows.iter().map(rate_view).collect(),
        })
    }

    /// MRR and ARR on `date` (default: the tenant's today) in `reporting` (default: the
    /// currency of the stored rates, else the one currency every subscription uses).
    pub async fn mrr(
        &self,
        p: &Principal,
        date: Option<Date>,
        reporting: Option<String>,
    ) -> AppResult<MrrReport> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        let date = match date {
            Some(d) => d,
            None => {
                let row = tx
                    .get_tenant(tenant)
                    .await?
                    .ok_or_else(|| internal("tenant"))?;
                let tz = TimeZone::get(&row.time_zone).map_err(internal)?;
                local_date(self.tenant_now(&mut tx, tenant).await?, &tz)
            }
        };
        let rates = tx.fx_rates(tenant).await?;
        let mut items: Vec<(SubscriptionRow, Vec<Recurring>, Decimal)> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = tx
                .list_subscriptions(tenant, None, after.as_deref(), 200)
                .await?;
            for sub in page.items {
                let recurring = in_service(&mut tx, &sub, date).await?;
                if !recurring.is_empty() {
                    let discount = discount_percent(&mut tx, &sub).await?;
                    items.push((sub, recurring, discount));
                }
            }
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        tx.commit().await?;
        let reporting = reporting_currency(reporting, &rates, &items)?;
        let fx: BTreeMap<String, Decimal> = rates
            .iter()
            .map(|r| Ok((r.currency.clone(), r.rate.parse().map_err(internal)?)))
            .collect::<AppResult<_>>()?;
        let mut total_m = Money::zero(reporting);
        let mut total_a = Money::zero(reporting);
        let mut subscriptions = Vec::new();
        for (sub, recurring, discount) in items {
            let own = recurring[0].amount.currency();
            let rate = if own == reporting {
                None
            } else {
                let r = fx.get(&own.to_string()).ok_or_else(|| AppError::Invalid {
                    code: "fx_rate_missing",
                    field: Some("currency".into()),
                    message: format!(
                        "no rate from `{own}` to `{reporting}` (PUT /v1/fx-rates/{own})"
                    ),
                })?;
                Some(CoreFx {
                    reporting,
                    units_per_reporting: *r,
                })
            };
            let (mut m, mut a, mut sold) = (
                Money::zero(reporting),
                Money::zero(reporting),
                Money::zero(own),
            );
            for r in &recurring {
                let item = RecurringAmount {
                    amount: r.amount,
                    period: r.period,
                    discount_percent: discount,
                };
                m = m
                    .checked_add(monthly(&item, rate.as_ref()).map_err(internal)?)
                    .map_err(internal)?;
                a = a
                    .checked_add(annual(&item, rate.as_ref()).map_err(internal)?)
                    .map_err(internal)?;
                sold = sold.checked_add(r.amount).map_err(internal)?;
            }
            total_m = total_m.checked_add(m).map_err(internal)?;
            total_a = total_a.checked_add(a).map_err(internal)?;
            subscriptions.push(SubscriptionMrr {
                subscription_id: sub.id.clone(),
                account_id: sub.account_id.clone(),
                currency: own.to_string(),
                amount: sold.to_decimal().to_string(),
                period: periods_label(&recurring),
                discount_percent: discount.normalize().to_string(),
                mrr: m.to_decimal().to_string(),
                arr: a.to_decimal().to_string(),
            });
        }
        Ok(MrrReport {
            date,
            currency: reporting.to_string(),
            mrr: total_m.to_decimal().to_string(),
            arr: total_a.to_decimal().to_string(),
            subscriptions,
        })
    }
}

/// The billing period code of a subscription's items ("month"; several joined by ",").
fn periods_label(items: &[Recurring]) -> String {
    let mut codes: Vec<String> = items.iter().map(|r| r.period.code()).collect();
    codes.dedup();
    codes.join(",")
}

fn reporting_currency(
    asked: Option<String>,
    rates: &[FxRateRow],
    items: &[(SubscriptionRow, Vec<Recurring>, Decimal)],
) -> AppResult<Currency> {
    if let Some(code) = asked {
        return currency("currency", &code);
    }
    if let Some(r) = rates.first() {
        return Currency::parse(&r.reporting_currency).map_err(internal);
    }
    let mut seen = items.iter().map(|(_, r, _)| r[0].amount.currency());
    match seen.next() {
        Some(first) if seen.all(|c| c == first) => Ok(first),
        _ => Err(AppError::Invalid {
            code: "reporting_currency_required",
            field: Some("currency".into()),
            message: "no single currency to report in: name it (?currency=) or store \
                      exchange rates (PUT /v1/fx-rates/{currency})"
                .into(),
        }),
    }
}

/// The recurring items of a subscription in service on `date`.
async fn in_service(tx: &mut Tx, sub: &SubscriptionRow, date: Date) -> AppResult<Vec<Recurring>> {
    let tenant = sub.tenant_id.as_str();
    let versions = tx.subscription_versions(tenant, &sub.id).await?;
    let st = status_on(sub, &versions, date)?;
    if st != status::ACTIVE && st != status::PENDING_DISCONNECT {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for seg in tx.subscription_segments(tenant, &sub.id).await? {
        let start = parse_date(&seg.start_date, "segment start")?;
        let end = seg
            .end_date
            .as_deref()
            .map(|e| parse_date(e, "segment end"))
            .transpose()?;
        if start > date || end.is_some_and(|e| e <= date) {
            continue;
        }
        let price = tx
            .get_price(tenant, &seg.price_id)
            .await?
            .ok_or_else(|| internal("segment price"))?;
        let Some(terms) = RecurringPrice::of(&price)? else {
            continue;
        };
        let unit: Decimal = match &seg.unit_amount {
            Some(a) => a.parse().map_err(internal)?,
            None => terms.unit_amount,
        };
        let quantity: Decimal = seg.quantity.parse().map_err(internal)?;
        let c = Currency::parse(&price.currency).map_err(internal)?;
        let amount = unit
            .checked_mul(quantity)
            .ok_or_else(|| internal("overflow"))?;
        out.push(Recurring {
            amount: Money::from_decimal(amount, c).map_err(internal)?,
            period: terms.period,
        });
    }
    Ok(out)
}

/// Percent of recurring coupons the bill-to account redeemed that apply to the
/// subscription's product (summed, at most 100).
async fn discount_percent(tx: &mut Tx, sub: &SubscriptionRow) -> AppResult<Decimal> {
    let tenant = sub.tenant_id.as_str();
    let redemptions = tx.account_redemptions(tenant, &sub.bill_to_id).await?;
    if redemptions.is_empty() {
        return Ok(Decimal::ZERO);
    }
    let product = tx
        .get_product(tenant, &sub.product_id)
        .await?
        .ok_or_else(|| internal("subscription product"))?;
    let mut total = Decimal::ZERO;
    for r in redemptions.iter().filter(|r| r.status == "active") {
        let Some(body) = tx.get_setting(tenant, "coupon", &r.coupon_code).await? else {
            continue;
        };
        let coupon: CouponInput = serde_json::from_str(&body).map_err(internal)?;
        let recurring = matches!(
            coupon.duration,
            CouponDurationCode::Forever | CouponDurationCode::Periods
        );
        let applies = coupon.products.is_empty() || coupon.products.contains(&product.code);
        if let (true, true, Some(pct)) = (recurring, applies, coupon.percent.as_deref()) {
            total += pct.parse::<Decimal>().map_err(internal)?;
        }
    }
    Ok(total.min(Decimal::ONE_HUNDRED))
}
