//! `member list`: the members table with their activity and idle times.

use super::*;
use crate::model::AgentId;

pub(super) fn clock(ts: &Option<String>) -> String {
    ts.as_deref().and_then(|t| t.split_once('T')).map_or_else(
        || "-".to_string(),
        |(_, time)| time.chars().take(8).collect(),
    )
}

pub(super) fn idle_seconds(sent: &Option<String>, recv: &Option<String>) -> Option<i64> {
    let latest = [sent, recv]
        .into_iter()
        .flatten()
        .filter_map(|t| crate::model::parse_ts(t))
        .max()?;
    Some((chrono::Utc::now() - latest).num_seconds().max(0))
}

pub(super) fn idle_text(s: Option<i64>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s < 60 => format!("{s}s"),
        Some(s) if s < 3600 => format!("{}m", s / 60),
        Some(s) => format!("{}h", s / 3600),
    }
}

/// The pane column: `%3`, `%3@gpu-box` for a pane on another host, `(pending)`.
fn pane_text(broker: &crate::broker::Broker, m: &crate::broker::members::MemberRow) -> String {
    match (
        m.tmux_pane_id.as_deref(),
        broker.remote_host(m.host.as_deref()),
    ) {
        (None, _) => "(pending)".into(),
        (Some(p), Some(h)) => format!("{p}@{h}"),
        (Some(p), None) => p.to_string(),
    }
}

pub(super) async fn list(ctx: &Ctx, a: ListArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let broker = ctx.broker().await?;
    let members = broker.member_list(fleet_id).await?;
    let panes: Vec<_> = members
        .iter()
        .map(|m| {
            let pane = PaneTarget::from_placement(
                m.tmux_socket.clone(),
                m.tmux_pane_id.clone(),
                m.host.clone(),
            );
            (m.agent_id, pane)
        })
        .collect();
    let activities = broker.activities(fleet_id, &panes).await?;
    let activity = |id: AgentId| {
        activities
            .get(&id)
            .cloned()
            .unwrap_or_else(ActivityView::unknown)
    };
    let undelivered = broker.undelivered_counts(fleet_id).await?;
    let undelivered = |id: AgentId| undelivered.get(&id).copied().unwrap_or_default();
    if ctx.json {
        let items: Vec<_> = members
            .iter()
            .map(|m| {
                let mut v = json!({
                    "agent_id": m.agent_id,
                    "name": m.name,
                    "description": m.description,
                    "status": m.status,
                    "registered_at": m.registered_at,
                    "placement": {
                        "director_agent_id": m.director_agent_id,
                        "tmux_session": m.tmux_session,
                        "tmux_window_id": m.tmux_window_id,
                        "tmux_pane_id": m.tmux_pane_id,
                        "coding_agent": m.coding_agent,
                        "created_at": m.created_at,
                        "host": m.host,
                    },
                });
                let obj = v.as_object_mut().expect("object");
                activity(m.agent_id).insert_into(obj);
                obj.insert("undelivered".into(), json!(undelivered(m.agent_id)));
                if a.activity {
                    obj.insert("last_sent".into(), json!(m.last_sent));
                    obj.insert("last_recv".into(), json!(m.last_recv));
                    obj.insert("last_ack".into(), json!(m.last_ack));
                    obj.insert(
                        "idle".into(),
                        json!(idle_seconds(&m.last_sent, &m.last_recv)),
                    );
                }
                v
            })
            .collect();
        print_json(&serde_json::Value::Array(items));
        return Ok(());
    }
    let n = members.len();
    if n == 0 {
        print("0 members.");
        return Ok(());
    }
    let mut lines = vec![format!("{n} member{}:", if n == 1 { "" } else { "s" })];
    let mut columns = vec![col("agent_id", 14), col("name", 8), col("status", 6)];
    let lead = |m: &crate::broker::members::MemberRow| {
        vec![m.agent_id.to_string(), m.name.clone(), m.status.clone()]
    };
    let rows: Vec<Vec<String>> = if a.activity {
        columns.extend([
            col("last_sent", 9),
            col("last_recv", 9),
            col("last_ack", 9),
            col("idle", 5),
        ]);
        members
            .iter()
            .map(|m| {
                let mut row = lead(m);
                row.extend([
                    clock(&m.last_sent),
                    clock(&m.last_recv),
                    clock(&m.last_ack),
                    idle_text(idle_seconds(&m.last_sent, &m.last_recv)),
                ]);
                row
            })
            .collect()
    } else {
        columns.extend([
            col("backend", 7),
            col("session", 7),
            col("window_id", 9),
            col("pane_id", 7),
            col("created_at", 32),
            col("activity", 8),
            col("undelivered", 11),
        ]);
        members
            .iter()
            .map(|m| {
                let mut row = lead(m);
                row.extend([
                    m.coding_agent.clone(),
                    m.tmux_session.clone(),
                    m.tmux_window_id.clone(),
                    pane_text(&broker, m),
                    m.created_at.clone(),
                    activity(m.agent_id).activity.to_string(),
                    undelivered(m.agent_id).text(),
                ]);
                row
            })
            .collect()
    };
    lines.extend(table("  ", "  ", &columns, true, &rows));
    print(&lines.join("\n"));
    Ok(())
}
