//! PostgreSQL: opening a pool on a `postgres://` URL and bringing its schema to head from
//! `migrations/postgres/` (docs/postgres.md).
//!
//! Every failure to connect names its fix and never the password: an unreachable server, a
//! refused login and a missing database each get their own text, in bounded time.

use super::MigrateOutcome;
use crate::config::DATABASE_URL;
use crate::{Error, Result};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// The PostgreSQL migrations, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long opening waits for the server before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A pool over one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgDb {
    pool: PgPool,
    /// The URL it was opened with (to open it again; may hold a password).
    url: String,
    /// `user@host:port/database`, for messages (never the password).
    display: String,
}

/// SQLSTATE of a refused login (wrong password, or no such role).
const INVALID_PASSWORD: &str = "28P01";
const INVALID_AUTHORIZATION: &str = "28000";
/// SQLSTATE of a statement naming a table that does not exist.
const UNDEFINED_TABLE: &str = "42P01";
/// SQLSTATE of a database that does not exist.
const INVALID_CATALOG: &str = "3D000";

impl PgDb {
    /// Connects to the database `url` names, with at most `max_connections` connections.
    pub async fn open(url: &str, max_connections: u32) -> Result<PgDb> {
        PgDb::open_from(url, max_connections, DATABASE_URL).await
    }

    /// [`PgDb::open`] of a URL given by `setting` (`CAFLEET_DATABASE_URL`, `db copy --to`),
    /// which the errors name.
    pub async fn open_from(url: &str, max_connections: u32, setting: &str) -> Result<PgDb> {
        let options = connect_options_from(url, setting)?;
        let database = options
            .get_database()
            .unwrap_or("(the user's name)")
            .to_string();
        let display = format!(
            "{}@{}:{}/{database}",
            options.get_username(),
            options.get_host(),
            options.get_port()
        );
        // A server that is restarting refuses connections for a moment: keep trying until
        // the connect timeout, so a command rides over a restart instead of failing.
        let started = std::time::Instant::now();
        let pool = loop {
            let tried = PgPoolOptions::new()
                .max_connections(max_connections)
                .min_connections(0)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect_with(options.clone())
                .await;
            match tried {
                Ok(pool) => break pool,
                Err(e) if is_transient(&e) && started.elapsed() < CONNECT_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(connect_error(&e, &display, &database, setting)),
            }
        };
        Ok(PgDb {
            pool,
            url: url.to_string(),
            display,
        })
    }

    /// Applies the migrations the database lacks (serialised across processes by sqlx's
    /// advisory lock); refuses a database migrated by a newer CAFleet.
    pub async fn migrate(&self) -> Result<MigrateOutcome> {
        let before = self.version().await?;
        if before == latest_version() {
            return Ok(MigrateOutcome::Unchanged);
        }
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            MigrateError::VersionMissing(version) => Error::failed(format!(
                "the PostgreSQL database {} has schema version {version}, newer than this cafleet understands ({}). Upgrade cafleet, or point CAFLEET_DATABASE_URL at another database.",
                self.display,
                latest_version()
            )),
            other => Error::from(other),
        })?;
        Ok(match before {
            0 => MigrateOutcome::Created,
            from_version => MigrateOutcome::Adopted { from_version },
        })
    }

    /// The highest migration applied (0 for an empty database). One statement: every
    /// command pays for it.
    pub async fn version(&self) -> Result<i64> {
        let read: std::result::Result<Option<i64>, sqlx::Error> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await;
        match read {
            Ok(version) => Ok(version.unwrap_or(0)),
            // No migration table yet: an empty database.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(UNDEFINED_TABLE) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// The URL it was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `user@host:port/database`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The underlying pool, for tests that seed or inspect the database.
    #[doc(hidden)]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Parses `url` into connect options: the standard `PG*` variables and `~/.pgpass` fill in
/// what the URL leaves out, TLS modes (`sslmode=…`) pass through, and a write lock that
/// cannot be had within the busy timeout fails the statement instead of waiting forever.
pub fn connect_options(url: &str) -> Result<PgConnectOptions> {
    connect_options_from(url, DATABASE_URL)
}

/// [`connect_options`] of a URL given by `setting`, which the errors name.
fn connect_options_from(url: &str, setting: &str) -> Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url).map_err(|e| {
        Error::invalid(format!(
            "{setting} is not a valid PostgreSQL URL ({}). Use postgres://user@host:port/database",
            redact(&e.to_string(), url)
        ))
    })?;
    let lock_timeout = format!("{}s", crate::error::BUSY_TIMEOUT_SECS);
    // Waiting for the writers' lock is queueing, not a slow statement: sqlx's statement
    // logging would warn about it on stderr under load.
    Ok(sqlx::ConnectOptions::disable_statement_logging(
        options
            .options([("lock_timeout", lock_timeout.as_str())])
            .application_name("cafleet"),
    ))
}

/// The highest PostgreSQL migration version embedded in the binary.
pub fn latest_version() -> i64 {
    super::migrate::head_of(&MIGRATOR)
}

/// A connection failure that may pass by itself: the server is not listening (yet), or is
/// starting up or shutting down (SQLSTATE 57P03).
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::NotFound
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof
        ),
        sqlx::Error::Database(db) => db.code().as_deref() == Some(CANNOT_CONNECT_NOW),
        _ => false,
    }
}

/// SQLSTATE of a server that is starting up or shutting down.
const CANNOT_CONNECT_NOW: &str = "57P03";

/// The error for a failed connection: what went wrong and the fix, without the password.
fn connect_error(e: &sqlx::Error, display: &str, database: &str, setting: &str) -> Error {
    if let sqlx::Error::Database(db) = e {
        match db.code().as_deref() {
            Some(INVALID_PASSWORD | INVALID_AUTHORIZATION) => {
                return Error::failed(format!(
                    "PostgreSQL refused the login for {display}: {}. Check the user and password in {setting} (or PGPASSWORD, ~/.pgpass).",
                    db.message()
                ));
            }
            Some(INVALID_CATALOG) => {
                return Error::failed(format!(
                    "the PostgreSQL database {display} does not exist. Create it (e.g. `createdb {database}`), or point {setting} at another one."
                ));
            }
            _ => {}
        }
    }
    Error::failed(format!(
        "cannot reach the PostgreSQL server for {display}: {}. Check that the server runs and that {setting} names its host and port.",
        match e {
            sqlx::Error::PoolTimedOut =>
                format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            other => other.to_string(),
        }
    ))
}

/// `text` with the URL's password (if any) replaced.
fn redact(text: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|p| !p.is_empty());
    match password {
        Some(p) => text.replace(p, "***"),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_password_never_shows() {
        assert_eq!(
            redact("bad url postgres://u:s3cret@h/d", "postgres://u:s3cret@h/d"),
            "bad url postgres://u:***@h/d"
        );
        assert_eq!(redact("no password", "postgres://u@h/d"), "no password");
    }
}

/// A `LISTEN` connection of its own (not from the pool): notifications are wake-ups only,
/// the tables stay the truth (docs/postgres.md).
#[derive(Debug)]
pub struct Listener {
    inner: sqlx::postgres::PgListener,
}

/// What a [`Listener`] heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A notification's payload.
    Payload(String),
    /// The connection was lost; the next call reconnects and listens again. Whatever was
    /// notified meanwhile is gone: re-read the tables.
    Reconnecting,
}

impl PgDb {
    /// Opens a listening connection on `channel`, with the pool's connect options but
    /// outside the pool (a listener keeps its connection for good; taking one of the pool's
    /// would starve a one-connection CLI pool).
    pub async fn listen(&self, channel: &str) -> Result<Listener> {
        let own = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(connect_options(&self.url)?);
        let mut inner = sqlx::postgres::PgListener::connect_with(&own).await?;
        inner.listen(channel).await?;
        Ok(Listener { inner })
    }
}

impl Listener {
    /// Waits for the next notification, or reports a lost connection.
    pub async fn recv(&mut self) -> Result<Heard> {
        Ok(match self.inner.try_recv().await? {
            Some(n) => Heard::Payload(n.payload().to_string()),
            None => Heard::Reconnecting,
        })
    }
}
