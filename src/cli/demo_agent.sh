#!/usr/bin/env bash
# CAFleet demo stand-in for a coding agent. It reads what is typed into its pane; whenever
# a line arrives it polls its inbox through the real cafleet CLI, acknowledges every message
# and (as a member) replies to the sender. It renames itself so cafleet sees an agent, not a
# shell, in the pane.
if [ -z "${CAFLEET_DEMO_STANDIN:-}" ]; then
  export CAFLEET_DEMO_STANDIN=1
  exec -a cafleet-demo-agent bash "$0" "$@"
fi
name="agent"
role="member"
prev=""
for arg in "$@"; do
  [ "$prev" = "--name" ] && name="$arg"
  [ "$prev" = "--role" ] && role="$arg"
  prev="$arg"
done
prompt="${*: -1}"
fleet=""; agent=""
if [[ "$prompt" =~ --fleet-id\ ([0-9]+)\ --agent-id\ ([0-9]+) ]]; then
  fleet="${BASH_REMATCH[1]}"; agent="${BASH_REMATCH[2]}"
fi
if [ -z "$agent" ]; then
  echo "[$name] no fleet/agent ids in the prompt; waiting"; exec sleep infinity
fi
echo "[$name] demo $role ready: fleet $fleet, agent $agent. Waiting for messages..."
# The footer Claude Code shows once its input box is up: `member create` waits for it.
echo "  ? for shortcuts"
handle() {
  local out id from text
  out=$(cafleet message poll --fleet-id "$fleet" --agent-id "$agent" 2>&1) || { echo "[$name] poll failed: $out"; return; }
  [ "$out" = "No messages found." ] && return
  while IFS= read -r line; do
    if [[ "$line" =~ ^\[([0-9]+)\ \|\ from:([0-9]+)\ \| ]]; then
      id="${BASH_REMATCH[1]}"; from="${BASH_REMATCH[2]}"
      cafleet message ack --fleet-id "$fleet" --agent-id "$agent" --task-id "$id" --quiet >/dev/null 2>&1 &&
        echo "[$name] acked message $id from agent $from"
      if [ "$role" = "member" ] && [ "$from" != "$agent" ]; then
        text="Done with task $id: checked 3 files, all good."
        cafleet message send --fleet-id "$fleet" --agent-id "$agent" --to "$from" --text "$text" --quiet >/dev/null 2>&1 &&
          echo "[$name] replied to agent $from"
      fi
    fi
  done <<< "$out"
}
while IFS= read -r line; do
  case "$line" in
    */exit*) echo "[$name] bye"; exit 0 ;;
  esac
  handle
done
