//! `POST /api/messages`: sending as the fleet's Administrator, idempotency keys and
//! delivery modes.

use super::*;
use cafleet::model::TaskId;

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
    let mut conn = api.broker().db().read().await.unwrap();
    let d = cafleet::db::deliveries::delivery(&mut conn, TaskId(1))
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
