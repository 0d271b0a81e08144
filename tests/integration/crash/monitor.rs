//! Scenario 2: the monitor killed at random; its slot must free within the liveness window.

use super::*;

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
    assert_eq!(env.integrity_check().0, vec![vec!["ok".to_string()]]);
    eprintln!(
        "crash::a_killed_monitor_frees_its_slot_within_the_liveness_window: {kills} kills ({races} followed by two racing starts); slowest 'stopped' {:.2} s, slowest re-claim {:.2} s after the kill (window {} s); {:.1} s",
        worst_stop.as_secs_f64(),
        worst_claim.as_secs_f64(),
        LIVENESS_WINDOW.as_secs(),
        started.elapsed().as_secs_f64()
    );
}
