//! `fleet_create`, `fleet_list`, `fleet_show` and `fleet_delete`.

use super::*;
use cafleet::Error;
use cafleet::model::{AgentId, FleetId};

#[tokio::test]
async fn create_places_the_director_at_the_calling_pane_and_adds_an_administrator() {
    let store = empty().await;
    let made = store
        .fleet_create(Some("alpha"), CodingAgent::Codex, &unreachable_pane())
        .await
        .unwrap();
    assert_eq!(made.fleet.fleet_id, 1);
    assert_eq!(made.fleet.label.as_deref(), Some("alpha"));
    assert_eq!(made.fleet.deleted_at, None);
    assert_eq!(made.fleet.director_agent_id, Some(made.director.agent_id));
    assert_eq!(made.director.name, "Director");
    assert_eq!(made.director.fleet_id, 1);
    assert!(made.director.is_active());
    assert_eq!(made.placement.agent_id, made.director.agent_id);
    assert_eq!(made.placement.tmux_pane_id.as_deref(), Some("%0"));
    assert_eq!(made.placement.tmux_window_id, "@0");
    assert_eq!(made.placement.coding_agent, "codex");
    assert_eq!(
        made.placement.tmux_socket.as_deref(),
        Some(unreachable_pane().socket_path.as_str())
    );
    let admin = store
        .agent_show(
            ALPHA,
            made.director.agent_id,
            AgentId(made.administrator_agent_id.0),
        )
        .await
        .unwrap();
    assert!(admin.agent.is_administrator());
    assert_eq!(admin.placement, None);
    // The Director is enrolled with the monitor from the start.
    let schedule = store
        .monitor_config(ALPHA, made.director.agent_id, None, None)
        .await
        .unwrap();
    assert!(schedule.enabled);
}

#[tokio::test]
async fn list_shows_live_fleets_newest_first_with_their_active_agents() {
    let store = two_fleets().await;
    let fleets = store.fleet_list().await.unwrap();
    let ids: Vec<_> = fleets.iter().map(|f| f.fleet_id).collect();
    assert_eq!(ids, [2, 1]);
    assert_eq!(fleets[1].label.as_deref(), Some("alpha"));
    assert_eq!(fleets[1].director_agent_id, Some(DIRECTOR));
    assert_eq!(fleets[1].agent_count, 4);
    assert_eq!(fleets[0].label, None);
    assert_eq!(fleets[0].agent_count, 3);

    store.agent_deregister(ALPHA, BOB).await.unwrap();
    store.fleet_delete(BETA).await.unwrap();
    let fleets = store.fleet_list().await.unwrap();
    assert_eq!(fleets.len(), 1, "{fleets:?}");
    assert_eq!(fleets[0].fleet_id, 1);
    assert_eq!(fleets[0].agent_count, 3);
}

#[tokio::test]
async fn show_finds_deleted_fleets_but_not_unknown_ones() {
    let store = two_fleets().await;
    let fleet = store.fleet_show(ALPHA).await.unwrap();
    assert_eq!(fleet.label.as_deref(), Some("alpha"));
    assert_eq!(fleet.deleted_at, None);
    store.fleet_delete(ALPHA).await.unwrap();
    assert!(store.fleet_show(ALPHA).await.unwrap().deleted_at.is_some());
    assert_err!(store.fleet_show(FleetId(NOBODY)).await, Error::NotFound(_));
}

#[tokio::test]
async fn delete_retires_every_agent_and_returns_the_placements_to_close() {
    let store = two_fleets().await;
    let (deregistered, placements) = store.fleet_delete(ALPHA).await.unwrap();
    assert_eq!(deregistered, 4);
    let placed: Vec<_> = placements.iter().map(|p| p.agent_id).collect();
    assert_eq!(placed, [DIRECTOR]);
    // The agents and the monitor schedules are gone; the other fleet is untouched.
    assert_err!(store.agent_list(ALPHA).await, Error::NotFound(_));
    assert_err!(
        store.monitor_config(ALPHA, DIRECTOR, None, None).await,
        Error::NotFound(_)
    );
    assert_eq!(store.agent_list(BETA).await.unwrap().len(), 3);
}

#[tokio::test]
async fn delete_is_idempotent_but_refuses_an_unknown_fleet() {
    let store = two_fleets().await;
    store.fleet_delete(BETA).await.unwrap();
    let (deregistered, placements) = store.fleet_delete(BETA).await.unwrap();
    assert_eq!(deregistered, 0);
    assert!(placements.is_empty(), "{placements:?}");
    assert_err!(
        store.fleet_delete(FleetId(NOBODY)).await,
        Error::NotFound(_)
    );
}
