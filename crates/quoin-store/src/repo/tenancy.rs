//! Tenants, API keys and per-tenant sequences.

use super::insert_row;
use crate::rows::{ApiKeyRow, IdempotencyRow, TenantRow};
use crate::{on_tx, Result, Tx};

impl Tx {
    pub async fn insert_tenant(&mut self, row: &TenantRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "tenants",
            TenantRow,
            row,
            [id, name, time_zone, clock_mode, test_now_us, created_at_us]
        ));
        Ok(())
    }

    pub async fn get_tenant(&mut self, id: &str) -> Result<Option<TenantRow>> {
        let sql = "SELECT * FROM tenants WHERE id = $1";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn list_tenants(&mut self) -> Result<Vec<TenantRow>> {
        let sql = "SELECT * FROM tenants ORDER BY id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Puts a tenant on the system clock (`now_us` = None) or a test clock frozen at `now_us`.
    pub async fn set_tenant_clock(&mut self, id: &str, now_us: Option<i64>) -> Result<bool> {
        let mode = if now_us.is_some() { "test" } else { "system" };
        let sql = "UPDATE tenants SET clock_mode = $2, test_now_us = $3 WHERE id = $1";
        let done = on_tx!(self, |c| sqlx::query(sql)
            .bind(id)
            .bind(mode)
            .bind(now_us)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    pub async fn insert_api_key(&mut self, row: &ApiKeyRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "api_keys",
            ApiKeyRow,
            row,
            [
                id,
                tenant_id,
                name,
                role,
                secret_hash,
                created_at_us,
                revoked_at_us
            ]
        ));
        Ok(())
    }

    /// Looks a key up by its public id. The one query without a tenant scope: it is how the
    /// tenant of a request is found in the first place.
    pub async fn find_api_key(&mut self, id: &str) -> Result<Option<ApiKeyRow>> {
        let sql = "SELECT * FROM api_keys WHERE id = $1";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn list_api_keys(&mut self, tenant: &str) -> Result<Vec<ApiKeyRow>> {
        let sql = "SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn revoke_api_key(&mut self, tenant: &str, id: &str, at_us: i64) -> Result<bool> {
        let sql = "UPDATE api_keys SET revoked_at_us = $3 \
                   WHERE tenant_id = $1 AND id = $2 AND revoked_at_us IS NULL";
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(at_us)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Takes the next value of a per-tenant sequence (starting at `first`). Inside the
    /// caller's transaction, so a rolled-back use leaves no gap.
    pub async fn next_sequence_value(
        &mut self,
        tenant: &str,
        name: &str,
        first: i64,
    ) -> Result<i64> {
        let sql = "INSERT INTO sequences (tenant_id, name, next_value) VALUES ($1, $2, $3 + 1) \
                   ON CONFLICT (tenant_id, name) DO UPDATE SET next_value = sequences.next_value + 1 \
                   RETURNING next_value - 1";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(name)
            .bind(first)
            .fetch_one(&mut *c)
            .await?))
    }

    pub async fn get_idempotency(
        &mut self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRow>> {
        let sql = "SELECT * FROM idempotency_keys WHERE tenant_id = $1 AND key = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(key)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Claims a key for a request in flight; false when the key is already claimed. A key
    /// older than `expires_before_us`, or a claim still in flight since before
    /// `abandoned_before_us`, is forgotten first.
    pub async fn claim_idempotency(
        &mut self,
        tenant: &str,
        key: &str,
        hash: &str,
        at_us: i64,
        expires_before_us: i64,
        abandoned_before_us: i64,
    ) -> Result<bool> {
        let expire = "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 \
                      AND (created_at_us < $3 OR (status_code IS NULL AND created_at_us < $4))";
        on_tx!(self, |c| sqlx::query(expire)
            .bind(tenant)
            .bind(key)
            .bind(expires_before_us)
            .bind(abandoned_before_us)
            .execute(&mut *c)
            .await?;);
        let sql = "INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at_us) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, key) DO NOTHING";
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(key)
            .bind(hash)
            .bind(at_us)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    pub async fn complete_idempotency(
        &mut self,
        tenant: &str,
        key: &str,
        status: i64,
        body: &str,
    ) -> Result<()> {
        let sql = "UPDATE idempotency_keys SET status_code = $3, response_body = $4 \
                   WHERE tenant_id = $1 AND key = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(key)
            .bind(status)
            .bind(body)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Releases a claim whose request failed unexpectedly, so the client may retry.
    pub async fn release_idempotency(&mut self, tenant: &str, key: &str) -> Result<()> {
        let sql = "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status_code IS NULL";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(key)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }
}
