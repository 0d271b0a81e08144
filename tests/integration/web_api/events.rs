//! `GET /api/events`: the Server-Sent Events stream of changes made by any writer.

use super::*;
use cafleet::model::{AgentId, FleetId};

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
        .message_send(FleetId(1), AgentId(3), AgentId(4), "live from the cli")
        .await
        .unwrap();
    next(&mut seen, "live from the cli").await;
    assert!(seen.contains("event: messages"));
    cli.message_ack(FleetId(1), AgentId(4), sent.task.task_id)
        .await
        .unwrap();
    next(&mut seen, "\"status\":\"completed\"").await;
    cli.agent_register(FleetId(1), "newcomer", "joins", None)
        .await
        .unwrap();
    next(&mut seen, "newcomer").await;
    assert!(seen.contains("event: agents"));
    // Another fleet's traffic is not streamed.
    cli.message_send(FleetId(2), AgentId(7), AgentId(5), "not for fleet one")
        .await
        .unwrap();
    cli.message_send(FleetId(1), AgentId(3), AgentId(4), "marker")
        .await
        .unwrap();
    next(&mut seen, "marker").await;
    assert!(!seen.contains("not for fleet one"));
    // A monitor tick's stamps reach the page as an agents event, logged once per fleet
    // however many agents were woken (migration 0008).
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log")
        .fetch_one(other_pool(&cli))
        .await
        .unwrap();
    let stamp = "2026-11-27T12:34:56.789012+00:00";
    cli.monitor_stamp(&[AgentId(1), AgentId(3), AgentId(4), AgentId(5)], stamp)
        .await
        .unwrap();
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
