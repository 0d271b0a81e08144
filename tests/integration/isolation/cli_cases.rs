//! Every refused CLI call of the sweep, with the exact error 0.14 prints for it.

use super::*;

pub(super) enum Expect {
    /// Exit code and the message after `Error: ` (the last stderr line); stdout empty.
    Refused(i32, String),
}

pub(super) struct Case {
    pub(super) who: Who,
    pub(super) args: Vec<String>,
    /// The id positions holding an id of another fleet, a deleted fleet or no fleet.
    pub(super) foreign: Vec<&'static str>,
    pub(super) expect: Expect,
    /// Also run it with the first foreign id replaced by one that does not exist, and
    /// require the same answer (modulo the id).
    pub(super) ghost: bool,
}

pub(super) fn case(
    who: Who,
    args: String,
    foreign: &[&'static str],
    code: i32,
    msg: String,
) -> Case {
    Case {
        who,
        args: args.split_whitespace().map(str::to_string).collect(),
        foreign: foreign.to_vec(),
        expect: Expect::Refused(code, msg),
        ghost: true,
    }
}

impl Case {
    pub(super) fn no_ghost(mut self) -> Case {
        self.ghost = false;
        self
    }
}

pub(super) fn not_member(agent: i64, fleet: i64) -> String {
    format!("agent {agent} is not a member of fleet {fleet}.")
}
pub(super) fn agent_nf(id: i64) -> String {
    format!("Agent {id} not found")
}
pub(super) fn dest_nf(id: i64) -> String {
    format!("Destination agent not found: {id}")
}
pub(super) fn sender_nf(id: i64) -> String {
    format!("Sender agent not found or not active in fleet: {id}")
}
pub(super) fn task_nf(id: i64) -> String {
    format!("Task {id} not found")
}
pub(super) fn not_enrolled(agent: i64, fleet: i64) -> String {
    format!("agent {agent} is not enrolled in monitoring for fleet {fleet}.")
}
pub(super) fn director_nf(d: i64, f: i64) -> String {
    format!("Director agent '{d}' not found or not active in fleet '{f}'.")
}

/// The refusal of a caller that is not the fleet's Director pane (docs/decisions.md, K4).
/// The same pane id on another server names both servers (else it would read "pane %1 is
/// not pane %1").
pub(super) fn director_only(w: &World, command: &str, caller: Who, fleet: &Side) -> String {
    let c = w.side(caller);
    let (mine, theirs) = if c.director_pane == fleet.director_pane {
        (
            format!(
                "{} on tmux server {}",
                c.director_pane,
                c.server.socket.display()
            ),
            format!("{} on tmux server {}", fleet.director_pane, fleet.socket),
        )
    } else {
        (c.director_pane.clone(), fleet.director_pane.clone())
    };
    assert_ne!(mine, theirs);
    format!(
        "cafleet member {command} is Director-only: the calling pane ({mine}) is not the Director's pane ({theirs}) of fleet {}. Run it from the Director's pane.",
        fleet.fleet
    )
}

/// Every refused call of the sweep (the caller is in A unless stated).
pub(super) fn cli_cases(w: &World) -> Vec<Case> {
    use Who::*;
    let (a, b) = (&w.a, &w.b);
    let (fa, fb, fc) = (a.fleet, b.fleet, w.c);
    let mut v = Vec::new();

    // agent show: target, caller and fleet from elsewhere.
    for target in [b.r1, b.director, b.admin, b.m1, b.gone] {
        v.push(case(
            A,
            format!(
                "agent show --fleet-id {fa} --agent-id {} --id {target}",
                a.r1
            ),
            &["--id"],
            1,
            agent_nf(target),
        ));
    }
    v.push(case(
        A,
        format!(
            "agent show --fleet-id {fa} --agent-id {} --id {}",
            b.r1, a.r1
        ),
        &["--agent-id"],
        1,
        not_member(b.r1, fa),
    ));
    v.push(case(
        A,
        format!(
            "agent show --fleet-id {fb} --agent-id {} --id {}",
            a.r1, b.r1
        ),
        &["--fleet-id"],
        1,
        not_member(a.r1, fb),
    ));
    v.push(case(
        B,
        format!(
            "agent show --fleet-id {fa} --agent-id {} --id {}",
            b.director, a.r1
        ),
        &["--agent-id"],
        1,
        not_member(b.director, fa),
    ));

    // agent deregister: nothing of B can be retired through A (not even with the special
    // texts of the Director or the Administrator, which would reveal them).
    for target in [b.r1, b.m1, b.director, b.admin, b.gone] {
        v.push(case(
            A,
            format!("agent deregister --fleet-id {fa} --agent-id {target}"),
            &["--agent-id"],
            1,
            not_member(target, fa),
        ));
    }
    v.push(case(
        A,
        format!("agent deregister --fleet-id {fb} --agent-id {}", a.r1),
        &["--fleet-id"],
        1,
        not_member(a.r1, fb),
    ));

    // agent register into a fleet that does not exist or was deleted.
    v.push(case(
        A,
        format!("agent register --fleet-id {GHOST_FLEET} --name x --description y"),
        &["--fleet-id"],
        2,
        format!("Fleet '{GHOST_FLEET}' not found."),
    ));
    v.push(
        case(
            A,
            format!("agent register --fleet-id {fc} --name x --description y"),
            &["--fleet-id"],
            2,
            format!("fleet {fc} is deleted"),
        )
        .no_ghost(),
    );

    // message send: recipient, sender and fleet from elsewhere; previews never typed.
    for to in [b.r1, b.m1, b.mon, b.director, b.admin, w.c_director] {
        v.push(case(
            A,
            format!(
                "message send --fleet-id {fa} --agent-id {} --to {to} --text probe",
                a.r1
            ),
            &["--to"],
            1,
            dest_nf(to),
        ));
    }
    v.push(case(
        A,
        format!(
            "message send --fleet-id {fa} --agent-id {} --to {} --text probe",
            a.admin, b.m1
        ),
        &["--to"],
        1,
        dest_nf(b.m1),
    ));
    v.push(case(
        A,
        format!(
            "message send --fleet-id {fa} --agent-id {} --to {} --text probe",
            b.r1, a.m1
        ),
        &["--agent-id"],
        1,
        not_member(b.r1, fa),
    ));
    v.push(case(
        B,
        format!(
            "message send --fleet-id {fa} --agent-id {} --to {} --text probe",
            b.director, a.director
        ),
        &["--agent-id"],
        1,
        not_member(b.director, fa),
    ));
    v.push(case(
        A,
        format!(
            "message send --fleet-id {fb} --agent-id {} --to {} --text probe",
            a.r1, b.m1
        ),
        &["--fleet-id"],
        1,
        not_member(a.r1, fb),
    ));

    // message broadcast: a sender of B into A, of A into B, of the deleted fleet.
    for sender in [b.r1, b.admin, b.director] {
        v.push(case(
            A,
            format!("message broadcast --fleet-id {fa} --agent-id {sender} --text probe"),
            &["--agent-id"],
            1,
            sender_nf(sender),
        ));
    }
    v.push(case(
        A,
        format!(
            "message broadcast --fleet-id {fb} --agent-id {} --text probe",
            a.r1
        ),
        &["--fleet-id"],
        1,
        sender_nf(a.r1),
    ));
    v.push(
        case(
            A,
            format!(
                "message broadcast --fleet-id {fc} --agent-id {} --text probe",
                w.c_director
            ),
            &["--fleet-id"],
            1,
            sender_nf(w.c_director),
        )
        .no_ghost(),
    );

    // message poll: only one's own inbox, of one's own fleet.
    v.push(case(
        A,
        format!("message poll --fleet-id {fa} --agent-id {}", b.r1),
        &["--agent-id"],
        1,
        not_member(b.r1, fa),
    ));
    v.push(case(
        A,
        format!("message poll --fleet-id {fb} --agent-id {}", a.r1),
        &["--fleet-id"],
        1,
        not_member(a.r1, fb),
    ));

    // message ack / cancel / show with B's tasks through A: "not found", whatever the
    // task's state or kind, exactly like a task that does not exist.
    let b_tasks = [
        b.pending,
        b.acked,
        b.canceled,
        b.to_member,
        b.bcast,
        b.bcast_delivery,
        b.nudge,
    ];
    for op in ["ack", "cancel", "show"] {
        for t in b_tasks {
            v.push(case(
                A,
                format!(
                    "message {op} --fleet-id {fa} --agent-id {} --task-id {t}",
                    a.r1
                ),
                &["--task-id"],
                1,
                task_nf(t),
            ));
        }
        // The true recipient / sender of B's task, claimed inside A.
        let owner = if op == "ack" { b.r1 } else { b.r2 };
        v.push(case(
            A,
            format!(
                "message {op} --fleet-id {fa} --agent-id {owner} --task-id {}",
                b.pending
            ),
            &["--agent-id"],
            1,
            not_member(owner, fa),
        ));
        v.push(case(
            A,
            format!(
                "message {op} --fleet-id {fb} --agent-id {} --task-id {}",
                a.r1, a.pending
            ),
            &["--fleet-id"],
            1,
            not_member(a.r1, fb),
        ));
    }

    // member create: B's Director named in A, B's fleet from A's pane, and the reverse.
    let create = |f: i64, d: i64, extra: &str| {
        format!(
            "member create --fleet-id {f} --agent-id {d} --name intruder --description x{extra}"
        )
    };
    let monitor_nf = format!(
        "cannot resolve the monitor's coding agent: Director {} not found in fleet {fa}. Re-run with an explicit --coding-agent.",
        b.director
    );
    let creates: [(Who, String, &'static str, i32, String, bool); 7] = [
        (
            A,
            create(fa, b.director, ""),
            "--agent-id",
            2,
            director_nf(b.director, fa),
            true,
        ),
        (
            A,
            create(fa, b.director, " --role monitor"),
            "--agent-id",
            1,
            monitor_nf,
            true,
        ),
        (
            A,
            create(fb, b.director, ""),
            "--fleet-id",
            1,
            director_only(w, "create", A, b),
            false,
        ),
        (
            B,
            create(fa, a.director, " --coding-agent codex"),
            "--fleet-id",
            1,
            director_only(w, "create", B, a),
            false,
        ),
        (
            A,
            create(fb, a.director, ""),
            "--fleet-id",
            2,
            director_nf(a.director, fb),
            false,
        ),
        (
            A,
            create(GHOST_FLEET, a.director, ""),
            "--fleet-id",
            2,
            format!("Fleet '{GHOST_FLEET}' not found."),
            true,
        ),
        (
            A,
            create(fc, w.c_director, ""),
            "--fleet-id",
            2,
            format!("fleet {fc} is deleted"),
            false,
        ),
    ];
    for (who, args, pos, code, msg, ghost) in creates {
        let mut c = case(who, args, &[pos], code, msg);
        c.ghost = ghost;
        v.push(c);
    }

    // member delete / capture / send-input / exec / ping: B's agents through A are unknown;
    // B's fleet named from A's pane is refused by the Director check; nothing is typed and
    // no pane is killed.
    let steer: [(&str, &str, &str); 6] = [
        ("delete", "delete", ""),
        ("delete", "delete", " --force"),
        ("capture", "capture", " --lines 5"),
        ("send-input", "send-input", " --choice 1"),
        ("exec", "exec", " -- id"),
        ("ping", "ping", ""),
    ];
    for (sub, check, extra) in steer {
        for target in [b.m1, b.mon, b.r1, b.admin, b.gone] {
            v.push(case(
                A,
                format!("member {sub} --fleet-id {fa} --member-id {target}{extra}"),
                &["--member-id"],
                1,
                agent_nf(target),
            ));
        }
        if sub != "delete" {
            // A's root Director would be the root-Director refusal for delete, below.
            v.push(case(
                A,
                format!(
                    "member {sub} --fleet-id {fa} --member-id {}{extra}",
                    b.director
                ),
                &["--member-id"],
                1,
                agent_nf(b.director),
            ));
        }
        for target in [b.m1, b.mon] {
            v.push(
                case(
                    A,
                    format!("member {sub} --fleet-id {fb} --member-id {target}{extra}"),
                    &["--fleet-id"],
                    1,
                    director_only(w, check, A, b),
                )
                .no_ghost(),
            );
        }
        v.push(
            case(
                B,
                format!("member {sub} --fleet-id {fa} --member-id {}{extra}", a.m1),
                &["--fleet-id"],
                1,
                director_only(w, check, B, a),
            )
            .no_ghost(),
        );
        v.push(case(
            A,
            format!(
                "member {sub} --fleet-id {GHOST_FLEET} --member-id {}{extra}",
                a.m1
            ),
            &["--fleet-id"],
            1,
            agent_nf(a.m1),
        ));
    }
    v.push(case(
        A,
        format!("member delete --fleet-id {fa} --member-id {}", b.director),
        &["--member-id"],
        1,
        agent_nf(b.director),
    ));

    // member nudge: target, sender and fleet from elsewhere.
    for target in [b.director, b.m1, b.r1] {
        v.push(case(
            A,
            format!(
                "member nudge --fleet-id {fa} --agent-id {} --member-id {target} --text probe",
                a.mon
            ),
            &["--member-id"],
            1,
            agent_nf(target),
        ));
    }
    v.push(case(
        A,
        format!(
            "member nudge --fleet-id {fa} --agent-id {} --member-id {} --text probe",
            b.mon, a.director
        ),
        &["--agent-id"],
        1,
        sender_nf(b.mon),
    ));
    v.push(
        case(
            A,
            format!(
                "member nudge --fleet-id {fb} --agent-id {} --member-id {} --text probe",
                a.mon, b.director
            ),
            &["--fleet-id", "--agent-id"],
            1,
            sender_nf(a.mon),
        )
        .no_ghost(),
    );

    // monitor: config of B's agents through A (and the reverse), unknown or deleted fleets.
    for (target, extra) in [
        (b.m1, ""),
        (b.director, " --disable"),
        (b.m1, " --interval 5"),
        (b.r1, " --enable"),
    ] {
        v.push(case(
            A,
            format!("monitor config --fleet-id {fa} --agent-id {target}{extra}"),
            &["--agent-id"],
            1,
            not_enrolled(target, fa),
        ));
    }
    v.push(
        case(
            A,
            format!(
                "monitor config --fleet-id {fb} --agent-id {} --disable",
                a.m1
            ),
            &["--fleet-id"],
            1,
            not_enrolled(a.m1, fb),
        )
        .no_ghost(),
    );
    v.push(case(
        A,
        format!(
            "monitor config --fleet-id {GHOST_FLEET} --agent-id {} --disable",
            a.m1
        ),
        &["--fleet-id"],
        1,
        format!("fleet {GHOST_FLEET} not found. List live fleets with 'cafleet fleet list'."),
    ));
    for sub in ["status", "start"] {
        for f in [GHOST_FLEET, fc] {
            v.push(
                case(
                    A,
                    format!("monitor {sub} --fleet-id {f}"),
                    &["--fleet-id"],
                    1,
                    format!("fleet {f} not found. List live fleets with 'cafleet fleet list'."),
                )
                .no_ghost(),
            );
        }
    }

    // fleet show / delete of a fleet that does not exist.
    for sub in ["show", "delete"] {
        v.push(
            case(
                A,
                format!("fleet {sub} {GHOST_FLEET}"),
                &["FLEET_ID"],
                1,
                format!("fleet '{GHOST_FLEET}' not found."),
            )
            .no_ghost(),
        );
    }

    // Lists of an unknown or deleted fleet are refused (docs/decisions.md, CLI-1).
    for f in [GHOST_FLEET, fc] {
        v.push(
            case(
                A,
                format!("agent list --fleet-id {f}"),
                &["--fleet-id"],
                1,
                format!("fleet {f} not found. List live fleets with 'cafleet fleet list'."),
            )
            .no_ghost(),
        );
        v.push(
            case(
                Outside,
                format!("member list --fleet-id {f}"),
                &["--fleet-id"],
                1,
                format!("fleet {f} not found. List live fleets with 'cafleet fleet list'."),
            )
            .no_ghost(),
        );
    }
    v
}
