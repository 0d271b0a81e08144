#!/usr/bin/env python3
# A stand-in coding agent with an input box CAFleet can read, for the delivery tests
# (tests/integration/delivery.rs). It draws the screen the way Codex does: the transcript,
# then "› <input>" and, while the input is empty and no turn runs, the "? for shortcuts"
# footer; while a turn runs, "• Working (esc to interrupt)" above the input line.
# Installed as `codex` in <dir>/bin (so `member create --coding-agent codex` spawns it);
#   every submitted line is appended to <dir>/standin-logs/<pane>.submitted.
#   A submitted line containing "WORK <n>" starts an n-second turn; lines submitted while
#   a turn runs are queued as the real CLIs queue them
#   a turn runs are queued (and appended to <dir>/standin-logs/<pane>.queued) and logged
#   when it ends.
#   While <dir>/<pane>.nosubmit exists, Enter is ignored (the text stays in the box).
import os, sys, time, tty, select, re

here = os.path.dirname(os.path.realpath(__file__))
logdir = os.path.join(here, "..", "standin-logs")
os.makedirs(logdir, exist_ok=True)
pane = os.environ.get("TMUX_PANE", "nopane")
base = os.path.join(logdir, pane)
submitted = open(base + ".submitted", "a", buffering=1)
queued_log = open(base + ".queued", "a", buffering=1)
tty.setraw(0)
transcript, text, queued = ["tui stand-in ready"], "", []
busy_until = 0.0


def working():
    return time.time() < busy_until


def draw():
    out = ["\x1b[2J\x1b[H"]
    for line in transcript[-20:]:
        out.append(line[:190] + "\r\n")
    if working():
        out.append("\u2022 Working (%ds \u2022 esc to interrupt)\r\n" % int(busy_until - time.time()))
    # An empty input shows the placeholder, as Codex does.
    out.append("\u203a " + (text or "Ask Codex to do anything") + "\r\n")
    out.append("  fake-model default \u00b7 ~/work\r\n")
    if not text and not working():
        out.append("  ? for shortcuts\r\n")
    sys.stdout.write("".join(out))
    sys.stdout.flush()


def submit(line):
    global busy_until
    submitted.write(line + "\n")
    transcript.append("> " + line)
    m = re.search(r"WORK (\d+)", line)
    if m:
        busy_until = time.time() + int(m.group(1))


draw()
was_working = False
while True:
    r, _, _ = select.select([0], [], [], 0.2)
    if not r:
        # Redraw only while a turn runs (its timer) or when it has just ended.
        if was_working or working():
            if was_working and not working():
                for line in queued:
                    submit(line)
                queued = []
            was_working = working()
            draw()
        continue
    data = os.read(0, 4096)
    if not data:
        break
    for ch in data.decode("utf-8", "replace"):
        if ch == "\r":
            if os.path.exists(base + ".nosubmit") or not text:
                continue
            if working():
                queued.append(text)
                queued_log.write(text + "\n")
                transcript.append("queued: " + text)
            else:
                submit(text)
            text = ""
        elif ch in ("\x7f", "\x08"):
            text = text[:-1]
        elif ch == "\x1b":
            transcript.append("ESCAPE RECEIVED")
            submitted.write("<ESC>\n")
        elif ch >= " ":
            text += ch
    was_working = working()
    draw()
