//! Messages as the WebUI shows them: the timeline, mailboxes and the messages a live
//! update names, with sender and recipient names.

use super::{AsConn, Conn, postgres, sqlite};
use crate::Result;
use crate::delivery::DeliveryState;
use crate::model::{AgentId, FleetId, MessageStatus, TaskId};

/// A message as the WebUI's API shows it (0.14's shape), with sender and recipient names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MessageView {
    /// Task id.
    pub task_id: TaskId,
    /// Sender.
    pub from_agent_id: AgentId,
    /// Sender's name.
    pub from_agent_name: Option<String>,
    /// Recipient.
    pub to_agent_id: AgentId,
    /// Recipient's name.
    pub to_agent_name: Option<String>,
    /// `unicast`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `input_required`, `completed` or `canceled`.
    pub status: MessageStatus,
    /// Send time.
    pub created_at: String,
    /// Last state change.
    pub status_timestamp: String,
    /// The broadcast this delivery belongs to.
    pub origin_task_id: Option<TaskId>,
    /// Full text.
    pub body: String,
    /// How far its delivery got (`stored` … `acked`, `dead`, `canceled`).
    pub delivery: DeliveryState,
}

/// The fleet's newest messages (sender in the fleet, summaries excluded), newest first;
/// with `before`, only those older than that task in the same order (scrollback).
pub async fn timeline(
    c: &mut impl AsConn,
    fleet_id: FleetId,
    before: Option<TaskId>,
    limit: i64,
) -> Result<Vec<MessageView>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                MessageView,
                r#"WITH cursor AS (SELECT status_timestamp AS ts, task_id AS id FROM tasks WHERE task_id = ?2)
                   SELECT t.task_id AS "task_id!: TaskId", t.from_agent_id AS "from_agent_id: AgentId", fa.name AS "from_agent_name?: String",
                          t.to_agent_id AS "to_agent_id: AgentId", ta.name AS "to_agent_name?: String", t.type AS kind,
                          t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id AS "origin_task_id: TaskId",
                          t.text AS body,
                          CASE t.status_state WHEN 'completed' THEN 'acked' WHEN 'canceled' THEN 'canceled'
                               ELSE t.delivery_state END AS "delivery!: DeliveryState"
                   FROM tasks t
                   JOIN agents fa ON fa.agent_id = t.from_agent_id
                   LEFT JOIN agents ta ON ta.agent_id = t.to_agent_id
                   WHERE fa.fleet_id = ?1 AND t.type <> 'broadcast_summary'
                     AND (?2 IS NULL OR (t.status_timestamp, t.task_id) < (SELECT ts, id FROM cursor))
                   ORDER BY t.status_timestamp DESC, t.task_id DESC
                   LIMIT ?3"#,
                fleet_id,
                before,
                limit
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                MessageView,
                r#"WITH cursor AS (SELECT status_timestamp AS ts, task_id AS id FROM tasks WHERE task_id = $2)
                   SELECT t.task_id AS "task_id!: TaskId", t.from_agent_id AS "from_agent_id: AgentId", fa.name AS "from_agent_name?: String",
                          t.to_agent_id AS "to_agent_id: AgentId", ta.name AS "to_agent_name?: String", t.type AS kind,
                          t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id AS "origin_task_id: TaskId",
                          t.text AS body,
                          CASE t.status_state WHEN 'completed' THEN 'acked' WHEN 'canceled' THEN 'canceled'
                               ELSE t.delivery_state END AS "delivery!: DeliveryState"
                   FROM tasks t
                   JOIN agents fa ON fa.agent_id = t.from_agent_id
                   LEFT JOIN agents ta ON ta.agent_id = t.to_agent_id
                   WHERE fa.fleet_id = $1 AND t.type <> 'broadcast_summary'
                     AND ($2 IS NULL OR (t.status_timestamp, t.task_id) < (SELECT ts, id FROM cursor))
                   ORDER BY t.status_timestamp DESC, t.task_id DESC
                   LIMIT $3"#,
                fleet_id as _,
                before as _,
                limit
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// Messages addressed to (`inbox`) or sent by (`sent`) an agent, newest state change first,
/// at most `limit`; with `before`, only those after that task in the same order
/// (scrollback, as [`timeline`]). Two statements rather than one with an `OR`, so each
/// walks its own `(agent, status_timestamp)` index and stops after `limit` rows.
pub async fn mailbox(
    c: &mut impl AsConn,
    agent_id: AgentId,
    sent: bool,
    before: Option<TaskId>,
    limit: i64,
) -> Result<Vec<MessageView>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            if sent {
                return Ok(sqlx::query_as!(
                    MessageView,
                    r#"WITH cursor AS (SELECT status_timestamp AS ts, task_id AS id FROM tasks WHERE task_id = ?2)
                       SELECT t.task_id AS "task_id!: TaskId", t.from_agent_id AS "from_agent_id: AgentId", fa.name AS "from_agent_name?: String",
                              t.to_agent_id AS "to_agent_id: AgentId", ta.name AS "to_agent_name?: String", t.type AS kind,
                              t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id AS "origin_task_id: TaskId",
                              t.text AS body,
                              CASE t.status_state WHEN 'completed' THEN 'acked' WHEN 'canceled' THEN 'canceled'
                                   ELSE t.delivery_state END AS "delivery!: DeliveryState"
                       FROM tasks t
                       LEFT JOIN agents fa ON fa.agent_id = t.from_agent_id
                       LEFT JOIN agents ta ON ta.agent_id = t.to_agent_id
                       WHERE t.from_agent_id = ?1 AND t.type <> 'broadcast_summary'
                         AND (?2 IS NULL OR (t.status_timestamp, t.task_id) < (SELECT ts, id FROM cursor))
                       ORDER BY t.status_timestamp DESC, t.task_id DESC
                       LIMIT ?3"#,
                    agent_id,
                    before as _,
                    limit
                )
                .fetch_all(conn)
                .await?);
            }
            Ok(sqlx::query_as!(
                MessageView,
                r#"WITH cursor AS (SELECT status_timestamp AS ts, task_id AS id FROM tasks WHERE task_id = ?2)
                   SELECT t.task_id AS "task_id!: TaskId", t.from_agent_id AS "from_agent_id: AgentId", fa.name AS "from_agent_name?: String",
                          t.to_agent_id AS "to_agent_id: AgentId", ta.name AS "to_agent_name?: String", t.type AS kind,
                          t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id AS "origin_task_id: TaskId",
                          t.text AS body,
                          CASE t.status_state WHEN 'completed' THEN 'acked' WHEN 'canceled' THEN 'canceled'
                               ELSE t.delivery_state END AS "delivery!: DeliveryState"
                   FROM tasks t
                   LEFT JOIN agents fa ON fa.agent_id = t.from_agent_id
                   LEFT JOIN agents ta ON ta.agent_id = t.to_agent_id
                   WHERE t.context_id = ?1 AND t.type <> 'broadcast_summary'
                     AND (?2 IS NULL OR (t.status_timestamp, t.task_id) < (SELECT ts, id FROM cursor))
                   ORDER BY t.status_timestamp DESC, t.task_id DESC
                   LIMIT ?3"#,
                agent_id,
                before as _,
                limit
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            if sent {
                return Ok(sqlx::query_as!(
                    MessageView,
                    r#"WITH cursor AS (SELECT status_timestamp AS ts, task_id AS id FROM tasks WHERE task_id = $2)
                       SELECT t.task_id AS "task_id!: TaskId", t.from_agent_id AS "from_agent_id: AgentId", fa.name AS "from_agent_name?: String",
                              t.to_agent_id AS "to_agent_id: AgentId", ta.name AS "to_agent_name?: String", t.type AS kind,
                              t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id AS "origin_task_id: TaskId",
                              t.text AS body,
                              CASE t.status_state WHEN 'completed' THEN 'acked' WHEN 'canceled' THEN 'canceled'
                                   ELSE t.delivery_state END AS "delivery!: DeliveryState"
                       FROM tasks t
                       LEFT JOIN agents fa ON fa.agent_id = t.from_agent_id
                       LEFT JOIN agents ta ON ta.agent_id = t.to_agent_id
                       WHERE t.from_agent_id = $1 AND t.type <> 'broadcast_summary'
                         AND ($2 IS NULL OR (t.status_timestamp, t.task_id) < (SELECT ts, id FROM cursor))
                       ORDER BY t.status_timestamp DESC, t.task_id DESC
                       LIMIT $3"#,
                    agent_id as _,
                    before as _,
                    limit
                )
                .fetch_all(conn)
                .await?);
            }
            Ok(sqlx::query_as!(
                MessageView,
                r#"WITH cursor AS (SELECT status_timestamp AS ts, task_id AS id FROM tasks WHERE task_id = $2)
                   SELECT t.task_id AS "task_id!: TaskId", t.from_agent_id AS "from_agent_id: AgentId", fa.name AS "from_agent_name?: String",
                          t.to_agent_id AS "to_agent_id: AgentId", ta.name AS "to_agent_name?: String", t.type AS kind,
                          t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id AS "origin_task_id: TaskId",
                          t.text AS body,
                          CASE t.status_state WHEN 'completed' THEN 'acked' WHEN 'canceled' THEN 'canceled'
                               ELSE t.delivery_state END AS "delivery!: DeliveryState"
                   FROM tasks t
                   LEFT JOIN agents fa ON fa.agent_id = t.from_agent_id
                   LEFT JOIN agents ta ON ta.agent_id = t.to_agent_id
                   WHERE t.context_id = $1 AND t.type <> 'broadcast_summary'
                     AND ($2 IS NULL OR (t.status_timestamp, t.task_id) < (SELECT ts, id FROM cursor))
                   ORDER BY t.status_timestamp DESC, t.task_id DESC
                   LIMIT $3"#,
                agent_id as _,
                before as _,
                limit
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// The given messages of a fleet (for live updates), in the timeline's order.
pub async fn messages_by_id(
    c: &mut impl AsConn,
    fleet_id: FleetId,
    ids_json: &str,
) -> Result<Vec<MessageView>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                MessageView,
                r#"SELECT t.task_id AS "task_id!: TaskId", t.from_agent_id AS "from_agent_id: AgentId", fa.name AS "from_agent_name?: String",
                          t.to_agent_id AS "to_agent_id: AgentId", ta.name AS "to_agent_name?: String", t.type AS kind,
                          t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id AS "origin_task_id: TaskId",
                          t.text AS body,
                          CASE t.status_state WHEN 'completed' THEN 'acked' WHEN 'canceled' THEN 'canceled'
                               ELSE t.delivery_state END AS "delivery!: DeliveryState"
                   FROM tasks t
                   JOIN agents fa ON fa.agent_id = t.from_agent_id
                   LEFT JOIN agents ta ON ta.agent_id = t.to_agent_id
                   WHERE fa.fleet_id = ?1 AND t.type <> 'broadcast_summary'
                     AND t.task_id IN (SELECT value FROM json_each(?2))
                   ORDER BY t.status_timestamp DESC, t.task_id DESC"#,
                fleet_id,
                ids_json
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                MessageView,
                r#"SELECT t.task_id AS "task_id!: TaskId", t.from_agent_id AS "from_agent_id: AgentId", fa.name AS "from_agent_name?: String",
                          t.to_agent_id AS "to_agent_id: AgentId", ta.name AS "to_agent_name?: String", t.type AS kind,
                          t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id AS "origin_task_id: TaskId",
                          t.text AS body,
                          CASE t.status_state WHEN 'completed' THEN 'acked' WHEN 'canceled' THEN 'canceled'
                               ELSE t.delivery_state END AS "delivery!: DeliveryState"
                   FROM tasks t
                   JOIN agents fa ON fa.agent_id = t.from_agent_id
                   LEFT JOIN agents ta ON ta.agent_id = t.to_agent_id
                   WHERE fa.fleet_id = $1 AND t.type <> 'broadcast_summary'
                     AND t.task_id IN (SELECT value::bigint FROM json_array_elements_text($2::text::json))
                   ORDER BY t.status_timestamp DESC, t.task_id DESC"#,
                fleet_id as _,
                ids_json
            )
            .fetch_all(conn)
            .await?)
        },
    }
}
