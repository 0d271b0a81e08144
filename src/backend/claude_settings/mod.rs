//! Claude Code's settings files, as far as CAFleet needs them: which `permissions.allow`
//! rules a claude started in a directory gets, and adding one rule to a settings file.
//!
//! A claude member runs in `dontAsk` mode, which denies every tool call no allow rule
//! matches; the Director (the user's own claude) asks before each unmatched call. The rules
//! come from the user file (`${CLAUDE_CONFIG_DIR:-~/.claude}/settings.json`) and the
//! project files in the working directory (`.claude/settings.json`,
//! `.claude/settings.local.json`). Reading never fails: a missing file has no rules, and an
//! unreadable or invalid one is reported. Writing merges into the user's file, keeps every
//! other key, rule and the key order, and never touches a file that is not valid JSON.

mod hooks;

pub use hooks::{HooksOutcome, add_hooks, is_cafleet_hook, remove_hooks};

use serde_json::{Map, Value};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file names below a configuration or `.claude` directory.
const SETTINGS: &str = "settings.json";
const SETTINGS_LOCAL: &str = "settings.local.json";

/// The tools a member needs allow rules for to change files.
pub const MEMBER_FILE_TOOLS: [&str; 2] = ["Edit", "Write"];

/// An example build/test rule, for the fix texts.
pub const EXAMPLE_BUILD_RULE: &str = "Bash(cargo test:*)";

/// The user settings file: `${CLAUDE_CONFIG_DIR:-$HOME/.claude}/settings.json`; `None`
/// when neither variable is set.
pub fn user_settings_path() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("CLAUDE_CONFIG_DIR")
        .or_else(|| var("HOME").map(|h| h.join(".claude")))
        .map(|dir| dir.join(SETTINGS))
}

/// The shared project settings file of a claude started in `cwd`.
pub fn project_settings_path(cwd: &Path) -> PathBuf {
    cwd.join(".claude").join(SETTINGS)
}

/// Every settings file a claude started in `cwd` reads rules from: the user file, then the
/// project's shared and local files (a path named twice, e.g. when `cwd` is `$HOME`, once).
pub fn settings_files(cwd: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    let candidates = user_settings_path().into_iter().chain([
        project_settings_path(cwd),
        cwd.join(".claude").join(SETTINGS_LOCAL),
    ]);
    for p in candidates {
        if !files.iter().any(|f| same_file(f, &p)) {
            files.push(p);
        }
    }
    files
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Why a settings file could not be used.
#[derive(Debug)]
pub enum SettingsError {
    /// It exists but cannot be read (a directory, no permission, ...).
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        error: std::io::Error,
    },
    /// It is not JSON, or not the shape Claude Code reads (an object whose
    /// `permissions.allow` is a list).
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, e.g. `expected value at line 3 column 5`.
        reason: String,
    },
    /// Writing the merged file (or its directory) failed; the file was left as it was.
    Unwritable {
        /// The file.
        path: PathBuf,
        /// What the write said.
        error: std::io::Error,
    },
}

impl SettingsError {
    /// The file concerned.
    pub fn path(&self) -> &Path {
        match self {
            SettingsError::Unreadable { path, .. }
            | SettingsError::Invalid { path, .. }
            | SettingsError::Unwritable { path, .. } => path,
        }
    }

    /// What went wrong, without the path: `is not valid JSON (...)`, `cannot be read: ...`.
    pub fn reason(&self) -> String {
        match self {
            SettingsError::Unreadable { error, .. } => format!("cannot be read: {error}"),
            SettingsError::Invalid { reason, .. } => format!("is not valid JSON ({reason})"),
            SettingsError::Unwritable { error, .. } => format!("cannot be written: {error}"),
        }
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path().display(), self.reason())
    }
}

impl std::error::Error for SettingsError {}

/// The parsed file: `None` when it does not exist. A file holding only whitespace counts as
/// an empty object.
fn load(path: &Path) -> Result<Option<Map<String, Value>>, SettingsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(SettingsError::Invalid {
                path: path.to_path_buf(),
                reason: "it is not UTF-8 text".into(),
            });
        }
        Err(error) => {
            return Err(SettingsError::Unreadable {
                path: path.to_path_buf(),
                error,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(Some(Map::new()));
    }
    let invalid = |reason: String| SettingsError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => {
            match map.get("permissions") {
                None | Some(Value::Object(_)) => {}
                Some(_) => return Err(invalid("\"permissions\" is not an object".into())),
            }
            match map.get("permissions").and_then(|p| p.get("allow")) {
                None | Some(Value::Array(_)) => Ok(Some(map)),
                Some(_) => Err(invalid("\"permissions.allow\" is not a list".into())),
            }
        }
        Ok(_) => Err(invalid("its top level is not an object".into())),
        Err(e) => Err(invalid(e.to_string())),
    }
}

fn allow_list(map: &Map<String, Value>) -> Vec<String> {
    map.get("permissions")
        .and_then(|p| p.get("allow"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The `permissions.allow` rules of one file (none when it does not exist).
pub fn read_allow(path: &Path) -> Result<Vec<String>, SettingsError> {
    Ok(load(path)?.map(|m| allow_list(&m)).unwrap_or_default())
}

/// One allow rule and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule as written, e.g. `Bash(cargo test:*)`.
    pub rule: String,
    /// The settings file that holds it.
    pub file: PathBuf,
}

/// The allow rules a claude started in a directory gets from its settings files.
#[derive(Debug, Default)]
pub struct AllowRules {
    /// The files looked at, in reading order.
    pub files: Vec<PathBuf>,
    /// Every rule found, in file order.
    pub rules: Vec<Rule>,
    /// Files that exist but could not be used.
    pub problems: Vec<SettingsError>,
}

impl AllowRules {
    /// Whether any rule lets `cafleet …` commands run (see [`allows_cafleet`]).
    pub fn cafleet_rule(&self) -> Option<&Rule> {
        self.rules.iter().find(|r| allows_cafleet(&r.rule))
    }

    /// The tools of [`MEMBER_FILE_TOOLS`] a member still needs a rule for. Claude Code
    /// applies `Edit` rules to every tool that edits files (Write among them), so an `Edit`
    /// rule alone is enough; a `Write` rule alone leaves `Edit` missing.
    pub fn missing_file_tools(&self) -> Vec<&'static str> {
        let has = |tool: &str| self.rules.iter().any(|r| names_tool(&r.rule, tool));
        if has("Edit") {
            return Vec::new();
        }
        MEMBER_FILE_TOOLS.into_iter().filter(|t| !has(t)).collect()
    }

    /// What a member lacks, as the fix names it: `"Edit", "Write" and your build/test
    /// commands (e.g. "Bash(cargo test:*)")`; `None` when it may edit and write files.
    pub fn member_rules_to_add(&self) -> Option<String> {
        let missing = self.missing_file_tools();
        if missing.is_empty() {
            return None;
        }
        let mut what = missing
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ");
        if !self.has_other_commands() {
            what.push_str(&format!(
                " and your build/test commands (e.g. \"{EXAMPLE_BUILD_RULE}\")"
            ));
        }
        Some(what)
    }

    /// Whether some rule allows Bash commands other than cafleet's (e.g. a build command).
    pub fn has_other_commands(&self) -> bool {
        self.rules
            .iter()
            .any(|r| names_tool(&r.rule, "Bash") && !is_cafleet_only(&r.rule))
    }
}

/// Reads the allow rules of every settings file of a claude started in `cwd`.
pub fn allow_rules(cwd: &Path) -> AllowRules {
    let mut out = AllowRules::default();
    for file in settings_files(cwd) {
        match read_allow(&file) {
            Ok(rules) => out.rules.extend(rules.into_iter().map(|rule| Rule {
                rule,
                file: file.clone(),
            })),
            Err(e) => out.problems.push(e),
        }
        out.files.push(file);
    }
    out
}

/// `Tool` or `Tool(specifier)` split into its parts (surrounding blanks ignored).
fn parse_rule(rule: &str) -> (&str, Option<&str>) {
    let rule = rule.trim();
    match rule.split_once('(') {
        Some((tool, rest)) if rest.ends_with(')') => {
            (tool.trim(), Some(rest[..rest.len() - 1].trim()))
        }
        _ => (rule, None),
    }
}

/// Whether `rule` is about `tool` (`Edit`, or `Edit(src/**)`).
pub fn names_tool(rule: &str, tool: &str) -> bool {
    parse_rule(rule).0 == tool
}

/// Whether `rule` lets a plain `cafleet …` command run: `Bash(cafleet:*)`, or a broader one
/// such as `Bash`, `Bash(*)` or `Bash(cafleet *)`.
pub fn allows_cafleet(rule: &str) -> bool {
    match parse_rule(rule) {
        ("Bash", None) => true,
        ("Bash", Some(spec)) => matches!(spec, "*" | ":*" | "cafleet:*" | "cafleet *" | "cafleet*"),
        _ => false,
    }
}

/// Whether `rule` allows cafleet commands and nothing else.
pub fn is_cafleet_only(rule: &str) -> bool {
    match parse_rule(rule) {
        ("Bash", Some(spec)) => spec == "cafleet" || spec.starts_with("cafleet"),
        _ => false,
    }
}

/// What [`add_allow_rule`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The file did not exist; it was created holding the rule.
    Created,
    /// The rule was appended to the file's `permissions.allow`.
    Added,
    /// The rule was already there; the file was not touched.
    Present,
}

/// Adds `rule` to `permissions.allow` of the settings file at `path`, keeping every other
/// key, rule and the key order; the file (and its directory) is created when missing. The
/// merged file is written beside it and renamed over it, so a reader sees the old or the
/// new file, never half of one. A file that is not valid JSON is left untouched.
pub fn add_allow_rule(path: &Path, rule: &str) -> Result<AddOutcome, SettingsError> {
    // Write through a symlink (e.g. a dotfiles checkout) instead of replacing it.
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|error| SettingsError::Unreadable {
                path: path.to_path_buf(),
                error,
            })?
        }
        _ => path.to_path_buf(),
    };
    let existing = load(&target)?;
    let created = existing.is_none();
    let mut map = existing.unwrap_or_default();
    let permissions = map
        .entry("permissions")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .expect("load checked that permissions is an object");
    let allow = permissions
        .entry("allow")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .expect("load checked that permissions.allow is a list");
    if allow.iter().any(|r| r.as_str() == Some(rule)) {
        return Ok(AddOutcome::Present);
    }
    allow.push(Value::String(rule.to_string()));
    let mut text =
        serde_json::to_string_pretty(&Value::Object(map)).expect("a JSON value always serializes");
    text.push('\n');
    write_atomically(&target, text.as_bytes()).map_err(|error| SettingsError::Unwritable {
        path: path.to_path_buf(),
        error,
    })?;
    Ok(if created {
        AddOutcome::Created
    } else {
        AddOutcome::Added
    })
}

/// Writes `bytes` to a temporary file beside `path` (same permissions as the file it
/// replaces), syncs it and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.cafleet-tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        if let Ok(m) = std::fs::metadata(path) {
            f.set_permissions(m.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_that_allow_cafleet_commands() {
        for r in [
            "Bash(cafleet:*)",
            "Bash",
            "Bash(*)",
            "Bash(cafleet *)",
            " Bash( cafleet:* ) ",
        ] {
            assert!(allows_cafleet(r), "{r}");
        }
        for r in [
            "Bash(cafleet message:*)",
            "Bash(cargo test:*)",
            "Edit",
            "Bashful",
            "bash",
        ] {
            assert!(!allows_cafleet(r), "{r}");
        }
    }

    #[test]
    fn tool_names_with_and_without_specifiers() {
        assert!(names_tool("Edit", "Edit"));
        assert!(names_tool("Edit(src/**)", "Edit"));
        assert!(!names_tool("EditNotebook", "Edit"));
        assert!(!names_tool("Write", "Edit"));
    }

    fn rules(list: &[&str]) -> AllowRules {
        AllowRules {
            rules: list
                .iter()
                .map(|r| Rule {
                    rule: r.to_string(),
                    file: PathBuf::from("s.json"),
                })
                .collect(),
            ..AllowRules::default()
        }
    }

    #[test]
    fn missing_file_tools_and_other_commands() {
        assert_eq!(rules(&[]).missing_file_tools(), ["Edit", "Write"]);
        assert!(rules(&["Edit(src/**)"]).missing_file_tools().is_empty());
        assert!(rules(&["Edit", "Write"]).missing_file_tools().is_empty());
        assert_eq!(rules(&["Write"]).missing_file_tools(), ["Edit"]);
        assert!(!rules(&["Bash(cafleet:*)", "Bash(cafleet message:*)"]).has_other_commands());
        assert!(rules(&["Bash(cargo test:*)"]).has_other_commands());
        assert!(rules(&["Bash"]).has_other_commands());
        assert_eq!(
            rules(&["Bash(cafleet:*)"]).member_rules_to_add().unwrap(),
            "\"Edit\", \"Write\" and your build/test commands (e.g. \"Bash(cargo test:*)\")"
        );
        assert_eq!(
            rules(&["Write", "Bash(make:*)"])
                .member_rules_to_add()
                .unwrap(),
            "\"Edit\""
        );
        assert_eq!(rules(&["Edit", "Write"]).member_rules_to_add(), None);
    }

    #[test]
    fn add_creates_merges_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/settings.json");
        assert_eq!(add_allow_rule(&path, "A").unwrap(), AddOutcome::Created);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"permissions\": {\n    \"allow\": [\n      \"A\"\n    ]\n  }\n}\n"
        );
        std::fs::write(
            &path,
            r#"{"z": 1, "permissions": {"deny": ["X"], "allow": ["B"]}, "a": {"k": [1]}}"#,
        )
        .unwrap();
        assert_eq!(add_allow_rule(&path, "A").unwrap(), AddOutcome::Added);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["z", "permissions", "a"]);
        assert_eq!(v["permissions"]["allow"], serde_json::json!(["B", "A"]));
        assert_eq!(v["permissions"]["deny"], serde_json::json!(["X"]));
        let before = std::fs::read(&path).unwrap();
        assert_eq!(add_allow_rule(&path, "A").unwrap(), AddOutcome::Present);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1);
    }

    #[test]
    fn invalid_files_are_reported_and_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        for text in [
            "{\"permissions\": {",
            "[1]",
            "{\"permissions\": []}",
            "{\"permissions\": {\"allow\": \"Edit\"}}",
        ] {
            std::fs::write(&path, text).unwrap();
            let err = add_allow_rule(&path, "A").unwrap_err();
            assert!(
                matches!(err, SettingsError::Invalid { .. }),
                "{text}: {err}"
            );
            assert!(read_allow(&path).is_err(), "{text}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
        let err = read_allow(dir.path()).unwrap_err();
        assert!(matches!(err, SettingsError::Unreadable { .. }), "{err}");
        assert!(
            read_allow(&dir.path().join("missing.json"))
                .unwrap()
                .is_empty()
        );
        std::fs::write(&path, "  \n").unwrap();
        assert!(read_allow(&path).unwrap().is_empty());
        assert_eq!(add_allow_rule(&path, "A").unwrap(), AddOutcome::Added);
    }

    fn ours() -> Value {
        crate::backend::claude_hook_settings(Path::new("/usr/local/bin/cafleet"))
    }

    #[test]
    fn cafleet_hooks_are_recognised_by_their_command() {
        for c in [
            "cafleet hook claude",
            "/usr/local/bin/cafleet hook claude",
            "'/opt/my tools/cafleet' hook claude",
        ] {
            assert!(is_cafleet_hook(c), "{c}");
        }
        for c in [
            "mytool hook claude",
            "cafleet hook codex",
            "echo cafleet hook claude x",
        ] {
            assert!(!is_cafleet_hook(c), "{c}");
        }
    }

    #[test]
    fn hooks_merge_beside_the_users_and_come_out_again_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let user = "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"Stop\": [\n      {\n        \"matcher\": \"\",\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"notify-send done\"\n          }\n        ]\n      }\n    ]\n  }\n}\n";
        std::fs::write(&path, user).unwrap();
        let added = add_hooks(&path, &ours()).unwrap();
        assert!(!added.created);
        assert_eq!(
            added.changed.len(),
            crate::backend::CLAUDE_HOOK_EVENTS.len()
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["model"], "opus");
        assert_eq!(
            v["hooks"]["Stop"][0]["hooks"][0]["command"],
            "notify-send done"
        );
        assert_eq!(
            v["hooks"]["Stop"][1]["hooks"][0]["command"],
            "/usr/local/bin/cafleet hook claude"
        );
        // Again: nothing to do, nothing written.
        let bytes = std::fs::read(&path).unwrap();
        let again = add_hooks(&path, &ours()).unwrap();
        assert!(again.changed.is_empty());
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        // A moved binary: its entries are replaced, not doubled.
        let moved = crate::backend::claude_hook_settings(Path::new("/opt/cafleet"));
        let replaced = add_hooks(&path, &moved).unwrap();
        assert_eq!(
            replaced.changed.len(),
            crate::backend::CLAUDE_HOOK_EVENTS.len()
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["hooks"]["Stop"].as_array().unwrap().len(), 2);
        assert_eq!(
            v["hooks"]["Stop"][1]["hooks"][0]["command"],
            "/opt/cafleet hook claude"
        );
        // Removal takes out only CAFleet's.
        let removed = remove_hooks(&path).unwrap();
        assert_eq!(
            removed.changed.len(),
            crate::backend::CLAUDE_HOOK_EVENTS.len()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), user);
        let bytes = std::fs::read(&path).unwrap();
        assert!(remove_hooks(&path).unwrap().changed.is_empty());
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn hooks_in_a_new_file_and_bad_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/settings.json");
        assert!(add_hooks(&path, &ours()).unwrap().created);
        remove_hooks(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
        for text in [
            "{\"hooks\": []}",
            "{\"hooks\": {\"Stop\": {}}}",
            "{\"hooks\": {\"Stop\": [{}]}}",
            "{",
        ] {
            std::fs::write(&path, text).unwrap();
            assert!(
                matches!(
                    add_hooks(&path, &ours()),
                    Err(SettingsError::Invalid { .. })
                ),
                "{text}"
            );
            assert!(
                matches!(remove_hooks(&path), Err(SettingsError::Invalid { .. })),
                "{text}"
            );
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
    }

    #[test]
    fn a_symlinked_file_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles-settings.json");
        std::fs::write(&real, "{\"model\": \"opus\"}").unwrap();
        let link = dir.path().join("settings.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(add_allow_rule(&link, "A").unwrap(), AddOutcome::Added);
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(read_allow(&real).unwrap(), ["A"]);
    }
}
