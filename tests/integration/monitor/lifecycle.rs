//! How a monitor stops (signals, `fleet delete`, a long tick) and the slot that lets exactly
//! one monitor run per fleet: killed and stale monitors, other hosts, concurrent starts.

use super::*;

// Stopping.

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

// The slot.

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
