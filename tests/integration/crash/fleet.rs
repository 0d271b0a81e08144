//! The fleet under test and the harness's record of what happened (every id a killed
//! command printed before it died).

use super::*;

/// Agents: 1 Director (a recorder pane, so previews are typed), 2 Administrator, 3..=6
/// registered without panes.
pub(super) const AGENTS: [i64; 6] = [1, 2, 3, 4, 5, 6];
/// Which inboxes each CLI worker owns (only the owner acks, so a failed first ack is
/// explainable). Every agent's inbox is owned by exactly one worker.
pub(super) const OWNED: [&[i64]; 4] = [&[1, 3], &[2, 4], &[5], &[6]];
pub(super) const ACK_TWICE: &str = "Error: Cannot ACK task in state completed\n";

pub(super) fn crash_fleet() -> (Env, TmuxServer) {
    let mut env = Env::new();
    let (server, _pane, _log) = fleet_in_tmux(&mut env);
    for name in ["a", "b", "c", "d"] {
        let args = words(&format!(
            "agent register --fleet-id 1 --name {name} --description x"
        ));
        must(&env, &args);
    }
    (env, server)
}

/// Broadcast recipients of `from`: every active non-administrator agent but the sender.
pub(super) fn broadcast_recipients(from: i64) -> Vec<i64> {
    AGENTS
        .iter()
        .copied()
        .filter(|a| *a != 2 && *a != from)
        .collect()
}

#[derive(Default)]
pub(super) struct Counts {
    pub(super) ops: u64,
    pub(super) kills: u64,
    pub(super) sends_confirmed: u64,
    pub(super) broadcasts_confirmed: u64,
    pub(super) acks_confirmed: u64,
    pub(super) acks_repeated: u64,
    pub(super) polls_checked: u64,
    pub(super) http_confirmed: u64,
    pub(super) http_failed: u64,
}

/// What the harness knows: confirmed outcomes (the process printed them) and attempts.
#[derive(Default)]
pub(super) struct Ledger {
    /// Every text any send or broadcast attempted (texts are unique per attempt).
    pub(super) attempted: HashSet<String>,
    /// Confirmed unicast sends: id → (from, to, text).
    pub(super) sends: BTreeMap<i64, (i64, i64, String)>,
    /// Confirmed broadcasts: summary id → (from, text).
    pub(super) broadcasts: BTreeMap<i64, (i64, String)>,
    /// Confirmed acks: id → (recipient, status_timestamp printed by the ack).
    pub(super) acked: BTreeMap<i64, (i64, String)>,
    /// Ids on which any ack was attempted (confirmed or killed).
    pub(super) ack_attempted: HashSet<i64>,
    /// Tells the worker threads to finish.
    pub(super) stop: bool,
    pub(super) failures: Vec<String>,
    pub(super) counts: Counts,
}

pub(super) type Shared = Arc<Mutex<Ledger>>;

pub(super) fn fail(ledger: &Shared, msg: String) {
    eprintln!("crash: FAILURE: {msg}");
    ledger.lock().unwrap().failures.push(msg);
}

/// The id list of a `--json message poll` output.
pub(super) fn poll_ids(v: &Value) -> Option<BTreeSet<i64>> {
    v.as_array()?
        .iter()
        .map(|t| t["id"].as_i64())
        .collect::<Option<BTreeSet<i64>>>()
}

/// The stored state and status_timestamp of task `id`.
pub(super) fn task_state(env: &Env, id: i64) -> Option<(String, String)> {
    env.query(&format!(
        "SELECT status_state, status_timestamp FROM tasks WHERE task_id = {id}"
    ))
    .into_iter()
    .next()
    .map(|r| (r[0].clone(), r[1].clone()))
}
