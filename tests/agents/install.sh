#!/usr/bin/env bash
# Installs the real coding-agent CLIs the real-agent tests drive (tests/integration/real/),
# at the exact versions of package-lock.json, into tests/agents/node_modules — only when
# they are missing or the lockfile changed (about 1.2 GB, ~20 s from the npm registry).
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.cafleet-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && [[ -x node_modules/.bin/claude && -x node_modules/.bin/codex && -x node_modules/.bin/opencode ]]; then
    exit 0
fi
echo "installing the pinned coding-agent CLIs (claude, codex, opencode) into tests/agents/node_modules" >&2
# `npm install` (not `npm ci`): the lockfile lacks the other platforms' optional packages of
# opencode, which `npm ci` refuses; with every version pinned it installs the locked tree.
npm install --no-audit --no-fund --loglevel=error
sha256sum package-lock.json | cut -d" " -f1 > "$stamp"
