//! Invoice runs, their per-account errors, run schedules, and the bulk helpers a run uses.

use super::{insert_row, Page};
use crate::{on_tx, Result, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvoiceRunRow {
    pub id: String,
    pub tenant_id: String,
    pub chain: String,
    pub as_of: Option<String>,
    pub at_us: i64,
    pub status: String,
    pub triggered_by: String,
    pub schedule_id: Option<String>,
    pub step: i64,
    pub cursor: Option<String>,
    pub accounts_billed: i64,
    pub invoices_created: i64,
    pub invoices_finalized: i64,
    pub invoices_sent: i64,
    pub errors: i64,
    pub lease_owner: Option<String>,
    pub heartbeat_us: Option<i64>,
    pub failure: Option<String>,
    pub created_at_us: i64,
    pub started_at_us: Option<i64>,
    pub finished_at_us: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvoiceRunErrorRow {
    pub tenant_id: String,
    pub run_id: String,
    pub account_id: String,
    pub code: String,
    pub message: String,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunScheduleRow {
    pub id: String,
    pub tenant_id: String,
    pub cron: String,
    pub time_zone: String,
    pub chain: String,
    pub enabled: i64,
    pub next_run_at_us: Option<i64>,
    pub last_run_id: Option<String>,
    pub created_at_us: i64,
}

/// What one committed chunk adds to a run, and where it leaves the cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunProgress {
    pub step: i64,
    pub cursor: Option<String>,
    pub accounts_billed: i64,
    pub invoices_created: i64,
    pub invoices_finalized: i64,
    pub invoices_sent: i64,
    pub errors: i64,
}

impl Tx {
    /// Inserts a run; false when the tenant already has an active (queued or running) run.
    pub async fn insert_invoice_run(&mut self, row: &InvoiceRunRow) -> Result<bool> {
        self.savepoint("run_insert").await?;
        let r: Result<()> = async {
            on_tx!(self, |c| insert_row!(
                &mut *c,
                "invoice_runs",
                InvoiceRunRow,
                row,
                [
                    id,
                    tenant_id,
                    chain,
                    as_of,
                    at_us,
                    status,
                    triggered_by,
                    schedule_id,
                    step,
                    cursor,
                    accounts_billed,
                    invoices_created,
                    invoices_finalized,
                    invoices_sent,
                    errors,
                    lease_owner,
                    heartbeat_us,
                    failure,
                    created_at_us,
                    started_at_us,
                    finished_at_us
                ]
            ));
            Ok(())
        }
        .await;
        match r {
            Ok(()) => {
                self.release_savepoint("run_insert").await?;
                Ok(true)
            }
            Err(e) if e.is_unique_violation() => {
                self.rollback_to_savepoint("run_insert").await?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn get_invoice_run(
        &mut self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<InvoiceRunRow>> {
        let sql = "SELECT * FROM invoice_runs WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// The tenant's queued or running run, if any.
    pub async fn active_invoice_run(&mut self, tenant: &str) -> Result<Option<InvoiceRunRow>> {
        let sql = "SELECT * FROM invoice_runs WHERE tenant_id = $1 \
                   AND status IN ('queued', 'running')";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Runs newest first (ids are time-ordered); `before` is the previous page's cursor.
    pub async fn list_invoice_runs(
        &mut self,
        tenant: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Page<InvoiceRunRow>> {
        let sql = "SELECT * FROM invoice_runs WHERE tenant_id = $1 \
                   AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3";
        let rows: Vec<InvoiceRunRow> = on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(before)
            .bind(limit + 1)
            .fetch_all(&mut *c)
            .await?);
        Ok(Page::from_overfetch(rows, limit, |r| r.id.clone()))
    }

    /// Claims the run for `owner`: succeeds when it is queued, or running with no owner,
    /// the same owner, or a heartbeat older than `stale_before_us` (a dead process).
    pub async fn claim_invoice_run(
        &mut self,
        tenant: &str,
        id: &str,
        owner: &str,
        now_us: i64,
        stale_before_us: i64,
    ) -> Result<bool> {
        let sql = "UPDATE invoice_runs SET status = 'running', lease_owner = $3, \
                   heartbeat_us = $4, started_at_us = COALESCE(started_at_us, $4) \
                   WHERE tenant_id = $1 AND id = $2 AND (status = 'queued' OR (status = 'running' \
                   AND (lease_owner IS NULL OR lease_owner = $3 OR heartbeat_us IS NULL \
                   OR heartbeat_us < $5)))";
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(owner)
            .bind(now_us)
            .bind(stale_before_us)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Adds a chunk's progress and renews the lease, in the chunk's transaction; false when
    /// the run is no longer running under `owner` (taken over or cancelled): roll back.
    pub async fn advance_invoice_run(
        &mut self,
        tenant: &str,
        id: &str,
        owner: &str,
        p: &RunProgress,
        now_us: i64,
    ) -> Result<bool> {
        let sql = "UPDATE invoice_runs SET step = $4, cursor = $5, \
                   accounts_billed = accounts_billed + $6, invoices_created = invoices_created + $7, \
                   invoices_finalized = invoices_finalized + $8, invoices_sent = invoices_sent + $9, \
                   errors = errors + $10, heartbeat_us = $11 \
                   WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND status = 'running'";
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(owner)
            .bind(p.step)
            .bind(&p.cursor)
            .bind(p.accounts_billed)
            .bind(p.invoices_created)
            .bind(p.invoices_finalized)
            .bind(p.invoices_sent)
            .bind(p.errors)
            .bind(now_us)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Ends a run (succeeded, failed or cancelled); false when it was not active.
    pub async fn finish_invoice_run(
        &mut self,
        tenant: &str,
        id: &str,
        status: &str,
        failure: Option<&str>,
        now_us: i64,
    ) -> Result<bool> {
        let sql = "UPDATE invoice_runs SET status = $3, failure = $4, finished_at_us = $5, \
                   lease_owner = NULL WHERE tenant_id = $1 AND id = $2 \
                   AND status IN ('queued', 'running')";
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(status)
            .bind(failure)
            .bind(now_us)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Records an account's failure on the run and on the account.
    pub async fn record_run_error(&mut self, row: &InvoiceRunErrorRow) -> Result<()> {
        let sql = "INSERT INTO invoice_run_errors (tenant_id, run_id, account_id, code, message, created_at_us) \
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, run_id, account_id) \
                   DO UPDATE SET code = excluded.code, message = excluded.message";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.run_id)
            .bind(&row.account_id)
            .bind(&row.code)
            .bind(&row.message)
            .bind(row.created_at_us)
            .execute(&mut *c)
            .await?;);
        let sql = "INSERT INTO account_billing_errors (tenant_id, account_id, run_id, code, message, at_us) \
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, account_id) \
                   DO UPDATE SET run_id = excluded.run_id, code = excluded.code, \
                   message = excluded.message, at_us = excluded.at_us";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.account_id)
            .bind(&row.run_id)
            .bind(&row.code)
            .bind(&row.message)
            .bind(row.created_at_us)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Clears earlier failures of accounts in `(after, through]` that `run` billed.
    pub async fn clear_account_billing_errors(
        &mut self,
        tenant: &str,
        after: Option<&str>,
        through: &str,
        run: &str,
    ) -> Result<()> {
        let sql = "DELETE FROM account_billing_errors WHERE tenant_id = $1 \
                   AND ($2 IS NULL OR account_id > $2) AND account_id <= $3 AND run_id <> $4";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(after)
            .bind(through)
            .bind(run)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// The account's last billing failure: (run id, code, message, at).
    pub async fn account_billing_error(
        &mut self,
        tenant: &str,
        account: &str,
    ) -> Result<Option<(String, String, String, i64)>> {
        let sql = "SELECT run_id, code, message, at_us FROM account_billing_errors \
                   WHERE tenant_id = $1 AND account_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(account)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn invoice_run_errors(
        &mut self,
        tenant: &str,
        run: &str,
        limit: i64,
    ) -> Result<Vec<InvoiceRunErrorRow>> {
        let sql = "SELECT * FROM invoice_run_errors WHERE tenant_id = $1 AND run_id = $2 \
                   ORDER BY account_id LIMIT $3";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(run)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Marks invoices as created by `run`.
    pub async fn tag_invoices_with_run(
        &mut self,
        tenant: &str,
        run: &str,
        ids: &[String],
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // One packed list, not a `$n` per id: sqlx's SQLite binding cost grows with the
        // number of parameters (see repo/billing_page.rs).
        const SET: &str = "UPDATE invoices SET run_id = $2 WHERE tenant_id = $1 AND id IN";
        match self {
            Tx::Sqlite(t) => {
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                sqlx::query(&format!("{SET} (SELECT value FROM json_each($3))"))
                    .bind(tenant)
                    .bind(run)
                    .bind(super::usage::pack_strs(&refs))
                    .execute(&mut **t)
                    .await?;
            }
            Tx::Postgres(t) => {
                sqlx::query(&format!("{SET} (SELECT unnest($3::text[]))"))
                    .bind(tenant)
                    .bind(run)
                    .bind(ids)
                    .execute(&mut **t)
                    .await?;
            }
        }
        Ok(())
    }

    /// Invoice ids of `run` with `status`, after `after`, in id order.
    pub async fn run_invoice_ids(
        &mut self,
        tenant: &str,
        run: &str,
        status: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<String>> {
        let sql = "SELECT id FROM invoices WHERE tenant_id = $1 AND run_id = $2 AND status = $3 \
                   AND ($4 IS NULL OR id > $4) ORDER BY id LIMIT $5";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(run)
            .bind(status)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Starts a savepoint inside the transaction (both backends support them).
    pub async fn savepoint(&mut self, name: &str) -> Result<()> {
        let sql = format!("SAVEPOINT {name}");
        on_tx!(self, |c| sqlx::query(&sql).execute(&mut *c).await?;);
        Ok(())
    }

    pub async fn release_savepoint(&mut self, name: &str) -> Result<()> {
        let sql = format!("RELEASE SAVEPOINT {name}");
        on_tx!(self, |c| sqlx::query(&sql).execute(&mut *c).await?;);
        Ok(())
    }

    /// Undoes everything since the savepoint and ends it.
    pub async fn rollback_to_savepoint(&mut self, name: &str) -> Result<()> {
        let sql = format!("ROLLBACK TO SAVEPOINT {name}");
        on_tx!(self, |c| sqlx::query(&sql).execute(&mut *c).await?;);
        self.release_savepoint(name).await
    }

    pub async fn insert_run_schedule(&mut self, row: &RunScheduleRow) -> Result<()> {
        on_tx!(self, |c| insert_row!(
            &mut *c,
            "invoice_run_schedules",
            RunScheduleRow,
            row,
            [
                id,
                tenant_id,
                cron,
                time_zone,
                chain,
                enabled,
                next_run_at_us,
                last_run_id,
                created_at_us
            ]
        ));
        Ok(())
    }

    pub async fn list_run_schedules(&mut self, tenant: &str) -> Result<Vec<RunScheduleRow>> {
        let sql = "SELECT * FROM invoice_run_schedules WHERE tenant_id = $1 ORDER BY id";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn get_run_schedule(
        &mut self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<RunScheduleRow>> {
        let sql = "SELECT * FROM invoice_run_schedules WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    pub async fn delete_run_schedule(&mut self, tenant: &str, id: &str) -> Result<bool> {
        let sql = "DELETE FROM invoice_run_schedules WHERE tenant_id = $1 AND id = $2";
        let n = on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Enabled schedules of the tenant due at `now_us`.
    pub async fn due_run_schedules(
        &mut self,
        tenant: &str,
        now_us: i64,
    ) -> Result<Vec<RunScheduleRow>> {
        let sql = "SELECT * FROM invoice_run_schedules WHERE tenant_id = $1 AND enabled = 1 \
                   AND next_run_at_us IS NOT NULL AND next_run_at_us <= $2 ORDER BY next_run_at_us";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(now_us)
            .fetch_all(&mut *c)
            .await?))
    }

    /// Moves a schedule to its next fire time, remembering the run it started.
    pub async fn schedule_fired(
        &mut self,
        tenant: &str,
        id: &str,
        next_us: Option<i64>,
        run: Option<&str>,
    ) -> Result<()> {
        let sql = "UPDATE invoice_run_schedules SET next_run_at_us = $3, \
                   last_run_id = COALESCE($4, last_run_id) WHERE tenant_id = $1 AND id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(id)
            .bind(next_us)
            .bind(run)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Running runs of the tenant whose heartbeat is older than `stale_before_us`.
    pub async fn stale_invoice_runs(
        &mut self,
        tenant: &str,
        stale_before_us: i64,
    ) -> Result<Vec<InvoiceRunRow>> {
        let sql = "SELECT * FROM invoice_runs WHERE tenant_id = $1 AND status = 'running' \
                   AND (heartbeat_us IS NULL OR heartbeat_us < $2)";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(stale_before_us)
            .fetch_all(&mut *c)
            .await?))
    }

    /// A failed run back to running (to be claimed again); errors with a unique violation
    /// when another run of the tenant became active meanwhile.
    pub async fn reopen_invoice_run(&mut self, tenant: &str, id: &str) -> Result<bool> {
        self.savepoint("run_reopen").await?;
        let sql = "UPDATE invoice_runs SET status = 'running', lease_owner = NULL, \
                   failure = NULL, finished_at_us = NULL \
                   WHERE tenant_id = $1 AND id = $2 AND status = 'failed'";
        let r: Result<u64> = async {
            Ok(on_tx!(self, |c| sqlx::query(sql)
                .bind(tenant)
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()))
        }
        .await;
        match r {
            Ok(n) => {
                self.release_savepoint("run_reopen").await?;
                Ok(n == 1)
            }
            Err(e) => {
                self.rollback_to_savepoint("run_reopen").await?;
                Err(e)
            }
        }
    }

    /// Bill-to accounts after `after` with work for billing, in id order: like
    /// `bill_to_accounts_page`, but written so both planners seek to `after` instead of
    /// scanning the tenant's subscriptions from the start on every page.
    pub async fn run_accounts_page(
        &mut self,
        tenant: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<String>> {
        use super::subscriptions::BILLABLE;
        let sql = match after {
            Some(_) => format!(
                "SELECT DISTINCT bill_to_id FROM subscriptions WHERE tenant_id = $1 \
                 AND bill_to_id > $2 AND {BILLABLE} ORDER BY bill_to_id LIMIT $3"
            ),
            None => format!(
                "SELECT DISTINCT bill_to_id FROM subscriptions WHERE tenant_id = $1 \
                 AND $2 IS NULL AND {BILLABLE} ORDER BY bill_to_id LIMIT $3"
            ),
        };
        Ok(on_tx!(self, |c| sqlx::query_scalar(&sql)
            .bind(tenant)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?))
    }

    /// How many bill-to accounts a billing run walks.
    pub async fn count_bill_to_accounts(&mut self, tenant: &str) -> Result<i64> {
        let sql = "SELECT COUNT(DISTINCT bill_to_id) FROM subscriptions WHERE tenant_id = $1 \
                   AND (status <> 'disconnected' OR reconcile_from IS NOT NULL)";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .fetch_one(&mut *c)
            .await?))
    }
}

/// `INSERT INTO table (fields…) VALUES (…), (…), …` for many rows in one statement (up to
/// `BULK_ROWS` rows), binding the same-named fields; forgetting a column is a compile error.
macro_rules! bulk_insert {
    ($tx:expr, $table:literal, $ty:ident, $rows:expr, [$($field:ident),+ $(,)?]) => {{
        let cols: &[&str] = &[$(stringify!($field)),+];
        for chunk in $rows.chunks(BULK_ROWS) {
            let mut sql = format!("INSERT INTO {} ({}) VALUES ", $table, cols.join(", "));
            let mut n = 0usize;
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for j in 0..cols.len() {
                    if j > 0 {
                        sql.push_str(", ");
                    }
                    n += 1;
                    sql.push_str(&$tx.placeholder(n));
                }
                sql.push(')');
            }
            on_tx!($tx, |c| {
                let mut q = sqlx::query(&sql);
                for row in chunk {
                    let $ty { $($field),+ } = row;
                    $(q = q.bind($field);)+
                }
                q.execute(&mut *c).await?;
            });
        }
    }};
}

/// Rows per multi-row INSERT: keeps binds under SQLite's 32766 and PostgreSQL's 65535.
const BULK_ROWS: usize = 400;

use crate::rows::{
    AccountRow, ItemSegmentRow, SubscriptionItemRow, SubscriptionRow, SubscriptionVersionRow,
};

/// Bulk loading for benchmarks and imports: many rows per statement.
impl Tx {
    pub async fn bulk_insert_accounts(&mut self, rows: &[AccountRow]) -> Result<()> {
        bulk_insert!(
            self,
            "accounts",
            AccountRow,
            rows,
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
        );
        Ok(())
    }

    pub async fn bulk_insert_subscriptions(&mut self, rows: &[SubscriptionRow]) -> Result<()> {
        bulk_insert!(
            self,
            "subscriptions",
            SubscriptionRow,
            rows,
            [
                id,
                tenant_id,
                account_id,
                bill_to_id,
                product_id,
                price_id,
                quantity,
                start_date,
                status,
                billed_through,
                created_at_us,
                external_id,
                parent_id,
                location_id,
                end_date,
                term_code,
                term_start,
                term_end,
                end_of_term,
                coterminate,
                operational_status,
                version,
                reconcile_from,
                updated_at_us,
                progressive_threshold,
                minimum_commitment
            ]
        );
        Ok(())
    }

    pub async fn bulk_insert_items(&mut self, rows: &[SubscriptionItemRow]) -> Result<()> {
        bulk_insert!(
            self,
            "subscription_items",
            SubscriptionItemRow,
            rows,
            [
                id,
                tenant_id,
                subscription_id,
                usage_key,
                position,
                billed_through,
                created_at_us,
                usage_reconcile_from
            ]
        );
        Ok(())
    }

    pub async fn bulk_insert_segments(&mut self, rows: &[ItemSegmentRow]) -> Result<()> {
        bulk_insert!(
            self,
            "subscription_item_segments",
            ItemSegmentRow,
            rows,
            [
                tenant_id,
                item_id,
                subscription_id,
                start_date,
                end_date,
                price_id,
                quantity,
                unit_amount,
                version
            ]
        );
        Ok(())
    }

    pub async fn bulk_insert_versions(&mut self, rows: &[SubscriptionVersionRow]) -> Result<()> {
        bulk_insert!(
            self,
            "subscription_versions",
            SubscriptionVersionRow,
            rows,
            [
                tenant_id,
                subscription_id,
                version,
                operation,
                effective_date,
                status,
                details,
                created_at_us
            ]
        );
        Ok(())
    }
}

/// An outbox event held for a page flush (`record_event` writes one at a time).
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub tenant_id: String,
    pub topic: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub payload: String,
    pub created_at_us: i64,
}

/// What an invoice-run page writes, held in memory and flushed with a few multi-row
/// statements at the end of the page (one statement per row was most of a run's time).
/// Only for a page billed without savepoints: a failure rolls the whole page back.
#[derive(Debug, Default)]
pub struct PageWrites {
    pub invoices: Vec<crate::rows::InvoiceRow>,
    pub lines: Vec<crate::rows::InvoiceLineRow>,
    pub ledger_entries: Vec<super::ledger::LedgerEntryRow>,
    pub settlements: Vec<super::ledger::InvoiceSettlementRow>,
    pub events: Vec<PendingEvent>,
    /// (item id, billed through)
    pub item_billed_through: Vec<(String, Option<String>)>,
    /// (subscription id, billed through)
    pub sub_billed_through: Vec<(String, String)>,
    /// The tenant's next invoice number while the page draws numbers.
    pub next_invoice_number: Option<i64>,
}

impl Tx {
    /// Inserts invoices, many rows per statement (`insert_invoice` is the one-row case).
    pub async fn bulk_insert_invoices(&mut self, rows: &[crate::rows::InvoiceRow]) -> Result<()> {
        use crate::rows::InvoiceRow;
        bulk_insert!(
            self,
            "invoices",
            InvoiceRow,
            rows,
            [
                id,
                tenant_id,
                account_id,
                currency,
                status,
                number,
                invoice_date,
                due_date,
                period_start,
                period_end,
                total_minor,
                created_at_us,
                finalized_at_us,
                subtotal_minor,
                discount_minor,
                tax_minor
            ]
        );
        Ok(())
    }

    /// Inserts invoice lines, many rows per statement.
    pub async fn bulk_insert_invoice_lines(
        &mut self,
        rows: &[crate::rows::InvoiceLineRow],
    ) -> Result<()> {
        use crate::rows::InvoiceLineRow;
        bulk_insert!(
            self,
            "invoice_lines",
            InvoiceLineRow,
            rows,
            [
                id,
                tenant_id,
                invoice_id,
                position,
                kind,
                subscription_id,
                item_id,
                price_id,
                description,
                period_start,
                period_end,
                full_start,
                full_end,
                quantity,
                unit_amount,
                proration_num,
                proration_den,
                amount_minor,
                repairs_line_id,
                discount_minor,
                tax_minor,
                detail
            ]
        );
        Ok(())
    }

    /// The next value `next_sequence_value` would hand out, without taking it.
    pub async fn peek_sequence_value(
        &mut self,
        tenant: &str,
        name: &str,
        first: i64,
    ) -> Result<i64> {
        let sql = "SELECT next_value FROM sequences WHERE tenant_id = $1 AND name = $2";
        let v: Option<i64> = on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(name)
            .fetch_optional(&mut *c)
            .await?);
        Ok(v.unwrap_or(first))
    }

    /// Writes a page's buffered rows: parents before children, events in the order the
    /// page raised them, then the billed-through marks and the invoice sequence.
    pub async fn flush_page_writes(&mut self, tenant: &str, w: &PageWrites) -> Result<()> {
        use super::ledger::LedgerEntryRow;
        self.bulk_insert_invoices(&w.invoices).await?;
        self.bulk_insert_invoice_lines(&w.lines).await?;
        bulk_insert!(
            self,
            "ledger_entries",
            LedgerEntryRow,
            &w.ledger_entries,
            [tenant_id, account_id, seq, kind, document_id, created_at_us]
        );
        self.upsert_settlements(&w.settlements).await?;
        if !w.events.is_empty() {
            if let Tx::Postgres(t) = self {
                // As `record_event`: ids become visible in commit order.
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(tenant)
                    .execute(&mut **t)
                    .await?;
            }
            bulk_insert!(
                self,
                "outbox",
                PendingEvent,
                &w.events,
                [
                    tenant_id,
                    topic,
                    aggregate_type,
                    aggregate_id,
                    payload,
                    created_at_us
                ]
            );
        }
        let mut items: std::collections::BTreeMap<Option<&str>, Vec<&str>> = Default::default();
        for (id, through) in &w.item_billed_through {
            items.entry(through.as_deref()).or_default().push(id);
        }
        for (through, ids) in items {
            self.set_many_billed_through("subscription_items", tenant, &ids, through)
                .await?;
        }
        let mut subs: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (id, through) in &w.sub_billed_through {
            subs.entry(through.as_str()).or_default().push(id);
        }
        for (through, ids) in subs {
            self.set_many_billed_through("subscriptions", tenant, &ids, Some(through))
                .await?;
        }
        if let Some(next) = w.next_invoice_number {
            let sql = "INSERT INTO sequences (tenant_id, name, next_value) VALUES ($1, 'invoice', $2) \
                       ON CONFLICT (tenant_id, name) DO UPDATE SET next_value = excluded.next_value";
            on_tx!(self, |c| sqlx::query(sql)
                .bind(tenant)
                .bind(next)
                .execute(&mut *c)
                .await?;);
        }
        Ok(())
    }

    /// `upsert_invoice_settlement` for many rows: the last row of an invoice wins (one
    /// statement may not touch a row twice on PostgreSQL).
    async fn upsert_settlements(
        &mut self,
        rows: &[super::ledger::InvoiceSettlementRow],
    ) -> Result<()> {
        let mut last: std::collections::HashMap<&str, usize> = Default::default();
        for (i, r) in rows.iter().enumerate() {
            last.insert(r.invoice_id.as_str(), i);
        }
        let kept: Vec<&super::ledger::InvoiceSettlementRow> = rows
            .iter()
            .enumerate()
            .filter(|(i, r)| last.get(r.invoice_id.as_str()) == Some(i))
            .map(|(_, r)| r)
            .collect();
        for chunk in kept.chunks(BULK_ROWS) {
            let mut sql = String::from(
                "INSERT INTO invoice_settlements (tenant_id, invoice_id, account_id, paid_minor, \
                 credited_minor, open_minor, void_reason, voided_at_us) VALUES ",
            );
            let mut n = 0;
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for j in 0..8 {
                    n += 1;
                    if j > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&self.placeholder(n));
                }
                sql.push(')');
            }
            sql.push_str(
                " ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET paid_minor = excluded.paid_minor, \
                 credited_minor = excluded.credited_minor, open_minor = excluded.open_minor, \
                 void_reason = COALESCE(excluded.void_reason, invoice_settlements.void_reason), \
                 voided_at_us = COALESCE(excluded.voided_at_us, invoice_settlements.voided_at_us)",
            );
            on_tx!(self, |c| {
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(&r.tenant_id)
                        .bind(&r.invoice_id)
                        .bind(&r.account_id)
                        .bind(r.paid_minor)
                        .bind(r.credited_minor)
                        .bind(r.open_minor)
                        .bind(&r.void_reason)
                        .bind(r.voided_at_us);
                }
                q.execute(&mut *c).await?;
            });
        }
        Ok(())
    }

    /// `UPDATE <table> SET billed_through = $2` for many ids in one statement.
    async fn set_many_billed_through(
        &mut self,
        table: &str,
        tenant: &str,
        ids: &[&str],
        through: Option<&str>,
    ) -> Result<()> {
        let set = format!("UPDATE {table} SET billed_through = $2 WHERE");
        match self {
            Tx::Sqlite(t) => {
                // `+tenant_id`: SQLite would otherwise pick a (tenant_id, …) index and walk
                // every row of the tenant instead of looking each id up.
                sqlx::query(&format!(
                    "{set} +tenant_id = $1 AND id IN (SELECT value FROM json_each($3))"
                ))
                .bind(tenant)
                .bind(through)
                .bind(super::usage::pack_strs(ids))
                .execute(&mut **t)
                .await?;
            }
            Tx::Postgres(t) => {
                sqlx::query(&format!(
                    "{set} tenant_id = $1 AND id IN (SELECT unnest($3::text[]))"
                ))
                .bind(tenant)
                .bind(through)
                .bind(ids)
                .execute(&mut **t)
                .await?;
            }
        }
        Ok(())
    }
}
