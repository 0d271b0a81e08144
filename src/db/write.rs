//! Writing. Every write is one short transaction that holds the database's write lock for
//! its whole length and commits with an fsync (docs/decisions.md, S2 and S3): on SQLite a
//! `BEGIN IMMEDIATE` taken in this process's turn in the writers' queue, on PostgreSQL a
//! transaction that first takes the writers' advisory lock (`WRITERS_LOCK`), so every
//! check-then-write decision sees the same serial order on both backends.
//!
//! **Which write path to use.** Message traffic, which a busy fleet does many times a
//! second (send, broadcast, ack, cancel, the delivery records), goes through a job:
//! [`Db::write_atomic`] when the job changes the database with at most one statement and
//! cannot fail after it, [`Db::write`] otherwise. A job only touches the database, so in the
//! server it may share one transaction and one fsync with other writes (`group.rs`).
//! Everything else, the control writes that happen a few times a minute at most (fleets,
//! agents, members, the monitor's slot and schedules), opens its own transaction with
//! [`Db::begin_write`] and drives it, which keeps a multi-step body with early refusals
//! plain; it never joins a batch. Keystrokes into panes happen only after a commit.

use super::{AsConn, Conn, Db, Store, group, suffixed};
use crate::Result;
use sqlx::{Postgres, Sqlite, Transaction};
use std::path::Path;
use std::time::Duration;

/// The key of PostgreSQL's transaction-level advisory lock every write transaction takes
/// first (`pg_advisory_xact_lock`): the writers' queue, released by commit or rollback.
/// "CAFLEET" in ASCII, so that it does not collide with another application's keys by chance.
pub const WRITERS_LOCK: i64 = 0x0043_4146_4c45_4554;

/// How long a writer waits for its turn in the queue before writing without it.
const WRITER_TURN_WAIT_SECS: u64 = 10;

/// Appended to the database file name for the writers' queue lock file.
pub const WRITER_LOCK_SUFFIX: &str = ".writer-lock";

/// A write transaction holding the write lock (see [`Db::begin_write`]); `&mut tx` is what
/// the table modules' functions take.
#[derive(Debug)]
pub struct WriteTx {
    tx: Tx,
    /// Released (the lock file closed) when the transaction ends.
    _turn: Option<std::fs::File>,
    /// When `BEGIN IMMEDIATE` took SQLite's write lock.
    began: std::time::Instant,
}

/// The tracing target of the "write lock released" events (`CAFLEET_LOG=cafleet::db::lock=debug`).
pub const LOCK_TRACE_TARGET: &str = "cafleet::db::lock";

#[derive(Debug)]
enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
}

impl AsConn for WriteTx {
    fn conn(&mut self) -> Conn<'_> {
        match &mut self.tx {
            Tx::Sqlite(tx) => Conn::Sqlite(tx),
            Tx::Pg(tx) => Conn::Pg(tx),
        }
    }
}

impl WriteTx {
    /// The SQLite connection, for tests and benches that seed a file.
    ///
    /// # Panics
    /// On PostgreSQL.
    #[doc(hidden)]
    pub fn sqlite_conn(&mut self) -> &mut sqlx::SqliteConnection {
        match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Pg(_) => panic!("WriteTx::sqlite_conn on PostgreSQL"),
        }
    }

    /// Whether a failed statement leaves the rest of the transaction usable (SQLite undoes
    /// just that statement; PostgreSQL aborts the whole transaction).
    pub(super) fn survives_failed_statement(&self) -> bool {
        matches!(self.tx, Tx::Sqlite(_))
    }

    /// Runs a statement without results (savepoints).
    pub(super) async fn execute(&mut self, sql: &'static str) -> Result<()> {
        match &mut self.tx {
            Tx::Sqlite(tx) => {
                sqlx::query(sql).execute(&mut **tx).await?;
            }
            Tx::Pg(tx) => {
                sqlx::query(sql).execute(&mut **tx).await?;
            }
        }
        Ok(())
    }

    /// Commits, then hands the turn to the next writer. Logs how long SQLite's write lock
    /// was held (`held_us`, from `BEGIN IMMEDIATE` to the end of the commit's fsync) at
    /// debug level on [`LOCK_TRACE_TARGET`]: what every other writer waited for.
    pub async fn commit(self) -> Result<()> {
        match self.tx {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Pg(tx) => tx.commit().await?,
        }
        let held_us = u64::try_from(self.began.elapsed().as_micros()).unwrap_or(u64::MAX);
        tracing::debug!(target: LOCK_TRACE_TARGET, held_us, "write lock released");
        Ok(())
    }
}

/// The work of one write transaction (see [`Db::write`]): runs in the transaction;
/// `Box::pin(async move { ... })` in a closure.
pub trait WriteJob<T>:
    for<'c> FnOnce(&'c mut WriteTx) -> futures::future::BoxFuture<'c, Result<T>> + Send + 'static
{
}

impl<T, F> WriteJob<T> for F where
    F: for<'c> FnOnce(&'c mut WriteTx) -> futures::future::BoxFuture<'c, Result<T>>
        + Send
        + 'static
{
}

impl Db {
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
    /// most of a batched send's cost (PostgreSQL aborts the whole transaction instead, so
    /// there it gets its savepoint all the same). A job with more writes must use
    /// [`Db::write`].
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
                let value = job(&mut tx).await?;
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

    /// Starts a write transaction that holds the write lock from its first statement, so two
    /// writers never deadlock upgrading read locks and a check before a write stays true
    /// until the commit (docs/decisions.md, S2). On PostgreSQL that lock is the advisory
    /// [`WRITERS_LOCK`], whose waiters the server wakes in order.
    ///
    /// On SQLite, `BEGIN IMMEDIATE` takes the lock up front; writers first queue on an advisory lock on `<database>.writer-lock`: a waiter is
    /// woken the moment the lock is released. Left to SQLite's busy handler alone, a waiter
    /// backs off to 100 ms sleeps and, with dozens of processes writing at once, keeps losing
    /// the lock to newcomers until the busy timeout fails it. The queue is an optimisation:
    /// when the lock file cannot be used, or a turn takes more than 10 s to come, the write
    /// goes ahead without it and SQLite's own locking (and busy timeout) decides.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        match &self.store {
            Store::Sqlite { pool, path } => {
                let turn = writer_turn(path).await?;
                let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx {
                    tx: Tx::Sqlite(tx),
                    _turn: turn,
                    began: std::time::Instant::now(),
                })
            }
            Store::Pg(pg) => {
                let mut tx = pg.pool().begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITERS_LOCK)
                    .execute(&mut *tx)
                    .await?;
                Ok(WriteTx {
                    tx: Tx::Pg(tx),
                    _turn: None,
                    began: std::time::Instant::now(),
                })
            }
        }
    }
}

/// Waits (at most the busy timeout) for this process's turn to write to the SQLite file
/// at `db`.
async fn writer_turn(db: &Path) -> Result<Option<std::fs::File>> {
    let path = suffixed(db, WRITER_LOCK_SUFFIX);
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
