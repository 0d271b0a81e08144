//! The skills can never drift from the CLI: every `cafleet ...` command they teach is parsed
//! by the real command tree, checked for its required options, and — when it only reads —
//! run against a scratch fleet.
//!
//! # How commands are found in the skill files (`src/skills/**.md`)
//!
//! - In a fenced code block, a line whose first word is `cafleet` (after an optional `$ `
//!   prompt or a list marker `- ` / `1. `). A quoted argument may continue on the following
//!   lines; a trailing `\` continues the line. Any other code line that mentions
//!   `cafleet <group>` is an error: put commands on their own line.
//! - Outside code blocks, an inline code span that starts with `cafleet ` (a bare
//!   `cafleet` is the skill's name, not a command).
//! - Words are split as a POSIX shell would (quotes, backslashes). The command ends at an
//!   unquoted shell operator: `|`, `||`, `&&`, `;`, `&`, a redirection (`>`, `2>&1`, ...)
//!   or a `#` comment.
//!
//! # Placeholders
//!
//! | written | stands for | test value |
//! |---|---|---|
//! | `<FLEET_ID>` | the fleet | the scratch fleet |
//! | `<DIRECTOR_ID>` | the fleet's Director | its id |
//! | `<AGENT_ID>` | the acting agent itself | a member's id |
//! | `<MEMBER_ID>` | a member the Director steers | the same member |
//! | `<MONITOR_ID>` | the monitoring member | its id |
//! | `<TASK_ID>` | a message | a message to that member |
//! | `<CODING_AGENT>` | `claude`, `codex` or `opencode` | `codex` |
//! | `<PROMPT_FILE>` | an absolute prompt file path | `/tmp/prompt.md` |
//! | any other `<UPPER_CASE>` | free text | `x` |
//! | `{fleet_id}`, `{agent_id}`, `{director_agent_id}`, `{coding_agent}` | `member create`'s prompt placeholders | the ids above, `claude` |
//! | `{monitor_model}` | the overlay token for the monitor's model | `haiku` |
//!
//! Any other `_ID` placeholder, a lower-case `<...>` or another `{token}` left in a command
//! fails the test, so a new placeholder has to be added here deliberately.

use crate::support::Team;
use clap::parser::ValueSource;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// One command found in a skill file.
#[derive(Debug, Clone)]
struct Found {
    file: String,
    line: usize,
    /// The words after `cafleet`, unsubstituted.
    words: Vec<String>,
}

fn skills_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/skills")
}

/// Every skill file as (path relative to `src/skills`, text), from the embedded list.
fn skill_files() -> Vec<(String, &'static str)> {
    cafleet::skills::FILES
        .iter()
        .map(|f| (f.rel(), f.text))
        .collect()
}

#[derive(Debug, PartialEq)]
enum Split {
    Words(Vec<String>),
    /// A quote is still open: the command continues on the next line.
    Open,
}

/// Splits a command line like a POSIX shell and stops at the first operator.
fn shell_words(line: &str) -> Split {
    let mut words = Vec::new();
    let mut cur = String::new();
    // Whether a word has started (a quoted empty string is a word too).
    let mut has = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                has = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Split::Open,
                    }
                }
            }
            '"' => {
                has = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Split::Open,
                        },
                        Some(x) => cur.push(x),
                        None => return Split::Open,
                    }
                }
            }
            '\\' => {
                has = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Split::Open,
                }
            }
            c if c.is_whitespace() => {
                if has {
                    words.push(std::mem::take(&mut cur));
                }
                has = false;
            }
            c => {
                if !has {
                    // An operator or comment at the start of a word ends the command.
                    let rest: String = std::iter::once(c).chain(chars.clone()).collect();
                    let op = ["||", "|", "&&", "&", ";", ">", "1>", "2>", "#"]
                        .iter()
                        .any(|op| rest.starts_with(op));
                    if op {
                        return Split::Words(words);
                    }
                }
                has = true;
                cur.push(c);
            }
        }
    }
    if has {
        words.push(cur);
    }
    Split::Words(words)
}

const GROUPS: [&str; 11] = [
    "db",
    "fleet",
    "agent",
    "message",
    "member",
    "monitor",
    "server",
    "doctor",
    "setup",
    "completions",
    "--json",
];

/// Strips a prompt or list marker from a code line.
fn strip_marker(line: &str) -> &str {
    let t = line.trim_start();
    if let Some(r) = t.strip_prefix("$ ").or_else(|| t.strip_prefix("- ")) {
        return r.trim_start();
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && let Some(r) = t[digits..].strip_prefix(". ")
    {
        return r.trim_start();
    }
    t
}

/// Inline code spans of a prose chunk (CommonMark backtick runs).
fn code_spans(text: &str) -> Vec<(usize, String)> {
    let b: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 0;
    while i < b.len() {
        if b[i] == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if b[i] != '`' {
            i += 1;
            continue;
        }
        let run = b[i..].iter().take_while(|&&c| c == '`').count();
        let start = i + run;
        let mut j = start;
        let mut close = None;
        while j < b.len() {
            if b[j] == '`' {
                let r = b[j..].iter().take_while(|&&c| c == '`').count();
                if r == run {
                    close = Some(j);
                    break;
                }
                j += r;
            } else {
                j += 1;
            }
        }
        match close {
            Some(j) => {
                let content: String = b[start..j].iter().collect();
                out.push((line, content.replace('\n', " ").trim().to_string()));
                line += b[start..j].iter().filter(|&&c| c == '\n').count();
                i = j + run;
            }
            None => i = start,
        }
    }
    out
}

/// Finds every command in one file; problems (a command that is not alone on its line, an
/// unterminated quote) are returned as errors.
fn extract(file: &str, text: &str) -> (Vec<Found>, Vec<String>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut in_code = false;
    let mut fence = "";
    let mut prose: Vec<(usize, &str)> = Vec::new();
    let mut i = 0;
    let flush =
        |prose: &mut Vec<(usize, &str)>, found: &mut Vec<Found>, errors: &mut Vec<String>| {
            if prose.is_empty() {
                return;
            }
            let first = prose[0].0;
            let chunk: Vec<&str> = prose.iter().map(|(_, l)| *l).collect();
            for (offset, span) in code_spans(&chunk.join("\n")) {
                if let Some(rest) = span.strip_prefix("cafleet ") {
                    match shell_words(rest) {
                        Split::Words(words) => found.push(Found {
                            file: file.into(),
                            line: first + offset + 1,
                            words,
                        }),
                        Split::Open => errors.push(format!(
                            "{file}:{}: unterminated quote in `{span}`",
                            first + offset + 1
                        )),
                    }
                }
            }
            prose.clear();
        };
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim_start();
        if !in_code && (t.starts_with("```") || t.starts_with("~~~")) {
            flush(&mut prose, &mut found, &mut errors);
            in_code = true;
            fence = if t.starts_with("```") { "```" } else { "~~~" };
            i += 1;
            continue;
        }
        if in_code {
            if t.starts_with(fence)
                && t.trim_start_matches(fence.chars().next().unwrap())
                    .trim()
                    .is_empty()
            {
                in_code = false;
                i += 1;
                continue;
            }
            let body = strip_marker(line);
            if let Some(rest) = body.strip_prefix("cafleet ") {
                let start = i;
                let mut joined = rest.to_string();
                loop {
                    if let Some(stripped) = joined.strip_suffix('\\')
                        && i + 1 < lines.len()
                    {
                        joined = format!("{stripped} {}", lines[i + 1].trim());
                        i += 1;
                        continue;
                    }
                    match shell_words(&joined) {
                        Split::Words(words) => {
                            found.push(Found {
                                file: file.into(),
                                line: start + 1,
                                words,
                            });
                            break;
                        }
                        Split::Open if i + 1 < lines.len() => {
                            joined.push('\n');
                            joined.push_str(lines[i + 1]);
                            i += 1;
                        }
                        Split::Open => {
                            errors.push(format!("{file}:{}: unterminated quote", start + 1));
                            break;
                        }
                    }
                }
            } else if GROUPS[..10].iter().any(|g| {
                body.contains(&format!("cafleet {g} ")) || body.ends_with(&format!("cafleet {g}"))
            }) {
                errors.push(format!(
                    "{file}:{}: a cafleet command must start its line: {line:?}",
                    i + 1
                ));
            }
            i += 1;
            continue;
        }
        prose.push((i, line));
        i += 1;
    }
    flush(&mut prose, &mut found, &mut errors);
    if in_code {
        errors.push(format!("{file}: unterminated code block"));
    }
    (found, errors)
}

fn all_commands() -> Vec<Found> {
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in skill_files() {
        let (f, e) = extract(&file, text);
        all.extend(f);
        errors.extend(e);
    }
    assert!(
        errors.is_empty(),
        "badly written commands:\n{}",
        errors.join("\n")
    );
    all
}

/// Placeholder values.
struct Ids {
    fleet: i64,
    director: i64,
    member: i64,
    monitor: i64,
    task: i64,
}

const PARSE_IDS: Ids = Ids {
    fleet: 7,
    director: 8,
    member: 11,
    monitor: 10,
    task: 40,
};

/// Replaces the placeholders of one word; `Err` names an unknown one.
fn substitute(word: &str, ids: &Ids) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = word;
    while let Some(pos) = rest.find(['<', '{']) {
        out.push_str(&rest[..pos]);
        let open = rest.as_bytes()[pos] as char;
        let close = if open == '<' { '>' } else { '}' };
        let after = &rest[pos + 1..];
        let Some(end) = after.find(close) else {
            return Err(format!("unbalanced {open} in {word:?}"));
        };
        let name = &after[..end];
        let value = match (open, name) {
            ('<', "FLEET_ID") | ('{', "fleet_id") => ids.fleet.to_string(),
            ('<', "DIRECTOR_ID") | ('{', "director_agent_id") => ids.director.to_string(),
            ('<', "AGENT_ID" | "MEMBER_ID") | ('{', "agent_id") => ids.member.to_string(),
            ('<', "MONITOR_ID") => ids.monitor.to_string(),
            ('<', "TASK_ID") => ids.task.to_string(),
            ('<', "CODING_AGENT") => "codex".into(),
            ('<', "PROMPT_FILE") => "/tmp/prompt.md".into(),
            ('{', "coding_agent") => "claude".into(),
            ('{', "monitor_model") => "haiku".into(),
            ('<', n)
                if !n.is_empty()
                    && !n.ends_with("_ID")
                    && n.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') =>
            {
                "x".into()
            }
            _ => {
                return Err(format!(
                    "unknown placeholder {open}{name}{close} in {word:?}"
                ));
            }
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn argv(found: &Found, ids: &Ids) -> Result<Vec<String>, String> {
    let mut v = vec!["cafleet".to_string()];
    for w in &found.words {
        v.push(substitute(w, ids)?);
    }
    Ok(v)
}

/// The leaf subcommand's path and matches.
fn leaf(matches: &clap::ArgMatches) -> (Vec<String>, &clap::ArgMatches) {
    let mut path = Vec::new();
    let mut m = matches;
    while let Some((name, sub)) = m.subcommand() {
        path.push(name.to_string());
        m = sub;
    }
    (path, m)
}

fn find_cmd<'a>(root: &'a clap::Command, path: &[String]) -> &'a clap::Command {
    let mut c = root;
    for p in path {
        c = c.find_subcommand(p).expect("subcommand");
    }
    c
}

/// Parses one command with the real command tree and applies the rules the command bodies
/// check themselves (required options are `Option`s in the parser).
fn check(found: &Found, ids: &Ids) -> Result<(Vec<String>, Vec<String>), String> {
    let argv = argv(found, ids)?;
    let root = cafleet::cli::command();
    let matches = match root.clone().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            return Ok((argv, vec![]));
        }
        Err(e) => return Err(format!("does not parse: {}", e.render())),
    };
    let (path, m) = leaf(&matches);
    if path.is_empty() {
        return Err("names no command".into());
    }
    let cmd = find_cmd(&root, &path);
    let given = |id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        let help = arg
            .get_help()
            .map(std::string::ToString::to_string)
            .unwrap_or_default();
        let required = if arg.is_positional() {
            id != "prompt_argv"
        } else {
            help.contains("(required")
        };
        if required && !given(id) {
            let name = arg
                .get_long()
                .map_or_else(|| id.to_uppercase(), |l| format!("--{l}"));
            return Err(format!("misses the required {name}"));
        }
    }
    let leaf_name = path.join(" ");
    if leaf_name == "member send-input" && given("choice") == given("freetext") {
        return Err("needs exactly one of --choice and --freetext".into());
    }
    if leaf_name == "monitor config" && given("enable") && given("disable") {
        return Err("--enable and --disable together".into());
    }
    if leaf_name == "member create" && given("prompt_file") && given("prompt_argv") {
        return Err("--prompt-file and a positional prompt together".into());
    }
    Ok((argv, path))
}

#[test]
fn every_skill_command_parses_with_its_required_options() {
    let all = all_commands();
    assert!(all.len() > 100, "only {} commands found", all.len());
    let mut failures = Vec::new();
    let mut used = BTreeSet::new();
    for f in &all {
        match check(f, &PARSE_IDS) {
            Ok((_, path)) => {
                used.insert(path.join(" "));
            }
            Err(e) => failures.push(format!(
                "{}:{}: cafleet {}\n    {e}",
                f.file,
                f.line,
                f.words.join(" ")
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "invalid commands in skills:\n{}",
        failures.join("\n")
    );
    // The skills teach every command an agent needs.
    for needed in [
        "doctor",
        "setup",
        "fleet create",
        "fleet list",
        "fleet delete",
        "message send",
        "message broadcast",
        "message poll",
        "message ack",
        "message cancel",
        "message show",
        "member create",
        "member list",
        "member capture",
        "member send-input",
        "member exec",
        "member ping",
        "member nudge",
        "member delete",
        "monitor start",
        "monitor status",
        "monitor config",
    ] {
        assert!(used.contains(needed), "no skill teaches `cafleet {needed}`");
    }
}

#[test]
fn the_extractor_sees_what_it_should() {
    assert_eq!(
        shell_words(r#"message send --text "a | b" --to 3 | head"#),
        Split::Words(vec![
            "message".into(),
            "send".into(),
            "--text".into(),
            "a | b".into(),
            "--to".into(),
            "3".into()
        ])
    );
    assert_eq!(shell_words("x 'open"), Split::Open);
    assert_eq!(
        shell_words("monitor start --fleet-id 1 > log 2>&1 &"),
        Split::Words(vec![
            "monitor".into(),
            "start".into(),
            "--fleet-id".into(),
            "1".into()
        ])
    );
    let md = "Run `cafleet fleet list` now.\n\n```sh\n$ cafleet doctor\ncafleet message send --text \"two\nlines\"\necho cafleet member list --fleet-id 1\n```\n";
    let (found, errors) = extract("t.md", md);
    let words: Vec<String> = found.iter().map(|f| f.words.join(" ")).collect();
    assert_eq!(
        words,
        ["fleet list", "doctor", "message send --text two\nlines"]
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    // Placeholders.
    assert_eq!(substitute("<FLEET_ID>", &PARSE_IDS).unwrap(), "7");
    assert_eq!(substitute("ready: <WHAT>", &PARSE_IDS).unwrap(), "ready: x");
    assert!(substitute("<OTHER_ID>", &PARSE_IDS).is_err());
    assert!(substitute("<n>", &PARSE_IDS).is_err());
    assert!(substitute("{permission_flags}", &PARSE_IDS).is_err());
    // A missing required option is caught although the parser accepts it.
    let f = Found {
        file: "t".into(),
        line: 1,
        words: vec![
            "message".into(),
            "poll".into(),
            "--fleet-id".into(),
            "1".into(),
        ],
    };
    assert!(check(&f, &PARSE_IDS).unwrap_err().contains("--agent-id"));
}

/// Commands that only read, safe to run against the scratch fleet.
fn read_only(path: &str, words: &[String]) -> bool {
    match path {
        "fleet list" | "fleet show" | "agent list" | "agent show" | "message poll"
        | "message show" | "member list" | "member capture" | "monitor status" | "doctor" => true,
        "monitor config" => !words
            .iter()
            .any(|w| matches!(w.as_str(), "--interval" | "--enable" | "--disable")),
        _ => false,
    }
}

#[test]
fn read_only_skill_commands_run_against_a_scratch_fleet() {
    let team = Team::new();
    let member = team.create("worker", &[]);
    let member_id = member["agent_id"].as_i64().unwrap();
    let monitor = team.create("monitor", &["--role", "monitor"]);
    let monitor_id = monitor["agent_id"].as_i64().unwrap();
    let member_s = member_id.to_string();
    let sent = team.env.json(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--to",
        &member_s,
        "--text",
        "scratch task",
    ]);
    let ids = Ids {
        fleet: 1,
        director: 1,
        member: member_id,
        monitor: monitor_id,
        task: sent["task"]["id"]
            .as_i64()
            .or_else(|| sent["id"].as_i64())
            .unwrap_or_else(|| panic!("task id in {sent}")),
    };
    let mut ran: HashMap<String, usize> = HashMap::new();
    let mut failures = Vec::new();
    for f in all_commands() {
        let (argv, path) = check(&f, &ids).expect("parses (see the parse test)");
        let path = path.join(" ");
        if !read_only(&path, &argv) {
            continue;
        }
        let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        let out = team.env.run(&args);
        if !out.status.success() {
            failures.push(format!(
                "{}:{}: {}\n    exit {:?}: {}",
                f.file,
                f.line,
                argv.join(" "),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        *ran.entry(path).or_default() += 1;
    }
    assert!(
        failures.is_empty(),
        "read-only commands failed:\n{}",
        failures.join("\n")
    );
    for needed in [
        "message poll",
        "member list",
        "monitor status",
        "member capture",
    ] {
        assert!(ran.contains_key(needed), "never ran {needed}: {ran:?}");
    }
}

/// The front matter every coding agent needs: `name` = directory, a one-line
/// `description` of at most 1024 characters (opencode's limits), nothing unparsable.
#[test]
fn each_skill_has_valid_front_matter() {
    for skill in cafleet::skills::SKILLS {
        let text = cafleet::skills::FILES
            .iter()
            .find(|f| f.skill == skill && f.path == "SKILL.md")
            .unwrap_or_else(|| panic!("{skill} has no SKILL.md"))
            .text;
        let rest = text.strip_prefix("---\n").expect("front matter first");
        let (front, _) = rest.split_once("\n---\n").expect("front matter closed");
        let mut fields = HashMap::new();
        for line in front.lines() {
            let (k, v) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("{skill}: {line:?}"));
            fields.insert(k.to_string(), v.to_string());
        }
        assert_eq!(fields.get("name").map(String::as_str), Some(skill));
        let ok_name = skill.split('-').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
        assert!(ok_name, "{skill}");
        let d = fields.get("description").expect("description");
        assert!(
            !d.is_empty() && d.chars().count() <= 1024,
            "{skill}: {} chars",
            d.len()
        );
        // YAML plain scalars may not contain ": " or start with a quote or backtick-free
        // indicator; keep descriptions safe for every parser.
        assert!(
            !d.contains(": ")
                && !d.contains(" #")
                && !d.starts_with(['"', '\'', '[', '{', '>', '|', '*', '&', '!', '%', '@', '`']),
            "{skill}: {d}"
        );
    }
}

/// Every `{token}` the skills use is defined by every backend overlay (and the template).
#[test]
fn overlays_define_every_token() {
    let prompt = ["fleet_id", "agent_id", "director_agent_id", "coding_agent"];
    let mut used = BTreeSet::new();
    for (file, text) in skill_files() {
        let mut rest = text;
        while let Some(p) = rest.find('{') {
            let after = &rest[p + 1..];
            let end = after.find('}').unwrap_or(0);
            let name = &after[..end];
            if end > 0 && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                // "`{token}`" is how the texts name the placeholders in general.
                if !prompt.contains(&name) && name != "token" {
                    used.insert((name.to_string(), file.clone()));
                }
            }
            rest = after;
        }
    }
    let tokens: BTreeSet<String> = used.iter().map(|(t, _)| t.clone()).collect();
    assert!(
        tokens.contains("bg_run") && tokens.contains("decision_surface"),
        "{tokens:?}"
    );
    for overlay in ["claude", "codex", "opencode", "_template"] {
        let rel = format!("cafleet/reference/coding-agent/{overlay}.md");
        let text = skill_files()
            .into_iter()
            .find(|(f, _)| *f == rel)
            .unwrap_or_else(|| panic!("{rel} missing"))
            .1;
        for t in &tokens {
            assert!(
                text.contains(&format!("| `{{{t}}}` |")),
                "{rel} does not define {{{t}}} (used in {:?})",
                used.iter()
                    .filter(|(u, _)| u == t)
                    .map(|(_, f)| f)
                    .collect::<Vec<_>>()
            );
        }
    }
}

/// Relative file references (`roles/member.md`, `<SKILL_DIR>/create/roles/drafter.md`)
/// point to files that exist.
#[test]
fn file_references_resolve() {
    let root = skills_root();
    let mut missing = Vec::new();
    for (file, text) in skill_files() {
        let here = root.join(&file);
        let dir = here.parent().unwrap();
        let skill_root = root.join(file.split('/').next().unwrap());
        for (_, span) in code_spans(text) {
            let span = span.trim();
            if !span.ends_with(".md") || !span.contains('/') || span.contains(' ') {
                continue;
            }
            let (bases, rel): (Vec<PathBuf>, &str) =
                if let Some(r) = span.strip_prefix("<SKILL_DIR>/") {
                    (vec![skill_root.clone()], r)
                } else if let Some(r) = span.strip_prefix("<SKILLS_ROOT>/") {
                    (vec![root.clone()], r)
                } else {
                    // Relative to the file, its skill, or (for cross-references such as
                    // "the `cafleet` skill's `reference/recovery.md`") the core skill.
                    (
                        vec![
                            dir.to_path_buf(),
                            skill_root.clone(),
                            root.clone(),
                            root.join("cafleet"),
                        ],
                        span,
                    )
                };
            if rel.contains(['<', '{', '*'])
                || rel.starts_with('~')
                || rel.starts_with('/')
                || rel.starts_with("...")
            {
                continue;
            }
            if rel.starts_with("design-docs/") || rel.starts_with("researches/") {
                continue;
            }
            if !bases.iter().any(|b| b.join(rel).is_file()) {
                missing.push(format!("{file}: `{span}`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "dangling references:\n{}",
        missing.join("\n")
    );
}

/// `roles/monitor.md` tells the monitoring member that `member capture` refuses to run from
/// its pane and to judge from `monitor status` and `member list --activity` instead. If the
/// Director-only rule changes, this test fails: update the role file with it.
#[test]
fn the_monitoring_member_judges_from_records_not_panes() {
    let team = Team::new();
    let member = team.create("worker", &[]);
    let monitor = team.create("monitor", &["--role", "monitor"]);
    let monitor_pane = monitor["placement"]["tmux_pane_id"]
        .as_str()
        .unwrap()
        .to_string();
    let member_id = member["agent_id"].as_i64().unwrap().to_string();
    let from_monitor = |args: &[&str]| {
        team.env
            .cmd()
            .env("TMUX_PANE", &monitor_pane)
            .args(args)
            .output()
            .unwrap()
    };
    let out = from_monitor(&[
        "member",
        "capture",
        "--fleet-id",
        "1",
        "--member-id",
        &member_id,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is Director-only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let role = cafleet::skills::FILES
        .iter()
        .find(|f| f.rel() == "cafleet/roles/monitor.md")
        .unwrap()
        .text;
    assert!(role.contains("`member capture` is Director-only"));
    for args in [
        &["monitor", "status", "--fleet-id", "1"][..],
        &["member", "list", "--fleet-id", "1", "--activity"][..],
    ] {
        let out = from_monitor(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
