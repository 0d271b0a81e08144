//! Steering members from the Director's pane: `member list` (text, --json, --activity,
//! pending rows), `member capture`, `send-input`, `exec`, `ping` and `nudge`, with the exact
//! bytes each stand-in receives.

use super::*;
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

/// `cafleet member <sub> --fleet-id 1 --member-id <id> <extra>`.
fn member_args<'a>(sub: &'a str, id: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["member", sub, "--fleet-id", "1", "--member-id", id];
    args.extend_from_slice(extra);
    args
}

/// Sends a choice and waits until the stand-in has echoed it, so each digit is its own read.
fn choose(team: &Team, id: &str, pane: &str, digit: &str) {
    team.env
        .ok(&member_args("send-input", id, &["--choice", digit]));
    wait_screen(team, pane, &format!("RECV b'{digit}'"));
}

// ---------------------------------------------------------------------------------------
// member list
// ---------------------------------------------------------------------------------------

#[test]
fn member_list_text_shows_one_row_per_member_without_the_director() {
    let team = Team::new();
    assert_eq!(
        team.env.ok(&["member", "list", "--fleet-id", "1"]),
        "0 members.\n"
    );
    let (_, p3) = spawn(&team, "m1", &[]);
    let window = pane_format(&team, &team.director_pane, "#{window_id}");
    let c3 = team
        .env
        .query("SELECT created_at FROM agent_placements WHERE agent_id = 3")[0][0]
        .clone();
    assert_eq!(
        team.env.ok(&["member", "list", "--fleet-id", "1"]),
        format!(
            "1 member:\n  agent_id        name      status  backend  session  window_id  pane_id  created_at                        activity  undelivered\n  --------------  --------  ------  -------  -------  ---------  -------  --------------------------------  --------  -----------\n  3               m1        active  claude   t        {window:<9}  {p3:<7}  {c3}  unknown   -\n"
        )
    );
    let (_, p4) = spawn(&team, "m2", &["--coding-agent", "opencode"]);
    let c4 = team
        .env
        .query("SELECT created_at FROM agent_placements WHERE agent_id = 4")[0][0]
        .clone();
    let out = team.env.ok(&["member", "list", "--fleet-id", "1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "2 members:");
    assert_eq!(lines.len(), 5, "{out}");
    // An 8-letter backend shifts the rest of its row (padding never truncates).
    assert_eq!(
        lines[4],
        format!(
            "  4               m2        active  opencode  t        {window:<9}  {p4:<7}  {c4}  unknown   -"
        )
    );
}

#[test]
fn member_list_json_has_the_agent_and_its_placement() {
    let team = Team::new();
    let v = team.create("m1", &["--coding-agent", "codex"]);
    let list = team.env.json(&["member", "list", "--fleet-id", "1"]);
    let reg = team
        .env
        .query("SELECT registered_at FROM agents WHERE agent_id = 3")[0][0]
        .clone();
    assert_eq!(
        list,
        json!([{
            "agent_id": 3,
            "name": "m1",
            "description": "a member",
            "status": "active",
            "registered_at": reg,
            "placement": v["placement"],
            // A stand-in reports nothing and its screen is no coding agent's.
            "activity": "unknown",
            "activity_seen_at": null,
            "activity_source": null,
            // Nothing sent to it yet.
            "undelivered": {"unseen": 0, "dead": 0},
        }])
    );
}

#[test]
fn member_list_works_outside_tmux_and_refuses_unknown_fleets() {
    let team = Team::new();
    spawn(&team, "m1", &[]);
    for args in [
        &["member", "list", "--fleet-id", "1"][..],
        &["--json", "member", "list", "--fleet-id", "1"],
    ] {
        let out = team
            .env
            .cmd()
            .env_remove("TMUX")
            .env_remove("TMUX_PANE")
            .env("PATH", "/nonexistent")
            .args(args)
            .output()
            .unwrap();
        expect_code(&out, 0);
        assert!(String::from_utf8_lossy(&out.stdout).contains("m1"));
    }
    assert_eq!(
        team.env.fails(&["member", "list", "--fleet-id", "99"], 1),
        "Error: fleet 99 not found. List live fleets with 'cafleet fleet list'.\n"
    );
}

#[test]
fn member_list_activity_uses_the_send_time_so_an_ack_does_not_move_last_sent() {
    let team = Team::new();
    spawn(&team, "m1", &[]);
    spawn(&team, "m2", &[]);
    // m1 (3) sends to m2 (4); m2 acks later.
    let sent = team.env.json(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        "3",
        "--to",
        "4",
        "--text",
        "status?",
    ]);
    let created = sent["task"]["ts"].as_str().unwrap().to_string();
    // Ack a second later, so the HH:MM:SS columns tell the send time from the ack time.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    team.env.ok(&[
        "message",
        "ack",
        "--fleet-id",
        "1",
        "--agent-id",
        "4",
        "--task-id",
        "1",
    ]);
    let acked = team
        .env
        .query("SELECT status_timestamp FROM tasks WHERE task_id = 1")[0][0]
        .clone();
    assert_ne!(created, acked);
    let list = team
        .env
        .json(&["member", "list", "--fleet-id", "1", "--activity"]);
    let m1 = &list[0];
    let m2 = &list[1];
    assert_eq!(m1["agent_id"], 3);
    assert_eq!(m1["last_sent"], created.as_str(), "{list}");
    assert_eq!(m1["last_recv"], Value::Null);
    assert_eq!(m1["last_ack"], Value::Null);
    assert!(m1["idle"].as_i64().unwrap() >= 1, "{list}");
    assert_eq!(m2["last_sent"], Value::Null);
    assert_eq!(m2["last_recv"], acked.as_str());
    assert_eq!(m2["last_ack"], acked.as_str());
    assert!((0..60).contains(&m2["idle"].as_i64().unwrap()));
    // The activity JSON keeps the placement and appends the four message-time keys.
    let keys: Vec<&str> = m1.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "agent_id",
            "name",
            "description",
            "status",
            "registered_at",
            "placement",
            "activity",
            "activity_seen_at",
            "activity_source",
            "undelivered",
            "last_sent",
            "last_recv",
            "last_ack",
            "idle"
        ]
    );
    // Text: HH:MM:SS columns and idle in seconds.
    let clock = |ts: &str| ts.split_once('T').unwrap().1[..8].to_string();
    let out = team
        .env
        .ok(&["member", "list", "--fleet-id", "1", "--activity"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "2 members:");
    assert_eq!(
        lines[1],
        "  agent_id        name      status  last_sent  last_recv  last_ack   idle"
    );
    assert_eq!(
        lines[2],
        "  --------------  --------  ------  ---------  ---------  ---------  -----"
    );
    let row3 = format!(
        "  3               m1        active  {:<9}  -          -          ",
        clock(&created)
    );
    assert!(lines[3].starts_with(&row3), "{:?} vs {row3:?}", lines[3]);
    assert!(lines[3].ends_with('s'), "{}", lines[3]);
    let row4 = format!(
        "  4               m2        active  -          {:<9}  {:<9}  ",
        clock(&acked),
        clock(&acked)
    );
    assert!(lines[4].starts_with(&row4), "{:?} vs {row4:?}", lines[4]);
}

#[test]
fn a_member_whose_spawn_is_in_flight_is_listed_as_pending_and_cannot_be_steered() {
    let team = Team::new();
    let gate = SplitGate::new(&team);
    std::thread::scope(|s| {
        let create = s.spawn(|| create_with_path(&team, &gate.path, "pend", &[]));
        gate.wait_parked();
        let text = team.env.ok(&["member", "list", "--fleet-id", "1"]);
        let row = text.lines().nth(3).unwrap();
        assert!(
            row.starts_with("  3               pend      active  claude   t        "),
            "{text}"
        );
        assert!(row.contains("  (pending)  "), "{text}");
        let list = team.env.json(&["member", "list", "--fleet-id", "1"]);
        assert_eq!(list[0]["placement"]["tmux_pane_id"], Value::Null);
        // Keystroke commands refuse a pending member.
        for (sub, extra, verb) in [
            ("capture", &[][..], "capture"),
            ("send-input", &["--choice", "1"][..], "send"),
            ("exec", &["ls"][..], "exec"),
            ("ping", &[][..], "ping"),
        ] {
            let err = team.env.fails(&member_args(sub, "3", extra), 1);
            assert_eq!(
                err,
                format!(
                    "Error: member 3 has no pane yet (pending placement) — nothing to {verb}.\n"
                )
            );
        }
        // A nudge is queued without a push.
        assert_eq!(
            team.env.ok(&[
                "member",
                "nudge",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--member-id",
                "3",
                "--text",
                "hi",
            ]),
            "Nudged pend — no pane; task 1 queued.\n"
        );
        assert_eq!(
            team.env.json(&[
                "member",
                "nudge",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--member-id",
                "3",
                "--text",
                "hi again",
            ]),
            // No pane yet: nothing to type into, the delivery stays stored until it polls.
            json!({
                "member_agent_id": 3,
                "pane_id": null,
                "task_id": 2,
                "notification_sent": false,
                "delivery": {
                    "task_id": 2,
                    "mode": "idle",
                    "state": "stored",
                    "attempts": 0,
                    "last_attempt_at": null,
                    "note": "no pane to type into: the recipient reads it when it polls",
                    "typed_at": null,
                    "submitted_at": null,
                    "seen_at": null,
                    "acked_at": null,
                    "dead_at": null
                }
            })
        );
        gate.open();
        let out = create.join().unwrap();
        expect_code(&out, 0);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let pane = pane_of(&v);
        let list = team.env.json(&["member", "list", "--fleet-id", "1"]);
        assert_eq!(list[0]["placement"]["tmux_pane_id"], pane.as_str());
        // The queued nudges wait in the inbox; nothing was typed into the new pane.
        wait_ready(&team, &pane);
        assert!(team.keys(&pane).is_empty());
    });
    let polled = team
        .env
        .json(&["message", "poll", "--fleet-id", "1", "--agent-id", "3"]);
    assert_eq!(polled.as_array().unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------
// member capture
// ---------------------------------------------------------------------------------------

#[test]
fn capture_returns_the_last_visible_lines_without_blank_padding() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    for digit in ["1", "2", "3"] {
        choose(&team, &id, &pane, digit);
    }
    // The pane is 50 rows high and mostly blank: --lines 2 is the last two printed rows.
    assert_eq!(
        team.env.ok(&member_args("capture", &id, &["--lines", "2"])),
        "RECV b'2'\nRECV b'3'\n"
    );
    assert_eq!(
        team.env.ok(&member_args("capture", &id, &["--tail", "10"])),
        "stand-in ready\n  ? for shortcuts\nRECV b'1'\nRECV b'2'\nRECV b'3'\n"
    );
    assert_eq!(
        team.env.ok(&member_args("capture", &id, &[])),
        "stand-in ready\n  ? for shortcuts\nRECV b'1'\nRECV b'2'\nRECV b'3'\n"
    );
    assert_eq!(
        team.env
            .json(&member_args("capture", &id, &["--lines", "3"])),
        json!({
            "member_agent_id": 3,
            "pane_id": pane,
            "lines": 3,
            "content": "RECV b'1'\nRECV b'2'\nRECV b'3'\n",
        })
    );
    // Capturing types nothing.
    assert_eq!(team.keys(&pane), b"123");
}

#[test]
fn capture_lines_must_be_positive() {
    let team = Team::new();
    let (id, _pane) = spawn(&team, "m1", &[]);
    for n in ["0", "-3"] {
        assert_eq!(
            team.env
                .fails(&member_args("capture", &id, &["--lines", n]), 1),
            format!("Error: capture failed: capture_pane: lines must be positive, got {n}\n")
        );
    }
}

#[test]
fn capture_of_the_director_pane_is_allowed() {
    let team = Team::new();
    let v = team
        .env
        .json(&member_args("capture", "1", &["--lines", "5"]));
    assert_eq!(v["pane_id"], team.director_pane.as_str());
    assert_eq!(v["content"], "");
}

// ---------------------------------------------------------------------------------------
// member send-input
// ---------------------------------------------------------------------------------------

#[test]
fn send_input_choice_types_only_the_digit() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    assert_eq!(
        team.env
            .ok(&member_args("send-input", &id, &["--choice", "2"])),
        format!("Sent choice 2 to member m1 ({pane}).\n")
    );
    assert_keys(&team, &pane, b"2");
    assert_eq!(
        team.env
            .json(&member_args("send-input", &id, &["--choice", "3"])),
        json!({"member_agent_id": 3, "pane_id": pane, "action": "choice", "value": "3"})
    );
    assert_keys(&team, &pane, b"23");
}

/// Makes the stand-in in `pane` draw a question frame like Claude Code's (options 1 and 2,
/// "3. Type something.", "4. Chat about this"); the keys log then starts with `?question`.
fn show_question(team: &Team, pane: &str) {
    team.server
        .tmux(&["send-keys", "-t", pane, "-l", "--", "?question"]);
    wait_screen(team, pane, "3. Type something.");
}

#[test]
fn send_input_freetext_types_the_free_text_rows_digit_then_the_text_then_enter() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    show_question(&team, &pane);
    assert_eq!(
        team.env.ok(&member_args(
            "send-input",
            &id,
            &["--freetext", "my answer"]
        )),
        format!("Sent free text to member m1 ({pane}).\n")
    );
    // The frame's free-text row is 3 (two options + 1), not 4 ("Chat about this").
    assert_keys(&team, &pane, b"?question3my answer\r");
    // The text is typed unmodified (not trimmed), and reported as given.
    show_question(&team, &pane);
    assert_eq!(
        team.env.json(&member_args(
            "send-input",
            &id,
            &["--freetext", "  answer two "]
        )),
        json!({"member_agent_id": 3, "pane_id": pane, "action": "freetext", "value": "  answer two "})
    );
    assert_keys(
        &team,
        &pane,
        b"?question3my answer\r?question3  answer two \r",
    );
}

#[test]
fn send_input_freetext_without_a_question_on_screen_types_nothing() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    let err = team
        .env
        .fails(&member_args("send-input", &id, &["--freetext", "hello"]), 1);
    assert!(err.contains("no question with a free-text row"), "{err}");
    assert!(err.contains("nothing was typed"), "{err}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(team.keys(&pane), b"");
}

#[test]
fn send_input_freetext_starting_with_a_dash_is_typed_as_text() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    show_question(&team, &pane);
    team.env
        .ok(&member_args("send-input", &id, &["--freetext", "-R"]));
    assert_keys(&team, &pane, b"?question3-R\r");
    show_question(&team, &pane);
    team.env
        .ok(&member_args("send-input", &id, &["--freetext=-Z"]));
    assert_keys(&team, &pane, b"?question3-R\r?question3-Z\r");
}

#[test]
fn send_input_freetext_control_characters_arrive_as_visible_text() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    show_question(&team, &pane);
    team.env.ok(&member_args(
        "send-input",
        &id,
        &["--freetext", "a\x1b[Ab\x03c\x7f"],
    ));
    assert_keys(&team, &pane, "?question3a␛[Ab␃c␡\r".as_bytes());
}

#[test]
fn send_input_empty_freetext_is_allowed() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    show_question(&team, &pane);
    team.env
        .ok(&member_args("send-input", &id, &["--freetext", ""]));
    assert_keys(&team, &pane, b"?question3\r");
}

#[test]
fn send_input_validation_errors_come_in_order_before_anything_is_typed() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    let bang = "--freetext may not start with '!' — that triggers the coding agent's shell-execution shortcut. Use 'cafleet member exec' for shell dispatch instead.";
    let exclusive = "--choice and --freetext are mutually exclusive; supply exactly one.";
    let newline = "free text may not contain newlines.";
    for (extra, msg) in [
        // 1. a leading '!' (after left-trimming) wins over everything else.
        (&["--freetext", "  !rm -rf x", "--choice", "1"][..], bang),
        (&["--freetext", "!ls\nx"][..], bang),
        // 2. exactly one of --choice / --freetext.
        (&["--choice", "1", "--freetext", "a\nb"][..], exclusive),
        (&[][..], exclusive),
        // 3. no newlines in free text.
        (&["--freetext", "line1\nline2"][..], newline),
        (&["--freetext", "a\rb"][..], newline),
    ] {
        let err = team.env.fails(&member_args("send-input", &id, extra), 2);
        assert_eq!(err, usage("send-input", msg), "{extra:?}");
    }
    // A choice outside 1..3 is a parse error.
    let err = team
        .env
        .fails(&member_args("send-input", &id, &["--choice", "4"]), 2);
    assert_eq!(
        err,
        usage(
            "send-input",
            "Invalid value for '--choice': 4 is not in the range 1<=x<=3."
        )
    );
    // Validation needs no tmux: the same errors outside tmux.
    let out = team
        .env
        .cmd()
        .env_remove("TMUX")
        .args(member_args("send-input", &id, &["--freetext", "!x"]))
        .output()
        .unwrap();
    assert_eq!(expect_code(&out, 2), usage("send-input", bang));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(team.keys(&pane).is_empty());
}

// ---------------------------------------------------------------------------------------
// member exec
// ---------------------------------------------------------------------------------------

#[test]
fn exec_types_bang_space_command_then_enter() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    assert_eq!(
        team.env.ok(&member_args("exec", &id, &["  git status  "])),
        format!("Sent bash command 'git status' to member m1 ({pane}).\n")
    );
    assert_keys(&team, &pane, b"! git status\r");
    assert_eq!(
        team.env.json(&member_args("exec", &id, &["ls -la 'x y'"])),
        json!({"member_agent_id": 3, "pane_id": pane, "command": "ls -la 'x y'"})
    );
    assert_keys(&team, &pane, b"! git status\r! ls -la 'x y'\r");
    team.env.ok(&member_args("exec", &id, &["--", "-la"]));
    assert_keys(&team, &pane, b"! git status\r! ls -la 'x y'\r! -la\r");
}

#[test]
fn exec_text_output_quotes_the_command_like_python_repr() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    for (command, repr) in [
        ("ls -la 'x y'", "\"ls -la 'x y'\""),
        ("echo \"a\" 'b'", "'echo \"a\" \\'b\\''"),
        ("echo \\ tab\there é \x01", "'echo \\\\ tab\\there é \\x01'"),
    ] {
        assert_eq!(
            team.env.ok(&member_args("exec", &id, &[command])),
            format!("Sent bash command {repr} to member m1 ({pane}).\n")
        );
    }
    // Control characters in the command are typed as visible stand-ins (docs/decisions.md, K1).
    assert_keys(
        &team,
        &pane,
        "! ls -la 'x y'\r! echo \"a\" 'b'\r! echo \\ tab␉here é ␁\r".as_bytes(),
    );
}

#[test]
fn exec_refuses_newlines_and_blank_commands() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    for (command, msg) in [
        ("ls\nrm -rf x", "command may not contain newlines."),
        ("ls\r", "command may not contain newlines."),
        ("   ", "command may not be empty."),
        ("", "command may not be empty."),
    ] {
        assert_eq!(
            team.env.fails(&member_args("exec", &id, &[command]), 2),
            usage("exec", msg),
            "{command:?}"
        );
    }
    assert_eq!(
        team.env.fails(&member_args("exec", &id, &[]), 2),
        usage("exec", "Missing argument 'COMMAND'.")
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(team.keys(&pane).is_empty());
}

// ---------------------------------------------------------------------------------------
// member ping
// ---------------------------------------------------------------------------------------

#[test]
fn ping_types_escape_the_poll_command_and_enter() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    assert_eq!(
        team.env.ok(&member_args("ping", &id, &[])),
        format!("Pinged member m1 ({pane}) — poll keystroke dispatched.\n")
    );
    let poll = b"cafleet message poll --fleet-id 1 --agent-id 3\r";
    assert_keys(&team, &pane, poll);
    assert_eq!(team.env.ok(&member_args("ping", &id, &["--quiet"])), "3\n");
    assert_eq!(
        team.env.json(&member_args("ping", &id, &[])),
        json!({"member_agent_id": 3, "pane_id": pane})
    );
    assert_keys(&team, &pane, &poll.repeat(3));
    // A ping creates no task.
    assert!(team.env.query("SELECT * FROM tasks").is_empty());
}

#[test]
fn ping_of_a_pane_that_died_fails() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    team.server.tmux(&["kill-pane", "-t", &pane]);
    assert_eq!(
        team.env.fails(&member_args("ping", &id, &[]), 1),
        format!(
            "Error: send failed: tmux send-keys did not deliver the poll-trigger keystroke to pane {pane}.\n"
        )
    );
}

// ---------------------------------------------------------------------------------------
// member nudge
// ---------------------------------------------------------------------------------------

fn nudge_args<'a>(from: &'a str, to: &'a str, text: &'a str) -> Vec<&'a str> {
    vec![
        "member",
        "nudge",
        "--fleet-id",
        "1",
        "--agent-id",
        from,
        "--member-id",
        to,
        "--text",
        text,
    ]
}

#[test]
fn nudge_stores_a_task_and_types_its_preview() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    assert_eq!(
        team.env.ok(&nudge_args("1", &id, "please report\nstatus")),
        // The stand-in shows no input box CAFleet can read: typed, not known to be taken.
        format!("Nudged m1 ({pane}) — task 1 queued, preview typed (typed (idle)).\n")
    );
    let task = team.env.query(
        "SELECT context_id, from_agent_id, to_agent_id, type, status_state, text, status_timestamp FROM tasks",
    );
    let ts = task[0][6].clone();
    assert_eq!(
        task,
        vec![vec![
            "3".to_string(),
            "1".into(),
            "3".into(),
            "unicast".into(),
            "input_required".into(),
            "please report\nstatus".into(),
            ts.clone(),
        ]]
    );
    assert_keys(
        &team,
        &pane,
        format!("[cafleet msg 1 from 1 {ts}]\nplease report⏎status\r").as_bytes(),
    );
    let v = team.env.json(&nudge_args("1", &id, "again"));
    // Typed once (as above), at the time recorded in the task.
    let at = team
        .env
        .query("SELECT delivery_last_at, typed_at FROM tasks WHERE task_id = 2");
    assert_eq!(at[0][0], at[0][1]);
    assert_ne!(at[0][0], "NULL");
    assert_eq!(
        v,
        json!({
            "member_agent_id": 3,
            "pane_id": pane,
            "task_id": 2,
            "notification_sent": true,
            "delivery": {
                "task_id": 2,
                "mode": "idle",
                "state": "typed",
                "attempts": 1,
                "last_attempt_at": at[0][0],
                "note": null,
                "typed_at": at[0][1],
                "submitted_at": null,
                "seen_at": null,
                "acked_at": null,
                "dead_at": null
            }
        })
    );
    // The nudge is an ordinary ackable message for the member.
    team.env.ok(&[
        "message",
        "ack",
        "--fleet-id",
        "1",
        "--agent-id",
        "3",
        "--task-id",
        "1",
    ]);
}

#[test]
fn nudge_of_the_director_from_a_members_pane_is_allowed() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "mon", &["--role", "monitor"]);
    let out = run_in_pane(
        &team,
        &pane,
        &nudge_args(&id, "1", "Director: m2 looks stalled"),
    );
    expect_code(&out, 0);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            // The Director's recorder pane shows no input box CAFleet can read: typed.
            "Nudged Director ({}) — task 1 queued, preview typed (typed (idle)).\n",
            team.director_pane
        )
    );
    let ts = team
        .env
        .query("SELECT status_timestamp FROM tasks WHERE task_id = 1")[0][0]
        .clone();
    let got = wait_for_bytes(&team.director_log, b"\r");
    assert_eq!(
        String::from_utf8_lossy(&got),
        format!("[cafleet msg 1 from {id} {ts}]\nDirector: m2 looks stalled\r")
    );
}

#[test]
fn nudge_that_cannot_be_pushed_is_still_queued() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    // Self-nudge: stored, never typed (nor left for the monitor: no attempt time).
    let out = team.env.ok(&nudge_args(&id, &id, "note to self"));
    assert_eq!(
        out,
        format!(
            "Nudged m1 ({pane}) — task 1 queued; preview not typed (stored (idle; sent to itself: nothing typed; it reads it when it polls)).\n"
        )
    );
    assert_eq!(
        team.env.query(
            "SELECT delivery_state, delivery_attempts, delivery_last_at, typed_at FROM tasks WHERE task_id = 1"
        ),
        vec![vec![
            "stored".to_string(),
            "0".into(),
            "NULL".into(),
            "NULL".into()
        ]]
    );
    // A pane that died: stored, the attempt fails and says why.
    team.server.tmux(&["kill-pane", "-t", &pane]);
    assert_eq!(
        team.env.ok(&nudge_args("1", &id, "dead pane")),
        format!(
            "Nudged m1 ({pane}) — task 2 queued; preview not typed (stored (idle; its pane is gone)).\n"
        )
    );
    assert_eq!(
        team.env
            .query("SELECT delivery_state, delivery_note, typed_at FROM tasks WHERE task_id = 2"),
        vec![vec![
            "stored".to_string(),
            "its pane is gone".into(),
            "NULL".into()
        ]]
    );
    assert!(team.keys(&pane).is_empty());
    assert_eq!(
        team.env.query("SELECT task_id, text FROM tasks ORDER BY 1"),
        vec![
            vec!["1".to_string(), "note to self".into()],
            vec!["2".to_string(), "dead pane".into()],
        ]
    );
}

#[test]
fn nudge_refuses_blank_text_and_unknown_targets() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    // Refused like `message send` (same text, exit 1; docs/decisions.md, O3).
    assert_eq!(
        team.env.fails(&nudge_args("1", &id, "  \n "), 1),
        "Error: message text may not be empty. Pass the message body with --text \"...\".\n"
    );
    assert_eq!(
        team.env.fails(&nudge_args("1", "99", "hi"), 1),
        "Error: Agent 99 not found\n"
    );
    // The Administrator has no placement.
    assert_eq!(
        team.env.fails(&nudge_args("1", "2", "hi"), 1),
        "Error: agent 2 has no placement row; it was not spawned via `cafleet member create`.\n"
    );
    assert_eq!(
        team.env.fails(&nudge_args("99", &id, "hi"), 1),
        "Error: Sender agent not found or not active in fleet: 99\n"
    );
    assert!(team.env.query("SELECT * FROM tasks").is_empty());
    assert!(team.keys(&pane).is_empty());
}

// ---------------------------------------------------------------------------------------
// Targets without a pane
// ---------------------------------------------------------------------------------------

#[test]
fn steering_an_agent_that_was_not_spawned_as_a_member_is_refused() {
    let team = Team::new();
    team.env.ok(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        "plain",
        "--description",
        "no pane",
    ]);
    let no_row =
        "Error: agent 3 has no placement row; it was not spawned via `cafleet member create`.\n";
    for (sub, extra) in [
        ("capture", &[][..]),
        ("send-input", &["--choice", "1"][..]),
        ("exec", &["ls"][..]),
        ("ping", &[][..]),
    ] {
        assert_eq!(team.env.fails(&member_args(sub, "3", extra), 1), no_row);
        assert_eq!(
            team.env.fails(&member_args(sub, "42", extra), 1),
            "Error: Agent 42 not found\n"
        );
    }
    assert!(director_bytes(&team).is_empty());
}

// ---------------------------------------------------------------------------------------
// tmux availability (every member command but list)
// ---------------------------------------------------------------------------------------

#[test]
fn member_commands_but_list_need_tmux_on_path_and_a_tmux_session() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "member",
            "create",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--name",
            "x",
            "--description",
            "d",
        ],
        member_args("delete", &id, &[]),
        member_args("capture", &id, &[]),
        member_args("send-input", &id, &["--choice", "1"]),
        member_args("exec", &id, &["ls"]),
        member_args("ping", &id, &[]),
        nudge_args("1", &id, "hi"),
    ];
    let before = rows(&team.env);
    for args in &commands {
        // No tmux on PATH (the stand-ins still are).
        let out = team
            .env
            .cmd()
            .env("PATH", &team.bin)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            expect_code(&out, 1),
            "Error: tmux binary not found on PATH\n",
            "{args:?}"
        );
        // tmux on PATH, but not inside a tmux session.
        let out = team
            .env
            .cmd()
            .env_remove("TMUX")
            .env_remove("TMUX_PANE")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            expect_code(&out, 1),
            "Error: cafleet member commands must be run inside a tmux session\n",
            "{args:?}"
        );
    }
    // Blank text is refused before any tmux check, as send and broadcast refuse it
    // (docs/decisions.md, L4 and O3).
    // Neither tmux on PATH nor a session: argument errors still come first.
    let untmuxed = |args: &[&str]| {
        let out = team
            .env
            .cmd()
            .env("PATH", &team.bin)
            .env_remove("TMUX")
            .env_remove("TMUX_PANE")
            .args(args)
            .output()
            .unwrap();
        expect_code(&out, 1)
    };
    assert_eq!(
        untmuxed(&nudge_args("1", &id, "  ")),
        "Error: message text may not be empty. Pass the message body with --text \"...\".\n"
    );
    // So is a blank member name (docs/decisions.md, MEM-1); nothing is registered, no pane made.
    let mut blank_name = commands[0].clone();
    blank_name[7] = " ";
    assert_eq!(
        untmuxed(&blank_name),
        "Error: agent name may not be empty. Pass a name with --name \"...\".\n"
    );
    // create also needs the calling pane.
    let out = team
        .env
        .cmd()
        .env_remove("TMUX_PANE")
        .args(&commands[0])
        .output()
        .unwrap();
    assert_eq!(
        expect_code(&out, 1),
        "Error: TMUX_PANE is not set; not running inside a tmux pane\n"
    );
    assert_eq!(rows(&team.env), before);
    assert!(team.keys(&pane).is_empty());
    assert!(pane_alive(&team, &pane));
}
