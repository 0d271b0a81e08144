//! The JSON endpoints of webui.md §4.

use super::{ApiError, ApiResult, AppState};
use crate::broker::monitor::MAX_INTERVAL_SECS;
use crate::db;
use crate::model::{AgentId, FleetId, KIND_ADMINISTRATOR, KIND_MONITORING_MEMBER};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Parses an integer the way Python's `int(str)` does: surrounding whitespace, a sign,
/// and single underscores between digits are accepted.
pub fn parse_python_int(raw: &str) -> Option<i64> {
    let s = raw.trim();
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    digits
        .replace('_', "")
        .parse::<i64>()
        .ok()
        .map(|n| sign * n)
}

/// The fleet named by `X-Fleet-Id` (webui.md §3); soft-deleted fleets are accepted.
pub async fn fleet_of(state: &AppState, headers: &HeaderMap) -> ApiResult<FleetId> {
    let raw = headers
        .get("x-fleet-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if raw.trim().is_empty() {
        return Err(ApiError::bad_request("X-Fleet-Id header required"));
    }
    let id = parse_python_int(raw)
        .ok_or_else(|| ApiError::bad_request("X-Fleet-Id must be an integer"))?;
    let mut conn = super::conn(state.broker.db()).await?;
    match db::fleets::get(&mut conn, id).await? {
        Some(_) => Ok(id),
        None => Err(ApiError::not_found("Fleet not found")),
    }
}

fn path_id(raw: &str) -> ApiResult<AgentId> {
    raw.trim().parse::<i64>().map_err(|_| {
        ApiError::invalid(
            "int_parsing",
            &["path", "agent_id"],
            "Input should be a valid integer, unable to parse string as an integer",
            json!(raw),
        )
    })
}

/// `GET /api/fleets`
pub async fn fleets(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let list = state.broker.fleet_list().await?;
    Ok(Json(serde_json::to_value(list).unwrap_or_default()))
}

fn agent_json(a: &db::agents::AgentView) -> Value {
    let kind = if a.card_kind.as_deref() == Some(KIND_ADMINISTRATOR) {
        KIND_ADMINISTRATOR
    } else {
        "user"
    };
    let role = match (a.card_kind.as_deref(), a.is_director, a.placed) {
        (Some(KIND_ADMINISTRATOR), _, _) => "administrator",
        (Some(KIND_MONITORING_MEMBER), _, _) => "monitor",
        (_, true, _) => "director",
        (_, _, true) => "member",
        _ => "agent",
    };
    let monitor = match (a.interval_seconds, a.enabled) {
        (Some(interval), Some(enabled)) if a.status == crate::model::STATUS_ACTIVE => json!({
            "interval_seconds": interval,
            "last_ping_at": a.last_ping_at,
            "enabled": enabled,
        }),
        _ => Value::Null,
    };
    json!({
        "agent_id": a.agent_id,
        "name": a.name,
        "description": a.description,
        "status": a.status,
        "registered_at": a.registered_at,
        "kind": kind,
        "monitor": monitor,
        "role": role,
        "coding_agent": a.coding_agent,
    })
}

/// The agents of a fleet as the WebUI lists them.
pub async fn agents_value(state: &AppState, fleet_id: FleetId) -> ApiResult<Value> {
    let mut conn = super::conn(state.broker.db()).await?;
    let list = db::agents::web_list(&mut conn, fleet_id).await?;
    Ok(json!({ "agents": list.iter().map(agent_json).collect::<Vec<_>>() }))
}

/// `GET /api/agents`
pub async fn agents(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let fleet_id = fleet_of(&state, &headers).await?;
    Ok(Json(agents_value(&state, fleet_id).await?))
}

/// `GET /api/monitor`
pub async fn monitor(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let fleet_id = fleet_of(&state, &headers).await?;
    let rt = state.broker.monitor_runtime(fleet_id).await?;
    Ok(Json(serde_json::to_value(rt).unwrap_or_default()))
}

async fn enrolled(
    state: &AppState,
    fleet_id: FleetId,
    agent_id: AgentId,
) -> ApiResult<db::monitor::Schedule> {
    let mut conn = super::conn(state.broker.db()).await?;
    db::monitor::schedule(&mut conn, agent_id)
        .await?
        .filter(|s| s.fleet_id == fleet_id && s.status == crate::model::STATUS_ACTIVE)
        .ok_or_else(|| ApiError::not_found("Agent not enrolled"))
}

fn schedule_json(s: &db::monitor::Schedule) -> Value {
    json!({
        "interval_seconds": s.interval_seconds,
        "last_ping_at": s.last_ping_at,
        "enabled": s.enabled,
    })
}

/// `GET /api/agents/{agent_id}/monitor`
pub async fn agent_monitor(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let fleet_id = fleet_of(&state, &headers).await?;
    let agent_id = path_id(&agent_id)?;
    Ok(Json(schedule_json(
        &enrolled(&state, fleet_id, agent_id).await?,
    )))
}

/// The JSON object of a request body. A body the server refused to read (over the 2 MiB
/// limit, or cut off) gets the API's JSON error with the status axum chose.
fn parse_json_body(
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<serde_json::Map<String, Value>> {
    let body = body.map_err(|e| {
        let status = e.status();
        let msg = if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            "request body too large (the limit is 2 MiB); send a shorter text".to_string()
        } else {
            format!("cannot read the request body: {}", e.body_text())
        };
        ApiError::new(status, msg)
    })?;
    if body.is_empty() {
        return Err(ApiError::invalid(
            "missing",
            &["body"],
            "Field required",
            Value::Null,
        ));
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(
            "json_invalid",
            &["body"],
            &format!("JSON decode error: {e}"),
            Value::Null,
        )
    })?;
    match v {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::invalid(
            "model_attributes_type",
            &["body"],
            "Input should be a valid dictionary or object to extract fields from",
            other,
        )),
    }
}

/// `PATCH /api/agents/{agent_id}/monitor`: `{"interval_seconds": 1..=2592000|null, "enabled": bool|null}`.
pub async fn patch_agent_monitor(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(agent_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let obj = parse_json_body(body)?;
    let fleet_id = fleet_of(&state, &headers).await?;
    let agent_id = path_id(&agent_id)?;
    let interval = match obj.get("interval_seconds") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.is_i64() => {
            let n = n.as_i64().unwrap_or_default();
            if n < 1 {
                return Err(ApiError::invalid(
                    "greater_than_equal",
                    &["body", "interval_seconds"],
                    "Input should be greater than or equal to 1",
                    json!(n),
                ));
            }
            if n > MAX_INTERVAL_SECS {
                return Err(ApiError::invalid(
                    "less_than_equal",
                    &["body", "interval_seconds"],
                    &format!("Input should be less than or equal to {MAX_INTERVAL_SECS}"),
                    json!(n),
                ));
            }
            Some(n)
        }
        Some(other) => {
            return Err(ApiError::invalid(
                "int_type",
                &["body", "interval_seconds"],
                "Input should be a valid integer",
                other.clone(),
            ));
        }
    };
    let enabled = match obj.get("enabled") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            return Err(ApiError::invalid(
                "bool_type",
                &["body", "enabled"],
                "Input should be a valid boolean",
                other.clone(),
            ));
        }
    };
    enrolled(&state, fleet_id, agent_id).await?;
    let s = state
        .broker
        .monitor_config(fleet_id, agent_id, interval, enabled)
        .await
        .map_err(|_| ApiError::not_found("Agent not enrolled"))?;
    Ok(Json(schedule_json(&s)))
}

async fn mailbox(
    state: &AppState,
    headers: &HeaderMap,
    raw_id: &str,
    sent: bool,
) -> ApiResult<Json<Value>> {
    let fleet_id = fleet_of(state, headers).await?;
    let agent_id = path_id(raw_id)?;
    let mut conn = super::conn(state.broker.db()).await?;
    match db::agents::get(&mut conn, agent_id).await? {
        Some(a) if a.fleet_id == fleet_id => {}
        _ => return Err(ApiError::not_found("Agent not found")),
    }
    let messages = db::tasks::mailbox(&mut conn, agent_id, sent).await?;
    Ok(Json(json!({ "messages": messages })))
}

/// `GET /api/agents/{agent_id}/inbox`
pub async fn inbox(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    mailbox(&state, &headers, &id, false).await
}

/// `GET /api/agents/{agent_id}/sent`
pub async fn sent(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    mailbox(&state, &headers, &id, true).await
}

/// How many messages one timeline page holds.
pub const TIMELINE_PAGE: i64 = 200;

/// `GET /api/timeline[?before=<task_id>]`: the newest 200 messages, or the 200 before a
/// given one (scrollback).
pub async fn timeline(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let fleet_id = fleet_of(&state, &headers).await?;
    let before = match q.get("before") {
        None => None,
        Some(raw) => Some(raw.trim().parse::<i64>().map_err(|_| {
            ApiError::invalid(
                "int_parsing",
                &["query", "before"],
                "Input should be a valid integer, unable to parse string as an integer",
                json!(raw),
            )
        })?),
    };
    let mut conn = super::conn(state.broker.db()).await?;
    let messages = db::tasks::timeline(&mut conn, fleet_id, before, TIMELINE_PAGE).await?;
    Ok(Json(json!({ "messages": messages })))
}

fn int_field(obj: &serde_json::Map<String, Value>, key: &str) -> ApiResult<i64> {
    match obj.get(key) {
        None => Err(ApiError::invalid(
            "missing",
            &["body", key],
            "Field required",
            Value::Null,
        )),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
        Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
            Ok(s.trim().parse().unwrap_or_default())
        }
        Some(other) => Err(ApiError::invalid(
            "int_parsing",
            &["body", key],
            "Input should be a valid integer",
            other.clone(),
        )),
    }
}

/// `POST /api/messages/send`: `{"from_agent_id": <Administrator>, "to_agent_id": id|"*", "text": str}`.
/// Previews are typed in the background after the response (the request never waits on tmux).
pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let obj = parse_json_body(body)?;
    let fleet_id = fleet_of(&state, &headers).await?;
    let from = int_field(&obj, "from_agent_id")?;
    let broadcast = matches!(obj.get("to_agent_id"), Some(Value::String(s)) if s == "*");
    let to = if broadcast {
        0
    } else {
        int_field(&obj, "to_agent_id")?
    };
    let text = match obj.get("text") {
        Some(Value::String(s)) => s.clone(),
        None => {
            return Err(ApiError::invalid(
                "missing",
                &["body", "text"],
                "Field required",
                Value::Null,
            ));
        }
        Some(other) => {
            return Err(ApiError::invalid(
                "string_type",
                &["body", "text"],
                "Input should be a valid string",
                other.clone(),
            ));
        }
    };
    let broker = state.broker.clone();
    let sender = {
        let mut conn = super::conn(broker.db()).await?;
        db::agents::get(&mut conn, from).await?
    };
    let sender = match sender {
        Some(a) if a.fleet_id == fleet_id && a.is_active() => a,
        _ => return Err(ApiError::bad_request("from_agent not in fleet")),
    };
    if !sender.is_administrator() {
        return Err(ApiError::forbidden(
            "the WebUI sends only as the fleet's Administrator; use its agent id as from_agent_id",
        ));
    }
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("message text may not be empty"));
    }
    if broadcast {
        let (summary, deliveries) = broker.broadcast_store(fleet_id, from, &text).await?;
        let recipients = deliveries.len();
        tokio::spawn(async move {
            broker.push_previews(deliveries).await;
        });
        return Ok(Json(json!({
            "task_id": summary.task_id,
            "status": summary.status_state,
            "recipients": recipients,
        })));
    }
    {
        let mut conn = super::conn(broker.db()).await?;
        match db::agents::get(&mut conn, to).await? {
            Some(a) if a.fleet_id == fleet_id && a.is_active() => {}
            _ => return Err(ApiError::not_found("Agent not found")),
        }
    }
    let (task, target) = broker.message_store(fleet_id, from, to, &text).await?;
    let response = json!({ "task_id": task.task_id, "status": task.status_state });
    tokio::spawn(async move {
        broker.push_preview(&task, target).await;
    });
    Ok(Json(response))
}

#[cfg(test)]
mod tests {
    use super::parse_python_int;

    #[test]
    fn python_int_rules() {
        assert_eq!(parse_python_int(" +1"), Some(1));
        assert_eq!(parse_python_int("0001"), Some(1));
        assert_eq!(parse_python_int("1_0"), Some(10));
        assert_eq!(parse_python_int("-1"), Some(-1));
        for bad in ["1.0", "", "_1", "1_", "1__0", "abc", "+"] {
            assert_eq!(parse_python_int(bad), None, "{bad}");
        }
    }
}
