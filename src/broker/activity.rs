//! What an agent is doing, as the lists show it (docs/delivery.md, "Activity"): the report
//! its coding agent's hooks stored (`cafleet hook`) while it is fresh, else its pane's
//! signature, else unknown.

use super::Broker;
use crate::Result;
use crate::activity::Activity;
use crate::db;
pub use crate::db::activity::Stored;
use crate::model::{AgentId, FleetId, PaneTarget, now_ts, parse_ts};
use std::collections::HashMap;

use std::time::Duration;

/// How long a hook's report is believed: an older one counts as unknown and the pane is
/// read instead, so a lost report (a crashed CLI, a dropped hook) never sticks.
pub const FRESH_SECS: i64 = 300;

/// The `activity_source` of a reading taken off the pane.
pub const SOURCE_PANE: &str = "pane";

/// An agent's activity, when it was seen and by what (`<cli>:<event>` for a hook's report,
/// `pane` for the pane signature; both `None` when unknown).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ActivityView {
    /// `working`, `idle`, `waiting`, `exited` or `unknown`.
    pub activity: Activity,
    /// When it was reported or read.
    pub activity_seen_at: Option<String>,
    /// Where it came from.
    pub activity_source: Option<String>,
}

impl ActivityView {
    /// Nothing known.
    pub fn unknown() -> ActivityView {
        ActivityView {
            activity: Activity::Unknown,
            activity_seen_at: None,
            activity_source: None,
        }
    }

    /// The three fields as JSON object entries.
    pub fn insert_into(&self, obj: &mut serde_json::Map<String, serde_json::Value>) {
        obj.insert("activity".into(), self.activity.as_str().into());
        obj.insert(
            "activity_seen_at".into(),
            self.activity_seen_at.clone().into(),
        );
        obj.insert(
            "activity_source".into(),
            self.activity_source.clone().into(),
        );
    }
}

/// Whether a report seen at `seen_at` is fresh at `now`.
pub fn is_fresh(seen_at: &str, now: &str) -> bool {
    match (parse_ts(seen_at), parse_ts(now)) {
        (Some(seen), Some(now)) => (now - seen).num_seconds() <= FRESH_SECS,
        _ => false,
    }
}

impl Broker {
    /// Whether the agent's own hooks say, in a fresh report, that a turn is running: then
    /// nothing is typed into it that should wait for its turn to end, without reading its
    /// pane. Anything else (no report, a stale one, a database error) says no; the pane is
    /// still read before typing.
    pub async fn hooks_say_working(&self, agent_id: AgentId) -> bool {
        let Ok(mut conn) = self.db.read().await else {
            return false;
        };
        match db::activity::get(&mut conn, agent_id).await {
            Ok(Some(s)) => {
                s.activity == Activity::Working.as_str() && is_fresh(&s.seen_at, &now_ts())
            }
            _ => false,
        }
    }

    /// The activity of each of a fleet's `agents` (with their panes, `None` while pending
    /// or unplaced): a fresh stored report, else the pane signature (panes read
    /// concurrently), else unknown.
    pub async fn activities(
        &self,
        fleet_id: FleetId,
        agents: &[(AgentId, Option<PaneTarget>)],
    ) -> Result<HashMap<AgentId, ActivityView>> {
        let stored: HashMap<AgentId, db::activity::Stored> = {
            let mut conn = self.db.read().await?;
            db::activity::for_fleet(&mut conn, fleet_id)
                .await?
                .into_iter()
                .map(|s| (s.agent_id, s))
                .collect()
        };
        let now = now_ts();
        let fresh = |id: &AgentId| {
            stored
                .get(id)
                .filter(|s| is_fresh(&s.seen_at, &now))
                .cloned()
        };
        // One `list-panes` per tmux server first: a pane its server does not list has
        // exited, a server that cannot be asked tells nothing, and only live panes are read
        // (two tmux calls each). A fleet on a dead server costs one call, not two per agent.
        // Another host's pane cannot be read from here: only its hooks' reports count.
        let local = |pane: &Option<PaneTarget>| {
            pane.as_ref()
                .filter(|p| self.is_local(p.host.as_deref()))
                .cloned()
        };
        let sockets = agents
            .iter()
            .filter(|(id, _)| fresh(id).is_none())
            .filter_map(|(_, pane)| local(pane).map(|p| p.socket));
        let (live, _) = self.list_live_panes(sockets).await;
        let live = &live;
        let reads = agents.iter().map(|(id, pane)| {
            let fresh = fresh(id);
            let pane = local(pane);
            async move {
                let pane = pane.as_ref();
                let listed = pane.map(|p| live.get(&p.socket).map(|set| set.contains(&p.pane_id)));
                let view = match (fresh, pane, listed) {
                    (Some(s), _, _) => ActivityView {
                        activity: Activity::parse(&s.activity).unwrap_or(Activity::Unknown),
                        activity_seen_at: Some(s.seen_at),
                        activity_source: Some(s.source),
                    },
                    (None, Some(_), Some(Some(false))) => ActivityView {
                        activity: Activity::Exited,
                        activity_seen_at: Some(now_ts()),
                        activity_source: Some(SOURCE_PANE.to_string()),
                    },
                    (None, Some(_), Some(None)) | (None, None, _) => ActivityView::unknown(),
                    (None, Some(pane), _) => match self.tmux.pane_activity(pane).await {
                        Activity::Unknown => ActivityView::unknown(),
                        a => ActivityView {
                            activity: a,
                            activity_seen_at: Some(now_ts()),
                            activity_source: Some(SOURCE_PANE.to_string()),
                        },
                    },
                };
                (*id, view)
            }
        });
        Ok(futures::future::join_all(reads).await.into_iter().collect())
    }
}

/// `cafleet hook`'s write, on a light connection of its own (no pool, no migration, at
/// most `busy` waiting for a lock): finds the agent in `pane` on `socket` and stores the report, and marks the deliveries
/// whose previews its submitted prompt held (`previews`) submitted; the agent's id, or
/// `None` when no active agent lives there.
pub async fn record_hook_report(
    db: &crate::config::Database,
    busy: Duration,
    socket: &str,
    pane: &str,
    mut report: Stored,
    previews: &[crate::model::TaskId],
) -> crate::Result<Option<AgentId>> {
    let mut light = crate::db::Light::open(db, busy).await?;
    let conn = &mut light;
    let result = async {
        let candidates = crate::db::activity::agents_in_pane(conn, pane).await?;
        let Some(agent) = candidates
            .iter()
            .find(|c| c.tmux_socket.as_deref() == Some(socket))
            .or_else(|| {
                candidates.iter().find(|c| match &c.tmux_socket {
                    Some(s) => same_file(s, socket),
                    None => candidates.len() == 1,
                })
            })
        else {
            return Ok(None);
        };
        report.agent_id = agent.agent_id;
        crate::db::activity::record(conn, &report).await?;
        if !previews.is_empty() {
            crate::db::deliveries::mark_submitted(conn, agent.agent_id, previews, &report.seen_at)
                .await?;
        }
        Ok(Some(agent.agent_id))
    }
    .await;
    light.close().await;
    result
}

fn same_file(a: &str, b: &str) -> bool {
    matches!(
        (std::fs::canonicalize(a), std::fs::canonicalize(b)),
        (Ok(x), Ok(y)) if x == y
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_bound() {
        let now = "2026-11-27T16:20:00.000000+00:00";
        assert!(is_fresh("2026-11-27T16:15:00.000000+00:00", now));
        assert!(!is_fresh("2026-11-27T16:14:59.000000+00:00", now));
        assert!(!is_fresh("garbage", now));
    }
}
