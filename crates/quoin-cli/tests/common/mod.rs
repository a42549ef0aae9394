//! What the kill tests of the real binary share: a store to point `quoin` at.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Runs `test(target args, database url)` against a fresh SQLite data directory.
pub fn on_sqlite(name: &str, test: impl FnOnce(Vec<String>, String)) {
    let dir = std::env::temp_dir().join(format!("quoin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let target = vec!["--data-dir".to_string(), dir.display().to_string()];
    let url = format!("sqlite:{}", dir.join("quoin.db").display());
    test(target, url);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `test(target args, database url)` against a fresh schema of the test PostgreSQL,
/// dropped afterwards. Skipped with a notice when PostgreSQL is unreachable, except under
/// `CI=true`, where that fails.
pub fn on_postgres(name: &str, test: impl FnOnce(Vec<String>, String)) {
    let base = quoin_store::testing::postgres_url();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let schema = format!("q{name}_{nanos}").replace('-', "_");
    let admin = |sql: String| {
        let base = base.clone();
        rt.block_on(async move {
            use sqlx::{ConnectOptions, Connection};
            let opts = sqlx::postgres::PgConnectOptions::from_str(&base).unwrap();
            let mut c = opts.connect().await?;
            sqlx::query(&sql).execute(&mut c).await?;
            c.close().await.ok();
            Ok::<_, sqlx::Error>(())
        })
    };
    if let Err(e) = admin(format!("CREATE SCHEMA {schema}")) {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("PostgreSQL is required under CI=true: {e}");
        }
        eprintln!("NOTICE: PostgreSQL {name} test skipped: {base} unreachable ({e})");
        return;
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    test(vec!["--database-url".to_string(), url.clone()], url);
    let _ = admin(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}
