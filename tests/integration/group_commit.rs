//! Group commit (`Db::with_group_commit`, used by `cafleet server`): concurrent writes of one
//! process share a transaction, yet each succeeds or fails on its own, and every reported
//! success is committed.

use cafleet::broker::Broker;
use cafleet::db::Db;
use cafleet::model::CodingAgent;
use cafleet::model::{AgentId, FleetId};
use cafleet::tmux::Tmux;
use futures::future::join_all;

use crate::support::unreachable_pane as pane;

/// Fleet 1 (Director 1, Administrator 2) with agents 3 and 4, on a group-committing broker.
async fn fleet(dir: &tempfile::TempDir) -> Broker {
    let db = Db::open(&dir.path().join("c.db"), 4).await.unwrap();
    db.migrate().await.unwrap();
    let broker = Broker::new(db.with_group_commit(), Tmux::from_env(), 200);
    broker
        .fleet_create(None, CodingAgent::Claude, &pane())
        .await
        .unwrap();
    for name in ["a", "b"] {
        broker
            .agent_register(FleetId(1), name, "d", None)
            .await
            .unwrap();
    }
    broker
}

/// One text column as a connection of its own (as another process would) sees it.
async fn committed(dir: &tempfile::TempDir, sql: &str) -> Vec<String> {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("c.db"));
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
}

async fn committed_texts(dir: &tempfile::TempDir) -> Vec<String> {
    committed(
        dir,
        "SELECT text FROM tasks WHERE type = 'unicast' ORDER BY task_id",
    )
    .await
}

#[tokio::test]
async fn concurrent_sends_each_get_their_own_id_and_all_are_committed() {
    let dir = tempfile::tempdir().unwrap();
    let broker = fleet(&dir).await;
    let texts: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let sends = texts
        .iter()
        .map(|t| broker.message_send(FleetId(1), AgentId(3), AgentId(4), t));
    let outcomes = join_all(sends).await;
    let mut ids = Vec::new();
    for (outcome, text) in outcomes.into_iter().zip(&texts) {
        let sent = outcome.unwrap();
        assert_eq!(&sent.task.text, text);
        ids.push(sent.task.task_id);
    }
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 200, "ids {ids:?}");
    let mut stored = committed_texts(&dir).await;
    stored.sort();
    let mut want = texts.clone();
    want.sort();
    assert_eq!(stored, want);
}

#[tokio::test]
async fn a_failing_write_in_a_batch_leaves_the_others_committed() {
    let dir = tempfile::tempdir().unwrap();
    let broker = fleet(&dir).await;
    // Every other send names an agent that does not exist; all are queued together.
    let sends = (0..40).map(|i| {
        let to = if i % 2 == 0 { 4 } else { 999 };
        let text = format!("m{i}");
        let broker = &broker;
        async move {
            (
                i,
                broker
                    .message_send(FleetId(1), AgentId(3), AgentId(to), &text)
                    .await,
            )
        }
    });
    for (i, outcome) in join_all(sends).await {
        match outcome {
            Ok(sent) => assert_eq!(i % 2, 0, "send {i} to a missing agent succeeded: {sent:?}"),
            Err(e) => {
                assert_eq!(i % 2, 1, "send {i} failed: {e}");
                assert_eq!(e.to_string(), "Destination agent not found: 999");
            }
        }
    }
    let want: Vec<String> = (0..40).step_by(2).map(|i| format!("m{i}")).collect();
    let mut stored = committed_texts(&dir).await;
    stored.sort_by_key(|t| t[1..].parse::<u32>().unwrap());
    assert_eq!(stored, want);
}

#[tokio::test]
async fn two_acks_of_one_message_in_a_batch_succeed_once() {
    let dir = tempfile::tempdir().unwrap();
    let broker = fleet(&dir).await;
    let id = broker
        .message_send(FleetId(1), AgentId(3), AgentId(4), "x")
        .await
        .unwrap()
        .task
        .task_id;
    let (first, second) = tokio::join!(
        broker.message_ack(FleetId(1), AgentId(4), id),
        broker.message_ack(FleetId(1), AgentId(4), id)
    );
    let (ok, refused) = match (first, second) {
        (Ok(t), Err(e)) | (Err(e), Ok(t)) => (t, e),
        other => panic!("want one success and one refusal, got {other:?}"),
    };
    assert_eq!(ok.status_state, "completed");
    assert_eq!(refused.to_string(), "Cannot ACK task in state completed");
}

#[tokio::test]
async fn a_panicking_write_fails_alone_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let broker = fleet(&dir).await;
    let db = broker.db();
    let insert = |label: &'static str| {
        db.write(move |conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO fleets (label, created_at) VALUES (?1, '2026-01-01T00:00:00.000000+00:00')")
                    .bind(label)
                    .execute(conn.sqlite_conn())
                    .await
                    .map_err(cafleet::Error::from)?;
                Ok(label)
            })
        })
    };
    let boom = db.write(|conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO fleets (label, created_at) VALUES ('boom', 'x')")
                .execute(conn.sqlite_conn())
                .await
                .map_err(cafleet::Error::from)?;
            if std::hint::black_box(true) {
                panic!("a bug in a write");
            }
            Ok("unreachable")
        })
    });
    let (a, b, c) = tokio::join!(insert("before"), boom, insert("after"));
    assert_eq!(a.unwrap(), "before");
    assert_eq!(c.unwrap(), "after");
    let e = b.unwrap_err().to_string();
    assert!(e.contains("internal error"), "{e}");
    // The writer still works, and the panicking write left nothing behind.
    assert_eq!(insert("later").await.unwrap(), "later");
    let labels = committed(
        &dir,
        "SELECT label FROM fleets WHERE label IS NOT NULL ORDER BY fleet_id",
    )
    .await;
    assert_eq!(labels, ["before", "after", "later"]);
}
