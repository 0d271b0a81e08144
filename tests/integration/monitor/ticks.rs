//! What each tick types: poll triggers into due agents' own panes when there is no
//! monitoring member, one wake line into the monitoring member's pane when there is
//! (docs/decisions.md, M1–M3), schedules (not yet due, disabled), dead panes, and
//! surviving a failing tmux.

use super::*;

// Poll triggers (no monitoring member).

#[test]
fn start_prints_one_running_line_then_types_exactly_the_poll_trigger_into_each_due_pane() {
    let team = Team::new();
    let (m1, p1) = spawn_member(&team, "m1", &[]);
    let (m2, p2) = spawn_member(&team, "m2", &[]);
    set_schedule(&team, m2, &["--disable"]);
    let mut mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    let due = mon.wait_due(2);
    // Both lines carry the tick's single `now`, which is what was stamped.
    let ts = due[0].0.clone();
    assert_spec_ts(&ts);
    assert_eq!(
        due,
        vec![
            (
                ts.clone(),
                "due agent 1 (Director) -> poll trigger".to_string()
            ),
            (ts.clone(), format!("due agent {m1} (m1) -> poll trigger")),
        ]
    );
    assert_eq!(last_ping(&team.env, 1), ts);
    assert_eq!(last_ping(&team.env, m1), ts);
    // Later ticks find nobody due (180 s / 720 s), and the disabled member is never woken.
    wait_ticks(&team.env, 1, 3);
    assert!(mon.running());
    assert_eq!(mon.due().len(), 2, "{:?}", mon.lines());
    let expected_m1 = trigger(1, m1);
    wait_for(DEADLINE, || team.keys(&p1).len() >= expected_m1.len());
    assert_eq!(String::from_utf8_lossy(&team.keys(&p1)), expected_m1);
    let expected_dir = trigger(1, 1);
    wait_for(DEADLINE, || {
        director_keys(&team).len() >= expected_dir.len()
    });
    assert_eq!(String::from_utf8_lossy(&director_keys(&team)), expected_dir);
    assert_eq!(team.keys(&p2), b"", "the disabled member got keystrokes");
    assert_eq!(last_ping(&team.env, m2), "NULL");
    // The loop owns *when*, never *what*: no message was created.
    assert_eq!(team.env.query("SELECT count(*) FROM tasks")[0][0], "0");
    assert_eq!(mon.stderr(), "");
}

#[test]
fn an_agent_becomes_due_again_once_its_interval_has_elapsed() {
    let team = Team::new();
    let (m1, p1) = spawn_member(&team, "m1", &[]);
    set_schedule(&team, m1, &["--interval", "2"]);
    let mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    // Director once (180 s), m1 on the first tick and again after 2 s.
    let due = mon.wait_due(3);
    assert_eq!(due[2].1, format!("due agent {m1} (m1) -> poll trigger"));
    let gap = parse(&due[2].0) - parse(&due[0].0);
    // Ticks are 1 s apart give or take scheduling jitter, which the due check forgives
    // (DUE_SLACK_SECONDS): the second trigger comes on the second tick, not the third.
    assert!(
        gap >= chrono::Duration::milliseconds(1750) && gap < chrono::Duration::seconds(4),
        "second trigger {gap:?} after the first"
    );
    let twice = trigger(1, m1).repeat(2);
    wait_for(DEADLINE, || team.keys(&p1).len() >= twice.len());
    assert_eq!(String::from_utf8_lossy(&team.keys(&p1)), twice);
}

// Wake lines (a monitoring member exists).

#[test]
fn with_a_monitoring_member_only_the_watcher_gets_one_wake_line_per_tick_with_due_agents() {
    let team = Team::new();
    let (m1, p1) = spawn_member(&team, "m1", &[]);
    let (w, pw) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    for agent in [1, m1] {
        set_schedule(&team, agent, &["--interval", "1"]);
    }
    let mut mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    let first = mon.wait_due(2);
    assert_eq!(
        first[..2]
            .iter()
            .map(|(_, r)| r.clone())
            .collect::<Vec<_>>(),
        vec![
            "due agent 1 (Director) -> wake monitor".to_string(),
            format!("due agent {m1} (m1) -> wake monitor"),
        ]
    );
    assert_eq!(first[0].0, first[1].0, "one tick, one timestamp");
    assert_eq!(last_ping(&team.env, 1), first[0].0);
    // Let a few more ticks run, then stop and compare everything that was typed.
    let ok = wait_for(DEADLINE, || by_tick(&mon.due()).len() >= 3);
    assert!(ok, "{:?}", mon.lines());
    mon.signal("TERM");
    assert_eq!(mon.wait_exit(DEADLINE).code(), Some(0));
    let ticks = by_tick(&mon.due());
    let expected: Vec<String> = ticks
        .iter()
        .map(|(_, rests)| {
            let names: Vec<(&str, i64, &str)> = rests
                .iter()
                .map(|r| {
                    if r == "due agent 1 (Director) -> wake monitor" {
                        ("director", 1, "Director")
                    } else {
                        assert_eq!(r, &format!("due agent {m1} (m1) -> wake monitor"));
                        ("member", m1, "m1")
                    }
                })
                .collect();
            wake(&names, 1)
        })
        .collect();
    let total: usize = expected.iter().map(|l| l.len() + 1).sum();
    wait_for(DEADLINE, || team.keys(&pw).len() >= total);
    assert_eq!(typed_lines(&team.keys(&pw)), expected);
    // The watched panes get nothing at all, and the watcher is never itself watched.
    assert_eq!(director_keys(&team), b"");
    assert_eq!(team.keys(&p1), b"");
    assert!(
        !mon.lines()
            .iter()
            .any(|l| l.contains(&format!("agent {w} ")))
    );
    assert_eq!(mon.stderr(), "");
}

#[test]
fn not_yet_due_and_disabled_agents_are_left_out_until_due_or_enabled() {
    let team = Team::new();
    let (m1, p1) = spawn_member(&team, "m1", &[]);
    let (m2, p2) = spawn_member(&team, "m2", &[]);
    let (_, pw) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    set_schedule(&team, m2, &["--disable"]);
    let mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    let first_wake = wake(&[("director", 1, "Director"), ("member", m1, "m1")], 1);
    team.keys_contain(&pw, format!("{first_wake}\r").as_bytes());
    mon.wait_due(2);
    // Director (180 s) and m1 (720 s) are not due again; m2 is disabled.
    wait_ticks(&team.env, 1, 3);
    assert_eq!(typed_lines(&team.keys(&pw)), vec![first_wake.clone()]);
    assert_eq!(mon.due().len(), 2, "{:?}", mon.lines());
    assert_eq!(last_ping(&team.env, m2), "NULL");
    // Enabling takes effect on the next tick: m2 alone is due.
    set_schedule(&team, m2, &["--enable"]);
    let second_wake = wake(&[("member", m2, "m2")], 1);
    team.keys_contain(&pw, format!("{second_wake}\r").as_bytes());
    let due = mon.wait_due(3);
    assert_eq!(due[2].1, format!("due agent {m2} (m2) -> wake monitor"));
    wait_ticks(&team.env, 1, 2);
    assert_eq!(
        typed_lines(&team.keys(&pw)),
        vec![first_wake, second_wake],
        "exactly one wake per tick that had due agents"
    );
    assert_eq!(director_keys(&team), b"");
    assert_eq!(team.keys(&p1), b"");
    assert_eq!(team.keys(&p2), b"");
}

#[test]
fn a_watcher_wake_also_names_agents_due_within_a_quarter_interval() {
    let team = Team::new();
    let (m1, p1) = spawn_member(&team, "m1", &[]);
    let (m2, p2) = spawn_member(&team, "m2", &[]);
    let (_, pw) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    set_schedule(&team, 1, &["--disable"]);
    for agent in [m1, m2] {
        set_schedule(&team, agent, &["--interval", "8"]);
    }
    // m1 has never been woken (due); m2 was woken 6 s ago: due in 2 s, a quarter of its
    // interval, so the same wake names it instead of a second one a tick or two later.
    let six_ago = sql_ts(&team.env, -6);
    team.env.query(&format!(
        "UPDATE monitor_config SET last_ping_at = '{six_ago}' WHERE agent_id = {m2}"
    ));
    let mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    let line = wake(&[("member", m1, "m1"), ("member", m2, "m2")], 1);
    team.keys_contain(&pw, format!("{line}\r").as_bytes());
    let due = mon.wait_due(2);
    assert_eq!(due[0].0, due[1].0, "one tick, one wake: {due:?}");
    assert_eq!(
        last_ping(&team.env, m1),
        last_ping(&team.env, m2),
        "stamped together"
    );
    // Stamped together, they stay in step: no second wake for m2 alone.
    wait_ticks(&team.env, 1, 3);
    assert_eq!(typed_lines(&team.keys(&pw)), vec![line]);
    assert_eq!(team.keys(&p1), b"");
    assert_eq!(team.keys(&p2), b"");
}

#[test]
fn wake_lines_sanitise_agent_names() {
    let team = Team::new();
    let (m1, _) = spawn_member(&team, "Evil`x`$(id)\ttab", &[]);
    let (_, pw) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    set_schedule(&team, 1, &["--disable"]);
    let mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    let line = wake(&[("member", m1, "Evilˋxˋ$﹙id)⏎tab")], 1);
    let keys = team.keys_contain(&pw, format!("{line}\r").as_bytes());
    assert_eq!(typed_lines(&keys), vec![line]);
    // stdout prints the name raw, as 0.14 does.
    assert_eq!(
        mon.wait_due(1)[0].1,
        format!("due agent {m1} (Evil`x`$(id)\ttab) -> wake monitor")
    );
}

#[test]
fn a_member_pane_killed_mid_run_is_survived_and_shown_dead_in_status() {
    let team = Team::new();
    let (m1, _) = spawn_member(&team, "m1", &[]);
    let (m2, p2) = spawn_member(&team, "m2", &[]);
    let (_, pw) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    for agent in [1, m1, m2] {
        set_schedule(&team, agent, &["--interval", "1"]);
    }
    let mut mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    let m2_line = format!("due agent {m2} (m2) -> wake monitor");
    assert!(wait_for(DEADLINE, || mon
        .due()
        .iter()
        .any(|(_, r)| r == &m2_line)));
    team.server.tmux(&["kill-pane", "-t", &p2]);
    let ticks_at_kill = by_tick(&mon.due()).len();
    let stamp_after_kill = {
        // A tick that had already listed the panes may still stamp m2 once.
        wait_ticks(&team.env, 1, 2);
        last_ping(&team.env, m2)
    };
    // Wakes go on for the others; m2 is never named again nor stamped again.
    let ok = wait_for(DEADLINE, || {
        by_tick(&mon.due())
            .iter()
            .skip(ticks_at_kill + 1)
            .filter(|(_, r)| r.iter().any(|l| l.starts_with("due agent 1 ")))
            .count()
            >= 2
    });
    assert!(
        ok,
        "wakes stopped after a member pane died: {:?}",
        mon.lines()
    );
    let later = by_tick(&mon.due());
    for (ts, rests) in later.iter().skip(ticks_at_kill + 1) {
        assert!(!rests.contains(&m2_line), "dead m2 woken at {ts}");
    }
    let typed = String::from_utf8_lossy(&team.keys(&pw)).into_owned();
    let complete: Vec<&str> = typed.split('\r').collect();
    // The last element is a wake still being typed (or empty); look at the two before it.
    for line in complete.iter().rev().skip(1).take(2) {
        assert!(!line.contains("(m2)"), "{line}");
    }
    assert_eq!(last_ping(&team.env, m2), stamp_after_kill);
    assert!(mon.running(), "the monitor died with the member pane");
    assert_eq!(mon.stderr(), "");
    // Status: still running, m2's pane reported dead, the others alive.
    let st = status_json(&team.env, 1);
    assert_eq!(st["runtime"]["running"], true);
    let agents = st["agents"].as_array().unwrap();
    let by_id = |id: i64| agents.iter().find(|a| a["agent_id"] == id).unwrap().clone();
    assert_eq!(by_id(m2)["pane_id"], json!(p2));
    assert_eq!(by_id(m2)["pane_alive"], json!(false));
    assert_eq!(by_id(m1)["pane_alive"], json!(true));
    assert_eq!(by_id(1)["pane_alive"], json!(true));
    let text = team.env.ok(&["monitor", "status", "--fleet-id", "1"]);
    let row = text
        .lines()
        .find(|l| l.starts_with(&format!("  {m2:<8}  m2 ")))
        .unwrap_or_else(|| panic!("no row for m2:\n{text}"));
    assert!(row.ends_with(&format!("  {p2} (dead)")), "{row:?}");
}

#[test]
fn losing_the_watcher_pane_falls_back_to_poll_triggers() {
    let team = Team::new();
    let (m1, p1) = spawn_member(&team, "m1", &[]);
    let (_, pw) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    set_schedule(&team, 1, &["--disable"]);
    set_schedule(&team, m1, &["--interval", "1"]);
    let mut mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    team.keys_contain(&pw, wake(&[("member", m1, "m1")], 1).as_bytes());
    team.server.tmux(&["kill-pane", "-t", &pw]);
    let poll = format!("due agent {m1} (m1) -> poll trigger");
    let ok = wait_for(DEADLINE, || mon.due().iter().any(|(_, r)| r == &poll));
    assert!(ok, "{:?}", mon.lines());
    team.keys_contain(&p1, trigger(1, m1).as_bytes());
    mon.signal("TERM");
    assert_eq!(mon.wait_exit(DEADLINE).code(), Some(0));
    let polls = mon.due().iter().filter(|(_, r)| r == &poll).count();
    let all = trigger(1, m1).repeat(polls);
    wait_for(DEADLINE, || team.keys(&p1).len() >= all.len());
    assert_eq!(String::from_utf8_lossy(&team.keys(&p1)), all);
    // A tick that listed the panes just before the kill finds the watcher gone when it
    // types, and says so; otherwise the loop is silent.
    let stderr = mon.stderr();
    assert!(
        stderr.lines().all(|l| l.starts_with(&format!(
            "Warning: cannot wake the monitoring member in pane {pw} (its pane is gone)"
        ))),
        "{stderr}"
    );
}

#[test]
fn a_watcher_pane_that_runs_a_shell_is_reported_and_the_due_agents_get_poll_triggers() {
    let team = Team::new();
    let (m1, p1) = spawn_member(&team, "m1", &[]);
    let (_, pw) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    // The watcher's coding agent exited back to a shell (its pane lives on).
    team.server.tmux(&[
        "respawn-pane",
        "-k",
        "-t",
        &pw,
        "sh",
        "-c",
        "exec bash --norc",
    ]);
    assert!(wait_for(DEADLINE, || team
        .server
        .tmux(&[
            "display-message",
            "-p",
            "-t",
            &pw,
            "#{pane_current_command}"
        ])
        .trim()
        == "bash"));
    set_schedule(&team, 1, &["--disable"]);
    let mut mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    let due = mon.wait_due(1);
    assert_eq!(due[0].1, format!("due agent {m1} (m1) -> poll trigger"));
    team.keys_contain(&p1, trigger(1, m1).as_bytes());
    mon.signal("TERM");
    assert_eq!(mon.wait_exit(DEADLINE).code(), Some(0));
    assert_eq!(
        mon.stderr().lines().next().unwrap_or_default(),
        format!(
            "Warning: cannot wake the monitoring member in pane {pw} (its pane runs the shell bash); sending poll triggers to the due agents instead"
        )
    );
    // Nothing was typed into the shell (docs/decisions.md, K2).
    let screen = team.server.tmux(&["capture-pane", "-p", "-t", &pw]);
    assert!(!screen.contains("monitor"), "{screen}");
}

// Surviving tmux failures.

/// Installs an executable `tmux` in `dir` that fails while `flag` exists and runs `real`
/// otherwise.
fn failing_tmux(dir: &Path, flag: &Path, real: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let script = format!(
        "#!/bin/sh\nif [ -e '{}' ]; then echo 'simulated tmux outage' >&2; exit 1; fi\nexec '{}' \"$@\"\n",
        flag.display(),
        real.display()
    );
    let path = dir.join("tmux");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn real_tmux() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("tmux"))
        .find(|p| p.is_file())
        .expect("tmux on PATH")
}

#[test]
fn a_failing_tmux_is_reported_per_tick_and_wakes_resume_when_it_recovers() {
    let team = Team::new();
    let (m1, _) = spawn_member(&team, "m1", &[]);
    let (_, pw) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    set_schedule(&team, 1, &["--disable"]);
    set_schedule(&team, m1, &["--interval", "1"]);
    let wrapper = team.env.dir.path().join("flaky-bin");
    let flag = team.env.dir.path().join("tmux-down");
    failing_tmux(&wrapper, &flag, &real_tmux());
    let team_path = team
        .env
        .vars
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap();
    let path = format!("{}:{team_path}", wrapper.display());
    let mut mon = Monitor::spawn(&team.env, 1, 1, Some(&path));
    mon.wait_started(1, 1);
    let line = wake(&[("member", m1, "m1")], 1);
    team.keys_contain(&pw, format!("{line}\r").as_bytes());
    // tmux goes down right after a wake was completed (not between its text and its Enter):
    // ticks go on (heartbeat), fail visibly, and wake nobody.
    let enters = || team.keys(&pw).iter().filter(|&&b| b == b'\r').count();
    let seen = enters();
    assert!(wait_for(DEADLINE, || enters() > seen), "no second wake");
    std::fs::write(&flag, b"").unwrap();
    wait_ticks(&team.env, 1, 1);
    let wakes_during = enters();
    let due_during = mon.due().len();
    wait_ticks(&team.env, 1, 3);
    assert!(mon.running(), "a tmux failure ended the loop");
    assert_eq!(typed_lines(&team.keys(&pw)).len(), wakes_during);
    assert_eq!(enters(), wakes_during);
    assert_eq!(mon.due().len(), due_during);
    // One warning per failed tick, naming the server and tmux's own error.
    let err = mon.stderr();
    let warnings: Vec<&str> = err.split_inclusive("outage\n").collect();
    assert!(
        warnings.len() >= 3,
        "no per-tick warning on stderr: {err:?}"
    );
    for w in &warnings {
        assert!(
            w.starts_with(
                "Warning: monitor tick failed (will retry next tick): cannot list the panes of tmux server /"
            ) && w.ends_with(" list-panes -a -F #{pane_id}\nstderr: simulated tmux outage\n"),
            "{w:?}"
        );
    }
    // tmux comes back: wakes resume.
    std::fs::remove_file(&flag).unwrap();
    let ok = wait_for(DEADLINE, || {
        enters() > wakes_during && mon.due().len() > due_during
    });
    assert!(ok, "wakes did not resume: {:?}", mon.lines());
    mon.signal("TERM");
    assert_eq!(mon.wait_exit(DEADLINE).code(), Some(0));
    let typed = typed_lines(&team.keys(&pw));
    assert!(typed.iter().all(|l| l == &line), "{typed:?}");
    assert_eq!(runtime_row(&team.env, 1)[0][0], "NULL");
}
