//! The WebUI's operations (`src/broker/webui.rs`): sending as the Administrator, the agent
//! cards, the timeline, mailboxes, the change feed and whether a fleet is live.

use super::*;
use cafleet::Error;
use cafleet::broker::webui::{Audience, MonitorCard, WebSent};
use cafleet::delivery::DeliverMode;
use cafleet::model::{AgentId, FleetId};
use cafleet::model::{AgentKind, AgentRole, AgentStatus, MessageStatus, TaskId};

const MODE: DeliverMode = DeliverMode::Queue;

/// alice's queued unicast to bob; its task id.
async fn alice_to_bob(store: &Store, text: &str) -> TaskId {
    let (task, _, _) = store
        .message_store_keyed(ALPHA, ALICE, BOB, text, None, MODE)
        .await
        .unwrap();
    task.task_id
}

/// `web_send` in fleet 1, without a key.
async fn web_send(
    store: &Store,
    from: AgentId,
    to: Audience,
    text: &str,
) -> cafleet::Result<WebSent> {
    store.web_send(ALPHA, from, to, text, None, MODE).await
}

#[tokio::test]
async fn web_send_stores_a_unicast_from_the_administrator() {
    let store = two_fleets().await;
    let sent = web_send(&store, ADMIN, Audience::Agent(ALICE), "hi").await;
    let sent = sent.unwrap();
    assert_eq!(sent.status, "input_required");
    assert_eq!(sent.recipients, None);
    assert_eq!(sent.deliver, MODE);
    assert!(!sent.repeated);
    let inbox = store.message_poll(ALPHA, ALICE).await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].task_id, sent.task_id);
    assert_eq!(inbox[0].from_agent_id, ADMIN);
    let again = store
        .web_send(ALPHA, ADMIN, Audience::Agent(ALICE), "hi", Some("k"), MODE)
        .await
        .unwrap();
    assert!(!again.repeated);
    let repeat = store
        .web_send(ALPHA, ADMIN, Audience::Agent(ALICE), "hi", Some("k"), MODE)
        .await
        .unwrap();
    assert!(repeat.repeated);
    assert_eq!(repeat.task_id, again.task_id);
}

#[tokio::test]
async fn web_send_to_all_broadcasts_to_every_agent_but_the_administrator() {
    let store = two_fleets().await;
    let sent = web_send(&store, ADMIN, Audience::All, "everyone").await;
    let sent = sent.unwrap();
    assert_eq!(sent.recipients, Some(3));
    assert_eq!(sent.status, "completed");
    for agent in [DIRECTOR, ALICE, BOB] {
        let inbox = store.message_poll(ALPHA, agent).await.unwrap();
        assert_eq!(inbox.len(), 1, "agent {agent}");
        assert_eq!(inbox[0].origin_task_id, Some(sent.task_id));
    }
    assert!(store.message_poll(BETA, EVE).await.unwrap().is_empty());
}

#[tokio::test]
async fn web_send_sends_only_as_the_fleets_administrator() {
    let store = two_fleets().await;
    for to in [Audience::Agent(BOB), Audience::All] {
        for from in [ALICE, DIRECTOR] {
            assert_err!(web_send(&store, from, to, "x").await, Error::Forbidden(_));
        }
        // Another fleet's Administrator, or nobody, is not a sender of this fleet.
        for from in [ADMIN_2, AgentId(NOBODY)] {
            assert_err!(web_send(&store, from, to, "x").await, Error::Invalid(_));
        }
    }
    assert!(store.timeline(ALPHA, None, 50).await.unwrap().is_empty());
}

#[tokio::test]
async fn web_send_refuses_blank_text_and_unknown_recipients() {
    let store = two_fleets().await;
    for to in [Audience::Agent(BOB), Audience::All] {
        assert_err!(web_send(&store, ADMIN, to, " \n").await, Error::Invalid(_));
    }
    store.agent_deregister(ALPHA, BOB).await.unwrap();
    for to in [NOBODY, EVE.0, BOB.0] {
        let sent = web_send(&store, ADMIN, Audience::Agent(AgentId(to)), "x").await;
        assert_err!(sent, Error::NotFound(_));
    }
    assert!(store.timeline(ALPHA, None, 50).await.unwrap().is_empty());
}

#[tokio::test]
async fn agent_cards_show_each_agents_role_kind_and_schedule() {
    let store = two_fleets().await;
    let cards = store.agent_cards(ALPHA).await.unwrap();
    let summary: Vec<_> = cards
        .iter()
        .map(|c| (c.agent_id, c.role, c.kind, c.coding_agent.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                DIRECTOR,
                AgentRole::Director,
                AgentKind::User,
                Some("claude")
            ),
            (
                ADMIN,
                AgentRole::Administrator,
                AgentKind::Administrator,
                None
            ),
            (ALICE, AgentRole::Agent, AgentKind::User, None),
            (BOB, AgentRole::Agent, AgentKind::User, None),
        ]
    );
    let director_monitor = MonitorCard {
        interval_seconds: 180,
        last_ping_at: None,
        enabled: true,
    };
    assert_eq!(cards[0].monitor, Some(director_monitor));
    assert!(cards[1..].iter().all(|c| c.monitor.is_none()));
    assert!(cards.iter().all(|c| c.status == AgentStatus::Active));
    assert_eq!(cards[2].name, "alice");
    assert_eq!(cards[2].description, "helper");
}

#[tokio::test]
async fn agent_cards_count_undelivered_messages() {
    let store = two_fleets().await;
    alice_to_bob(&store, "one").await;
    alice_to_bob(&store, "two").await;
    let unseen = |cards: &[cafleet::broker::webui::AgentCard], id| {
        let card = cards.iter().find(|c| c.agent_id == id).unwrap();
        (card.undelivered.unseen, card.undelivered.dead)
    };
    let cards = store.agent_cards(ALPHA).await.unwrap();
    assert_eq!(unseen(&cards, BOB), (2, 0));
    assert_eq!(unseen(&cards, ALICE), (0, 0));
    store.message_poll(ALPHA, BOB).await.unwrap();
    let cards = store.agent_cards(ALPHA).await.unwrap();
    assert_eq!(unseen(&cards, BOB), (0, 0));
}

#[tokio::test]
async fn agent_cards_keep_retired_agents_that_own_messages() {
    let store = two_fleets().await;
    store
        .agent_register(ALPHA, "carol", "d", None)
        .await
        .unwrap();
    alice_to_bob(&store, "kept").await;
    store.agent_deregister(ALPHA, BOB).await.unwrap();
    store.agent_deregister(ALPHA, AgentId(8)).await.unwrap();
    let cards = store.agent_cards(ALPHA).await.unwrap();
    let listed: Vec<_> = cards.iter().map(|c| (c.agent_id, c.status)).collect();
    assert_eq!(
        listed,
        [
            (DIRECTOR, AgentStatus::Active),
            (ADMIN, AgentStatus::Active),
            (ALICE, AgentStatus::Active),
            (BOB, AgentStatus::Deregistered),
        ]
    );
    let other: Vec<_> = store.agent_cards(BETA).await.unwrap();
    let ids: Vec<_> = other.iter().map(|c| c.agent_id).collect();
    assert_eq!(ids, [DIRECTOR_2, ADMIN_2, EVE]);
}

#[tokio::test]
async fn timeline_pages_the_fleets_messages_newest_first() {
    let store = two_fleets().await;
    let ids: Vec<TaskId> = [
        alice_to_bob(&store, "one").await,
        alice_to_bob(&store, "two").await,
        alice_to_bob(&store, "three").await,
    ]
    .into();
    store
        .message_send(BETA, EVE, EVE, "elsewhere")
        .await
        .unwrap();
    let page = store.timeline(ALPHA, None, 2).await.unwrap();
    let got: Vec<_> = page.iter().map(|m| m.task_id).collect();
    assert_eq!(got, [ids[2], ids[1]]);
    assert_eq!(page[0].body, "three");
    assert_eq!(page[0].from_agent_name.as_deref(), Some("alice"));
    assert_eq!(page[0].to_agent_name.as_deref(), Some("bob"));
    assert_eq!(page[0].status, MessageStatus::InputRequired);
    let rest = store.timeline(ALPHA, Some(ids[1]), 50).await.unwrap();
    let got: Vec<_> = rest.iter().map(|m| m.task_id).collect();
    assert_eq!(got, [ids[0]]);
    let theirs = store.timeline(BETA, None, 50).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].body, "elsewhere");
}

#[tokio::test]
async fn timeline_leaves_out_broadcast_summaries() {
    let store = two_fleets().await;
    let sent = store.message_broadcast(ALPHA, ALICE, "all").await.unwrap();
    let timeline = store.timeline(ALPHA, None, 50).await.unwrap();
    assert_eq!(timeline.len(), 2, "{timeline:?}");
    assert!(timeline.iter().all(
        |m| m.origin_task_id == Some(sent.summary.task_id) && m.task_id != sent.summary.task_id
    ));
}

#[tokio::test]
async fn mailbox_holds_an_agents_inbox_or_what_it_sent() {
    let store = two_fleets().await;
    let task = alice_to_bob(&store, "hello").await;
    let inbox = |agent, sent| store.mailbox(ALPHA, agent, sent, None, 50);
    let ids = |page: Vec<cafleet::broker::webui::MessageView>| {
        page.iter().map(|m| m.task_id).collect::<Vec<_>>()
    };
    assert_eq!(ids(inbox(BOB, false).await.unwrap()), [task]);
    assert_eq!(ids(inbox(ALICE, true).await.unwrap()), [task]);
    assert!(inbox(ALICE, false).await.unwrap().is_empty());
    assert!(inbox(BOB, true).await.unwrap().is_empty());
    // A retired agent's mailbox is still there.
    store.agent_deregister(ALPHA, BOB).await.unwrap();
    assert_eq!(ids(inbox(BOB, false).await.unwrap()), [task]);
}

#[tokio::test]
async fn mailbox_refuses_an_agent_of_another_fleet() {
    let store = two_fleets().await;
    for agent in [EVE, AgentId(NOBODY)] {
        for sent in [false, true] {
            assert_err!(
                store.mailbox(ALPHA, agent, sent, None, 50).await,
                Error::NotFound(_)
            );
        }
    }
}

#[tokio::test]
async fn fleet_is_live_until_deleted() {
    let store = two_fleets().await;
    assert!(store.fleet_is_live(ALPHA).await.unwrap());
    assert!(!store.fleet_is_live(FleetId(NOBODY)).await.unwrap());
    store.fleet_delete(ALPHA).await.unwrap();
    assert!(!store.fleet_is_live(ALPHA).await.unwrap());
    assert!(store.fleet_is_live(BETA).await.unwrap());
}

#[tokio::test]
async fn changes_since_follows_one_fleets_messages_in_order() {
    let store = two_fleets().await;
    let start = store.latest_change().await.unwrap();
    let first = alice_to_bob(&store, "one").await;
    store
        .message_send(BETA, EVE, EVE, "elsewhere")
        .await
        .unwrap();
    store.message_ack(ALPHA, BOB, first).await.unwrap();
    let changes = store.changes_since(ALPHA, start, 100).await.unwrap();
    let tasks: Vec<_> = changes
        .iter()
        .filter(|c| c.kind == "task")
        .map(|c| c.ref_id)
        .collect();
    assert_eq!(tasks, [Some(first.0), Some(first.0)], "{changes:?}");
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(changes.iter().all(|c| c.seq > start));
    // Paged: at most `limit`, and nothing after the newest.
    assert_eq!(store.changes_since(ALPHA, start, 1).await.unwrap().len(), 1);
    let latest = store.latest_change().await.unwrap();
    assert!(
        store
            .changes_since(ALPHA, latest, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let theirs = store.changes_since(BETA, start, 100).await.unwrap();
    assert!(theirs.iter().all(|c| c.ref_id != Some(first.0)));
    assert!(!theirs.is_empty());
}
