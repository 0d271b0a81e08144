//! Hostile input, end to end: every control and escape class, invalid UTF-8, huge texts,
//! SQL- and shell-looking text, leading dashes and odd names, through the real CLI (with a
//! real tmux recorder pane) and the real HTTP API. Each input either fails with a clear
//! error and writes nothing, or is stored byte-exact and typed into panes only in its
//! sanitised, visible form. Also replays the fuzz seed corpora (`fuzz/corpus/`) and a few
//! thousand seeded pseudo-random inputs through the fuzz targets' property checks, so CI
//! exercises them without cargo-fuzz.

use crate::support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cafleet::broker::Broker;
use cafleet::db::Db;
use cafleet::tmux::{Tmux, truncate};
use cafleet::web::{AppState, Security, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

#[path = "../../fuzz/src/props.rs"]
mod props;

// ---------------------------------------------------------------------------------------
// Fuzz properties in CI: the committed seeds plus seeded pseudo-random inputs

/// xorshift64*: a small, seeded, reproducible generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Fragments the generator strings together: escapes, controls, invisible and odd code
/// points (as UTF-8), field separators and URL / JSON syntax.
const FRAGMENTS: &[&[u8]] = &[
    b"\x1b[",
    b"\x1b]",
    b"\x1bP",
    b"\x1b\\",
    b"\x07",
    b"\x00",
    b"\r\n",
    b"\r",
    b"\n",
    b"\t",
    b"\x7f",
    b"\xc2\x9b",
    b"\xc2\x85",
    b"\xe2\x80\xae",
    b"\xe2\x80\x8b",
    b"\xe2\x81\xa6",
    b"\xef\xbb\xbf",
    b"\xf3\xa0\x80\x81",
    b"\xe3\x85\xa4",
    b"\xef\xb8\x8f",
    b"\xe2\x80\xa8",
    b"\x1b[200~",
    b"\x1b[201~",
    b"\xf0\x9f\x98\x80",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xff",
    b"%",
    b"%2B",
    b"%zz",
    b"%c3%a9",
    b"+",
    b"token=",
    b"s3cr+t/tok=en",
    b"&",
    b"?",
    b"/",
    b"..",
    b"http://",
    b"127.0.0.1:8000",
    b"localhost:8000",
    b"{\"from_agent_id\":2,\"to_agent_id\":3,\"text\":\"",
    b"\"}",
    b"\\u0000",
    b"\\ud800",
    b"<script>",
    b"$(",
    b"`",
    b"-",
    b"'; DROP TABLE tasks; --",
];

/// One pseudo-random input of up to `max` fragments, random bytes mixed in.
fn random_input(rng: &mut Rng, max: usize) -> Vec<u8> {
    let n = rng.below(max + 1);
    let mut out = Vec::new();
    for _ in 0..n {
        match rng.below(4) {
            0 => out.push(rng.next() as u8),
            1 => out.extend_from_slice(b"abc xyz"),
            _ => out.extend_from_slice(FRAGMENTS[rng.below(FRAGMENTS.len())]),
        }
    }
    out
}

/// The committed seeds of one fuzz target.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "too few seeds in {}", dir.display());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn keystroke_and_query_properties_hold_on_seeds_and_random_inputs() {
    for s in seeds("keystrokes") {
        props::check_keystrokes(&s);
    }
    for s in seeds("query_decode") {
        props::check_query_decode(&s);
    }
    let mut rng = Rng(0x5EED_CAF1_EE70_0001);
    for _ in 0..4000 {
        let input = random_input(&mut rng, 24);
        props::check_keystrokes(&input);
        props::check_query_decode(&input);
    }
    // Every code point once, each alone and after a CR (the CR LF pairing).
    let all: String = (0..=0x10FFFFu32).filter_map(char::from_u32).collect();
    props::check_sanitize(&all);
    for c in (0..0x3000u32)
        .chain(0xE0000..0xE1000)
        .filter_map(char::from_u32)
    {
        props::check_preview(1, 2, &format!("\r{c}x"), 3);
    }
}

/// Found by fuzzing: `percent_decode` panicked (a `str` slice off a char boundary) on `%a`
/// followed by a multi-byte character, reachable with `?token=%aé` on any request; and it
/// decoded `%+1` as the byte 0x01.
#[test]
fn query_decode_of_non_ascii_and_signed_escapes() {
    props::check_query_decode("%aé".as_bytes());
    props::check_query_decode(b"%+1");
}

#[tokio::test]
async fn web_request_properties_hold_on_seeds_and_random_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let fx = props::web_fixture(dir.path()).await;
    for s in seeds("web_request") {
        props::check_web(&fx, &s).await;
    }
    let mut rng = Rng(0x5EED_CAF1_EE70_0002);
    for _ in 0..600 {
        // A few structured fields, each random.
        let mut input: Vec<u8> = (0..7).map(|_| rng.next() as u8).collect();
        for _ in 0..6 {
            input.push(0xFF);
            input.extend(random_input(&mut rng, 6).into_iter().filter(|b| *b != 0xFF));
        }
        props::check_web(&fx, &input).await;
    }
}

// ---------------------------------------------------------------------------------------
// The CLI and a real pane

/// Hostile message texts, by class. `PWNED` is replaced by a marker path in the test dir.
const TEXTS: &[(&str, &str)] = &[
    (
        "C0",
        "a\x01b\x02c\x03d\x04e\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1c\x1d\x1e\x1f end",
    ),
    ("line breaks and tab", "a\tb\nc\r\nd\re\n\n"),
    (
        "C1",
        "x\u{80}\u{85}\u{8d}\u{90}\u{9b}2J\u{9c}\u{9d}0;t\u{9f}",
    ),
    ("CSI", "\x1b[2J\x1b[H\x1b[31mred\x1b[0m\x1b[6n"),
    ("OSC title", "\x1b]0;pwned\x07after"),
    ("OSC 52 clipboard", "\x1b]52;c;cm0gLXJmIH4=\x1b\\"),
    ("DCS", "\x1bP+q544e\x1b\\"),
    ("bracketed paste", "\x1b[201~touch PWNED\n\x1b[200~"),
    ("DEL", "header eater \x7f\x7f\x7f\x7f\x7f\x7f! touch PWNED"),
    (
        "bidi",
        "\u{202e}gnp.exe\u{202c} \u{2066}x\u{2069} \u{200f}\u{061c}",
    ),
    (
        "zero-width",
        "a\u{200b}b\u{200c}c\u{200d}d\u{2060}e\u{feff}f\u{ad}g",
    ),
    (
        "hidden tags and fillers",
        "hi\u{e0001}\u{e0069}\u{e0067}\u{3164}\u{115f}\u{e0101}",
    ),
    ("line separators", "a\u{2028}b\u{2029}c"),
    ("SQL", "'; DROP TABLE tasks; --"),
    ("SQL 2", "\" OR 1=1; DELETE FROM agents WHERE '1'='1"),
    ("SQL 3", "x'); UPDATE agents SET status='deregistered'; --"),
    (
        "shell",
        "$(touch PWNED) `touch PWNED` ; touch PWNED && rm -rf /nonexistent | cat",
    ),
    ("shell escape", "! touch PWNED"),
    ("slash command", "/exit"),
    ("leading dash", "-R"),
    ("help", "--help"),
    ("lone dash", "-"),
    ("double dash", "--"),
    ("option-looking", "--text=x --to 3"),
    (
        "html",
        "<script>alert(1)</script><img src=x onerror=alert(2)>",
    ),
    ("unicode", "日本語 é 😀 👨‍👩‍👧 ❤\u{fe0f} Ω e\u{301}\u{301}"),
    ("format strings", "%00 %1b %s %n {} {{}} ${HOME}"),
    ("backslashes", "\\x1b \\n \\u0000 \\"),
];

fn marker(env: &Env) -> String {
    env.dir.path().join("PWNED").display().to_string()
}

/// `env.query`, also from inside a (multi-thread) tokio test.
fn sql(env: &Env, query: &str) -> Vec<Vec<String>> {
    tokio::task::block_in_place(|| env.query(query))
}

fn count(env: &Env, table: &str) -> i64 {
    sql(env, &format!("SELECT count(*) FROM {table}"))[0][0]
        .parse()
        .unwrap()
}

fn counts(env: &Env) -> [i64; 4] {
    ["fleets", "agents", "tasks", "agent_placements"].map(|t| count(env, t))
}

/// Registers an agent without a pane; returns its id.
fn register(env: &Env, name: &str) -> String {
    env.json(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        name,
        "--description",
        "d",
    ])["agent_id"]
        .to_string()
}

/// Waits for the next complete preview (header … Enter) after `from` bytes of the log.
fn next_preview(log: &Path, from: usize) -> Vec<u8> {
    let mut chunk = Vec::new();
    let done = wait_for(Duration::from_secs(10), || {
        let all = std::fs::read(log).unwrap_or_default();
        chunk = all.get(from..).unwrap_or_default().to_vec();
        chunk.contains(&b'\r')
    });
    assert!(
        done,
        "no preview arrived; got {:?}",
        String::from_utf8_lossy(&chunk)
    );
    chunk
}

/// Checks one typed preview: the header (no Escape), one LF, the sanitised truncated body,
/// Enter, and no other control byte or invisible code point.
fn assert_inert_preview(chunk: &[u8], header: &str, text: &str, max: usize) {
    let got = std::str::from_utf8(chunk).expect("typed bytes are UTF-8");
    let body = cafleet::tmux::sanitize(&truncate(text, max));
    // A last word starting with `$` or `@` is closed with a space (mention popups).
    let line = cafleet::tmux::close_mention(&format!("{header}\n{body}")).into_owned();
    assert_eq!(got, format!("{line}\r"), "typed for {text:?}");
    let typed = &got[..got.len() - 1];
    let bad: Vec<char> = typed
        .chars()
        .filter(|c| props::must_not_be_typed(*c))
        .collect();
    assert_eq!(bad, ['\n'], "{text:?} typed controls: {typed:?}");
}

/// `message send` from `from` to the Director (agent 1), whose pane is the recorder
/// logging into `log`; checks the typed preview and returns the JSON output.
fn send_to_director(env: &Env, log: &Path, from: &str, text: &str) -> Value {
    let before = std::fs::read(log).unwrap().len();
    let v = env.json(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        from,
        "--to",
        "1",
        "--text",
        text,
    ]);
    assert_eq!(v["notification_sent"], true, "{text:?}: {v}");
    let id = v["task"]["id"].as_i64().unwrap();
    let ts = v["task"]["ts"].as_str().unwrap();
    assert_inert_preview(
        &next_preview(log, before),
        &format!("[cafleet msg {id} from {from} {ts}]"),
        text,
        200,
    );
    v
}

/// The text of `message show` (JSON) as the Director sees it.
fn show_text(env: &Env, id: i64, extra: &[&str]) -> String {
    let id = id.to_string();
    let mut args = vec![
        "message",
        "show",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--task-id",
        &id,
    ];
    args.extend_from_slice(extra);
    env.json(&args)["task"]["text"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn hostile_texts_are_stored_exactly_and_typed_only_as_visible_text() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let pwned = marker(&env);
    for (class, text) in TEXTS {
        let text = text.replace("PWNED", &pwned);
        let id = send_to_director(&env, &log, &alice, &text)["task"]["id"]
            .as_i64()
            .unwrap();
        // Byte-exact in the database, in `show --full` and in the recipient's poll.
        let stored = env.query(&format!("SELECT text FROM tasks WHERE task_id = {id}"));
        assert_eq!(stored[0][0], text, "{class}: stored");
        assert_eq!(
            show_text(&env, id, &["--full"]),
            text,
            "{class}: show --full"
        );
        // Into a pipe the text output keeps the text (only CSI sequences are dropped, as
        // in 0.14; stand-ins replace controls only on a terminal).
        let out = env.ok(&[
            "message",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--task-id",
            &id.to_string(),
            "--full",
        ]);
        if !text.contains('\x1b') {
            assert!(
                out.contains(text.trim_end_matches('\n')),
                "{class}: text output {out:?}"
            );
        }
    }
    let polled = env.json(&[
        "message",
        "poll",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--full",
    ]);
    let mut got: Vec<String> = polled
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["text"].as_str().unwrap().to_string())
        .collect();
    let mut want: Vec<String> = TEXTS
        .iter()
        .map(|(_, t)| t.replace("PWNED", &pwned))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "poll returns every text byte-exact");
    // Nothing ran, nothing was dropped or changed by the SQL-looking texts.
    assert!(!Path::new(&pwned).exists(), "a message text was executed");
    assert_eq!(counts(&env), [1, 3, TEXTS.len() as i64, 1]);
    assert_eq!(
        env.query("SELECT count(*) FROM agents WHERE status = 'active'")[0][0],
        "3"
    );
}

#[test]
fn broadcast_and_a_leading_dash_reach_the_pane_inert() {
    let mut env = Env::new();
    let (server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let text = "-R\x1b[201~\x03\x04 ! touch x";
    let before = std::fs::read(&log).unwrap().len();
    let v = env.json(&[
        "message",
        "broadcast",
        "--fleet-id",
        "1",
        "--agent-id",
        &alice,
        "--text",
        text,
    ]);
    assert_eq!(v[0]["notifications_sent_count"], 1, "{v}");
    let chunk = next_preview(&log, before);
    let s = String::from_utf8_lossy(&chunk);
    assert!(s.ends_with("]\n-R␛[201~␃␄ ! touch x\r"), "{s:?}");
    assert_inert_preview(&chunk, &s[..s.find('\n').unwrap()], text, 200);
    let summary = v[0]["task"]["id"].as_i64().unwrap();
    let texts = env.query(&format!(
        "SELECT text FROM tasks WHERE origin_task_id = {summary} AND task_id != {summary}"
    ));
    assert!(!texts.is_empty());
    for t in texts {
        assert_eq!(t, [text.to_string()], "stored byte-exact");
    }
    drop(server);
}

#[test]
fn invalid_utf8_arguments_are_refused_and_nothing_is_written() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let before = counts(&env);
    let raw: &[&[u8]] = &[
        b"caf\xe9",
        b"\xff\xfe",
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"ok\x80",
    ];
    for bytes in raw {
        let bad = OsStr::from_bytes(bytes);
        let alice = alice.as_str();
        let prefixes: [&[&str]; 4] = [
            &[
                "message",
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                alice,
                "--to",
                "1",
                "--text",
            ],
            &[
                "message",
                "broadcast",
                "--fleet-id",
                "1",
                "--agent-id",
                alice,
                "--text",
            ],
            &[
                "agent",
                "register",
                "--fleet-id",
                "1",
                "--description",
                "d",
                "--name",
            ],
            &["fleet", "create", "--label"],
        ];
        let cases = prefixes.map(|p| {
            let mut args: Vec<&OsStr> = p.iter().map(OsStr::new).collect();
            args.push(bad);
            args
        });
        for args in cases {
            let out = env.cmd().args(&args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{args:?} accepted invalid UTF-8");
            assert!(
                matches!(out.status.code(), Some(1 | 2)),
                "{args:?}: exit {:?}",
                out.status.code()
            );
            assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
            assert!(
                err.contains("UTF-8") || err.contains("utf-8") || err.contains("utf8"),
                "{args:?}: the error does not name the problem: {err}"
            );
            assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        }
    }
    assert_eq!(counts(&env), before, "an invalid argument wrote rows");
}

#[test]
fn blank_texts_are_refused_before_anything_is_written() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let before = counts(&env);
    for blank in [
        "",
        " ",
        "\n\t\r",
        "\u{3000}\u{a0}\u{2028}",
        "\u{85}\u{1680}",
    ] {
        for args in [
            vec![
                "message",
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                &alice,
                "--to",
                "1",
                "--text",
                blank,
            ],
            vec![
                "message",
                "broadcast",
                "--fleet-id",
                "1",
                "--agent-id",
                &alice,
                "--text",
                blank,
            ],
        ] {
            let err = env.fails(&args, 1);
            assert!(
                err.contains("message text may not be empty"),
                "{blank:?}: {err}"
            );
            assert!(err.contains("--text"), "the error names the fix: {err}");
        }
    }
    assert_eq!(counts(&env), before);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::read(&log).unwrap(),
        b"",
        "a refused send typed something"
    );
}

#[test]
fn huge_texts_are_stored_intact_and_only_outputs_are_cut() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    // The biggest text one argv word can carry on Linux is 128 KiB (MAX_ARG_STRLEN); send
    // 100 KB of mixed text, controls included.
    let unit = "0123456789abcdef\x1b[2J\u{202e}日本\n";
    let text: String = unit.repeat(100_000 / unit.len());
    let v = send_to_director(&env, &log, &alice, &text);
    let id = v["task"]["id"].as_i64().unwrap();
    // Default CAFLEET_MAX_TEXT_LEN: outputs and the preview are cut to 200 code points.
    let shown = v["task"]["text"].as_str().unwrap();
    assert_eq!(shown.chars().count(), 201, "{shown:?}");
    assert!(shown.ends_with('…'));
    let stored = env.query(&format!("SELECT text FROM tasks WHERE task_id = {id}"));
    assert_eq!(stored[0][0], text, "stored in full");
    assert_eq!(show_text(&env, id, &["--full"]), text);
    // A raised limit shows it whole without --full.
    env.vars
        .push(("CAFLEET_MAX_TEXT_LEN".into(), "1000000".into()));
    assert_eq!(show_text(&env, id, &[]), text);
    // A limit that is not a positive integer is a clear error, before anything runs.
    let tasks = count(&env, "tasks");
    for bad in ["0", "-5", "1e6", "99999999999999999999999", "ten"] {
        env.vars.retain(|(k, _)| k != "CAFLEET_MAX_TEXT_LEN");
        env.vars.push(("CAFLEET_MAX_TEXT_LEN".into(), bad.into()));
        let err = env.fails(
            &[
                "message",
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                &alice,
                "--to",
                "1",
                "--text",
                "x",
            ],
            1,
        );
        assert!(err.contains("CAFLEET_MAX_TEXT_LEN"), "{bad}: {err}");
    }
    assert_eq!(count(&env, "tasks"), tasks);
    // An argument over the kernel's limit never reaches cafleet: the spawn itself fails.
    let too_big = "x".repeat(1 << 20);
    let spawned = env
        .cmd()
        .args([
            "message",
            "send",
            "--fleet-id",
            "1",
            "--agent-id",
            &alice,
            "--to",
            "1",
            "--text",
        ])
        .arg(&too_big)
        .output();
    assert!(
        spawned.is_err(),
        "a 1 MiB argv word was accepted by the kernel"
    );
    assert_eq!(count(&env, "tasks"), tasks);
}

/// Odd names, each stored and returned byte-exact.
fn odd_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "with space",
        "quote\"s and 'single'",
        "new\nline\r\n",
        "tab\there",
        "\x1b[31mred\x1b]0;t\x07",
        "\u{202e}evil",
        "zero\u{200b}width",
        "@all",
        "@bob",
        "a/b",
        "..",
        "../../etc/passwd",
        "-R",
        "--help",
        "$(touch PWNED)`id`;rm -rf /",
        "'; DROP TABLE agents; --",
        "<script>alert(1)</script>",
        "日本語 😀",
        "%s%n",
    ]
    .iter()
    .map(std::string::ToString::to_string)
    .collect();
    v.push("n".repeat(10_000));
    v
}

#[test]
fn odd_agent_names_and_fleet_labels_are_stored_exactly() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let pwned = marker(&env);
    let mut ids = Vec::new();
    for name in odd_names() {
        let name = name.replace("PWNED", &pwned);
        if name.trim().is_empty() {
            // Blank names are refused, blank labels are fine (docs/decisions.md, MEM-1).
            env.fails(
                &[
                    "agent",
                    "register",
                    "--fleet-id",
                    "1",
                    "--name",
                    &name,
                    "--description",
                    "d",
                ],
                1,
            );
            continue;
        }
        let v = env.json(&[
            "agent",
            "register",
            "--fleet-id",
            "1",
            "--name",
            &name,
            "--description",
            &name,
        ]);
        let id = v["agent_id"].as_i64().unwrap();
        let shown = env.json(&[
            "agent",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--id",
            &id.to_string(),
        ]);
        assert_eq!(shown["name"], name.as_str());
        let stored = env.query(&format!("SELECT name FROM agents WHERE agent_id = {id}"));
        assert_eq!(stored[0][0], name);
        ids.push((id, name));
    }
    for label in odd_names() {
        let label = label.replace("PWNED", &pwned);
        let out = env.run(&["--json", "fleet", "create", "--label", &label]);
        assert!(
            out.status.success(),
            "{label:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let id = v["fleet_id"]
            .as_i64()
            .unwrap_or_else(|| v["id"].as_i64().unwrap());
        let stored = env.query(&format!("SELECT label FROM fleets WHERE fleet_id = {id}"));
        assert_eq!(stored[0][0], label);
    }
    assert!(!Path::new(&pwned).exists());
    // The agent list (JSON) returns each name unchanged.
    let list = env.json(&["agent", "list", "--fleet-id", "1"]);
    for (id, name) in &ids {
        let entry = list
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == *id)
            .unwrap_or_else(|| panic!("agent {id} missing"));
        assert_eq!(entry["name"], name.as_str());
    }
}

#[test]
fn odd_member_names_reach_the_coding_agent_as_one_argument() {
    let team = Team::new();
    let pwned = marker(&team.env);
    let name = format!("m $(touch {pwned}) `id`;\n\"x\" -R");
    let v = team.create(&name, &["--coding-agent", "claude"]);
    let pane = v["pane_id"]
        .as_str()
        .or_else(|| v["placement"]["tmux_pane_id"].as_str())
        .unwrap_or_else(|| panic!("no pane in {v}"))
        .to_string();
    let argv = team.argv(&pane);
    let words: Vec<&str> = argv["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        words.contains(&name.as_str()),
        "the name split or changed: {words:?}"
    );
    assert!(!Path::new(&pwned).exists(), "the member name was executed");
    let stored = team
        .env
        .query("SELECT name FROM agents ORDER BY agent_id DESC LIMIT 1");
    assert_eq!(stored[0][0], name);
}

// ---------------------------------------------------------------------------------------
// The HTTP API over the same database as the CLI, with the Director in a real pane

struct Web {
    app: axum::Router,
}

const HOST: &str = "127.0.0.1:8000";

impl Web {
    async fn over(env: &Env) -> Web {
        let db = Db::open(&env.db_path, 4).await.unwrap();
        let broker = Broker::new(db, Tmux::from_env(), 200);
        let state = AppState {
            broker,
            security: Arc::new(Security::for_bind("127.0.0.1", 8000, None)),
        };
        Web { app: router(state) }
    }

    async fn call(&self, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, ctype, body)
    }

    async fn send_raw(&self, body: Vec<u8>) -> (StatusCode, Value) {
        let req = Request::post("/api/messages/send")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header("x-fleet-id", "1")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let (s, ctype, bytes) = self.call(req).await;
        assert!(
            ctype.starts_with("application/json"),
            "{s} {ctype}: {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        );
        (s, serde_json::from_slice(&bytes).unwrap())
    }

    /// Sends `text` as the Administrator (2) to the Director (1) over the API, checks the
    /// preview typed into the Director's recorder pane and the stored row; returns the id.
    async fn send_to_director(&self, env: &Env, log: &Path, text: &str) -> i64 {
        let before = std::fs::read(log).unwrap().len();
        let body = json!({"from_agent_id": 2, "to_agent_id": 1, "text": text}).to_string();
        let (s, v) = self.send_raw(body.into_bytes()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let id = v["task_id"].as_i64().unwrap();
        let stored = sql(env, &format!("SELECT text FROM tasks WHERE task_id = {id}"));
        assert!(
            stored[0][0] == text,
            "stored text differs from {:?}",
            truncate(text, 40)
        );
        let chunk = next_preview_async(log, before).await;
        let got = String::from_utf8_lossy(&chunk).to_string();
        let header_end = got.find('\n').unwrap();
        assert!(got[..header_end].starts_with(&format!("[cafleet msg {id} from 2 ")));
        assert_inert_preview(&chunk, &got[..header_end], text, 200);
        id
    }

    async fn get(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let req = Request::get(path)
            .header(header::HOST, HOST)
            .header("x-fleet-id", "1")
            .body(Body::empty())
            .unwrap();
        self.call(req).await
    }
}

/// Waits (without blocking the runtime) for the next complete preview in `log`.
async fn next_preview_async(log: &Path, from: usize) -> Vec<u8> {
    for _ in 0..400 {
        let all = std::fs::read(log).unwrap_or_default();
        let chunk = all.get(from..).unwrap_or_default();
        if chunk.contains(&b'\r') {
            return chunk.to_vec();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no preview arrived in {}", log.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_json_escapes_are_stored_exactly_and_typed_inert() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let web = Web::over(&env).await;
    // JSON escapes no argv can carry: NUL, and every C0 as \u escapes; a surrogate pair.
    let texts: Vec<String> = vec![
        "nul\u{0}byte".into(),
        (0u32..0x20).filter_map(char::from_u32).collect::<String>() + "end",
        "\u{0}\u{1b}[2J\u{9b}\u{202e}".into(),
        "pair \u{1F600}".into(),
    ];
    for text in &texts {
        let id = web.send_to_director(&env, &log, text).await;
        let (_, _, page) = web.get("/api/timeline").await;
        let page: Value = serde_json::from_slice(&page).unwrap();
        let found = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["task_id"] == id)
            .unwrap();
        assert_eq!(found["body"], text.as_str());
    }
    // A lone surrogate is not a string: a clear 422, nothing stored.
    let tasks = count(&env, "tasks");
    for raw in [
        r#"{"from_agent_id":2,"to_agent_id":1,"text":"\ud800"}"#,
        r#"{"from_agent_id":2,"to_agent_id":1,"text":"a\udfffb"}"#,
        r#"{"from_agent_id":2,"to_agent_id":"*","text":"\ud83d"}"#,
    ] {
        let (s, v) = web.send_raw(raw.as_bytes().to_vec()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{raw}: {v}");
        assert_eq!(v["detail"][0]["type"], "json_invalid", "{raw}: {v}");
    }
    // Invalid UTF-8 inside the JSON string: refused the same way.
    let mut raw = br#"{"from_agent_id":2,"to_agent_id":1,"text":"caf"#.to_vec();
    raw.extend_from_slice(b"\xe9\"}");
    let (s, v) = web.send_raw(raw).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        count(&env, "tasks"),
        tasks,
        "a refused request stored something"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_megabyte_text_is_stored_intact_through_the_api() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let web = Web::over(&env).await;
    let text: String = "0123456789\x1b[2J\u{202e}日本\n".repeat((1 << 20) / 24 + 1);
    assert!(text.len() >= 1 << 20);
    web.send_to_director(&env, &log, &text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_api_body_gets_a_json_error() {
    let env = Env::new();
    env.ok(&["db", "init"]);
    let web = Web::over(&env).await;
    let text = "x".repeat(3 << 20);
    let body = json!({"from_agent_id": 2, "to_agent_id": 1, "text": text}).to_string();
    let (s, v) = web.send_raw(body.into_bytes()).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(v["detail"].is_string(), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_endpoint_reflects_hostile_text_as_html() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let script = "<script>alert(1)</script>";
    register(&env, script);
    env.ok(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--to",
        "3",
        "--text",
        script,
    ]);
    let web = Web::over(&env).await;
    let (_, index_type, index) = web.get("/").await;
    assert!(index_type.starts_with("text/html"), "{index_type}");
    let paths = [
        "/api/fleets",
        "/api/agents",
        "/api/timeline",
        "/api/monitor",
        "/api/agents/3/inbox",
        "/api/agents/1/sent",
        "/api/agents/3/monitor",
        "/api/%3Cscript%3Ealert(1)%3C/script%3E",
        "/api/timeline?before=%3Cscript%3E",
        "/api/agents/%3Cscript%3E/inbox",
        "/%3Cscript%3Ealert(1)%3C/script%3E",
        "/ui/%3Cscript%3E",
        "/assets/%3Cscript%3E.js",
        "/index.html?x=%3Cscript%3E",
    ];
    let mut reflected = 0;
    for path in paths {
        let (s, ctype, body) = web.get(path).await;
        let text = String::from_utf8_lossy(&body);
        if path.starts_with("/api/") || path.starts_with("/ui/") {
            assert!(ctype.starts_with("application/json"), "{path}: {s} {ctype}");
            serde_json::from_slice::<Value>(&body).unwrap();
            if text.contains(script) {
                reflected += 1; // inside JSON, as a string: inert
            }
        } else {
            // The only HTML is the page itself, whatever the path asked for.
            assert!(ctype.starts_with("text/html"), "{path}: {ctype}");
            assert_eq!(body, index, "{path}: HTML depends on the request");
        }
        assert!(!text.contains("alert(1)</script>") || ctype.starts_with("application/json"));
    }
    assert!(
        reflected >= 3,
        "the stored script should come back as JSON data"
    );
}
