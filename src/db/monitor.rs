//! `monitor_config` and `monitor_runtime`: who the monitor watches and which process runs it.

use crate::Result;
use crate::model::{AgentId, FleetId};
use sqlx::SqliteConnection;

/// Interval for a fleet's root Director (monitor.md).
pub const DIRECTOR_INTERVAL_SECS: i64 = 180;
/// Interval for an ordinary pane-bound member.
pub const MEMBER_INTERVAL_SECS: i64 = 720;

/// Enrolls an agent for heartbeats.
pub async fn insert_config(
    conn: &mut SqliteConnection,
    agent_id: AgentId,
    interval_seconds: i64,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO monitor_config (agent_id, interval_seconds, last_ping_at, enabled) VALUES (?1, ?2, NULL, 1)",
        agent_id,
        interval_seconds
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Stops watching one agent.
pub async fn delete_config(conn: &mut SqliteConnection, agent_id: AgentId) -> Result<()> {
    sqlx::query!("DELETE FROM monitor_config WHERE agent_id = ?1", agent_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stops watching every agent of a fleet and forgets its monitor process.
pub async fn delete_for_fleet(conn: &mut SqliteConnection, fleet_id: FleetId) -> Result<()> {
    sqlx::query!(
        "DELETE FROM monitor_config WHERE agent_id IN (SELECT agent_id FROM agents WHERE fleet_id = ?1)",
        fleet_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM monitor_runtime WHERE fleet_id = ?1", fleet_id)
        .execute(conn)
        .await?;
    Ok(())
}
