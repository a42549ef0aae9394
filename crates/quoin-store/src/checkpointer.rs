//! SQLite WAL checkpoints on a connection of their own.
//!
//! By default the connection that commits checkpoints the WAL once it passes 1,000 pages,
//! inside its commit: with invoice-run pages and ingest batches of several megabytes that
//! is every commit, on the writer's critical path, copying the same hot index pages again
//! each time. A background task checkpoints instead (`PASSIVE`: it never blocks the writer
//! or readers) every [`INTERVAL`]; the writer keeps a larger automatic threshold only as a
//! backstop for when this task is not running (its runtime ended).

use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::Connection;

use crate::Result;

/// How often the WAL is copied back into the database.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// WAL pages after which the writer checkpoints in its own commit (the backstop).
pub const WRITER_THRESHOLD_PAGES: u32 = 16_384;

/// The checkpointing task; dropped with the last clone of its store.
#[derive(Debug)]
pub struct Checkpointer {
    task: tokio::task::JoinHandle<()>,
}

impl Checkpointer {
    pub(crate) async fn start(options: &SqliteConnectOptions) -> Result<Arc<Self>> {
        let mut conn = SqliteConnection::connect_with(options).await?;
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut conn)
                    .await
                {
                    tracing::warn!(error = %e, "background WAL checkpoint failed");
                }
            }
        });
        Ok(Arc::new(Self { task }))
    }
}

impl Checkpointer {
    pub(crate) fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    /// Writes far below the writer's own threshold still reach the database file: the
    /// background task checkpointed them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_copied_back_in_the_background() {
        let db = crate::testing::sqlite().await;
        let path = db.sqlite_path().unwrap().to_path_buf();
        let Store::Sqlite { write, .. } = &db.store else {
            unreachable!("an SQLite test store")
        };
        sqlx::query("CREATE TABLE filler (body BLOB NOT NULL)")
            .execute(write)
            .await
            .unwrap();
        tokio::time::sleep(super::INTERVAL * 3).await;
        let before = std::fs::metadata(&path).unwrap().len();
        // About 4 MB: 1,000 WAL pages, a sixteenth of the writer's threshold.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
             INSERT INTO filler SELECT randomblob(4000) FROM n",
        )
        .execute(write)
        .await
        .unwrap();
        let wal = path.with_extension("db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 4_000_000);
        tokio::time::sleep(super::INTERVAL * 5).await;
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(
            after >= before + 4_000_000,
            "database file {before} -> {after} bytes"
        );
        db.cleanup().await;
    }
}
