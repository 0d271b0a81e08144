//! The invariants checked after the work has restarted: nothing confirmed is lost,
//! broadcasts are all-or-nothing, a repeated ack changes nothing, `integrity_check` passes.

use super::*;

pub(super) fn rows(env: &Env, sql: &str) -> Vec<Vec<String>> {
    env.query(sql)
}

pub(super) fn int(s: &str) -> i64 {
    s.parse()
        .unwrap_or_else(|_| panic!("not an integer: {s:?}"))
}

/// Checks every invariant against the database and the CLI; returns how many messages
/// were checked. Panics with every violation found.
pub(super) fn verify(env: &Env, ledger: &Shared, seed: u64) -> u64 {
    let dir = scratch(env, "verify");
    let mut rng = Rng::new(seed ^ 0xC0FFEE);
    let mut bad = ledger.lock().unwrap().failures.clone();
    let l = ledger.lock().unwrap();

    // The file is sound.
    let (integrity, fk) = env.integrity_check();
    if integrity != vec![vec!["ok".to_string()]] {
        bad.push(format!("integrity_check: {integrity:?}"));
    }
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

pub(super) fn report(test: &str, started: Instant, ledger: &Shared, checked: u64, extra: &str) {
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
pub(super) fn resume(env: &Env, ledger: &Shared, tag: &str) {
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
