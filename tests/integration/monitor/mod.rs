//! `cafleet monitor start|status|config` against a real private tmux server with stand-in
//! coding agents (docs/decisions.md, M1–M3): the start-up line, poll triggers into due
//! agents' own panes, one wake line per tick into a monitoring member's pane, schedules
//! (not yet due, disabled), dead panes, stopping (signals, `fleet delete`), the atomic slot,
//! surviving a failing tmux, `monitor status` and `monitor config`, and enrollment (fresh
//! and adopted databases).
//!
//! This file holds the harness (a `cafleet monitor start` child) and shared helpers.

mod config;
mod enrollment;
mod lifecycle;
mod status;
mod ticks;

use crate::support::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(20);

// A `cafleet monitor start` child process.

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

// Members, keystrokes, schedules.

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

/// `text` with each pane id of `panes` replaced by its label where it ends a line (the pane
/// column is the last of `monitor status`'s table).
fn redact_panes(text: &str, panes: &[(&str, &str)]) -> String {
    let line = |l: &str| {
        let found = panes.iter().find_map(|(id, label)| {
            let rest = l.strip_suffix(id)?;
            rest.ends_with(' ').then(|| format!("{rest}{label}"))
        });
        found.unwrap_or_else(|| l.to_string()) + "\n"
    };
    text.lines().map(line).collect()
}
