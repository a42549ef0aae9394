//! `quoin bench invoice-run`: generate N subscriptions straight through the store (big
//! transactions, multi-row inserts), run one invoice run over them, and report throughput,
//! peak RSS and the pure-compute throughput of the core over the same data.
//!
//! The population is a deterministic function of the account index, so the compute-only
//! pass streams it again without holding anything: memory stays flat as N grows.

use std::time::Instant;

use anyhow::Context;
use jiff::civil::{date, Date};
use quoin_app::catalog::format::{parse, Format};
use quoin_app::model::*;
use quoin_app::runs::RunOptions;
use quoin_app::{App, Principal};
use quoin_core::billing::{
    bill_item, group_by_date, BillingTerms, ChargeTiming, ItemTimeline, Segment,
};
use quoin_core::calendar::{Alignment, BillCycleDay, BillingPeriod, ProrationConvention};
use quoin_core::money::Currency;
use quoin_store::new_id;
use quoin_store::rows::{
    AccountRow, ItemSegmentRow, PriceRow, SubscriptionItemRow, SubscriptionRow,
    SubscriptionVersionRow,
};

/// The date every generated service starts and the run bills (one invoice per account).
pub const RUN_DATE: Date = date(2025, 2, 1);
const CLOCK: &str = "2025-02-01T12:00:00Z";
/// Accounts per generation transaction.
const GEN_BATCH: usize = 5_000;

/// What account `i` subscribes to: deterministic, so it can be streamed twice.
#[derive(Debug, Clone, Copy)]
struct Plan {
    annual: bool,
    addon: Option<usize>,
    usage: bool,
}

pub(crate) fn mix(i: u64) -> u64 {
    // splitmix64
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn plan(i: usize) -> Plan {
    let h = mix(i as u64);
    Plan {
        annual: h % 100 < 25,
        addon: ((h >> 8) % 100 < 20).then_some(((h >> 16) % 2) as usize),
        usage: (h >> 24) % 100 < 10,
    }
}

/// Accounts needed for `n` subscriptions (each account has one base service, 20% an
/// add-on; only the last account may lose its add-on to the budget).
fn accounts_for(n: usize) -> usize {
    let (mut subs, mut i) = (0, 0);
    while subs < n {
        subs += 1;
        if plan(i).addon.is_some() && subs < n {
            subs += 1;
        }
        i += 1;
    }
    i
}

fn has_addon(i: usize, accounts: usize, n: usize) -> bool {
    plan(i).addon.is_some() && (i + 1 < accounts || subs_before(i) + 2 <= n)
}

fn subs_before(k: usize) -> usize {
    (0..k)
        .map(|i| 1 + usize::from(plan(i).addon.is_some()))
        .sum()
}

pub struct Prices {
    monthly: PriceRow,
    annual: PriceRow,
    addons: [PriceRow; 2],
}

pub struct Generated {
    pub principal: Principal,
    pub accounts: usize,
    pub subscriptions: usize,
    pub with_addons: usize,
    pub with_usage: usize,
    pub prices: Prices,
}

async fn price_row(
    app: &App,
    p: &Principal,
    products: &ProductPage,
    code: &str,
) -> anyhow::Result<PriceRow> {
    let product = products
        .data
        .iter()
        .find(|x| x.code == code)
        .with_context(|| format!("catalog has no product {code}"))?;
    let price = product
        .prices
        .iter()
        .find(|pr| pr.period.is_some() && pr.amount.is_some())
        .with_context(|| format!("product {code} has no recurring price"))?;
    let mut tx = app.store().read().await?;
    let row = tx
        .get_price(&p.tenant_id, &price.id)
        .await?
        .with_context(|| format!("price {} missing", price.id))?;
    tx.commit().await?;
    Ok(row)
}

/// Creates a tenant on a test clock at [`RUN_DATE`] with the broadband catalog and `n`
/// active subscriptions, all written through the store in big transactions.
pub async fn generate(app: &App, n: usize) -> anyhow::Result<Generated> {
    let tenant = app.create_tenant("Bench", "UTC").await?;
    let p = app.operator(&tenant.tenant_id).await?;
    app.set_test_clock(
        &p,
        SetTestClock {
            now: CLOCK.parse()?,
        },
    )
    .await?;
    app.import_catalog(
        &p,
        parse(crate::demo::BROADBAND_CATALOG, Format::Yaml)?,
        false,
    )
    .await?;
    let products = app
        .list_products(
            &p,
            &ListParams {
                limit: Some(200),
                cursor: None,
            },
        )
        .await?;
    let prices = Prices {
        monthly: price_row(app, &p, &products, "fiber-100").await?,
        annual: price_row(app, &p, &products, "business-fiber-annual").await?,
        addons: [
            price_row(app, &p, &products, "static-ip").await?,
            price_row(app, &p, &products, "router-rental").await?,
        ],
    };
    let accounts = accounts_for(n);
    let tenant_id = p.tenant_id.clone();
    let now = jiff::Timestamp::now().as_microsecond();
    let start = RUN_DATE.to_string();
    let mut subscriptions = 0;
    let mut with_addons = 0;
    let mut with_usage = 0;
    let mut first = 0;
    while first < accounts {
        let last = (first + GEN_BATCH).min(accounts);
        let mut accs = Vec::with_capacity(last - first);
        let mut subs = Vec::new();
        let mut items = Vec::new();
        let mut segs = Vec::new();
        let mut vers = Vec::new();
        for i in first..last {
            let pl = plan(i);
            let id = new_id("acc");
            accs.push(bench_account(
                &tenant_id,
                &id,
                "business",
                format!("Bench customer {i}"),
                format!("BENCH{i:09}"),
                now,
            ));
            let base = if pl.annual {
                &prices.annual
            } else {
                &prices.monthly
            };
            let mut add = |price: &PriceRow, parent: Option<String>, usage: bool| {
                let sid = new_id("sub");
                let iid = new_id("itm");
                subs.push(SubscriptionRow {
                    id: sid.clone(),
                    tenant_id: tenant_id.clone(),
                    account_id: id.clone(),
                    bill_to_id: id.clone(),
                    product_id: price.product_id.clone(),
                    price_id: price.id.clone(),
                    quantity: "1".into(),
                    start_date: start.clone(),
                    status: "active".into(),
                    billed_through: None,
                    created_at_us: now,
                    external_id: None,
                    coterminate: i64::from(parent.is_some()),
                    parent_id: parent,
                    location_id: None,
                    end_date: None,
                    term_code: None,
                    term_start: None,
                    term_end: None,
                    end_of_term: None,
                    operational_status: None,
                    version: 1,
                    reconcile_from: None,
                    updated_at_us: now,
                    progressive_threshold: None,
                    minimum_commitment: None,
                });
                items.push(SubscriptionItemRow {
                    id: iid.clone(),
                    tenant_id: tenant_id.clone(),
                    subscription_id: sid.clone(),
                    // A usage key marks the 10% of services that would carry usage.
                    usage_key: usage.then(|| format!("usage-{sid}")),
                    position: 0,
                    billed_through: None,
                    created_at_us: now,
                    usage_reconcile_from: None,
                });
                segs.push(ItemSegmentRow {
                    tenant_id: tenant_id.clone(),
                    item_id: iid,
                    subscription_id: sid.clone(),
                    start_date: start.clone(),
                    end_date: None,
                    price_id: price.id.clone(),
                    quantity: "1".into(),
                    unit_amount: None,
                    version: 1,
                });
                vers.push(SubscriptionVersionRow {
                    tenant_id: tenant_id.clone(),
                    subscription_id: sid.clone(),
                    version: 1,
                    operation: "activate".into(),
                    effective_date: start.clone(),
                    status: "active".into(),
                    details: "{}".into(),
                    created_at_us: now,
                });
                sid
            };
            let base_id = add(base, None, pl.usage);
            subscriptions += 1;
            if pl.usage {
                with_usage += 1;
            }
            if has_addon(i, accounts, n) {
                let which = pl.addon.unwrap_or(0);
                add(&prices.addons[which], Some(base_id), false);
                subscriptions += 1;
                with_addons += 1;
            }
        }
        let mut tx = app.store().begin().await?;
        tx.bulk_insert_accounts(&accs).await?;
        tx.bulk_insert_subscriptions(&subs).await?;
        tx.bulk_insert_items(&items).await?;
        tx.bulk_insert_segments(&segs).await?;
        tx.bulk_insert_versions(&vers).await?;
        tx.commit().await?;
        first = last;
    }
    Ok(Generated {
        principal: p,
        accounts,
        subscriptions,
        with_addons,
        with_usage,
        prices,
    })
}

fn segment(price: &PriceRow, handle: usize) -> anyhow::Result<Segment> {
    Ok(Segment {
        start: RUN_DATE,
        end: None,
        price: handle,
        unit_amount: price.amount.parse()?,
        quantity: rust_decimal::Decimal::ONE,
        period: BillingPeriod::parse(&price.period).map_err(|e| anyhow::anyhow!("{e}"))?,
        timing: ChargeTiming::parse(&price.timing).context("timing")?,
        alignment: Alignment::Calendar,
    })
}

/// The core alone over the same population: item timelines → `bill_item` → `group_by_date`,
/// no persistence. Returns (invoices, seconds).
/// A generated bill-to account in USD, calendar-aligned on the 1st, terms 30 days.
pub(crate) fn bench_account(
    tenant: &str,
    id: &str,
    kind: &str,
    name: String,
    ban: String,
    now: i64,
) -> AccountRow {
    AccountRow {
        id: id.to_string(),
        tenant_id: tenant.to_string(),
        kind: kind.into(),
        name,
        email: None,
        external_id: None,
        parent_id: None,
        bill_to_id: id.to_string(),
        ban,
        currency: "USD".into(),
        bill_cycle_day: Some(1),
        alignment: "calendar".into(),
        proration: "actual_days".into(),
        payment_terms_days: 30,
        time_zone: "UTC".into(),
        status: "active".into(),
        created_at_us: now,
        updated_at_us: now,
        termination_day: "excluded".into(),
    }
}

pub fn compute_only(g: &Generated) -> anyhow::Result<(usize, f64)> {
    let terms = BillingTerms {
        currency: Currency::parse("USD").map_err(|e| anyhow::anyhow!("{e}"))?,
        alignment: Alignment::Calendar,
        bill_cycle_day: BillCycleDay::new(1).map_err(|e| anyhow::anyhow!("{e}"))?,
        convention: ProrationConvention::ActualDays,
    };
    let segs = [
        segment(&g.prices.monthly, 0)?,
        segment(&g.prices.annual, 1)?,
        segment(&g.prices.addons[0], 2)?,
        segment(&g.prices.addons[1], 3)?,
    ];
    let started = Instant::now();
    let mut invoices = 0;
    for i in 0..g.accounts {
        let pl = plan(i);
        let mut timelines = vec![ItemTimeline {
            key: 0,
            currency: terms.currency,
            anchor: RUN_DATE,
            segments: vec![segs[usize::from(pl.annual)].clone()],
            billed_through: None,
            reconcile_from: None,
        }];
        if has_addon(i, g.accounts, g.subscriptions) {
            timelines.push(ItemTimeline {
                key: 1,
                currency: terms.currency,
                anchor: RUN_DATE,
                segments: vec![segs[2 + pl.addon.unwrap_or(0)].clone()],
                billed_through: None,
                reconcile_from: None,
            });
        }
        let mut proposals = Vec::new();
        for t in &timelines {
            let out = bill_item(&terms, t, &[], RUN_DATE).map_err(|e| anyhow::anyhow!("{e}"))?;
            proposals.extend(out.proposals);
        }
        invoices += group_by_date(terms.currency, proposals)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .len();
    }
    Ok((invoices, started.elapsed().as_secs_f64()))
}

/// Peak resident set size of this process (VmHWM), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    status_mib("VmHWM:")
}

/// Current resident set size of this process (VmRSS), in MiB.
pub fn rss_mib() -> Option<f64> {
    status_mib("VmRSS:")
}

/// A `kB` field of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub async fn invoice_run(
    app: &App,
    n: usize,
    chunk: Option<i64>,
    generate_only: bool,
) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let g = generate(app, n).await?;
    let gen_secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "generated {} subscriptions on {} accounts in {gen_secs:.1}s (tenant {})",
        g.subscriptions, g.accounts, g.principal.tenant_id
    );
    if generate_only {
        println!("{}", g.principal.tenant_id);
        return Ok(());
    }
    let (compute_invoices, compute_secs) = compute_only(&g)?;
    let t1 = Instant::now();
    let run = app
        .create_invoice_run(
            &g.principal,
            StartInvoiceRun {
                as_of: Some(RUN_DATE),
                chain: None,
            },
        )
        .await?;
    let done = app
        .execute_invoice_run(
            &g.principal.tenant_id,
            &run.id,
            RunOptions {
                chunk,
                ..RunOptions::default()
            },
        )
        .await?;
    let secs = t1.elapsed().as_secs_f64();
    let created = done.counts.invoices_created;
    println!("backend:                {}", app.store().backend().name());
    println!("subscriptions:          {}", g.subscriptions);
    println!("  with add-on (accts):  {}", g.with_addons);
    println!(
        "  usage-marked:         {} (a usage key only: no usage price, so no usage lines)",
        g.with_usage
    );
    println!("accounts:               {}", g.accounts);
    println!(
        "invoices created:       {created} (finalized {})",
        done.counts.invoices_finalized
    );
    println!("errors:                 {}", done.counts.errors);
    println!("generation time:        {gen_secs:.2} s");
    println!("run wall time:          {secs:.2} s");
    println!(
        "invoices/s:             {:.0}",
        created as f64 / secs.max(1e-9)
    );
    println!(
        "compute only:           {compute_invoices} invoices in {compute_secs:.3} s = {:.0} invoices/s",
        compute_invoices as f64 / compute_secs.max(1e-9)
    );
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS (VmHWM):       {rss:.1} MiB");
    }
    println!("run:                    {} ({:?})", done.id, done.status);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_hits_the_subscription_count() {
        for n in [1, 2, 3, 10, 101, 1000] {
            let a = accounts_for(n);
            let subs: usize = (0..a).map(|i| 1 + usize::from(has_addon(i, a, n))).sum();
            assert_eq!(subs, n, "n={n}");
        }
    }
}
