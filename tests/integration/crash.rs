//! Crash safety: the real `cafleet` binary is SIGKILLed at random points while it
//! sends, broadcasts, polls and acks against one on-disk database, while it runs the monitor
//! loop, and while it serves the HTTP API; afterwards the work restarts and the invariants
//! are checked: every send that printed an id is stored, every open message is polled until
//! acked, a repeated ack changes nothing and says why, broadcasts are all-or-nothing, a
//! dead monitor never holds its slot beyond the liveness window, a first use killed midway
//! (creating or adopting the database) is completed by the next command, and
//! `integrity_check` passes. Senders and monitors killed in the middle of typing previews
//! into panes are in delivery.rs (`senders_and_monitors_killed_mid_delivery_lose_no_preview`).
//!
//! The kill points come from a seeded xorshift generator; each test prints its seed, and
//! `CAFLEET_CRASH_SEED=<seed>` replays the same schedule. `CAFLEET_CRASH_KILLS=<n>` sets how
//! many kills the sender/acker run performs (default 100; the long variant uses 1000).
//! `CAFLEET_CRASH_MONITOR_KILLS`, `CAFLEET_CRASH_SERVER_KILLS` and
//! `CAFLEET_CRASH_MIGRATION_KILLS` set the rounds of the other scenarios. Run with
//! `cargo test --test integration crash:: -- --nocapture` to see the counts.

use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Seeded randomness.
// ---------------------------------------------------------------------------------------

/// xorshift64* — small, seedable, good enough to pick operations and kill delays.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // Mix the seed so neighbouring seeds (and stream numbers) give unrelated streams;
        // the state must never be zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `pct` percent.
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A kill delay uniform in `0..max_ms` milliseconds.
    fn delay(&mut self, max_ms: u64) -> Duration {
        Duration::from_micros(self.below(max_ms * 1000))
    }
}

/// The seed of this test: `CAFLEET_CRASH_SEED`, or the clock. Printed so a failure replays.
pub(crate) fn seed(test: &str) -> u64 {
    let seed = match std::env::var("CAFLEET_CRASH_SEED") {
        Ok(s) => s.trim().parse().unwrap_or_else(|_| {
            panic!("CAFLEET_CRASH_SEED must be an unsigned integer, got {s:?}")
        }),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    };
    eprintln!("crash::{test}: seed {seed} (replay with CAFLEET_CRASH_SEED={seed})");
    seed
}

/// A positive integer from the environment, or `default`.
pub(crate) fn env_count(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(s) => s
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{name} must be a positive integer, got {s:?}")),
        Err(_) => default,
    }
}

// ---------------------------------------------------------------------------------------
// Running the binary with a kill scheduled.
// ---------------------------------------------------------------------------------------

/// A command's fate: killed by us (SIGKILL) or exited on its own, and what it printed.
struct Run {
    killed: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The printed JSON, if the process got as far as printing all of it.
    fn json(&self) -> Option<Value> {
        serde_json::from_str(self.stdout.trim()).ok()
    }

    fn describe(&self, args: &[String]) -> String {
        format!(
            "cafleet {args:?}: killed={} code={:?}\nstdout: {}\nstderr: {}",
            self.killed, self.code, self.stdout, self.stderr
        )
    }
}

/// `cafleet <args>` with `env`'s environment; output goes to files so that a large poll can
/// never block on a full pipe while we wait to kill it.
fn spawn<S: AsRef<std::ffi::OsStr>>(env: &Env, args: &[S], out: &Path, err: &Path) -> Child {
    env.std_cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(out).expect("stdout file"))
        .stderr(File::create(err).expect("stderr file"))
        .spawn()
        .expect("spawn cafleet")
}

/// Runs `cafleet <args>`, SIGKILLing it after `kill_after` if it is still running then.
/// `scratch` is a directory private to the calling thread.
fn run_killing(env: &Env, args: &[String], kill_after: Option<Duration>, scratch: &Path) -> Run {
    let (out, err) = (scratch.join("out"), scratch.join("err"));
    let start = Instant::now();
    let mut child = spawn(env, args, &out, &err);
    let hung = Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        let elapsed = start.elapsed();
        if kill_after.is_some_and(|k| elapsed >= k) {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        if elapsed >= hung {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cafleet {args:?} hung for {hung:?}");
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    Run {
        killed: status.signal() == Some(9),
        code: status.code(),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    }
}

/// Runs `cafleet <args>` to the end and insists on success; returns stdout.
fn must(env: &Env, args: &[String]) -> String {
    let run = run_killing(env, args, None, &scratch(env, "must"));
    assert_eq!(run.code, Some(0), "{}", run.describe(args));
    run.stdout
}

/// Arguments from a space-separated command line (for arguments without spaces).
fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// `--json message poll` of `agent`'s inbox.
fn poll_args(agent: i64) -> Vec<String> {
    words(&format!(
        "--json message poll --fleet-id 1 --agent-id {agent}"
    ))
}

/// `message ack` of task `id` by `agent`; `json` is `"--json"` or `""`.
fn ack_args(agent: i64, id: i64, json: &str) -> Vec<String> {
    words(&format!(
        "{json} message ack --fleet-id 1 --agent-id {agent} --task-id {id}"
    ))
}

/// A scratch directory for one thread's output files.
fn scratch(env: &Env, name: &str) -> PathBuf {
    let p = env.dir.path().join("scratch").join(name);
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// An exit that is neither success nor one clean `Error: ...` line is a defect on its own.
fn unclean(run: &Run) -> bool {
    !run.killed
        && (run.stderr.contains("panicked")
            || run.stderr.contains("RUST_BACKTRACE")
            || !matches!(run.code, Some(0..=2)))
}

// ---------------------------------------------------------------------------------------
// The fleet under test and what the harness knows happened.
// ---------------------------------------------------------------------------------------

/// Agents: 1 Director (a recorder pane, so previews are typed), 2 Administrator, 3..=6
/// registered without panes.
const AGENTS: [i64; 6] = [1, 2, 3, 4, 5, 6];
/// Which inboxes each CLI worker owns (only the owner acks, so a failed first ack is
/// explainable). Every agent's inbox is owned by exactly one worker.
const OWNED: [&[i64]; 4] = [&[1, 3], &[2, 4], &[5], &[6]];
const ACK_TWICE: &str = "Error: Cannot ACK task in state completed\n";

fn crash_fleet() -> (Env, TmuxServer) {
    let mut env = Env::new();
    let (server, _pane, _log) = fleet_in_tmux(&mut env);
    for name in ["a", "b", "c", "d"] {
        let args = words(&format!(
            "agent register --fleet-id 1 --name {name} --description x"
        ));
        must(&env, &args);
    }
    (env, server)
}

/// Broadcast recipients of `from`: every active non-administrator agent but the sender.
fn broadcast_recipients(from: i64) -> Vec<i64> {
    AGENTS
        .iter()
        .copied()
        .filter(|a| *a != 2 && *a != from)
        .collect()
}

#[derive(Default)]
struct Counts {
    ops: u64,
    kills: u64,
    sends_confirmed: u64,
    broadcasts_confirmed: u64,
    acks_confirmed: u64,
    acks_repeated: u64,
    polls_checked: u64,
    http_confirmed: u64,
    http_failed: u64,
}

/// What the harness knows: confirmed outcomes (the process printed them) and attempts.
#[derive(Default)]
struct Ledger {
    /// Every text any send or broadcast attempted (texts are unique per attempt).
    attempted: HashSet<String>,
    /// Confirmed unicast sends: id → (from, to, text).
    sends: BTreeMap<i64, (i64, i64, String)>,
    /// Confirmed broadcasts: summary id → (from, text).
    broadcasts: BTreeMap<i64, (i64, String)>,
    /// Confirmed acks: id → (recipient, status_timestamp printed by the ack).
    acked: BTreeMap<i64, (i64, String)>,
    /// Ids on which any ack was attempted (confirmed or killed).
    ack_attempted: HashSet<i64>,
    /// Tells the worker threads to finish.
    stop: bool,
    failures: Vec<String>,
    counts: Counts,
}

type Shared = Arc<Mutex<Ledger>>;

fn fail(ledger: &Shared, msg: String) {
    eprintln!("crash: FAILURE: {msg}");
    ledger.lock().unwrap().failures.push(msg);
}

/// The id list of a `--json message poll` output.
fn poll_ids(v: &Value) -> Option<BTreeSet<i64>> {
    v.as_array()?
        .iter()
        .map(|t| t["id"].as_i64())
        .collect::<Option<BTreeSet<i64>>>()
}

/// The stored state and status_timestamp of task `id`.
fn task_state(env: &Env, id: i64) -> Option<(String, String)> {
    env.query(&format!(
        "SELECT status_state, status_timestamp FROM tasks WHERE task_id = {id}"
    ))
    .into_iter()
    .next()
    .map(|r| (r[0].clone(), r[1].clone()))
}

// ---------------------------------------------------------------------------------------
// One CLI worker: a random mix of send / broadcast / poll+ack / repeated ack, each with a
// random kill scheduled most of the time.
// ---------------------------------------------------------------------------------------

struct Worker {
    env: Arc<Env>,
    ledger: Shared,
    id: usize,
    tag: String,
    rng: Rng,
    dir: PathBuf,
    op: u64,
}

impl Worker {
    fn new(env: &Arc<Env>, ledger: &Shared, id: usize, seed: u64, tag: &str) -> Worker {
        Worker {
            env: Arc::clone(env),
            ledger: Arc::clone(ledger),
            id,
            tag: format!("{tag}-s{seed}-w{id}"),
            rng: Rng::new(seed.wrapping_add(1 + id as u64)),
            dir: scratch(env, &format!("{tag}-w{id}")),
            op: 0,
        }
    }

    fn run(&mut self, args: &[String], kill_pct: u64, max_ms: u64) -> Run {
        let kill = self.rng.chance(kill_pct).then(|| self.rng.delay(max_ms));
        let run = run_killing(&self.env, args, kill, &self.dir);
        let mut l = self.ledger.lock().unwrap();
        l.counts.ops += 1;
        if run.killed {
            l.counts.kills += 1;
        }
        drop(l);
        if unclean(&run) {
            fail(
                &self.ledger,
                format!("unclean exit: {}", run.describe(args)),
            );
        }
        run
    }

    /// The JSON a command printed; one that was not killed must have printed it.
    fn printed(&self, run: &Run, args: &[String]) -> Option<Value> {
        let v = run.json();
        if v.is_none() && !run.killed {
            fail(&self.ledger, format!("failed: {}", run.describe(args)));
        }
        v
    }

    /// A text no other attempt uses, recorded as attempted.
    fn text(&mut self, kind: &str) -> String {
        self.op += 1;
        let text = format!("{} {kind} {}", self.tag, self.op);
        self.ledger.lock().unwrap().attempted.insert(text.clone());
        text
    }

    /// One random operation.
    fn step(&mut self) {
        match self.rng.below(100) {
            0..45 => self.send(),
            45..60 => self.broadcast(),
            60..90 => self.poll_and_ack(),
            _ => self.ack_again(),
        }
    }

    fn send(&mut self) {
        let from = self.rng.pick(&AGENTS);
        let to = self.rng.pick(&AGENTS);
        self.send_to(from, to, 75);
    }

    /// `message send`, killed at random with probability `kill_pct`; the id if printed.
    fn send_to(&mut self, from: i64, to: i64, kill_pct: u64) -> Option<i64> {
        let text = self.text("send");
        let mut args = words(&format!(
            "--json message send --fleet-id 1 --agent-id {from} --to {to} --text"
        ));
        args.push(text.clone());
        // A send to the Director types a preview (~0.25 s after the commit): kill inside it too.
        let max_ms = if to == 1 { 400 } else { 80 };
        let run = self.run(&args, kill_pct, max_ms);
        let v = self.printed(&run, &args)?;
        match v["task"]["id"].as_i64() {
            Some(id) if v["task"]["text"] == text.as_str() => {
                let mut l = self.ledger.lock().unwrap();
                l.sends.insert(id, (from, to, text));
                l.counts.sends_confirmed += 1;
                Some(id)
            }
            _ => {
                fail(&self.ledger, format!("odd output: {}", run.describe(&args)));
                None
            }
        }
    }

    fn broadcast(&mut self) {
        let from = self.rng.pick(&AGENTS);
        self.broadcast_from(from, 75);
    }

    /// `message broadcast`, killed at random with probability `kill_pct`.
    fn broadcast_from(&mut self, from: i64, kill_pct: u64) {
        let text = self.text("broadcast");
        let mut args = words(&format!(
            "--json message broadcast --fleet-id 1 --agent-id {from} --text"
        ));
        args.push(text.clone());
        let run = self.run(&args, kill_pct.min(50), 400);
        let Some(v) = self.printed(&run, &args) else {
            return;
        };
        match v[0]["task"]["id"].as_i64() {
            Some(id) => {
                let mut l = self.ledger.lock().unwrap();
                l.broadcasts.insert(id, (from, text));
                l.counts.broadcasts_confirmed += 1;
            }
            None => fail(&self.ledger, format!("odd output: {}", run.describe(&args))),
        }
    }

    /// Polls one owned inbox, checks that every confirmed un-acked send to it is listed and
    /// no confirmed ack is, then acks one listed task.
    fn poll_and_ack(&mut self) {
        let inbox = self.rng.pick(OWNED[self.id]);
        let (expect, gone): (BTreeSet<i64>, BTreeSet<i64>) = {
            let l = self.ledger.lock().unwrap();
            let expect = l
                .sends
                .iter()
                .filter(|(id, s)| s.1 == inbox && !l.ack_attempted.contains(*id))
                .map(|(id, _)| *id)
                .collect();
            let gone = l
                .acked
                .iter()
                .filter(|(_, a)| a.0 == inbox)
                .map(|(id, _)| *id)
                .collect();
            (expect, gone)
        };
        let args = poll_args(inbox);
        let run = self.run(&args, 30, 80);
        let Some(listed) = self.printed(&run, &args).as_ref().and_then(poll_ids) else {
            return;
        };
        self.ledger.lock().unwrap().counts.polls_checked += 1;
        let missing: Vec<_> = expect.difference(&listed).collect();
        let stale: Vec<_> = gone.intersection(&listed).collect();
        if !missing.is_empty() || !stale.is_empty() {
            fail(
                &self.ledger,
                format!(
                    "poll of agent {inbox}: confirmed un-acked {missing:?} missing, acked {stale:?} still listed"
                ),
            );
        }
        let choices: Vec<i64> = listed.into_iter().collect();
        if choices.is_empty() {
            return;
        }
        let id = self.rng.pick(&choices);
        self.ack(inbox, id, 75);
    }

    /// `message ack`, killed at random with probability `kill_pct`.
    fn ack(&mut self, inbox: i64, id: i64, kill_pct: u64) {
        let tried_before = !self.ledger.lock().unwrap().ack_attempted.insert(id);
        let args = ack_args(inbox, id, "--json");
        let run = self.run(&args, kill_pct, 80);
        if let Some(v) = run.json() {
            match (v["task"]["id"].as_i64(), v["task"]["ts"].as_str()) {
                (Some(got), Some(ts)) if got == id => {
                    let mut l = self.ledger.lock().unwrap();
                    l.acked.insert(id, (inbox, ts.to_string()));
                    l.counts.acks_confirmed += 1;
                }
                _ => fail(
                    &self.ledger,
                    format!("odd ack output: {}", run.describe(&args)),
                ),
            }
        } else if !run.killed {
            // Only an earlier ack that we killed after its commit explains a refusal.
            if !(tried_before && run.code == Some(1) && run.stderr == ACK_TWICE) {
                fail(
                    &self.ledger,
                    format!("first ack failed: {}", run.describe(&args)),
                );
            }
        }
    }

    /// Acks an already-acked task again: the clear error, and the row does not change.
    fn ack_again(&mut self) {
        let done: Vec<(i64, i64, String)> = {
            let l = self.ledger.lock().unwrap();
            l.acked
                .iter()
                .filter(|(_, a)| OWNED[self.id].contains(&a.0))
                .map(|(id, a)| (*id, a.0, a.1.clone()))
                .collect()
        };
        if done.is_empty() {
            return self.poll_and_ack();
        }
        let (id, inbox, ts) = done[self.rng.below(done.len() as u64) as usize].clone();
        let args = ack_args(inbox, id, "");
        let run = self.run(&args, 50, 80);
        if !run.killed && (run.code != Some(1) || run.stderr != ACK_TWICE || !run.stdout.is_empty())
        {
            fail(
                &self.ledger,
                format!("repeated ack: {}", run.describe(&args)),
            );
        }
        let now = task_state(&self.env, id);
        if now != Some(("completed".to_string(), ts.clone())) {
            fail(
                &self.ledger,
                format!("task {id} changed after a repeated ack: {now:?}, acked at {ts}"),
            );
        }
        self.ledger.lock().unwrap().counts.acks_repeated += 1;
    }
}

/// Runs one thread per entry of [`OWNED`] until `stop` says so.
fn run_workers(
    env: &Arc<Env>,
    ledger: &Shared,
    seed: u64,
    tag: &str,
    stop: impl Fn(&Ledger) -> bool + Send + Sync + 'static,
) {
    let stop = Arc::new(stop);
    let threads: Vec<_> = (0..OWNED.len())
        .map(|w| {
            let mut worker = Worker::new(env, ledger, w, seed, tag);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop(&worker.ledger.lock().unwrap()) {
                    worker.step();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("worker thread");
    }
}

// ---------------------------------------------------------------------------------------
// The invariants, checked after the work has restarted.
// ---------------------------------------------------------------------------------------

fn rows(env: &Env, sql: &str) -> Vec<Vec<String>> {
    env.query(sql)
}

fn int(s: &str) -> i64 {
    s.parse()
        .unwrap_or_else(|_| panic!("not an integer: {s:?}"))
}

/// Checks every invariant against the database and the CLI; returns how many messages
/// were checked. Panics with every violation found.
fn verify(env: &Env, ledger: &Shared, seed: u64) -> u64 {
    let dir = scratch(env, "verify");
    let mut rng = Rng::new(seed ^ 0xC0FFEE);
    let mut bad = ledger.lock().unwrap().failures.clone();
    let l = ledger.lock().unwrap();

    // The file is sound.
    let integrity = rows(env, "PRAGMA integrity_check");
    if integrity != vec![vec!["ok".to_string()]] {
        bad.push(format!("integrity_check: {integrity:?}"));
    }
    let fk = rows(env, "PRAGMA foreign_key_check");
    if !fk.is_empty() {
        bad.push(format!("foreign_key_check: {fk:?}"));
    }

    // Every stored text was attempted, and no attempt is stored twice.
    let stored = rows(
        env,
        "SELECT task_id, text, type, origin_task_id, context_id FROM tasks WHERE type = 'unicast' ORDER BY task_id",
    );
    let mut seen_unicast = HashSet::new();
    let mut seen_delivery = HashSet::new();
    for r in &stored {
        if !l.attempted.contains(&r[1]) {
            bad.push(format!("task {} has a text nobody sent: {:?}", r[0], r[1]));
        }
        let fresh = if r[3] == "NULL" {
            seen_unicast.insert(r[1].clone())
        } else {
            seen_delivery.insert((r[3].clone(), r[4].clone()))
        };
        if !fresh {
            bad.push(format!(
                "task {} duplicates an earlier row ({:?})",
                r[0], r[1]
            ));
        }
    }

    // Every send that printed an id is stored as printed.
    for (id, (from, to, text)) in &l.sends {
        let got = rows(
            env,
            &format!(
                "SELECT from_agent_id, context_id, to_agent_id, type, text, status_state FROM tasks WHERE task_id = {id}"
            ),
        );
        let want_state = if l.ack_attempted.contains(id) {
            None
        } else {
            Some("input_required")
        };
        match got.first() {
            Some(r)
                if int(&r[0]) == *from
                    && int(&r[1]) == *to
                    && int(&r[2]) == *to
                    && r[3] == "unicast"
                    && &r[4] == text
                    && want_state.is_none_or(|s| r[5] == s) => {}
            other => bad.push(format!(
                "confirmed send {id} ({from}->{to} {text:?}) stored as {other:?}"
            )),
        }
    }
    // A sample also through `message show`, as the recipient.
    let sends: Vec<_> = l.sends.iter().collect();
    let sample = sends.len().min(25);
    for _ in 0..sample {
        let (id, (_, to, text)) = sends[rng.below(sends.len() as u64) as usize];
        let args = words(&format!(
            "--json message show --fleet-id 1 --agent-id {to} --task-id {id}"
        ));
        let run = run_killing(env, &args, None, &dir);
        if run
            .json()
            .is_none_or(|v| v["task"]["text"] != text.as_str())
        {
            bad.push(format!("show of confirmed send: {}", run.describe(&args)));
        }
    }

    // Broadcasts are all or nothing: each summary has exactly its recipients' deliveries,
    // each delivery belongs to a stored summary.
    for (id, (from, text)) in &l.broadcasts {
        let got = rows(
            env,
            &format!("SELECT from_agent_id, type FROM tasks WHERE task_id = {id}"),
        );
        if got != vec![vec![from.to_string(), "broadcast_summary".to_string()]] {
            bad.push(format!(
                "confirmed broadcast {id} ({text:?}) stored as {got:?}"
            ));
        }
    }
    let summaries = rows(
        env,
        "SELECT task_id, from_agent_id, origin_task_id, text, created_at, status_state FROM tasks WHERE type = 'broadcast_summary'",
    );
    for s in &summaries {
        let (id, from) = (int(&s[0]), int(&s[1]));
        let want = broadcast_recipients(from);
        let deliveries = rows(
            env,
            &format!(
                "SELECT context_id, from_agent_id, text, created_at, type FROM tasks WHERE origin_task_id = {id} AND task_id <> {id} ORDER BY context_id"
            ),
        );
        let to: Vec<i64> = deliveries.iter().map(|d| int(&d[0])).collect();
        let same = deliveries.iter().all(|d| {
            int(&d[1]) == from && d[3] == s[4] && d[4] == "unicast" && l.attempted.contains(&d[2])
        });
        let text_ok = s[3] == format!("Broadcast sent to {} recipients", want.len());
        if s[2] != s[0] || s[5] != "completed" || to != want || !same || !text_ok {
            bad.push(format!(
                "broadcast {id} from {from} is partial or inconsistent: summary {s:?}, deliveries {deliveries:?}, expected recipients {want:?}"
            ));
        }
    }
    let orphans = rows(
        env,
        "SELECT d.task_id FROM tasks d LEFT JOIN tasks s ON s.task_id = d.origin_task_id AND s.type = 'broadcast_summary' WHERE d.origin_task_id IS NOT NULL AND s.task_id IS NULL",
    );
    if !orphans.is_empty() {
        bad.push(format!("deliveries without a summary: {orphans:?}"));
    }

    // Every confirmed ack is stored with the timestamp it printed.
    for (id, (_, ts)) in &l.acked {
        let now = task_state(env, *id);
        if now != Some(("completed".to_string(), ts.clone())) {
            bad.push(format!("confirmed ack {id} ({ts}) stored as {now:?}"));
        }
    }

    // Each inbox's poll lists exactly its open messages, including every confirmed send
    // nobody tried to ack.
    let mut checked = 0;
    let mut open_by_inbox = BTreeMap::new();
    for agent in AGENTS {
        let open: BTreeSet<i64> = rows(
            env,
            &format!(
                "SELECT task_id FROM tasks WHERE context_id = {agent} AND status_state = 'input_required' AND type <> 'broadcast_summary'"
            ),
        )
        .iter()
        .map(|r| int(&r[0]))
        .collect();
        let args = poll_args(agent);
        let run = run_killing(env, &args, None, &dir);
        match run.json().as_ref().and_then(poll_ids) {
            Some(listed) if listed == open => {}
            _ => bad.push(format!(
                "poll of {agent} differs from its open messages {open:?}: {}",
                run.describe(&args)
            )),
        }
        for (id, s) in &l.sends {
            if s.1 == agent && !l.ack_attempted.contains(id) && !open.contains(id) {
                bad.push(format!("confirmed send {id} to {agent} is not open"));
            }
        }
        checked += open.len() as u64;
        open_by_inbox.insert(agent, open);
    }
    checked += l.acked.len() as u64;
    drop(l);

    // Acking resumes: a few open messages per inbox are acked, vanish from the poll, and a
    // second ack is refused with the clear error and changes nothing.
    for (agent, open) in &open_by_inbox {
        let acked: Vec<i64> = open.iter().rev().take(3).copied().collect();
        for id in &acked {
            let first = run_killing(env, &ack_args(*agent, *id, ""), None, &dir);
            let before = task_state(env, *id);
            let again = run_killing(env, &ack_args(*agent, *id, ""), None, &dir);
            if first.code != Some(0)
                || again.code != Some(1)
                || again.stderr != ACK_TWICE
                || task_state(env, *id) != before
                || before.as_ref().is_none_or(|b| b.0 != "completed")
            {
                bad.push(format!(
                    "ack then repeated ack of {id} by {agent}, state {before:?}: {}\n{}",
                    first.describe(&[]),
                    again.describe(&[])
                ));
            }
            ledger.lock().unwrap().counts.acks_repeated += 1;
        }
        let listed = run_killing(env, &poll_args(*agent), None, &dir)
            .json()
            .as_ref()
            .and_then(poll_ids);
        let want: BTreeSet<i64> = open
            .iter()
            .filter(|i| !acked.contains(i))
            .copied()
            .collect();
        if listed.as_ref() != Some(&want) {
            bad.push(format!(
                "after acking {acked:?}, poll of {agent} lists {listed:?}, not {want:?}"
            ));
        }
    }

    assert!(
        bad.is_empty(),
        "{} crash-safety violation(s) (seed {seed}):\n{}",
        bad.len(),
        bad.join("\n")
    );
    checked
}

fn report(test: &str, started: Instant, ledger: &Shared, checked: u64, extra: &str) {
    let l = ledger.lock().unwrap();
    let c = &l.counts;
    eprintln!(
        "crash::{test}: {} kills in {} CLI runs; sends confirmed {}, broadcasts confirmed {}, acks confirmed {}, acks repeated {}, in-run polls checked {}, messages checked {}{extra}; {:.1} s",
        c.kills,
        c.ops,
        c.sends_confirmed,
        c.broadcasts_confirmed,
        c.acks_confirmed,
        c.acks_repeated,
        c.polls_checked,
        checked,
        started.elapsed().as_secs_f64()
    );
}

/// After the killing stops, ordinary work resumes: each worker sends once more and that must
/// simply succeed.
fn resume(env: &Env, ledger: &Shared, tag: &str) {
    for (w, owned) in OWNED.iter().enumerate() {
        let text = format!("{tag} after the crashes {w}");
        ledger.lock().unwrap().attempted.insert(text.clone());
        let to = owned[0];
        let mut args = words(&format!(
            "--json message send --fleet-id 1 --agent-id 3 --to {to} --text"
        ));
        args.push(text.clone());
        let v = run_killing(env, &args, None, &scratch(env, "resume"))
            .json()
            .unwrap_or_else(|| panic!("{args:?} failed after the crashes"));
        let id = v["task"]["id"].as_i64().expect("id");
        let mut l = ledger.lock().unwrap();
        l.sends.insert(id, (3, to, text));
        l.counts.sends_confirmed += 1;
    }
}

// ---------------------------------------------------------------------------------------
// Scenario 1: senders and ackers killed at random.
// ---------------------------------------------------------------------------------------

#[test]
fn senders_and_ackers_killed_at_random_lose_nothing() {
    let started = Instant::now();
    let seed = seed("senders_and_ackers_killed_at_random_lose_nothing");
    let kills = env_count("CAFLEET_CRASH_KILLS", 100);
    let (env, _tmux) = crash_fleet();
    let env = Arc::new(env);
    // Re-bound after `env` so the tmux server is killed before the temp dir holding its
    // socket is removed (otherwise the server outlives the test).
    let _tmux = _tmux;
    let ledger: Shared = Arc::default();
    // Stop at the target, or if kills stop landing (then the counts below will show it).
    run_workers(&env, &ledger, seed, "cli", move |l| {
        l.counts.kills >= kills || l.counts.ops >= kills * 20
    });
    assert!(
        ledger.lock().unwrap().counts.kills >= kills,
        "only {} of {kills} kills landed",
        ledger.lock().unwrap().counts.kills
    );
    resume(&env, &ledger, "cli");
    let checked = verify(&env, &ledger, seed);
    report(
        "senders_and_ackers_killed_at_random_lose_nothing",
        started,
        &ledger,
        checked,
        "",
    );
}

/// The checks themselves must be able to fail: a lost send, a partial broadcast and a
/// re-opened ack are each reported.
#[test]
fn the_checks_catch_a_lost_send_a_partial_broadcast_and_a_reopened_ack() {
    let (env, _tmux) = crash_fleet();
    let env = Arc::new(env);
    // Re-bound after `env` so the tmux server is killed before the temp dir holding its
    // socket is removed (otherwise the server outlives the test).
    let _tmux = _tmux;
    let ledger: Shared = Arc::default();
    let mut w = Worker::new(&env, &ledger, 1, 7, "selfcheck");
    for _ in 0..3 {
        w.send_to(4, 5, 0);
    }
    w.broadcast_from(3, 0);
    let acked = w.send_to(3, 4, 0).expect("send");
    w.ack(4, acked, 0);
    // Untouched, everything holds.
    verify(&env, &ledger, 7);
    let (lost, _) = {
        let l = ledger.lock().unwrap();
        let (id, s) = l.sends.iter().next().unwrap();
        (*id, s.clone())
    };
    let summary = *ledger.lock().unwrap().broadcasts.keys().next().unwrap();
    env.query(&format!("DELETE FROM tasks WHERE task_id = {lost}"));
    env.query(&format!(
        "DELETE FROM tasks WHERE task_id = (SELECT max(task_id) FROM tasks WHERE origin_task_id = {summary})"
    ));
    env.query(&format!(
        "UPDATE tasks SET status_state = 'input_required' WHERE task_id = {acked}"
    ));
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| verify(&env, &ledger, 7)))
        .expect_err("tampering went unnoticed");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    for needle in [
        format!("confirmed send {lost} "),
        format!("broadcast {summary} from 3 is partial"),
        format!("confirmed ack {acked} "),
    ] {
        assert!(msg.contains(&needle), "{needle:?} not reported in:\n{msg}");
    }
}

// ---------------------------------------------------------------------------------------
// Scenario 2: the monitor killed at random; its slot must free within the liveness window.
// ---------------------------------------------------------------------------------------

/// `max(3 × tick, 15)` seconds for `--tick 1`: the liveness window (docs/decisions.md, C1).
const LIVENESS_WINDOW: Duration = Duration::from_secs(15);

/// A `monitor start --tick 1` child with its output files.
struct MonitorProc {
    child: Child,
    pid: u32,
    spawned: Instant,
    out: PathBuf,
    err: PathBuf,
}

impl MonitorProc {
    fn spawn(env: &Env, name: &str) -> MonitorProc {
        let dir = scratch(env, "monitor");
        let (out, err) = (
            dir.join(format!("{name}.out")),
            dir.join(format!("{name}.err")),
        );
        let child = spawn(
            env,
            &["monitor", "start", "--fleet-id", "1", "--tick", "1"],
            &out,
            &err,
        );
        MonitorProc {
            pid: child.id(),
            child,
            spawned: Instant::now(),
            out,
            err,
        }
    }

    fn claimed(&self) -> bool {
        let want = format!("monitor running for fleet 1 (pid {}, tick 1s)", self.pid);
        std::fs::read_to_string(&self.out).is_ok_and(|o| o.starts_with(&want))
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// SIGKILLs and reaps it (so its pid is really gone); whether it was still running.
    fn kill(&mut self) -> bool {
        let _ = self.child.kill();
        self.child.wait().expect("wait").signal() == Some(9)
    }
}

impl Drop for MonitorProc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn monitor_runtime(env: &Env) -> Value {
    env.json(&["monitor", "status", "--fleet-id", "1"])["runtime"].clone()
}

/// Starts one or two monitors at once; exactly one must claim the slot within `by`, any
/// other must exit 1 with the clean refusal. Returns the winner.
fn claim(env: &Env, name: &str, two: bool, by: Instant) -> Result<MonitorProc, String> {
    let mut procs: Vec<MonitorProc> = (0..if two { 2 } else { 1 })
        .map(|i| MonitorProc::spawn(env, &format!("{name}-{i}")))
        .collect();
    loop {
        let winners = procs.iter().filter(|p| p.claimed()).count();
        let mut exited = Vec::new();
        for (i, p) in procs.iter_mut().enumerate() {
            if let Some(st) = p.child.try_wait().expect("try_wait") {
                exited.push((i, st));
            }
        }
        if winners == 1 && exited.len() == procs.len() - 1 {
            for (i, st) in &exited {
                let e = procs[*i].stderr();
                if st.code() != Some(1) || e != "Error: monitor already running for fleet 1\n" {
                    return Err(format!("the losing start exited {st:?}: {e:?}"));
                }
            }
            let w = procs.iter().position(MonitorProc::claimed).unwrap();
            return Ok(procs.swap_remove(w));
        }
        if winners > 1 {
            return Err("two monitors claimed one slot".into());
        }
        if exited.len() == procs.len() {
            let errs: Vec<_> = procs.iter().map(MonitorProc::stderr).collect();
            return Err(format!("no start could claim the slot: {errs:?}"));
        }
        if Instant::now() > by {
            let errs: Vec<_> = procs.iter().map(MonitorProc::stderr).collect();
            return Err(format!(
                "no start claimed the slot within the liveness window: {errs:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_killed_monitor_frees_its_slot_within_the_liveness_window() {
    let started = Instant::now();
    let seed = seed("a_killed_monitor_frees_its_slot_within_the_liveness_window");
    let mut rng = Rng::new(seed);
    let rounds = env_count("CAFLEET_CRASH_MONITOR_KILLS", 10);
    let mut env = Env::new();
    let (_tmux, _pane, _log) = fleet_in_tmux(&mut env);
    // The Director is due every tick, so kills also land while a trigger is being typed.
    must(
        &env,
        &words("monitor config --fleet-id 1 --agent-id 1 --interval 1"),
    );
    let far = Instant::now() + LIVENESS_WINDOW;
    let mut current = claim(&env, "m0", false, far).expect("first start");
    let (mut kills, mut races) = (0, 0);
    let (mut worst_stop, mut worst_claim) = (Duration::ZERO, Duration::ZERO);
    for round in 1..=rounds {
        // Often during start-up (before, in or just after the claim), otherwise anywhere in
        // the first ticks.
        let within = if rng.chance(30) { 120 } else { 2000 };
        let at = current.spawned + rng.delay(within);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        let was_running = current.kill();
        assert!(
            was_running,
            "monitor {} exited before the kill: {}",
            current.pid,
            current.stderr()
        );
        kills += 1;
        let killed_at = Instant::now();
        let deadline = killed_at + LIVENESS_WINDOW;
        let mut rt = monitor_runtime(&env);
        while rt["running"] != false && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            rt = monitor_runtime(&env);
        }
        assert_eq!(
            rt["running"], false,
            "round {round}: monitor status still reports the SIGKILLed pid {} running after {LIVENESS_WINDOW:?}: {rt}",
            current.pid
        );
        assert_eq!(rt["pid"], Value::Null, "a dead slot leaks its pid: {rt}");
        worst_stop = worst_stop.max(killed_at.elapsed());
        let two = rng.chance(40);
        races += u64::from(two);
        current = claim(&env, &format!("m{round}"), two, deadline)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        worst_claim = worst_claim.max(killed_at.elapsed());
        let rt = monitor_runtime(&env);
        assert!(
            rt["running"] == true && rt["pid"] == current.pid,
            "round {round}: the new monitor {} is not the one reported: {rt}",
            current.pid
        );
    }
    // A clean stop still works after all that, and clears the slot.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(current.pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let st = current.child.wait().expect("wait");
    assert_eq!(st.code(), Some(0), "SIGTERM exit: {}", current.stderr());
    assert_eq!(
        env.query("SELECT pid, started_at, last_tick_at, tick_seconds FROM monitor_runtime"),
        vec![vec![
            "NULL".to_string(),
            "NULL".into(),
            "NULL".into(),
            "1".into()
        ]]
    );
    assert_eq!(
        env.query("PRAGMA integrity_check"),
        vec![vec!["ok".to_string()]]
    );
    eprintln!(
        "crash::a_killed_monitor_frees_its_slot_within_the_liveness_window: {kills} kills ({races} followed by two racing starts); slowest 'stopped' {:.2} s, slowest re-claim {:.2} s after the kill (window {} s); {:.1} s",
        worst_stop.as_secs_f64(),
        worst_claim.as_secs_f64(),
        LIVENESS_WINDOW.as_secs(),
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// Scenario 3: `cafleet server` killed while HTTP clients and CLI senders work.
// ---------------------------------------------------------------------------------------

/// `POST /api/messages/send` as a same-origin page would; (status, body) or a transport
/// error (the server died under us).
fn http_send(port: u16, body: &str) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let req = format!(
        "POST /api/messages/send HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nX-Fleet-Id: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    let (head, body) = raw.split_once("\r\n\r\n").ok_or("truncated response")?;
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status line")?;
    Ok((code, body.to_string()))
}

/// Where the server is listening right now (None while it is down).
type Port = Arc<Mutex<Option<u16>>>;

/// An HTTP client sending as the Administrator (the only sender the API accepts) until told
/// to stop; confirmed ids go into the ledger.
fn http_client(port: Port, ledger: Shared, seed: u64, n: u64) {
    let mut rng = Rng::new(seed ^ (0xA11CE + n));
    let mut i = 0;
    while !ledger.lock().unwrap().stop {
        let Some(p) = *port.lock().unwrap() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        i += 1;
        let text = format!("http-s{seed}-c{n} {i}");
        let to = if rng.chance(20) {
            Value::from("*")
        } else {
            Value::from(rng.pick(&broadcast_recipients(2)))
        };
        ledger.lock().unwrap().attempted.insert(text.clone());
        let body = serde_json::json!({"from_agent_id": 2, "to_agent_id": to, "text": text});
        let res = http_send(p, &body.to_string());
        let mut l = ledger.lock().unwrap();
        match res {
            Ok((200, out)) => {
                let v: Value = serde_json::from_str(&out).unwrap_or_default();
                match (v["task_id"].as_i64(), to.as_i64()) {
                    (Some(id), Some(to)) => {
                        l.sends.insert(id, (2, to, text));
                    }
                    (Some(id), None) => {
                        l.broadcasts.insert(id, (2, text));
                    }
                    _ => l.failures.push(format!("odd API answer {out:?}")),
                }
                l.counts.http_confirmed += 1;
            }
            Ok((code, out)) => l.failures.push(format!("API send refused {code}: {out}")),
            // Refused: the server is already dead and not yet marked down.
            Err(e) if e.contains("refused") => {
                drop(l);
                std::thread::sleep(Duration::from_millis(5));
            }
            // Cut off mid-request by the kill: the send may or may not have committed.
            Err(_) => l.counts.http_failed += 1,
        }
    }
}

/// Starts `cafleet server --port 0` and waits for the line naming its port.
fn start_server(env: &Env, name: &str) -> (Child, u16) {
    let dir = scratch(env, "server");
    let (out, err) = (
        dir.join(format!("{name}.out")),
        dir.join(format!("{name}.err")),
    );
    let mut child = spawn(env, &["server", "--port", "0"], &out, &err);
    let prefix = "CAFleet WebUI on http://127.0.0.1:";
    let mut port = None;
    let up = wait_for(Duration::from_secs(30), || {
        port = std::fs::read_to_string(&out)
            .ok()
            .and_then(|o| o.strip_prefix(prefix)?.split('/').next()?.parse().ok());
        port.is_some() || matches!(child.try_wait(), Ok(Some(_)))
    });
    match port {
        Some(p) if up => (child, p),
        _ => panic!(
            "server {name} did not start: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        ),
    }
}

#[test]
fn a_killed_server_loses_no_confirmed_message() {
    let started = Instant::now();
    let seed = seed("a_killed_server_loses_no_confirmed_message");
    let mut rng = Rng::new(seed);
    let rounds = env_count("CAFLEET_CRASH_SERVER_KILLS", 10);
    let (env, _tmux) = crash_fleet();
    let env = Arc::new(env);
    // Re-bound after `env` so the tmux server is killed before the temp dir holding its
    // socket is removed (otherwise the server outlives the test).
    let _tmux = _tmux;
    let ledger: Shared = Arc::default();
    let port: Port = Arc::default();
    let clients: Vec<_> = (0..2)
        .map(|n| {
            let (port, ledger) = (Arc::clone(&port), Arc::clone(&ledger));
            std::thread::spawn(move || http_client(port, ledger, seed, n))
        })
        .collect();
    // Two CLI workers send and ack beside the server, themselves killed at random.
    let cli: Vec<_> = (0..2)
        .map(|w| {
            let mut worker = Worker::new(&env, &ledger, w, seed, "srv-cli");
            std::thread::spawn(move || {
                while !worker.ledger.lock().unwrap().stop {
                    worker.step();
                }
            })
        })
        .collect();
    let mut server_kills = 0;
    for round in 0..rounds {
        let (mut child, p) = start_server(&env, &format!("s{round}"));
        *port.lock().unwrap() = Some(p);
        std::thread::sleep(Duration::from_millis(100) + rng.delay(600));
        let _ = child.kill();
        let st = child.wait().expect("wait");
        *port.lock().unwrap() = None;
        assert_eq!(st.signal(), Some(9), "server {round} exited on its own");
        server_kills += 1;
    }
    // Restart: the server comes back on the same file and serves again.
    let (mut child, p) = start_server(&env, "final");
    *port.lock().unwrap() = Some(p);
    std::thread::sleep(Duration::from_millis(300));
    ledger.lock().unwrap().stop = true;
    for t in clients.into_iter().chain(cli) {
        t.join().expect("client thread");
    }
    for to in broadcast_recipients(2) {
        let text = format!("http-s{seed} after the crashes {to}");
        ledger.lock().unwrap().attempted.insert(text.clone());
        let body = serde_json::json!({"from_agent_id": 2, "to_agent_id": to, "text": text});
        let (code, out) = http_send(p, &body.to_string()).expect("API after restart");
        assert_eq!(code, 200, "{out}");
        let id = serde_json::from_str::<Value>(&out).unwrap()["task_id"]
            .as_i64()
            .unwrap();
        ledger.lock().unwrap().sends.insert(id, (2, to, text));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    resume(&env, &ledger, "srv");
    let checked = verify(&env, &ledger, seed);
    let (http_ok, http_lost) = {
        let c = &ledger.lock().unwrap().counts;
        (c.http_confirmed, c.http_failed)
    };
    report(
        "a_killed_server_loses_no_confirmed_message",
        started,
        &ledger,
        checked,
        &format!(
            "; {server_kills} server kills, HTTP sends confirmed {http_ok}, cut off {http_lost}"
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Scenario 4: first use killed midway (creating a fresh database; adopting an old one).
// ---------------------------------------------------------------------------------------

/// The schema as SQLite records it, for comparing a killed-then-rerun migration with a
/// clean one.
fn schema(path: &Path) -> Vec<Vec<String>> {
    query_db(
        path,
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )
}

#[test]
fn first_use_killed_midway_leaves_a_database_the_next_command_completes() {
    let started = Instant::now();
    let seed = seed("first_use_killed_midway_leaves_a_database_the_next_command_completes");
    let mut rng = Rng::new(seed);
    let rounds = env_count("CAFLEET_CRASH_MIGRATION_KILLS", 12);
    let clean = Env::new();
    must(&clean, &words("db init"));
    let want = schema(&clean.db_path);
    let mut kills = 0;
    for round in 0..rounds {
        let env = Env::new();
        // Three processes meet a missing file at once; each is killed somewhere in start-up.
        let dir = scratch(&env, "first");
        let children: Vec<_> = (0..3)
            .map(|i| {
                let (out, err) = (dir.join(format!("{i}.out")), dir.join(format!("{i}.err")));
                let args = if i == 0 { "db init" } else { "fleet list" };
                (spawn(&env, &words(args), &out, &err), rng.delay(100))
            })
            .collect();
        let t0 = Instant::now();
        for (mut child, at) in children {
            std::thread::sleep(at.saturating_sub(t0.elapsed()));
            let _ = child.kill();
            kills += u64::from(child.wait().expect("wait").signal() == Some(9));
        }
        let out = must(&env, &words("db init"));
        assert!(
            out.starts_with("Created ") || out.starts_with("Already at head"),
            "round {round}: {out}"
        );
        must(&env, &words("fleet list"));
        assert_eq!(schema(&env.db_path), want, "round {round}: schema differs");
        assert_eq!(
            env.query("PRAGMA integrity_check"),
            vec![vec!["ok".to_string()]]
        );
    }
    eprintln!(
        "crash::first_use_killed_midway_leaves_a_database_the_next_command_completes: {kills} kills over {rounds} fresh databases; {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// A CAFleet 0.14 database padded to tens of MB, so that backing it up and migrating it
/// take long enough to be interrupted.
fn big_old_database(dir: &Path) -> PathBuf {
    let path = dir.join("old.db");
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-0.14.db");
    std::fs::copy(fixture, &path).expect("copy fixture");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    query_db(
        &path,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000) \
         INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state, status_timestamp, origin_task_id, text) \
         SELECT 1, 1, 1, 'unicast', '2026-11-24T12:22:28.939428+00:00', 'completed', '2026-11-24T12:22:28.939428+00:00', NULL, 'padding ' || i || ' ' || hex(randomblob(120)) FROM n",
    );
    path
}

/// What must survive adoption: every task, byte for byte (summarised).
fn tasks_digest(path: &Path) -> Vec<Vec<String>> {
    query_db(
        path,
        "SELECT count(*), max(task_id), sum(length(text)), sum(unicode(substr(text, -1))) FROM tasks",
    )
}

#[test]
fn adoption_killed_midway_keeps_every_row_and_a_complete_backup() {
    let started = Instant::now();
    let seed = seed("adoption_killed_midway_keeps_every_row_and_a_complete_backup");
    let mut rng = Rng::new(seed);
    let rounds = env_count("CAFLEET_CRASH_MIGRATION_KILLS", 4);
    let base = Env::new();
    let old = big_old_database(base.dir.path());
    let digest = tasks_digest(&old);
    let mut bad = Vec::new();
    for round in 0..rounds {
        let env = Env::new();
        std::fs::create_dir_all(env.db_path.parent().unwrap()).unwrap();
        std::fs::copy(&old, &env.db_path).unwrap();
        let backup = PathBuf::from(format!("{}.bak-schema0", env.db_path.display()));
        let dir = scratch(&env, "adopt");
        let mut child = spawn(&env, &words("db init"), &dir.join("out"), &dir.join("err"));
        // Half the rounds aim at the backup being written, the rest anywhere in the first
        // two seconds (backup, migration, or after).
        if rng.chance(50) {
            wait_for(Duration::from_secs(30), || backup.exists());
            std::thread::sleep(rng.delay(40));
        } else {
            std::thread::sleep(rng.delay(2000));
        }
        let _ = child.kill();
        let killed = child.wait().expect("wait").signal() == Some(9);
        let rerun = run_killing(&env, &words("db init"), None, &dir);
        let backup_digest = backup
            .exists()
            .then(|| std::panic::catch_unwind(|| tasks_digest(&backup)).map_err(|_| "unreadable"));
        // A copy cut off by the kill is left under a temporary name, never as the backup,
        // and the next run clears it away.
        let leftovers: Vec<String> = std::fs::read_dir(env.db_path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".tmp-"))
            .collect();
        let report = format!(
            "round {round} (killed: {killed}): rerun {:?} {:?}; backup {:?} bytes, digest {backup_digest:?}, leftovers {leftovers:?}",
            rerun.code,
            rerun.stdout.trim(),
            std::fs::metadata(&backup).map(|m| m.len()).ok()
        );
        eprintln!("crash: adoption {report}");
        if rerun.code != Some(0)
            || tasks_digest(&env.db_path) != digest
            || env.query("PRAGMA integrity_check") != vec![vec!["ok".to_string()]]
            || backup_digest != Some(Ok(digest.clone()))
            || !leftovers.is_empty()
        {
            bad.push(report);
        }
    }
    eprintln!(
        "crash::adoption_killed_midway_keeps_every_row_and_a_complete_backup: {rounds} rounds; {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        bad.is_empty(),
        "original digest {digest:?}:\n{}",
        bad.join("\n")
    );
}
