//! Billing: turning due service periods into invoices, and finalizing them.

use std::collections::HashMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use quoin_core::billing::{
    bill_item, group_by_date, BilledLine, BillingTerms, ItemBilling, ItemTimeline, LineKind,
    Proposal,
};
use quoin_core::calendar::{
    local_date, proration_factor, Alignment, BillCycleDay, BillingPeriod, Cycle, Period,
    ProrationConvention,
};
use quoin_core::money::{Currency, Money};
use quoin_store::new_id;
use quoin_store::repo::InvoiceFilter;
use quoin_store::rows::{
    AccountRow, InvoiceLineRow, InvoiceRow, ItemSegmentRow, PriceRow, ProductRow,
    SubscriptionItemRow, SubscriptionRow, SubscriptionVersionRow,
};
use quoin_store::Tx;

use crate::accounts::lock_account;
use crate::auth::{Action, Principal};
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::finishing;
use crate::model::*;
use crate::subscriptions::parse_date;
use crate::timeline::{item_segments, opt_date, status_on, suspended_spans, RecurringPrice};
use crate::App;

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

fn money_text(minor: i64, currency: &str) -> AppResult<String> {
    let c = Currency::parse(currency).map_err(internal)?;
    Ok(Money::from_minor(minor, c).to_decimal().to_string())
}

pub(crate) fn invoice_view(inv: &InvoiceRow, lines: &[InvoiceLineRow]) -> AppResult<Invoice> {
    let lines = lines
        .iter()
        .map(|l| {
            Ok(InvoiceLine {
                id: l.id.clone(),
                kind: l.kind.clone(),
                repairs_line_id: l.repairs_line_id.clone(),
                subscription_id: l.subscription_id.clone().unwrap_or_default(),
                price_id: l.price_id.clone().unwrap_or_default(),
                description: l.description.clone(),
                period_start: parse_date(&l.period_start, "period_start")?,
                period_end: parse_date(&l.period_end, "period_end")?,
                quantity: l.quantity.clone(),
                unit_amount: l.unit_amount.clone(),
                proration: Proration {
                    numerator: l.proration_num,
                    denominator: l.proration_den,
                    factor: (rust_decimal::Decimal::from(l.proration_num)
                        / rust_decimal::Decimal::from(l.proration_den.max(1)))
                    .round_dp(10)
                    .normalize()
                    .to_string(),
                },
                amount: money_text(l.amount_minor, &inv.currency)?,
                discount: money_text(l.discount_minor, &inv.currency)?,
                tax: money_text(l.tax_minor, &inv.currency)?,
                detail: match l.detail.as_str() {
                    "" | "{}" => None,
                    d => Some(serde_json::from_str(d).map_err(internal)?),
                },
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Invoice {
        id: inv.id.clone(),
        account_id: inv.account_id.clone(),
        number: inv.number.clone(),
        status: inv.status.clone(),
        currency: inv.currency.clone(),
        invoice_date: parse_date(&inv.invoice_date, "invoice_date")?,
        due_date: parse_date(&inv.due_date, "due_date")?,
        period_start: parse_date(&inv.period_start, "period_start")?,
        period_end: parse_date(&inv.period_end, "period_end")?,
        subtotal: money_text(inv.subtotal_minor, &inv.currency)?,
        discount: money_text(inv.discount_minor, &inv.currency)?,
        tax: money_text(inv.tax_minor, &inv.currency)?,
        total: money_text(
            inv.subtotal_minor
                .checked_add(inv.tax_minor)
                .ok_or_else(|| internal("overflow"))?,
            &inv.currency,
        )?,
        amount_due: money_text(inv.total_minor, &inv.currency)?,
        lines,
        created_at: from_us(inv.created_at_us),
        finalized_at: inv.finalized_at_us.map(from_us),
        settlement: None,
    })
}

async fn load_invoice(tx: &mut Tx, tenant: &str, id: &str) -> AppResult<Invoice> {
    let inv = tx
        .get_invoice(tenant, id)
        .await?
        .ok_or_else(|| AppError::not_found("invoice", id))?;
    let lines = tx.invoice_lines(tenant, id).await?;
    invoice_view(&inv, &lines)
}

/// A usage item being billed and where its service ends.
struct UsageItem<'a> {
    item: &'a SubscriptionItemRow,
    rows: &'a [&'a ItemSegmentRow],
    service_end: Option<Date>,
    anchor: Date,
    handle: usize,
}

/// Line `detail` JSON of usage charges that carry one (voice), by (item handle, service start).
type UsageDetails = HashMap<(usize, Date), String>;

/// Prices an account's billing has seen, by handle (the core's `price` index).
#[derive(Default)]
struct PriceBook {
    rows: Vec<PriceRow>,
    recurring: Vec<Option<RecurringPrice>>,
    by_id: HashMap<String, usize>,
}

impl PriceBook {
    async fn load(&mut self, tx: &mut Tx, tenant: &str, id: &str) -> AppResult<usize> {
        if let Some(h) = self.by_id.get(id) {
            return Ok(*h);
        }
        let row = tx
            .get_price(tenant, id)
            .await?
            .ok_or_else(|| internal(format!("price {id} missing")))?;
        let handle = self.rows.len();
        self.recurring.push(RecurringPrice::of(&row)?);
        self.rows.push(row);
        self.by_id.insert(id.to_string(), handle);
        Ok(handle)
    }

    fn recurring(&self, id: &str) -> AppResult<Option<(usize, RecurringPrice)>> {
        let h = *self
            .by_id
            .get(id)
            .ok_or_else(|| internal(format!("price {id} not loaded")))?;
        Ok(self.recurring[h].clone().map(|r| (h, r)))
    }

    fn id(&self, handle: usize) -> &str {
        &self.rows[handle].id
    }
}

/// The billed lines of one item as the core sees them; `rows` collects the stored lines so
/// the handles (indexes) can be mapped back.
async fn billed_lines(
    lines: &[InvoiceLineRow],
    item: &str,
    rows: &mut Vec<InvoiceLineRow>,
    prices: &mut PriceBook,
    tx: &mut Tx,
    tenant: &str,
) -> AppResult<Vec<BilledLine>> {
    let mine: Vec<&InvoiceLineRow> = lines
        .iter()
        .filter(|l| l.item_id.as_deref() == Some(item))
        .collect();
    let base = rows.len();
    let index: HashMap<&str, usize> = mine
        .iter()
        .enumerate()
        .map(|(i, l)| (l.id.as_str(), base + i))
        .collect();
    let mut out = Vec::with_capacity(mine.len());
    for (i, l) in mine.iter().enumerate() {
        let price_id = l
            .price_id
            .as_deref()
            .ok_or_else(|| internal("billed line without price"))?;
        let handle = prices.load(tx, tenant, price_id).await?;
        let Some((_, recurring)) = prices.recurring(price_id)? else {
            continue;
        };
        let kind = match (&l.repairs_line_id, l.kind.as_str()) {
            (Some(of), "repair") => match index.get(of.as_str()) {
                Some(line) => LineKind::Repair { line: *line },
                // The charge it repairs ended before the window; irrelevant here.
                None => continue,
            },
            _ => LineKind::Charge,
        };
        let service = Period::new(
            parse_date(&l.period_start, "period_start")?,
            parse_date(&l.period_end, "period_end")?,
        )
        .map_err(internal)?;
        let full = match (&l.full_start, &l.full_end) {
            (Some(s), Some(e)) => {
                Period::new(parse_date(s, "full_start")?, parse_date(e, "full_end")?)
                    .map_err(internal)?
            }
            _ => service,
        };
        let currency = Currency::parse(&prices.rows[handle].currency).map_err(internal)?;
        out.push(BilledLine {
            id: base + i,
            kind,
            service,
            full,
            price: handle,
            unit_amount: l.unit_amount.parse().map_err(internal)?,
            quantity: l.quantity.parse().map_err(internal)?,
            period: recurring.period,
            amount: Money::from_minor(l.amount_minor, currency),
        });
    }
    rows.extend(mine.into_iter().cloned());
    Ok(out)
}

/// The account's billing terms as core values.
pub(crate) fn terms_of(account: &AccountRow) -> AppResult<BillingTerms> {
    Ok(BillingTerms {
        currency: Currency::parse(&account.currency).map_err(internal)?,
        alignment: Alignment::parse(&account.alignment)
            .ok_or_else(|| internal("stored alignment"))?,
        // Unset only while the account has no subscription; then nothing is billed anyway.
        bill_cycle_day: BillCycleDay::new(account.bill_cycle_day.unwrap_or(1)).map_err(internal)?,
        convention: ProrationConvention::parse(&account.proration)
            .ok_or_else(|| internal("stored proration"))?,
    })
}

pub(crate) fn account_today(account: &AccountRow, now: Timestamp) -> AppResult<Date> {
    let tz = TimeZone::get(&account.time_zone).map_err(internal)?;
    Ok(local_date(now, &tz))
}

impl App {
    /// Creates every invoice of a bill-to account that is due on `today` and not yet billed,
    /// and the repair credits of operations dated inside billed periods. Safe to repeat:
    /// items advance `billed_through`, and reconciliation compares against what is billed,
    /// all under the account lock the caller holds.
    pub(crate) async fn bill_in_tx(
        &self,
        tx: &mut Tx,
        account: &AccountRow,
        today: Date,
        finalize: bool,
        now_us: i64,
    ) -> AppResult<Vec<Invoice>> {
        let tenant = account.tenant_id.as_str();
        let terms = terms_of(account)?;
        let subs = tx.subscriptions_billed_to(tenant, &account.id).await?;
        let mut prices = PriceBook::default();
        let mut products: HashMap<String, ProductRow> = HashMap::new();
        // Per item handle: (subscription index, item row).
        let mut items: Vec<(usize, SubscriptionItemRow)> = Vec::new();
        let mut billed_rows: Vec<InvoiceLineRow> = Vec::new();
        let mut proposals = Vec::new();
        let mut outcomes: Vec<(usize, ItemBilling)> = Vec::new();
        // Item handles billed from usage (their lines are `usage`, not `recurring`).
        let mut usage_handles: Vec<usize> = Vec::new();
        let mut usage_details = UsageDetails::new();
        for (si, sub) in subs.iter().enumerate() {
            if !products.contains_key(&sub.product_id) {
                let p = tx
                    .get_product(tenant, &sub.product_id)
                    .await?
                    .ok_or_else(|| internal("product missing"))?;
                products.insert(sub.product_id.clone(), p);
            }
            let versions = tx.subscription_versions(tenant, &sub.id).await?;
            self.sync_status(tx, sub, &versions, today, now_us).await?;
            let suspended = suspended_spans(&versions)?;
            let segments = tx.subscription_segments(tenant, &sub.id).await?;
            let end = opt_date(sub.end_date.as_deref(), "end_date")?;
            let anchor = parse_date(&sub.start_date, "start_date")?;
            let reconcile_from = opt_date(sub.reconcile_from.as_deref(), "reconcile_from")?;
            let reconciling = reconcile_from.filter(|f| *f <= today);
            let lines_after = match reconciling {
                Some(f) => {
                    tx.subscription_lines_after(tenant, &sub.id, &f.to_string())
                        .await?
                }
                None => Vec::new(),
            };
            for item in tx.subscription_items(tenant, &sub.id).await? {
                let rows: Vec<&ItemSegmentRow> =
                    segments.iter().filter(|s| s.item_id == item.id).collect();
                let mut core_segments = Vec::new();
                for r in &rows {
                    prices.load(tx, tenant, &r.price_id).await?;
                }
                core_segments.extend(item_segments(
                    &rows,
                    end,
                    &suspended,
                    terms.alignment,
                    |id| prices.recurring(id),
                )?);
                if let Some(outcome) = self
                    .bill_usage_item(
                        tx,
                        &terms,
                        UsageItem {
                            item: &item,
                            rows: &rows,
                            service_end: end,
                            anchor,
                            handle: items.len(),
                        },
                        today,
                        &mut prices,
                        &mut usage_details,
                    )
                    .await?
                {
                    usage_handles.push(items.len());
                    proposals.extend(outcome.proposals.iter().cloned());
                    outcomes.push((items.len(), outcome));
                    items.push((si, item));
                    continue;
                }
                if core_segments.is_empty() && reconciling.is_none() {
                    continue;
                }
                let billed = billed_lines(
                    &lines_after,
                    &item.id,
                    &mut billed_rows,
                    &mut prices,
                    tx,
                    tenant,
                )
                .await?;
                let handle = items.len();
                let timeline = ItemTimeline {
                    key: handle,
                    currency: terms.currency,
                    anchor,
                    segments: core_segments,
                    billed_through: opt_date(item.billed_through.as_deref(), "billed_through")?,
                    reconcile_from,
                };
                let outcome = bill_item(&terms, &timeline, &billed, today).map_err(|e| {
                    AppError::Invalid {
                        code: "billing_failed",
                        field: None,
                        message: format!("subscription `{}`: {e}", sub.id),
                    }
                })?;
                proposals.extend(outcome.proposals.iter().cloned());
                outcomes.push((handle, outcome));
                items.push((si, item));
            }
            if reconciling.is_some() {
                let mut row = sub.clone();
                row.reconcile_from = None;
                row.updated_at_us = now_us;
                tx.update_subscription(&row).await?;
            }
        }
        let drafts = group_by_date(terms.currency, proposals).map_err(|e| AppError::Invalid {
            code: "billing_failed",
            field: None,
            message: e.to_string(),
        })?;
        let mut created = Vec::with_capacity(drafts.len());
        let mut finish = finishing::Finishing::new(account);
        for draft in drafts {
            let span = draft
                .service_span()
                .ok_or_else(|| internal("empty draft"))?;
            let due = draft
                .invoice_date
                .checked_add(jiff::Span::new().days(account.payment_terms_days))
                .map_err(internal)?;
            let mut inv = InvoiceRow {
                id: new_id("inv"),
                tenant_id: tenant.to_string(),
                account_id: account.id.clone(),
                currency: account.currency.clone(),
                status: "draft".into(),
                number: None,
                invoice_date: draft.invoice_date.to_string(),
                due_date: due.to_string(),
                period_start: span.start.to_string(),
                period_end: span.end.to_string(),
                total_minor: draft.total.minor(),
                created_at_us: now_us,
                finalized_at_us: None,
                subtotal_minor: draft.total.minor(),
                discount_minor: 0,
                tax_minor: 0,
            };
            let mut lines = Vec::with_capacity(draft.lines.len());
            let mut refs = Vec::with_capacity(draft.lines.len());
            for (pos, l) in draft.lines.iter().enumerate() {
                let (si, item) = &items[l.key];
                let sub = &subs[*si];
                let product = &products[&sub.product_id];
                let price_id = prices.id(l.price).to_string();
                let (kind, repairs, description) = match l.kind {
                    LineKind::Charge if usage_handles.contains(&l.key) => {
                        ("usage", None, format!("{} (usage)", product.name))
                    }
                    LineKind::Charge => ("recurring", None, product.name.clone()),
                    LineKind::Repair { line } => (
                        "repair",
                        Some(billed_rows[line].id.clone()),
                        format!("{} (credit for unused time)", product.name),
                    ),
                };
                let row = InvoiceLineRow {
                    id: new_id("inl"),
                    tenant_id: tenant.to_string(),
                    invoice_id: inv.id.clone(),
                    position: i64::try_from(pos).map_err(internal)?,
                    kind: kind.into(),
                    subscription_id: Some(sub.id.clone()),
                    item_id: Some(item.id.clone()),
                    price_id: Some(price_id),
                    description,
                    period_start: l.service.start.to_string(),
                    period_end: l.service.end.to_string(),
                    full_start: Some(l.full.start.to_string()),
                    full_end: Some(l.full.end.to_string()),
                    quantity: l.quantity.to_string(),
                    unit_amount: l.unit_amount.to_string(),
                    proration_num: l.factor.numerator(),
                    proration_den: l.factor.denominator(),
                    amount_minor: l.amount.minor(),
                    repairs_line_id: repairs,
                    discount_minor: 0,
                    tax_minor: 0,
                    detail: usage_details
                        .remove(&(l.key, l.service.start))
                        .unwrap_or_else(|| "{}".into()),
                };
                lines.push(row);
                refs.push(finishing::LineRef {
                    product_code: &product.code,
                    price: &prices.rows[l.price],
                });
            }
            // Coupons, minimums, taxes, fees and prepaid credit (no-op when none apply).
            finish
                .finish(tx, &mut inv, &mut lines, &refs, now_us)
                .await?;
            tx.insert_invoice(&inv).await?;
            for row in &lines {
                tx.insert_invoice_line(row).await?;
            }
            let mut view = invoice_view(&inv, &lines)?;
            emit(
                tx,
                tenant,
                "invoice.created",
                "invoice",
                &inv.id,
                &view,
                now_us,
            )
            .await?;
            if finalize {
                view = self.finalize_in_tx(tx, tenant, &inv.id, now_us).await?;
            }
            created.push(view);
        }
        let mut sub_through: HashMap<usize, Date> = HashMap::new();
        for (handle, outcome) in outcomes {
            let (si, item) = &items[handle];
            let old = opt_date(item.billed_through.as_deref(), "billed_through")?;
            if outcome.billed_through != old {
                let text = outcome.billed_through.map(|d| d.to_string());
                tx.set_item_billed_through(tenant, &item.id, text.as_deref())
                    .await?;
            }
            if let Some(t) = outcome.billed_through {
                let e = sub_through.entry(*si).or_insert(t);
                *e = (*e).max(t);
            }
        }
        // The subscription keeps the latest date any of its items is billed through.
        for (si, through) in sub_through {
            let sub = &subs[si];
            if sub.billed_through.as_deref() != Some(&through.to_string()) {
                tx.set_billed_through(tenant, &sub.id, &through.to_string())
                    .await?;
            }
        }
        Ok(created)
    }

    /// Bills a usage item: each in-arrears period that has ended, rated from the item's
    /// usage rollups with its usage price (groups rated separately, then summed, rounded
    /// once). `None` when the item has no usage price.
    async fn bill_usage_item(
        &self,
        tx: &mut Tx,
        terms: &BillingTerms,
        u: UsageItem<'_>,
        today: Date,
        prices: &mut PriceBook,
        details: &mut UsageDetails,
    ) -> AppResult<Option<ItemBilling>> {
        let tenant = u.item.tenant_id.as_str();
        let mut through = opt_date(u.item.billed_through.as_deref(), "billed_through")?;
        let mut proposals = Vec::new();
        let mut any = false;
        for row in u.rows {
            let handle = prices.load(tx, tenant, &row.price_id).await?;
            let price = prices.rows[handle].clone();
            if price.price_type != "usage" {
                continue;
            }
            any = true;
            let spec: crate::catalog::spec::PriceSpec =
                serde_json::from_str(&price.definition).map_err(internal)?;
            let (Some(metric), Some(rater)) = (
                spec.metric.clone(),
                crate::catalog::check::core_price(&spec),
            ) else {
                return Err(internal(format!(
                    "usage price {} cannot be rated",
                    price.id
                )));
            };
            let period = BillingPeriod::parse(&price.period).map_err(internal)?;
            let seg_start = parse_date(&row.start_date, "segment start")?;
            let seg_end = opt_date(row.end_date.as_deref(), "segment end")?;
            let stop = match (seg_end, u.service_end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let cycle =
                Cycle::for_alignment(terms.alignment, period, terms.bill_cycle_day, u.anchor);
            let from = through.map_or(seg_start, |t| t.max(seg_start));
            for p in cycle.charge_periods(from) {
                let end = stop.map_or(p.service.end, |e| p.service.end.min(e));
                if end <= p.service.start || end > today {
                    break;
                }
                let service = Period::new(p.service.start, end).map_err(internal)?;
                // Voice prices rate each call of the period (usage/voice.rs) instead.
                let voice = crate::usage::voice::bill_period(
                    tx,
                    tenant,
                    &spec,
                    &u.item.id,
                    &metric,
                    (service.start, service.end),
                    terms.currency,
                )
                .await?;
                let (quantity, money) = match voice {
                    Some(v) => {
                        through = Some(service.end);
                        if v.calls == 0 {
                            continue;
                        }
                        details.insert((u.handle, service.start), v.detail.to_string());
                        (v.quantity, v.amount)
                    }
                    None => {
                        let groups = crate::usage::usage_for_period(
                            tx,
                            tenant,
                            &u.item.id,
                            &metric,
                            service.start,
                            service.end,
                        )
                        .await?;
                        let mut quantity = rust_decimal::Decimal::ZERO;
                        let mut amount = rust_decimal::Decimal::ZERO;
                        for g in &groups {
                            let q: rust_decimal::Decimal = g.quantity.parse().map_err(internal)?;
                            quantity += q;
                            amount += rater.amount_for(q).map_err(|e| AppError::Invalid {
                                code: "billing_failed",
                                field: None,
                                message: format!("rating item `{}`: {e}", u.item.id),
                            })?;
                        }
                        through = Some(service.end);
                        if quantity.is_zero() && amount.is_zero() {
                            continue;
                        }
                        let money =
                            Money::from_decimal(amount, terms.currency).map_err(internal)?;
                        (quantity, money)
                    }
                };
                proposals.push(Proposal {
                    key: u.handle,
                    kind: LineKind::Charge,
                    invoice_date: service.end,
                    service,
                    full: p.full,
                    factor: proration_factor(service, service, ProrationConvention::ActualDays)
                        .map_err(internal)?,
                    price: handle,
                    unit_amount: price.amount.parse().unwrap_or_default(),
                    quantity,
                    amount: money,
                });
            }
        }
        Ok(any.then_some(ItemBilling {
            proposals,
            billed_through: through,
            reconciled: false,
        }))
    }

    /// Stores the status the operation log gives a subscription today, with an event when
    /// time moved it (activation, suspension or disconnect taking effect).
    pub(crate) async fn sync_status(
        &self,
        tx: &mut Tx,
        sub: &SubscriptionRow,
        versions: &[SubscriptionVersionRow],
        today: Date,
        now_us: i64,
    ) -> AppResult<()> {
        let status = status_on(sub, versions, today)?;
        if sub.status == status {
            return Ok(());
        }
        let mut row = sub.clone();
        row.status = status.to_string();
        row.updated_at_us = now_us;
        tx.update_subscription(&row).await?;
        let view = crate::subscriptions::subscription_view(&row)?;
        emit(
            tx,
            &sub.tenant_id,
            "subscription.status_changed",
            "subscription",
            &sub.id,
            &view,
            now_us,
        )
        .await
    }

    pub(crate) async fn finalize_in_tx(
        &self,
        tx: &mut Tx,
        tenant: &str,
        id: &str,
        now_us: i64,
    ) -> AppResult<Invoice> {
        let n = tx.next_sequence_value(tenant, "invoice", 1).await?;
        let number = format!("INV-{n:06}");
        if !tx.finalize_invoice(tenant, id, &number, now_us).await? {
            let current = load_invoice(tx, tenant, id).await?;
            return Err(AppError::Conflict {
                code: "invoice_not_draft",
                message: format!(
                    "invoice `{id}` is {}; only drafts can be finalized",
                    current.status
                ),
            });
        }
        let view = load_invoice(tx, tenant, id).await?;
        emit(
            tx,
            tenant,
            "invoice.finalized",
            "invoice",
            id,
            &view,
            now_us,
        )
        .await?;
        self.post_finalized_invoice(tx, tenant, id, now_us).await?;
        Ok(view)
    }

    /// Bills one bill-to account for everything due by `as_of` (default: its today).
    pub async fn bill_account(
        &self,
        p: &Principal,
        account_id: &str,
        req: BillRequest,
    ) -> AppResult<BillResult> {
        p.require(Action::Bill)?;
        let mut tx = self.store.begin().await?;
        let account = lock_account(&mut tx, &p.tenant_id, account_id).await?;
        if account.bill_to_id != account.id {
            return Err(AppError::Invalid {
                code: "not_bill_to_account",
                field: None,
                message: format!(
                    "account `{}` is billed to `{}`; bill that account instead",
                    account.id, account.bill_to_id
                ),
            });
        }
        let now = self.tenant_now(&mut tx, &p.tenant_id).await?;
        let today = account_today(&account, now)?;
        // Billing ahead of time would invoice periods not yet due (and not yet served).
        let today = match req.as_of {
            Some(d) if d > today => {
                return Err(AppError::invalid(
                    "as_of",
                    format!("must not be after the account's today ({today}), got {d}"),
                ))
            }
            Some(d) => d,
            None => today,
        };
        let invoices = self
            .bill_in_tx(
                &mut tx,
                &account,
                today,
                req.finalize.unwrap_or(false),
                to_us(now),
            )
            .await?;
        tx.commit().await?;
        Ok(BillResult { invoices })
    }

    /// Bills every bill-to account of the tenant for what is due at `now`, finalizing the
    /// invoices. One transaction per account: a failing account is reported, not fatal.
    pub(crate) async fn run_billing(
        &self,
        tenant: &str,
        now: Timestamp,
    ) -> AppResult<(Vec<Invoice>, Vec<AccountError>)> {
        let mut tx = self.store.read().await?;
        let payers = tx.bill_to_accounts_page(tenant, None, i64::MAX).await?;
        tx.commit().await?;
        let mut invoices = Vec::new();
        let mut errors = Vec::new();
        for payer in payers {
            let result = async {
                let mut tx = self.store.begin().await?;
                let account = lock_account(&mut tx, tenant, &payer).await?;
                let today = account_today(&account, now)?;
                // Dunning first: a suspension or disconnect it makes is billed today.
                self.dunning_in_tx(&mut tx, &account, today, to_us(now))
                    .await?;
                let created = self
                    .bill_in_tx(&mut tx, &account, today, true, to_us(now))
                    .await?;
                tx.commit().await?;
                AppResult::Ok(created)
            }
            .await;
            match result {
                Ok(mut created) => invoices.append(&mut created),
                Err(e) => {
                    tracing::warn!(tenant, account = %payer, error = %e, "billing failed for account");
                    errors.push(AccountError {
                        account_id: payer,
                        code: e.code().to_string(),
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok((invoices, errors))
    }

    pub async fn finalize_invoice(&self, p: &Principal, id: &str) -> AppResult<Invoice> {
        p.require(Action::Bill)?;
        let mut tx = self.store.begin().await?;
        tx.get_invoice(&p.tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("invoice", id))?;
        let now = to_us(self.tenant_now(&mut tx, &p.tenant_id).await?);
        let view = self.finalize_in_tx(&mut tx, &p.tenant_id, id, now).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn get_invoice(&self, p: &Principal, id: &str) -> AppResult<Invoice> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let mut view = load_invoice(&mut tx, &p.tenant_id, id).await?;
        self.attach_settlements(&mut tx, &p.tenant_id, std::slice::from_mut(&mut view))
            .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn list_invoices(
        &self,
        p: &Principal,
        filter: InvoiceFilter,
        page: &ListParams,
    ) -> AppResult<InvoicePage> {
        p.require(Action::Read)?;
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .list_invoices(&p.tenant_id, &filter, page.cursor.as_deref(), limit)
            .await?;
        let mut data = Vec::with_capacity(rows.items.len());
        for inv in &rows.items {
            let lines = tx.invoice_lines(&p.tenant_id, &inv.id).await?;
            data.push(invoice_view(inv, &lines)?);
        }
        self.attach_settlements(&mut tx, &p.tenant_id, &mut data)
            .await?;
        tx.commit().await?;
        Ok(InvoicePage {
            data,
            next_cursor: rows.next_cursor,
        })
    }
}
