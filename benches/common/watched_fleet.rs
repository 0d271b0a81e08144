//! Shared by `benches/monitor.rs` and `benches/report.rs`: a fleet of [`WATCHED`] watched
//! agents (the root Director and `WATCHED - 1` pane-bound members on one tmux server), the
//! members' last wakes spread over their 720 s interval before `t0`, so that ticks 5 s apart
//! find about 7 due. The caller adds its message history inside the same transaction.

// Each bench binary compiles its own copy and uses a subset.
#![allow(dead_code)]

use cafleet::broker::Broker;
use cafleet::db::WriteTx;
use cafleet::model::{AgentId, CodingAgent, FleetId, format_ts};
use cafleet::tmux::PaneContext;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::{HashMap, HashSet};

/// Watched agents: the root Director plus `WATCHED - 1` members.
pub const WATCHED: i64 = 1_000;
/// Member interval (`db::monitor::MEMBER_INTERVAL_SECS`).
pub const MEMBER_INTERVAL: i64 = 720;

/// What [`seed_watched_fleet`] made.
pub struct WatchedFleet {
    /// The fleet.
    pub fleet: FleetId,
    /// Its root Director (pane `%0`).
    pub director: AgentId,
    /// The members, contiguous ascending ids (pane `%<id>`).
    pub members: Vec<AgentId>,
    /// Every watched agent's pane, as live on `socket`.
    pub live: HashMap<String, HashSet<String>>,
}

/// Creates the fleet and its members; the transaction is left open for the caller's history
/// and commit.
pub async fn seed_watched_fleet(
    broker: &Broker,
    t0: DateTime<Utc>,
    socket: &str,
) -> (WatchedFleet, WriteTx) {
    let caller = PaneContext {
        session_name: "bench".into(),
        window_id: "@0".into(),
        pane_id: "%0".into(),
        socket_path: socket.into(),
    };
    let created = broker
        .fleet_create(Some("monitor bench"), CodingAgent::Claude, &caller)
        .await
        .expect("fleet create");
    let fleet = created.fleet.fleet_id;
    let director = created.director.agent_id;
    let mut tx = broker.db().begin_write().await.expect("begin");
    let registered = format_ts(t0 - ChronoDuration::days(1));
    let mut members = Vec::with_capacity(WATCHED as usize - 1);
    for i in 1..WATCHED {
        let name = format!("member-{i}");
        let description = "benchmark member";
        let card = cafleet::db::agents::card_json(&name, description, &serde_json::json!([]), None);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO agents (fleet_id, name, description, status, registered_at,
                                 deregistered_at, agent_card_json)
             VALUES (?1, ?2, ?3, 'active', ?4, NULL, ?5) RETURNING agent_id",
        )
        .bind(fleet)
        .bind(&name)
        .bind(description)
        .bind(&registered)
        .bind(&card)
        .fetch_one(tx.sqlite_conn())
        .await
        .expect("insert agent");
        sqlx::query(
            "INSERT INTO agent_placements (agent_id, director_agent_id, tmux_session,
                                           tmux_window_id, tmux_pane_id, coding_agent,
                                           created_at, tmux_socket)
             VALUES (?1, ?2, 'bench', '@0', ?3, 'claude', ?4, ?5)",
        )
        .bind(id)
        .bind(director)
        .bind(format!("%{id}"))
        .bind(&registered)
        .bind(socket)
        .execute(tx.sqlite_conn())
        .await
        .expect("insert placement");
        // Last wakes spread over (t0 - 720 s, t0]: with 5 s ticks about 7 are due per tick.
        let last = t0 - ChronoDuration::milliseconds(i * MEMBER_INTERVAL * 1000 / WATCHED);
        sqlx::query(
            "INSERT INTO monitor_config (agent_id, interval_seconds, last_ping_at, enabled)
             VALUES (?1, ?2, ?3, 1)",
        )
        .bind(id)
        .bind(MEMBER_INTERVAL)
        .bind(format_ts(last))
        .execute(tx.sqlite_conn())
        .await
        .expect("insert schedule");
        members.push(AgentId(id));
    }
    sqlx::query("UPDATE monitor_config SET last_ping_at = ?2 WHERE agent_id = ?1")
        .bind(director)
        .bind(format_ts(t0 - ChronoDuration::seconds(90)))
        .execute(tx.sqlite_conn())
        .await
        .expect("stamp director");
    assert!(
        members.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "member ids must be contiguous for the seeding SQL"
    );
    let panes = std::iter::once("%0".to_string())
        .chain(members.iter().map(|id| format!("%{id}")))
        .collect();
    let live = HashMap::from([(socket.to_string(), panes)]);
    (
        WatchedFleet {
            fleet,
            director,
            members,
            live,
        },
        tx,
    )
}
