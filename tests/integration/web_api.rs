//! The HTTP API through `router(state).oneshot(...)`: every endpoint, status code and error.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cafleet::broker::Broker;
use cafleet::db::Db;
use cafleet::model::CodingAgent;
use cafleet::tmux::Tmux;
use cafleet::web::{AppState, Security, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:8000";
const ORIGIN: &str = "http://127.0.0.1:8000";

struct Api {
    _dir: tempfile::TempDir,
    state: AppState,
}

use crate::support::unreachable_pane as pane;

impl Api {
    /// Fleet 1 (Director 1, Administrator 2) with alice 3 and bob 4; fleet 2 (5, 6) with eve 7.
    async fn new(token: Option<&str>) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("c.db"), 4).await.unwrap();
        db.migrate().await.unwrap();
        // As `cafleet server` runs it.
        let broker = Broker::new(db.with_group_commit(), Tmux::from_env(), 200);
        broker
            .fleet_create(Some("alpha"), CodingAgent::Claude, &pane())
            .await
            .unwrap();
        broker
            .agent_register(1, "alice", "writes", None)
            .await
            .unwrap();
        broker
            .agent_register(1, "bob", "reviews", None)
            .await
            .unwrap();
        broker
            .fleet_create(None, CodingAgent::Codex, &pane())
            .await
            .unwrap();
        broker
            .agent_register(2, "eve", "other fleet", None)
            .await
            .unwrap();
        let state = AppState {
            broker,
            security: Arc::new(Security::for_bind(
                "127.0.0.1",
                8000,
                token.map(str::to_string),
            )),
        };
        Api { _dir: dir, state }
    }

    fn broker(&self) -> &Broker {
        &self.state.broker
    }

    async fn call(&self, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let resp = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, body, headers)
    }

    async fn get(&self, path: &str, fleet: Option<&str>) -> (StatusCode, Value) {
        let mut b = Request::get(path).header("host", HOST);
        if let Some(f) = fleet {
            b = b.header("x-fleet-id", f);
        }
        let (s, v, _) = self.call(b.body(Body::empty()).unwrap()).await;
        (s, v)
    }

    async fn send(&self, method: &str, path: &str, fleet: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST)
            .header("origin", ORIGIN)
            .header("x-fleet-id", fleet)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (s, v, _) = self.call(req).await;
        (s, v)
    }
}

#[tokio::test]
async fn fleets_lists_live_fleets_newest_first() {
    let api = Api::new(None).await;
    let (s, v) = api.get("/api/fleets", None).await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fleet_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![2, 1]);
    assert_eq!(v[1]["label"], "alpha");
    assert_eq!(v[1]["agent_count"], 4);
    assert_eq!(v[0]["label"], Value::Null);
    let keys: Vec<&str> = v[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "fleet_id",
            "director_agent_id",
            "label",
            "created_at",
            "agent_count"
        ]
    );
}

#[tokio::test]
async fn the_fleet_header_is_required_and_checked() {
    let api = Api::new(None).await;
    assert_eq!(
        api.get("/api/agents", None).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "X-Fleet-Id header required"})
        )
    );
    assert_eq!(
        api.get("/api/agents", Some("1.0")).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "X-Fleet-Id must be an integer"})
        )
    );
    assert_eq!(
        api.get("/api/agents", Some("99")).await,
        (StatusCode::NOT_FOUND, json!({"detail": "Fleet not found"}))
    );
    let (s, _) = api.get("/api/agents", Some(" +1")).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn agents_lists_active_and_deregistered_agents_with_messages() {
    let api = Api::new(None).await;
    api.broker()
        .message_send(1, 3, 4, "hello bob")
        .await
        .unwrap();
    api.broker().agent_deregister(1, 4).await.unwrap();
    api.broker()
        .agent_register(1, "quiet", "no messages", None)
        .await
        .unwrap();
    api.broker().agent_deregister(1, 8).await.unwrap();
    let (s, v) = api.get("/api/agents", Some("1")).await;
    assert_eq!(s, StatusCode::OK);
    let agents = v["agents"].as_array().unwrap();
    let summary: Vec<(i64, &str, &str, &str)> = agents
        .iter()
        .map(|a| {
            (
                a["agent_id"].as_i64().unwrap(),
                a["status"].as_str().unwrap(),
                a["kind"].as_str().unwrap(),
                a["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "active", "user", "director"),
            (2, "active", "builtin-administrator", "administrator"),
            (3, "active", "user", "agent"),
            (4, "deregistered", "user", "agent"),
        ]
    );
    assert_eq!(
        agents[0]["monitor"],
        json!({"interval_seconds": 180, "last_ping_at": null, "enabled": true})
    );
    assert_eq!(agents[1]["monitor"], Value::Null);
}

#[tokio::test]
async fn monitor_reports_a_fleet_that_never_ran_one() {
    let api = Api::new(None).await;
    let (s, v) = api.get("/api/monitor", Some("1")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        json!({"running": false, "pid": null, "tick_seconds": null, "last_tick_at": null, "last_tick_age_seconds": null, "started_at": null})
    );
}

#[tokio::test]
async fn agent_monitor_can_be_read_and_patched() {
    let api = Api::new(None).await;
    let (s, v) = api.get("/api/agents/1/monitor", Some("1")).await;
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"interval_seconds": 180, "last_ping_at": null, "enabled": true})
        )
    );
    let (s, v) = api
        .send(
            "PATCH",
            "/api/agents/1/monitor",
            "1",
            r#"{"interval_seconds": 30, "enabled": false}"#,
        )
        .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"interval_seconds": 30, "last_ping_at": null, "enabled": false})
        )
    );
    let (s, v) = api.send("PATCH", "/api/agents/1/monitor", "1", "{}").await;
    assert_eq!(
        (s, v["interval_seconds"].clone()),
        (StatusCode::OK, json!(30))
    );
    for (body, kind) in [
        (r#"{"interval_seconds": 0}"#, "greater_than_equal"),
        (r#"{"interval_seconds": 99999999999}"#, "less_than_equal"),
        (r#"{"interval_seconds": 1.5}"#, "int_type"),
        (r#"{"enabled": "off"}"#, "bool_type"),
        ("[1]", "model_attributes_type"),
        ("{not json", "json_invalid"),
        ("", "missing"),
    ] {
        let (s, v) = api.send("PATCH", "/api/agents/1/monitor", "1", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(v["detail"][0]["type"], kind, "{body}");
    }
    for (agent, fleet) in [("2", "1"), ("3", "1"), ("5", "1"), ("999", "1")] {
        let (s, v) = api
            .get(&format!("/api/agents/{agent}/monitor"), Some(fleet))
            .await;
        assert_eq!(
            (s, v),
            (
                StatusCode::NOT_FOUND,
                json!({"detail": "Agent not enrolled"})
            ),
            "agent {agent}"
        );
    }
    let (s, v) = api.get("/api/agents/abc/monitor", Some("1")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["detail"][0]["loc"], json!(["path", "agent_id"]));
}

#[tokio::test]
async fn inbox_and_sent_are_newest_first_and_fleet_scoped() {
    let api = Api::new(None).await;
    let b = api.broker();
    b.message_send(1, 3, 4, "first").await.unwrap();
    b.message_send(1, 3, 4, "second").await.unwrap();
    b.message_send(1, 4, 3, "reply").await.unwrap();
    b.message_ack(1, 4, 1).await.unwrap();
    let (s, v) = api.get("/api/agents/4/inbox", Some("1")).await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<i64> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["task_id"].as_i64().unwrap())
        .collect();
    // The ack moved task 1 to the top.
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(v["messages"][0]["status"], "completed");
    assert_eq!(v["messages"][0]["from_agent_name"], "alice");
    assert_eq!(v["messages"][0]["body"], "first");
    let (_, v) = api.get("/api/agents/4/sent", Some("1")).await;
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    let keys: Vec<&str> = v["messages"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "task_id",
            "from_agent_id",
            "from_agent_name",
            "to_agent_id",
            "to_agent_name",
            "type",
            "status",
            "created_at",
            "status_timestamp",
            "origin_task_id",
            "body"
        ]
    );
    assert_eq!(
        api.get("/api/agents/7/inbox", Some("1")).await,
        (StatusCode::NOT_FOUND, json!({"detail": "Agent not found"}))
    );
}

#[tokio::test]
async fn timeline_pages_back_with_before() {
    let api = Api::new(None).await;
    for i in 0..205 {
        api.broker()
            .message_send(1, 3, 4, &format!("m{i}"))
            .await
            .unwrap();
    }
    api.broker()
        .message_send(2, 7, 5, "other fleet")
        .await
        .unwrap();
    let (s, v) = api.get("/api/timeline", Some("1")).await;
    assert_eq!(s, StatusCode::OK);
    let page = v["messages"].as_array().unwrap();
    assert_eq!(page.len(), 200);
    assert_eq!(page[0]["body"], "m204");
    let oldest = page[199]["task_id"].as_i64().unwrap();
    let (_, v) = api
        .get(&format!("/api/timeline?before={oldest}"), Some("1"))
        .await;
    let bodies: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["m4", "m3", "m2", "m1", "m0"]);
    let (s, _) = api.get("/api/timeline?before=x", Some("1")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn sends_go_out_as_the_administrator_only() {
    let api = Api::new(None).await;
    let (s, v) = api
        .send(
            "POST",
            "/api/messages/send",
            "1",
            r#"{"from_agent_id": 2, "to_agent_id": 3, "text": "hi alice"}"#,
        )
        .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"task_id": 1, "status": "input_required"})
        )
    );
    let (s, v) = api
        .send(
            "POST",
            "/api/messages/send",
            "1",
            r#"{"from_agent_id": 2, "to_agent_id": "*", "text": "all hands"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "completed");
    assert_eq!(
        v["recipients"], 3,
        "Director, alice, bob; never the Administrator"
    );
    let cases = [
        (
            r#"{"from_agent_id": 1, "to_agent_id": 3, "text": "as director"}"#,
            StatusCode::FORBIDDEN,
        ),
        (
            r#"{"from_agent_id": 6, "to_agent_id": 3, "text": "other fleet's admin"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"from_agent_id": 2, "to_agent_id": 7, "text": "cross fleet"}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            r#"{"from_agent_id": 2, "to_agent_id": 3, "text": "   "}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"from_agent_id": 2, "to_agent_id": "all", "text": "x"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"from_agent_id": 2, "to_agent_id": 3, "text": 5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"from_agent_id": 2, "to_agent_id": 3}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("nope", StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, status) in cases {
        let (s, v) = api.send("POST", "/api/messages/send", "1", body).await;
        assert_eq!(s, status, "{body}: {v}");
        assert!(!v.to_string().to_lowercase().contains("sql"), "{v}");
    }
    // Nothing but the two good sends was stored (1 unicast + 1 summary + 3 deliveries).
    let (_, v) = api.get("/api/timeline", Some("1")).await;
    assert_eq!(v["messages"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_foreign_host_or_origin_is_refused() {
    let api = Api::new(None).await;
    let req = Request::get("/api/fleets")
        .header("host", "evil.example:8000")
        .body(Body::empty())
        .unwrap();
    let (s, _, _) = api.call(req).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for origin in [Some("http://evil.example"), None] {
        let mut b = Request::post("/api/messages/send")
            .header("host", HOST)
            .header("x-fleet-id", "1")
            .header("content-type", "application/json");
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        let req = b
            .body(Body::from(
                r#"{"from_agent_id":2,"to_agent_id":3,"text":"csrf"}"#,
            ))
            .unwrap();
        let (s, v, _) = api.call(req).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{origin:?}: {v}");
    }
    let (_, v) = api.get("/api/timeline", Some("1")).await;
    assert!(v["messages"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_configured_token_is_required_on_every_api_call() {
    let api = Api::new(Some("s3cret")).await;
    let (s, _) = api.get("/api/fleets", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let req = Request::get("/api/fleets")
        .header("host", HOST)
        .header("authorization", "Bearer s3cret")
        .body(Body::empty())
        .unwrap();
    assert_eq!(api.call(req).await.0, StatusCode::OK);
    let req = Request::get("/api/fleets?token=wrong")
        .header("host", HOST)
        .body(Body::empty())
        .unwrap();
    assert_eq!(api.call(req).await.0, StatusCode::UNAUTHORIZED);
    // With the token, a script may send without an Origin.
    let req = Request::post("/api/messages/send")
        .header("host", HOST)
        .header("x-fleet-id", "1")
        .header("x-cafleet-token", "s3cret")
        .body(Body::from(
            r#"{"from_agent_id":2,"to_agent_id":3,"text":"scripted"}"#,
        ))
        .unwrap();
    assert_eq!(api.call(req).await.0, StatusCode::OK);
    // The page itself needs no token.
    let (s, _) = api.get("/", None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_fall_back_to_the_spa_and_unknown_api_paths_are_json_404() {
    let api = Api::new(None).await;
    for path in ["/api", "/api/", "/api/unknown", "/api/fleets/"] {
        assert_eq!(
            api.get(path, None).await,
            (StatusCode::NOT_FOUND, json!({"detail": "Not Found"})),
            "{path}"
        );
    }
    let req = Request::get("/fleets/1/agents")
        .header("host", HOST)
        .body(Body::empty())
        .unwrap();
    let (s, body, headers) = api.call(req).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.as_str()
            .unwrap()
            .contains("<title>CAFleet Admin</title>")
    );
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-cache")
    );
    let (s, v) = api.send("POST", "/api/fleets", "1", "{}").await;
    assert_eq!(
        (s, v),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"detail": "Method Not Allowed"})
        )
    );
}

#[tokio::test]
async fn the_event_stream_pushes_changes_made_by_other_writers() {
    let api = Api::new(None).await;
    let req = Request::get("/api/events?fleet_id=1")
        .header("host", HOST)
        .body(Body::empty())
        .unwrap();
    let resp = router(api.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = resp.into_body();
    let mut seen = String::new();
    let mut next = async |seen: &mut String, needle: &str| {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while !seen.contains(needle) {
            let frame = tokio::time::timeout_at(deadline, body.frame())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} in {seen:?}"))
                .unwrap()
                .unwrap();
            if let Ok(data) = frame.into_data() {
                seen.push_str(&String::from_utf8_lossy(&data));
            }
        }
    };
    next(&mut seen, "event: hello").await;
    // A writer that is not the server (another connection, like a CLI process).
    let other = Db::open(api.broker().db().path(), 1).await.unwrap();
    let cli = Broker::new(other, Tmux::from_env(), 200);
    let sent = cli
        .message_send(1, 3, 4, "live from the cli")
        .await
        .unwrap();
    next(&mut seen, "live from the cli").await;
    assert!(seen.contains("event: messages"));
    cli.message_ack(1, 4, sent.task.task_id).await.unwrap();
    next(&mut seen, "\"status\":\"completed\"").await;
    cli.agent_register(1, "newcomer", "joins", None)
        .await
        .unwrap();
    next(&mut seen, "newcomer").await;
    assert!(seen.contains("event: agents"));
    // Another fleet's traffic is not streamed.
    cli.message_send(2, 7, 5, "not for fleet one")
        .await
        .unwrap();
    cli.message_send(1, 3, 4, "marker").await.unwrap();
    next(&mut seen, "marker").await;
    assert!(!seen.contains("not for fleet one"));
    // A monitor tick's stamps reach the page as an agents event, logged once per fleet
    // however many agents were woken (migration 0008).
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log")
        .fetch_one(other_pool(&cli))
        .await
        .unwrap();
    let stamp = "2026-11-27T12:34:56.789012+00:00";
    cli.monitor_stamp(&[1, 3, 4, 5], stamp).await.unwrap();
    let logged: Vec<(Option<i64>, String)> =
        sqlx::query_as("SELECT fleet_id, kind FROM change_log ORDER BY seq LIMIT -1 OFFSET ?1")
            .bind(before)
            .fetch_all(other_pool(&cli))
            .await
            .unwrap();
    let mut logged = logged;
    logged.sort();
    assert_eq!(
        logged,
        [
            (Some(1), "agent".to_string()),
            (Some(2), "agent".to_string())
        ]
    );
    next(&mut seen, stamp).await;
}

fn other_pool(b: &Broker) -> &sqlx::SqlitePool {
    b.db().pool()
}
