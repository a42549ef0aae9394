//! SQLite: many rows returned as one JSON array built by SQLite and decoded with serde.
//!
//! sqlx hands each row over from its SQLite worker thread on its own, copying every value
//! and waking the reading task: for queries of hundreds or thousands of small rows (an
//! invoice run's page, a subscription's usage rollups) that, not the query, was most of
//! the time. `json_group_array(json_object(…) ORDER BY …)` makes it one row.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::{Result, StoreError};

/// The rows `SELECT * … <from_where>` gives, in `order` (empty: any), as `T` (which must
/// decode from an object of the table's columns, as its `FromRow` does from a row). The
/// statement binds `tenant` and `packed` as its first two parameters. `alias`: the name
/// `table` has in `from_where`, when it has one.
pub(crate) async fn fetch_packed<T: serde::de::DeserializeOwned>(
    conn: &mut sqlx::SqliteConnection,
    table: &str,
    alias: Option<&str>,
    from_where: &str,
    order: &str,
    tenant: &str,
    packed: &str,
) -> Result<Vec<T>> {
    let cols = object_args(conn, table, alias).await?;
    let order = if order.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {order}")
    };
    let sql = format!("SELECT json_group_array(json_object({cols}){order}) {from_where}");
    let text: String = sqlx::query_scalar(&sql)
        .bind(tenant)
        .bind(packed)
        .fetch_one(&mut *conn)
        .await?;
    serde_json::from_str(&text).map_err(|source| StoreError::PackedRows {
        table: table.to_string(),
        source,
    })
}

/// `'col', alias.col, …` for every column of `table`, read from the schema once per
/// process (migrations run before any query, and every database has the same schema).
async fn object_args(
    conn: &mut sqlx::SqliteConnection,
    table: &str,
    alias: Option<&str>,
) -> Result<String> {
    static ARGS: OnceLock<Mutex<HashMap<String, Vec<String>>>> = OnceLock::new();
    let cache = ARGS.get_or_init(Default::default);
    let cached = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(table)
        .cloned();
    let names = match cached {
        Some(names) => names,
        None => {
            let names: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                    .bind(table)
                    .fetch_all(&mut *conn)
                    .await?;
            if names.is_empty() {
                return Err(sqlx::Error::RowNotFound.into());
            }
            cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(table.to_string(), names.clone());
            names
        }
    };
    let prefix = alias.map(|a| format!("{a}.")).unwrap_or_default();
    Ok(names
        .iter()
        .map(|n| format!("'{n}', {prefix}{n}"))
        .collect::<Vec<_>>()
        .join(", "))
}
