//! `tasks`: messages. Inserts, lookups, the inbox poll and state transitions.

use crate::Result;
use crate::delivery::{DeliverMode, DeliveryRecord, DeliveryState};
use crate::model::{AgentId, FleetId, MessageStatus, Task, TaskId};
use sqlx::SqliteConnection;

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
pub async fn insert(conn: &mut SqliteConnection, t: &NewTask<'_>) -> Result<TaskId> {
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
    Ok(r.last_insert_rowid())
}

/// A unicast stored by [`insert_unicast_checked`]: its id and the recipient's placement pane.
#[derive(Debug)]
pub struct StoredUnicast {
    pub task_id: TaskId,
    pub tmux_socket: Option<String>,
    pub tmux_pane_id: Option<String>,
}

/// Inserts a unicast from `sender` to `to` in one statement, only if both are active agents
/// of `fleet_id`, and returns its id with the recipient's pane (`None`: refused; the caller
/// finds out why). One round trip instead of a read per check.
pub async fn insert_unicast_checked(
    conn: &mut SqliteConnection,
    fleet_id: FleetId,
    sender: AgentId,
    to: AgentId,
    now: &str,
    text: &str,
    mode: DeliverMode,
) -> Result<Option<StoredUnicast>> {
    let mode = mode.as_str();
    // A delivery that will be typed carries `delivery_last_at` from birth: should the sender
    // die before typing, the monitor finds it (docs/delivery.md).
    Ok(sqlx::query_as!(
        StoredUnicast,
        r#"INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state,
                              status_timestamp, origin_task_id, text, delivery_mode, delivery_last_at)
           SELECT r.agent_id, s.agent_id, r.agent_id, 'unicast', ?4, 'input_required', ?4, NULL, ?5,
                  ?6,
                  CASE WHEN ?6 <> 'queue' AND r.agent_id <> s.agent_id
                        AND EXISTS (SELECT 1 FROM agent_placements p
                                    WHERE p.agent_id = r.agent_id AND p.tmux_pane_id IS NOT NULL)
                       THEN ?4 END
           FROM agents s, agents r
           WHERE s.agent_id = ?2 AND s.fleet_id = ?1 AND s.status = 'active'
             AND r.agent_id = ?3 AND r.fleet_id = ?1 AND r.status = 'active'
           RETURNING task_id AS "task_id!",
                     (SELECT p.tmux_socket FROM agent_placements p WHERE p.agent_id = ?3)
                         AS "tmux_socket?: String",
                     (SELECT p.tmux_pane_id FROM agent_placements p WHERE p.agent_id = ?3)
                         AS "tmux_pane_id?: String""#,
        fleet_id,
        sender,
        to,
        now,
        text,
        mode
    )
    .fetch_optional(conn)
    .await?)
}

/// The task `sender` stored under an idempotency key, if any.
pub async fn find_by_idempotency_key(
    conn: &mut SqliteConnection,
    sender: AgentId,
    key: &str,
) -> Result<Option<TaskId>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT task_id AS "task_id!" FROM tasks
           WHERE from_agent_id = ?1 AND idempotency_key = ?2"#,
        sender,
        key
    )
    .fetch_optional(conn)
    .await?)
}

/// Records the idempotency key of a task just stored.
pub async fn set_idempotency_key(
    conn: &mut SqliteConnection,
    task_id: TaskId,
    key: &str,
) -> Result<()> {
    sqlx::query!(
        "UPDATE tasks SET idempotency_key = ?2 WHERE task_id = ?1",
        task_id,
        key
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// How many deliveries a broadcast summary has.
pub async fn count_deliveries(conn: &mut SqliteConnection, summary_id: TaskId) -> Result<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM tasks
           WHERE origin_task_id = ?1 AND task_id != ?1"#,
        summary_id
    )
    .fetch_one(conn)
    .await?)
}

/// The text of a broadcast's first delivery (the broadcast text; the summary has its own).
pub async fn first_delivery_text(
    conn: &mut SqliteConnection,
    summary_id: TaskId,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT text AS "text!" FROM tasks
           WHERE origin_task_id = ?1 AND task_id != ?1 ORDER BY task_id LIMIT 1"#,
        summary_id
    )
    .fetch_optional(conn)
    .await?)
}

/// Inserts one broadcast delivery per recipient in a single statement (the text is bound
/// once, however many recipients) and returns `(task_id, recipient)` pairs, ascending id.
pub async fn insert_deliveries(
    conn: &mut SqliteConnection,
    sender: AgentId,
    recipients: &[AgentId],
    summary_id: TaskId,
    now: &str,
    text: &str,
    mode: DeliverMode,
) -> Result<Vec<(TaskId, AgentId)>> {
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
           RETURNING task_id AS "task_id!", to_agent_id AS "to_agent_id!""#,
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
}

/// Points a broadcast summary at itself (its `origin_task_id`).
pub async fn set_origin(
    conn: &mut SqliteConnection,
    task_id: TaskId,
    origin: TaskId,
) -> Result<()> {
    sqlx::query!(
        "UPDATE tasks SET origin_task_id = ?2 WHERE task_id = ?1",
        task_id,
        origin
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Any task.
pub async fn get(conn: &mut SqliteConnection, task_id: TaskId) -> Result<Option<Task>> {
    Ok(sqlx::query_as!(
        Task,
        r#"SELECT task_id AS "task_id!", context_id, from_agent_id, to_agent_id, type AS "type",
                  created_at, status_state, status_timestamp, origin_task_id, text
           FROM tasks WHERE task_id = ?1"#,
        task_id
    )
    .fetch_optional(conn)
    .await?)
}

/// Un-acked deliveries addressed to the agent, newest first (ties: higher id first).
///
/// The rows come back as ONE JSON array: sqlx hands each result row from its SQLite worker
/// thread to the caller separately (a thread wake-up per row), which for a CLI poll of a few
/// dozen messages cost more than the query itself.
pub async fn inbox_pending(
    conn: &mut SqliteConnection,
    agent_id: AgentId,
) -> Result<(Vec<Task>, bool)> {
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
}

/// Marks every pending delivery of the agent seen (it was just shown them by a poll).
pub async fn mark_seen(conn: &mut SqliteConnection, agent_id: AgentId, now: &str) -> Result<()> {
    sqlx::query!(
        "UPDATE tasks SET delivery_state = 'seen', seen_at = ?2
         WHERE context_id = ?1 AND status_state = 'input_required' AND type = 'unicast'
           AND delivery_state <> 'seen'",
        agent_id,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What one attempt to type a preview did, for [`record_attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptRecord {
    /// Typed; `taken` when the agent was seen taking the text.
    Typed { taken: bool, note: Option<String> },
    /// Nothing typed on purpose (a draft, a question, a working agent): not an attempt.
    Held(String),
    /// Nothing typed: the pane is gone or runs a shell, or tmux failed. Counts as an attempt.
    Failed(String),
}

/// Records an attempt on a delivery: its state moves forward (never back past seen or
/// dead), the attempt count and time, and the note.
pub async fn record_attempt(
    conn: &mut SqliteConnection,
    task_id: TaskId,
    attempt: &AttemptRecord,
    now: &str,
) -> Result<()> {
    let (state, counts, note) = match attempt {
        AttemptRecord::Typed { taken: true, note } => ("submitted", 1, note.clone()),
        AttemptRecord::Typed { taken: false, note } => ("typed", 1, note.clone()),
        AttemptRecord::Held(why) => ("", 0, Some(why.clone())),
        AttemptRecord::Failed(why) => ("", 1, Some(why.clone())),
    };
    sqlx::query!(
        "UPDATE tasks SET
            delivery_state = CASE
                WHEN delivery_state IN ('seen', 'dead') THEN delivery_state
                WHEN ?2 = 'submitted' THEN 'submitted'
                WHEN ?2 = 'typed' AND delivery_state = 'stored' THEN 'typed'
                ELSE delivery_state END,
            delivery_attempts = delivery_attempts + ?3,
            delivery_last_at = ?4,
            delivery_note = ?5,
            typed_at = CASE WHEN ?2 <> '' THEN COALESCE(typed_at, ?4) ELSE typed_at END,
            submitted_at = CASE WHEN ?2 = 'submitted' THEN COALESCE(submitted_at, ?4)
                                ELSE submitted_at END
         WHERE task_id = ?1 AND status_state = 'input_required'",
        task_id,
        state,
        counts,
        now,
        note
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the agent's pending deliveries among `ids` submitted: its coding agent's own hook
/// saw their previews in a prompt it submitted (docs/delivery.md). Returns how many moved.
pub async fn mark_submitted(
    conn: &mut SqliteConnection,
    agent_id: AgentId,
    ids: &[TaskId],
    now: &str,
) -> Result<u64> {
    let ids = serde_json::to_string(ids).expect("ids serialise");
    let r = sqlx::query!(
        "UPDATE tasks SET delivery_state = 'submitted',
                typed_at = COALESCE(typed_at, ?3), submitted_at = COALESCE(submitted_at, ?3)
         WHERE context_id = ?1 AND status_state = 'input_required' AND type = 'unicast'
           AND delivery_state IN ('stored', 'typed')
           AND task_id IN (SELECT value FROM json_each(?2))",
        agent_id,
        ids,
        now
    )
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

/// Gives a delivery up: a dead letter.
pub async fn mark_dead(
    conn: &mut SqliteConnection,
    task_id: TaskId,
    note: &str,
    now: &str,
) -> Result<bool> {
    let r = sqlx::query!(
        "UPDATE tasks SET delivery_state = 'dead', dead_at = ?3, delivery_note = ?2
         WHERE task_id = ?1 AND status_state = 'input_required'
           AND delivery_state IN ('stored', 'typed', 'submitted')",
        task_id,
        note,
        now
    )
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// A delivery's record (`None` for an unknown task).
pub async fn delivery(
    conn: &mut SqliteConnection,
    task_id: TaskId,
) -> Result<Option<DeliveryRecord>> {
    let row = sqlx::query!(
        r#"SELECT task_id AS "task_id!", status_state, status_timestamp, delivery_mode,
                  delivery_state, delivery_attempts, delivery_last_at, delivery_note,
                  typed_at, submitted_at, seen_at, dead_at
           FROM tasks WHERE task_id = ?1"#,
        task_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| {
        let state = DeliveryState::effective(&r.status_state, &r.delivery_state);
        DeliveryRecord {
            task_id: r.task_id,
            mode: DeliverMode::from_db(&r.delivery_mode),
            state,
            attempts: r.delivery_attempts,
            last_attempt_at: r.delivery_last_at,
            note: r.delivery_note,
            typed_at: r.typed_at,
            submitted_at: r.submitted_at,
            seen_at: r.seen_at,
            acked_at: (state == DeliveryState::Acked).then_some(r.status_timestamp),
            dead_at: r.dead_at,
        }
    }))
}

/// A delivery the monitor may have to type again: not yet seen, not queued, with a pane.
#[derive(Debug, Clone)]
pub struct Undelivered {
    pub task_id: TaskId,
    pub from_agent_id: AgentId,
    pub to_agent_id: AgentId,
    pub to_name: String,
    pub created_at: String,
    pub status_timestamp: String,
    pub text: String,
    pub delivery_mode: String,
    pub delivery_state: String,
    pub delivery_attempts: i64,
    pub delivery_last_at: String,
    pub delivery_note: Option<String>,
    pub tmux_socket: Option<String>,
    pub tmux_pane_id: Option<String>,
}

/// The fleet's deliveries not yet seen by their recipients that the monitor looks after
/// (typed or about to be: `delivery_last_at` set), oldest first.
pub async fn undelivered(
    conn: &mut SqliteConnection,
    fleet_id: FleetId,
) -> Result<Vec<Undelivered>> {
    Ok(sqlx::query_as!(
        Undelivered,
        r#"SELECT t.task_id AS "task_id!", t.from_agent_id, t.to_agent_id, a.name AS to_name,
                  t.created_at, t.status_timestamp, t.text, t.delivery_mode, t.delivery_state,
                  t.delivery_attempts, t.delivery_last_at AS "delivery_last_at!",
                  t.delivery_note, p.tmux_socket AS "tmux_socket?: String",
                  p.tmux_pane_id AS "tmux_pane_id?: String"
           FROM agents a
           JOIN tasks t ON t.context_id = a.agent_id
                AND t.status_state = 'input_required' AND t.type = 'unicast'
                AND t.delivery_state IN ('stored', 'typed', 'submitted')
                AND t.delivery_last_at IS NOT NULL
           LEFT JOIN agent_placements p ON p.agent_id = a.agent_id
           WHERE a.fleet_id = ?1 AND a.status = 'active'
           ORDER BY t.task_id"#,
        fleet_id
    )
    .fetch_all(conn)
    .await?)
}

/// Per agent of the fleet: its pending deliveries not yet seen, and how many of them are
/// dead letters.
pub async fn undelivered_counts(
    conn: &mut SqliteConnection,
    fleet_id: FleetId,
) -> Result<Vec<(AgentId, i64, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT t.context_id AS "agent_id!", COUNT(*) AS "pending!: i64",
                  COALESCE(SUM(t.delivery_state = 'dead'), 0) AS "dead!: i64"
           FROM agents a
           JOIN tasks t ON t.context_id = a.agent_id
                AND t.status_state = 'input_required' AND t.type = 'unicast'
                AND t.delivery_state <> 'seen'
           WHERE a.fleet_id = ?1
           GROUP BY t.context_id"#,
        fleet_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.agent_id, r.pending, r.dead))
        .collect())
}

/// Moves an `input_required` task to `to_state`; false when it was no longer pending.
pub async fn transition(
    conn: &mut SqliteConnection,
    task_id: TaskId,
    to_state: &str,
    now: &str,
) -> Result<bool> {
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
}

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
    conn: &mut SqliteConnection,
    fleet_id: i64,
    before: Option<TaskId>,
    limit: i64,
) -> Result<Vec<MessageView>> {
    Ok(sqlx::query_as!(
        MessageView,
        r#"WITH cursor AS (SELECT status_timestamp AS ts, task_id AS id FROM tasks WHERE task_id = ?2)
           SELECT t.task_id AS "task_id!", t.from_agent_id, fa.name AS "from_agent_name?: String",
                  t.to_agent_id, ta.name AS "to_agent_name?: String", t.type AS kind,
                  t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id,
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
}

/// Messages addressed to (`inbox`) or sent by (`sent`) an agent, newest state change first,
/// at most `limit`; with `before`, only those after that task in the same order
/// (scrollback, as [`timeline`]). Two statements rather than one with an `OR`, so each
/// walks its own `(agent, status_timestamp)` index and stops after `limit` rows.
pub async fn mailbox(
    conn: &mut SqliteConnection,
    agent_id: AgentId,
    sent: bool,
    before: Option<TaskId>,
    limit: i64,
) -> Result<Vec<MessageView>> {
    if sent {
        return Ok(sqlx::query_as!(
            MessageView,
            r#"WITH cursor AS (SELECT status_timestamp AS ts, task_id AS id FROM tasks WHERE task_id = ?2)
               SELECT t.task_id AS "task_id!", t.from_agent_id, fa.name AS "from_agent_name?: String",
                      t.to_agent_id, ta.name AS "to_agent_name?: String", t.type AS kind,
                      t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id,
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
            before,
            limit
        )
        .fetch_all(conn)
        .await?);
    }
    Ok(sqlx::query_as!(
        MessageView,
        r#"WITH cursor AS (SELECT status_timestamp AS ts, task_id AS id FROM tasks WHERE task_id = ?2)
           SELECT t.task_id AS "task_id!", t.from_agent_id, fa.name AS "from_agent_name?: String",
                  t.to_agent_id, ta.name AS "to_agent_name?: String", t.type AS kind,
                  t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id,
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
        before,
        limit
    )
    .fetch_all(conn)
    .await?)
}

/// The given messages of a fleet (for live updates), in the timeline's order.
pub async fn messages_by_id(
    conn: &mut SqliteConnection,
    fleet_id: i64,
    ids_json: &str,
) -> Result<Vec<MessageView>> {
    Ok(sqlx::query_as!(
        MessageView,
        r#"SELECT t.task_id AS "task_id!", t.from_agent_id, fa.name AS "from_agent_name?: String",
                  t.to_agent_id, ta.name AS "to_agent_name?: String", t.type AS kind,
                  t.status_state AS "status: MessageStatus", t.created_at, t.status_timestamp, t.origin_task_id,
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
}
