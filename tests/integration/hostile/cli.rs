//! Hostile input through the real CLI, with the Director in a real tmux recorder pane.

use super::*;

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

fn counts(env: &Env) -> [i64; 4] {
    ["fleets", "agents", "tasks", "agent_placements"].map(|t| count(env, t))
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
