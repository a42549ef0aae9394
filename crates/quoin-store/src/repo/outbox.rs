//! The transactional outbox: an event row written in the same transaction as the change.

use crate::rows::OutboxRow;
use crate::{on_tx, Result, Tx};

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub tenant_id: &'a str,
    pub topic: &'a str,
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    /// JSON document describing the change.
    pub payload: String,
    pub at_us: i64,
}

impl Tx {
    pub async fn record_event(&mut self, e: &NewEvent<'_>) -> Result<()> {
        // On PostgreSQL an identity value is taken at insert but seen at commit, so a reader
        // paging by id could pass over a slower transaction's event for good. Holding a
        // per-tenant lock from the insert to the commit makes ids visible in order.
        // (SQLite has a single writer, so its ids are always in commit order.)
        if let Tx::Postgres(t) = self {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(e.tenant_id)
                .execute(&mut **t)
                .await?;
        }
        let sql = "INSERT INTO outbox (tenant_id, topic, aggregate_type, aggregate_id, payload, created_at_us) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(e.tenant_id)
            .bind(e.topic)
            .bind(e.aggregate_type)
            .bind(e.aggregate_id)
            .bind(&e.payload)
            .bind(e.at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Events of a tenant after `after_id`, oldest first.
    pub async fn list_events(
        &mut self,
        tenant: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        let sql = "SELECT * FROM outbox WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?))
    }
}
