//! `quoin bench usage-query`: the current-usage query (`GET /v1/subscriptions/{id}/usage`,
//! `App::subscription_usage`) with a large number of events stored.
//!
//! Population: S monthly subscriptions (one account each), each with a recurring item and
//! three usage items — `calls` (sum, per unit), `data_mb` (sum, graduated) and `sms`
//! (count) — reached by item key. Events spread over 2025-01-01 to the tenant's test
//! clock (see [`Stream`]) and are stored through the in-process exactly-once path, one
//! transaction at a time; only one transaction's events are in memory, so memory does not
//! grow with N. Then random subscriptions are queried, in process and over HTTP on
//! loopback, each query timed alone.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::civil::{date, Date};
use jiff::Timestamp;
use quoin_app::model::{CreateApiKey, ListParams, SetTestClock};
use quoin_app::usage::{usage_by_scan, UsageEvent};
use quoin_app::{App, Principal, Role};
use quoin_store::new_id;
use quoin_store::rows::{
    ItemSegmentRow, SubscriptionItemRow, SubscriptionRow, SubscriptionVersionRow,
};
use rust_decimal::Decimal;
use serde_json::json;

use crate::bench::{mix, peak_rss_mib};
use crate::ingest_bench::{Conn, RssProbe};

/// What `quoin bench usage-query` runs.
pub struct UsageQueryOptions {
    pub events: usize,
    pub subscriptions: usize,
    pub batch: usize,
    pub group: usize,
    pub queries: usize,
    pub http_queries: usize,
    pub order: Order,
    /// Query a tenant populated by an earlier run (same data dir) instead of storing anew.
    pub reuse_tenant: Option<String>,
}

/// Subscriptions start here; events run from here to the clock.
const SERVICE_START: Date = date(2025, 1, 1);
const EVENTS_FROM_US: i64 = 1_735_689_600_000_000; // 2025-01-01T00:00:00Z
/// The tenant's test clock: the current period is April 2025 (30 of its days have usage).
const CLOCK: &str = "2025-04-30T12:00:00Z";
/// Subscriptions per generation transaction.
const GEN_BATCH: usize = 2_000;

/// The metrics, in the order of the usage items of each subscription.
const METRICS: [&str; 3] = ["calls", "data_mb", "sms"];

fn item_key(sub: usize, metric: usize) -> String {
    format!("q{sub}-{}", METRICS[metric])
}

struct Population {
    principal: Principal,
    admin_key: String,
    subscription_ids: Vec<String>,
}

async fn tenant(app: &App) -> anyhow::Result<(Principal, String)> {
    let t = app.create_tenant("usage-query bench", "UTC").await?;
    let p = app.operator(&t.tenant_id).await?;
    app.set_test_clock(
        &p,
        SetTestClock {
            now: CLOCK.parse()?,
        },
    )
    .await?;
    let doc = serde_json::from_value(json!({
        "metrics": [
            {"code": "calls", "name": "Call seconds", "aggregation": "sum", "field": "quantity"},
            {"code": "data_mb", "name": "Data (MB)", "aggregation": "sum", "field": "quantity"},
            {"code": "sms", "name": "SMS", "aggregation": "count"}
        ],
        "products": [{"code": "mobile", "name": "Mobile plan", "status": "active", "prices": [
            {"currency": "USD", "amount": "20", "period": "month"},
            {"type": "usage", "code": "mobile-calls", "currency": "USD", "metric": "calls",
             "period": "month", "amount": "0.001"},
            {"type": "usage", "code": "mobile-data", "currency": "USD", "metric": "data_mb",
             "period": "month", "model": {"type": "graduated", "tiers": [
                {"from": "0", "to": "10000", "unit_amount": "0"},
                {"from": "10000", "unit_amount": "0.002"}]}},
            {"type": "usage", "code": "mobile-sms", "currency": "USD", "metric": "sms",
             "period": "month", "amount": "0.05"}]}]
    }))?;
    app.import_catalog(&p, doc, false).await?;
    Ok((p, t.admin_key.key))
}

/// Creates the tenant, catalog and `n` subscriptions straight through the store.
async fn populate(app: &App, n: usize) -> anyhow::Result<Population> {
    let (p, admin_key) = tenant(app).await?;
    let product = app
        .list_products(&p, &Default::default())
        .await?
        .data
        .into_iter()
        .find(|x| x.code == "mobile")
        .context("product mobile")?;
    let recurring = product
        .prices
        .iter()
        .find(|x| x.metric.is_none())
        .context("recurring price")?
        .id
        .clone();
    let mut usage_prices = Vec::new();
    for m in METRICS {
        let price = product
            .prices
            .iter()
            .find(|x| x.metric.as_deref() == Some(m))
            .with_context(|| format!("usage price of {m}"))?;
        usage_prices.push(price.id.clone());
    }
    let tenant_id = p.tenant_id.clone();
    let now = Timestamp::now().as_microsecond();
    let start = SERVICE_START.to_string();
    let mut subscription_ids = Vec::with_capacity(n);
    let mut first = 0;
    while first < n {
        let last = (first + GEN_BATCH).min(n);
        let (mut accs, mut subs, mut items, mut segs, mut vers) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in first..last {
            let acc = new_id("acc");
            let sid = new_id("sub");
            accs.push(crate::bench::bench_account(
                &tenant_id,
                &acc,
                "consumer",
                format!("Usage customer {i}"),
                format!("UQ{i:09}"),
                now,
            ));
            subs.push(SubscriptionRow {
                id: sid.clone(),
                tenant_id: tenant_id.clone(),
                account_id: acc.clone(),
                bill_to_id: acc,
                product_id: product.id.clone(),
                price_id: recurring.clone(),
                quantity: "1".into(),
                start_date: start.clone(),
                status: "active".into(),
                billed_through: None,
                created_at_us: now,
                external_id: None,
                coterminate: 0,
                parent_id: None,
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
            // The recurring item first, then one usage item per metric.
            let priced = std::iter::once((None, &recurring))
                .chain((0..METRICS.len()).map(|m| (Some(m), &usage_prices[m])));
            for (position, (metric, price)) in priced.enumerate() {
                let iid = new_id("itm");
                items.push(SubscriptionItemRow {
                    id: iid.clone(),
                    tenant_id: tenant_id.clone(),
                    subscription_id: sid.clone(),
                    usage_key: metric.map(|m| item_key(i, m)),
                    position: position as i64,
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
                    price_id: price.clone(),
                    quantity: "1".into(),
                    unit_amount: None,
                    version: 1,
                });
            }
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
            subscription_ids.push(sid);
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
    Ok(Population {
        principal: p,
        admin_key,
        subscription_ids,
    })
}

/// A tenant populated by an earlier run: its subscriptions and a new admin key for HTTP.
async fn existing(app: &App, tenant: &str) -> anyhow::Result<Population> {
    let principal = app.operator(tenant).await?;
    let admin_key = app
        .create_api_key(
            &principal,
            CreateApiKey {
                name: "usage-query bench".into(),
                role: Role::Admin,
            },
        )
        .await?
        .key;
    let mut subscription_ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .list_subscriptions(
                &principal,
                None,
                &ListParams {
                    limit: Some(200),
                    cursor,
                },
            )
            .await?;
        subscription_ids.extend(page.data.into_iter().map(|s| s.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(Population {
        principal,
        admin_key,
        subscription_ids,
    })
}

/// The order events are stored in. The stored events (and so the queried rollups) are the
/// same either way; only the ingest rate differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Order {
    /// Subscription after subscription, each one's events in time order: each transaction
    /// touches few items, the fastest way to store N events.
    Subscription,
    /// All subscriptions interleaved in time order, as a live feed arrives: each
    /// transaction touches nearly every item.
    Time,
}

/// The synthetic event stream: `n` events over `s` subscriptions with skewed volumes
/// (subscription `k` gets a share proportional to a weight 1..=100), stamped evenly
/// over [`EVENTS_FROM_US`, clock) within each subscription, metric and quantity
/// pseudo-random. Ids follow the storing order (as UUIDv7 or sequence-numbered producers
/// send them). Memory: one offset per subscription.
struct Stream {
    run: String,
    n: usize,
    span_us: i64,
    order: Order,
    /// `starts[k]..starts[k + 1]`: subscription `k`'s events, in subscription order.
    starts: Vec<usize>,
}

impl Stream {
    fn new(run: String, n: usize, subscriptions: usize, span_us: i64, order: Order) -> Self {
        let weights: Vec<u64> = (0..subscriptions)
            .map(|k| 1 + mix(0x5EED_0000 + k as u64) % 100)
            .collect();
        let total: u64 = weights.iter().sum();
        let mut starts = Vec::with_capacity(subscriptions + 1);
        let mut at = 0usize;
        starts.push(0);
        for (k, w) in weights.iter().enumerate() {
            let share = (n as u128 * u128::from(*w) / u128::from(total)) as usize;
            // The rounding remainder goes to the last subscription.
            at = if k + 1 == subscriptions {
                n
            } else {
                at + share
            };
            starts.push(at);
        }
        Self {
            run,
            n,
            span_us,
            order,
            starts,
        }
    }

    /// The `i`-th event stored.
    fn event(&self, i: usize) -> UsageEvent {
        let h = mix(i as u64);
        let subscriptions = self.starts.len() - 1;
        let (sub, offset) = match self.order {
            Order::Subscription => {
                let sub = self.starts.partition_point(|&s| s <= i) - 1;
                let (first, count) = (self.starts[sub], self.starts[sub + 1] - self.starts[sub]);
                let slot = self.span_us / count.max(1) as i64;
                let j = (i - first) as i64;
                (sub, j * slot + (h >> 8) as i64 % slot.max(1))
            }
            Order::Time => {
                let offset = (i128::from(self.span_us) * i as i128 / self.n.max(1) as i128) as i64;
                ((h % subscriptions as u64) as usize, offset)
            }
        };
        let metric = ((h >> 32) % METRICS.len() as u64) as usize;
        let quantity = match metric {
            0 => Some(Decimal::from(1 + (h >> 40) % 600)), // call seconds
            1 => Some(Decimal::new(1 + ((h >> 40) % 50_000) as i64, 2)), // MB, 2 decimals
            _ => None,                                     // an SMS is counted
        };
        UsageEvent {
            id: format!("{}-{i:011}", self.run),
            subscription: None,
            item_key: Some(item_key(sub, metric)),
            metric: METRICS[metric].into(),
            timestamp: Timestamp::from_microsecond(EVENTS_FROM_US + offset).unwrap_or_default(),
            quantity,
            properties: Vec::new(),
        }
    }
}

/// Latency figures of one series of timed calls.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn print(mut self, label: &str) {
        self.0.sort_unstable();
        let n = self.0.len();
        if n == 0 {
            return;
        }
        let at = |q: f64| self.0[((n as f64 * q).ceil() as usize).clamp(1, n) - 1];
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mean = self.0.iter().sum::<Duration>().as_secs_f64() * 1e3 / n as f64;
        println!(
            "{label:<28} count {n} | mean {mean:.3} ms | p50 {:.3} ms | p90 {:.3} ms | p99 {:.3} ms | max {:.3} ms",
            ms(at(0.50)),
            ms(at(0.90)),
            ms(at(0.99)),
            ms(self.0[n - 1]),
        );
    }
}

/// Timed calls, each with the time this process's threads spent runnable but waiting
/// for a CPU meanwhile (the machine is shared: this separates the query's own cost from
/// time-slicing with other work).
#[derive(Default)]
struct Samples {
    wall: Vec<Duration>,
    waited: Vec<Duration>,
}

impl Samples {
    fn start(&self) -> (Instant, u64) {
        (Instant::now(), runqueue_wait_ns().unwrap_or(0))
    }

    fn stop(&mut self, (t, w): (Instant, u64)) {
        let wall = t.elapsed();
        let waited = runqueue_wait_ns().unwrap_or(0).saturating_sub(w);
        self.wall.push(wall);
        self.waited.push(Duration::from_nanos(waited));
    }

    fn print(self, label: &str) {
        let own: Vec<Duration> = self
            .wall
            .iter()
            .zip(&self.waited)
            .map(|(w, q)| w.saturating_sub(*q))
            .collect();
        Latencies(self.wall).print(label);
        Latencies(self.waited).print("  of it waiting for a CPU");
        Latencies(own).print("  wall minus that wait");
    }
}

/// Nanoseconds the threads of this process have spent runnable but not running, summed
/// over threads (`/proc/self/task/*/schedstat`, second field); `None` where unavailable.
fn runqueue_wait_ns() -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(task) = task else { continue };
        // A thread may exit between the listing and the read.
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        total += stat.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// The subscription the `q`-th query asks about (a different stream from the events').
fn pick(q: usize, subscriptions: usize) -> usize {
    (mix(0xABCD_0000_0000 + q as u64) % subscriptions as u64) as usize
}

/// Runs the benchmark and prints parameters and figures.
pub async fn bench(app: &App, o: UsageQueryOptions) -> anyhow::Result<()> {
    if o.subscriptions == 0 {
        bail!("--subscriptions must be at least 1");
    }
    let clock: Timestamp = CLOCK.parse()?;
    let span_us = clock.as_microsecond() - EVENTS_FROM_US;
    println!(
        "backend {} | {} events over {} subscriptions x {} usage items ({}), from {} to {CLOCK}, stored in {:?} order | batch {}, {} batches per commit | {} in-process queries, {} HTTP queries",
        app.store().backend().name(),
        o.events,
        o.subscriptions,
        METRICS.len(),
        METRICS.join(", "),
        Timestamp::from_microsecond(EVENTS_FROM_US)?,
        o.order,
        o.batch,
        o.group,
        o.queries,
        o.http_queries,
    );
    let pop = match &o.reuse_tenant {
        Some(tenant) => {
            let pop = existing(app, tenant).await?;
            println!(
                "reusing tenant {tenant}: {} subscriptions (nothing stored in this run)",
                pop.subscription_ids.len()
            );
            pop
        }
        None => store_all(app, &o, span_us).await?,
    };
    let subscriptions = pop.subscription_ids.len();
    if subscriptions == 0 {
        bail!("no subscriptions to query");
    }
    check_against_scan(app, &pop).await?;

    let mut lat = Samples::default();
    let mut items = 0;
    for q in 0..o.queries {
        let id = &pop.subscription_ids[pick(q, subscriptions)];
        let start = lat.start();
        let usage = app.subscription_usage(&pop.principal, id, None).await?;
        lat.stop(start);
        items += usage.items.len();
    }
    if items != o.queries * METRICS.len() {
        bail!(
            "expected {} usage items per answer, got {items} in {} answers",
            METRICS.len(),
            o.queries
        );
    }
    lat.print("in-process subscription_usage");

    if o.http_queries > 0 {
        let lat = http_queries(app, &pop, o.http_queries, subscriptions).await?;
        lat.print("HTTP GET …/usage (loopback)");
    }
    println!("peak RSS (VmHWM): {}", rss_text());
    Ok(())
}

/// Creates the population and stores the events, printing the ingest figures.
async fn store_all(app: &App, o: &UsageQueryOptions, span_us: i64) -> anyhow::Result<Population> {
    let t0 = Instant::now();
    let pop = populate(app, o.subscriptions).await?;
    println!(
        "population: {} subscriptions in {:.1} s (tenant {})",
        o.subscriptions,
        t0.elapsed().as_secs_f64(),
        pop.principal.tenant_id
    );

    let run = uuid::Uuid::now_v7().simple().to_string();
    let stream = Stream::new(
        run[..12].to_string(),
        o.events,
        o.subscriptions,
        span_us,
        o.order,
    );
    let bar = ProgressBar::new(o.events as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let per_commit = o.batch * o.group;
    let t1 = Instant::now();
    let mut probe = RssProbe::new(10_000_000);
    let (mut accepted, mut suspended) = (0, 0);
    let mut next = 0;
    while next < o.events {
        let end = (next + per_commit).min(o.events);
        let events: Vec<UsageEvent> = (next..end).map(|i| stream.event(i)).collect();
        let batches: Vec<&[UsageEvent]> = events.chunks(o.batch).collect();
        for r in app.ingest_usage_batches(&pop.principal, &batches).await? {
            accepted += r.accepted;
            suspended += r.suspended;
        }
        bar.inc((end - next) as u64);
        next = end;
        probe.observe(&bar, next, t1.elapsed());
    }
    bar.finish_and_clear();
    let ingest = t1.elapsed();
    if accepted != o.events || suspended != 0 {
        bail!(
            "accepted {accepted} of {} ({suspended} in suspense)",
            o.events
        );
    }
    println!(
        "ingested {} events in {:.1} s = {:.0} events/s (exactly-once, rollups; peak RSS so far {})",
        o.events,
        ingest.as_secs_f64(),
        o.events as f64 / ingest.as_secs_f64().max(1e-9),
        rss_text()
    );

    Ok(pop)
}

fn rss_text() -> String {
    peak_rss_mib()
        .map(|m| format!("{m:.1} MiB"))
        .unwrap_or_else(|| "n/a".into())
}

/// One subscription's answer must equal the core's full scan of its stored events, so the
/// timed answers are real figures (not empty rollups).
async fn check_against_scan(app: &App, pop: &Population) -> anyhow::Result<()> {
    let id = &pop.subscription_ids[pick(0, pop.subscription_ids.len())];
    let usage = app.subscription_usage(&pop.principal, id, None).await?;
    let mut tx = app.store().read().await?;
    let mut described = Vec::new();
    for item in &usage.items {
        let scan = usage_by_scan(
            &mut tx,
            &pop.principal.tenant_id,
            &item.item_id,
            &item.metric,
            item.period_start,
            item.period_end,
        )
        .await?;
        let scanned: Decimal = scan
            .iter()
            .map(|g| g.quantity.parse::<Decimal>())
            .sum::<Result<Decimal, _>>()?;
        let answered: Decimal = item.quantity.parse()?;
        if scanned != answered {
            bail!(
                "{} {}: rollups say {answered}, a scan of the events says {scanned}",
                item.item_id,
                item.metric
            );
        }
        described.push(format!(
            "{} {} ({} USD)",
            item.metric, answered, item.amount
        ));
    }
    tx.commit().await?;
    println!(
        "check: subscription {id}, period {}: {} — equal to a full scan of its events",
        usage
            .items
            .first()
            .map(|i| format!("{}..{}", i.period_start, i.period_end))
            .unwrap_or_default(),
        described.join(", ")
    );
    Ok(())
}

/// Sequential GETs over one keep-alive loopback connection, each timed from the request's
/// first byte to the answer's last.
async fn http_queries(
    app: &App,
    pop: &Population,
    n: usize,
    subscriptions: usize,
) -> anyhow::Result<Samples> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(quoin_server::serve(app.clone(), listener));
    let mut conn = Conn::open(addr).await?;
    let mut lat = Samples::default();
    for q in 0..n {
        let id = &pop.subscription_ids[pick(q, subscriptions)];
        let path = format!("/v1/subscriptions/{id}/usage");
        let start = lat.start();
        let body = conn.get(&pop.admin_key, &path).await?;
        lat.stop(start);
        let answer: serde_json::Value = serde_json::from_str(&body)?;
        if answer["items"].as_array().map(Vec::len) != Some(METRICS.len()) {
            bail!("GET {path}: unexpected answer {body}");
        }
    }
    server.abort();
    Ok(lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: i64 = 10_000_000_000;

    #[test]
    fn subscription_order_gives_each_subscription_a_contiguous_time_ordered_run() {
        let s = Stream::new("r".into(), 10_000, 7, SPAN, Order::Subscription);
        assert_eq!(s.starts.first(), Some(&0));
        assert_eq!(s.starts.last(), Some(&10_000));
        let mut seen = std::collections::BTreeSet::new();
        let mut last: Option<(String, Timestamp)> = None;
        for i in 0..10_000 {
            let e = s.event(i);
            assert_eq!(e.id, format!("r-{i:011}"));
            let us = e.timestamp.as_microsecond();
            assert!(
                (EVENTS_FROM_US..EVENTS_FROM_US + SPAN).contains(&us),
                "{us}"
            );
            let key = e.item_key.unwrap_or_default();
            let sub = key.split('-').next().unwrap_or_default().to_string();
            if let Some((prev_sub, prev_ts)) = &last {
                if *prev_sub == sub {
                    assert!(e.timestamp > *prev_ts, "event {i} goes back in time");
                } else {
                    assert!(seen.insert(prev_sub.clone()), "{prev_sub} comes back");
                }
            }
            last = Some((sub, e.timestamp));
        }
        assert_eq!(seen.len(), 6);
    }

    #[test]
    fn time_order_is_time_ordered_across_subscriptions() {
        let s = Stream::new("r".into(), 1_000, 50, SPAN, Order::Time);
        let ts: Vec<i64> = (0..1_000)
            .map(|i| s.event(i).timestamp.as_microsecond())
            .collect();
        assert!(ts.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ts[0], EVENTS_FROM_US);
    }
}
