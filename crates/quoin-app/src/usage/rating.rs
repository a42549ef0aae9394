//! Rating a usage item's period: the one path billing's final lines, progressive (early)
//! invoices and re-rating share.

use quoin_core::calendar::Period;
use quoin_core::money::Currency;
use quoin_store::rows::{PriceRow, SubscriptionItemRow};
use quoin_store::Tx;
use rust_decimal::Decimal;

use super::unratable::Unratable;
use crate::catalog::spec::PriceSpec;
use crate::error::{AppError, AppResult};
use crate::model::GroupUsage;

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

/// The usage of `[start, end)` rated with the item's price, not rounded: voice prices call
/// by call, the others from the rollups with groups rated separately and summed. Answers
/// (quantity, amount). The one rating path of billing, early invoices and re-rating.
/// Voice events the plan cannot rate are parked in suspense or skipped, as `unratable` says.
pub(crate) async fn rate_usage(
    tx: &mut Tx,
    item: &SubscriptionItemRow,
    price: &PriceRow,
    period: Period,
    currency: Currency,
    unratable: Unratable,
) -> AppResult<(Decimal, Decimal)> {
    let spec: PriceSpec = serde_json::from_str(&price.definition).map_err(internal)?;
    let cannot = || internal(format!("usage price {} cannot be rated", price.id));
    let metric = spec.metric.clone().ok_or_else(cannot)?;
    let voice = super::voice::bill_period(
        tx,
        &item.tenant_id,
        &spec,
        &item.id,
        &metric,
        (period.start, period.end),
        currency,
        unratable,
        None,
    )
    .await?;
    if let Some(v) = voice {
        return Ok((v.quantity, v.amount.to_decimal()));
    }
    let groups = super::usage_for_period(
        tx,
        &item.tenant_id,
        &item.id,
        &metric,
        period.start,
        period.end,
    )
    .await?;
    rate_groups(&spec, &item.id, &price.id, &groups)
}

/// Rates a non-voice usage price's period from its quantity per group: each group rated on
/// its own, then summed, not rounded. Answers (quantity, amount).
pub(crate) fn rate_groups(
    spec: &PriceSpec,
    item_id: &str,
    price_id: &str,
    groups: &[GroupUsage],
) -> AppResult<(Decimal, Decimal)> {
    let rater = crate::catalog::check::core_price(spec)
        .ok_or_else(|| internal(format!("usage price {price_id} cannot be rated")))?;
    let (mut quantity, mut amount) = (Decimal::ZERO, Decimal::ZERO);
    for g in groups {
        let q: Decimal = g.quantity.parse().map_err(internal)?;
        quantity += q;
        amount += rater.amount_for(q).map_err(|e| AppError::Invalid {
            code: "billing_failed",
            field: None,
            message: format!("rating item `{item_id}`: {e}"),
        })?;
    }
    Ok((quantity, amount))
}
