//! The CLI's command tree and each command's id positions, read from `cafleet --help`, so
//! that a new command or id option the sweep does not cover fails the CLI sweep.

use super::*;

/// Lines of one `--help` section (`Commands:`, `Arguments:`, `Options:`).
pub(super) fn section<'a>(help: &'a str, name: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != name)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter(|l| !l.is_empty())
        .collect()
}

/// Every leaf command (`"member capture"`) with its id positions: options whose value is an
/// `..._ID` (`--member-id`) and `..._ID` arguments (`FLEET_ID`).
pub(super) fn command_tree(env: &Env) -> BTreeMap<String, BTreeSet<String>> {
    let mut leaves = BTreeMap::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = env.ok(&args);
        let subs: Vec<String> = section(&help, "Commands:")
            .into_iter()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect();
        if !subs.is_empty() {
            for s in subs {
                let mut p = path.clone();
                p.push(s);
                todo.push(p);
            }
            continue;
        }
        let mut ids = BTreeSet::new();
        for l in section(&help, "Arguments:") {
            let arg = l.split_whitespace().next().unwrap_or_default();
            let arg = arg.trim_matches(|c| matches!(c, '[' | ']' | '<' | '>' | '.'));
            if arg.ends_with("_ID") {
                ids.insert(arg.to_string());
            }
        }
        for l in section(&help, "Options:") {
            let body = l.trim_start();
            if l.len() - body.len() > 6 || !body.starts_with('-') {
                continue; // a wrapped description line
            }
            let mut words = body.split_whitespace();
            let Some(opt) = words.find(|w| w.starts_with("--")) else {
                continue;
            };
            let meta = words.next().unwrap_or_default();
            if meta.starts_with('<') && meta.trim_end_matches('>').ends_with("_ID") {
                ids.insert(opt.trim_end_matches(',').to_string());
            }
        }
        leaves.insert(path.join(" "), ids);
    }
    leaves
}

/// The leaf command an argument list runs (longest prefix that is a leaf).
pub(super) fn command_of(tree: &BTreeMap<String, BTreeSet<String>>, args: &[String]) -> String {
    (1..=args.len().min(3))
        .rev()
        .map(|n| args[..n].join(" "))
        .find(|p| tree.contains_key(p))
        .unwrap_or_else(|| panic!("{args:?} runs no known command"))
}

/// Commands with no id position, and why the sweep only runs the safe ones.
pub(super) const NO_ID_COMMANDS: &[(&str, &str)] = &[
    ("db init", "run: must not change a row"),
    (
        "db copy",
        "takes no id: copies the whole database into another, empty one (db_copy::)",
    ),
    ("doctor", "run from A's pane: must not change a row"),
    (
        "fleet list",
        "run: lists every live fleet by design, never a deleted one",
    ),
    (
        "fleet create",
        "makes a new, independent fleet from any pane by design (L1); no id to misuse",
    ),
    ("server", "the HTTP API is swept route by route below"),
    (
        "demo",
        "its own private tmux server and scratch database; no ids",
    ),
    (
        "setup",
        "installs skills into $HOME and runs db init; no ids",
    ),
    ("completions", "prints a script; touches no database"),
    (
        "relay",
        "takes no id: types each delivery to this host's panes into its own recipient's pane, in its own fleet (hosts::)",
    ),
    (
        "hook",
        "takes no id: records only for the agent of the pane it runs in (hooks::)",
    ),
];
