//! Who a tick wakes: the agents whose interval has elapsed (pulling in those due soon,
//! so one wake serves them), only in live panes, and the text of the wake and the poll
//! trigger (docs/decisions.md, M1).

use super::*;

/// How early an agent with this interval may join a wake (see [`COALESCE_CAP_SECONDS`]).
fn coalesce_window(interval_seconds: i64) -> f64 {
    (interval_seconds as f64 / 4.0).min(COALESCE_CAP_SECONDS as f64)
}

/// Whether `pane` is among the live panes listed for its tmux server.
fn pane_listed(
    live: &HashMap<String, HashSet<String>>,
    socket: Option<&str>,
    pane: Option<&str>,
) -> bool {
    match (socket, pane) {
        (Some(s), Some(p)) => live.get(s).is_some_and(|set| set.contains(p)),
        _ => false,
    }
}

/// A watched agent a tick may wake: enabled, its pane alive, and never woken or woken at
/// least `interval - early` seconds before `now`.
fn wakeable(w: &Watched, live: &HashMap<String, HashSet<String>>, now: &str, early: f64) -> bool {
    is_due(w, now, early) && pane_listed(live, w.tmux_socket.as_deref(), w.tmux_pane_id.as_deref())
}

/// Enabled, and never woken or woken at least `interval - early` seconds before `now`.
fn is_due(w: &Watched, now: &str, early: f64) -> bool {
    let due = match &w.last_ping_at {
        None => true,
        Some(last) => {
            age_seconds(now, last).is_some_and(|age| age >= w.interval_seconds as f64 - early)
        }
    };
    w.enabled && due
}

impl Broker {
    /// What a tick at `now` needs: the watched agents whose interval has (about) elapsed,
    /// and the fleet's monitoring member with a pane. `monitor_plan` makes the exact call.
    pub async fn monitor_targets(
        &self,
        fleet_id: FleetId,
        now: &str,
    ) -> Result<(Vec<Watched>, Option<db::monitor::Watcher>)> {
        let mut conn = self.db.read().await?;
        let mut watched = db::monitor::due_candidates(&mut conn, fleet_id, now).await?;
        // Only this host's panes: another host's socket path and pane id may name a pane
        // of this host's server (docs/postgres.md, "Hosts and the relay").
        watched.retain(|w| self.is_local(w.host.as_deref()));
        let watcher = db::monitor::watcher(&mut conn, fleet_id)
            .await?
            .filter(|w| self.is_local(w.host.as_deref()));
        Ok((watched, watcher))
    }

    /// The watched agents whose panes are on other hosts and that are due at `now`: the
    /// monitor leaves their wakes to those hosts' relays (docs/postgres.md, "Pane
    /// requests").
    pub async fn monitor_remote_due(&self, fleet_id: FleetId, now: &str) -> Result<Vec<Watched>> {
        let mut conn = self.db.read().await?;
        let mut due = db::monitor::due_candidates(&mut conn, fleet_id, now).await?;
        due.retain(|w| {
            !self.is_local(w.host.as_deref())
                && w.tmux_pane_id.is_some()
                && is_due(w, now, DUE_SLACK_SECONDS)
        });
        Ok(due)
    }

    /// The watched agents a wake of the monitoring member at `now` may pull forward: the
    /// candidates due up to [`COALESCE_CAP_SECONDS`] from now ([`Broker::monitor_coalesce`]
    /// makes the exact call). Read only when the watcher is about to be woken.
    pub async fn monitor_soon_due(&self, fleet_id: FleetId, now: &str) -> Result<Vec<Watched>> {
        let Some(t) = crate::model::parse_ts(now) else {
            return Ok(Vec::new());
        };
        let horizon = crate::model::format_ts(t + chrono::Duration::seconds(COALESCE_CAP_SECONDS));
        let mut conn = self.db.read().await?;
        let mut soon = db::monitor::due_candidates(&mut conn, fleet_id, &horizon).await?;
        soon.retain(|w| self.is_local(w.host.as_deref()));
        Ok(soon)
    }

    /// Adds to a watcher wake the agents of `soon` (enabled, pane alive) that are due within
    /// their coalescing window at `now`; the list stays in ascending id order.
    pub fn monitor_coalesce(
        plan: &mut TickPlan,
        soon: Vec<Watched>,
        live: &HashMap<String, HashSet<String>>,
        now: &str,
    ) {
        for w in soon {
            let window = coalesce_window(w.interval_seconds);
            if wakeable(&w, live, now, window) && plan.due.iter().all(|d| d.agent_id != w.agent_id)
            {
                plan.due.push(w);
            }
        }
        plan.due.sort_by_key(|d| d.agent_id);
    }

    /// Computes who is due at `now` given the live panes per tmux server: enabled, pane
    /// alive, and never woken or woken at least `interval` seconds ago (less
    /// [`DUE_SLACK_SECONDS`]).
    pub fn monitor_plan(
        watched: Vec<Watched>,
        watcher: Option<db::monitor::Watcher>,
        live: &HashMap<String, HashSet<String>>,
        now: &str,
        director_agent_id: AgentId,
    ) -> TickPlan {
        let due = watched
            .into_iter()
            .filter(|w| wakeable(w, live, now, DUE_SLACK_SECONDS))
            .collect();
        let watcher = watcher
            .filter(|w| pane_listed(live, w.tmux_socket.as_deref(), Some(&w.tmux_pane_id)))
            .and_then(|w| {
                Some(PaneTarget {
                    socket: w.tmux_socket?,
                    pane_id: w.tmux_pane_id,
                    host: w.host,
                })
            });
        TickPlan {
            due,
            watcher,
            director_agent_id,
        }
    }

    /// Records that these agents were woken at `now` (one transaction, one statement).
    pub async fn monitor_stamp(&self, agents: &[AgentId], now: &str) -> Result<()> {
        if agents.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin_write().await?;
        db::monitor::stamp(&mut tx, agents, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The wake line typed into the monitoring member's pane, in 0.14's wording, names
/// sanitised (docs/decisions.md, C1).
pub fn wake_payload(due: &[Watched], director_agent_id: AgentId) -> String {
    let list = due
        .iter()
        .map(|w| {
            let role = if w.is_director { "director" } else { "member" };
            format!("{role} {} ({})", w.agent_id, wake_name(&w.name))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let n = due.len();
    let noun = if n == 1 { "agent" } else { "agents" };
    format!(
        "[monitor] wake: {n} {noun} due — {list}. Capture each named pane read-only, with the Director pane ({director_agent_id}) always inspected; judge each active/idle and progressing/stalled; re-engage the Director via cafleet member nudge when it is idle with un-acked work or any due agent looks stalled."
    )
}

/// 0.14's name rules of the wake line, then the sanitiser for any other control character
/// (docs/decisions.md, C1 and K1).
fn wake_name(name: &str) -> String {
    let s = name
        .replace("\r\n", "⏎")
        .replace(['\n', '\r', '\t'], "⏎")
        .replace('`', "ˋ")
        .replace("$(", "$﹙");
    crate::tmux::sanitize(&s)
}

/// The poll trigger typed into a due agent's own pane (docs/decisions.md, M1).
pub fn poll_trigger(fleet_id: FleetId, agent_id: AgentId) -> String {
    format!("cafleet message poll --fleet-id {fleet_id} --agent-id {agent_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watched(id: i64, name: &str, director: bool) -> Watched {
        Watched {
            agent_id: AgentId(id),
            name: name.into(),
            is_director: director,
            interval_seconds: 10,
            last_ping_at: None,
            enabled: true,
            tmux_pane_id: Some(format!("%{id}")),
            tmux_socket: Some("/s".into()),
            host: None,
            pending_count: 0,
        }
    }

    #[test]
    fn wake_payload_matches_the_spec() {
        let due = [watched(1, "Director", true), watched(7, "Alice", false)];
        assert_eq!(
            wake_payload(&due, crate::model::AgentId(1)),
            "[monitor] wake: 2 agents due — director 1 (Director), member 7 (Alice). Capture each named pane read-only, with the Director pane (1) always inspected; judge each active/idle and progressing/stalled; re-engage the Director via cafleet member nudge when it is idle with un-acked work or any due agent looks stalled."
        );
        let evil = [watched(13, "Evil`x`$(id)\ttab\x1b", false)];
        assert!(
            wake_payload(&evil, crate::model::AgentId(3))
                .starts_with("[monitor] wake: 1 agent due — member 13 (Evilˋxˋ$﹙id)⏎tab␛).")
        );
    }

    #[test]
    fn due_means_enabled_alive_and_interval_elapsed() {
        let now = "2026-11-24T12:00:10.000000+00:00";
        let mut recent = watched(2, "recent", false);
        recent.last_ping_at = Some("2026-11-24T12:00:05.000000+00:00".into());
        let mut elapsed = watched(3, "elapsed", false);
        elapsed.last_ping_at = Some("2026-11-24T12:00:00.000000+00:00".into());
        let mut disabled = watched(4, "off", false);
        disabled.enabled = false;
        let dead = watched(5, "dead", false);
        // Stamped by the last tick a few ms later in its period than this tick runs.
        let mut jittered = watched(6, "jittered", false);
        jittered.last_ping_at = Some("2026-11-24T12:00:00.004000+00:00".into());
        // Due only 0.3 s from now: next tick.
        let mut early = watched(7, "early", false);
        early.last_ping_at = Some("2026-11-24T12:00:00.300000+00:00".into());
        let live: HashMap<String, HashSet<String>> = [(
            "/s".to_string(),
            ["%1", "%2", "%3", "%4", "%6", "%7"]
                .map(String::from)
                .into(),
        )]
        .into();
        let plan = Broker::monitor_plan(
            vec![
                watched(1, "Director", true),
                recent,
                elapsed,
                disabled,
                dead,
                jittered,
                early,
            ],
            None,
            &live,
            now,
            crate::model::AgentId(1),
        );
        let ids: Vec<AgentId> = plan.due.iter().map(|w| w.agent_id).collect();
        assert_eq!(ids, vec![1, 3, 6]);
        assert!(plan.watcher.is_none());
    }

    #[test]
    fn a_watcher_wake_pulls_in_agents_due_within_a_quarter_interval() {
        let now = "2026-11-24T12:00:10.000000+00:00";
        let live: HashMap<String, HashSet<String>> = [(
            "/s".to_string(),
            ["%1", "%2", "%3", "%4"].map(String::from).into(),
        )]
        .into();
        let mut due = watched(2, "due", false);
        due.last_ping_at = Some("2026-11-24T11:59:59.000000+00:00".into());
        let mut plan = TickPlan {
            due: vec![due.clone()],
            watcher: None,
            director_agent_id: crate::model::AgentId(1),
        };
        // Interval 10 s: 2.5 s of window. Woken 8 s ago: due in 2 s, joins.
        let mut soon = watched(3, "soon", false);
        soon.last_ping_at = Some("2026-11-24T12:00:02.000000+00:00".into());
        // Woken 7 s ago: due in 3 s, waits.
        let mut later = watched(4, "later", false);
        later.last_ping_at = Some("2026-11-24T12:00:03.000000+00:00".into());
        // Within the window but disabled, or its pane is dead: left out.
        let mut off = watched(1, "off", true);
        off.last_ping_at = soon.last_ping_at.clone();
        off.enabled = false;
        let mut dead = watched(5, "dead", false);
        dead.last_ping_at = soon.last_ping_at.clone();
        Broker::monitor_coalesce(&mut plan, vec![due, soon, later, off, dead], &live, now);
        let ids: Vec<AgentId> = plan.due.iter().map(|w| w.agent_id).collect();
        assert_eq!(ids, vec![2, 3]);
        // Long intervals pull forward at most COALESCE_CAP_SECONDS.
        assert_eq!(coalesce_window(720), 120.0);
        assert_eq!(coalesce_window(180), 45.0);
    }
}
