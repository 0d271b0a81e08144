//! `cafleet member ...`: spawn, list, steer and remove pane-bound members.

use super::output::{self, col, print, print_json, print_raw, table};
use super::{CliResult, Ctx};
use super::{need, need_fleet};
use crate::broker::Broker;
use crate::broker::activity::ActivityView;
use crate::broker::members::{Caller, MemberSpec, MemberTarget, PaneClosed, PromptSource, Role};
use crate::model::{CodingAgent, PaneTarget};
use crate::tmux::Tmux;
use clap::{Args, Subcommand};
use serde_json::json;

/// `cafleet member ...`
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Spawn a member running a coding agent in a new pane of the Director's window.
    /// Director-only: run it from the Director's pane.
    Create(CreateArgs),
    /// Remove a member: type /exit and wait for its pane to close (or --force to kill it).
    /// Director-only.
    Delete(DeleteArgs),
    /// List the fleet's members (pane-bound agents other than the Director) with what each
    /// is doing (activity: working, idle, waiting, exited or unknown; from its coding
    /// agent's hooks, else its pane). Works outside tmux.
    List(ListArgs),
    /// Print the last lines of a member's pane. Director-only.
    Capture(CaptureArgs),
    /// Answer a member's multiple-choice prompt (--choice 1|2|3). Director-only.
    SendInput(SendInputArgs),
    /// Run a shell command in a member's coding agent via its `!` shortcut. Director-only.
    Exec(ExecArgs),
    /// Type the poll command into a member's pane so it reads its inbox. Director-only.
    Ping(TargetArgs),
    /// Send an ackable message to a member and preview it into its pane.
    Nudge(NudgeArgs),
}

/// Options of `member create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The fleet's root Director id (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// The member's name (required; claude also shows it as the session title).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub name: Option<String>,
    /// What the member does (required).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub description: Option<String>,
    /// Coding agent to run [default: claude; a monitor inherits the Director's].
    #[arg(long, value_enum, value_name = "CODING_AGENT")]
    pub coding_agent: Option<CodingAgent>,
    /// Model passed to the coding agent (opencode: '<provider-id>/<model-id>').
    #[arg(long, value_name = "TEXT")]
    pub model: Option<String>,
    /// `monitor` creates the fleet's monitoring member (at most one).
    #[arg(long, value_enum, default_value = "member")]
    pub role: Role,
    /// Absolute path of a UTF-8 prompt template (placeholders: {fleet_id}, {agent_id},
    /// {director_agent_id}, {coding_agent}).
    #[arg(long, value_name = "PATH")]
    pub prompt_file: Option<String>,
    /// Seconds to wait for the coding agent's input box to appear; a member that exits,
    /// waits at a login or trust screen, or is not up in time is reported with its pane's
    /// last lines and removed again. 0 returns right after the spawn.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub ready_timeout: u64,
    /// codex members: report working and waiting as they happen, not only the end of each
    /// turn. Adds CAFleet's hooks for codex's prompt, tool, permission and stop events, which
    /// codex runs only after a person reviewed them in /hooks, so the member is started with
    /// --dangerously-bypass-hook-trust: every enabled hook (yours and a trusted project's
    /// included) then runs in that member without codex's review.
    #[arg(long)]
    pub codex_hooks: bool,
    /// Long text form.
    #[arg(long, hide = true)]
    pub full: bool,
    /// Custom prompt template, joined with spaces (put words starting with '-' after '--').
    #[arg(value_name = "PROMPT_ARGV", trailing_var_arg = true)]
    pub prompt_argv: Vec<String>,
}

/// Options of `member delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The member to delete (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub member_id: Option<i64>,
    /// Kill the pane instead of typing /exit and waiting.
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// Options of `member list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Show last sent/received/acked times and idle time instead of placement columns.
    #[arg(long, hide = true)]
    pub activity: bool,
}

/// Options of `member capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The member (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub member_id: Option<i64>,
    /// How many lines (trailing blank rows are dropped first).
    #[arg(long, visible_alias = "tail", default_value_t = 20)]
    pub lines: i64,
    /// Keep escape sequences and carriage returns as captured.
    #[arg(long, hide = true, overrides_with = "no_ansi")]
    pub ansi: bool,
    /// Remove escape sequences (the default).
    #[arg(long, hide = true)]
    pub no_ansi: bool,
}

/// Options of `member send-input`.
#[derive(Debug, Args)]
pub struct SendInputArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The member (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub member_id: Option<i64>,
    /// Answer a multiple-choice prompt with option 1, 2 or 3.
    #[arg(long, value_name = "INTEGER RANGE", value_parser = parse_choice)]
    pub choice: Option<u8>,
    /// Type an answer into the prompt's "other" field.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub freetext: Option<String>,
}

/// Options of `member exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The member (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub member_id: Option<i64>,
    /// The shell command, as one quoted argument (use '--' before one starting with '-').
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// Options of `member ping`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The member (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub member_id: Option<i64>,
    /// Print only the member id.
    #[arg(long, hide = true)]
    pub quiet: bool,
}

/// Options of `member nudge`.
#[derive(Debug, Args)]
pub struct NudgeArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The sender's agent id (required; typically the monitoring member).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// The agent to nudge (required; typically the Director).
    #[arg(long, value_name = "AGENT_ID")]
    pub member_id: Option<i64>,
    /// The message (required, not blank).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub text: Option<String>,
    /// How the preview reaches the member's pane: idle (the default; typed at once unless
    /// the member is working, which gets it when its turn ends), now (typed at once, never
    /// with Escape) or queue (never typed; the member finds it when it polls).
    #[arg(long, value_name = "MODE")]
    pub deliver: Option<String>,
}

fn parse_choice(s: &str) -> Result<u8, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a valid integer range."))?;
    if (1..=3).contains(&n) {
        Ok(n as u8)
    } else {
        Err(format!("{n} is not in the range 1<=x<=3."))
    }
}

/// Runs a member subcommand.
pub async fn run(ctx: &Ctx, cmd: MemberCommand) -> CliResult {
    match cmd {
        MemberCommand::Create(a) => create(ctx, a).await,
        MemberCommand::Delete(a) => delete(ctx, a).await,
        MemberCommand::List(a) => list(ctx, a).await,
        MemberCommand::Capture(a) => capture(ctx, a).await,
        MemberCommand::SendInput(a) => send_input(ctx, a).await,
        MemberCommand::Exec(a) => exec(ctx, a).await,
        MemberCommand::Ping(a) => ping(ctx, a).await,
        MemberCommand::Nudge(a) => nudge(ctx, a).await,
    }
}

/// tmux on PATH and inside a tmux session, with 0.14's errors (docs/decisions.md, C1).
fn ensure_tmux() -> crate::Result<Tmux> {
    let tmux = Tmux::from_env();
    if !tmux.available() {
        return Err(crate::Error::failed("tmux binary not found on PATH"));
    }
    if Tmux::caller_socket().is_none() {
        return Err(crate::Error::failed(
            "cafleet member commands must be run inside a tmux session",
        ));
    }
    Ok(tmux)
}

/// Target resolution, the pending check and the Director-only caller check, in that order
/// (docs/decisions.md, L6).
async fn steerable(
    broker: &Broker,
    fleet_id: i64,
    member_id: i64,
    verb: &str,
    command: &str,
) -> crate::Result<(MemberTarget, PaneTarget)> {
    let target = broker.member_target(fleet_id, member_id, false).await?;
    let Some(pane) = target.pane() else {
        if target.placement.tmux_pane_id.is_some() {
            return Err(crate::Error::not_found(format!(
                "member {member_id} was placed by CAFleet 0.14 without its tmux server on record — nothing to {verb}."
            )));
        }
        return Err(crate::Error::not_found(format!(
            "member {member_id} has no pane yet (pending placement) — nothing to {verb}."
        )));
    };
    broker
        .check_director_caller(fleet_id, &Caller::from_env(), command)
        .await?;
    Ok((target, pane))
}

async fn create(ctx: &Ctx, a: CreateArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let director_id = need(a.agent_id, "--agent-id")?;
    let name = need(a.name, "--name")?;
    let description = need(a.description, "--description")?;
    // Before any tmux check (docs/decisions.md, L4 and MEM-1).
    crate::broker::validate_identity(&name, &description)?;
    if a.prompt_file.is_some() && !a.prompt_argv.is_empty() {
        return Err(crate::Error::Usage(
            "--prompt-file and the positional prompt argument are mutually exclusive.".into(),
        ));
    }
    let prompt = match (a.prompt_file, a.prompt_argv.is_empty()) {
        (Some(p), _) => PromptSource::File(p),
        (None, false) => PromptSource::Words(a.prompt_argv.join(" ")),
        (None, true) => PromptSource::Default,
    };
    let broker = ctx.broker().await?;
    let mut spec = MemberSpec {
        fleet_id,
        director_id,
        name,
        description,
        backend: a.coding_agent,
        model: a.model,
        role: a.role,
        prompt,
        caller: crate::tmux::PaneContext {
            session_name: String::new(),
            window_id: String::new(),
            pane_id: String::new(),
            socket_path: String::new(),
        },
        cwd: std::env::current_dir()
            .map_err(|e| crate::Error::failed(format!("cannot read the current directory: {e}")))?,
        env: std::env::var("CAFLEET_DATABASE_URL")
            .ok()
            .map(|v| vec![("CAFLEET_DATABASE_URL".to_string(), v)])
            .unwrap_or_default(),
        ready_timeout: std::time::Duration::from_secs(a.ready_timeout),
        // The hooks run this very binary, so they need no `cafleet` on the member's PATH.
        cafleet: std::env::current_exe().ok(),
        codex_hooks: a.codex_hooks,
        // The database `ctx.broker()` opened (so the configuration is known to be valid).
        database_dir: crate::config::Config::from_env()
            .ok()
            .and_then(|c| c.database_path.parent().map(std::path::Path::to_path_buf)),
    };
    let backend = broker.resolve_backend(&spec).await?;
    crate::backend::validate_model(backend, spec.model.as_deref())?;
    if spec.codex_hooks && backend != CodingAgent::Codex {
        return Err(crate::Error::Usage(format!(
            "--codex-hooks is for codex members; a {backend} member reports its activity through its hooks without it. Drop --codex-hooks, or add --coding-agent codex."
        )));
    }
    let tmux = ensure_tmux()?;
    if crate::tmux::find_on_path(backend.as_str()).is_none() {
        return Err(crate::Error::failed(format!(
            "binary {} not found on PATH",
            backend.as_str()
        )));
    }
    spec.caller = super::calling_pane(&tmux, "member create").await?;
    let made = broker.member_create(&spec, backend).await?;
    let p = &made.placement;
    let pane = p.tmux_pane_id.as_deref().unwrap_or("(pending)");
    if ctx.json {
        print_json(&json!({
            "agent_id": made.agent.agent_id,
            "name": made.agent.name,
            "registered_at": made.agent.registered_at,
            "placement": output::placement_json(p),
        }));
    } else if a.full {
        print(&format!(
            "Member registered and spawned.\n  agent_id:  {}\n  name:      {}\n  backend:   {}\n  pane_id:   {}\n  window_id: {}",
            made.agent.agent_id, made.agent.name, p.coding_agent, pane, p.tmux_window_id
        ));
    } else {
        print(&format!(
            "{} {} backend={} pane={}",
            made.agent.agent_id, made.agent.name, p.coding_agent, pane
        ));
    }
    if backend == CodingAgent::Claude {
        claude_rules_note(&made.agent.name, &spec.cwd);
    }
    Ok(())
}

/// A claude member runs in `dontAsk` mode: without allow rules for editing it can only talk.
/// Names what to add, and where, on stderr (stdout and `--json` stay the data).
fn claude_rules_note(name: &str, cwd: &std::path::Path) {
    use crate::backend::claude_settings;
    let found = claude_settings::allow_rules(cwd);
    if let Some(add) = found.member_rules_to_add() {
        eprintln!(
            "Note: claude member {name} runs in dontAsk mode, so it can run cafleet commands but cannot edit files; add {add} to permissions.allow in {}",
            crate::skills::display_path(&claude_settings::project_settings_path(cwd))
        );
    }
}

async fn delete(ctx: &Ctx, a: DeleteArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let member_id = need(a.member_id, "--member-id")?;
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    if broker.is_root_director(fleet_id, member_id).await? {
        return Err(crate::Error::forbidden(
            "cannot deregister the root Director; use 'cafleet fleet delete' instead",
        ));
    }
    let target = broker.member_target(fleet_id, member_id, true).await?;
    broker
        .check_director_caller(fleet_id, &Caller::from_env(), "delete")
        .await?;
    let outcome = broker.member_delete(&target, a.force).await?;
    let (header, status) = match outcome {
        Ok(PaneClosed::Pending) => ("Member deleted.", "(pending — no pane)".to_string()),
        Ok(PaneClosed::Closed(p)) => ("Member deleted.", format!("{p} (closed)")),
        Ok(PaneClosed::Killed(p)) => ("Member deleted (--force).", format!("{p} (killed)")),
        Err(timeout) => {
            let p = &timeout.pane_id;
            if let Some(e) = &timeout.capture_error {
                eprintln!(
                    "Warning: capture_pane failed during timeout handling: {e}. The timeout error and recovery hint still print."
                );
            }
            eprint!(
                "Error: pane {p} did not close within 15.0s after /exit.\n--- pane {p} tail (last 80 lines) ---\n{}\n---\nRecovery: inspect with `cafleet member capture`, answer any prompt with `cafleet member send-input`, then re-run `cafleet member delete`. Or re-run with `--force` to skip the wait and kill the pane.\n",
                timeout.tail
            );
            if ctx.json {
                print_json(
                    &json!({"agent_id": member_id, "pane_status": format!("{p} (timeout)")}),
                );
            }
            return Err(crate::Error::Exit(2));
        }
    };
    if ctx.json {
        print_json(&json!({"agent_id": member_id, "pane_status": status}));
    } else {
        print(&format!(
            "{header}\n  agent_id:  {member_id}\n  pane_id:   {status}"
        ));
    }
    Ok(())
}

fn clock(ts: &Option<String>) -> String {
    ts.as_deref().and_then(|t| t.split_once('T')).map_or_else(
        || "-".to_string(),
        |(_, time)| time.chars().take(8).collect(),
    )
}

fn idle_seconds(sent: &Option<String>, recv: &Option<String>) -> Option<i64> {
    let latest = [sent, recv]
        .into_iter()
        .flatten()
        .filter_map(|t| crate::model::parse_ts(t))
        .max()?;
    Some((chrono::Utc::now() - latest).num_seconds().max(0))
}

fn idle_text(s: Option<i64>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s < 60 => format!("{s}s"),
        Some(s) if s < 3600 => format!("{}m", s / 60),
        Some(s) => format!("{}h", s / 3600),
    }
}

async fn list(ctx: &Ctx, a: ListArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let broker = ctx.broker().await?;
    let members = broker.member_list(fleet_id).await?;
    let panes: Vec<_> = members
        .iter()
        .map(|m| {
            let pane = PaneTarget::from_placement(m.tmux_socket.clone(), m.tmux_pane_id.clone());
            (m.agent_id, pane)
        })
        .collect();
    let activities = broker.activities(fleet_id, &panes).await?;
    let activity = |id: i64| {
        activities
            .get(&id)
            .cloned()
            .unwrap_or_else(ActivityView::unknown)
    };
    let undelivered = broker.undelivered_counts(fleet_id).await?;
    let undelivered = |id: i64| undelivered.get(&id).copied().unwrap_or_default();
    if ctx.json {
        let items: Vec<_> = members
            .iter()
            .map(|m| {
                let mut v = json!({
                    "agent_id": m.agent_id,
                    "name": m.name,
                    "description": m.description,
                    "status": m.status,
                    "registered_at": m.registered_at,
                    "placement": {
                        "director_agent_id": m.director_agent_id,
                        "tmux_session": m.tmux_session,
                        "tmux_window_id": m.tmux_window_id,
                        "tmux_pane_id": m.tmux_pane_id,
                        "coding_agent": m.coding_agent,
                        "created_at": m.created_at,
                    },
                });
                let obj = v.as_object_mut().expect("object");
                activity(m.agent_id).insert_into(obj);
                obj.insert("undelivered".into(), json!(undelivered(m.agent_id)));
                if a.activity {
                    obj.insert("last_sent".into(), json!(m.last_sent));
                    obj.insert("last_recv".into(), json!(m.last_recv));
                    obj.insert("last_ack".into(), json!(m.last_ack));
                    obj.insert(
                        "idle".into(),
                        json!(idle_seconds(&m.last_sent, &m.last_recv)),
                    );
                }
                v
            })
            .collect();
        print_json(&serde_json::Value::Array(items));
        return Ok(());
    }
    let n = members.len();
    if n == 0 {
        print("0 members.");
        return Ok(());
    }
    let mut lines = vec![format!("{n} member{}:", if n == 1 { "" } else { "s" })];
    let mut columns = vec![col("agent_id", 14), col("name", 8), col("status", 6)];
    let lead = |m: &crate::broker::members::MemberRow| {
        vec![m.agent_id.to_string(), m.name.clone(), m.status.clone()]
    };
    let rows: Vec<Vec<String>> = if a.activity {
        columns.extend([
            col("last_sent", 9),
            col("last_recv", 9),
            col("last_ack", 9),
            col("idle", 5),
        ]);
        members
            .iter()
            .map(|m| {
                let mut row = lead(m);
                row.extend([
                    clock(&m.last_sent),
                    clock(&m.last_recv),
                    clock(&m.last_ack),
                    idle_text(idle_seconds(&m.last_sent, &m.last_recv)),
                ]);
                row
            })
            .collect()
    } else {
        columns.extend([
            col("backend", 7),
            col("session", 7),
            col("window_id", 9),
            col("pane_id", 7),
            col("created_at", 32),
            col("activity", 8),
            col("undelivered", 11),
        ]);
        members
            .iter()
            .map(|m| {
                let mut row = lead(m);
                row.extend([
                    m.coding_agent.clone(),
                    m.tmux_session.clone(),
                    m.tmux_window_id.clone(),
                    m.tmux_pane_id.as_deref().unwrap_or("(pending)").to_string(),
                    m.created_at.clone(),
                    activity(m.agent_id).activity.to_string(),
                    undelivered(m.agent_id).text(),
                ]);
                row
            })
            .collect()
    };
    lines.extend(table("  ", "  ", &columns, true, &rows));
    print(&lines.join("\n"));
    Ok(())
}

/// Removes CSI sequences and keeps, per line, the text after its last `\r`.
fn clean_capture(text: &str) -> String {
    let mut no_csi = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            while chars.next_if(|c| ('0'..='?').contains(c)).is_some() {}
            while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
            chars.next_if(|c| ('@'..='~').contains(c));
            continue;
        }
        no_csi.push(c);
    }
    no_csi
        .split('\n')
        .map(|line| line.rsplit('\r').next().unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn capture(ctx: &Ctx, a: CaptureArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let member_id = need(a.member_id, "--member-id")?;
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    let (_target, pane) = steerable(&broker, fleet_id, member_id, "capture", "capture").await?;
    let raw = broker.member_capture(&pane, a.lines).await?;
    let content = if a.ansi { raw } else { clean_capture(&raw) };
    if ctx.json {
        print_json(&json!({
            "member_agent_id": member_id,
            "pane_id": pane.pane_id,
            "lines": a.lines,
            "content": content,
        }));
    } else if a.ansi {
        print_raw(&content);
    } else {
        print_raw(&output::visible_controls_if_tty(&content));
    }
    Ok(())
}

async fn send_input(ctx: &Ctx, a: SendInputArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let member_id = need(a.member_id, "--member-id")?;
    if let Some(text) = &a.freetext
        && text.trim_start().starts_with('!')
    {
        return Err(crate::Error::Usage(
                "--freetext may not start with '!' — that triggers the coding agent's shell-execution shortcut. Use 'cafleet member exec' for shell dispatch instead.".into(),
            ));
    }
    if a.choice.is_some() == a.freetext.is_some() {
        return Err(crate::Error::Usage(
            "--choice and --freetext are mutually exclusive; supply exactly one.".into(),
        ));
    }
    if a.freetext
        .as_deref()
        .is_some_and(|t| t.contains(['\r', '\n']))
    {
        return Err(crate::Error::Usage(
            "free text may not contain newlines.".into(),
        ));
    }
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    let (target, pane) = steerable(&broker, fleet_id, member_id, "send", "send-input").await?;
    let (action, value) = match (a.choice, a.freetext) {
        (Some(choice), _) => {
            broker.member_choice(&pane, choice).await?;
            ("choice", choice.to_string())
        }
        (None, Some(text)) => {
            broker.member_freetext(&pane, &text).await?;
            ("freetext", text)
        }
        (None, None) => unreachable!("validated above"),
    };
    if ctx.json {
        print_json(&json!({
            "member_agent_id": member_id,
            "pane_id": pane.pane_id,
            "action": action,
            "value": value,
        }));
    } else if action == "choice" {
        print(&format!(
            "Sent choice {value} to member {} ({}).",
            target.agent.name, pane.pane_id
        ));
    } else {
        print(&format!(
            "Sent free text to member {} ({}).",
            target.agent.name, pane.pane_id
        ));
    }
    Ok(())
}

async fn exec(ctx: &Ctx, a: ExecArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let member_id = need(a.member_id, "--member-id")?;
    let command = a
        .command
        .ok_or_else(|| crate::Error::Usage("Missing argument 'COMMAND'.".into()))?;
    if command.contains(['\r', '\n']) {
        return Err(crate::Error::Usage(
            "command may not contain newlines.".into(),
        ));
    }
    let command = command.trim().to_string();
    if command.is_empty() {
        return Err(crate::Error::Usage("command may not be empty.".into()));
    }
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    let (target, pane) = steerable(&broker, fleet_id, member_id, "exec", "exec").await?;
    broker.member_exec(&pane, &command).await?;
    if ctx.json {
        print_json(&json!({
            "member_agent_id": member_id,
            "pane_id": pane.pane_id,
            "command": command,
        }));
    } else {
        print(&format!(
            "Sent bash command {} to member {} ({}).",
            py_repr(&command),
            target.agent.name,
            pane.pane_id
        ));
    }
    Ok(())
}

async fn ping(ctx: &Ctx, a: TargetArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let member_id = need(a.member_id, "--member-id")?;
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    let (target, pane) = steerable(&broker, fleet_id, member_id, "ping", "ping").await?;
    broker.member_ping(fleet_id, member_id, &pane).await?;
    if ctx.json {
        print_json(&json!({"member_agent_id": member_id, "pane_id": pane.pane_id}));
    } else if a.quiet {
        print(&member_id.to_string());
    } else {
        print(&format!(
            "Pinged member {} ({}) — poll keystroke dispatched.",
            target.agent.name, pane.pane_id
        ));
    }
    Ok(())
}

async fn nudge(ctx: &Ctx, a: NudgeArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let sender = need(a.agent_id, "--agent-id")?;
    let member_id = need(a.member_id, "--member-id")?;
    let text = need(a.text, "--text")?;
    let mode = super::deliver_mode(a.deliver.as_deref())?;
    // Refused like send and broadcast (same text, exit 1), before any tmux check
    // (docs/decisions.md, O3 and L4).
    crate::broker::validate_text(&text)?;
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    let target = broker.member_target(fleet_id, member_id, false).await?;
    let sent = broker
        .member_nudge(fleet_id, sender, &target, &text, mode)
        .await?;
    let pane = target.placement.tmux_pane_id.clone();
    let name = &target.agent.name;
    let id = sent.task.task_id;
    if ctx.json {
        print_json(&json!({
            "member_agent_id": member_id,
            "pane_id": pane,
            "task_id": id,
            "notification_sent": sent.notification_sent,
            "delivery": sent.delivery,
        }));
    } else {
        let how = output::delivery_line(&sent.delivery);
        match (&pane, sent.notification_sent) {
            (None, _) => print(&format!("Nudged {name} — no pane; task {id} queued.")),
            (Some(p), true) => print(&format!(
                "Nudged {name} ({p}) — task {id} queued, preview typed ({how})."
            )),
            (Some(p), false) => print(&format!(
                "Nudged {name} ({p}) — task {id} queued; preview not typed ({how})."
            )),
        }
    }
    Ok(())
}

/// Python's `repr()` of a string, as `member exec`'s text output shows it.
pub fn py_repr(s: &str) -> String {
    use std::fmt::Write;
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c as u32 == 0xad => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if matches!(c as u32, 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff) =>
            {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        assert_eq!(py_repr("git status"), "'git status'");
        assert_eq!(py_repr("ls -la 'x y'"), "\"ls -la 'x y'\"");
        assert_eq!(py_repr("echo \"a\" 'b'"), "'echo \"a\" \\'b\\''");
        assert_eq!(
            py_repr("echo \\ tab\there é \x01"),
            "'echo \\\\ tab\\there é \\x01'"
        );
    }

    #[test]
    fn capture_cleanup_drops_csi_and_carriage_returns() {
        assert_eq!(
            clean_capture("a\x1b[31mred\x1b[0m\nold\rnew\n"),
            "ared\nnew\n"
        );
    }
}
