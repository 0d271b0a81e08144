#!/usr/bin/env bash
# Seeds a scratch database, starts the release `cafleet server` on a free port, runs the
# headless-Chromium smoke test against it and stops everything again.
#
#   cd frontend && npm ci && npm run build && (cd .. && cargo build --release) && e2e/run.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${E2E_DIR:-/tmp/cafleet-ui-e2e}
PORT=${PORT:-18999}
BIN=${CAFLEET_BIN:-$ROOT/target/release/cafleet}
"$HERE/seed.sh" "$DIR"
export CAFLEET_DATABASE_URL="sqlite:///$DIR/c.db"
export TMUX="$DIR/sock,1,0" TMUX_PANE=$(tmux -S "$DIR/sock" display-message -p '#{pane_id}')
"$BIN" server --port "$PORT" >"$DIR/server.log" 2>&1 &
SERVER=$!
# A second server on the same database that requires an access token.
TOKEN='e2e+tok/en='
"$BIN" server --port "$((PORT + 1))" --token "$TOKEN" >"$DIR/server-token.log" 2>&1 &
SERVER2=$!
cleanup() {
  kill "$SERVER" "$SERVER2" 2>/dev/null || true
  tmux -S "$DIR/sock" kill-server 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$PORT/api/fleets" >/dev/null 2>&1 && break
  sleep 0.2
done
FLEET=$(curl -fsS "http://127.0.0.1:$PORT/api/fleets" | python3 -c "import json,sys; print([f for f in json.load(sys.stdin) if f['label']=='alpha-team'][0]['fleet_id'])")
BASE="http://127.0.0.1:$PORT" FLEET="$FLEET" CAFLEET_BIN="$BIN" \
  TOKEN_BASE="http://127.0.0.1:$((PORT + 1))" TOKEN="$TOKEN" OUT="${OUT:-$DIR/out}" \
  node "$HERE/smoke.mjs"
