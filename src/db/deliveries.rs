//! The delivery records on `tasks`: seen, typed attempts, submitted, dead letters, and what
//! is still undelivered (docs/delivery.md).

use super::{AsConn, Conn, postgres, sqlite};
use crate::Result;
use crate::delivery::{DeliverMode, DeliveryRecord, DeliveryState};
use crate::model::{AgentId, FleetId, TaskId};

/// Marks every pending delivery of the agent seen (it was just shown them by a poll).
pub async fn mark_seen(c: &mut impl AsConn, agent_id: AgentId, now: &str) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
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
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE tasks SET delivery_state = 'seen', seen_at = $2
                 WHERE context_id = $1 AND status_state = 'input_required' AND type = 'unicast'
                   AND delivery_state <> 'seen'",
                agent_id as _,
                now
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
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
    c: &mut impl AsConn,
    task_id: TaskId,
    attempt: &AttemptRecord,
    now: &str,
) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
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
        },
        Conn::Pg(conn) => postgres! {
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
                        WHEN $2 = 'submitted' THEN 'submitted'
                        WHEN $2 = 'typed' AND delivery_state = 'stored' THEN 'typed'
                        ELSE delivery_state END,
                    delivery_attempts = delivery_attempts + $3,
                    delivery_last_at = $4,
                    delivery_note = $5,
                    typed_at = CASE WHEN $2 <> '' THEN COALESCE(typed_at, $4) ELSE typed_at END,
                    submitted_at = CASE WHEN $2 = 'submitted' THEN COALESCE(submitted_at, $4)
                                        ELSE submitted_at END
                 WHERE task_id = $1 AND status_state = 'input_required'",
                task_id as _,
                state,
                counts,
                now,
                note
            )
            .execute(conn)
            .await?;
            Ok(())
        },
    }
}

/// Marks the agent's pending deliveries among `ids` submitted: its coding agent's own hook
/// saw their previews in a prompt it submitted (docs/delivery.md). Returns how many moved.
pub async fn mark_submitted(
    c: &mut impl AsConn,
    agent_id: AgentId,
    ids: &[TaskId],
    now: &str,
) -> Result<u64> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
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
        },
        Conn::Pg(conn) => postgres! {
            let ids: Vec<i64> = ids.iter().map(|t| t.0).collect();
            let r = sqlx::query!(
                "UPDATE tasks SET delivery_state = 'submitted',
                        typed_at = COALESCE(typed_at, $3), submitted_at = COALESCE(submitted_at, $3)
                 WHERE context_id = $1 AND status_state = 'input_required' AND type = 'unicast'
                   AND delivery_state IN ('stored', 'typed')
                   AND task_id = ANY($2)",
                agent_id as _,
                &ids,
                now
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected())
        },
    }
}

/// Gives a delivery up: a dead letter.
pub async fn mark_dead(
    c: &mut impl AsConn,
    task_id: TaskId,
    note: &str,
    now: &str,
) -> Result<bool> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
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
        },
        Conn::Pg(conn) => postgres! {
            let r = sqlx::query!(
                "UPDATE tasks SET delivery_state = 'dead', dead_at = $3, delivery_note = $2
                 WHERE task_id = $1 AND status_state = 'input_required'
                   AND delivery_state IN ('stored', 'typed', 'submitted')",
                task_id as _,
                note,
                now
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected() > 0)
        },
    }
}

/// A delivery's record (`None` for an unknown task).
pub async fn delivery(c: &mut impl AsConn, task_id: TaskId) -> Result<Option<DeliveryRecord>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let row = sqlx::query!(
                r#"SELECT task_id AS "task_id!: TaskId", status_state, status_timestamp, delivery_mode,
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
        },
        Conn::Pg(conn) => postgres! {
            let row = sqlx::query!(
                r#"SELECT task_id AS "task_id!: TaskId", status_state, status_timestamp, delivery_mode,
                          delivery_state, delivery_attempts, delivery_last_at, delivery_note,
                          typed_at, submitted_at, seen_at, dead_at
                   FROM tasks WHERE task_id = $1"#,
                task_id as _
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
        },
    }
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
    /// The host its pane lives on (NULL: placed before hosts were recorded).
    pub host: Option<String>,
    pub tmux_pane_id: Option<String>,
}

/// The fleet's deliveries not yet seen by their recipients that the monitor looks after
/// (typed or about to be: `delivery_last_at` set), oldest first.
pub async fn undelivered(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Vec<Undelivered>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Undelivered,
                r#"SELECT t.task_id AS "task_id!: TaskId", t.from_agent_id AS "from_agent_id: AgentId", t.to_agent_id AS "to_agent_id: AgentId", a.name AS to_name,
                          t.created_at, t.status_timestamp, t.text, t.delivery_mode, t.delivery_state,
                          t.delivery_attempts, t.delivery_last_at AS "delivery_last_at!",
                          t.delivery_note, p.tmux_socket AS "tmux_socket?: String", p.host AS "host?: String",
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
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Undelivered,
                r#"SELECT t.task_id AS "task_id!: TaskId", t.from_agent_id AS "from_agent_id: AgentId", t.to_agent_id AS "to_agent_id: AgentId", a.name AS to_name,
                          t.created_at, t.status_timestamp, t.text, t.delivery_mode, t.delivery_state,
                          t.delivery_attempts, t.delivery_last_at AS "delivery_last_at!",
                          t.delivery_note, p.tmux_socket AS "tmux_socket?: String", p.host AS "host?: String",
                          p.tmux_pane_id AS "tmux_pane_id?: String"
                   FROM agents a
                   JOIN tasks t ON t.context_id = a.agent_id
                        AND t.status_state = 'input_required' AND t.type = 'unicast'
                        AND t.delivery_state IN ('stored', 'typed', 'submitted')
                        AND t.delivery_last_at IS NOT NULL
                   LEFT JOIN agent_placements p ON p.agent_id = a.agent_id
                   WHERE a.fleet_id = $1 AND a.status = 'active'
                   ORDER BY t.task_id"#,
                fleet_id as _
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// Per agent of the fleet: its pending deliveries not yet seen, and how many of them are
/// dead letters.
pub async fn undelivered_counts(
    c: &mut impl AsConn,
    fleet_id: FleetId,
) -> Result<Vec<(AgentId, i64, i64)>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let rows = sqlx::query!(
                r#"SELECT t.context_id AS "agent_id!: AgentId", COUNT(*) AS "pending!: i64",
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
        },
        Conn::Pg(conn) => postgres! {
            let rows = sqlx::query!(
                r#"SELECT t.context_id AS "agent_id!: AgentId", COUNT(*) AS "pending!: i64",
                          count(*) FILTER (WHERE t.delivery_state = 'dead') AS "dead!: i64"
                   FROM agents a
                   JOIN tasks t ON t.context_id = a.agent_id
                        AND t.status_state = 'input_required' AND t.type = 'unicast'
                        AND t.delivery_state <> 'seen'
                   WHERE a.fleet_id = $1
                   GROUP BY t.context_id"#,
                fleet_id as _
            )
            .fetch_all(conn)
            .await?;
            Ok(rows
                .into_iter()
                .map(|r| (r.agent_id, r.pending, r.dead))
                .collect())
        },
    }
}

/// The fleets with deliveries a redelivery pass looks after (see [`undelivered`]) whose
/// recipient's pane is on `host`: the fleets a relay serves (docs/postgres.md).
pub async fn fleets_pending_on_host(c: &mut impl AsConn, host: &str) -> Result<Vec<FleetId>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_scalar!(
                r#"SELECT DISTINCT a.fleet_id AS "fleet_id!: FleetId"
                   FROM agent_placements p
                   JOIN agents a ON a.agent_id = p.agent_id AND a.status = 'active'
                   JOIN tasks t ON t.context_id = p.agent_id
                        AND t.status_state = 'input_required' AND t.type = 'unicast'
                        AND t.delivery_state IN ('stored', 'typed', 'submitted')
                        AND t.delivery_last_at IS NOT NULL
                   WHERE p.host = ?1
                   ORDER BY a.fleet_id"#,
                host
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_scalar!(
                r#"SELECT DISTINCT a.fleet_id AS "fleet_id!: FleetId"
                   FROM agent_placements p
                   JOIN agents a ON a.agent_id = p.agent_id AND a.status = 'active'
                   JOIN tasks t ON t.context_id = p.agent_id
                        AND t.status_state = 'input_required' AND t.type = 'unicast'
                        AND t.delivery_state IN ('stored', 'typed', 'submitted')
                        AND t.delivery_last_at IS NOT NULL
                   WHERE p.host = $1
                   ORDER BY a.fleet_id"#,
                host
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// The note of a claimed delivery until its attempt is recorded. One that stays was
/// claimed by a typist that died: its preview may have been typed, so the next attempt
/// waits as after a typed one (docs/delivery.md).
pub const CLAIMED_NOTE: &str = "typing: a typist claimed it; if this note stays, the typist stopped before recording the attempt";

/// Claims a delivery for one redelivery attempt: moves its `delivery_last_at` from `last`
/// (as the pass read it) to `now` and notes the claim ([`CLAIMED_NOTE`]), only when nobody
/// changed the delivery since. A monitor and a relay (or two relays) that both find it due
/// race here, and only the winner types the preview. Returns whether this caller won.
pub async fn claim(
    c: &mut impl AsConn,
    task_id: TaskId,
    last: &str,
    attempts: i64,
    now: &str,
) -> Result<bool> {
    let done = match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE tasks SET delivery_last_at = ?4, delivery_note = ?5
                 WHERE task_id = ?1 AND delivery_last_at = ?2 AND delivery_attempts = ?3
                   AND delivery_state IN ('stored', 'typed', 'submitted')
                   AND status_state = 'input_required'",
                task_id,
                last,
                attempts,
                now,
                CLAIMED_NOTE
            )
            .execute(conn)
            .await?
            .rows_affected()
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE tasks SET delivery_last_at = $4, delivery_note = $5
                 WHERE task_id = $1 AND delivery_last_at = $2 AND delivery_attempts = $3
                   AND delivery_state IN ('stored', 'typed', 'submitted')
                   AND status_state = 'input_required'",
                task_id as _,
                last,
                attempts,
                now,
                CLAIMED_NOTE
            )
            .execute(conn)
            .await?
            .rows_affected()
        },
    };
    Ok(done == 1)
}

/// Wakes the relays: on PostgreSQL a `NOTIFY` on [`RELAY_CHANNEL`] with the host whose
/// relay has deliveries to type (delivered at commit); nothing on SQLite, whose relays
/// poll. A wake-up only: the relay reads what is pending from the tables.
pub async fn notify_relay(c: &mut impl AsConn, host: &str) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(_) => Ok(()),
        Conn::Pg(conn) => postgres! {
            sqlx::query!("SELECT pg_notify('cafleet_relay', $1::text)", host)
                .execute(conn)
                .await?;
            Ok(())
        },
    }
}

/// The channel relays listen on (see [`notify_relay`]).
pub const RELAY_CHANNEL: &str = "cafleet_relay";
