//! `cafleet hook <claude|codex|opencode> [EVENT|JSON]`: what a coding agent's hooks run to
//! report its activity (docs/delivery.md, "Activity"). It maps the CLI's event to an
//! [`Activity`], finds the agent by the pane the hook runs in (`TMUX`, `TMUX_PANE`, as the
//! CLI inherited them from its pane) and stores the report.
//!
//! It runs on every tool call, inside the coding agent's loop, so it is built to be cheap
//! and to never get in the way: it prints nothing on stdout (Claude Code reads some hooks'
//! stdout as decisions or context), never exits non-zero, never creates or migrates the
//! database, and waits at most [`BUSY_TIMEOUT`] for a locked database. Why a report was
//! dropped goes to stderr and, for real problems, to `<database>.hook.log`.

use crate::activity::Activity;
use crate::broker::activity::{Stored, record_hook_report};
use crate::config::Database;
use serde_json::Value;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a report waits for a database other writers hold.
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(750);
/// How long the hook waits for its JSON on stdin.
const STDIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Appended to the database file name for the hook's log.
pub const LOG_SUFFIX: &str = ".hook.log";
/// The log is started afresh (the old one kept as `….1`) beyond this size.
const LOG_MAX_BYTES: u64 = 1 << 20;

/// The coding agents whose hooks are understood.
pub const CLIS: [&str; 3] = ["claude", "codex", "opencode"];

/// What an event means for the agent's activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    /// The agent is now in this state.
    Is(Activity),
    /// A known event that says nothing about the activity (e.g. a compaction).
    Nothing,
    /// An event this version does not know.
    Unknown,
}

/// The event's name: the argument (`cafleet hook opencode session.idle`), else the JSON's
/// `hook_event_name` (Claude Code, Codex hooks) or `type` (Codex `notify`, opencode).
pub fn event_name(arg: Option<&str>, payload: &Value) -> Option<String> {
    arg.filter(|a| !a.is_empty())
        .map(str::to_string)
        .or_else(|| {
            ["hook_event_name", "type"]
                .iter()
                .find_map(|k| payload.get(k).and_then(Value::as_str))
                .map(str::to_string)
        })
}

/// Maps one CLI's event (and its JSON) to what it means. The tables are in
/// docs/delivery.md, "Activity".
pub fn meaning(cli: &str, event: &str, payload: &Value) -> Meaning {
    use Activity::*;
    let s = |key: &str| payload.get(key).and_then(Value::as_str).unwrap_or_default();
    match (cli, event) {
        // Claude Code and Codex share their hook events' names and payload fields.
        ("claude" | "codex", "SessionStart") => Meaning::Is(Idle),
        ("claude" | "codex", "PreToolUse") => match s("tool_name") {
            // The question frame has the keyboard until someone answers.
            "AskUserQuestion" | "request_user_input" => Meaning::Is(Waiting),
            _ => Meaning::Is(Working),
        },
        (
            "claude" | "codex",
            "UserPromptSubmit" | "PostToolUse" | "PostToolUseFailure" | "SubagentStart"
            | "SubagentStop",
        ) => Meaning::Is(Working),
        ("claude" | "codex", "PermissionRequest") => Meaning::Is(Waiting),
        ("claude" | "codex", "Stop" | "StopFailure") => Meaning::Is(Idle),
        ("claude" | "codex", "SessionEnd") => Meaning::Is(Exited),
        ("claude", "Notification") => match s("notification_type") {
            "permission_prompt" | "elicitation_dialog" => Meaning::Is(Waiting),
            "idle_prompt" => Meaning::Is(Idle),
            _ => Meaning::Nothing,
        },
        (
            "claude" | "codex",
            "PreCompact" | "PostCompact" | "Notification" | "Interrupt" | "Setup"
            | "InstructionsLoaded" | "ConfigChange" | "CwdChanged" | "FileChanged"
            | "WorktreeCreate" | "WorktreeRemove" | "Elicitation" | "ElicitationResult"
            | "TeammateIdle" | "TaskCompleted" | "TaskCreated",
        ) => Meaning::Nothing,
        // Codex's `notify` program.
        ("codex", "agent-turn-complete") => Meaning::Is(Idle),
        ("codex", "approval-requested") => Meaning::Is(Waiting),
        // opencode's bus events, forwarded by CAFleet's plugin.
        ("opencode", "session.status") => {
            match payload
                .pointer("/properties/status/type")
                .and_then(Value::as_str)
            {
                Some("busy" | "retry") => Meaning::Is(Working),
                Some("idle") => Meaning::Is(Idle),
                _ => Meaning::Unknown,
            }
        }
        ("opencode", "session.idle") => Meaning::Is(Idle),
        ("opencode", "permission.asked" | "permission.updated" | "question.asked") => {
            Meaning::Is(Waiting)
        }
        (
            "opencode",
            "permission.replied"
            | "question.replied"
            | "question.rejected"
            | "tool.execute.before"
            | "tool.execute.after",
        ) => Meaning::Is(Working),
        ("opencode", "server.instance.disposed") => Meaning::Is(Exited),
        _ => Meaning::Unknown,
    }
}

/// Runs `cafleet hook` on its arguments (after `hook`). Never fails; the process then
/// exits 0 whatever happened.
pub fn run(args: &[String]) {
    let started = Instant::now();
    let cli = args.first().map(String::as_str).unwrap_or_default();
    let rest = args.get(1..).unwrap_or_default();
    // The database (only its name: nothing is opened yet) tells where problems are logged.
    // On PostgreSQL there is no file beside which to log: problems go to stderr only.
    let db = crate::config::Config::from_env().map(|c| c.database);
    let mut log = Log::new(cli);
    if let Ok(Database::Sqlite(path)) = &db
        && path.is_file()
    {
        log = log.with_file(path);
    }
    if !CLIS.contains(&cli) {
        log.problem(&format!(
            "unknown coding agent {cli:?}: expected one of {}. Fix the hook's command line (`cafleet hook <claude|codex|opencode> [EVENT]`).",
            CLIS.join(", ")
        ));
        return;
    }
    // Codex's `notify` appends its JSON as the last argument; the others write it to stdin.
    let (arg, payload) = match rest.last().map(|a| a.trim_start()) {
        Some(last) if last.starts_with('{') => {
            let event = rest.iter().rev().nth(1).map(String::as_str);
            (event, parse(&log, last))
        }
        _ => (rest.first().map(String::as_str), read_stdin(&log)),
    };
    let Some(payload) = payload else { return };
    let Some(event) = event_name(arg, &payload) else {
        log.problem("no event: neither an EVENT argument nor a hook_event_name/type in the JSON. Check the hook's configuration.");
        return;
    };
    let activity = match meaning(cli, &event, &payload) {
        Meaning::Is(a) => a,
        Meaning::Nothing => return,
        Meaning::Unknown => {
            log.problem(&format!(
                "event {event:?} of {cli} is not one CAFleet knows; nothing recorded. A newer cafleet may know it."
            ));
            return;
        }
    };
    let (Some(socket), Some(pane)) = (
        crate::tmux::Tmux::caller_socket(),
        std::env::var("TMUX_PANE").ok().filter(|p| !p.is_empty()),
    ) else {
        log.note("not inside tmux (TMUX or TMUX_PANE unset): not a CAFleet agent");
        return;
    };
    let db = match db {
        Ok(Database::Sqlite(path)) if !path.is_file() => {
            log.note(&format!(
                "no database at {}: not a CAFleet agent",
                path.display()
            ));
            return;
        }
        Ok(db) => db,
        Err(e) => {
            log.note(&format!("no database: {e}"));
            return;
        }
    };
    let report = Stored {
        agent_id: crate::model::AgentId(0),
        activity: activity.as_str().to_string(),
        source: format!("{cli}:{event}"),
        seen_at: crate::model::now_ts(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log.problem(&format!("cannot start the async runtime: {e}"));
            return;
        }
    };
    let previews = if event == "UserPromptSubmit" {
        payload
            .get("prompt")
            .and_then(Value::as_str)
            .map(preview_ids)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    match runtime.block_on(record_hook_report(&db, BUSY_TIMEOUT, &socket, &pane, report, &previews)) {
        Ok(Some(agent)) => log.debug(&format!(
            "agent {agent} is {activity} ({event}) in {} ms",
            started.elapsed().as_millis()
        )),
        Ok(None) => log.note(&format!(
            "pane {pane} on {socket} is no CAFleet agent's: nothing recorded"
        )),
        Err(e) => log.problem(&format!(
            "cannot record {activity} ({event}) for pane {pane}: {e}. The report is dropped; the agent's pane is read instead."
        )),
    }
}

/// The task ids of the CAFleet previews in a submitted prompt (`[cafleet msg <id> from `).
pub fn preview_ids(prompt: &str) -> Vec<crate::model::TaskId> {
    const HEAD: &str = "[cafleet msg ";
    let mut ids = Vec::new();
    let mut rest = prompt;
    while let Some(at) = rest.find(HEAD) {
        rest = &rest[at + HEAD.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if rest[digits.len()..].starts_with(" from ")
            && let Ok(id) = digits.parse()
        {
            ids.push(id);
        }
    }
    ids
}

fn parse(log: &Log, text: &str) -> Option<Value> {
    if text.trim().is_empty() {
        return Some(Value::Null);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            log.problem(&format!(
                "the hook's JSON is malformed ({e}); nothing recorded. Check the hook's configuration."
            ));
            None
        }
    }
}

/// The JSON on stdin; nothing is read from a terminal, and a writer that never closes the
/// pipe is given up on after [`STDIN_TIMEOUT`].
fn read_stdin(log: &Log) -> Option<Value> {
    if std::io::stdin().is_terminal() {
        return Some(Value::Null);
    }
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let read = std::io::stdin().read_to_string(&mut text).map(|_| text);
        let _ = send.send(read);
    });
    match receive.recv_timeout(STDIN_TIMEOUT) {
        Ok(Ok(text)) => parse(log, &text),
        Ok(Err(e)) => {
            log.problem(&format!("cannot read the hook's JSON on stdin: {e}"));
            None
        }
        Err(_) => {
            log.problem(&format!(
                "no JSON on stdin within {} s; nothing recorded",
                STDIN_TIMEOUT.as_secs()
            ));
            None
        }
    }
}

/// Where the hook says why it did nothing: stderr (every reason; the CLIs show a hook's
/// stderr only in their debug views) and, for problems, the log file beside the database.
struct Log {
    cli: String,
    file: Option<PathBuf>,
    verbose: bool,
}

impl Log {
    fn new(cli: &str) -> Log {
        Log {
            cli: cli.to_string(),
            file: None,
            verbose: crate::config::env_var("CAFLEET_LOG").is_some_and(|v| !v.trim().is_empty()),
        }
    }

    fn with_file(self, db: &Path) -> Log {
        let mut name = db.as_os_str().to_owned();
        name.push(LOG_SUFFIX);
        Log {
            file: Some(PathBuf::from(name)),
            ..self
        }
    }

    /// Success, shown only with `CAFLEET_LOG` set.
    fn debug(&self, msg: &str) {
        if self.verbose {
            eprintln!("cafleet hook {}: {msg}", self.cli);
        }
    }

    /// An expected no-op (not an agent's pane, no database).
    fn note(&self, msg: &str) {
        eprintln!("cafleet hook {}: {msg}", self.cli);
    }

    /// Something to fix: stderr and the log file.
    fn problem(&self, msg: &str) {
        let line = format!("cafleet hook {}: {msg}", self.cli);
        eprintln!("{line}");
        let Some(path) = &self.file else { return };
        if std::fs::metadata(path).is_ok_and(|m| m.len() > LOG_MAX_BYTES) {
            let mut old = path.as_os_str().to_owned();
            old.push(".1");
            let _ = std::fs::rename(path, PathBuf::from(old));
        }
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{} {line}", crate::model::now_ts());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn is(cli: &str, event: &str, payload: Value) -> Meaning {
        meaning(cli, event, &payload)
    }

    #[test]
    fn claude_events() {
        use Activity::*;
        assert_eq!(is("claude", "SessionStart", json!({})), Meaning::Is(Idle));
        assert_eq!(
            is("claude", "PreToolUse", json!({"tool_name": "Bash"})),
            Meaning::Is(Working)
        );
        assert_eq!(
            is(
                "claude",
                "PreToolUse",
                json!({"tool_name": "AskUserQuestion"})
            ),
            Meaning::Is(Waiting)
        );
        assert_eq!(is("claude", "Stop", json!({})), Meaning::Is(Idle));
        assert_eq!(
            is(
                "claude",
                "Notification",
                json!({"notification_type": "permission_prompt"})
            ),
            Meaning::Is(Waiting)
        );
        assert_eq!(
            is(
                "claude",
                "Notification",
                json!({"notification_type": "idle_prompt"})
            ),
            Meaning::Is(Idle)
        );
        assert_eq!(
            is(
                "claude",
                "Notification",
                json!({"notification_type": "auth_success"})
            ),
            Meaning::Nothing
        );
        assert_eq!(is("claude", "SessionEnd", json!({})), Meaning::Is(Exited));
        assert_eq!(is("claude", "Bogus", json!({})), Meaning::Unknown);
    }

    #[test]
    fn codex_and_opencode_events() {
        use Activity::*;
        assert_eq!(
            is("codex", "agent-turn-complete", json!({})),
            Meaning::Is(Idle)
        );
        assert_eq!(
            is("codex", "PreToolUse", json!({"tool_name": "Bash"})),
            Meaning::Is(Working)
        );
        let status =
            |t: &str| json!({"type": "session.status", "properties": {"status": {"type": t}}});
        assert_eq!(
            is("opencode", "session.status", status("busy")),
            Meaning::Is(Working)
        );
        assert_eq!(
            is("opencode", "session.status", status("idle")),
            Meaning::Is(Idle)
        );
        assert_eq!(
            is("opencode", "permission.asked", json!({})),
            Meaning::Is(Waiting)
        );
        assert_eq!(is("opencode", "Stop", json!({})), Meaning::Unknown);
    }

    #[test]
    fn previews_are_found_in_a_prompt() {
        assert_eq!(
            preview_ids(
                "[cafleet msg 12 from 1 2026-12-04T10:00:00+00:00] hi\n[cafleet msg 7 from 3 t] yo"
            ),
            vec![12, 7]
        );
        assert_eq!(
            preview_ids("[cafleet msg x from 1] [cafleet msg 5from 1]"),
            Vec::<i64>::new()
        );
        assert_eq!(preview_ids("no previews"), Vec::<i64>::new());
    }

    #[test]
    fn the_event_comes_from_the_argument_or_the_json() {
        let p = json!({"hook_event_name": "Stop"});
        assert_eq!(event_name(None, &p).as_deref(), Some("Stop"));
        assert_eq!(
            event_name(Some("session.idle"), &p).as_deref(),
            Some("session.idle")
        );
        assert_eq!(
            event_name(None, &json!({"type": "agent-turn-complete"})).as_deref(),
            Some("agent-turn-complete")
        );
        assert_eq!(event_name(None, &Value::Null), None);
    }
}
