//! Idempotency keys on `message_send_mode` and `message_broadcast_mode`: a repeat returns
//! the original and stores nothing, a key reused for another message is a conflict.

use super::*;
use cafleet::Error;
use cafleet::broker::{BroadcastOutcome, SendOutcome};
use cafleet::delivery::DeliverMode;

const MODE: DeliverMode = DeliverMode::Queue;

/// A keyed unicast in fleet 1.
async fn send(
    store: &Store,
    from: AgentId,
    to: AgentId,
    text: &str,
    key: &str,
) -> cafleet::Result<SendOutcome> {
    store
        .message_send_mode(ALPHA, from, to, text, Some(key), MODE)
        .await
}

/// alice's keyed broadcast in fleet 1.
async fn broadcast(store: &Store, text: &str, key: &str) -> cafleet::Result<BroadcastOutcome> {
    store
        .message_broadcast_mode(ALPHA, ALICE, text, Some(key), MODE)
        .await
}

#[tokio::test]
async fn a_repeated_send_returns_the_original_and_stores_nothing() {
    let store = two_fleets().await;
    let first = send(&store, ALICE, BOB, "once", "k1").await.unwrap();
    assert!(!first.repeated);
    let again = send(&store, ALICE, BOB, "once", "k1").await.unwrap();
    assert!(again.repeated);
    assert!(!again.notification_sent);
    assert_eq!(again.task.task_id, first.task.task_id);
    assert_eq!(store.message_poll(ALPHA, BOB).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_key_reused_for_another_message_is_a_conflict() {
    let store = two_fleets().await;
    send(&store, ALICE, BOB, "once", "k1").await.unwrap();
    assert_err!(
        send(&store, ALICE, BOB, "other text", "k1").await,
        Error::Conflict(_)
    );
    assert_err!(
        send(&store, ALICE, DIRECTOR, "once", "k1").await,
        Error::Conflict(_)
    );
    assert_err!(broadcast(&store, "once", "k1").await, Error::Conflict(_));
    assert_eq!(store.timeline(ALPHA, None, 50).await.unwrap().len(), 1);
}

#[tokio::test]
async fn keys_belong_to_their_sender() {
    let store = two_fleets().await;
    let alices = send(&store, ALICE, BOB, "same", "k").await.unwrap();
    let directors = send(&store, DIRECTOR, BOB, "same", "k").await.unwrap();
    assert!(!directors.repeated);
    assert_ne!(directors.task.task_id, alices.task.task_id);
    assert_eq!(store.message_poll(ALPHA, BOB).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_repeated_broadcast_returns_the_original_summary() {
    let store = two_fleets().await;
    let first = broadcast(&store, "all", "b1").await.unwrap();
    let again = broadcast(&store, "all", "b1").await.unwrap();
    assert!(again.repeated);
    assert_eq!(again.summary.task_id, first.summary.task_id);
    assert_eq!(again.recipients, first.recipients);
    assert_eq!(again.notified, 0);
    assert_eq!(store.message_poll(ALPHA, BOB).await.unwrap().len(), 1);
    assert_err!(broadcast(&store, "changed", "b1").await, Error::Conflict(_));
    assert_err!(
        send(&store, ALICE, BOB, "all", "b1").await,
        Error::Conflict(_)
    );
}

#[tokio::test]
async fn a_blank_long_or_control_key_is_a_usage_error() {
    let store = two_fleets().await;
    let long = "k".repeat(cafleet::broker::MAX_IDEMPOTENCY_KEY + 1);
    for key in ["", "  ", long.as_str(), "a\nb"] {
        assert_err!(send(&store, ALICE, BOB, "x", key).await, Error::Usage(_));
        assert_err!(broadcast(&store, "x", key).await, Error::Usage(_));
    }
    assert!(store.timeline(ALPHA, None, 50).await.unwrap().is_empty());
}
