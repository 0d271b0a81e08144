//! Members: pane-bound agents the Director spawns, steers and removes. Creation validates
//! everything before writing, registers in one transaction, spawns the pane after commit,
//! and removes every row again if the spawn fails (`create.rs`); removal closes the pane
//! and retires the agent (`remove.rs`); steering types into a member's pane (`steer.rs`).
//! Director-only commands verify the calling pane. Why: docs/decisions.md, O4 and K4.

mod create;
mod remote;
mod remove;
mod steer;

pub use create::read_prompt_file;
pub use remote::{PaneOp, PaneOpDone, RelaySetup, SpawnOp, SpawnedPane};

use super::Broker;
use crate::backend::screen::StartupScreen;
use crate::backend::{self, PromptValues};
use crate::db::AsConn;
pub use crate::db::placements::MemberRow;
use crate::db::{self, NewAgent};
use crate::delivery::DeliverMode;
use crate::error::TmuxError;
use crate::model::{
    Agent, AgentId, CodingAgent, FleetId, KIND_MONITORING_MEMBER, PaneTarget, Placement, now_ts,
};
use crate::tmux::{Delivery, Key, PaneContext, sanitize};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long `member delete` waits for a pane to close after `/exit`.
pub const EXIT_WAIT: Duration = Duration::from_secs(15);
/// How often it checks.
pub const EXIT_POLL: Duration = Duration::from_millis(500);
/// How long a new codex member's input box must stay on screen before `member create`
/// takes it as started: Codex draws its input box, then replaces it with a trust dialog.
/// Claude Code shows its dialogs before its input box, opencode has none.
pub const CODEX_READY_SETTLE: Duration = Duration::from_millis(800);
/// Pause between choosing a question's free-text row and typing into it.
pub const FREETEXT_ROW_PAUSE: Duration = Duration::from_millis(500);

/// `--role` of `member create`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// An ordinary member, watched by the monitor every 720 s.
    Member,
    /// The fleet's monitoring member (at most one), not watched itself.
    Monitor,
}

/// Where the spawn prompt comes from.
#[derive(Debug, Clone)]
pub enum PromptSource {
    /// The default template.
    Default,
    /// Positional words, joined with spaces.
    Words(String),
    /// `--prompt-file`, exactly as given.
    File(String),
}

/// Everything `member create` needs.
#[derive(Debug, Clone)]
pub struct MemberSpec {
    /// The fleet.
    pub fleet_id: FleetId,
    /// `--agent-id`: must be the fleet's root Director.
    pub director_id: AgentId,
    /// Member name.
    pub name: String,
    /// Member description.
    pub description: String,
    /// `--coding-agent`, if given.
    pub backend: Option<CodingAgent>,
    /// `--model`, if given.
    pub model: Option<String>,
    /// `--role`.
    pub role: Role,
    /// The prompt source.
    pub prompt: PromptSource,
    /// The calling pane (must be the Director's; docs/decisions.md, K4).
    pub caller: PaneContext,
    /// Working directory of the new pane (docs/decisions.md, L9).
    pub cwd: PathBuf,
    /// Environment forwarded into the pane.
    pub env: Vec<(String, String)>,
    /// The directory of the database the member must write (codex's sandbox is told).
    pub database_dir: Option<PathBuf>,
    /// How long to wait for the coding agent's TUI to come up; zero returns right after
    /// the spawn (docs/real-agents.md, "Start-up").
    pub ready_timeout: Duration,
    /// The cafleet binary the member's activity hooks run (`cafleet hook`); none are
    /// installed when `None` (docs/delivery.md, "Activity").
    pub cafleet: Option<PathBuf>,
    /// `--codex-hooks`: a codex member also runs CAFleet's hooks (with
    /// `--dangerously-bypass-hook-trust`), not only `notify`.
    pub codex_hooks: bool,
    /// `--host`: the host whose relay spawns the member (`None`: this host, in the
    /// Director's window).
    pub host: Option<String>,
}

/// A spawned member.
#[derive(Debug, Clone)]
pub struct MemberCreated {
    /// The agent row.
    pub agent: Agent,
    /// Its placement, with the new pane.
    pub placement: Placement,
    /// The argv run in the pane.
    pub argv: Vec<String>,
}

/// A resolved member target: the agent and its placement.
#[derive(Debug, Clone)]
pub struct MemberTarget {
    /// The agent row.
    pub agent: Agent,
    /// Its placement.
    pub placement: Placement,
}

impl MemberTarget {
    /// The pane to type into; `None` while pending.
    pub fn pane(&self) -> Option<PaneTarget> {
        self.placement.target()
    }
}

/// How a pane was retired.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PaneClosed {
    /// No pane was recorded (pending member).
    Pending,
    /// Closed after `/exit`.
    Closed(String),
    /// Killed (`--force`, or after the grace period when retiring a whole fleet).
    Killed(String),
}

/// `member delete` outcome when the pane did not close in time.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExitTimeout {
    /// The pane.
    pub pane_id: String,
    /// Its last 80 lines (empty when capturing failed).
    pub tail: String,
    /// The capture error, if any.
    pub capture_error: Option<String>,
}

/// The caller identity for Director-only commands: its tmux server and pane.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `$TMUX`'s socket.
    pub socket: Option<String>,
    /// `$TMUX_PANE`.
    pub pane: Option<String>,
}

impl Caller {
    /// Reads `TMUX` and `TMUX_PANE`.
    pub fn from_env() -> Caller {
        Caller {
            socket: crate::tmux::Tmux::caller_socket(),
            pane: std::env::var("TMUX_PANE").ok().filter(|p| !p.is_empty()),
        }
    }
}

fn same_socket(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

impl Broker {
    /// The calling pane must be the fleet's root Director's pane, on its server
    /// (docs/decisions.md, K4).
    pub async fn check_director_caller(
        &self,
        fleet_id: FleetId,
        caller: &Caller,
        command: &str,
    ) -> Result<()> {
        let mut conn = self.db.read().await?;
        let director = db::fleets::get(&mut conn, fleet_id)
            .await?
            .and_then(|f| f.director_agent_id);
        let placement = match director {
            Some(d) => db::placements::get(&mut conn, d).await?,
            None => None,
        };
        let Some(p) = placement else {
            return Err(Error::forbidden(format!(
                "cafleet member {command} is Director-only, and fleet {fleet_id} has no Director pane on record. Run it from the pane where 'cafleet fleet create' ran."
            )));
        };
        let dpane = p.tmux_pane_id.clone().unwrap_or_default();
        // The Director is its pane on its host: the same pane id and socket path on
        // another host are another pane.
        if let Some(host) = self.remote_host(p.host.as_deref()) {
            return Err(Error::forbidden(format!(
                "cafleet member {command} is Director-only: the Director of fleet {fleet_id} is pane {dpane} on host {host}, and this is host {}. Run it from the Director's pane on {host}.",
                self.host()
            )));
        }
        let pane_ok = caller.pane.as_deref() == Some(dpane.as_str());
        let socket_ok = match (&p.tmux_socket, &caller.socket) {
            (Some(rec), Some(mine)) => same_socket(rec, mine),
            // Placements adopted from 0.14 have no server on record: the pane must match.
            (None, _) => true,
            (Some(_), None) => false,
        };
        if pane_ok && socket_ok {
            return Ok(());
        }
        let mine = caller.pane.as_deref().unwrap_or("none").to_string();
        // The same pane id on another tmux server: name both servers, or the error would
        // read "pane %1 is not pane %1".
        let (mine, theirs) = match (&p.tmux_socket, pane_ok) {
            (Some(rec), true) => (
                format!(
                    "{mine} on tmux server {}",
                    caller.socket.as_deref().unwrap_or("none")
                ),
                format!("{dpane} on tmux server {rec}"),
            ),
            _ => (mine, dpane),
        };
        Err(Error::forbidden(format!(
            "cafleet member {command} is Director-only: the calling pane ({mine}) is not the Director's pane ({theirs}) of fleet {fleet_id}. Run it from the Director's pane."
        )))
    }

    /// Resolves the backend of a new member as 0.14 does: `--coding-agent` when given, else
    /// claude for a member and the Director's backend for a monitoring member.
    pub async fn resolve_backend(&self, spec: &MemberSpec) -> Result<CodingAgent> {
        if let Some(b) = spec.backend {
            return Ok(b);
        }
        if spec.role == Role::Member {
            return Ok(CodingAgent::Claude);
        }
        let fail = |detail: String| {
            Error::failed(format!(
                "cannot resolve the monitor's coding agent: {detail}. Re-run with an explicit --coding-agent."
            ))
        };
        let mut conn = self.db.read().await?;
        let d = spec.director_id;
        match db::agents::get(&mut conn, d).await {
            Ok(Some(a)) if a.fleet_id == spec.fleet_id && a.is_active() => {}
            Ok(_) => {
                return Err(fail(format!(
                    "Director {d} not found in fleet {}",
                    spec.fleet_id
                )));
            }
            Err(e) => return Err(fail(format!("failed to fetch Director {d}: {e}"))),
        }
        match db::placements::get(&mut conn, d).await {
            Ok(Some(p)) => p.coding_agent.parse().map_err(|_| {
                fail(format!(
                    "Director {d} records an unknown backend '{}'",
                    p.coding_agent
                ))
            }),
            Ok(None) => Err(fail(format!(
                "Director {d} has no placement row recording its backend"
            ))),
            Err(e) => Err(fail(format!("failed to fetch Director {d}: {e}"))),
        }
    }

    /// Active pane-bound members of a fleet, with activity.
    pub async fn member_list(&self, fleet_id: FleetId) -> Result<Vec<MemberRow>> {
        let mut conn = self.db.read().await?;
        super::live_fleet(&mut conn, fleet_id).await?;
        db::placements::list_members(&mut conn, fleet_id).await
    }

    /// Target resolution as in 0.14: an active agent of the fleet with a placement
    /// (docs/decisions.md, C1).
    pub async fn member_target(
        &self,
        fleet_id: FleetId,
        member_id: AgentId,
        for_delete: bool,
    ) -> Result<MemberTarget> {
        let mut conn = self.db.read().await?;
        let agent = match db::agents::get(&mut conn, member_id).await {
            Ok(Some(a)) if a.fleet_id == fleet_id && a.is_active() => a,
            Ok(_) => return Err(Error::not_found(format!("Agent {member_id} not found"))),
            Err(e) => return Err(Error::failed(format!("failed to fetch member: {e}"))),
        };
        let placement = db::placements::get(&mut conn, member_id).await?.ok_or_else(|| {
            Error::not_found(if for_delete {
                format!("agent {member_id} has no placement; use `cafleet agent deregister` instead")
            } else {
                format!(
                    "agent {member_id} has no placement row; it was not spawned via `cafleet member create`."
                )
            })
        })?;
        Ok(MemberTarget { agent, placement })
    }

    /// Whether an agent is the root Director of this fleet.
    pub async fn is_root_director(&self, fleet_id: FleetId, agent_id: AgentId) -> Result<bool> {
        let mut conn = self.db.read().await?;
        Ok(db::fleets::get(&mut conn, fleet_id)
            .await?
            .is_some_and(|f| f.director_agent_id == Some(agent_id)))
    }
}
