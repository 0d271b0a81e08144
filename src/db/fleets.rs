//! `fleets`: creation, lookup, listing and soft delete.

use super::{AsConn, Conn, postgres, sqlite};
use crate::Result;
use crate::model::{AgentId, Fleet, FleetId, FleetSummary};

/// Inserts a live fleet with no Director yet (set later in the same transaction).
pub async fn insert(c: &mut impl AsConn, label: Option<&str>, now: &str) -> Result<FleetId> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let r = sqlx::query!(
                "INSERT INTO fleets (label, created_at, deleted_at, director_agent_id) VALUES (?1, ?2, NULL, NULL)",
                label,
                now
            )
            .execute(conn)
            .await?;
            Ok(FleetId(r.last_insert_rowid()))
        },
        Conn::Pg(conn) => postgres! {
            let id = sqlx::query_scalar!(
                r#"INSERT INTO fleets (label, created_at, deleted_at, director_agent_id) VALUES ($1, $2, NULL, NULL)
                   RETURNING fleet_id AS "fleet_id!: FleetId""#,
                label,
                now
            )
            .fetch_one(conn)
            .await?;
            Ok(id)
        },
    }
}

/// Records the fleet's root Director.
pub async fn set_director(c: &mut impl AsConn, fleet_id: FleetId, director: AgentId) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE fleets SET director_agent_id = ?2 WHERE fleet_id = ?1",
                fleet_id,
                director
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE fleets SET director_agent_id = $2 WHERE fleet_id = $1",
                fleet_id as _,
                director as _
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// Any fleet, soft-deleted ones included.
pub async fn get(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Option<Fleet>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Fleet,
                r#"SELECT fleet_id AS "fleet_id!: FleetId", label, created_at, deleted_at, director_agent_id AS "director_agent_id: AgentId"
                   FROM fleets WHERE fleet_id = ?1"#,
                fleet_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Fleet,
                r#"SELECT fleet_id AS "fleet_id!: FleetId", label, created_at, deleted_at, director_agent_id AS "director_agent_id: AgentId"
                   FROM fleets WHERE fleet_id = $1"#,
                fleet_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Live fleets, newest first, with their active agent counts.
pub async fn list_live(c: &mut impl AsConn) -> Result<Vec<FleetSummary>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                FleetSummary,
                r#"SELECT f.fleet_id AS "fleet_id!: FleetId", f.director_agent_id AS "director_agent_id: AgentId", f.label, f.created_at,
                          (SELECT count(*) FROM agents a WHERE a.fleet_id = f.fleet_id AND a.status = 'active') AS "agent_count!: i64"
                   FROM fleets f
                   WHERE f.deleted_at IS NULL
                   ORDER BY f.created_at DESC, f.fleet_id ASC"#
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                FleetSummary,
                r#"SELECT f.fleet_id AS "fleet_id!: FleetId", f.director_agent_id AS "director_agent_id: AgentId", f.label, f.created_at,
                          (SELECT count(*)::bigint FROM agents a WHERE a.fleet_id = f.fleet_id AND a.status = 'active') AS "agent_count!: i64"
                   FROM fleets f
                   WHERE f.deleted_at IS NULL
                   ORDER BY f.created_at DESC, f.fleet_id ASC"#
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// Sets `deleted_at` unless already set.
pub async fn mark_deleted(c: &mut impl AsConn, fleet_id: FleetId, now: &str) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE fleets SET deleted_at = ?2 WHERE fleet_id = ?1 AND deleted_at IS NULL",
                fleet_id,
                now
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE fleets SET deleted_at = $2 WHERE fleet_id = $1 AND deleted_at IS NULL",
                fleet_id as _,
                now
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// Whether the agent is the root Director of any fleet, deleted fleets included.
pub async fn is_director_of_any(c: &mut impl AsConn, agent_id: AgentId) -> Result<bool> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let n = sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!: i64" FROM fleets WHERE director_agent_id = ?1"#,
                agent_id
            )
            .fetch_one(conn)
            .await?;
            Ok(n > 0)
        },
        Conn::Pg(conn) => postgres! {
            let n = sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!: i64" FROM fleets WHERE director_agent_id = $1"#,
                agent_id as _
            )
            .fetch_one(conn)
            .await?;
            Ok(n > 0)
        },
    }
}
