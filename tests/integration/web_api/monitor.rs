//! `GET /api/monitor` and an agent's schedule: `GET` and `PATCH /api/agents/{id}/monitor`.

use super::*;

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
    if api.env.pg.is_some() {
        api.env.query_aside(
            "CREATE FUNCTION fail_update() RETURNS TRIGGER LANGUAGE plpgsql \
             AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$",
        );
        api.env.query_aside(
            "CREATE TRIGGER fail_update BEFORE UPDATE ON monitor_config \
             FOR EACH ROW EXECUTE FUNCTION fail_update()",
        );
    } else {
        api.env.query_aside(
            "CREATE TRIGGER fail_update BEFORE UPDATE ON monitor_config \
             BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
        );
    }
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
