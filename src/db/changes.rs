//! `change_log`: the feed of committed changes the WebUI's live stream follows. On
//! PostgreSQL each appended row also notifies [`CHANGES_CHANNEL`] with its fleet's id, at
//! commit (`migrations/postgres/0003_change_notify.sql`); SQLite's readers poll.

use super::{AsConn, Conn, postgres, sqlite};
use crate::Result;
use crate::model::FleetId;

/// The `LISTEN` channel whose notifications (payload: the fleet id) wake the WebUI's
/// streams on PostgreSQL.
pub const CHANGES_CHANNEL: &str = "cafleet_changes";

/// One change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Commit-ordered sequence number.
    pub seq: i64,
    /// `task`, `agent` or `monitor`.
    pub kind: String,
    /// The task or agent id.
    pub ref_id: Option<i64>,
}

/// The newest sequence number (0 when empty).
pub async fn latest(c: &mut impl AsConn) -> Result<i64> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(
                sqlx::query_scalar!(r#"SELECT coalesce(max(seq), 0) AS "seq!: i64" FROM change_log"#)
                    .fetch_one(conn)
                    .await?,
            )
        },
        Conn::Pg(conn) => postgres! {
            Ok(
                sqlx::query_scalar!(r#"SELECT coalesce(max(seq), 0)::bigint AS "seq!: i64" FROM change_log"#)
                    .fetch_one(conn)
                    .await?,
            )
        },
    }
}

/// A fleet's changes after `seq`, oldest first (at most `limit`).
pub async fn since(
    c: &mut impl AsConn,
    fleet_id: FleetId,
    seq: i64,
    limit: i64,
) -> Result<Vec<Change>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Change,
                r#"SELECT seq AS "seq!", kind, ref_id FROM change_log
                   WHERE seq > ?2 AND fleet_id = ?1 ORDER BY seq ASC LIMIT ?3"#,
                fleet_id,
                seq,
                limit
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Change,
                r#"SELECT seq AS "seq!", kind, ref_id FROM change_log
                   WHERE seq > $2 AND fleet_id = $1 ORDER BY seq ASC LIMIT $3"#,
                fleet_id as _,
                seq,
                limit
            )
            .fetch_all(conn)
            .await?)
        },
    }
}
