#!/usr/bin/env bash
# The WebUI end-to-end suite against the REAL release binary: seeds a scratch database and a
# private tmux server with stand-in coding agents (e2e/seed.sh), starts `cafleet server`
# twice (once with --token) on free ports, runs the Playwright specs (e2e/*.spec.ts, see
# playwright.config.ts) in the system's headless Chromium and stops everything again. It
# builds nothing: build first, then run it. Arguments go to `playwright test`.
#
#   (cd frontend && npm ci && npm run build) && cargo build --release
#   npm --prefix frontend run e2e [-- --grep 'scrollback']
#
# Env: E2E_DIR (scratch dir, default /tmp/cafleet-ui-e2e), PORT (server port; the token
# server uses PORT+1; default: two free ports), OUT (screenshots, default frontend/e2e/out),
# CAFLEET_BIN (default target/release/cafleet), CHROMIUM (default /usr/bin/chromium),
# E2E_ONLY=<regex> (only the tests whose titles match: playwright test --grep).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${E2E_DIR:-/tmp/cafleet-ui-e2e}
BIN=${CAFLEET_BIN:-$ROOT/target/release/cafleet}
DIST="$ROOT/frontend/dist"
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
START=$(date +%s)

fail() {
  echo "e2e: $*" >&2
  exit 1
}
[ -x "$BIN" ] || fail "$BIN is missing. The e2e suite builds nothing itself; build the SPA, then the binary that embeds it:
    (cd frontend && npm ci && npm run build) && cargo build --release"
[ -f "$DIST/index.html" ] || fail "$DIST is missing (the binary embeds it). Build it with:
    (cd frontend && npm ci && npm run build) && cargo build --release"
[ -x "$CHROMIUM" ] || fail "no Chromium at $CHROMIUM: apt-get install -y chromium, or set CHROMIUM"
[ -x "$HERE/../node_modules/.bin/playwright" ] || fail "@playwright/test is not installed: run 'npm ci' in frontend/"
for tool in tmux python3 node curl; do
  command -v "$tool" >/dev/null || fail "$tool is required"
done

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
if [ -n "${PORT:-}" ]; then
  TOKEN_PORT=$((PORT + 1))
else
  PORT=$(free_port)
  TOKEN_PORT=$(free_port)
fi
OUT=${OUT:-$HERE/out}
# Only the default directory is ours to empty; a given OUT is left as it is.
[ "$OUT" = "$HERE/out" ] && rm -rf "$OUT"
mkdir -p "$OUT"

SERVER=
SERVER2=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  [ -n "$SERVER2" ] && kill "$SERVER2" 2>/dev/null || true
  tmux -S "$DIR/sock" kill-server 2>/dev/null || true
}
trap cleanup EXIT

"$HERE/seed.sh" "$DIR"
# shellcheck source=/dev/null
. "$DIR/seed.env"
export ALPHA_FLEET LIVE_FLEET LIVE_DIRECTOR LIVE_ADMIN ALICE_ID ALICE_PANE BOB_ID BOB_PANE DIRECTOR_PANE STANDIN_LOGS
export CAFLEET_DATABASE_URL="sqlite:///$DIR/c.db"
# The stand-in agent is on the PATH of the CLI too (the tmux server got it in seed.sh).
export PATH="$DIR/bin:$PATH"
export TMUX="$DIR/sock,1,0" TMUX_PANE="$DIRECTOR_PANE"
"$BIN" server --port "$PORT" >"$DIR/server.log" 2>&1 &
SERVER=$!
# A second server on the same database that requires an access token.
TOKEN='e2e+tok/en='
"$BIN" server --port "$TOKEN_PORT" --token "$TOKEN" >"$DIR/server-token.log" 2>&1 &
SERVER2=$!
up() {
  local pid=$1 url=$2 log=$3
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "the server for $url exited"; }
    sleep 0.1
  done
  cat "$log" >&2
  fail "the server for $url did not answer within 10 s"
}
up "$SERVER" "http://127.0.0.1:$PORT/api/fleets" "$DIR/server.log"
up "$SERVER2" "http://127.0.0.1:$TOKEN_PORT/" "$DIR/server-token.log"
# The binary serves the SPA embedded when it was built; say so if that is not frontend/dist.
if ! curl -fsS "http://127.0.0.1:$PORT/" | cmp -s - "$DIST/index.html"; then
  echo "e2e: warning: $BIN embeds a different SPA build than $DIST; run cargo build --release to test the current one" >&2
fi

status=0
BASE="http://127.0.0.1:$PORT" FLEET="$ALPHA_FLEET" CAFLEET_BIN="$BIN" OUT="$OUT" \
  TOKEN_BASE="http://127.0.0.1:$TOKEN_PORT" TOKEN="$TOKEN" \
  TMUX_SOCKET="$DIR/sock" \
  "$HERE/../node_modules/.bin/playwright" test --config "$HERE/../playwright.config.ts" \
  ${E2E_ONLY:+--grep "$E2E_ONLY"} "$@" || status=$?
echo "e2e: $(($(date +%s) - START)) s in all (seed included); screenshots in $OUT; server logs in $DIR"
exit "$status"
