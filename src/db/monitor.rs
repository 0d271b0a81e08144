//! `monitor_config` and `monitor_runtime`: who the monitor watches and which process runs it.

use super::{AsConn, Conn, postgres, sqlite};
use crate::Result;
use crate::model::{AgentId, FleetId};

/// Interval for a fleet's root Director (0.14's default).
pub const DIRECTOR_INTERVAL_SECS: i64 = 180;
/// Interval for an ordinary pane-bound member.
pub const MEMBER_INTERVAL_SECS: i64 = 720;

/// Enrolls an agent for heartbeats.
pub async fn insert_config(
    c: &mut impl AsConn,
    agent_id: AgentId,
    interval_seconds: i64,
) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "INSERT INTO monitor_config (agent_id, interval_seconds, last_ping_at, enabled) VALUES (?1, ?2, NULL, 1)",
                agent_id,
                interval_seconds
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "INSERT INTO monitor_config (agent_id, interval_seconds, last_ping_at, enabled) VALUES ($1, $2, NULL, TRUE)",
                agent_id as _,
                interval_seconds
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// Stops watching one agent.
pub async fn delete_config(c: &mut impl AsConn, agent_id: AgentId) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!("DELETE FROM monitor_config WHERE agent_id = ?1", agent_id)
                .execute(conn)
                .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!("DELETE FROM monitor_config WHERE agent_id = $1", agent_id as _)
                .execute(conn)
                .await?;
            Ok(())
        },
    }
}

/// Stops watching every agent of a fleet and forgets its monitor process.
pub async fn delete_for_fleet(c: &mut impl AsConn, fleet_id: FleetId) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
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
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "DELETE FROM monitor_config WHERE agent_id IN (SELECT agent_id FROM agents WHERE fleet_id = $1)",
                fleet_id as _
            )
            .execute(&mut *conn)
            .await?;
            sqlx::query!("DELETE FROM monitor_runtime WHERE fleet_id = $1", fleet_id as _)
                .execute(conn)
                .await?;
            Ok(())
        },
    }
}

/// A fleet's monitor slot (`monitor_runtime`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// The fleet.
    pub fleet_id: FleetId,
    /// Owning process, NULL after a clean stop.
    pub pid: Option<i64>,
    /// Start time.
    pub started_at: Option<String>,
    /// Heartbeat.
    pub last_tick_at: Option<String>,
    /// Tick length.
    pub tick_seconds: i64,
    /// Where the owning process runs ([`crate::broker::monitor::host_identity`]); NULL for
    /// slots claimed by older versions.
    pub host: Option<String>,
}

/// The fleet's monitor slot, if it ever ran.
pub async fn runtime(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Option<Runtime>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Runtime,
                r#"SELECT fleet_id AS "fleet_id!: FleetId", pid, started_at, last_tick_at, tick_seconds, host
                   FROM monitor_runtime WHERE fleet_id = ?1"#,
                fleet_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Runtime,
                r#"SELECT fleet_id AS "fleet_id!: FleetId", pid, started_at, last_tick_at, tick_seconds, host
                   FROM monitor_runtime WHERE fleet_id = $1"#,
                fleet_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Takes the fleet's monitor slot for `pid` running on `host` (insert or overwrite a dead
/// one).
pub async fn claim(
    c: &mut impl AsConn,
    fleet_id: FleetId,
    pid: i64,
    host: &str,
    now: &str,
    tick: i64,
) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "INSERT INTO monitor_runtime (fleet_id, pid, started_at, last_tick_at, tick_seconds, host)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5)
                 ON CONFLICT (fleet_id) DO UPDATE
                   SET pid = ?2, started_at = ?3, last_tick_at = ?3, tick_seconds = ?4, host = ?5",
                fleet_id,
                pid,
                now,
                tick,
                host
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "INSERT INTO monitor_runtime (fleet_id, pid, started_at, last_tick_at, tick_seconds, host)
                 VALUES ($1, $2, $3, $3, $4, $5)
                 ON CONFLICT (fleet_id) DO UPDATE
                   SET pid = $2, started_at = $3, last_tick_at = $3, tick_seconds = $4, host = $5",
                fleet_id as _,
                pid,
                now,
                tick,
                host
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// Heartbeat; false when the slot is no longer ours (fleet deleted or slot reclaimed).
pub async fn heartbeat(
    c: &mut impl AsConn,
    fleet_id: FleetId,
    pid: i64,
    now: &str,
) -> Result<bool> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let r = sqlx::query!(
                "UPDATE monitor_runtime SET last_tick_at = ?3 WHERE fleet_id = ?1 AND pid = ?2",
                fleet_id,
                pid,
                now
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected() > 0)
        },
        Conn::Pg(conn) => postgres! {
            let r = sqlx::query!(
                "UPDATE monitor_runtime SET last_tick_at = $3 WHERE fleet_id = $1 AND pid = $2",
                fleet_id as _,
                pid,
                now
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected() > 0)
        },
    }
}

/// Clears the slot on a clean stop, if still ours; `tick_seconds` is kept.
pub async fn release(c: &mut impl AsConn, fleet_id: FleetId, pid: i64) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE monitor_runtime SET pid = NULL, started_at = NULL, last_tick_at = NULL
                 WHERE fleet_id = ?1 AND pid = ?2",
                fleet_id,
                pid
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE monitor_runtime SET pid = NULL, started_at = NULL, last_tick_at = NULL
                 WHERE fleet_id = $1 AND pid = $2",
                fleet_id as _,
                pid
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// A watched agent: its schedule, pane and unread count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    /// Agent id.
    pub agent_id: AgentId,
    /// Name.
    pub name: String,
    /// Whether it is the fleet's root Director.
    pub is_director: bool,
    /// Interval.
    pub interval_seconds: i64,
    /// Last time it was woken.
    pub last_ping_at: Option<String>,
    /// Enabled.
    pub enabled: bool,
    /// Its pane (NULL while pending).
    pub tmux_pane_id: Option<String>,
    /// Its tmux server.
    pub tmux_socket: Option<String>,
    /// The host its pane lives on (NULL: placed before hosts were recorded).
    pub host: Option<String>,
    /// Un-acked deliveries addressed to it.
    pub pending_count: i64,
}

/// The enrolled, active, placed agents of a fleet, ascending id.
pub async fn watched(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Vec<Watched>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Watched,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", a.name,
                          (f.director_agent_id IS NOT NULL AND f.director_agent_id = a.agent_id) AS "is_director!: bool",
                          m.interval_seconds, m.last_ping_at, m.enabled AS "enabled!: bool",
                          p.tmux_pane_id, p.tmux_socket, p.host,
                          (SELECT count(*) FROM tasks t
                            WHERE t.context_id = a.agent_id AND t.status_state = 'input_required'
                              AND t.type <> 'broadcast_summary') AS "pending_count!: i64"
                   FROM monitor_config m
                   JOIN agents a ON a.agent_id = m.agent_id
                   JOIN agent_placements p ON p.agent_id = a.agent_id
                   JOIN fleets f ON f.fleet_id = a.fleet_id
                   WHERE a.fleet_id = ?1 AND a.status = 'active'
                   ORDER BY a.agent_id ASC"#,
                fleet_id
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Watched,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", a.name,
                          (f.director_agent_id IS NOT NULL AND f.director_agent_id = a.agent_id) AS "is_director!: bool",
                          m.interval_seconds, m.last_ping_at, m.enabled AS "enabled!: bool",
                          p.tmux_pane_id, p.tmux_socket, p.host,
                          (SELECT count(*) FROM tasks t
                            WHERE t.context_id = a.agent_id AND t.status_state = 'input_required'
                              AND t.type <> 'broadcast_summary') AS "pending_count!: i64"
                   FROM monitor_config m
                   JOIN agents a ON a.agent_id = m.agent_id
                   JOIN agent_placements p ON p.agent_id = a.agent_id
                   JOIN fleets f ON f.fleet_id = a.fleet_id
                   WHERE a.fleet_id = $1 AND a.status = 'active'
                   ORDER BY a.agent_id ASC"#,
                fleet_id as _
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// The agents a tick at `now` may wake: enrolled, active, enabled, with a pane, and never
/// woken or woken about `interval` seconds ago or earlier (one second of slack: the exact
/// comparison, on the parsed timestamps, is `Broker::monitor_plan`'s). The due condition is
/// the expression of `idx_monitor_config_due` (migration 0007), and `CROSS JOIN` keeps the
/// schedules as the outer loop, so only the due range of the index is read. `pending_count` is
/// not computed (0): a tick does not need it. Most ticks read a handful of rows instead of
/// the whole fleet.
pub async fn due_candidates(
    c: &mut impl AsConn,
    fleet_id: FleetId,
    now: &str,
) -> Result<Vec<Watched>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Watched,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", a.name,
                          (f.director_agent_id IS NOT NULL AND f.director_agent_id = a.agent_id) AS "is_director!: bool",
                          m.interval_seconds, m.last_ping_at, m.enabled AS "enabled!: bool",
                          p.tmux_pane_id, p.tmux_socket, p.host, 0 AS "pending_count!: i64"
                   FROM monitor_config m
                   CROSS JOIN agents a ON a.agent_id = m.agent_id
                   JOIN agent_placements p ON p.agent_id = a.agent_id
                   JOIN fleets f ON f.fleet_id = a.fleet_id
                   WHERE coalesce(julianday(m.last_ping_at) * 86400 + m.interval_seconds, 0)
                         <= julianday(?2) * 86400 + 1
                     AND a.fleet_id = ?1 AND a.status = 'active' AND m.enabled
                     AND p.tmux_pane_id IS NOT NULL
                   ORDER BY a.agent_id ASC"#,
                fleet_id,
                now
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Watched,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", a.name,
                          (f.director_agent_id IS NOT NULL AND f.director_agent_id = a.agent_id) AS "is_director!: bool",
                          m.interval_seconds, m.last_ping_at, m.enabled AS "enabled!: bool",
                          p.tmux_pane_id, p.tmux_socket, p.host, 0::bigint AS "pending_count!: i64"
                   FROM monitor_config m
                   JOIN agents a ON a.agent_id = m.agent_id
                   JOIN agent_placements p ON p.agent_id = a.agent_id
                   JOIN fleets f ON f.fleet_id = a.fleet_id
                   WHERE coalesce(extract(epoch FROM m.last_ping_at::timestamptz) + m.interval_seconds, 0)
                         <= extract(epoch FROM $2::text::timestamptz) + 1
                     AND a.fleet_id = $1 AND a.status = 'active' AND m.enabled
                     AND p.tmux_pane_id IS NOT NULL
                   ORDER BY a.agent_id ASC"#,
                fleet_id as _,
                now
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// The fleet's monitoring member with a pane: (agent id, pane, socket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watcher {
    /// Agent id.
    pub agent_id: AgentId,
    /// Pane.
    pub tmux_pane_id: String,
    /// Server.
    pub tmux_socket: Option<String>,
    /// The host its pane lives on (NULL: placed before hosts were recorded).
    pub host: Option<String>,
}

/// The first active monitoring member of the fleet whose pane exists.
pub async fn watcher(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Option<Watcher>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Watcher,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", p.tmux_pane_id AS "tmux_pane_id!", p.tmux_socket, p.host
                   FROM agents a JOIN agent_placements p ON p.agent_id = a.agent_id
                   WHERE a.fleet_id = ?1 AND a.status = 'active' AND p.tmux_pane_id IS NOT NULL
                     AND json_extract(a.agent_card_json, '$.cafleet.kind') = 'monitoring-member'
                   ORDER BY a.agent_id LIMIT 1"#,
                fleet_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Watcher,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", p.tmux_pane_id AS "tmux_pane_id!", p.tmux_socket, p.host
                   FROM agents a JOIN agent_placements p ON p.agent_id = a.agent_id
                   WHERE a.fleet_id = $1 AND a.status = 'active' AND p.tmux_pane_id IS NOT NULL
                     AND a.agent_card_json::jsonb #>> '{cafleet,kind}' = 'monitoring-member'
                   ORDER BY a.agent_id LIMIT 1"#,
                fleet_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Records that these agents were woken at `now`: one statement however many there are
/// and one change-log row per fleet.
pub async fn stamp(c: &mut impl AsConn, agents: &[AgentId], now: &str) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let ids = serde_json::to_string(agents).expect("ids serialise");
            sqlx::query!(
                "UPDATE monitor_config SET last_ping_at = ?2
                 WHERE agent_id IN (SELECT value FROM json_each(?1))",
                ids,
                now
            )
            .execute(&mut *conn)
            .await?;
            // One change per fleet for the WebUI (migration 0008), not one per stamped agent.
            sqlx::query!(
                "INSERT INTO change_log (fleet_id, kind, ref_id)
                 SELECT DISTINCT a.fleet_id, 'agent', NULL
                 FROM agents a WHERE a.agent_id IN (SELECT value FROM json_each(?1))",
                ids
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            let ids: Vec<i64> = agents.iter().map(|a| a.0).collect();
            sqlx::query!(
                "UPDATE monitor_config SET last_ping_at = $2
                 WHERE agent_id = ANY($1)",
                &ids,
                now
            )
            .execute(&mut *conn)
            .await?;
            // One change per fleet for the WebUI (migration 0008), not one per stamped agent.
            sqlx::query!(
                "INSERT INTO change_log (fleet_id, kind, ref_id)
                 SELECT DISTINCT a.fleet_id, 'agent'::text, NULL::bigint
                 FROM agents a WHERE a.agent_id = ANY($1)",
                &ids
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// A schedule row with its agent's fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Agent id.
    pub agent_id: AgentId,
    /// The agent's fleet.
    pub fleet_id: FleetId,
    /// The agent's status.
    pub status: String,
    /// Interval.
    pub interval_seconds: i64,
    /// Last wake.
    pub last_ping_at: Option<String>,
    /// Enabled.
    pub enabled: bool,
}

/// An agent's schedule, if enrolled.
pub async fn schedule(c: &mut impl AsConn, agent_id: AgentId) -> Result<Option<Schedule>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Schedule,
                r#"SELECT m.agent_id AS "agent_id!: AgentId", a.fleet_id AS "fleet_id: FleetId", a.status, m.interval_seconds, m.last_ping_at,
                          m.enabled AS "enabled!: bool"
                   FROM monitor_config m JOIN agents a ON a.agent_id = m.agent_id
                   WHERE m.agent_id = ?1"#,
                agent_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Schedule,
                r#"SELECT m.agent_id AS "agent_id!: AgentId", a.fleet_id AS "fleet_id: FleetId", a.status, m.interval_seconds, m.last_ping_at,
                          m.enabled AS "enabled!: bool"
                   FROM monitor_config m JOIN agents a ON a.agent_id = m.agent_id
                   WHERE m.agent_id = $1"#,
                agent_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Partially updates a schedule (the interval change keeps `last_ping_at`).
pub async fn update_schedule(
    c: &mut impl AsConn,
    agent_id: AgentId,
    interval_seconds: Option<i64>,
    enabled: Option<bool>,
) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE monitor_config SET interval_seconds = coalesce(?2, interval_seconds),
                                           enabled = coalesce(?3, enabled)
                 WHERE agent_id = ?1",
                agent_id,
                interval_seconds,
                enabled
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE monitor_config SET interval_seconds = coalesce($2, interval_seconds),
                                           enabled = coalesce($3, enabled)
                 WHERE agent_id = $1",
                agent_id as _,
                interval_seconds,
                enabled
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}
