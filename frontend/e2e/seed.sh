#!/usr/bin/env bash
# Builds a scratch CAFleet database with fleets, agents and messages of every kind, for
# looking at the WebUI and for the e2e suite (e2e/*.spec.ts). Needs tmux, python3 and a built cafleet binary.
#
#   e2e/seed.sh [DIR]   (default /tmp/cafleet-ui-e2e; prints the fleet ids)
#
# Uses its own tmux server socket DIR/sock, started with DIR/bin first on PATH; DIR/bin/claude
# is the stand-in coding agent (e2e/standin-agent.py), so the `platform-team` fleet's members
# Alice and Bob, made with `cafleet member create`, run in real panes and log every byte typed
# into them to DIR/standin-logs/<pane>.keys. The ids the e2e specs need are written to
# DIR/seed.env (shell syntax). CAFLEET_BIN overrides the binary. The tmux server keeps
# running: stop it with `tmux -S DIR/sock kill-server` (e2e/run.sh does).
set -euo pipefail
DIR=${1:-/tmp/cafleet-ui-e2e}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${CAFLEET_BIN:-$ROOT/target/release/cafleet}
SOCK="$DIR/sock"
# A tmux server left by an earlier seed of DIR would outlive `rm -rf` (and keep its panes).
tmux -S "$SOCK" kill-server 2>/dev/null || true
rm -rf "$DIR"
mkdir -p "$DIR/bin"
install -m 755 "$HERE/standin-agent.py" "$DIR/bin/claude"
export PATH="$DIR/bin:$PATH"
export CAFLEET_DATABASE_URL="sqlite:///$DIR/c.db"
unset TMUX TMUX_PANE
# The server, and so every pane it spawns, inherits this PATH: members run the stand-in.
tmux -S "$SOCK" new-session -d -s seed -x 200 -y 50
PANE=$(tmux -S "$SOCK" display-message -p '#{pane_id}')
export TMUX="$SOCK,1,0" TMUX_PANE="$PANE"

j() { "$BIN" --json "$@"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }

F1=$(j fleet create --label alpha-team | field '["fleet_id"]')
D1=$("$BIN" --json fleet show "$F1" | field '["director"]["agent_id"]' 2>/dev/null || true)
[ -n "$D1" ] || D1=$(j fleet list | python3 -c "import json,sys; print([f for f in json.load(sys.stdin) if f['fleet_id']==$F1][0]['director_agent_id'])")
reg() { j agent register --fleet-id "$1" --name "$2" --description "$3" | field '["agent_id"]'; }
ALICE=$(reg "$F1" Alice "Writes the parser")
BOB=$(reg "$F1" "Bob Smith" "Reviews code")
CAROL=$(reg "$F1" carol "unplaced agent")
REV=$(reg "$F1" code_reviewer "Name with an underscore")
TARO=$(reg "$F1" "太郎" "Unicode name")

send() { j message send --fleet-id "$1" --agent-id "$2" --to "$3" --text "$4" | field '["task"]["id"]'; }
T1=$(send "$F1" "$D1" "$ALICE" "Please implement the tokenizer for the config parser.")
j message ack --fleet-id "$F1" --agent-id "$ALICE" --task-id "$T1" >/dev/null
send "$F1" "$ALICE" "$D1" "On it. Will report when tests pass." >/dev/null
j message broadcast --fleet-id "$F1" --agent-id "$D1" --text "Heads up: main branch is frozen until 15:00." >/dev/null
# ACK two of the broadcast deliveries
for who in "$ALICE" "$BOB"; do
  tid=$(j message poll --fleet-id "$F1" --agent-id "$who" | python3 -c "import json,sys; d=json.load(sys.stdin); print([m for m in d if 'frozen' in json.dumps(m)][0]['id'])" 2>/dev/null || true)
  [ -n "$tid" ] && j message ack --fleet-id "$F1" --agent-id "$who" --task-id "$tid" >/dev/null || true
done
T3=$(send "$F1" "$D1" "$BOB" "Review PR #42 please")
j message cancel --fleet-id "$F1" --agent-id "$D1" --task-id "$T3" >/dev/null
send "$F1" "$BOB" "$CAROL" '<img src=x onerror=alert(1)> **markdown** <b>bold</b>' >/dev/null
send "$F1" "$TARO" "$REV" $'line1\nline2 with `backtick` and $(id)' >/dev/null
j agent deregister --fleet-id "$F1" --agent-id "$CAROL" >/dev/null

F2=$(j fleet create --label beta | field '["fleet_id"]')
reg "$F2" 'Evil`x`$(id)	tab' "weird name" >/dev/null
# A long history for scrollback (more than one 200-message page).
F3=$(j fleet create --label gamma-history | field '["fleet_id"]')
G1=$(reg "$F3" Talker "sends a lot")
G2=$(reg "$F3" Listener "receives a lot")
for i in $(seq 1 ${HISTORY:-230}); do
  "$BIN" message send --fleet-id "$F3" --agent-id "$G1" --to "$G2" --text "history message $i" >/dev/null
done

# A fleet whose members run in real panes (the stand-in above, as `claude`). Its Director is
# the seed pane, a shell: previews to the Director stay queued (K2).
ids=$(j fleet create --label platform-team | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["fleet_id"], d["director"]["agent_id"], d["administrator_agent_id"])')
read -r F4 D4 A4 <<<"$ids"
member() {
  j member create --fleet-id "$F4" --agent-id "$D4" --name "$1" --description "$2" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["agent_id"], d["placement"]["tmux_pane_id"])'
}
ids=$(member Alice "Implements the config parser")
read -r ALICE4 ALICE_PANE <<<"$ids"
ids=$(member Bob "Reviews pull requests")
read -r BOB4 BOB_PANE <<<"$ids"
# The stand-in prints its banner once its tty is raw; keys typed before that would be lost.
ready() {
  for _ in $(seq 1 300); do
    tmux -S "$SOCK" capture-pane -p -t "$1" | grep -q 'stand-in ready' && return 0
    sleep 0.1
  done
  echo "seed: the stand-in agent in pane $1 never started:" >&2
  tmux -S "$SOCK" capture-pane -p -t "$1" >&2 || true
  return 1
}
ready "$ALICE_PANE"
ready "$BOB_PANE"
T4=$(send "$F4" "$D4" "$ALICE4" "Please implement the tokenizer for the config parser; the tests are in tests/parser/.")
j message ack --fleet-id "$F4" --agent-id "$ALICE4" --task-id "$T4" >/dev/null
send "$F4" "$ALICE4" "$D4" "On it. Tokenizer first, then the error messages." >/dev/null
T5=$(send "$F4" "$D4" "$BOB4" "Once Alice's tokenizer PR is up, please review it.")
j message ack --fleet-id "$F4" --agent-id "$BOB4" --task-id "$T5" >/dev/null

{
  printf 'ALPHA_FLEET=%q\n' "$F1"
  printf 'LIVE_FLEET=%q\nLIVE_DIRECTOR=%q\nLIVE_ADMIN=%q\n' "$F4" "$D4" "$A4"
  printf 'ALICE_ID=%q\nALICE_PANE=%q\nBOB_ID=%q\nBOB_PANE=%q\n' "$ALICE4" "$ALICE_PANE" "$BOB4" "$BOB_PANE"
  printf 'DIRECTOR_PANE=%q\nSTANDIN_LOGS=%q\n' "$PANE" "$DIR/standin-logs"
} >"$DIR/seed.env"
echo "database: $DIR/c.db"
echo "fleets: $F1 $F2 $F3 $F4"
echo "agents: director=$D1 alice=$ALICE bob=$BOB carol=$CAROL code_reviewer=$REV taro=$TARO"
echo "platform-team: director=$D4 ($PANE) administrator=$A4 alice=$ALICE4 ($ALICE_PANE) bob=$BOB4 ($BOB_PANE)"
