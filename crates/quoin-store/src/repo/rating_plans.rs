//! Voice rating plans, one row per (tenant, code); the definition is the app's JSON.

use super::insert_row;
use crate::{on_tx, Result, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RatingPlanRow {
    pub tenant_id: String,
    pub code: String,
    pub currency: String,
    pub definition: String,
    pub created_at_us: i64,
}

impl Tx {
    pub async fn insert_rating_plan(&mut self, row: &RatingPlanRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "voice_rating_plans",
            RatingPlanRow,
            row,
            [tenant_id, code, currency, definition, created_at_us]
        ));
        Ok(())
    }

    pub async fn get_rating_plan(
        &mut self,
        tenant: &str,
        code: &str,
    ) -> Result<Option<RatingPlanRow>> {
        let sql = "SELECT * FROM voice_rating_plans WHERE tenant_id = $1 AND code = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(code)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Replaces a plan's definition (only ever with destinations added; see the app).
    pub async fn update_rating_plan_definition(
        &mut self,
        tenant: &str,
        code: &str,
        definition: &str,
    ) -> Result<()> {
        let sql =
            "UPDATE voice_rating_plans SET definition = $3 WHERE tenant_id = $1 AND code = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(code)
            .bind(definition)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Every plan of the tenant by code.
    pub async fn list_rating_plans(&mut self, tenant: &str) -> Result<Vec<RatingPlanRow>> {
        let sql = "SELECT * FROM voice_rating_plans WHERE tenant_id = $1 ORDER BY code";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }
}
