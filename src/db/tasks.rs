//! `tasks`: messages. Inserts, lookups, the inbox poll and state transitions.

use super::{AsConn, Conn, postgres, sqlite};
use crate::Result;
use crate::delivery::DeliverMode;
use crate::model::{AgentId, FleetId, Task, TaskId};

/// The fields of a new task row.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    /// Whose inbox.
    pub context_id: AgentId,
    /// Sender.
    pub from_agent_id: AgentId,
    /// Recipient, 0 for a broadcast summary.
    pub to_agent_id: AgentId,
    /// `unicast` or `broadcast_summary`.
    pub r#type: &'a str,
    /// Creation (and initial status) timestamp.
    pub now: &'a str,
    /// Initial state.
    pub status_state: &'a str,
    /// The summary a broadcast delivery belongs to.
    pub origin_task_id: Option<TaskId>,
    /// Full body.
    pub text: &'a str,
}

/// Inserts a task and returns its id.
pub async fn insert(c: &mut impl AsConn, t: &NewTask<'_>) -> Result<TaskId> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let r = sqlx::query!(
                "INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state,
                                    status_timestamp, origin_task_id, text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?7, ?8)",
                t.context_id,
                t.from_agent_id,
                t.to_agent_id,
                t.r#type,
                t.now,
                t.status_state,
                t.origin_task_id,
                t.text
            )
            .execute(conn)
            .await?;
            Ok(TaskId(r.last_insert_rowid()))
        },
        Conn::Pg(conn) => postgres! {
            let id = sqlx::query_scalar!(
                r#"INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state,
                                      status_timestamp, origin_task_id, text)
                   VALUES ($1, $2, $3, $4, $5, $6, $5, $7, $8)
                   RETURNING task_id AS "task_id!: TaskId""#,
                t.context_id as _,
                t.from_agent_id as _,
                t.to_agent_id as _,
                t.r#type,
                t.now,
                t.status_state,
                t.origin_task_id as _,
                t.text
            )
            .fetch_one(conn)
            .await?;
            Ok(id)
        },
    }
}

/// A unicast stored by [`insert_unicast_checked`]: its id and the recipient's placement pane.
#[derive(Debug)]
pub struct StoredUnicast {
    pub task_id: TaskId,
    pub tmux_socket: Option<String>,
    /// The host its pane lives on (NULL: placed before hosts were recorded).
    pub host: Option<String>,
    pub tmux_pane_id: Option<String>,
}

/// Inserts a unicast from `sender` to `to` in one statement, only if both are active agents
/// of `fleet_id`, and returns its id with the recipient's pane (`None`: refused; the caller
/// finds out why). One round trip instead of a read per check.
pub async fn insert_unicast_checked(
    c: &mut impl AsConn,
    fleet_id: FleetId,
    sender: AgentId,
    to: AgentId,
    now: &str,
    text: &str,
    mode: DeliverMode,
) -> Result<Option<StoredUnicast>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let mode = mode.as_str();
            // A delivery that will be typed carries `delivery_last_at` from birth: should the sender
            // die before typing, the monitor finds it (docs/delivery.md).
            Ok(sqlx::query_as!(
                StoredUnicast,
                r#"INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state,
                                      status_timestamp, origin_task_id, text, delivery_mode, delivery_last_at)
                   SELECT r.agent_id AS "agent_id: AgentId", s.agent_id AS "agent_id: AgentId", r.agent_id AS "agent_id: AgentId", 'unicast', ?4, 'input_required', ?4, NULL, ?5,
                          ?6,
                          CASE WHEN ?6 <> 'queue' AND r.agent_id <> s.agent_id
                                AND EXISTS (SELECT 1 FROM agent_placements p
                                            WHERE p.agent_id = r.agent_id AND p.tmux_pane_id IS NOT NULL)
                               THEN ?4 END
                   FROM agents s, agents r
                   WHERE s.agent_id = ?2 AND s.fleet_id = ?1 AND s.status = 'active'
                     AND r.agent_id = ?3 AND r.fleet_id = ?1 AND r.status = 'active'
                   RETURNING task_id AS "task_id!: TaskId",
                             (SELECT p.tmux_socket FROM agent_placements p WHERE p.agent_id = ?3)
                                 AS "tmux_socket?: String",
                             (SELECT p.tmux_pane_id FROM agent_placements p WHERE p.agent_id = ?3)
                                 AS "tmux_pane_id?: String",
                             (SELECT p.host FROM agent_placements p WHERE p.agent_id = ?3)
                                 AS "host?: String""#,
                fleet_id,
                sender,
                to,
                now,
                text,
                mode
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            let mode = mode.as_str();
            Ok(sqlx::query_as!(
                StoredUnicast,
                r#"INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state,
                                      status_timestamp, origin_task_id, text, delivery_mode, delivery_last_at)
                   SELECT r.agent_id, s.agent_id, r.agent_id, 'unicast', $4, 'input_required', $4, NULL::bigint, $5,
                          $6,
                          CASE WHEN $6 <> 'queue' AND r.agent_id <> s.agent_id
                                AND EXISTS (SELECT 1 FROM agent_placements p
                                            WHERE p.agent_id = r.agent_id AND p.tmux_pane_id IS NOT NULL)
                               THEN $4 END
                   FROM agents s, agents r
                   WHERE s.agent_id = $2 AND s.fleet_id = $1 AND s.status = 'active'
                     AND r.agent_id = $3 AND r.fleet_id = $1 AND r.status = 'active'
                   RETURNING task_id AS "task_id!: TaskId",
                             (SELECT p.tmux_socket FROM agent_placements p WHERE p.agent_id = $3)
                                 AS "tmux_socket?: String",
                             (SELECT p.tmux_pane_id FROM agent_placements p WHERE p.agent_id = $3)
                                 AS "tmux_pane_id?: String",
                             (SELECT p.host FROM agent_placements p WHERE p.agent_id = $3)
                                 AS "host?: String""#,
                fleet_id as _,
                sender as _,
                to as _,
                now,
                text,
                mode
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// The task `sender` stored under an idempotency key, if any.
pub async fn find_by_idempotency_key(
    c: &mut impl AsConn,
    sender: AgentId,
    key: &str,
) -> Result<Option<TaskId>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_scalar!(
                r#"SELECT task_id AS "task_id!: TaskId" FROM tasks
                   WHERE from_agent_id = ?1 AND idempotency_key = ?2"#,
                sender,
                key
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_scalar!(
                r#"SELECT task_id AS "task_id!: TaskId" FROM tasks
                   WHERE from_agent_id = $1 AND idempotency_key = $2"#,
                sender as _,
                key
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Records the idempotency key of a task just stored.
pub async fn set_idempotency_key(c: &mut impl AsConn, task_id: TaskId, key: &str) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE tasks SET idempotency_key = ?2 WHERE task_id = ?1",
                task_id,
                key
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE tasks SET idempotency_key = $2 WHERE task_id = $1",
                task_id as _,
                key
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// How many deliveries a broadcast summary has.
pub async fn count_deliveries(c: &mut impl AsConn, summary_id: TaskId) -> Result<i64> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_scalar!(
                r#"SELECT COUNT(*) AS "n!: i64" FROM tasks
                   WHERE origin_task_id = ?1 AND task_id != ?1"#,
                summary_id
            )
            .fetch_one(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_scalar!(
                r#"SELECT COUNT(*) AS "n!: i64" FROM tasks
                   WHERE origin_task_id = $1 AND task_id != $1"#,
                summary_id as _
            )
            .fetch_one(conn)
            .await?)
        },
    }
}

/// The text of a broadcast's first delivery (the broadcast text; the summary has its own).
pub async fn first_delivery_text(
    c: &mut impl AsConn,
    summary_id: TaskId,
) -> Result<Option<String>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_scalar!(
                r#"SELECT text AS "text!" FROM tasks
                   WHERE origin_task_id = ?1 AND task_id != ?1 ORDER BY task_id LIMIT 1"#,
                summary_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_scalar!(
                r#"SELECT text AS "text!" FROM tasks
                   WHERE origin_task_id = $1 AND task_id != $1 ORDER BY task_id LIMIT 1"#,
                summary_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Inserts one broadcast delivery per recipient in a single statement (the text is bound
/// once, however many recipients) and returns `(task_id, recipient)` pairs, ascending id.
pub async fn insert_deliveries(
    c: &mut impl AsConn,
    sender: AgentId,
    recipients: &[AgentId],
    summary_id: TaskId,
    now: &str,
    text: &str,
    mode: DeliverMode,
) -> Result<Vec<(TaskId, AgentId)>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let ids = serde_json::to_string(recipients).expect("ids serialise");
            let mode = mode.as_str();
            let rows = sqlx::query!(
                r#"INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state,
                                      status_timestamp, origin_task_id, text, delivery_mode, delivery_last_at)
                   SELECT r.value, ?2, r.value, 'unicast', ?4, 'input_required', ?4, ?3, ?5, ?6,
                          CASE WHEN ?6 <> 'queue'
                                AND EXISTS (SELECT 1 FROM agent_placements p
                                            WHERE p.agent_id = r.value AND p.tmux_pane_id IS NOT NULL)
                               THEN ?4 END
                   FROM json_each(?1) r ORDER BY r.key
                   RETURNING task_id AS "task_id!: TaskId", to_agent_id AS "to_agent_id!: AgentId""#,
                ids,
                sender,
                summary_id,
                now,
                text,
                mode
            )
            .fetch_all(conn)
            .await?;
            let mut pairs: Vec<_> = rows
                .into_iter()
                .map(|r| (r.task_id, r.to_agent_id))
                .collect();
            pairs.sort_unstable();
            Ok(pairs)
        },
        Conn::Pg(conn) => postgres! {
            let ids: Vec<i64> = recipients.iter().map(|a| a.0).collect();
            let mode = mode.as_str();
            let rows = sqlx::query!(
                r#"INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state,
                                      status_timestamp, origin_task_id, text, delivery_mode, delivery_last_at)
                   SELECT r.value, $2, r.value, 'unicast', $4, 'input_required', $4, $3, $5, $6,
                          CASE WHEN $6 <> 'queue'
                                AND EXISTS (SELECT 1 FROM agent_placements p
                                            WHERE p.agent_id = r.value AND p.tmux_pane_id IS NOT NULL)
                               THEN $4 END
                   FROM unnest($1::bigint[]) WITH ORDINALITY AS r(value, key) ORDER BY r.key
                   RETURNING task_id AS "task_id!: TaskId", to_agent_id AS "to_agent_id!: AgentId""#,
                &ids,
                sender as _,
                summary_id as _,
                now,
                text,
                mode
            )
            .fetch_all(conn)
            .await?;
            let mut pairs: Vec<_> = rows
                .into_iter()
                .map(|r| (r.task_id, r.to_agent_id))
                .collect();
            pairs.sort_unstable();
            Ok(pairs)
        },
    }
}

/// Points a broadcast summary at itself (its `origin_task_id`).
pub async fn set_origin(c: &mut impl AsConn, task_id: TaskId, origin: TaskId) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE tasks SET origin_task_id = ?2 WHERE task_id = ?1",
                task_id,
                origin
            )
            .execute(conn)
            .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE tasks SET origin_task_id = $2 WHERE task_id = $1",
                task_id as _,
                origin as _
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// Any task.
pub async fn get(c: &mut impl AsConn, task_id: TaskId) -> Result<Option<Task>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Task,
                r#"SELECT task_id AS "task_id!: TaskId", context_id AS "context_id: AgentId", from_agent_id AS "from_agent_id: AgentId", to_agent_id AS "to_agent_id: AgentId", type AS "type",
                          created_at, status_state, status_timestamp, origin_task_id AS "origin_task_id: TaskId", text
                   FROM tasks WHERE task_id = ?1"#,
                task_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Task,
                r#"SELECT task_id AS "task_id!: TaskId", context_id AS "context_id: AgentId", from_agent_id AS "from_agent_id: AgentId", to_agent_id AS "to_agent_id: AgentId", type AS "type",
                          created_at, status_state, status_timestamp, origin_task_id AS "origin_task_id: TaskId", text
                   FROM tasks WHERE task_id = $1"#,
                task_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Un-acked deliveries addressed to the agent, newest first (ties: higher id first).
///
/// The rows come back as ONE JSON array: sqlx hands each result row from its SQLite worker
/// thread to the caller separately (a thread wake-up per row), which for a CLI poll of a few
/// dozen messages cost more than the query itself.
pub async fn inbox_pending(c: &mut impl AsConn, agent_id: AgentId) -> Result<(Vec<Task>, bool)> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let row = sqlx::query!(
                r#"SELECT json_group_array(json_object(
                            'task_id', task_id, 'context_id', context_id, 'from_agent_id', from_agent_id,
                            'to_agent_id', to_agent_id, 'type', type, 'created_at', created_at,
                            'status_state', status_state, 'status_timestamp', status_timestamp,
                            'origin_task_id', origin_task_id, 'text', text)
                          ORDER BY status_timestamp DESC, task_id DESC) AS "rows!: String",
                          COALESCE(SUM(delivery_state <> 'seen'), 0) AS "unseen!: i64"
                   FROM tasks
                   WHERE context_id = ?1 AND status_state = 'input_required' AND type <> 'broadcast_summary'"#,
                agent_id
            )
            .fetch_one(conn)
            .await?;
            let tasks = serde_json::from_str(&row.rows).map_err(|e| {
                crate::Error::failed(format!(
                    "the inbox of agent {agent_id} has a row cafleet cannot read ({e}). Run `cafleet doctor`."
                ))
            })?;
            Ok((tasks, row.unseen > 0))
        },
        Conn::Pg(conn) => postgres! {
            let row = sqlx::query!(
                r#"SELECT coalesce(json_agg(json_build_object(
                            'task_id', task_id, 'context_id', context_id, 'from_agent_id', from_agent_id,
                            'to_agent_id', to_agent_id, 'type', type, 'created_at', created_at,
                            'status_state', status_state, 'status_timestamp', status_timestamp,
                            'origin_task_id', origin_task_id, 'text', text)
                          ORDER BY status_timestamp DESC, task_id DESC)::text, '[]') AS "rows!: String",
                          count(*) FILTER (WHERE delivery_state <> 'seen') AS "unseen!: i64"
                   FROM tasks
                   WHERE context_id = $1 AND status_state = 'input_required' AND type <> 'broadcast_summary'"#,
                agent_id as _
            )
            .fetch_one(conn)
            .await?;
            let tasks = serde_json::from_str(&row.rows).map_err(|e| {
                crate::Error::failed(format!(
                    "the inbox of agent {agent_id} has a row cafleet cannot read ({e}). Run `cafleet doctor`."
                ))
            })?;
            Ok((tasks, row.unseen > 0))
        },
    }
}

/// Moves an `input_required` task to `to_state`; false when it was no longer pending.
pub async fn transition(
    c: &mut impl AsConn,
    task_id: TaskId,
    to_state: &str,
    now: &str,
) -> Result<bool> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let r = sqlx::query!(
                "UPDATE tasks SET status_state = ?2, status_timestamp = ?3
                 WHERE task_id = ?1 AND status_state = 'input_required'",
                task_id,
                to_state,
                now
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected() > 0)
        },
        Conn::Pg(conn) => postgres! {
            let r = sqlx::query!(
                "UPDATE tasks SET status_state = $2, status_timestamp = $3
                 WHERE task_id = $1 AND status_state = 'input_required'",
                task_id as _,
                to_state,
                now
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected() > 0)
        },
    }
}
