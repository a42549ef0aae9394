//! Usage: the event log with its exactly-once key, the suspense queue, and the rollups that
//! answer "quantity of an item's metric in a period" from days instead of events.
//!
//! The hot path writes borrowed rows in as few statements as possible: one `INSERT … SELECT
//! FROM json_each(packed rows)` on SQLite, one `UNNEST` insert per batch on PostgreSQL. `ON CONFLICT DO NOTHING` on `(tenant_id, event_id)` makes a
//! repeated id a no-op in the same commit that stores a new one.

use std::fmt::Write as _;

use crate::rows::{RollupRow, SuspenseRow, UsageEventRow};
use crate::{on_tx, Result, Tx};

/// One event to store, borrowed from the caller's batch.
#[derive(Debug, Clone, Copy)]
pub struct NewUsageEvent<'a> {
    pub event_id: &'a str,
    /// None: the event goes to suspense.
    pub item_id: Option<&'a str>,
    pub metric_code: &'a str,
    pub ts_us: i64,
    pub quantity: Option<&'a str>,
    pub properties: Option<&'a str>,
}

/// Appends `s` to `out` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_json_opt(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_json_str(out, s),
        None => out.push_str("null"),
    }
}

/// The rows packed as one JSON array of `[event_id, item_id, metric, ts_us, quantity,
/// properties]` arrays: SQLite unpacks it with `json_each` in C, so a whole batch costs one
/// bound value instead of six per row (sqlx's per-argument cost dominated before).
fn pack_rows(rows: &[NewUsageEvent<'_>]) -> String {
    let mut out = String::with_capacity(2 + rows.len() * 96);
    out.push('[');
    for (i, e) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        push_json_str(&mut out, e.event_id);
        out.push(',');
        push_json_opt(&mut out, e.item_id);
        out.push(',');
        push_json_str(&mut out, e.metric_code);
        out.push(',');
        let _ = write!(out, "{}", e.ts_us);
        out.push(',');
        push_json_opt(&mut out, e.quantity);
        out.push(',');
        push_json_opt(&mut out, e.properties);
        out.push(']');
    }
    out.push(']');
    out
}

/// A JSON array of strings (for `json_each` lookups).
pub(super) fn pack_strs(ids: &[&str]) -> String {
    let mut out = String::with_capacity(2 + ids.len() * 40);
    out.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(&mut out, id);
    }
    out.push(']');
    out
}

/// What the recycle and search queries select on.
#[derive(Debug, Clone, Default)]
pub struct SuspenseFilter<'a> {
    pub reason: Option<&'a str>,
    pub metric_code: Option<&'a str>,
    pub subscription_ref: Option<&'a str>,
    pub item_key: Option<&'a str>,
}

#[derive(Debug, Clone, Default)]
pub struct UsageEventFilter<'a> {
    pub subscription_id: Option<&'a str>,
    pub item_id: Option<&'a str>,
    pub metric_code: Option<&'a str>,
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
    /// Cursor: events strictly after (ts_us, event_id).
    pub after: Option<(i64, &'a str)>,
}

/// One item's metric over the days `[from_day, to_day)`: what a batched rollup read asks
/// for. Within one read each (item, metric) appears at most once.
#[derive(Debug, Clone, Copy)]
pub struct RollupWindow<'a> {
    pub item_id: &'a str,
    pub metric_code: &'a str,
    pub from_day: &'a str,
    pub to_day: &'a str,
}

/// The windows packed as one JSON array of `[item, metric, from, to]` arrays (SQLite).
fn pack_windows(windows: &[RollupWindow<'_>]) -> String {
    let mut out = String::with_capacity(2 + windows.len() * 64);
    out.push('[');
    for (i, w) in windows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        for (k, s) in [w.item_id, w.metric_code, w.from_day, w.to_day]
            .into_iter()
            .enumerate()
        {
            if k > 0 {
                out.push(',');
            }
            push_json_str(&mut out, s);
        }
        out.push(']');
    }
    out.push(']');
    out
}

/// The windows as four parallel arrays (PostgreSQL `UNNEST`).
type WindowColumns<'a> = (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>, Vec<&'a str>);

fn window_columns<'a>(windows: &[RollupWindow<'a>]) -> WindowColumns<'a> {
    (
        windows.iter().map(|w| w.item_id).collect(),
        windows.iter().map(|w| w.metric_code).collect(),
        windows.iter().map(|w| w.from_day).collect(),
        windows.iter().map(|w| w.to_day).collect(),
    )
}

/// A distinct-value count of one group of one item's metric over a window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UniqueCountRow {
    pub item_id: String,
    pub metric_code: String,
    pub group_key: String,
    pub distinct_values: i64,
}

impl Tx {
    /// Stores events not yet recorded under their id; returns how many were new. A batch
    /// must not repeat an id (the caller dedups within a batch first).
    pub async fn insert_usage_events(
        &mut self,
        tenant: &str,
        batch_no: i64,
        rows: &[NewUsageEvent<'_>],
    ) -> Result<u64> {
        self.write_usage_events("usage_events", tenant, batch_no, rows, true)
            .await
    }

    /// The same rows written by a plain `INSERT` (no dedup, no matching, no rollups): the
    /// baseline the ingest benchmark compares against.
    pub async fn insert_usage_events_plain(
        &mut self,
        tenant: &str,
        batch_no: i64,
        rows: &[NewUsageEvent<'_>],
    ) -> Result<u64> {
        self.write_usage_events("usage_events", tenant, batch_no, rows, false)
            .await
    }

    async fn write_usage_events(
        &mut self,
        table: &str,
        tenant: &str,
        batch_no: i64,
        rows: &[NewUsageEvent<'_>],
        ignore: bool,
    ) -> Result<u64> {
        let inserted = match self {
            Tx::Sqlite(t) => {
                // `WHERE true` keeps the parser from reading ON CONFLICT as a join clause.
                let sql =
                    format!(
                    "INSERT INTO {table} (tenant_id, batch_no, event_id, item_id, metric_code, \
                     ts_us, quantity, properties) SELECT $1, $2, value->>0, value->>1, \
                     value->>2, value->>3, value->>4, value->>5 FROM json_each($3) WHERE true{}",
                    if ignore { " ON CONFLICT DO NOTHING" } else { "" }
                );
                sqlx::query(&sql)
                    .bind(tenant)
                    .bind(batch_no)
                    .bind(pack_rows(rows))
                    .execute(&mut **t)
                    .await?
                    .rows_affected()
            }
            Tx::Postgres(t) => {
                let sql = format!(
                    "INSERT INTO {table} (tenant_id, batch_no, event_id, item_id, metric_code, \
                     ts_us, quantity, properties) SELECT $1, $2, e, i, m, t, q, p FROM \
                     UNNEST($3::text[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::text[]) \
                     AS u(e, i, m, t, q, p){}",
                    if ignore { " ON CONFLICT DO NOTHING" } else { "" }
                );
                let ids: Vec<&str> = rows.iter().map(|e| e.event_id).collect();
                let items: Vec<Option<&str>> = rows.iter().map(|e| e.item_id).collect();
                let metrics: Vec<&str> = rows.iter().map(|e| e.metric_code).collect();
                let ts: Vec<i64> = rows.iter().map(|e| e.ts_us).collect();
                let qty: Vec<Option<&str>> = rows.iter().map(|e| e.quantity).collect();
                let props: Vec<Option<&str>> = rows.iter().map(|e| e.properties).collect();
                sqlx::query(&sql)
                    .bind(tenant)
                    .bind(batch_no)
                    .bind(ids)
                    .bind(items)
                    .bind(metrics)
                    .bind(ts)
                    .bind(qty)
                    .bind(props)
                    .execute(&mut **t)
                    .await?
                    .rows_affected()
            }
        };
        Ok(inserted)
    }

    /// Of `ids`, those already stored by another batch than `batch_no` (the duplicates of
    /// an insert that stored fewer rows than it was given).
    pub async fn usage_ids_from_other_batches(
        &mut self,
        tenant: &str,
        batch_no: i64,
        ids: &[&str],
    ) -> Result<Vec<String>> {
        Ok(match self {
            Tx::Sqlite(t) => {
                sqlx::query_scalar(
                    "SELECT event_id FROM usage_events WHERE tenant_id = $1 AND batch_no <> $2 \
                     AND event_id IN (SELECT value FROM json_each($3))",
                )
                .bind(tenant)
                .bind(batch_no)
                .bind(pack_strs(ids))
                .fetch_all(&mut **t)
                .await?
            }
            Tx::Postgres(t) => {
                sqlx::query_scalar(
                    "SELECT event_id FROM usage_events WHERE tenant_id = $1 AND batch_no <> $2 \
                     AND event_id = ANY($3::text[])",
                )
                .bind(tenant)
                .bind(batch_no)
                .bind(ids)
                .fetch_all(&mut **t)
                .await?
            }
        })
    }

    pub async fn usage_events_by_ids(
        &mut self,
        tenant: &str,
        ids: &[String],
    ) -> Result<Vec<UsageEventRow>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT * FROM usage_events WHERE tenant_id = $1 AND event_id IN ({}) \
                 ORDER BY ts_us, event_id",
                list.join(",")
            );
            let found: Vec<UsageEventRow> = on_tx!(self, |c| {
                let mut q = sqlx::query_as(&sql).bind(tenant);
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_all(&mut *c).await?
            });
            out.extend(found);
        }
        Ok(out)
    }

    /// Events in `(ts_us, event_id)` order matching `f`, at most `limit`.
    pub async fn search_usage_events(
        &mut self,
        tenant: &str,
        f: &UsageEventFilter<'_>,
        limit: i64,
    ) -> Result<Vec<UsageEventRow>> {
        let sql = "SELECT * FROM usage_events WHERE tenant_id = $1 \
                   AND ($2 IS NULL OR item_id IN (SELECT id FROM subscription_items \
                        WHERE tenant_id = $1 AND subscription_id = $2)) \
                   AND ($3 IS NULL OR item_id = $3) \
                   AND ($4 IS NULL OR metric_code = $4) \
                   AND ($5 IS NULL OR ts_us >= $5) AND ($6 IS NULL OR ts_us < $6) \
                   AND ($7 IS NULL OR ts_us > $7 OR (ts_us = $7 AND event_id > $8)) \
                   ORDER BY ts_us, event_id LIMIT $9";
        let (after_ts, after_id) = match f.after {
            Some((t, id)) => (Some(t), Some(id)),
            None => (None, None),
        };
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(f.subscription_id)
            .bind(f.item_id)
            .bind(f.metric_code)
            .bind(f.from_us)
            .bind(f.to_us)
            .bind(after_ts)
            .bind(after_id.unwrap_or(""))
            .bind(limit)
            .fetch_all(&mut *c)
            .await?))
    }

    /// How many events match `f` (its cursor aside), counting at most `cap` + 1: a
    /// bounded scan, so the answer is exact up to `cap` and "more" above it.
    pub async fn count_usage_events(
        &mut self,
        tenant: &str,
        f: &UsageEventFilter<'_>,
        cap: i64,
    ) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM (SELECT 1 FROM usage_events WHERE tenant_id = $1 \
                   AND ($2 IS NULL OR item_id IN (SELECT id FROM subscription_items \
                        WHERE tenant_id = $1 AND subscription_id = $2)) \
                   AND ($3 IS NULL OR item_id = $3) \
                   AND ($4 IS NULL OR metric_code = $4) \
                   AND ($5 IS NULL OR ts_us >= $5) AND ($6 IS NULL OR ts_us < $6) \
                   LIMIT $7) AS matching";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(f.subscription_id)
            .bind(f.item_id)
            .bind(f.metric_code)
            .bind(f.from_us)
            .bind(f.to_us)
            .bind(cap.saturating_add(1))
            .fetch_one(&mut *c)
            .await?))
    }

    /// The subscription an item belongs to.
    pub async fn usage_item_subscription(
        &mut self,
        tenant: &str,
        item: &str,
    ) -> Result<Option<String>> {
        let sql = "SELECT subscription_id FROM subscription_items WHERE tenant_id = $1 AND id = $2";
        Ok(on_tx!(self, |c| sqlx::query_scalar(sql)
            .bind(tenant)
            .bind(item)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// Assigns a suspended event to the item it now matches.
    pub async fn set_usage_event_item(
        &mut self,
        tenant: &str,
        event_id: &str,
        item_id: &str,
    ) -> Result<()> {
        let sql = "UPDATE usage_events SET item_id = $3 WHERE tenant_id = $1 AND event_id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(event_id)
            .bind(item_id)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Takes an event back off its item (it goes to suspense when it cannot be rated).
    pub async fn clear_usage_event_item(&mut self, tenant: &str, event_id: &str) -> Result<()> {
        let sql = "UPDATE usage_events SET item_id = NULL WHERE tenant_id = $1 AND event_id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(event_id)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Forgets the rollups and unique values of an item's metric for days in
    /// `[from_day, to_day)`, so they can be rebuilt from the events.
    pub async fn delete_usage_rollup_days(
        &mut self,
        tenant: &str,
        item: &str,
        metric: &str,
        from_day: &str,
        to_day: &str,
    ) -> Result<()> {
        for table in ["usage_rollups", "usage_unique"] {
            let sql = format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND item_id = $2 \
                 AND metric_code = $3 AND day >= $4 AND day < $5"
            );
            on_tx!(self, |c| sqlx::query(&sql)
                .bind(tenant)
                .bind(item)
                .bind(metric)
                .bind(from_day)
                .bind(to_day)
                .execute(&mut *c)
                .await?;);
        }
        Ok(())
    }

    pub async fn insert_suspense(&mut self, row: &SuspenseRow) -> Result<()> {
        let sql = "INSERT INTO usage_suspense (tenant_id, event_id, reason, subscription_ref, \
                   item_key, metric_code, ts_us, received_at_us, detail) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                   ON CONFLICT (tenant_id, event_id) DO UPDATE SET reason = excluded.reason, \
                   detail = excluded.detail";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&row.tenant_id)
            .bind(&row.event_id)
            .bind(&row.reason)
            .bind(&row.subscription_ref)
            .bind(&row.item_key)
            .bind(&row.metric_code)
            .bind(row.ts_us)
            .bind(row.received_at_us)
            .bind(&row.detail)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Suspended events matching `f`, oldest received first, after the cursor
    /// `(received_at_us, event_id)`.
    pub async fn list_suspense(
        &mut self,
        tenant: &str,
        f: &SuspenseFilter<'_>,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<SuspenseRow>> {
        let sql = "SELECT * FROM usage_suspense WHERE tenant_id = $1 \
                   AND ($2 IS NULL OR reason = $2) AND ($3 IS NULL OR metric_code = $3) \
                   AND ($4 IS NULL OR subscription_ref = $4) AND ($5 IS NULL OR item_key = $5) \
                   AND ($6 IS NULL OR received_at_us > $6 OR (received_at_us = $6 AND event_id > $7)) \
                   ORDER BY received_at_us, event_id LIMIT $8";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(f.reason)
            .bind(f.metric_code)
            .bind(f.subscription_ref)
            .bind(f.item_key)
            .bind(after.map(|a| a.0))
            .bind(after.map(|a| a.1).unwrap_or(""))
            .bind(limit)
            .fetch_all(&mut *c)
            .await?))
    }

    pub async fn suspense_by_ids(
        &mut self,
        tenant: &str,
        ids: &[String],
    ) -> Result<Vec<SuspenseRow>> {
        let mut out = Vec::new();
        for id in ids {
            let sql = "SELECT * FROM usage_suspense WHERE tenant_id = $1 AND event_id = $2";
            let row: Option<SuspenseRow> = on_tx!(self, |c| sqlx::query_as(sql)
                .bind(tenant)
                .bind(id)
                .fetch_optional(&mut *c)
                .await?);
            out.extend(row);
        }
        Ok(out)
    }

    pub async fn delete_suspense(&mut self, tenant: &str, event_id: &str) -> Result<()> {
        let sql = "DELETE FROM usage_suspense WHERE tenant_id = $1 AND event_id = $2";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(tenant)
            .bind(event_id)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Serialises rollup read-modify-write of one item's metric across PostgreSQL
    /// transactions (SQLite has a single writer). Take locks in a stable order.
    pub async fn lock_usage_rollup(
        &mut self,
        tenant: &str,
        item: &str,
        metric: &str,
    ) -> Result<()> {
        if let Tx::Postgres(t) = self {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2 || '/' || $3))")
                .bind(tenant)
                .bind(item)
                .bind(metric)
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// Rollups of an item's metric for days in `[from_day, to_day)`, by group then day.
    pub async fn usage_rollups(
        &mut self,
        tenant: &str,
        item: &str,
        metric: &str,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<RollupRow>> {
        let sql = "SELECT * FROM usage_rollups WHERE tenant_id = $1 AND item_id = $2 \
                   AND metric_code = $3 AND day >= $4 AND day < $5 ORDER BY group_key, day";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(item)
            .bind(metric)
            .bind(from_day)
            .bind(to_day)
            .fetch_all(&mut *c)
            .await?))
    }

    /// The rollups of several items' metrics, each over its own days, in one statement:
    /// by item, metric, group, then day (the current-usage query reads a subscription's
    /// items with it).
    pub async fn usage_rollups_in(
        &mut self,
        tenant: &str,
        windows: &[RollupWindow<'_>],
    ) -> Result<Vec<RollupRow>> {
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        const ORDER: &str = "ORDER BY r.item_id, r.metric_code, r.group_key, r.day";
        Ok(match self {
            Tx::Sqlite(t) => {
                // CROSS JOIN keeps the windows as the outer loop: one primary-key range
                // per window. The rows come back as one packed row (see packed_rows).
                let from = "FROM json_each($2) AS w CROSS JOIN usage_rollups r \
                            WHERE r.tenant_id = $1 AND r.item_id = w.value->>0 \
                            AND r.metric_code = w.value->>1 AND r.day >= w.value->>2 \
                            AND r.day < w.value->>3";
                super::packed_rows::fetch_packed(
                    t,
                    "usage_rollups",
                    Some("r"),
                    from,
                    &ORDER["ORDER BY ".len()..],
                    tenant,
                    &pack_windows(windows),
                )
                .await?
            }
            Tx::Postgres(t) => {
                let (items, metrics, from, to) = window_columns(windows);
                let sql = format!(
                    "SELECT r.* FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[]) \
                     AS w(i, m, f, t) JOIN usage_rollups r ON r.tenant_id = $1 \
                     AND r.item_id = w.i AND r.metric_code = w.m AND r.day >= w.f \
                     AND r.day < w.t {ORDER}"
                );
                sqlx::query_as(&sql)
                    .bind(tenant)
                    .bind(items)
                    .bind(metrics)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut **t)
                    .await?
            }
        })
    }

    pub async fn upsert_usage_rollup(&mut self, r: &RollupRow) -> Result<()> {
        let sql = "INSERT INTO usage_rollups (tenant_id, item_id, metric_code, group_key, day, \
                   events, sum_value, max_value, min_value, latest_us, latest_value, wsum_value) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                   ON CONFLICT (tenant_id, item_id, metric_code, group_key, day) DO UPDATE SET \
                   events = excluded.events, sum_value = excluded.sum_value, \
                   max_value = excluded.max_value, min_value = excluded.min_value, \
                   latest_us = excluded.latest_us, latest_value = excluded.latest_value, \
                   wsum_value = excluded.wsum_value";
        on_tx!(self, |c| sqlx::query(sql)
            .bind(&r.tenant_id)
            .bind(&r.item_id)
            .bind(&r.metric_code)
            .bind(&r.group_key)
            .bind(&r.day)
            .bind(r.events)
            .bind(&r.sum_value)
            .bind(&r.max_value)
            .bind(&r.min_value)
            .bind(r.latest_us)
            .bind(&r.latest_value)
            .bind(&r.wsum_value)
            .execute(&mut *c)
            .await?;);
        Ok(())
    }

    /// Records that each `(group, day, value)` occurred for the item's metric (a value
    /// already recorded for its group and day is skipped).
    pub async fn insert_usage_uniques(
        &mut self,
        tenant: &str,
        item: &str,
        metric: &str,
        rows: &[(&str, &str, &str)],
    ) -> Result<()> {
        match self {
            Tx::Sqlite(t) => {
                let mut packed = String::with_capacity(2 + rows.len() * 48);
                packed.push('[');
                for (i, (g, d, v)) in rows.iter().enumerate() {
                    if i > 0 {
                        packed.push(',');
                    }
                    packed.push('[');
                    push_json_str(&mut packed, g);
                    packed.push(',');
                    push_json_str(&mut packed, d);
                    packed.push(',');
                    push_json_str(&mut packed, v);
                    packed.push(']');
                }
                packed.push(']');
                sqlx::query(
                    "INSERT INTO usage_unique (tenant_id, item_id, metric_code, group_key, day, \
                     value) SELECT $1, $2, $3, value->>0, value->>1, value->>2 \
                     FROM json_each($4) WHERE true ON CONFLICT DO NOTHING",
                )
                .bind(tenant)
                .bind(item)
                .bind(metric)
                .bind(packed)
                .execute(&mut **t)
                .await?;
            }
            Tx::Postgres(t) => {
                let groups: Vec<&str> = rows.iter().map(|r| r.0).collect();
                let days: Vec<&str> = rows.iter().map(|r| r.1).collect();
                let values: Vec<&str> = rows.iter().map(|r| r.2).collect();
                sqlx::query(
                    "INSERT INTO usage_unique (tenant_id, item_id, metric_code, group_key, day, \
                     value) SELECT $1, $2, $3, g, d, v \
                     FROM UNNEST($4::text[], $5::text[], $6::text[]) AS u(g, d, v) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(tenant)
                .bind(item)
                .bind(metric)
                .bind(groups)
                .bind(days)
                .bind(values)
                .execute(&mut **t)
                .await?;
            }
        }
        Ok(())
    }

    /// Distinct values per group of an item's metric over days in `[from_day, to_day)`.
    pub async fn usage_unique_counts(
        &mut self,
        tenant: &str,
        item: &str,
        metric: &str,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<(String, i64)>> {
        let sql = "SELECT group_key, COUNT(DISTINCT value) FROM usage_unique WHERE tenant_id = $1 \
                   AND item_id = $2 AND metric_code = $3 AND day >= $4 AND day < $5 \
                   GROUP BY group_key ORDER BY group_key";
        Ok(on_tx!(self, |c| sqlx::query_as(sql)
            .bind(tenant)
            .bind(item)
            .bind(metric)
            .bind(from_day)
            .bind(to_day)
            .fetch_all(&mut *c)
            .await?))
    }
    /// Distinct values per group of several items' metrics, each over its own days, in one
    /// statement: by item, metric, then group.
    pub async fn usage_unique_counts_in(
        &mut self,
        tenant: &str,
        windows: &[RollupWindow<'_>],
    ) -> Result<Vec<UniqueCountRow>> {
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        const TAIL: &str = "GROUP BY u.item_id, u.metric_code, u.group_key \
                            ORDER BY u.item_id, u.metric_code, u.group_key";
        const SELECT: &str = "SELECT u.item_id, u.metric_code, u.group_key, \
                              COUNT(DISTINCT u.value) AS distinct_values";
        Ok(match self {
            Tx::Sqlite(t) => {
                let sql = format!(
                    "{SELECT} FROM json_each($2) AS w CROSS JOIN usage_unique u \
                     WHERE u.tenant_id = $1 AND u.item_id = w.value->>0 \
                     AND u.metric_code = w.value->>1 AND u.day >= w.value->>2 \
                     AND u.day < w.value->>3 {TAIL}"
                );
                sqlx::query_as(&sql)
                    .bind(tenant)
                    .bind(pack_windows(windows))
                    .fetch_all(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                let (items, metrics, from, to) = window_columns(windows);
                let sql = format!(
                    "{SELECT} FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[]) \
                     AS w(i, m, f, t) JOIN usage_unique u ON u.tenant_id = $1 \
                     AND u.item_id = w.i AND u.metric_code = w.m AND u.day >= w.f \
                     AND u.day < w.t {TAIL}"
                );
                sqlx::query_as(&sql)
                    .bind(tenant)
                    .bind(items)
                    .bind(metrics)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut **t)
                    .await?
            }
        })
    }
}
