//! The relay loop (`cafleet relay`, docs/postgres.md "Hosts and the relay"): one process
//! per host and database carries out the pane requests of other hosts' commands (spawn a
//! member, capture, send keys, close), types the previews of deliveries to this host's
//! panes that were sent from other hosts, and retries them as the monitor retries its own. Each pass reads
//! what is pending from the tables, so a relay that was down, or cut off from the database,
//! catches up on its next pass; a `NOTIFY` (PostgreSQL) only starts a pass early. Passes
//! run on a `tokio::time::interval` (missed ticks skipped) raced against the wake-ups and
//! a cancellation token.

use crate::broker::Broker;
use crate::broker::delivery::{Redelivered, RedeliveryOutcome, RelayWakeups, Wake};
use crate::broker::members::RelaySetup;
use crate::delivery::Redelivery;
use crate::model::{FleetId, now_ts};
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// How a relay runs.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Where members spawned on this host go.
    pub setup: RelaySetup,
    /// Time between passes when nothing wakes the relay.
    pub interval: Duration,
    /// When previews nobody has seen are typed again (dead letters stay the monitor's).
    pub policy: Redelivery,
    /// One pass, then return.
    pub once: bool,
}

/// Runs passes until `token` is cancelled (or after one, with `once`). `report` receives
/// one line per delivery typed or held; `warn` the failures, which are survived.
pub async fn run(
    broker: &Broker,
    opts: RelayOptions,
    token: CancellationToken,
    mut report: impl FnMut(&str),
    mut warn: impl FnMut(&str),
) {
    let mut interval = tokio::time::interval(opts.interval);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval.tick().await;
    let mut wakeups: Option<RelayWakeups> = None;
    let mut cut_off = false;
    match broker.relay_started().await {
        Ok(0) => {}
        Ok(n) => warn(&format!(
            "{n} pane request(s) left running by a previous relay on this host were marked failed"
        )),
        Err(e) => warn(&format!("cannot look for abandoned pane requests: {e}")),
    }
    loop {
        if wakeups.is_none() && !opts.once {
            match broker.relay_wakeups().await {
                Ok(w) => wakeups = w,
                Err(e) => warn(&format!(
                    "cannot listen for wake-ups ({e}); passes run every {}s",
                    opts.interval.as_secs()
                )),
            }
        }
        let now = now_ts();
        let pass = async {
            let requests = broker.serve_pane_requests(&opts.setup).await?;
            let deliveries = broker.relay_pass(&opts.policy, &now).await?;
            Ok::<_, crate::Error>((requests, deliveries))
        };
        match pass.await {
            Ok((requests, done)) => {
                if cut_off {
                    cut_off = false;
                    report(&format!("{now} database reachable again: catching up"));
                }
                for line in &requests {
                    report(line);
                }
                for (fleet_id, r) in &done {
                    report(&relay_line(&now, *fleet_id, r));
                }
            }
            Err(e) => {
                if !cut_off {
                    cut_off = true;
                    warn(&format!(
                        "relay pass failed: {e}. Deliveries to host {} wait in the database until the relay reaches it again (retrying every {}s).",
                        broker.host(),
                        opts.interval.as_secs()
                    ));
                }
            }
        }
        if opts.once {
            return;
        }
        let woken = async {
            match wakeups.as_mut() {
                Some(w) => w.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = token.cancelled() => return,
            _ = interval.tick() => {}
            heard = woken => match heard {
                Ok(Wake::Notified | Wake::Reconnecting) => {}
                Err(e) => {
                    // Listen again later; until then the interval drives the passes.
                    tracing::info!(error = %e, "relay wake-ups lost");
                    wakeups = None;
                    tokio::select! {
                        () = token.cancelled() => return,
                        _ = interval.tick() => {}
                    }
                }
            },
        }
    }
}

/// One line of the relay's output.
fn relay_line(now: &str, fleet_id: FleetId, r: &Redelivered) -> String {
    let what = match &r.outcome {
        RedeliveryOutcome::Typed { taken: true } => "preview typed (submitted)".to_string(),
        RedeliveryOutcome::Typed { taken: false } => "preview typed".to_string(),
        RedeliveryOutcome::NotTyped(why) => format!("not typed: {why}"),
        RedeliveryOutcome::Dead { .. } => "dead letter".to_string(),
    };
    format!(
        "{now} fleet {fleet_id} task {} to agent {} ({}) -> {what}",
        r.task_id, r.to_agent_id, r.to_name
    )
}
