//! The command tree (clap derive). Options 0.14 calls "required" are `Option`s here and
//! checked by the command bodies in declaration order, so that the reported error (and its
//! exit code) is 0.14's: `--fleet-id` missing is a runtime error, others usage errors
//! (docs/decisions.md, C1).

use crate::model::CodingAgent;
use clap::{Args, Parser, Subcommand};

/// CAFleet: a message broker and agent registry for coding agents in tmux panes.
///
/// A root Director creates a fleet from its tmux pane, members and agents exchange messages
/// stored in SQLite, and each delivery is previewed into the recipient's pane.
/// Database: $CAFLEET_DATABASE_URL (default ~/.local/share/cafleet/cafleet.db).
#[derive(Debug, Parser)]
#[command(
    name = "cafleet",
    version,
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Print machine-readable JSON (one compact line) instead of text. Must come before the
    /// command group: `cafleet --json agent list ...`.
    #[arg(long)]
    pub json: bool,

    /// The command group to run.
    #[command(subcommand)]
    pub command: Option<Group>,
}

/// Top-level command groups.
#[derive(Debug, Subcommand)]
pub enum Group {
    /// Create or upgrade the database schema.
    #[command(subcommand)]
    Db(DbCommand),
    /// Create, list, show and delete fleets.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Register, list, show and deregister agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Send, broadcast, poll, acknowledge, cancel and show messages.
    #[command(subcommand)]
    Message(MessageCommand),
    /// Spawn, list, steer and remove members (coding agents in tmux panes).
    #[command(subcommand)]
    Member(super::member::MemberCommand),
    /// Run and inspect the per-fleet heartbeat that wakes due agents.
    #[command(subcommand)]
    Monitor(super::monitor::MonitorCommand),
    /// Serve the admin WebUI and its HTTP API (loopback only unless given a token).
    Server(super::server::ServerArgs),
    /// Diagnose the environment (tmux, session, database, backends) and show the calling pane.
    Doctor,
    /// A one-command tour: a private tmux session with a Director, two stand-in members,
    /// the monitor and the WebUI exchanging real messages. Needs only tmux.
    Demo(super::demo::DemoArgs),
    /// Install CAFleet's skills for claude, codex and opencode (offline, from this binary),
    /// refresh the opencode preset, and create or upgrade the database. Idempotent; keeps a
    /// backup of any skill file you edited.
    Setup(super::setup::SetupArgs),
    /// Print a shell completion script to stdout (e.g. `cafleet completions bash`).
    Completions(super::setup::CompletionsArgs),
    /// Record a coding agent's activity from its hooks (what `member create` and
    /// `setup --hooks` install; not for typing). Reads the hook's JSON on stdin (Codex's
    /// notify: the last argument), finds the agent by its tmux pane, prints nothing and
    /// always exits 0.
    Hook(HookArgs),
}

/// Options of `hook`.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The coding agent whose hook runs: claude, codex or opencode.
    #[arg(value_name = "CODING_AGENT")]
    pub coding_agent: Option<String>,
    /// The event name (else read from the JSON), then the JSON itself for Codex's notify.
    #[arg(
        value_name = "EVENT",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub rest: Vec<String>,
}

/// `cafleet db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database (and its directory) or upgrade it to the current schema.
    /// Idempotent. A database written by CAFleet 0.14 is adopted in place, after a backup.
    Init,
}

/// `cafleet fleet ...`
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Create a fleet whose root Director is the calling tmux pane (run inside tmux).
    Create(FleetCreateArgs),
    /// List live fleets, newest first.
    List(FleetListArgs),
    /// Show one fleet (deleted fleets included).
    Show(FleetShowArgs),
    /// Soft-delete a fleet: deregister all its agents; messages are kept.
    Delete(FleetDeleteArgs),
}

/// Options of `fleet create`.
#[derive(Debug, Args)]
pub struct FleetCreateArgs {
    /// Free-text label for the fleet.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub label: Option<String>,
    /// The coding agent the Director runs (recorded in its placement).
    #[arg(
        long,
        value_enum,
        value_name = "CODING_AGENT",
        default_value = "claude"
    )]
    pub coding_agent: CodingAgent,
    /// Print JSON (same as the global --json).
    #[arg(long)]
    pub json: bool,
    /// Long text form.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Options of `fleet list`.
#[derive(Debug, Args)]
pub struct FleetListArgs {
    /// Print JSON (same as the global --json).
    #[arg(long)]
    pub json: bool,
}

/// Options of `fleet show`.
#[derive(Debug, Args)]
pub struct FleetShowArgs {
    /// The fleet to show.
    #[arg(value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Print JSON (same as the global --json).
    #[arg(long)]
    pub json: bool,
}

/// Options of `fleet delete`.
#[derive(Debug, Args)]
pub struct FleetDeleteArgs {
    /// The fleet to delete.
    #[arg(value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
}

/// `cafleet agent ...`
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Register a plain agent (no tmux pane, not watched by the monitor).
    Register(AgentRegisterArgs),
    /// List the active agents of a fleet, ascending id.
    List(AgentListArgs),
    /// Show one active agent of the fleet.
    Show(AgentShowArgs),
    /// Deregister an agent (not the Director or the Administrator).
    Deregister(AgentDeregisterArgs),
}

/// Options of `agent register`.
#[derive(Debug, Args)]
pub struct AgentRegisterArgs {
    /// The fleet to join (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The agent's name (required).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub name: Option<String>,
    /// What the agent does (required).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub description: Option<String>,
    /// Skills as a JSON array, e.g. '[{"id":"review","name":"Code review"}]'.
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    pub skills: Option<String>,
}

/// Options of `agent list`.
#[derive(Debug, Args)]
pub struct AgentListArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Long form with registration times.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Options of `agent show`.
#[derive(Debug, Args)]
pub struct AgentShowArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Your own agent id, the caller (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// The agent to show (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub id: Option<i64>,
    /// Long form with kind and placement.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Options of `agent deregister`.
#[derive(Debug, Args)]
pub struct AgentDeregisterArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The agent to deregister (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
}

/// `cafleet message ...`
#[derive(Debug, Subcommand)]
pub enum MessageCommand {
    /// Send a message to one agent of the fleet; its pane gets a short preview.
    Send(SendArgs),
    /// Send a message to every active agent of the fleet (not the Administrator).
    Broadcast(BroadcastArgs),
    /// List your un-acknowledged messages, newest first.
    Poll(PollArgs),
    /// Acknowledge a message addressed to you.
    Ack(AckArgs),
    /// Cancel a message you sent that is not acknowledged yet.
    Cancel(TaskArgs),
    /// Show any message of your fleet.
    Show(TaskArgs),
}

/// Options of `message send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Your own agent id, the sender (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// The recipient's agent id (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub to: Option<i64>,
    /// The message body (required, not blank); stored in full.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub text: Option<String>,
    /// How the preview reaches the recipient's pane: idle (the default; typed at once
    /// unless the recipient is working, which gets it when its turn ends), now (typed at
    /// once, never with Escape; a working agent queues it) or queue (never typed; the
    /// recipient finds it when it polls).
    #[arg(long, value_name = "MODE")]
    pub deliver: Option<String>,
    /// A key unique to this message (e.g. a UUID, at most 200 characters): repeating the
    /// command with the same key stores and types nothing and prints the original task, so
    /// a retried tool call cannot send twice.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub idempotency_key: Option<String>,
    /// Long form, untruncated.
    #[arg(long, hide = true)]
    pub full: bool,
    /// Print only the task id.
    #[arg(long, hide = true)]
    pub quiet: bool,
}

/// Options of `message broadcast`.
#[derive(Debug, Args)]
pub struct BroadcastArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Your own agent id, the sender (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// The message body (required, not blank).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub text: Option<String>,
    /// How the preview reaches the recipients' panes: idle (the default; typed at once
    /// unless a recipient is working, which gets it when its turn ends), now (typed at
    /// once, never with Escape; a working agent queues it) or queue (never typed; each
    /// recipient finds it when it polls).
    #[arg(long, value_name = "MODE")]
    pub deliver: Option<String>,
    /// A key unique to this broadcast (at most 200 characters): repeating the command with
    /// the same key stores and types nothing and prints the original summary.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub idempotency_key: Option<String>,
    /// Long form of the summary.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Options of `message poll`.
#[derive(Debug, Args)]
pub struct PollArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Your own agent id (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// Long form, untruncated.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Options of `message ack`.
#[derive(Debug, Args)]
pub struct AckArgs {
    /// The task to act on.
    #[command(flatten)]
    pub task: TaskArgs,
    /// Print only the task id.
    #[arg(long, hide = true)]
    pub quiet: bool,
}

/// Options of `message cancel` and `show` (and the task part of `ack`).
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Your own agent id (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// The message's task id (required).
    #[arg(long, value_name = "TASK_ID")]
    pub task_id: Option<i64>,
    /// Long form, untruncated.
    #[arg(long, hide = true)]
    pub full: bool,
}
