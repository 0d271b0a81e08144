//! `change_log`: the feed of committed changes the WebUI's live stream follows.

use crate::Result;
use crate::model::FleetId;
use sqlx::SqliteConnection;

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
pub async fn latest(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar!(r#"SELECT coalesce(max(seq), 0) AS "seq!: i64" FROM change_log"#)
            .fetch_one(conn)
            .await?,
    )
}

/// A fleet's changes after `seq`, oldest first (at most `limit`).
pub async fn since(
    conn: &mut SqliteConnection,
    fleet_id: FleetId,
    seq: i64,
    limit: i64,
) -> Result<Vec<Change>> {
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
}
