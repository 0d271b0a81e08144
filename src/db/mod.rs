//! The only place with SQL, the pools or the drivers. One file per job:
//!
//! - `open.rs`: [`Db::open`] with every SQLite pragma, WAL, and the short-lived connection
//!   of `cafleet hook`;
//! - `pg.rs`: the PostgreSQL pool and its migrations (`migrations/postgres/`);
//! - `write.rs`: the write transactions and the rule for which write path to use;
//! - `group.rs`: group commit for long-running processes;
//! - `migrate.rs`: SQLite's migrations and the adoption of CAFleet 0.14 databases;
//! - `inspect.rs`: read-only inspection for `doctor`;
//! - `copy.rs`: `db copy`, every table's rows into another, empty database;
//! - and one file per table group (`agents`, `fleets`, `tasks`, …), where each operation
//!   holds its statement for each backend side by side (docs/postgres.md, "Storage").

pub mod activity;
pub mod agents;
pub mod changes;
pub mod copy;
pub mod deliveries;
pub mod fleets;
mod group;
mod inspect;
pub mod messages;
mod migrate;
pub mod monitor;
mod open;
pub mod pane_requests;
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
use crate::config::Database;
use crate::error::BUSY_TIMEOUT_SECS;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqlitePool;
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection};
use std::path::{Path, PathBuf};

/// A connection of either backend, as the table modules' functions use it: they match on
/// it and run the statement written for that backend.
#[derive(Debug)]
pub enum Conn<'c> {
    /// A SQLite connection.
    Sqlite(&'c mut SqliteConnection),
    /// A PostgreSQL connection.
    Pg(&'c mut PgConnection),
}

/// Anything the table modules' functions can run a statement on: a pooled connection for
/// reads ([`Db::read`]), a write transaction ([`WriteTx`]) or the hook's [`Light`]
/// connection. The functions take `&mut impl AsConn`.
pub trait AsConn: Send {
    /// The connection to run the next statement on.
    fn conn(&mut self) -> Conn<'_>;
}

impl AsConn for Conn<'_> {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Pg(c) => Conn::Pg(c),
        }
    }
}

/// A pooled connection for reads (see [`Db::read`]).
#[derive(Debug)]
pub enum PooledConn {
    /// From the SQLite pool.
    Sqlite(PoolConnection<Sqlite>),
    /// From the PostgreSQL pool.
    Pg(PoolConnection<Postgres>),
}

impl AsConn for PooledConn {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            PooledConn::Sqlite(c) => Conn::Sqlite(c),
            PooledConn::Pg(c) => Conn::Pg(c),
        }
    }
}

/// Which backend a statement is for, in the table modules: the statement written for the
/// other backend is compiled out while `just prepare` checks one backend's statements
/// against its live database (sqlx checks a whole crate against one database), and
/// compiled in otherwise, from the offline data in `.sqlx/` (docs/postgres.md).
macro_rules! sqlite {
    ($($body:tt)*) => {{
        #[cfg(not(cafleet_prepare = "postgres"))]
        { $($body)* }
        #[cfg(cafleet_prepare = "postgres")]
        { unreachable!("compiled out while preparing PostgreSQL's statements") }
    }};
}

/// See [`sqlite!`].
macro_rules! postgres {
    ($($body:tt)*) => {{
        #[cfg(not(cafleet_prepare = "sqlite"))]
        { $($body)* }
        #[cfg(cafleet_prepare = "sqlite")]
        { unreachable!("compiled out while preparing SQLite's statements") }
    }};
}
pub(crate) use {postgres, sqlite};

/// The database handle: a pool over one SQLite file or one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct Db {
    store: Store,
    /// Set by [`Db::with_group_commit`]: [`Db::write`] then goes through the writer task.
    writer: Option<group::Writer>,
    /// The schema was at head when opened (no process ever lowers it): `migrate` has
    /// nothing to read.
    opened_at_head: bool,
}

#[derive(Debug, Clone)]
enum Store {
    Sqlite { pool: SqlitePool, path: PathBuf },
    Pg(pg::PgDb),
}

impl Db {
    /// Opens the configured database: a SQLite file ([`Db::open`]) or a PostgreSQL
    /// database ([`Db::open_pg`]), with at most `max_connections` connections.
    pub async fn connect(database: &Database, max_connections: u32) -> crate::Result<Db> {
        Db::connect_from(database, max_connections, crate::config::DATABASE_URL).await
    }

    /// [`Db::connect`] to a database given by `setting` (`CAFLEET_DATABASE_URL`, or
    /// `db copy --to`), which the errors name.
    pub async fn connect_from(
        database: &Database,
        max_connections: u32,
        setting: &str,
    ) -> crate::Result<Db> {
        match database {
            Database::Sqlite(path) => Db::open_from(path, max_connections, setting).await,
            Database::Postgres(url) => Ok(Db::over_pg(
                pg::PgDb::open_from(url, max_connections, setting).await?,
            )),
        }
    }

    /// Connects to a PostgreSQL database (see [`pg::PgDb::open`]); migrate it before use.
    pub async fn open_pg(url: &str, max_connections: u32) -> crate::Result<Db> {
        Ok(Db::over_pg(pg::PgDb::open(url, max_connections).await?))
    }

    fn over_pg(pg: pg::PgDb) -> Db {
        Db {
            store: Store::Pg(pg),
            writer: None,
            opened_at_head: false,
        }
    }

    /// Where this database is, as `CAFLEET_DATABASE_URL` would name it (to open it again).
    pub fn database(&self) -> Database {
        match &self.store {
            Store::Sqlite { path, .. } => Database::Sqlite(path.clone()),
            Store::Pg(pg) => Database::Postgres(pg.url().to_string()),
        }
    }

    /// The database for messages: the SQLite file's path, or PostgreSQL's
    /// `user@host:port/database` (never a password).
    pub fn display(&self) -> String {
        match &self.store {
            Store::Sqlite { path, .. } => path.display().to_string(),
            Store::Pg(pg) => pg.display().to_string(),
        }
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_pg(&self) -> bool {
        matches!(self.store, Store::Pg(_))
    }

    /// The SQLite file.
    ///
    /// # Panics
    /// On a PostgreSQL database: for tests and benches that know they use a file.
    #[doc(hidden)]
    pub fn path(&self) -> &Path {
        match &self.store {
            Store::Sqlite { path, .. } => path,
            Store::Pg(_) => panic!("Db::path on a PostgreSQL database"),
        }
    }

    /// The underlying SQLite pool, for tests and benches that seed or inspect the file.
    ///
    /// # Panics
    /// On a PostgreSQL database (see [`Db::pg_pool`]).
    #[doc(hidden)]
    pub fn pool(&self) -> &SqlitePool {
        match &self.store {
            Store::Sqlite { pool, .. } => pool,
            Store::Pg(_) => panic!("Db::pool on a PostgreSQL database"),
        }
    }

    /// The underlying PostgreSQL pool, for tests and benches; `None` on SQLite.
    #[doc(hidden)]
    pub fn pg_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.store {
            Store::Sqlite { .. } => None,
            Store::Pg(pg) => Some(pg.pool()),
        }
    }

    /// A `LISTEN` connection on `channel` (PostgreSQL); `None` on SQLite, which has no
    /// notifications (its readers poll).
    pub async fn listen(&self, channel: &str) -> crate::Result<Option<pg::Listener>> {
        match &self.store {
            Store::Sqlite { .. } => Ok(None),
            Store::Pg(pg) => Ok(Some(pg.listen(channel).await?)),
        }
    }

    /// A connection for reads (SQLite's WAL and PostgreSQL's MVCC: it never waits for a
    /// writer).
    pub async fn read(&self) -> crate::Result<PooledConn> {
        Ok(match &self.store {
            Store::Sqlite { pool, .. } => PooledConn::Sqlite(pool.acquire().await?),
            Store::Pg(pg) => PooledConn::Pg(pg.pool().acquire().await?),
        })
    }

    /// Closes the pool (on SQLite letting `optimize_on_close` run).
    pub async fn close(&self) {
        match &self.store {
            Store::Sqlite { pool, .. } => pool.close().await,
            Store::Pg(pg) => pg.close().await,
        }
    }
}

/// SQLite's primary result codes for "locked by someone else".
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;

/// PostgreSQL's SQLSTATEs for a transaction that lost a race and may simply be run again
/// (serialization failure, deadlock, lock not available).
const PG_RETRYABLE: [&str; 3] = ["40001", "40P01", "55P03"];

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let code = db.code();
            let sqlite = code
                .as_deref()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            if matches!(sqlite, Some(SQLITE_BUSY | SQLITE_LOCKED))
                && db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
            {
                return Error::Busy(BUSY_TIMEOUT_SECS);
            }
            if code.as_deref().is_some_and(|c| PG_RETRYABLE.contains(&c)) {
                return Error::Busy(BUSY_TIMEOUT_SECS);
            }
            // PostgreSQL's shutdown and connection classes: 57P01-57P03 (the server
            // terminates or refuses sessions), 08xxx (connection exceptions).
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
                && code
                    .as_deref()
                    .is_some_and(|c| c.starts_with("57P") || c.starts_with("08"))
            {
                return Error::Disconnected(db.message().to_string());
            }
            return Error::Storage(db.message().to_string());
        }
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => {
                Error::Disconnected(e.to_string())
            }
            other => Error::Storage(other.to_string()),
        }
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

impl AsConn for SqliteConnection {
    fn conn(&mut self) -> Conn<'_> {
        Conn::Sqlite(self)
    }
}

impl AsConn for PgConnection {
    fn conn(&mut self) -> Conn<'_> {
        Conn::Pg(self)
    }
}

impl AsConn for PoolConnection<Sqlite> {
    fn conn(&mut self) -> Conn<'_> {
        Conn::Sqlite(self)
    }
}

impl AsConn for PoolConnection<Postgres> {
    fn conn(&mut self) -> Conn<'_> {
        Conn::Pg(self)
    }
}
