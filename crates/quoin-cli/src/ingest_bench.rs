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

/// `n` events on the bench item, one per millisecond from 2024-01-01, ids `{prefix}-{i}`.
fn events(prefix: &str, n: usize) -> Vec<UsageEvent> {
    (0..n)
        .map(|i| UsageEvent {
            id: format!("{prefix}-{i:010}"),
            subscription: None,
            item_key: Some("bench-item".into()),
            metric: "calls".into(),
            timestamp: jiff::Timestamp::from_microsecond(START_US + (i as i64) * 1_000)
                .unwrap_or_default(),
            quantity: Some(Decimal::from(1 + (i % 7) as i64)),
            properties: Vec::new(),
        })
        .collect()
}

/// The raw baseline: `all` as plain multi-row INSERTs of `batch` rows, `per_commit` rows
/// per transaction, under another tenant id (same table, indexes and durability).
async fn raw_baseline(
    app: &App,
    tenant: &str,
    all: &[UsageEvent],
    batch: usize,
    per_commit: usize,
) -> anyhow::Result<Duration> {
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
    let baseline_tenant = format!("{tenant}-baseline");
    let t0 = Instant::now();
    for g in rows.chunks(per_commit.max(1)) {
        let mut tx = app.store().begin().await?;
        for b in g.chunks(batch.max(1)) {
            tx.insert_usage_events_plain(&baseline_tenant, 1, b).await?;
        }
        tx.commit().await?;
    }
    Ok(t0.elapsed())
}

fn report(label: &str, n: usize, measured: Duration, raw: Duration) {
    let rate = |d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "{label:<34} {:>10.0} events/s ({:.3} s) | raw baseline {:>10.0} events/s ({:.3} s) | ratio {:.2}",
        rate(measured),
        measured.as_secs_f64(),
        rate(raw),
        raw.as_secs_f64(),
        raw.as_secs_f64() / measured.as_secs_f64().max(1e-9)
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
    println!(
        "backend {} | in-process: {} events, batch {}, {} batches per commit | HTTP: {} events, batch {}, {} clients",
        app.store().backend().name(),
        o.events,
        o.batch,
        o.group,
        o.http_events,
        o.http_batch,
        o.clients
    );

    if o.events > 0 {
        let all = events(&format!("{run}-p"), o.events);
        let batches: Vec<&[UsageEvent]> = all.chunks(o.batch).collect();
        let t0 = Instant::now();
        let mut accepted = 0;
        for g in batches.chunks(o.group) {
            for r in app.ingest_usage_batches(&p, g).await? {
                accepted += r.accepted;
            }
        }
        let measured = t0.elapsed();
        if accepted != o.events {
            bail!("accepted {accepted} of {}", o.events);
        }
        let raw = raw_baseline(app, &p.tenant_id, &all, o.batch, o.batch * o.group).await?;
        report("in-process exactly-once", o.events, measured, raw);
    }

    if o.http_events > 0 {
        let all = events(&format!("{run}-h"), o.http_events);
        let measured = http_run(app, &key, &all, o.http_batch, o.clients).await?;
        let raw = raw_baseline(
            app,
            &format!("{}-h", p.tenant_id),
            &all,
            o.http_batch,
            o.batch * o.group,
        )
        .await?;
        report(
            "HTTP POST /v1/events exactly-once",
            o.http_events,
            measured,
            raw,
        );
    }
    if let Some(rss) = crate::bench::peak_rss_mib() {
        println!("peak RSS (VmHWM): {rss:.1} MiB");
    }
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
struct Conn {
    stream: BufReader<TcpStream>,
    addr: std::net::SocketAddr,
}

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
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
        if !status.contains(" 200 ") {
            bail!(
                "POST /v1/events: {} {}",
                status.trim(),
                String::from_utf8_lossy(&answer)
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&answer)?;
        v["accepted"]
            .as_u64()
            .map(|n| n as usize)
            .context("answer without accepted")
    }
}
