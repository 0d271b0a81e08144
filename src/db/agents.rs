//! `agents`: registration, lookup, listing and soft deregistration, plus the agent card
//! serialised exactly as CAFleet 0.14 wrote it.

use super::{AsConn, Conn, postgres, sqlite};
use crate::Result;
use crate::model::{Agent, AgentId, AgentStatus, FleetId};

/// The fields of a new agent row.
#[derive(Debug, Clone)]
pub struct NewAgent<'a> {
    /// Owning fleet.
    pub fleet_id: FleetId,
    /// Free-text name.
    pub name: &'a str,
    /// Free-text description.
    pub description: &'a str,
    /// Registration timestamp.
    pub now: &'a str,
    /// The serialised card ([`card_json`]).
    pub card_json: &'a str,
}

/// Inserts an active agent and returns its id.
pub async fn insert(c: &mut impl AsConn, a: &NewAgent<'_>) -> Result<AgentId> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let r = sqlx::query!(
                "INSERT INTO agents (fleet_id, name, description, status, registered_at, deregistered_at, agent_card_json)
                 VALUES (?1, ?2, ?3, 'active', ?4, NULL, ?5)",
                a.fleet_id,
                a.name,
                a.description,
                a.now,
                a.card_json
            )
            .execute(conn)
            .await?;
            Ok(AgentId(r.last_insert_rowid()))
        },
        Conn::Pg(conn) => postgres! {
            let id = sqlx::query_scalar!(
                r#"INSERT INTO agents (fleet_id, name, description, status, registered_at, deregistered_at, agent_card_json)
                   VALUES ($1, $2, $3, 'active', $4, NULL, $5)
                   RETURNING agent_id AS "agent_id!: AgentId""#,
                a.fleet_id as _,
                a.name,
                a.description,
                a.now,
                a.card_json
            )
            .fetch_one(conn)
            .await?;
            Ok(id)
        },
    }
}

/// Any agent, any status.
pub async fn get(c: &mut impl AsConn, agent_id: AgentId) -> Result<Option<Agent>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Agent,
                r#"SELECT agent_id AS "agent_id!: AgentId", fleet_id AS "fleet_id: FleetId", name, description, status, registered_at,
                          deregistered_at,
                          json_extract(agent_card_json, '$.cafleet.kind') AS "card_kind?: String"
                   FROM agents WHERE agent_id = ?1"#,
                agent_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Agent,
                r#"SELECT agent_id AS "agent_id!: AgentId", fleet_id AS "fleet_id: FleetId", name, description, status, registered_at,
                          deregistered_at,
                          agent_card_json::jsonb #>> '{cafleet,kind}' AS "card_kind?: String"
                   FROM agents WHERE agent_id = $1"#,
                agent_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Active agents of a fleet, ascending id.
pub async fn list_active(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Vec<Agent>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Agent,
                r#"SELECT agent_id AS "agent_id!: AgentId", fleet_id AS "fleet_id: FleetId", name, description, status, registered_at,
                          deregistered_at,
                          json_extract(agent_card_json, '$.cafleet.kind') AS "card_kind?: String"
                   FROM agents WHERE fleet_id = ?1 AND status = 'active'
                   ORDER BY agent_id ASC"#,
                fleet_id
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Agent,
                r#"SELECT agent_id AS "agent_id!: AgentId", fleet_id AS "fleet_id: FleetId", name, description, status, registered_at,
                          deregistered_at,
                          agent_card_json::jsonb #>> '{cafleet,kind}' AS "card_kind?: String"
                   FROM agents WHERE fleet_id = $1 AND status = 'active'
                   ORDER BY agent_id ASC"#,
                fleet_id as _
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// Soft-deregisters one agent if active; returns whether it was.
pub async fn deregister(c: &mut impl AsConn, agent_id: AgentId, now: &str) -> Result<bool> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let r = sqlx::query!(
                "UPDATE agents SET status = 'deregistered', deregistered_at = ?2
                 WHERE agent_id = ?1 AND status = 'active'",
                agent_id,
                now
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected() > 0)
        },
        Conn::Pg(conn) => postgres! {
            let r = sqlx::query!(
                "UPDATE agents SET status = 'deregistered', deregistered_at = $2
                 WHERE agent_id = $1 AND status = 'active'",
                agent_id as _,
                now
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected() > 0)
        },
    }
}

/// Soft-deregisters every active agent of a fleet; returns how many.
pub async fn deregister_fleet(c: &mut impl AsConn, fleet_id: FleetId, now: &str) -> Result<u64> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            let r = sqlx::query!(
                "UPDATE agents SET status = 'deregistered', deregistered_at = ?2
                 WHERE fleet_id = ?1 AND status = 'active'",
                fleet_id,
                now
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected())
        },
        Conn::Pg(conn) => postgres! {
            let r = sqlx::query!(
                "UPDATE agents SET status = 'deregistered', deregistered_at = $2
                 WHERE fleet_id = $1 AND status = 'active'",
                fleet_id as _,
                now
            )
            .execute(conn)
            .await?;
            Ok(r.rows_affected())
        },
    }
}

/// A broadcast recipient and where its pane is.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The recipient.
    pub agent_id: AgentId,
    /// Its pane, when placed.
    pub tmux_pane_id: Option<String>,
    /// Its tmux server, when recorded.
    pub tmux_socket: Option<String>,
    /// The host its pane lives on (NULL: placed before hosts were recorded).
    pub host: Option<String>,
}

/// Every active, non-Administrator agent of the fleet except the sender, ascending id.
pub async fn broadcast_recipients(
    c: &mut impl AsConn,
    fleet_id: FleetId,
    sender: AgentId,
) -> Result<Vec<Recipient>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                Recipient,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", p.tmux_pane_id AS "tmux_pane_id?: String",
                          p.tmux_socket AS "tmux_socket?: String", p.host AS "host?: String"
                   FROM agents a LEFT JOIN agent_placements p ON p.agent_id = a.agent_id
                   WHERE a.fleet_id = ?1 AND a.status = 'active' AND a.agent_id <> ?2
                     AND coalesce(json_extract(a.agent_card_json, '$.cafleet.kind'), '') <> 'builtin-administrator'
                   ORDER BY a.agent_id ASC"#,
                fleet_id,
                sender
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                Recipient,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", p.tmux_pane_id AS "tmux_pane_id?: String",
                          p.tmux_socket AS "tmux_socket?: String", p.host AS "host?: String"
                   FROM agents a LEFT JOIN agent_placements p ON p.agent_id = a.agent_id
                   WHERE a.fleet_id = $1 AND a.status = 'active' AND a.agent_id <> $2
                     AND coalesce(a.agent_card_json::jsonb #>> '{cafleet,kind}', '') <> 'builtin-administrator'
                   ORDER BY a.agent_id ASC"#,
                fleet_id as _,
                sender as _
            )
            .fetch_all(conn)
            .await?)
        },
    }
}

/// Serialises an agent card as Python's `json.dumps` defaults do (docs/decisions.md, C1):
/// `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`.
pub fn card_json(
    name: &str,
    description: &str,
    skills: &serde_json::Value,
    kind: Option<&str>,
) -> String {
    let mut card = serde_json::Map::new();
    card.insert("name".into(), name.into());
    card.insert("description".into(), description.into());
    card.insert("skills".into(), skills.clone());
    if let Some(kind) = kind {
        card.insert("cafleet".into(), serde_json::json!({ "kind": kind }));
    }
    python_json(&serde_json::Value::Object(card))
}

/// `json.dumps(value)` with Python's default separators and `ensure_ascii=True`.
pub fn python_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_py(value, &mut out);
    out
}

fn write_py(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_str(k, out);
                out.push_str(": ");
                write_py(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py(v, out);
            }
            out.push(']');
        }
        Value::String(s) => write_py_str(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_py_str(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The fleet's built-in Administrator.
pub async fn administrator(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Option<AgentId>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_scalar!(
                r#"SELECT agent_id AS "agent_id!: AgentId" FROM agents
                   WHERE fleet_id = ?1 AND status = 'active'
                     AND json_extract(agent_card_json, '$.cafleet.kind') = 'builtin-administrator'
                   ORDER BY agent_id LIMIT 1"#,
                fleet_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_scalar!(
                r#"SELECT agent_id AS "agent_id!: AgentId" FROM agents
                   WHERE fleet_id = $1 AND status = 'active'
                     AND agent_card_json::jsonb #>> '{cafleet,kind}' = 'builtin-administrator'
                   ORDER BY agent_id LIMIT 1"#,
                fleet_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// The fleet's active monitoring member, if any.
pub async fn active_monitoring_member(
    c: &mut impl AsConn,
    fleet_id: FleetId,
) -> Result<Option<AgentId>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_scalar!(
                r#"SELECT agent_id AS "agent_id!: AgentId" FROM agents
                   WHERE fleet_id = ?1 AND status = 'active'
                     AND json_extract(agent_card_json, '$.cafleet.kind') = 'monitoring-member'
                   ORDER BY agent_id LIMIT 1"#,
                fleet_id
            )
            .fetch_optional(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_scalar!(
                r#"SELECT agent_id AS "agent_id!: AgentId" FROM agents
                   WHERE fleet_id = $1 AND status = 'active'
                     AND agent_card_json::jsonb #>> '{cafleet,kind}' = 'monitoring-member'
                   ORDER BY agent_id LIMIT 1"#,
                fleet_id as _
            )
            .fetch_optional(conn)
            .await?)
        },
    }
}

/// Removes a just-registered agent whose spawn failed: no rows are left behind
/// (docs/decisions.md, O4).
/// Its placement and monitor rows go with it (ON DELETE CASCADE). Fails if a message
/// already references it, in which case the caller soft-deregisters instead.
pub async fn delete_unspawned(c: &mut impl AsConn, agent_id: AgentId) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            sqlx::query!("DELETE FROM agents WHERE agent_id = ?1", agent_id)
                .execute(conn)
                .await?;
            Ok(())
        },
        Conn::Pg(conn) => postgres! {
            sqlx::query!("DELETE FROM agents WHERE agent_id = $1", agent_id as _)
                .execute(conn)
                .await?;
            Ok(())
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_match_python_json_dumps() {
        assert_eq!(
            card_json(
                "caf\u{e9}",
                "na\u{ef}ve \u{2713}",
                &serde_json::json!([]),
                None
            ),
            r#"{"name": "caf\u00e9", "description": "na\u00efve \u2713", "skills": []}"#
        );
        assert_eq!(
            card_json(
                "Administrator",
                "Built-in administrator agent for fleet 1",
                &serde_json::json!([]),
                Some("builtin-administrator")
            ),
            r#"{"name": "Administrator", "description": "Built-in administrator agent for fleet 1", "skills": [], "cafleet": {"kind": "builtin-administrator"}}"#
        );
        let skills: serde_json::Value = serde_json::from_str(r#"[{"id":"x","name":"X"}]"#).unwrap();
        assert_eq!(
            card_json("bob", "Bob", &skills, None),
            r#"{"name": "bob", "description": "Bob", "skills": [{"id": "x", "name": "X"}]}"#
        );
        assert_eq!(
            python_json(&serde_json::json!("\u{1F600}")),
            r#""\ud83d\ude00""#
        );
    }
}

/// An agent as the WebUI's API lists it (0.14's fields) plus its role and pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    /// Agent id.
    pub agent_id: AgentId,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Status.
    pub status: AgentStatus,
    /// Registration time.
    pub registered_at: String,
    /// Card kind.
    pub card_kind: Option<String>,
    /// Whether it is the fleet's root Director.
    pub is_director: bool,
    /// Whether it has a placement.
    pub placed: bool,
    /// Backend, when placed.
    pub coding_agent: Option<String>,
    /// Monitor schedule, when enrolled.
    pub interval_seconds: Option<i64>,
    /// Last wake.
    pub last_ping_at: Option<String>,
    /// Enabled (when enrolled).
    pub enabled: Option<bool>,
}

/// Active agents of the fleet plus deregistered ones that own messages, by status then id.
pub async fn web_list(c: &mut impl AsConn, fleet_id: FleetId) -> Result<Vec<AgentView>> {
    match c.conn() {
        Conn::Sqlite(conn) => sqlite! {
            Ok(sqlx::query_as!(
                AgentView,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", a.name, a.description,
                          a.status AS "status: AgentStatus", a.registered_at,
                          json_extract(a.agent_card_json, '$.cafleet.kind') AS "card_kind?: String",
                          EXISTS (SELECT 1 FROM fleets f WHERE f.fleet_id = a.fleet_id AND f.director_agent_id = a.agent_id) AS "is_director!: bool",
                          (p.agent_id IS NOT NULL) AS "placed!: bool",
                          p.coding_agent AS "coding_agent?: String",
                          m.interval_seconds AS "interval_seconds?: i64",
                          m.last_ping_at AS "last_ping_at?: String",
                          m.enabled AS "enabled?: bool"
                   FROM agents a
                   LEFT JOIN agent_placements p ON p.agent_id = a.agent_id
                   LEFT JOIN monitor_config m ON m.agent_id = a.agent_id
                   WHERE a.fleet_id = ?1
                     AND (a.status = 'active'
                          OR EXISTS (SELECT 1 FROM tasks t WHERE t.context_id = a.agent_id)
                          OR EXISTS (SELECT 1 FROM tasks t WHERE t.from_agent_id = a.agent_id))
                   ORDER BY a.status ASC, a.agent_id ASC"#,
                fleet_id
            )
            .fetch_all(conn)
            .await?)
        },
        Conn::Pg(conn) => postgres! {
            Ok(sqlx::query_as!(
                AgentView,
                r#"SELECT a.agent_id AS "agent_id!: AgentId", a.name, a.description,
                          a.status AS "status: AgentStatus", a.registered_at,
                          a.agent_card_json::jsonb #>> '{cafleet,kind}' AS "card_kind?: String",
                          EXISTS (SELECT 1 FROM fleets f WHERE f.fleet_id = a.fleet_id AND f.director_agent_id = a.agent_id) AS "is_director!: bool",
                          (p.agent_id IS NOT NULL) AS "placed!: bool",
                          p.coding_agent AS "coding_agent?: String",
                          m.interval_seconds AS "interval_seconds?: i64",
                          m.last_ping_at AS "last_ping_at?: String",
                          m.enabled AS "enabled?: bool"
                   FROM agents a
                   LEFT JOIN agent_placements p ON p.agent_id = a.agent_id
                   LEFT JOIN monitor_config m ON m.agent_id = a.agent_id
                   WHERE a.fleet_id = $1
                     AND (a.status = 'active'
                          OR EXISTS (SELECT 1 FROM tasks t WHERE t.context_id = a.agent_id)
                          OR EXISTS (SELECT 1 FROM tasks t WHERE t.from_agent_id = a.agent_id))
                   ORDER BY a.status ASC, a.agent_id ASC"#,
                fleet_id as _
            )
            .fetch_all(conn)
            .await?)
        },
    }
}
