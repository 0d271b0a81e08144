//! The monitor's redelivery pass: previews not yet seen are typed again with a doubling
//! back-off, stuck ones repaired, and the rest become dead letters reported to the
//! Director (docs/delivery.md).

use super::*;

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
    let claimed = u.delivery_note.as_deref() == Some(db::deliveries::CLAIMED_NOTE);
    let wait = if u.delivery_attempts == 0 && u.delivery_note.is_none() {
        SENDER_GRACE.min(policy.after)
    } else if claimed {
        // A typist claimed it and died before recording: it may have typed the preview,
        // so wait as after one more typed attempt rather than type it twice at once.
        policy.wait_after(u.delivery_attempts + 1)
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

/// Who runs a redelivery pass, and so which deliveries it looks after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The fleet's monitor: the panes of its host (and those placed before hosts were
    /// recorded), and the fleet's dead letters.
    Monitor,
    /// A host's relay: only panes recorded on its host; dead letters stay the monitor's.
    Relay,
}

impl Broker {
    /// The monitor's redelivery pass at `now`: every delivery of the fleet that its
    /// recipient has not seen and that is due under `policy` is typed again (an idle-mode
    /// one only into an agent that is not working); one past its last attempt is a dead
    /// letter, reported to the Director by the fleet's Administrator. Deliveries to panes
    /// of other hosts are left to their relays.
    pub async fn redeliver(
        &self,
        fleet_id: FleetId,
        policy: &Redelivery,
        now: &str,
    ) -> Result<Vec<Redelivered>> {
        self.redeliver_pass(fleet_id, policy, now, Pass::Monitor)
            .await
    }

    /// The relay's pass at `now` (`cafleet relay`, docs/postgres.md): the monitor's
    /// redelivery pass over every fleet, for the panes placed on this host, without dead
    /// letters. A delivery sent from another host waits here with a hold, so it is typed
    /// on the first pass after the send.
    pub async fn relay_pass(
        &self,
        policy: &Redelivery,
        now: &str,
    ) -> Result<Vec<(FleetId, Redelivered)>> {
        let fleets = {
            let mut conn = self.db.read().await?;
            db::deliveries::fleets_pending_on_host(&mut conn, &self.host).await?
        };
        let mut out = Vec::new();
        for fleet_id in fleets {
            let done = self
                .redeliver_pass(fleet_id, policy, now, Pass::Relay)
                .await?;
            out.extend(done.into_iter().map(|r| (fleet_id, r)));
        }
        Ok(out)
    }

    async fn redeliver_pass(
        &self,
        fleet_id: FleetId,
        policy: &Redelivery,
        now: &str,
        pass: Pass,
    ) -> Result<Vec<Redelivered>> {
        let rows = {
            let mut conn = self.db.read().await?;
            db::deliveries::undelivered(&mut conn, fleet_id).await?
        };
        let mut out = Vec::new();
        let mut by_pane: Vec<(PaneTarget, Vec<db::deliveries::Undelivered>)> = Vec::new();
        let mut dead = Vec::new();
        for u in rows {
            let mine = match pass {
                Pass::Monitor => self.is_local(u.host.as_deref()),
                Pass::Relay => u.host.as_deref() == Some(self.host()),
            };
            match due(&u, policy, now) {
                Due::Wait => {}
                Due::Dead if pass == Pass::Monitor => dead.push(u),
                Due::Dead => {}
                Due::Type if !mine => {}
                Due::Type => {
                    let Some(target) = PaneTarget::from_placement(
                        u.tmux_socket.clone(),
                        u.tmux_pane_id.clone(),
                        u.host.clone(),
                    ) else {
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
                    // A monitor and a relay (or two relays) may both find it due: only
                    // the one whose claim lands types it. A lost claim leaves this pane's
                    // later previews to the winner too, so they stay in order.
                    if !self.claim(&u, now).await {
                        break;
                    }
                    let task = undelivered_task(&u);
                    // Only the first preview of a `now` message goes into a working agent
                    // (a relay types the first one of a message sent from another host):
                    // the ones typed again wait for an idle moment like the rest.
                    let mode = match DeliverMode::from_db(&u.delivery_mode) {
                        DeliverMode::Now if u.delivery_attempts > 0 => DeliverMode::Idle,
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

    /// Claims a due delivery for this pass (see `db::deliveries::claim`); a failed write
    /// is logged and counts as lost (the next pass finds it again).
    async fn claim(&self, u: &db::deliveries::Undelivered, now: &str) -> bool {
        let (task_id, last, attempts, now) = (
            u.task_id,
            u.delivery_last_at.clone(),
            u.delivery_attempts,
            now.to_string(),
        );
        let claimed = self
            .db
            .write_atomic(move |tx| {
                Box::pin(
                    async move { db::deliveries::claim(tx, task_id, &last, attempts, &now).await },
                )
            })
            .await;
        claimed.unwrap_or_else(|e| {
            tracing::warn!(task = %task_id, error = %e, "could not claim a delivery");
            false
        })
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
                task = %u.task_id,
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
            task_id: crate::model::TaskId(1),
            from_agent_id: crate::model::AgentId(1),
            to_agent_id: crate::model::AgentId(2),
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
            host: None,
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
        // Claimed by a typist that died: as if typed once more (never typed twice at once).
        let claimed = Some(db::deliveries::CLAIMED_NOTE);
        assert_eq!(due(&row(0, claimed, t0, t0), &p, t5), Due::Wait);
        assert_eq!(due(&row(0, claimed, t0, t0), &p, t15), Due::Type);
        assert_eq!(due(&row(1, claimed, t0, t0), &p, t15), Due::Wait);
        assert_eq!(due(&row(1, claimed, t0, t0), &p, t25), Due::Type);
        // A day old: dead whatever happened.
        let day = "2026-12-05T10:00:01.000000+00:00";
        assert_eq!(due(&row(0, Some("held: x"), t0, t0), &p, day), Due::Dead);
    }
}
