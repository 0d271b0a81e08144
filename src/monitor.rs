//! The monitor loop: a `tokio::time::interval` (missed ticks skipped) raced against a
//! cancellation token. Each tick heartbeats the fleet's slot, finds the watched agents that
//! are due and wakes them: one line into the monitoring member's pane when the fleet has a
//! live one, else a poll trigger into each due agent's own pane (docs/decisions.md, M1); an
//! agent that is working is not woken (it is due again next tick). Each tick also types
//! again the previews its recipients have not seen, with backoff, and turns the ones past
//! their last attempt into dead letters (docs/delivery.md). Per-tick errors are reported
//! and survived; only losing the slot (fleet deleted, slot reclaimed) or the token ends
//! the loop.

use crate::Result;
use crate::broker::Broker;
use crate::broker::delivery::{Redelivered, RedeliveryOutcome};
use crate::broker::members::PaneOp;
use crate::broker::monitor::{poll_trigger, wake_payload};
use crate::delivery::Redelivery;
use crate::model::{FleetId, PaneTarget, now_ts};
use crate::tmux::Delivery;
use futures::StreamExt;
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// How many poll triggers one tick types at once (each is a few `tmux` calls and pauses).
const WAKE_CONCURRENCY: usize = 16;

/// Whether the loop should go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep ticking.
    Continue,
    /// The slot is gone: stop.
    Stop,
}

/// How a monitor loop runs.
#[derive(Debug, Clone, Copy)]
pub struct LoopOptions {
    /// Time between ticks.
    pub tick: Duration,
    /// The pid that holds the fleet's slot.
    pub pid: i64,
    /// When previews nobody has seen are typed again, and when they are given up.
    pub policy: Redelivery,
}

/// Runs the loop until `token` is cancelled or the slot is lost. `report` receives one
/// line per woken agent; `warn` receives per-tick failures.
pub async fn run(
    broker: &Broker,
    fleet_id: FleetId,
    opts: LoopOptions,
    token: CancellationToken,
    mut report: impl FnMut(&str),
    mut warn: impl FnMut(&str),
) {
    let LoopOptions { tick, pid, policy } = opts;
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            () = token.cancelled() => break,
            _ = interval.tick() => {}
        }
        match tick_once(broker, fleet_id, pid, &policy, &mut report, &mut warn).await {
            Ok(Flow::Continue) => {}
            Ok(Flow::Stop) => break,
            Err(e) => {
                tracing::warn!(error = %e, "monitor tick failed");
                warn(&format!("monitor tick failed (will retry next tick): {e}"));
            }
        }
    }
}

/// One tick: heartbeat, redeliver, plan, wake, stamp. A tmux server whose panes cannot be
/// listed is reported through `warn` (its agents are not woken this tick); the others are
/// served.
pub async fn tick_once(
    broker: &Broker,
    fleet_id: FleetId,
    pid: i64,
    policy: &Redelivery,
    report: &mut impl FnMut(&str),
    warn: &mut impl FnMut(&str),
) -> Result<Flow> {
    let now = now_ts();
    if !broker.monitor_heartbeat(fleet_id, pid, &now).await? {
        return Ok(Flow::Stop);
    }
    let Ok(director) = broker.monitor_fleet(fleet_id).await else {
        return Ok(Flow::Stop);
    };
    match broker.redeliver(fleet_id, policy, &now).await {
        Ok(done) => {
            for r in done {
                report(&redelivery_line(&now, &r));
            }
        }
        Err(e) => warn(&format!("redelivery failed (will retry next tick): {e}")),
    }
    wake_remote(broker, fleet_id, &now, report, warn).await;
    let (watched, watcher) = broker.monitor_targets(fleet_id, &now).await?;
    let sockets = watched
        .iter()
        .filter_map(|w| w.tmux_socket.clone())
        .chain(watcher.iter().filter_map(|w| w.tmux_socket.clone()));
    let (live, failed) = broker.list_live_panes(sockets).await;
    for (socket, e) in failed {
        tracing::warn!(%socket, error = %e, "monitor cannot list panes");
        warn(&format!(
            "monitor tick failed (will retry next tick): cannot list the panes of tmux server {socket}: {e}"
        ));
    }
    let mut plan = Broker::monitor_plan(watched, watcher, &live, &now, director);
    if plan.due.is_empty() {
        return Ok(Flow::Continue);
    }
    let strictly_due: Vec<_> = plan.due.iter().map(|d| d.agent_id).collect();
    if plan.watcher.is_some() {
        let soon = broker.monitor_soon_due(fleet_id, &now).await?;
        Broker::monitor_coalesce(&mut plan, soon, &live, &now);
    }
    let tmux = broker.tmux();
    if let Some(w) = &plan.watcher {
        let payload = wake_payload(&plan.due, plan.director_agent_id);
        let why = match tmux.type_line_with(w, &payload, true).await.0 {
            Delivery::Sent => {
                let ids: Vec<_> = plan.due.iter().map(|d| d.agent_id).collect();
                broker.monitor_stamp(&ids, &now).await?;
                for d in &plan.due {
                    report(&format!(
                        "{now} due agent {} ({}) -> wake monitor",
                        d.agent_id, d.name
                    ));
                }
                return Ok(Flow::Continue);
            }
            // A watcher that cannot be woken must not silence the fleet: say so, and wake
            // the due agents themselves this tick (docs/decisions.md, MON-2).
            Delivery::Shell(cmd) => format!("its pane runs the shell {cmd}"),
            Delivery::Gone => "its pane is gone".to_string(),
            Delivery::Failed(e) => format!("tmux failed: {e}"),
            Delivery::Held(why) => why,
        };
        // Only the agents that are due get poll triggers; the ones the wake pulled
        // forward wait for their own time.
        plan.due.retain(|d| strictly_due.contains(&d.agent_id));
        tracing::warn!(pane = %w.pane_id, %why, "monitoring member not woken");
        warn(&format!(
            "cannot wake the monitoring member in pane {} ({why}); sending poll triggers to the due agents instead",
            w.pane_id
        ));
    }
    // Poll triggers go to different panes: type them concurrently (bounded), then stamp
    // every agent whose trigger was delivered in one transaction.
    let deliveries: Vec<_> = futures::stream::iter(plan.due.iter().filter_map(|d| {
        let target = PaneTarget {
            socket: d.tmux_socket.clone()?,
            pane_id: d.tmux_pane_id.clone()?,
            host: d.host.clone(),
        };
        Some(async move {
            // A working agent (by its hooks' report, or its pane) is not woken: it stays
            // due for the next tick.
            if broker.hooks_say_working(d.agent_id).await {
                return (d, Delivery::Held("it is working (its hooks say so)".into()));
            }
            let (delivery, _) = tmux
                .type_line_with(&target, &poll_trigger(fleet_id, d.agent_id), true)
                .await;
            (d, delivery)
        })
    }))
    .buffered(WAKE_CONCURRENCY)
    .collect()
    .await;
    let sent: Vec<_> = deliveries
        .iter()
        .filter(|(_, delivery)| delivery.is_sent())
        .map(|(d, _)| d.agent_id)
        .collect();
    broker.monitor_stamp(&sent, &now).await?;
    for (d, delivery) in &deliveries {
        if delivery.is_sent() {
            report(&format!(
                "{now} due agent {} ({}) -> poll trigger",
                d.agent_id, d.name
            ));
        } else {
            tracing::info!(
                agent = %d.agent_id,
                ?delivery,
                "poll trigger not delivered; due again next tick"
            );
        }
    }
    Ok(Flow::Continue)
}

/// Leaves the wakes of due agents on other hosts to their relays (one open request per
/// agent at most, so a relay that is down does not collect them).
async fn wake_remote(
    broker: &Broker,
    fleet_id: FleetId,
    now: &str,
    report: &mut impl FnMut(&str),
    warn: &mut impl FnMut(&str),
) {
    let due = match broker.monitor_remote_due(fleet_id, now).await {
        Ok(due) => due,
        Err(e) => return warn(&format!("cannot read the agents of other hosts: {e}")),
    };
    for d in due {
        let host = d.host.clone().unwrap_or_default();
        let op = PaneOp::Wake {
            fleet_id: fleet_id.0,
        };
        match broker.request_pane_op_later(&host, d.agent_id, &op).await {
            Ok(true) => report(&format!(
                "{now} due agent {} ({}) -> wake left to the relay on host {host}",
                d.agent_id, d.name
            )),
            Ok(false) => {}
            Err(e) => warn(&format!(
                "cannot leave the wake of agent {} to host {host}: {e}",
                d.agent_id
            )),
        }
    }
}

/// The monitor's line for one redelivery.
fn redelivery_line(now: &str, r: &Redelivered) -> String {
    let what = match &r.outcome {
        RedeliveryOutcome::Typed { taken: true } => "preview typed again (submitted)".to_string(),
        RedeliveryOutcome::Typed { taken: false } => "preview typed again".to_string(),
        RedeliveryOutcome::NotTyped(why) => format!("not typed: {why}"),
        RedeliveryOutcome::Dead { reported: true } => {
            "dead letter, reported to the Director".to_string()
        }
        RedeliveryOutcome::Dead { reported: false } => "dead letter".to_string(),
    };
    format!(
        "{now} task {} to agent {} ({}) -> {what}",
        r.task_id, r.to_agent_id, r.to_name
    )
}
