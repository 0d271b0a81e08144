//! `agent_placements`: where pane-bound agents live (session, window, pane, tmux server).

use super::{AsConn, Conn, postgres, sqlite};
use crate::Result;
use crate::model::{AgentId, FleetId, Placement};

/// Inserts a placement row.
pub async fn insert(c: &mut impl AsConn, p: &Placement) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "INSERT INTO agent_placements (agent_id, director_agent_id, tmux_session, tmux_window_id,
                                               tmux_pane_id, coding_agent, created_at, tmux_socket, host)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                p.agent_id,
                p.director_agent_id,
                p.tmux_session,
                p.tmux_window_id,
                p.tmux_pane_id,
                p.coding_agent,
                p.created_at,
                p.tmux_socket, p.host
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "INSERT INTO agent_placements (agent_id, director_agent_id, tmux_session, tmux_window_id,
                                               tmux_pane_id, coding_agent, created_at, tmux_socket, host)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                p.agent_id as _,
                p.director_agent_id as _,
                p.tmux_session,
                p.tmux_window_id as _,
                p.tmux_pane_id as _,
                p.coding_agent,
                p.created_at,
                p.tmux_socket, p.host
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// The agent's placement, if it has one.
pub async fn get(c: &mut impl AsConn, agent_id: AgentId) -> Result<Option<Placement>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Placement,
                r#"SELECT agent_id AS "agent_id!: AgentId", director_agent_id AS "director_agent_id: AgentId", tmux_session, tmux_window_id,
                          tmux_pane_id, coding_agent, created_at, tmux_socket, host
                   FROM agent_placements WHERE agent_id = ?1"#,
                agent_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Placement,
                r#"SELECT agent_id AS "agent_id!: AgentId", director_agent_id AS "director_agent_id: AgentId", tmux_session, tmux_window_id,
                          tmux_pane_id, coding_agent, created_at, tmux_socket, host
                   FROM agent_placements WHERE agent_id = $1"#,
                agent_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Placements of every agent of a fleet (to close their panes on fleet delete).
pub async fn list_for_fleet(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Vec<Placement>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Placement,
                r#"SELECT p.agent_id AS "agent_id!: AgentId", p.director_agent_id AS "director_agent_id: AgentId", p.tmux_session, p.tmux_window_id,
                          p.tmux_pane_id, p.coding_agent, p.created_at, p.tmux_socket, p.host
                   FROM agent_placements p JOIN agents a ON a.agent_id = p.agent_id
                   WHERE a.fleet_id = ?1
                   ORDER BY p.agent_id ASC"#,
                fleet_id
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Placement,
                r#"SELECT p.agent_id AS "agent_id!: AgentId", p.director_agent_id AS "director_agent_id: AgentId", p.tmux_session, p.tmux_window_id,
                          p.tmux_pane_id, p.coding_agent, p.created_at, p.tmux_socket, p.host
                   FROM agent_placements p JOIN agents a ON a.agent_id = p.agent_id
                   WHERE a.fleet_id = $1
                   ORDER BY p.agent_id ASC"#,
                fleet_id as _
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// Removes one agent's placement.
pub async fn delete(c: &mut impl AsConn, agent_id: AgentId) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!("DELETE FROM agent_placements WHERE agent_id = ?1", agent_id)
                .execute(conn)
                .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!("DELETE FROM agent_placements WHERE agent_id = $1", agent_id as _)
                .execute(conn)
                .await?;
            Ok(())
        },
    }
}

/// Removes the placements of every agent of a fleet.
pub async fn delete_for_fleet(c: &mut impl AsConn, fleet_id: FleetId) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "DELETE FROM agent_placements WHERE agent_id IN (SELECT agent_id FROM agents WHERE fleet_id = ?1)",
                fleet_id
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "DELETE FROM agent_placements WHERE agent_id IN (SELECT agent_id FROM agents WHERE fleet_id = $1)",
                fleet_id as _
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// Stores a spawned member's pane id; false when the placement row is gone.
pub async fn set_pane(c: &mut impl AsConn, agent_id: AgentId, pane_id: &str) -> Result<bool> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let r = sqlx::query!(
                "UPDATE agent_placements SET tmux_pane_id = ?2 WHERE agent_id = ?1",
                agent_id,
                pane_id
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected() > 0)
        },
        Conn::Pg(conn) => postgres! {
            let r = sqlx::query!(
                "UPDATE agent_placements SET tmux_pane_id = $2 WHERE agent_id = $1",
                agent_id as _,
                pane_id as _
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected() > 0)
        },
    }
}

/// A member as `member list` shows it: the agent, its placement and activity times.
#[derive(Debug, Clone)]
pub struct MemberRow {
    /// Agent id.
    pub agent_id: AgentId,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Status (always `active` here).
    pub status: String,
    /// Registration time.
    pub registered_at: String,
    /// Root Director id.
    pub director_agent_id: Option<AgentId>,
    /// tmux session.
    pub tmux_session: String,
    /// tmux window.
    pub tmux_window_id: String,
    /// Pane, NULL while pending.
    pub tmux_pane_id: Option<String>,
    /// Backend.
    pub coding_agent: String,
    /// Placement time.
    pub created_at: String,
    /// tmux server.
    pub tmux_socket: Option<String>,
    /// The host its pane lives on (NULL: placed before hosts were recorded).
    pub host: Option<String>,
    /// Creation time of the newest message it sent.
    pub last_sent: Option<String>,
    /// Newest status time of a message addressed to it.
    pub last_recv: Option<String>,
    /// Newest status time of a message addressed to it and acked.
    pub last_ack: Option<String>,
}

/// Active pane-bound members of a fleet (root Director excluded), ascending id, with the
/// activity times of `member list --activity` (broadcast summaries excluded). "Last sent"
/// uses the send time, so a recipient's ack does not move it (docs/decisions.md, MSG-3).
pub async fn list_members(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Vec<MemberRow>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                MemberRow,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", a.name, a.description, a.status, a.registered_at,
                          p.director_agent_id AS "director_agent_id: AgentId", p.tmux_session, p.tmux_window_id, p.tmux_pane_id,
                          p.coding_agent, p.created_at, p.tmux_socket, p.host,
                          (SELECT max(t.created_at) FROM tasks t
                            WHERE t.from_agent_id = a.agent_id AND t.type <> 'broadcast_summary') AS "last_sent?: String",
                          (SELECT max(t.status_timestamp) FROM tasks t
                            WHERE t.context_id = a.agent_id AND t.type <> 'broadcast_summary') AS "last_recv?: String",
                          (SELECT max(t.status_timestamp) FROM tasks t
                            WHERE t.context_id = a.agent_id AND t.type <> 'broadcast_summary'
                              AND t.status_state = 'completed') AS "last_ack?: String"
                   FROM agents a JOIN agent_placements p ON p.agent_id = a.agent_id
                   WHERE a.fleet_id = ?1 AND a.status = 'active' AND p.director_agent_id IS NOT NULL
                   ORDER BY a.agent_id ASC"#,
                fleet_id
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                MemberRow,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", a.name, a.description, a.status, a.registered_at,
                          p.director_agent_id AS "director_agent_id: AgentId", p.tmux_session, p.tmux_window_id, p.tmux_pane_id,
                          p.coding_agent, p.created_at, p.tmux_socket, p.host,
                          (SELECT max(t.created_at) FROM tasks t
                            WHERE t.from_agent_id = a.agent_id AND t.type <> 'broadcast_summary') AS "last_sent?: String",
                          (SELECT max(t.status_timestamp) FROM tasks t
                            WHERE t.context_id = a.agent_id AND t.type <> 'broadcast_summary') AS "last_recv?: String",
                          (SELECT max(t.status_timestamp) FROM tasks t
                            WHERE t.context_id = a.agent_id AND t.type <> 'broadcast_summary'
                              AND t.status_state = 'completed') AS "last_ack?: String"
                   FROM agents a JOIN agent_placements p ON p.agent_id = a.agent_id
                   WHERE a.fleet_id = $1 AND a.status = 'active' AND p.director_agent_id IS NOT NULL
                   ORDER BY a.agent_id ASC"#,
                fleet_id as _
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// Records where a relay opened a member's pane (docs/postgres.md, "Pane requests");
/// false when the placement is gone (the member was rolled back meanwhile).
pub async fn set_spawned(
    c: &mut impl AsConn,
    agent_id: AgentId,
    socket: &str,
    session: &str,
    window_id: &str,
    pane_id: &str,
) -> Result<bool> {
    let n = match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE agent_placements SET tmux_socket = ?2, tmux_session = ?3, tmux_window_id = ?4,
                                             tmux_pane_id = ?5
                 WHERE agent_id = ?1",
                agent_id,
                socket,
                session,
                window_id,
                pane_id
            )
            .execute(conn)
            .await?
            .rows_affected()
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE agent_placements SET tmux_socket = $2, tmux_session = $3, tmux_window_id = $4,
                                             tmux_pane_id = $5
                 WHERE agent_id = $1",
                agent_id as _,
                socket,
                session,
                window_id,
                pane_id
            )
            .execute(conn)
            .await?
            .rows_affected()
        },
    };
    Ok(n == 1)
}
