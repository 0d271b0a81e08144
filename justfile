# CAFleet task runner. Every recipe is also spelled out in README.md for machines without `just`.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Build the WebUI and the release binary, then run the demo tour.
run:
    npm --prefix frontend ci
    npm --prefix frontend run build
    cargo build --release
    ./target/release/cafleet demo

# Every quality gate and every test (what CI runs).
test:
    tests/agents/install.sh
    npm --prefix frontend ci
    npm --prefix frontend run check
    npm --prefix frontend test
    npm --prefix frontend run build
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    cargo test
    scripts/test-postgres
    cargo build --release
    npm --prefix frontend run e2e

# Formatting and lints only.
lint:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings

# Every bench: broker, monitor and web in-process (divan; the monitor's on SQLite and on
# PostgreSQL), CLI and member commands as whole processes (benches/cli.sh,
# benches/cli_members.sh), delivery into the real coding-agent CLIs (the ignored test
# real::delivery::bench_idle_delivery_latency, debug build) and a broadcast to 50 idle
# stand-in members (delivery::bench_broadcast_to_50_idle_members), then benches/report.rs,
# which measures the key operations itself and writes docs/performance.md (median, p99, peak
# memory, targets, machine) with the other benches' output attached. Its "PostgreSQL and
# hosts" part (benches/report/pg.rs) puts PostgreSQL beside SQLite: 64 writers from 3
# simulated hosts, cross-host delivery through `cafleet relay`, the monitor tick. The
# PostgreSQL benches start a throw-away server each (scripts/pg-scratch --durable) and stop
# it when they end; CAFLEET_BENCH_PG_URL names one to use instead. That part alone:
# `cargo bench --bench report -- --only pg --update --out docs/performance.md`. About 15
# minutes.
bench:
    #!/usr/bin/env bash
    set -euo pipefail
    logs=target/bench-logs
    rm -rf "$logs"
    mkdir -p "$logs"
    if [[ -r /proc/loadavg ]]; then cp /proc/loadavg "$logs/loadavg"; fi
    cargo build --release
    for b in broker monitor web; do
        cargo bench --bench "$b" 2>&1 | tee "$logs/cargo-bench-$b.txt"
    done
    ./benches/cli.sh 2>&1 | tee "$logs/benches-cli.sh.txt"
    ./benches/cli_members.sh 2>&1 | tee "$logs/benches-cli_members.sh.txt"
    # Delivery into the real CLIs (needs tests/agents/install.sh): send -> model, per CLI.
    tests/agents/install.sh
    cargo test --test integration real::delivery::bench_idle_delivery_latency -- --ignored --nocapture 2>&1 | grep '^delivery' | tee "$logs/real-delivery.txt"
    # A broadcast to 50 idle members (stand-ins with a readable input box).
    cargo test --test integration delivery::bench_broadcast_to_50_idle_members -- --ignored --nocapture 2>&1 | grep '^delivery' | tee -a "$logs/real-delivery.txt"
    cargo bench --bench report -- --out docs/performance.md --logs "$logs"

# Regenerate the offline query data in .sqlx/ for both backends after changing SQL (needs
# sqlite3 and PostgreSQL's server binaries; docs/postgres.md). The tests
# hygiene::offline_query_data_matches_a_fresh_schema and
# pg::offline_query_data_matches_a_fresh_pg_schema fail while .sqlx/ is stale.
prepare:
    scripts/prepare

# The backend-parametrised suites on a throw-away PostgreSQL server.
test-pg:
    scripts/test-postgres

# Needs `cargo install cargo-fuzz`; RUSTC_BOOTSTRAP=1 lets stable Rust take its nightly flags
# (ASan included). CI does not fuzz: tests/integration/hostile.rs replays the same properties.
# Fuzz hostile input (fuzz/README.md): every target 180 s, or e.g. `just fuzz keystrokes 600`.
fuzz target="all" seconds="180":
    #!/usr/bin/env bash
    set -euo pipefail
    cd fuzz
    targets="{{target}}"
    if [[ "$targets" == all ]]; then targets="keystrokes query_decode web_request"; fi
    for t in $targets; do
        RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" -O -- -max_total_time={{seconds}} -max_len=4096
    done
