//! `GET /api/fleets` and `GET /api/agents`, and the `X-Fleet-Id` header every fleet-scoped
//! endpoint requires: missing, malformed, unknown or deleted fleets.

use super::*;
use cafleet::model::{AgentId, FleetId};

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
        .message_send(FleetId(1), AgentId(3), AgentId(4), "hello bob")
        .await
        .unwrap();
    api.broker()
        .agent_deregister(FleetId(1), AgentId(4))
        .await
        .unwrap();
    api.broker()
        .agent_register(FleetId(1), "quiet", "no messages", None)
        .await
        .unwrap();
    api.broker()
        .agent_deregister(FleetId(1), AgentId(8))
        .await
        .unwrap();
    // What `cafleet hook` stores: a fresh report for the Director, a stale one for agent 3.
    let fresh = cafleet::model::now_ts();
    api.env.query_aside(&format!(
        "INSERT INTO agent_activity (agent_id, activity, source, seen_at) VALUES
         (1, 'working', 'claude:PreToolUse', '{fresh}'),
         (3, 'idle', 'claude:Stop', '2020-01-01T00:00:00.000000+00:00')"
    ));
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
async fn a_deleted_fleet_is_not_found_on_every_fleet_scoped_endpoint() {
    let api = Api::new(None).await;
    api.broker()
        .message_send(FleetId(1), AgentId(3), AgentId(4), "before the delete")
        .await
        .unwrap();
    api.broker().fleet_delete(FleetId(1)).await.unwrap();
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
