#!/usr/bin/env bash
# Whole-process CLI benchmark for the "broker core" targets: `cafleet message send` (to an
# agent without a pane) and `cafleet message poll` (20 pending among 100,000 messages), each
# run N times as a fresh process on an on-disk database. Prints median / p99 wall time (ms),
# mean CPU time (user + sys, ms) and peak RSS (KiB); the `(spawn: true)` row is the cost of
# starting a trivial process, for scale. Targets: median <= 3 ms wall and <= 10 MiB
# (10240 KiB) peak RSS. Wall times need a quiet machine; CPU times are less load-sensitive.
#
# Usage: benches/cli.sh            (N=200 runs per command, 100,000 seeded messages)
#        N=50 SEED_MESSAGES=20000 benches/cli.sh
#        TMPDIR=/some/disk benches/cli.sh   (where the database lives; default /tmp)
#        KEEP_DB=1 benches/cli.sh           (keep the seeded database for profiling)
# Needs: cargo, bash >= 5 (EPOCHREALTIME), tmux, sqlite3; GNU time (/usr/bin/time) for RSS.
set -euo pipefail

N=${N:-200}
SEED_MESSAGES=${SEED_MESSAGES:-100000}
AGENTS=60
POLL_PENDING=20

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

for tool in cargo tmux sqlite3; do
    command -v "$tool" >/dev/null || { echo "cli.sh: $tool not found on PATH" >&2; exit 1; }
done
if [[ -z ${EPOCHREALTIME:-} ]]; then
    echo "cli.sh: needs bash >= 5 (EPOCHREALTIME)" >&2
    exit 1
fi
gnu_time=""
if [[ -x /usr/bin/time ]] && /usr/bin/time -f '%M' true >/dev/null 2>&1; then
    gnu_time=/usr/bin/time
fi

echo "== cargo build --release" >&2
cargo build --release --quiet
target_dir=$(cargo metadata --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/release/cafleet"
[[ -x $bin ]] || { echo "cli.sh: $bin not built" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cafleet-cli-bench.XXXXXX")
sock="$tmp/tmux.sock"
cleanup() {
    tmux -S "$sock" kill-server 2>/dev/null || true
    if [[ -n ${KEEP_DB:-} ]]; then
        echo "kept: $tmp (CAFLEET_DATABASE_URL=sqlite:///$tmp/bench.db)" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

export CAFLEET_DATABASE_URL="sqlite:///$tmp/bench.db"
unset CAFLEET_LOG CAFLEET_MAX_TEXT_LEN

echo "== seeding $tmp/bench.db: 1 fleet, $AGENTS agents, $SEED_MESSAGES messages" >&2
# `fleet create` needs a calling pane: a private tmux server, never the user's.
tmux -S "$sock" -f /dev/null new-session -d -s bench -x 200 -y 50 'sleep 100000'
pane=$(tmux -S "$sock" display-message -p -t bench '#{pane_id}')
server_pid=$(tmux -S "$sock" display-message -p -t bench '#{pid}')
fleet_out=$(TMUX="$sock,$server_pid,0" TMUX_PANE="$pane" "$bin" fleet create --label bench)
fleet=${fleet_out%% *}
agents=()
for ((i = 0; i < AGENTS; i++)); do
    out=$("$bin" --json agent register --fleet-id "$fleet" --name "agent-$i" \
        --description "benchmark agent")
    agents+=("$(sed -n 's/.*"agent_id":\([0-9]*\).*/\1/p' <<<"$out")")
done
sender=${agents[0]}
recipient=${agents[1]}
poller=${agents[2]}
first=${agents[0]}
for ((i = 0; i < AGENTS; i++)); do
    [[ ${agents[i]} -eq $((first + i)) ]] || { echo "cli.sh: agent ids not contiguous" >&2; exit 1; }
done

# History between the registered agents (1 in 20 still pending, never to the poller), then
# exactly POLL_PENDING pending deliveries to the poller. Same shape as benches/broker.rs.
sqlite3 "$tmp/bench.db" >/dev/null <<SQL
PRAGMA busy_timeout = 5000;
BEGIN IMMEDIATE;
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $((SEED_MESSAGES - POLL_PENDING))),
     rows(n, src, dst, ts) AS (
       SELECT n,
              $first + (n % $AGENTS),
              $first + CASE WHEN ((n * 7 + 1) % $AGENTS) = 2 THEN 3 ELSE (n * 7 + 1) % $AGENTS END,
              strftime('%Y-%m-%dT%H:%M:%S', '2025-01-01', '+' || n || ' seconds') || '.000000+00:00'
       FROM seq)
INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state,
                   status_timestamp, origin_task_id, text)
SELECT dst, src, dst, 'unicast', ts,
       CASE WHEN (n / $AGENTS) % 20 = 0 THEN 'input_required' ELSE 'completed' END, ts, NULL,
       printf('seed message %d: status update on the refactor, see the PR for details.', n)
FROM rows;
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $POLL_PENDING)
INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state,
                   status_timestamp, origin_task_id, text)
SELECT $poller, $sender, $poller, 'unicast', ts, 'input_required', ts, NULL,
       printf('pending message %d for the poller', n)
FROM (SELECT n, strftime('%Y-%m-%dT%H:%M:%S', '2026-01-01', '+' || n || ' seconds')
                || '.000000+00:00' AS ts FROM seq);
COMMIT;
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
count=$(sqlite3 "$tmp/bench.db" 'SELECT count(*) FROM tasks')
echo "   tasks in database: $count" >&2

send=("$bin" message send --fleet-id "$fleet" --agent-id "$sender" --to "$recipient"
    --text "Please review the diff in src/broker/messages.rs and reply with findings.")
poll=("$bin" message poll --fleet-id "$fleet" --agent-id "$poller")
pending=$("$bin" --json message poll --fleet-id "$fleet" --agent-id "$poller" |
    grep -o '"id":' | wc -l)
[[ $pending -eq $POLL_PENDING ]] ||
    echo "cli.sh: warning: poll shows $pending pending, expected $POLL_PENDING" >&2

now_us() {
    local t=${EPOCHREALTIME/[.,]/}
    echo "$t"
}

# Prints "median p99" of the numbers on stdin (nearest-rank percentiles).
percentiles() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "n/a n/a"; exit }
        m = int((NR + 1) / 2); p = int(NR * 0.99 + 0.999999); if (p > NR) p = NR
        print v[m], v[p] }'
}

# Sets cpu_us to this shell's children's CPU time so far (user + sys, microseconds). `times`
# is a builtin and must run in this shell (not in a $(...) subshell) to see its children.
children_cpu_us() {
    times >"$tmp/times"
    cpu_us=$(awk 'NR == 2 {
        t = 0
        for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
        printf "%d\n", t * 1000000 }' "$tmp/times")
}

# bench NAME CMD...: N timed runs (wall, via EPOCHREALTIME around fork+exec+wait; mean CPU
# from the children's rusage), then N runs under GNU time for peak RSS. A few untimed
# warm-up runs first.
bench() {
    local name=$1
    shift
    local i t0 t1 c0 c1 walls="" rss=""
    for ((i = 0; i < 5; i++)); do "$@" >/dev/null; done
    children_cpu_us
    c0=$cpu_us
    for ((i = 0; i < N; i++)); do
        t0=${EPOCHREALTIME/[.,]/}
        "$@" >/dev/null
        t1=${EPOCHREALTIME/[.,]/}
        walls+="$((t1 - t0))"$'\n'
    done
    children_cpu_us
    c1=$cpu_us
    read -r wmed wp99 < <(printf '%s' "$walls" | percentiles)
    if [[ -n $gnu_time ]]; then
        for ((i = 0; i < N; i++)); do
            rss+="$("$gnu_time" -f '%M' "$@" 2>&1 >/dev/null | tail -n 1)"$'\n'
        done
        read -r rmed rp99 < <(printf '%s' "$rss" | percentiles)
        rmax=$(printf '%s' "$rss" | sort -n | tail -n 1)
    else
        rmed=n/a rp99=n/a rmax=n/a
    fi
    awk -v n="$name" -v runs="$N" -v wm="$wmed" -v wp="$wp99" -v cpu="$(((c1 - c0) / N))" \
        -v rm="$rmed" -v rp="$rp99" -v rx="$rmax" 'BEGIN {
        printf "%-14s %5d  %9.3f  %9.3f  %9.3f  %11s  %11s  %11s\n",
            n, runs, wm / 1000, wp / 1000, cpu / 1000, rm, rp, rx }'
}

echo "== $N runs each (database: $count messages, TMPDIR=${TMPDIR:-/tmp})" >&2
printf '%-14s %5s  %9s  %9s  %9s  %11s  %11s  %11s\n' command runs 'med ms' 'p99 ms' \
    'cpu ms' 'med RSS KiB' 'p99 RSS KiB' 'max RSS KiB'
bench "(spawn: true)" "$(type -P true)"
bench "message send" "${send[@]}"
bench "message poll" "${poll[@]}"
echo "targets: median <= 3 ms wall, peak RSS <= 10240 KiB per process" >&2
