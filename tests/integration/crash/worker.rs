//! One CLI worker: a random mix of send, broadcast, poll+ack and repeated ack, each with a
//! random kill scheduled most of the time.

use super::*;

pub(super) struct Worker {
    pub(super) env: Arc<Env>,
    pub(super) ledger: Shared,
    pub(super) id: usize,
    pub(super) tag: String,
    pub(super) rng: Rng,
    pub(super) dir: PathBuf,
    pub(super) op: u64,
}

impl Worker {
    pub(super) fn new(env: &Arc<Env>, ledger: &Shared, id: usize, seed: u64, tag: &str) -> Worker {
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

    pub(super) fn run(&mut self, args: &[String], kill_pct: u64, max_ms: u64) -> Run {
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
    pub(super) fn printed(&self, run: &Run, args: &[String]) -> Option<Value> {
        let v = run.json();
        if v.is_none() && !run.killed {
            fail(&self.ledger, format!("failed: {}", run.describe(args)));
        }
        v
    }

    /// A text no other attempt uses, recorded as attempted.
    pub(super) fn text(&mut self, kind: &str) -> String {
        self.op += 1;
        let text = format!("{} {kind} {}", self.tag, self.op);
        self.ledger.lock().unwrap().attempted.insert(text.clone());
        text
    }

    /// One random operation.
    pub(super) fn step(&mut self) {
        match self.rng.below(100) {
            0..45 => self.send(),
            45..60 => self.broadcast(),
            60..90 => self.poll_and_ack(),
            _ => self.ack_again(),
        }
    }

    pub(super) fn send(&mut self) {
        let from = self.rng.pick(&AGENTS);
        let to = self.rng.pick(&AGENTS);
        self.send_to(from, to, 75);
    }

    /// `message send`, killed at random with probability `kill_pct`; the id if printed.
    pub(super) fn send_to(&mut self, from: i64, to: i64, kill_pct: u64) -> Option<i64> {
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

    pub(super) fn broadcast(&mut self) {
        let from = self.rng.pick(&AGENTS);
        self.broadcast_from(from, 75);
    }

    /// `message broadcast`, killed at random with probability `kill_pct`.
    pub(super) fn broadcast_from(&mut self, from: i64, kill_pct: u64) {
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
    pub(super) fn poll_and_ack(&mut self) {
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
    pub(super) fn ack(&mut self, inbox: i64, id: i64, kill_pct: u64) {
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
    pub(super) fn ack_again(&mut self) {
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
pub(super) fn run_workers(
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
