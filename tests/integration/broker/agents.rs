//! `agent_register`, `agent_list`, `agent_show` and `agent_deregister`: blank identities,
//! skills, the root Director's and the Administrator's protections, fleet boundaries.

use super::*;
use cafleet::Error;
use cafleet::model::{AgentId, FleetId};

#[tokio::test]
async fn register_returns_an_active_agent_of_the_fleet() {
    let store = two_fleets().await;
    let agent = store
        .agent_register(ALPHA, "carol", "tests", Some(r#"[{"id":"x","name":"X"}]"#))
        .await
        .unwrap();
    assert_eq!(agent.agent_id, 8);
    assert_eq!(agent.fleet_id, 1);
    assert_eq!(agent.name, "carol");
    assert_eq!(agent.description, "tests");
    assert!(agent.is_active());
    assert!(!agent.is_administrator());
    assert_eq!(agent.deregistered_at, None);
}

#[tokio::test]
async fn register_refuses_a_blank_name_or_description() {
    let store = two_fleets().await;
    for blank in ["", "  ", "\t\n"] {
        assert_err!(
            store.agent_register(ALPHA, blank, "d", None).await,
            Error::Invalid(_)
        );
        assert_err!(
            store.agent_register(ALPHA, "n", blank, None).await,
            Error::Invalid(_)
        );
    }
    assert_eq!(
        active_ids(&store, ALPHA).await,
        [DIRECTOR, ADMIN, ALICE, BOB]
    );
}

#[tokio::test]
async fn register_refuses_skills_that_are_not_a_json_array() {
    let store = two_fleets().await;
    for skills in ["{", "null", "true", "1", r#""x""#, r#"{"id":"x"}"#] {
        let text = assert_err!(
            store.agent_register(ALPHA, "n", "d", Some(skills)).await,
            Error::Invalid(_)
        );
        assert!(text.contains("--skills"), "{skills}: {text}");
    }
}

#[tokio::test]
async fn register_refuses_an_unknown_or_deleted_fleet_as_a_usage_error() {
    let store = two_fleets().await;
    assert_err!(
        store.agent_register(FleetId(NOBODY), "n", "d", None).await,
        Error::Usage(_)
    );
    store.fleet_delete(BETA).await.unwrap();
    assert_err!(
        store.agent_register(BETA, "n", "d", None).await,
        Error::Usage(_)
    );
}

#[tokio::test]
async fn list_holds_the_active_agents_of_a_live_fleet_by_id() {
    let store = two_fleets().await;
    store.agent_deregister(ALPHA, ALICE).await.unwrap();
    assert_eq!(active_ids(&store, ALPHA).await, [DIRECTOR, ADMIN, BOB]);
    assert_err!(store.agent_list(FleetId(NOBODY)).await, Error::NotFound(_));
}

#[tokio::test]
async fn show_returns_the_agent_with_its_placement() {
    let store = two_fleets().await;
    let director = store.agent_show(ALPHA, ALICE, DIRECTOR).await.unwrap();
    assert_eq!(director.agent.name, "Director");
    let placement = director.placement.expect("the Director is placed");
    assert_eq!(placement.coding_agent, "claude");
    let bob = store.agent_show(ALPHA, ALICE, BOB).await.unwrap();
    assert_eq!(bob.agent.name, "bob");
    assert_eq!(bob.placement, None);
}

#[tokio::test]
async fn show_stays_inside_the_callers_fleet() {
    let store = two_fleets().await;
    // A caller of another fleet, a target of another fleet, an unknown target.
    assert_err!(
        store.agent_show(ALPHA, EVE, ALICE).await,
        Error::NotFound(_)
    );
    assert_err!(
        store.agent_show(ALPHA, ALICE, EVE).await,
        Error::NotFound(_)
    );
    assert_err!(
        store.agent_show(ALPHA, ALICE, AgentId(NOBODY)).await,
        Error::NotFound(_)
    );
    // A retired caller may not act; a retired target is not found.
    store.agent_deregister(ALPHA, BOB).await.unwrap();
    assert_err!(
        store.agent_show(ALPHA, BOB, ALICE).await,
        Error::Forbidden(_)
    );
    assert_err!(
        store.agent_show(ALPHA, ALICE, BOB).await,
        Error::NotFound(_)
    );
}

#[tokio::test]
async fn deregister_retires_the_agent_once() {
    let store = two_fleets().await;
    assert_eq!(store.agent_deregister(ALPHA, ALICE).await.unwrap(), None);
    assert_err!(
        store.agent_deregister(ALPHA, ALICE).await,
        Error::NotFound(_)
    );
    assert_err!(
        store.agent_show(ALPHA, BOB, ALICE).await,
        Error::NotFound(_)
    );
}

#[tokio::test]
async fn deregister_protects_the_root_director_and_the_administrator() {
    let store = two_fleets().await;
    assert_err!(
        store.agent_deregister(ALPHA, DIRECTOR).await,
        Error::Usage(_)
    );
    assert_err!(
        store.agent_deregister(ALPHA, ADMIN).await,
        Error::Forbidden(_)
    );
    assert_eq!(
        active_ids(&store, ALPHA).await,
        [DIRECTOR, ADMIN, ALICE, BOB]
    );
}

#[tokio::test]
async fn deregister_refuses_an_agent_of_another_fleet() {
    let store = two_fleets().await;
    assert_err!(store.agent_deregister(ALPHA, EVE).await, Error::NotFound(_));
    assert_err!(
        store.agent_deregister(BETA, ADMIN).await,
        Error::NotFound(_)
    );
    assert_err!(
        store.agent_deregister(ALPHA, AgentId(NOBODY)).await,
        Error::NotFound(_)
    );
    assert!(
        store
            .agent_show(BETA, DIRECTOR_2, EVE)
            .await
            .unwrap()
            .agent
            .is_active()
    );
}
