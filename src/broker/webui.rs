//! The WebUI's read model and its one write: what the admin WebUI shows (agent cards,
//! timeline, mailboxes, the change feed behind its live stream) and sending as the fleet's
//! Administrator. The HTTP layer (`web/`) parses a request, calls one of these and maps
//! the result; it never touches storage itself (docs/ARCHITECTURE.md, "Layers").

use super::Broker;
use super::activity::ActivityView;
use super::delivery::Undelivered;
use crate::db;
use crate::delivery::DeliverMode;
use crate::model::{
    AgentId, AgentKind, AgentRole, AgentStatus, FleetId, KIND_ADMINISTRATOR,
    KIND_MONITORING_MEMBER, STATUS_ACTIVE, TaskId,
};
use crate::{Error, Result};
use serde::Serialize;

pub use db::changes::Change;
pub use db::messages::MessageView;
pub use db::monitor::Schedule;

/// An agent's monitor schedule as the WebUI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MonitorCard {
    /// Seconds between wakes.
    pub interval_seconds: i64,
    /// The last wake.
    pub last_ping_at: Option<String>,
    /// Whether wakes are on.
    pub enabled: bool,
}

impl From<&Schedule> for MonitorCard {
    fn from(s: &Schedule) -> MonitorCard {
        MonitorCard {
            interval_seconds: s.interval_seconds,
            last_ping_at: s.last_ping_at.clone(),
            enabled: s.enabled,
        }
    }
}

/// One agent of the sidebar and of `GET /api/agents` (the field order is the JSON's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AgentCard {
    /// Agent id.
    pub agent_id: AgentId,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `active` or `deregistered`.
    pub status: AgentStatus,
    /// Registration time.
    pub registered_at: String,
    /// The Administrator, or any other agent.
    pub kind: AgentKind,
    /// The schedule of an active, enrolled agent.
    pub monitor: Option<MonitorCard>,
    /// Its role in the fleet.
    pub role: AgentRole,
    /// The backend of a placed agent.
    pub coding_agent: Option<String>,
    /// Working, idle… and when and by what it was seen.
    #[serde(flatten)]
    pub activity: ActivityView,
    /// Messages it has not been shown yet.
    pub undelivered: Undelivered,
}

impl AgentCard {
    fn new(a: db::agents::AgentView, activity: ActivityView, undelivered: Undelivered) -> Self {
        let admin = a.card_kind.as_deref() == Some(KIND_ADMINISTRATOR);
        let role = match (a.card_kind.as_deref(), a.is_director, a.placed) {
            (Some(KIND_ADMINISTRATOR), _, _) => AgentRole::Administrator,
            (Some(KIND_MONITORING_MEMBER), _, _) => AgentRole::Monitor,
            (_, true, _) => AgentRole::Director,
            (_, _, true) => AgentRole::Member,
            _ => AgentRole::Agent,
        };
        let monitor = match (a.interval_seconds, a.enabled) {
            (Some(interval_seconds), Some(enabled)) if a.status == AgentStatus::Active => {
                Some(MonitorCard {
                    interval_seconds,
                    last_ping_at: a.last_ping_at,
                    enabled,
                })
            }
            _ => None,
        };
        AgentCard {
            agent_id: a.agent_id,
            name: a.name,
            description: a.description,
            status: a.status,
            registered_at: a.registered_at,
            kind: if admin {
                AgentKind::Administrator
            } else {
                AgentKind::User
            },
            monitor,
            role,
            coding_agent: a.coding_agent,
            activity,
            undelivered,
        }
    }
}

/// Where the WebUI sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// One agent of the fleet.
    Agent(AgentId),
    /// Every active agent but the Administrator (`"*"`).
    All,
}

/// What a WebUI send stored (or found, for a repeated idempotency key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct WebSent {
    /// The delivery, or the broadcast's summary.
    pub task_id: TaskId,
    /// Its state.
    pub status: String,
    /// How many deliveries a broadcast made.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub recipients: Option<usize>,
    /// The delivery mode.
    pub deliver: DeliverMode,
    /// Present (true) when the key named an earlier message: nothing stored or typed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub repeated: bool,
}

impl Broker {
    /// Whether the fleet exists and is not deleted (a deleted fleet's agents and messages
    /// are not served; docs/decisions.md, WEB-1).
    pub async fn fleet_is_live(&self, fleet_id: FleetId) -> Result<bool> {
        let mut conn = self.db.read().await?;
        Ok(db::fleets::get(&mut conn, fleet_id)
            .await?
            .is_some_and(|f| f.deleted_at.is_none()))
    }

    /// The fleet's agents as the WebUI lists them: the active ones, and retired ones that
    /// own messages, each with its activity and undelivered count.
    pub async fn agent_cards(&self, fleet_id: FleetId) -> Result<Vec<AgentCard>> {
        let (list, placements) = {
            let mut conn = self.db.read().await?;
            (
                db::agents::web_list(&mut conn, fleet_id).await?,
                db::placements::list_for_fleet(&mut conn, fleet_id).await?,
            )
        };
        // Only active agents have an activity; a deregistered one is listed for its messages.
        let panes: Vec<_> = list
            .iter()
            .filter(|a| a.status == AgentStatus::Active)
            .map(|a| {
                let pane = placements
                    .iter()
                    .find(|p| p.agent_id == a.agent_id)
                    .and_then(crate::model::Placement::target);
                (a.agent_id, pane)
            })
            .collect();
        let mut activities = self.activities(fleet_id, &panes).await?;
        let undelivered = self.undelivered_counts(fleet_id).await?;
        Ok(list
            .into_iter()
            .map(|a| {
                let activity = activities
                    .remove(&a.agent_id)
                    .unwrap_or_else(ActivityView::unknown);
                let counts = undelivered.get(&a.agent_id).copied().unwrap_or_default();
                AgentCard::new(a, activity, counts)
            })
            .collect())
    }

    /// The schedule of an agent enrolled in this fleet's monitoring (and still active).
    pub async fn enrolment(
        &self,
        fleet_id: FleetId,
        agent_id: AgentId,
    ) -> Result<Option<Schedule>> {
        let mut conn = self.db.read().await?;
        Ok(db::monitor::schedule(&mut conn, agent_id)
            .await?
            .filter(|s| s.fleet_id == fleet_id && s.status == STATUS_ACTIVE))
    }

    /// The fleet's messages, newest first: the newest `limit`, or those before `before`.
    pub async fn timeline(
        &self,
        fleet_id: FleetId,
        before: Option<TaskId>,
        limit: i64,
    ) -> Result<Vec<MessageView>> {
        let mut conn = self.db.read().await?;
        db::messages::timeline(&mut conn, fleet_id, before, limit).await
    }

    /// An agent's inbox (or, with `sent`, what it sent), paged like [`Broker::timeline`];
    /// [`Error::NotFound`] when the agent is not of this fleet.
    pub async fn mailbox(
        &self,
        fleet_id: FleetId,
        agent_id: AgentId,
        sent: bool,
        before: Option<TaskId>,
        limit: i64,
    ) -> Result<Vec<MessageView>> {
        let mut conn = self.db.read().await?;
        match db::agents::get(&mut conn, agent_id).await? {
            Some(a) if a.fleet_id == fleet_id => {}
            _ => {
                return Err(Error::not_found(format!(
                    "agent {agent_id} is not a member of fleet {fleet_id}."
                )));
            }
        }
        db::messages::mailbox(&mut conn, agent_id, sent, before, limit).await
    }

    /// The newest change's sequence number (0 when there is none).
    pub async fn latest_change(&self) -> Result<i64> {
        let mut conn = self.db.read().await?;
        db::changes::latest(&mut conn).await
    }

    /// The fleet's changes after `seq`, oldest first (at most `limit`).
    pub async fn changes_since(
        &self,
        fleet_id: FleetId,
        seq: i64,
        limit: i64,
    ) -> Result<Vec<Change>> {
        let mut conn = self.db.read().await?;
        db::changes::since(&mut conn, fleet_id, seq, limit).await
    }

    /// The fleet's messages with these ids, as the WebUI shows them.
    pub async fn messages_by_id(
        &self,
        fleet_id: FleetId,
        ids: &[TaskId],
    ) -> Result<Vec<MessageView>> {
        let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        let mut conn = self.db.read().await?;
        db::messages::messages_by_id(&mut conn, fleet_id, &ids).await
    }

    /// Sends as the fleet's Administrator, the only sender the WebUI has
    /// (docs/decisions.md, W3). The checks, in the API's order and with its texts: the
    /// sender must be an active agent of the fleet (invalid), and its Administrator
    /// (forbidden); the text not blank (invalid); a unicast recipient an active agent of
    /// the fleet (not found). Previews are typed in the background after the reply, so a
    /// request never waits on tmux.
    pub async fn web_send(
        &self,
        fleet_id: FleetId,
        from: AgentId,
        to: Audience,
        text: &str,
        key: Option<&str>,
        mode: DeliverMode,
    ) -> Result<WebSent> {
        let (sender, recipient) = {
            let mut conn = self.db.read().await?;
            let sender = db::agents::get(&mut conn, from).await?;
            let recipient = match to {
                Audience::Agent(id) => db::agents::get(&mut conn, id).await?,
                Audience::All => None,
            };
            (sender, recipient)
        };
        let sender = match sender {
            Some(a) if a.fleet_id == fleet_id && a.is_active() => a,
            _ => return Err(Error::invalid("from_agent not in fleet")),
        };
        if !sender.is_administrator() {
            return Err(Error::forbidden(
                "the WebUI sends only as the fleet's Administrator; use its agent id as from_agent_id",
            ));
        }
        if text.trim().is_empty() {
            return Err(Error::invalid("message text may not be empty"));
        }
        let to = match to {
            Audience::All => return self.web_broadcast(fleet_id, from, text, key, mode).await,
            Audience::Agent(to) => to,
        };
        if !recipient.is_some_and(|a| a.fleet_id == fleet_id && a.is_active()) {
            return Err(Error::not_found("Agent not found"));
        }
        let (task, target, repeated) = self
            .message_store_keyed(fleet_id, from, to, text, key, mode)
            .await?;
        let sent = WebSent {
            task_id: task.task_id,
            status: task.status_state.clone(),
            recipients: None,
            deliver: mode,
            repeated,
        };
        if !repeated {
            let broker = self.clone();
            tokio::spawn(async move {
                broker.deliver_in_fleet(fleet_id, &task, target, mode).await;
            });
        }
        Ok(sent)
    }

    async fn web_broadcast(
        &self,
        fleet_id: FleetId,
        from: AgentId,
        text: &str,
        key: Option<&str>,
        mode: DeliverMode,
    ) -> Result<WebSent> {
        let stored = self
            .broadcast_store_keyed(fleet_id, from, text, key, mode)
            .await?;
        let (summary, recipients, repeated) = match stored {
            super::BroadcastStored::New(summary, deliveries) => {
                let recipients = deliveries.len();
                let broker = self.clone();
                tokio::spawn(async move {
                    broker
                        .deliver_all_in_fleet(fleet_id, deliveries, mode)
                        .await;
                });
                (summary, recipients, false)
            }
            super::BroadcastStored::Repeat(summary, recipients) => (summary, recipients, true),
        };
        Ok(WebSent {
            task_id: summary.task_id,
            status: summary.status_state,
            recipients: Some(recipients),
            deliver: mode,
            repeated,
        })
    }
}
