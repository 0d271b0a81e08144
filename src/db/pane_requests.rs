//! `pane_requests`: work a command leaves for another host's relay (docs/postgres.md,
//! "Pane requests"). States: `pending` → `running` (claimed by the relay) → `done` or
//! `failed`; a `pending` one the requester gave up on is `canceled`.

use super::{AsConn, Conn, postgres, sqlite};
use crate::Result;
use crate::model::AgentId;

/// A request as the relay claims it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub request_id: i64,
    pub agent_id: AgentId,
    pub kind: String,
    pub payload: String,
}

/// A request's state and result, as the requester polls it.
#[derive(Debug, Clone)]
pub struct Status {
    pub state: String,
    pub result: Option<String>,
}

/// Stores a pending request for `host`'s relay; returns its id.
pub async fn insert(
    c: &mut impl AsConn,
    host: &str,
    agent_id: AgentId,
    kind: &str,
    payload: &str,
    now: &str,
) -> Result<i64> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_scalar!(
                r#"INSERT INTO pane_requests (host, agent_id, kind, payload, created_at)
                   VALUES (?1, ?2, ?3, ?4, ?5) RETURNING request_id AS "request_id!: i64""#,
                host,
                agent_id,
                kind,
                payload,
                now
            )
            .fetch_one(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_scalar!(
                r#"INSERT INTO pane_requests (host, agent_id, kind, payload, created_at)
                   VALUES ($1, $2, $3, $4, $5) RETURNING request_id AS "request_id!: i64""#,
                host,
                agent_id as _,
                kind,
                payload,
                now
            )
            .fetch_one(conn)
            .await?)
        },
    }
}

/// Claims the oldest pending request of `host` (moves it to `running`), if any.
pub async fn claim_next(c: &mut impl AsConn, host: &str, now: &str) -> Result<Option<Claimed>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Claimed,
                r#"UPDATE pane_requests SET state = 'running', claimed_at = ?2
                   WHERE request_id = (SELECT request_id FROM pane_requests
                                       WHERE host = ?1 AND state = 'pending'
                                       ORDER BY request_id LIMIT 1)
                   RETURNING request_id AS "request_id!: i64", agent_id AS "agent_id!: AgentId",
                             kind, payload"#,
                host,
                now
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Claimed,
                r#"UPDATE pane_requests SET state = 'running', claimed_at = $2
                   WHERE request_id = (SELECT request_id FROM pane_requests
                                       WHERE host = $1 AND state = 'pending'
                                       ORDER BY request_id LIMIT 1
                                       FOR UPDATE SKIP LOCKED)
                   RETURNING request_id AS "request_id!: i64", agent_id AS "agent_id!: AgentId",
                             kind, payload"#,
                host,
                now
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Records the outcome of a running request (`done` or `failed`); false when it is no
/// longer running (the requester canceled it meanwhile).
pub async fn finish(
    c: &mut impl AsConn,
    request_id: i64,
    state: &str,
    result: &str,
    now: &str,
) -> Result<bool> {
    let n = match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE pane_requests SET state = ?2, result = ?3, done_at = ?4
                 WHERE request_id = ?1 AND state = 'running'",
                request_id,
                state,
                result,
                now
            )
            .execute(conn)
            .await?
            .rows_affected()
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE pane_requests SET state = $2, result = $3, done_at = $4
                 WHERE request_id = $1 AND state = 'running'",
                request_id,
                state,
                result,
                now
            )
            .execute(conn)
            .await?
            .rows_affected()
        },
    };
    Ok(n == 1)
}

/// Gives up on a request: `pending` → `canceled` (so no relay starts it later), and a
/// `running` one whose requester stopped waiting → `canceled` as well, which its relay
/// sees when it records the outcome. Returns whether it was still open.
pub async fn cancel(c: &mut impl AsConn, request_id: i64, why: &str, now: &str) -> Result<bool> {
    let n = match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE pane_requests SET state = 'canceled', result = ?2, done_at = ?3
                 WHERE request_id = ?1 AND state IN ('pending', 'running')",
                request_id,
                why,
                now
            )
            .execute(conn)
            .await?
            .rows_affected()
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE pane_requests SET state = 'canceled', result = $2, done_at = $3
                 WHERE request_id = $1 AND state IN ('pending', 'running')",
                request_id,
                why,
                now
            )
            .execute(conn)
            .await?
            .rows_affected()
        },
    };
    Ok(n == 1)
}

/// A request's state and result.
pub async fn status(c: &mut impl AsConn, request_id: i64) -> Result<Option<Status>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Status,
                "SELECT state, result FROM pane_requests WHERE request_id = ?1",
                request_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Status,
                "SELECT state, result FROM pane_requests WHERE request_id = $1",
                request_id
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Fails the requests of `host` still `running` when its relay starts: the previous relay
/// died while carrying them out, and their requesters have been told by their deadline.
pub async fn fail_abandoned(c: &mut impl AsConn, host: &str, now: &str) -> Result<u64> {
    let why = "the relay stopped while carrying it out";
    Ok(match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!(
                "UPDATE pane_requests SET state = 'failed', result = ?2, done_at = ?3
                 WHERE host = ?1 AND state = 'running'",
                host,
                why,
                now
            )
            .execute(conn)
            .await?
            .rows_affected()
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!(
                "UPDATE pane_requests SET state = 'failed', result = $2, done_at = $3
                 WHERE host = $1 AND state = 'running'",
                host,
                why,
                now
            )
            .execute(conn)
            .await?
            .rows_affected()
        },
    })
}

/// Whether `agent_id` has a request of `kind` not yet carried out (pending or running).
pub async fn is_open(c: &mut impl AsConn, agent_id: AgentId, kind: &str) -> Result<bool> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM pane_requests
                                  WHERE agent_id = ?1 AND kind = ?2
                                    AND state IN ('pending', 'running')) AS "open!: bool""#,
                agent_id,
                kind
            )
            .fetch_one(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM pane_requests
                                  WHERE agent_id = $1 AND kind = $2
                                    AND state IN ('pending', 'running')) AS "open!""#,
                agent_id as _,
                kind
            )
            .fetch_one(conn)
            .await?)
        },
    }
}
