//! Read-only inspection of a database file, for `doctor`.

use crate::Result;
use sqlx::sqlite::SqliteConnectOptions;
use std::path::Path;
use std::time::Duration;

/// What `doctor` reports about a database file, read without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInfo {
    /// `PRAGMA user_version` (our schema version).
    pub schema_version: i64,
    /// The alembic revision, when the table exists.
    pub alembic: Option<String>,
    /// `PRAGMA journal_mode`.
    pub journal_mode: String,
}

/// Inspects an existing database read-only (never creates or migrates it).
pub async fn inspect(path: &Path) -> Result<DbInfo> {
    use sqlx::Connection;
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5));
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await?;
    let schema_version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut conn)
        .await?;
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await?;
    let has_alembic: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'",
    )
    .fetch_optional(&mut conn)
    .await?;
    let alembic = match has_alembic {
        Some(_) => {
            sqlx::query_scalar("SELECT version_num FROM alembic_version")
                .fetch_optional(&mut conn)
                .await?
        }
        None => None,
    };
    conn.close().await?;
    Ok(DbInfo {
        schema_version,
        alembic,
        journal_mode,
    })
}
