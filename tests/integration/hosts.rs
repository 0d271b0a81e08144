//! One fleet across hosts (docs/postgres.md, "Hosts and the relay" and "Pane requests"),
//! simulated on one machine: each host is its own tmux server and its own `CAFLEET_HOST`,
//! sharing the test's database (SQLite here, PostgreSQL under scripts/test-postgres). A
//! command never runs tmux for another host's pane; `cafleet relay` on the pane's host
//! spawns members there, steers them, and types their previews, exactly once per due
//! attempt, catching up after being killed.

use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(20);

/// The Director's team on host `alpha` and one member, `bob`, spawned by
/// `member create --host beta` through beta's relay into beta's tmux server (a stand-in
/// coding agent that records the bytes typed into it).
struct TwoHosts {
    // The servers first: they are killed while their sockets (in the temp dirs) exist.
    beta: TmuxServer,
    team: Team,
    beta_dir: PathBuf,
    /// beta's `PATH`: its own stand-ins first, so their logs stay apart from alpha's.
    beta_path: String,
    bob: String,
    bob_pane: String,
    bob_log: PathBuf,
}

impl TwoHosts {
    fn new() -> TwoHosts {
        let team = Team::new_on_host("alpha");
        let beta_dir = team.env.dir.path().join("beta");
        let beta_path = install_standins(&beta_dir.join("bin"));
        let beta = TmuxServer::start_with_path(&beta_dir, &beta_path, &["sleep", "100000"]);
        let mut h = TwoHosts {
            beta,
            team,
            beta_dir,
            beta_path,
            bob: String::new(),
            bob_pane: String::new(),
            bob_log: PathBuf::new(),
        };
        // beta's relay spawns bob, then stops: each test starts it again as it needs.
        let relay = h.relay("spawner", 1);
        let v = h.team.create("bob", &["--host", "beta"]);
        drop(relay);
        h.bob = v["agent_id"].as_i64().expect("bob's id").to_string();
        h.bob_pane = h.team.env.query(&format!(
            "SELECT tmux_pane_id FROM agent_placements WHERE agent_id = {}",
            h.bob
        ))[0][0]
            .clone();
        assert!(
            h.beta.panes().contains(&h.bob_pane),
            "bob's pane {} is not on beta's server: {v}",
            h.bob_pane
        );
        h.bob_log = h
            .beta_dir
            .join("standin-logs")
            .join(format!("{}.keys", h.bob_pane));
        // The stand-in is up (its argv is recorded) before anything is typed into it.
        let argv = h
            .beta_dir
            .join("standin-logs")
            .join(format!("{}.argv", h.bob_pane));
        assert!(wait_for(DEADLINE, || argv.exists()));
        h
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

    /// beta's relay, running (passes every `interval` seconds unless woken), spawning
    /// members into beta's tmux server.
    fn relay(&self, name: &str, interval: u32) -> Daemon {
        let mut cmd = self.process_on("beta");
        cmd.env("PATH", &self.beta_path)
            .arg("relay")
            .arg("--interval")
            .arg(interval.to_string())
            .arg("--tmux-socket")
            .arg(&self.beta.socket);
        let dir = self.beta_dir.join("relay-logs");
        std::fs::create_dir_all(&dir).unwrap();
        Daemon::spawn(cmd, &dir, name, "relay running for host beta")
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

/// Typed, whether or not the stand-in's input box showed it taken.
fn is_typed(state: &str) -> bool {
    state == "typed" || state == "submitted"
}

fn marker(task: i64) -> String {
    format!("[cafleet msg {task} from")
}

/// A `cafleet relay` or `monitor start` child with its output file; killed on drop.
struct Daemon {
    child: Child,
    out: PathBuf,
}

impl Daemon {
    /// Spawns `cmd` (`cafleet relay …`, `cafleet monitor start …`) and waits for its
    /// start line, which contains `ready`.
    fn spawn(mut cmd: std::process::Command, dir: &Path, name: &str, ready: &str) -> Daemon {
        let out = dir.join(format!("{name}.out"));
        let err = dir.join(format!("{name}.err"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(err).unwrap())
            .spawn()
            .expect("spawn the daemon");
        let relay = Daemon { child, out };
        assert!(
            wait_for(DEADLINE, || relay.output().contains(ready)),
            "{name} never started: {}",
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

impl Drop for Daemon {
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
    assert!(is_typed(&h.state(task)));
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
    let mut relay = h.relay("first", 1);
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
    let _relay = h.relay("second", 1);
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
    // Passes an hour apart: only a wake-up can type the preview soon.
    let _relay = h.relay("slow", 3600);
    let task = task_id(&h.send("wake up"));
    if on_pg() {
        // The sender's NOTIFY (after its commit) starts a pass on beta.
        wait_for_bytes(&h.bob_log, marker(task).as_bytes());
        assert!(wait_for(DEADLINE, || is_typed(&h.state(task))));
    } else {
        // SQLite has no notifications: the delivery waits for the relay's next pass.
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(h.bob_keys(), "");
        assert_eq!(h.state(task), "stored");
    }
}

#[test]
fn the_director_steers_a_member_on_another_host_through_its_relay() {
    let h = TwoHosts::new();
    let member = |words: &str| {
        h.team
            .env
            .cafleet(words)
            .fleet(1)
            .opt("--member-id", &h.bob)
    };
    // No relay on beta: the request is withdrawn after the pickup wait, with the fix.
    let err = member("member capture").fails(1);
    assert!(
        err.contains("no relay on host beta picked it up") && err.contains("cafleet relay"),
        "{err}"
    );
    let _relay = h.relay("steering", 1);
    // capture: beta's relay reads the pane and the Director gets the text.
    let shown = member("member capture").ok();
    assert!(shown.contains("stand-in ready"), "{shown}");
    // send-input and exec: typed by the relay into bob's pane.
    member("member send-input").opt("--choice", "2").ok();
    member("member exec").arg("echo from-alpha").ok();
    let keys = wait_for_bytes(&h.bob_log, b"! echo from-alpha");
    assert!(String::from_utf8_lossy(&keys).contains('2'), "{keys:?}");
    // ping: the poll trigger.
    member("member ping").ok();
    wait_for_bytes(&h.bob_log, format!("--agent-id {}", h.bob).as_bytes());
    // member list names the host of a pane that is not here.
    let listed = h.team.env.cafleet("member list").fleet(1).ok();
    assert!(listed.contains(&format!("{}@beta", h.bob_pane)), "{listed}");
    let listed = h.team.env.cafleet("member list").fleet(1).value();
    let bob_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "bob")
        .cloned()
        .unwrap();
    assert_eq!(bob_row["placement"]["host"], "beta", "{bob_row}");
    // delete: /exit typed there, the pane closes, the member is deregistered here.
    let out = member("member delete").ok();
    assert!(out.contains(&h.bob_pane), "{out}");
    assert!(wait_for(DEADLINE, || !h.beta.panes().contains(&h.bob_pane)));
    let status = h.team.env.query(&format!(
        "SELECT status FROM agents WHERE agent_id = {}",
        h.bob
    ));
    assert_eq!(status[0][0], "deregistered");
    // Nothing of it was typed on alpha: no stand-in there received the command.
    let alpha_keys: String = std::fs::read_dir(&h.team.logs)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default())
                        .into_owned()
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(!alpha_keys.contains("from-alpha"), "{alpha_keys}");
}

#[test]
fn the_monitor_leaves_wakes_of_another_hosts_agents_to_their_relay() {
    let h = TwoHosts::new();
    let _relay = h.relay("waker", 1);
    let dir = h.team.env.dir.path().join("monitor");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = h.process_on("alpha");
    cmd.args(["monitor", "start", "--fleet-id", "1", "--tick", "1"]);
    let monitor = Daemon::spawn(cmd, &dir, "monitor", "monitor running for fleet 1");
    // bob has never been woken, so he is due: his relay types the poll trigger.
    let trigger = format!("cafleet message poll --fleet-id 1 --agent-id {}", h.bob);
    wait_for_bytes(&h.bob_log, trigger.as_bytes());
    assert!(
        wait_for(DEADLINE, || monitor
            .output()
            .contains("wake left to the relay on host beta")),
        "{}",
        monitor.output()
    );
    // The relay stamped the wake: the next one waits for bob's interval.
    let stamped = || {
        h.team.env.query(&format!(
            "SELECT last_ping_at IS NOT NULL FROM monitor_config WHERE agent_id = {}",
            h.bob
        ))[0][0]
            == "1"
    };
    assert!(wait_for(DEADLINE, stamped));
    std::thread::sleep(Duration::from_secs(3));
    let keys = h.bob_keys();
    assert_eq!(keys.matches(&trigger).count(), 1, "{keys}");
}

#[test]
fn director_only_commands_check_the_directors_host() {
    let h = TwoHosts::new();
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
fn a_failed_spawn_on_another_host_rolls_back_everywhere() {
    let h = TwoHosts::new();
    let _relay = h.relay("spawner", 1);
    // beta has no opencode (alpha has): the pane's program exits at once, the relay
    // reports it with the pane's last lines and closes the pane, and the Director's side
    // unregisters the member.
    std::fs::remove_file(h.beta_dir.join("bin").join("opencode")).unwrap();
    let before = h.beta.panes();
    let err = h
        .team
        .member("carol", "a member")
        .opt("--coding-agent", "opencode")
        .opt("--host", "beta")
        .opt("--ready-timeout", "5")
        .fails(1);
    assert!(err.contains("Rolled back registration"), "{err}");
    assert!(err.contains("on host beta"), "{err}");
    assert_eq!(h.beta.panes(), before);
    let carol = h
        .team
        .env
        .query("SELECT status FROM agents WHERE name = 'carol'");
    assert!(carol.iter().all(|r| r[0] != "active"), "{carol:?}");
}

#[test]
fn a_bad_host_for_member_create_is_refused_before_anything_is_written() {
    let team = Team::new();
    let err = team
        .member("carol", "a member")
        .opt("--host", "two words")
        .fails(2);
    assert!(err.contains("--host must name a host"), "{err}");
    let rows = team
        .env
        .query("SELECT count(*) FROM agents WHERE name = 'carol'");
    assert_eq!(rows[0][0], "0");
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
