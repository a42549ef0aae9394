//! Dunning schedules and per-account dunning progress.

use crate::rows::{DunningPolicyRow, DunningStateRow};
use crate::{on_tx, Result, Tx};

impl Tx {
    pub async fn get_dunning_policy(&mut self, tenant: &str) -> Result<Option<DunningPolicyRow>> {
        let sql = "SELECT * FROM dunning_policies WHERE tenant_id = $1";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn put_dunning_policy(&mut self, row: &DunningPolicyRow) -> Result<()> {
        let sql =
            "INSERT INTO dunning_policies (tenant_id, steps, updated_at_us) VALUES ($1, $2, $3) \
                   ON CONFLICT (tenant_id) DO UPDATE SET steps = excluded.steps, \
                   updated_at_us = excluded.updated_at_us";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.steps)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn get_dunning_state(
        &mut self,
        tenant: &str,
        account: &str,
    ) -> Result<Option<DunningStateRow>> {
        let sql = "SELECT * FROM dunning_states WHERE tenant_id = $1 AND account_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn put_dunning_state(&mut self, row: &DunningStateRow) -> Result<()> {
        let sql = "INSERT INTO dunning_states (tenant_id, account_id, steps_done, overdue_since, updated_at_us) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, account_id) DO UPDATE \
                   SET steps_done = excluded.steps_done, overdue_since = excluded.overdue_since, \
                   updated_at_us = excluded.updated_at_us";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.account_id)
            .bind(row.steps_done)
            .bind(&row.overdue_since)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }
}
