//! `quoin bench ingest`: usage ingestion throughput, each figure next to a raw baseline
//! measured in the same run — the same rows written by a plain batched `INSERT` (no dedup,
//! matching or rollups) into the same table of the same database at the same durability,
//! with the same rows per commit — and the ratio.
//!
//! Paths: the in-process batch path (`App::ingest_usage_batches`, `group` batches per
//! commit) and HTTP `POST /v1/events` on loopback (a server started in this process,
//! `clients` keep-alive connections each sending `http_batch`-event JSON bodies that were
//! serialised before the clock starts; the group-commit writer merges concurrent requests).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use quoin_app::usage::UsageEvent;
use quoin_app::{App, Principal};
use quoin_store::repo::NewUsageEvent;
use quoin_store::rows::{ItemSegmentRow, SubscriptionItemRow};
use rust_decimal::Decimal;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// What `quoin bench ingest` runs.
pub struct BenchOptions {
    pub events: usize,
    pub batch: usize,
    pub group: usize,
    pub http_events: usize,
    pub http_batch: usize,
    pub clients: usize,
    /// Events written by the in-process raw baseline (default: as many as measured).
    pub baseline_events: Option<usize>,
    /// Print RSS each time this many more events are stored (0: never).
    pub rss_every: usize,
    /// Create the tenant, print `tenant key`, measure nothing.
    pub setup_only: bool,
}

/// Sets up a tenant with a sum metric priced on one subscription item (`bench-item`).
async fn bench_tenant(app: &App) -> anyhow::Result<(Principal, String)> {
    let t = app.create_tenant("bench", "UTC").await?;
    let p = app.operator(&t.tenant_id).await?;
    let doc = serde_json::from_value(json!({
        "metrics": [{"code": "calls", "name": "Calls", "aggregation": "sum", "field": "quantity"}],
        "products": [{"code": "plan", "name": "Plan", "status": "active", "prices": [
            {"currency": "USD", "amount": "10", "period": "month"},
            {"type": "usage", "code": "plan-calls", "currency": "USD", "metric": "calls", "period": "month", "amount": "0.01"}]}]
    }))?;
    app.import_catalog(&p, doc, false).await?;
    let product = app
        .list_products(&p, &Default::default())
        .await?
        .data
        .remove(0);
    let recurring = product
        .prices
        .iter()
        .find(|x| x.metric.is_none())
        .context("price")?;
    let usage = product
        .prices
        .iter()
        .find(|x| x.metric.is_some())
        .context("usage price")?;
    let account = app
        .create_account(
            &p,
            serde_json::from_value(
                json!({"kind": "business", "name": "Bench", "billing": {"currency": "USD"}}),
            )?,
        )
        .await?;
    let sub = app
        .create_subscription(&p, serde_json::from_value(json!({"account_id": account.id, "price_id": recurring.id, "start_date": "2024-01-01"}))?)
        .await?;
    let mut tx = app.store().begin().await?;
    tx.insert_subscription_item(&SubscriptionItemRow {
        id: "itm_bench".into(),
        tenant_id: p.tenant_id.clone(),
        subscription_id: sub.id.clone(),
        usage_key: Some("bench-item".into()),
        position: 1,
        billed_through: None,
        created_at_us: 0,
        usage_reconcile_from: None,
    })
    .await?;
    tx.insert_item_segment(&ItemSegmentRow {
        tenant_id: p.tenant_id.clone(),
        item_id: "itm_bench".into(),
        subscription_id: sub.id,
        start_date: "2024-01-01".into(),
        end_date: None,
        price_id: usage.id.clone(),
        quantity: "1".into(),
        unit_amount: None,
        version: 1,
    })
    .await?;
    tx.commit().await?;
    Ok((p, t.admin_key.key))
}

const START_US: i64 = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z

/// Event `i` on the bench item: one per millisecond from 2024-01-01, id `{prefix}-{i}`.
fn event(prefix: &str, i: usize) -> UsageEvent {
    UsageEvent {
        id: format!("{prefix}-{i:010}"),
        subscription: None,
        item_key: Some("bench-item".into()),
        metric: "calls".into(),
        timestamp: jiff::Timestamp::from_microsecond(START_US + (i as i64) * 1_000)
            .unwrap_or_default(),
        quantity: Some(Decimal::from(1 + (i % 7) as i64)),
        properties: Vec::new(),
    }
}

/// Events `range` of the run, generated on demand so that only one transaction's worth is
/// ever in memory.
fn events(prefix: &str, range: std::ops::Range<usize>) -> Vec<UsageEvent> {
    range.map(|i| event(prefix, i)).collect()
}

fn progress(n: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(n as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} events {{per_sec}} eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Prints the memory figures when the count of stored events crosses a multiple of
/// `every`, so a long run shows whether memory grows with the events.
pub(crate) struct RssProbe {
    every: usize,
    next: usize,
}

impl RssProbe {
    pub(crate) fn new(every: usize) -> Self {
        Self { every, next: every }
    }

    /// `done` events stored in `took` (the timed writes only).
    pub(crate) fn observe(&mut self, bar: &ProgressBar, done: usize, took: Duration) {
        if self.every == 0 || done < self.next {
            return;
        }
        while self.next <= done {
            self.next += self.every;
        }
        let secs = took.as_secs_f64();
        // `suspend`, not `ProgressBar::println`: the latter prints nothing when the bar is
        // hidden (output not a terminal), which is how long runs are logged.
        bar.suspend(|| {
            println!(
                "  after {done:>11} events: RSS {} | peak RSS (VmHWM) {} | {:.0} events/s so far",
                mib(crate::bench::rss_mib()),
                mib(crate::bench::peak_rss_mib()),
                done as f64 / secs.max(1e-9)
            )
        });
    }
}

fn mib(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.1} MiB"))
        .unwrap_or_else(|| "n/a".into())
}

/// The raw baseline: events `0..n` of `prefix` as plain multi-row INSERTs of `batch` rows,
/// `per_commit` rows per transaction, under another tenant id (same table, indexes and
/// durability). Generation runs outside the timed writes.
async fn raw_baseline(
    app: &App,
    tenant: &str,
    prefix: &str,
    n: usize,
    batch: usize,
    per_commit: usize,
) -> anyhow::Result<Duration> {
    let baseline_tenant = format!("{tenant}-baseline");
    let bar = progress(n, "raw baseline");
    let mut took = Duration::ZERO;
    let mut next = 0;
    while next < n {
        let end = (next + per_commit.max(1)).min(n);
        let all = events(prefix, next..end);
        let quantities: Vec<String> = all
            .iter()
            .map(|e| e.quantity.unwrap_or_default().to_string())
            .collect();
        let rows: Vec<NewUsageEvent<'_>> = all
            .iter()
            .zip(&quantities)
            .map(|(e, q)| NewUsageEvent {
                event_id: &e.id,
                item_id: Some("itm_bench"),
                metric_code: &e.metric,
                ts_us: e.timestamp.as_microsecond(),
                quantity: Some(q),
                properties: None,
            })
            .collect();
        let t0 = Instant::now();
        let mut tx = app.store().begin().await?;
        for b in rows.chunks(batch.max(1)) {
            tx.insert_usage_events_plain(&baseline_tenant, 1, b).await?;
        }
        tx.commit().await?;
        took += t0.elapsed();
        bar.inc((end - next) as u64);
        next = end;
    }
    bar.finish_and_clear();
    Ok(took)
}

/// Prints a figure next to its baseline; ratio = measured rate / baseline rate (rates, not
/// times, since the baseline may write fewer rows: `--baseline-events`).
fn report(label: &str, n: usize, measured: Duration, raw_n: usize, raw: Duration) {
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "{label:<34} {:>10.0} events/s ({n} in {:.3} s) | raw baseline {:>10.0} events/s ({raw_n} in {:.3} s) | ratio {:.2}",
        rate(n, measured),
        measured.as_secs_f64(),
        rate(raw_n, raw),
        raw.as_secs_f64(),
        rate(n, measured) / rate(raw_n, raw).max(1e-9)
    );
}

/// Runs the ingest benchmark and prints the figures.
pub async fn bench(app: &App, o: BenchOptions) -> anyhow::Result<()> {
    let (p, key) = bench_tenant(app).await?;
    if o.setup_only {
        println!("{} {key}", p.tenant_id);
        return Ok(());
    }
    let run = uuid::Uuid::now_v7().simple().to_string();
    let baseline_events = o.baseline_events.unwrap_or(o.events).min(o.events);
    println!(
        "backend {} | in-process: {} events, batch {}, {} batches per commit, raw baseline {} events | HTTP: {} events, batch {}, {} clients | RSS every {} events",
        app.store().backend().name(),
        o.events,
        o.batch,
        o.group,
        baseline_events,
        o.http_events,
        o.http_batch,
        o.clients,
        o.rss_every
    );

    if o.events > 0 {
        let prefix = format!("{run}-p");
        let per_commit = o.batch * o.group;
        let bar = progress(o.events, "in-process");
        let mut probe = RssProbe::new(o.rss_every);
        let mut measured = Duration::ZERO;
        let mut accepted = 0;
        let mut next = 0;
        while next < o.events {
            let end = (next + per_commit).min(o.events);
            let group = events(&prefix, next..end);
            let batches: Vec<&[UsageEvent]> = group.chunks(o.batch).collect();
            let t0 = Instant::now();
            for r in app.ingest_usage_batches(&p, &batches).await? {
                accepted += r.accepted;
            }
            measured += t0.elapsed();
            bar.inc((end - next) as u64);
            next = end;
            probe.observe(&bar, next, measured);
        }
        bar.finish_and_clear();
        if accepted != o.events {
            bail!("accepted {accepted} of {}", o.events);
        }
        println!(
            "peak RSS (VmHWM) after the in-process run: {}",
            mib(crate::bench::peak_rss_mib())
        );
        let raw = raw_baseline(
            app,
            &p.tenant_id,
            &prefix,
            baseline_events,
            o.batch,
            per_commit,
        )
        .await?;
        report(
            "in-process exactly-once",
            o.events,
            measured,
            baseline_events,
            raw,
        );
    }

    if o.http_events > 0 {
        let prefix = format!("{run}-h");
        let all = events(&prefix, 0..o.http_events);
        let measured = http_run(app, &key, &all, o.http_batch, o.clients).await?;
        drop(all);
        let raw = raw_baseline(
            app,
            &format!("{}-h", p.tenant_id),
            &prefix,
            o.http_events,
            o.http_batch,
            o.batch * o.group,
        )
        .await?;
        report(
            "HTTP POST /v1/events exactly-once",
            o.http_events,
            measured,
            o.http_events,
            raw,
        );
    }
    println!("peak RSS (VmHWM): {}", mib(crate::bench::peak_rss_mib()));
    Ok(())
}

fn body_of(events: &[UsageEvent]) -> String {
    let list: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "item_key": e.item_key,
                "metric": e.metric,
                "timestamp": e.timestamp.to_string(),
                "quantity": e.quantity.map(|q| q.to_string()),
            })
        })
        .collect();
    json!({ "events": list }).to_string()
}

/// Serves the app on a loopback port and posts `all` in `batch`-event bodies over
/// `clients` keep-alive connections; returns the wall time of the sending.
async fn http_run(
    app: &App,
    key: &str,
    all: &[UsageEvent],
    batch: usize,
    clients: usize,
) -> anyhow::Result<Duration> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(quoin_server::serve(app.clone(), listener));
    let bodies: Vec<String> = all.chunks(batch.max(1)).map(body_of).collect();
    let clients = clients.max(1);
    let mut shares: Vec<Vec<String>> = (0..clients).map(|_| Vec::new()).collect();
    for (i, b) in bodies.into_iter().enumerate() {
        shares[i % clients].push(b);
    }
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for share in shares {
        let key = key.to_string();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut accepted = 0;
            for body in share {
                accepted += conn.post_events(&key, &body).await?;
            }
            anyhow::Ok(accepted)
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await??;
    }
    let took = t0.elapsed();
    server.abort();
    if accepted != all.len() {
        bail!("HTTP accepted {accepted} of {}", all.len());
    }
    Ok(took)
}

/// A minimal HTTP/1.1 keep-alive client for loopback benchmarking (no client crate).
pub(crate) struct Conn {
    stream: BufReader<TcpStream>,
    addr: std::net::SocketAddr,
}

impl Conn {
    pub(crate) async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
            addr,
        })
    }

    /// Posts one JSON batch; returns the `accepted` count of a 200 answer.
    async fn post_events(&mut self, key: &str, body: &str) -> anyhow::Result<usize> {
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).await?;
        s.write_all(body.as_bytes()).await?;
        let answer = self.answer("POST /v1/events").await?;
        let v: serde_json::Value = serde_json::from_str(&answer)?;
        v["accepted"]
            .as_u64()
            .map(|n| n as usize)
            .context("answer without accepted")
    }

    /// GETs `path`; returns the body of a 200 answer.
    pub(crate) async fn get(&mut self, key: &str, path: &str) -> anyhow::Result<String> {
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\n\r\n",
            self.addr
        );
        self.stream.get_mut().write_all(head.as_bytes()).await?;
        self.answer(&format!("GET {path}")).await
    }

    /// Reads one answer (status line, headers, `Content-Length` body); fails unless 200.
    async fn answer(&mut self, request: &str) -> anyhow::Result<String> {
        let mut status = String::new();
        self.stream.read_line(&mut status).await?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().context("content-length")?;
                }
            }
        }
        let mut answer = vec![0u8; length];
        self.stream.read_exact(&mut answer).await?;
        let answer = String::from_utf8(answer).context("answer is not UTF-8")?;
        if !status.contains(" 200 ") {
            bail!("{request}: {} {answer}", status.trim());
        }
        Ok(answer)
    }
}
