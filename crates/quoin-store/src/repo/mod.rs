//! Repositories: one `impl Tx` block per aggregate. Every method takes the tenant.

pub mod accounts;
pub mod billing;
pub mod billing_page;
pub mod catalog;
mod charges;
pub mod drafts;
mod dunning;
pub mod finishing;
mod fx;
pub mod ledger;
pub mod outbox;
mod packed_rows;
pub mod payment_methods;
pub mod rating_plans;
pub mod retries;
pub mod runs;
pub mod subscriptions;
mod tenancy;
pub mod usage;

/// One page of a cursor-paginated list: `next_cursor` is the last id when more remain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows, using `id` of the last kept row as cursor.
    pub(crate) fn from_overfetch(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(id) } else { None };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// Placeholder `n` (1-based) of a statement in the connection's dialect. SQLite gets
/// anonymous `?`: sqlx looks each bound parameter's name up in a list SQLite scans from the
/// start, so `$n` names cost quadratically in a statement's parameter count (a 22-column
/// insert spent more time there than writing its row).
pub(crate) trait Placeholder {
    fn placeholder(&self, n: usize) -> String;
}

impl Placeholder for sqlx::SqliteConnection {
    fn placeholder(&self, _n: usize) -> String {
        "?".to_string()
    }
}

impl Placeholder for sqlx::PgConnection {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }
}

/// `INSERT INTO table (fields…) VALUES (…)` binding the same-named fields of a row, in
/// order. The row is destructured without `..`, so forgetting a column is a compile error.
macro_rules! insert_row {
    ($conn:expr, $table:literal, $ty:ident, $row:expr, [$($field:ident),+ $(,)?]) => {{
        use $crate::repo::Placeholder as _;
        let conn = $conn;
        let $ty { $($field),+ } = $row;
        let cols: &[&str] = &[$(stringify!($field)),+];
        let values: Vec<String> = (1..=cols.len()).map(|i| conn.placeholder(i)).collect();
        let sql = format!("INSERT INTO {} ({}) VALUES ({})", $table, cols.join(", "), values.join(", "));
        sqlx::query(&sql)$(.bind($field))+.execute(conn).await?;
    }};
}
pub(crate) use insert_row;

impl crate::Tx {
    /// Placeholder `n` in this transaction's dialect (see [`Placeholder`]).
    pub(crate) fn placeholder(&self, n: usize) -> String {
        match self {
            crate::Tx::Sqlite(_) => "?".to_string(),
            crate::Tx::Postgres(_) => format!("${n}"),
        }
    }
}

/// Tables counted by [`crate::Tx::row_counts`]; tests use it to prove rejected input wrote nothing.
pub const TENANT_TABLES: &[&str] = &[
    "accounts",
    "contacts",
    "locations",
    "categories",
    "metrics",
    "terms",
    "price_books",
    "products",
    "prices",
    "subscriptions",
    "subscription_items",
    "subscription_item_segments",
    "subscription_versions",
    "dunning_policies",
    "dunning_states",
    "invoices",
    "invoice_lines",
    "billing_settings",
    "account_tax_profiles",
    "coupon_redemptions",
    "wallets",
    "voice_rating_plans",
    "outbox",
    "usage_events",
    "usage_suspense",
    "usage_rollups",
    "usage_unique",
    "api_keys",
    "payments",
    "payment_allocations",
    "credit_notes",
    "credit_note_lines",
    "refunds",
    "ledger_entries",
    "invoice_settlements",
    "fx_rates",
    "payment_retries",
    "payment_attempts",
    "account_payment_methods",
    "auto_collections",
];

impl crate::Tx {
    /// Row counts of every tenant table for one tenant, in [`TENANT_TABLES`] order.
    pub async fn row_counts(&mut self, tenant: &str) -> crate::Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::with_capacity(TENANT_TABLES.len());
        for table in TENANT_TABLES {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1");
            let n: i64 = crate::on_tx!(self, |c| sqlx::query_scalar(&sql)
                .bind(tenant)
                .fetch_one(&mut *c)
                .await?);
            out.push((*table, n));
        }
        Ok(out)
    }
}

pub use accounts::AccountFilter;
pub use billing::InvoiceFilter;
pub use catalog::{CatalogTable, DefinitionTable};
pub use outbox::NewEvent;
pub use usage::{NewUsageEvent, RollupWindow, SuspenseFilter, UniqueCountRow, UsageEventFilter};
