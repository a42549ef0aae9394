//! Usage events from NATS JetStream. Producers publish event batches to
//! `<prefix>.<tenant id>` (default prefix `quoin.usage`); a stream over `<prefix>.*` keeps
//! them, and every Quoin node pulls from the same durable consumer, so the nodes share the
//! work (a work queue). A message is acknowledged only after the transaction holding its
//! events committed: NATS redelivers anything unacknowledged (at least once), and the
//! `(tenant, event id)` dedup key makes a redelivered or re-published event count once.
//!
//! A message body is a JSON batch (`{"events": [...]}` or a bare array) or NDJSON, at most
//! 10,000 events, validated like `POST /v1/events`. Rejected events — and whole messages
//! that cannot be taken (unknown tenant, oversize batch, unreadable body) — are reported as
//! the JSON of an [`IngestResult`]-like document on `<prefix>.<tenant>.rejected`, then the
//! message is acknowledged (retrying would not help). Store failures are negatively
//! acknowledged with a delay, so NATS delivers the message again.
//!
//! Whoever may publish to `<prefix>.*` may write usage for any tenant: NATS accounts and
//! permissions are the security boundary of this path.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream, AckKind};
use futures_util::StreamExt;
use quoin_app::model::{IngestRequest, IngestResult};
use quoin_app::{App, AppError};
use serde::Serialize;
use tokio::sync::Semaphore;

/// Where and how a node consumes usage from NATS.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// Subjects are `<prefix>.<tenant id>`.
    pub subject_prefix: String,
    /// The JetStream stream over `<prefix>.*` (created when missing, work-queue retention).
    pub stream: String,
    /// The durable consumer name every node shares.
    pub consumer: String,
    /// Messages processed at once by this node (they share group commits).
    pub in_flight: usize,
}

impl NatsConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            subject_prefix: "quoin.usage".into(),
            stream: "QUOIN_USAGE".into(),
            consumer: "quoin-usage".into(),
            in_flight: 16,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("NATS JetStream: {0}")]
    JetStream(String),
}

fn js_err(e: impl std::fmt::Display) -> NatsError {
    NatsError::JetStream(e.to_string())
}

/// What is published on `<prefix>.<tenant>.rejected`.
#[derive(Debug, Serialize)]
struct Rejection<'a> {
    /// The subject the message came on.
    subject: &'a str,
    /// Stream sequence of the message, to find it again.
    stream_sequence: u64,
    /// Set when the whole message was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(flatten)]
    result: Option<&'a IngestResult>,
}

/// Connects, creates the stream and the durable consumer when missing, then consumes in a
/// background task until the connection is closed. Errors when the setup fails.
pub async fn start(app: App, cfg: NatsConfig) -> Result<tokio::task::JoinHandle<()>, NatsError> {
    let client = async_nats::connect(cfg.url.as_str())
        .await
        .map_err(|e| NatsError::Connect {
            url: cfg.url.clone(),
            message: e.to_string(),
        })?;
    let js = jetstream::new(client.clone());
    let stream = js
        .get_or_create_stream(stream::Config {
            name: cfg.stream.clone(),
            subjects: vec![format!("{}.*", cfg.subject_prefix)],
            retention: stream::RetentionPolicy::WorkQueue,
            ..Default::default()
        })
        .await
        .map_err(js_err)?;
    let consumer = stream
        .get_or_create_consumer(
            &cfg.consumer,
            consumer::pull::Config {
                durable_name: Some(cfg.consumer.clone()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                ..Default::default()
            },
        )
        .await
        .map_err(js_err)?;
    let messages = consumer.messages().await.map_err(js_err)?;
    tracing::info!(stream = %cfg.stream, consumer = %cfg.consumer, "consuming usage from NATS");
    Ok(tokio::spawn(consume(app, client, cfg, messages)))
}

async fn consume(
    app: App,
    client: async_nats::Client,
    cfg: NatsConfig,
    mut messages: consumer::pull::Stream,
) {
    let slots = Arc::new(Semaphore::new(cfg.in_flight.max(1)));
    let prefix = Arc::new(cfg.subject_prefix.clone());
    while let Some(next) = messages.next().await {
        let msg = match next {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "NATS pull failed; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let (app, client, prefix) = (app.clone(), client.clone(), prefix.clone());
        tokio::spawn(async move {
            handle(&app, &client, &prefix, msg).await;
            drop(permit);
        });
    }
}

/// Ingests one message, reports rejections, then acknowledges it (or asks for redelivery).
async fn handle(app: &App, client: &async_nats::Client, prefix: &str, msg: jetstream::Message) {
    let subject = msg.subject.to_string();
    let seq = msg.info().map(|i| i.stream_sequence).unwrap_or(0);
    let tenant = subject
        .strip_prefix(prefix)
        .and_then(|t| t.strip_prefix('.'))
        .unwrap_or_default()
        .to_string();
    let outcome = ingest(app, &tenant, &msg.payload).await;
    let report = match &outcome {
        Ok(r) if r.errors.is_empty() => None,
        Ok(r) => Some(Rejection {
            subject: &subject,
            stream_sequence: seq,
            error: None,
            result: Some(r),
        }),
        Err(e) if permanent(e) => Some(Rejection {
            subject: &subject,
            stream_sequence: seq,
            error: Some(e.to_string()),
            result: None,
        }),
        Err(e) => {
            tracing::warn!(%subject, error = %e, "usage message not stored; NATS will redeliver");
            let _ = msg
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await;
            return;
        }
    };
    if let Some(report) = report {
        let body = serde_json::to_vec(&report).unwrap_or_default();
        let to = format!("{prefix}.{tenant}.rejected");
        if let Err(e) = client.publish(to, body.into()).await {
            tracing::warn!(%subject, error = %e, "cannot publish usage rejections; redelivering");
            let _ = msg
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await;
            return;
        }
    }
    if let Err(e) = msg.ack().await {
        // Not acknowledged: NATS redelivers, and dedup counts the events once.
        tracing::warn!(%subject, error = %e, "ack failed");
    }
}

/// Errors that redelivery would not cure.
fn permanent(e: &AppError) -> bool {
    !matches!(e, AppError::Internal(_) | AppError::Store(_))
}

async fn ingest(app: &App, tenant: &str, body: &[u8]) -> Result<IngestResult, AppError> {
    if tenant.is_empty() || tenant.contains('.') {
        return Err(AppError::invalid(
            "subject",
            "expected <prefix>.<tenant id>",
        ));
    }
    let p = app.operator(tenant).await?;
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'[') {
        let events: Vec<serde_json::Value> =
            serde_json::from_slice(body).map_err(|e| unreadable("malformed_json", e))?;
        return app.ingest_usage(&p, events).await;
    }
    if first == Some(b'{') {
        if let Ok(req) = serde_json::from_slice::<IngestRequest>(body) {
            return app.ingest_usage(&p, req.events).await;
        }
    }
    let text = std::str::from_utf8(body).map_err(|e| unreadable("malformed_body", e))?;
    app.ingest_usage_ndjson(&p, text).await
}

fn unreadable(code: &'static str, e: impl std::fmt::Display) -> AppError {
    AppError::BadRequest {
        code,
        field: None,
        message: format!("message body is not an events batch: {e}"),
    }
}
