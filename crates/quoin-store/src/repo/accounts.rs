//! Accounts with their contacts and service locations.

use super::{insert_row, Page};
use crate::rows::{AccountRow, ContactRow, LocationRow};
use crate::{on_tx, Result, Tx};

/// Filters for listing accounts; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    pub kind: Option<String>,
    pub parent_id: Option<String>,
    pub bill_to_id: Option<String>,
    pub external_id: Option<String>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
}

impl Tx {
    pub async fn insert_account(&mut self, row: &AccountRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "accounts",
            AccountRow,
            row,
            [
                id,
                tenant_id,
                kind,
                name,
                email,
                external_id,
                parent_id,
                bill_to_id,
                ban,
                currency,
                bill_cycle_day,
                alignment,
                proration,
                payment_terms_days,
                time_zone,
                status,
                created_at_us,
                updated_at_us,
                termination_day
            ]
        ));
        Ok(())
    }

    /// Reads an account and holds a row lock on it until the transaction ends, so
    /// read-modify-write use cases (updates, the first subscription setting the bill cycle
    /// day, a billing run) on PostgreSQL serialise per account. SQLite has one writer
    /// already, so it reads plainly.
    pub async fn lock_account(&mut self, tenant: &str, id: &str) -> Result<Option<AccountRow>> {
        match self {
            Tx::Postgres(t) => Ok(sqlx::query_as(
                "SELECT * FROM accounts WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            )
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut **t)
            .await?),
            Tx::Sqlite(_) => self.get_account(tenant, id).await,
        }
    }

    pub async fn get_account(&mut self, tenant: &str, id: &str) -> Result<Option<AccountRow>> {
        let sql = "SELECT * FROM accounts WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn list_accounts(
        &mut self,
        tenant: &str,
        filter: &AccountFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<AccountRow>> {
        let sql = "SELECT * FROM accounts WHERE tenant_id = $1 \
                   AND ($2 IS NULL OR id > $2) \
                   AND ($3 IS NULL OR kind = $3) \
                   AND ($4 IS NULL OR parent_id = $4) \
                   AND ($5 IS NULL OR bill_to_id = $5) \
                   AND ($6 IS NULL OR external_id = $6) \
                   AND ($7 IS NULL OR LOWER(name) LIKE $7 ESCAPE '\\') \
                   ORDER BY id LIMIT $8";
        let pattern = filter.name_contains.as_ref().map(|q| {
            // The search text is literal: escape LIKE's wildcards.
            let escaped = q
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let rows: Vec<AccountRow> = on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(after)
            .bind(&filter.kind)
            .bind(&filter.parent_id)
            .bind(&filter.bill_to_id)
            .bind(&filter.external_id)
            .bind(&pattern)
            .bind(limit + 1)
            .fetch_all(&mut *c)
            .await?);
        Ok(Page::from_overfetch(rows, limit, |r| r.id.clone()))
    }

    /// Writes the mutable fields of an account (identity, tenant, BAN and hierarchy stay).
    pub async fn update_account(&mut self, row: &AccountRow) -> Result<bool> {
        let sql = "UPDATE accounts SET name = $3, email = $4, external_id = $5, \
                   bill_cycle_day = $6, alignment = $7, proration = $8, payment_terms_days = $9, \
                   time_zone = $10, status = $11, updated_at_us = $12, termination_day = $13 \
                   WHERE tenant_id = $1 AND id = $2";
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.id)
            .bind(&row.name)
            .bind(&row.email)
            .bind(&row.external_id)
            .bind(row.bill_cycle_day)
            .bind(&row.alignment)
            .bind(&row.proration)
            .bind(row.payment_terms_days)
            .bind(&row.time_zone)
            .bind(&row.status)
            .bind(row.updated_at_us)
            .bind(&row.termination_day)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Sets the bill cycle day (Kill Bill style: the first subscription fixes an unset BCD).
    pub async fn set_account_bill_cycle_day(
        &mut self,
        tenant: &str,
        id: &str,
        day: i64,
        at_us: i64,
    ) -> Result<()> {
        let sql = "UPDATE accounts SET bill_cycle_day = $3, updated_at_us = $4 \
                   WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(day)
            .bind(at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    pub async fn insert_contact(&mut self, row: &ContactRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "contacts",
            ContactRow,
            row,
            [
                id,
                tenant_id,
                account_id,
                name,
                email,
                phone,
                role,
                created_at_us
            ]
        ));
        Ok(())
    }

    pub async fn list_contacts(&mut self, tenant: &str, account: &str) -> Result<Vec<ContactRow>> {
        let sql = "SELECT * FROM contacts WHERE tenant_id = $1 AND account_id = $2 ORDER BY id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn insert_location(&mut self, row: &LocationRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "locations",
            LocationRow,
            row,
            [
                id,
                tenant_id,
                account_id,
                label,
                line1,
                line2,
                city,
                region,
                postal_code,
                country,
                created_at_us
            ]
        ));
        Ok(())
    }

    pub async fn list_locations(
        &mut self,
        tenant: &str,
        account: &str,
    ) -> Result<Vec<LocationRow>> {
        let sql = "SELECT * FROM locations WHERE tenant_id = $1 AND account_id = $2 ORDER BY id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .fetch_all(&mut *c)
            .await?))
    }
}
