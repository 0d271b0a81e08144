//! The broker's business rules, called in process: `cafleet::broker::Broker` on a real SQLite
//! file in a temp dir, opened as one CLI command opens it. Each test asserts the kind of
//! `cafleet::Error` a refusal is (the CLI's exit code and the API's status follow from it)
//! and the records an operation returns, never the CLI's wording. No tmux is needed: the
//! Directors sit in a pane of a server that does not exist, the other agents have no pane.
//!
//! This file holds the fixture (two fleets of registered agents) and [`assert_err!`]; each
//! submodule covers one subject.

mod agents;
mod errors;
mod fleets;
mod keys;
mod messages;
mod monitor;
mod webui;

use crate::support::unreachable_pane;
use cafleet::broker::Broker;
use cafleet::broker::storage::Usage;
use cafleet::config::Config;
use cafleet::model::{AgentId, CodingAgent, FleetId};
use std::ops::Deref;
use tempfile::TempDir;

/// Fleet 1 ("alpha") and fleet 2.
const ALPHA: FleetId = FleetId(1);
const BETA: FleetId = FleetId(2);
/// Fleet 1: Director 1, Administrator 2, alice 3, bob 4.
const DIRECTOR: AgentId = AgentId(1);
const ADMIN: AgentId = AgentId(2);
const ALICE: AgentId = AgentId(3);
const BOB: AgentId = AgentId(4);
/// Fleet 2: Director 5, Administrator 6, eve 7.
const DIRECTOR_2: AgentId = AgentId(5);
const ADMIN_2: AgentId = AgentId(6);
const EVE: AgentId = AgentId(7);
/// An id no agent or task has.
const NOBODY: i64 = 999;

/// A broker on its own database file; derefs to the [`Broker`].
struct Store {
    broker: Broker,
    // Dropped after the broker: the database file lives in it.
    _dir: TempDir,
}

impl Deref for Store {
    type Target = Broker;
    fn deref(&self) -> &Broker {
        &self.broker
    }
}

/// An empty database, opened (and migrated) as one CLI command opens it.
async fn empty() -> Store {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data").join("cafleet.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let config = Config {
        database_display: path.display().to_string(),
        database: cafleet::config::Database::Sqlite(path),
        database_url_env: None,
        max_text_len: 200,
        host: cafleet::host::current(),
    };
    let broker = Broker::open(&config, Usage::Command)
        .await
        .expect("open the broker");
    Store { broker, _dir: dir }
}

/// Fleet 1 ("alpha": Director 1, Administrator 2, alice 3, bob 4) and fleet 2 (Director 5,
/// Administrator 6, eve 7).
async fn two_fleets() -> Store {
    let store = empty().await;
    let alpha = store
        .fleet_create(Some("alpha"), CodingAgent::Claude, &unreachable_pane())
        .await
        .unwrap();
    assert_eq!(alpha.director.agent_id, DIRECTOR);
    assert_eq!(alpha.administrator_agent_id, ADMIN);
    for (name, id) in [("alice", ALICE), ("bob", BOB)] {
        let agent = store
            .agent_register(ALPHA, name, "helper", None)
            .await
            .unwrap();
        assert_eq!(agent.agent_id, id);
    }
    store
        .fleet_create(None, CodingAgent::Codex, &unreachable_pane())
        .await
        .unwrap();
    let eve = store.agent_register(BETA, "eve", "other fleet", None).await;
    assert_eq!(eve.unwrap().agent_id, EVE);
    store
}

/// The ids of the fleet's active agents, ascending.
async fn active_ids(store: &Store, fleet: FleetId) -> Vec<AgentId> {
    let agents = store.agent_list(fleet).await.expect("agent_list");
    agents.iter().map(|a| a.agent_id).collect()
}

/// Asserts that `result` failed with an error of the kind `pattern` (e.g.
/// `Error::NotFound(_)`), and evaluates to its text.
macro_rules! assert_err {
    ($result:expr, $pattern:pat $(,)?) => {
        match $result {
            Err(e) => {
                assert!(
                    matches!(e, $pattern),
                    "expected {}, got {e:?}",
                    stringify!($pattern)
                );
                e.to_string()
            }
            Ok(v) => panic!("expected {}, got Ok({v:?})", stringify!($pattern)),
        }
    };
}
use assert_err;
