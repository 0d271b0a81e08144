//! `agent_placements`: where pane-bound agents live (session, window, pane, tmux server).

use crate::Result;
use crate::model::{AgentId, FleetId, Placement};
use sqlx::SqliteConnection;

/// Inserts a placement row.
pub async fn insert(conn: &mut SqliteConnection, p: &Placement) -> Result<()> {
    sqlx::query!(
        "INSERT INTO agent_placements (agent_id, director_agent_id, tmux_session, tmux_window_id,
                                       tmux_pane_id, coding_agent, created_at, tmux_socket)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        p.agent_id,
        p.director_agent_id,
        p.tmux_session,
        p.tmux_window_id,
        p.tmux_pane_id,
        p.coding_agent,
        p.created_at,
        p.tmux_socket
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The agent's placement, if it has one.
pub async fn get(conn: &mut SqliteConnection, agent_id: AgentId) -> Result<Option<Placement>> {
    Ok(sqlx::query_as!(
        Placement,
        r#"SELECT agent_id AS "agent_id!", director_agent_id, tmux_session, tmux_window_id,
                  tmux_pane_id, coding_agent, created_at, tmux_socket
           FROM agent_placements WHERE agent_id = ?1"#,
        agent_id
    )
    .fetch_optional(conn)
    .await?)
}

/// Placements of every agent of a fleet (to close their panes on fleet delete).
pub async fn list_for_fleet(
    conn: &mut SqliteConnection,
    fleet_id: FleetId,
) -> Result<Vec<Placement>> {
    Ok(sqlx::query_as!(
        Placement,
        r#"SELECT p.agent_id AS "agent_id!", p.director_agent_id, p.tmux_session, p.tmux_window_id,
                  p.tmux_pane_id, p.coding_agent, p.created_at, p.tmux_socket
           FROM agent_placements p JOIN agents a ON a.agent_id = p.agent_id
           WHERE a.fleet_id = ?1
           ORDER BY p.agent_id ASC"#,
        fleet_id
    )
    .fetch_all(conn)
    .await?)
}

/// Removes one agent's placement.
pub async fn delete(conn: &mut SqliteConnection, agent_id: AgentId) -> Result<()> {
    sqlx::query!("DELETE FROM agent_placements WHERE agent_id = ?1", agent_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes the placements of every agent of a fleet.
pub async fn delete_for_fleet(conn: &mut SqliteConnection, fleet_id: FleetId) -> Result<()> {
    sqlx::query!(
        "DELETE FROM agent_placements WHERE agent_id IN (SELECT agent_id FROM agents WHERE fleet_id = ?1)",
        fleet_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
