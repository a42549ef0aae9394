//! Group commit: one writer task per `App` takes validated batches from a queue and stores
//! every batch waiting at that moment in one transaction, so one commit (one fsync on
//! SQLite, one WAL flush on PostgreSQL) covers many concurrent requests. A caller is
//! answered only after the commit that holds its batch, so an acknowledged event is durable.
//!
//! Each batch runs under a savepoint: a batch that fails is rolled back alone and its caller
//! gets the error; the others still commit. Rollup additions of all the batches are folded
//! in memory and written once per (item, metric, group, day) at the end.
//!
//! Two nodes (or the embedded path) may store batches sharing event ids at once. Each batch
//! inserts in id order, so two single batches never wait on each other crosswise; batches
//! of one group still can (ids of its first batch against another group's second), and
//! PostgreSQL then fails one side's statement to break the deadlock. That batch (or the
//! whole group, when the failure hit outside a batch) is stored again in a later
//! transaction — its ids are then duplicates of what the other side committed — instead of
//! answering an error.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use quoin_store::Store;
use tokio::sync::{mpsc, oneshot};

use super::ingest::{ingest_batch, UsageEvent};
use super::rollup::{self, Deltas};
use super::{load_metrics, MetricDef, Resolver};
use crate::error::{AppError, AppResult};
use crate::model::{IngestResult, RejectedEvent};

/// Batches waiting beyond this many make callers wait (bounded memory under overload).
const QUEUE: usize = 64;
/// Most events one group transaction takes before committing.
const GROUP_EVENTS: usize = 100_000;

/// One validated batch and where its answer goes.
pub(crate) struct Job {
    pub tenant: String,
    pub now_us: i64,
    pub events: Vec<UsageEvent>,
    /// The submitted index of each event (for rejections found at write time).
    pub indices: Vec<usize>,
    /// Rejections found during validation.
    pub result: IngestResult,
    pub reply: oneshot::Sender<AppResult<IngestResult>>,
}

/// The handle `App` keeps: the writer task starts on first use (inside the runtime).
#[derive(Debug, Clone, Default)]
pub(crate) struct Writer {
    queue: Arc<OnceLock<mpsc::Sender<Job>>>,
}

impl Writer {
    /// Stores one batch through the group-commit writer and waits for its commit.
    pub(crate) async fn submit(
        &self,
        store: &Store,
        tenant: &str,
        now_us: i64,
        events: Vec<UsageEvent>,
        indices: Vec<usize>,
        result: IngestResult,
    ) -> AppResult<IngestResult> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(store.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        let job = Job {
            tenant: tenant.to_string(),
            now_us,
            events,
            indices,
            result,
            reply,
        };
        queue
            .send(job)
            .await
            .map_err(|_| AppError::Internal("usage writer stopped".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("usage writer dropped a batch".into()))?
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut size = first.events.len();
        let mut jobs = vec![first];
        // Everything that queued up while the previous commit was running joins this one.
        while size < GROUP_EVENTS {
            match rx.try_recv() {
                Ok(job) => {
                    size += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        write_group(&store, jobs).await;
    }
}

/// Per-tenant state of one group transaction.
#[derive(Default)]
struct TenantState {
    metrics: HashMap<String, Arc<MetricDef>>,
    resolver: Resolver,
    deltas: Deltas,
    /// The latest tenant instant of its batches (when their usage arrived).
    now_us: i64,
}

/// Tries of a batch whose transaction the database failed to break a deadlock.
pub(crate) const TRIES: u32 = 5;

/// A short, growing, jittered pause before trying again, so the transaction that won the
/// deadlock commits first.
pub(crate) async fn backoff(attempt: u32) {
    let ms = u64::from(attempt) * 10 + u64::from(rand::random::<u8>() % 10);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

impl Job {
    /// Back to what validation found, for another try of the batch.
    fn forget_counts(&mut self) {
        self.result.accepted = 0;
        self.result.duplicates = 0;
        self.result.suspended = 0;
    }
}

async fn write_group(store: &Store, mut jobs: Vec<Job>) {
    for attempt in 1..=TRIES {
        let last = attempt == TRIES;
        let mut outcomes: Vec<Option<AppResult<()>>> = (0..jobs.len()).map(|_| None).collect();
        let committed = stage_and_commit(store, &mut jobs, &mut outcomes).await;
        if !last && matches!(&committed, Err(e) if e.is_retryable_conflict()) {
            // Nothing of the group was kept: all of it again.
            jobs.iter_mut().for_each(Job::forget_counts);
            backoff(attempt).await;
            continue;
        }
        let mut again = Vec::new();
        for (mut job, outcome) in jobs.into_iter().zip(outcomes) {
            let answer = match (&committed, outcome) {
                (Err(e), _) => Err(AppError::Internal(format!("usage batch not stored: {e}"))),
                (Ok(()), Some(Err(e))) if !last && e.is_retryable_conflict() => {
                    // Its savepoint was rolled back while the others committed.
                    job.forget_counts();
                    again.push(job);
                    continue;
                }
                (Ok(()), Some(Err(e))) => Err(e),
                (Ok(()), _) => {
                    let mut r = job.result;
                    r.errors.sort_by_key(|e| e.index);
                    r.rejected = r.errors.len();
                    Ok(r)
                }
            };
            // The caller may have gone away (client disconnected): the batch stays stored.
            let _ = job.reply.send(answer);
        }
        if again.is_empty() {
            return;
        }
        jobs = again;
        backoff(attempt).await;
    }
}

async fn stage_and_commit(
    store: &Store,
    jobs: &mut [Job],
    outcomes: &mut [Option<AppResult<()>>],
) -> AppResult<()> {
    let mut tx = store.begin().await?;
    let mut tenants: HashMap<String, TenantState> = HashMap::new();
    for (k, job) in jobs.iter_mut().enumerate() {
        if !tenants.contains_key(&job.tenant) {
            let metrics = load_metrics(&mut tx, &job.tenant).await?;
            tenants.insert(
                job.tenant.clone(),
                TenantState {
                    metrics,
                    ..TenantState::default()
                },
            );
        }
        let state = tenants
            .get_mut(&job.tenant)
            .ok_or_else(|| AppError::Internal("tenant state".into()))?;
        drop_vanished_metrics(job, &state.metrics);
        state.now_us = state.now_us.max(job.now_us);
        let mut deltas = Deltas::new();
        let mut result = std::mem::take(&mut job.result);
        tx.savepoint("ingest_batch").await?;
        let staged = ingest_batch(
            &mut tx,
            &job.tenant,
            job.now_us,
            &state.metrics,
            &mut state.resolver,
            &job.events,
            &mut result,
            &mut deltas,
        )
        .await;
        match staged {
            Ok(()) => {
                tx.release_savepoint("ingest_batch").await?;
                rollup::merge(&mut state.deltas, deltas)?;
                outcomes[k] = Some(Ok(()));
            }
            Err(e) => {
                tx.rollback_to_savepoint("ingest_batch").await?;
                outcomes[k] = Some(Err(e));
            }
        }
        job.result = result;
    }
    let mut order: Vec<_> = tenants.into_iter().collect();
    order.sort_by(|a, b| a.0.cmp(&b.0));
    for (tenant, state) in order {
        let accounts = state.resolver.bill_to_of(&state.deltas);
        rollup::apply(&mut tx, &tenant, state.deltas).await?;
        // Drafts to refresh: one statement per tenant and transaction, not per event; after
        // the rollups, so item rows are locked before draft rows, as billing does.
        tx.mark_draft_usage(&tenant, &accounts, state.now_us)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Rejects events whose metric was removed between validation and this transaction.
fn drop_vanished_metrics(job: &mut Job, metrics: &HashMap<String, Arc<MetricDef>>) {
    if job.events.iter().all(|e| metrics.contains_key(&e.metric)) {
        return;
    }
    let events = std::mem::take(&mut job.events);
    let indices = std::mem::take(&mut job.indices);
    for (e, i) in events.into_iter().zip(indices) {
        if metrics.contains_key(&e.metric) {
            job.events.push(e);
            job.indices.push(i);
        } else {
            job.result.errors.push(RejectedEvent {
                index: i,
                id: Some(e.id.clone()),
                reason: "unknown_metric".into(),
                message: format!("no billable metric `{}`", e.metric),
            });
        }
    }
}
