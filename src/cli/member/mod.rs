//! `cafleet member ...`: spawn, list, steer and remove pane-bound members.

mod lifecycle;
mod list;
mod steer;

use super::output::{self, col, print, print_json, print_raw, table};
use super::{CliResult, Ctx};
use super::{need, need_fleet};
use crate::broker::Broker;
use crate::broker::activity::ActivityView;
use crate::broker::members::{
    Caller, MemberSpec, MemberTarget, PaneClosed, PaneOp, PromptSource, Role,
};
use crate::model::{AgentId, FleetId};
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
    /// Spawn the member on another host that shares the database: that host's
    /// `cafleet relay` opens its pane (in the relay's tmux session) and reports back. The
    /// Director stays where it is and steers the member as any other.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
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
        MemberCommand::Create(a) => lifecycle::create(ctx, a).await,
        MemberCommand::Delete(a) => lifecycle::delete(ctx, a).await,
        MemberCommand::List(a) => list::list(ctx, a).await,
        MemberCommand::Capture(a) => steer::capture(ctx, a).await,
        MemberCommand::SendInput(a) => steer::send_input(ctx, a).await,
        MemberCommand::Exec(a) => steer::exec(ctx, a).await,
        MemberCommand::Ping(a) => steer::ping(ctx, a).await,
        MemberCommand::Nudge(a) => steer::nudge(ctx, a).await,
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
    fleet_id: FleetId,
    member_id: i64,
    verb: &str,
    command: &str,
) -> crate::Result<(MemberTarget, PaneTarget)> {
    let target = broker
        .member_target(fleet_id, AgentId(member_id), false)
        .await?;
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
