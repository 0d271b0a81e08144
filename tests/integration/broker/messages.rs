//! `message_send`, `message_broadcast`, `message_poll`, `message_ack`, `message_cancel` and
//! `message_show`: blank text, fleet boundaries, retired parties, who may ack and cancel,
//! and the states a delivery moves through.

use super::*;
use cafleet::Error;
use cafleet::delivery::DeliveryState;
use cafleet::model::{AgentId, TaskId};
use cafleet::model::{
    STATE_CANCELED, STATE_COMPLETED, STATE_INPUT_REQUIRED, TYPE_BROADCAST_SUMMARY, TYPE_UNICAST,
};

/// alice's unicast to bob; its task id.
async fn alice_to_bob(store: &Store, text: &str) -> TaskId {
    store
        .message_send(ALPHA, ALICE, BOB, text)
        .await
        .unwrap()
        .task
        .task_id
}

/// How far the delivery of `task` got.
async fn delivery_state(store: &Store, task: TaskId) -> DeliveryState {
    let record = store.delivery_record(task).await.unwrap();
    record.expect("a delivery record").state
}

#[tokio::test]
async fn send_stores_an_open_unicast_for_the_recipient() {
    let store = two_fleets().await;
    let sent = store
        .message_send(ALPHA, ALICE, BOB, "hello")
        .await
        .unwrap();
    assert!(!sent.repeated);
    assert!(!sent.notification_sent, "bob has no pane");
    let task = &sent.task;
    assert_eq!(
        (task.from_agent_id, task.to_agent_id, task.context_id),
        (ALICE, BOB, BOB)
    );
    assert_eq!(task.r#type, TYPE_UNICAST);
    assert_eq!(task.status_state, STATE_INPUT_REQUIRED);
    assert_eq!(task.origin_task_id, None);
    assert_eq!(task.text, "hello");
    assert_eq!(sent.delivery.task_id, task.task_id);
    assert_eq!(sent.delivery.state, DeliveryState::Stored);
}

#[tokio::test]
async fn send_and_broadcast_refuse_blank_text() {
    let store = two_fleets().await;
    for blank in ["", " ", "\n\t "] {
        assert_err!(
            store.message_send(ALPHA, ALICE, BOB, blank).await,
            Error::Invalid(_)
        );
        assert_err!(
            store.message_broadcast(ALPHA, ALICE, blank).await,
            Error::Invalid(_)
        );
    }
    assert!(store.timeline(ALPHA, None, 50).await.unwrap().is_empty());
}

#[tokio::test]
async fn send_refuses_parties_outside_the_fleet() {
    let store = two_fleets().await;
    // A sender of another fleet, a recipient of another fleet, unknown ones.
    for (sender, to) in [
        (EVE, BOB),
        (ALICE, EVE),
        (AgentId(NOBODY), BOB),
        (ALICE, AgentId(NOBODY)),
    ] {
        assert_err!(
            store.message_send(ALPHA, sender, to, "x").await,
            Error::NotFound(_)
        );
    }
    assert!(store.timeline(ALPHA, None, 50).await.unwrap().is_empty());
    assert!(store.timeline(BETA, None, 50).await.unwrap().is_empty());
}

#[tokio::test]
async fn send_refuses_a_deregistered_sender_or_recipient() {
    let store = two_fleets().await;
    store
        .agent_register(ALPHA, "carol", "d", None)
        .await
        .unwrap();
    store.agent_deregister(ALPHA, BOB).await.unwrap();
    let text = assert_err!(
        store.message_send(ALPHA, BOB, ALICE, "x").await,
        Error::NotFound(_)
    );
    assert!(text.contains("Sender"), "{text}");
    let text = assert_err!(
        store.message_send(ALPHA, ALICE, BOB, "x").await,
        Error::NotFound(_)
    );
    assert!(text.contains("Destination"), "{text}");
    assert_err!(
        store.message_broadcast(ALPHA, BOB, "x").await,
        Error::NotFound(_)
    );
}

#[tokio::test]
async fn broadcast_stores_a_summary_and_one_delivery_per_other_agent() {
    let store = two_fleets().await;
    let sent = store
        .message_broadcast(ALPHA, ALICE, "all hands")
        .await
        .unwrap();
    // The Director and bob; never the Administrator, the sender or another fleet.
    assert_eq!(sent.recipients, 2);
    assert!(!sent.repeated);
    let summary = &sent.summary;
    assert_eq!(summary.r#type, TYPE_BROADCAST_SUMMARY);
    assert_eq!(summary.status_state, STATE_COMPLETED);
    assert_eq!(
        (
            summary.from_agent_id,
            summary.to_agent_id,
            summary.context_id
        ),
        (ALICE, AgentId(0), ALICE)
    );
    assert_eq!(summary.origin_task_id, Some(summary.task_id));
    assert_eq!(summary.text, "Broadcast sent to 2 recipients");
    let inbox = store.message_poll(ALPHA, BOB).await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].text, "all hands");
    assert_eq!(inbox[0].origin_task_id, Some(summary.task_id));
    assert!(store.message_poll(ALPHA, ADMIN).await.unwrap().is_empty());
    assert!(store.message_poll(BETA, EVE).await.unwrap().is_empty());
}

#[tokio::test]
async fn broadcast_refuses_a_sender_of_another_fleet() {
    let store = two_fleets().await;
    assert_err!(
        store.message_broadcast(ALPHA, EVE, "x").await,
        Error::NotFound(_)
    );
    assert!(store.message_poll(ALPHA, BOB).await.unwrap().is_empty());
}

#[tokio::test]
async fn poll_lists_open_deliveries_newest_first_and_marks_them_seen() {
    let store = two_fleets().await;
    let first = alice_to_bob(&store, "one").await;
    let second = alice_to_bob(&store, "two").await;
    let ids: Vec<_> = store
        .message_poll(ALPHA, BOB)
        .await
        .unwrap()
        .iter()
        .map(|t| t.task_id)
        .collect();
    assert_eq!(ids, [second, first]);
    assert_eq!(delivery_state(&store, first).await, DeliveryState::Seen);
    // Acked ones leave the inbox; alice's own inbox is empty.
    store.message_ack(ALPHA, BOB, first).await.unwrap();
    let inbox = store.message_poll(ALPHA, BOB).await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].task_id, second);
    assert!(store.message_poll(ALPHA, ALICE).await.unwrap().is_empty());
}

#[tokio::test]
async fn poll_refuses_callers_outside_the_fleet_and_retired_ones() {
    let store = two_fleets().await;
    assert_err!(store.message_poll(ALPHA, EVE).await, Error::NotFound(_));
    assert_err!(
        store.message_poll(ALPHA, AgentId(NOBODY)).await,
        Error::NotFound(_)
    );
    store.agent_deregister(ALPHA, BOB).await.unwrap();
    assert_err!(store.message_poll(ALPHA, BOB).await, Error::Forbidden(_));
}

#[tokio::test]
async fn ack_completes_a_delivery_only_for_its_recipient() {
    let store = two_fleets().await;
    let task = alice_to_bob(&store, "hello").await;
    assert_err!(
        store.message_ack(ALPHA, ALICE, task).await,
        Error::Forbidden(_)
    );
    assert_err!(
        store.message_ack(ALPHA, DIRECTOR, task).await,
        Error::Forbidden(_)
    );
    let acked = store.message_ack(ALPHA, BOB, task).await.unwrap();
    assert_eq!(acked.task_id, task);
    assert_eq!(acked.status_state, STATE_COMPLETED);
    assert_eq!(delivery_state(&store, task).await, DeliveryState::Acked);
}

#[tokio::test]
async fn cancel_withdraws_a_delivery_only_for_its_sender() {
    let store = two_fleets().await;
    let task = alice_to_bob(&store, "hello").await;
    assert_err!(
        store.message_cancel(ALPHA, BOB, task).await,
        Error::Forbidden(_)
    );
    let canceled = store.message_cancel(ALPHA, ALICE, task).await.unwrap();
    assert_eq!(canceled.status_state, STATE_CANCELED);
    assert_eq!(delivery_state(&store, task).await, DeliveryState::Canceled);
    assert!(store.message_poll(ALPHA, BOB).await.unwrap().is_empty());
}

#[tokio::test]
async fn ack_and_cancel_conflict_with_a_closed_delivery() {
    let store = two_fleets().await;
    let acked = alice_to_bob(&store, "acked").await;
    store.message_ack(ALPHA, BOB, acked).await.unwrap();
    assert_err!(
        store.message_ack(ALPHA, BOB, acked).await,
        Error::Conflict(_)
    );
    assert_err!(
        store.message_cancel(ALPHA, ALICE, acked).await,
        Error::Conflict(_)
    );
    let canceled = alice_to_bob(&store, "canceled").await;
    store.message_cancel(ALPHA, ALICE, canceled).await.unwrap();
    assert_err!(
        store.message_cancel(ALPHA, ALICE, canceled).await,
        Error::Conflict(_)
    );
    assert_err!(
        store.message_ack(ALPHA, BOB, canceled).await,
        Error::Conflict(_)
    );
    // A broadcast's summary is complete from birth.
    let summary = store.message_broadcast(ALPHA, ALICE, "b").await.unwrap();
    assert_err!(
        store
            .message_cancel(ALPHA, ALICE, summary.summary.task_id)
            .await,
        Error::Conflict(_)
    );
}

#[tokio::test]
async fn ack_and_cancel_do_not_see_tasks_of_another_fleet() {
    let store = two_fleets().await;
    let ours = alice_to_bob(&store, "ours").await;
    let theirs = store.message_send(BETA, EVE, EVE, "theirs").await.unwrap();
    let theirs = theirs.task.task_id;
    assert_err!(
        store.message_ack(ALPHA, BOB, theirs).await,
        Error::NotFound(_)
    );
    assert_err!(
        store.message_cancel(ALPHA, ALICE, theirs).await,
        Error::NotFound(_)
    );
    assert_err!(
        store.message_ack(ALPHA, BOB, TaskId(NOBODY)).await,
        Error::NotFound(_)
    );
    // A caller of another fleet is refused before the task is looked at.
    assert_err!(
        store.message_ack(ALPHA, EVE, ours).await,
        Error::NotFound(_)
    );
    assert_err!(store.message_ack(BETA, EVE, ours).await, Error::NotFound(_));
    store.agent_deregister(ALPHA, BOB).await.unwrap();
    assert_err!(
        store.message_ack(ALPHA, BOB, ours).await,
        Error::Forbidden(_)
    );
}

#[tokio::test]
async fn show_finds_any_task_of_the_fleet_and_nothing_else() {
    let store = two_fleets().await;
    let task = alice_to_bob(&store, "hello").await;
    // Not only its parties: any agent of the fleet.
    let shown = store.message_show(ALPHA, DIRECTOR, task).await.unwrap();
    assert_eq!(shown.text, "hello");
    assert_eq!(shown.status_state, STATE_INPUT_REQUIRED);
    assert_err!(
        store.message_show(BETA, EVE, task).await,
        Error::NotFound(_)
    );
    assert_err!(
        store.message_show(ALPHA, EVE, task).await,
        Error::NotFound(_)
    );
    assert_err!(
        store.message_show(ALPHA, ALICE, TaskId(NOBODY)).await,
        Error::NotFound(_)
    );
    store.agent_deregister(ALPHA, BOB).await.unwrap();
    assert_err!(
        store.message_show(ALPHA, BOB, task).await,
        Error::Forbidden(_)
    );
}
