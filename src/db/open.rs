//! Opening the database: every pragma, the switch to WAL, and the short-lived connection
//! of `cafleet hook`.

use super::migrate::{check_adoptable, latest_version, user_tables};
use super::{Db, group};
use crate::config::{DATABASE_URL, Database};
use crate::error::BUSY_TIMEOUT_SECS;
use crate::{Error, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

impl Db {
    /// Opens (creating if needed) the database file with every pragma set. `max_connections`
    /// is 1 for CLI commands and larger for the server.
    pub async fn open(path: &Path, max_connections: u32) -> Result<Db> {
        Db::open_from(path, max_connections, DATABASE_URL).await
    }

    /// [`Db::open`] of a file given by `setting` (`CAFLEET_DATABASE_URL`, `db copy --to`),
    /// which the errors name.
    pub(super) async fn open_from(path: &Path, max_connections: u32, setting: &str) -> Result<Db> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::failed(format!(
                    "cannot create the database directory {}: {e}. Create it, or point {setting} elsewhere.",
                    parent.display()
                ))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // WAL is switched on by `ensure_wal` below, not here: see there.
            // A send that printed an id must survive power loss, so fsync on every commit
            // (docs/decisions.md, S2).
            .synchronous(SqliteSynchronous::Full)
            // The schema's ON DELETE rules only hold with enforcement switched on.
            .foreign_keys(true)
            // Writers queue behind each other rather than erroring; a write is a few ms, so
            // only a wedged process ever exhausts this.
            .busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS))
            // Keeps the query planner's statistics fresh without a manual ANALYZE.
            .optimize_on_close(true, None);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .connect_with(options)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(_) => Error::from(e),
                other => Error::failed(format!(
                    "cannot open the database {}: {other}. Check {setting} and the file's permissions.",
                    path.display()
                )),
            })?;
        // A file we would refuse to migrate is refused before anything changes it: the WAL
        // switch below rewrites its header (docs/decisions.md, SETUP-1).
        // One round trip for both: every command pays for it.
        let (version, mode): (i64, String) = retry_busy(|| {
            sqlx::query_as(
                "SELECT u.user_version, j.journal_mode FROM pragma_user_version u, pragma_journal_mode j",
            )
            .fetch_one(&pool)
        })
        .await?;
        if version == 0 {
            let mut conn = pool.acquire().await?;
            let tables = user_tables(&mut conn).await?;
            check_adoptable(&mut conn, &tables).await?;
        }
        if !mode.eq_ignore_ascii_case("wal") {
            ensure_wal(&pool).await?;
        }
        Ok(Db {
            store: super::Store::Sqlite {
                pool,
                path: path.to_path_buf(),
            },
            writer: None,
            opened_at_head: version == latest_version(),
        })
    }

    /// The same database with group commit (see `group.rs`): concurrent [`Db::write`]s of
    /// this process share one transaction and one fsync. For long-running processes with
    /// many concurrent writers (the server); needs a tokio runtime, on which it spawns the
    /// writer task.
    pub fn with_group_commit(self) -> Db {
        let plain = Db {
            writer: None,
            ..self.clone()
        };
        Db {
            writer: Some(group::Writer::start(plain)),
            ..self
        }
    }
}

/// Many processes (CLIs, monitor, server) share the file: WAL lets readers run beside the
/// single writer instead of failing with "database is locked". The mode is stored in the
/// file, so once it is set `Db::open` only reads it. Switching a fresh file to WAL needs it
/// exclusively, and SQLite answers a concurrent switch with an immediate SQLITE_BUSY that
/// skips the busy handler (two first commands on a new database at once failed that way),
/// so the switch is retried here for up to the busy timeout.
async fn ensure_wal(pool: &SqlitePool) -> Result<()> {
    retry_busy(|| async {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await?;
        if !mode.eq_ignore_ascii_case("wal") {
            let _: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
                .fetch_one(pool)
                .await?;
        }
        Ok(())
    })
    .await
}

/// Runs `attempt` until it is not refused as busy, for up to the busy timeout (2 ms, then
/// doubling pauses up to 50 ms). For the first statements on a file another process may be
/// switching to WAL at that moment: SQLite refuses those at once, without its busy handler.
async fn retry_busy<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, sqlx::Error>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(BUSY_TIMEOUT_SECS);
    let mut pause = Duration::from_millis(2);
    loop {
        match attempt().await.map_err(Error::from) {
            Err(Error::Busy(_)) if std::time::Instant::now() < deadline => {
                tracing::debug!(?pause, "database busy at open, retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// One connection without a pool, for a short-lived process that records a row or two and
/// exits (the `cafleet hook` handler): it never creates the database or migrates it, and on
/// SQLite does not fsync each commit (a lost activity report is soon replaced; the file is
/// in WAL mode).
#[derive(Debug)]
pub enum Light {
    /// A SQLite connection.
    Sqlite(sqlx::SqliteConnection),
    /// A PostgreSQL connection.
    Pg(sqlx::PgConnection),
}

impl Light {
    /// Opens an existing database, waiting at most `busy` for a lock (or, on PostgreSQL,
    /// for the server).
    pub async fn open(database: &Database, busy: Duration) -> Result<Light> {
        use sqlx::ConnectOptions;
        match database {
            Database::Sqlite(path) => Ok(Light::Sqlite(
                SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(false)
                    .foreign_keys(true)
                    .busy_timeout(busy)
                    .synchronous(SqliteSynchronous::Normal)
                    .connect()
                    .await?,
            )),
            Database::Postgres(url) => {
                let options = super::pg::connect_options(url)?;
                let conn = tokio::time::timeout(busy, options.connect())
                    .await
                    .map_err(|_| {
                        Error::failed(format!(
                            "no answer from the PostgreSQL server within {} ms",
                            busy.as_millis()
                        ))
                    })??;
                Ok(Light::Pg(conn))
            }
        }
    }

    /// Closes the connection (errors ignored: nothing is pending).
    pub async fn close(self) {
        let _ = match self {
            Light::Sqlite(c) => sqlx::Connection::close(c).await,
            Light::Pg(c) => sqlx::Connection::close(c).await,
        };
    }
}

impl super::AsConn for Light {
    fn conn(&mut self) -> super::Conn<'_> {
        match self {
            Light::Sqlite(c) => super::Conn::Sqlite(c),
            Light::Pg(c) => super::Conn::Pg(c),
        }
    }
}
