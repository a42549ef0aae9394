//! Durability of usage ingestion, end to end: the real `quoin serve` receives a sustained
//! stream of event batches over HTTP and is killed with SIGKILL at a random moment; every
//! batch it acknowledged must be stored after the restart, and re-sending everything must
//! count each event exactly once (acknowledged batches come back as duplicates: dedup holds
//! across a server restart). Event count and rollup sums are checked against the sent set.
//! On SQLite always; on PostgreSQL through `--database-url` (skipped with a notice when
//! unreachable, unless CI).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quoin_store::{on_tx, Store};
use rust_decimal::Decimal;

const BATCHES: usize = 60;
const BATCH: usize = 500;

fn quoin(target: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quoin"));
    c.args(target).env_remove("QUOIN_DATABASE_URL");
    c
}

/// Kills the server when a test panics.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

fn start(target: &[String], addr: &str) -> Server {
    let server = Server(
        quoin(target)
            .args(["serve", "--listen", addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn quoin serve"),
    );
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// A pseudo-random number below `n` (no RNG crate needed).
fn random_below(n: u64, salt: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (u64::from(nanos) ^ salt.wrapping_mul(0x9E37_79B9)) % n
}

/// Event `i`: quantity 1..=7 on the bench item, one per second from 2024-01-01.
fn event(run: &str, i: usize) -> serde_json::Value {
    let ts = jiff::Timestamp::from_second(1_704_067_200 + i as i64).unwrap();
    serde_json::json!({
        "id": format!("{run}-{i}"),
        "item_key": "bench-item",
        "metric": "calls",
        "timestamp": ts.to_string(),
        "quantity": (1 + i % 7).to_string(),
    })
}

fn body(run: &str, batch: usize) -> String {
    let events: Vec<serde_json::Value> = (batch * BATCH..(batch + 1) * BATCH)
        .map(|i| event(run, i))
        .collect();
    serde_json::json!({ "events": events }).to_string()
}

/// One keep-alive connection posting event batches.
struct Client {
    reader: BufReader<TcpStream>,
    key: String,
}

impl Client {
    fn connect(addr: &str, key: &str) -> std::io::Result<Client> {
        let s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Client {
            reader: BufReader::new(s),
            key: key.to_string(),
        })
    }

    /// Posts a batch; Ok((accepted, duplicates)) on a 200 answer.
    fn post(&mut self, body: &str) -> std::io::Result<(u64, u64)> {
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nHost: quoin\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.key,
            body.len()
        );
        let s = self.reader.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body.as_bytes())?;
        let mut status = String::new();
        if self.reader.read_line(&mut status)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
            }
        }
        let mut answer = vec![0; length];
        self.reader.read_exact(&mut answer)?;
        assert!(
            status.contains(" 200 "),
            "{status}: {}",
            String::from_utf8_lossy(&answer)
        );
        let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(v["rejected"], 0, "{v}");
        Ok((
            v["accepted"].as_u64().unwrap(),
            v["duplicates"].as_u64().unwrap(),
        ))
    }
}

/// Stored event count and rollup totals (events, sum) of the tenant.
/// The stored event count once three readings 200 ms apart agree.
fn settled_count(url: &str, tenant: &str) -> i64 {
    let mut last = stored(url, tenant).0;
    let mut same = 0;
    while same < 2 {
        std::thread::sleep(Duration::from_millis(200));
        let now = stored(url, tenant).0;
        same = if now == last { same + 1 } else { 0 };
        last = now;
    }
    last
}

fn stored(url: &str, tenant: &str) -> (i64, i64, Decimal) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(url).await.unwrap();
        let mut tx = store.read().await.unwrap();
        let events: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM usage_events WHERE tenant_id = $1"
        )
        .bind(tenant)
        .fetch_one(&mut *c)
        .await
        .unwrap());
        let rollups: Vec<(i64, String)> = on_tx!(&mut tx, |c| sqlx::query_as(
            "SELECT events, sum_value FROM usage_rollups WHERE tenant_id = $1"
        )
        .bind(tenant)
        .fetch_all(&mut *c)
        .await
        .unwrap());
        tx.commit().await.unwrap();
        store.close().await;
        let counted = rollups.iter().map(|r| r.0).sum();
        let sum = rollups
            .iter()
            .map(|r| Decimal::from_str(&r.1).unwrap())
            .sum();
        (events, counted, sum)
    })
}

fn kill_resend_count_once(target: Vec<String>, url: String) {
    let out = quoin(&target)
        .args(["bench", "ingest", "--setup-only"])
        .output()
        .expect("setup");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (tenant, key) = line.split_once(' ').expect("tenant and key");
    let run = format!("k{}", std::process::id());
    let bodies: Arc<Vec<String>> = Arc::new((0..BATCHES).map(|b| body(&run, b)).collect());

    // Sustained ingest from two connections; SIGKILL at a random moment.
    let addr = free_addr();
    let mut server = start(&target, &addr);
    let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..2)
        .map(|k| {
            let (addr, key) = (addr.clone(), key.to_string());
            let (bodies, acked, stop) = (bodies.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let Ok(mut c) = Client::connect(&addr, &key) else {
                    return;
                };
                for b in (k..BATCHES).step_by(2) {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    match c.post(&bodies[b]) {
                        Ok((accepted, _)) => {
                            assert_eq!(accepted, BATCH as u64);
                            acked.lock().unwrap().push(b);
                        }
                        Err(_) => return, // the server died mid-request: not acknowledged
                    }
                }
            })
        })
        .collect();
    // Kill once a random number of batches were acknowledged, a random moment later (the
    // next batches are then somewhere between received and committed).
    let kill_after = 3 + random_below((BATCHES / 2) as u64, 1) as usize;
    let started = Instant::now();
    while acked.lock().unwrap().len() < kill_after {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "ingest stalled"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(random_below(30, 2)));
    server.0.kill().expect("SIGKILL");
    server.0.wait().expect("reap");
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() < BATCHES,
        "the server finished before the kill: raise BATCHES"
    );

    // Nothing acknowledged is lost. (PostgreSQL may still finish a COMMIT the killed
    // process had sent: count once the stored total has stopped moving.)
    let events = settled_count(&url, tenant);
    assert!(
        events >= (acked.len() * BATCH) as i64,
        "{events} stored, {} acknowledged",
        acked.len() * BATCH
    );

    // Restart, re-send everything: acknowledged batches are all duplicates.
    let addr = free_addr();
    let server = start(&target, &addr);
    let mut c = Client::connect(&addr, key).unwrap();
    let (mut accepted, mut duplicates) = (0, 0);
    for (b, body) in bodies.iter().enumerate() {
        let (a, d) = c.post(body).unwrap();
        if acked.contains(&b) {
            assert_eq!((a, d), (0, BATCH as u64), "acknowledged batch {b} re-sent");
        }
        accepted += a;
        duplicates += d;
    }
    drop(server);
    let total = (BATCHES * BATCH) as i64;
    assert_eq!(
        accepted as i64,
        total - events,
        "re-send stores what was missing"
    );
    assert_eq!(duplicates as i64, events);

    let expected_sum: Decimal = (0..BATCHES * BATCH).map(|i| Decimal::from(1 + i % 7)).sum();
    let (events, counted, sum) = stored(&url, tenant);
    assert_eq!(events, total, "each event stored once");
    assert_eq!(counted, total, "each event counted once in the rollups");
    assert_eq!(sum, expected_sum);
    eprintln!(
        "killed after {} acknowledged batches of {BATCHES}; all {total} events counted once",
        acked.len()
    );
}

#[test]
fn sigkill_during_ingest_then_resend_counts_once_on_sqlite() {
    common::on_sqlite("ingest-kill", kill_resend_count_once);
}

#[test]
fn sigkill_during_ingest_then_resend_counts_once_on_postgres() {
    common::on_postgres("ingest-kill", kill_resend_count_once);
}
