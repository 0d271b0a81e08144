//! The only place with SQL. [`Db::open`] sets every pragma, [`Db::migrate`] brings any
//! database (fresh, ours, or written by CAFleet 0.14) to head, and [`Db::begin_write`] opens
//! the `BEGIN IMMEDIATE` transactions every write uses. One file per table group.

pub mod activity;
pub mod agents;
pub mod changes;
pub mod fleets;
mod group;
pub mod monitor;
pub mod placements;
pub mod tasks;

pub use agents::NewAgent;
pub use tasks::NewTask;

use crate::error::BUSY_TIMEOUT_SECS;
use crate::{Error, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The migrations in `migrations/`, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The alembic revision CAFleet 0.14 stamps; our baseline is exactly that schema.
pub const ALEMBIC_HEAD: &str = "0005";
const ALEMBIC_KNOWN: [&str; 5] = ["0001", "0002", "0003", "0004", "0005"];

/// How long a writer waits for its turn in the queue before writing without it.
const WRITER_TURN_WAIT_SECS: u64 = 10;

/// Appended to the database file name for the writers' queue lock file.
pub const WRITER_LOCK_SUFFIX: &str = ".writer-lock";

/// A write transaction (always `BEGIN IMMEDIATE`), taken in this process's turn in the
/// writers' queue (see [`Db::begin_write`]). Derefs to the sqlx transaction, so `&mut tx`
/// is a `&mut SqliteConnection`.
#[derive(Debug)]
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    /// Released (the lock file closed) when the transaction ends.
    _turn: Option<std::fs::File>,
    /// When `BEGIN IMMEDIATE` took SQLite's write lock.
    began: std::time::Instant,
}

/// The tracing target of the "write lock released" events (`CAFLEET_LOG=cafleet::db::lock=debug`).
pub const LOCK_TRACE_TARGET: &str = "cafleet::db::lock";

impl WriteTx {
    /// The connection, for running a statement in the transaction.
    pub fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }

    /// Commits, then hands the turn to the next writer. Logs how long SQLite's write lock
    /// was held (`held_us`, from `BEGIN IMMEDIATE` to the end of the commit's fsync) at
    /// debug level on [`LOCK_TRACE_TARGET`]: what every other writer waited for.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        let held_us = u64::try_from(self.began.elapsed().as_micros()).unwrap_or(u64::MAX);
        tracing::debug!(target: LOCK_TRACE_TARGET, held_us, "write lock released");
        Ok(())
    }
}

impl std::ops::Deref for WriteTx {
    type Target = Transaction<'static, Sqlite>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// The work of one write transaction (see [`Db::write`]): runs on the transaction's
/// connection; `Box::pin(async move { ... })` in a closure.
pub trait WriteJob<T>:
    for<'c> FnOnce(&'c mut sqlx::SqliteConnection) -> futures::future::BoxFuture<'c, Result<T>>
    + Send
    + 'static
{
}

impl<T, F> WriteJob<T> for F where
    F: for<'c> FnOnce(&'c mut sqlx::SqliteConnection) -> futures::future::BoxFuture<'c, Result<T>>
        + Send
        + 'static
{
}

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

/// What [`Db::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrateOutcome {
    /// The database had no tables; the whole schema was created.
    Created,
    /// Already at head.
    Unchanged,
    /// A CAFleet 0.14 database below alembic head was upgraded from this revision.
    Upgraded {
        /// The alembic revision found.
        from: String,
    },
    /// A CAFleet 0.14 database at alembic head (or an older one of ours) got our additions.
    Adopted {
        /// The schema version (`PRAGMA user_version`) found.
        from_version: i64,
    },
}

impl Db {
    /// Opens (creating if needed) the database file with every pragma set. `max_connections`
    /// is 1 for CLI commands and larger for the server.
    pub async fn open(path: &Path, max_connections: u32) -> Result<Db> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::runtime(format!(
                    "cannot create the database directory {}: {e}. Create it, or point CAFLEET_DATABASE_URL elsewhere.",
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
                other => Error::runtime(format!(
                    "cannot open the database {}: {other}. Check CAFLEET_DATABASE_URL and the file's permissions.",
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
            pool,
            path: path.to_path_buf(),
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

    /// Runs `job` in a write transaction and commits it; its result is returned only once
    /// the commit is durable. An error from `job` rolls its writes back. With group commit,
    /// the job may share the transaction with other writes of this process (each in its own
    /// savepoint), so it must only touch the database: side effects such as typing previews
    /// belong after this returns.
    pub async fn write<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: WriteJob<T>,
    {
        self.write_job(job, false).await
    }

    /// [`Db::write`] for a job that changes the database with at most one statement and
    /// cannot fail after it (reads before it, or reads after a statement that changed
    /// nothing, are fine). SQLite undoes a failed statement by itself, so in a shared
    /// transaction such a job needs no savepoint: two round trips fewer per write, which is
    /// most of a batched send's cost. A job with more writes must use [`Db::write`].
    pub async fn write_atomic<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: WriteJob<T>,
    {
        self.write_job(job, true).await
    }

    async fn write_job<T, F>(&self, job: F, atomic: bool) -> Result<T>
    where
        T: Send + 'static,
        F: WriteJob<T>,
    {
        match &self.writer {
            None => {
                let mut tx = self.begin_write().await?;
                let value = job(tx.conn()).await?;
                tx.commit().await?;
                Ok(value)
            }
            Some(writer) => {
                let erased: group::Job = Box::new(move |conn| {
                    Box::pin(async move {
                        job(conn)
                            .await
                            .map(|v| Box::new(v) as Box<dyn std::any::Any + Send>)
                    })
                });
                let value = writer.submit(erased, atomic).await?;
                Ok(*value
                    .downcast::<T>()
                    .expect("a write's result has the type it was submitted with"))
            }
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying pool (for the server, which shares it).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool, letting `optimize_on_close` run.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so two
    /// writers never deadlock upgrading read locks (docs/decisions.md, S2).
    ///
    /// Writers first queue on an advisory lock on `<database>.writer-lock`: a waiter is
    /// woken the moment the lock is released. Left to SQLite's busy handler alone, a waiter
    /// backs off to 100 ms sleeps and, with dozens of processes writing at once, keeps losing
    /// the lock to newcomers until the busy timeout fails it. The queue is an optimisation:
    /// when the lock file cannot be used, or a turn takes more than 10 s to come, the write
    /// goes ahead without it and SQLite's own locking (and busy timeout) decides.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        let turn = self.writer_turn().await?;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx {
            tx,
            _turn: turn,
            began: std::time::Instant::now(),
        })
    }

    /// Waits (at most the busy timeout) for this process's turn to write.
    async fn writer_turn(&self) -> Result<Option<std::fs::File>> {
        let path = suffixed(&self.path, WRITER_LOCK_SUFFIX);
        let file = match std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "no writer queue");
                return Ok(None);
            }
        };
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                tracing::debug!(path = %path.display(), error = %e, "no writer queue");
                return Ok(None);
            }
        }
        // Contended: block on the lock in a thread of its own. If we give up first, the
        // thread's send fails when it gets the lock, and dropping the file releases it.
        let (send, receive) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let got = file.lock().map(|()| file);
            let _ = send.send(got);
        });
        match tokio::time::timeout(Duration::from_secs(WRITER_TURN_WAIT_SECS), receive).await {
            Ok(Ok(Ok(file))) => Ok(Some(file)),
            Ok(Ok(Err(e))) => {
                tracing::debug!(path = %path.display(), error = %e, "no writer queue");
                Ok(None)
            }
            Ok(Err(_)) => Ok(None),
            Err(_) => {
                // Far beyond any normal wait (p99 1 s with 32 writers): write without the
                // queue rather than fail, and leave the final say to SQLite's busy timeout.
                tracing::warn!(path = %path.display(), "writer queue wait exceeded {WRITER_TURN_WAIT_SECS} s; writing without it");
                Ok(None)
            }
        }
    }

    /// Brings the database to head. Cheap when already there (one pragma read); otherwise
    /// serialised across processes by `BEGIN IMMEDIATE`, after backing up an existing file.
    pub async fn migrate(&self) -> Result<MigrateOutcome> {
        if self.opened_at_head {
            return Ok(MigrateOutcome::Unchanged);
        }
        let head = latest_version();
        let version = self.user_version().await?;
        if version == head {
            return Ok(MigrateOutcome::Unchanged);
        }
        if version > head {
            return Err(Error::runtime(format!(
                "the database {} has schema version {version}, newer than this cafleet understands ({head}). Upgrade cafleet, or point CAFLEET_DATABASE_URL at another file.",
                self.path.display()
            )));
        }
        let mut conn = self.pool.acquire().await?;
        let has_tables = !user_tables(&mut conn).await?.is_empty();
        if has_tables {
            self.backup(&mut conn, version).await;
        }
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let result = migrate_locked(&mut conn, head).await;
        match result {
            Ok(outcome) => {
                sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
                Ok(outcome)
            }
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                Err(e)
            }
        }
    }

    async fn user_version(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Keeps a consistent copy of an existing database before its first migration by this
    /// version (STYLE rule 9). The copy is written under a temporary name, synced, and renamed
    /// into place, so `<file>.bak-schema<N>` is always complete: a process killed while
    /// copying leaves only a temporary file, which the next run removes and redoes. Best
    /// effort: a failed backup is logged, not fatal; a finished backup (another process got
    /// there first) is kept.
    async fn backup(&self, conn: &mut sqlx::SqliteConnection, version: i64) {
        let target = suffixed(&self.path, &format!(".bak-schema{version}"));
        if target.exists() {
            return;
        }
        remove_stale_backup_temps(&target);
        let temp = suffixed(&target, &format!(".tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        let temp_str = temp.display().to_string();
        let written = sqlx::query("VACUUM INTO ?1")
            .bind(&temp_str)
            .execute(&mut *conn)
            .await
            .map_err(|e| e.to_string())
            .and_then(|_| {
                std::fs::File::open(&temp)
                    .and_then(|f| f.sync_all())
                    .and_then(|()| std::fs::rename(&temp, &target))
                    .map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => {
                tracing::info!(backup = %target.display(), "backed up the database before migrating");
            }
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                tracing::warn!(error = %e, "could not back up the database before migrating");
            }
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

/// `path` with `suffix` appended to its file name.
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes `<backup>.tmp-<pid>` files (and their journals) left by processes that died while writing them.
fn remove_stale_backup_temps(target: &Path) {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let prefix = format!("{}.tmp-", name.to_string_lossy());
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .map(|rest| rest.trim_end_matches("-journal"))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = pid > 0
            && matches!(
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
                Ok(()) | Err(nix::errno::Errno::EPERM)
            );
        if !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The highest migration version embedded in the binary.
pub fn latest_version() -> i64 {
    MIGRATOR
        .migrations
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

async fn user_tables(conn: &mut sqlx::SqliteConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Runs inside the `BEGIN IMMEDIATE` of [`Db::migrate`]: re-checks the version (another
/// process may have migrated meanwhile), refuses foreign or unknown schemas, applies the
/// missing migrations and stamps `user_version`.
/// For a database without our schema version (`user_version` 0) holding `tables`: the
/// alembic revision of a CAFleet 0.14 database we can adopt (`None` when there are no
/// tables), or the refusal for anything else.
async fn check_adoptable(
    conn: &mut sqlx::SqliteConnection,
    tables: &[String],
) -> Result<Option<String>> {
    if tables.is_empty() {
        return Ok(None);
    }
    if !tables.iter().any(|t| t == "alembic_version") {
        return Err(Error::runtime(
            "DB has existing tables but no alembic_version. Run `alembic stamp head` manually if you are sure the schema matches.",
        ));
    }
    let rev: Option<String> = sqlx::query_scalar("SELECT version_num FROM alembic_version")
        .fetch_optional(&mut *conn)
        .await?;
    let rev = rev.unwrap_or_default();
    if !ALEMBIC_KNOWN.contains(&rev.as_str()) {
        return Err(Error::runtime(format!(
            "DB schema is at revision {rev} which is unknown to this version of cafleet. Refusing to downgrade automatically."
        )));
    }
    Ok(Some(rev))
}

async fn migrate_locked(conn: &mut sqlx::SqliteConnection, head: i64) -> Result<MigrateOutcome> {
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?;
    if version == head {
        return Ok(MigrateOutcome::Unchanged);
    }
    let tables = user_tables(conn).await?;
    let mut outcome = if tables.is_empty() {
        MigrateOutcome::Created
    } else {
        MigrateOutcome::Adopted {
            from_version: version,
        }
    };
    if version == 0
        && let Some(rev) = check_adoptable(conn, &tables).await?
        && rev != ALEMBIC_HEAD
    {
        outcome = MigrateOutcome::Upgraded { from: rev };
    }
    for m in MIGRATOR.migrations.iter().filter(|m| m.version > version) {
        tracing::info!(version = m.version, description = %m.description, "applying migration");
        sqlx::raw_sql(&m.sql).execute(&mut *conn).await?;
    }
    let stamp = format!("PRAGMA user_version = {head}");
    sqlx::raw_sql(&stamp).execute(&mut *conn).await?;
    Ok(outcome)
}

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
