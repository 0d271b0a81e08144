//! Business rules and transactions: fleets, agents and messages. No clap, no axum, no
//! printing. Every write is one short `BEGIN IMMEDIATE` transaction; keystrokes into panes
//! happen only after it commits (docs/decisions.md, S3).

pub mod activity;
mod agents;
pub mod delivery;
pub mod feed;
mod fleets;
pub mod members;
mod messages;
pub mod monitor;
pub mod storage;
pub mod webui;

pub use agents::{AgentDetail, validate_identity};
pub use fleets::FleetCreated;
pub use messages::{
    BroadcastOutcome, BroadcastStored, MAX_IDEMPOTENCY_KEY, SendOutcome, validate_idempotency_key,
    validate_text,
};

use crate::db::AsConn;
use crate::db::Db;
use crate::model::{AgentId, FleetId};
use crate::tmux::Tmux;
use crate::{Error, Result};

/// The broker: one database, one tmux driver, one truncation limit.
#[derive(Debug, Clone)]
pub struct Broker {
    db: Db,
    tmux: Tmux,
    max_text_len: usize,
    /// The host this broker runs on: it types only into panes placed on it.
    host: std::sync::Arc<str>,
}

impl Broker {
    /// Wraps an open, migrated database.
    pub fn new(db: Db, tmux: Tmux, max_text_len: usize) -> Broker {
        Broker {
            db,
            tmux,
            max_text_len,
            host: crate::host::current().into(),
        }
    }

    /// The same broker acting as `host` (`CAFLEET_HOST`, checked by the configuration).
    pub fn with_host(mut self, host: &str) -> Broker {
        self.host = host.into();
        self
    }

    /// The host this broker types on.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether a placement recorded on `host` is one of this host's panes (a placement
    /// without a host predates hosts and counts as local).
    pub fn is_local(&self, host: Option<&str>) -> bool {
        host.is_none_or(|h| h == &*self.host)
    }

    /// `host` when it names another host than this broker's (see [`Broker::is_local`]).
    pub fn remote_host<'h>(&self, host: Option<&'h str>) -> Option<&'h str> {
        host.filter(|h| !self.is_local(Some(h)))
    }

    /// The database, for tests and benches that seed or inspect the file directly. The
    /// application's own layers never call it: `cli/`, `web/` and the other entry points
    /// go through broker operations (`hygiene::` tests check that).
    #[doc(hidden)]
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Closes the database (the last connection's close checkpoints the WAL; see
    /// `db::Db::close`).
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// The tmux driver.
    pub fn tmux(&self) -> &Tmux {
        &self.tmux
    }

    /// The truncation limit for previews and outputs.
    pub fn max_text_len(&self) -> usize {
        self.max_text_len
    }
}

/// The caller check: `--agent-id` must be an agent of `--fleet-id`, and a deregistered agent
/// is refused too (docs/decisions.md, C1 and MSG-2).
async fn check_caller(conn: &mut impl AsConn, fleet_id: FleetId, agent_id: AgentId) -> Result<()> {
    match crate::db::agents::get(conn, agent_id).await? {
        Some(a) if a.fleet_id == fleet_id && a.is_active() => Ok(()),
        Some(a) if a.fleet_id == fleet_id => Err(Error::forbidden(format!(
            "agent {agent_id} is deregistered from fleet {fleet_id}; a retired agent can no longer act. Register a new agent with 'cafleet agent register'."
        ))),
        _ => Err(Error::not_found(format!(
            "agent {agent_id} is not a member of fleet {fleet_id}."
        ))),
    }
}

/// The membership half of [`check_caller`] for `message send`, whose own checks then refuse
/// a deregistered sender with 0.14's text (`Sender agent not found or not active in fleet:
/// <A>`; docs/decisions.md, MSG-2).
async fn check_member(conn: &mut impl AsConn, fleet_id: FleetId, agent_id: AgentId) -> Result<()> {
    match crate::db::agents::get(conn, agent_id).await? {
        Some(a) if a.fleet_id == fleet_id => Ok(()),
        _ => Err(Error::not_found(format!(
            "agent {agent_id} is not a member of fleet {fleet_id}."
        ))),
    }
}

/// The fleet, which must exist and not be deleted: `monitor` commands and the list commands
/// refuse an unknown or deleted fleet alike, never answering with an empty list
/// (docs/decisions.md, CLI-1).
pub(crate) async fn live_fleet(
    conn: &mut impl AsConn,
    fleet_id: FleetId,
) -> Result<crate::model::Fleet> {
    match crate::db::fleets::get(conn, fleet_id).await? {
        Some(f) if f.deleted_at.is_none() => Ok(f),
        _ => Err(fleet_not_found(fleet_id)),
    }
}

/// The refusal of an unknown (or, for [`live_fleet`], deleted) fleet.
pub(crate) fn fleet_not_found(fleet_id: FleetId) -> Error {
    Error::not_found(format!(
        "fleet {fleet_id} not found. List live fleets with 'cafleet fleet list'."
    ))
}
