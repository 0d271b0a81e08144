//! Members: pane-bound agents the Director spawns, steers and removes. Creation validates
//! everything before writing, registers in one transaction, spawns the pane after commit,
//! and removes every row again if the spawn fails. Director-only commands verify the
//! calling pane. Why: docs/decisions.md, O4 and K4.

use super::Broker;
use crate::backend::screen::StartupScreen;
use crate::backend::{self, PromptValues};
use crate::db::Conn;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaneClosed {
    /// No pane was recorded (pending member).
    Pending,
    /// Closed after `/exit`.
    Closed(String),
    /// Killed (`--force`, or after the grace period when retiring a whole fleet).
    Killed(String),
}

/// `member delete` outcome when the pane did not close in time.
#[derive(Debug, Clone)]
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

    /// 0.14's registration checks, in 0.14's order (docs/decisions.md, C1). Returns the Director's
    /// placement (the new pane goes onto its server).
    async fn check_registration(conn: &mut Conn, spec: &MemberSpec) -> Result<Placement> {
        let f = spec.fleet_id;
        match db::fleets::get(conn, f).await? {
            None => return Err(Error::usage(format!("Fleet '{f}' not found."))),
            Some(fl) if fl.deleted_at.is_some() => {
                return Err(Error::usage(format!("fleet {f} is deleted")));
            }
            Some(_) => {}
        }
        if spec.role == Role::Monitor
            && let Some(existing) = db::agents::active_monitoring_member(conn, f).await?
        {
            return Err(Error::conflict(format!(
                "fleet {f} already has an active monitoring member (agent {existing}); only one is allowed."
            )));
        }
        let d = spec.director_id;
        let director = match db::agents::get(conn, d).await? {
            Some(a) if a.fleet_id == f && a.is_active() => a,
            _ => {
                return Err(Error::usage(format!(
                    "Director agent '{d}' not found or not active in fleet '{f}'."
                )));
            }
        };
        if director.is_administrator() {
            return Err(Error::forbidden("Administrator cannot be a director"));
        }
        let root = db::fleets::get(conn, f)
            .await?
            .and_then(|fl| fl.director_agent_id);
        if root != Some(d) {
            return Err(Error::usage(format!(
                "nested teams are not supported; placement director_agent_id {d} must equal the fleet root Director {}.",
                root.map(|r| r.to_string()).unwrap_or_default()
            )));
        }
        db::placements::get(conn, d).await?.ok_or_else(|| {
            Error::not_found(format!(
                "the root Director {d} has no placement; re-create the fleet with 'cafleet fleet create' from the Director's pane."
            ))
        })
    }

    /// Spawns a member. Nothing is written unless every check passes; a failed spawn removes
    /// the rows again and leaves no pane behind (docs/decisions.md, O4).
    #[tracing::instrument(skip_all, fields(fleet = spec.fleet_id, name = %spec.name), err)]
    pub async fn member_create(
        &self,
        spec: &MemberSpec,
        backend: CodingAgent,
    ) -> Result<MemberCreated> {
        // Checks, read-only.
        let director_placement = {
            let mut conn = self.db.read().await?;
            Self::check_registration(&mut conn, spec).await?
        };
        let template = load_template(&spec.prompt, spec.role)?;
        backend::validate_template(&template)?;
        self.check_director_caller(
            spec.fleet_id,
            &Caller {
                socket: Some(spec.caller.socket_path.clone()),
                pane: Some(spec.caller.pane_id.clone()),
            },
            "create",
        )
        .await?;
        // A preset this call creates is removed again if the create fails after all; one
        // that existed stays (docs/decisions.md, MEM-4).
        let mut preset = CreatedPreset(None);
        if backend == CodingAgent::Opencode
            && let Some(path) = backend::opencode_preset_path()
            && backend::materialize_opencode_preset(&path)?
        {
            preset.0 = Some(path);
        }
        let socket = director_placement
            .tmux_socket
            .clone()
            .unwrap_or_else(|| spec.caller.socket_path.clone());

        // Registration: one transaction, re-checked under the write lock.
        let now = now_ts();
        let mut tx = self.db.begin_write().await?;
        Self::check_registration(&mut tx, spec).await?;
        let kind = (spec.role == Role::Monitor).then_some(KIND_MONITORING_MEMBER);
        let card =
            db::agents::card_json(&spec.name, &spec.description, &serde_json::json!([]), kind);
        let agent_id = db::agents::insert(
            &mut tx,
            &NewAgent {
                fleet_id: spec.fleet_id,
                name: &spec.name,
                description: &spec.description,
                now: &now,
                card_json: &card,
            },
        )
        .await?;
        let mut placement = Placement {
            agent_id,
            director_agent_id: Some(spec.director_id),
            // The Director's window is where its pane is now (the caller, verified above),
            // not where it was at `fleet create`: the pane may have moved since.
            tmux_session: spec.caller.session_name.clone(),
            tmux_window_id: spec.caller.window_id.clone(),
            tmux_pane_id: None,
            coding_agent: backend.as_str().to_string(),
            created_at: now.clone(),
            tmux_socket: Some(socket.clone()),
        };
        db::placements::insert(&mut tx, &placement).await?;
        if spec.role == Role::Member {
            db::monitor::insert_config(&mut tx, agent_id, db::monitor::MEMBER_INTERVAL_SECS)
                .await?;
        }
        let agent = db::agents::get(&mut tx, agent_id)
            .await?
            .ok_or_else(|| Error::failed("member vanished while being registered"))?;
        tx.commit().await?;

        // Spawn, after commit.
        let prompt = match backend::render_prompt(
            &template,
            &PromptValues {
                fleet_id: spec.fleet_id,
                agent_id,
                director_agent_id: spec.director_id,
                coding_agent: backend.as_str(),
            },
        ) {
            Ok(p) => p,
            Err(e) => {
                self.unregister(agent_id).await;
                return Err(e);
            }
        };
        let argv = backend::spawn_argv(
            backend,
            &spec.name,
            spec.model.as_deref(),
            &prompt,
            spec.database_dir.as_deref(),
            spec.cafleet.as_deref(),
            spec.codex_hooks,
        );
        let mut env = spec.env.clone();
        if backend == CodingAgent::Opencode
            && let Some(content) = opencode_hooks(spec)
        {
            env.retain(|(k, _)| k != "OPENCODE_CONFIG_CONTENT");
            env.push(("OPENCODE_CONFIG_CONTENT".into(), content));
        }
        let pane = match self
            .tmux
            .split_window(&socket, &placement.tmux_window_id, &spec.cwd, &env, &argv)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                self.unregister(agent_id).await;
                return Err(Error::failed(format!(
                    "tmux split-window failed: {e}. Rolled back registration of {agent_id}."
                )));
            }
        };
        if let Err(e) = self
            .tmux
            .select_layout(&socket, &placement.tmux_window_id)
            .await
        {
            tracing::info!(error = %e, "select-layout failed; the member still runs");
        }
        let stored = async {
            let mut tx = self.db.begin_write().await?;
            let ok = db::placements::set_pane(&mut tx, agent_id, &pane).await?;
            tx.commit().await?;
            Ok::<bool, Error>(ok)
        }
        .await;
        let target = PaneTarget {
            socket: socket.clone(),
            pane_id: pane.clone(),
        };
        match stored {
            Ok(true) => {}
            Ok(false) => {
                let _ = self.tmux.kill_pane(&target).await;
                self.unregister(agent_id).await;
                return Err(Error::failed(format!(
                    "placement row vanished before pane-id patch. Rolled back registration of {agent_id}."
                )));
            }
            Err(e) => {
                let _ = self.tmux.kill_pane(&target).await;
                self.unregister(agent_id).await;
                return Err(Error::failed(format!(
                    "placement update failed: {e}. Rolled back registration of {agent_id}."
                )));
            }
        }
        if let Err(why) = self
            .wait_started(&target, backend, spec.ready_timeout)
            .await
        {
            let _ = self.tmux.kill_pane(&target).await;
            self.unregister(agent_id).await;
            return Err(Error::failed(format!(
                "{why}\nRolled back registration of {agent_id} and closed its pane."
            )));
        }
        placement.tmux_pane_id = Some(pane);
        preset.keep();
        Ok(MemberCreated {
            agent,
            placement,
            argv,
        })
    }

    /// Waits until a new member's TUI is up (its input box or working footer shows). A
    /// program that exits, a screen that waits for a person (login, trust dialog) or the
    /// deadline is an error naming the cause with the pane's last lines. While waiting the
    /// pane is kept on screen after its program exits, so its last words can be read.
    async fn wait_started(
        &self,
        target: &PaneTarget,
        backend: CodingAgent,
        timeout: Duration,
    ) -> std::result::Result<(), String> {
        if timeout.is_zero() {
            return Ok(());
        }
        let name = backend.as_str();
        let kept = self.tmux.set_remain_on_exit(target, true).await.is_ok();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = String::new();
        let mut ready_since: Option<tokio::time::Instant> = None;
        let settle = if backend == CodingAgent::Codex {
            CODEX_READY_SETTLE
        } else {
            Duration::ZERO
        };
        let outcome = loop {
            match self.tmux.pane_exit_status(target).await {
                Ok(Some(mut status)) => {
                    // tmux can mark the pane dead (its terminal closed) a moment before it
                    // has reaped the program and recorded the status.
                    for _ in 0..10 {
                        if status.is_some() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        status = self
                            .tmux
                            .pane_exit_status(target)
                            .await
                            .ok()
                            .flatten()
                            .flatten();
                    }
                    let how = status
                        .map_or_else(|| "exited".to_string(), |s| format!("exited (status {s})"));
                    let screen = self.tmux.capture(target, 200).await.unwrap_or_default();
                    break Err(format!(
                        "{name} {how} before its input box appeared. Its pane's last lines:\n{}",
                        start_lines(&screen)
                    ));
                }
                Ok(None) => {}
                Err(_) => {
                    break Err(format!(
                        "{name}'s pane closed before its input box appeared. Its last lines seen:\n{}",
                        start_lines(&last)
                    ));
                }
            }
            if let Ok(screen) = self.tmux.capture(target, 200).await {
                last = screen;
            }
            match backend::screen::startup_screen(backend, &last) {
                // For codex, confirmed again after a pause: it draws its input box before
                // it replaces it with a trust dialog.
                StartupScreen::Ready => {
                    let since = *ready_since.get_or_insert_with(tokio::time::Instant::now);
                    if since.elapsed() >= settle {
                        break Ok(());
                    }
                }
                StartupScreen::Blocked(hint) => {
                    break Err(format!(
                        "{name} is waiting at a screen it cannot pass on its own: {hint}. Its pane's last lines:\n{}",
                        start_lines(&last)
                    ));
                }
                StartupScreen::Starting => ready_since = None,
            }
            if tokio::time::Instant::now() >= deadline {
                break Err(format!(
                    "{name} did not show its input box within {} s. Its pane's last lines:\n{}\nIf it is only slow, retry with a longer --ready-timeout.",
                    timeout.as_secs(),
                    start_lines(&last)
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        if outcome.is_ok() && kept {
            let _ = self.tmux.set_remain_on_exit(target, false).await;
        }
        outcome
    }

    /// Rolls back a registration whose spawn failed: the rows are removed; if a message
    /// already references the agent, it is soft-deregistered instead.
    async fn unregister(&self, agent_id: AgentId) {
        let removed = async {
            let mut tx = self.db.begin_write().await?;
            db::agents::delete_unspawned(&mut tx, agent_id).await?;
            tx.commit().await?;
            Ok::<(), Error>(())
        }
        .await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, agent_id, "could not remove the unspawned member; deregistering it");
            if let Err(e) = self.retire(agent_id).await {
                eprintln!(
                    "WARNING: rollback deregister failed — agent {agent_id} is orphaned in the registry. Run `cafleet agent deregister --fleet-id <F> --agent-id {agent_id}` manually to clean up. Cause: {e}"
                );
            }
        }
    }

    /// Soft-deregisters an agent and drops its placement and monitor rows.
    async fn retire(&self, agent_id: AgentId) -> Result<()> {
        let now = now_ts();
        let mut tx = self.db.begin_write().await?;
        db::agents::deregister(&mut tx, agent_id, &now).await?;
        db::placements::delete(&mut tx, agent_id).await?;
        db::monitor::delete_config(&mut tx, agent_id).await?;
        tx.commit().await?;
        Ok(())
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

    /// Deletes a member: pending → deregister; `force` → kill the pane; otherwise type
    /// `/exit` and wait for the pane to close (never killing it on timeout).
    pub async fn member_delete(
        &self,
        target: &MemberTarget,
        force: bool,
    ) -> Result<Result<PaneClosed, ExitTimeout>> {
        let Some(pane) = target.pane() else {
            if target.placement.tmux_pane_id.is_some() {
                // An adopted 0.14 placement without a server on record: never guess one.
                return Err(Error::not_found(format!(
                    "member {} was placed by CAFleet 0.14 without its tmux server on record; close its pane by hand, then run 'cafleet agent deregister'.",
                    target.agent.agent_id
                )));
            }
            self.retire_checked(target.agent.agent_id).await?;
            return Ok(Ok(PaneClosed::Pending));
        };
        let p = pane.pane_id.clone();
        if force {
            self.tmux.kill_pane(&pane).await.map_err(|e| {
                Error::failed(format!(
                    "kill_pane failed for pane {p}: {e}. The tmux server may be unreachable. Verify with 'cafleet doctor', then re-run the command."
                ))
            })?;
            self.retire_checked(target.agent.agent_id).await?;
            return Ok(Ok(PaneClosed::Killed(p)));
        }
        match self
            .tmux
            .send_keys(&pane, &[Key::Text("/exit"), Key::Enter])
            .await
        {
            Delivery::Sent | Delivery::Gone => {}
            Delivery::Shell(cmd) => {
                return Err(Error::failed(format!(
                    "pane {p} runs a shell ({cmd}), not a coding agent; nothing was typed. Re-run with '--force' to kill the pane."
                )));
            }
            Delivery::Held(why) => {
                return Err(Error::failed(format!(
                    "send_exit held for pane {p}: {why}. Re-run with '--force' to kill the pane."
                )));
            }
            Delivery::Failed(e) => {
                return Err(Error::failed(format!(
                    "send_exit failed for pane {p}: {e}. The tmux server may be unreachable. Verify with 'cafleet doctor', then re-run 'cafleet member delete', or use '--force' to kill the pane directly."
                )));
            }
        }
        if self.wait_pane_gone(&pane, EXIT_WAIT).await.map_err(|e| {
            Error::failed(format!(
                "tmux call failed while waiting for pane {p} to close: {e}"
            ))
        })? {
            self.retire_checked(target.agent.agent_id).await?;
            return Ok(Ok(PaneClosed::Closed(p)));
        }
        let (tail, capture_error) = match self.tmux.capture(&pane, 80).await {
            Ok(t) => (t, None),
            Err(e) => (String::new(), Some(e.to_string())),
        };
        Ok(Err(ExitTimeout {
            pane_id: p,
            tail,
            capture_error,
        }))
    }

    async fn retire_checked(&self, agent_id: AgentId) -> Result<()> {
        self.retire(agent_id)
            .await
            .map_err(|e| Error::failed(format!("deregister failed: {e}")))
    }

    /// Polls until the pane is gone (true) or `wait` has passed (false).
    async fn wait_pane_gone(&self, pane: &PaneTarget, wait: Duration) -> Result<bool, TmuxError> {
        let start = Instant::now();
        loop {
            match self.tmux.live_panes(&pane.socket).await {
                Ok(live) if !live.contains(&pane.pane_id) => return Ok(true),
                Ok(_) => {}
                // The whole server went away with its last pane.
                Err(TmuxError::Failed { stderr, .. })
                    if stderr.contains("no server running")
                        || stderr.contains("error connecting") =>
                {
                    return Ok(true);
                }
                Err(e) => return Err(e),
            }
            if start.elapsed() >= wait {
                return Ok(false);
            }
            tokio::time::sleep(EXIT_POLL).await;
        }
    }

    /// Closes the panes of retired members (fleet delete, agent deregister): `/exit` to
    /// each coding agent, concurrently; whatever is still open after the grace period, or
    /// runs a shell, is killed. Returns how many panes were closed.
    pub async fn close_member_panes(&self, placements: &[Placement]) -> usize {
        let closes = placements
            .iter()
            .filter(|p| p.director_agent_id.is_some())
            .filter_map(Placement::target)
            .map(|pane| async move {
                match self
                    .tmux
                    .send_keys(&pane, &[Key::Text("/exit"), Key::Enter])
                    .await
                {
                    Delivery::Gone => return false,
                    Delivery::Sent => {
                        if let Ok(true) = self.wait_pane_gone(&pane, EXIT_WAIT).await {
                            return true;
                        }
                    }
                    Delivery::Shell(_) | Delivery::Failed(_) | Delivery::Held(_) => {}
                }
                self.tmux.kill_pane(&pane).await.is_ok()
            });
        futures::future::join_all(closes)
            .await
            .into_iter()
            .filter(|closed| *closed)
            .count()
    }

    /// Captures a member's pane.
    pub async fn member_capture(&self, pane: &PaneTarget, lines: i64) -> Result<String> {
        self.tmux
            .capture(pane, lines)
            .await
            .map_err(|e| Error::failed(format!("capture failed: {e}")))
    }

    /// Answers a multiple-choice prompt with digit 1–3 (no Enter).
    pub async fn member_choice(&self, pane: &PaneTarget, choice: u8) -> Result<()> {
        let digit = choice.to_string();
        deliver(self.tmux.send_keys(pane, &[Key::Name(&digit)]).await, pane)
    }

    /// Types free text into a question frame's free-text row: its digit (read off the
    /// pane: options + 1 in Claude Code's frame), the sanitised text, Enter. Nothing is
    /// typed when no frame with such a row is on screen.
    pub async fn member_freetext(&self, pane: &PaneTarget, text: &str) -> Result<()> {
        // A shell or a gone pane is refused as every other keystroke is (docs/decisions.md, K2).
        if let Err(refused) = self.tmux.check_agent_pane(pane).await {
            return deliver(refused, pane);
        }
        let screen = self
            .tmux
            .capture(pane, 60)
            .await
            .map_err(|e| Error::failed(format!("capture failed: {e}")))?;
        let Some(digit) = backend::screen::freetext_digit(&screen) else {
            return Err(Error::not_found(format!(
                "no question with a free-text row (\"Type something.\") is showing in pane {}; nothing was typed. See the pane with 'cafleet member capture', answer an option with --choice, or send the member a message instead.",
                pane.pane_id
            )));
        };
        let text = sanitize(text);
        let text = crate::tmux::close_mention(&text);
        let digit = digit.to_string();
        deliver(self.tmux.send_keys(pane, &[Key::Name(&digit)]).await, pane)?;
        // The digit turns the row into a text field; text typed before it has done so is
        // lost (Claude Code then takes the Enter as declining the question).
        tokio::time::sleep(FREETEXT_ROW_PAUSE).await;
        deliver(
            self.tmux
                .send_keys(pane, &[Key::Text(&text), Key::Enter])
                .await,
            pane,
        )
    }

    /// Types `! <command>` and Enter: the coding agents' shell shortcut.
    pub async fn member_exec(&self, pane: &PaneTarget, command: &str) -> Result<()> {
        let line = format!("! {}", sanitize(command));
        deliver(self.tmux.type_line(pane, &line).await, pane)
    }

    /// Types the poll trigger into a pane (no Escape: a working agent queues it).
    pub async fn member_ping(
        &self,
        fleet_id: FleetId,
        member_id: AgentId,
        pane: &PaneTarget,
    ) -> Result<()> {
        let line = format!("cafleet message poll --fleet-id {fleet_id} --agent-id {member_id}");
        match self.tmux.type_line(pane, &line).await {
            Delivery::Sent => return Ok(()),
            held @ Delivery::Held(_) => return deliver(held, pane),
            _ => {}
        }
        Err(Error::failed(format!(
            "send failed: tmux send-keys did not deliver the poll-trigger keystroke to pane {}.",
            pane.pane_id
        )))
    }

    /// An ackable task from `sender` to the member plus its preview, as a unicast send.
    pub async fn member_nudge(
        &self,
        fleet_id: FleetId,
        sender: AgentId,
        target: &MemberTarget,
        text: &str,
        mode: DeliverMode,
    ) -> Result<super::SendOutcome> {
        let now = now_ts();
        let (text, to) = (text.to_string(), target.agent.agent_id);
        let (task, pane) = self
            .db
            // One INSERT (or none); the refusal path only reads.
            .write_atomic(move |conn| {
                Box::pin(async move {
                    match Broker::store_unicast(conn, fleet_id, sender, to, &text, &now, mode)
                        .await?
                    {
                        Some(stored) => Ok(stored),
                        None => {
                            Err(super::messages::unicast_refusal(conn, fleet_id, sender, to).await)
                        }
                    }
                })
            })
            .await?;
        self.deliver_and_report(fleet_id, task, pane, mode, false)
            .await
    }
}

/// The `OPENCODE_CONFIG_CONTENT` that loads CAFleet's activity plugin into an opencode
/// member (the plugin is written beside the database); `None` when it cannot be loaded,
/// and the member then runs without it (its pane is read instead).
fn opencode_hooks(spec: &MemberSpec) -> Option<String> {
    let (exe, dir) = (spec.cafleet.as_deref()?, spec.database_dir.as_deref()?);
    let plugin = match backend::write_opencode_plugin(dir, exe) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot write the opencode activity plugin; the member runs without it");
            return None;
        }
    };
    let existing = std::env::var("OPENCODE_CONFIG_CONTENT").ok();
    let content = backend::opencode_config_content(existing.as_deref(), &plugin);
    if content.is_none() {
        tracing::warn!(
            "OPENCODE_CONFIG_CONTENT is not a JSON object; the opencode member runs without CAFleet's activity plugin"
        );
    }
    content
}

/// The last non-blank lines of a start-up screen, indented, for an error message.
fn start_lines(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "    (nothing on screen)".into();
    }
    lines[lines.len().saturating_sub(15)..]
        .iter()
        .map(|l| format!("    {}", l.trim_end()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn deliver(d: Delivery, pane: &PaneTarget) -> Result<()> {
    match d {
        Delivery::Sent => Ok(()),
        Delivery::Shell(cmd) => Err(Error::failed(format!(
            "send failed: pane {} runs a shell ({cmd}), not a coding agent; nothing was typed.",
            pane.pane_id
        ))),
        Delivery::Gone => Err(Error::failed(format!(
            "send failed: can't find pane: {} (the member's pane is gone). Check with 'cafleet member list'.",
            pane.pane_id
        ))),
        Delivery::Failed(e) => Err(Error::failed(format!("send failed: {e}"))),
        Delivery::Held(why) => Err(Error::failed(format!(
            "send held: nothing was typed into pane {}: {why}. See it with 'cafleet member capture'; retry once it is clear.",
            pane.pane_id
        ))),
    }
}

/// The opencode preset a `member create` wrote; removed on drop unless the create succeeded.
struct CreatedPreset(Option<std::path::PathBuf>);

impl CreatedPreset {
    /// The member runs: the preset stays.
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for CreatedPreset {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Loads the template named by the prompt source, byte for byte (a prompt file's line
/// endings and trailing newline are kept, as in 0.14).
fn load_template(source: &PromptSource, role: Role) -> Result<String> {
    match source {
        PromptSource::Default if role == Role::Monitor => {
            Ok(backend::DEFAULT_MONITOR_PROMPT.to_string())
        }
        PromptSource::Default => Ok(backend::DEFAULT_PROMPT.to_string()),
        PromptSource::Words(w) => Ok(w.clone()),
        PromptSource::File(p) => read_prompt_file(p),
    }
}

/// Reads `--prompt-file`: absolute, a regular readable UTF-8 file, not blank.
pub fn read_prompt_file(p: &str) -> Result<String> {
    let path = Path::new(p);
    if !path.is_absolute() {
        return Err(Error::usage(format!(
            "--prompt-file requires an absolute path (got '{p}'). Resolve relative paths against your BASE first — see reference/base-dir.md in the `cafleet` skill."
        )));
    }
    if !path.is_file() {
        return Err(Error::invalid(format!(
            "--prompt-file {p}: file does not exist or is not a regular file."
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|_| Error::invalid(format!("--prompt-file {p}: file is not readable.")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::invalid(format!("--prompt-file {p}: file is not valid UTF-8.")))?;
    if text.trim().is_empty() {
        return Err(Error::invalid(format!("--prompt-file {p}: file is empty.")));
    }
    Ok(text)
}
