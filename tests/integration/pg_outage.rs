//! PostgreSQL going away under CAFleet (docs/postgres.md, "Failure"): a restart during a
//! load of sends (commands that start meanwhile wait for the server; the few cut off in
//! the middle fail saying so; nothing acknowledged is lost), and a relay cut off from the
//! database. Each test starts its own server
//! (`pg::PgServer`), so plain `cargo test` runs them.

use crate::pg::PgServer;
use crate::support::*;
use std::process::Output;
use std::time::{Duration, Instant};

/// An environment whose database is `url` on the test's own server.
fn env_on(url: String) -> Env {
    let mut env = Env::new();
    env.pg = Some(url);
    env
}

/// A sender's attempt: its output.
struct Attempt {
    text: String,
    out: Output,
}

#[test]
fn a_restart_under_load_loses_no_acknowledged_send_and_every_failure_says_why() {
    let server = PgServer::start();
    let mut env = env_on(server.create_database("restart"));
    let (_tmux, _pane, _log) = fleet_in_tmux(&mut env);
    let bob = env
        .cafleet("agent register")
        .fleet(1)
        .opt("--name", "bob")
        .opt("--description", "recipient")
        .value()["agent_id"]
        .as_i64()
        .unwrap();
    let env = &env;
    const SENDERS: usize = 6;
    let stop_at = Instant::now() + Duration::from_secs(8);
    let attempts: Vec<Attempt> = std::thread::scope(|s| {
        let senders: Vec<_> = (0..SENDERS)
            .map(|n| {
                s.spawn(move || {
                    let mut done = Vec::new();
                    let mut i = 0;
                    while Instant::now() < stop_at {
                        let text = format!("load {n}-{i}");
                        let out = env
                            .cafleet("message send")
                            .fleet(1)
                            .agent(1)
                            .opt("--to", bob)
                            .opt("--text", &text)
                            .json()
                            .run();
                        done.push(Attempt { text, out });
                        i += 1;
                    }
                    done
                })
            })
            .collect();
        // The restart, while they send: every session is cut, the server is down a moment.
        std::thread::sleep(Duration::from_secs(2));
        server.stop();
        std::thread::sleep(Duration::from_millis(800));
        server.start_again();
        senders
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let stored: std::collections::HashMap<String, String> = env
        .query("SELECT task_id, text FROM tasks WHERE type = 'unicast'")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for a in &attempts {
        let stderr = String::from_utf8_lossy(&a.out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        if a.out.status.success() {
            ok += 1;
            let v: serde_json::Value =
                serde_json::from_slice(&a.out.stdout).expect("a send's JSON");
            let id = v["task"]["id"].as_i64().expect("the task id").to_string();
            assert_eq!(
                stored.get(&id),
                Some(&a.text),
                "acknowledged send {id} lost"
            );
        } else {
            failed += 1;
            assert_eq!(a.out.status.code(), Some(1), "{stderr}");
            assert!(
                (stderr.starts_with("Error: lost the connection to the database")
                    && stderr.contains("retry the command"))
                    || stderr.starts_with("Error: cannot reach the PostgreSQL server"),
                "a failure that does not say what failed and what to do: {stderr}"
            );
        }
    }
    let kinds: std::collections::BTreeSet<String> = attempts
        .iter()
        .filter(|a| !a.out.status.success())
        .map(|a| {
            String::from_utf8_lossy(&a.out.stderr)
                .chars()
                .take(90)
                .collect()
        })
        .collect();
    eprintln!("{ok} sends acknowledged, {failed} failed clearly: {kinds:#?}");
    // A command that starts while the server is down waits for it (up to the connect
    // timeout): only those cut off in the middle fail, about one per sender.
    assert!(failed <= 2 * SENDERS, "{failed} sends failed: {kinds:#?}");
    // Sends went through before and after the restart.
    assert!(
        ok > 2 * SENDERS,
        "only {ok} sends succeeded ({failed} failed)"
    );
    let last = attempts.iter().rev().find(|a| a.out.status.success());
    assert!(last.is_some());
    // After it, the database is whole and commands work as before.
    let polled = env
        .cafleet("message poll")
        .fleet(1)
        .agent(bob)
        .json()
        .value();
    assert_eq!(
        polled.as_array().map(Vec::len),
        Some(stored.len()),
        "{polled}"
    );
}

#[test]
fn a_relay_cut_off_from_the_database_says_so_and_catches_up_when_it_returns() {
    let server = PgServer::start();
    let mut env = env_on(server.create_database("cutoff"));
    let (_tmux, _pane, _log) = fleet_in_tmux(&mut env);
    // A member on host beta, its pane a byte recorder of beta's own tmux server.
    let beta_dir = env.dir.path().join("beta");
    std::fs::create_dir_all(&beta_dir).unwrap();
    let beta = TmuxServer::start(&beta_dir, &["sleep", "100000"]);
    let (pane, log) = beta.recorder_pane("bob");
    let bob = env
        .cafleet("agent register")
        .fleet(1)
        .opt("--name", "bob")
        .opt("--description", "on beta")
        .value()["agent_id"]
        .as_i64()
        .unwrap();
    env.query(&format!(
        "INSERT INTO agent_placements (agent_id, director_agent_id, tmux_session, tmux_window_id, tmux_pane_id, coding_agent, created_at, tmux_socket, host)
         VALUES ({bob}, 1, 't', '@9', '{pane}', 'claude', '2026-12-05T00:00:00.000000+00:00', '{}', 'beta')",
        beta.socket.display()
    ));
    let out = env.dir.path().join("relay.out");
    let err = env.dir.path().join("relay.err");
    let mut relay = env
        .std_cmd()
        .env("CAFLEET_HOST", "beta")
        .args(["relay", "--interval", "1"])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    assert!(wait_for(Duration::from_secs(20), || read(&out)
        .contains("relay running for host beta")));
    // The database goes away: the relay says so once, and keeps going.
    server.stop();
    assert!(
        wait_for(Duration::from_secs(30), || read(&err)
            .contains("relay pass failed")),
        "stderr: {}",
        read(&err)
    );
    assert!(
        read(&err).contains("wait in the database until the relay reaches it again"),
        "{}",
        read(&err)
    );
    assert!(matches!(relay.try_wait(), Ok(None)), "the relay exited");
    // It comes back; a message sent meanwhile (once the server is up) is typed.
    server.start_again();
    let sent = env
        .cafleet("message send")
        .fleet(1)
        .agent(1)
        .opt("--to", bob)
        .opt("--text", "after the outage")
        .value();
    let task = sent["task"]["id"].as_i64().unwrap();
    wait_for_bytes(&log, format!("[cafleet msg {task} from").as_bytes());
    assert!(
        wait_for(Duration::from_secs(20), || read(&out)
            .contains("database reachable again")),
        "{}",
        read(&out)
    );
    let _ = relay.kill();
    let _ = relay.wait();
    // One failure report for the whole outage, not one per pass.
    assert_eq!(
        read(&err).matches("relay pass failed").count(),
        1,
        "{}",
        read(&err)
    );
}
