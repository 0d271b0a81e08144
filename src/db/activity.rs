//! `agent_activity`: what each agent's coding agent last reported through its hooks
//! (docs/delivery.md, "Activity").

use super::{AsConn, Conn, postgres, sqlite};
use crate::Result;
use crate::model::{AgentId, FleetId};

/// One stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The agent.
    pub agent_id: AgentId,
    /// `working`, `idle`, `waiting`, `exited` or `unknown`.
    pub activity: String,
    /// The CLI and its event, e.g. `claude:PreToolUse`.
    pub source: String,
    /// When the hook ran.
    pub seen_at: String,
}

/// An active agent placed in a pane with this id (any tmux server; the caller matches the
/// server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaneAgent {
    /// The agent.
    pub agent_id: AgentId,
    /// The tmux server of its placement (NULL for placements adopted from CAFleet 0.14).
    pub tmux_socket: Option<String>,
    /// The host its pane lives on (NULL: placed before hosts were recorded).
    pub host: Option<String>,
}

/// The active agents whose placement is pane `pane_id`.
pub async fn agents_in_pane(c: &mut impl AsConn, pane_id: &str) -> Result<Vec<PaneAgent>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                PaneAgent,
                r#"SELECT p.agent_id AS "agent_id!: AgentId", p.tmux_socket, p.host
                   FROM agent_placements p JOIN agents a ON a.agent_id = p.agent_id
                   WHERE p.tmux_pane_id = ?1 AND a.status = 'active'
                   ORDER BY p.agent_id ASC"#,
                pane_id
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                PaneAgent,
                r#"SELECT p.agent_id AS "agent_id!: AgentId", p.tmux_socket, p.host
                   FROM agent_placements p JOIN agents a ON a.agent_id = p.agent_id
                   WHERE p.tmux_pane_id = $1 AND a.status = 'active'
                   ORDER BY p.agent_id ASC"#,
                pane_id as _
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// Stores a report, unless a newer one is already stored (hooks of one agent can finish
/// out of order). True when the row was written.
pub async fn record(c: &mut impl AsConn, r: &Stored) -> Result<bool> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let done = sqlx::query!(
                "INSERT INTO agent_activity (agent_id, activity, source, seen_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (agent_id) DO UPDATE
                   SET activity = excluded.activity, source = excluded.source, seen_at = excluded.seen_at
                   WHERE excluded.seen_at >= agent_activity.seen_at",
                r.agent_id,
                r.activity,
                r.source,
                r.seen_at
            )
            .execute(conn)
            .await?;
            Ok(done.rows_affected() > 0)
        },
        Conn::Pg(conn) => postgres! {
            let done = sqlx::query!(
                "INSERT INTO agent_activity (agent_id, activity, source, seen_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (agent_id) DO UPDATE
                   SET activity = excluded.activity, source = excluded.source, seen_at = excluded.seen_at
                   WHERE excluded.seen_at >= agent_activity.seen_at",
                r.agent_id as _,
                r.activity,
                r.source,
                r.seen_at
            )
            .execute(conn)
            .await?;
            Ok(done.rows_affected() > 0)
        },
    }
}

/// One agent's stored report.
pub async fn get(c: &mut impl AsConn, agent_id: AgentId) -> Result<Option<Stored>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Stored,
                r#"SELECT agent_id AS "agent_id!: AgentId", activity, source, seen_at
                   FROM agent_activity WHERE agent_id = ?1"#,
                agent_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Stored,
                r#"SELECT agent_id AS "agent_id!: AgentId", activity, source, seen_at
                   FROM agent_activity WHERE agent_id = $1"#,
                agent_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// The stored reports of every agent of a fleet.
pub async fn for_fleet(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Vec<Stored>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Stored,
                r#"SELECT s.agent_id AS "agent_id!: AgentId", s.activity, s.source, s.seen_at
                   FROM agent_activity s JOIN agents a ON a.agent_id = s.agent_id
                   WHERE a.fleet_id = ?1
                   ORDER BY s.agent_id ASC"#,
                fleet_id
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Stored,
                r#"SELECT s.agent_id AS "agent_id!: AgentId", s.activity, s.source, s.seen_at
                   FROM agent_activity s JOIN agents a ON a.agent_id = s.agent_id
                   WHERE a.fleet_id = $1
                   ORDER BY s.agent_id ASC"#,
                fleet_id as _
            )
            .fetch_all(conn)
            .await?)
        },
    }
}
