#!/usr/bin/env bash
# Whole-process timings of the member commands, each a fresh `cafleet` process driving a
# private tmux server (never the user's) whose members run a stand-in `claude` (a python3
# script that puts its tty in raw mode and reads forever, so keystrokes land in a program,
# not a shell):
#
#   member create                  spawn a member (split-window, layout, two transactions,
#                                  then the wait for its input box, which the stand-in
#                                  shows at once as Claude Code's footer); each run is
#                                  followed by an untimed
#                                  `member delete --force`
#   member send-input --choice 1   keystrokes into a member's pane
#   member exec "ls"               keystrokes ("!ls", Enter)
#   member ping                    the poll command typed into the pane
#   member capture --lines 20      capture-pane, no keystrokes
#   message send (to a member)     store the message, then type its preview into the pane
#
# Prints median and p90 wall time (ms) per command. The keystroke commands contain a fixed
# pause by design (src/tmux/mod.rs, PAUSE_BEFORE_ENTER: 120 ms), so their floor is about 120 ms whatever
# the machine; `capture` has no pause.
#
# Usage: benches/cli_members.sh          (N=20 runs per command)
#        N=50 benches/cli_members.sh
#        TMPDIR=/some/disk benches/cli_members.sh   (where the database and socket live)
# Needs: cargo, bash >= 5 (EPOCHREALTIME), tmux, python3.
set -euo pipefail

N=${N:-20}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

for tool in cargo tmux python3; do
    command -v "$tool" >/dev/null || { echo "cli_members.sh: $tool not found on PATH" >&2; exit 1; }
done
if [[ -z ${EPOCHREALTIME:-} ]]; then
    echo "cli_members.sh: needs bash >= 5 (EPOCHREALTIME)" >&2
    exit 1
fi

echo "== cargo build --release" >&2
cargo build --release --quiet
target_dir=$(cargo metadata --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/release/cafleet"
[[ -x $bin ]] || { echo "cli_members.sh: $bin not built" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cafleet-members-bench.XXXXXX")
sock="$tmp/tmux.sock"
cleanup() {
    tmux -S "$sock" kill-server 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# The stand-in coding agent: raw tty, reads and discards forever (exits on EOF/hang-up).
# The shebang names the real interpreter, not a wrapper such as a pyenv shim (a bash
# script: until it execs python, tmux reports the pane as running a shell).
python=$(python3 -c 'import sys; print(sys.executable)')
mkdir -p "$tmp/bin"
{
    echo "#!$python"
    cat <<'PY'
import os, sys, tty
try:
    tty.setraw(0)
except Exception:
    pass
# The footer Claude Code shows once its input box is up: `member create` waits for it.
os.write(1, b"? for shortcuts\r\n")
while True:
    try:
        if not os.read(0, 4096):
            break
    except OSError:
        break
PY
} >"$tmp/bin/claude"
chmod +x "$tmp/bin/claude"
export PATH="$tmp/bin:$PATH"
export CAFLEET_DATABASE_URL="sqlite:///$tmp/bench.db"
export HOME="$tmp/home"
mkdir -p "$HOME"
unset CAFLEET_LOG CAFLEET_MAX_TEXT_LEN

# The tmux server inherits this PATH, so member panes find the stand-in `claude`.
env -u TMUX -u TMUX_PANE tmux -S "$sock" -f /dev/null new-session -d -s bench -x 200 -y 50 \
    'sleep 1000000'
director_pane=$(tmux -S "$sock" display-message -p -t bench '#{pane_id}')
export TMUX="$sock,1,0"
export TMUX_PANE="$director_pane"

fleet_out=$("$bin" fleet create --label "member bench")
fleet=${fleet_out%% *}
director=$(sed -n 's/.* director=\([0-9]*\).*/\1/p' <<<"$fleet_out")
[[ -n $fleet && -n $director ]] || { echo "cli_members.sh: fleet create said: $fleet_out" >&2; exit 1; }
echo "== fleet $fleet, Director $director in pane $director_pane ($tmp)" >&2

# member_create NAME: prints the new member's agent id.
member_create() {
    "$bin" --json member create --fleet-id "$fleet" --agent-id "$director" --name "$1" \
        --description "benchmark member" | sed -n 's/^{"agent_id":\([0-9]*\).*/\1/p'
}
member_delete() {
    "$bin" member delete --fleet-id "$fleet" --member-id "$1" --force >/dev/null
}

# Prints "median p90" of the numbers (µs) on stdin, in ms (nearest-rank percentiles).
percentiles() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "n/a n/a"; exit }
        m = int((NR + 1) / 2); p = int(NR * 0.9 + 0.999999); if (p > NR) p = NR
        printf "%.1f %.1f\n", v[m] / 1000, v[p] / 1000 }'
}

report() {
    local name=$1 walls=$2 med p90
    read -r med p90 < <(printf '%s' "$walls" | percentiles)
    printf '%-30s %5d  %9s  %9s\n' "$name" "$N" "$med" "$p90"
}

printf '%-30s %5s  %9s  %9s\n' command runs 'med ms' 'p90 ms'

# member create, timed; each followed by an untimed forced delete (one warm-up first).
walls=""
id=$(member_create warmup)
[[ -n $id ]] || { echo "cli_members.sh: member create failed" >&2; exit 1; }
member_delete "$id"
for ((i = 0; i < N; i++)); do
    t0=${EPOCHREALTIME/[.,]/}
    id=$(member_create "m$i")
    t1=${EPOCHREALTIME/[.,]/}
    [[ -n $id ]] || { echo "cli_members.sh: member create failed" >&2; exit 1; }
    walls+="$((t1 - t0))"$'\n'
    member_delete "$id"
done
report "member create" "$walls"

# One long-lived member for the rest.
member=$(member_create target)
[[ -n $member ]] || { echo "cli_members.sh: member create failed" >&2; exit 1; }
member_pane=$(tmux -S "$sock" list-panes -a -F '#{pane_id}' |
    awk -v d="$director_pane" '$1 != d { print $1; exit }')
# Keystrokes are refused while a pane still runs a shell: wait for the stand-in.
for ((i = 0; i < 100; i++)); do
    cmd=$(tmux -S "$sock" display-message -p -t "$member_pane" '#{pane_current_command}')
    case $cmd in bash | sh | dash | zsh | "") sleep 0.1 ;; *) break ;; esac
done
echo "   (member $member in pane $member_pane, running $cmd)" >&2

# bench NAME CMD...: 2 untimed warm-up runs, then N timed runs.
bench() {
    local name=$1
    shift
    local i t0 t1 walls=""
    for ((i = 0; i < 2; i++)); do "$@" >/dev/null; done
    for ((i = 0; i < N; i++)); do
        t0=${EPOCHREALTIME/[.,]/}
        "$@" >/dev/null
        t1=${EPOCHREALTIME/[.,]/}
        walls+="$((t1 - t0))"$'\n'
    done
    report "$name" "$walls"
}

m=(--fleet-id "$fleet" --member-id "$member")
bench "member send-input --choice 1" "$bin" member send-input "${m[@]}" --choice 1
bench "member exec \"ls\"" "$bin" member exec "${m[@]}" "ls"
bench "member ping" "$bin" member ping "${m[@]}"
bench "member capture --lines 20" "$bin" member capture "${m[@]}" --lines 20
bench "message send (preview)" "$bin" message send --fleet-id "$fleet" --agent-id "$director" \
    --to "$member" --text "Please review the diff in src/broker/messages.rs and reply with findings."

member_delete "$member"
echo "note: exec, ping and message send include a fixed keystroke pause (120 ms before Enter; no Escape since 0.15)" >&2
