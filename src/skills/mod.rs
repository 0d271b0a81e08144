//! The skills `cafleet setup` installs, and the installer.
//!
//! The skill texts are the Markdown files next to this module (`<skill>/SKILL.md` plus role
//! and reference files). They are compiled into the binary with `include_str!`, so `setup`
//! works offline and always installs the texts that match this binary's commands. The list
//! below is checked against the directory by a unit test, so a file cannot be forgotten.
//!
//! Installing is idempotent and keeps local edits: a file whose content already matches
//! is not touched; a file that differs from what the previous `setup` wrote (recorded in
//! `<skills dir>/.cafleet-manifest.json`) is moved aside as `<file>.bak-<timestamp>` before
//! the new text replaces it. Every file is first written to a temporary file beside its
//! destination and renamed into place, and nothing is renamed before every file of the
//! target has been staged.

use crate::model::CodingAgent;
use crate::{Error, Result};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// One embedded skill file.
#[derive(Debug, Clone, Copy)]
pub struct SkillFile {
    /// The skill (top-level directory), e.g. `cafleet`.
    pub skill: &'static str,
    /// The path inside the skill directory, e.g. `roles/member.md`.
    pub path: &'static str,
    /// The file's text.
    pub text: &'static str,
}

impl SkillFile {
    /// `<skill>/<path>`, the path below a skills directory.
    pub fn rel(&self) -> String {
        format!("{}/{}", self.skill, self.path)
    }
}

macro_rules! skill_files {
    ($($skill:literal / $path:literal),* $(,)?) => {
        &[$(SkillFile {
            skill: $skill,
            path: $path,
            text: include_str!(concat!($skill, "/", $path)),
        }),*]
    };
}

/// The skills, in install order.
pub const SKILLS: [&str; 3] = ["cafleet", "cafleet-design-doc", "cafleet-research"];

/// Every embedded file.
pub static FILES: &[SkillFile] = skill_files![
    "cafleet" / "SKILL.md",
    "cafleet" / "roles/member.md",
    "cafleet" / "roles/director.md",
    "cafleet" / "roles/monitor.md",
    "cafleet" / "reference/director.md",
    "cafleet" / "reference/supervision.md",
    "cafleet" / "reference/recovery.md",
    "cafleet" / "reference/messaging.md",
    "cafleet" / "reference/base-dir.md",
    "cafleet" / "reference/cli.md",
    "cafleet" / "reference/coding-agent/claude.md",
    "cafleet" / "reference/coding-agent/codex.md",
    "cafleet" / "reference/coding-agent/opencode.md",
    "cafleet" / "reference/coding-agent/_template.md",
    "cafleet-design-doc" / "SKILL.md",
    "cafleet-design-doc" / "reference/template.md",
    "cafleet-design-doc" / "reference/guidelines.md",
    "cafleet-design-doc" / "reference/coordination.md",
    "cafleet-design-doc" / "create/create.md",
    "cafleet-design-doc" / "create/roles/drafter.md",
    "cafleet-design-doc" / "create/roles/reviewer.md",
    "cafleet-design-doc" / "interview/interview.md",
    "cafleet-design-doc" / "interview/roles/analyzer.md",
    "cafleet-design-doc" / "execute/execute.md",
    "cafleet-design-doc" / "execute/roles/programmer.md",
    "cafleet-design-doc" / "execute/roles/tester.md",
    "cafleet-design-doc" / "execute/roles/verifier.md",
    "cafleet-research" / "SKILL.md",
    "cafleet-research" / "report/report.md",
    "cafleet-research" / "report/template.md",
    "cafleet-research" / "report/roles/manager.md",
    "cafleet-research" / "report/roles/scout.md",
    "cafleet-research" / "report/roles/researcher.md",
    "cafleet-research" / "presentation/presentation.md",
    "cafleet-research" / "presentation/roles/presentation.md",
    "cafleet-research" / "presentation/roles/transcript.md",
    "cafleet-research" / "presentation/roles/visual-reviewer.md",
    "cafleet-research" / "reference/visualization.md",
    "cafleet-research" / "reference/slidev.md",
];

/// The record of what `setup` wrote into a skills directory (content hashes by path).
pub const MANIFEST: &str = ".cafleet-manifest.json";

/// The coding agents, in detection order.
pub const BACKENDS: [CodingAgent; 3] = [
    CodingAgent::Claude,
    CodingAgent::Codex,
    CodingAgent::Opencode,
];

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The variable that relocates a backend's configuration directory, and its default below
/// `$HOME`.
fn home_override(backend: CodingAgent) -> (&'static str, &'static str) {
    match backend {
        CodingAgent::Claude => ("CLAUDE_CONFIG_DIR", ".claude"),
        CodingAgent::Codex => ("CODEX_HOME", ".codex"),
        CodingAgent::Opencode => ("OPENCODE_CONFIG_DIR", ".config/opencode"),
    }
}

/// A backend's configuration directory: `${CLAUDE_CONFIG_DIR:-~/.claude}`,
/// `${CODEX_HOME:-~/.codex}`, `${OPENCODE_CONFIG_DIR:-~/.config/opencode}`.
pub fn config_home(backend: CodingAgent) -> Option<PathBuf> {
    let (var, default) = home_override(backend);
    env_path(var).or_else(|| env_path("HOME").map(|h| h.join(default)))
}

/// Where a backend reads global skills: `<config home>/skills`.
pub fn skills_dir(backend: CodingAgent) -> Option<PathBuf> {
    config_home(backend).map(|h| h.join("skills"))
}

/// How an install target was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Named with `--coding-agent`.
    Named,
    /// Its configuration directory exists.
    Home,
    /// Its binary is on `PATH`.
    Path,
}

impl Found {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Found::Named => "option",
            Found::Home => "home",
            Found::Path => "path",
        }
    }
}

/// The coding agents installed here: configuration directory present, or binary on `PATH`.
pub fn detect() -> Vec<(CodingAgent, Found)> {
    BACKENDS
        .iter()
        .filter_map(|&b| {
            if config_home(b).is_some_and(|h| h.is_dir()) {
                Some((b, Found::Home))
            } else if crate::tmux::find_on_path(b.as_str()).is_some() {
                Some((b, Found::Path))
            } else {
                None
            }
        })
        .collect()
}

/// `path` with `$HOME` shown as `~`.
pub fn display_path(path: &Path) -> String {
    if let Some(home) = env_path("HOME")
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return if rest.as_os_str().is_empty() {
            "~".into()
        } else {
            format!("~/{}", rest.display())
        };
    }
    path.display().to_string()
}

/// A stable 64-bit FNV-1a content hash (change detection, not security).
pub fn content_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

/// What installing one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// It did not exist.
    Created,
    /// It had other content; `backup` holds the previous file when it was not ours.
    Updated {
        /// Where the previous (locally edited) content was kept.
        backup: Option<PathBuf>,
    },
    /// Its content already matched.
    Unchanged,
}

/// What installing the skills into one directory did.
#[derive(Debug, Clone, Default)]
pub struct InstallReport {
    /// Files written that did not exist (paths below the skills directory).
    pub created: Vec<String>,
    /// Files rewritten with new content.
    pub updated: Vec<String>,
    /// Files whose content already matched.
    pub unchanged: usize,
    /// Files of an earlier release, unedited, that this release no longer has.
    pub removed: Vec<String>,
    /// Backups of locally edited files that were replaced.
    pub backups: Vec<PathBuf>,
}

impl InstallReport {
    /// Files written (created or updated).
    pub fn written(&self) -> usize {
        self.created.len() + self.updated.len()
    }
}

/// An install that failed. `partial` is false when nothing in the target was changed.
#[derive(Debug)]
pub struct InstallError {
    /// What failed, with the path.
    pub message: String,
    /// Whether some files were already replaced when it failed.
    pub partial: bool,
}

impl std::fmt::Display for InstallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> String {
    format!("cannot {what} {}: {e}", display_path(path))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Create,
    Update,
    Replace,
    Unchanged,
}

/// Decides what to do with `dest`; `ours` is the hash of what the last install wrote there.
fn plan(dest: &Path, content: &[u8], ours: Option<&str>) -> std::result::Result<Plan, String> {
    match std::fs::symlink_metadata(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Plan::Create),
        Err(e) => return Err(io_error("inspect", dest, e)),
        Ok(_) => {}
    }
    if std::fs::metadata(dest).is_ok_and(|m| m.is_dir()) {
        return Err(format!(
            "{} is a directory where a file belongs; move it away",
            display_path(dest)
        ));
    }
    let current = std::fs::read(dest).map_err(|e| io_error("read", dest, e))?;
    Ok(if current == content {
        Plan::Unchanged
    } else if ours == Some(content_hash(&current).as_str()) {
        Plan::Update
    } else {
        Plan::Replace
    })
}

fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.cafleet-tmp-{}", std::process::id()))
}

/// Regular files under `<dir>/<skill>` (paths relative to `dir`, `/`-separated) that this
/// release does not ship and that are not backups or temporary files of an install.
fn foreign_files(dir: &Path, skill: &str) -> Vec<String> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = format!("{rel}/{name}");
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(&e.path(), &rel, out),
                Ok(t) if t.is_file() => {
                    let ours = FILES.iter().any(|f| f.rel() == rel);
                    let leftover = name.contains(".bak-") || name.contains(".cafleet-tmp-");
                    if !ours && !leftover {
                        out.push(rel);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir.join(skill), skill, &mut out);
    out.sort();
    out
}

/// `<file>.bak-<stamp>`, or `<file>.bak-<stamp>-2`, `-3`, ... when taken.
fn backup_path(dest: &Path, stamp: &str) -> PathBuf {
    let base = dest.as_os_str().to_string_lossy().into_owned();
    let mut candidate = PathBuf::from(format!("{base}.bak-{stamp}"));
    let mut n = 2;
    while std::fs::symlink_metadata(&candidate).is_ok() {
        candidate = PathBuf::from(format!("{base}.bak-{stamp}-{n}"));
        n += 1;
    }
    candidate
}

/// Writes `content` to a temporary file beside `dest` (creating the directory).
fn stage(dest: &Path, content: &[u8]) -> std::result::Result<PathBuf, String> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_error("create", parent, e))?;
    }
    let tmp = temp_path(dest);
    std::fs::write(&tmp, content).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error("write", &tmp, e)
    })?;
    Ok(tmp)
}

/// Moves a staged file into place, keeping the previous file as a backup when asked.
fn commit(
    dest: &Path,
    tmp: &Path,
    backup: bool,
    stamp: &str,
) -> std::result::Result<Option<PathBuf>, String> {
    let kept = if backup {
        let b = backup_path(dest, stamp);
        std::fs::rename(dest, &b).map_err(|e| io_error("back up", dest, e))?;
        Some(b)
    } else {
        None
    };
    std::fs::rename(tmp, dest).map_err(|e| io_error("replace", dest, e))?;
    Ok(kept)
}

/// Installs one file (e.g. the opencode preset). A file with other content is kept as a
/// backup before it is replaced.
pub fn install_file(dest: &Path, content: &[u8], stamp: &str) -> Result<FileOutcome> {
    let p = plan(dest, content, None).map_err(Error::Failed)?;
    if p == Plan::Unchanged {
        return Ok(FileOutcome::Unchanged);
    }
    let tmp = stage(dest, content).map_err(Error::Failed)?;
    match commit(dest, &tmp, p == Plan::Replace, stamp) {
        Ok(backup) if p == Plan::Create => {
            debug_assert!(backup.is_none());
            Ok(FileOutcome::Created)
        }
        Ok(backup) => Ok(FileOutcome::Updated { backup }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(Error::Failed(e))
        }
    }
}

/// The hashes recorded by the last install into `dir`, by path.
fn read_manifest(dir: &Path) -> Map<String, Value> {
    std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v.get("files").and_then(Value::as_object).cloned())
        .unwrap_or_default()
}

/// Installs every embedded skill file into `dir` (a backend's skills directory).
pub fn install(dir: &Path, stamp: &str) -> std::result::Result<InstallReport, InstallError> {
    let fail = |message: String, partial: bool| InstallError { message, partial };
    let previous = read_manifest(dir);
    let mut report = InstallReport::default();

    // 1. Plan every file before touching anything.
    let mut plans = Vec::with_capacity(FILES.len());
    for f in FILES {
        let rel = f.rel();
        let dest = dir.join(&rel);
        let ours = previous.get(&rel).and_then(Value::as_str);
        let p = plan(&dest, f.text.as_bytes(), ours).map_err(|m| fail(m, false))?;
        plans.push((rel, dest, f.text.as_bytes(), p));
    }

    // 2. Stage every changed file; on failure remove what was staged.
    let mut staged: Vec<(String, PathBuf, PathBuf, Plan)> = Vec::new();
    for (rel, dest, content, p) in plans {
        if p == Plan::Unchanged {
            report.unchanged += 1;
            continue;
        }
        match stage(&dest, content) {
            Ok(tmp) => staged.push((rel, dest, tmp, p)),
            Err(m) => {
                for (_, _, tmp, _) in &staged {
                    let _ = std::fs::remove_file(tmp);
                }
                return Err(fail(m, false));
            }
        }
    }

    // 3. Move them into place.
    let mut done = 0;
    for (rel, dest, tmp, p) in &staged {
        match commit(dest, tmp, *p == Plan::Replace, stamp) {
            Ok(backup) => {
                if *p == Plan::Create {
                    report.created.push(rel.clone());
                } else {
                    report.updated.push(rel.clone());
                }
                report.backups.extend(backup);
                done += 1;
            }
            Err(m) => {
                for (_, _, tmp, _) in &staged[done..] {
                    let _ = std::fs::remove_file(tmp);
                }
                return Err(fail(m, done > 0));
            }
        }
    }

    // 4. Remove unedited files of an earlier release that this one no longer ships.
    for (rel, hash) in &previous {
        if FILES.iter().any(|f| f.rel() == *rel)
            || rel.contains("..")
            || Path::new(rel).is_absolute()
        {
            continue;
        }
        let dest = dir.join(rel);
        let Ok(current) = std::fs::read(&dest) else {
            continue;
        };
        if hash.as_str() == Some(content_hash(&current).as_str()) {
            std::fs::remove_file(&dest).map_err(|e| fail(io_error("remove", &dest, e), true))?;
            report.removed.push(rel.clone());
        }
    }

    // 4b. Without a manifest, the skill directories were written by something else (CAFleet
    //     0.14's setup, a copy by hand): files this release does not ship would sit beside
    //     ours and read as current instructions, so they are moved aside as backups. With a
    //     manifest, an unknown file was added after our install, by the user: kept.
    if previous.is_empty() {
        for skill in SKILLS {
            for rel in foreign_files(dir, skill) {
                let path = dir.join(&rel);
                let backup = backup_path(&path, stamp);
                std::fs::rename(&path, &backup)
                    .map_err(|e| fail(io_error("move aside", &path, e), true))?;
                report.backups.push(backup);
            }
        }
    }

    // 5. Record what is installed now (only rewritten when it changed).
    let files: Map<String, Value> = FILES
        .iter()
        .map(|f| (f.rel(), Value::from(content_hash(f.text.as_bytes()))))
        .collect();
    let manifest = serde_json::to_string_pretty(&json!({
        "written_by": format!("cafleet {}", env!("CARGO_PKG_VERSION")),
        "files": files,
    }))
    .unwrap_or_default()
        + "\n";
    let path = dir.join(MANIFEST);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(manifest.as_str()) {
        let tmp = stage(&path, manifest.as_bytes()).map_err(|m| fail(m, done > 0))?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(io_error("write", &path, e), done > 0)
        })?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file below `src/skills/<skill>/` is embedded, and nothing else.
    #[test]
    fn embedded_list_matches_the_directory() {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() {
                    walk(&p, base, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/skills");
        let mut on_disk = Vec::new();
        for skill in SKILLS {
            walk(&root.join(skill), &root, &mut on_disk);
        }
        on_disk.sort();
        let mut listed: Vec<String> = FILES.iter().map(SkillFile::rel).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
        let dirs: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for d in &dirs {
            assert!(SKILLS.contains(&d.as_str()), "unlisted skill directory {d}");
        }
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(content_hash(b""), "fnv1a64:cbf29ce484222325");
        assert_eq!(content_hash(b"a"), "fnv1a64:af63dc4c8601ec8c");
    }

    #[test]
    fn install_creates_then_leaves_alone_then_backs_up_edits() {
        let dir = tempfile::tempdir().unwrap();
        let first = install(dir.path(), "S1").unwrap();
        assert_eq!(first.created.len(), FILES.len());
        let again = install(dir.path(), "S2").unwrap();
        assert_eq!((again.written(), again.unchanged), (0, FILES.len()));
        let skill = dir.path().join("cafleet/SKILL.md");
        std::fs::write(&skill, "my notes").unwrap();
        let third = install(dir.path(), "S3").unwrap();
        assert_eq!(third.updated, vec!["cafleet/SKILL.md".to_string()]);
        assert_eq!(
            third.backups,
            vec![dir.path().join("cafleet/SKILL.md.bak-S3")]
        );
        assert_eq!(
            std::fs::read_to_string(&third.backups[0]).unwrap(),
            "my notes"
        );
        assert_eq!(std::fs::read_to_string(&skill).unwrap(), FILES[0].text);
    }

    #[test]
    fn files_of_an_earlier_release_are_updated_without_backup_and_stale_ones_removed() {
        let dir = tempfile::tempdir().unwrap();
        let old_skill = "old text";
        let stale = "gone in this release";
        std::fs::create_dir_all(dir.path().join("cafleet/reference")).unwrap();
        std::fs::write(dir.path().join("cafleet/SKILL.md"), old_skill).unwrap();
        std::fs::write(dir.path().join("cafleet/reference/old.md"), stale).unwrap();
        std::fs::write(dir.path().join("cafleet/reference/mine.md"), "user file").unwrap();
        let manifest = json!({"files": {
            "cafleet/SKILL.md": content_hash(old_skill.as_bytes()),
            "cafleet/reference/old.md": content_hash(stale.as_bytes()),
        }});
        std::fs::write(dir.path().join(MANIFEST), manifest.to_string()).unwrap();
        let r = install(dir.path(), "S").unwrap();
        assert!(r.updated.contains(&"cafleet/SKILL.md".to_string()));
        assert!(r.backups.is_empty());
        assert_eq!(r.removed, vec!["cafleet/reference/old.md".to_string()]);
        assert!(!dir.path().join("cafleet/reference/old.md").exists());
        assert!(dir.path().join("cafleet/reference/mine.md").exists());
    }

    #[test]
    fn without_a_manifest_files_this_release_does_not_ship_are_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cafleet/roles")).unwrap();
        std::fs::write(dir.path().join("cafleet/roles/old.md"), "0.14 role").unwrap();
        let r = install(dir.path(), "S").unwrap();
        let moved = dir.path().join("cafleet/roles/old.md.bak-S");
        assert_eq!(r.backups, vec![moved.clone()]);
        assert!(!dir.path().join("cafleet/roles/old.md").exists());
        assert_eq!(std::fs::read_to_string(moved).unwrap(), "0.14 role");
        // Now there is a manifest: a file the user adds later is theirs and stays.
        std::fs::write(dir.path().join("cafleet/roles/notes.md"), "mine").unwrap();
        let again = install(dir.path(), "T").unwrap();
        assert!(again.backups.is_empty());
        assert!(dir.path().join("cafleet/roles/notes.md").exists());
    }

    #[test]
    fn a_directory_in_the_way_fails_before_anything_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cafleet-research/SKILL.md")).unwrap();
        let e = install(dir.path(), "S").unwrap_err();
        assert!(!e.partial);
        assert!(e.message.contains("is a directory"), "{e}");
        assert!(!dir.path().join("cafleet/SKILL.md").exists());
        assert!(!dir.path().join(MANIFEST).exists());
    }

    #[test]
    fn install_file_backs_up_other_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("agents/cafleet.md");
        assert_eq!(install_file(&p, b"v1", "S").unwrap(), FileOutcome::Created);
        assert_eq!(
            install_file(&p, b"v1", "S").unwrap(),
            FileOutcome::Unchanged
        );
        let out = install_file(&p, b"v2", "S").unwrap();
        let backup = dir.path().join("agents/cafleet.md.bak-S");
        assert_eq!(
            out,
            FileOutcome::Updated {
                backup: Some(backup.clone())
            }
        );
        assert_eq!(std::fs::read(&backup).unwrap(), b"v1");
        // A second backup in the same second gets a suffix.
        install_file(&p, b"v3", "S").unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("agents/cafleet.md.bak-S-2")).unwrap(),
            b"v2"
        );
    }
}
