//! The only place with SQL, the pool or the SQLite driver. One file per job:
//!
//! - `open.rs`: [`Db::open`] with every pragma, WAL, and the short-lived connection of
//!   `cafleet hook`;
//! - `write.rs`: the write transactions and the rule for which write path to use;
//! - `group.rs`: group commit for long-running processes;
//! - `migrate.rs`: migrations and the adoption of CAFleet 0.14 databases;
//! - `inspect.rs`: read-only inspection for `doctor`;
//! - `pg.rs`: the PostgreSQL pool and its migrations (`migrations/postgres/`), not yet used
//!   by the commands (docs/postgres.md);
//! - and one file per table group (`agents`, `fleets`, `tasks`, …).

pub mod activity;
pub mod agents;
pub mod changes;
pub mod deliveries;
pub mod fleets;
mod group;
mod inspect;
pub mod messages;
mod migrate;
pub mod monitor;
mod open;
pub mod pg;
pub mod placements;
pub mod tasks;
mod types;
mod write;

pub use agents::NewAgent;
pub use inspect::{DbInfo, inspect};
pub use migrate::{ALEMBIC_HEAD, MigrateOutcome, latest_version};
pub use open::Light;
pub use tasks::NewTask;
pub use write::{LOCK_TRACE_TARGET, WRITER_LOCK_SUFFIX, WriteJob, WriteTx};

use crate::Error;
use crate::error::BUSY_TIMEOUT_SECS;
use sqlx::sqlite::SqlitePool;
use std::path::{Path, PathBuf};

/// A connection, as the table modules' functions take it: a pooled one for reads, or the
/// one of a write transaction (`&mut tx`).
pub type Conn = sqlx::SqliteConnection;

/// A pooled connection for reads (see [`Db::read`]).
pub type PooledConn = sqlx::pool::PoolConnection<sqlx::Sqlite>;

/// The database handle: a pool over one SQLite file.
#[derive(Debug, Clone)]
pub struct Db {
    pool: SqlitePool,
    path: PathBuf,
    /// Set by [`Db::with_group_commit`]: [`Db::write`] then goes through the writer task.
    writer: Option<group::Writer>,
    /// The schema was at head when opened (no process ever lowers it): `migrate` has
    /// nothing to read.
    opened_at_head: bool,
}

impl Db {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying pool, for tests and benches that seed or inspect the file.
    #[doc(hidden)]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A connection for reads (WAL: it never waits for a writer).
    pub async fn read(&self) -> crate::Result<PooledConn> {
        Ok(self.pool.acquire().await?)
    }

    /// Closes the pool, letting `optimize_on_close` run.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite's primary result codes for "locked by someone else".
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let code = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            if matches!(code, Some(SQLITE_BUSY | SQLITE_LOCKED)) {
                return Error::Busy(BUSY_TIMEOUT_SECS);
            }
            return Error::Storage(db.message().to_string());
        }
        Error::Storage(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::Storage(format!("migration failed: {e}"))
    }
}

/// `path` with `suffix` appended to its file name.
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
