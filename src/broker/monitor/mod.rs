//! Monitor state: the single-instance slot per fleet, the heartbeat, who is due, stamps,
//! `monitor status` and `monitor config`. The loop itself lives in `crate::monitor`; the
//! WebUI reads and changes the same state through these functions.

mod plan;

pub use plan::{poll_trigger, wake_payload};

use super::Broker;
use crate::db::{self, monitor::Runtime, monitor::Schedule, monitor::Watched};
use crate::error::TmuxError;
use crate::model::{AgentId, FleetId, PaneTarget, now_ts, parse_ts};
use crate::{Error, Result};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Largest `--interval` accepted (30 days): beyond it an agent is effectively unwatched,
/// which `--disable` says more clearly.
pub const MAX_INTERVAL_SECS: i64 = 30 * 24 * 3600;
/// Where an out-of-range interval falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfRange {
    /// Below 1 second.
    Low,
    /// Above [`MAX_INTERVAL_SECS`].
    High,
}

/// The one check of a monitor interval (1..=[`MAX_INTERVAL_SECS`] seconds); the CLI and the
/// API word the refusal their own way.
pub fn check_interval(seconds: i64) -> std::result::Result<i64, OutOfRange> {
    match seconds {
        n if n < 1 => Err(OutOfRange::Low),
        n if n > MAX_INTERVAL_SECS => Err(OutOfRange::High),
        n => Ok(n),
    }
}

/// Largest `--tick` accepted: 0.14 had no upper bound; this one (about 68 years) only keeps
/// the loop's timer arithmetic from overflowing (docs/decisions.md, M4).
pub const MAX_TICK_SECS: i64 = i32::MAX as i64;

/// The runtime part of `monitor status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RuntimeView {
    /// Whether a live process holds the slot.
    pub running: bool,
    /// Its pid (only when running).
    pub pid: Option<i64>,
    /// Tick length (kept after a clean stop).
    pub tick_seconds: Option<i64>,
    /// Heartbeat (only when running).
    pub last_tick_at: Option<String>,
    /// Whole seconds since the heartbeat.
    pub last_tick_age_seconds: Option<i64>,
    /// Start time (only when running).
    pub started_at: Option<String>,
}

/// One watched agent in `monitor status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgentView {
    /// Agent id.
    pub agent_id: AgentId,
    /// Name.
    pub name: String,
    /// `director` or `member`.
    pub role: &'static str,
    /// Interval.
    pub interval_seconds: i64,
    /// Last wake.
    pub last_ping_at: Option<String>,
    /// Whole seconds since the last wake.
    pub last_ping_age_seconds: Option<i64>,
    /// Enabled.
    pub enabled: bool,
    /// Un-acked deliveries.
    pub pending_count: i64,
    /// Its pane (null while pending).
    pub pane_id: Option<String>,
    /// Whether the pane exists (null when tmux could not be asked).
    pub pane_alive: Option<bool>,
    /// What it is doing (`activity`, `activity_seen_at`, `activity_source`).
    #[serde(flatten)]
    pub activity: super::activity::ActivityView,
    /// Its messages not yet seen, and the dead letters among them.
    pub undelivered: super::delivery::Undelivered,
}

/// `monitor status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MonitorStatus {
    /// The slot.
    pub runtime: RuntimeView,
    /// Watched agents, ascending id.
    pub agents: Vec<AgentView>,
}

/// What one tick should do, computed from the database and the live panes.
#[derive(Debug, Clone)]
pub struct TickPlan {
    /// Agents due now, ascending id.
    pub due: Vec<Watched>,
    /// The live monitoring member's pane, when there is one: wake it instead
    /// (docs/decisions.md, M1).
    pub watcher: Option<PaneTarget>,
    /// The fleet's root Director.
    pub director_agent_id: AgentId,
}

/// Seconds between two timestamps (fractional), `None` when unparsable.
fn age_seconds(now: &str, then: &str) -> Option<f64> {
    let (n, t) = (parse_ts(now)?, parse_ts(then)?);
    Some((n - t).num_microseconds()? as f64 / 1e6)
}

/// Whether a process with this pid exists on this machine (signal-0 probe).
pub fn pid_alive(pid: i64) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

/// Where this process runs, as far as a pid means anything: the host name and the pid
/// namespace (`/proc/self/ns/pid`), e.g. `build-box pid:[4026531836]`. Two processes with
/// the same identity can probe each other's pids; others cannot.
pub fn host_identity() -> &'static str {
    static IDENTITY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IDENTITY.get_or_init(|| {
        let host = crate::host::machine_name();
        match std::fs::read_link("/proc/self/ns/pid") {
            Ok(ns) => format!("{host} {}", ns.display()),
            Err(_) => host,
        }
    })
}

/// A slot is live when it has a pid and a heartbeat no older than max(3 × tick, 15) s, and,
/// when the monitor runs where this process can see its pid, that pid exists. A monitor on
/// another host or in another pid namespace (a container sharing the database) cannot be
/// probed: its fresh heartbeat alone says it runs; a recycled pid cannot fake a heartbeat
/// either (docs/decisions.md, MON-1).
pub fn is_live(rt: &Runtime, now: &str) -> bool {
    let (Some(pid), Some(last)) = (rt.pid, &rt.last_tick_at) else {
        return false;
    };
    let window = (3 * rt.tick_seconds).max(15) as f64;
    match age_seconds(now, last) {
        Some(age) if age <= window => match &rt.host {
            Some(host) if host != host_identity() => true,
            _ => pid_alive(pid),
        },
        _ => false,
    }
}

/// An agent whose interval elapses within this many seconds counts as due. A tick stamps
/// the time it started, and the next tick starts a timer period later give or take a few
/// milliseconds of scheduling: without the slack, an agent whose interval is a multiple of
/// the tick would be due a hair after its tick about half the time, and wait a whole extra
/// tick. Smaller than half the shortest tick (1 s), so nobody is woken a tick early.
pub const DUE_SLACK_SECONDS: f64 = 0.25;

/// A wake of the monitoring member also names every agent due within a quarter of its
/// interval, at most this many seconds ahead: members of different phases are then woken
/// together and stay in step, instead of waking the watcher up to once per tick. Poll
/// triggers (no watcher) go to each agent's own pane and are not pulled forward
/// (docs/decisions.md, MON-3).
pub const COALESCE_CAP_SECONDS: i64 = 120;

impl Broker {
    /// The fleet must exist and not be deleted ([`super::live_fleet`]); its root Director.
    pub async fn monitor_fleet(&self, fleet_id: FleetId) -> Result<AgentId> {
        let mut conn = self.db.read().await?;
        let fleet = super::live_fleet(&mut conn, fleet_id).await?;
        Ok(fleet.director_agent_id.unwrap_or_default())
    }

    /// Claims the fleet's monitor slot atomically (docs/decisions.md, M2): under the write
    /// lock, a live slot refuses; an absent, cleared or dead one is taken.
    pub async fn monitor_claim(&self, fleet_id: FleetId, pid: i64, tick: i64) -> Result<()> {
        let now = now_ts();
        let mut tx = self.db.begin_write().await?;
        if let Some(rt) = db::monitor::runtime(&mut tx, fleet_id).await?
            && is_live(&rt, &now)
        {
            return Err(Error::conflict(format!(
                "monitor already running for fleet {fleet_id}"
            )));
        }
        db::monitor::claim(&mut tx, fleet_id, pid, host_identity(), &now, tick).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Heartbeat at `now`; false when the slot is no longer ours (stop the loop).
    pub async fn monitor_heartbeat(&self, fleet_id: FleetId, pid: i64, now: &str) -> Result<bool> {
        let mut tx = self.db.begin_write().await?;
        let ours = db::monitor::heartbeat(&mut tx, fleet_id, pid, now).await?;
        tx.commit().await?;
        Ok(ours)
    }

    /// Clears the slot if still ours (clean stop).
    pub async fn monitor_release(&self, fleet_id: FleetId, pid: i64) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        db::monitor::release(&mut tx, fleet_id, pid).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `monitor status`: the slot (a dead or stale one never leaks its pid) and every
    /// watched agent, with its pane's liveness when tmux can be asked.
    pub async fn monitor_status(&self, fleet_id: FleetId) -> Result<MonitorStatus> {
        self.monitor_fleet(fleet_id).await?;
        let now = now_ts();
        let (rt, watched) = {
            let mut conn = self.db.read().await?;
            (
                db::monitor::runtime(&mut conn, fleet_id).await?,
                db::monitor::watched(&mut conn, fleet_id).await?,
            )
        };
        let runtime = runtime_view(rt.as_ref(), &now);
        let live = self
            .live_panes_by_socket(
                watched
                    .iter()
                    .filter(|w| self.is_local(w.host.as_deref()))
                    .filter_map(|w| w.tmux_socket.clone()),
            )
            .await;
        let panes: Vec<_> = watched
            .iter()
            .map(|w| {
                let pane = PaneTarget::from_placement(
                    w.tmux_socket.clone(),
                    w.tmux_pane_id.clone(),
                    w.host.clone(),
                );
                (w.agent_id, pane)
            })
            .collect();
        let mut activities = self.activities(fleet_id, &panes).await?;
        let undelivered = self.undelivered_counts(fleet_id).await?;
        let agents = watched
            .into_iter()
            .map(|w| {
                let pane_alive = match (&w.tmux_socket, &w.tmux_pane_id) {
                    // Another host's pane: this host cannot tell.
                    _ if !self.is_local(w.host.as_deref()) => None,
                    (Some(s), Some(p)) => live.get(s).map(|set| set.contains(p)),
                    (_, None) => Some(false),
                    (None, Some(_)) => None,
                };
                AgentView {
                    agent_id: w.agent_id,
                    name: w.name,
                    role: if w.is_director { "director" } else { "member" },
                    interval_seconds: w.interval_seconds,
                    last_ping_age_seconds: w
                        .last_ping_at
                        .as_deref()
                        .and_then(|t| age_seconds(&now, t))
                        .map(|a| a.max(0.0) as i64),
                    last_ping_at: w.last_ping_at,
                    enabled: w.enabled,
                    pending_count: w.pending_count,
                    activity: activities
                        .remove(&w.agent_id)
                        .unwrap_or_else(super::activity::ActivityView::unknown),
                    undelivered: undelivered.get(&w.agent_id).copied().unwrap_or_default(),
                    pane_id: w.tmux_pane_id,
                    pane_alive,
                }
            })
            .collect();
        Ok(MonitorStatus { runtime, agents })
    }

    /// The slot as `monitor status` and `GET /api/monitor` show it (any fleet, deleted ones
    /// included).
    pub async fn monitor_runtime(&self, fleet_id: FleetId) -> Result<RuntimeView> {
        let mut conn = self.db.read().await?;
        let rt = db::monitor::runtime(&mut conn, fleet_id).await?;
        Ok(runtime_view(rt.as_ref(), &now_ts()))
    }

    /// The live panes of each tmux server named (servers that cannot be asked are left out).
    pub async fn live_panes_by_socket(
        &self,
        sockets: impl Iterator<Item = String>,
    ) -> HashMap<String, HashSet<String>> {
        let (live, failed) = self.list_live_panes(sockets).await;
        for (socket, e) in failed {
            tracing::warn!(%socket, error = %e, "cannot list panes");
        }
        live
    }

    /// The live panes of each tmux server named, and the servers that could not be asked
    /// with their errors (nothing is asked when `tmux` is not on `PATH`).
    pub async fn list_live_panes(
        &self,
        sockets: impl Iterator<Item = String>,
    ) -> (HashMap<String, HashSet<String>>, Vec<(String, TmuxError)>) {
        let mut live = HashMap::new();
        let mut failed = Vec::new();
        if !self.tmux.available() {
            return (live, failed);
        }
        let unique: BTreeSet<String> = sockets.collect();
        for socket in unique {
            match self.tmux.live_panes(&socket).await {
                Ok(set) => {
                    live.insert(socket, set);
                }
                Err(e) => failed.push((socket, e)),
            }
        }
        (live, failed)
    }

    /// `monitor config`: shows or partially updates an enrolled agent's schedule.
    pub async fn monitor_config(
        &self,
        fleet_id: FleetId,
        agent_id: AgentId,
        interval: Option<i64>,
        enabled: Option<bool>,
    ) -> Result<Schedule> {
        if let Some(n) = interval
            && check_interval(n).is_err()
        {
            return Err(Error::invalid(format!(
                "{n} is not in the range 1<=x<={MAX_INTERVAL_SECS}."
            )));
        }
        let mut tx = self.db.begin_write().await?;
        if db::fleets::get(&mut tx, fleet_id).await?.is_none() {
            return Err(super::fleet_not_found(fleet_id));
        }
        let not_enrolled = || {
            Error::not_found(format!(
                "agent {agent_id} is not enrolled in monitoring for fleet {fleet_id}."
            ))
        };
        let current = db::monitor::schedule(&mut tx, agent_id)
            .await?
            .filter(|s| s.fleet_id == fleet_id && s.status == crate::model::STATUS_ACTIVE)
            .ok_or_else(not_enrolled)?;
        if interval.is_none() && enabled.is_none() {
            return Ok(current);
        }
        db::monitor::update_schedule(&mut tx, agent_id, interval, enabled).await?;
        let updated = db::monitor::schedule(&mut tx, agent_id)
            .await?
            .ok_or_else(not_enrolled)?;
        tx.commit().await?;
        Ok(updated)
    }
}

/// A slot as shown to users: a dead or stale one never leaks its pid or times.
fn runtime_view(rt: Option<&Runtime>, now: &str) -> RuntimeView {
    match rt {
        Some(r) if is_live(r, now) => RuntimeView {
            running: true,
            pid: r.pid,
            tick_seconds: Some(r.tick_seconds),
            last_tick_at: r.last_tick_at.clone(),
            last_tick_age_seconds: r
                .last_tick_at
                .as_deref()
                .and_then(|t| age_seconds(now, t))
                .map(|a| a.max(0.0) as i64),
            started_at: r.started_at.clone(),
        },
        other => RuntimeView {
            running: false,
            pid: None,
            tick_seconds: other.map(|r| r.tick_seconds),
            last_tick_at: None,
            last_tick_age_seconds: None,
            started_at: None,
        },
    }
}
