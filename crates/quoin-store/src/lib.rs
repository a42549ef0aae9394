//! Quoin persistence. One set of repositories over two backends: SQLite (the embedded
//! default, one file in the data directory) and PostgreSQL (production).
//!
//! Repository methods live on [`Tx`], a transaction of either backend; each method's SQL
//! is written once and compiled for both through the [`on_tx!`] macro. Storage types are
//! portable: money in integer minor units, decimals as TEXT, dates as `YYYY-MM-DD` TEXT,
//! instants as microseconds since the epoch. Every query is scoped by tenant.

mod backend;
mod checkpointer;
pub mod repo;
pub mod rows;
pub mod testing;

pub use backend::{Backend, Store, Tx, WriteMarks};
pub use repo::Page;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL `{0}` (expected sqlite:… or postgres://…)")]
    UnsupportedUrl(String),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot decode the {table} rows SQLite packed as JSON: {source}")]
    PackedRows {
        table: String,
        source: serde_json::Error,
    },
}

impl StoreError {
    /// True when the error is a unique-constraint violation (a concurrent or repeated insert).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }

    /// True when PostgreSQL broke a deadlock by failing this transaction's statement
    /// (SQLSTATE 40P01) or could not serialize it (40001): nothing of the transaction is
    /// kept, and running it again may succeed.
    pub fn is_retryable_conflict(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("40P01" | "40001"))
            }
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A new time-ordered identifier with a readable type prefix, e.g. `acc_0190f…`.
/// UUIDv7 keeps ids sortable by creation, which the cursor pagination relies on.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
