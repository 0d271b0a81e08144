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
        crate::support::answer(&self.state, req).await
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
    // What `cafleet hook` stores: a fresh report for the Director, a stale one for agent 3.
    let fresh = cafleet::model::now_ts();
    sqlx::query(
        "INSERT INTO agent_activity (agent_id, activity, source, seen_at) VALUES
         (1, 'working', 'claude:PreToolUse', ?1),
         (3, 'idle', 'claude:Stop', '2020-01-01T00:00:00.000000+00:00')",
    )
    .bind(&fresh)
    .execute(api.broker().db().pool())
    .await
    .unwrap();
    let (s, v) = api.get("/api/agents", Some("1")).await;
    assert_eq!(s, StatusCode::OK);
    let agents = v["agents"].as_array().unwrap();
    let activity = |a: &Value| {
        (
            a["activity"].clone(),
            a["activity_seen_at"].clone(),
            a["activity_source"].clone(),
        )
    };
    assert_eq!(
        activity(&agents[0]),
        (json!("working"), json!(fresh), json!("claude:PreToolUse"))
    );
    // Stale, and no pane to read instead: unknown.
    for a in &agents[1..] {
        assert_eq!(activity(a), (json!("unknown"), Value::Null, Value::Null));
    }
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
    // An acked message reads as acked; bob has no pane, so "second" was never typed.
    assert_eq!(v["messages"][0]["delivery"], "acked");
    assert_eq!(v["messages"][1]["delivery"], "stored");
    let (_, v) = api.get("/api/agents/4/sent", Some("1")).await;
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    // alice has no pane either: the reply is stored.
    assert_eq!(v["messages"][0]["delivery"], "stored");
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
            "body",
            "delivery"
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
    // No "deliver" in the body: the default mode, idle.
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"task_id": 1, "status": "input_required", "deliver": "idle"})
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
    assert_eq!(v["deliver"], "idle");
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

/// A request as the SPA (or a script) sends it: Host and Origin of the loopback server.
fn request(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", HOST)
        .header("origin", ORIGIN)
}

/// The same database served with the access rules of another bind address.
struct Bound {
    state: AppState,
}

impl Api {
    fn bound(&self, host: &str, port: u16, token: Option<&str>) -> Bound {
        Bound {
            state: AppState {
                broker: self.state.broker.clone(),
                security: Arc::new(Security::for_bind(host, port, token.map(str::to_string))),
            },
        }
    }
}

impl Bound {
    async fn status(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (status, body, _) = crate::support::answer(&self.state, req).await;
        (status, body)
    }
}

#[tokio::test]
async fn a_wildcard_or_lan_bind_with_a_token_accepts_any_host_with_the_token() {
    let api = Api::new(None).await;
    for bind in ["0.0.0.0", "::", "192.168.1.7"] {
        let srv = api.bound(bind, 8000, Some("T0k"));
        for host in [
            "192.168.1.7:8000",
            "cafleet.lan:8000",
            "[fe80::1]:8000",
            "example.org",
        ] {
            let req = Request::get("/api/fleets")
                .header("host", host)
                .header("authorization", "Bearer T0k")
                .body(Body::empty())
                .unwrap();
            assert_eq!(srv.status(req).await.0, StatusCode::OK, "{bind} {host}");
            // Without the token, the API still refuses.
            let req = Request::get("/api/fleets")
                .header("host", host)
                .body(Body::empty())
                .unwrap();
            assert_eq!(
                srv.status(req).await.0,
                StatusCode::UNAUTHORIZED,
                "{bind} {host}"
            );
            // The page itself loads from that address (it then calls the API with the token).
            let req = Request::get("/?token=T0k")
                .header("host", host)
                .body(Body::empty())
                .unwrap();
            assert_eq!(srv.status(req).await.0, StatusCode::OK, "{bind} {host}");
        }
        // A scripted send from another machine: the token, no Origin.
        let req = Request::post("/api/messages/send")
            .header("host", "192.168.1.7:8000")
            .header("x-fleet-id", "1")
            .header("x-cafleet-token", "T0k")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"from_agent_id":2,"to_agent_id":3,"text":"from the lan"}"#,
            ))
            .unwrap();
        assert_eq!(srv.status(req).await.0, StatusCode::OK, "{bind}");
    }
    // Loopback binds keep the strict Host check, with or without a token.
    for token in [None, Some("T0k")] {
        let srv = api.bound("127.0.0.1", 8000, token);
        let req = Request::get("/api/fleets")
            .header("host", "192.168.1.7:8000")
            .header("authorization", "Bearer T0k")
            .body(Body::empty())
            .unwrap();
        let (s, v) = srv.status(req).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{token:?}");
        assert!(v["detail"].as_str().unwrap().contains("is not allowed"));
    }
    // A non-loopback bind without a token (the CLI refuses it) is strict too.
    let srv = api.bound("0.0.0.0", 8000, None);
    let req = Request::get("/api/fleets")
        .header("host", "192.168.1.7:8000")
        .body(Body::empty())
        .unwrap();
    assert_eq!(srv.status(req).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_host_without_a_port_means_port_80() {
    let api = Api::new(None).await;
    let on80 = api.bound("127.0.0.1", 80, None);
    for host in [
        "localhost",
        "LOCALHOST:80",
        "127.0.0.1",
        "[::1]",
        "[::1]:80",
    ] {
        let req = Request::get("/api/fleets")
            .header("host", host)
            .body(Body::empty())
            .unwrap();
        assert_eq!(on80.status(req).await.0, StatusCode::OK, "{host}");
    }
    // The browser leaves the default port out of Origin and Host alike; either may carry it.
    for (host, origin) in [
        ("localhost", "http://localhost"),
        ("localhost:80", "http://localhost"),
        ("localhost", "http://localhost:80"),
    ] {
        let req = Request::patch("/api/agents/1/monitor")
            .header("host", host)
            .header("origin", origin)
            .header("x-fleet-id", "1")
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        assert_eq!(on80.status(req).await.0, StatusCode::OK, "{host} {origin}");
    }
    for (host, origin) in [
        ("localhost", "http://localhost:8000"),
        ("localhost", "https://localhost"),
        ("localhost", "http://evil.example"),
        ("localhost", "null"),
    ] {
        let req = Request::patch("/api/agents/1/monitor")
            .header("host", host)
            .header("origin", origin)
            .header("x-fleet-id", "1")
            .body(Body::from("{}"))
            .unwrap();
        assert_eq!(
            on80.status(req).await.0,
            StatusCode::FORBIDDEN,
            "{host} {origin}"
        );
    }
    // On another port a portless Host is port 80, so it is foreign.
    let req = Request::get("/api/fleets")
        .header("host", "localhost")
        .body(Body::empty())
        .unwrap();
    assert_eq!(api.call(req).await.0, StatusCode::FORBIDDEN);
    for host in [
        "",
        "localhost:x",
        "localhost:08000",
        "localhost:8000/x",
        "a@localhost:8000",
    ] {
        let req = Request::get("/api/fleets")
            .header("host", host)
            .body(Body::empty())
            .unwrap();
        assert_eq!(api.call(req).await.0, StatusCode::FORBIDDEN, "{host:?}");
    }
}

#[tokio::test]
async fn a_deleted_fleet_is_not_found_on_every_fleet_scoped_endpoint() {
    let api = Api::new(None).await;
    api.broker()
        .message_send(1, 3, 4, "before the delete")
        .await
        .unwrap();
    api.broker().fleet_delete(1).await.unwrap();
    let gone = (StatusCode::NOT_FOUND, json!({"detail": "Fleet not found"}));
    for path in [
        "/api/agents",
        "/api/monitor",
        "/api/timeline",
        "/api/agents/3/inbox",
        "/api/agents/4/sent",
        "/api/agents/1/monitor",
        "/api/events",
        "/api/events?fleet_id=1",
    ] {
        let fleet = if path.contains("fleet_id") {
            None
        } else {
            Some("1")
        };
        assert_eq!(api.get(path, fleet).await, gone, "{path}");
    }
    assert_eq!(
        api.send(
            "PATCH",
            "/api/agents/1/monitor",
            "1",
            r#"{"enabled":false}"#
        )
        .await,
        gone
    );
    assert_eq!(
        api.send(
            "POST",
            "/api/messages/send",
            "1",
            r#"{"from_agent_id":2,"to_agent_id":3,"text":"x"}"#
        )
        .await,
        gone
    );
    // The live fleet is untouched.
    assert_eq!(api.get("/api/agents", Some("2")).await.0, StatusCode::OK);
}

fn task_ids(v: &Value) -> Vec<i64> {
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["task_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn inbox_and_sent_page_back_with_before_and_limit() {
    let api = Api::new(None).await;
    let b = api.broker();
    for i in 0..205 {
        b.message_send(1, 3, 4, &format!("m{i}")).await.unwrap();
    }
    b.message_send(1, 4, 3, "reply").await.unwrap();
    // Acking the oldest moves it to the top: pages follow the state-change order.
    b.message_ack(1, 4, 1).await.unwrap();
    for (path, total) in [("/api/agents/4/inbox", 205), ("/api/agents/3/sent", 205)] {
        let (s, v) = api.get(path, Some("1")).await;
        assert_eq!(s, StatusCode::OK);
        let first = task_ids(&v);
        assert_eq!(first.len(), 200, "{path}: a page is 200 by default");
        assert_eq!(first[0], 1, "{path}: the ack moved task 1 up");
        assert_eq!(first[1], 205);
        let (_, v) = api
            .get(&format!("{path}?before={}", first[199]), Some("1"))
            .await;
        let rest = task_ids(&v);
        assert_eq!(rest, [6, 5, 4, 3, 2], "{path}");
        let mut all = first.clone();
        all.extend(&rest);
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), total, "{path}: every message exactly once");
        // A smaller page, then the next from its cursor.
        let (_, v) = api.get(&format!("{path}?limit=3"), Some("1")).await;
        assert_eq!(task_ids(&v), [1, 205, 204]);
        let (_, v) = api
            .get(&format!("{path}?limit=2&before=204"), Some("1"))
            .await;
        assert_eq!(task_ids(&v), [203, 202]);
        for bad in ["before=x", "limit=0", "limit=1001", "limit=abc"] {
            let (s, v) = api.get(&format!("{path}?{bad}"), Some("1")).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}?{bad}");
            assert_eq!(v["detail"][0]["loc"][0], "query", "{path}?{bad}");
        }
    }
    // The timeline takes the same limit.
    let (_, v) = api.get("/api/timeline?limit=2", Some("1")).await;
    assert_eq!(task_ids(&v), [1, 206]);
}

#[tokio::test]
async fn patching_a_monitor_is_404_only_when_not_enrolled() {
    let api = Api::new(None).await;
    for agent in ["2", "3", "5", "999"] {
        assert_eq!(
            api.send(
                "PATCH",
                &format!("/api/agents/{agent}/monitor"),
                "1",
                r#"{"enabled":false}"#
            )
            .await,
            (
                StatusCode::NOT_FOUND,
                json!({"detail": "Agent not enrolled"})
            ),
            "agent {agent}"
        );
    }
    // A failing update of an enrolled agent is the server error it is, not "not enrolled".
    sqlx::query(
        "CREATE TRIGGER fail_update BEFORE UPDATE ON monitor_config \
         BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
    )
    .execute(api.broker().db().pool())
    .await
    .unwrap();
    let (s, v) = api
        .send(
            "PATCH",
            "/api/agents/1/monitor",
            "1",
            r#"{"interval_seconds":60}"#,
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    assert_ne!(v["detail"], "Agent not enrolled");
    assert!(
        !v.to_string().contains("disk on fire"),
        "no raw SQL error: {v}"
    );
}

#[tokio::test]
async fn wrong_methods_are_405_with_the_routes_own_allow_header() {
    let api = Api::new(None).await;
    for (method, path, allow) in [
        ("GET", "/api/messages/send", "POST"),
        ("DELETE", "/api/messages/send", "POST"),
        ("OPTIONS", "/api/messages/send", "POST"),
        ("PUT", "/api/fleets", "GET,HEAD"),
        ("DELETE", "/api/timeline", "GET,HEAD"),
        ("POST", "/api/agents/1/monitor", "GET,HEAD,PATCH"),
        ("POST", "/api/unknown", "GET, HEAD"),
        ("POST", "/api", "GET, HEAD"),
        ("POST", "/", "GET, HEAD"),
        ("POST", "/fleets/1", "GET, HEAD"),
        ("PUT", "/assets/missing.js", "GET, HEAD"),
        ("DELETE", "/ui/x", "GET, HEAD"),
    ] {
        let req = request(method, path)
            .header("x-fleet-id", "1")
            .body(Body::empty())
            .unwrap();
        let (s, v, headers) = api.call(req).await;
        assert_eq!(
            (s, v),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"detail": "Method Not Allowed"})
            ),
            "{method} {path}"
        );
        let got: Vec<String> = headers["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_string())
            .collect();
        let want: Vec<String> = allow.split(',').map(|m| m.trim().to_string()).collect();
        let (mut got, mut want) = (got, want);
        got.sort();
        want.sort();
        assert_eq!(got, want, "{method} {path}");
    }
    // HEAD works wherever GET does; unknown API paths stay 404 for GET and HEAD.
    for (method, path, status) in [
        ("HEAD", "/api/fleets", StatusCode::OK),
        ("HEAD", "/fleets/1/agents", StatusCode::OK),
        ("GET", "/api/unknown", StatusCode::NOT_FOUND),
        ("HEAD", "/api/unknown", StatusCode::NOT_FOUND),
    ] {
        let req = request(method, path).body(Body::empty()).unwrap();
        assert_eq!(api.call(req).await.0, status, "{method} {path}");
    }
}

#[tokio::test]
async fn the_fleet_header_is_checked_before_the_body_shape() {
    let api = Api::new(None).await;
    let required = (
        StatusCode::BAD_REQUEST,
        json!({"detail": "X-Fleet-Id header required"}),
    );
    for (method, path) in [
        ("POST", "/api/messages/send"),
        ("PATCH", "/api/agents/1/monitor"),
    ] {
        for (body, ctype) in [
            ("", Some("application/json")),
            ("", None),
            ("[]", Some("application/json")),
            ("null", None),
            ("{}", Some("text/plain")),
            ("{not json", Some("text/plain")),
        ] {
            let mut b = request(method, path);
            if let Some(ct) = ctype {
                b = b.header("content-type", ct);
            }
            let (s, v, _) = api.call(b.body(Body::from(body)).unwrap()).await;
            assert_eq!((s, v), required, "{method} {body:?} {ctype:?}");
        }
        // Only a JSON syntax error comes first.
        let req = request(method, path)
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .unwrap();
        let (s, v, _) = api.call(req).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{method}");
        assert_eq!(v["detail"][0]["type"], "json_invalid");
        // With the header: a non-JSON content type is not an object (as in 0.14), even
        // when the text would parse as one.
        for (body, ctype, kind) in [
            (
                r#"{"enabled":false}"#,
                "text/plain",
                "model_attributes_type",
            ),
            (
                "{not json",
                "text/plain; charset=utf-8",
                "model_attributes_type",
            ),
            (
                "enabled=false",
                "application/x-www-form-urlencoded",
                "model_attributes_type",
            ),
            ("", "text/plain", "missing"),
            ("[]", "application/json", "model_attributes_type"),
        ] {
            let req = request(method, path)
                .header("x-fleet-id", "1")
                .header("content-type", ctype)
                .body(Body::from(body))
                .unwrap();
            let (s, v, _) = api.call(req).await;
            assert_eq!(
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {body} {ctype}"
            );
            assert_eq!(v["detail"][0]["type"], kind, "{method} {body} {ctype}");
        }
    }
    // JSON subtypes and parameters are JSON.
    for ctype in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ] {
        let req = request("PATCH", "/api/agents/1/monitor")
            .header("x-fleet-id", "1")
            .header("content-type", ctype)
            .body(Body::from(r#"{"interval_seconds":90}"#))
            .unwrap();
        let (s, v, _) = api.call(req).await;
        assert_eq!(
            (s, v["interval_seconds"].clone()),
            (StatusCode::OK, json!(90)),
            "{ctype}"
        );
    }
}

#[tokio::test]
async fn an_api_send_repeated_with_its_idempotency_key_returns_the_original() {
    let api = Api::new(None).await;
    let body =
        r#"{"from_agent_id": 2, "to_agent_id": 3, "text": "hi", "idempotency_key": "web-1"}"#;
    let (s, v) = api.send("POST", "/api/messages/send", "1", body).await;
    // No "deliver" in the body: the default mode, idle.
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"task_id": 1, "status": "input_required", "deliver": "idle"})
        )
    );
    let (s, v) = api.send("POST", "/api/messages/send", "1", body).await;
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"task_id": 1, "status": "input_required", "deliver": "idle", "repeated": true})
        )
    );
    let all =
        r#"{"from_agent_id": 2, "to_agent_id": "*", "text": "all", "idempotency_key": "web-2"}"#;
    let (_, first) = api.send("POST", "/api/messages/send", "1", all).await;
    let (s, again) = api.send("POST", "/api/messages/send", "1", all).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["task_id"], first["task_id"]);
    assert_eq!(again["recipients"], first["recipients"]);
    assert_eq!(again["repeated"], true);
    for (body, status) in [
        (
            r#"{"from_agent_id": 2, "to_agent_id": 3, "text": "other", "idempotency_key": "web-1"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"from_agent_id": 2, "to_agent_id": 3, "text": "x", "idempotency_key": 5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"from_agent_id": 2, "to_agent_id": 3, "text": "x", "idempotency_key": ""}"#,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, v) = api.send("POST", "/api/messages/send", "1", body).await;
        assert_eq!(s, status, "{body}: {v}");
    }
}

#[tokio::test]
async fn an_api_send_takes_a_delivery_mode_and_refuses_an_unknown_one() {
    let api = Api::new(None).await;
    let (s, v) = api
        .send(
            "POST",
            "/api/messages/send",
            "1",
            r#"{"from_agent_id": 2, "to_agent_id": 3, "text": "later", "deliver": "queue"}"#,
        )
        .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"task_id": 1, "status": "input_required", "deliver": "queue"})
        )
    );
    let (_, v) = api
        .send(
            "POST",
            "/api/messages/send",
            "1",
            r#"{"from_agent_id": 2, "to_agent_id": "*", "text": "all", "deliver": "now"}"#,
        )
        .await;
    assert_eq!(v["deliver"], "now", "{v}");
    // Stored with its mode.
    let mut conn = api.broker().db().pool().acquire().await.unwrap();
    let d = cafleet::db::deliveries::delivery(&mut conn, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.mode, cafleet::delivery::DeliverMode::Queue);
    drop(conn);
    for (body, status) in [
        (
            r#"{"from_agent_id": 2, "to_agent_id": 3, "text": "x", "deliver": "soon"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"from_agent_id": 2, "to_agent_id": 3, "text": "x", "deliver": 1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (s, v) = api.send("POST", "/api/messages/send", "1", body).await;
        assert_eq!(s, status, "{body}: {v}");
        if s == StatusCode::BAD_REQUEST {
            assert!(
                v["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("unknown delivery mode 'soon'"),
                "{v}"
            );
        }
    }
    // Nothing stored by the refusals.
    let (_, inbox) = api.get("/api/agents/3/inbox", Some("1")).await;
    assert_eq!(
        inbox["messages"].as_array().map(Vec::len),
        Some(2),
        "{inbox}"
    );
}
