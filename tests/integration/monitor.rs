//! `cafleet monitor start|status|config` against a real private tmux server with stand-in
//! coding agents (docs/decisions.md, M1–M3): the start-up line, poll triggers into due
//! agents' own panes, one wake line per tick into a monitoring member's pane, schedules
//! (not yet due, disabled), dead panes, stopping (signals, `fleet delete`), the atomic slot,
//! surviving a failing tmux, `monitor status` and `monitor config`, and enrollment (fresh
//! and adopted databases).

use crate::support::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// A `cafleet monitor start` child process.
// ---------------------------------------------------------------------------------------

/// A running `cafleet monitor start`; its stdout lines and stderr are collected by reader
/// threads. Killed (SIGKILL) and reaped on drop if still running.
pub(crate) struct Monitor {
    child: Child,
    pid: u32,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Monitor {
    /// `cafleet monitor start --fleet-id <fleet> --tick <tick>`, optionally with another PATH.
    fn spawn(env: &Env, fleet: i64, tick: u32, path: Option<&str>) -> Monitor {
        Monitor::spawn_with(env, fleet, tick, path, &[])
    }

    /// [`Monitor::spawn`] with more options (e.g. `--redeliver-after 1`).
    pub(crate) fn spawn_with(
        env: &Env,
        fleet: i64,
        tick: u32,
        path: Option<&str>,
        extra: &[&str],
    ) -> Monitor {
        let mut cmd = env.std_cmd();
        cmd.args([
            "monitor",
            "start",
            "--fleet-id",
            &fleet.to_string(),
            "--tick",
            &tick.to_string(),
        ]);
        cmd.args(extra);
        if let Some(p) = path {
            cmd.env("PATH", p);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn monitor start");
        let pid = child.id();
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let o = out.clone();
        let r1 = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => o.lock().unwrap().push(l),
                    Err(_) => break,
                }
            }
        });
        let e = err.clone();
        let r2 = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stderr = stderr;
            loop {
                match stderr.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => e
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        });
        Monitor {
            child,
            pid,
            out,
            err,
            readers: vec![r1, r2],
            status: None,
        }
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.out.lock().unwrap().clone()
    }

    pub(crate) fn stderr(&self) -> String {
        self.err.lock().unwrap().clone()
    }

    /// Waits for the start-up line (docs/decisions.md, M3) and checks it exactly.
    fn wait_started(&self, fleet: i64, tick: u32) {
        let ok = wait_for(DEADLINE, || !self.lines().is_empty());
        assert!(ok, "no start-up line; stderr: {}", self.stderr());
        assert_eq!(self.lines()[0], started_line(fleet, self.pid, tick));
    }

    /// The due lines printed so far, as (timestamp, rest).
    fn due(&self) -> Vec<(String, String)> {
        self.lines()
            .iter()
            .skip(1)
            .map(|l| {
                let (ts, rest) = l.split_once(' ').unwrap_or((l, ""));
                (ts.to_string(), rest.to_string())
            })
            .collect()
    }

    /// Waits until at least `n` due lines were printed; returns them.
    fn wait_due(&self, n: usize) -> Vec<(String, String)> {
        let ok = wait_for(DEADLINE, || self.due().len() >= n);
        assert!(
            ok,
            "expected {n} due lines, got {:?}; stderr: {}",
            self.lines(),
            self.stderr()
        );
        self.due()
    }

    /// Sends a signal by name (`TERM`, `INT`, `HUP`, `KILL`) with the `kill` utility.
    fn signal(&self, sig: &str) {
        let st = std::process::Command::new("kill")
            .args(["-s", sig, &self.pid.to_string()])
            .status()
            .expect("kill");
        assert!(st.success(), "kill -s {sig} {} failed", self.pid);
    }

    /// Whether the process is still running.
    fn running(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match self.child.try_wait().expect("try_wait") {
            Some(s) => {
                self.status = Some(s);
                false
            }
            None => true,
        }
    }

    /// Waits (up to `deadline`) for the process to exit; reaps it and drains its output.
    fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let exited = wait_for(deadline, || !self.running());
        assert!(
            exited,
            "monitor {} still running after {deadline:?}; stdout: {:?}",
            self.pid,
            self.lines()
        );
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.status.unwrap()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn started_line(fleet: i64, pid: u32, tick: u32) -> String {
    format!(
        "monitor running for fleet {fleet} (pid {pid}, tick {tick}s); stop it with Ctrl-C or SIGTERM, or by deleting the fleet."
    )
}

// ---------------------------------------------------------------------------------------
// Members, keystrokes, schedules.
// ---------------------------------------------------------------------------------------

/// Spawns a member of fleet 1 and waits until its stand-in reads raw keystrokes.
/// Returns (agent id, pane id).
fn spawn_member(team: &Team, name: &str, extra: &[&str]) -> (i64, String) {
    let v = team.create(name, extra);
    let id = v["agent_id"].as_i64().unwrap_or_else(|| panic!("{v}"));
    let pane = v["placement"]["tmux_pane_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no pane in {v}"))
        .to_string();
    team.argv(&pane);
    let mut screen = String::new();
    let ready = wait_for(DEADLINE, || {
        screen = team.server.tmux(&["capture-pane", "-p", "-t", &pane]);
        screen.contains("stand-in ready")
    });
    assert!(ready, "stand-in in {pane} not ready:\n{screen}");
    (id, pane)
}

/// Everything the Director's recorder pane has received.
fn director_keys(team: &Team) -> Vec<u8> {
    std::fs::read(&team.director_log).unwrap_or_default()
}

/// The poll trigger as the stand-in receives it: the text, then Enter as CR
/// (docs/decisions.md, M1).
fn trigger(fleet: i64, agent: i64) -> String {
    format!("cafleet message poll --fleet-id {fleet} --agent-id {agent}\r")
}

/// The wake line (0.14's wording) for due agents given as (role, id, name).
fn wake(due: &[(&str, i64, &str)], director: i64) -> String {
    let list = due
        .iter()
        .map(|(role, id, name)| format!("{role} {id} ({name})"))
        .collect::<Vec<_>>()
        .join(", ");
    let n = due.len();
    let noun = if n == 1 { "agent" } else { "agents" };
    format!(
        "[monitor] wake: {n} {noun} due — {list}. Capture each named pane read-only, with the Director pane ({director}) always inspected; judge each active/idle and progressing/stalled; re-engage the Director via cafleet member nudge when it is idle with un-acked work or any due agent looks stalled."
    )
}

/// `monitor config --fleet-id 1 --agent-id <agent> <extra>` (asserts success).
fn set_schedule(team: &Team, agent: i64, extra: &[&str]) -> String {
    let id = agent.to_string();
    let mut args = vec!["monitor", "config", "--fleet-id", "1", "--agent-id", &id];
    args.extend_from_slice(extra);
    team.env.ok(&args)
}

/// `last_ping_at` of an agent (`NULL` when never woken).
fn last_ping(env: &Env, agent: i64) -> String {
    env.query(&format!(
        "SELECT last_ping_at FROM monitor_config WHERE agent_id = {agent}"
    ))[0][0]
        .clone()
}

/// The fleet's `monitor_runtime` row as (pid, started_at, last_tick_at, tick_seconds).
fn runtime_row(env: &Env, fleet: i64) -> Vec<Vec<String>> {
    env.query(&format!(
        "SELECT pid, started_at, last_tick_at, tick_seconds FROM monitor_runtime WHERE fleet_id = {fleet}"
    ))
}

/// Waits until the fleet's heartbeat has moved `n` times (i.e. `n` more ticks ran).
fn wait_ticks(env: &Env, fleet: i64, n: usize) {
    let current = || runtime_row(env, fleet).first().map(|r| r[2].clone());
    let mut seen = current();
    let mut moved = 0;
    let ok = wait_for(Duration::from_secs(10 + 2 * n as u64), || {
        let now = current();
        if now != seen {
            seen = now;
            moved += 1;
        }
        moved >= n
    });
    assert!(
        ok,
        "the heartbeat of fleet {fleet} moved only {moved} times"
    );
}

/// The due lines grouped by tick timestamp (in order of appearance).
fn by_tick(due: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (ts, rest) in due {
        match groups.last_mut() {
            Some((t, v)) if t == ts => v.push(rest.clone()),
            _ => groups.push((ts.clone(), vec![rest.clone()])),
        }
    }
    groups
}

/// Splits a stand-in's input into the lines typed (each ended by Enter = CR).
fn typed_lines(keys: &[u8]) -> Vec<String> {
    let text = String::from_utf8(keys.to_vec()).expect("utf-8 keystrokes");
    assert!(
        text.is_empty() || text.ends_with('\r'),
        "a line was typed without Enter: {text:?}"
    );
    text.split_terminator('\r').map(str::to_string).collect()
}

fn status_json(env: &Env, fleet: i64) -> Value {
    env.json(&["monitor", "status", "--fleet-id", &fleet.to_string()])
}

fn stopped_runtime(tick: Value) -> Value {
    json!({
        "running": false,
        "pid": null,
        "tick_seconds": tick,
        "last_tick_at": null,
        "last_tick_age_seconds": null,
        "started_at": null
    })
}

/// A timestamp in the stored format, `secs` seconds from now (SQLite's clock).
fn sql_ts(env: &Env, secs: i64) -> String {
    env.query(&format!(
        "SELECT strftime('%Y-%m-%dT%H:%M:%S', 'now', '{secs} seconds') || '.000000+00:00'"
    ))[0][0]
        .clone()
}

fn parse(ts: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(ts).unwrap_or_else(|e| panic!("bad timestamp {ts}: {e}"))
}

fn assert_spec_ts(ts: &str) {
    let shape = redact_ts(ts);
    assert_eq!(shape, "<TS>", "{ts}");
    assert!(ts.ends_with("+00:00") && ts.len() == 32, "{ts}");
}

// ---------------------------------------------------------------------------------------
// Poll triggers (no monitoring member).
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Wake lines (a monitoring member exists).
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Stopping.
// ---------------------------------------------------------------------------------------

#[test]
fn fleet_delete_stops_the_loop_with_exit_0_within_a_couple_of_ticks() {
    let team = Team::new();
    spawn_member(&team, "m1", &[]);
    let mut mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    mon.wait_due(2);
    team.env.ok(&["fleet", "delete", "1"]);
    let deleted = Instant::now();
    let status = mon.wait_exit(Duration::from_secs(5));
    assert!(
        deleted.elapsed() < Duration::from_secs(3),
        "took {:?}",
        deleted.elapsed()
    );
    assert_eq!(status.code(), Some(0));
    assert_eq!(mon.stderr(), "");
    assert_eq!(mon.lines().len(), 3, "{:?}", mon.lines());
    assert!(runtime_row(&team.env, 1).is_empty());
    assert_eq!(
        team.env.fails(&["monitor", "status", "--fleet-id", "1"], 1),
        "Error: fleet 1 not found. List live fleets with 'cafleet fleet list'.\n"
    );
    assert_eq!(
        team.env
            .fails(&["monitor", "start", "--fleet-id", "1", "--tick", "1"], 1),
        "Error: fleet 1 not found. List live fleets with 'cafleet fleet list'.\n"
    );
}

/// Starts a `--tick 2` monitor, sends `sig`, and checks the clean stop (docs/decisions.md, M2).
fn stops_cleanly_on(sig: &str) {
    let team = Team::new();
    let mut mon = Monitor::spawn(&team.env, 1, 2, None);
    mon.wait_started(1, 2);
    mon.wait_due(1);
    let st = status_json(&team.env, 1);
    assert_eq!(st["runtime"]["running"], true);
    assert_eq!(st["runtime"]["pid"], json!(mon.pid));
    mon.signal(sig);
    let status = mon.wait_exit(Duration::from_secs(3));
    assert_eq!(status.code(), Some(0), "{sig}: {status:?}");
    assert_eq!(mon.stderr(), "", "{sig}");
    assert_eq!(
        mon.lines(),
        vec![
            started_line(1, mon.pid, 2),
            format!(
                "{} due agent 1 (Director) -> poll trigger",
                last_ping(&team.env, 1)
            ),
        ]
    );
    assert_eq!(
        runtime_row(&team.env, 1),
        vec![vec!["NULL", "NULL", "NULL", "2"]]
    );
    assert_eq!(
        status_json(&team.env, 1)["runtime"],
        stopped_runtime(json!(2))
    );
    // A cleared slot is taken again at once.
    let again = Monitor::spawn(&team.env, 1, 1, None);
    again.wait_started(1, 1);
}

#[test]
fn sigterm_stops_the_monitor_with_exit_0_and_clears_the_slot() {
    stops_cleanly_on("TERM");
}

#[test]
fn sigint_stops_the_monitor_with_exit_0_and_clears_the_slot() {
    stops_cleanly_on("INT");
}

#[test]
fn sighup_stops_the_monitor_with_exit_0_and_clears_the_slot() {
    stops_cleanly_on("HUP");
}

#[test]
fn a_signal_during_a_long_tick_stops_the_monitor_at_once() {
    let team = Team::new();
    set_schedule(&team, 1, &["--disable"]);
    // Any tick from 1 second runs, as in 0.14 (here two hours).
    let mut mon = Monitor::spawn(&team.env, 1, 7200, None);
    mon.wait_started(1, 7200);
    // The first tick (which runs at once) has heartbeated: the loop is in its long wait.
    let ok = wait_for(DEADLINE, || {
        let r = runtime_row(&team.env, 1);
        r[0][1] != r[0][2]
    });
    assert!(ok, "no first tick: {:?}", runtime_row(&team.env, 1));
    let sent = Instant::now();
    mon.signal("TERM");
    assert_eq!(mon.wait_exit(Duration::from_secs(3)).code(), Some(0));
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(
        runtime_row(&team.env, 1),
        vec![vec!["NULL", "NULL", "NULL", "7200"]]
    );
}

#[test]
fn a_killed_monitor_never_leaks_its_pid_and_a_new_start_succeeds_at_once() {
    let team = Team::new();
    let mut mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    mon.signal("KILL");
    assert_eq!(mon.wait_exit(DEADLINE).code(), None, "killed by a signal");
    // The row still names the dead pid; status must not.
    assert_eq!(runtime_row(&team.env, 1)[0][0], mon.pid.to_string());
    assert_eq!(
        status_json(&team.env, 1)["runtime"],
        stopped_runtime(json!(1))
    );
    let text = team.env.ok(&["monitor", "status", "--fleet-id", "1"]);
    assert_eq!(text.lines().next(), Some("monitor: stopped"));
    let next = Monitor::spawn(&team.env, 1, 1, None);
    next.wait_started(1, 1);
    assert_eq!(runtime_row(&team.env, 1)[0][0], next.pid.to_string());
    assert_eq!(status_json(&team.env, 1)["runtime"]["pid"], json!(next.pid));
}

#[test]
fn a_stale_heartbeat_is_reported_stopped_even_if_its_pid_lives_and_is_reclaimed() {
    let team = Team::new();
    // A live pid (this test process) with a fresh heartbeat holds the slot...
    let me = std::process::id();
    let fresh = sql_ts(&team.env, 0);
    team.env.query(&format!(
        "INSERT INTO monitor_runtime (fleet_id, pid, started_at, last_tick_at, tick_seconds) VALUES (1, {me}, '{fresh}', '{fresh}', 1)"
    ));
    let st = status_json(&team.env, 1);
    assert_eq!(st["runtime"]["running"], true);
    assert_eq!(st["runtime"]["pid"], json!(me));
    assert_eq!(
        team.env
            .fails(&["monitor", "start", "--fleet-id", "1", "--tick", "1"], 1),
        "Error: monitor already running for fleet 1\n"
    );
    // ...until its heartbeat is older than max(3 × tick, 15) s.
    let old = sql_ts(&team.env, -60);
    team.env.query(&format!(
        "UPDATE monitor_runtime SET last_tick_at = '{old}', started_at = '{old}' WHERE fleet_id = 1"
    ));
    assert_eq!(
        status_json(&team.env, 1)["runtime"],
        stopped_runtime(json!(1))
    );
    let text = team.env.ok(&["monitor", "status", "--fleet-id", "1"]);
    assert!(!text.contains(&me.to_string()), "{text}");
    let mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    assert_eq!(runtime_row(&team.env, 1)[0][0], mon.pid.to_string());
}

#[test]
fn a_monitor_on_another_host_is_judged_by_its_heartbeat_and_ours_by_its_pid() {
    let team = Team::new();
    // A pid that exists nowhere here (above pid_max), with a fresh heartbeat.
    let ghost = 4_999_999;
    let fresh = sql_ts(&team.env, 0);
    team.env.query(&format!(
        "INSERT INTO monitor_runtime (fleet_id, pid, started_at, last_tick_at, tick_seconds, host) VALUES (1, {ghost}, '{fresh}', '{fresh}', 1, 'other-box pid:[1]')"
    ));
    // Another host or pid namespace: its pid cannot be probed from here, so the fresh
    // heartbeat says it runs, and a second start is refused (docs/decisions.md, MON-1).
    let st = status_json(&team.env, 1);
    assert_eq!(st["runtime"]["running"], true, "{st}");
    assert_eq!(st["runtime"]["pid"], json!(ghost));
    assert_eq!(
        team.env
            .fails(&["monitor", "start", "--fleet-id", "1", "--tick", "1"], 1),
        "Error: monitor already running for fleet 1\n"
    );
    // The same row claimed from this host: the missing pid means it died.
    team.env
        .query("DELETE FROM monitor_runtime WHERE fleet_id = 1");
    let here = Monitor::spawn(&team.env, 1, 1, None);
    here.wait_started(1, 1);
    let host = team
        .env
        .query("SELECT host FROM monitor_runtime WHERE fleet_id = 1")[0][0]
        .clone();
    drop(here);
    team.env.query(&format!(
        "UPDATE monitor_runtime SET pid = {ghost}, last_tick_at = '{}' WHERE fleet_id = 1",
        sql_ts(&team.env, 0)
    ));
    assert_ne!(host, "other-box pid:[1]");
    assert_eq!(
        status_json(&team.env, 1)["runtime"],
        stopped_runtime(json!(1))
    );
    // Rows written before the column existed (NULL host) are probed as before.
    team.env
        .query("UPDATE monitor_runtime SET host = NULL WHERE fleet_id = 1");
    assert_eq!(
        status_json(&team.env, 1)["runtime"],
        stopped_runtime(json!(1))
    );
}

// ---------------------------------------------------------------------------------------
// The slot.
// ---------------------------------------------------------------------------------------

#[test]
fn six_concurrent_starts_run_exactly_one_and_refuse_five_cleanly() {
    let team = Team::new();
    // Several rounds, each on a fleet that never had a monitor (the racy case).
    for round in 0..3 {
        let fleet = if round == 0 {
            1
        } else {
            let v = team
                .env
                .json(&["fleet", "create", "--label", &format!("r{round}")]);
            v["fleet_id"].as_i64().unwrap()
        };
        let mut mons: Vec<Monitor> = (0..6)
            .map(|_| Monitor::spawn(&team.env, fleet, 1, None))
            .collect();
        let five_out = wait_for(DEADLINE, || {
            mons.iter_mut()
                .map(|m| !m.running())
                .filter(|&gone| gone)
                .count()
                >= 5
        });
        assert!(five_out, "round {round}: losers did not exit");
        let (mut winners, mut losers): (Vec<_>, Vec<_>) =
            mons.into_iter().partition(|m| m.status.is_none());
        assert_eq!(winners.len(), 1, "round {round}");
        for l in &mut losers {
            let status = l.wait_exit(DEADLINE);
            assert_eq!(status.code(), Some(1), "round {round}");
            assert_eq!(
                l.stderr(),
                format!("Error: monitor already running for fleet {fleet}\n")
            );
            assert!(l.lines().is_empty(), "{:?}", l.lines());
        }
        let w = &mut winners[0];
        w.wait_started(fleet, 1);
        wait_ticks(&team.env, fleet, 1);
        assert!(w.running(), "round {round}: the winner stopped");
        assert_eq!(runtime_row(&team.env, fleet)[0][0], w.pid.to_string());
    }
}

#[test]
fn a_second_start_while_one_runs_is_refused_and_leaves_the_slot_alone() {
    let team = Team::new();
    let mut mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    let before = runtime_row(&team.env, 1);
    let out = team
        .env
        .run(&["monitor", "start", "--fleet-id", "1", "--tick", "5"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: monitor already running for fleet 1\n"
    );
    let after = runtime_row(&team.env, 1);
    assert_eq!(after[0][0], before[0][0]);
    assert_eq!(after[0][1], before[0][1]);
    assert_eq!(after[0][3], "1");
    assert!(mon.running());
}

// ---------------------------------------------------------------------------------------
// Surviving tmux failures.
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// `monitor status`.
// ---------------------------------------------------------------------------------------

const STATUS_HEADER: &str = "  agent_id  name         role      interval  last_ping  enabled  pending  activity  undelivered  pane\n  --------  -----------  --------  --------  ---------  -------  -------  --------  -----------  ----\n";

/// The activity of the stand-ins and recorders here: they report nothing, and their screens
/// are no coding agent's.
const UNKNOWN: &str = "unknown ";

/// The undelivered column of an agent with nothing unseen, padded to its width.
const NONE_UNSEEN: &str = "-          ";

#[test]
fn status_of_a_fresh_fleet_is_stopped_with_the_director_at_180s() {
    let team = Team::new();
    let dp = team.director_pane.clone();
    assert_eq!(
        status_json(&team.env, 1),
        json!({
            "runtime": stopped_runtime(Value::Null),
            "agents": [{
                "agent_id": 1, "name": "Director", "role": "director",
                "interval_seconds": 180, "last_ping_at": null, "last_ping_age_seconds": null,
                "enabled": true, "pending_count": 0, "pane_id": dp, "pane_alive": true,
                "activity": "unknown", "activity_seen_at": null, "activity_source": null,
                "undelivered": {"unseen": 0, "dead": 0}
            }]
        })
    );
    assert_eq!(
        team.env.ok(&["monitor", "status", "--fleet-id", "1"]),
        format!(
            "monitor: stopped\n{STATUS_HEADER}  1         Director     director  180s      —          yes      0        {UNKNOWN}  {NONE_UNSEEN}  {dp}\n"
        )
    );
}

#[test]
fn status_shows_a_running_monitor_schedules_pending_counts_and_panes() {
    let team = Team::new();
    let (m1, p1) = spawn_member(&team, "m1", &[]);
    let (m2, _) = spawn_member(&team, "m2", &[]);
    set_schedule(&team, m2, &["--disable", "--interval", "30"]);
    team.env.ok(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--to",
        &m1.to_string(),
        "--text",
        "hello",
    ]);
    let mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    mon.wait_due(2);
    let row = runtime_row(&team.env, 1);
    let st = status_json(&team.env, 1);
    let rt = &st["runtime"];
    assert_eq!(rt["running"], true);
    assert_eq!(rt["pid"], json!(mon.pid));
    assert_eq!(rt["tick_seconds"], 1);
    assert_eq!(rt["started_at"], json!(row[0][1]));
    assert_spec_ts(rt["last_tick_at"].as_str().unwrap());
    let age = rt["last_tick_age_seconds"].as_i64().unwrap();
    assert!((0..=2).contains(&age), "{rt}");
    let ts = last_ping(&team.env, 1);
    let agents = st["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3, "the Administrator is not listed: {st}");
    let strip_age = |a: &Value| {
        let mut a = a.clone();
        let age = a["last_ping_age_seconds"].take();
        assert!(
            age.is_null() || (0..=2).contains(&age.as_i64().unwrap()),
            "{a}"
        );
        a
    };
    assert_eq!(
        agents.iter().map(strip_age).collect::<Vec<_>>(),
        vec![
            json!({"agent_id": 1, "name": "Director", "role": "director",
                   "interval_seconds": 180, "last_ping_at": ts, "last_ping_age_seconds": null,
                   "enabled": true, "pending_count": 0,
                   "pane_id": team.director_pane, "pane_alive": true,
                   "activity": "unknown", "activity_seen_at": null, "activity_source": null,
                   "undelivered": {"unseen": 0, "dead": 0}}),
            json!({"agent_id": m1, "name": "m1", "role": "member",
                   "interval_seconds": 720, "last_ping_at": ts, "last_ping_age_seconds": null,
                   "enabled": true, "pending_count": 1, "pane_id": p1, "pane_alive": true,
                   "activity": "unknown", "activity_seen_at": null, "activity_source": null,
                   // Typed into a stand-in (unverified), never polled: unseen.
                   "undelivered": {"unseen": 1, "dead": 0}}),
            json!({"agent_id": m2, "name": "m2", "role": "member",
                   "interval_seconds": 30, "last_ping_at": null, "last_ping_age_seconds": null,
                   "enabled": false, "pending_count": 0,
                   "pane_id": agents[2]["pane_id"], "pane_alive": true,
                   "activity": "unknown", "activity_seen_at": null, "activity_source": null,
                   "undelivered": {"unseen": 0, "dead": 0}}),
        ]
    );
    let text = team.env.ok(&["monitor", "status", "--fleet-id", "1"]);
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    let prefix = format!("monitor: running (pid {}, last tick ", mon.pid);
    let suffix = format!("s ago, tick 1s, started {})", row[0][1]);
    assert!(
        first.starts_with(&prefix) && first.ends_with(&suffix),
        "{first:?}"
    );
    let rows: Vec<String> = lines
        .skip(2)
        .map(|l| {
            // Ages are whole seconds and may tick over; normalise them.
            l.replace("1s ago", "0s ago").replace("2s ago", "0s ago")
        })
        .collect();
    let p2 = agents[2]["pane_id"].as_str().unwrap();
    let dp = &team.director_pane;
    assert_eq!(
        rows,
        vec![
            format!(
                "  1         Director     director  180s      0s ago     yes      0        {UNKNOWN}  {NONE_UNSEEN}  {dp}"
            ),
            format!(
                "  {m1:<8}  m1           member    720s      0s ago     yes      1        {UNKNOWN}  1 unseen     {p1}"
            ),
            format!(
                "  {m2:<8}  m2           member    30s       —          no       0        {UNKNOWN}  {NONE_UNSEEN}  {p2}"
            ),
        ]
    );
    assert!(
        text.starts_with(&format!("{first}\n{STATUS_HEADER}")),
        "{text}"
    );
}

#[test]
fn status_shows_a_pending_placement_as_pending() {
    let team = Team::new();
    let (m1, _) = spawn_member(&team, "m1", &[]);
    team.env.query(&format!(
        "UPDATE agent_placements SET tmux_pane_id = NULL WHERE agent_id = {m1}"
    ));
    let st = status_json(&team.env, 1);
    let a = &st["agents"][1];
    assert_eq!(a["agent_id"], m1);
    assert_eq!(a["pane_id"], Value::Null);
    assert_eq!(a["pane_alive"], json!(false));
    let text = team.env.ok(&["monitor", "status", "--fleet-id", "1"]);
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("  {m1:<8}  m1 ")) && l.ends_with("  (pending)")),
        "{text}"
    );
}

#[test]
fn status_refuses_unknown_and_deleted_fleets_and_a_missing_fleet_id() {
    let team = Team::new();
    assert_eq!(
        team.env
            .fails(&["monitor", "status", "--fleet-id", "99"], 1),
        "Error: fleet 99 not found. List live fleets with 'cafleet fleet list'.\n"
    );
    assert_eq!(
        team.env
            .fails(&["--json", "monitor", "status", "--fleet-id", "99"], 1),
        "Error: fleet 99 not found. List live fleets with 'cafleet fleet list'.\n"
    );
    let need = "Error: --fleet-id <int> is required for this subcommand. Create a fleet with 'cafleet fleet create' and pass its id.\n";
    assert_eq!(team.env.fails(&["monitor", "status"], 1), need);
    assert_eq!(team.env.fails(&["monitor", "start"], 1), need);
    assert_eq!(
        team.env.fails(&["monitor", "config", "--agent-id", "1"], 1),
        need
    );
    team.env.ok(&["fleet", "delete", "1"]);
    assert_eq!(
        team.env.fails(&["monitor", "status", "--fleet-id", "1"], 1),
        "Error: fleet 1 not found. List live fleets with 'cafleet fleet list'.\n"
    );
}

// ---------------------------------------------------------------------------------------
// `monitor config` and `monitor start` option validation.
// ---------------------------------------------------------------------------------------

fn usage_error(cmd: &str, msg: &str) -> String {
    format!(
        "Usage: cafleet monitor {cmd} [OPTIONS]\nTry 'cafleet monitor {cmd} --help' for help.\n\nError: {msg}\n"
    )
}

#[test]
fn monitor_config_rejects_bad_intervals_and_both_flags_as_usage_errors() {
    let team = Team::new();
    let before = team.env.query("SELECT * FROM monitor_config ORDER BY 1");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--interval", "0"],
            "Invalid value for '--interval': 0 is not in the range 1<=x<=2592000.",
        ),
        (
            &["--interval=-1"],
            "Invalid value for '--interval': -1 is not in the range 1<=x<=2592000.",
        ),
        (
            &["--interval", "2592001"],
            "Invalid value for '--interval': 2592001 is not in the range 1<=x<=2592000.",
        ),
        (
            &["--interval", "9223372036854775808"],
            "Invalid value for '--interval': '9223372036854775808' is not a valid integer range.",
        ),
        (
            &["--interval", "abc"],
            "Invalid value for '--interval': 'abc' is not a valid integer range.",
        ),
        (
            &["--interval", "2.5"],
            "Invalid value for '--interval': '2.5' is not a valid integer range.",
        ),
        (
            &["--enable", "--disable"],
            "--enable and --disable are mutually exclusive.",
        ),
        (
            &["--interval", "5", "--disable", "--enable"],
            "--enable and --disable are mutually exclusive.",
        ),
    ];
    for (extra, msg) in cases {
        let mut args = vec!["monitor", "config", "--fleet-id", "1", "--agent-id", "1"];
        args.extend_from_slice(extra);
        assert_eq!(
            team.env.fails(&args, 2),
            usage_error("config", msg),
            "{extra:?}"
        );
        // Argument errors come before the fleet lookup.
        let mut args = vec!["monitor", "config", "--fleet-id", "99", "--agent-id", "1"];
        args.extend_from_slice(extra);
        assert_eq!(team.env.fails(&args, 2), usage_error("config", msg));
    }
    assert_eq!(
        team.env.fails(&["monitor", "config", "--fleet-id", "1"], 2),
        usage_error("config", "Missing option '--agent-id'.")
    );
    assert_eq!(
        team.env.query("SELECT * FROM monitor_config ORDER BY 1"),
        before
    );
    // Both ends of the range are accepted.
    assert_eq!(
        set_schedule(&team, 1, &["--interval", "1"]),
        "agent 1: interval 1s, enabled, last_ping -\n"
    );
    assert_eq!(
        set_schedule(&team, 1, &["--interval", "2592000"]),
        "agent 1: interval 2592000s, enabled, last_ping -\n"
    );
}

#[test]
fn monitor_start_rejects_out_of_range_ticks_as_usage_errors() {
    let team = Team::new();
    for (tick, msg) in [
        // 0.14's range and wording: any whole number from 1 (no practical upper bound).
        (
            "0",
            "Invalid value for '--tick': 0 is not in the range x>=1.",
        ),
        (
            "-3",
            "Invalid value for '--tick': -3 is not in the range x>=1.",
        ),
        (
            "2147483648",
            "Invalid value for '--tick': 2147483648 is not in the range 1<=x<=2147483647.",
        ),
        (
            "2.5",
            "Invalid value for '--tick': '2.5' is not a valid integer range.",
        ),
        (
            "abc",
            "Invalid value for '--tick': 'abc' is not a valid integer range.",
        ),
    ] {
        let arg = format!("--tick={tick}");
        assert_eq!(
            team.env
                .fails(&["monitor", "start", "--fleet-id", "1", &arg], 2),
            usage_error("start", msg),
            "{tick}"
        );
    }
    assert!(
        runtime_row(&team.env, 1).is_empty(),
        "a refused start claimed the slot"
    );
}

#[test]
fn monitor_config_refuses_unknown_fleets_and_agents_not_enrolled_in_the_fleet() {
    let team = Team::new();
    let (m1, _) = spawn_member(&team, "m1", &[]);
    let (m2, _) = spawn_member(&team, "m2", &[]);
    let (w, _) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    let reg = team.env.json(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        "solo",
        "--description",
        "d",
    ])["agent_id"]
        .as_i64()
        .unwrap();
    let other = team.env.json(&["fleet", "create", "--label", "other"]);
    let other_director = other["director"]["agent_id"].as_i64().unwrap();
    team.env.ok(&[
        "member",
        "delete",
        "--fleet-id",
        "1",
        "--member-id",
        &m2.to_string(),
        "--force",
    ]);
    assert_eq!(
        team.env.fails(
            &["monitor", "config", "--fleet-id", "99", "--agent-id", "1"],
            1
        ),
        "Error: fleet 99 not found. List live fleets with 'cafleet fleet list'.\n"
    );
    assert_eq!(
        team.env.fails(
            &[
                "monitor",
                "config",
                "--fleet-id",
                "99",
                "--agent-id",
                "1",
                "--interval",
                "5"
            ],
            1
        ),
        "Error: fleet 99 not found. List live fleets with 'cafleet fleet list'.\n"
    );
    let before = team.env.query("SELECT * FROM monitor_config ORDER BY 1");
    // Administrator, monitoring member, registered-only agent, deregistered member,
    // another fleet's Director, an unknown agent.
    for agent in [2, w, reg, m2, other_director, 999] {
        let id = agent.to_string();
        for extra in [&[][..], &["--interval", "5"][..], &["--disable"][..]] {
            let mut args = vec!["monitor", "config", "--fleet-id", "1", "--agent-id", &id];
            args.extend_from_slice(extra);
            assert_eq!(
                team.env.fails(&args, 1),
                format!("Error: agent {agent} is not enrolled in monitoring for fleet 1.\n"),
                "{args:?}"
            );
        }
    }
    // The other fleet's Director is enrolled there, not here.
    assert_eq!(
        team.env.json(&[
            "monitor",
            "config",
            "--fleet-id",
            &other["fleet_id"].to_string(),
            "--agent-id",
            &other_director.to_string(),
        ])["interval_seconds"],
        180
    );
    assert_eq!(
        team.env.query("SELECT * FROM monitor_config ORDER BY 1"),
        before
    );
    assert_eq!(
        set_schedule(&team, m1, &[]),
        format!("agent {m1}: interval 720s, enabled, last_ping -\n")
    );
}

#[test]
fn monitor_config_shows_and_partially_updates_a_schedule_keeping_last_ping() {
    let team = Team::new();
    let (m1, _) = spawn_member(&team, "m1", &[]);
    let id = m1.to_string();
    let cfg = |extra: &[&str]| {
        let mut args = vec![
            "--json",
            "monitor",
            "config",
            "--fleet-id",
            "1",
            "--agent-id",
            &id,
        ];
        args.extend_from_slice(extra);
        let out = team.env.ok(&args);
        serde_json::from_str::<Value>(out.trim()).unwrap()
    };
    assert_eq!(
        cfg(&[]),
        json!({"agent_id": m1, "interval_seconds": 720, "last_ping_at": null, "enabled": true})
    );
    assert_eq!(
        cfg(&["--interval", "20"]),
        json!({"agent_id": m1, "interval_seconds": 20, "last_ping_at": null, "enabled": true})
    );
    assert_eq!(
        set_schedule(&team, m1, &["--disable"]),
        format!("agent {m1}: interval 20s, disabled, last_ping -\n")
    );
    // Woken once by a real monitor, then reconfigured: the stamp stays.
    set_schedule(&team, m1, &["--enable"]);
    let mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    mon.wait_due(2);
    drop(mon);
    let stamp = last_ping(&team.env, m1);
    assert_spec_ts(&stamp);
    assert_eq!(
        set_schedule(&team, m1, &["--interval", "30", "--disable"]),
        format!("agent {m1}: interval 30s, disabled, last_ping {stamp}\n")
    );
    assert_eq!(
        cfg(&["--enable"]),
        json!({"agent_id": m1, "interval_seconds": 30, "last_ping_at": stamp, "enabled": true})
    );
    assert_eq!(
        team.env.query(&format!(
            "SELECT interval_seconds, last_ping_at, enabled FROM monitor_config WHERE agent_id = {m1}"
        )),
        vec![vec!["30".to_string(), stamp, "1".to_string()]]
    );
}

// ---------------------------------------------------------------------------------------
// Enrollment.
// ---------------------------------------------------------------------------------------

fn config_rows(env: &Env) -> Vec<Vec<String>> {
    env.query(
        "SELECT agent_id, interval_seconds, last_ping_at, enabled FROM monitor_config ORDER BY 1",
    )
}

fn row(v: &[&str]) -> Vec<String> {
    v.iter().map(std::string::ToString::to_string).collect()
}

#[test]
fn a_fresh_fleet_enrolls_the_director_at_180s_and_members_at_720s_only() {
    let team = Team::new();
    assert_eq!(
        config_rows(&team.env),
        vec![row(&["1", "180", "NULL", "1"])]
    );
    let (m1, _) = spawn_member(&team, "m1", &[]);
    let (w, _) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    let (m2, _) = spawn_member(&team, "m2", &[]);
    team.env.ok(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        "solo",
        "--description",
        "d",
    ]);
    let other = team.env.json(&["fleet", "create", "--label", "other"]);
    let od = other["director"]["agent_id"].to_string();
    let (s1, s2) = (m1.to_string(), m2.to_string());
    assert_eq!(
        config_rows(&team.env),
        vec![
            row(&["1", "180", "NULL", "1"]),
            row(&[&s1, "720", "NULL", "1"]),
            row(&[&s2, "720", "NULL", "1"]),
            row(&[&od, "180", "NULL", "1"]),
        ],
        "the Administrators, the watcher ({w}) and the registered agent are not enrolled"
    );
    let ids: Vec<Value> = status_json(&team.env, 1)["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!([a["agent_id"], a["role"], a["interval_seconds"]]))
        .collect();
    assert_eq!(
        ids,
        vec![
            json!([1, "director", 180]),
            json!([m1, "member", 720]),
            json!([m2, "member", 720]),
        ]
    );
    // Retiring a member drops its row; deleting the fleet drops the rest.
    team.env.ok(&[
        "member",
        "delete",
        "--fleet-id",
        "1",
        "--member-id",
        &s1,
        "--force",
    ]);
    assert_eq!(
        config_rows(&team.env),
        vec![
            row(&["1", "180", "NULL", "1"]),
            row(&[&s2, "720", "NULL", "1"]),
            row(&[&od, "180", "NULL", "1"]),
        ]
    );
    team.env.ok(&["fleet", "delete", "1"]);
    assert_eq!(
        config_rows(&team.env),
        vec![row(&[&od, "180", "NULL", "1"])]
    );
}

fn adopted_env() -> Env {
    let env = Env::new();
    std::fs::create_dir_all(env.db_path.parent().unwrap()).unwrap();
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-0.14.db");
    std::fs::copy(fixture, &env.db_path).expect("copy fixture");
    env
}

#[test]
fn an_adopted_database_keeps_its_enrollment_and_status_reports_it() {
    let env = adopted_env();
    let before = query_db(
        &env.dir.path().join("data").join("cafleet.db"),
        "SELECT agent_id, interval_seconds, last_ping_at, enabled FROM monitor_config ORDER BY 1",
    );
    // Director 1 and 6 at 180 s, alice at a custom 120 s, bob at 720 s; the Administrators
    // and carol (no placement) are not enrolled.
    assert_eq!(
        before,
        vec![
            row(&["1", "180", "NULL", "1"]),
            row(&["3", "120", "NULL", "1"]),
            row(&["4", "720", "NULL", "1"]),
            row(&["6", "180", "NULL", "1"]),
        ]
    );
    let st = env.json(&["monitor", "status", "--fleet-id", "1"]);
    assert_eq!(config_rows(&env), before, "adoption changed monitor_config");
    assert_eq!(st["runtime"], stopped_runtime(Value::Null));
    let agents: Vec<Value> = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            json!([
                a["agent_id"],
                a["name"],
                a["role"],
                a["interval_seconds"],
                a["enabled"],
                a["pane_id"],
                a["pane_alive"]
            ])
        })
        .collect();
    // The Python placements name no tmux server, so their liveness is unknown.
    assert_eq!(
        agents,
        vec![
            json!([1, "Director", "director", 180, true, "%0", null]),
            json!([3, "alice", "member", 120, true, "%1", null]),
            json!([4, "bob", "member", 720, true, "%2", null]),
        ]
    );
    // Each has one un-acked unicast in the fixture (the broadcast summary does not count).
    let text = env.ok(&["monitor", "status", "--fleet-id", "1"]);
    assert_eq!(
        text,
        format!(
            "monitor: stopped\n{STATUS_HEADER}  1         Director     director  180s      —          yes      1        {UNKNOWN}  1 unseen     %0 (unknown)\n  3         alice        member    120s      —          yes      1        {UNKNOWN}  1 unseen     %1 (unknown)\n  4         bob          member    720s      —          yes      1        {UNKNOWN}  1 unseen     %2 (unknown)\n"
        )
    );
    for agent in ["2", "5", "8", "9"] {
        assert_eq!(
            env.fails(
                &["monitor", "config", "--fleet-id", "1", "--agent-id", agent],
                1
            ),
            format!("Error: agent {agent} is not enrolled in monitoring for fleet 1.\n")
        );
    }
    assert_eq!(
        env.ok(&["monitor", "config", "--fleet-id", "1", "--agent-id", "3"]),
        "agent 3: interval 120s, enabled, last_ping -\n"
    );
    assert_eq!(
        env.json(&["monitor", "status", "--fleet-id", "2"])["agents"],
        json!([{"agent_id": 6, "name": "Director", "role": "director",
                "interval_seconds": 180, "last_ping_at": null, "last_ping_age_seconds": null,
                "enabled": true, "pending_count": 0,
                "pane_id": "%0", "pane_alive": null,
                "activity": "unknown", "activity_seen_at": null, "activity_source": null,
                "undelivered": {"unseen": 0, "dead": 0}}])
    );
}

#[test]
fn a_new_fleet_and_member_on_an_adopted_database_are_enrolled_like_fresh_ones() {
    // Adopt the Python file, then run a Team-style fleet on it.
    let mut team = Team::new();
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-0.14.db");
    let adopted = team.env.dir.path().join("adopted").join("cafleet.db");
    std::fs::create_dir_all(adopted.parent().unwrap()).unwrap();
    std::fs::copy(fixture, &adopted).unwrap();
    team.env.db_path = adopted;
    let v = team.env.json(&["fleet", "create", "--label", "new"]);
    let fleet = v["fleet_id"].as_i64().unwrap();
    let director = v["director"]["agent_id"].as_i64().unwrap();
    let admin = v["administrator_agent_id"].as_i64().unwrap();
    assert_eq!(fleet, 3);
    let mut args = vec![
        "member".to_string(),
        "create".into(),
        "--fleet-id".into(),
        fleet.to_string(),
        "--agent-id".into(),
        director.to_string(),
        "--name".into(),
        "eve".into(),
        "--description".into(),
        "d".into(),
    ];
    let m = team
        .env
        .json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let eve = m["agent_id"].as_i64().unwrap();
    args[7] = "watch".into();
    args.extend(["--role".to_string(), "monitor".to_string()]);
    let watcher = team
        .env
        .json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let w = watcher["agent_id"].as_i64().unwrap();
    // Its coding agent must be up before the first tick, or the wake falls back to
    // poll triggers.
    let pw = watcher["placement"]["tmux_pane_id"].as_str().unwrap();
    assert!(wait_for(DEADLINE, || team
        .server
        .tmux(&["capture-pane", "-p", "-t", pw])
        .contains("stand-in ready")));
    let rows = team.env.query(&format!(
        "SELECT agent_id, interval_seconds FROM monitor_config WHERE agent_id >= {director} ORDER BY 1"
    ));
    assert_eq!(
        rows,
        vec![
            row(&[&director.to_string(), "180"]),
            row(&[&eve.to_string(), "720"]),
        ],
        "Administrator {admin} and watcher {w} are not enrolled"
    );
    // The old rows are untouched.
    assert_eq!(
        team.env.query(&format!(
            "SELECT agent_id, interval_seconds FROM monitor_config WHERE agent_id < {director} ORDER BY 1"
        )),
        vec![row(&["1", "180"]), row(&["3", "120"]), row(&["4", "720"]), row(&["6", "180"])]
    );
    // And the monitor runs on it: the new fleet's watcher is woken for both.
    let mon = Monitor::spawn(&team.env, fleet, 1, None);
    mon.wait_started(fleet, 1);
    let due = mon.wait_due(2);
    assert_eq!(
        due.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        vec![
            format!("due agent {director} (Director) -> wake monitor"),
            format!("due agent {eve} (eve) -> wake monitor"),
        ]
    );
}
