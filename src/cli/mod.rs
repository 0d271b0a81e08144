//! The command-line interface: parsing (clap derive), error reporting in 0.14's format
//! (`Error: <msg>`, exit 1; usage errors with the Usage/Try banner, exit 2;
//! docs/decisions.md, C1), one current-thread tokio runtime per command, and the only layer
//! that prints.

pub mod args;
mod commands;
pub mod demo;
pub mod doctor;
pub mod member;
pub mod monitor;
pub mod output;
pub mod server;
pub mod setup;

use crate::broker::Broker;
use crate::config::Config;
use crate::db::Db;
use crate::tmux::Tmux;
use args::Cli;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::sync::{Arc, Mutex};

/// How a command failed; the CLI prints it and picks the exit code.
#[derive(Debug)]
pub enum CliError {
    /// `Error: <msg>` on stderr, exit 1.
    Runtime(String),
    /// A usage error: banner plus `Error: <msg>` on stderr, exit 2.
    Usage(String),
    /// Already reported; exit with this code.
    Exit(i32),
}

impl From<crate::Error> for CliError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Usage(m) => CliError::Usage(m),
            other => CliError::Runtime(other.to_string()),
        }
    }
}

/// Result of a command body.
pub type CliResult = Result<(), CliError>;

/// What every command body gets: output mode and the command's path for error banners.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `--json` given (globally or locally).
    pub json: bool,
    /// e.g. `cafleet agent register`.
    pub path: String,
    /// The databases this command opened, closed by [`Ctx::finish`] when it ends.
    pub opened: Arc<Mutex<Vec<Db>>>,
}

impl Ctx {
    /// Opens the configured database, migrating it on first use (docs/decisions.md, S1), and
    /// wraps a broker.
    pub async fn broker(&self) -> Result<Broker, CliError> {
        let config = Config::from_env()?;
        let db = Db::open(&config.database_path, 1).await?;
        db.migrate().await?;
        self.opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(db.clone());
        Ok(Broker::new(db, Tmux::from_env(), config.max_text_len))
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
        for db in opened {
            db.close().await;
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
    let is_server = matches!(cli.command, Some(args::Group::Server(_)));
    init_tracing(is_server.then_some("warn,cafleet=info,tower_http=info"));
    if let Err(e) = server::env_port() {
        if let CliError::Runtime(msg) = e {
            eprintln!("Error: {msg}");
        }
        return 1;
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
    let result = runtime.block_on(commands::dispatch(cli, path.clone()));
    match result {
        Ok(()) => 0,
        Err(CliError::Runtime(msg)) => {
            eprintln!("Error: {msg}");
            1
        }
        Err(CliError::Usage(msg)) => {
            eprint!("{}", usage_banner(&command(), &path, &msg));
            2
        }
        Err(CliError::Exit(code)) => code,
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

/// The words of the command path that was parsed (e.g. `cafleet agent register`).
fn matched_path(matches: &clap::ArgMatches) -> String {
    let mut path = String::from("cafleet");
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        path.push(' ');
        path.push_str(name);
        current = sub;
    }
    path
}

/// The words of the command path named by argv (e.g. `cafleet agent register`).
fn command_path(cmd: &clap::Command, argv: &[OsString]) -> String {
    let mut path = vec!["cafleet".to_string()];
    let mut current = cmd;
    for arg in argv.iter().skip(1) {
        let Some(arg) = arg.to_str() else { break };
        if arg.starts_with('-') {
            if current.get_subcommands().next().is_some() {
                continue;
            }
            break;
        }
        match current.find_subcommand(arg) {
            Some(sub) => {
                path.push(sub.get_name().to_string());
                current = sub;
            }
            None => break,
        }
    }
    path.join(" ")
}

fn find_command<'a>(cmd: &'a clap::Command, path: &str) -> &'a clap::Command {
    let mut current = cmd;
    for word in path.split(' ').skip(1) {
        match current.find_subcommand(word) {
            Some(sub) => current = sub,
            None => break,
        }
    }
    current
}

/// The usage line of a command path, as 0.14 prints it (docs/decisions.md, C1).
fn usage_line(cmd: &clap::Command, path: &str) -> String {
    let target = find_command(cmd, path);
    if target.get_subcommands().next().is_some() {
        return format!("{path} [OPTIONS] COMMAND [ARGS]...");
    }
    let mut line = format!("{path} [OPTIONS]");
    for arg in target.get_positionals() {
        let name = arg.get_value_names().and_then(|v| v.first()).map_or_else(
            || arg.get_id().as_str().to_uppercase(),
            std::string::ToString::to_string,
        );
        line.push(' ');
        // Repeated optional words (member create's prompt) read `[NAME]...`, as click does.
        if arg.get_num_args().is_some_and(|n| n.max_values() > 1) {
            line.push_str(&format!("[{name}]..."));
        } else {
            line.push_str(&name);
        }
    }
    line
}

fn usage_banner(cmd: &clap::Command, path: &str, msg: &str) -> String {
    format!(
        "Usage: {}\nTry '{path} --help' for help.\n\nError: {msg}\n",
        usage_line(cmd, path)
    )
}

/// Maps clap's parse errors to 0.14's click-style messages (docs/decisions.md, C1).
fn report_clap_error(cmd: &clap::Command, argv: &[OsString], e: clap::Error) -> i32 {
    let mut path = command_path(cmd, argv);
    if e.kind() == ErrorKind::UnknownArgument {
        // The error belongs to the command reached before the offending token: an unknown
        // option before the group (`cafleet --jsn fleet list`) is the root's error.
        if let Some(ContextValue::String(bad)) = e.get(ContextKind::InvalidArg) {
            let bad = bad.split('=').next().unwrap_or_default();
            if let Some(i) = argv.iter().rposition(|a| {
                a.to_str()
                    .is_some_and(|a| a == bad || a.starts_with(&format!("{bad}=")))
            }) {
                path = command_path(cmd, &argv[..i]);
            }
        }
    }
    let ctx = |kind: ContextKind| -> Option<String> {
        e.get(kind).map(|v| match v {
            ContextValue::String(s) => s.clone(),
            ContextValue::Strings(v) => v.join(", "),
            other => other.to_string(),
        })
    };
    let strings = |kind: ContextKind| -> Vec<String> {
        match e.get(kind) {
            Some(ContextValue::Strings(v)) => v.clone(),
            Some(ContextValue::String(s)) => vec![s.clone()],
            _ => vec![],
        }
    };
    let arg_name = || {
        let raw = ctx(ContextKind::InvalidArg).unwrap_or_default();
        let first = raw.split([' ', '=']).next().unwrap_or_default().to_string();
        first
            .trim_end_matches("...")
            .trim_start_matches(['<', '['])
            .trim_end_matches(['>', ']'])
            .to_string()
    };
    let msg = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return 0;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let mut sub = find_command(cmd, &path).clone().bin_name(path.clone());
            eprint!("{}", sub.render_help());
            return 2;
        }
        ErrorKind::InvalidSubcommand => {
            let name = ctx(ContextKind::InvalidSubcommand).unwrap_or_default();
            let mut m = format!("No such command '{name}'.");
            if let Some(s) = strings(ContextKind::SuggestedSubcommand).first() {
                m.push_str(&format!(" Did you mean '{s}'?"));
            }
            m
        }
        ErrorKind::UnknownArgument => {
            let name = ctx(ContextKind::InvalidArg).unwrap_or_default();
            if name.starts_with('-') {
                let name = name.split('=').next().unwrap_or_default();
                let mut m = format!("No such option '{name}'.");
                if let Some(s) = strings(ContextKind::SuggestedArg).first() {
                    let s = s.split(' ').next().unwrap_or_default();
                    if s.starts_with('-') {
                        m.push_str(&format!(" Did you mean '{s}'?"));
                    }
                }
                m
            } else {
                let extras = extra_arguments(cmd, &path, argv).unwrap_or_else(|| vec![name]);
                let plural = if extras.len() == 1 { "" } else { "s" };
                format!(
                    "Got unexpected extra argument{plural} ({})",
                    extras.join(" ")
                )
            }
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let name = arg_name();
            let value = ctx(ContextKind::InvalidValue).unwrap_or_default();
            let valid = strings(ContextKind::ValidValue);
            let at_end = argv.last().and_then(|a| a.to_str()) == Some(name.as_str());
            if e.kind() == ErrorKind::InvalidValue && value.is_empty() && at_end {
                // The option is the last word: its value is missing (click prints no banner).
                eprintln!("Error: Option '{name}' requires an argument.");
                return 2;
            } else if !valid.is_empty() {
                let list = valid
                    .iter()
                    .map(|v| format!("'{v}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("Invalid value for '{name}': '{value}' is not one of {list}.")
            } else {
                // Every free-form option is a string; only integer parsers can reject a value.
                match name.as_str() {
                    // Range-checked options explain themselves (click's IntRange wording).
                    "--choice" | "--tick" | "--interval" => format!(
                        "Invalid value for '{name}': {}",
                        std::error::Error::source(&e).map_or_else(
                            || format!("'{value}' is not a valid integer range."),
                            std::string::ToString::to_string
                        )
                    ),
                    _ => format!("Invalid value for '{name}': '{value}' is not a valid integer."),
                }
            }
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = strings(ContextKind::InvalidArg);
            let first = missing.first().cloned().unwrap_or_default();
            let name = first.split(' ').next().unwrap_or_default();
            if name.starts_with('-') {
                format!("Missing option '{name}'.")
            } else {
                format!(
                    "Missing argument '{}'.",
                    name.trim_start_matches('<').trim_end_matches('>')
                )
            }
        }
        ErrorKind::InvalidUtf8 => "an argument is not valid UTF-8. Pass text as UTF-8.".to_string(),
        _ => {
            let rendered = e
                .kind()
                .as_str()
                .map_or_else(|| e.to_string(), str::to_string);
            rendered.trim().to_string()
        }
    };
    eprint!("{}", usage_banner(cmd, &path, &msg));
    2
}

/// Every positional argument the command at `path` did not consume (click reports them all:
/// `Got unexpected extra arguments (2 3)`): re-parses with a catch-all positional added.
fn extra_arguments(cmd: &clap::Command, path: &str, argv: &[OsString]) -> Option<Vec<String>> {
    fn with_catch_all(cmd: clap::Command, words: &[&str]) -> clap::Command {
        match words.split_first() {
            None => cmd.arg(
                clap::Arg::new("__extra")
                    .num_args(1..)
                    .action(clap::ArgAction::Append)
                    .hide(true),
            ),
            Some((word, rest)) => {
                let rest: Vec<&str> = rest.to_vec();
                cmd.mut_subcommand(*word, move |sub| with_catch_all(sub, &rest))
            }
        }
    }
    let words: Vec<&str> = path.split(' ').skip(1).collect();
    let matches = with_catch_all(cmd.clone(), &words)
        .try_get_matches_from(argv)
        .ok()?;
    let mut current = &matches;
    for word in &words {
        current = current.subcommand_matches(word)?;
    }
    let extras: Vec<String> = current.get_many::<String>("__extra")?.cloned().collect();
    (!extras.is_empty()).then_some(extras)
}
