//! Coding-agent backends (claude, codex, opencode): the argv that runs a member in its pane,
//! the spawn prompt and its placeholders, the graceful exit keys, and opencode's preset.

pub mod claude_settings;
mod prompt;
pub mod screen;

pub use prompt::{
    DEFAULT_MONITOR_PROMPT, DEFAULT_PROMPT, PromptValues, render_prompt, validate_template,
};

use crate::model::CodingAgent;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Checks `--model` for a backend before anything is registered or spawned: opencode needs
/// `<provider-id>/<model-id>`; others need a non-empty value (docs/decisions.md, MEM-3).
pub fn validate_model(backend: CodingAgent, model: Option<&str>) -> Result<()> {
    let Some(model) = model else { return Ok(()) };
    match backend {
        CodingAgent::Opencode => match model.split_once('/') {
            Some((provider, id)) if !provider.is_empty() && !id.is_empty() => Ok(()),
            _ => Err(Error::usage(format!(
                "--model for the opencode backend must be '<provider-id>/<model-id>' (got '{model}')."
            ))),
        },
        _ if model.trim().is_empty() => Err(Error::usage(format!(
            "--model for the {backend} backend may not be empty (got '{model}'). Omit --model to use the backend's default."
        ))),
        _ => Ok(()),
    }
}

/// The permission rule a claude member needs to run the protocol's commands under
/// `dontAsk` (which denies every tool without an allow rule). A prefix rule: it matches
/// `cafleet …` commands without shell operators (`>`, `|`, `&&`, `;`), which the skills
/// never ask for. docs/real-agents.md has what the real CLI does with it.
pub const CLAUDE_ALLOW_RULE: &str = "Bash(cafleet:*)";

/// The Claude Code hook events `cafleet hook claude` is run for (docs/delivery.md,
/// "Activity").
pub const CLAUDE_HOOK_EVENTS: [&str; 10] = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PermissionRequest",
    "Notification",
    "Stop",
    "StopFailure",
    "SessionEnd",
];

/// `word` quoted for a POSIX shell (Claude Code runs a hook's command with one).
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@%=".contains(c))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The command line of CAFleet's hook for `cli`, run by a shell: `<cafleet> hook <cli>`.
pub fn hook_command(cafleet: &Path, cli: CodingAgent) -> String {
    format!("{} hook {cli}", shell_quote(&cafleet.to_string_lossy()))
}

/// Claude Code settings holding CAFleet's hooks: every event of [`CLAUDE_HOOK_EVENTS`] runs
/// `<cafleet> hook claude`. A member gets them with `--settings` (they add to the user's
/// own hooks); `setup --hooks` merges them into the user's settings file.
pub fn claude_hook_settings(cafleet: &Path) -> serde_json::Value {
    let command = hook_command(cafleet, CodingAgent::Claude);
    let mut hooks = serde_json::Map::new();
    for event in CLAUDE_HOOK_EVENTS {
        hooks.insert(
            event.to_string(),
            serde_json::json!([{"hooks": [{"type": "command", "command": command}]}]),
        );
    }
    serde_json::json!({ "hooks": hooks })
}

/// The Codex hook events `cafleet hook codex` is run for (docs/delivery.md, "Activity").
pub const CODEX_HOOK_EVENTS: [&str; 6] = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PermissionRequest",
    "Stop",
];

/// `-c` overrides that make a codex member report its activity: `notify` runs
/// `<cafleet> hook codex <JSON>` at the end of each turn; with `hooks`, a hook for each
/// event of [`CODEX_HOOK_EVENTS`] runs `<cafleet> hook codex` too. Codex runs such hooks
/// only once a person trusted them, or with `--dangerously-bypass-hook-trust`
/// (docs/real-agents.md).
pub fn codex_hook_overrides(cafleet: &Path, hooks: bool) -> Vec<String> {
    let exe = cafleet.to_string_lossy();
    // TOML basic strings take JSON's escapes.
    let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut out = vec![format!("notify=[{}, \"hook\", \"codex\"]", quoted(&exe))];
    if !hooks {
        return out;
    }
    let command = quoted(&hook_command(cafleet, CodingAgent::Codex));
    for event in CODEX_HOOK_EVENTS {
        out.push(format!(
            "hooks.{event}=[{{hooks=[{{type=\"command\", command={command}}}]}}]"
        ));
    }
    out
}

/// Lets a codex member reach a database server: codex's `workspace-write` sandbox blocks
/// the network, and a member on PostgreSQL runs `cafleet` commands that connect to one
/// (README.md, "PostgreSQL"). Other coding agents' argv is left as it is.
pub fn allow_network(backend: CodingAgent, argv: &mut Vec<String>) {
    if backend != CodingAgent::Codex {
        return;
    }
    let at = argv
        .iter()
        .position(|a| a == "workspace-write")
        .map_or(argv.len(), |i| i + 1);
    argv.splice(
        at..at,
        [
            "-c".to_string(),
            "sandbox_workspace_write.network_access=true".to_string(),
        ],
    );
}

/// The argv that runs a member (README.md, "Configure", says why each flag): the prompt is
/// always one element.
/// `database_dir` is the directory of the CAFleet database: codex's workspace-write
/// sandbox lets a member write only its working directory and temp dirs, so the database's
/// directory is added (`--add-dir`), or every cafleet command it runs fails. `cafleet` is
/// the binary the member's activity hooks run (none when `None`; docs/delivery.md);
/// `codex_hooks` adds codex's hooks beside its `notify` (see [`codex_hook_overrides`]).
pub fn spawn_argv(
    backend: CodingAgent,
    name: &str,
    model: Option<&str>,
    prompt: &str,
    database_dir: Option<&Path>,
    cafleet: Option<&Path>,
    codex_hooks: bool,
) -> Vec<String> {
    let mut argv: Vec<String> = match backend {
        // A name starting with `-` would be read as an option: it is passed attached,
        // `--name=-x`; other names keep 0.14's two words (docs/decisions.md, MEM-2).
        CodingAgent::Claude if name.starts_with('-') => vec![
            "claude".into(),
            "--allowedTools".into(),
            CLAUDE_ALLOW_RULE.into(),
            "--permission-mode".into(),
            "dontAsk".into(),
            format!("--name={name}"),
        ],
        CodingAgent::Claude => vec![
            "claude".into(),
            "--allowedTools".into(),
            CLAUDE_ALLOW_RULE.into(),
            "--permission-mode".into(),
            "dontAsk".into(),
            "--name".into(),
            name.into(),
        ],
        // `--no-daemon`: codex's shared background server would run this member's shell
        // commands with the environment of whichever pane started it (another member's
        // TMUX_PANE, another fleet's CAFLEET_DATABASE_URL), and outlive the pane.
        // `allow_login_shell=false`: a login shell's /etc/profile resets PATH, so `cafleet`
        // would not be found. docs/real-agents.md has what the real CLI does.
        CodingAgent::Codex => vec![
            "codex".into(),
            "--no-daemon".into(),
            "-c".into(),
            "allow_login_shell=false".into(),
            "--ask-for-approval".into(),
            "never".into(),
            "--sandbox".into(),
            "workspace-write".into(),
        ],
        CodingAgent::Opencode => vec!["opencode".into(), "--agent".into(), "cafleet".into()],
    };
    if backend == CodingAgent::Claude
        && let Some(exe) = cafleet
    {
        argv.push("--settings".into());
        argv.push(claude_hook_settings(exe).to_string());
    }
    if backend == CodingAgent::Codex
        && let Some(exe) = cafleet
    {
        if codex_hooks {
            argv.push("--dangerously-bypass-hook-trust".into());
        }
        for o in codex_hook_overrides(exe, codex_hooks) {
            argv.push("-c".into());
            argv.push(o);
        }
    }
    if backend == CodingAgent::Codex
        && let Some(dir) = database_dir
    {
        argv.push("--add-dir".into());
        argv.push(dir.to_string_lossy().into_owned());
    }
    if let Some(m) = model {
        argv.push("--model".into());
        argv.push(m.into());
    }
    if backend == CodingAgent::Opencode {
        argv.push("--prompt".into());
    }
    argv.push(prompt.into());
    argv
}

/// The opencode events CAFleet's plugin forwards to `cafleet hook opencode <event>`.
pub const OPENCODE_EVENTS: [&str; 9] = [
    "session.status",
    "session.idle",
    "permission.asked",
    "permission.updated",
    "permission.replied",
    "question.asked",
    "question.replied",
    "question.rejected",
    "server.instance.disposed",
];

/// The file name of CAFleet's opencode plugin, written beside the database.
pub const OPENCODE_PLUGIN_FILE: &str = "cafleet-opencode-activity.js";

/// CAFleet's opencode plugin: it forwards the bus events of [`OPENCODE_EVENTS`] of the
/// member's own sessions (not its sub-agents') and each tool call to `<cafleet> hook
/// opencode <event>` with the event's JSON on stdin, one at a time and in order, without
/// waiting for them (docs/delivery.md, "Activity").
pub fn opencode_plugin(cafleet: &Path) -> String {
    let exe = serde_json::Value::String(cafleet.to_string_lossy().into_owned()).to_string();
    let events = serde_json::to_string(&OPENCODE_EVENTS).unwrap_or_default();
    format!(
        r#"// CAFleet's activity plugin for opencode members, written by `cafleet member create`
// (docs/delivery.md, "Activity" in the CAFleet repository). Rewritten on every create.
import {{ spawn }} from "node:child_process";

const CAFLEET = {exe};
const FORWARD = new Set({events});

export const CafleetActivity = async () => {{
  const subagents = new Set();
  let queue = Promise.resolve();
  const report = (type, event) => {{
    const json = JSON.stringify(event);
    queue = queue.then(
      () =>
        new Promise((resolve) => {{
          try {{
            const child = spawn(CAFLEET, ["hook", "opencode", type], {{
              stdio: ["pipe", "ignore", "ignore"],
            }});
            child.on("error", () => resolve());
            child.on("close", () => resolve());
            child.stdin.on("error", () => {{}});
            child.stdin.end(json);
          }} catch {{
            resolve();
          }}
        }}),
    );
  }};
  return {{
    event: async ({{ event }}) => {{
      const info = event?.properties?.info;
      if (event?.type === "session.created" && info?.parentID) subagents.add(info.id);
      if (!FORWARD.has(event?.type)) return;
      const session = event.properties?.sessionID;
      if (session && subagents.has(session)) return;
      report(event.type, event);
    }},
    "tool.execute.before": async (input) => {{
      if (input?.sessionID && subagents.has(input.sessionID)) return;
      report("tool.execute.before", {{ type: "tool.execute.before", properties: {{ tool: input?.tool }} }});
    }},
  }};
}};
"#
    )
}

/// Writes CAFleet's opencode plugin into `dir` (unless it is there already, unchanged);
/// returns its path.
pub fn write_opencode_plugin(dir: &Path, cafleet: &Path) -> std::io::Result<PathBuf> {
    let path = dir.join(OPENCODE_PLUGIN_FILE);
    let text = opencode_plugin(cafleet);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(
            ".{OPENCODE_PLUGIN_FILE}.tmp-{}",
            std::process::id()
        ));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}

/// The `OPENCODE_CONFIG_CONTENT` that loads the plugin at `plugin` in an opencode member:
/// opencode adds it to the user's configuration. `existing` is the variable's value in
/// CAFleet's environment: the plugin is added to its `plugin` list; `None` is returned when
/// it is not a JSON object (it is then left as it is, without the plugin).
pub fn opencode_config_content(existing: Option<&str>, plugin: &Path) -> Option<String> {
    let spec = format!("file://{}", plugin.display());
    let mut config = match existing.filter(|e| !e.trim().is_empty()) {
        None => serde_json::Map::new(),
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => return None,
        },
    };
    let list = config
        .entry("plugin")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    let serde_json::Value::Array(list) = list else {
        return None;
    };
    if !list.iter().any(|p| p.as_str() == Some(spec.as_str())) {
        list.push(serde_json::Value::String(spec));
    }
    Some(serde_json::Value::Object(config).to_string())
}

/// Where opencode reads global agent definitions (docs/decisions.md, L10).
pub fn opencode_preset_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("OPENCODE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("agents").join("cafleet.md"));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".config/opencode/agents/cafleet.md"))
}

/// Writes the opencode preset unless a regular file (user customisation) is already there;
/// true when this call created it.
pub fn materialize_opencode_preset(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => return Ok(false),
        Ok(_) => return Err(preset_conflict(path)),
        Err(_) if std::fs::symlink_metadata(path).is_ok() => return Err(preset_conflict(path)),
        Err(_) => {}
    }
    write_opencode_preset(path).map(|()| true)
}

/// Writes (or refreshes) the opencode preset file.
pub fn write_opencode_preset(path: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::failed(format!(
            "cannot materialize CAFleet opencode agent preset at {}: {e}",
            path.display()
        ))
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    std::fs::write(path, opencode_preset()).map_err(fail)
}

fn preset_conflict(path: &Path) -> Error {
    Error::failed(format!(
        "cannot materialize CAFleet opencode agent preset: {} exists but is not a regular file or symlink to one (e.g. directory, broken symlink, symlink to a non-file); refusing to overwrite",
        path.display()
    ))
}

/// The opencode agent preset: JSON frontmatter with the permission floor, then a short body.
pub fn opencode_preset() -> String {
    let deny_bash = [
        "bash -c*",
        "sh -c*",
        "zsh -c*",
        "python -c*",
        "python3 -c*",
        "perl -e*",
        "node -e*",
        "node --eval*",
        "ruby -e*",
        "eval*",
        "exec*",
        "rm -rf*",
        "sudo*",
        "git push*",
        "git reset --hard*",
        "chmod*",
        "chown*",
        "curl*",
        "wget*",
        "nc*",
        "ssh*",
        "scp*",
        "rsync*",
        "osascript*",
    ];
    let mut bash = serde_json::Map::new();
    bash.insert("*".into(), "allow".into());
    for pattern in deny_bash {
        bash.insert(pattern.into(), "deny".into());
    }
    let files = serde_json::json!({"*": "allow", "**/.env": "deny", "**/.env.*": "deny"});
    let mut permission = serde_json::Map::new();
    permission.insert("bash".into(), serde_json::Value::Object(bash));
    permission.insert("read".into(), files.clone());
    permission.insert("edit".into(), files);
    for key in [
        "external_directory",
        "webfetch",
        "websearch",
        "repo_clone",
        "question",
        "plan_enter",
        "plan_exit",
    ] {
        permission.insert(key.into(), "deny".into());
    }
    let mut front = serde_json::Map::new();
    front.insert(
        "description".into(),
        "CAFleet-spawned member with workspace-scoped permission floor; matches Claude Code dontAsk safety posture.".into(),
    );
    front.insert("mode".into(), "primary".into());
    front.insert("permission".into(), serde_json::Value::Object(permission));
    let json = serde_json::to_string_pretty(&serde_json::Value::Object(front)).unwrap_or_default();
    format!(
        "---\n{json}\n---\n\n# CAFleet member agent\n\nYou were spawned by a CAFleet Director as a member of its fleet. Your task arrives in the Director's spawn prompt and in messages you read with `cafleet message poll`. These permissions let you work inside the workspace without prompts, as Claude Code's dontAsk mode does, but deny shell-indirection wrappers (`bash -c`, `python -c`, `eval`, ...), destructive commands, network tools and `.env` files. Ask the Director through `cafleet message send` when you need something they deny.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_per_backend() {
        assert_eq!(
            spawn_argv(
                CodingAgent::Claude,
                "m1",
                None,
                "P",
                Some(Path::new("/db")),
                None,
                false
            ),
            [
                "claude",
                "--allowedTools",
                "Bash(cafleet:*)",
                "--permission-mode",
                "dontAsk",
                "--name",
                "m1",
                "P"
            ]
        );
        assert_eq!(
            spawn_argv(
                CodingAgent::Codex,
                "m",
                Some("gpt-5"),
                "P",
                Some(Path::new("/home/me/.local/share/cafleet")),
                None,
                false
            ),
            [
                "codex",
                "--no-daemon",
                "-c",
                "allow_login_shell=false",
                "--ask-for-approval",
                "never",
                "--sandbox",
                "workspace-write",
                "--add-dir",
                "/home/me/.local/share/cafleet",
                "--model",
                "gpt-5",
                "P"
            ]
        );
        assert_eq!(
            spawn_argv(
                CodingAgent::Opencode,
                "m",
                Some("openai/gpt-4o"),
                "P",
                Some(Path::new("/db")),
                None,
                false
            ),
            [
                "opencode",
                "--agent",
                "cafleet",
                "--model",
                "openai/gpt-4o",
                "--prompt",
                "P"
            ]
        );
    }

    #[test]
    fn claude_members_get_the_hooks_as_settings() {
        let argv = spawn_argv(
            CodingAgent::Claude,
            "m1",
            None,
            "P",
            None,
            Some(Path::new("/opt/my tools/cafleet")),
            false,
        );
        assert_eq!(argv[7], "--settings");
        let settings: serde_json::Value = serde_json::from_str(&argv[8]).unwrap();
        assert_eq!(
            settings["hooks"]["PreToolUse"],
            serde_json::json!([{"hooks": [{"type": "command", "command": "'/opt/my tools/cafleet' hook claude"}]}])
        );
        assert_eq!(
            settings["hooks"].as_object().unwrap().len(),
            CLAUDE_HOOK_EVENTS.len()
        );
        assert_eq!(argv.last().unwrap(), "P");
    }

    #[test]
    fn only_codex_members_are_given_the_network() {
        let mut codex = spawn_argv(CodingAgent::Codex, "m", None, "P", None, None, false);
        allow_network(CodingAgent::Codex, &mut codex);
        let at = codex.iter().position(|a| a == "workspace-write").unwrap();
        assert_eq!(
            codex[at + 1..at + 3],
            ["-c", "sandbox_workspace_write.network_access=true"]
        );
        assert_eq!(codex.last().unwrap(), "P");
        let claude = spawn_argv(CodingAgent::Claude, "m", None, "P", None, None, false);
        let mut same = claude.clone();
        allow_network(CodingAgent::Claude, &mut same);
        assert_eq!(same, claude);
    }

    #[test]
    fn codex_members_get_notify_and_on_request_hooks() {
        let exe = Path::new("/bin/cafleet");
        let argv = spawn_argv(CodingAgent::Codex, "m", None, "P", None, Some(exe), false);
        assert_eq!(
            argv[8..10],
            ["-c", "notify=[\"/bin/cafleet\", \"hook\", \"codex\"]"]
        );
        assert!(!argv.iter().any(|a| a.contains("bypass")));
        let argv = spawn_argv(CodingAgent::Codex, "m", None, "P", None, Some(exe), true);
        assert_eq!(argv[8], "--dangerously-bypass-hook-trust");
        assert!(argv.contains(
            &"hooks.PreToolUse=[{hooks=[{type=\"command\", command=\"/bin/cafleet hook codex\"}]}]"
                .to_string()
        ));
        assert_eq!(argv.last().unwrap(), "P");
    }

    #[test]
    fn opencode_config_content_adds_the_plugin() {
        let p = Path::new("/d/cafleet-opencode-activity.js");
        assert_eq!(
            opencode_config_content(None, p).unwrap(),
            r#"{"plugin":["file:///d/cafleet-opencode-activity.js"]}"#
        );
        assert_eq!(
            opencode_config_content(Some(r#"{"model":"a/b","plugin":["x"]}"#), p).unwrap(),
            r#"{"model":"a/b","plugin":["x","file:///d/cafleet-opencode-activity.js"]}"#
        );
        assert_eq!(opencode_config_content(Some("not json"), p), None);
        assert!(
            opencode_plugin(Path::new("/bin/cafleet"))
                .contains(r#"const CAFLEET = "/bin/cafleet";"#)
        );
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/usr/bin/cafleet"), "/usr/bin/cafleet");
        assert_eq!(shell_quote("/a b/it's"), "'/a b/it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn opencode_models_need_provider_and_id() {
        for ok in ["openai/gpt-4o", "a/b/c"] {
            assert!(validate_model(CodingAgent::Opencode, Some(ok)).is_ok());
        }
        for bad in ["gpt4", "/x", "x/", ""] {
            assert!(
                validate_model(CodingAgent::Opencode, Some(bad)).is_err(),
                "{bad}"
            );
        }
        assert!(validate_model(CodingAgent::Claude, Some("")).is_err());
        assert!(validate_model(CodingAgent::Claude, Some("opus")).is_ok());
    }

    #[test]
    fn preset_has_frontmatter_and_body() {
        let p = opencode_preset();
        assert!(p.starts_with("---\n{\n  \"description\""));
        assert!(p.contains("\n---\n\n# CAFleet member agent\n"));
        assert!(p.contains("\"git push*\": \"deny\""));
    }

    #[test]
    fn a_name_that_looks_like_an_option_is_passed_attached() {
        assert_eq!(
            spawn_argv(CodingAgent::Claude, "-x", None, "P", None, None, false),
            [
                "claude",
                "--allowedTools",
                "Bash(cafleet:*)",
                "--permission-mode",
                "dontAsk",
                "--name=-x",
                "P"
            ]
        );
    }
}
