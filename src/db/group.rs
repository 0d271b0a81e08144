//! Group commit for long-running processes (the server, in-process users of the broker).
//!
//! Every write commits with an fsync (docs/decisions.md, S2), and the fsync, not the SQL,
//! is most of a small write's cost. When many tasks of one process write at once, one
//! writer task takes every write waiting in its queue, runs each in its own savepoint of one
//! `BEGIN IMMEDIATE` transaction, commits once, and only then answers each caller. A caller
//! therefore still hears back only after its write is durable; a write that fails is rolled
//! back to its savepoint alone and the others commit; if the commit itself fails, every
//! write of the batch gets the error and none of them is stored.

use super::{Db, WriteTx};
use crate::{Error, Result};
use futures::FutureExt;
use futures::future::BoxFuture;
use std::any::Any;
use tokio::sync::{mpsc, oneshot};

/// The most writes one transaction takes (bounds a batch's lock hold).
const MAX_BATCH: usize = 256;
/// Writes waiting beyond this make callers wait to enqueue (back-pressure).
const QUEUE_DEPTH: usize = 4096;

type Erased = Box<dyn Any + Send>;

/// A write: runs in the transaction and returns its (type-erased) result.
pub(super) type Job =
    Box<dyn for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<Erased>> + Send>;

/// A queued write and where its outcome goes once the batch has committed.
pub(super) struct Queued {
    job: Job,
    /// The job makes at most one change, with its one writing statement, and fails only
    /// before or by that statement: it needs no savepoint of its own (see [`Db::write_atomic`]).
    atomic: bool,
    reply: oneshot::Sender<Result<Erased>>,
}

/// The sending side, held by every clone of a [`Db`] that group-commits.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Queued>,
}

impl Writer {
    /// Starts the writer task for `db` (a handle without a writer of its own) on the
    /// current tokio runtime. It ends when the last handle holding this writer is dropped.
    pub(super) fn start(db: Db) -> Writer {
        let (queue, receive) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(db, receive));
        Writer { queue }
    }

    /// Queues `job` and waits for its outcome (after the commit).
    pub(super) async fn submit(&self, job: Job, atomic: bool) -> Result<Erased> {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .send(Queued { job, atomic, reply })
            .await
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::failed("the database writer stopped; restart the cafleet process")
}

/// Runs one job, turning a panic (a bug) into that job's error instead of the writer's end.
async fn run_job(job: Job, tx: &mut WriteTx) -> Result<Erased> {
    match std::panic::AssertUnwindSafe(job(tx)).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(_) => Err(Error::failed(
            "internal error while writing (a bug); nothing of this write was stored",
        )),
    }
}

async fn run(db: Db, mut receive: mpsc::Receiver<Queued>) {
    while let Some(first) = receive.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receive.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        write_batch(&db, batch).await;
    }
}

async fn write_batch(db: &Db, batch: Vec<Queued>) {
    let mut tx = match db.begin_write().await {
        Ok(tx) => tx,
        Err(e) => {
            for queued in batch {
                let _ = queued.reply.send(Err(Error::again(&e)));
            }
            return;
        }
    };
    let mut done: Vec<(oneshot::Sender<Result<Erased>>, Result<Erased>)> =
        Vec::with_capacity(batch.len());
    if batch.len() == 1 {
        // Alone: no savepoint needed; a failed write rolls the transaction back.
        let Queued { job, reply, .. } = batch.into_iter().next().expect("one write");
        let outcome = run_job(job, &mut tx).await;
        if outcome.is_err() {
            drop(tx);
            let _ = reply.send(outcome);
            return;
        }
        done.push((reply, outcome));
    } else {
        let mut failed: Option<Error> = None;
        let mut rest = batch.into_iter();
        for Queued { job, atomic, reply } in rest.by_ref() {
            if atomic && tx.survives_failed_statement() {
                // A failed statement undoes itself; nothing else of the job was written.
                let outcome = run_job(job, &mut tx).await;
                done.push((reply, outcome));
                continue;
            }
            let outcome = match tx.execute("SAVEPOINT cafleet_write").await {
                Ok(()) => run_job(job, &mut tx).await,
                Err(e) => {
                    failed = Some(e);
                    let _ = reply.send(Err(failed.as_ref().expect("set").again()));
                    break;
                }
            };
            let closed = if outcome.is_ok() {
                tx.execute("RELEASE cafleet_write").await
            } else {
                match tx.execute("ROLLBACK TO cafleet_write").await {
                    Ok(()) => tx.execute("RELEASE cafleet_write").await,
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = closed {
                let _ = reply.send(Err(Error::again(&e)));
                failed = Some(e);
                break;
            }
            done.push((reply, outcome));
        }
        if let Some(e) = failed {
            // The transaction can no longer be trusted: nothing of the batch is stored.
            drop(tx);
            for (reply, _) in done {
                let _ = reply.send(Err(Error::again(&e)));
            }
            for queued in rest {
                let _ = queued.reply.send(Err(Error::again(&e)));
            }
            return;
        }
    }
    match tx.commit().await {
        Ok(()) => {
            for (reply, outcome) in done {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            for (reply, _) in done {
                let _ = reply.send(Err(Error::again(&e)));
            }
        }
    }
}
