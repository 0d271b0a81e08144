//! Load: 32 concurrent `cafleet message send` processes × 200 sends each on one on-disk
//! database while, at the same time, every recipient polls and acknowledges what it receives
//! (its own processes), a `cafleet monitor start --tick 1` runs on the fleet, and a
//! `cafleet server` answers HTTP readers (timeline, agents, inbox, monitor) and API sends.
//!
//! Asserts zero errors (every process exits 0 with an empty stderr, every HTTP answer is
//! 200), zero lost messages (every printed id is in the database with its text; exactly
//! 6,400 CLI unicasts plus the API sends), every acknowledged message completed and every
//! other one still returned by `poll`, and `PRAGMA integrity_check` = ok. Prints the send
//! throughput and the per-send latency percentiles (one process's wall time per command).
//!
//! `CAFLEET_LOAD_SCALE=<n>` multiplies the sends per process and the pollers' and HTTP
//! clients' pace (the CI run is `1`: 6,400 sends).
//! Run: `cargo test --test integration load:: -- --nocapture`.

use crate::support::*;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const WORKERS: usize = 32;
const SENDS_PER_WORKER: usize = 200;
/// Pane-less senders and recipients: worker `w` sends as `senders[w % 4]` to
/// `recipients[w % 4]`, and one poller/acker per recipient.
const PAIRS: usize = 4;
/// At most this many messages a poller acknowledges per poll (each ack is one process).
const ACKS_PER_POLL: usize = 4;
/// A poller's pause after each poll round (the CI run keeps the extras light: the 6,400
/// sends are what is measured).
const POLL_PAUSE: Duration = Duration::from_millis(250);
/// The HTTP reader's pause between requests; the API sender pauses twice as long.
const HTTP_PAUSE: Duration = Duration::from_millis(100);

fn scale() -> usize {
    std::env::var("CAFLEET_LOAD_SCALE")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(1)
}

/// The real binary with this test's environment (as `Env::cmd`, but a std `Command` so
/// long-running children can be spawned and signalled).
fn cafleet(env: &Env, args: &[&str]) -> Command {
    let mut c = env.std_cmd();
    c.args(args).stdin(Stdio::null());
    c
}

/// One finished CLI process: its wall time and what it printed.
struct Run {
    wall: Duration,
    stdout: String,
}

/// Runs one CLI process to completion; any non-zero exit or stderr output is an error.
fn run(env: &Env, args: &[&str]) -> Result<Run, String> {
    let t0 = Instant::now();
    let out = cafleet(env, args)
        .output()
        .map_err(|e| format!("spawn {args:?}: {e}"))?;
    let wall = t0.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !stderr.is_empty() {
        return Err(format!(
            "cafleet {args:?}: {:?}, stderr: {stderr}",
            out.status
        ));
    }
    Ok(Run {
        wall,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

/// A long-running `cafleet` child whose stdout and stderr go to files in the test's dir.
struct Daemon {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Daemon {
    fn spawn(env: &Env, name: &str, args: &[&str]) -> Daemon {
        let out = env.dir.path().join(format!("{name}.out"));
        let err = env.dir.path().join(format!("{name}.err"));
        let child = cafleet(env, args)
            // Warnings and errors only: the server's per-request lines are not diagnostics.
            .env("CAFLEET_LOG", "warn")
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Daemon { child, out, err }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits until stdout has a first line; returns it.
    fn first_line(&mut self, what: &str) -> String {
        let ok = wait_for(Duration::from_secs(20), || self.stdout().contains('\n'));
        if !ok {
            let _ = self.child.kill();
            panic!("{what} printed nothing; stderr: {}", self.stderr());
        }
        self.stdout().lines().next().unwrap().to_string()
    }

    /// SIGTERM, then the exit status (SIGKILL after 10 s).
    fn stop(&mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One HTTP/1.1 exchange (`Connection: close`) with the server; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let host = format!("127.0.0.1:{port}");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nX-Fleet-Id: 1\r\nConnection: close\r\n"
    );
    if let Some(b) = body {
        req.push_str(&format!(
            "Origin: http://{host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: no header end in {raw:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{method} {path}: bad status line in {head:?}"))?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err(format!("{method} {path}: unexpected chunked body"));
    }
    Ok((status, body.to_string()))
}

/// Nearest-rank percentile of sorted samples.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary(name: &str, mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    format!(
        "{name}: {} runs, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        samples.len(),
        ms(pct(&samples, 50.0)),
        ms(pct(&samples, 99.0)),
        ms(samples.last().copied().unwrap_or_default())
    )
}

/// What one sender thread did: (task id, text) per send, each send's wall time, errors.
type Sender = (Vec<(i64, String)>, Vec<Duration>, Vec<String>);

/// What one poller/acker saw: its acks, and its poll and ack wall times.
#[derive(Default)]
struct Acker {
    acked: Vec<i64>,
    polls: Vec<Duration>,
    acks: Vec<Duration>,
    errors: Vec<String>,
}

/// Polls `agent`'s inbox until `stop`, acknowledging up to [`ACKS_PER_POLL`] per poll.
fn poll_and_ack(env: &Env, agent: i64, stop: &AtomicBool) -> Acker {
    let mut a = Acker::default();
    let agent = agent.to_string();
    let poll = [
        "--json",
        "message",
        "poll",
        "--fleet-id",
        "1",
        "--agent-id",
        &agent,
    ];
    while !stop.load(Ordering::Relaxed) {
        let r = match run(env, &poll) {
            Ok(r) => r,
            Err(e) => {
                a.errors.push(e);
                continue;
            }
        };
        a.polls.push(r.wall);
        let inbox: serde_json::Value = match serde_json::from_str(r.stdout.trim()) {
            Ok(v) => v,
            Err(e) => {
                a.errors.push(format!("poll output {:?}: {e}", r.stdout));
                continue;
            }
        };
        // Oldest last (poll is newest first): acknowledge from the back.
        let ids: Vec<i64> = inbox
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .filter_map(|m| m["id"].as_i64())
            .take(ACKS_PER_POLL)
            .collect();
        for id in ids {
            let id_s = id.to_string();
            match run(
                env,
                &[
                    "message",
                    "ack",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    &agent,
                    "--task-id",
                    &id_s,
                    "--quiet",
                ],
            ) {
                Ok(r) if r.stdout.trim() == id_s => {
                    a.acks.push(r.wall);
                    a.acked.push(id);
                }
                Ok(r) => a.errors.push(format!("ack {id} printed {:?}", r.stdout)),
                Err(e) => a.errors.push(e),
            }
        }
        std::thread::sleep(POLL_PAUSE / scale() as u32);
    }
    a
}

/// What the HTTP clients did.
#[derive(Default)]
struct Web {
    reads: Vec<Duration>,
    /// (task id, recipient, text) of every API send.
    sent: Vec<(i64, i64, String)>,
    errors: Vec<String>,
}

/// GETs the WebUI's read endpoints in turn until `stop`.
fn http_reader(port: u16, recipients: &[i64], stop: &AtomicBool) -> Web {
    let mut w = Web::default();
    let mut paths = vec![
        "/api/timeline".to_string(),
        "/api/agents".to_string(),
        "/api/monitor".to_string(),
        "/api/fleets".to_string(),
    ];
    paths.extend(recipients.iter().map(|r| format!("/api/agents/{r}/inbox")));
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let path = &paths[i % paths.len()];
        i += 1;
        let t0 = Instant::now();
        match http(port, "GET", path, None) {
            Ok((200, body)) if serde_json::from_str::<serde_json::Value>(&body).is_ok() => {
                w.reads.push(t0.elapsed());
            }
            Ok((s, body)) => w.errors.push(format!("GET {path}: {s} {body}")),
            Err(e) => w.errors.push(e),
        }
        std::thread::sleep(HTTP_PAUSE / scale() as u32);
    }
    w
}

/// Sends as the Administrator through the API, round-robin to `recipients`, until `stop`.
fn http_sender(port: u16, admin: i64, recipients: &[i64], stop: &AtomicBool) -> Web {
    let mut w = Web::default();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let to = recipients[i % recipients.len()];
        let text = format!("api message {i}");
        i += 1;
        let body = serde_json::json!({"from_agent_id": admin, "to_agent_id": to, "text": text});
        match http(port, "POST", "/api/messages/send", Some(&body.to_string())) {
            Ok((200, resp)) => {
                let v: serde_json::Value = serde_json::from_str(&resp).unwrap_or_default();
                match v["task_id"].as_i64() {
                    Some(id) => w.sent.push((id, to, text)),
                    None => w.errors.push(format!("API send answered {resp}")),
                }
            }
            Ok((s, resp)) => w.errors.push(format!("API send: {s} {resp}")),
            Err(e) => w.errors.push(e),
        }
        std::thread::sleep(HTTP_PAUSE * 2 / scale() as u32);
    }
    w
}

fn register(env: &Env, name: &str) -> i64 {
    env.json(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        name,
        "--description",
        "load test agent",
    ])["agent_id"]
        .as_i64()
        .expect("agent_id")
}

fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn thirty_two_senders_with_pollers_monitor_and_server_lose_nothing() {
    let scale = scale();
    let per_worker = SENDS_PER_WORKER * scale;
    let mut env = Env::new();
    let (_tmux, _pane, _log) = fleet_in_tmux(&mut env);
    let admin: i64 = env
        .query("SELECT agent_id FROM agents WHERE fleet_id = 1 AND name = 'Administrator'")[0][0]
        .parse()
        .expect("administrator id");
    let senders: Vec<i64> = (0..PAIRS)
        .map(|i| register(&env, &format!("sender-{i}")))
        .collect();
    let recipients: Vec<i64> = (0..PAIRS)
        .map(|i| register(&env, &format!("recipient-{i}")))
        .collect();

    // The server on a free port (it prints the bound URL), and the monitor.
    let mut server = Daemon::spawn(&env, "server", &["server", "--port", "0"]);
    let line = server.first_line("cafleet server");
    let port: u16 = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    let mut monitor = Daemon::spawn(
        &env,
        "monitor",
        &["monitor", "start", "--fleet-id", "1", "--tick", "1"],
    );
    let started = monitor.first_line("cafleet monitor start");
    assert!(
        started.starts_with("monitor running for fleet 1 "),
        "{started}"
    );

    let env = Arc::new(env);
    // Re-bound after `env` so the tmux server is killed before the temp dir holding its
    // socket is removed (otherwise the server outlives the test).
    let _tmux = _tmux;
    let stop = Arc::new(AtomicBool::new(false));
    let ackers: Vec<JoinHandle<Acker>> = recipients
        .iter()
        .map(|&r| {
            let (env, stop) = (Arc::clone(&env), Arc::clone(&stop));
            std::thread::spawn(move || poll_and_ack(&env, r, &stop))
        })
        .collect();
    let web: Vec<JoinHandle<Web>> = (0..2)
        .map(|k| {
            let stop = Arc::clone(&stop);
            let recipients = recipients.clone();
            std::thread::spawn(move || {
                if k == 0 {
                    http_reader(port, &recipients, &stop)
                } else {
                    http_sender(port, admin, &recipients, &stop)
                }
            })
        })
        .collect();

    // The 32 senders, released together.
    let barrier = Arc::new(Barrier::new(WORKERS + 1));
    let workers: Vec<JoinHandle<Sender>> = (0..WORKERS)
        .map(|w| {
            let (env, barrier) = (Arc::clone(&env), Arc::clone(&barrier));
            let (from, to) = (
                senders[w % PAIRS].to_string(),
                recipients[w % PAIRS].to_string(),
            );
            std::thread::spawn(move || {
                let (mut sent, mut walls, mut errors) = (Vec::new(), Vec::new(), Vec::new());
                barrier.wait();
                for i in 0..per_worker {
                    let text = format!("worker {w} message {i}");
                    let args = [
                        "message",
                        "send",
                        "--fleet-id",
                        "1",
                        "--agent-id",
                        &from,
                        "--to",
                        &to,
                        "--text",
                        &text,
                        "--quiet",
                    ];
                    match run(&env, &args) {
                        Ok(r) => match r.stdout.trim().parse::<i64>() {
                            Ok(id) => {
                                walls.push(r.wall);
                                sent.push((id, text));
                            }
                            Err(_) => errors.push(format!("send printed {:?}", r.stdout)),
                        },
                        Err(e) => errors.push(e),
                    }
                }
                (sent, walls, errors)
            })
        })
        .collect();
    barrier.wait();
    let t0 = Instant::now();
    let mut sent: Vec<(i64, String)> = Vec::new();
    let mut walls: Vec<Duration> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for w in workers {
        let (s, t, e) = w.join().expect("sender thread");
        sent.extend(s);
        walls.extend(t);
        errors.extend(e);
    }
    let send_phase = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let ackers: Vec<Acker> = ackers.into_iter().map(|h| h.join().unwrap()).collect();
    let web: Vec<Web> = web.into_iter().map(|h| h.join().unwrap()).collect();
    for a in &ackers {
        errors.extend(a.errors.iter().cloned());
    }
    for w in &web {
        errors.extend(w.errors.iter().cloned());
    }

    let polls: Vec<Duration> = ackers.iter().flat_map(|a| a.polls.clone()).collect();
    let acks: Vec<Duration> = ackers.iter().flat_map(|a| a.acks.clone()).collect();
    let acks_n = acks.len();
    let reads: Vec<Duration> = web.iter().flat_map(|w| w.reads.clone()).collect();
    println!(
        "load: {WORKERS} processes x {per_worker} sends = {} in {:.1} s: {:.0} sends/s",
        walls.len(),
        send_phase.as_secs_f64(),
        walls.len() as f64 / send_phase.as_secs_f64()
    );
    println!("  {}", summary("message send (per process)", walls.clone()));
    println!("  {}", summary("message poll (per process)", polls));
    println!("  {}", summary("message ack (per process)", acks));
    println!("  {}", summary("HTTP GET", reads));
    println!(
        "  API sends: {}; acks: {}; monitor printed {} lines; {} errors",
        web.iter().map(|w| w.sent.len()).sum::<usize>(),
        acks_n,
        monitor.stdout().lines().count(),
        errors.len()
    );

    // Stop the daemons: both exit 0 with nothing on stderr.
    let server_status = server.stop();
    let monitor_status = monitor.stop();
    assert!(
        server_status.success(),
        "server: {server_status:?}, stderr: {}",
        server.stderr()
    );
    assert!(
        monitor_status.success(),
        "monitor: {monitor_status:?}, stderr: {}",
        monitor.stderr()
    );
    assert_eq!(server.stderr(), "", "server stderr");
    assert_eq!(monitor.stderr(), "", "monitor stderr");

    let shown: Vec<&String> = errors.iter().take(10).collect();
    assert!(
        errors.is_empty(),
        "{} errors, first: {shown:#?}",
        errors.len()
    );

    // Zero lost: every printed id is in the database with its own text, exactly once.
    let expected = WORKERS * per_worker;
    assert_eq!(sent.len(), expected, "every send printed an id");
    let printed: HashSet<i64> = sent.iter().map(|(id, _)| *id).collect();
    assert_eq!(printed.len(), expected, "every printed id is distinct");
    let stored: HashMap<i64, String> = env
        .query(&format!(
            "SELECT task_id, text FROM tasks WHERE type = 'unicast' AND from_agent_id IN ({})",
            id_list(senders.iter().copied())
        ))
        .into_iter()
        .map(|r| (r[0].parse().unwrap(), r[1].clone()))
        .collect();
    assert_eq!(
        stored.len(),
        expected,
        "exactly {expected} CLI unicasts stored"
    );
    for (id, text) in &sent {
        assert_eq!(stored.get(id), Some(text), "task {id}");
    }
    let api_sent: Vec<(i64, i64, String)> = web.iter().flat_map(|w| w.sent.clone()).collect();
    let api_stored: HashMap<i64, (i64, String)> = env
        .query(&format!(
            "SELECT task_id, to_agent_id, text FROM tasks WHERE from_agent_id = {admin}"
        ))
        .into_iter()
        .map(|r| (r[0].parse().unwrap(), (r[1].parse().unwrap(), r[2].clone())))
        .collect();
    assert_eq!(api_stored.len(), api_sent.len(), "API sends stored");
    for (id, to, text) in &api_sent {
        assert_eq!(
            api_stored.get(id),
            Some(&(*to, text.clone())),
            "API task {id}"
        );
    }
    assert!(!api_sent.is_empty(), "the API sender sent nothing");

    // Every ack completed its message, nothing else was completed, and every other
    // delivery is still in its recipient's inbox.
    let acked: HashSet<i64> = ackers.iter().flat_map(|a| a.acked.clone()).collect();
    assert_eq!(
        acked.len(),
        ackers.iter().map(|a| a.acked.len()).sum::<usize>(),
        "a message was acknowledged twice"
    );
    let completed: HashSet<i64> = env
        .query("SELECT task_id FROM tasks WHERE status_state = 'completed' AND type = 'unicast'")
        .into_iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    assert_eq!(completed, acked, "completed = acknowledged");
    for &r in &recipients {
        let inbox = run(
            &env,
            &[
                "--json",
                "message",
                "poll",
                "--fleet-id",
                "1",
                "--agent-id",
                &r.to_string(),
            ],
        )
        .unwrap_or_else(|e| panic!("final poll: {e}"));
        let polled: HashSet<i64> = serde_json::from_str::<serde_json::Value>(inbox.stdout.trim())
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        let mut want: HashSet<i64> = env
            .query(&format!(
                "SELECT task_id FROM tasks WHERE type = 'unicast' AND to_agent_id = {r}"
            ))
            .into_iter()
            .map(|row| row[0].parse().unwrap())
            .collect();
        want.retain(|id| !acked.contains(id));
        assert_eq!(
            polled, want,
            "recipient {r}: poll = delivered minus acknowledged"
        );
    }
    assert_eq!(env.integrity_check().0, vec![vec!["ok".to_string()]]);
}
