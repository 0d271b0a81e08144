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
//!
//! This file holds the seeded generator and the runner that schedules kills; `fleet`,
//! `worker` and `invariants` are the shared harness, and each other module is one scenario.

mod first_use;
mod fleet;
mod invariants;
mod monitor;
mod senders;
mod server;
mod worker;

use fleet::*;
use invariants::*;
use worker::*;

use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// Seeded randomness.

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

// Running the binary with a kill scheduled.

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
