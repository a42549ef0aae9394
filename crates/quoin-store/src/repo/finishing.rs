//! Invoice finishing: tenant settings documents (tax rates, tax categories, fees,
//! coupons), account tax profiles, coupon redemptions and prepaid wallets.

use super::insert_row;
use crate::{on_tx, Result, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SettingRow {
    pub key: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct TaxProfileRow {
    pub tenant_id: String,
    pub account_id: String,
    pub jurisdiction: String,
    /// 0 or 1.
    pub exempt: i64,
    /// 0, 1 or NULL (the tenant default).
    pub tax_inclusive: Option<i64>,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct RedemptionRow {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub coupon_code: String,
    pub periods_used: i64,
    pub remaining_minor: Option<i64>,
    /// active, exhausted
    pub status: String,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct WalletRow {
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub code: String,
    pub currency: String,
    pub balance_minor: i64,
    /// JSON line filter.
    pub applies_to: String,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

impl Tx {
    /// Inserts or replaces one settings document.
    pub async fn put_setting(
        &mut self,
        tenant: &str,
        kind: &str,
        key: &str,
        body: &str,
        now_us: i64,
    ) -> Result<()> {
        let sql = "INSERT INTO billing_settings (tenant_id, kind, key, body, updated_at_us) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, kind, key) \
                   DO UPDATE SET body = excluded.body, updated_at_us = excluded.updated_at_us";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(kind)
            .bind(key)
            .bind(body)
            .bind(now_us)
            .execute(&mut *c)
            .await
            .map(|_| ())?);
        Ok(())
    }

    pub async fn get_setting(
        &mut self,
        tenant: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<String>> {
        let sql =
            "SELECT body FROM billing_settings WHERE tenant_id = $1 AND kind = $2 AND key = $3";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(kind)
            .bind(key)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Every document of a kind, by key.
    pub async fn list_settings(&mut self, tenant: &str, kind: &str) -> Result<Vec<SettingRow>> {
        let sql = "SELECT key, body FROM billing_settings WHERE tenant_id = $1 AND kind = $2 ORDER BY key";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(kind)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn put_tax_profile(&mut self, row: &TaxProfileRow) -> Result<()> {
        let sql = "INSERT INTO account_tax_profiles \
                   (tenant_id, account_id, jurisdiction, exempt, tax_inclusive, updated_at_us) \
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, account_id) DO UPDATE SET \
                   jurisdiction = excluded.jurisdiction, exempt = excluded.exempt, \
                   tax_inclusive = excluded.tax_inclusive, updated_at_us = excluded.updated_at_us";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.account_id)
            .bind(&row.jurisdiction)
            .bind(row.exempt)
            .bind(row.tax_inclusive)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await
            .map(|_| ())?);
        Ok(())
    }

    pub async fn get_tax_profile(
        &mut self,
        tenant: &str,
        account: &str,
    ) -> Result<Option<TaxProfileRow>> {
        let sql = "SELECT * FROM account_tax_profiles WHERE tenant_id = $1 AND account_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn insert_redemption(&mut self, row: &RedemptionRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "coupon_redemptions",
            RedemptionRow,
            row,
            [
                id,
                tenant_id,
                account_id,
                coupon_code,
                periods_used,
                remaining_minor,
                status,
                created_at_us,
                updated_at_us
            ]
        ));
        Ok(())
    }

    /// An account's redemptions in the order they were applied.
    pub async fn account_redemptions(
        &mut self,
        tenant: &str,
        account: &str,
    ) -> Result<Vec<RedemptionRow>> {
        let sql = "SELECT * FROM coupon_redemptions WHERE tenant_id = $1 AND account_id = $2 \
                   ORDER BY created_at_us, id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn update_redemption(&mut self, row: &RedemptionRow) -> Result<()> {
        let sql = "UPDATE coupon_redemptions SET periods_used = $3, remaining_minor = $4, \
                   status = $5, updated_at_us = $6 WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.id)
            .bind(row.periods_used)
            .bind(row.remaining_minor)
            .bind(&row.status)
            .bind(row.updated_at_us)
            .execute(&mut *c)
            .await
            .map(|_| ())?);
        Ok(())
    }

    pub async fn insert_wallet(&mut self, row: &WalletRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "wallets",
            WalletRow,
            row,
            [
                id,
                tenant_id,
                account_id,
                code,
                currency,
                balance_minor,
                applies_to,
                created_at_us,
                updated_at_us
            ]
        ));
        Ok(())
    }

    /// An account's wallets in the order they were created.
    pub async fn account_wallets(&mut self, tenant: &str, account: &str) -> Result<Vec<WalletRow>> {
        let sql = "SELECT * FROM wallets WHERE tenant_id = $1 AND account_id = $2 \
                   ORDER BY created_at_us, id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn set_wallet_balance(
        &mut self,
        tenant: &str,
        id: &str,
        balance_minor: i64,
        now_us: i64,
    ) -> Result<()> {
        let sql = "UPDATE wallets SET balance_minor = $3, updated_at_us = $4 \
                   WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(balance_minor)
            .bind(now_us)
            .execute(&mut *c)
            .await
            .map(|_| ())?);
        Ok(())
    }
}
