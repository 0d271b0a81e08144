//! `member create`: validate, register, spawn the pane after the commit, and roll every
//! row back when the spawn fails.

use super::*;

impl Broker {
    /// 0.14's registration checks, in 0.14's order (docs/decisions.md, C1). Returns the Director's
    /// placement (the new pane goes onto its server).
    pub(super) async fn check_registration(
        conn: &mut impl AsConn,
        spec: &MemberSpec,
    ) -> Result<Placement> {
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
    #[tracing::instrument(skip_all, fields(fleet = %spec.fleet_id, name = %spec.name), err)]
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
        // Another host's relay spawns the member there (docs/postgres.md, "Pane requests").
        let remote = self.remote_host(spec.host.as_deref()).map(str::to_string);
        // A preset this call creates is removed again if the create fails after all; one
        // that existed stays (docs/decisions.md, MEM-4). A relay writes its own.
        let mut preset = CreatedPreset(None);
        if backend == CodingAgent::Opencode
            && remote.is_none()
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
        let mut placement = match &remote {
            // Session, window, server and pane are the relay's to fill in.
            Some(host) => Placement {
                agent_id,
                director_agent_id: Some(spec.director_id),
                tmux_session: String::new(),
                tmux_window_id: String::new(),
                tmux_pane_id: None,
                coding_agent: backend.as_str().to_string(),
                created_at: now.clone(),
                tmux_socket: None,
                host: Some(host.clone()),
            },
            None => Placement {
                agent_id,
                director_agent_id: Some(spec.director_id),
                // The Director's window is where its pane is now (the caller, verified
                // above), not where it was at `fleet create`: the pane may have moved since.
                tmux_session: spec.caller.session_name.clone(),
                tmux_window_id: spec.caller.window_id.clone(),
                tmux_pane_id: None,
                coding_agent: backend.as_str().to_string(),
                created_at: now.clone(),
                tmux_socket: Some(socket.clone()),
                // The Director's host: the new pane goes onto its tmux server.
                host: Some(self.host().to_string()),
            },
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
                director_agent_id: AgentId(spec.director_id.0),
                coding_agent: backend.as_str(),
            },
        ) {
            Ok(p) => p,
            Err(e) => {
                self.unregister(agent_id).await;
                return Err(e);
            }
        };
        if let Some(host) = remote {
            let op = PaneOp::Spawn(SpawnOp {
                coding_agent: backend,
                name: spec.name.clone(),
                model: spec.model.clone(),
                prompt,
                codex_hooks: spec.codex_hooks,
                env: spec.env.clone(),
                ready_timeout_secs: spec.ready_timeout.as_secs(),
            });
            let spawned = match self.request_pane_op(&host, agent_id, &op).await {
                Ok(PaneOpDone {
                    spawned: Some(s), ..
                }) => s,
                Ok(_) => {
                    self.unregister(agent_id).await;
                    return Err(Error::failed(format!(
                        "the relay on host {host} reported no pane. Rolled back registration of {agent_id}."
                    )));
                }
                Err(e) => {
                    self.unregister(agent_id).await;
                    return Err(Error::failed(format!(
                        "{e}\nRolled back registration of {agent_id}."
                    )));
                }
            };
            placement.tmux_session = spawned.session;
            placement.tmux_window_id = spawned.window_id;
            placement.tmux_socket = Some(spawned.socket);
            placement.tmux_pane_id = Some(spawned.pane_id);
            return Ok(MemberCreated {
                agent,
                placement,
                argv: spawned.argv,
            });
        }
        let mut argv = backend::spawn_argv(
            backend,
            &spec.name,
            spec.model.as_deref(),
            &prompt,
            spec.database_dir.as_deref(),
            spec.cafleet.as_deref(),
            spec.codex_hooks,
        );
        if self.db.is_pg() {
            backend::allow_network(backend, &mut argv);
        }
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
        let target = PaneTarget::local(socket.clone(), pane.clone());
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
    pub(super) async fn wait_started(
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
    pub(super) async fn unregister(&self, agent_id: AgentId) {
        let removed = async {
            let mut tx = self.db.begin_write().await?;
            db::agents::delete_unspawned(&mut tx, agent_id).await?;
            tx.commit().await?;
            Ok::<(), Error>(())
        }
        .await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, agent_id = %agent_id, "could not remove the unspawned member; deregistering it");
            if let Err(e) = self.retire(agent_id).await {
                eprintln!(
                    "WARNING: rollback deregister failed — agent {agent_id} is orphaned in the registry. Run `cafleet agent deregister --fleet-id <F> --agent-id {agent_id}` manually to clean up. Cause: {e}"
                );
            }
        }
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
