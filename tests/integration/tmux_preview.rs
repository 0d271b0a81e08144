//! Inline previews against a real private tmux server: exact bytes, inert hostile text,
//! shells never typed into, and the right server only (docs/decisions.md, K1–K3 and S3).

use crate::support::*;
use std::time::Duration;

fn send_json(env: &Env, from: &str, to: &str, text: &str) -> serde_json::Value {
    env.json(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        from,
        "--to",
        to,
        "--text",
        text,
    ])
}

fn register(env: &Env, name: &str) -> String {
    let v = env.json(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        name,
        "--description",
        "helper",
    ]);
    v["agent_id"].to_string()
}

#[test]
fn send_types_the_exact_preview_into_the_recipient_pane() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let v = send_json(&env, &alice, "1", "please do task A");
    assert_eq!(v["notification_sent"], true, "{v}");
    let ts = v["task"]["ts"].as_str().unwrap();
    let expected = format!("[cafleet msg 1 from {alice} {ts}]\nplease do task A\r");
    let got = wait_for_bytes(&log, b"\r");
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

#[test]
fn hostile_text_arrives_as_inert_visible_text() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let text = "-R line1\nline2\r\nline3\rend\ttab \x03c \x04d \x15u \x1b[Aesc \x1b]0;title\x07 \x7fdel $(touch /tmp/pwned) `id` \u{9b}2J \u{202e}rtl";
    let v = send_json(&env, &alice, "1", text);
    assert_eq!(v["notification_sent"], true, "{v}");
    let ts = v["task"]["ts"].as_str().unwrap();
    let body = "-R line1⏎line2⏎line3⏎end␉tab ␃c ␄d ␕u ␛[Aesc ␛]0;title␇ ␡del $(touch /tmp/pwned) `id` �2J �rtl";
    let expected = format!("[cafleet msg 1 from {alice} {ts}]\n{body}\r");
    let got = wait_for_bytes(&log, b"\r");
    assert_eq!(String::from_utf8_lossy(&got), expected);
    // Only the header/body line break and the final Enter are controls: no Escape, which
    // would cancel a working agent's turn.
    let controls: Vec<u8> = got
        .iter()
        .copied()
        .filter(|b| *b < 0x20 || *b == 0x7f)
        .collect();
    assert_eq!(controls, vec![b'\n', b'\r']);
    // The stored text is the original, untouched.
    let stored = env.query("SELECT text FROM tasks WHERE task_id = 1");
    assert_eq!(stored[0][0], text);
}

#[test]
fn leading_dash_text_is_typed_as_text_not_tmux_flags() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let v = send_json(&env, &alice, "1", "-Z");
    assert_eq!(v["notification_sent"], true);
    let got = wait_for_bytes(&log, b"\r");
    assert!(
        String::from_utf8_lossy(&got).ends_with("]\n-Z\r"),
        "{got:?}"
    );
}

#[test]
fn nothing_is_typed_into_a_pane_running_a_shell() {
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let shell = server.shell_pane();
    server.enter(&mut env, &shell);
    env.ok(&["fleet", "create"]);
    let alice = register(&env, "alice");
    let marker = env.dir.path().join("pwned");
    let text = format!("touch {}", marker.display());
    let v = send_json(&env, &alice, "1", &text);
    assert_eq!(v["notification_sent"], false, "{v}");
    let b = env.json(&[
        "message",
        "broadcast",
        "--fleet-id",
        "1",
        "--agent-id",
        &alice,
        "--text",
        &text,
    ]);
    assert_eq!(b[0]["notifications_sent_count"], 0);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!marker.exists(), "the shell ran the message text");
    let screen = server.tmux(&["capture-pane", "-p", "-t", &shell]);
    assert!(
        !screen.contains("cafleet msg"),
        "typed into the shell: {screen}"
    );
    // Both deliveries are queued for the Director.
    let polled = env.json(&["message", "poll", "--fleet-id", "1", "--agent-id", "1"]);
    assert_eq!(polled.as_array().unwrap().len(), 2);
}

#[test]
fn a_pane_with_the_same_id_on_another_server_is_never_touched() {
    let mut env = Env::new();
    let (_a, a_pane, a_log) = fleet_in_tmux(&mut env);
    // A second server whose pane ids mirror the first one's.
    let b_dir = env.dir.path().join("b");
    std::fs::create_dir_all(&b_dir).unwrap();
    let b = TmuxServer::start(&b_dir, &["sleep", "100000"]);
    let (b_pane, b_log) = b.recorder_pane("director");
    assert_eq!(
        a_pane, b_pane,
        "test needs identical pane ids on both servers"
    );
    let alice = register(&env, "alice");
    // The sender's own tmux is server B; the Director lives on server A.
    b.enter(&mut env, &b_pane);
    let v = send_json(&env, &alice, "1", "for the director on A");
    assert_eq!(v["notification_sent"], true);
    wait_for_bytes(&a_log, b"for the director on A\r");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        std::fs::read(&b_log).unwrap().is_empty(),
        "server B's pane was typed into"
    );
    // A sender outside tmux reaches the right server too.
    env.vars.retain(|(k, _)| k != "TMUX" && k != "TMUX_PANE");
    let v = send_json(&env, &alice, "1", "from outside tmux");
    assert_eq!(v["notification_sent"], true);
    wait_for_bytes(&a_log, b"from outside tmux\r");
}

#[test]
fn a_dead_pane_leaves_the_message_queued() {
    let mut env = Env::new();
    let (server, pane, _log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    server.tmux(&["kill-pane", "-t", &pane]);
    let v = send_json(&env, &alice, "1", "are you there?");
    assert_eq!(v["notification_sent"], false);
    let polled = env.json(&["message", "poll", "--fleet-id", "1", "--agent-id", "1"]);
    assert_eq!(polled[0]["text"], "are you there?");
}

#[test]
fn self_sends_and_pane_less_recipients_get_no_preview() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let v = send_json(&env, "1", "1", "note to self");
    assert_eq!(v["notification_sent"], false);
    let v = send_json(&env, "1", &alice, "alice has no pane");
    assert_eq!(v["notification_sent"], false);
    std::thread::sleep(Duration::from_millis(300));
    assert!(std::fs::read(&log).unwrap().is_empty());
}

#[test]
fn broadcast_counts_deliveries_and_previews_separately() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    register(&env, "bob");
    let out = env.ok(&[
        "message",
        "broadcast",
        "--fleet-id",
        "1",
        "--agent-id",
        &alice,
        "--text",
        "standup",
    ]);
    // Recipients: Director (placed) and bob; never the Administrator or the sender.
    assert_eq!(out, "broadcast id=1 recipients=2 notified=1\n");
    wait_for_bytes(&log, b"]\nstandup\r");
    let rows = env.query("SELECT task_id, context_id, to_agent_id, type, origin_task_id, text FROM tasks ORDER BY task_id");
    assert_eq!(
        rows,
        vec![
            vec![
                "1",
                &alice,
                "0",
                "broadcast_summary",
                "1",
                "Broadcast sent to 2 recipients"
            ],
            vec!["2", "1", "1", "unicast", "1", "standup"],
            vec!["3", "4", "4", "unicast", "1", "standup"],
        ]
    );
}

#[test]
fn the_preview_is_typed_only_after_the_message_is_committed() {
    // The recorder pane's program checks the database the moment the first byte arrives:
    // the announced task must already be visible to another connection (docs/decisions.md, S3).
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let script = env.dir.path().join("checker.py");
    std::fs::write(
        &script,
        r#"
import os, sys, tty, sqlite3
db, out = sys.argv[1], sys.argv[2]
tty.setraw(0)
os.read(0, 1)
con = sqlite3.connect(db, timeout=0.05)
try:
    n = con.execute("select count(*) from tasks").fetchone()[0]
    open(out, "w").write(str(n))
except Exception as e:
    open(out, "w").write("error: %s" % e)
"#,
    )
    .unwrap();
    // Create the database first so the checker can open it.
    env.ok(&["db", "init"]);
    let result = env.dir.path().join("seen");
    let pane = server.new_pane(&[
        "python3",
        script.to_str().unwrap(),
        env.db_path.to_str().unwrap(),
        result.to_str().unwrap(),
    ]);
    assert!(wait_for(Duration::from_secs(10), || {
        server
            .tmux(&[
                "display-message",
                "-p",
                "-t",
                &pane,
                "#{pane_current_command}",
            ])
            .starts_with("python")
    }));
    std::thread::sleep(Duration::from_millis(300));
    server.enter(&mut env, &pane);
    env.ok(&["fleet", "create"]);
    let alice = register(&env, "alice");
    send_json(&env, &alice, "1", "check me");
    assert!(wait_for(Duration::from_secs(10), || result.exists()));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(std::fs::read_to_string(&result).unwrap(), "1");
}

/// Twenty senders at once into one pane: each preview arrives whole (header, LF, body,
/// Enter), never interleaved with another's keystrokes, because every typist takes the
/// pane's lock (text and Enter are separate tmux calls with a pause between).
#[test]
fn concurrent_sends_into_one_pane_never_interleave() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let env = std::sync::Arc::new(env);
    let senders: Vec<_> = (0..20)
        .map(|i| {
            let env = env.clone();
            let alice = alice.clone();
            std::thread::spawn(move || {
                let v = send_json(&env, &alice, "1", &format!("concurrent message {i:02}"));
                assert_eq!(v["notification_sent"], true, "{v}");
                v["task"]["id"].as_i64().unwrap()
            })
        })
        .collect();
    let mut ids: Vec<i64> = senders.into_iter().map(|h| h.join().unwrap()).collect();
    ids.sort_unstable();
    let mut got = Vec::new();
    wait_for(Duration::from_secs(20), || {
        got = std::fs::read(&log).unwrap_or_default();
        got.iter().filter(|b| **b == b'\r').count() >= 20
    });
    let text = String::from_utf8(got).unwrap();
    let previews: Vec<&str> = text.split_terminator('\r').collect();
    assert_eq!(previews.len(), 20, "{text:?}");
    let mut seen: Vec<i64> = previews
        .iter()
        .map(|p| {
            let (header, body) = p.split_once('\n').unwrap_or_else(|| panic!("{p:?}"));
            let id: i64 = header
                .strip_prefix("[cafleet msg ")
                .and_then(|h| h.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("mangled header {header:?} in {text:?}"));
            assert!(
                header.ends_with(']') && header.contains(&format!(" from {alice} ")),
                "{header:?}"
            );
            assert!(
                body.starts_with("concurrent message ") && body.len() == 21,
                "mangled body {body:?} in {text:?}"
            );
            id
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, ids);
}
