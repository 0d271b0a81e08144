//! Scenario 1: senders and ackers killed at random; and a check that the invariants catch
//! what they should.

use super::*;

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
