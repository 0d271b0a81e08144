//! `GET /api/events`: a Server-Sent Events stream of one fleet's changes, made by any
//! process. It follows the database's `change_log` (appended by triggers, ordered by
//! commit) — one indexed range read each time it is woken — and sends only what changed:
//! the changed messages, the agent list when agents changed, the monitor state when it
//! started or stopped. It reads at once (catching up after `Last-Event-ID` on a
//! reconnect), then whenever the server's change feed wakes it: on SQLite every 100 ms, on
//! PostgreSQL when a change of its fleet commits (`LISTEN/NOTIFY`, one listener for every
//! stream; `broker::feed`, docs/postgres.md "Live WebUI").

use super::api::{agents_value, fleet_of};
use super::{ApiResult, AppState};
use crate::model::{FleetId, TaskId};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

/// `GET /api/events` (fleet from `X-Fleet-Id`, or `?fleet_id=` since `EventSource` cannot
/// set headers).
pub async fn events(
    State(state): State<AppState>,
    mut headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    if !headers.contains_key("x-fleet-id")
        && let Some(v) = q.get("fleet_id").and_then(|v| v.parse().ok())
    {
        headers.insert("x-fleet-id", v);
    }
    let fleet_id = fleet_of(&state, &headers).await?;
    // Before the start is read: every change committed after it wakes the stream.
    let wakeups = state.feed.wakeups(fleet_id);
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let start = match resume {
        Some(seq) => seq,
        None => state.broker.latest_change().await?,
    };
    let stream = futures::stream::unfold(
        (state, fleet_id, start, true, Vec::<Event>::new(), wakeups),
        |(state, fleet_id, mut seq, first, mut queue, mut wakeups)| async move {
            if first {
                let hello = Event::default()
                    .event("hello")
                    .id(seq.to_string())
                    .data(serde_json::json!({ "seq": seq, "fleet_id": fleet_id }).to_string());
                return Some((Ok(hello), (state, fleet_id, seq, false, queue, wakeups)));
            }
            loop {
                if let Some(ev) = queue.pop() {
                    return Some((Ok(ev), (state, fleet_id, seq, false, queue, wakeups)));
                }
                wakeups.wait().await;
                match next_events(&state, fleet_id, seq).await {
                    Ok((new_seq, mut events)) => {
                        seq = new_seq;
                        events.reverse();
                        queue = events;
                    }
                    Err(e) => tracing::warn!(error = ?e.detail, "event stream read failed"),
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Reads the changes after `seq` and turns them into events (in order: messages, agents,
/// monitor); returns the new position.
async fn next_events(
    state: &AppState,
    fleet_id: FleetId,
    seq: i64,
) -> ApiResult<(i64, Vec<Event>)> {
    let changes = state
        .broker
        .changes_since(FleetId(fleet_id.0), seq, 1000)
        .await?;
    let Some(last) = changes.last().map(|c| c.seq) else {
        return Ok((seq, Vec::new()));
    };
    let mut events = Vec::new();
    let task_ids: Vec<TaskId> = changes
        .iter()
        .filter(|c| c.kind == "task")
        .filter_map(|c| c.ref_id.map(TaskId))
        .collect();
    if !task_ids.is_empty() {
        let messages = state
            .broker
            .messages_by_id(FleetId(fleet_id.0), &task_ids)
            .await?;
        events.push(
            Event::default()
                .event("messages")
                .id(last.to_string())
                .data(serde_json::json!({ "messages": messages }).to_string()),
        );
    }
    if changes.iter().any(|c| c.kind == "agent") {
        let agents = agents_value(state, FleetId(fleet_id.0)).await?;
        events.push(
            Event::default()
                .event("agents")
                .id(last.to_string())
                .data(agents.to_string()),
        );
    }
    if changes.iter().any(|c| c.kind == "monitor") {
        let rt = state.broker.monitor_runtime(FleetId(fleet_id.0)).await?;
        events.push(
            Event::default()
                .event("monitor")
                .id(last.to_string())
                .data(serde_json::to_string(&rt).unwrap_or_default()),
        );
    }
    Ok((last, events))
}
