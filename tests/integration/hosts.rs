//! One fleet across hosts (docs/postgres.md, "Hosts and the relay"), simulated on one
//! machine: each host is its own tmux server and its own `CAFLEET_HOST`, sharing the test's
//! database (SQLite here, PostgreSQL under scripts/test-postgres). A command never types
//! into another host's pane; `cafleet relay` on the pane's host does, exactly once per
//! due attempt, and catches up after being killed.
//!
//! Until `member create` can spawn onto another host, the member on host `beta` is created
//! on the Director's host and its placement is then pointed at a pane of beta's tmux
//! server (one UPDATE of `agent_placements`): everything after that is the real path.

use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(20);

/// The Director's team on host `alpha` and one member, `bob`, whose pane is a byte
/// recorder on host `beta`'s tmux server.
struct TwoHosts {
    // The servers first: they are killed while their sockets (in the temp dirs) exist.
    beta: TmuxServer,
    team: Team,
    bob: String,
    bob_log: PathBuf,
}

impl TwoHosts {
    fn new() -> TwoHosts {
        let team = Team::new_on_host("alpha");
        let bob = team.create("bob", &[])["agent_id"]
            .as_i64()
            .expect("bob's id")
            .to_string();
        let beta_dir = team.env.dir.path().join("beta");
        std::fs::create_dir_all(&beta_dir).unwrap();
        let beta = TmuxServer::start(&beta_dir, &["sleep", "100000"]);
        let (pane, bob_log) = beta.recorder_pane("bob");
        let sql = format!(
            "UPDATE agent_placements SET host = 'beta', tmux_socket = '{}', tmux_pane_id = '{pane}' WHERE agent_id = {bob}",
            beta.socket.display()
        );
        team.env.query(&sql);
        TwoHosts {
            beta,
            team,
            bob,
            bob_log,
        }
    }

    /// `cafleet <words>` acting on host `host` (the database is shared).
    fn on(&self, host: &str, words: &str) -> Cli<'_> {
        self.team.env.cafleet(words).env("CAFLEET_HOST", host)
    }

    /// A `cafleet` process on host `host`, to spawn.
    fn process_on(&self, host: &str) -> std::process::Command {
        let mut cmd = self.team.env.std_cmd();
        cmd.env("CAFLEET_HOST", host);
        cmd
    }

    /// The Director sends `text` to bob; returns the JSON output.
    fn send(&self, text: &str) -> Value {
        self.team
            .env
            .cafleet("message send")
            .fleet(1)
            .agent(1)
            .opt("--to", &self.bob)
            .opt("--text", text)
            .value()
    }

    /// `cafleet relay --once` on beta; returns its stdout.
    fn relay_once(&self) -> String {
        self.on("beta", "relay").arg("--once").ok()
    }

    fn bob_keys(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.bob_log).unwrap_or_default()).into_owned()
    }

    fn state(&self, task: i64) -> String {
        self.team
            .env
            .cafleet("message show")
            .fleet(1)
            .agent(1)
            .task(task)
            .value()["delivery"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn task_id(v: &Value) -> i64 {
    v["task"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no task id in {v}"))
}

fn marker(task: i64) -> String {
    format!("[cafleet msg {task} from")
}

/// A `cafleet relay` child with its output files; killed on drop.
struct RelayProc {
    child: Child,
    out: PathBuf,
}

impl RelayProc {
    fn spawn(cmd: std::process::Command, dir: &Path, name: &str) -> RelayProc {
        RelayProc::every(cmd, dir, name, 1)
    }

    /// A relay whose passes run every `interval` seconds unless woken.
    fn every(mut cmd: std::process::Command, dir: &Path, name: &str, interval: u32) -> RelayProc {
        let out = dir.join(format!("{name}.out"));
        let err = dir.join(format!("{name}.err"));
        let child = cmd
            .args(["relay", "--interval", &interval.to_string()])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(err).unwrap())
            .spawn()
            .expect("spawn the relay");
        let relay = RelayProc { child, out };
        assert!(
            wait_for(DEADLINE, || relay
                .output()
                .contains("relay running for host beta")),
            "the relay never started: {}",
            relay.output()
        );
        relay
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn a_message_to_another_hosts_pane_waits_for_that_hosts_relay() {
    let h = TwoHosts::new();
    let v = h.send("hello from alpha");
    let task = task_id(&v);
    // Nothing was typed from alpha: the delivery waits for beta's relay, and says so.
    assert_eq!(v["notification_sent"], false, "{v}");
    assert_eq!(v["delivery"]["state"], "stored", "{v}");
    let note = v["delivery"]["note"].as_str().unwrap_or_default();
    assert!(note.contains("host beta") && note.contains("relay"), "{v}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(h.bob_keys(), "", "alpha typed into beta's pane");

    // A relay on another host (alpha itself, or gamma) does not touch beta's panes.
    h.on("gamma", "relay").arg("--once").ok();
    h.team.env.ok(&["relay", "--once"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(h.bob_keys(), "");

    // beta's relay types it, once.
    let out = h.relay_once();
    assert!(
        out.contains(&format!(
            "fleet 1 task {task} to agent {} (bob) -> preview typed",
            h.bob
        )),
        "{out}"
    );
    let keys = wait_for_bytes(&h.bob_log, marker(task).as_bytes());
    let keys = String::from_utf8_lossy(&keys);
    assert!(keys.contains("hello from alpha"), "{keys}");
    assert_eq!(h.state(task), "typed");
    // Another pass has nothing due (the next attempt waits for --redeliver-after).
    assert_eq!(h.relay_once(), "");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(h.bob_keys().matches(&marker(task)).count(), 1);

    // bob polls (from beta) and sees it: the delivery is done.
    let polled = h.on("beta", "message poll").fleet(1).agent(&h.bob).ok();
    assert!(polled.contains("hello from alpha"), "{polled}");
    assert_eq!(h.state(task), "seen");
}

#[test]
fn a_broadcast_types_here_at_once_and_there_through_the_relay() {
    let h = TwoHosts::new();
    let alice = h.team.create("alice", &[])["agent_id"]
        .as_i64()
        .unwrap()
        .to_string();
    let alice_pane = h.team.env.query(&format!(
        "SELECT tmux_pane_id FROM agent_placements WHERE agent_id = {alice}"
    ))[0][0]
        .clone();
    let v = h
        .team
        .env
        .cafleet("message broadcast")
        .fleet(1)
        .agent(1)
        .opt("--text", "all hands")
        .value();
    assert_eq!(v[0]["delivery"]["states"]["stored"], 1, "{v}");
    assert_eq!(v[0]["notifications_sent_count"], 1, "{v}");
    // alice (alpha) got hers from the sender; bob's waits for beta's relay.
    h.team.keys_contain(&alice_pane, b"all hands");
    assert_eq!(h.bob_keys(), "");
    h.relay_once();
    wait_for_bytes(&h.bob_log, b"all hands");
    // The relay typed only bob's: alice has exactly one preview.
    let alice_keys = String::from_utf8_lossy(&h.team.keys(&alice_pane)).into_owned();
    assert_eq!(alice_keys.matches("all hands").count(), 1, "{alice_keys}");
}

#[test]
fn a_relay_killed_and_restarted_delivers_everything_pending_exactly_once() {
    let h = TwoHosts::new();
    let dir = h.team.env.dir.path().join("relay");
    std::fs::create_dir_all(&dir).unwrap();
    let mut relay = RelayProc::spawn(h.process_on("beta"), &dir, "first");
    // Running: a send is typed within a pass (at once on PostgreSQL, which wakes it).
    let first = task_id(&h.send("first message"));
    wait_for_bytes(&h.bob_log, marker(first).as_bytes());
    relay.kill();
    // Down: deliveries wait in the database.
    let second = task_id(&h.send("second message"));
    let third = task_id(&h.send("third message"));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!h.bob_keys().contains(&marker(second)));
    assert_eq!(h.state(second), "stored");
    // Restarted: it catches up, in order, and types nothing twice.
    let _relay = RelayProc::spawn(h.process_on("beta"), &dir, "second");
    let keys = wait_for_bytes(&h.bob_log, marker(third).as_bytes());
    let keys = String::from_utf8_lossy(&keys).into_owned();
    for task in [first, second, third] {
        assert_eq!(
            keys.matches(&marker(task)).count(),
            1,
            "task {task}: {keys}"
        );
    }
    assert!(
        keys.find(&marker(second)) < keys.find(&marker(third)),
        "{keys}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let keys = h.bob_keys();
    for task in [first, second, third] {
        assert_eq!(
            keys.matches(&marker(task)).count(),
            1,
            "task {task}: {keys}"
        );
    }
}

#[test]
fn on_postgres_a_send_wakes_the_relay_at_once_on_sqlite_its_tick_does() {
    let h = TwoHosts::new();
    let dir = h.team.env.dir.path().join("relay");
    std::fs::create_dir_all(&dir).unwrap();
    // Passes an hour apart: only a wake-up can type the preview soon.
    let _relay = RelayProc::every(h.process_on("beta"), &dir, "slow", 3600);
    let task = task_id(&h.send("wake up"));
    if on_pg() {
        // The sender's NOTIFY (after its commit) starts a pass on beta.
        wait_for_bytes(&h.bob_log, marker(task).as_bytes());
        assert!(wait_for(DEADLINE, || h.state(task) == "typed"));
    } else {
        // SQLite has no notifications: the delivery waits for the relay's next pass.
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(h.bob_keys(), "");
        assert_eq!(h.state(task), "stored");
    }
}

#[test]
fn panes_of_another_host_are_never_steered_from_here() {
    let h = TwoHosts::new();
    // The Director (alpha) cannot steer bob's pane on beta: it says where to run it.
    for (words, extra) in [
        ("member capture", vec![]),
        ("member send-input", vec!["--choice", "1"]),
        ("member delete", vec!["--force"]),
    ] {
        let cli = extra
            .into_iter()
            .fold(h.team.env.cafleet(words).fleet(1), Cli::arg)
            .opt("--member-id", &h.bob);
        let err = cli.fails(1);
        assert!(
            err.contains(&format!("cannot reach member {}", h.bob))
                && err.contains("host beta")
                && err.contains("this is host alpha"),
            "{words}: {err}"
        );
    }
    assert_eq!(h.bob_keys(), "");
    // On beta, the Director's pane id is another pane: Director-only commands refuse.
    let err = h
        .on("beta", "member capture")
        .env("TMUX", h.beta.tmux_env())
        .env("TMUX_PANE", "%0")
        .fleet(1)
        .opt("--member-id", &h.bob)
        .fails(1);
    assert!(
        err.contains("Director-only") && err.contains("on host alpha"),
        "{err}"
    );
}

#[test]
fn a_bad_host_identity_is_refused_with_the_fix() {
    let env = Env::new();
    let err = env
        .cafleet("relay")
        .arg("--once")
        .env("CAFLEET_HOST", "two words")
        .fails(2);
    assert!(
        err.contains("CAFLEET_HOST must be") && err.contains("Unset it"),
        "{err}"
    );
}
