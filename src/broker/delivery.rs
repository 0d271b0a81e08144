//! Typing previews and recording how far each delivery got; the monitor's redelivery pass
//! and dead letters (docs/delivery.md).

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

/// What the monitor's redelivery pass did with one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redelivered {
    /// The delivery.
    pub task_id: TaskId,
    /// Its recipient.
    pub to_agent_id: AgentId,
    /// The recipient's name.
    pub to_name: String,
    /// What happened.
    pub outcome: RedeliveryOutcome,
}

/// The outcome of one redelivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeliveryOutcome {
    /// Typed again (`taken`: the agent was seen taking it).
    Typed { taken: bool },
    /// Not typed this time; why (tried again next tick, or after the backoff).
    NotTyped(String),
    /// Given up; the Director was told (when it is not the recipient).
    Dead { reported: bool },
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

/// Seconds from `then` to `now`, `None` when either is unparsable.
fn elapsed(now: &str, then: &str) -> Option<Duration> {
    let d = parse_ts(now)? - parse_ts(then)?;
    d.to_std().ok().or(Some(Duration::ZERO))
}

/// What the redelivery pass should do with a delivery at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Wait,
    Type,
    Dead,
}

fn due(u: &db::deliveries::Undelivered, policy: &Redelivery, now: &str) -> Due {
    let (Some(since_last), Some(age)) = (
        elapsed(now, &u.delivery_last_at),
        elapsed(now, &u.created_at),
    ) else {
        return Due::Wait;
    };
    let held = u
        .delivery_note
        .as_deref()
        .is_some_and(|n| n.starts_with(HELD));
    let wait = if u.delivery_attempts == 0 && u.delivery_note.is_none() {
        SENDER_GRACE.min(policy.after)
    } else if held {
        Duration::ZERO
    } else {
        policy.wait_after(u.delivery_attempts)
    };
    if since_last < wait {
        return if age >= MAX_AGE { Due::Dead } else { Due::Wait };
    }
    if age >= MAX_AGE || (u.delivery_attempts >= policy.attempts && !held) {
        return Due::Dead;
    }
    Due::Type
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
        let Some(record) = self.attempt(task, target, mode, monitored).await else {
            return false;
        };
        let typed = matches!(record, AttemptRecord::Typed { .. });
        self.record_attempts(vec![(task.task_id, record)]).await;
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
                tracing::debug!(pane = %target.pane_id, task = task.task_id, taken, "preview typed");
            }
            AttemptRecord::Held(why) | AttemptRecord::Failed(why) => {
                tracing::info!(pane = %target.pane_id, task = task.task_id, %why, "preview not typed: message stays queued");
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
        counts
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

    /// The monitor's redelivery pass at `now`: every delivery of the fleet that its
    /// recipient has not seen and that is due under `policy` is typed again (an idle-mode
    /// one only into an agent that is not working); one past its last attempt is a dead
    /// letter, reported to the Director by the fleet's Administrator.
    pub async fn redeliver(
        &self,
        fleet_id: FleetId,
        policy: &Redelivery,
        now: &str,
    ) -> Result<Vec<Redelivered>> {
        let rows = {
            let mut conn = self.db.read().await?;
            db::deliveries::undelivered(&mut conn, fleet_id).await?
        };
        let mut out = Vec::new();
        let mut by_pane: Vec<(PaneTarget, Vec<db::deliveries::Undelivered>)> = Vec::new();
        let mut dead = Vec::new();
        for u in rows {
            match due(&u, policy, now) {
                Due::Wait => {}
                Due::Dead => dead.push(u),
                Due::Type => {
                    let Some(target) =
                        PaneTarget::from_placement(u.tmux_socket.clone(), u.tmux_pane_id.clone())
                    else {
                        continue;
                    };
                    match by_pane.iter_mut().find(|(t, _)| *t == target) {
                        Some((_, list)) => list.push(u),
                        None => by_pane.push((target, vec![u])),
                    }
                }
            }
        }
        // One recipient's previews in order, as its one typist; recipients concurrently.
        let per_pane: Vec<Vec<(db::deliveries::Undelivered, AttemptRecord)>> =
            futures::stream::iter(by_pane.into_iter().map(|(target, list)| async move {
                let mut done = Vec::new();
                let mut stop: Option<AttemptRecord> = None;
                for u in list {
                    if let Some(record) = &stop {
                        done.push((u, record.clone()));
                        continue;
                    }
                    let task = undelivered_task(&u);
                    // Only the first preview of a `now` message goes into a working agent:
                    // the ones typed again wait for an idle moment like the rest.
                    let mode = match DeliverMode::from_db(&u.delivery_mode) {
                        DeliverMode::Now => DeliverMode::Idle,
                        m => m,
                    };
                    let record = self
                        .attempt(&task, Some(target.clone()), mode, true)
                        .await
                        .unwrap_or_else(|| {
                            AttemptRecord::Held(format!("{HELD}tmux is not on PATH"))
                        });
                    // A pane that is gone or runs a shell fails the next preview too, and one
                    // held for a working agent or a question holds the next one as well (so
                    // the previews stay in order). Only a draft does not stop the others: it
                    // may be one of them, left by a typist that died before its Enter, which
                    // that preview's own attempt submits.
                    let draft = matches!(&record, AttemptRecord::Held(why) if why.ends_with(HELD_FOR_DRAFT));
                    if !draft && !matches!(record, AttemptRecord::Typed { .. }) {
                        stop = Some(record.clone());
                    }
                    done.push((u, record));
                }
                done
            }))
            .buffered(REDELIVERY_CONCURRENCY)
            .collect()
            .await;
        let mut records = Vec::new();
        for (u, record) in per_pane.into_iter().flatten() {
            let outcome = match &record {
                AttemptRecord::Typed { taken, .. } => RedeliveryOutcome::Typed { taken: *taken },
                AttemptRecord::Held(why) | AttemptRecord::Failed(why) => {
                    RedeliveryOutcome::NotTyped(why.trim_start_matches(HELD).to_string())
                }
            };
            // A hold repeated every tick is not news: only report it once.
            let repeat_hold = matches!(&record, AttemptRecord::Held(why)
                if u.delivery_note.as_deref() == Some(why.as_str()));
            records.push((u.task_id, record));
            if !repeat_hold {
                out.push(Redelivered {
                    task_id: u.task_id,
                    to_agent_id: u.to_agent_id,
                    to_name: u.to_name.clone(),
                    outcome,
                });
            }
        }
        self.record_attempts(records).await;
        for u in dead {
            let reported = self.dead_letter(fleet_id, &u, now).await?;
            if let Some(reported) = reported {
                out.push(Redelivered {
                    task_id: u.task_id,
                    to_agent_id: u.to_agent_id,
                    to_name: u.to_name.clone(),
                    outcome: RedeliveryOutcome::Dead { reported },
                });
            }
        }
        Ok(out)
    }

    /// Marks a delivery dead and tells the Director (unless the Director is its recipient,
    /// or it is itself a dead-letter report). `None` when another process got there first.
    async fn dead_letter(
        &self,
        fleet_id: FleetId,
        u: &db::deliveries::Undelivered,
        now: &str,
    ) -> Result<Option<bool>> {
        let why = match u.delivery_note.as_deref() {
            Some(n) if !n.is_empty() => n.trim_start_matches(HELD).to_string(),
            _ => "no poll followed the previews".to_string(),
        };
        let note = format!(
            "dead letter after {} preview(s): {why}",
            u.delivery_attempts
        );
        let (task_id, now_s) = (u.task_id, now.to_string());
        let marked = self
            .db
            .write_atomic(move |conn| {
                Box::pin(
                    async move { db::deliveries::mark_dead(conn, task_id, &note, &now_s).await },
                )
            })
            .await?;
        if !marked {
            return Ok(None);
        }
        let (director, admin) = {
            let mut conn = self.db.read().await?;
            let fleet = db::fleets::get(&mut conn, fleet_id).await?;
            let admin = db::agents::administrator(&mut conn, fleet_id).await?;
            (fleet.and_then(|f| f.director_agent_id), admin)
        };
        let (Some(director), Some(admin)) = (director, admin) else {
            return Ok(Some(false));
        };
        if u.to_agent_id == director || u.from_agent_id == admin {
            tracing::warn!(
                task = u.task_id,
                "dead letter (not reported: {})",
                if u.to_agent_id == director {
                    "the Director is its recipient"
                } else {
                    "it is itself a report"
                }
            );
            return Ok(Some(false));
        }
        let text = format!(
            "Dead letter: message {} from agent {} to {} (agent {}) was not seen after {} preview(s) ({why}). It stays in the recipient's inbox. Check the member: cafleet member capture --fleet-id {fleet_id} --member-id {}",
            u.task_id,
            u.from_agent_id,
            u.to_name,
            u.to_agent_id,
            u.delivery_attempts,
            u.to_agent_id
        );
        let sent = self
            .message_send_mode(fleet_id, admin, director, &text, None, DeliverMode::Idle)
            .await;
        if let Err(e) = &sent {
            tracing::warn!(error = %e, "could not report a dead letter to the Director");
        }
        Ok(Some(sent.is_ok()))
    }
}

/// The task a redelivery types the preview of.
fn undelivered_task(u: &db::deliveries::Undelivered) -> Task {
    Task {
        task_id: u.task_id,
        context_id: u.to_agent_id,
        from_agent_id: u.from_agent_id,
        to_agent_id: u.to_agent_id,
        r#type: crate::model::TYPE_UNICAST.to_string(),
        created_at: u.created_at.clone(),
        status_state: crate::model::STATE_INPUT_REQUIRED.to_string(),
        status_timestamp: u.status_timestamp.clone(),
        origin_task_id: None,
        text: u.text.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        attempts: i64,
        note: Option<&str>,
        last: &str,
        created: &str,
    ) -> db::deliveries::Undelivered {
        db::deliveries::Undelivered {
            task_id: 1,
            from_agent_id: 1,
            to_agent_id: 2,
            to_name: "m".into(),
            created_at: created.into(),
            status_timestamp: created.into(),
            text: "t".into(),
            delivery_mode: "idle".into(),
            delivery_state: "typed".into(),
            delivery_attempts: attempts,
            delivery_last_at: last.into(),
            delivery_note: note.map(str::to_string),
            tmux_socket: None,
            tmux_pane_id: None,
        }
    }

    #[test]
    fn due_follows_the_policy() {
        let p = Redelivery {
            after: Duration::from_secs(10),
            attempts: 2,
        };
        let t0 = "2026-12-04T10:00:00.000000+00:00";
        let t5 = "2026-12-04T10:00:05.000000+00:00";
        let t15 = "2026-12-04T10:00:15.000000+00:00";
        let t25 = "2026-12-04T10:00:25.000000+00:00";
        let t45 = "2026-12-04T10:00:45.000000+00:00";
        // Untried: the sender's grace (here the policy's 10 s; never more than 30 s).
        assert_eq!(due(&row(0, None, t0, t0), &p, t5), Due::Wait);
        assert_eq!(due(&row(0, None, t0, t0), &p, t15), Due::Type);
        let slow = Redelivery {
            after: Duration::from_secs(600),
            attempts: 2,
        };
        assert_eq!(due(&row(0, None, t0, t0), &slow, t25), Due::Wait);
        assert_eq!(due(&row(0, None, t0, t0), &slow, t45), Due::Type);
        // Held: every tick.
        assert_eq!(due(&row(0, Some("held: x"), t0, t0), &p, t5), Due::Type);
        // Typed once: after 10 s; twice (the limit): after 20 s it is dead.
        assert_eq!(due(&row(1, None, t0, t0), &p, t5), Due::Wait);
        assert_eq!(due(&row(1, None, t0, t0), &p, t15), Due::Type);
        assert_eq!(due(&row(2, None, t0, t0), &p, t15), Due::Wait);
        assert_eq!(due(&row(2, None, t0, t0), &p, t25), Due::Dead);
        // A day old: dead whatever happened.
        let day = "2026-12-05T10:00:01.000000+00:00";
        assert_eq!(due(&row(0, Some("held: x"), t0, t0), &p, day), Due::Dead);
    }
}
