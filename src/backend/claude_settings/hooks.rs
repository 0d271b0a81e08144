//! CAFleet's activity hooks in a Claude Code settings file: added beside the user's own
//! hooks, and removed again exactly (docs/delivery.md, "Activity").

use super::*;

/// What [`add_hooks`] or [`remove_hooks`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HooksOutcome {
    /// The file did not exist and was created.
    pub created: bool,
    /// The events whose CAFleet entry was added, replaced or removed (file order).
    pub changed: Vec<String>,
    /// The events whose CAFleet entry was already as wanted (adding) .
    pub unchanged: Vec<String>,
}

/// Whether a hook command is CAFleet's: `<…/cafleet> hook claude` (the program's file name
/// is `cafleet`, possibly quoted).
pub fn is_cafleet_hook(command: &str) -> bool {
    let Some(program) = command.trim().strip_suffix(" hook claude") else {
        return false;
    };
    let program = program.trim().trim_matches('\'').trim_matches('"');
    Path::new(program)
        .file_name()
        .is_some_and(|n| n == "cafleet")
}

/// The settings file with its `hooks` checked to be the shape Claude Code reads (an object
/// of lists of objects whose `hooks` are lists); `None` when it does not exist.
fn load_for_hooks(path: &Path) -> Result<Option<Map<String, Value>>, SettingsError> {
    let Some(map) = load(path)? else {
        return Ok(None);
    };
    let invalid = |reason: &str| SettingsError::Invalid {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    match map.get("hooks") {
        None => {}
        Some(Value::Object(events)) => {
            for groups in events.values() {
                let Some(groups) = groups.as_array() else {
                    return Err(invalid("an event under \"hooks\" is not a list"));
                };
                for g in groups {
                    match g.get("hooks") {
                        Some(Value::Array(_)) => {}
                        _ => {
                            return Err(invalid(
                                "a matcher group under \"hooks\" has no \"hooks\" list",
                            ));
                        }
                    }
                }
            }
        }
        Some(_) => return Err(invalid("\"hooks\" is not an object")),
    }
    Ok(Some(map))
}

/// Resolves a symlinked settings file to the file it points at (written through).
fn write_target(path: &Path) -> Result<PathBuf, SettingsError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|error| SettingsError::Unreadable {
                path: path.to_path_buf(),
                error,
            })
        }
        _ => Ok(path.to_path_buf()),
    }
}

fn save(path: &Path, target: &Path, map: Map<String, Value>) -> Result<(), SettingsError> {
    let mut text =
        serde_json::to_string_pretty(&Value::Object(map)).expect("a JSON value always serializes");
    text.push('\n');
    write_atomically(target, text.as_bytes()).map_err(|error| SettingsError::Unwritable {
        path: path.to_path_buf(),
        error,
    })
}

/// Merges CAFleet's hooks (`ours`: `{"hooks": {event: [group, …]}}`, see
/// `backend::claude_hook_settings`) into the settings file at `path`: for each event, a
/// CAFleet entry with another command (an older binary's path) is replaced and a missing one
/// appended after the user's own groups. Every other key, event, group and hook is kept as
/// it was, in order. Nothing is written when everything is already there; a file that is not
/// valid JSON (or whose `hooks` Claude Code could not read) is never touched.
pub fn add_hooks(path: &Path, ours: &Value) -> Result<HooksOutcome, SettingsError> {
    let target = write_target(path)?;
    let existing = load_for_hooks(&target)?;
    let created = existing.is_none();
    let mut map = existing.unwrap_or_default();
    let mut out = HooksOutcome {
        created,
        changed: Vec::new(),
        unchanged: Vec::new(),
    };
    let wanted = ours
        .get("hooks")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let events = map
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .expect("load_for_hooks checked that hooks is an object");
    for (event, groups) in wanted {
        let mine: Vec<&str> = groups
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["hooks"].as_array().into_iter().flatten())
            .filter_map(|h| h["command"].as_str())
            .collect();
        let list = events
            .entry(event.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .expect("checked to be a list");
        let present: Vec<String> = list
            .iter()
            .flat_map(|g| g["hooks"].as_array().into_iter().flatten())
            .filter_map(|h| h["command"].as_str())
            .filter(|c| is_cafleet_hook(c))
            .map(str::to_string)
            .collect();
        if present == mine {
            out.unchanged.push(event);
            continue;
        }
        strip_cafleet_hooks(list);
        list.extend(groups.as_array().cloned().unwrap_or_default());
        out.changed.push(event);
    }
    if out.changed.is_empty() && !created {
        return Ok(out);
    }
    save(path, &target, map)?;
    Ok(out)
}

/// Removes CAFleet's hook commands from a list of matcher groups; a group left without hooks
/// goes too (only one that held CAFleet's). True when something was removed.
fn strip_cafleet_hooks(list: &mut Vec<Value>) -> bool {
    let before = list.len();
    let mut removed = false;
    list.retain_mut(|g| {
        let Some(hooks) = g.get_mut("hooks").and_then(Value::as_array_mut) else {
            return true;
        };
        let n = hooks.len();
        hooks.retain(|h| !h["command"].as_str().is_some_and(is_cafleet_hook));
        if hooks.len() == n {
            return true;
        }
        removed = true;
        !hooks.is_empty()
    });
    removed || list.len() != before
}

/// Takes CAFleet's hooks (see [`is_cafleet_hook`]) out of the settings file at `path`,
/// leaving every other hook as it was; an event (and `hooks` itself) left empty by this is
/// removed. Nothing is written when there was nothing of CAFleet's.
pub fn remove_hooks(path: &Path) -> Result<HooksOutcome, SettingsError> {
    let target = write_target(path)?;
    let mut out = HooksOutcome {
        created: false,
        changed: Vec::new(),
        unchanged: Vec::new(),
    };
    let Some(mut map) = load_for_hooks(&target)? else {
        return Ok(out);
    };
    let Some(events) = map.get_mut("hooks").and_then(Value::as_object_mut) else {
        return Ok(out);
    };
    let mut emptied = Vec::new();
    for (event, groups) in events.iter_mut() {
        let list = groups.as_array_mut().expect("checked to be a list");
        if strip_cafleet_hooks(list) {
            out.changed.push(event.clone());
            if list.is_empty() {
                emptied.push(event.clone());
            }
        }
    }
    if out.changed.is_empty() {
        return Ok(out);
    }
    for event in emptied {
        events.shift_remove(&event);
    }
    if events.is_empty() {
        map.shift_remove("hooks");
    }
    save(path, &target, map)?;
    Ok(out)
}
