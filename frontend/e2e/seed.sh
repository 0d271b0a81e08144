#!/usr/bin/env bash
# Builds a scratch CAFleet database with two fleets, agents and messages of every kind, for
# looking at the WebUI and for e2e/smoke.mjs. Needs tmux and a built cafleet binary.
#
#   e2e/seed.sh [DIR]   (default /tmp/cafleet-ui-e2e; prints the fleet ids)
#
# Uses its own tmux server socket in DIR; CAFLEET_BIN overrides the binary.
set -euo pipefail
DIR=${1:-/tmp/cafleet-ui-e2e}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CAFLEET_BIN:-$ROOT/target/release/cafleet}
rm -rf "$DIR"
mkdir -p "$DIR"
export CAFLEET_DATABASE_URL="sqlite:///$DIR/c.db"
SOCK="$DIR/sock"
tmux -S "$SOCK" new-session -d -s seed
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
echo "database: $DIR/c.db"
echo "fleets: $F1 $F2 $F3"
echo "agents: director=$D1 alice=$ALICE bob=$BOB carol=$CAROL code_reviewer=$REV taro=$TARO"
