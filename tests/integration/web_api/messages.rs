//! Reading messages: the timeline and each agent's inbox and sent box, paged with
//! `before` and `limit`.

use super::*;
use cafleet::model::{AgentId, FleetId, TaskId};

#[tokio::test]
async fn inbox_and_sent_are_newest_first_and_fleet_scoped() {
    let api = Api::new(None).await;
    let b = api.broker();
    b.message_send(FleetId(1), AgentId(3), AgentId(4), "first")
        .await
        .unwrap();
    b.message_send(FleetId(1), AgentId(3), AgentId(4), "second")
        .await
        .unwrap();
    b.message_send(FleetId(1), AgentId(4), AgentId(3), "reply")
        .await
        .unwrap();
    b.message_ack(FleetId(1), AgentId(4), TaskId(1))
        .await
        .unwrap();
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
            .message_send(FleetId(1), AgentId(3), AgentId(4), &format!("m{i}"))
            .await
            .unwrap();
    }
    api.broker()
        .message_send(FleetId(2), AgentId(7), AgentId(5), "other fleet")
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
        b.message_send(FleetId(1), AgentId(3), AgentId(4), &format!("m{i}"))
            .await
            .unwrap();
    }
    b.message_send(FleetId(1), AgentId(4), AgentId(3), "reply")
        .await
        .unwrap();
    // Acking the oldest moves it to the top: pages follow the state-change order.
    b.message_ack(FleetId(1), AgentId(4), TaskId(1))
        .await
        .unwrap();
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
