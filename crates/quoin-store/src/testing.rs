//! Real databases for tests: a fresh SQLite file, or a fresh PostgreSQL schema on the local
//! server. PostgreSQL tests are skipped with a notice when the server is unreachable, and
//! fail instead when `CI=true`.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::Store;

/// The local PostgreSQL used by tests (`QUOIN_TEST_DATABASE_URL` overrides it).
pub fn postgres_url() -> String {
    std::env::var("QUOIN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A migrated store that cleans up after itself.
pub struct TestStore {
    pub store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Schema { url: String, schema: String },
}

fn unique_suffix() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{secs}_{}", uuid::Uuid::now_v7().simple())
}

/// A fresh SQLite database file in the system temp directory.
pub async fn sqlite() -> TestStore {
    let path = std::env::temp_dir().join(format!("quoin-test-{}.db", unique_suffix()));
    let store = Store::open_sqlite(&path).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    TestStore {
        store,
        cleanup: Cleanup::File(path),
    }
}

/// A fresh schema on the local PostgreSQL, or `None` (with a printed notice) when the
/// server is unreachable outside CI.
pub async fn postgres() -> Option<TestStore> {
    let url = postgres_url();
    let options = PgConnectOptions::from_str(&url).expect("valid QUOIN_TEST_DATABASE_URL");
    let mut admin = match options.connect().await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL is required under CI=true but {url} is unreachable: {e}");
            }
            eprintln!("NOTICE: PostgreSQL test skipped: {url} unreachable ({e})");
            return None;
        }
    };
    sweep_stale_schemas(&mut admin).await;
    let schema = format!("qt_{}", unique_suffix());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create test schema");
    admin.close().await.ok();
    let store = Store::open_postgres(options.options([("search_path", schema.as_str())]))
        .await
        .expect("open postgres");
    store.migrate().await.expect("migrate postgres");
    Some(TestStore {
        store,
        cleanup: Cleanup::Schema { url, schema },
    })
}

/// Drops test schemas left behind by runs that panicked more than an hour ago.
async fn sweep_stale_schemas(admin: &mut sqlx::PgConnection) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'qt\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let secs: u64 = name
            .split('_')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(u64::MAX);
        if secs.saturating_add(3600) < now {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&mut *admin)
                .await;
        }
    }
}

impl TestStore {
    /// The SQLite database file (to open a second store on it, as another process
    /// would); `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.cleanup {
            Cleanup::File(path) => Some(path),
            _ => None,
        }
    }

    /// Closes the store and removes its file or schema.
    pub async fn cleanup(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Schema { url, schema } => {
                if let Ok(options) = PgConnectOptions::from_str(&url) {
                    if let Ok(mut c) = options.connect().await {
                        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .execute(&mut c)
                            .await;
                        c.close().await.ok();
                    }
                }
            }
        }
    }
}
