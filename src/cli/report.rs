//! Reporting parse and usage errors in 0.14's format: the Usage/Try banner, the command
//! path, clap's errors reworded as click words them (docs/decisions.md, C1 and L7).

use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::ffi::OsString;

/// The words of the command path that was parsed (e.g. `cafleet agent register`).
pub(super) fn matched_path(matches: &clap::ArgMatches) -> String {
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

pub(super) fn usage_banner(cmd: &clap::Command, path: &str, msg: &str) -> String {
    format!(
        "Usage: {}\nTry '{path} --help' for help.\n\nError: {msg}\n",
        usage_line(cmd, path)
    )
}

/// Maps clap's parse errors to 0.14's click-style messages (docs/decisions.md, C1).
pub(super) fn report_clap_error(cmd: &clap::Command, argv: &[OsString], e: clap::Error) -> i32 {
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
