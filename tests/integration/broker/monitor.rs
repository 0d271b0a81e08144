//! `monitor_config`: showing and changing an enrolled agent's schedule, the interval's
//! range, and agents that are not enrolled in this fleet.

use super::*;
use cafleet::Error;
use cafleet::broker::monitor::MAX_INTERVAL_SECS;
use cafleet::model::{AgentId, FleetId};

#[tokio::test]
async fn config_shows_the_schedule_without_changing_it() {
    let store = two_fleets().await;
    let schedule = store
        .monitor_config(ALPHA, DIRECTOR, None, None)
        .await
        .unwrap();
    assert_eq!(schedule.agent_id, DIRECTOR);
    assert_eq!(schedule.fleet_id, 1);
    assert_eq!(schedule.interval_seconds, 180);
    assert!(schedule.enabled);
    assert_eq!(schedule.last_ping_at, None);
}

#[tokio::test]
async fn config_changes_only_what_it_is_given() {
    let store = two_fleets().await;
    let changed = store
        .monitor_config(ALPHA, DIRECTOR, Some(60), None)
        .await
        .unwrap();
    assert_eq!((changed.interval_seconds, changed.enabled), (60, true));
    let changed = store
        .monitor_config(ALPHA, DIRECTOR, None, Some(false))
        .await
        .unwrap();
    assert_eq!((changed.interval_seconds, changed.enabled), (60, false));
    let shown = store
        .monitor_config(ALPHA, DIRECTOR, None, None)
        .await
        .unwrap();
    assert_eq!(shown, changed);
    // The other fleet's Director keeps its own.
    let other = store
        .monitor_config(BETA, DIRECTOR_2, None, None)
        .await
        .unwrap();
    assert_eq!((other.interval_seconds, other.enabled), (180, true));
}

#[tokio::test]
async fn config_refuses_an_interval_out_of_range() {
    let store = two_fleets().await;
    for seconds in [0, -1, MAX_INTERVAL_SECS + 1] {
        assert_err!(
            store
                .monitor_config(ALPHA, DIRECTOR, Some(seconds), None)
                .await,
            Error::Invalid(_)
        );
    }
    for seconds in [1, MAX_INTERVAL_SECS] {
        let schedule = store.monitor_config(ALPHA, DIRECTOR, Some(seconds), None);
        assert_eq!(schedule.await.unwrap().interval_seconds, seconds);
    }
}

#[tokio::test]
async fn config_refuses_agents_not_enrolled_in_the_fleet() {
    let store = two_fleets().await;
    // Registered but not enrolled; enrolled in another fleet; unknown; an unknown fleet.
    for (fleet, agent) in [
        (1, ALICE),
        (1, DIRECTOR_2),
        (1, AgentId(NOBODY)),
        (NOBODY, DIRECTOR),
    ] {
        assert_err!(
            store
                .monitor_config(FleetId(fleet), agent, None, Some(false))
                .await,
            Error::NotFound(_)
        );
    }
    let schedule = store.monitor_config(BETA, DIRECTOR_2, None, None).await;
    assert!(schedule.unwrap().enabled);
}
