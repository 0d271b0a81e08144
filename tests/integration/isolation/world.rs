//! The world of the sweep: fleets A and B, each with its Director on its own private tmux
//! server, stand-in members, registered-only agents and messages in every state, and a
//! deleted fleet C; and how a command is run as one side's Director pane or from outside.

use super::*;

/// One fleet with its own private tmux server and stand-in coding agents.
pub(super) struct Side {
    pub(super) server: TmuxServer,
    pub(super) root: PathBuf,
    /// `PATH` with this side's stand-ins first.
    pub(super) path: String,
    pub(super) director_pane: String,
    /// The tmux server recorded in the Director's placement.
    pub(super) socket: String,
    pub(super) fleet: i64,
    pub(super) director: i64,
    pub(super) admin: i64,
    /// An ordinary member (stand-in claude) and the monitoring member.
    pub(super) m1: i64,
    pub(super) m1_pane: String,
    pub(super) mon: i64,
    pub(super) mon_pane: String,
    /// Registered-only agents, and one deregistered.
    pub(super) r1: i64,
    pub(super) r2: i64,
    pub(super) gone: i64,
    /// r2 → r1, pending.
    pub(super) pending: i64,
    /// r1 → r2, acknowledged.
    pub(super) acked: i64,
    /// r1 → r2, cancelled.
    pub(super) canceled: i64,
    /// r1 → m1, pending (its preview was typed into m1's pane).
    pub(super) to_member: i64,
    /// r1's broadcast: the summary, and its delivery to r2 (pending).
    pub(super) bcast: i64,
    pub(super) bcast_delivery: i64,
    /// The monitoring member's nudge to the Director.
    pub(super) nudge: i64,
}

impl Side {
    /// Every agent id of this fleet.
    pub(super) fn agents(&self) -> BTreeSet<i64> {
        [
            self.director,
            self.admin,
            self.m1,
            self.mon,
            self.r1,
            self.r2,
            self.gone,
        ]
        .into()
    }
}

/// Who runs a command: the Director's pane of A or of B (TMUX, TMUX_PANE and PATH set as
/// inside it), or a process outside tmux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Who {
    A,
    B,
    Outside,
}

pub(super) struct World {
    // Declared before `env`, so both servers are killed while their sockets still exist.
    pub(super) a: Side,
    pub(super) b: Side,
    /// The deleted fleet C and its (deregistered) Director and Administrator.
    pub(super) c: i64,
    pub(super) c_director: i64,
    pub(super) c_admin: i64,
    pub(super) env: Env,
}

pub(super) fn install_standins(bin: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    for name in ["claude", "codex", "opencode"] {
        let p = bin.join(name);
        std::fs::write(&p, STANDIN).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Runs `cafleet <args>` in `side`'s Director pane (TMUX, TMUX_PANE and its stand-ins on
/// PATH), or outside tmux.
pub(super) fn run_as(env: &Env, side: Option<&Side>, args: &[&str]) -> Output {
    let mut c = env.cmd();
    match side {
        None => {
            c.env_remove("TMUX").env_remove("TMUX_PANE");
        }
        Some(s) => {
            c.env("TMUX", s.server.tmux_env())
                .env("TMUX_PANE", &s.director_pane)
                .env("PATH", &s.path);
        }
    }
    c.args(args).output().expect("run cafleet")
}

pub(super) fn ok_as(env: &Env, side: Option<&Side>, args: &[&str]) -> String {
    let out = run_as(env, side, args);
    assert!(
        out.status.success(),
        "cafleet {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Side {
    /// A private tmux server under `<temp>/<name>` whose panes see this side's stand-ins,
    /// with a byte recorder as the Director's pane.
    pub(super) fn start(env: &Env, name: &str) -> Side {
        let root = env.dir.path().join(name);
        let bin = root.join("bin");
        install_standins(&bin);
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let server = TmuxServer::start_with_path(&root, &path, &["sleep", "100000"]);
        let (director_pane, _) = server.recorder_pane("director");
        Side {
            server,
            root,
            path,
            director_pane,
            socket: String::new(),
            fleet: 0,
            director: 0,
            admin: 0,
            m1: 0,
            m1_pane: String::new(),
            mon: 0,
            mon_pane: String::new(),
            r1: 0,
            r2: 0,
            gone: 0,
            pending: 0,
            acked: 0,
            canceled: 0,
            to_member: 0,
            bcast: 0,
            bcast_delivery: 0,
            nudge: 0,
        }
    }

    /// `cafleet <words>` (split on spaces) from this side's Director pane; stdout.
    pub(super) fn ok(&self, env: &Env, words: &str) -> String {
        let args: Vec<&str> = words.split_whitespace().collect();
        ok_as(env, Some(self), &args)
    }

    /// `cafleet --json <words>` from this side's Director pane.
    pub(super) fn json(&self, env: &Env, words: &str) -> Value {
        let out = self.ok(env, &format!("--json {words}"));
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"))
    }

    /// The fleet, from its Director's pane: two stand-in members (one the monitoring
    /// member), registered-only agents (one deregistered) and messages in every state.
    pub(super) fn populate(&mut self, env: &Env, label: &str) {
        let made = self.json(env, &format!("fleet create --label {label}"));
        let f = as_i64(&made["fleet_id"]);
        let d = as_i64(&made["director"]["agent_id"]);
        self.fleet = f;
        self.director = d;
        self.admin = as_i64(&made["administrator_agent_id"]);
        self.socket = env.query(&format!(
            "SELECT tmux_socket FROM agent_placements WHERE agent_id = {d}"
        ))[0][0]
            .clone();
        let member = |s: &Side, role: &str| -> (i64, String) {
            let v = s.json(
                env,
                &format!(
                    "member create --fleet-id {f} --agent-id {d} --name {label}-{role} --description a-member --role {role} --coding-agent claude"
                ),
            );
            let pane = v["placement"]["tmux_pane_id"].as_str().unwrap().to_string();
            // Previews are typed only once the stand-in runs in raw mode (it then says so).
            let ready = wait_for(Duration::from_secs(20), || {
                s.server
                    .tmux(&["capture-pane", "-p", "-t", &pane])
                    .contains("stand-in ready")
            });
            assert!(ready, "the stand-in in {pane} never started");
            (as_i64(&v["agent_id"]), pane)
        };
        (self.m1, self.m1_pane) = member(self, "member");
        (self.mon, self.mon_pane) = member(self, "monitor");
        let register = |s: &Side, name: &str| -> i64 {
            as_i64(
                &s.json(
                    env,
                    &format!(
                        "agent register --fleet-id {f} --name {label}-{name} --description registered-only"
                    ),
                )["agent_id"],
            )
        };
        self.r1 = register(self, "r1");
        self.r2 = register(self, "r2");
        self.gone = register(self, "gone");
        self.ok(
            env,
            &format!("agent deregister --fleet-id {f} --agent-id {}", self.gone),
        );
        let send = |s: &Side, from: i64, to: i64, text: &str| -> i64 {
            s.ok(
                env,
                &format!(
                    "message send --fleet-id {f} --agent-id {from} --to {to} --text {label}-{text} --quiet"
                ),
            )
            .trim()
            .parse()
            .unwrap()
        };
        let (r1, r2) = (self.r1, self.r2);
        self.acked = send(self, r1, r2, "acked");
        self.ok(
            env,
            &format!(
                "message ack --fleet-id {f} --agent-id {r2} --task-id {}",
                self.acked
            ),
        );
        self.canceled = send(self, r1, r2, "cancelled");
        self.ok(
            env,
            &format!(
                "message cancel --fleet-id {f} --agent-id {r1} --task-id {}",
                self.canceled
            ),
        );
        self.pending = send(self, r2, r1, "pending");
        self.to_member = send(self, r1, self.m1, "to-member");
        let out = self.ok(
            env,
            &format!("message broadcast --fleet-id {f} --agent-id {r1} --text {label}-broadcast"),
        );
        self.bcast = out
            .strip_prefix("broadcast id=")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("broadcast output {out:?}"));
        self.nudge = as_i64(
            &self.json(
                env,
                &format!(
                    "member nudge --fleet-id {f} --agent-id {} --member-id {d} --text {label}-nudge",
                    self.mon
                ),
            )["task_id"],
        );
        self.bcast_delivery = env.query(&format!(
            "SELECT task_id FROM tasks WHERE origin_task_id = {} AND to_agent_id = {r2}",
            self.bcast
        ))[0][0]
            .parse()
            .unwrap();
        // Every preview has landed before anyone takes a baseline.
        let keys = |pane: &str| self.root.join("standin-logs").join(format!("{pane}.keys"));
        let broadcast = format!("{label}-broadcast");
        for (log, needle) in [
            (keys(&self.m1_pane), format!("{label}-to-member")),
            (keys(&self.m1_pane), broadcast.clone()),
            (keys(&self.mon_pane), broadcast.clone()),
            (self.root.join("director.log"), broadcast),
            (self.root.join("director.log"), format!("{label}-nudge")),
        ] {
            wait_for_bytes(&log, needle.as_bytes());
        }
    }
}

impl World {
    /// Fleets A and B (set up concurrently, each on its own server), and fleet C, created
    /// from a third pane on A's server and deleted.
    pub(super) fn new() -> World {
        let env = Env::new();
        let (mut a, mut b) = (Side::start(&env, "a"), Side::start(&env, "b"));
        std::thread::scope(|s| {
            s.spawn(|| a.populate(&env, "alpha"));
            s.spawn(|| b.populate(&env, "beta"));
        });
        let (c_pane, _) = a.server.recorder_pane("c-director");
        let out = env
            .cmd()
            .env("TMUX", a.server.tmux_env())
            .env("TMUX_PANE", &c_pane)
            .args(["--json", "fleet", "create", "--label", "gamma"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let c: Value = serde_json::from_slice(&out.stdout).unwrap();
        let w = World {
            a,
            b,
            c: as_i64(&c["fleet_id"]),
            c_director: as_i64(&c["director"]["agent_id"]),
            c_admin: as_i64(&c["administrator_agent_id"]),
            env,
        };
        w.ok(Who::Outside, &["fleet", "delete", &w.c.to_string()]);
        std::thread::sleep(Duration::from_millis(300));
        w
    }

    pub(super) fn side(&self, who: Who) -> &Side {
        match who {
            Who::A => &self.a,
            Who::B => &self.b,
            Who::Outside => panic!("no side outside tmux"),
        }
    }

    /// `cafleet <args>` as `who`.
    pub(super) fn run(&self, who: Who, args: &[&str]) -> Output {
        let side = (who != Who::Outside).then(|| self.side(who));
        run_as(&self.env, side, args)
    }

    pub(super) fn ok(&self, who: Who, args: &[&str]) -> String {
        let side = (who != Who::Outside).then(|| self.side(who));
        ok_as(&self.env, side, args)
    }

    /// Everything a refused call must leave untouched, except the database.
    pub(super) fn outside_state(&self) -> (BTreeMap<String, String>, BTreeMap<PathBuf, Vec<u8>>) {
        let mut panes = BTreeMap::new();
        let mut bytes = BTreeMap::new();
        for (name, s) in [("a", &self.a), ("b", &self.b)] {
            panes.insert(
                name.to_string(),
                s.server
                    .tmux(&["list-panes", "-a", "-F", "#{pane_id} #{pane_dead}"]),
            );
            let logs = std::fs::read_dir(s.root.join("standin-logs"))
                .into_iter()
                .flatten()
                .chain(std::fs::read_dir(&s.root).into_iter().flatten())
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x == "keys" || x == "log" || x == "argv")
                });
            for p in logs {
                let b = std::fs::read(&p).unwrap_or_default();
                bytes.insert(p, b);
            }
        }
        (panes, bytes)
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        let (panes, bytes) = self.outside_state();
        Snapshot {
            db: dump_db_blocking(&self.env.database()),
            panes,
            bytes,
        }
    }
}
