//! The command-line interface: parsing (clap derive), error reporting in 0.14's format
//! (`Error: <msg>`, exit 1; usage errors with the Usage/Try banner, exit 2;
//! docs/decisions.md, C1), one current-thread tokio runtime per command, and the only layer
//! that prints.

pub mod agent;
pub mod db;
pub mod demo;
pub mod doctor;
pub mod fleet;
pub mod member;
pub mod message;
pub mod monitor;
pub mod output;
pub mod relay;
mod report;
pub mod server;
pub mod setup;

use crate::broker::Broker;
use crate::broker::storage::Usage;
use crate::config::Config;
use crate::delivery::DeliverMode;
use crate::model::FleetId;
use crate::tmux::{PaneContext, Tmux};
use clap::{Args, Parser, Subcommand};
use clap::{CommandFactory, FromArgMatches};
use report::{matched_path, report_clap_error, usage_banner};
use std::ffi::OsString;
use std::sync::{Arc, Mutex};

// The command tree (clap derive). Options 0.14 calls "required" are `Option`s and are
// checked by the command bodies in declaration order, so that the reported error (and its
// exit code) is 0.14's: `--fleet-id` missing is a runtime error, others usage errors
// (docs/decisions.md, C1).

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
    Db(db::DbCommand),
    /// Create, list, show and delete fleets.
    #[command(subcommand)]
    Fleet(fleet::FleetCommand),
    /// Register, list, show and deregister agents.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Send, broadcast, poll, acknowledge, cancel and show messages.
    #[command(subcommand)]
    Message(message::MessageCommand),
    /// Spawn, list, steer and remove members (coding agents in tmux panes).
    #[command(subcommand)]
    Member(member::MemberCommand),
    /// Run and inspect the per-fleet heartbeat that wakes due agents.
    #[command(subcommand)]
    Monitor(monitor::MonitorCommand),
    /// Type the messages sent from other hosts into this host's panes: one relay per host
    /// that shares a database (PostgreSQL) with others, in the foreground until Ctrl-C or
    /// SIGTERM. This host is $CAFLEET_HOST, else its host name.
    Relay(relay::RelayArgs),
    /// Serve the admin WebUI and its HTTP API (loopback only unless given a token).
    Server(server::ServerArgs),
    /// Diagnose the environment (tmux, session, database, backends) and show the calling pane.
    Doctor,
    /// A one-command tour: a private tmux session with a Director, two stand-in members,
    /// the monitor and the WebUI exchanging real messages. Needs only tmux.
    Demo(demo::DemoArgs),
    /// Install CAFleet's skills for claude, codex and opencode (offline, from this binary),
    /// refresh the opencode preset, and create or upgrade the database. Idempotent; keeps a
    /// backup of any skill file you edited.
    Setup(setup::SetupArgs),
    /// Print a shell completion script to stdout (e.g. `cafleet completions bash`).
    Completions(setup::CompletionsArgs),
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

/// Result of a command body.
pub type CliResult = crate::Result<()>;

/// What every command body gets: output mode and the command's path for error banners.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `--json` given (globally or locally).
    pub json: bool,
    /// e.g. `cafleet agent register`.
    pub path: String,
    /// The brokers this command opened, whose databases [`Ctx::finish`] closes when it
    /// ends.
    pub opened: Arc<Mutex<Vec<Broker>>>,
}

impl Ctx {
    /// This context, with `--json` also on when the subcommand itself was given it.
    pub fn with_json(&self, local: bool) -> Ctx {
        Ctx {
            json: self.json || local,
            ..self.clone()
        }
    }

    /// Opens the configured database, migrating it on first use (docs/decisions.md, S1), and
    /// wraps a broker.
    pub async fn broker(&self) -> crate::Result<Broker> {
        let config = Config::from_env()?;
        let broker = Broker::open(&config, Usage::Command).await?;
        self.opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(broker.clone());
        Ok(broker)
    }

    /// Called once the command is done: closes every database it opened, so the last
    /// connection's close (which checkpoints the WAL into the database file and removes
    /// the `-wal`/`-shm` files) completes before the process exits instead of racing it.
    /// Measured: leaving the connection open instead saves the close-time fsyncs but makes
    /// the next process replay the WAL on open, which costs more (send 12.7 vs 13.7 ms,
    /// poll 9.2 vs 10.6 ms median, 8.6 vs 9.8 ms CPU per command).
    pub async fn finish(&self) {
        let opened = std::mem::take(
            &mut *self
                .opened
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for broker in opened {
            broker.close().await;
        }
    }
}

/// The clap command with 0.14's parsing rules (docs/decisions.md, C1) applied at every
/// level: a repeated option takes the last value, negative numbers are values, and (as
/// click) an option that takes a value takes the next word whatever it looks like
/// (`--fleet-id --full` is an invalid integer, not a missing value).
pub fn command() -> clap::Command {
    fn tune(cmd: clap::Command) -> clap::Command {
        cmd.args_override_self(true)
            .allow_negative_numbers(true)
            .mut_args(|a| {
                if !a.is_positional() && a.get_action().takes_values() {
                    a.allow_hyphen_values(true)
                } else {
                    a
                }
            })
            .mut_subcommands(tune)
    }
    tune(Cli::command())
}

/// Runs the CLI on `args` (including the program name) and returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let argv: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // `cafleet hook ...` runs inside the coding agents' loops: no parsing of the whole
    // command tree, no check of the environment that could fail it, always exit 0.
    if let Some(args) = hook_args(&argv) {
        crate::hook::run(&args);
        return 0;
    }
    // Parsing consumes the command tree; the error paths build it again rather than every
    // command paying for a clone of it.
    let matches = match command().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) => return report_clap_error(&command(), &argv, e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return report_clap_error(&command(), &argv, e),
    };
    if cli.command.is_none() {
        // A group invoked without a subcommand prints its help to stderr, as in 0.14.
        let mut root = command().bin_name("cafleet");
        eprint!("{}", root.render_help());
        return 2;
    }
    // CAFLEET_MAX_TEXT_LEN is read once at start-up: a bad value fails every command, also
    // those that never open the database (docs/decisions.md, O3).
    if let Err(e) =
        crate::config::parse_max_text_len(crate::config::env_var("CAFLEET_MAX_TEXT_LEN").as_deref())
    {
        eprintln!("Error: {e}");
        return 1;
    }
    let is_server = matches!(cli.command, Some(Group::Server(_)));
    init_tracing(is_server.then_some("warn,cafleet=info,tower_http=info"));
    if let Err(e) = server::env_port() {
        eprintln!("Error: {e}");
        return e.exit_code();
    }
    let path = matched_path(&matches);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(dispatch(cli, path.clone()));
    match result {
        Ok(()) => 0,
        Err(crate::Error::Usage(msg)) => {
            eprint!("{}", usage_banner(&command(), &path, &msg));
            2
        }
        Err(crate::Error::Exit(code)) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            e.exit_code()
        }
    }
}

/// The arguments after `hook` when `argv` is `cafleet hook ...` (and not a help request).
fn hook_args(argv: &[OsString]) -> Option<Vec<String>> {
    if argv.get(1).is_none_or(|a| a != "hook") {
        return None;
    }
    let rest: Vec<String> = argv[2..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let help = rest.first().is_none_or(|a| a == "--help" || a == "-h");
    (!help).then_some(rest)
}

/// `CAFLEET_LOG` sets the tracing filter (e.g. `debug`, `cafleet=trace`); logs go to stderr.
/// Without `CAFLEET_LOG`, only the server logs (one line per request, to stderr).
fn init_tracing(default: Option<&str>) {
    let Some(filter) = crate::config::env_var("CAFLEET_LOG")
        .filter(|f| !f.trim().is_empty())
        .or_else(|| default.map(str::to_string))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Runs the parsed command.
async fn dispatch(cli: Cli, path: String) -> CliResult {
    let base = Ctx {
        json: cli.json,
        path,
        opened: Arc::default(),
    };
    let result = run_command(cli, &base).await;
    base.finish().await;
    result
}

async fn run_command(cli: Cli, base: &Ctx) -> CliResult {
    let Some(group) = cli.command else {
        return Err(crate::Error::Exit(2));
    };
    match group {
        Group::Db(cmd) => db::run(base, cmd).await,
        Group::Doctor => doctor::run(base).await,
        Group::Demo(a) => demo::run(base, a).await,
        Group::Fleet(cmd) => fleet::run(base, cmd).await,
        Group::Agent(cmd) => agent::run(base, cmd).await,
        Group::Member(cmd) => member::run(base, cmd).await,
        Group::Monitor(cmd) => monitor::run(base, cmd).await,
        Group::Server(a) => server::run(base, a).await,
        Group::Relay(a) => relay::run(base, a).await,
        Group::Setup(a) => setup::run(base, a).await,
        Group::Completions(a) => setup::completions(a),
        Group::Hook(a) => {
            let mut args: Vec<String> = a.coding_agent.into_iter().collect();
            args.extend(a.rest);
            // `hook` runs its own runtime; `run` normally calls it before this one starts.
            let _ = std::thread::spawn(move || crate::hook::run(&args)).join();
            Ok(())
        }
        Group::Message(cmd) => message::run(base, cmd).await,
    }
}

/// `--fleet-id` is checked first and reported as a runtime error (docs/decisions.md, C1).
pub(crate) fn need_fleet(v: Option<i64>) -> crate::Result<FleetId> {
    v.map(FleetId).ok_or_else(|| {
        crate::Error::failed(
            "--fleet-id <int> is required for this subcommand. Create a fleet with 'cafleet fleet create' and pass its id.",
        )
    })
}

/// Any other missing option is a usage error.
pub(crate) fn need<T>(v: Option<T>, name: &str) -> crate::Result<T> {
    v.ok_or_else(|| crate::Error::Usage(format!("Missing option '{name}'.")))
}

pub(crate) fn need_arg<T>(v: Option<T>, name: &str) -> crate::Result<T> {
    v.ok_or_else(|| crate::Error::Usage(format!("Missing argument '{name}'.")))
}

/// Finds the calling pane: `tmux` on PATH, inside tmux, `TMUX_PANE` naming a live pane.
pub(crate) async fn calling_pane(tmux: &Tmux, what: &str) -> crate::Result<PaneContext> {
    if !tmux.available() {
        return Err(crate::Error::failed("tmux binary not found on PATH"));
    }
    let Some(socket) = Tmux::caller_socket() else {
        return Err(crate::Error::failed(format!(
            "cafleet {what} must be run inside a tmux session"
        )));
    };
    let pane = std::env::var("TMUX_PANE").unwrap_or_default();
    if pane.is_empty() {
        return Err(crate::Error::failed(
            "TMUX_PANE is not set; not running inside a tmux pane",
        ));
    }
    tmux.describe_pane(&socket, &pane)
        .await
        .map_err(crate::Error::from)
}

/// Parses `--deliver` (absent: the default, idle).
pub(crate) fn deliver_mode(raw: Option<&str>) -> crate::Result<DeliverMode> {
    raw.map(DeliverMode::parse)
        .transpose()
        .map(Option::unwrap_or_default)
}
