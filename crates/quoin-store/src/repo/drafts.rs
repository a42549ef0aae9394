//! Continuous draft invoices: which bill-to accounts received usage since their stored
//! draft was computed, and the stored drafts themselves (`draft_invoices`).

use crate::{on_tx, Result, Tx};

/// One account's draft state; `invoice` is the app's Invoice JSON.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DraftInvoiceRow {
    pub tenant_id: String,
    pub account_id: String,
    pub usage_version: i64,
    pub usage_at_us: Option<i64>,
    pub draft_version: i64,
    pub draft_usage_at_us: Option<i64>,
    pub refreshed_at_us: Option<i64>,
    pub invoice: Option<String>,
    pub problem: Option<String>,
}

/// A draft as a refresh computed it.
#[derive(Debug, Clone, Copy)]
pub struct NewDraft<'a> {
    pub account_id: &'a str,
    /// The `usage_version` the computation saw.
    pub version: i64,
    pub usage_at_us: Option<i64>,
    pub refreshed_at_us: i64,
    pub invoice: Option<&'a str>,
    pub problem: Option<&'a str>,
}

impl Tx {
    /// Makes the stored drafts of `accounts` due for a refresh (billing invoiced what they
    /// showed). Only drafts that exist: an account that never had usage keeps none, so an
    /// invoice run does not create a million drafts to recompute.
    ///
    /// Rows are locked in account order, as [`Tx::mark_draft_usage`] locks them: a plain
    /// `UPDATE … IN (…)` visits them in the order they lie on disk, and against an ingest
    /// transaction marking the same accounts in id order each could hold a row the other
    /// waits for (PostgreSQL fails one of them with a deadlock).
    pub async fn touch_drafts(&mut self, tenant: &str, accounts: &[&str]) -> Result<()> {
        if accounts.is_empty() {
            return Ok(());
        }
        match self {
            // One writer at a time: no lock order to keep.
            Tx::Sqlite(t) => {
                sqlx::query(
                    "UPDATE draft_invoices SET usage_version = usage_version + 1 \
                     WHERE tenant_id = $1 AND account_id IN (SELECT value FROM json_each($2))",
                )
                .bind(tenant)
                .bind(super::usage::pack_strs(accounts))
                .execute(&mut **t)
                .await?;
            }
            Tx::Postgres(t) => {
                sqlx::query(
                    "UPDATE draft_invoices d SET usage_version = d.usage_version + 1 \
                     FROM (SELECT account_id FROM draft_invoices WHERE tenant_id = $1 \
                           AND account_id = ANY($2::text[]) ORDER BY account_id FOR UPDATE) l \
                     WHERE d.tenant_id = $1 AND d.account_id = l.account_id",
                )
                .bind(tenant)
                .bind(accounts)
                .execute(&mut **t)
                .await?;
            }
        }
        Ok(())
    }

    /// Notes that `accounts` received usage at `now_us`: one statement for all of them,
    /// so an ingest transaction pays it once, not per event. Rows are inserted or locked in
    /// account order (see [`Tx::touch_drafts`]).
    pub async fn mark_draft_usage(
        &mut self,
        tenant: &str,
        accounts: &[&str],
        now_us: i64,
    ) -> Result<()> {
        if accounts.is_empty() {
            return Ok(());
        }
        const SET: &str = "ON CONFLICT (tenant_id, account_id) DO UPDATE SET \
            usage_version = draft_invoices.usage_version + 1, usage_at_us = excluded.usage_at_us";
        match self {
            Tx::Sqlite(t) => {
                let packed = super::usage::pack_strs(accounts);
                sqlx::query(&format!(
                    "INSERT INTO draft_invoices (tenant_id, account_id, usage_version, \
                     usage_at_us) SELECT $1, value, 1, $2 FROM json_each($3) WHERE true {SET}"
                ))
                .bind(tenant)
                .bind(now_us)
                .bind(packed)
                .execute(&mut **t)
                .await?;
            }
            Tx::Postgres(t) => {
                sqlx::query(&format!(
                    "INSERT INTO draft_invoices (tenant_id, account_id, usage_version, \
                     usage_at_us) SELECT $1, a, 1, $2 FROM UNNEST($3::text[]) AS u(a) ORDER BY a {SET}"
                ))
                .bind(tenant)
                .bind(now_us)
                .bind(accounts)
                .execute(&mut **t)
                .await?;
            }
        }
        Ok(())
    }

    /// Accounts with usage their draft does not include yet, refreshed at or before
    /// `refreshed_before_us` (or never), by account id.
    pub async fn due_drafts(
        &mut self,
        tenant: &str,
        refreshed_before_us: i64,
        limit: i64,
    ) -> Result<Vec<String>> {
        let sql = "SELECT account_id FROM draft_invoices WHERE tenant_id = $1 \
                   AND usage_version > draft_version \
                   AND (refreshed_at_us IS NULL OR refreshed_at_us <= $2) \
                   ORDER BY account_id LIMIT $3";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(refreshed_before_us)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn get_draft(
        &mut self,
        tenant: &str,
        account: &str,
    ) -> Result<Option<DraftInvoiceRow>> {
        let sql = "SELECT * FROM draft_invoices WHERE tenant_id = $1 AND account_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Stores a computed draft (creating the account's row if it has none).
    pub async fn store_draft(&mut self, tenant: &str, d: &NewDraft<'_>) -> Result<()> {
        let sql = "INSERT INTO draft_invoices (tenant_id, account_id, draft_version, \
                   draft_usage_at_us, refreshed_at_us, invoice, problem) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7) \
                   ON CONFLICT (tenant_id, account_id) DO UPDATE SET \
                   draft_version = excluded.draft_version, \
                   draft_usage_at_us = excluded.draft_usage_at_us, \
                   refreshed_at_us = excluded.refreshed_at_us, \
                   invoice = excluded.invoice, problem = excluded.problem";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(d.account_id)
            .bind(d.version)
            .bind(d.usage_at_us)
            .bind(d.refreshed_at_us)
            .bind(d.invoice)
            .bind(d.problem)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }
}
