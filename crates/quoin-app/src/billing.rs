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
use quoin_store::repo::runs::PendingEvent;
use quoin_store::repo::InvoiceFilter;
use quoin_store::rows::{
    AccountRow, InvoiceLineRow, InvoiceRow, ItemSegmentRow, PriceRow, ProductRow,
    SubscriptionItemRow, SubscriptionRow, SubscriptionVersionRow,
};
use quoin_store::Tx;

use crate::accounts::lock_account;
use crate::auth::{Action, Principal};
use crate::billing_reads::{PageReads, Reads, TenantSettings};
use crate::clock::{from_us, to_us};
use crate::commitments::CommitmentSchedule;
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::finishing;
use crate::model::*;
use crate::progressive;
use crate::subscriptions::parse_date;
use crate::timeline::{item_segments, opt_date, status_on, suspended_spans, RecurringPrice};
use crate::usage_adjustments;
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

/// The document number of the tenant's `n`th finalized invoice (gapless per tenant).
fn invoice_number(n: i64) -> String {
    format!("INV-{n:06}")
}

async fn load_invoice(tx: &mut Tx, tenant: &str, id: &str) -> AppResult<Invoice> {
    let inv = tx
        .get_invoice(tenant, id)
        .await?
        .ok_or_else(|| AppError::not_found("invoice", id))?;
    let lines = tx.invoice_lines(tenant, id).await?;
    invoice_view(&inv, &lines)
}

/// What an item handle's lines are, beyond plain recurring charges and repairs.
#[derive(Debug, Clone)]
enum LineSource {
    Usage,
    OneTime,
    /// A one-off charge an operation raised (index into the loaded charges).
    Charge(usize),
    /// Usage invoiced early because it reached a threshold.
    Progressive,
    /// The credit, on the period's final invoice, for usage invoiced early.
    ProgressiveCredit,
    /// The difference a billed usage period now rates at (late events, a void).
    UsageAdjustment,
}

/// A one-time price billed once, on the invoice of the day the item starts (an
/// installation or activation fee). `None` when the item has no one-time price.
fn bill_one_time_item(
    item: &SubscriptionItemRow,
    rows: &[&ItemSegmentRow],
    service_end: Option<Date>,
    today: Date,
    prices: &PriceBook<'_>,
    currency: Currency,
    key: usize,
) -> AppResult<Option<ItemBilling>> {
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let handle = *prices
        .by_id
        .get(&row.price_id)
        .ok_or_else(|| internal("price not loaded"))?;
    if prices.rows[handle].price_type != "one_time" {
        return Ok(None);
    }
    let billed_through = opt_date(item.billed_through.as_deref(), "billed_through")?;
    let start = parse_date(&row.start_date, "segment start")?;
    let nothing = |through| ItemBilling {
        proposals: Vec::new(),
        billed_through: through,
        reconciled: false,
    };
    // Billed already, not started yet, or disconnected before it started.
    if billed_through.is_some() || start > today || service_end.is_some_and(|e| e <= start) {
        return Ok(Some(nothing(billed_through)));
    }
    let unit_amount: rust_decimal::Decimal = match &row.unit_amount {
        Some(a) => a.parse().map_err(internal)?,
        None => prices.rows[handle].amount.parse().map_err(internal)?,
    };
    let quantity: rust_decimal::Decimal = row.quantity.parse().map_err(internal)?;
    let exact = unit_amount
        .checked_mul(quantity)
        .ok_or_else(|| internal("one-time amount overflow"))?;
    let day = Period::new(start, start.tomorrow().map_err(internal)?).map_err(internal)?;
    let proposal = Proposal {
        key,
        kind: LineKind::Charge,
        invoice_date: start,
        service: day,
        full: day,
        factor: quoin_core::calendar::ProrationFactor::FULL,
        price: handle,
        unit_amount,
        quantity,
        amount: Money::from_decimal(exact, currency).map_err(internal)?,
    };
    Ok(Some(ItemBilling {
        proposals: vec![proposal],
        billed_through: Some(day.end),
        reconciled: false,
    }))
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
struct PriceBook<'p> {
    /// Where prices not seen yet are read from.
    reads: Reads<'p>,
    rows: Vec<PriceRow>,
    recurring: Vec<Option<RecurringPrice>>,
    by_id: HashMap<String, usize>,
}

impl PriceBook<'_> {
    async fn load(&mut self, tx: &mut Tx, tenant: &str, id: &str) -> AppResult<usize> {
        if let Some(h) = self.by_id.get(id) {
            return Ok(*h);
        }
        let row = match self.reads.known_price(id) {
            Some(row) => row,
            None => tx
                .get_price(tenant, id)
                .await?
                .ok_or_else(|| internal(format!("price {id} missing")))?,
        };
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
    prices: &mut PriceBook<'_>,
    tx: &mut Tx,
    tenant: &str,
) -> AppResult<Vec<BilledLine>> {
    // Only recurring charges and their repairs take part in reconciliation (usage,
    // one-time and fee lines never cover service time).
    let mine: Vec<&InvoiceLineRow> = lines
        .iter()
        .filter(|l| l.item_id.as_deref() == Some(item))
        .filter(|l| matches!(l.kind.as_str(), "recurring" | "repair"))
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

/// How far ahead the upcoming invoice is looked for (an annual cycle and then some).
const UPCOMING_HORIZON_DAYS: i64 = 400;

impl App {
    /// The next invoice the account's bill-to account will receive, as billing would draw it
    /// now: recurring charges, one-off charges and usage of the open period *to date*
    /// (rated from the events received so far). Billing runs in a transaction that is
    /// rolled back, so nothing is stored and the answer is current on every read.
    pub async fn upcoming_invoice(&self, p: &Principal, account_id: &str) -> AppResult<Invoice> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let account = tx
            .get_account(tenant, account_id)
            .await?
            .ok_or_else(|| AppError::not_found("account", account_id))?;
        let payer = lock_account(&mut tx, tenant, &account.bill_to_id).await?;
        let now = self.tenant_now(&mut tx, tenant).await?;
        let next = self.draw_next_invoice(&mut tx, &payer, now).await;
        // Nothing of this may stay, whatever happened.
        tx.rollback().await?;
        let mut next = next?.ok_or_else(|| AppError::Conflict {
            code: "no_upcoming_invoice",
            message: format!(
                "account `{}` has nothing to bill in the next {UPCOMING_HORIZON_DAYS} days",
                payer.id
            ),
        })?;
        next.id = "upcoming".into();
        next.status = "upcoming".into();
        Ok(next)
    }

    /// The next invoice of bill-to account `payer` (locked by the caller) as billing would
    /// draw it at `now`, open-period usage to date included; `None` when nothing is due
    /// within the horizon. Billing runs under a savepoint that is rolled back, so nothing
    /// of it stays in `tx` (the upcoming invoice and the stored drafts both use it).
    pub(crate) async fn draw_next_invoice(
        &self,
        tx: &mut Tx,
        payer: &AccountRow,
        now: Timestamp,
    ) -> AppResult<Option<Invoice>> {
        let today = account_today(payer, now)?;
        let horizon = today
            .checked_add(jiff::Span::new().days(UPCOMING_HORIZON_DAYS))
            .map_err(internal)?;
        tx.savepoint("draw_next_invoice").await?;
        let drafts = self
            .bill_in_tx(tx, payer, horizon, false, to_us(now), Reads::DIRECT)
            .await;
        tx.rollback_to_savepoint("draw_next_invoice").await?;
        Ok(drafts?.into_iter().next())
    }

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
        reads: Reads<'_>,
    ) -> AppResult<Vec<Invoice>> {
        let tenant = account.tenant_id.as_str();
        let terms = terms_of(account)?;
        let mut reads = reads;
        let mut subs = reads.subscriptions(tx, account).await?;
        // Contract terms that have ended renew or end as agreed before anything is billed.
        if self
            .end_terms_in_tx(tx, account, &subs, today, now_us)
            .await?
        {
            // What was read ahead no longer holds (add-ons may follow the base's term).
            reads = reads.stale();
            subs = reads.subscriptions(tx, account).await?;
        }
        let mut prices = PriceBook {
            reads,
            ..PriceBook::default()
        };
        let mut products: HashMap<String, ProductRow> = HashMap::new();
        // Per item handle: (subscription index, item row).
        let mut items: Vec<(usize, SubscriptionItemRow)> = Vec::new();
        let mut billed_rows: Vec<InvoiceLineRow> = Vec::new();
        let mut proposals = Vec::new();
        let mut outcomes: Vec<(usize, ItemBilling)> = Vec::new();
        // Item handles whose lines are not plain recurring charges.
        let mut sources: HashMap<usize, LineSource> = HashMap::new();
        let mut usage_details = UsageDetails::new();
        // Subscriptions with a commitment of their own: what it is on each day.
        let mut commitments: HashMap<String, CommitmentSchedule> = HashMap::new();
        for (si, sub) in subs.iter().enumerate() {
            if !products.contains_key(&sub.product_id) {
                let p = reads
                    .product(tx, tenant, &sub.product_id)
                    .await?
                    .ok_or_else(|| internal("product missing"))?;
                products.insert(sub.product_id.clone(), p);
            }
            let versions = reads.versions(tx, tenant, &sub.id).await?;
            if let Some(c) = CommitmentSchedule::if_any(sub, &versions)? {
                commitments.insert(sub.id.clone(), c);
            }
            let status = self.sync_status(tx, sub, &versions, today, now_us).await?;
            let suspended = suspended_spans(&versions)?;
            let segments = reads.segments(tx, tenant, &sub.id).await?;
            let end = opt_date(sub.end_date.as_deref(), "end_date")?;
            let anchor = parse_date(&sub.start_date, "start_date")?;
            let thresholds = sub
                .progressive_threshold
                .as_deref()
                .map(progressive::Thresholds::parse)
                .transpose()?;
            let reconcile_from = opt_date(sub.reconcile_from.as_deref(), "reconcile_from")?;
            let reconciling = reconcile_from.filter(|f| *f <= today);
            let lines_after = match reconciling {
                Some(f) => {
                    tx.subscription_lines_after(tenant, &sub.id, &f.to_string())
                        .await?
                }
                None => Vec::new(),
            };
            for item in reads.items(tx, tenant, &sub.id).await? {
                let rows: Vec<&ItemSegmentRow> =
                    segments.iter().filter(|s| s.item_id == item.id).collect();
                let mut core_segments = Vec::new();
                for r in &rows {
                    prices.load(tx, tenant, &r.price_id).await?;
                }
                if let Some(outcome) = bill_one_time_item(
                    &item,
                    &rows,
                    end,
                    today,
                    &prices,
                    terms.currency,
                    items.len(),
                )? {
                    sources.insert(items.len(), LineSource::OneTime);
                    proposals.extend(outcome.proposals.iter().cloned());
                    outcomes.push((items.len(), outcome));
                    items.push((si, item));
                    continue;
                }
                core_segments.extend(item_segments(
                    &rows,
                    end,
                    &suspended,
                    terms.alignment,
                    anchor,
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
                    sources.insert(items.len(), LineSource::Usage);
                    proposals.extend(outcome.proposals.iter().cloned());
                    let finals = outcome.proposals.clone();
                    outcomes.push((items.len(), outcome));
                    items.push((si, item.clone()));
                    let rerate_from = opt_date(item.usage_reconcile_from.as_deref(), "reconcile")?;
                    let billed = opt_date(item.billed_through.as_deref(), "billed_through")?;
                    if let (Some(from), Some(billed_through)) = (rerate_from, billed) {
                        let r = usage_adjustments::Rerate {
                            item: &item,
                            rows: &rows,
                            service_end: end,
                            anchor,
                            from,
                            billed_through,
                        };
                        let lines = usage_adjustments::usage_adjustments(
                            tx,
                            &terms,
                            &r,
                            today,
                            items.len(),
                        )
                        .await?;
                        for (mut p, price_id) in lines {
                            p.key = items.len();
                            p.price = prices.load(tx, tenant, &price_id).await?;
                            sources.insert(items.len(), LineSource::UsageAdjustment);
                            proposals.push(p);
                            items.push((si, item.clone()));
                        }
                        tx.clear_usage_reconcile(tenant, &item.id).await?;
                    }
                    for line in &finals {
                        let credit =
                            progressive::progressive_credit(tx, &item, line, items.len()).await?;
                        if let Some(c) = credit {
                            sources.insert(items.len(), LineSource::ProgressiveCredit);
                            proposals.push(c);
                            items.push((si, item.clone()));
                        }
                    }
                    if let (Some(th), Some(seg)) = (&thresholds, rows.last()) {
                        let handle = prices.load(tx, tenant, &seg.price_id).await?;
                        let price = prices.rows[handle].clone();
                        let u = progressive::UsageItemPrice {
                            item: &item,
                            segment: seg,
                            price: &price,
                            handle,
                            service_end: end,
                            anchor,
                        };
                        if price.price_type == "usage" {
                            let early = progressive::progressive_line(
                                tx,
                                &terms,
                                &u,
                                th,
                                today,
                                items.len(),
                            )
                            .await?;
                            if let Some(p) = early {
                                sources.insert(items.len(), LineSource::Progressive);
                                proposals.push(p);
                                items.push((si, item.clone()));
                            }
                        }
                    }
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
                // The status just synced, not the one read before.
                row.status = status.to_string();
                row.updated_at_us = now_us;
                tx.update_subscription(&row).await?;
            }
        }
        // One-off charges operations raised (early-termination fees), on today's invoice
        // like the credits of the operation that raised them.
        let charges = reads
            .unbilled_charges(tx, account, &today.to_string())
            .await?;
        for (ci, charge) in charges.iter().enumerate() {
            let Some(si) = subs.iter().position(|s| s.id == charge.subscription_id) else {
                continue;
            };
            let Some(item) = reads
                .items(tx, tenant, &charge.subscription_id)
                .await?
                .into_iter()
                .next()
            else {
                continue;
            };
            let handle = prices.load(tx, tenant, &subs[si].price_id).await?;
            let exact: rust_decimal::Decimal = charge.amount.parse().map_err(internal)?;
            let day = parse_date(&charge.charge_date, "charge_date")?;
            let service = Period::new(day, day.tomorrow().map_err(internal)?).map_err(internal)?;
            sources.insert(items.len(), LineSource::Charge(ci));
            proposals.push(Proposal {
                key: items.len(),
                kind: LineKind::Charge,
                invoice_date: today,
                service,
                full: service,
                factor: quoin_core::calendar::ProrationFactor::FULL,
                price: handle,
                unit_amount: exact,
                quantity: rust_decimal::Decimal::ONE,
                amount: Money::from_decimal(exact, terms.currency).map_err(internal)?,
            });
            items.push((si, item));
        }
        let drafts = group_by_date(terms.currency, proposals).map_err(|e| AppError::Invalid {
            code: "billing_failed",
            field: None,
            message: e.to_string(),
        })?;
        let mut created = Vec::with_capacity(drafts.len());
        let mut finish = reads.finishing(tx, account).await?;
        // On a page that buffers, this account's rows wait for the page's flush; an
        // account with one-off charges writes directly (the charge points at its line).
        let buffered = reads.buffers() && charges.is_empty();
        // The account's ledger, read on its first finalized invoice and carried forward.
        let mut books: Option<crate::ledger::Books> = None;
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
            // (charge id, line id) of the one-off charges this invoice bills.
            let mut billed_charges: Vec<(String, String)> = Vec::new();
            for (pos, l) in draft.lines.iter().enumerate() {
                let (si, item) = &items[l.key];
                let sub = &subs[*si];
                let product = &products[&sub.product_id];
                let price_id = prices.id(l.price).to_string();
                let line_id = new_id("inl");
                let mut detail = "{}".to_string();
                let mut item_id = Some(item.id.clone());
                let (kind, repairs, description) = match (l.kind, sources.get(&l.key)) {
                    (LineKind::Charge, Some(LineSource::Usage)) => {
                        // Voice usage explains itself (calls by destination and band).
                        if let Some(d) = usage_details.remove(&(l.key, l.service.start)) {
                            detail = d;
                        }
                        ("usage", None, format!("{} (usage)", product.name))
                    }
                    (LineKind::Charge, Some(LineSource::Progressive)) => (
                        "progressive_usage",
                        None,
                        format!("{} (usage to date, threshold reached)", product.name),
                    ),
                    (LineKind::Charge, Some(LineSource::ProgressiveCredit)) => (
                        "progressive_credit",
                        None,
                        format!("{} (usage invoiced early)", product.name),
                    ),
                    (LineKind::Charge, Some(LineSource::UsageAdjustment)) => (
                        "usage_adjustment",
                        None,
                        format!("{} (usage re-rated)", product.name),
                    ),
                    (LineKind::Charge, Some(LineSource::OneTime)) => (
                        "one_time",
                        None,
                        format!("{} (one-time charge)", product.name),
                    ),
                    (LineKind::Charge, Some(LineSource::Charge(ci))) => {
                        let c = &charges[*ci];
                        item_id = None;
                        detail = c.details.clone();
                        billed_charges.push((c.id.clone(), line_id.clone()));
                        ("early_termination", None, c.description.clone())
                    }
                    (LineKind::Charge, None) => {
                        let start = parse_date(&sub.start_date, "start_date")?;
                        let phase = match prices.recurring(&price_id)? {
                            Some((_, r)) => r.phase_on(start, l.service.start)?,
                            None => None,
                        };
                        match phase {
                            Some(ph) => {
                                detail = serde_json::json!({ "phase": ph.code() }).to_string();
                                ("recurring", None, format!("{} ({ph})", product.name))
                            }
                            None => ("recurring", None, product.name.clone()),
                        }
                    }
                    (LineKind::Repair { line }, _) => (
                        "repair",
                        Some(billed_rows[line].id.clone()),
                        format!("{} (credit for unused time)", product.name),
                    ),
                };
                let row = InvoiceLineRow {
                    id: line_id,
                    tenant_id: tenant.to_string(),
                    invoice_id: inv.id.clone(),
                    position: i64::try_from(pos).map_err(internal)?,
                    kind: kind.into(),
                    subscription_id: Some(sub.id.clone()),
                    item_id,
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
                    detail,
                };
                lines.push(row);
                refs.push(finishing::LineRef {
                    product_code: &product.code,
                    price: &prices.rows[l.price],
                    // The subscription's own commitment is on its base item (the plan).
                    commitment: if item.position == 0 {
                        commitments.get(&sub.id)
                    } else {
                        None
                    },
                });
            }
            // Coupons, minimums, taxes, fees and prepaid credit (no-op when none apply).
            finish
                .finish(tx, &mut inv, &mut lines, &refs, now_us)
                .await?;
            let draft_view = invoice_view(&inv, &lines)?;
            if finalize {
                // Finalized as it is written: the row we hold is the invoice, so there is no
                // draft to update and nothing to read back.
                let n = reads.next_invoice_number(tx, tenant).await?;
                inv.status = "finalized".into();
                inv.number = Some(invoice_number(n));
                inv.finalized_at_us = Some(now_us);
            }
            if buffered {
                reads.with_writes(|w| {
                    w.invoices.push(inv.clone());
                    w.lines.extend(lines.iter().cloned());
                });
            } else {
                tx.insert_invoice(&inv).await?;
                for row in &lines {
                    tx.insert_invoice_line(row).await?;
                }
            }
            for (charge, line) in &billed_charges {
                tx.mark_charge_billed(tenant, charge, line).await?;
            }
            let event = |topic: &str, body: &Invoice| -> AppResult<PendingEvent> {
                Ok(PendingEvent {
                    tenant_id: tenant.to_string(),
                    topic: topic.to_string(),
                    aggregate_type: "invoice".into(),
                    aggregate_id: inv.id.clone(),
                    payload: serde_json::to_string(body).map_err(internal)?,
                    created_at_us: now_us,
                })
            };
            if buffered {
                let e = event("invoice.created", &draft_view)?;
                reads.with_writes(|w| w.events.push(e));
            } else {
                emit(
                    tx,
                    tenant,
                    "invoice.created",
                    "invoice",
                    &inv.id,
                    &draft_view,
                    now_us,
                )
                .await?;
            }
            if finalize {
                let view = invoice_view(&inv, &lines)?;
                if buffered {
                    let e = event("invoice.finalized", &view)?;
                    reads.with_writes(|w| w.events.push(e));
                } else {
                    emit(
                        tx,
                        tenant,
                        "invoice.finalized",
                        "invoice",
                        &inv.id,
                        &view,
                        now_us,
                    )
                    .await?;
                }
                let books = match &mut books {
                    Some(b) => b,
                    None => books.insert(reads.books(tx, account).await?),
                };
                let sink = if buffered { reads } else { Reads::DIRECT };
                self.post_finalized_onto(tx, account, &inv, books, now_us, sink)
                    .await?;
                created.push(view);
            } else {
                created.push(draft_view);
            }
        }
        let mut sub_through: HashMap<usize, Date> = HashMap::new();
        for (handle, outcome) in outcomes {
            let (si, item) = &items[handle];
            let old = opt_date(item.billed_through.as_deref(), "billed_through")?;
            if outcome.billed_through != old {
                let text = outcome.billed_through.map(|d| d.to_string());
                if buffered {
                    reads.with_writes(|w| w.item_billed_through.push((item.id.clone(), text)));
                } else {
                    tx.set_item_billed_through(tenant, &item.id, text.as_deref())
                        .await?;
                }
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
                if buffered {
                    let mark = (sub.id.clone(), through.to_string());
                    reads.with_writes(|w| w.sub_billed_through.push(mark));
                } else {
                    tx.set_billed_through(tenant, &sub.id, &through.to_string())
                        .await?;
                }
            }
        }
        if !created.is_empty() && !reads.is_page() {
            // The stored draft showed what is now invoiced: refresh it. Last, so item rows
            // are locked before the draft row, as ingestion does (a run does this once
            // per page).
            tx.touch_drafts(tenant, &[account.id.as_str()]).await?;
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
        prices: &mut PriceBook<'_>,
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
            let Some(metric) = spec.metric.clone() else {
                return Err(internal(format!("usage price {} has no metric", price.id)));
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
                    crate::usage::Unratable::Park,
                    None,
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
                        let (quantity, amount) = crate::usage::rate_usage(
                            tx,
                            u.item,
                            &price,
                            service,
                            terms.currency,
                            crate::usage::Unratable::Park,
                        )
                        .await?;
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
    ) -> AppResult<&'static str> {
        let status = status_on(sub, versions, today)?;
        if sub.status == status {
            return Ok(status);
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
        .await?;
        Ok(status)
    }

    pub(crate) async fn finalize_in_tx(
        &self,
        tx: &mut Tx,
        tenant: &str,
        id: &str,
        now_us: i64,
    ) -> AppResult<Invoice> {
        let n = tx.next_sequence_value(tenant, "invoice", 1).await?;
        let number = invoice_number(n);
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
                Reads::DIRECT,
            )
            .await?;
        tx.commit().await?;
        if invoices.iter().any(|i| i.number.is_some()) {
            self.collect_due(&p.tenant_id, Some(&account.id)).await;
        }
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
        // Read once for the whole pass, as an invoice run reads them once per page.
        let settings = TenantSettings::load(&mut tx, tenant).await?;
        tx.commit().await?;
        let mut invoices = Vec::new();
        let mut errors = Vec::new();
        for payer in payers {
            let result = async {
                let mut tx = self.store.begin().await?;
                // The same page reads as an invoice run, for a page of one account.
                let page = PageReads::load(
                    &mut tx,
                    tenant,
                    std::slice::from_ref(&payer),
                    settings.clone(),
                )
                .await?;
                // One transaction per account: a failure rolls it all back, so its writes
                // can wait for one flush as a run's page does.
                page.buffer_writes(&mut tx).await?;
                let created = self
                    .bill_payer(
                        &mut tx,
                        &page,
                        &payer,
                        |a| account_today(a, now),
                        true,
                        to_us(now),
                    )
                    .await?;
                tx.flush_page_writes(tenant, &page.take_writes()).await?;
                if !created.is_empty() {
                    tx.touch_drafts(tenant, &[payer.as_str()]).await?;
                }
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
        // Invoices finalized above are charged now that their transactions committed.
        errors.extend(self.collect_due(tenant, None).await);
        Ok((invoices, errors))
    }

    /// Bills one bill-to account of a page read ahead as the daily job and invoice runs do:
    /// payment retries, then dunning (a retry that pays resolves dunning; a suspension or
    /// disconnect dunning makes is billed today), then billing for the account's `day`.
    /// Either of the first two may change what the page read, which then goes stale.
    /// Drafts are not touched: the caller does that once for all it billed.
    pub(crate) async fn bill_payer(
        &self,
        tx: &mut Tx,
        page: &PageReads,
        payer: &str,
        day: impl Fn(&AccountRow) -> AppResult<Date>,
        finalize: bool,
        now_us: i64,
    ) -> AppResult<Vec<Invoice>> {
        let mut reads = page.reads();
        let account = match page.account(payer) {
            Some(a) => a.clone(),
            None => lock_account(tx, &page.tenant, payer).await?,
        };
        let day = day(&account)?;
        if self
            .retry_payments_in_tx(tx, &account, day, now_us, reads)
            .await?
        {
            reads = reads.stale();
        }
        if self.dunning_with(tx, &account, day, now_us, reads).await? {
            reads = reads.stale();
        }
        self.bill_in_tx(tx, &account, day, finalize, now_us, reads)
            .await
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
        self.collect_due(&p.tenant_id, Some(&view.account_id)).await;
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
