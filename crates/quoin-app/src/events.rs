//! Reading the outbox, and writing to it from the use cases.

use quoin_store::repo::NewEvent;
use quoin_store::Tx;
use serde::Serialize;

use crate::auth::{Action, Principal};
use crate::clock::from_us;
use crate::error::{AppError, AppResult};
use crate::model::{Event, EventPage};
use crate::App;

/// Records `topic` about an aggregate, with `body` as the JSON payload, in the caller's transaction.
pub(crate) async fn emit<T: Serialize>(
    tx: &mut Tx,
    tenant: &str,
    topic: &str,
    aggregate_type: &str,
    aggregate_id: &str,
    body: &T,
    at_us: i64,
) -> AppResult<()> {
    let payload = serde_json::to_string(body).map_err(|e| AppError::Internal(e.to_string()))?;
    tx.record_event(&NewEvent {
        tenant_id: tenant,
        topic,
        aggregate_type,
        aggregate_id,
        payload,
        at_us,
    })
    .await?;
    Ok(())
}

impl App {
    /// Outbox events after `after` (an event id), oldest first.
    pub async fn list_events(&self, p: &Principal, after: i64, limit: i64) -> AppResult<EventPage> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let rows = tx.list_events(&p.tenant_id, after, limit).await?;
        tx.commit().await?;
        let next_after = rows.last().map(|r| r.id);
        let data = rows
            .into_iter()
            .map(|r| Event {
                id: r.id,
                payload: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
                topic: r.topic,
                aggregate_type: r.aggregate_type,
                aggregate_id: r.aggregate_id,
                created_at: from_us(r.created_at_us),
            })
            .collect();
        Ok(EventPage { data, next_after })
    }
}
