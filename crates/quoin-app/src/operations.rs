//! Inventory operations on a subscription: change, suspend, resume, disconnect, renew,
//! change of minimum commitment.
//! Each has an effective date, is validated against the operation log and what has been
//! finalized, is recorded as a new version, and marks billing to reconcile when it is
//! dated inside a period already billed (which yields prorated charges and credits).

use jiff::civil::Date;
use jiff::Span;
use quoin_core::analytics::mrr::{self, RecurringAmount};
use quoin_core::calendar::{BillingPeriod, Cycle};
use quoin_core::catalog::{
    effective_unit_amount, etl_amount, renewal, term_end, EndOfTerm, EtlPolicy, Term, TermTemplate,
};
use quoin_core::money::{Currency, Money};
use quoin_store::new_id;
use quoin_store::rows::{
    AccountRow, ChargeRow, ItemSegmentRow, PriceRow, SubscriptionItemRow, SubscriptionRow,
    SubscriptionVersionRow,
};
use quoin_store::Tx;
use rust_decimal::Decimal;
use serde_json::json;

use crate::accounts::lock_account;
use crate::auth::{Action, Principal};
use crate::billing::{account_today, terms_of};
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::*;
use crate::subscriptions::{check_sellable, item_views, load_subscription_view, parse_date};
use crate::timeline::{opt_date, status, status_on, RecurringPrice};
use crate::{validate, App};

fn invalid(code: &'static str, field: &str, message: String) -> AppError {
    AppError::Invalid {
        code,
        field: Some(field.into()),
        message,
    }
}

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

/// Everything an operation needs about the subscription, read under the payer's lock.
struct Loaded {
    sub: SubscriptionRow,
    payer: AccountRow,
    versions: Vec<SubscriptionVersionRow>,
    items: Vec<SubscriptionItemRow>,
    segments: Vec<ItemSegmentRow>,
    today: Date,
    now_us: i64,
}

impl Loaded {
    /// The latest date any item is invoiced through.
    fn billed_through(&self) -> AppResult<Option<Date>> {
        let mut max = None;
        for i in &self.items {
            max = max.max(opt_date(i.billed_through.as_deref(), "billed_through")?);
        }
        Ok(max)
    }
}

impl App {
    /// Applies one operation and answers the subscription as it now stands.
    pub async fn operate_subscription(
        &self,
        p: &Principal,
        id: &str,
        op: SubscriptionOperation,
    ) -> AppResult<Subscription> {
        p.require(Action::WriteSubscriptions)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let sub = tx
            .get_subscription(tenant, id)
            .await?
            .ok_or_else(|| AppError::not_found("subscription", id))?;
        let payer = lock_account(&mut tx, tenant, &sub.bill_to_id).await?;
        let now = self.tenant_now(&mut tx, tenant).await?;
        let today = account_today(&payer, now)?;
        let view = self
            .operate_in_tx(&mut tx, sub, payer, today, to_us(now), op)
            .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Applies an operation inside the caller's transaction; the caller holds the lock on
    /// the payer (`payer`) and knows its `today`.
    pub(crate) async fn operate_in_tx(
        &self,
        tx: &mut Tx,
        sub: SubscriptionRow,
        payer: AccountRow,
        today: Date,
        now_us: i64,
        mut op: SubscriptionOperation,
    ) -> AppResult<Subscription> {
        let tenant = sub.tenant_id.clone();
        let mut l = Loaded {
            today,
            now_us,
            versions: tx.subscription_versions(&tenant, &sub.id).await?,
            items: tx.subscription_items(&tenant, &sub.id).await?,
            segments: tx.subscription_segments(&tenant, &sub.id).await?,
            sub,
            payer,
        };
        if op.operation == OperationKind::Change {
            apply_change_rules(tx, &l, &mut op).await?;
        }
        if op.minimum_commitment.is_some() && op.operation != OperationKind::ChangeCommitment {
            return Err(invalid(
                "invalid_field",
                "minimum_commitment",
                "minimum_commitment applies to the change_commitment operation only".into(),
            ));
        }
        let effective = self.effective_date(tx, &l, &op).await?;
        let (operation, details) = match op.operation {
            OperationKind::Change => self.change(tx, &mut l, &op, effective).await?,
            OperationKind::Suspend | OperationKind::Resume => {
                suspend_or_resume(&l, op.operation, effective, op.reason.clone())?
            }
            OperationKind::Disconnect => {
                let reason = op.reason.clone();
                let waive = op.waive_etl.unwrap_or(false);
                self.disconnect_children(tx, &l, effective, waive).await?;
                if !waive {
                    charge_early_termination(tx, &l, effective).await?;
                }
                let day_counts = counts_disconnect_day(&l.payer);
                disconnect(&mut l, effective, reason, day_counts)?
            }
            OperationKind::Renew => self.renew(tx, &mut l, effective).await?,
            OperationKind::ChangeCommitment => {
                change_commitment(tx, &mut l, &op, effective).await?
            }
        };
        record(tx, &mut l, operation, effective, details).await?;
        let view = load_subscription_view(tx, &l.sub).await?;
        emit(
            tx,
            &tenant,
            &format!("subscription.{operation}"),
            "subscription",
            &l.sub.id,
            &view,
            l.now_us,
        )
        .await?;
        Ok(view)
    }

    /// The operation log and the items as sold and as they stand.
    pub async fn subscription_history(
        &self,
        p: &Principal,
        id: &str,
    ) -> AppResult<SubscriptionHistory> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        let sub = tx
            .get_subscription(tenant, id)
            .await?
            .ok_or_else(|| AppError::not_found("subscription", id))?;
        let items = tx.subscription_items(tenant, id).await?;
        let segments = tx.subscription_segments(tenant, id).await?;
        let versions = tx.subscription_versions(tenant, id).await?;
        tx.commit().await?;
        Ok(SubscriptionHistory {
            subscription_id: sub.id,
            original: item_views(&items, &segments, false)?,
            current: item_views(&items, &segments, true)?,
            versions: versions
                .iter()
                .map(|v| {
                    Ok(SubscriptionVersion {
                        version: v.version,
                        operation: v.operation.clone(),
                        effective_date: parse_date(&v.effective_date, "effective_date")?,
                        status: v.status.clone(),
                        details: serde_json::from_str(&v.details).map_err(internal)?,
                        created_at: from_us(v.created_at_us),
                    })
                })
                .collect::<AppResult<_>>()?,
        })
    }

    /// The date an operation takes effect, checked against the service dates, the log
    /// and what has been finalized.
    async fn effective_date(
        &self,
        tx: &mut Tx,
        l: &Loaded,
        op: &SubscriptionOperation,
    ) -> AppResult<Date> {
        let sub = &l.sub;
        let start = parse_date(&sub.start_date, "start_date")?;
        if let Some(end) = opt_date(sub.end_date.as_deref(), "end_date")? {
            return Err(AppError::Conflict {
                code: "subscription_disconnected",
                message: format!(
                    "subscription `{}` is disconnected{} on {end}",
                    sub.id,
                    if end > l.today { " (pending)" } else { "" }
                ),
            });
        }
        let date = match (op.effective_date, op.timing) {
            (Some(d), Some(ChangeTiming::EndOfPeriod)) => {
                return Err(invalid(
                    "conflicting_timing",
                    "effective_date",
                    format!("give either effective_date ({d}) or timing end_of_period, not both"),
                ))
            }
            (Some(d), _) => d,
            (None, Some(ChangeTiming::EndOfPeriod)) => {
                if !matches!(
                    op.operation,
                    OperationKind::Change | OperationKind::ChangeCommitment
                ) {
                    return Err(invalid(
                        "invalid_timing",
                        "timing",
                        "end_of_period applies to changes only".into(),
                    ));
                }
                self.end_of_current_period(tx, l, op.item_id.as_deref())
                    .await?
            }
            (None, _) => l.today,
        };
        if date < start {
            return Err(invalid(
                "before_service_start",
                "effective_date",
                format!("{date} is before the service starts ({start})"),
            ));
        }
        let latest = l
            .versions
            .last()
            .map(|v| parse_date(&v.effective_date, "effective_date"))
            .transpose()?;
        if let Some(latest) = latest.filter(|latest| date < *latest) {
            return Err(invalid(
                "effective_date_out_of_order",
                "effective_date",
                format!("{date} is before the latest operation on this service ({latest})"),
            ));
        }
        if let Some(closed) = tx
            .last_finalized_invoice_date(&sub.tenant_id, &sub.id)
            .await?
        {
            let closed = parse_date(&closed, "invoice_date")?;
            if date < closed {
                return Err(invalid(
                    "effective_date_before_finalized",
                    "effective_date",
                    format!("{date} is before finalized invoice dated {closed}; date the operation on or after it"),
                ));
            }
        }
        let horizon = l
            .today
            .checked_add(Span::new().years(10))
            .map_err(internal)?;
        if date > horizon {
            return Err(invalid(
                "effective_date_too_far",
                "effective_date",
                format!("must be within 10 years of today ({}), got {date}", l.today),
            ));
        }
        Ok(date)
    }

    /// The end of the billing period the item is in today: changes at end of period take
    /// effect there, with nothing to credit.
    async fn end_of_current_period(
        &self,
        tx: &mut Tx,
        l: &Loaded,
        item: Option<&str>,
    ) -> AppResult<Date> {
        let item = pick_item(l, item)?;
        let seg = current_segment(l, &item.id)?;
        let price = tx
            .get_price(&l.sub.tenant_id, &seg.price_id)
            .await?
            .ok_or_else(|| internal("price missing"))?;
        let period = BillingPeriod::parse(&price.period).map_err(internal)?;
        let terms = terms_of(&l.payer)?;
        let anchor = parse_date(&l.sub.start_date, "start_date")?;
        let cycle = Cycle::for_alignment(terms.alignment, period, terms.bill_cycle_day, anchor);
        cycle.next_boundary(l.today).map_err(internal)
    }

    async fn change(
        &self,
        tx: &mut Tx,
        l: &mut Loaded,
        op: &SubscriptionOperation,
        effective: Date,
    ) -> AppResult<(&'static str, serde_json::Value)> {
        let tenant = l.sub.tenant_id.clone();
        refuse_while_overdue(tx, &l.payer).await?;
        let item = pick_item(l, op.item_id.as_deref())?.clone();
        let current = current_segment(l, &item.id)?.clone();
        if op.price_id.is_none() && op.quantity.is_none() && op.unit_amount.is_none() {
            return Err(invalid(
                "no_change",
                "price_id",
                "a change needs price_id, quantity or unit_amount".into(),
            ));
        }
        let quantity = match &op.quantity {
            Some(q) => validate::positive_decimal("quantity", q)?,
            None => current.quantity.parse().map_err(internal)?,
        };
        let price_id = op.price_id.clone().unwrap_or(current.price_id.clone());
        let price = tx
            .get_price(&tenant, &price_id)
            .await?
            .ok_or_else(|| invalid("not_found", "price_id", format!("no price `{price_id}`")))?;
        let (_, product) = check_sellable(
            tx, &tenant, &price, &l.payer, effective, quantity, "price_id",
        )
        .await?;
        refuse_one_time_change(tx, &current, &price).await?;
        let unit_amount = match (&op.unit_amount, op.price_id.is_some()) {
            (Some(a), _) => Some(validate::non_negative_decimal("unit_amount", a)?.to_string()),
            // A new price brings its own amount; the old negotiated one does not carry over.
            (None, true) => None,
            (None, false) => current.unit_amount.clone(),
        };
        let current_qty: Decimal = current.quantity.parse().map_err(internal)?;
        if price.id == current.price_id
            && quantity == current_qty
            && unit_amount == current.unit_amount
        {
            return Err(invalid(
                "no_change",
                "price_id",
                "the item already has this price, quantity and unit amount".into(),
            ));
        }
        let version = l.sub.version + 1;
        let start = parse_date(&current.start_date, "segment start")?;
        if start == effective {
            // Replaced the same day it began: it never took effect.
            tx.delete_item_segment(&tenant, &item.id, &current.start_date)
                .await?;
        } else {
            tx.close_item_segment(
                &tenant,
                &item.id,
                &current.start_date,
                &effective.to_string(),
            )
            .await?;
        }
        let new = ItemSegmentRow {
            tenant_id: tenant.clone(),
            item_id: item.id.clone(),
            subscription_id: l.sub.id.clone(),
            start_date: effective.to_string(),
            end_date: None,
            price_id: price.id.clone(),
            quantity: quantity.to_string(),
            unit_amount: unit_amount.clone(),
            version,
        };
        tx.insert_item_segment(&new).await?;
        if item.position == 0 {
            l.sub.price_id = price.id.clone();
            l.sub.quantity = quantity.to_string();
            if l.sub.product_id != product.id {
                tx.set_subscription_product(&tenant, &l.sub.id, &product.id)
                    .await?;
                l.sub.product_id = product.id.clone();
            }
        }
        mark_reconcile(l, effective)?;
        Ok((
            "change",
            json!({
                "item_id": item.id,
                "from": {"price_id": current.price_id, "quantity": current.quantity, "unit_amount": current.unit_amount},
                "to": {"price_id": price.id, "quantity": quantity.to_string(), "unit_amount": unit_amount},
                "reason": op.reason,
            }),
        ))
    }

    async fn renew(
        &self,
        tx: &mut Tx,
        l: &mut Loaded,
        effective: Date,
    ) -> AppResult<(&'static str, serde_json::Value)> {
        let (Some(code), Some(end)) = (l.sub.term_code.clone(), l.sub.term_end.clone()) else {
            return Err(invalid(
                "no_term",
                "operation",
                format!("subscription `{}` has no contract term to renew", l.sub.id),
            ));
        };
        let old_end = parse_date(&end, "term_end")?;
        let term = crate::subscriptions::term_spec(tx, &l.sub.tenant_id, &code).await?;
        let next = Term::new(old_end, term.length_months).map_err(internal)?;
        let details = self.renew_to(tx, l, next, effective, false).await?;
        Ok(("renew", details))
    }

    /// Moves the subscription (and its co-terminated add-ons) into the `next` term.
    async fn renew_to(
        &self,
        tx: &mut Tx,
        l: &mut Loaded,
        next: Term,
        recorded_on: Date,
        automatic: bool,
    ) -> AppResult<serde_json::Value> {
        let old_end = l.sub.term_end.clone();
        l.sub.term_start = Some(next.start().to_string());
        l.sub.term_end = Some(next.end().to_string());
        // Co-terminated add-ons follow their base into the new term.
        for child in tx.child_subscriptions(&l.sub.tenant_id, &l.sub.id).await? {
            if child.coterminate != 0 && child.end_date.is_none() {
                let mut c = child.clone();
                c.term_code = l.sub.term_code.clone();
                c.term_start = l.sub.term_start.clone();
                c.term_end = l.sub.term_end.clone();
                c.end_of_term = l.sub.end_of_term.clone();
                c.updated_at_us = l.now_us;
                tx.update_subscription(&c).await?;
            }
        }
        Ok(json!({
            "term": l.sub.term_code,
            "from": old_end,
            "to": next.end().to_string(),
            "months": next.length_months(),
            "recorded_on": recorded_on.to_string(),
            "automatic": automatic,
        }))
    }

    /// A base service's add-ons end with it (each charged its own early-termination fee
    /// under the shared term unless `waive_etl`).
    async fn disconnect_children(
        &self,
        tx: &mut Tx,
        l: &Loaded,
        effective: Date,
        waive_etl: bool,
    ) -> AppResult<()> {
        for child in tx.child_subscriptions(&l.sub.tenant_id, &l.sub.id).await? {
            if child.end_date.is_some() {
                continue;
            }
            let mut c = Loaded {
                versions: tx
                    .subscription_versions(&child.tenant_id, &child.id)
                    .await?,
                items: tx.subscription_items(&child.tenant_id, &child.id).await?,
                segments: Vec::new(),
                sub: child,
                payer: l.payer.clone(),
                today: l.today,
                now_us: l.now_us,
            };
            // An add-on that starts after the base ends never begins.
            let start = parse_date(&c.sub.start_date, "start_date")?;
            let at = effective.max(start);
            if !waive_etl {
                charge_early_termination(tx, &c, at).await?;
            }
            let details = disconnect(
                &mut c,
                at,
                Some("base service disconnected".into()),
                counts_disconnect_day(&l.payer),
            )?;
            record(tx, &mut c, details.0, at, details.1).await?;
        }
        Ok(())
    }

    /// Applies what the contract says at the end of each term that has ended by `today`:
    /// renew for the same length, roll month to month, or end the service (no fee: the
    /// commitment is met). Co-terminated add-ons follow their base. Answers whether
    /// anything changed, so the caller reloads the subscriptions.
    pub(crate) async fn end_terms_in_tx(
        &self,
        tx: &mut Tx,
        payer: &AccountRow,
        subs: &[SubscriptionRow],
        today: Date,
        now_us: i64,
    ) -> AppResult<bool> {
        let mut changed = false;
        for sub in subs {
            let follows_base = sub.parent_id.is_some() && sub.coterminate != 0;
            if follows_base || sub.end_date.is_some() {
                continue;
            }
            let Some(end) = opt_date(sub.term_end.as_deref(), "term_end")? else {
                continue;
            };
            if end > today {
                continue;
            }
            // Re-read: an earlier subscription of this loop may have changed it.
            let Some(row) = tx.get_subscription(&sub.tenant_id, &sub.id).await? else {
                continue;
            };
            let mut l = Loaded {
                today,
                now_us,
                versions: tx.subscription_versions(&row.tenant_id, &row.id).await?,
                items: tx.subscription_items(&row.tenant_id, &row.id).await?,
                segments: Vec::new(),
                sub: row,
                payer: payer.clone(),
            };
            while l.sub.end_date.is_none() {
                let Some(term) = stored_term(&l.sub)? else {
                    break;
                };
                if term.end() > today {
                    break;
                }
                let eot = l
                    .sub
                    .end_of_term
                    .as_deref()
                    .and_then(EndOfTerm::parse)
                    .ok_or_else(|| internal("stored end_of_term"))?;
                let at = term.end();
                match renewal(&term, eot).map_err(internal)? {
                    Some(next) => {
                        let details = self.renew_to(tx, &mut l, next, at, true).await?;
                        record(tx, &mut l, "renew", at, details).await?;
                    }
                    None => {
                        self.disconnect_children(tx, &l, at, true).await?;
                        let (op, details) =
                            disconnect(&mut l, at, Some("contract term ended".into()), false)?;
                        record(tx, &mut l, op, at, details).await?;
                    }
                }
                changed = true;
            }
        }
        Ok(changed)
    }
}

/// Changes the subscription's own minimum commitment from `effective` on. A period
/// already billed keeps the commitment it was billed with (its true-up is on a finalized
/// invoice), so the date may not fall inside one; a later period the date splits is
/// prorated, each part at its commitment (`commitments.rs`).
async fn change_commitment(
    tx: &mut Tx,
    l: &mut Loaded,
    op: &SubscriptionOperation,
    effective: Date,
) -> AppResult<(&'static str, serde_json::Value)> {
    let field = "minimum_commitment";
    let text = op.minimum_commitment.as_deref().ok_or_else(|| {
        invalid(
            "required",
            field,
            "change_commitment needs minimum_commitment".into(),
        )
    })?;
    let to = crate::commitments::parse_amount(field, text, &l.payer.currency)?;
    let base = pick_item(l, None)?;
    let plan = current_segment(l, &base.id)?;
    let price = tx
        .get_price(&l.sub.tenant_id, &plan.price_id)
        .await?
        .ok_or_else(|| internal("price missing"))?;
    if price.price_type != "recurring" {
        return Err(invalid(
            "not_recurring",
            field,
            format!(
                "a minimum commitment needs a recurring plan price; `{}` is {}",
                price.code, price.price_type
            ),
        ));
    }
    if let Some(billed) = opt_date(base.billed_through.as_deref(), "billed_through")? {
        if effective < billed {
            return Err(invalid(
                "effective_date_in_billed_period",
                "effective_date",
                format!(
                    "{effective} is inside a period already billed (through {billed}); date the change on or after {billed}"
                ),
            ));
        }
    }
    let from = l.sub.minimum_commitment.clone();
    if from.as_deref() == Some(to.as_str()) {
        return Err(invalid(
            "no_change",
            field,
            format!("the subscription already commits to {to}"),
        ));
    }
    tx.set_subscription_commitment(&l.sub.tenant_id, &l.sub.id, Some(&to))
        .await?;
    l.sub.minimum_commitment = Some(to.clone());
    Ok((
        crate::commitments::OPERATION,
        json!({"from": from, "to": to, "reason": op.reason}),
    ))
}

/// The disconnect day is billed as used when the payer's settings say so (Lago).
fn counts_disconnect_day(payer: &AccountRow) -> bool {
    payer.termination_day == "included"
}

/// A subscription's current contract term as the core sees it.
fn stored_term(sub: &SubscriptionRow) -> AppResult<Option<Term>> {
    let (Some(start), Some(end)) = (
        opt_date(sub.term_start.as_deref(), "term_start")?,
        opt_date(sub.term_end.as_deref(), "term_end")?,
    ) else {
        return Ok(None);
    };
    // The stored end is `start + n months`; find n (terms are at most ten years).
    for months in 1..=TermTemplate::MAX_LENGTH_MONTHS {
        if term_end(start, months).map_err(internal)? >= end {
            return Term::new(start, months).map(Some).map_err(internal);
        }
    }
    Err(internal(format!(
        "term {start} to {end} is longer than allowed"
    )))
}

/// One-time charges are billed once at activation; there is nothing to change on them,
/// and a recurring item does not turn into one.
async fn refuse_one_time_change(
    tx: &mut Tx,
    current: &ItemSegmentRow,
    new: &PriceRow,
) -> AppResult<()> {
    let was = tx
        .get_price(&current.tenant_id, &current.price_id)
        .await?
        .ok_or_else(|| internal("price missing"))?;
    if was.price_type == "one_time" {
        return Err(invalid(
            "one_time_not_changeable",
            "item_id",
            format!(
                "item `{}` is a one-time charge billed at activation; it cannot change",
                current.item_id
            ),
        ));
    }
    if new.price_type == "one_time" {
        return Err(invalid(
            "one_time_not_changeable",
            "price_id",
            format!(
                "price `{}` is a one-time charge; add it to a new subscription instead",
                new.id
            ),
        ));
    }
    Ok(())
}

/// What the service's items are worth a month on `day` (list or negotiated amounts, with
/// the price phase in effect), the base of early-termination fees.
async fn monthly_rate(tx: &mut Tx, l: &Loaded, day: Date) -> AppResult<Decimal> {
    let tenant = &l.sub.tenant_id;
    let currency = Currency::parse(&l.payer.currency).map_err(internal)?;
    let start = parse_date(&l.sub.start_date, "start_date")?;
    let segments = tx.subscription_segments(tenant, &l.sub.id).await?;
    let mut total = Decimal::ZERO;
    for seg in &segments {
        let from = parse_date(&seg.start_date, "segment start")?;
        let to = opt_date(seg.end_date.as_deref(), "segment end")?;
        // The segment in force on the last day of service.
        if from > day || to.is_some_and(|t| t <= day) {
            continue;
        }
        let price = tx
            .get_price(tenant, &seg.price_id)
            .await?
            .ok_or_else(|| internal("price missing"))?;
        let Some(recurring) = RecurringPrice::of(&price)? else {
            continue;
        };
        let list = match &seg.unit_amount {
            Some(a) => a.parse().map_err(internal)?,
            None => recurring.unit_amount,
        };
        let unit = match recurring
            .phase_spans(start)?
            .iter()
            .find(|s| s.contains(day))
        {
            Some(s) => effective_unit_amount(list, recurring.phases[s.index].adjustment),
            None => list,
        };
        let quantity: Decimal = seg.quantity.parse().map_err(internal)?;
        let amount = Money::from_decimal(
            unit.checked_mul(quantity)
                .ok_or_else(|| internal("overflow"))?,
            currency,
        )
        .map_err(internal)?;
        let monthly = mrr::monthly(&RecurringAmount::new(amount, recurring.period), None)
            .map_err(internal)?;
        total = total
            .checked_add(monthly.to_decimal())
            .ok_or_else(|| internal("overflow"))?;
    }
    Ok(total)
}

/// Records the early-termination fee the contract term's policy sets for disconnecting
/// on `effective`, billed on the payer's next invoice. Nothing when the service has no
/// term, the term has ended, the policy charges nothing, or the service never started
/// (cancelled on or before its first day).
async fn charge_early_termination(tx: &mut Tx, l: &Loaded, effective: Date) -> AppResult<()> {
    let start = parse_date(&l.sub.start_date, "start_date")?;
    let (Some(term), Some(code)) = (stored_term(&l.sub)?, l.sub.term_code.as_deref()) else {
        return Ok(());
    };
    if effective <= start || effective >= term.end() {
        return Ok(());
    }
    let spec = crate::subscriptions::term_spec(tx, &l.sub.tenant_id, code).await?;
    let policy = crate::catalog::check::etl_policy(&spec.etl);
    if policy == EtlPolicy::None {
        return Ok(());
    }
    // Priced on the last day of service.
    let last_day = effective.yesterday().map_err(internal)?;
    let rate = monthly_rate(tx, l, last_day).await?;
    let amount = etl_amount(&policy, rate, &term, effective).map_err(internal)?;
    if amount.is_zero() {
        return Ok(());
    }
    let details = json!({
        "term": code,
        "term_start": term.start().to_string(),
        "term_end": term.end().to_string(),
        "cancel_date": effective.to_string(),
        "remaining_months": term.remaining_months(effective).to_string(),
        "monthly_rate": rate.to_string(),
        "policy": spec.etl,
    });
    tx.insert_charge(&ChargeRow {
        id: new_id("chg"),
        tenant_id: l.sub.tenant_id.clone(),
        account_id: l.payer.id.clone(),
        subscription_id: l.sub.id.clone(),
        kind: "early_termination".into(),
        description: format!("Early termination fee ({})", spec.name),
        amount: amount.normalize().to_string(),
        charge_date: effective.to_string(),
        details: details.to_string(),
        invoice_line_id: None,
        created_at_us: l.now_us,
    })
    .await?;
    Ok(())
}

/// Refuses a plan change the tenant's change rules make illegal, and gives a change that
/// names neither a date nor a timing the timing of the rule that matches it. Changes that
/// keep the price (quantity, negotiated amount) are not plan changes.
async fn apply_change_rules(
    tx: &mut Tx,
    l: &Loaded,
    op: &mut SubscriptionOperation,
) -> AppResult<()> {
    let Some(price_id) = op.price_id.as_deref() else {
        return Ok(());
    };
    let tenant = &l.sub.tenant_id;
    let item = pick_item(l, op.item_id.as_deref())?;
    let current = current_segment(l, &item.id)?;
    let (Some(to), Some(from)) = (
        tx.get_price(tenant, price_id).await?,
        tx.get_price(tenant, &current.price_id).await?,
    ) else {
        // An unknown price is reported by the change itself.
        return Ok(());
    };
    if to.product_id == from.product_id && to.code == from.code {
        return Ok(());
    }
    let policy = crate::change_rules::policy_for_change(tx, tenant, &from, &to).await?;
    if op.timing.is_none() && op.effective_date.is_none() {
        op.timing = match policy {
            Some(ChangePolicy::EndOfPeriod) => Some(ChangeTiming::EndOfPeriod),
            Some(ChangePolicy::Immediate) => Some(ChangeTiming::Immediate),
            _ => None,
        };
    }
    Ok(())
}

/// Plan changes wait until an account in dunning has paid (Kill Bill blocks changes in
/// overdue states): a customer behind on payments cannot up- or downgrade meanwhile.
async fn refuse_while_overdue(tx: &mut Tx, payer: &AccountRow) -> AppResult<()> {
    let state = tx.get_dunning_state(&payer.tenant_id, &payer.id).await?;
    match state {
        Some(s) if s.steps_done > 0 => Err(AppError::Conflict {
            code: "account_overdue",
            message: format!(
                "account `{}` is overdue (dunning step {} of its schedule reached); changes \
                 are accepted again once the overdue invoices are paid",
                payer.id, s.steps_done
            ),
        }),
        _ => Ok(()),
    }
}

fn pick_item<'a>(l: &'a Loaded, id: Option<&str>) -> AppResult<&'a SubscriptionItemRow> {
    match id {
        Some(id) => l.items.iter().find(|i| i.id == id).ok_or_else(|| {
            invalid(
                "not_found",
                "item_id",
                format!("no item `{id}` on this subscription"),
            )
        }),
        None => l
            .items
            .first()
            .ok_or_else(|| internal("subscription without items")),
    }
}

fn current_segment<'a>(l: &'a Loaded, item: &str) -> AppResult<&'a ItemSegmentRow> {
    l.segments
        .iter()
        .rfind(|s| s.item_id == item)
        .ok_or_else(|| internal("item without segments"))
}

fn suspend_or_resume(
    l: &Loaded,
    kind: OperationKind,
    effective: Date,
    reason: Option<String>,
) -> AppResult<(&'static str, serde_json::Value)> {
    let now = status_on(&l.sub, &l.versions, effective)?;
    let (want, name) = match kind {
        OperationKind::Suspend => (status::ACTIVE, "suspend"),
        _ => (status::SUSPENDED, "resume"),
    };
    if now != want {
        return Err(AppError::Conflict {
            code: if name == "suspend" {
                "not_active"
            } else {
                "not_suspended"
            },
            message: format!(
                "subscription `{}` is {now} on {effective}; {name} needs it {want}",
                l.sub.id
            ),
        });
    }
    Ok((name, json!({ "reason": reason })))
}

/// Ends the service: on `effective`, or after it when the day counts as used.
fn disconnect(
    l: &mut Loaded,
    effective: Date,
    reason: Option<String>,
    day_counts: bool,
) -> AppResult<(&'static str, serde_json::Value)> {
    let end = if day_counts {
        effective.tomorrow().map_err(internal)?
    } else {
        effective
    };
    l.sub.end_date = Some(end.to_string());
    // Always reconcile at the end: credits unused in-advance time and bills the final
    // in-arrears period.
    let from = opt_date(l.sub.reconcile_from.as_deref(), "reconcile_from")?;
    l.sub.reconcile_from = Some(from.map_or(effective, |f| f.min(effective)).to_string());
    Ok(("disconnect", json!({ "reason": reason })))
}

/// Operations dated before what is billed make the next billing reconcile from that date.
fn mark_reconcile(l: &mut Loaded, effective: Date) -> AppResult<()> {
    if l.billed_through()?.is_some_and(|b| effective < b) {
        let from = opt_date(l.sub.reconcile_from.as_deref(), "reconcile_from")?;
        l.sub.reconcile_from = Some(from.map_or(effective, |f| f.min(effective)).to_string());
    }
    Ok(())
}

/// Writes the version and the subscription's new state.
async fn record(
    tx: &mut Tx,
    l: &mut Loaded,
    operation: &'static str,
    effective: Date,
    details: serde_json::Value,
) -> AppResult<()> {
    if operation == "suspend" || operation == "resume" {
        mark_reconcile(l, effective)?;
    }
    l.sub.version += 1;
    l.sub.updated_at_us = l.now_us;
    let after = match operation {
        "suspend" => status::SUSPENDED,
        "resume" => status::ACTIVE,
        "disconnect" => status::DISCONNECTED,
        _ => l
            .versions
            .last()
            .map(|v| v.status.as_str())
            .unwrap_or(status::ACTIVE),
    }
    .to_string();
    let row = SubscriptionVersionRow {
        tenant_id: l.sub.tenant_id.clone(),
        subscription_id: l.sub.id.clone(),
        version: l.sub.version,
        operation: operation.into(),
        effective_date: effective.to_string(),
        status: after,
        details: details.to_string(),
        created_at_us: l.now_us,
    };
    tx.insert_subscription_version(&row).await?;
    l.versions.push(row);
    l.sub.status = status_on(&l.sub, &l.versions, l.today)?.to_string();
    tx.update_subscription(&l.sub).await?;
    Ok(())
}
