//! Members on another host (docs/postgres.md, "Pane requests"). A command never runs tmux
//! for another host's pane: it stores a pane request for that host's relay, wakes it, and
//! waits (bounded) for the outcome; the relay carries the request out with the same code a
//! local command runs ([`Broker::run_pane_op`]) and records the result. Spawning a member
//! on another host (`member create --host`) is such a request too: the rows are written
//! by the requester, the pane is opened, waited for and recorded by the relay.

use super::*;
use serde::{Deserialize, Serialize};

/// What to do with (or for) a member's pane.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PaneOp {
    /// Open the member's pane and start its coding agent.
    Spawn(SpawnOp),
    /// The last `lines` lines of the pane.
    Capture { lines: i64 },
    /// Answer a multiple-choice prompt.
    Choice { choice: u8 },
    /// Answer a question's free-text row.
    Freetext { text: String },
    /// `! <command>` and Enter.
    Exec { command: String },
    /// Type the poll trigger.
    Ping { fleet_id: i64 },
    /// Close the pane (`/exit`, or kill it with `force`).
    Close { force: bool },
    /// The monitor's wake of a due agent: the poll trigger, unless the agent is working;
    /// typed, it stamps the agent's last wake.
    Wake { fleet_id: i64 },
}

impl PaneOp {
    /// The request's `kind` column.
    fn kind(&self) -> &'static str {
        match self {
            PaneOp::Spawn(_) => "spawn",
            PaneOp::Capture { .. } => "capture",
            PaneOp::Choice { .. } => "choice",
            PaneOp::Freetext { .. } => "freetext",
            PaneOp::Exec { .. } => "exec",
            PaneOp::Ping { .. } => "ping",
            PaneOp::Close { .. } => "close",
            PaneOp::Wake { .. } => "wake",
        }
    }

    /// The request's `payload` column.
    fn encode(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| Error::failed(format!("cannot encode the pane request: {e}")))
    }

    /// How long a requester waits for the relay to carry it out, beyond [`PICKUP_WAIT`].
    fn run_time(&self) -> Duration {
        match self {
            PaneOp::Spawn(s) => Duration::from_secs(s.ready_timeout_secs) + Duration::from_secs(15),
            PaneOp::Close { .. } => EXIT_WAIT + Duration::from_secs(10),
            _ => Duration::from_secs(10),
        }
    }
}

/// A member to start on the relay's host: everything `member create` decided, except what
/// only that host knows (the `cafleet` binary its hooks run, its tmux server and session).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpawnOp {
    pub coding_agent: CodingAgent,
    pub name: String,
    pub model: Option<String>,
    /// The rendered prompt.
    pub prompt: String,
    pub codex_hooks: bool,
    /// Environment forwarded into the pane (the database URL).
    pub env: Vec<(String, String)>,
    pub ready_timeout_secs: u64,
}

/// Where a spawned pane went.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpawnedPane {
    pub socket: String,
    pub session: String,
    pub window_id: String,
    pub pane_id: String,
    pub argv: Vec<String>,
}

/// The outcome of a [`PaneOp`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PaneOpDone {
    /// `Capture`: the text.
    pub text: Option<String>,
    /// `Close`: how the pane closed, or that it did not in time.
    pub closed: Option<std::result::Result<PaneClosed, ExitTimeout>>,
    /// `Spawn`: the new pane.
    pub spawned: Option<SpawnedPane>,
}

/// How long a requester waits for a relay to pick a request up (it is woken at once on
/// PostgreSQL, within its `--interval` otherwise).
pub const PICKUP_WAIT: Duration = Duration::from_secs(10);

/// How often a requester looks at its request.
const REQUEST_POLL: Duration = Duration::from_millis(100);

/// What a relay spawns members into: its tmux server and session, the directory they
/// start in, and the `cafleet` their hooks run.
#[derive(Debug, Clone)]
pub struct RelaySetup {
    pub socket: String,
    pub session: String,
    pub cwd: PathBuf,
    pub cafleet: Option<PathBuf>,
}

impl Broker {
    /// Runs `op` on a member's pane: here when the pane is on this host, else through the
    /// relay of its host.
    pub async fn steer_pane(
        &self,
        pane: &PaneTarget,
        agent_id: AgentId,
        op: PaneOp,
    ) -> Result<PaneOpDone> {
        match self.remote_host(pane.host.as_deref()) {
            Some(host) => self.request_pane_op(host, agent_id, &op).await,
            None => self.run_pane_op(pane, agent_id, op).await,
        }
    }

    /// Carries out `op` on a pane of this host.
    pub async fn run_pane_op(
        &self,
        pane: &PaneTarget,
        agent_id: AgentId,
        op: PaneOp,
    ) -> Result<PaneOpDone> {
        let mut done = PaneOpDone::default();
        match op {
            PaneOp::Capture { lines } => done.text = Some(self.member_capture(pane, lines).await?),
            PaneOp::Choice { choice } => self.member_choice(pane, choice).await?,
            PaneOp::Freetext { text } => self.member_freetext(pane, &text).await?,
            PaneOp::Exec { command } => self.member_exec(pane, &command).await?,
            PaneOp::Ping { fleet_id } => {
                self.member_ping(FleetId(fleet_id), agent_id, pane).await?;
            }
            PaneOp::Close { force } => done.closed = Some(self.close_pane(pane, force).await?),
            PaneOp::Wake { fleet_id } => self.wake_here(FleetId(fleet_id), agent_id, pane).await?,
            PaneOp::Spawn(_) => {
                return Err(Error::failed(
                    "a member is spawned by a relay's pane request, not onto an existing pane",
                ));
            }
        }
        Ok(done)
    }

    /// Stores `op` for `host`'s relay, wakes it and waits for the outcome. A request no
    /// relay picked up in time is withdrawn, and the error says to start one.
    pub async fn request_pane_op(
        &self,
        host: &str,
        agent_id: AgentId,
        op: &PaneOp,
    ) -> Result<PaneOpDone> {
        let payload = op.encode()?;
        let (kind, now, h) = (op.kind(), now_ts(), host.to_string());
        let request_id = self
            .db
            .write_atomic(move |tx| {
                Box::pin(async move {
                    db::pane_requests::insert(tx, &h, agent_id, kind, &payload, &now).await
                })
            })
            .await?;
        self.notify_host(host).await;
        let deadline = Instant::now() + PICKUP_WAIT + op.run_time();
        let pickup_deadline = Instant::now() + PICKUP_WAIT;
        loop {
            let status = {
                let mut conn = self.db.read().await?;
                db::pane_requests::status(&mut conn, request_id).await?
            };
            let Some(status) = status else {
                return Err(Error::failed(format!(
                    "pane request {request_id} for host {host} vanished"
                )));
            };
            let result = status.result.unwrap_or_default();
            match status.state.as_str() {
                "done" => {
                    return serde_json::from_str(&result).map_err(|e| {
                        Error::failed(format!(
                            "the relay on host {host} answered pane request {request_id} with something unreadable: {e}"
                        ))
                    });
                }
                "failed" => {
                    return Err(Error::failed(format!(
                        "on host {host} (its relay carried out the {kind}): {result}"
                    )));
                }
                "canceled" => {
                    return Err(Error::failed(format!(
                        "pane request {request_id} for host {host} was canceled: {result}"
                    )));
                }
                state => {
                    let late = match state {
                        "pending" => Instant::now() >= pickup_deadline,
                        _ => Instant::now() >= deadline,
                    };
                    if late {
                        return Err(self.withdraw(request_id, host, state).await);
                    }
                }
            }
            tokio::time::sleep(REQUEST_POLL).await;
        }
    }

    /// Leaves `op` for `host`'s relay without waiting for it (the monitor's wakes); false
    /// when one of the same kind for the agent is still open, so a relay that is down
    /// does not pile them up.
    pub async fn request_pane_op_later(
        &self,
        host: &str,
        agent_id: AgentId,
        op: &PaneOp,
    ) -> Result<bool> {
        let payload = op.encode()?;
        let (kind, now, h) = (op.kind(), now_ts(), host.to_string());
        let stored = self
            .db
            .write(move |tx| {
                Box::pin(async move {
                    if db::pane_requests::is_open(tx, agent_id, kind).await? {
                        return Ok(false);
                    }
                    db::pane_requests::insert(tx, &h, agent_id, kind, &payload, &now).await?;
                    Ok(true)
                })
            })
            .await?;
        if stored {
            self.notify_host(host).await;
        }
        Ok(stored)
    }

    /// The monitor's wake, on this host: as a tick wakes a local agent.
    async fn wake_here(
        &self,
        fleet_id: FleetId,
        agent_id: AgentId,
        pane: &PaneTarget,
    ) -> Result<()> {
        if self.hooks_say_working(agent_id).await {
            return Err(Error::failed("not woken: it is working (its hooks say so)"));
        }
        let line = crate::broker::monitor::poll_trigger(fleet_id, agent_id);
        match self.tmux.type_line_with(pane, &line, true).await.0 {
            Delivery::Sent => self.monitor_stamp(&[agent_id], &now_ts()).await,
            Delivery::Held(why) => Err(Error::failed(format!("not woken: {why}"))),
            Delivery::Shell(cmd) => Err(Error::failed(format!("its pane runs the shell {cmd}"))),
            Delivery::Gone => Err(Error::failed("its pane is gone")),
            Delivery::Failed(e) => Err(Error::failed(format!("tmux failed: {e}"))),
        }
    }

    /// Cancels a request its requester stops waiting for; the error to report.
    async fn withdraw(&self, request_id: i64, host: &str, state: &str) -> Error {
        let why = if state == "pending" {
            format!(
                "no relay on host {host} picked it up within {}s",
                PICKUP_WAIT.as_secs()
            )
        } else {
            format!("the relay on host {host} did not finish it in time")
        };
        let (w, now) = (why.clone(), now_ts());
        let canceled = self
            .db
            .write_atomic(move |tx| {
                Box::pin(async move { db::pane_requests::cancel(tx, request_id, &w, &now).await })
            })
            .await;
        if let Err(e) = canceled {
            tracing::warn!(error = %e, request_id, "could not cancel a pane request");
        }
        Error::failed(format!(
            "{why}; the request was withdrawn. Start the relay on {host} ('cafleet relay', with the same CAFLEET_DATABASE_URL and CAFLEET_HOST={host} if it is not that machine's host name), then re-run the command."
        ))
    }

    /// Wakes `host`'s relay (PostgreSQL's `NOTIFY`; SQLite's relays poll).
    pub(crate) async fn notify_host(&self, host: &str) {
        if !self.db.is_pg() {
            return;
        }
        let woken = async {
            let mut conn = self.db.read().await?;
            db::deliveries::notify_relay(&mut conn, host).await
        }
        .await;
        if let Err(e) = woken {
            tracing::warn!(%host, error = %e, "could not wake the relay");
        }
    }

    /// A relay starting on this host fails the requests a previous relay left running
    /// (it died while carrying them out); returns how many.
    pub async fn relay_started(&self) -> Result<u64> {
        let (host, now) = (self.host.to_string(), now_ts());
        self.db
            .write_atomic(move |tx| {
                Box::pin(async move { db::pane_requests::fail_abandoned(tx, &host, &now).await })
            })
            .await
    }

    /// The relay's side: claims and carries out this host's pending pane requests, one
    /// at a time, oldest first; returns a line per request.
    pub async fn serve_pane_requests(&self, setup: &RelaySetup) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        loop {
            let (host, now) = (self.host.to_string(), now_ts());
            let claimed = self
                .db
                .write_atomic(move |tx| {
                    Box::pin(async move { db::pane_requests::claim_next(tx, &host, &now).await })
                })
                .await?;
            let Some(req) = claimed else {
                return Ok(lines);
            };
            let outcome = match serde_json::from_str::<PaneOp>(&req.payload) {
                Ok(op) => self.carry_out(setup, req.agent_id, op).await,
                Err(e) => Err(Error::failed(format!(
                    "this relay cannot read the request ({e}): is the requesting cafleet a newer version?"
                ))),
            };
            let (state, result) = match &outcome {
                Ok(done) => ("done", serde_json::to_string(done).unwrap_or_default()),
                Err(e) => ("failed", e.to_string()),
            };
            let (id, now, r) = (req.request_id, now_ts(), result.clone());
            let recorded = self
                .db
                .write_atomic(move |tx| {
                    Box::pin(
                        async move { db::pane_requests::finish(tx, id, state, &r, &now).await },
                    )
                })
                .await?;
            if !recorded
                && let Ok(PaneOpDone {
                    spawned: Some(s), ..
                }) = &outcome
            {
                // The requester gave up and rolled the member back: close what we opened.
                let _ = self
                    .tmux
                    .kill_pane(&PaneTarget::local(s.socket.clone(), s.pane_id.clone()))
                    .await;
            }
            lines.push(format!(
                "{now} pane request {id} ({}) for agent {} -> {}",
                req.kind,
                req.agent_id,
                match (&outcome, recorded) {
                    (_, false) => "withdrawn by its requester meanwhile".to_string(),
                    (Ok(_), true) => "done".to_string(),
                    (Err(e), true) => format!("failed: {e}"),
                },
                now = now_ts()
            ));
        }
    }

    /// One request on this host.
    async fn carry_out(
        &self,
        setup: &RelaySetup,
        agent_id: AgentId,
        op: PaneOp,
    ) -> Result<PaneOpDone> {
        let placement = {
            let mut conn = self.db.read().await?;
            db::placements::get(&mut conn, agent_id).await?
        }
        .ok_or_else(|| Error::not_found(format!("agent {agent_id} has no placement any more")))?;
        if placement.host.as_deref() != Some(self.host()) {
            return Err(Error::failed(format!(
                "agent {agent_id}'s pane is not on host {}",
                self.host()
            )));
        }
        if let PaneOp::Spawn(spawn) = op {
            let spawned = self.spawn_here(setup, agent_id, &spawn).await?;
            return Ok(PaneOpDone {
                spawned: Some(spawned),
                ..PaneOpDone::default()
            });
        }
        let pane = placement
            .target()
            .ok_or_else(|| Error::not_found(format!("agent {agent_id} has no pane yet")))?;
        self.run_pane_op(&pane, agent_id, op).await
    }

    /// Opens a member's pane in the relay's session, waits for its coding agent to come
    /// up, and records the pane; on failure the pane is closed again.
    async fn spawn_here(
        &self,
        setup: &RelaySetup,
        agent_id: AgentId,
        spawn: &SpawnOp,
    ) -> Result<SpawnedPane> {
        let backend = spawn.coding_agent;
        if backend == CodingAgent::Opencode
            && let Some(path) = backend::opencode_preset_path()
        {
            backend::materialize_opencode_preset(&path)?;
        }
        let mut argv = backend::spawn_argv(
            backend,
            &spawn.name,
            spawn.model.as_deref(),
            &spawn.prompt,
            None,
            setup.cafleet.as_deref(),
            spawn.codex_hooks,
        );
        if self.db.is_pg() {
            backend::allow_network(backend, &mut argv);
        }
        let mut env = spawn.env.clone();
        env.retain(|(k, _)| k != "CAFLEET_HOST");
        env.push(("CAFLEET_HOST".into(), self.host.to_string()));
        let (session, window_id, pane_id) = self
            .tmux
            .new_window(&setup.socket, &setup.session, &setup.cwd, &env, &argv)
            .await
            .map_err(|e| Error::failed(format!("tmux new-window failed: {e}")))?;
        let target = PaneTarget::local(setup.socket.clone(), pane_id.clone());
        let ready = Duration::from_secs(spawn.ready_timeout_secs);
        if let Err(why) = self.wait_started(&target, backend, ready).await {
            let _ = self.tmux.kill_pane(&target).await;
            return Err(Error::failed(why));
        }
        let (socket, s, w, p) = (
            setup.socket.clone(),
            session.clone(),
            window_id.clone(),
            pane_id.clone(),
        );
        let recorded = self
            .db
            .write_atomic(move |tx| {
                Box::pin(async move {
                    db::placements::set_spawned(tx, agent_id, &socket, &s, &w, &p).await
                })
            })
            .await;
        if !matches!(recorded, Ok(true)) {
            let _ = self.tmux.kill_pane(&target).await;
            return Err(Error::failed(format!(
                "the member's placement could not be recorded ({}); its pane was closed",
                match recorded {
                    Err(e) => e.to_string(),
                    _ => "it vanished".into(),
                }
            )));
        }
        Ok(SpawnedPane {
            socket: setup.socket.clone(),
            session,
            window_id,
            pane_id,
            argv,
        })
    }
}
