#!/usr/bin/env python3
# A stand-in coding agent for the e2e suite and the Rust integration tests (STANDIN in
# tests/integration/support.rs includes this file). seed.sh installs it as `claude` in
# <dir>/bin, which is on the PATH of the CLI and of the private tmux server, so
# `cafleet member create` spawns it.
# It records its argv, working directory and CAFLEET_DATABASE_URL in
# <dir>/standin-logs/<pane>.argv (JSON), appends every byte typed into its pane to
# <dir>/standin-logs/<pane>.keys, echoes each read as RECV b'...', prints "stand-in ready"
# and the footer the real CLI it stands in for shows when its input box is up (what
# `member create` waits for) once its tty is raw, draws a question frame like Claude
# Code's when "?question" is typed, and exits on "/exit" + Enter.
import json, os, sys, tty
here = os.path.dirname(os.path.realpath(__file__))
logs = os.path.join(here, "..", "standin-logs")
os.makedirs(logs, exist_ok=True)
pane = os.environ.get("TMUX_PANE", "nopane")
with open(os.path.join(logs, pane + ".argv"), "w") as f:
    json.dump({"argv": [os.path.basename(sys.argv[0])] + sys.argv[1:], "cwd": os.getcwd(),
               "db": os.environ.get("CAFLEET_DATABASE_URL")}, f)
keys = open(os.path.join(logs, pane + ".keys"), "ab", buffering=0)
tty.setraw(0)
FOOTERS = {"claude": "? for shortcuts", "codex": "Ask Codex to do anything",
           "opencode": "ctrl+p commands"}
sys.stdout.write("stand-in ready\r\n  %s\r\n"
                 % FOOTERS.get(os.path.basename(sys.argv[0]), "? for shortcuts"))
sys.stdout.flush()
buf = b""
while True:
    b = os.read(0, 4096)
    if not b:
        break
    keys.write(b)
    buf += b
    sys.stdout.write("RECV %r\r\n" % b)
    sys.stdout.flush()
    if buf.endswith(b"?question"):
        sys.stdout.write("Pick one?\r\n\u276f 1. Yes\r\n  2. No\r\n  3. Type something.\r\n"
                         "  4. Chat about this\r\n")
        sys.stdout.flush()
    if buf.endswith(b"/exit\r"):
        break
