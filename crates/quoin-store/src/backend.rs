use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::checkpointer::{Checkpointer, WRITER_THRESHOLD_PAGES};
use crate::{Result, StoreError};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A connection pool for one backend. SQLite gets a single-connection writer pool (SQLite
/// allows one writer; serialising writes here avoids busy errors on lock upgrades) and a
/// reader pool that WAL lets run beside it.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
        /// Background WAL checkpoints (see `checkpointer`).
        checkpointer: Arc<Checkpointer>,
    },
    Postgres {
        pool: PgPool,
    },
}

/// A transaction on either backend. Repository methods are defined on it.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the backend connection of a [`Tx`]; the body is
/// compiled once per backend, so one piece of SQL serves both.
#[macro_export]
macro_rules! on_tx {
    // A statement whose result is discarded (backend result types differ).
    ($tx:expr, |$conn:ident| $body:expr ;) => {
        $crate::on_tx!($tx, |$conn| {
            $body;
        })
    };
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl Store {
    /// Opens a store from a URL: `sqlite:PATH` (created if missing) or `postgres://…`.
    pub async fn open(url: &str) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            Self::open_postgres(options).await
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            Self::open_sqlite(Path::new(path)).await
        } else {
            Err(StoreError::UnsupportedUrl(url.to_string()))
        }
    }

    /// Opens (and creates) an SQLite database file in WAL mode with full durability.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", WRITER_THRESHOLD_PAGES.to_string()),
            )
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone().read_only(true))
            .await?;
        let checkpointer = Checkpointer::start(&options).await?;
        Ok(Store::Sqlite {
            write,
            read,
            checkpointer,
        })
    }

    pub async fn open_postgres(options: PgConnectOptions) -> Result<Store> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Store::Postgres { pool })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite { .. } => Backend::Sqlite,
            Store::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Store::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Store::Postgres { pool } => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// A read-write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Store::Sqlite { write, .. } => Tx::Sqlite(write.begin().await?),
            Store::Postgres { pool } => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A read-only transaction (a consistent snapshot); on SQLite it does not wait for the writer.
    pub async fn read(&self) -> Result<Tx> {
        Ok(match self {
            Store::Sqlite { read, .. } => Tx::Sqlite(read.begin().await?),
            Store::Postgres { pool } => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> Result<()> {
        let mut tx = self.read().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query("SELECT 1").execute(&mut *c).await?;
        });
        tx.commit().await
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite {
                write,
                read,
                checkpointer,
            } => {
                checkpointer.stop();
                read.close().await;
                write.close().await;
            }
            Store::Postgres { pool } => pool.close().await,
        }
    }
}

/// Marks of a SQLite writer connection that tell whether anyone wrote between two
/// readings: `data_version` changes when another connection (another process) commits,
/// `total_changes` counts the rows this connection changed (every writer of this process
/// shares it). Equal marks at two points mean the database did not change in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteMarks {
    pub data_version: i64,
    pub total_changes: i64,
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// The writer connection's [`WriteMarks`]; `None` on PostgreSQL, where they do not
    /// exist (nor are needed: its readers lock what they read).
    pub async fn write_marks(&mut self) -> Result<Option<WriteMarks>> {
        Ok(match self {
            Tx::Sqlite(t) => {
                let data_version: i64 = sqlx::query_scalar("PRAGMA data_version")
                    .fetch_one(&mut **t)
                    .await?;
                let total_changes: i64 = sqlx::query_scalar("SELECT total_changes()")
                    .fetch_one(&mut **t)
                    .await?;
                Some(WriteMarks {
                    data_version,
                    total_changes,
                })
            }
            Tx::Postgres(_) => None,
        })
    }
}
