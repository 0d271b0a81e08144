//! Typing previews and recording how far each delivery got; the monitor's redelivery pass
//! and dead letters (docs/delivery.md).

mod redeliver;
mod relay;

pub use redeliver::{Redelivered, RedeliveryOutcome};
pub use relay::{RelayWakeups, Wake};

use super::Broker;
use crate::Result;
use crate::db::{self, deliveries::AttemptRecord};
use crate::delivery::{DeliverMode, DeliveryRecord, DeliveryState, Redelivery};
use crate::model::{AgentId, FleetId, PaneTarget, Task, TaskId, now_ts, parse_ts};
use crate::tmux::{Delivery, HELD_FOR_DRAFT, Submission, preview_payload};
use futures::StreamExt;
use std::time::Duration;

/// A note that starts with this marks an attempt that typed nothing on purpose (a draft, a
/// question, a working agent): the monitor tries again on its next tick.
pub const HELD: &str = "held: ";

/// The hold of a delivery whose pane is on another host, after [`HELD`]: the relay of
/// that host types it (`cafleet relay`, docs/postgres.md).
pub fn relay_hold(host: &str) -> String {
    format!("{HELD}its pane is on host {host}: the relay there types it (cafleet relay)")
}

/// How long the monitor leaves a delivery nobody has tried yet to its sender (who may be
/// waiting its turn as the pane's typist) before typing it itself; never longer than the
/// policy's first wait.
pub const SENDER_GRACE: Duration = Duration::from_secs(30);

/// A delivery still unseen this long after it was sent is a dead letter, however few
/// previews were typed (held back by a draft all day, say).
pub const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// How many recipients one redelivery pass types into at once.
const REDELIVERY_CONCURRENCY: usize = 16;

/// How many deliveries of a broadcast are in each state after their previews were typed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryCounts {
    /// Not typed (queued, no pane, held back, or failed).
    pub stored: usize,
    /// Typed, not seen taken.
    pub typed: usize,
    /// Typed and taken.
    pub submitted: usize,
}

impl DeliveryCounts {
    /// Previews typed.
    pub fn typed_total(&self) -> usize {
        self.typed + self.submitted
    }
}

/// An agent's messages not yet seen (polled), dead letters included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Undelivered {
    /// Pending messages the agent has not been shown yet.
    pub unseen: i64,
    /// How many of them are dead letters.
    pub dead: i64,
}

impl Undelivered {
    /// `-`, `2 unseen`, or `3 unseen (1 dead)`, for the lists.
    pub fn text(&self) -> String {
        match (self.unseen, self.dead) {
            (0, _) => "-".into(),
            (n, 0) => format!("{n} unseen"),
            (n, d) => format!("{n} unseen ({d} dead)"),
        }
    }
}

/// How one attempt turns into what is recorded.
fn attempt_record(delivery: Delivery, submission: Submission) -> AttemptRecord {
    match delivery {
        Delivery::Sent => AttemptRecord::Typed {
            taken: submission == Submission::Taken,
            note: (submission == Submission::Stuck)
                .then(|| "the text stayed in its input box after Enter".to_string()),
        },
        Delivery::Held(why) => AttemptRecord::Held(format!("{HELD}{why}")),
        Delivery::Shell(cmd) => AttemptRecord::Failed(format!("its pane runs the shell {cmd}")),
        Delivery::Gone => AttemptRecord::Failed("its pane is gone".into()),
        Delivery::Failed(e) => AttemptRecord::Failed(format!("tmux failed: {e}")),
    }
}

impl Broker {
    /// Whether a live monitor looks after the fleet (it types held-back previews later).
    pub async fn monitor_running(&self, fleet_id: FleetId) -> bool {
        let Ok(mut conn) = self.db.read().await else {
            return false;
        };
        match db::monitor::runtime(&mut conn, fleet_id).await {
            Ok(Some(rt)) => super::monitor::is_live(&rt, &now_ts()),
            _ => false,
        }
    }

    /// Types the preview of a committed delivery as `mode` says, and records the attempt.
    /// `monitored`: a monitor will type a held-back preview later, so an idle-mode
    /// delivery is held while its recipient works (without one it is typed now, and the
    /// coding agent queues it). Returns whether the preview was typed.
    pub async fn deliver(
        &self,
        task: &Task,
        target: Option<PaneTarget>,
        mode: DeliverMode,
        monitored: bool,
    ) -> bool {
        let Some(record) = self.attempt(task, target.clone(), mode, monitored).await else {
            return false;
        };
        let typed = matches!(record, AttemptRecord::Typed { .. });
        self.record_attempts(vec![(task.task_id, record)]).await;
        self.wake_relays(target.iter()).await;
        typed
    }

    /// [`Broker::deliver`] for a delivery of `fleet_id`, which is asked whether a monitor
    /// runs when the mode needs to know.
    pub async fn deliver_in_fleet(
        &self,
        fleet_id: FleetId,
        task: &Task,
        target: Option<PaneTarget>,
        mode: DeliverMode,
    ) -> bool {
        let monitored = mode == DeliverMode::Idle && self.monitor_running(fleet_id).await;
        self.deliver(task, target, mode, monitored).await
    }

    /// [`Broker::deliver_all`] for deliveries of `fleet_id` (see
    /// [`Broker::deliver_in_fleet`]).
    pub async fn deliver_all_in_fleet(
        &self,
        fleet_id: FleetId,
        deliveries: Vec<(Task, Option<PaneTarget>)>,
        mode: DeliverMode,
    ) -> DeliveryCounts {
        let monitored = mode == DeliverMode::Idle && self.monitor_running(fleet_id).await;
        self.deliver_all(deliveries, mode, monitored).await
    }

    /// Delivers the preview of a unicast just stored (nothing for a `repeated` send, which
    /// stored nothing) and reports how far it got: the outcome `message send` and `member
    /// nudge` print.
    pub(crate) async fn deliver_and_report(
        &self,
        fleet_id: FleetId,
        task: Task,
        target: Option<PaneTarget>,
        mode: DeliverMode,
        repeated: bool,
    ) -> Result<super::SendOutcome> {
        let tried = !repeated && mode != DeliverMode::Queue && target.is_some();
        let notification_sent = tried && self.deliver_in_fleet(fleet_id, &task, target, mode).await;
        // Read back only what changed since the INSERT (or a repeat's original).
        let delivery = if tried || repeated {
            self.delivery_record(task.task_id).await?
        } else {
            None
        };
        let to_self = task.to_agent_id == task.from_agent_id;
        let delivery = delivery.unwrap_or_else(|| untried_record(task.task_id, mode, to_self));
        Ok(super::SendOutcome {
            task,
            notification_sent,
            repeated,
            delivery,
        })
    }

    /// One attempt at typing a preview; `None` when nothing was tried (queued, no pane,
    /// no tmux).
    async fn attempt(
        &self,
        task: &Task,
        target: Option<PaneTarget>,
        mode: DeliverMode,
        monitored: bool,
    ) -> Option<AttemptRecord> {
        if mode == DeliverMode::Queue {
            return None;
        }
        let target = target?;
        if let Some(host) = self.remote_host(target.host.as_deref()) {
            return Some(AttemptRecord::Held(relay_hold(host)));
        }
        if !self.tmux.available() {
            tracing::debug!("tmux not on PATH: preview skipped");
            return None;
        }
        let payload = preview_payload(
            task.task_id,
            task.from_agent_id,
            &task.status_timestamp,
            &task.text,
            self.max_text_len,
        );
        let hold_if_working = mode == DeliverMode::Idle && monitored;
        if hold_if_working && self.hooks_say_working(task.to_agent_id).await {
            return Some(AttemptRecord::Held(format!(
                "{HELD}it is working (its hooks say so); it gets the message when its turn ends"
            )));
        }
        let (delivery, submission) = self
            .tmux
            .type_line_with(&target, &payload, hold_if_working)
            .await;
        let record = attempt_record(delivery, submission);
        match &record {
            AttemptRecord::Typed { taken, .. } => {
                tracing::debug!(pane = %target.pane_id, task = %task.task_id, taken, "preview typed");
            }
            AttemptRecord::Held(why) | AttemptRecord::Failed(why) => {
                tracing::info!(pane = %target.pane_id, task = %task.task_id, %why, "preview not typed: message stays queued");
            }
        }
        Some(record)
    }

    /// Records attempts in one transaction; a failure is logged (the monitor's pass finds
    /// the deliveries again: nothing is lost).
    async fn record_attempts(&self, records: Vec<(TaskId, AttemptRecord)>) {
        if records.is_empty() {
            return;
        }
        let now = now_ts();
        let result = self
            .db
            .write(move |tx| {
                Box::pin(async move {
                    for (task_id, record) in &records {
                        db::deliveries::record_attempt(tx, *task_id, record, &now).await?;
                    }
                    Ok(())
                })
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record a delivery attempt");
        }
    }

    /// Types the previews of committed deliveries (one per recipient pane, concurrently)
    /// and records them; returns how many deliveries are in each state afterwards.
    pub async fn deliver_all(
        &self,
        deliveries: Vec<(Task, Option<PaneTarget>)>,
        mode: DeliverMode,
        monitored: bool,
    ) -> DeliveryCounts {
        let targets: Vec<PaneTarget> = deliveries.iter().filter_map(|(_, t)| t.clone()).collect();
        let attempts = deliveries.into_iter().map(|(task, target)| async move {
            let record = self.attempt(&task, target, mode, monitored).await;
            (task.task_id, record)
        });
        let results = futures::future::join_all(attempts).await;
        let mut counts = DeliveryCounts::default();
        for (_, record) in &results {
            match record {
                Some(AttemptRecord::Typed { taken: true, .. }) => counts.submitted += 1,
                Some(AttemptRecord::Typed { taken: false, .. }) => counts.typed += 1,
                _ => counts.stored += 1,
            }
        }
        let records = results
            .into_iter()
            .filter_map(|(id, r)| r.map(|r| (id, r)))
            .collect();
        self.record_attempts(records).await;
        self.wake_relays(targets.iter()).await;
        counts
    }

    /// Wakes the relays of the other hosts among `targets` once their deliveries are
    /// recorded (PostgreSQL's `NOTIFY`; SQLite's relays poll). A lost wake-up costs only
    /// latency: the relay's own tick finds the deliveries.
    async fn wake_relays<'t>(&self, targets: impl Iterator<Item = &'t PaneTarget>) {
        if !self.db.is_pg() {
            return;
        }
        let mut hosts: Vec<&str> = targets
            .filter_map(|t| self.remote_host(t.host.as_deref()))
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        for host in hosts {
            self.notify_host(host).await;
        }
    }

    /// Per agent of the fleet with messages it has not seen: how many, and how many of
    /// those are dead letters (`member list`, `monitor status`).
    pub async fn undelivered_counts(
        &self,
        fleet_id: FleetId,
    ) -> Result<std::collections::HashMap<AgentId, Undelivered>> {
        let mut conn = self.db.read().await?;
        Ok(db::deliveries::undelivered_counts(&mut conn, fleet_id)
            .await?
            .into_iter()
            .map(|(agent, unseen, dead)| (agent, Undelivered { unseen, dead }))
            .collect())
    }

    /// A delivery's record, for its sender's output (`message send`).
    pub async fn delivery_record(&self, task_id: TaskId) -> Result<Option<DeliveryRecord>> {
        let mut conn = self.db.read().await?;
        db::deliveries::delivery(&mut conn, task_id).await
    }
}

/// What `message send` reports when no attempt was made: queued on purpose, sent to
/// oneself, or the recipient has no pane (an agent registered without one).
pub fn untried_record(task_id: TaskId, mode: DeliverMode, to_self: bool) -> DeliveryRecord {
    let note = match mode {
        DeliverMode::Queue => "not typed: the recipient reads it when it polls",
        _ if to_self => "sent to itself: nothing typed; it reads it when it polls",
        _ => "no pane to type into: the recipient reads it when it polls",
    };
    DeliveryRecord {
        task_id,
        mode,
        state: DeliveryState::Stored,
        attempts: 0,
        last_attempt_at: None,
        note: Some(note.into()),
        typed_at: None,
        submitted_at: None,
        seen_at: None,
        acked_at: None,
        dead_at: None,
    }
}
