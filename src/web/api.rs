//! The JSON endpoints of the WebUI's HTTP API, compatible with 0.14's (docs/decisions.md, C1).

use super::{ApiError, ApiResult, AppState};
use crate::broker::monitor::{MAX_INTERVAL_SECS, OutOfRange, check_interval};
use crate::broker::webui::{Audience, MonitorCard};
use crate::delivery::DeliverMode;
use crate::model::TaskId;
use crate::model::{AgentId, FleetId};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
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

/// The fleet named by `X-Fleet-Id`. A soft-deleted fleet is not found, as it is for
/// `GET /api/fleets`: its agents and messages are not served (docs/decisions.md, WEB-1).
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
    if state.broker.fleet_is_live(FleetId(id)).await? {
        Ok(FleetId(id))
    } else {
        Err(ApiError::not_found("Fleet not found"))
    }
}

fn path_id(raw: &str) -> ApiResult<AgentId> {
    raw.trim().parse::<i64>().map(AgentId).map_err(|_| {
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

/// The agents of a fleet as the WebUI lists them.
pub async fn agents_value(state: &AppState, fleet_id: FleetId) -> ApiResult<Value> {
    let agents = state.broker.agent_cards(fleet_id).await?;
    Ok(json!({ "agents": agents }))
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

async fn enrolled(state: &AppState, fleet_id: FleetId, agent_id: AgentId) -> ApiResult<Value> {
    match state.broker.enrolment(fleet_id, agent_id).await? {
        Some(s) => Ok(json!(MonitorCard::from(&s))),
        None => Err(ApiError::not_found("Agent not enrolled")),
    }
}

/// `GET /api/agents/{agent_id}/monitor`
pub async fn agent_monitor(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let fleet_id = fleet_of(&state, &headers).await?;
    let agent_id = path_id(&agent_id)?;
    Ok(Json(enrolled(&state, fleet_id, agent_id).await?))
}

/// A request body as read, before its shape is checked.
#[derive(Debug)]
pub(crate) enum RawBody {
    /// No body at all.
    Missing,
    /// A JSON body (JSON content type, or none given), parsed.
    Json(Value),
    /// A body with another content type (e.g. `text/plain`), as text.
    Other(String),
}

/// Whether a `Content-Type` announces JSON: `application/json` or `application/*+json`
/// (parameters ignored). No content type counts as JSON, as in 0.14.
fn is_json_type(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let ct = ct.to_str().unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.strip_prefix("application/") {
        Some(sub) => sub == "json" || sub.ends_with("+json"),
        None => false,
    }
}

/// Step 1 of the API's check order (docs/decisions.md, C1): reads the body and parses a JSON
/// one. Only an unreadable body (over the 2 MiB limit, or cut off; the API's JSON error with
/// the status axum chose) or invalid JSON fails here; the shape is checked by
/// [`body_object`] after the `X-Fleet-Id` checks.
pub(crate) fn read_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<RawBody> {
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
        return Ok(RawBody::Missing);
    }
    if !is_json_type(headers) {
        return Ok(RawBody::Other(String::from_utf8_lossy(&body).into_owned()));
    }
    serde_json::from_slice(&body)
        .map(RawBody::Json)
        .map_err(|e| {
            ApiError::invalid(
                "json_invalid",
                &["body"],
                &format!("JSON decode error: {e}"),
                Value::Null,
            )
        })
}

/// Step 3: the body must be a JSON object (a missing body is `missing`; an array, `null`
/// or a non-JSON content type is `model_attributes_type`, as in 0.14).
pub(crate) fn body_object(raw: RawBody) -> ApiResult<serde_json::Map<String, Value>> {
    let not_object = |input: Value| {
        ApiError::invalid(
            "model_attributes_type",
            &["body"],
            "Input should be a valid dictionary or object to extract fields from",
            input,
        )
    };
    match raw {
        RawBody::Missing => Err(ApiError::invalid(
            "missing",
            &["body"],
            "Field required",
            Value::Null,
        )),
        RawBody::Json(Value::Object(m)) => Ok(m),
        RawBody::Json(other) => Err(not_object(other)),
        RawBody::Other(text) => Err(not_object(Value::String(text))),
    }
}

/// The API error for a failed monitor-config update: the broker's "not found" (the agent
/// is not, or no longer, enrolled in this fleet) is 404 `Agent not enrolled`; anything else
/// goes through [`ApiError::from`].
pub(crate) fn monitor_update_error(e: crate::Error) -> ApiError {
    match e {
        crate::Error::NotFound(_) => ApiError::not_found("Agent not enrolled"),
        other => ApiError::from(other),
    }
}

/// `PATCH /api/agents/{agent_id}/monitor`: `{"interval_seconds": 1..=2592000|null, "enabled": bool|null}`.
pub async fn patch_agent_monitor(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(agent_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let raw = read_body(&headers, body)?;
    let fleet_id = fleet_of(&state, &headers).await?;
    let agent_id = path_id(&agent_id)?;
    let obj = body_object(raw)?;
    let interval = match obj.get("interval_seconds") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.is_i64() => {
            let n = n.as_i64().unwrap_or_default();
            match check_interval(n) {
                Ok(n) => Some(n),
                Err(OutOfRange::Low) => {
                    return Err(ApiError::invalid(
                        "greater_than_equal",
                        &["body", "interval_seconds"],
                        "Input should be greater than or equal to 1",
                        json!(n),
                    ));
                }
                Err(OutOfRange::High) => {
                    return Err(ApiError::invalid(
                        "less_than_equal",
                        &["body", "interval_seconds"],
                        &format!("Input should be less than or equal to {MAX_INTERVAL_SECS}"),
                        json!(n),
                    ));
                }
            }
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
    let schedule = state
        .broker
        .monitor_config(fleet_id, agent_id, interval, enabled)
        .await
        .map_err(monitor_update_error)?;
    Ok(Json(json!(MonitorCard::from(&schedule))))
}

/// How many messages one timeline, inbox or sent page holds by default.
pub const PAGE: i64 = 200;

/// The largest `?limit=` a page may ask for.
pub const MAX_PAGE: i64 = 1000;

/// An integer query parameter, 422 `int_parsing` when it is not one.
fn query_int(q: &HashMap<String, String>, key: &str) -> ApiResult<Option<i64>> {
    q.get(key)
        .map(|raw| {
            raw.trim().parse::<i64>().map_err(|_| {
                ApiError::invalid(
                    "int_parsing",
                    &["query", key],
                    "Input should be a valid integer, unable to parse string as an integer",
                    json!(raw),
                )
            })
        })
        .transpose()
}

/// `?before=<task_id>&limit=<n>` of a paged list: the cursor (the oldest message the client
/// holds) and the page size (default [`PAGE`], 1..=[`MAX_PAGE`]).
fn paging(q: &HashMap<String, String>) -> ApiResult<(Option<i64>, i64)> {
    let before = query_int(q, "before")?;
    let limit = match query_int(q, "limit")? {
        None => PAGE,
        Some(n) if n < 1 => {
            return Err(ApiError::invalid(
                "greater_than_equal",
                &["query", "limit"],
                "Input should be greater than or equal to 1",
                json!(n),
            ));
        }
        Some(n) if n > MAX_PAGE => {
            return Err(ApiError::invalid(
                "less_than_equal",
                &["query", "limit"],
                &format!("Input should be less than or equal to {MAX_PAGE}"),
                json!(n),
            ));
        }
        Some(n) => n,
    };
    Ok((before, limit))
}

async fn mailbox(
    state: &AppState,
    headers: &HeaderMap,
    raw_id: &str,
    q: &HashMap<String, String>,
    sent: bool,
) -> ApiResult<Json<Value>> {
    let fleet_id = fleet_of(state, headers).await?;
    let agent_id = path_id(raw_id)?;
    let (before, limit) = paging(q)?;
    let messages = match state
        .broker
        .mailbox(fleet_id, agent_id, sent, before.map(TaskId), limit)
        .await
    {
        Err(crate::Error::NotFound(_)) => return Err(ApiError::not_found("Agent not found")),
        other => other?,
    };
    Ok(Json(json!({ "messages": messages })))
}

/// `GET /api/agents/{agent_id}/inbox[?before=<task_id>][&limit=<n>]`: the newest 200
/// messages addressed to the agent, or the page before a given one (scrollback).
pub async fn inbox(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    mailbox(&state, &headers, &id, &q, false).await
}

/// `GET /api/agents/{agent_id}/sent[?before=<task_id>][&limit=<n>]`: as `inbox`, for the
/// messages the agent sent.
pub async fn sent(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    mailbox(&state, &headers, &id, &q, true).await
}

/// `GET /api/timeline[?before=<task_id>][&limit=<n>]`: the newest 200 messages, or the
/// 200 before a given one (scrollback).
pub async fn timeline(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let fleet_id = fleet_of(&state, &headers).await?;
    let (before, limit) = paging(&q)?;
    let messages = state
        .broker
        .timeline(fleet_id, before.map(TaskId), limit)
        .await?;
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
    let raw = read_body(&headers, body)?;
    let fleet_id = fleet_of(&state, &headers).await?;
    let obj = body_object(raw)?;
    let from = int_field(&obj, "from_agent_id")?;
    let broadcast = matches!(obj.get("to_agent_id"), Some(Value::String(s)) if s == "*");
    let to = if broadcast {
        Audience::All
    } else {
        Audience::Agent(AgentId(int_field(&obj, "to_agent_id")?))
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
    let key = match obj.get("idempotency_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(other) => {
            return Err(ApiError::invalid(
                "string_type",
                &["body", "idempotency_key"],
                "Input should be a valid string",
                other.clone(),
            ));
        }
    };
    if let Some(k) = &key {
        crate::broker::validate_idempotency_key(k)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    let mode = match obj.get("deliver") {
        None | Some(Value::Null) => DeliverMode::default(),
        Some(Value::String(m)) => {
            DeliverMode::parse(m).map_err(|e| ApiError::bad_request(e.to_string()))?
        }
        Some(other) => {
            return Err(ApiError::invalid(
                "string_type",
                &["body", "deliver"],
                "Input should be a valid string",
                other.clone(),
            ));
        }
    };
    let sent = state
        .broker
        .web_send(fleet_id, AgentId(from), to, &text, key.as_deref(), mode)
        .await?;
    Ok(Json(json!(sent)))
}

#[cfg(test)]
mod tests {
    use super::{monitor_update_error, parse_python_int};
    use axum::http::StatusCode;

    #[test]
    fn only_a_lost_enrolment_is_not_enrolled() {
        let e = monitor_update_error(crate::Error::not_found("agent 1 is not enrolled"));
        assert_eq!(
            (e.status, e.detail.as_str()),
            (StatusCode::NOT_FOUND, Some("Agent not enrolled"))
        );
        let e = monitor_update_error(crate::Error::Busy(30));
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        let e = monitor_update_error(crate::Error::Storage("disk I/O error".into()));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        let e = monitor_update_error(crate::Error::invalid("0 is not in the range"));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

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
